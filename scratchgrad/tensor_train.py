"""Ready-made tensor-engine runs: `train_digits` and `train_toy`, thin wrappers over `fit`.

    from scratchgrad.tensor_train import train_digits
    result = train_digits(epochs=30, seed=0, progress=False)
    result.test_accuracy          # about 0.98
    result.confusion_matrix       # (10, 10): rows are true digits, columns predictions

`fit`, `predict`, `accuracy`, `confusion_matrix`, `History`, `TrainingDiverged` and
`blas_threads` are `scratchgrad.train`'s (one of each for both engines), re-exported
here for old code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from scratchgrad._random import as_random
from scratchgrad.data.digits import Digits, load_digits
from scratchgrad.data.registry import Dataset, toy_dataset
from scratchgrad.nn.layers import mlp
from scratchgrad.nn.module import Module
from scratchgrad.train import History, TrainingDiverged, accuracy, blas_threads, confusion_matrix, fit, predict


def _split(data: Digits | Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if isinstance(data, Digits):
        return data.X_train, data.y_train, data.X_test, data.y_test
    return data.X, data.y, data.X_test, data.y_test


@dataclass
class DigitsResult:
    """What `train_digits` produced: the trained model, its history and test scores."""

    model: Module
    history: History
    train_accuracy: float
    test_accuracy: float
    confusion_matrix: np.ndarray  # (10, 10), rows: true digit, columns: predicted digit
    data: Digits | Dataset


def train_digits(
    hidden: Sequence[int] = (128,),
    epochs: int = 30,
    batch_size: int | None = 64,
    lr: float = 1e-3,
    seed: Any = 0,
    activation: str = "relu",
    optimizer: str = "adam",
    l2: float = 0.0,
    dtype: Any = np.float64,
    progress: bool | None = True,
    callback: Callable[[int, History], Any] | None = None,
    test_fraction: float = 0.2,
    scale: str = "standard",
    data: Digits | Dataset | None = None,
) -> DigitsResult:
    """Train a 64 -> hidden -> 10 MLP on the handwritten digits with cross-entropy.

    The defaults (one hidden layer of 128 relu units, Adam lr 1e-3, batch 64, 30 epochs,
    standardized pixels) reach about 98% test accuracy. ``seed`` fixes the weights and
    the batch order; the train/test split is always the same (`load_digits`'s), loaded
    once; or pass ``data`` (a `Digits` or a digits `Dataset`) you have loaded already.
    With ``scale='unit'`` (pixels in [0, 1]) the first layer learns about 16 times slower
    at the same lr. Needs scikit-learn (``make install-digits`` in a clone).
    """
    if data is None:
        data = load_digits(test_fraction=test_fraction, scale=scale, dtype=dtype)
    X_train, y_train, X_test, y_test = _split(data)
    rng = as_random(seed)
    model = mlp(X_train.shape[1], list(hidden), int(max(y_train.max(), y_test.max())) + 1, activation=activation, seed=rng, dtype=X_train.dtype)
    history = fit(
        model, X_train, y_train, loss="ce", optimizer=optimizer, lr=lr, epochs=epochs, batch_size=batch_size, l2=l2,
        X_test=X_test, y_test=y_test, progress=progress, seed=rng, callback=callback,
    )  # fmt: skip
    classes = model[-1].out_features  # type: ignore[attr-defined]
    test_pred = predict(model, X_test).argmax(axis=1)
    return DigitsResult(
        model=model,
        history=history,
        train_accuracy=accuracy(model, X_train, y_train),
        test_accuracy=float(np.mean(test_pred == y_test)),
        confusion_matrix=confusion_matrix(y_test, test_pred, classes),
        data=data,
    )


@dataclass
class ToyResult:
    """What `train_toy` produced; ``predict(points)`` gives scores for a decision boundary."""

    model: Module
    history: History
    train_accuracy: float
    X: np.ndarray
    y: np.ndarray

    def predict(self, points: Any) -> np.ndarray:
        """One score per point ((n, 2) array or list of [x0, x1]); its sign is the class."""
        return predict(self.model, np.asarray(points, dtype=self.X.dtype).reshape(-1, 2))  # type: ignore[no-any-return]


def train_toy(
    dataset: str = "moons",
    hidden: Sequence[int] = (16, 16),
    activation: str = "relu",
    loss: str = "hinge",
    optimizer: str = "sgd",
    lr: float | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    n_samples: int = 100,
    noise: float | None = None,
    l2: float = 1e-4,
    seed: Any = 0,
    progress: bool | None = True,
    callback: Callable[[int, History], Any] | None = None,
) -> ToyResult:
    """Train a 2 -> hidden -> 1 MLP on a 2-D toy set (moons, circles, spirals, xor).

    The defaults are micrograd's moons demo: relu 16-16, hinge loss + L2 1e-4, full-batch
    SGD whose lr falls linearly from 1.0 to 0.1 over the epochs. With another optimizer
    the default lr is that optimizer's and constant. ``seed`` fixes the data, the weights
    and the batch order.
    """
    X, y = toy_dataset(dataset, n_samples=n_samples, noise=noise, seed=seed)
    rng = as_random(seed)
    model = mlp(2, list(hidden), 1, activation=activation, seed=rng)
    sgd = optimizer == "sgd"
    history = fit(
        model, X, y, loss=loss, optimizer=optimizer, lr=lr if lr is not None else (1.0 if sgd else None),
        epochs=epochs, batch_size=batch_size, l2=l2, scheduler="linear" if sgd else None, progress=progress,
        seed=rng, callback=callback,
    )  # fmt: skip
    return ToyResult(model=model, history=history, train_accuracy=accuracy(model, X, y), X=X, y=y)


__all__ = [
    "DigitsResult",
    "History",
    "ToyResult",
    "TrainingDiverged",
    "accuracy",
    "blas_threads",
    "confusion_matrix",
    "fit",
    "predict",
    "train_digits",
    "train_toy",
]
