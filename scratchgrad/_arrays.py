"""Checking and converting what users hand the tensor engine: dtypes, data, axes, indices,
class targets. Every mistake is a TypeError, ValueError or IndexError that names what
was wrong; nothing here knows about graphs or gradients (that is scratchgrad.tensor)."""

from __future__ import annotations

import numbers
from typing import Any, Sequence, Union

import numpy as np

Array = np.ndarray
Axis = Union[None, int, Sequence[int]]
DTypeLike = Any

FLOAT64 = np.dtype(np.float64)
FLOAT32 = np.dtype(np.float32)

# exp(x) is finite only below log(max float): past it the engine raises instead of returning inf.
EXP_LIMIT = {FLOAT64: float(np.log(np.finfo(np.float64).max)), FLOAT32: float(np.log(np.finfo(np.float32).max))}


def resolve_dtype(dtype: DTypeLike) -> np.dtype | None:
    """float64 / float32 (in any spelling numpy accepts), or None for 'choose from the data'."""
    if dtype is None:
        return None
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float64 or float32, got {dtype!r}") from None
    if resolved != FLOAT64 and resolved != FLOAT32:
        raise TypeError(f"dtype must be float64 or float32, got {resolved}")
    return resolved


def as_float_array(data: Any, dtype: np.dtype | None, what: str, copy: bool) -> Array:
    """``data`` as a float64/float32 array, or a TypeError/ValueError saying what is wrong."""
    if isinstance(data, np.ndarray):
        array = data
    elif isinstance(data, (str, bytes)):
        raise TypeError(f"{what} must be numeric, got {type(data).__name__}: {data!r}")
    else:
        try:
            array = np.array(data)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"{what} must be rectangular (every row the same length): {exc}") from None
    kind = array.dtype.kind
    if kind == "f":
        target = dtype or (FLOAT32 if array.dtype == FLOAT32 else FLOAT64)
    elif kind in "iub":
        target = dtype or FLOAT64  # integers and bools become float64, as documented
    elif kind == "c":
        raise TypeError(f"{what} must be real, got complex numbers (dtype {array.dtype})")
    else:
        culprit = ""
        if kind == "O":
            bad = next((x for x in array.flat if not isinstance(x, numbers.Real)), None)
            culprit = f" (found {type(bad).__name__}: {bad!r})"
        raise TypeError(f"{what} must be numeric (int, float or bool), got dtype {array.dtype}{culprit}")
    if copy or array.dtype != target:
        return np.array(array, dtype=target, copy=True)
    return array


def as_array(x: Any) -> Array:
    """Reductions of a whole array return numpy scalars; a Tensor always holds an ndarray."""
    return x if type(x) is np.ndarray else np.asarray(x)


def normalize_axes(axis: Axis, shape: tuple[int, ...], op: str) -> tuple[int, ...]:
    """``axis`` (None, int or ints, negative allowed) as sorted non-negative ints."""
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    items = (axis,) if isinstance(axis, (int, np.integer)) else axis
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}") from None
    axes = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"{op}: axis {a} is out of range for a tensor of shape {shape}")
        axes.append(int(a) % ndim)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: axis {axis!r} repeats an axis")
    return tuple(sorted(axes))


def kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with the reduced ``axes`` kept as size 1 (keepdims=True)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def broadcast_error(op: str, a: Array, b: Array) -> ValueError:
    return ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together")


def plain_index(index: Any, tensor_type: Any) -> Any:
    """Tensors inside an index become their arrays (as integer or bool indices)."""
    if isinstance(index, tensor_type):
        return _index_array(index.data)
    if isinstance(index, tuple):
        return tuple(_index_array(i.data) if isinstance(i, tensor_type) else i for i in index)
    if isinstance(index, list):  # a list index is a fancy index, as in numpy
        return np.asarray(index)
    return index


def _index_array(data: Array) -> Array:
    if data.size and np.all(data == np.round(data)):
        return data.astype(np.intp)  # Tensors hold floats: indices stored in one are whole numbers
    raise IndexError(f"getitem: a Tensor used as an index must hold whole numbers, got {data!r}")


def is_basic_index(index: Any) -> bool:
    """True for indices made only of ints, slices, None and Ellipsis (no repeats possible)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in items)


def class_targets(targets: Any, logits_shape: tuple[int, ...], tensor_type: Any, ignore_index: int | None = None) -> Array:
    """Integer class indices checked against the logits: right shape, in [0, C) (or equal to
    ``ignore_index``, a position that does not count)."""
    is_tensor = isinstance(targets, tensor_type)
    t = targets.data if is_tensor else np.asarray(targets)
    if t.dtype.kind not in "iu":
        if t.dtype.kind == "f" and t.size and np.all(t == np.round(t)) and is_tensor:
            t = t.astype(np.intp)  # a Tensor of class indices holds them as whole floats
        else:
            raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {t.dtype}")
    expected = logits_shape[:-1]
    if t.shape != expected:
        raise ValueError(f"cross_entropy: logits shape {logits_shape} needs targets of shape {expected}, got {t.shape}")
    classes = logits_shape[-1]
    bad = (t < 0) | (t >= classes)
    if ignore_index is not None:
        bad &= t != ignore_index
    if t.size and bad.any():
        raise ValueError(f"cross_entropy: target {t[bad].flat[0]} is out of range for {classes} classes (0..{classes - 1})")
    return t
