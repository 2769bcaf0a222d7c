"""What ``scratchgrad train`` learns: the data set named by ``--dataset``, loaded as lists."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from scratchgrad.cli.common import UsageError, did_you_mean, missing_extra, printable, say
from scratchgrad.cli.presets import DATASETS, GENERATED, TrainConfig


@dataclass(frozen=True)
class DatasetSpec:
    """What ``--dataset`` named: a built-in set, or ``csv`` with its path."""

    name: str
    path: Path | None = None

    @property
    def stem(self) -> str:
        """The prefix of the files written for this data set."""
        return self.path.stem if self.path is not None else self.name


def dataset(text: str) -> DatasetSpec:
    """``--dataset NAME`` -> DatasetSpec."""
    if text.startswith("csv:"):
        path = text[len("csv:") :]
        if not path:
            raise argparse.ArgumentTypeError("csv: needs a file name, e.g. --dataset csv:data.csv")
        return DatasetSpec("csv", Path(path))
    if text in DATASETS:
        return DatasetSpec(text)
    hint = did_you_mean(text, DATASETS)
    if not hint and text.lower().endswith(".csv"):
        hint = f"; did you mean 'csv:{printable(text)}'?"
    from scratchgrad.expr import shorten

    raise argparse.ArgumentTypeError(
        f"unknown dataset {printable(shorten(text))!r} (choose from {', '.join(DATASETS)} or csv:PATH){hint}"
    )


@dataclass
class Problem:
    """The data to learn: X as lists of floats, y as ±1 labels, class indices or real targets."""

    X: list[list[float]]
    y: list[Any]
    kind: str  # 'binary' (±1), 'classes' (0..k-1) or 'regression'
    classes: int = 2
    X_test: list[list[float]] = field(default_factory=list)
    y_test: list[Any] = field(default_factory=list)
    description: str = ""


def load(spec: DatasetSpec, config: TrainConfig, seed: int) -> Problem:
    from scratchgrad import data

    if spec.name == "digits":
        return _digits()
    if spec.name in GENERATED:
        makers: dict[str, Callable[..., Any]] = {"moons": data.make_moons, "circles": data.make_circles,
                                                 "spirals": data.make_spirals, "xor": data.make_xor}  # fmt: skip
        make = makers[spec.name]
        X, y = make(config.samples, noise=config.noise, seed=seed)
        # A fresh sample of the same distribution measures how well the model generalises.
        X_test, y_test = make(config.samples, noise=config.noise, seed=seed + 1_000_003)
        description = f"{spec.name} ({config.samples} samples, noise {config.noise:g})"
        return Problem(X, y, "binary", 2, X_test, y_test, description)
    if spec.name == "tutorial":
        X, y = data.tutorial()
        return Problem(X, y, "binary", 2, description="the tutorial's 4 samples")
    assert spec.name == "csv" and spec.path is not None
    try:
        X, y = data.load_csv(spec.path)
    except FileNotFoundError:
        raise UsageError(f"--dataset csv:{printable(spec.path)}: file not found") from None
    except IsADirectoryError:
        raise UsageError(f"--dataset csv:{printable(spec.path)} is a folder, not a CSV file") from None
    except OSError as error:
        raise UsageError(f"--dataset csv:{printable(spec.path)}: cannot read it: {error.strerror or error}") from None
    except ValueError as error:  # DataFileError names the file, the row and the column
        raise UsageError(printable(error)) from None
    return _csv(X, y, config, spec)


def _csv(X: list[list[float]], y: list[float], config: TrainConfig, spec: DatasetSpec) -> Problem:
    from scratchgrad.data import binary_labels

    values = sorted(set(y))
    where = f"{len(X)} rows of {printable(spec.path)}"
    if config.loss == "ce":
        if not all(float(v).is_integer() for v in values):
            raise UsageError(f"--loss ce needs whole-number class labels in the last column of {printable(spec.path)}")
        index = {v: i for i, v in enumerate(values)}
        return Problem(X, [index[v] for v in y], "classes", len(values), description=f"{where}, {len(values)} classes")
    if len(values) == 2:
        if values != [-1.0, 1.0]:
            say(f"labels {values[0]:g} -> -1 and {values[1]:g} -> +1")
        return Problem(X, binary_labels(y), "binary", 2, description=f"{where}, 2 classes")
    if config.loss in ("mse", "sse"):
        return Problem(X, y, "regression", 1, description=f"{where}, real targets")
    raise UsageError(
        f"the last column of {printable(spec.path)} has {len(values)} distinct values: use --loss ce for several "
        "classes, or --loss mse for real-valued targets"
    )


def _digits() -> Problem:
    try:
        from scratchgrad.digits import load_digits

        digits = load_digits()
    except ImportError as error:  # scikit-learn missing
        raise missing_extra("digits", "--dataset digits", error) from None
    return Problem(
        digits.X_train.tolist(),
        digits.y_train.tolist(),
        "classes",
        digits.num_classes,
        digits.X_test.tolist(),
        digits.y_test.tolist(),
        f"digits ({len(digits.X_train)} training and {len(digits.X_test)} test images of 8x8 pixels)",
    )


def check_loss_fits(config: TrainConfig, problem: Problem) -> None:
    if config.loss == "ce" and problem.kind == "binary":
        raise UsageError("--loss ce is for several classes; for two classes use hinge, bce, mse or sse")
    if config.loss != "ce" and problem.kind == "classes":
        raise UsageError(
            f"--loss {config.loss} is for two classes; this data has {problem.classes} classes: use --loss ce"
        )
