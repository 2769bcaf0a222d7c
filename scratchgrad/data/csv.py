"""Your own numbers: a CSV file of features and a label column, with errors that name the place.

`load_csv` returns lists ``(X, y)``; `csv_dataset` returns a `Dataset` ready for `fit`,
with the labels read as two classes (-1/+1), several classes (indices) or real targets.
"""

from __future__ import annotations

import csv
import math
import os
from typing import TYPE_CHECKING, Iterator, Union

from scratchgrad.data.toy import Points

if TYPE_CHECKING:  # pragma: no cover
    from scratchgrad.data.registry import Dataset

PathLike = Union[str, "os.PathLike[str]"]
MAX_CSV_BYTES = 200 * 1024 * 1024


class DataFileError(ValueError):
    """A data file that cannot be read as numbers; the message names file, row and column."""


def load_csv(path: PathLike, target_column: int | str = -1, header: bool | None = None, delimiter: str = ",") -> Points:
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
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise FileNotFoundError(f"CSV file not found: {name}") from None
    except OSError as err:
        raise DataFileError(f"{name}: cannot read the file ({err.strerror or err})") from None
    if size > MAX_CSV_BYTES:
        raise DataFileError(f"{name}: the file is {size:,} bytes; a CSV data set may be at most {MAX_CSV_BYTES:,}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [(line, row) for line, row in _numbered_rows(csv.reader(handle, delimiter=delimiter))]
    except FileNotFoundError:
        raise FileNotFoundError(f"CSV file not found: {name}") from None
    except IsADirectoryError:
        raise DataFileError(f"{name}: is a directory, not a CSV file") from None
    except PermissionError:
        raise DataFileError(f"{name}: cannot read the file: permission denied") from None
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


def csv_dataset(path: PathLike, target_column: int | str = -1, kind: str | None = None, delimiter: str = ",") -> Dataset:
    """A CSV file as a `Dataset` (no test set): the labels read by ``kind``.

    ``kind`` None decides from the label column: two distinct values -> 'binary' (the
    smaller -1, the larger +1, as `binary_labels`); more, all whole numbers -> 'classes'
    (indices 0..k-1 in sorted order of the values); else 'regression'. Give ``kind`` to
    insist: a column that does not fit it is a ValueError saying why.
    """
    import numpy as np

    from scratchgrad.data.registry import Dataset, KINDS
    from scratchgrad.data.splits import binary_labels

    X, y = load_csv(path, target_column=target_column, delimiter=delimiter)
    values = sorted(set(y))
    where = f"{len(X)} rows of {os.fspath(path)}"
    if kind is None:
        kind = "binary" if len(values) == 2 else "classes" if all(float(v).is_integer() for v in values) else "regression"
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
    if kind == "binary":
        labels = np.array(binary_labels(y))
        mapped = "" if values == [-1.0, 1.0] else f" (labels {values[0]:g} -> -1 and {values[-1]:g} -> +1)"
        return Dataset(np.array(X), labels, kind="binary", classes=2, description=f"{where}, 2 classes{mapped}", name="csv")
    if kind == "classes":
        if not all(float(v).is_integer() for v in values):
            raise ValueError(f"{os.fspath(path)}: several classes need whole-number labels in the label column")
        index = {v: i for i, v in enumerate(values)}
        labels = np.array([index[v] for v in y], dtype=np.int64)
        return Dataset(np.array(X), labels, kind="classes", classes=len(values), description=f"{where}, {len(values)} classes", name="csv")
    return Dataset(np.array(X), np.array(y), kind="regression", classes=1, description=f"{where}, real targets", name="csv")
