"""Splits, minibatches and labels, for lists (the scalar engine) and arrays (the tensor engine).

Every shuffle here draws from a `random.Random` (see `scratchgrad._random`), and the
same functions serve lists and numpy arrays, so both engines see the same split and
the same batches in the same order for the same seed.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence, TypeVar

from scratchgrad._random import Seed, as_random, permutation

T = TypeVar("T")


def _is_array(x: object) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, (list, tuple))


def _length(X: Any, what: str = "X") -> int:
    if _is_array(X):
        if X.ndim == 0:
            raise ValueError(f"{what} must hold one sample per row, got a 0-d array")
        return len(X)
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence):
        raise TypeError(f"{what} must be a list or an array of samples, got {type(X).__name__}")
    return len(X)


def _same_length(X: Any, y: Any) -> int:
    n, m = _length(X), _length(y, "y")
    if n != m:
        raise ValueError(f"X has {n} samples but y has {m}")
    return n


def _take(data: Any, indices: list[int]) -> Any:
    """The rows ``indices`` of a list (a new list) or of an array (a new array)."""
    if _is_array(data):
        return data[indices]
    return [data[i] for i in indices]


def train_test_split(X: Any, y: Any, test_fraction: float = 0.2, seed: Seed = None) -> tuple[Any, Any, Any, Any]:
    """Shuffle and split into ``X_train, X_test, y_train, y_test`` (the test part gets
    round(n * test_fraction) samples). Lists give lists, arrays give arrays."""
    n = _same_length(X, y)
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    n_test = round(n * test_fraction)
    if n_test == 0 or n_test == n:
        raise ValueError(f"test_fraction {test_fraction} of {n} samples leaves an empty split")
    order = permutation(as_random(seed), n)
    test, train = order[:n_test], order[n_test:]
    return _take(X, train), _take(X, test), _take(y, train), _take(y, test)


def stratified_split(y: Any, test_fraction: float, seed: Seed = 0) -> tuple[Any, Any]:
    """Indices ``(train, test)`` with each class split in the same proportion, shuffled by ``seed``.

    The train indices come in a seeded random order, the test ones sorted. Arrays of
    indices for an array ``y``, lists for a list.
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}")
    rng = as_random(seed, "stratified_split: seed")
    labels = y.tolist() if _is_array(y) else list(y)
    members: dict[Any, list[int]] = {}
    for i, label in enumerate(labels):
        members.setdefault(label, []).append(i)
    train: list[int] = []
    test: list[int] = []
    for label in sorted(members):
        chosen = members[label]
        rng.shuffle(chosen)
        n_test = int(round(len(chosen) * test_fraction))
        test.extend(chosen[:n_test])
        train.extend(chosen[n_test:])
    rng.shuffle(train)
    test.sort()
    if _is_array(y):
        import numpy as np

        return np.array(train, dtype=np.intp), np.array(test, dtype=np.intp)
    return train, test


def minibatches(
    X: Any,
    y: Any,
    batch_size: int,
    shuffle: bool = True,
    seed: Seed = None,
    drop_last: bool = False,
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(X_batch, y_batch)`` pairs of ``batch_size`` samples covering the data once.

    One function for lists and numpy arrays (a batch is of the same kind: lists, or array
    copies). With ``shuffle`` the order is a fresh permutation drawn from ``seed`` (an
    int, a `random.Random` to continue across epochs, None for the global `random`
    module); the same seed gives lists and arrays the same batches. The last batch is
    smaller when batch_size does not divide n, unless ``drop_last``. Arguments are
    checked at the call; the batches come lazily.
    """
    n = _same_length(X, y)
    if n == 0:
        raise ValueError("minibatches: no samples (X is empty)")
    if isinstance(batch_size, bool) or not hasattr(batch_size, "__index__") or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    order = permutation(as_random(seed), n) if shuffle else list(range(n))
    return _batches(X, y, order, int(batch_size), drop_last)


def _batches(X: Any, y: Any, order: list[int], batch_size: int, drop_last: bool) -> Iterator[tuple[Any, Any]]:
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        if drop_last and len(chunk) < batch_size:
            return
        yield _take(X, chunk), _take(y, chunk)


def binary_labels(y: Any) -> list[float]:
    """Map labels with exactly two distinct values to -1.0 (the smaller) and +1.0 (the larger).

    E.g. 0/1 labels from a CSV file -> -1/+1 for the hinge loss and `fit`.
    """
    values = y.tolist() if _is_array(y) else list(y)
    classes = sorted(set(values))
    if len(classes) != 2:
        raise ValueError(f"binary_labels needs exactly 2 distinct label values, got {len(classes)}: {classes[:10]!r}")
    low = classes[0]
    return [-1.0 if v == low else 1.0 for v in values]
