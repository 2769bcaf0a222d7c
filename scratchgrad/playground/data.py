"""The playground's points: its data sets, the input features, and uploaded CSV files.

Classification sets come from `scratchgrad.data` (moons, circles, spirals, xor) plus
``gauss`` (two Gaussian clouds); regression sets are ``plane`` (a tilted plane) and
``gaussian_mix`` (bumps up and down). Every set is reproducible from its seed.

``gauss``, ``plane`` and ``gaussian_mix`` are made here only until the library's
``DATASETS`` registry has them (the one-library redesign); then this module reads that
registry and keeps only the features and the upload check.

The network's inputs are *features* of a point (x1, x2): any of x1, x2, x1², x2²,
x1·x2, sin x1 and sin x2, as in TensorFlow Playground.
"""

from __future__ import annotations

import math
import os
import random
import tempfile
from typing import Callable

import numpy as np

from scratchgrad import data as library_data

Points = tuple[np.ndarray, np.ndarray]  # X (n, 2), y (n,)

PROBLEMS = ("classification", "regression")
CLASSIFICATION_SETS = ("moons", "circles", "spirals", "xor", "gauss")
REGRESSION_SETS = ("plane", "gaussian_mix")
UPLOADED = "csv"  # the data set name of an uploaded file
DATASETS = CLASSIFICATION_SETS + REGRESSION_SETS + (UPLOADED,)
DATASET_LABELS = {
    "moons": "two moons",
    "circles": "circle in a ring",
    "spirals": "two spirals",
    "xor": "exclusive or",
    "gauss": "two Gaussian clouds",
    "plane": "a tilted plane",
    "gaussian_mix": "a mix of Gaussian bumps",
    "csv": "your CSV file",
}

# name -> (label shown on the page, the feature as a function of the points (n, 2))
FEATURES: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "x1": ("x\u2081", lambda p: p[:, 0]),
    "x2": ("x\u2082", lambda p: p[:, 1]),
    "x1sq": ("x\u2081\u00b2", lambda p: p[:, 0] ** 2),
    "x2sq": ("x\u2082\u00b2", lambda p: p[:, 1] ** 2),
    "x1x2": ("x\u2081x\u2082", lambda p: p[:, 0] * p[:, 1]),
    "sinx1": ("sin x\u2081", lambda p: np.sin(p[:, 0])),
    "sinx2": ("sin x\u2082", lambda p: np.sin(p[:, 1])),
}

# Uploaded files: at most this many points, coordinates and targets at most this large.
MAX_UPLOAD_POINTS = 2000
MIN_UPLOAD_POINTS = 10
MAX_UPLOAD_MAGNITUDE = 1e4


class UploadError(ValueError):
    """An uploaded CSV file that cannot be used; the message names the row and what is wrong."""


def problem_of(dataset: str) -> str | None:
    """'classification' or 'regression' for a built-in set; None for an upload (either)."""
    if dataset in CLASSIFICATION_SETS:
        return "classification"
    if dataset in REGRESSION_SETS:
        return "regression"
    return None


def make(dataset: str, n_points: int, noise: float, seed: int) -> Points:
    """``n_points`` points of a built-in set: X (n, 2) and y (n,) (±1 labels or real targets)."""
    if dataset in _LIBRARY_SETS:
        x, y = _LIBRARY_SETS[dataset](n_samples=n_points, noise=noise, seed=seed)
        return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)
    if dataset in _OWN_SETS:
        return _OWN_SETS[dataset](n_points, noise, random.Random(seed))
    raise ValueError(f"unknown data set {dataset!r}")


def _gauss(n: int, noise: float, rng: random.Random) -> Points:
    """Two round clouds, +1 around (1, 1) and -1 around (-1, -1); noise widens them."""
    spread = 0.3 + noise
    rows = []
    for i in range(n):
        label = 1.0 if i % 2 == 0 else -1.0
        rows.append((label + rng.gauss(0.0, spread), label + rng.gauss(0.0, spread), label))
    rng.shuffle(rows)
    array = np.array(rows, dtype=np.float64)
    return array[:, :2], array[:, 2]


def _plane(n: int, noise: float, rng: random.Random) -> Points:
    """Points uniform in [-1, 1]²; target (x1 + x2) / 2 read at a point moved by the noise."""
    rows = []
    for _ in range(n):
        x1, x2 = rng.uniform(-1, 1), rng.uniform(-1, 1)
        n1, n2 = rng.uniform(-1, 1) * noise, rng.uniform(-1, 1) * noise
        rows.append((x1, x2, max(-1.0, min(1.0, (x1 + n1 + x2 + n2) / 2))))
    array = np.array(rows, dtype=np.float64)
    return array[:, :2], array[:, 2]


# Bumps of the mix: centre and height; each is a Gaussian of width _BUMP_WIDTH.
_BUMPS = ((-0.5, 0.5, 1.0), (0.5, 0.5, -1.0), (-0.5, -0.5, -1.0), (0.5, -0.5, 1.0), (0.0, 0.0, 0.8))
_BUMP_WIDTH = 0.25


def _gaussian_mix(n: int, noise: float, rng: random.Random) -> Points:
    """Points uniform in [-1, 1]²; target a sum of Gaussian bumps up and down, in [-1, 1]."""
    rows = []
    for _ in range(n):
        x1, x2 = rng.uniform(-1, 1), rng.uniform(-1, 1)
        a, b = x1 + rng.uniform(-1, 1) * noise, x2 + rng.uniform(-1, 1) * noise
        height = sum(
            h * math.exp(-((a - cx) ** 2 + (b - cy) ** 2) / (2 * _BUMP_WIDTH**2)) for cx, cy, h in _BUMPS
        )
        rows.append((x1, x2, max(-1.0, min(1.0, height))))
    array = np.array(rows, dtype=np.float64)
    return array[:, :2], array[:, 2]


_LIBRARY_SETS: dict[str, Callable[..., tuple[list[list[float]], list[float]]]] = {
    "moons": library_data.make_moons,
    "circles": library_data.make_circles,
    "spirals": library_data.make_spirals,
    "xor": library_data.make_xor,
}
_OWN_SETS: dict[str, Callable[[int, float, random.Random], Points]] = {
    "gauss": _gauss,
    "plane": _plane,
    "gaussian_mix": _gaussian_mix,
}


def split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int) -> tuple[Points, Points]:
    """(train, test) points, shuffled with ``seed`` by the library's `train_test_split`."""
    x_train, x_test, y_train, y_test = library_data.train_test_split(
        x.tolist(), y.tolist(), test_fraction=test_fraction, seed=seed
    )
    as_array = np.array
    return (
        (as_array(x_train, dtype=np.float64).reshape(-1, 2), as_array(y_train, dtype=np.float64)),
        (as_array(x_test, dtype=np.float64).reshape(-1, 2), as_array(y_test, dtype=np.float64)),
    )


def features(points: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The network's inputs for points (n, 2): one column per feature name -> (n, len(names))."""
    return np.column_stack([FEATURES[name][1](points) for name in names]) if names else np.zeros((len(points), 0))


def read_upload(content: bytes, problem: str, filename: str = "the uploaded file") -> Points:
    """Points from an uploaded CSV: three columns x1, x2, target; a header row is optional.

    Classification targets must take exactly two values (e.g. 0/1 or -1/1: the smaller
    becomes -1); regression targets are numbers in [-1e4, 1e4]. Raises `UploadError`
    naming the row (line in the file) and the column for anything else.
    """
    shown = os.path.basename(filename) or "the uploaded file"
    with tempfile.TemporaryDirectory(prefix="scratchgrad-upload-") as folder:
        path = os.path.join(folder, "upload.csv")
        with open(path, "wb") as handle:
            handle.write(content)
        try:
            x, y = library_data.load_csv(path)
        except (library_data.DataFileError, ValueError) as exc:
            raise UploadError(str(exc).replace(path, shown)) from None
    width = len(x[0]) + 1
    if width != 3:
        raise UploadError(
            f"{shown}: needs 3 columns (x1, x2, target), found {width}; "
            "one row per point, e.g. 0.5,-1.2,1"
        )
    if not MIN_UPLOAD_POINTS <= len(x) <= MAX_UPLOAD_POINTS:
        raise UploadError(
            f"{shown}: has {len(x)} points; the playground takes {MIN_UPLOAD_POINTS} to {MAX_UPLOAD_POINTS}"
        )
    points = np.array(x, dtype=np.float64)
    targets = np.array(y, dtype=np.float64)
    too_big = np.flatnonzero((np.abs(points) > MAX_UPLOAD_MAGNITUDE).any(axis=1) | (np.abs(targets) > MAX_UPLOAD_MAGNITUDE))
    if too_big.size:
        raise UploadError(
            f"{shown}: data row {too_big[0] + 1} has a number larger than {MAX_UPLOAD_MAGNITUDE:g} in size; "
            "scale the data down"
        )
    if problem == "classification":
        classes = sorted(set(targets.tolist()))
        if len(classes) != 2:
            listed = ", ".join(f"{c:g}" for c in classes[:6]) + (" ..." if len(classes) > 6 else "")
            raise UploadError(
                f"{shown}: classification needs exactly 2 target values (e.g. 0 and 1), found {len(classes)}: "
                f"{listed}; switch the problem to regression for real-valued targets"
            )
        targets = np.array(library_data.binary_labels(targets.tolist()), dtype=np.float64)
    if len(set(map(tuple, points.tolist()))) < 2:
        raise UploadError(f"{shown}: every point is at the same place")
    return points, targets
