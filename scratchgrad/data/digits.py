"""The handwritten digits: scikit-learn's bundled 8x8 images of 0-9, as numpy arrays.

`load_digits` reads scikit-learn's digits set (1,797 images, shipped inside scikit-learn:
nothing is downloaded), behind the optional ``digits`` extra. Pixels are standardized
with the training set's per-pixel mean and standard deviation (``scale='standard'``, the
default) or scaled from 0..16 to [0, 1] (``scale='unit'``), and split into train and
test sets by a fixed, seeded, stratified shuffle (`scratchgrad.data.splits`), so every
run and every machine sees the same split.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from scratchgrad.data.splits import stratified_split
from scratchgrad.nn.module import float_dtype

NUM_CLASSES = 10
IMAGE_SHAPE = (8, 8)
_PIXEL_MAX = 16.0  # the digits' pixels are counts 0..16 (4x4 blocks of a 32x32 bitmap)


@dataclass(frozen=True)
class Digits:
    """A train/test split of the digits: X float (n, 64), y int64 (n,) in 0..9.

    ``X = (pixels / 16 - feature_mean) / feature_scale``: with ``scale='unit'`` the
    mean is 0 and the scale 1 (X in [0, 1]); `transform` applies the same to new images.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_mean: np.ndarray
    feature_scale: np.ndarray

    def transform(self, pixels: Any) -> np.ndarray:
        """Raw 8x8 images (values 0..16, shape (n, 64) or (n, 8, 8)) as model inputs."""
        raw = np.asarray(pixels, dtype=self.X_train.dtype)
        raw = raw.reshape(len(raw), -1) if raw.ndim > 1 else raw.reshape(1, -1)
        if raw.shape[1] != 64:
            raise ValueError(f"transform: images must have 64 pixels (8x8), got shape {np.shape(pixels)}")
        return ((raw / _PIXEL_MAX - self.feature_mean) / self.feature_scale).astype(self.X_train.dtype)

    @property
    def num_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def num_classes(self) -> int:
        return NUM_CLASSES


@functools.lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits, read once per process (read-only arrays: callers get copies)."""
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError:
        from scratchgrad.extras import MissingExtraError, install_hint

        raise MissingExtraError(
            "the digits data set comes with scikit-learn, which is not installed: "
            f"install it with {install_hint('digits')}"
        ) from None
    X, y = sklearn_load_digits(return_X_y=True)
    X = np.asarray(X, dtype=np.float64) / _PIXEL_MAX
    y = np.asarray(y, dtype=np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


SCALES = ("unit", "standard")


def load_digits(test_fraction: float = 0.2, seed: int = 0, scale: str = "standard", dtype: Any = np.float64) -> Digits:
    """The digits split into train and test sets (by default 1,438 and 359 images).

    Features are the 64 pixels standardized to mean 0 and standard deviation 1 per
    pixel over the training set (``scale='standard'``; pixels that never vary stay 0),
    or scaled to [0, 1] (``'unit'``); float64, or float32 with ``dtype``. Labels are
    int64 class indices 0..9. The split is stratified and fixed by ``seed``.

    Why standardize: with Adam at lr 1e-3 a first layer fed [0, 1] pixels learns about
    16 times slower (the same steps, inputs 16 times smaller), ending near 97% test
    accuracy after 30 epochs where standardized inputs reach about 98%.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(map(repr, SCALES))}, got {scale!r}")
    target = float_dtype(dtype)
    X, y = _raw_digits()
    train, test = stratified_split(y, test_fraction, seed)
    mean = np.zeros(X.shape[1])
    spread = np.ones(X.shape[1])
    if scale == "standard":
        mean = X[train].mean(axis=0)
        spread = X[train].std(axis=0)
        spread[spread == 0] = 1.0  # a pixel that is always blank stays 0, not 0/0
    return Digits(
        X_train=((X[train] - mean) / spread).astype(target),
        y_train=y[train].copy(),
        X_test=((X[test] - mean) / spread).astype(target),
        y_test=y[test].copy(),
        feature_mean=mean,
        feature_scale=spread,
    )
