"""The tensor engine: `Tensor`, the seed's design with numpy arrays as data.

A `Value` holds one number; a `Tensor` holds a numpy array and works the same way.
Every operation builds a new node holding its result, its children (``_prev``) and
what it needs to pass a gradient back to them: a vector-Jacobian product (``_vjp``)
and the arrays it saved from the forward pass (``_saved``). The chain rule is then

    child.grad += vjp(out.grad)   for each child

and ``backward()`` applies it to the whole graph in reverse topological order,
found without recursion, exactly as ``Value.backward()`` does.

Primitives (a vjp each, below): + - * / neg, ** with a number, exp log tanh sigmoid
relu abs astype, matmul, linear (x @ W.T + b), sum mean max min, reshape transpose
getitem concatenate stack, and cross_entropy (fused: one node, softmax - onehot).
Derived from them: sqrt, tensor ** tensor and number ** tensor (exp and log),
logsumexp (with the max shift held constant), log_softmax and softmax.

Conventions (PyTorch's, where users already know them):

- ``dtype`` is float64 (the default) or float32. Integer and bool data become
  float64; a float32 numpy array keeps float32. Mixing dtypes follows numpy's
  rules: a float32 and a float64 tensor give float64 (as in PyTorch); a Python
  number never changes a tensor's dtype. Gradients always have their tensor's dtype.
- ``.grad`` is ``None`` until a backward pass reaches the tensor, and only leaves
  (tensors made by you with ``requires_grad=True``) keep a gradient. Gradients
  accumulate across ``backward()`` calls; set ``.grad = None`` (or call a module's
  ``zero_grad()``) between steps. The graph is kept after ``backward()``, so
  calling it twice adds the gradients twice, like ``Value``.
- ``no_grad()`` is the same switch as for `Value` (``scratchgrad.grad_mode``).
- Numpy arrays used as operands are not copied (like ``torch.from_numpy``);
  ``Tensor(array)`` copies (like ``torch.tensor``).
- Shape mistakes raise ValueError naming the operation and the shapes; non-numeric
  data raises TypeError; math domain errors (log of a non-positive number, division
  by zero, overflowing exp) raise instead of returning NaN or inf silently.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple, Union

import numpy as np

from scratchgrad import grad_mode

Array = np.ndarray
Axis = Union[None, int, Sequence[int]]
Number = Union[int, float]
Operand = Union["Tensor", np.ndarray, int, float, Sequence[Any]]
DTypeLike = Any
# A vector-Jacobian product: (gradient of the output, the node) -> one gradient per
# child in ``node._prev`` order, None for a child that does not need one.
VJP = Callable[[Array, "Tensor"], Tuple[Optional[Array], ...]]

FLOAT64 = np.dtype(np.float64)
FLOAT32 = np.dtype(np.float32)

# exp(x) is finite only below log(max float): past it we raise instead of returning inf.
_EXP_LIMIT = {FLOAT64: float(np.log(np.finfo(np.float64).max)), FLOAT32: float(np.log(np.finfo(np.float32).max))}


# ---- conversions ---------------------------------------------------------------------------


def _resolve_dtype(dtype: DTypeLike) -> np.dtype | None:
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


def _as_float_array(data: Any, dtype: np.dtype | None, what: str, copy: bool) -> Array:
    """``data`` as a float64/float32 array, or a TypeError/ValueError saying what is wrong."""
    if isinstance(data, Tensor):
        data = data.data
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


def _operand(other: Any, op: str, self_on_left: bool = True) -> Tensor:
    """A non-number operand as a constant `Tensor` (arrays are not copied)."""
    if isinstance(other, Tensor):
        return other
    if isinstance(other, (np.ndarray, list, tuple)):
        return _const(_as_float_array(other, None, f"{op}: operand", copy=False), "")
    names = ("'Tensor'", f"'{type(other).__name__}'")
    left, right = names if self_on_left else names[::-1]
    raise TypeError(f"unsupported operand type(s) for {op}: {left} and {right}")


def _number(other: Any) -> float | int | None:
    """A real number as a plain Python int/float (numpy scalars too), else None.

    Plain Python numbers are 'weak' in numpy's promotion rules, so ``x * 2.0`` keeps a
    float32 tensor float32.
    """
    if type(other) is float or type(other) is int:
        return other
    if type(other) is np.ndarray or isinstance(other, Tensor):  # the common non-numbers, decided cheaply
        return None
    if isinstance(other, numbers.Real):
        return int(other) if isinstance(other, numbers.Integral) else float(other)
    return None


# ---- graph nodes -----------------------------------------------------------------------------

_new = object.__new__


def _const(data: Array, op: str) -> Tensor:
    """A result that needs no gradient: no children, nothing saved."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = False
    t.label = ""
    t._op = op
    t._prev = ()
    t._vjp = None
    t._saved = None
    return t


def _result(data: Array, prev: tuple[Tensor, ...], op: str, vjp: VJP, saved: Any) -> Tensor:
    """The result of an operation: a graph node remembering its children, its vjp and
    what it saved when gradients are recorded and some child needs one; else a constant
    (like `_const`). One function, built inline: it runs for every operation."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.label = ""
    t._op = op
    if grad_mode.enabled:
        for child in prev:
            if child.requires_grad:
                t.requires_grad = True
                t._prev = prev
                t._vjp = vjp
                t._saved = saved
                return t
    t.requires_grad = False
    t._prev = ()
    t._vjp = None
    t._saved = None
    return t


def _array(x: Any) -> Array:
    """Reductions of a whole array return numpy scalars; a Tensor always holds an ndarray."""
    return x if type(x) is np.ndarray else np.asarray(x)


def _unbroadcast(g: Array, shape: tuple[int, ...]) -> Array:
    """Sum ``g`` over the axes that broadcasting added or stretched, back to ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead:
        g = _array(g.sum(axis=tuple(range(lead))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g


def _normalize_axes(axis: Axis, shape: tuple[int, ...], op: str) -> tuple[int, ...]:
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


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with the reduced ``axes`` kept as size 1 (keepdims=True)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _broadcast_error(op: str, a: Array, b: Array) -> ValueError:
    return ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together")


# ---- vector-Jacobian products: one per primitive, next to nothing else ---------------------


def _add_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    a, b = node._prev
    sa, sb = node._saved
    return (_unbroadcast(g, sa) if a.requires_grad else None, _unbroadcast(g, sb) if b.requires_grad else None)


def _sub_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    a, b = node._prev
    sa, sb = node._saved
    return (_unbroadcast(g, sa) if a.requires_grad else None, _unbroadcast(-g, sb) if b.requires_grad else None)


def _mul_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    a, b = node._prev
    x, y = node._saved
    return (
        _unbroadcast(g * y, x.shape) if a.requires_grad else None,
        _unbroadcast(g * x, y.shape) if b.requires_grad else None,
    )


def _div_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    a, b = node._prev
    x, y, out = node._saved
    g_over_y = g / y
    return (
        _unbroadcast(g_over_y, x.shape) if a.requires_grad else None,
        _unbroadcast(-g_over_y * out, y.shape) if b.requires_grad else None,
    )


def _pass_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    return (g,)


def _neg_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    return (-g,)


def _scale_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    return (g * node._saved,)


def _div_scalar_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    return (g / node._saved,)


def _rdiv_scalar_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    x, out = node._saved
    return (-g * out / x,)


def _pow_scalar_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    x, k = node._saved
    if k == 2:
        return (g * 2.0 * x,)
    if k == 0:
        return (np.zeros_like(g),)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** (k-1) for k < 1: infinite slope, as in PyTorch
        return (g * (k * x ** (k - 1)),)


def _exp_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    return (g * node._saved,)


def _log_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    return (g / node._saved,)


def _tanh_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    t = node._saved
    return (g * (1.0 - t * t),)


def _sigmoid_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    s = node._saved
    return (g * (s * (1.0 - s)),)


def _relu_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    # Only x > 0 passes the gradient: 0 at the kink (as in PyTorch) and at NaN inputs.
    return (g * (node._saved > 0),)


def _abs_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    return (g * np.sign(node._saved),)


def _cast_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    return (g.astype(node._saved),)


def _matmul_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    a, b = node._prev
    x, y = node._saved
    if x.ndim == 2 and y.ndim == 2:
        return (g @ y.T if a.requires_grad else None, x.T @ g if b.requires_grad else None)
    # General case: treat 1-D operands as a row (left) or column (right) matrix, as
    # matmul does, restore the dimension it removed from g, then sum the broadcast
    # batch dimensions back out.
    x2 = x[None, :] if x.ndim == 1 else x
    y2 = y[:, None] if y.ndim == 1 else y
    g2 = g.reshape(np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2]) + (x2.shape[-2], y2.shape[-1]))
    gx = gy = None
    if a.requires_grad:
        gx = _unbroadcast(g2 @ np.swapaxes(y2, -1, -2), x2.shape).reshape(x.shape)
    if b.requires_grad:
        gy = _unbroadcast(np.swapaxes(x2, -1, -2) @ g2, y2.shape).reshape(y.shape)
    return (gx, gy)


def _linear_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    x, w = node._prev[0], node._prev[1]
    xd, wd = node._saved
    gx = g @ wd if x.requires_grad else None
    gw = None
    if w.requires_grad:
        if xd.ndim == 2:
            gw = g.T @ xd
        elif xd.ndim == 1:
            gw = np.outer(g, xd)
        else:
            gw = g.reshape(-1, g.shape[-1]).T @ xd.reshape(-1, xd.shape[-1])
    if len(node._prev) == 2:
        return (gx, gw)
    gb = None
    if node._prev[2].requires_grad:
        gb = g if g.ndim == 1 else g.sum(axis=tuple(range(g.ndim - 1)))
    return (gx, gw, gb)


def _mean_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    shape, kept, count = node._saved
    full = np.empty(shape, dtype=g.dtype)
    full[...] = g.reshape(kept) / count
    return (full,)


def _sum_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    shape, kept = node._saved
    full = np.empty(shape, dtype=g.dtype)  # cheaper than np.broadcast_to, and writeable
    full[...] = g.reshape(kept)
    return (full,)


def _extreme_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    # PyTorch's amax/amin rule: the gradient is split evenly among all entries equal
    # to the extreme value (NaN counts as equal to a NaN result).
    x, axes, kept, out = node._saved
    best = out.reshape(kept)
    hit = x == best
    if np.isnan(best).any():
        hit |= np.isnan(x) & np.isnan(best)
    count = hit.sum(axis=axes, keepdims=True)
    return (hit * (g.reshape(kept) / count),)


def _reshape_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    return (g.reshape(node._saved),)


def _transpose_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    return (g.transpose(node._saved),)


def _getitem_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    shape, dtype, index, basic = node._saved
    full = np.zeros(shape, dtype=dtype)
    if basic:  # slices and ints select each entry at most once
        full[index] += g
    else:  # fancy indices may repeat an entry: each repeat adds its gradient
        np.add.at(full, index, g)
    return (full,)


def _concatenate_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    axis, bounds = node._saved
    parts = np.split(g, bounds, axis=axis)
    return tuple(p if child.requires_grad else None for p, child in zip(parts, node._prev))


def _stack_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    axis = node._saved
    return tuple(np.take(g, i, axis=axis) if child.requires_grad else None for i, child in enumerate(node._prev))


def _cross_entropy_vjp(g: Array, node: Tensor) -> tuple[Array | None, ...]:
    # d loss_i / d logits_i = softmax(logits_i) - onehot(target_i), times the reduction's weight.
    exps, sums, targets, reduction, shape = node._saved
    grad = exps / sums
    grad[np.arange(len(targets)), targets] -= 1.0
    if reduction == "none":
        grad *= g.reshape(-1, 1)
    elif reduction == "mean":
        grad *= g / len(targets)
    else:
        grad *= g
    return (grad.reshape(shape),)


# ---- the Tensor --------------------------------------------------------------------------------


class Tensor:
    """An array that remembers how it was computed, so gradients can flow back to its inputs.

    ``Tensor(data, requires_grad=False, dtype=None, label='')``: ``data`` is anything
    numpy turns into a numeric array (copied); ``dtype`` is float64 or float32 (None:
    float32 arrays stay float32, everything else becomes float64). After
    ``root.backward()``, a leaf's ``grad`` (an array of its shape) is d(root)/d(leaf).
    """

    __slots__ = ("data", "grad", "requires_grad", "label", "_op", "_prev", "_vjp", "_saved")
    # Makes `ndarray (op) Tensor` call the Tensor's reflected method instead of numpy's loop.
    __array_ufunc__ = None

    data: Array
    grad: Array | None
    requires_grad: bool
    label: str
    _op: str
    _prev: tuple[Tensor, ...]
    _vjp: VJP | None
    _saved: Any

    def __init__(self, data: Any, requires_grad: bool = False, dtype: DTypeLike = None, label: str = "") -> None:
        self.data = _as_float_array(data, _resolve_dtype(dtype), "Tensor data", copy=True)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.label = label
        self._op = ""
        self._prev = ()
        self._vjp = None
        self._saved = None

    @classmethod
    def from_numpy(cls, array: Array, requires_grad: bool = False) -> Tensor:
        """A Tensor sharing ``array``'s memory (no copy) when it already is float64/float32."""
        t = _const(_as_float_array(array, None, "Tensor data", copy=False), "")
        t.requires_grad = bool(requires_grad)
        return t

    # ---- what it is --------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors you made; False for results of operations that recorded a graph."""
        return not self._prev

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extras = ""
        if self.data.dtype != FLOAT64:
            extras += f", dtype={self.data.dtype}"
        if self.requires_grad:
            extras += ", requires_grad=True"
        return f"Tensor({body}{extras})"

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(len(self.data)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.data.shape} is ambiguous; use .data.any() or .data.all()"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def item(self) -> float:
        """The single number in a one-element tensor, as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a number, got shape {self.data.shape}")
        return float(self.data.reshape(()))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Array:
        """``np.asarray(tensor)``: the data, for plotting and numpy code (no graph)."""
        if dtype is None and not copy:
            return self.data
        return np.array(self.data, dtype=dtype, copy=True)

    def numpy(self) -> Array:
        """The data array itself (shared, not copied), like ``torch.Tensor.numpy()``."""
        return self.data

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same data (shared) as a new leaf that records nothing and needs no gradient."""
        return _const(self.data, "")

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Turn gradient tracking on or off for a leaf, in place; returns self."""
        if self._prev and not requires_grad:
            raise RuntimeError("requires_grad_: only leaves can stop requiring grad; use detach() for a result")
        self.requires_grad = bool(requires_grad)
        return self

    def astype(self, dtype: DTypeLike) -> Tensor:
        """This tensor as float64 or float32; the gradient is cast back."""
        target = _resolve_dtype(dtype)
        assert target is not None
        if self.data.dtype == target:
            return self
        return _result(self.data.astype(target), (self,), "astype", _cast_vjp, self.data.dtype)

    # ---- arithmetic with broadcasting ----------------------------------------------------------

    def __add__(self, other: Operand) -> Tensor:
        """a + b; d/da = 1, d/db = 1 (summed back over broadcast axes)."""
        if type(other) is not Tensor:
            c = _number(other)
            if c is not None:
                return _result(self.data + c, (self,), "+", _pass_vjp, None)
            other = _operand(other, "+")
        x, y = self.data, other.data
        try:
            out = x + y
        except ValueError:
            raise _broadcast_error("add", x, y) from None
        return _result(out, (self, other), "+", _add_vjp, (x.shape, y.shape))

    def __radd__(self, other: Operand) -> Tensor:  # other + self
        if _number(other) is not None:
            return self + other
        return _operand(other, "+", False) + self

    def __sub__(self, other: Operand) -> Tensor:
        """a - b; d/da = 1, d/db = -1."""
        if type(other) is not Tensor:
            c = _number(other)
            if c is not None:
                return _result(self.data - c, (self,), "-", _pass_vjp, None)
            other = _operand(other, "-")
        x, y = self.data, other.data
        try:
            out = x - y
        except ValueError:
            raise _broadcast_error("sub", x, y) from None
        return _result(out, (self, other), "-", _sub_vjp, (x.shape, y.shape))

    def __rsub__(self, other: Operand) -> Tensor:  # other - self
        c = _number(other)
        if c is not None:
            return _result(c - self.data, (self,), "-", _neg_vjp, None)
        return _operand(other, "-", False) - self

    def __mul__(self, other: Operand) -> Tensor:
        """a * b; d/da = b, d/db = a."""
        if type(other) is not Tensor:
            c = _number(other)
            if c is not None:
                return _result(self.data * c, (self,), "*", _scale_vjp, c)
            other = _operand(other, "*")
        x, y = self.data, other.data
        try:
            out = x * y
        except ValueError:
            raise _broadcast_error("mul", x, y) from None
        return _result(out, (self, other), "*", _mul_vjp, (x, y))

    def __rmul__(self, other: Operand) -> Tensor:  # other * self
        if _number(other) is not None:
            return self * other
        return _operand(other, "*", False) * self

    def __truediv__(self, other: Operand) -> Tensor:
        """a / b; d/da = 1/b, d/db = -a/b^2. A zero divisor raises ZeroDivisionError."""
        if type(other) is not Tensor:
            c = _number(other)
            if c is not None:
                if c == 0:
                    raise ZeroDivisionError(f"div: division of a tensor of shape {self.data.shape} by zero")
                return _result(self.data / c, (self,), "/", _div_scalar_vjp, c)
            other = _operand(other, "/")
        x, y = self.data, other.data
        if not y.all():
            raise ZeroDivisionError(f"div: the divisor (shape {y.shape}) has {y.size - np.count_nonzero(y)} zero entries")
        try:
            out = x / y
        except ValueError:
            raise _broadcast_error("div", x, y) from None
        return _result(out, (self, other), "/", _div_vjp, (x, y, out))

    def __rtruediv__(self, other: Operand) -> Tensor:  # other / self
        c = _number(other)
        if c is None:
            return _operand(other, "/", False) / self
        x = self.data
        if not x.all():
            raise ZeroDivisionError(f"div: the divisor (shape {x.shape}) has {x.size - np.count_nonzero(x)} zero entries")
        out = c / x
        return _result(out, (self,), "/", _rdiv_scalar_vjp, (x, out))

    def __neg__(self) -> Tensor:
        """-a; d/da = -1."""
        return _result(-self.data, (self,), "neg", _neg_vjp, None)

    def __pos__(self) -> Tensor:
        return self

    def __pow__(self, other: Operand) -> Tensor:
        """a ** k for a number k (d/da = k a^(k-1)); a ** b for a tensor b needs a > 0."""
        k = _number(other)
        if k is None:
            exponent = _operand(other, "**")
            if (self.data <= 0).any():
                raise ValueError("pow: a tensor exponent needs a positive base (d/db a^b = a^b ln a); use a number exponent")
            return (exponent * self.log()).exp()
        x = self.data
        if k < 0 and not x.all():
            raise ZeroDivisionError(f"pow: zero cannot be raised to the negative power {k}")
        if not float(k).is_integer() and (x < 0).any():
            raise ValueError(f"pow: a negative base to the non-integer power {k} is not a real number")
        out = x**k
        return _result(out, (self,), f"**{k}", _pow_scalar_vjp, (x, k))

    def __rpow__(self, other: Operand) -> Tensor:  # other ** self
        c = _number(other)
        if c is None:
            return _operand(other, "**", False) ** self
        if not c > 0:
            raise ValueError(f"pow: {c} ** tensor needs a positive base (d/dx c^x = c^x ln c)")
        return (self * float(np.log(c))).exp()

    # ---- elementwise functions ---------------------------------------------------------------

    def exp(self) -> Tensor:
        """e^x, d/dx = e^x. Raises OverflowError where the result would be infinite."""
        x = self.data
        if x.size and x.max() > _EXP_LIMIT.get(x.dtype, _EXP_LIMIT[FLOAT64]):
            raise OverflowError(
                f"exp overflows {x.dtype} for inputs above {_EXP_LIMIT.get(x.dtype, 709.78):.2f} (largest: {x.max()})"
            )
        out = np.exp(x)
        return _result(out, (self,), "exp", _exp_vjp, out)

    def log(self) -> Tensor:
        """ln x, d/dx = 1/x, for x > 0 only (NaN passes through)."""
        x = self.data
        if (x <= 0).any():
            raise ValueError(f"log is only defined for positive inputs; {int((x <= 0).sum())} entries are <= 0 (min {x.min()})")
        return _result(np.log(x), (self,), "log", _log_vjp, x)

    def tanh(self) -> Tensor:
        """tanh(x), d/dx = 1 - tanh(x)^2."""
        out = np.tanh(self.data)
        return _result(out, (self,), "tanh", _tanh_vjp, out)

    def sigmoid(self) -> Tensor:
        """1 / (1 + e^-x), d/dx = s (1 - s). Computed from e = e^-|x| <= 1, which never
        overflows: 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0."""
        x = self.data
        e = np.exp(-np.abs(x))
        s = 1.0 / (1.0 + e)
        out = np.where(x >= 0, s, e * s)
        return _result(out, (self,), "sigmoid", _sigmoid_vjp, out)

    def relu(self) -> Tensor:
        """max(0, x), d/dx = 1 if x > 0 else 0."""
        x = self.data
        return _result(np.maximum(x, 0.0), (self,), "relu", _relu_vjp, x)

    def abs(self) -> Tensor:
        """|x|, d/dx = sign(x) (0 at 0, as in PyTorch)."""
        x = self.data
        return _result(np.abs(x), (self,), "abs", _abs_vjp, x)

    def sqrt(self) -> Tensor:
        """x ** 0.5 (derived from pow)."""
        return self**0.5

    # ---- matrix products ---------------------------------------------------------------------

    def __matmul__(self, other: Operand) -> Tensor:
        """a @ b as numpy's matmul (1-D operands, batched stacks); d/da = g b^T, d/db = a^T g."""
        if type(other) is not Tensor:
            other = _operand(other, "@")
        return matmul(self, other)

    def __rmatmul__(self, other: Operand) -> Tensor:  # other @ self
        return matmul(_operand(other, "@", False), self)

    # ---- reductions ----------------------------------------------------------------------------

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (None: all); d/dx = 1 broadcast back to x's shape."""
        x = self.data
        axes = _normalize_axes(axis, x.shape, "sum")
        out = _array(x.sum(axis=axes, keepdims=keepdims))
        return _result(out, (self,), "sum", _sum_vjp, (x.shape, _kept_shape(x.shape, axes)))

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Sum / count over ``axis``; d/dx = 1/count broadcast back to x's shape."""
        x = self.data
        axes = _normalize_axes(axis, x.shape, "mean")
        count = 1
        for a in axes:
            count *= x.shape[a]
        if count == 0:
            raise ValueError(f"mean: cannot average over an empty axis (shape {x.shape}, axis {axis})")
        out = _array(x.sum(axis=axes, keepdims=keepdims) / count)
        return _result(out, (self,), "mean", _mean_vjp, (x.shape, _kept_shape(x.shape, axes), count))

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Largest entry over ``axis``. Gradient split evenly among ties, like PyTorch's ``amax``."""
        return self._extreme(np.max, "max", axis, keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Smallest entry over ``axis``. Gradient split evenly among ties, like PyTorch's ``amin``."""
        return self._extreme(np.min, "min", axis, keepdims)

    def _extreme(self, reduce: Callable[..., Any], op: str, axis: Axis, keepdims: bool) -> Tensor:
        x = self.data
        axes = _normalize_axes(axis, x.shape, op)
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{op}: cannot reduce over an empty axis (shape {x.shape}, axis {axis})")
        out = _array(reduce(x, axis=axes, keepdims=keepdims))
        return _result(out, (self,), op, _extreme_vjp, (x, axes, _kept_shape(x.shape, axes), out))

    def logsumexp(self, axis: Axis = -1, keepdims: bool = False) -> Tensor:
        """log(sum(exp(x))) over ``axis``, stable: m + log(sum(exp(x - m))) with m = max(x) held constant."""
        axes = _normalize_axes(axis, self.data.shape, "logsumexp")
        if any(self.data.shape[a] == 0 for a in axes):
            raise ValueError(f"logsumexp: cannot reduce over an empty axis (shape {self.data.shape}, axis {axis})")
        shift = np.max(self.data, axis=axes, keepdims=True)
        shift = np.where(np.isfinite(shift), shift, 0.0)  # rows of -inf/inf: shifting by them would make NaN
        out = (self - shift).exp().sum(axes, keepdims=True).log() + shift
        return out if keepdims else out.reshape(tuple(n for i, n in enumerate(out.shape) if i not in axes))

    def log_softmax(self, axis: int = -1) -> Tensor:
        """x - logsumexp(x) along ``axis``: log-probabilities, stable for any logits."""
        return self - self.logsumexp(axis, keepdims=True)

    def softmax(self, axis: int = -1) -> Tensor:
        """exp(log_softmax(x)) along ``axis``: probabilities summing to 1."""
        return self.log_softmax(axis).exp()

    def argmax(self, axis: int | None = None) -> Array:
        """Index of the largest entry (a plain integer array: not differentiable)."""
        return np.asarray(np.argmax(self.data, axis=axis))

    # ---- shapes ----------------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        """The same entries in a new shape (one -1 allowed); the gradient is reshaped back."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        x = self.data
        try:
            out = x.reshape(shape)
        except (ValueError, TypeError):
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} entries) into {shape}") from None
        return _result(out, (self,), "reshape", _reshape_vjp, x.shape)

    def transpose(self, *axes: int) -> Tensor:
        """Permute the axes (default: reverse them, as numpy's ``.T``)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        x = self.data
        ndim = x.ndim
        if not axes:
            perm: tuple[int, ...] = tuple(range(ndim))[::-1]
        elif len(axes) == ndim and all(isinstance(a, (int, np.integer)) and -ndim <= a < ndim for a in axes):
            perm = tuple(int(a) % ndim for a in axes)
        else:
            perm = ()
        if sorted(perm) != list(range(ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {ndim} axes of shape {x.shape}")
        inverse = tuple(np.argsort(perm))
        return _result(x.transpose(perm), (self,), "transpose", _transpose_vjp, inverse)

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        """Indexing and slicing as numpy; the gradient is scattered back (repeats add up)."""
        index = _plain_index(index)
        x = self.data
        try:
            out = x[index]
        except IndexError as exc:
            raise IndexError(f"getitem: {exc} (tensor of shape {x.shape})") from None
        if type(out) is not np.ndarray:  # a single entry comes back as a numpy scalar
            out = np.asarray(out)
        return _result(out, (self,), "getitem", _getitem_vjp, (x.shape, x.dtype, index, _is_basic(index)))

    # ---- gradients -------------------------------------------------------------------------------

    def backward(self, grad: Any = None) -> None:
        """Fill ``.grad`` of every leaf below this tensor with d(self)/d(leaf), accumulating.

        ``grad`` is the seed d(loss)/d(self): optional for a one-element tensor (1),
        required otherwise, and of this tensor's shape. Works in reverse topological
        order without recursion; each node passes its gradient on once, after all
        the nodes that use it.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad (no leaf below it has requires_grad=True, "
                "or it was computed under no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: a seed gradient is required for a non-scalar output (shape {self.data.shape}); "
                    f"call backward(grad) with an array of that shape"
                )
            seed = np.array(1.0, dtype=self.data.dtype).reshape(self.data.shape)
        else:
            seed = _as_float_array(grad, self.data.dtype, "backward: grad", copy=True)
            if seed.shape != self.data.shape:
                if seed.size == 1 and self.data.size == 1:
                    seed = seed.reshape(self.data.shape)
                else:
                    raise ValueError(
                        f"backward: the seed gradient's shape {seed.shape} does not match the output's shape {self.data.shape}"
                    )
        if not self._prev:  # a leaf on its own
            _accumulate(self, seed, None)
            return
        # Pass 1: every interior node below self and how many consumers it has. A node
        # is ready for the chain rule once all of its consumers have passed it theirs.
        pending: dict[Tensor, int] = {}
        stack = [self]
        while stack:
            node = stack.pop()
            for child in node._prev:
                if child._prev:
                    count = pending.get(child)
                    if count is None:
                        pending[child] = 1
                        stack.append(child)
                    else:
                        pending[child] = count + 1
        # Pass 2: the chain rule, each node once, after all of its consumers.
        grads: dict[Tensor, Array] = {self: seed}
        ready = [self]
        while ready:
            node = ready.pop()
            g = grads.pop(node)
            for child, child_grad in zip(node._prev, node._vjp(g, node)):  # type: ignore[misc]
                if child_grad is None:
                    continue
                if child._prev:
                    previous = grads.get(child)
                    grads[child] = child_grad if previous is None else previous + child_grad
                    count = pending[child] - 1
                    if count:
                        pending[child] = count
                    else:
                        ready.append(child)
                elif (
                    child.grad is None
                    and child_grad.base is None
                    and child_grad is not g
                    and child_grad.dtype == child.data.dtype
                    and child_grad.shape == child.data.shape
                ):
                    child.grad = child_grad  # the common case: a fresh array of the leaf's own
                else:
                    _accumulate(child, child_grad, g)


def _accumulate(leaf: Tensor, g: Array, incoming: Array | None) -> None:
    """leaf.grad += g, in the leaf's dtype, never aliasing an array the graph still uses."""
    if g.dtype != leaf.data.dtype:
        g = g.astype(leaf.data.dtype)
    elif g is incoming or g.base is not None:
        # The gradient is shared (passed through unchanged, or a view): the leaf gets its own copy.
        g = g.copy()
    if g.shape != leaf.data.shape:  # a vjp's bug, or data reshaped behind the graph's back
        raise RuntimeError(f"backward: gradient of shape {g.shape} for a leaf of shape {leaf.data.shape}")
    if leaf.grad is None:
        leaf.grad = g
    else:
        leaf.grad = leaf.grad + g


def _plain_index(index: Any) -> Any:
    """Tensors inside an index become their arrays (as integer or bool indices)."""
    if isinstance(index, Tensor):
        return _index_array(index)
    if isinstance(index, tuple):
        return tuple(_index_array(i) if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):  # a list index is a fancy index, as in numpy
        return np.asarray(index)
    return index


def _index_array(t: Tensor) -> Array:
    data = t.data
    if data.size and np.all(data == np.round(data)):
        return data.astype(np.intp)  # Tensors hold floats: indices stored in one are whole numbers
    raise IndexError(f"getitem: a Tensor used as an index must hold whole numbers, got {data!r}")


def _is_basic(index: Any) -> bool:
    """True for indices made only of ints, slices, None and Ellipsis (no repeats possible)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in items)


# ---- functions of several tensors ------------------------------------------------------------------


def _as_tensor(x: Any, op: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if type(x) is np.ndarray:
        return _const(_as_float_array(x, None, f"{op}: operand", copy=False), "")
    c = _number(x)
    if c is not None:
        return _const(np.asarray(float(c)), "")
    if isinstance(x, (np.ndarray, list, tuple)):
        return _const(_as_float_array(x, None, f"{op}: operand", copy=False), "")
    raise TypeError(f"{op}: expected a Tensor, array or number, got {type(x).__name__}")


def matmul(a: Operand, b: Operand) -> Tensor:
    """a @ b, numpy's matmul semantics: (..., n, k) @ (..., k, m) -> (..., n, m); 1-D operands allowed."""
    a, b = _as_tensor(a, "matmul"), _as_tensor(b, "matmul")
    x, y = a.data, b.data
    try:
        out = x @ y
    except ValueError:
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {x.shape} and {y.shape}") from None
        k_left, k_right = x.shape[-1], (y.shape[-2] if y.ndim > 1 else y.shape[0])
        if k_left != k_right:
            raise ValueError(f"matmul: shapes {x.shape} and {y.shape} do not align ({k_left} != {k_right})") from None
        raise ValueError(f"matmul: the batch dimensions of shapes {x.shape} and {y.shape} cannot be broadcast") from None
    return _result(_array(out), (a, b), "matmul", _matmul_vjp, (x, y))


def linear(x: Operand, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias as one node (PyTorch's layout): (..., in) with (out, in) and (out,) -> (..., out)."""
    x = x if type(x) is Tensor else _as_tensor(x, "linear")
    xd, wd = x.data, weight.data
    if wd.ndim != 2 or xd.ndim == 0 or xd.shape[-1] != wd.shape[1]:
        raise ValueError(f"linear: input shape {xd.shape} does not fit weight shape {wd.shape} (needs (..., {wd.shape[-1]}))")
    out = xd @ wd.T
    if bias is None:
        return _result(out, (x, weight), "linear", _linear_vjp, (xd, wd))
    bd = bias.data
    if bd.shape != (wd.shape[0],):
        raise ValueError(f"linear: bias shape {bd.shape} does not match weight shape {wd.shape} (needs ({wd.shape[0]},))")
    out += bd  # `out` is ours: adding in place saves an allocation
    return _result(out, (x, weight, bias), "linear", _linear_vjp, (xd, wd))


def concatenate(tensors: Sequence[Operand], axis: int = 0) -> Tensor:
    """Join tensors along an existing ``axis``; the gradient is split back into the pieces."""
    parts = [_as_tensor(t, "concatenate") for t in tensors]
    if not parts:
        raise ValueError("concatenate: needs at least one tensor")
    shapes = [p.data.shape for p in parts]
    if any(len(s) == 0 for s in shapes):
        raise ValueError(f"concatenate: 0-d tensors cannot be concatenated (shapes {shapes}); use stack")
    ax = _normalize_axes(axis, shapes[0], "concatenate")[0]
    for s in shapes[1:]:
        if len(s) != len(shapes[0]) or any(n != m for i, (n, m) in enumerate(zip(s, shapes[0])) if i != ax):
            raise ValueError(f"concatenate: shapes {shapes[0]} and {s} differ outside axis {axis}")
    out = np.concatenate([p.data for p in parts], axis=ax)
    bounds = list(np.cumsum([s[ax] for s in shapes[:-1]]))
    return _result(out, tuple(parts), "concatenate", _concatenate_vjp, (ax, bounds))


def stack(tensors: Sequence[Operand], axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new ``axis``; the gradient is split back."""
    parts = [_as_tensor(t, "stack") for t in tensors]
    if not parts:
        raise ValueError("stack: needs at least one tensor")
    shapes = [p.data.shape for p in parts]
    for s in shapes[1:]:
        if s != shapes[0]:
            raise ValueError(f"stack: shapes {shapes[0]} and {s} differ (stack needs equal shapes)")
    ax = _normalize_axes(axis, (0,) * (len(shapes[0]) + 1), "stack")[0]
    out = np.stack([p.data for p in parts], axis=ax)
    return _result(out, tuple(parts), "stack", _stack_vjp, ax)


def _class_targets(targets: Any, logits_shape: tuple[int, ...]) -> Array:
    """Integer class indices checked against the logits: right shape, in [0, C)."""
    t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if t.dtype.kind not in "iu":
        if t.dtype.kind == "f" and t.size and np.all(t == np.round(t)) and isinstance(targets, Tensor):
            t = t.astype(np.intp)  # a Tensor of class indices holds them as whole floats
        else:
            raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {t.dtype}")
    expected = logits_shape[:-1]
    if t.shape != expected:
        raise ValueError(f"cross_entropy: logits shape {logits_shape} needs targets of shape {expected}, got {t.shape}")
    classes = logits_shape[-1]
    if t.size and (t.min() < 0 or t.max() >= classes):
        bad = t[(t < 0) | (t >= classes)].flat[0]
        raise ValueError(f"cross_entropy: target {bad} is out of range for {classes} classes (0..{classes - 1})")
    return t


def cross_entropy(logits: Operand, targets: Any, reduction: str = "mean") -> Tensor:
    """-log softmax(logits)[target], averaged (``reduction='mean'``), summed or per row ('none').

    logits (N, C) or (C,) with integer targets (N,) or (); one fused, stable node:
    d/d logits = softmax(logits) - onehot(target) (divided by N for the mean).
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    logits = logits if type(logits) is Tensor else _as_tensor(logits, "cross_entropy")
    z = logits.data
    if z.ndim not in (1, 2) or z.shape[-1] == 0:
        raise ValueError(f"cross_entropy: logits must have shape (N, C) or (C,) with C >= 1, got {z.shape}")
    t = _class_targets(targets, z.shape)
    z2, t2 = (z, t) if z.ndim == 2 else (z[None, :], t.reshape(1))  # one row: a batch of one
    shifted = z2 - z2.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    sums = exps.sum(axis=1, keepdims=True)
    losses = np.log(sums[:, 0]) - shifted[np.arange(len(t2)), t2]
    if reduction == "mean":
        if losses.size == 0:
            raise ValueError("cross_entropy: the mean over an empty batch is undefined")
        out = _array(losses.sum() / losses.size)
    elif reduction == "sum":
        out = _array(losses.sum())
    else:
        out = losses.reshape(t.shape)
    return _result(out, (logits,), "cross_entropy", _cross_entropy_vjp, (exps, sums, t2, reduction, z.shape))


__all__ = [
    "Tensor",
    "concatenate",
    "cross_entropy",
    "linear",
    "matmul",
    "stack",
]
