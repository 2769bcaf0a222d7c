"""Small data sets to train on, made on the spot (no downloads), and a CSV loader.

Every generator returns ``(X, y)``: X is a list of ``[x0, x1]`` float pairs and y a list
of labels -1.0 / +1.0 (the seed's convention; ``t = (y + 1) / 2`` gives 0/1). The
``seed`` argument makes a set reproducible: an int (or a `random.Random`) gives an
independent generator; ``None`` draws from the global `random` module, so
``random.seed(k)`` reproduces it too.
"""

from __future__ import annotations

import csv
import math
import os
import random
from typing import Iterator, Protocol, Sequence, TypeVar, Union

PathLike = Union[str, "os.PathLike[str]"]
Dataset = tuple[list[list[float]], list[float]]
T = TypeVar("T")


class RandomSource(Protocol):
    """The `random` module itself or a `random.Random`."""

    def uniform(self, a: float, b: float) -> float: ...

    def gauss(self, mu: float, sigma: float) -> float: ...

    def shuffle(self, x: list[T]) -> None: ...


class DataFileError(ValueError):
    """A data file that cannot be read as numbers; the message names file, row and column."""


def _rng(seed: int | random.Random | None) -> RandomSource:
    if seed is None:
        return random
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, a random.Random or None, got {type(seed).__name__}: {seed!r}")
    return random.Random(seed)


def _check_args(n_samples: object, noise: object, minimum: int = 2) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < minimum:
        raise ValueError(f"n_samples must be an int >= {minimum}, got {n_samples!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")


def _shuffled(points: list[tuple[float, float, float]], rng: RandomSource, noise: float) -> Dataset:
    """Add Gaussian noise (std ``noise``) to every point, shuffle, split into X and y."""
    noisy = [(x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise), label) for x, y, label in points] if noise else points
    rng.shuffle(noisy)
    return [[x, y] for x, y, _ in noisy], [label for _, _, label in noisy]


def _linspace(start: float, stop: float, n: int, endpoint: bool = True) -> list[float]:
    if n == 1:
        return [start]
    step = (stop - start) / (n - 1 if endpoint else n)
    return [start + i * step for i in range(n)]


def tutorial() -> Dataset:
    """The seed's 4 samples of 3 features and their targets (fresh lists every call)."""
    xs = [
        [2.0, 3.0, -1.0],
        [3.0, -1.0, 0.5],
        [0.5, 1.0, 1.0],
        [1.0, 1.0, -1.0],
    ]
    ys = [1.0, -1.0, -1.0, 1.0]
    return xs, ys


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int | random.Random | None = None) -> Dataset:
    """Two interleaving half circles (as scikit-learn's make_moons): n_samples -> (X, y).

    The upper moon (centre (0, 0)) is labelled -1, the lower one (centre (1, 0.5)) +1;
    ``noise`` is the std of Gaussian noise added to each coordinate.
    """
    _check_args(n_samples, noise)
    rng = _rng(seed)
    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    points = [(math.cos(t), math.sin(t), -1.0) for t in _linspace(0.0, math.pi, n_upper)]
    points += [(1.0 - math.cos(t), 0.5 - math.sin(t), 1.0) for t in _linspace(0.0, math.pi, n_lower)]
    return _shuffled(points, rng, noise)


def make_circles(
    n_samples: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int | random.Random | None = None
) -> Dataset:
    """A circle of radius ``factor`` inside the unit circle: outer -1, inner +1 -> (X, y)."""
    _check_args(n_samples, noise)
    if not isinstance(factor, (int, float)) or not 0 < factor < 1:
        raise ValueError(f"factor must be a number in (0, 1), got {factor!r}")
    rng = _rng(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    points = [(math.cos(t), math.sin(t), -1.0) for t in _linspace(0.0, 2 * math.pi, n_outer, endpoint=False)]
    points += [
        (factor * math.cos(t), factor * math.sin(t), 1.0)
        for t in _linspace(0.0, 2 * math.pi, n_inner, endpoint=False)
    ]
    return _shuffled(points, rng, noise)


def make_spirals(
    n_samples: int = 100, noise: float = 0.05, turns: float = 1.0, seed: int | random.Random | None = None
) -> Dataset:
    """Two interleaved spirals from the origin out to radius 1, ``turns`` turns each -> (X, y).

    Point i of a spiral sits at radius r = i / n and angle 2 pi turns r (+ pi for the
    second spiral): -1 for the first, +1 for the second.
    """
    _check_args(n_samples, noise)
    if not isinstance(turns, (int, float)) or not (math.isfinite(turns) and turns > 0):
        raise ValueError(f"turns must be a positive number, got {turns!r}")
    rng = _rng(seed)
    points = []
    for label, count, offset in ((-1.0, n_samples // 2, 0.0), (1.0, n_samples - n_samples // 2, math.pi)):
        for i in range(count):
            r = (i + 1) / count  # start just off the origin, where the two spirals meet
            angle = 2 * math.pi * turns * r + offset
            points.append((r * math.cos(angle), r * math.sin(angle), label))
    return _shuffled(points, rng, noise)


def make_xor(n_samples: int = 100, noise: float = 0.1, seed: int | random.Random | None = None) -> Dataset:
    """Points in the four quadrants of [-1, 1]^2, labelled sign(x0 * x1) -> (X, y).

    Half the points are +1 (first and third quadrants), half -1; each coordinate is at
    least 0.1 away from the axes before the Gaussian noise (std ``noise``) is added.
    """
    _check_args(n_samples, noise, minimum=4)
    rng = _rng(seed)
    points = []
    for i in range(n_samples):
        label = 1.0 if i % 2 == 0 else -1.0
        sx = 1.0 if (i // 2) % 2 == 0 else -1.0
        sy = sx * label  # the sign of x0 * x1 is the label
        points.append((sx * rng.uniform(0.1, 1.0), sy * rng.uniform(0.1, 1.0), label))
    return _shuffled(points, rng, noise)


def binary_labels(y: Sequence[float]) -> list[float]:
    """Map labels with exactly two distinct values to -1.0 (the smaller) and +1.0 (the larger).

    E.g. 0/1 labels from a CSV file -> -1/+1 for the hinge loss and `fit`.
    """
    classes = sorted(set(y))
    if len(classes) != 2:
        raise ValueError(
            f"binary_labels needs exactly 2 distinct label values, got {len(classes)}: {classes[:10]!r}"
        )
    low = classes[0]
    return [-1.0 if v == low else 1.0 for v in y]


def train_test_split(
    X: Sequence[T], y: Sequence[float], test_fraction: float = 0.2, seed: int | random.Random | None = None
) -> tuple[list[T], list[T], list[float], list[float]]:
    """Shuffle and split into ``X_train, X_test, y_train, y_test`` (test gets round(n * fraction))."""
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    if not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    n_test = round(len(X) * test_fraction)
    if n_test == 0 or n_test == len(X):
        raise ValueError(f"test_fraction {test_fraction} of {len(X)} samples leaves an empty split")
    order = list(range(len(X)))
    _rng(seed).shuffle(order)
    test, train = order[:n_test], order[n_test:]
    return [X[i] for i in train], [X[i] for i in test], [y[i] for i in train], [y[i] for i in test]


def load_csv(path: PathLike, target_column: int | str = -1, header: bool | None = None, delimiter: str = ",") -> Dataset:
    """Read a CSV file of numbers: every column but ``target_column`` is a feature -> (X, y).

    ``target_column`` is an index (negative counts from the end) or, with a header, a
    column name. ``header=None`` treats the first row as a header when none of its cells
    is a number. Blank lines are skipped. Labels are returned as they are; use
    `binary_labels` to turn two classes into -1/+1. Errors name the file, the row (line
    number in the file) and the column: missing or empty file, ragged rows, cells that
    are not finite numbers, fewer than 2 columns.
    """
    name = os.fspath(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [(line, row) for line, row in _numbered_rows(csv.reader(handle, delimiter=delimiter))]
    except FileNotFoundError:
        raise FileNotFoundError(f"CSV file not found: {name}") from None
    except IsADirectoryError:
        raise DataFileError(f"{name}: is a directory, not a CSV file") from None
    except UnicodeDecodeError as err:
        raise DataFileError(f"{name}: not UTF-8 text (byte {err.start})") from None
    except csv.Error as err:
        raise DataFileError(f"{name}: not a valid CSV file ({err})") from None
    if not rows:
        raise DataFileError(f"{name}: the file is empty")

    first_line, first = rows[0]
    if header is None:
        header = not any(_is_number(cell) for cell in first)
    names = [cell.strip() for cell in first] if header else None
    data_rows = rows[1:] if header else rows
    if not data_rows:
        raise DataFileError(f"{name}: no data rows (only a header)")
    width = len(first)
    if width < 2:
        raise DataFileError(f"{name}: needs at least 2 columns (features and a target), found {width}")

    if isinstance(target_column, str):
        if names is None:
            raise ValueError(f"{name}: target_column {target_column!r} is a name, but the file has no header row")
        if target_column not in names:
            raise ValueError(f"{name}: no column named {target_column!r} (columns: {', '.join(names)})")
        target = names.index(target_column)
    elif isinstance(target_column, bool) or not isinstance(target_column, int):
        raise TypeError(f"target_column must be an int index or a column name, got {target_column!r}")
    elif not -width <= target_column < width:
        raise ValueError(f"{name}: target_column {target_column} is out of range for {width} columns")
    else:
        target = target_column % width

    X: list[list[float]] = []
    y: list[float] = []
    for line, row in data_rows:
        if len(row) != width:
            raise DataFileError(f"{name}: row {line} has {len(row)} columns, expected {width} (as in row {first_line})")
        values = []
        for col, cell in enumerate(row):
            try:
                value = float(cell)
            except ValueError:
                label = f" ({names[col]!r})" if names else ""
                what = "an empty cell" if not cell.strip() else f"{cell.strip()!r} is not a number"
                raise DataFileError(f"{name}: row {line}, column {col + 1}{label}: {what}") from None
            if not math.isfinite(value):
                label = f" ({names[col]!r})" if names else ""
                raise DataFileError(f"{name}: row {line}, column {col + 1}{label}: {cell.strip()!r} is not finite")
            values.append(value)
        y.append(values.pop(target))
        X.append(values)
    return X, y


def _numbered_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the file line number they start on (1-based)."""
    line = 1
    for row in reader:
        if any(cell.strip() for cell in row):
            yield line, row
        line = reader.line_num + 1  # type: ignore[attr-defined]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def minibatches(
    X: Sequence[T],
    y: Sequence[float],
    batch_size: int,
    shuffle: bool = True,
    seed: int | random.Random | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[list[T], list[float]]]:
    """Yield ``(X_batch, y_batch)`` pairs of ``batch_size`` samples covering the data once.

    With ``shuffle`` the order is a fresh permutation (from ``seed``); the last batch is
    smaller when batch_size does not divide n, unless ``drop_last``.
    """
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    if not len(X):
        raise ValueError("minibatches: no samples (X is empty)")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    order = list(range(len(X)))
    if shuffle:
        _rng(seed).shuffle(order)
    # Checked above, at the call; the batches themselves come lazily.
    return _batches(X, y, order, batch_size, drop_last)


def _batches(
    X: Sequence[T], y: Sequence[float], order: list[int], batch_size: int, drop_last: bool
) -> Iterator[tuple[list[T], list[float]]]:
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        if drop_last and len(chunk) < batch_size:
            return
        yield [X[i] for i in chunk], [y[i] for i in chunk]
