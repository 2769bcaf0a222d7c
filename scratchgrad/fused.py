"""Fused scalar nodes: a GPT's building blocks on lists of `Value`s, each one node (or a few).

`weighted_sum` and `sum_values` (scratchgrad.engine) turn a sum of n products into one
node instead of 2n. The same idea carries a transformer on Values:

- ``linear_values(x, rows)``: one `weighted_sum` per row of a weight matrix (a list of
  lists of Values), ``[w_j . x for each row w_j]``, built for speed;
- ``softmax_values(z)``: p_i = exp(z_i - L) with L = logsumexp(z) one node: 1 + n nodes
  instead of about 3n (a shift, an exp, a sum and a division per entry);
- ``rms_norm_values(x)``: y_i = x_i * r with r = (mean(x^2) + eps)^(-1/2) one node;
- ``cross_entropy_values(z, target)``: logsumexp(z) - z_target as one node, the loss of
  the next character.

Each node states its local derivatives next to its forward code, as every operation of
the engine does, as numbers for ``backward()`` and as Values (``local_graph``) for
``backward(create_graph=True)``, so second derivatives flow through them too. A node's
local derivatives are computed once, in the forward pass, and kept in its op (a tuple,
one per node): the backward pass only multiplies and adds.

    from scratchgrad import Value
    from scratchgrad.fused import softmax_values
    z = [Value(1.0), Value(2.0), Value(0.5)]
    p = softmax_values(z)          # three Values summing to 1
    p[0].backward()                # z[i].grad = p0 (delta_0i - p_i)
"""

from __future__ import annotations

import math
from itertools import chain
from operator import itemgetter, mul
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from scratchgrad import autograd as _autograd
from scratchgrad.autograd import is_grad_enabled
from scratchgrad.autograd import _MANY
from scratchgrad.engine import _CONST, _MUL, Op, Value, _binary, _check_number, _leaf, _many, _new

__all__ = ["WeightRows", "cross_entropy_values", "linear_values", "logsumexp_values", "rms_norm_values", "softmax_values"]


def _recording() -> bool:
    return not (_autograd.recording_off and not is_grad_enabled())


def _values(items: Iterable[Any], op: str) -> tuple[Value, ...]:
    """The items as Values (numbers become constants), or a TypeError naming the culprit."""
    given = tuple(items)
    if given and set(map(type, given)) == {Value}:  # the usual case, checked in one pass
        return given
    out = []
    for i, v in enumerate(given):
        if isinstance(v, Value):
            out.append(v)
        else:
            try:
                out.append(_leaf(_check_number(v, f"{op}: item {i}"), _CONST))
            except TypeError:
                raise TypeError(f"{op}: item {i} must be a Value or a number, got {type(v).__name__}: {v!r}") from None
    if not out:
        raise ValueError(f"{op}: needs at least one value")
    return tuple(out)


class _LocalsOp(tuple):  # type: ignore[type-arg]
    """The op of a fused node: the tuple of its local derivatives as numbers, one per child
    (what ``backward()`` iterates), then anything its ``local_graph`` needs. It acts as an
    `Op`: ``name``, ``local``, ``local_graph``, ``backward``."""

    __slots__ = ()
    name = ""

    def local(self, node: Value) -> tuple[Any, ...]:
        return tuple(self[: len(node._a)])

    def local_graph(self, node: Value) -> tuple[Any, ...]:  # pragma: no cover - every fused op defines it
        raise NotImplementedError

    def backward(self, node: Value, g: float) -> None:
        for child, local in zip(node._a, self):
            child.grad += local * g

    def __repr__(self) -> str:
        return f"Op({self.name!r})"

    def __reduce__(self) -> Any:
        return (type(self), (tuple(self),))


# ---- a linear layer: one weighted sum per row ------------------------------------------------------


class _RowOp(_LocalsOp):
    """The op of ``w . x`` for a row w of n weights and the n inputs x, children (w1..wn,
    x1..xn): d/dw_i = x_i, d/dx_i = w_i. The op is the tuple of those local derivatives as
    numbers, (x1..xn, w1..wn), one per node, which ``backward()`` iterates; recorded, each
    child's partner Value. Its variants (`_make_row_ops`): with a bias b (one more child,
    d/db = 1), with relu fused (where the row is positive relu is the identity: the same
    local derivatives), with a scale c (c (w . x): every local derivative times c; c is kept
    after the local derivatives, beyond the children, where ``backward()`` never reads)."""

    __slots__ = ()
    biased = fused_relu = scaled = False

    @property
    def name(self) -> str:  # type: ignore[override]
        core = ("c·(w·x)" if self.scaled else "w·x") + ("+b" if self.biased else "")
        return f"relu({core})" if self.fused_relu else core

    def local_graph(self, node: Value) -> tuple[Any, ...]:
        children = node._a
        n = (len(children) - self.biased) // 2
        partners = children[n : 2 * n] + children[:n]
        if self.scaled:
            partners = tuple(self[-1] * p for p in partners)
        return partners + ((1.0,) if self.biased else ())


def _make_row_ops() -> dict[tuple[bool, bool, bool], type[_RowOp]]:
    ops: dict[tuple[bool, bool, bool], type[_RowOp]] = {}
    for biased in (False, True):
        for relu in (False, True):
            for scaled in (False, True):
                name = "_RowOp" + "".join(flag for flag, on in (("Biased", biased), ("Relu", relu), ("Scaled", scaled)) if on)
                cls: type[_RowOp] = _RowOp if name == "_RowOp" else type(name, (_RowOp,), {"__slots__": (), "__module__": __name__})
                cls.biased, cls.fused_relu, cls.scaled = biased, relu, scaled
                globals()[name] = cls  # by name in this module: a recorded graph can be copied and pickled
                ops[biased, relu, scaled] = cls
    return ops


_ROW_OPS = _make_row_ops()
_ONE = (1.0,)
_EMPTY_ROW = _RowOp(())
_NUMPY_SIZE = 64  # from this many weights on, the products are summed by numpy (one call for all rows)


class WeightRows:
    """A weight matrix (a list of rows of Values) with its rows as tuples and their numbers
    read once: for a forward pass that uses the same weights many times, as a GPT does at
    every position of a document. Take a new one after the weights change."""

    __slots__ = ("rows", "data", "array")

    def __init__(self, matrix: Sequence[Sequence[Value]]) -> None:
        self.rows = [tuple(row) for row in matrix]
        try:
            self.data: list[tuple[float, ...]] = [tuple([w.data for w in row]) for row in self.rows]
        except AttributeError:
            raise TypeError("WeightRows: the weights must be Values") from None
        if len({len(row) for row in self.rows}) > 1:
            raise ValueError(f"WeightRows: the rows have different lengths {sorted({len(r) for r in self.rows})}")
        big = self.rows and len(self.rows) * len(self.rows[0]) >= _NUMPY_SIZE
        self.array = np.array(self.data, dtype=np.float64) if big else None

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def empty(cls) -> WeightRows:
        """No rows yet: `append` adds them (the keys of a growing sequence)."""
        rows = cls.__new__(cls)
        rows.rows, rows.data, rows.array = [], [], None
        return rows

    def append(self, row: Sequence[Value]) -> None:
        """One more row of Values, its numbers read now."""
        values = tuple(row)
        if self.rows and len(values) != len(self.rows[0]):
            raise ValueError(f"WeightRows.append: a row of {len(values)} weights after rows of {len(self.rows[0])}")
        self.rows.append(values)
        self.data.append(tuple([w.data for w in values]))
        self.array = None  # small and growing: summed in Python

    def columns(self, keep: list[int]) -> WeightRows:
        """The same rows with only the columns ``keep`` (for the inputs that are not constant zeros)."""
        picked = WeightRows.__new__(WeightRows)
        if not keep:
            picked.rows, picked.data, picked.array = [() for _ in self.rows], [() for _ in self.rows], None
            return picked
        select = itemgetter(*keep) if len(keep) > 1 else (lambda row: (row[keep[0]],))
        picked.rows = [select(row) for row in self.rows]
        picked.data = [select(row) for row in self.data]
        picked.array = None  # its products are not needed again: linear_values sums before it drops columns
        return picked

    def products(self, xd: Sequence[float]) -> list[float]:
        """Each row's w . x for the inputs' numbers ``xd``."""
        if self.array is not None:
            return (self.array @ np.array(xd, dtype=np.float64)).tolist()  # type: ignore[no-any-return]
        return [sum(map(mul, wd, xd)) for wd in self.data]


def linear_values(
    x: Sequence[Value],
    weights: Sequence[Sequence[Value]] | WeightRows,
    bias: Sequence[Value] | None = None,
    relu: bool = False,
    scale: float = 1.0,
) -> list[Value]:
    """``[w_j . x + b_j for each row w_j]``: a matrix (a list of rows of Values, or
    `WeightRows`) times a vector of Values, plus an optional bias (a list of Values, one
    per row), one node per output: a linear layer on the scalar engine. Each output's
    local derivatives: d/dw_ji = x_i, d/dx_i = w_ji, d/db_j = 1.

    ``relu=True`` applies ReLU without a node of its own: an output that is positive is
    the row's node itself (relu is the identity there), any other output is the constant
    0 (relu is flat there: every derivative through it is 0, as in PyTorch at 0 too). An
    input that is such a constant 0 contributes nothing and is left out of every row, so a
    layer after a ReLU only holds the units that are on. The values and the derivatives of
    every order are exactly those of the unfused ``relu(w . x + b)``.

    ``scale``: a number c multiplying every product, ``c (w_j . x)`` (with the bias added
    after): d/dw_ji = c x_i, d/dx_i = c w_ji. Attention's scores are ``q . k / sqrt(d)``.
    """
    inputs = tuple(x)
    try:
        xd = tuple([v.data for v in inputs])
    except AttributeError:
        raise TypeError("linear_values: the inputs must be Values") from None
    prepared = weights if isinstance(weights, WeightRows) else WeightRows(weights)
    n = len(inputs)
    if prepared.rows and len(prepared.rows[0]) != n:
        raise ValueError(f"linear_values: rows of {len(prepared.rows[0])} weights for {n} inputs")
    biases: tuple[Value, ...] | None = None
    if bias is not None:
        biases = tuple(bias)
        if len(biases) != len(prepared) or not all(isinstance(b, Value) for b in biases):
            raise ValueError(f"linear_values: bias must be {len(prepared)} Values, one per row")
    totals = prepared.products(xd)  # a constant 0 adds exactly nothing: the same sums with or without it
    if scale != 1.0:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
            raise ValueError(f"linear_values: scale must be a finite number, got {scale!r}")
        totals = [t * scale for t in totals]
    if 0 in xd:
        dropped = {i for i, d in enumerate(xd) if d == 0 and inputs[i]._fn is _CONST}
        if dropped:
            keep = [i for i in range(n) if i not in dropped]
            inputs = tuple([inputs[i] for i in keep])
            xd = tuple([xd[i] for i in keep])
            prepared = prepared.columns(keep)
    if biases is not None:
        totals = [t + b.data for t, b in zip(totals, biases)]
    if not _recording() or (not inputs and biases is None):
        constant = _EMPTY_ROW if not _recording() else _CONST  # no graph; or a row of nothing: 0
        return [_leaf(0.0 if relu and not t > 0 and t == t else t, constant) for t in totals]  # type: ignore[arg-type]
    op = _ROW_OPS[biases is not None, bool(relu), scale != 1.0]
    weight_data = prepared.data
    tail: tuple[float, ...] = _ONE if biases is not None else ()
    if scale != 1.0:  # the local derivatives carry the scale: c x_i for w_ji, c w_ji for x_i
        xd = tuple([d * scale for d in xd])
        weight_data = [tuple([w * scale for w in wd]) for wd in weight_data]
        tail += (float(scale),)
    out = []
    for j, (row, wd, total) in enumerate(zip(prepared.rows, weight_data, totals)):
        if relu and not total > 0:  # relu is flat here: the constant 0 (NaN stays NaN)
            out.append(_leaf(0.0 if total == total else total, _CONST))
            continue
        node = _new(Value)  # built here rather than by _many: one call less per output
        node.data = total
        node.grad = 0.0
        node._b = _MANY
        node._a = row + inputs if biases is None else row + inputs + (biases[j],)
        node._fn = op(xd + wd + tail) if tail else op(xd + wd)  # type: ignore[assignment]
        out.append(node)
    return out


# ---- logsumexp and softmax -------------------------------------------------------------------------


class _LogSumExpOp(_LocalsOp):
    """L = log(sum_j e^(z_j)): d L / d z_j = e^(z_j - L) = softmax(z)_j"""

    __slots__ = ()
    name = "logsumexp"

    def local_graph(self, node: Value) -> tuple[Any, ...]:
        return tuple((z - node).exp() for z in node._a)


def _stable_exps(zd: list[float]) -> tuple[list[float], float, float]:
    """e^(z_j - max z), their sum, and the max (subtracted so that no e^ overflows)."""
    top = max(zd)
    if not math.isfinite(top) or any(d != d for d in zd):
        bad = next((d for d in zd if d != d), top)
        raise ValueError(f"softmax of a non-finite value ({bad}): the logits must be finite (or -inf, for a hidden entry)")
    exps = [math.exp(d - top) for d in zd]
    return exps, sum(exps), top


def logsumexp_values(z: Sequence[Any]) -> Value:
    """log(e^z1 + ... + e^zn) as one node, computed stably; d/dz_j = softmax(z)_j."""
    zs = _values(z, "logsumexp_values")
    exps, total, top = _stable_exps([v.data for v in zs])
    return _many(top + math.log(total), _LogSumExpOp([e / total for e in exps]), zs)  # type: ignore[arg-type]


def _softmax_entry_local(out: Any, z: Any, lse: Any) -> tuple[Any, Any]:
    """p = e^(z - L): d p / d z = p, d p / d L = -p"""
    return out, -out


_SOFTMAX = Op("softmax", formula=_softmax_entry_local)


def softmax_values(z: Sequence[Any]) -> list[Value]:
    """softmax(z)_i = e^(z_i - L) with L = logsumexp(z): one `logsumexp` node and one
    ``softmax`` node per entry (children z_i and L). Stable for any finite z."""
    zs = _values(z, "softmax_values")
    exps, total, top = _stable_exps([v.data for v in zs])
    probs = [e / total for e in exps]
    lse = _many(top + math.log(total), _LogSumExpOp(probs), zs)  # type: ignore[arg-type]
    return [_binary(p, _SOFTMAX, zi, lse) for p, zi in zip(probs, zs)]


# ---- RMSNorm ----------------------------------------------------------------------------------------


class _InverseRmsOp(_LocalsOp):
    """r = (mean(x^2) + eps)^(-1/2): d r / d x_j = -r^3 x_j / n"""

    __slots__ = ()
    name = "1/rms"

    def local_graph(self, node: Value) -> tuple[Any, ...]:
        children = node._a
        scale = -1.0 / len(children)
        cube = node * node * node
        return tuple(cube * x * scale for x in children)


def rms_norm_values(x: Sequence[Any], eps: float = 1e-5) -> list[Value]:
    """x_i / sqrt(mean(x^2) + eps): one ``1/rms`` node r (d r / d x_j = -r^3 x_j / n) and
    one product x_i * r per entry (RMSNorm without a learned weight, as microgpt's)."""
    xs = _values(x, "rms_norm_values")
    xd = [v.data for v in xs]
    n = len(xd)
    r = (sum([d * d for d in xd]) / n + eps) ** -0.5
    scale = -r * r * r / n
    node = _many(r, _InverseRmsOp([scale * d for d in xd]), xs)  # type: ignore[arg-type]
    if node._a is None:  # not recording: plain products
        return [v * node for v in xs]
    out = []
    for v, d in zip(xs, xd):  # each x_i * r, an engine product node, built here (one call less each)
        product = _new(Value)
        product.data = d * r
        product.grad = 0.0
        product._a, product._b, product._fn = v, node, _MUL
        out.append(product)
    return out


# ---- cross-entropy ----------------------------------------------------------------------------------


class _CrossEntropyOp(_LocalsOp):
    """loss = logsumexp(z) - z_t: d loss / d z_j = softmax(z)_j - [j == t]; the op's last
    entry is t (beyond the children, so ``backward()`` never reads it)."""

    __slots__ = ()
    name = "cross_entropy"

    def local_graph(self, node: Value) -> tuple[Any, ...]:
        children = node._a
        target = self[-1]
        lse = node + children[target]
        return tuple((z - lse).exp() - (1.0 if j == target else 0.0) for j, z in enumerate(children))


def cross_entropy_values(logits: Sequence[Any], target: int) -> Value:
    """-log softmax(z)[target] = logsumexp(z) - z_target as one node; d/dz_j = softmax(z)_j - [j == target]."""
    zs = _values(logits, "cross_entropy_values")
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < len(zs):
        raise ValueError(f"cross_entropy_values: target must be a class index 0..{len(zs) - 1}, got {target!r}")
    exps, total, top = _stable_exps([v.data for v in zs])
    local = [e / total for e in exps]
    local[target] -= 1.0
    loss = top + math.log(total) - zs[target].data
    return _many(loss, _CrossEntropyOp(local + [target]), zs)  # type: ignore[arg-type]
