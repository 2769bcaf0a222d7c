"""Data to train on: generated 2-D sets, the tutorial's samples, digits, CSV files, splits.

- `toy`: `make_moons`, `make_circles`, `make_spirals`, `make_xor`, `make_gauss` (lists,
  labels -1/+1), `make_plane`, `make_gaussian_mix` (real targets) and `tutorial()` (the
  tutorial's 4 samples);
- `csv`: `load_csv` (lists), `csv_dataset` (a `Dataset`), `DataFileError`;
- `digits`: `load_digits` (scikit-learn's 8x8 digits as arrays, a fixed split);
- `splits`: `train_test_split`, `stratified_split`, `minibatches` and `binary_labels`,
  for lists and arrays alike (the same seed, the same batches on both engines);
- `registry`: `DATASETS`, `DatasetInfo`, `Dataset`, `load_dataset`, `toy_dataset`;
- `names`: `load_names` (32,033 names), `CharTokenizer`, `NamesData` (a fixed split and
  padded batches with masks), for a character-level GPT.
"""

from __future__ import annotations

from typing import Any

from scratchgrad._random import RandomSource
from scratchgrad.data.csv import DataFileError, csv_dataset, load_csv
from scratchgrad.data.names import IGNORE_INDEX, CharTokenizer, NameBatch, NamesData, load_names
from scratchgrad.data.registry import (
    DATASETS,
    GENERATED,
    KINDS,
    Dataset,
    DatasetInfo,
    dataset_info,
    load_dataset,
    toy_dataset,
)
from scratchgrad.data.splits import binary_labels, minibatches, stratified_split, train_test_split
from scratchgrad.data.toy import (
    MAX_NOISE,
    MAX_SAMPLES,
    make_circles,
    make_gauss,
    make_gaussian_mix,
    make_moons,
    make_plane,
    make_spirals,
    make_xor,
    tutorial,
)


def __getattr__(name: str) -> Any:
    # The digits need scikit-learn only when they are loaded; the names import lazily.
    if name in ("Digits", "load_digits", "NUM_CLASSES"):
        from scratchgrad.data import digits

        return getattr(digits, name)
    raise AttributeError(f"module 'scratchgrad.data' has no attribute {name!r}")


__all__ = [
    "CharTokenizer",
    "DATASETS",
    "DataFileError",
    "Dataset",
    "DatasetInfo",
    "Digits",
    "GENERATED",
    "IGNORE_INDEX",
    "KINDS",
    "MAX_NOISE",
    "MAX_SAMPLES",
    "NUM_CLASSES",
    "NameBatch",
    "NamesData",
    "RandomSource",
    "binary_labels",
    "csv_dataset",
    "dataset_info",
    "load_csv",
    "load_dataset",
    "load_digits",
    "load_names",
    "make_circles",
    "make_gauss",
    "make_gaussian_mix",
    "make_moons",
    "make_plane",
    "make_spirals",
    "make_xor",
    "minibatches",
    "stratified_split",
    "toy_dataset",
    "train_test_split",
    "tutorial",
]
