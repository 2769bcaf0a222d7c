"""Old path of the digits and the tensor engine's data helpers: see `scratchgrad.data`.

`load_digits` / `Digits` live in `scratchgrad.data.digits`; `minibatches` (one function
for lists and arrays), `stratified_split` and `toy_dataset` in `scratchgrad.data`.
"""

from scratchgrad.data.digits import IMAGE_SHAPE, NUM_CLASSES, SCALES, Digits, _raw_digits, load_digits
from scratchgrad.data.registry import GENERATED as TOY_DATASETS
from scratchgrad.data.registry import toy_dataset
from scratchgrad.data.splits import minibatches, stratified_split

__all__ = ["Digits", "IMAGE_SHAPE", "NUM_CLASSES", "SCALES", "TOY_DATASETS", "load_digits", "minibatches", "stratified_split", "toy_dataset", "_raw_digits"]
