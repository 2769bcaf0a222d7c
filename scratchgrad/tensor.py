"""The tensor engine: `Tensor`, the tutorial's design with numpy arrays as data.

A `Value` holds one number; a `Tensor` holds a numpy array and works the same way.
Every operation builds a new node holding its result, its children (``_prev``) and its
vector-Jacobian product (``_vjp``): given the gradient of the result, the gradient of
each child. Each operation below is its forward code, then its vjp. The chain rule is

    child.grad += vjp(out.grad)   for each child

and ``backward()`` applies it to the whole graph in reverse topological order (the walk
of scratchgrad.autograd, shared with `Value`), without recursion.

A vjp reads the operation's inputs and result when it runs, through ``_inputs`` and
``_output``: their arrays for a first-order ``backward()``, or the Tensors themselves
for ``backward(create_graph=True)``, where the gradient ``g`` is a Tensor too and every
vjp is written with operations that numpy arrays and Tensors share (``*``, ``@``,
``.sum``, ``.reshape``, indexing, ...). So one vjp serves both: as arrays it is fast
numpy code; as Tensors it records the gradient as a graph that can be differentiated
again. What does not depend smoothly on the inputs (the mask of relu, which entries
of a max win) is computed from the arrays either way.

Primitives here (a vjp each): + - * / neg, ** with a number, exp log tanh sigmoid relu abs
astype, sum mean max min, reshape transpose broadcast_to getitem. Derived from them: sqrt,
tensor ** tensor and number ** tensor (exp and log), logsumexp (with the max shift held
constant) and log_softmax. In scratchgrad.tensor_functions (importable from here too): matmul
(``@``), linear, concatenate, stack, cross_entropy, softmax, gelu and what attention needs
(embedding, rms_norm, layer_norm, where for masked_fill, causal_mask). The backward pass
itself is scratchgrad.tensor_backward.

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
- ``no_grad()`` is the same per-thread switch as for `Value` (``scratchgrad.autograd``).
- Numpy arrays used as operands are not copied (like ``torch.from_numpy``);
  ``Tensor(array)`` copies (like ``torch.tensor``). A backward pass reads the inputs'
  data as they are when it runs: change a tensor's data between an operation and the
  backward pass through it, and the gradient follows the new data.
- Shape mistakes raise ValueError naming the operation and the shapes; non-numeric
  data raises TypeError; math domain errors (log of a non-positive number, division
  by zero, overflowing exp) raise instead of returning NaN or inf silently.
"""

from __future__ import annotations

import importlib
import numbers
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence, Tuple, Union

import numpy as np

from scratchgrad import autograd as _autograd
from scratchgrad._arrays import (
    EXP_LIMIT,
    FLOAT32,
    FLOAT64,
    Array,
    Axis,
    DTypeLike,
    as_array,
    as_float_array,
    broadcast_error,
    is_basic_index,
    kept_shape,
    normalize_axes,
    plain_index,
    resolve_dtype,
)
from scratchgrad.autograd import is_grad_enabled

_resolve_dtype = resolve_dtype  # the old private name, imported by other modules

_recording_off = 0  # threads with recording off: kept equal to scratchgrad.autograd.recording_off
_autograd.share_recording_off(globals())

Number = Union[int, float]
Operand = Union["Tensor", np.ndarray, int, float, Sequence[Any]]
Grad = Union[np.ndarray, "Tensor"]  # an array in a first-order backward, a Tensor when recorded
# A vector-Jacobian product: (gradient of the output, the node) -> one gradient per child
# in ``node._prev`` order, None for a child that does not need one.
VJP = Callable[[Any, "Tensor"], Tuple[Optional[Any], ...]]

__all__ = [
    "Tensor",
    "causal_mask",
    "concatenate",
    "cross_entropy",
    "embedding",
    "layer_norm",
    "linear",
    "matmul",
    "rms_norm",
    "stack",
    "where",
]

# The functions above (and softmax, gelu) live in scratchgrad.tensor_functions, the backward
# pass in scratchgrad.tensor_backward. Both import this module, so it imports them on first use.
if TYPE_CHECKING:
    from scratchgrad.tensor_functions import *  # noqa: F403  (the same names, typed)

_loaded: dict[str, Any] = {}


def _module(name: str) -> Any:
    """scratchgrad.<name>: imported once, then a dict lookup (cheaper than an import statement)."""
    module = _loaded.get(name)
    if module is None:
        module = _loaded[name] = importlib.import_module(f"scratchgrad.{name}")
    return module


def __getattr__(name: str) -> Any:
    """The old home of tensor_functions' names: the first miss (a from-import looks up __path__)
    copies them here, once that module is complete, and removes this hook, which would
    otherwise cost every from-import of this module a call."""
    functions = _module("tensor_functions")
    if "__all__" in vars(functions):  # not while tensor_functions is midway through importing this module
        namespace = globals()
        for public in functions.__all__:
            namespace.setdefault(public, getattr(functions, public))
        namespace.pop("__getattr__", None)
        if name in functions.__all__:
            return namespace[name]
    raise AttributeError(f"module 'scratchgrad.tensor' has no attribute {name!r}")


# ---- conversions ---------------------------------------------------------------------------


def _as_float_array(data: Any, dtype: np.dtype | None, what: str, copy: bool) -> Array:
    """``data`` (a Tensor's too) as a float64/float32 array; see scratchgrad._arrays."""
    return as_float_array(data.data if isinstance(data, Tensor) else data, dtype, what, copy)


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
    """The result of an operation: a graph node remembering its children, its vjp and what
    the vjp needs besides the inputs, when this thread records and some child needs a
    gradient; else a constant (like `_const`). Built inline: it runs for every operation."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.label = ""
    t._op = op
    if not (_recording_off and not is_grad_enabled()):
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


def _inputs(node: Tensor, g: Grad) -> Sequence[Any]:
    """The node's inputs as its vjp needs them: their arrays in a first-order backward, the
    input Tensors themselves when the backward is recorded (``g`` is then a Tensor)."""
    if type(g) is Tensor:
        return node._prev
    return [child.data for child in node._prev]


def _output(node: Tensor, g: Grad) -> Any:
    """The node's result, as an array or (when the backward is recorded) as the Tensor."""
    return node if type(g) is Tensor else node.data


def _unbroadcast(g: Grad, shape: tuple[int, ...]) -> Grad:
    """Sum ``g`` over the axes that broadcasting added or stretched, back to ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
        if type(g) is not Tensor:
            g = as_array(g)
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g


def _expand(g: Grad, shape: tuple[int, ...]) -> Grad:
    """``g`` broadcast to ``shape`` (the vjp of a reduction): a fresh, writeable array, or a
    `broadcast_to` node when the backward is recorded."""
    if type(g) is Tensor:
        return g.broadcast_to(shape)
    full = np.empty(shape, dtype=g.dtype)  # cheaper than np.broadcast_to().copy()
    full[...] = g
    return full


def _zeros_like(g: Grad) -> Grad:
    """A gradient of zeros shaped like ``g`` (a constant when the backward is recorded)."""
    if type(g) is Tensor:
        return _const(np.zeros_like(g.data), "")
    return np.zeros_like(g)


def _masked(g: Grad, mask: Array) -> Grad:
    """``g`` where ``mask`` (a bool or 0/1 array, a constant) holds, 0 elsewhere, in g's dtype."""
    if type(g) is Tensor:
        return g * mask.astype(g.dtype)
    return g * mask


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
    grad: Any  # None, an array, or a Tensor after backward(create_graph=True)
    requires_grad: bool
    label: str
    _op: str
    _prev: tuple[Tensor, ...]
    _vjp: VJP | None
    _saved: Any

    def __init__(self, data: Any, requires_grad: bool = False, dtype: DTypeLike = None, label: str = "") -> None:
        self.data = _as_float_array(data, resolve_dtype(dtype), "Tensor data", copy=True)
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
        target = resolve_dtype(dtype)
        assert target is not None
        if self.data.dtype == target:
            return self
        return _result(self.data.astype(target), (self,), "astype", Tensor._astype_vjp, self.data.dtype)

    @staticmethod
    def _astype_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        return (g.astype(node._saved),)

    # ---- arithmetic with broadcasting: each operation, then its vjp ------------------------

    def __add__(self, other: Operand) -> Tensor:
        """a + b"""
        if type(other) is not Tensor:
            c = _number(other)
            if c is not None:
                return _result(self.data + c, (self,), "+", Tensor._pass_vjp, None)
            other = _operand(other, "+")
        x, y = self.data, other.data
        try:
            out = x + y
        except ValueError:
            raise broadcast_error("add", x, y) from None
        return _result(out, (self, other), "+", Tensor._add_vjp, None)

    def __radd__(self, other: Operand) -> Tensor:  # other + self
        if _number(other) is not None:
            return self + other
        return _operand(other, "+", False) + self

    @staticmethod
    def _add_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d(a + b) = da + db: g to each, summed back over broadcast axes."""
        a, b = node._prev
        return (
            _unbroadcast(g, a.data.shape) if a.requires_grad else None,
            _unbroadcast(g, b.data.shape) if b.requires_grad else None,
        )

    @staticmethod
    def _pass_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """a + c, a - c for a number c: g passes through."""
        return (g,)

    def __sub__(self, other: Operand) -> Tensor:
        """a - b"""
        if type(other) is not Tensor:
            c = _number(other)
            if c is not None:
                return _result(self.data - c, (self,), "-", Tensor._pass_vjp, None)
            other = _operand(other, "-")
        x, y = self.data, other.data
        try:
            out = x - y
        except ValueError:
            raise broadcast_error("sub", x, y) from None
        return _result(out, (self, other), "-", Tensor._sub_vjp, None)

    def __rsub__(self, other: Operand) -> Tensor:  # other - self
        c = _number(other)
        if c is not None:
            return _result(c - self.data, (self,), "-", Tensor._neg_vjp, None)
        return _operand(other, "-", False) - self

    @staticmethod
    def _sub_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d(a - b) = da - db"""
        a, b = node._prev
        return (
            _unbroadcast(g, a.data.shape) if a.requires_grad else None,
            _unbroadcast(-g, b.data.shape) if b.requires_grad else None,
        )

    def __mul__(self, other: Operand) -> Tensor:
        """a * b"""
        if type(other) is not Tensor:
            c = _number(other)
            if c is not None:
                return _result(self.data * c, (self,), "*", Tensor._scale_vjp, c)
            other = _operand(other, "*")
        x, y = self.data, other.data
        try:
            out = x * y
        except ValueError:
            raise broadcast_error("mul", x, y) from None
        return _result(out, (self, other), "*", Tensor._mul_vjp, None)

    def __rmul__(self, other: Operand) -> Tensor:  # other * self
        if _number(other) is not None:
            return self * other
        return _operand(other, "*", False) * self

    @staticmethod
    def _mul_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d(a * b) = b da + a db"""
        a, b = node._prev
        x, y = _inputs(node, g)
        return (
            _unbroadcast(g * y, a.data.shape) if a.requires_grad else None,
            _unbroadcast(g * x, b.data.shape) if b.requires_grad else None,
        )

    @staticmethod
    def _scale_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d(c a) = c da for the number c"""
        return (g * node._saved,)

    def __truediv__(self, other: Operand) -> Tensor:
        """a / b. A zero divisor raises ZeroDivisionError."""
        if type(other) is not Tensor:
            c = _number(other)
            if c is not None:
                if c == 0:
                    raise ZeroDivisionError(f"div: division of a tensor of shape {self.data.shape} by zero")
                return _result(self.data / c, (self,), "/", Tensor._div_number_vjp, c)
            other = _operand(other, "/")
        x, y = self.data, other.data
        if not y.all():
            raise ZeroDivisionError(f"div: the divisor (shape {y.shape}) has {y.size - np.count_nonzero(y)} zero entries")
        try:
            out = x / y
        except ValueError:
            raise broadcast_error("div", x, y) from None
        return _result(out, (self, other), "/", Tensor._div_vjp, None)

    def __rtruediv__(self, other: Operand) -> Tensor:  # other / self
        c = _number(other)
        if c is None:
            return _operand(other, "/", False) / self
        x = self.data
        if not x.all():
            raise ZeroDivisionError(f"div: the divisor (shape {x.shape}) has {x.size - np.count_nonzero(x)} zero entries")
        return _result(c / x, (self,), "/", Tensor._number_div_vjp, None)

    @staticmethod
    def _div_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d(a / b) = da / b - (a / b) db / b"""
        a, b = node._prev
        _, y = _inputs(node, g)
        g_over_y = g / y
        return (
            _unbroadcast(g_over_y, a.data.shape) if a.requires_grad else None,
            _unbroadcast(-g_over_y * _output(node, g), b.data.shape) if b.requires_grad else None,
        )

    @staticmethod
    def _div_number_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d(a / c) = da / c"""
        return (g / node._saved,)

    @staticmethod
    def _number_div_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d(c / a) = -(c / a) da / a"""
        (x,) = _inputs(node, g)
        return (-g * _output(node, g) / x,)

    def __neg__(self) -> Tensor:
        """-a"""
        return _result(-self.data, (self,), "neg", Tensor._neg_vjp, None)

    @staticmethod
    def _neg_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d(-a) = -da (also c - a for a number c)"""
        return (-g,)

    def __pos__(self) -> Tensor:
        return self

    def __pow__(self, other: Operand) -> Tensor:
        """a ** k for a number k; a ** b for a tensor b needs a > 0 (derived: exp(b log a))."""
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
        return _result(x**k, (self,), f"**{k}", Tensor._pow_vjp, k)

    def __rpow__(self, other: Operand) -> Tensor:  # other ** self
        c = _number(other)
        if c is None:
            return _operand(other, "**", False) ** self
        if not c > 0:
            raise ValueError(f"pow: {c} ** tensor needs a positive base (d/dx c^x = c^x ln c)")
        return (self * float(np.log(c))).exp()

    @staticmethod
    def _pow_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d(a^k) = k a^(k-1) da (0 for k = 0, everywhere, as in PyTorch)"""
        k = node._saved
        (x,) = _inputs(node, g)
        if k == 0:
            return (_zeros_like(g),)
        if k == 1:
            return (g,)
        if k == 2:
            return (g * 2.0 * x,)
        if type(g) is Tensor:
            return (g * (k * x ** (k - 1)),)
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** (k-1) for k < 1: infinite slope, as in PyTorch
            return (g * (k * x ** (k - 1)),)

    # ---- elementwise functions -----------------------------------------------------------------

    def exp(self) -> Tensor:
        """e^x. Raises OverflowError where the result would be infinite."""
        x = self.data
        if x.size and x.max() > EXP_LIMIT.get(x.dtype, EXP_LIMIT[FLOAT64]):
            raise OverflowError(
                f"exp overflows {x.dtype} for inputs above {EXP_LIMIT.get(x.dtype, 709.78):.2f} (largest: {x.max()})"
            )
        return _result(np.exp(x), (self,), "exp", Tensor._exp_vjp, None)

    @staticmethod
    def _exp_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d e^x = e^x dx"""
        return (g * _output(node, g),)

    def log(self) -> Tensor:
        """ln x, for x > 0 only (NaN passes through)."""
        x = self.data
        if (x <= 0).any():
            raise ValueError(f"log is only defined for positive inputs; {int((x <= 0).sum())} entries are <= 0 (min {x.min()})")
        return _result(np.log(x), (self,), "log", Tensor._log_vjp, None)

    @staticmethod
    def _log_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d ln x = dx / x"""
        (x,) = _inputs(node, g)
        return (g / x,)

    def tanh(self) -> Tensor:
        """tanh(x)"""
        return _result(np.tanh(self.data), (self,), "tanh", Tensor._tanh_vjp, None)

    @staticmethod
    def _tanh_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d tanh(x) = (1 - tanh(x)^2) dx"""
        t = _output(node, g)
        return (g * (1.0 - t * t),)

    def sigmoid(self) -> Tensor:
        """1 / (1 + e^-x), computed from e = e^-|x| <= 1, which never overflows:
        1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0."""
        x = self.data
        e = np.exp(-np.abs(x))
        s = 1.0 / (1.0 + e)
        return _result(np.where(x >= 0, s, e * s), (self,), "sigmoid", Tensor._sigmoid_vjp, None)

    @staticmethod
    def _sigmoid_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d s(x) = s (1 - s) dx"""
        s = _output(node, g)
        return (g * (s * (1.0 - s)),)

    def relu(self) -> Tensor:
        """max(0, x)"""
        return _result(np.maximum(self.data, 0.0), (self,), "relu", Tensor._relu_vjp, None)

    @staticmethod
    def _relu_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d max(0, x) = dx where x > 0, else 0 (at the kink too, as in PyTorch, and at NaN).
        The mask is a constant: every higher derivative of relu is 0."""
        return (_masked(g, node._prev[0].data > 0),)

    def abs(self) -> Tensor:
        """|x|"""
        return _result(np.abs(self.data), (self,), "abs", Tensor._abs_vjp, None)

    @staticmethod
    def _abs_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d |x| = sign(x) dx (0 at 0, as in PyTorch); the sign is a constant"""
        return (_masked(g, np.sign(node._prev[0].data)),)

    def sqrt(self) -> Tensor:
        """x ** 0.5 (derived from pow)."""
        return self**0.5

    def gelu(self) -> Tensor:
        """GELU, the tanh form GPT-2 uses (PyTorch's ``gelu(x, approximate='tanh')``):
        x/2 (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3). See `scratchgrad.tensor_functions.gelu`."""
        return _module("tensor_functions").gelu(self)

    def masked_fill(self, mask: Any, value: float) -> Tensor:
        """This tensor with ``value`` wherever the boolean ``mask`` (broadcast to its shape) is
        True, as PyTorch's ``masked_fill``: ``where(mask, value, self)``. The filled entries
        pass no gradient back. With ``-inf`` before a softmax it hides those entries (a
        causal mask: see `causal_mask`)."""
        return _module("tensor_functions").where(mask, value, self)

    # ---- matrix products ---------------------------------------------------------------------

    def __matmul__(self, other: Operand) -> Tensor:
        """a @ b as numpy's matmul (1-D operands, batched stacks); see `matmul`."""
        if type(other) is not Tensor:
            other = _operand(other, "@")
        return _module("tensor_functions").matmul(self, other)

    def __rmatmul__(self, other: Operand) -> Tensor:  # other @ self
        return _module("tensor_functions").matmul(_operand(other, "@", False), self)

    # ---- reductions ----------------------------------------------------------------------------

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (None: all)."""
        x = self.data
        axes = normalize_axes(axis, x.shape, "sum")
        out = as_array(x.sum(axis=axes, keepdims=keepdims))
        return _result(out, (self,), "sum", Tensor._sum_vjp, (x.shape, kept_shape(x.shape, axes)))

    @staticmethod
    def _sum_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d sum(x) = sum(dx): g broadcast back to x's shape"""
        shape, kept = node._saved
        return (_expand(g.reshape(kept), shape),)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Sum / count over ``axis``."""
        x = self.data
        axes = normalize_axes(axis, x.shape, "mean")
        count = 1
        for a in axes:
            count *= x.shape[a]
        if count == 0:
            raise ValueError(f"mean: cannot average over an empty axis (shape {x.shape}, axis {axis})")
        out = as_array(x.sum(axis=axes, keepdims=keepdims) / count)
        return _result(out, (self,), "mean", Tensor._mean_vjp, (x.shape, kept_shape(x.shape, axes), count))

    @staticmethod
    def _mean_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """d mean(x) = mean(dx): g / count broadcast back to x's shape"""
        shape, kept, count = node._saved
        return (_expand(g.reshape(kept) / count, shape),)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Largest entry over ``axis``. Gradient split evenly among ties, like PyTorch's ``amax``."""
        return self._extreme(np.max, "max", axis, keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Smallest entry over ``axis``. Gradient split evenly among ties, like PyTorch's ``amin``."""
        return self._extreme(np.min, "min", axis, keepdims)

    def _extreme(self, reduce: Callable[..., Any], op: str, axis: Axis, keepdims: bool) -> Tensor:
        x = self.data
        axes = normalize_axes(axis, x.shape, op)
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{op}: cannot reduce over an empty axis (shape {x.shape}, axis {axis})")
        out = as_array(reduce(x, axis=axes, keepdims=keepdims))
        return _result(out, (self,), op, Tensor._extreme_vjp, (axes, kept_shape(x.shape, axes)))

    @staticmethod
    def _extreme_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """PyTorch's amax/amin rule: g is split evenly among all entries equal to the extreme
        (NaN counts as equal to a NaN result). Which entries win is a constant."""
        axes, kept = node._saved
        x, best = node._prev[0].data, node.data.reshape(kept)
        hit = x == best
        if np.isnan(best).any():
            hit |= np.isnan(x) & np.isnan(best)
        count = hit.sum(axis=axes, keepdims=True)
        if type(g) is Tensor:
            return (_masked(_expand(g.reshape(kept) / count.astype(g.dtype), x.shape), hit),)
        return (hit * (g.reshape(kept) / count),)

    def logsumexp(self, axis: Axis = -1, keepdims: bool = False) -> Tensor:
        """log(sum(exp(x))) over ``axis``, stable: m + log(sum(exp(x - m))) with m = max(x) held constant."""
        axes = normalize_axes(axis, self.data.shape, "logsumexp")
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
        """exp(x - max) / sum(exp(x - max)) along ``axis``: probabilities summing to 1, stable
        for any logits (-inf entries get probability 0). One fused node: see
        `scratchgrad.tensor_functions.softmax`."""
        return _module("tensor_functions").softmax(self, axis)

    def argmax(self, axis: int | None = None) -> Array:
        """Index of the largest entry (a plain integer array: not differentiable)."""
        return np.asarray(np.argmax(self.data, axis=axis))

    # ---- shapes ----------------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        """The same entries in a new shape (one -1 allowed)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        x = self.data
        try:
            out = x.reshape(shape)
        except (ValueError, TypeError):
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} entries) into {shape}") from None
        return _result(out, (self,), "reshape", Tensor._reshape_vjp, x.shape)

    @staticmethod
    def _reshape_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """the gradient reshaped back"""
        return (g.reshape(node._saved),)

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
        inverse = tuple(int(i) for i in np.argsort(perm))
        return _result(x.transpose(perm), (self,), "transpose", Tensor._transpose_vjp, inverse)

    @staticmethod
    def _transpose_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """the gradient's axes put back by the inverse permutation"""
        return (g.transpose(node._saved),)

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        """This tensor repeated along new or size-1 axes to ``shape``, as numpy's broadcast_to
        (a copy, not a view)."""
        x = self.data
        shape = tuple(int(n) for n in shape)
        try:
            out = np.broadcast_to(x, shape).copy()
        except ValueError:
            raise ValueError(f"broadcast_to: a tensor of shape {x.shape} cannot be broadcast to {shape}") from None
        return _result(out, (self,), "broadcast_to", Tensor._broadcast_to_vjp, None)

    @staticmethod
    def _broadcast_to_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """the gradient summed over the repeats"""
        return (_unbroadcast(g, node._prev[0].data.shape),)

    def __getitem__(self, index: Any) -> Tensor:
        """Indexing and slicing as numpy; the gradient is scattered back (repeats add up)."""
        index = plain_index(index, Tensor)
        x = self.data
        try:
            out = x[index]
        except IndexError as exc:
            raise IndexError(f"getitem: {exc} (tensor of shape {x.shape})") from None
        if type(out) is not np.ndarray:  # a single entry comes back as a numpy scalar
            out = np.asarray(out)
        return _result(out, (self,), "getitem", Tensor._getitem_vjp, (index, is_basic_index(index)))

    @staticmethod
    def _getitem_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
        """g scattered into zeros of x's shape at the indexed entries (repeats add up)"""
        index, basic = node._saved
        x = node._prev[0].data
        if type(g) is Tensor:
            return (_scatter(g, x.shape, index, basic),)
        return (_scatter_array(g, x.shape, x.dtype, index, basic),)  # type: ignore[arg-type]

    # ---- gradients -------------------------------------------------------------------------------

    def backward(self, grad: Any = None, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every leaf below this tensor with d(self)/d(leaf), accumulating.

        ``grad`` is the starting gradient d(loss)/d(self): optional for a one-element tensor (1),
        required otherwise, and of this tensor's shape. Works in reverse topological
        order without recursion; each node passes its gradient on once, after all
        the nodes that use it.

        ``create_graph=True`` records the gradients as graph nodes: each leaf's ``.grad``
        is then a `Tensor` (every vjp run on Tensors), so it can be differentiated again.
        Without it nothing is recorded, and gradients are arrays.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad (no leaf below it has requires_grad=True, "
                "or it was computed under no_grad(); a gradient array from a backward() without "
                "create_graph=True is a constant too: use backward(create_graph=True) to differentiate it again)"
            )
        seed = self._seed(grad)
        if create_graph:
            _module("tensor_backward")._backpropagate_recorded(self, seed)
            return
        _module("tensor_backward")._backpropagate(self, seed)

    def _seed(self, grad: Any) -> Array:
        """d(self)/d(self) for backward(): 1 for one element, else ``grad``, checked."""
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: a starting gradient is required for a non-scalar output (shape {self.data.shape}); "
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
                        f"backward: the gradient's shape {seed.shape} does not match the output's shape {self.data.shape}"
                    )
        return seed


# ---- scattering: the vjp of indexing, and its own vjp ----------------------------------------------


def _scatter_array(g: Array, shape: tuple[int, ...], dtype: np.dtype, index: Any, basic: bool) -> Array:
    full = np.zeros(shape, dtype=dtype)
    if basic:  # slices and ints select each entry at most once
        full[index] += g
    else:  # fancy indices may repeat an entry: each repeat adds its gradient
        np.add.at(full, index, g)
    return full


def _scatter(g: Tensor, shape: tuple[int, ...], index: Any, basic: bool) -> Tensor:
    """``g`` added into zeros of ``shape`` at ``index``, as a node (a recorded getitem's vjp)."""
    out = _scatter_array(g.data, shape, g.data.dtype, index, basic)
    return _result(out, (g,), "scatter", _scatter_vjp, (index,))


def _scatter_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
    """each scattered entry's gradient is read back at its index"""
    (index,) = node._saved
    return (g[index],)
