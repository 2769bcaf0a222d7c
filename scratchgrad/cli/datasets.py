"""What ``scratchgrad train`` learns: a data set of the library's registry, or a CSV file.

The names, summaries, sizes and loaders come from ``scratchgrad.data.DATASETS`` and the
settings that train each one from ``scratchgrad.train.PRESETS``: a data set registered
there is a ``--dataset`` choice here, with nothing to add. The data is loaded once, as
the library's `Dataset` (numpy arrays), and both engines train on it as it is.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scratchgrad.cli.common import UsageError, did_you_mean, missing_extra, printable

CSV = "csv"  # --dataset csv:PATH; its settings are PRESETS["csv"]

# The label convention of a loss (scratchgrad.nn.LOSSES[...].labels) that each kind of data takes.
LABELS_OF_KIND = {"binary": ("pm1", "real"), "classes": ("index",), "regression": ("real",)}


@dataclass(frozen=True)
class DatasetSpec:
    """What ``--dataset`` named: a registered data set, or ``csv`` with its path."""

    name: str
    path: Path | None = None

    @property
    def stem(self) -> str:
        """The prefix of the files written for this data set."""
        return self.path.stem if self.path is not None else self.name

    @property
    def shown(self) -> str:
        """The data set as the user wrote it, safe to print."""
        return f"{CSV}:{printable(self.path)}" if self.path is not None else self.name

    def info(self) -> Any:
        """The registry's `DatasetInfo`, or None for a CSV file."""
        from scratchgrad.data import DATASETS

        return None if self.path is not None else DATASETS[self.name]


def names() -> list[str]:
    from scratchgrad.data import DATASETS

    return list(DATASETS)


def dataset(text: str) -> DatasetSpec:
    """``--dataset NAME`` -> DatasetSpec."""
    if text.startswith(f"{CSV}:"):
        path = text[len(CSV) + 1 :]
        if not path:
            raise argparse.ArgumentTypeError("csv: needs a file name, e.g. --dataset csv:data.csv")
        return DatasetSpec(CSV, Path(path))
    if text in names():
        return DatasetSpec(text)
    hint = did_you_mean(text, names())
    if not hint and text.lower().endswith(".csv"):
        hint = f"; did you mean 'csv:{printable(text)}'?"
    from scratchgrad.expr import shorten

    raise argparse.ArgumentTypeError(
        f"unknown dataset {printable(shorten(text))!r} (choose from {', '.join(names())} or csv:PATH){hint}"
    )


def choices_help() -> str:
    from scratchgrad.data import DATASETS

    listed = "; ".join(
        f"{name} ({info.summary}{f', needs the {info.extra} extra' if info.extra else ''})" for name, info in DATASETS.items()
    )
    return f"{listed}; or csv:PATH (a CSV file of numbers, the last column the label) (default: moons)"


def first_loss(kind: str) -> str:
    """The first loss of the registry that suits data of ``kind``: hinge, ce or mse."""
    from scratchgrad.nn import LOSSES

    return next(name for name, loss in LOSSES.items() if loss.labels == LABELS_OF_KIND[kind][0])


def recipe(spec: DatasetSpec) -> Any:
    """The settings that train the data set: its `PRESETS` entry; a data set registered
    without one trains with the CSV file's settings and the first loss that suits it."""
    from scratchgrad.train import PRESETS

    if spec.name in PRESETS:
        return PRESETS[spec.name]
    return replace(PRESETS[CSV], loss=first_loss(spec.info().kind))


def sized(spec: DatasetSpec) -> bool:
    """True for a data set made on the spot, whose size and noise can be chosen."""
    info = spec.info()
    return info is not None and info.samples is not None


def load(spec: DatasetSpec, loss: str, samples: int | None, noise: float | None, seed: int) -> Any:
    """The data set as a `scratchgrad.data.Dataset`, loaded once."""
    from scratchgrad.data import load_dataset

    info = spec.info()
    if info is None:
        return _csv(spec, loss)
    try:
        return load_dataset(spec.name, samples if sized(spec) else None, noise if sized(spec) else None, seed)
    except ImportError as error:  # an extra such as scikit-learn for the digits
        raise missing_extra(info.extra or spec.name, f"--dataset {spec.name}", error) from None
    except ValueError as error:
        raise UsageError(f"--dataset {spec.name}: {printable(error)}") from None


def _csv(spec: DatasetSpec, loss: str) -> Any:
    from scratchgrad.data import csv_dataset
    from scratchgrad.nn import LOSSES

    labels = LOSSES[loss].labels
    try:
        # Several classes for a loss of class indices, even for two label values; else the
        # library reads the label column: two values are -1/+1, more are classes or numbers.
        data = csv_dataset(spec.path, kind="classes" if labels == "index" else None)  # type: ignore[arg-type]
        if labels == "real" and data.kind == "classes":  # whole numbers, but a loss of real targets
            data = csv_dataset(spec.path, kind="regression")  # type: ignore[arg-type]
    except (OSError, ValueError) as error:  # DataFileError names the file, the row and the column
        raise UsageError(_csv_problem(spec, error)) from None
    if labels == "pm1" and data.kind != "binary":
        import numpy as np

        raise UsageError(
            f"the last column of {printable(spec.path)} has {len(np.unique(data.y)) if data.kind == 'regression' else data.classes} "
            f"distinct values: use --loss {first_loss('classes')} for several classes, or --loss "
            f"{first_loss('regression')} for real-valued targets"
        )
    return data


def _csv_problem(spec: DatasetSpec, error: Exception) -> str:
    if isinstance(error, FileNotFoundError):
        return f"--dataset {spec.shown}: file not found"
    if isinstance(error, OSError):  # an I/O error while reading
        return f"--dataset {spec.shown}: cannot read it: {error.strerror or error}"
    return printable(error)


def check_loss_fits(loss: str, data: Any) -> None:
    """The loss's label convention suits the data (LOSSES[loss].labels), or a UsageError naming one that does."""
    from scratchgrad.nn import LOSSES

    if LOSSES[loss].labels in LABELS_OF_KIND[data.kind]:
        return
    suited = [name for name, spec in LOSSES.items() if spec.labels in LABELS_OF_KIND[data.kind]]
    if data.kind == "classes":
        raise UsageError(f"--loss {loss} is for two classes; this data has {data.classes} classes: use --loss {' or '.join(suited)}")
    if data.kind == "binary":
        raise UsageError(f"--loss {loss} is for several classes; for two classes use {', '.join(suited)}")
    raise UsageError(f"--loss {loss} is for classes; this data has real-valued targets: use --loss {' or '.join(suited)}")
