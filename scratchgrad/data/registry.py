"""DATASETS: every built-in data set by name, and `Dataset`, what loading one gives.

    from scratchgrad.data import DATASETS, load_dataset
    data = load_dataset("moons", samples=200, noise=0.2, seed=0)
    data.X, data.y, data.X_test, data.y_test      # numpy arrays, loaded once
    X, y, X_test, y_test = data.as_lists()        # lists of floats for the scalar engine

A `DatasetInfo` says what a set is (``kind``: 'binary' with labels -1/+1, 'classes'
with indices 0..k-1, 'regression'), its default size and noise (None: fixed, and
asking for another is an error rather than silently ignored) and the extra it needs.
The CLI and the playground list and load data sets from here: adding one is one entry.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from scratchgrad.data import toy
from scratchgrad.nn.module import float_dtype

KINDS = ("binary", "classes", "regression")
TEST_SEED_OFFSET = 1_000_003  # a generated set's test points: a fresh sample with seed + this


@dataclass
class Dataset:
    """Training data ``X`` (n, features) and ``y`` (n,), and a test set (possibly empty).

    ``y`` is float64 -1/+1 for 'binary', int64 indices for 'classes', float64 for
    'regression'. The arrays are made once; `as_lists` gives the scalar engine lists.
    """

    X: Any  # arrays after construction (lists are accepted)
    y: Any
    X_test: Any = None
    y_test: Any = None
    kind: str = "binary"
    classes: int = 2
    description: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {self.kind!r}")
        self.X = np.asarray(self.X, dtype=self.X.dtype if _is_float_array(self.X) else np.float64)
        if self.X.ndim != 2:
            raise ValueError(f"X must be (samples, features), got shape {self.X.shape}")
        label_type = np.int64 if self.kind == "classes" else np.float64
        self.y = np.asarray(self.y, dtype=label_type)
        if self.y.shape != (len(self.X),):
            raise ValueError(f"y must hold one label per sample: X has {len(self.X)} samples, y has shape {self.y.shape}")
        if self.X_test is None:
            self.X_test, self.y_test = self.X[:0], self.y[:0]
        self.X_test = np.asarray(self.X_test, dtype=self.X.dtype).reshape(-1, self.X.shape[1])
        self.y_test = np.asarray(self.y_test, dtype=label_type)
        if self.y_test.shape != (len(self.X_test),):
            raise ValueError(f"y_test must hold one label per test sample, got shape {self.y_test.shape}")

    @property
    def num_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def has_test(self) -> bool:
        return len(self.X_test) > 0

    def as_lists(self) -> tuple[list[list[float]], list[Any], list[list[float]], list[Any]]:
        """``X, y, X_test, y_test`` as lists of floats (int labels for 'classes')."""
        return self.X.tolist(), self.y.tolist(), self.X_test.tolist(), self.y_test.tolist()

    def astype(self, dtype: Any) -> Dataset:
        """The same data with features of ``dtype`` (float64 or float32)."""
        target = float_dtype(dtype)
        return Dataset(
            self.X.astype(target), self.y, self.X_test.astype(target), self.y_test,
            self.kind, self.classes, self.description, self.name,
        )  # fmt: skip


def _is_float_array(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.dtype in (np.float32, np.float64)


@dataclass(frozen=True)
class DatasetInfo:
    """One built-in data set: what it is and how to load it (`load`)."""

    name: str
    summary: str
    kind: str
    samples: int | None  # default number of training samples; None: fixed by the data
    noise: float | None  # default noise; None: the set has no noise setting
    loader: Callable[[int | None, float | None, Any], Dataset] = field(repr=False)
    extra: str | None = None  # the pip extra it needs, e.g. 'digits' (scikit-learn)
    features: int = 2
    classes: int = 2

    def load(self, samples: int | None = None, noise: float | None = None, seed: Any = 0) -> Dataset:
        """The data set; ``samples`` / ``noise`` None take the defaults. A set with a fixed
        size or no noise refuses a value for them (a ValueError saying so)."""
        for what, value, default in (("samples", samples, self.samples), ("noise", noise, self.noise)):
            if value is not None and default is None:
                raise ValueError(f"the {self.name} data set has no {what} setting ({what}= does not apply to it)")
        return self.loader(self.samples if samples is None else samples, self.noise if noise is None else noise, seed)


def _generated(
    make: Callable[..., toy.Points], name: str, kind: str = "binary"
) -> Callable[[int | None, float | None, Any], Dataset]:
    def load(samples: int | None, noise: float | None, seed: Any) -> Dataset:
        X, y = make(samples, noise=noise, seed=seed)
        # A fresh sample of the same distribution measures how well the model generalises.
        test_seed = seed + TEST_SEED_OFFSET if isinstance(seed, int) and not isinstance(seed, bool) else seed
        X_test, y_test = make(samples, noise=noise, seed=test_seed)
        classes = 2 if kind == "binary" else 1
        return Dataset(X, y, X_test, y_test, kind, classes, f"{name} ({samples} samples, noise {noise:g})", name)

    return load


def _tutorial(samples: int | None, noise: float | None, seed: Any) -> Dataset:
    X, y = toy.tutorial()
    return Dataset(X, y, kind="binary", classes=2, description="the tutorial's 4 samples", name="tutorial")


def _digits(samples: int | None, noise: float | None, seed: Any) -> Dataset:
    from scratchgrad.data.digits import NUM_CLASSES, load_digits

    data = load_digits()  # the split is fixed: the same on every machine, whatever the seed
    return Dataset(
        data.X_train, data.y_train, data.X_test, data.y_test, "classes", NUM_CLASSES,
        f"digits ({len(data.X_train)} training and {len(data.X_test)} test images of 8x8 pixels)", "digits",
    )  # fmt: skip


NAMES_CONTEXT = 3  # the names set as samples: the ids of the 3 previous characters -> the next one


def _names(samples: int | None, noise: float | None, seed: Any) -> Dataset:
    from scratchgrad.data.names import NamesData

    data = NamesData()  # the split is fixed: every tenth name is for validation
    X, y = data.next_character_windows(NAMES_CONTEXT, "train")
    X_test, y_test = data.next_character_windows(NAMES_CONTEXT, "validation")
    return Dataset(
        X, y, X_test, y_test, "classes", data.tokenizer.vocab_size,
        f"names ({len(data.train):,} training and {len(data.validation):,} validation names; each character "
        f"with the ids of the {NAMES_CONTEXT} before it)", "names",
    )  # fmt: skip


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("moons", "two interleaving half circles", "binary", 100, 0.1, _generated(toy.make_moons, "moons")),
        DatasetInfo("circles", "a small circle inside a large one", "binary", 100, 0.05, _generated(toy.make_circles, "circles")),
        DatasetInfo("spirals", "two interleaved spirals", "binary", 100, 0.05, _generated(toy.make_spirals, "spirals")),
        DatasetInfo("xor", "points in four quadrants, labelled sign(x0 * x1)", "binary", 100, 0.1, _generated(toy.make_xor, "xor")),
        DatasetInfo("gauss", "two Gaussian clouds, around (1, 1) and (-1, -1)", "binary", 100, 0.1, _generated(toy.make_gauss, "gauss")),
        DatasetInfo(
            "plane", "regression: a tilted plane, y = (x0 + x1) / 2", "regression", 100, 0.1,
            _generated(toy.make_plane, "plane", "regression"), classes=1,
        ),
        DatasetInfo(
            "gaussian_mix", "regression: Gaussian bumps up and down", "regression", 100, 0.1,
            _generated(toy.make_gaussian_mix, "gaussian_mix", "regression"), classes=1,
        ),
        DatasetInfo("tutorial", "the tutorial's 4 samples of 3 features", "binary", None, None, _tutorial, features=3),
        DatasetInfo(
            "digits", "8x8 images of handwritten digits 0-9 (scikit-learn's)", "classes", None, None, _digits,
            extra="digits", features=64, classes=10,
        ),  # fmt: skip
        DatasetInfo(
            "names", "32,033 first names for a character-level GPT (scratchgrad.data.NamesData); as samples: "
            f"the ids of the {NAMES_CONTEXT} previous characters -> the next one", "classes", None, None, _names,
            features=NAMES_CONTEXT, classes=27,
        ),  # fmt: skip
    )
}

GENERATED = tuple(name for name, info in DATASETS.items() if info.noise is not None)


def dataset_info(name: object) -> DatasetInfo:
    """The DATASETS entry of ``name``, or a ValueError listing the names (and the closest one)."""
    if isinstance(name, str) and name in DATASETS:
        return DATASETS[name]
    close = difflib.get_close_matches(str(name)[:100], DATASETS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}{hint}")


def load_dataset(name: str, samples: int | None = None, noise: float | None = None, seed: Any = 0) -> Dataset:
    """``DATASETS[name].load(samples, noise, seed)``: see `DatasetInfo.load`."""
    return dataset_info(name).load(samples, noise, seed)


def toy_dataset(
    name: str, n_samples: int = 100, noise: float | None = None, seed: Any = 0, dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """The training points of a generated 2-D set as arrays: X (n, 2) float, y (n,) of -1.0 / +1.0
    (real targets for the regression sets).

    ``name`` is one of `GENERATED` (moons, circles, spirals, xor, ...); ``noise`` None uses
    that set's default.
    """
    if name not in GENERATED:
        raise ValueError(f"unknown toy data set {name!r}; choose one of {', '.join(GENERATED)}")
    data = DATASETS[name].load(n_samples, noise, seed)
    target = float_dtype(dtype)
    return data.X.astype(target), data.y.astype(target)
