"""The playground's points: the library's 2-D data sets, the input features, uploaded CSV files.

Data sets are the entries of `scratchgrad.data.DATASETS` that the page can draw: two
features, a size and a noise setting, and a kind the playground trains on ('binary'
for classification, 'regression'). A set added to that registry shows up here, with no
change to the playground. Points are split into train and test by the library's
`train_test_split`; uploaded files are read by its `csv_dataset`.

The network's inputs are *features* of a point (x1, x2): any of x1, x2, x1², x2²,
x1·x2, sin x1 and sin x2, as in TensorFlow Playground.
"""

from __future__ import annotations

import os
import tempfile
from typing import Callable

import numpy as np

from scratchgrad import data as library_data

Points = tuple[np.ndarray, np.ndarray]  # X (n, 2), y (n,)

# The problem the page offers -> the kind of data set (`scratchgrad.data.KINDS`) it trains on.
PROBLEMS = {"classification": "binary", "regression": "regression"}
UPLOADED = "csv"  # the data set name of an uploaded file

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


def datasets(problem: str) -> tuple[str, ...]:
    """The built-in sets for ``problem`` ('classification' or 'regression'), in registry order."""
    kind = PROBLEMS[problem]
    return tuple(
        name
        for name, info in library_data.DATASETS.items()
        if info.kind == kind and info.features == 2 and info.samples is not None and info.noise is not None
    )


def all_datasets() -> tuple[str, ...]:
    """Every data set the page offers: the built-in ones, then an uploaded file."""
    return (*(name for problem in PROBLEMS for name in datasets(problem)), UPLOADED)


def problem_of(dataset: str) -> str | None:
    """'classification' or 'regression' for a built-in set; None for an upload (either)."""
    for problem in PROBLEMS:
        if dataset in datasets(problem):
            return problem
    return None


def summary(dataset: str) -> str:
    """What the set is, as the registry says (for the page's tooltips)."""
    return "your uploaded CSV file" if dataset == UPLOADED else library_data.DATASETS[dataset].summary


def make(dataset: str, n_points: int, noise: float, seed: int) -> Points:
    """``n_points`` points of a built-in set: X (n, 2) and y (n,) (±1 labels or real targets)."""
    loaded = library_data.load_dataset(dataset, samples=n_points, noise=noise, seed=seed)
    return loaded.X, loaded.y


def split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int) -> tuple[Points, Points]:
    """(train, test) points, shuffled with ``seed`` by the library's `train_test_split`."""
    x_train, x_test, y_train, y_test = library_data.train_test_split(x, y, test_fraction=test_fraction, seed=seed)
    return (x_train, y_train), (x_test, y_test)


def features(points: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The network's inputs for points (n, 2): one column per feature name -> (n, len(names))."""
    return np.column_stack([FEATURES[name][1](points) for name in names]) if names else np.zeros((len(points), 0))


def read_upload(content: bytes, problem: str, filename: str = "the uploaded file") -> Points:
    """Points from an uploaded CSV: three columns x1, x2, target; a header row is optional.

    Read by the library's `load_csv` (errors name the row and the column); classification
    targets must take exactly two values (e.g. 0/1 or -1/1), turned into -1/+1 by its
    `binary_labels`; regression targets are any numbers. The playground adds its own
    bounds: 10 to 2000 points, numbers within ±1e4, not every point in one place. Raises
    `UploadError` saying what is wrong.
    """
    shown = os.path.basename(filename) or "the uploaded file"
    with tempfile.TemporaryDirectory(prefix="scratchgrad-upload-") as folder:
        path = os.path.join(folder, "upload.csv")
        with open(path, "wb") as handle:
            handle.write(content)
        try:
            x, y = library_data.load_csv(path)
        except ValueError as exc:  # DataFileError too
            raise UploadError(str(exc).replace(path, shown)) from None
    if len(x[0]) != 2:
        raise UploadError(f"{shown}: needs 3 columns (x1, x2, target), found {len(x[0]) + 1}; one row per point, e.g. 0.5,-1.2,1")
    if not MIN_UPLOAD_POINTS <= len(x) <= MAX_UPLOAD_POINTS:
        raise UploadError(f"{shown}: has {len(x)} points; the playground takes {MIN_UPLOAD_POINTS} to {MAX_UPLOAD_POINTS}")
    points, targets = np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)
    too_big = np.flatnonzero((np.abs(points) > MAX_UPLOAD_MAGNITUDE).any(axis=1) | (np.abs(targets) > MAX_UPLOAD_MAGNITUDE))
    if too_big.size:
        raise UploadError(
            f"{shown}: data row {too_big[0] + 1} has a number larger than {MAX_UPLOAD_MAGNITUDE:g} in size; scale the data down"
        )
    if len(np.unique(points, axis=0)) < 2:
        raise UploadError(f"{shown}: every point is at the same place")
    if PROBLEMS[problem] == "binary":
        try:
            targets = np.array(library_data.binary_labels(targets), dtype=np.float64)
        except ValueError as exc:
            raise UploadError(f"{shown}: {exc}; for real-valued targets switch the problem to regression") from None
    return points, targets
