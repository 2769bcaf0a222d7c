"""One registry of tensor operations: scratchgrad's function, PyTorch's reference, the
scalar engine's counterpart (for elementwise ops, and the fused scalar ops) and the inputs
each one accepts.

Every parametrized test of tests/test_tensor_ops.py and tests/test_higher_order.py is driven
from `OPS`, so adding an op here adds it to the value, gradient, finite-difference and
cross-engine checks, and to the second-order checks (Hessians against PyTorch, derivatives
up to order 2 against finite differences with `check_derivatives`, random scalar graphs).

An `OpSpec`'s ``case`` is a hypothesis strategy drawing one call: the input arrays (each
becomes a leaf that requires grad) and keyword arguments shared by both sides. Domain
constraints live in the strategies (positive inputs for log, non-zero divisors, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from scratchgrad import grad, no_grad, sum_values, weighted_sum
from scratchgrad.engine import Value
from scratchgrad.fused import cross_entropy_values, linear_values, rms_norm_values, softmax_values
from scratchgrad.tensor import (
    Tensor,
    causal_mask,
    concatenate,
    cross_entropy,
    embedding,
    layer_norm,
    linear,
    matmul,
    rms_norm,
    stack,
    where,
)

Case = tuple[list[np.ndarray], dict[str, Any]]


@dataclass(frozen=True)
class OpSpec:
    name: str
    ours: Callable[..., Tensor]  # (*tensors, **kwargs) -> Tensor
    torch_ref: Callable[..., torch.Tensor]  # (*torch tensors, **kwargs) -> torch.Tensor
    case: st.SearchStrategy[Case]
    value_fn: Callable[..., Value] | None = None  # the scalar engine's op, for elementwise ops
    value_domain: Callable[[float], bool] | None = None  # inputs where value_fn is defined (all by default)
    smooth: bool = True  # False: kinks / ties, where finite differences are not meaningful
    # The whole op on the scalar engine, for ops that are not elementwise but have a scalar
    # counterpart (sum_values, weighted_sum): inputs as lists of Values (1-D) or Values (0-d).
    scalar_fn: Callable[..., Value] | None = None
    # Inputs that must stay positive (log, sqrt, a power's base, a divisor) or within a few
    # units (what goes into exp), where random graphs feed the op other ops' results.
    positive: tuple[int, ...] = ()
    bounded: tuple[int, ...] = ()


# ---- input strategies -----------------------------------------------------------------------------

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


def _array(shape: tuple[int, ...], low: float = -3.0, high: float = 3.0, away_from: float | None = None) -> st.SearchStrategy[np.ndarray]:
    elements = _floats(low, high)
    if away_from is not None:  # keep |x| >= away_from (non-zero divisors)
        elements = elements.filter(lambda v: abs(v) >= away_from)
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def unary(draw: st.DrawFn, low: float = -3.0, high: float = 3.0) -> Case:
    return [draw(_array(draw(SHAPES), low, high))], {}


@st.composite
def binary_broadcast(draw: st.DrawFn, second_low: float = -3.0, second_high: float = 3.0, away_from: float | None = None, first_low: float = -3.0) -> Case:
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4))
    a = draw(_array(shapes.input_shapes[0], first_low, 3.0))
    b = draw(_array(shapes.input_shapes[1], second_low, second_high, away_from))
    return [a, b], {}


@st.composite
def with_number(draw: st.DrawFn, numbers: st.SearchStrategy[float], low: float = -3.0, high: float = 3.0, away_from: float | None = None) -> Case:
    return [draw(_array(draw(SHAPES), low, high, away_from))], {"c": draw(numbers)}


@st.composite
def reduction(draw: st.DrawFn, allow_none: bool = True) -> Case:
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    ndim = len(shape)
    axis_choices: list[st.SearchStrategy[Any]] = [
        st.integers(-ndim, ndim - 1),
        st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple),
    ]
    if allow_none:
        axis_choices.append(st.none())
    axis = draw(st.one_of(*axis_choices))
    return [draw(_array(shape))], {"axis": axis, "keepdims": draw(st.booleans())}


@st.composite
def with_ties(draw: st.DrawFn) -> Case:
    """Entries from a tiny set, so the max/min is often shared: tests the tie rule."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    arr = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 0.5, 2.0])))
    ndim = len(shape)
    axis = draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1)))
    return [arr], {"axis": axis, "keepdims": draw(st.booleans())}


@st.composite
def along_axis(draw: st.DrawFn) -> Case:
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    return [draw(_array(shape, -20.0, 20.0))], {"axis": draw(st.integers(-len(shape), len(shape) - 1))}


@st.composite
def vector(draw: st.DrawFn) -> Case:
    return [draw(_array((draw(st.integers(1, 6)),)))], {}


@st.composite
def weighted_sum_case(draw: st.DrawFn) -> Case:
    n = draw(st.integers(1, 5))
    return [draw(_array((n,))), draw(_array((n,))), draw(_array(()))], {}


@st.composite
def broadcast_to_case(draw: st.DrawFn) -> Case:
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=3, min_side=1, max_side=3))
    (source,) = shapes.input_shapes
    target = shapes.result_shape
    extra = draw(st.lists(st.integers(1, 3), max_size=1))  # sometimes a new leading axis too
    return [draw(_array(source))], {"shape": tuple(extra) + tuple(target)}


@st.composite
def reshape_case(draw: st.DrawFn) -> Case:
    shape = draw(SHAPES)
    size = int(np.prod(shape))
    # A target shape with the same number of entries: split the size into factors.
    factors = [f for f in range(1, size + 1) if size % f == 0]
    first = draw(st.sampled_from(factors))
    target: tuple[int, ...] = (first, size // first)
    if draw(st.booleans()):
        target = (-1, size // first) if draw(st.booleans()) else (size,)
    return [draw(_array(shape))], {"shape": target}


@st.composite
def transpose_case(draw: st.DrawFn) -> Case:
    shape = draw(SHAPES)
    perm = draw(st.permutations(list(range(len(shape)))))
    return [draw(_array(shape))], {"axes": tuple(perm)}


@st.composite
def getitem_case(draw: st.DrawFn) -> Case:
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    kind = draw(st.sampled_from(["basic", "int", "fancy", "mask", "mixed"]))
    if kind == "basic":
        index: Any = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    elif kind == "int":
        index = draw(st.integers(-shape[0], shape[0] - 1))
    elif kind == "fancy":  # repeated indices: the backward must add their gradients up
        index = np.array(draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=7)))
    elif kind == "mask":
        index = draw(hnp.arrays(np.bool_, shape))
    else:
        rows = np.array(draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=5)))
        index = (rows, slice(None, None, -1)) if len(shape) > 1 else rows
    return [draw(_array(shape))], {"index": index}


@st.composite
def join_case(draw: st.DrawFn, stacking: bool) -> Case:
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    count = draw(st.integers(1, 3))
    ndim = len(shape)
    if stacking:
        axis = draw(st.integers(-(ndim + 1), ndim))
        arrays = [draw(_array(shape)) for _ in range(count)]
    else:
        axis = draw(st.integers(-ndim, ndim - 1))
        arrays = []
        for _ in range(count):
            own = list(shape)
            own[axis] = draw(st.integers(1, 3))
            arrays.append(draw(_array(tuple(own))))
    return arrays, {"axis": axis}


@st.composite
def matmul_case(draw: st.DrawFn) -> Case:
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kind = draw(st.sampled_from(["2d", "vec-mat", "mat-vec", "vec-vec", "batched", "broadcast-batch"]))
    if kind == "2d":
        shapes = [(n, k), (k, m)]
    elif kind == "vec-mat":
        shapes = [(k,), (draw(st.integers(1, 3)), k, m) if draw(st.booleans()) else (k, m)]
    elif kind == "mat-vec":
        shapes = [(draw(st.integers(1, 3)), n, k) if draw(st.booleans()) else (n, k), (k,)]
    elif kind == "vec-vec":
        shapes = [(k,), (k,)]
    elif kind == "batched":
        b = draw(st.integers(1, 3))
        shapes = [(b, n, k), (b, k, m)]
    else:
        b = draw(st.integers(2, 3))
        shapes = [(b, 1, n, k), (draw(st.integers(1, 2)), k, m)]
    return [draw(_array(s)) for s in shapes], {}


@st.composite
def linear_case(draw: st.DrawFn) -> Case:
    fan_in, fan_out = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    lead = draw(st.sampled_from([(), (3,), (2, 3)]))
    arrays = [draw(_array((*lead, fan_in))), draw(_array((fan_out, fan_in)))]
    if draw(st.booleans()):
        arrays.append(draw(_array((fan_out,))))
    return arrays, {}


@st.composite
def cross_entropy_case(draw: st.DrawFn) -> Case:
    classes = draw(st.integers(1, 5))
    batch = draw(st.one_of(st.none(), st.integers(1, 6)))
    shape = (classes,) if batch is None else (batch, classes)
    logits = draw(_array(shape, -30.0, 30.0))
    targets = np.array(draw(st.integers(0, classes - 1)) if batch is None else draw(st.lists(st.integers(0, classes - 1), min_size=batch, max_size=batch)))
    return [logits], {"targets": targets, "reduction": draw(st.sampled_from(["mean", "sum", "none"]))}


@st.composite
def embedding_case(draw: st.DrawFn) -> Case:
    rows, dim = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    index_shape = draw(st.sampled_from([(), (3,), (2, 3)]))
    # repeated rows are likely: their gradients must add up
    indices = np.array(draw(st.lists(st.integers(0, rows - 1), min_size=int(np.prod(index_shape)), max_size=int(np.prod(index_shape))))).reshape(index_shape)
    return [draw(_array((rows, dim)))], {"indices": indices.astype(np.int64)}


@st.composite
def last_axis_case(draw: st.DrawFn, params: int, spread: bool = False) -> Case:
    """An input (..., n) and ``params`` per-feature vectors (n,) (a norm's weight and bias).
    Entries keep |x| >= 0.3 (and, with ``spread``, the rows of more than one entry vary by
    0.3 or more): where a norm's denominator is about sqrt(eps) its curvature (1e7 and more)
    is beyond what finite differences can check."""
    lead = draw(st.sampled_from([(), (2,), (2, 3)]))
    n = draw(st.integers(1, 5))
    x = _array((*lead, n), away_from=0.3)
    if spread:
        x = x.filter(lambda a: a.shape[-1] == 1 or float(np.ptp(a, axis=-1).min()) >= 0.3)
    return [draw(x), *[draw(_array((n,))) for _ in range(params)]], {}


@st.composite
def where_case(draw: st.DrawFn) -> Case:
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=1, max_side=4))
    cond_shape, a_shape, b_shape = shapes.input_shapes
    return [draw(_array(a_shape)), draw(_array(b_shape))], {"condition": draw(hnp.arrays(np.bool_, cond_shape))}


@st.composite
def masked_fill_case(draw: st.DrawFn) -> Case:
    shape = draw(SHAPES)
    mask_shape = draw(st.sampled_from([shape, shape[1:], ()]))
    value = draw(st.sampled_from([0.0, -2.5, 7.0]))  # -inf (hiding entries before a softmax): causal_attention
    return [draw(_array(shape))], {"mask": draw(hnp.arrays(np.bool_, mask_shape)), "value": value}


@st.composite
def attention_case(draw: st.DrawFn) -> Case:
    """queries, keys and values (batch, heads, T, d): a causal attention head."""
    lead = draw(st.sampled_from([(), (2,), (2, 2)]))
    t, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    return [draw(_array((*lead, t, d))) for _ in range(3)], {}


@st.composite
def sequence_cross_entropy_case(draw: st.DrawFn) -> Case:
    """logits (batch, T, classes) with targets (batch, T) padded with -100 (ignored)."""
    batch, steps, classes = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 5))
    logits = draw(_array((batch, steps, classes), -10.0, 10.0))
    targets = np.array(draw(st.lists(st.integers(0, classes - 1), min_size=batch * steps, max_size=batch * steps))).reshape(batch, steps)
    lengths = draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    for row, length in enumerate(lengths):
        targets[row, length:] = -100  # padding: at least one real target per row
    return [logits], {"targets": targets, "reduction": draw(st.sampled_from(["mean", "sum", "none"]))}


@st.composite
def two_vectors(draw: st.DrawFn, low: float = -3.0, high: float = 3.0, away_from: float | None = None) -> Case:
    n = draw(st.integers(1, 6))
    return [draw(_array((n,), low, high, away_from)), draw(_array((n,)))], {}


@st.composite
def class_vector(draw: st.DrawFn) -> Case:
    n = draw(st.integers(1, 6))
    return [draw(_array((n,), -10.0, 10.0))], {"target": draw(st.integers(0, 5))}


# ---- torch helpers ----------------------------------------------------------------------------------


def _torch_getitem(x: torch.Tensor, index: Any) -> torch.Tensor:
    """x[index] in PyTorch for any numpy index (PyTorch has no negative slice steps):
    numpy picks the flat positions, PyTorch gathers them (its backward adds repeats up)."""
    positions = np.arange(x.numel()).reshape(tuple(x.shape))[index]
    return x.reshape(-1)[torch.from_numpy(np.array(positions, dtype=np.int64))]  # a copy: no negative strides


def _torch_axis(axis: Any, ndim: int) -> Any:
    return tuple(range(ndim)) if axis is None else axis


def _torch_reduce(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    def reduce(x: torch.Tensor, axis: Any, keepdims: bool) -> torch.Tensor:
        if x.dim() == 0:
            return x
        return fn(x, dim=_torch_axis(axis, x.dim()), keepdim=keepdims)

    return reduce


def _torch_linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    return torch.nn.functional.linear(x, w, b)


def _ours_linear(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    return linear(x, w, b)


def _attention(q: Any, k: Any, v: Any, softmax: Callable[[Any], Any], mask_fill: Callable[[Any, np.ndarray], Any]) -> Any:
    keys = k.transpose(-2, -1) if isinstance(k, torch.Tensor) else k.transpose(*range(k.ndim - 2), k.ndim - 1, k.ndim - 2)
    scores = (q @ keys) * (1.0 / np.sqrt(q.shape[-1]))
    return softmax(mask_fill(scores, causal_mask(q.shape[-2]))) @ v


def _ours_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    return _attention(q, k, v, lambda s: s.softmax(-1), lambda s, m: s.masked_fill(m, -np.inf))


def _torch_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return _attention(q, k, v, lambda s: torch.softmax(s, -1), lambda s, m: s.masked_fill(torch.from_numpy(m.copy()), -np.inf))


def _torch_sequence_cross_entropy(z: torch.Tensor, targets: np.ndarray, reduction: str) -> torch.Tensor:
    flat = torch.nn.functional.cross_entropy(z.reshape(-1, z.shape[-1]), torch.from_numpy(targets).reshape(-1), reduction=reduction)
    return flat.reshape(targets.shape) if reduction == "none" else flat


def _torch_where(a: torch.Tensor, b: torch.Tensor, condition: np.ndarray) -> torch.Tensor:
    return torch.where(torch.from_numpy(condition), a, b)


def _value_gelu(x: Value) -> Value:
    return 0.5 * x * (1 + (float(np.sqrt(2 / np.pi)) * (x + 0.044715 * x**3)).tanh())


def _target(z: Any, target: int) -> int:
    return target % len(z)


EXPONENTS = st.sampled_from([2, 3, 1, 0, -1, -2, 0.5, 1.5, -0.5, 2.5])


def _pow_case() -> st.SearchStrategy[Case]:
    # Non-integer exponents need a positive base; negative ones a base away from 0.
    return EXPONENTS.flatmap(
        lambda k: with_number(st.just(k), 0.2 if not float(k).is_integer() else -3.0, 3.0, away_from=0.2 if k < 0 else None)
    )


OPS: list[OpSpec] = [
    # elementwise, two tensors, broadcasting
    OpSpec("add", lambda a, b: a + b, lambda a, b: a + b, binary_broadcast(), lambda a, b: a + b),
    OpSpec("sub", lambda a, b: a - b, lambda a, b: a - b, binary_broadcast(), lambda a, b: a - b),
    OpSpec("mul", lambda a, b: a * b, lambda a, b: a * b, binary_broadcast(), lambda a, b: a * b),
    OpSpec("div", lambda a, b: a / b, lambda a, b: a / b, binary_broadcast(away_from=0.3), lambda a, b: a / b, positive=(1,)),
    OpSpec("pow_tensor", lambda a, b: a**b, lambda a, b: a**b, binary_broadcast(first_low=0.1), lambda a, b: a**b,
           positive=(0,), bounded=(1,)),
    # a tensor and a Python number, on either side
    OpSpec("add_number", lambda x, c: x + c, lambda x, c: x + c, with_number(_floats(-5, 5)), lambda x, c: x + c),
    OpSpec("radd_number", lambda x, c: c + x, lambda x, c: c + x, with_number(_floats(-5, 5)), lambda x, c: c + x),
    OpSpec("sub_number", lambda x, c: x - c, lambda x, c: x - c, with_number(_floats(-5, 5)), lambda x, c: x - c),
    OpSpec("rsub_number", lambda x, c: c - x, lambda x, c: c - x, with_number(_floats(-5, 5)), lambda x, c: c - x),
    OpSpec("mul_number", lambda x, c: x * c, lambda x, c: x * c, with_number(_floats(-5, 5)), lambda x, c: x * c),
    OpSpec("rmul_number", lambda x, c: c * x, lambda x, c: c * x, with_number(_floats(-5, 5)), lambda x, c: c * x),
    OpSpec("div_number", lambda x, c: x / c, lambda x, c: x / c, with_number(_floats(0.5, 5)), lambda x, c: x / c),
    OpSpec("rdiv_number", lambda x, c: c / x, lambda x, c: c / x, with_number(_floats(-5, 5), away_from=0.3), lambda x, c: c / x,
           positive=(0,)),
    OpSpec("pow_number", lambda x, c: x**c, lambda x, c: x**c, _pow_case(), lambda x, c: x**c, positive=(0,)),
    OpSpec("rpow_number", lambda x, c: c**x, lambda x, c: c**x, with_number(_floats(0.2, 4)), lambda x, c: c**x, bounded=(0,)),
    # elementwise functions
    OpSpec("neg", lambda x: -x, lambda x: -x, unary(), lambda x: -x),
    OpSpec("exp", lambda x: x.exp(), torch.exp, unary(), lambda x: x.exp(), bounded=(0,)),
    OpSpec("log", lambda x: x.log(), torch.log, unary(0.05, 5.0), lambda x: x.log(), positive=(0,)),
    OpSpec("tanh", lambda x: x.tanh(), torch.tanh, unary(), lambda x: x.tanh()),
    OpSpec("sigmoid", lambda x: x.sigmoid(), torch.sigmoid, unary(-40, 40), lambda x: x.sigmoid()),
    OpSpec("relu", lambda x: x.relu(), torch.relu, unary(), lambda x: x.relu(), smooth=False),
    OpSpec("abs", lambda x: x.abs(), torch.abs, unary(), None, smooth=False),
    OpSpec("sqrt", lambda x: x.sqrt(), torch.sqrt, unary(0.05, 5.0), lambda x: x**0.5, positive=(0,)),
    # reductions
    OpSpec("sum", lambda x, axis, keepdims: x.sum(axis, keepdims), _torch_reduce(torch.sum), reduction()),
    OpSpec("sum_values", lambda x: x.sum(), torch.sum, vector(), scalar_fn=lambda x: sum_values(x)),
    OpSpec("mean", lambda x, axis, keepdims: x.mean(axis, keepdims), _torch_reduce(torch.mean), reduction()),
    OpSpec("max", lambda x, axis, keepdims: x.max(axis, keepdims), _torch_reduce(torch.amax), reduction(), smooth=False),
    OpSpec("min", lambda x, axis, keepdims: x.min(axis, keepdims), _torch_reduce(torch.amin), reduction(), smooth=False),
    OpSpec("max_ties", lambda x, axis, keepdims: x.max(axis, keepdims), _torch_reduce(torch.amax), with_ties(), smooth=False),
    OpSpec("logsumexp", lambda x, axis: x.logsumexp(axis), lambda x, axis: torch.logsumexp(x, dim=axis), along_axis()),
    OpSpec("softmax", lambda x, axis: x.softmax(axis), lambda x, axis: torch.softmax(x, dim=axis), along_axis()),
    OpSpec("log_softmax", lambda x, axis: x.log_softmax(axis), lambda x, axis: torch.log_softmax(x, dim=axis), along_axis()),
    # shapes and indexing
    OpSpec("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), reshape_case()),
    OpSpec("broadcast_to", lambda x, shape: x.broadcast_to(shape), lambda x, shape: x.expand(shape), broadcast_to_case()),
    OpSpec("transpose", lambda x, axes: x.transpose(axes), lambda x, axes: x.permute(axes), transpose_case()),
    OpSpec("T", lambda x: x.T, lambda x: x.permute(tuple(range(x.dim()))[::-1]), unary()),
    OpSpec("getitem", lambda x, index: x[index], _torch_getitem, getitem_case()),
    OpSpec("concatenate", lambda *xs, axis: concatenate(xs, axis), lambda *xs, axis: torch.cat(xs, dim=axis), join_case(False)),
    OpSpec("stack", lambda *xs, axis: stack(xs, axis), lambda *xs, axis: torch.stack(xs, dim=axis), join_case(True)),
    # products and losses
    OpSpec("matmul", lambda a, b: a @ b, lambda a, b: a @ b, matmul_case()),
    OpSpec("matmul_function", matmul, torch.matmul, matmul_case()),
    OpSpec("linear", _ours_linear, _torch_linear, linear_case()),
    OpSpec(
        "weighted_sum",
        lambda w, x, b: (w * x).sum() + b,
        lambda w, x, b: (w * x).sum() + b,
        weighted_sum_case(),
        scalar_fn=lambda w, x, b: weighted_sum(w, x, b),
    ),
    OpSpec(
        "cross_entropy",
        lambda z, targets, reduction: cross_entropy(z, targets, reduction),
        lambda z, targets, reduction: torch.nn.functional.cross_entropy(z, torch.from_numpy(targets), reduction=reduction),
        cross_entropy_case(),
    ),
]

# What attention needs (issue 14), on tensors and as fused nodes on lists of Values.
OPS += [
    OpSpec("gelu", lambda x: x.gelu(), lambda x: torch.nn.functional.gelu(x, approximate="tanh"), unary(), _value_gelu),
    OpSpec("embedding", lambda w, indices: embedding(w, indices),
           lambda w, indices: torch.nn.functional.embedding(torch.from_numpy(indices), w), embedding_case()),
    OpSpec("rms_norm", lambda x: rms_norm(x), lambda x: torch.nn.functional.rms_norm(x, x.shape[-1:], eps=1e-5), last_axis_case(0)),
    OpSpec("rms_norm_weight", lambda x, w: rms_norm(x, w),
           lambda x, w: torch.nn.functional.rms_norm(x, x.shape[-1:], w, eps=1e-5), last_axis_case(1)),
    OpSpec("layer_norm", lambda x: layer_norm(x), lambda x: torch.nn.functional.layer_norm(x, x.shape[-1:]), last_axis_case(0, spread=True)),
    OpSpec("layer_norm_affine", lambda x, w, b: layer_norm(x, w, b),
           lambda x, w, b: torch.nn.functional.layer_norm(x, x.shape[-1:], w, b), last_axis_case(2, spread=True)),
    OpSpec("where", lambda a, b, condition: where(condition, a, b), _torch_where, where_case()),
    OpSpec("masked_fill", lambda x, mask, value: x.masked_fill(mask, value),
           lambda x, mask, value: x.masked_fill(torch.from_numpy(mask), value), masked_fill_case()),
    OpSpec("causal_attention", _ours_attention, _torch_attention, attention_case()),
    OpSpec("sequence_cross_entropy", lambda z, targets, reduction: cross_entropy(z, targets, reduction),
           _torch_sequence_cross_entropy, sequence_cross_entropy_case()),
    # the fused scalar nodes, each reduced to one number (the scalar tests need a Value)
    OpSpec("linear_values", lambda w, x: (w * x).sum(), lambda w, x: (w * x).sum(), two_vectors(),
           scalar_fn=lambda w, x: linear_values(x, [w])[0]),
    OpSpec("softmax_values", lambda z, w: (z.softmax(-1) * w).sum(), lambda z, w: (torch.softmax(z, -1) * w).sum(),
           two_vectors(-10.0, 10.0), scalar_fn=lambda z, w: weighted_sum(softmax_values(z), w)),
    OpSpec("rms_norm_values", lambda x, w: (rms_norm(x) * w).sum(),
           lambda x, w: (torch.nn.functional.rms_norm(x, x.shape[-1:], eps=1e-5) * w).sum(),
           two_vectors(away_from=0.5), scalar_fn=lambda x, w: weighted_sum(rms_norm_values(x), w), positive=(0,)),
    OpSpec("cross_entropy_values", lambda z, target: cross_entropy(z, _target(z, target)),
           lambda z, target: torch.nn.functional.cross_entropy(z, torch.tensor(_target(z, target))),
           class_vector(), scalar_fn=lambda z, target: cross_entropy_values(z, _target(z, target))),
]  # fmt: skip

BY_NAME = {op.name: op for op in OPS}
ELEMENTWISE = [op for op in OPS if op.value_fn is not None]


# ---- derivatives of any order against finite differences (HIPS autograd's check_grads) ------------


def _directional(g: Any, v: Any) -> Any:
    """g . v for a gradient of a list of Values (a list) or of a 1-D Tensor (a Tensor/array)."""
    if isinstance(g, list):
        return sum_values([gi * vi for gi, vi in zip(g, v)])
    return (g * v).sum()


def _number(out: Any) -> float:
    return float(out.data) if isinstance(out, (Value, Tensor)) else float(out)


def check_derivatives(
    f: Callable[[Any], Any],
    x: Any,
    order: int = 2,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    seed: int = 0,
) -> None:
    """HIPS autograd's ``check_grads`` for scratchgrad: every derivative of the scalar function
    ``f`` up to ``order``, along random directions, against central finite differences of the
    derivative one order lower, all computed with scratchgrad.grad.

    ``f`` takes one argument: a list of floats (a function of Values) or a 1-D float64 array
    (a function of Tensors), and returns a Value or a one-element Tensor. Order 1 checks
    grad(f)(x) . u; order 2 checks the gradient of d1(x) = grad(f)(x) . u (a Hessian-vector
    product, obtained by differentiating a gradient), and so on. Raises AssertionError
    naming the order that disagrees.
    """
    rng = np.random.default_rng(seed)
    point = np.array(x, dtype=np.float64)
    as_list = isinstance(x, list)

    def arg(p: np.ndarray) -> Any:
        return [float(v) for v in p] if as_list else p

    def evaluate(fn: Callable[[Any], Any], p: np.ndarray) -> float:
        with no_grad():
            return _number(fn([Value(float(v)) for v in p] if as_list else Tensor(p)))

    fn: Callable[[Any], Any] = f
    for k in range(1, order + 1):
        u = rng.uniform(-1.0, 1.0, size=point.shape)
        u /= max(np.linalg.norm(u), 1e-12)
        analytic = float(np.dot(np.array([_number(gi) for gi in grad(fn)(arg(point))]), u))
        numeric = (evaluate(fn, point + eps * u) - evaluate(fn, point - eps * u)) / (2 * eps)
        assert abs(analytic - numeric) <= atol + rtol * abs(numeric), (
            f"order {k}: derivative {analytic!r} against finite differences {numeric!r} "
            f"(abs error {abs(analytic - numeric):.3g})"
        )
        v = rng.uniform(-1.0, 1.0, size=point.shape)
        fn = (lambda lower, direction: lambda y: _directional(grad(lower)(y), direction))(fn, list(v) if as_list else v)
