"""The scalar autograd engine: `Value`, the tutorial's design made fast and safe.

Every operation builds a new `Value` holding its result, its children (``_prev``) and its
operation, an `Op`: the operation's name (``_op``) and its local derivatives, the
derivative of the result with respect to each child, written as a small formula right
after the operation's own code. The chain rule then needs no per-operation code at all:

    child.grad += local * out.grad

``backward()`` applies it to the whole graph in reverse topological order, found without
recursion (see scratchgrad.autograd). A local-derivative formula takes the node's result
and its children, and works on numbers and on Values alike: a first-order backward()
gives it numbers; ``backward(create_graph=True)`` gives it the Values themselves, so the
gradients it computes are graphs that can be differentiated again. One formula per
operation serves every order.

A node holds numbers, names and its children, never a closure over itself and never a
reference back to its consumers: no reference cycles, so a graph is freed by reference
counting the moment it is dropped, and gradients are summed in an order fixed by the
graph's structure, never by memory addresses.

Why a node holds so little. A pure-Python graph is as fast as the objects it allocates
and the references inside them: each node costs an allocation, a deallocation, and a
visit from the garbage collector every time the collector looks at it (young nodes every
700 allocations; every live node in its full collections), and each visit follows every
reference the node holds. So a node is one object with five references: its result, its
gradient, up to two children inline (``_a``, ``_b``; tuples when there are more) and its
`Op`, which every node of that operation shares. Local derivatives are not stored: they
are computed from the result and the children when backward() uses them. A label is
stored only when one is given.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence, Union

from scratchgrad import autograd as _autograd
from scratchgrad.autograd import _MANY, backward_order, is_grad_enabled

_recording_off = 0  # threads with recording off: kept equal to scratchgrad.autograd.recording_off
_autograd.share_recording_off(globals())

if TYPE_CHECKING:
    Number = Union[int, float]
    Operand = Union["Value", int, float]
    Local = Union["Value", int, float]  # a local derivative: a number, or a Value in a recorded graph


class UnknownDerivative:
    """The local derivative of a node built by hand without ``_local``, as the tutorial's early
    cells build them (``Value(t, (self,), 'tanh')``): such a node can be shown and drawn,
    and ``backward()`` stops at it with a clear error instead of silently passing no gradient.
    """

    __slots__ = ("op", "data")

    def __init__(self, op: str, data: object) -> None:
        self.op, self.data = op, data

    def error(self) -> RuntimeError:
        return RuntimeError(
            f"backward() reached a Value built by hand (op {self.op!r}, data {self.data}) whose local "
            "derivatives are unknown: build it with scratchgrad's operators (e.g. x.tanh()), or pass "
            "_local=(d data / d child, ...) to Value(data, _children, _op, _local=...)"
        )

    def __mul__(self, grad: object) -> Any:
        raise self.error()

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return "unknown"


_new = object.__new__  # a Value without running __init__: ops need none of its checks


def _check_number(data: object, what: str) -> Number:
    """Return ``data`` as a plain Python int or float, or raise a TypeError naming its type.

    Subclasses become the plain type too: ``np.float64(1.0)`` (a float subclass) becomes
    ``1.0``, so ``.data`` and gradients are always plain numbers, whatever came in."""
    if type(data) is float or type(data) is int:
        return data
    if isinstance(data, numbers.Real):  # bool, numpy scalars, Fraction, ...
        return int(data) if isinstance(data, numbers.Integral) else float(data)
    raise TypeError(f"{what} must be a real number (int or float), got {type(data).__name__}: {data!r}")


def _operand(other: object, op: str, self_on_left: bool) -> Value:
    """Wrap a Python number as a leaf `Value`; refuse anything else by name."""
    if type(other) is float or type(other) is int:  # the usual case first
        return _leaf(other, _CONST)
    if isinstance(other, Value):  # a subclass of Value
        return other
    if isinstance(other, numbers.Real):
        return _leaf(_check_number(other, "operand"), _CONST)
    names = ("'Value'", f"'{type(other).__name__}'")
    left, right = names if self_on_left else names[::-1]
    raise TypeError(f"unsupported operand type(s) for {op}: {left} and {right}")


def _data(x: Local) -> float:
    """The number in a local-derivative formula's argument (a number, or a Value)."""
    return x.data if isinstance(x, Value) else x  # type: ignore[return-value]


def _power(x: float, k: float) -> float:
    """``x ** k`` as a real float, with errors that say what went wrong.

    A result too large for float64 is ±inf, as ``x * x`` is (Python's own ``**`` raises
    OverflowError there): ``Value(1e200) ** 2`` and ``Value(1e200) * Value(1e200)`` agree."""
    if x == 0 and k < 0:
        raise ZeroDivisionError(f"Value({x}) ** {k}: zero cannot be raised to a negative power")
    if x < 0 and not float(k).is_integer():
        raise ValueError(f"Value({x}) ** {k}: a negative base to a non-integer power is not a real number")
    try:
        return float(x) ** k
    except OverflowError:  # |x| > 1 (a huge result) or |x| < 1 with k < 0 (a tiny base): inf
        return -math.inf if x < 0 and float(k) % 2 == 1 else math.inf


def _power_slope(x: float, k: float, x_to_the_k: float) -> float:
    """d/dx x^k = k x^(k-1), also where x^k underflows to 0 while the slope does not.
    For k = 0 the slope is 0 everywhere, even at NaN and inf (x^0 = 1 is constant), as in PyTorch."""
    if k == 0:
        return 0.0
    if x == 0:  # 0 for k > 1, 1 for k = 1, an infinite slope for 0 < k < 1
        return 0.0 if k > 1 else (1.0 if k == 1 else math.inf)
    try:
        return k * float(x) ** (k - 1)
    except OverflowError:  # float ** raises where float / gives the infinity we want
        return k * x_to_the_k / x


# ---- operations ------------------------------------------------------------------------------


class Op:
    """An operation: its ``name`` (what ``Value._op`` shows) and its local derivatives.

    ``formula(out, *children)`` gives d(out)/d(child) from the result and the children:
    one local derivative for an operation of one child, a pair for two. Given numbers (their
    ``data``) it returns numbers, which is what ``backward()`` uses; given the Values
    themselves it builds the derivatives as Values, which is how
    ``backward(create_graph=True)`` records gradients as a graph. Each operation's formula
    is attached with ``@OP.derivative`` right after its forward code, in `Value` below.
    """

    __slots__ = ("name", "formula", "_global_name")

    def __init__(self, name: str, global_name: str | None = None, formula: Callable[..., Any] | None = None) -> None:
        self.name = name
        self.formula: Callable[..., Any] = formula or _no_formula
        self._global_name = global_name  # copies and pickles of a node keep sharing this op

    def derivative(self, formula: Callable[..., Any]) -> Any:
        """Decorator: ``formula(out, *children)`` is this operation's local derivatives."""
        self.formula = formula
        return staticmethod(formula)

    def local(self, node: Value) -> tuple[Any, ...]:
        """d(node)/d(child) for each child of ``node``, as numbers."""
        a, b = node._a, node._b
        if b is None:
            return (self.formula(node.data, a.data),)
        if b is _MANY:
            return tuple(self.formula(node.data, *[child.data for child in a]))
        return tuple(self.formula(node.data, a.data, b.data))

    def local_graph(self, node: Value) -> tuple[Any, ...]:
        """The same derivatives computed from ``node`` and its children as Values (numbers
        where they are constants), so the chain rule built from them records a graph."""
        if node._b is None:
            return (self.formula(node, node._a),)
        return tuple(self.formula(node, *node._prev))

    def backward(self, node: Value, g: float) -> None:
        """The chain rule for ``node`` alone: ``child.grad += local * g`` for each child."""
        for child, local in zip(node._prev, self.local(node)):
            child.grad += local * g

    def __repr__(self) -> str:
        return f"Op({self.name!r})"

    def __reduce__(self) -> Any:
        if self._global_name is None:
            return super().__reduce__()
        return self._global_name  # the one shared instance, by its module-level name


def _no_formula(*args: Any) -> Any:
    raise RuntimeError("this operation has no local derivatives")  # pragma: no cover - a leaf's op


class _ByHand(Op):
    """The op of a node built by hand, ``Value(data, children, op, _local=...)``: its local
    derivatives are the numbers given (or unknown, when none were)."""

    __slots__ = ("_local", "_data")

    def __init__(self, name: str, local: tuple[Any, ...] | None, data: Any = None) -> None:
        super().__init__(name)
        self._local = local
        self._data = data  # for the error message when the local derivatives are unknown

    def local(self, node: Value) -> tuple[Any, ...]:
        if self._local is None:
            return (UnknownDerivative(self.name, node.data),) * len(node._prev)
        return self._local

    def local_graph(self, node: Value) -> tuple[Any, ...]:
        if self._local is None:
            raise UnknownDerivative(self.name, node.data).error()
        raise RuntimeError(
            f"backward(create_graph=True) reached a Value built by hand (op {self.name!r}, data {node.data}): "
            "its local derivatives are plain numbers, so how they change (the derivative of the gradient) "
            "is unknown. Build it from scratchgrad's operations to differentiate through it twice."
        )

    def backward(self, node: Value, g: float) -> None:
        for child, local in zip(node._a, self):
            child.grad += local * g

    def __iter__(self) -> Iterator[Any]:  # the local derivatives, as backward() reads them
        if self._local is None:
            raise UnknownDerivative(self.name, self._data).error()
        return iter(self._local)

    def __reduce__(self) -> Any:
        return (_ByHand, (self.name, self._local, self._data))


def _shared(name: str, global_name: str) -> Op:
    return Op(name, global_name)


# Every operation's Op; the formula of each is attached after its forward code in Value.
_LEAF = _shared("", "_LEAF")  # a leaf: no children, nothing to differentiate
_CONST = _shared("", "_CONST")  # a leaf the library made from a number: a constant (2 in `2 * x`)
_ADD = _shared("+", "_ADD")
_SUB = _shared("-", "_SUB")
_MUL = _shared("*", "_MUL")
_DIV = _shared("/", "_DIV")
_NEG = _shared("neg", "_NEG")
_POW = _shared("**", "_POW")  # a Value exponent; a number exponent k has its own op "**k"
_TANH = _shared("tanh", "_TANH")
_EXP = _shared("exp", "_EXP")
_LOG = _shared("log", "_LOG")
_RELU = _shared("relu", "_RELU")
_SIGMOID = _shared("sigmoid", "_SIGMOID")


class _PowerOp(Op):
    """``x ** k`` for the number k, named ``**k`` (``**2``, ``**0.5``, ...); its formula is
    `Value._pow_number_local` with k filled in."""

    __slots__ = ("k",)

    def __init__(self, k: Number) -> None:
        super().__init__(f"**{k}", formula=functools.partial(Value._pow_number_local, k))
        self.k = k

    def __reduce__(self) -> Any:
        return (_power_op, (self.k,))


@functools.lru_cache(maxsize=256, typed=True)  # typed: 2 and 2.0 keep their own names
def _power_op(k: Number) -> _PowerOp:
    """The op of ``** k``: one per exponent, shared by every node raising to it."""
    return _PowerOp(k)


# ---- building nodes ------------------------------------------------------------------------
# Every node is made by one of these, or by Value() itself. Inside ``no_grad()`` a
# result is a leaf: it remembers nothing, so nothing upstream stays alive.


def _leaf(data: Number, fn: Any) -> Value:
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._a = out._b = None
    out._fn = fn
    return out


def _unary(data: Number, fn: Op, a: Value) -> Value:
    """A node with one child ``a``."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    if _recording_off and not is_grad_enabled():
        out._a = out._b = None
    else:
        out._a = a
        out._b = None
    out._fn = fn
    return out


def _binary(data: Number, fn: Op, a: Value, b: Value) -> Value:
    """A node with children ``a`` and ``b``."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    if _recording_off and not is_grad_enabled():
        out._a = out._b = None
    else:
        out._a = a
        out._b = b
    out._fn = fn
    return out


def _many(data: Number, fn: Any, children: tuple[Value, ...]) -> Value:
    """A node with any number of children (sums, fused nodes), kept in a tuple."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    if not children or (_recording_off and not is_grad_enabled()):
        out._a = out._b = None
    else:
        out._a = children
        out._b = _MANY
    out._fn = fn
    return out


class Value:
    """A scalar that remembers how it was computed, so gradients can flow back to its inputs.

    ``Value(data, _children=(), _op='', label='')`` as in the tutorial; ``data`` is the number,
    ``grad`` is d(root)/d(this node) after ``root.backward()``. A node built by hand with
    children takes ``_local``: d(data)/d(child) for each child, in the same order; without
    it the node can be drawn, but ``backward()`` through it raises a clear RuntimeError.
    """

    # A node's children live in two slots (see the module docstring for why):
    #   leaf             _a is None
    #   one child        _a                       (_b is None)
    #   two children     _a and _b
    #   three or more    _a: tuple of children    (_b is _MANY)
    # and _fn is the node's operation (its name and its local derivatives).
    __slots__ = ("data", "grad", "_label", "_a", "_b", "_fn")

    data: Number
    grad: Any  # a number; a Value after backward(create_graph=True)
    _label: str
    _a: Any
    _b: Any
    _fn: Any  # an Op, or a weighted sum's tuple that acts as one

    def __init__(
        self,
        data: Number,
        _children: Iterable[Value] = (),
        _op: str = "",
        label: str = "",
        _local: Sequence[float] | None = None,
    ) -> None:
        if type(data) is not float and type(data) is not int:  # fast path for the usual case
            data = _check_number(data, "Value data")
        children = tuple(_children)
        local: tuple[Any, ...] | None = None
        if _local is not None:
            local = tuple(_check_number(d, "_local entry") for d in _local)
            if len(local) != len(children):
                raise ValueError(f"Value: {len(children)} children but {len(local)} local derivatives in _local")
        for child in children:
            if not isinstance(child, Value):
                raise TypeError(f"Value: children must be Values, got {type(child).__name__}: {child!r}")
        self.data = data
        self.grad = 0.0
        if label:
            self._label = label
        if children and not (_recording_off and not is_grad_enabled()):
            self._a, self._b = children, _MANY
            self._fn = _ByHand(_op, local, data)
        else:
            self._a = self._b = None
            self._fn = _LEAF if not _op else _ByHand(_op, ())

    @property
    def label(self) -> str:
        """The name drawings show for this node ('' unless one was given)."""
        try:
            return self._label
        except AttributeError:  # never set: most nodes, which spares each a stored ''
            return ""

    @label.setter
    def label(self, label: str) -> None:
        self._label = label

    @property
    def _op(self) -> str:
        """The name of the operation that made this node ('' for a leaf you made)."""
        return self._fn.name

    @property
    def _prev(self) -> tuple[Value, ...]:
        """The children, in order: the nodes this one was computed from."""
        a, b = self._a, self._b
        if a is None:
            return ()
        if b is None:
            return (a,)
        if b is _MANY:
            return a  # type: ignore[no-any-return]
        return (a, b)

    @property
    def _local(self) -> tuple[Any, ...]:
        """d(self.data)/d(child.data) for each child in ``_prev``, in the same order."""
        if self._a is None:
            return ()
        return self._fn.local(self)

    def __repr__(self) -> str:
        return f"Value(data={self.data})"

    def __float__(self) -> float:
        """``float(v)`` is its data (so a Value can be shown wherever a number is formatted)."""
        return float(self.data)

    # ---- arithmetic: each operation, then its local derivatives ------------------------
    # ``type(other) is not Value`` first: the usual operand is a Value, and that check is
    # cheaper than isinstance; subclasses and numbers take the slower path in _operand.

    def __add__(self, other: Operand) -> Value:
        """a + b"""
        if type(other) is not Value:
            other = _operand(other, "+", True)
        # `+` and `*` are most of every graph: they build their node here rather than
        # through _binary, which saves a function call per node (about a tenth of a step).
        out = _new(Value)
        out.data = self.data + other.data
        out.grad = 0.0
        if _recording_off and not is_grad_enabled():
            out._a = out._b = None
        else:
            out._a = self
            out._b = other
        out._fn = _ADD
        return out

    def __radd__(self, other: Operand) -> Value:  # other + self
        c = _operand(other, "+", False)
        return _binary(c.data + self.data, _ADD, c, self)

    @_ADD.derivative
    def _add_local(out: Local, a: Local, b: Local) -> tuple[Local, Local]:
        """d(a + b)/da = 1, d(a + b)/db = 1"""
        return 1.0, 1.0

    def __sub__(self, other: Operand) -> Value:
        """a - b"""
        if type(other) is not Value:
            other = _operand(other, "-", True)
        return _binary(self.data - other.data, _SUB, self, other)

    def __rsub__(self, other: Operand) -> Value:  # other - self
        c = _operand(other, "-", False)
        return _binary(c.data - self.data, _SUB, c, self)

    @_SUB.derivative
    def _sub_local(out: Local, a: Local, b: Local) -> tuple[Local, Local]:
        """d(a - b)/da = 1, d(a - b)/db = -1"""
        return 1.0, -1.0

    def __mul__(self, other: Operand) -> Value:
        """a * b"""
        if type(other) is not Value:
            other = _operand(other, "*", True)
        out = _new(Value)  # built here, not by _binary: see __add__
        out.data = self.data * other.data
        out.grad = 0.0
        if _recording_off and not is_grad_enabled():
            out._a = out._b = None
        else:
            out._a = self
            out._b = other
        out._fn = _MUL
        return out

    def __rmul__(self, other: Operand) -> Value:  # other * self
        c = _operand(other, "*", False)
        return _binary(c.data * self.data, _MUL, c, self)

    @_MUL.derivative
    def _mul_local(out: Local, a: Local, b: Local) -> tuple[Local, Local]:
        """d(a * b)/da = b, d(a * b)/db = a"""
        return b, a

    def __truediv__(self, other: Operand) -> Value:
        """a / b"""
        if type(other) is not Value:
            other = _operand(other, "/", True)
        return self._div(other)

    def __rtruediv__(self, other: Operand) -> Value:  # other / self
        return _operand(other, "/", False)._div(self)

    def _div(self, other: Value) -> Value:
        a, b = self.data, other.data
        if b == 0:
            raise ZeroDivisionError(f"division by zero: Value({a}) / Value({b})")
        return _binary(a / b, _DIV, self, other)

    @_DIV.derivative
    def _div_local(out: Local, a: Local, b: Local) -> tuple[Local, Local]:
        """d(a / b)/da = 1/b, d(a / b)/db = -a/b^2 = -(a/b)/b"""
        return 1 / b, -out / b

    def __neg__(self) -> Value:
        """-a"""
        return _unary(-self.data, _NEG, self)

    @_NEG.derivative
    def _neg_local(out: Local, a: Local) -> Local:
        """d(-a)/da = -1"""
        return -1.0

    def __pos__(self) -> Value:
        return self

    def __pow__(self, other: Operand) -> Value:
        """``x ** k`` for a number k (d/dx = k x^(k-1), the op ``**k``), or for a Value k
        with x > 0 (the op ``**``, below)."""
        if isinstance(other, Value):
            return self._pow_value(other)
        if type(other) is not int and type(other) is not float:
            if not isinstance(other, numbers.Real):
                raise TypeError(
                    f"unsupported operand type(s) for **: 'Value' and '{type(other).__name__}'"
                )
            other = _check_number(other, "exponent")
        return _unary(_power(self.data, other), _power_op(other), self)

    @staticmethod
    def _pow_number_local(k: Number, out: Local, x: Local) -> Local:
        """d(x^k)/dx = k x^(k-1): 0 for k = 0, even at NaN and inf, as in PyTorch; at x = 0
        a constant (0, 1, or an infinite slope for 0 < k < 1)"""
        if not isinstance(x, Value):  # numbers: backward()
            return _power_slope(x, k, out)  # type: ignore[arg-type]
        if k == 0 or k == 1 or x.data == 0:
            return _power_slope(x.data, k, out.data)  # type: ignore[union-attr,arg-type]
        return k * x ** (k - 1)

    def __rpow__(self, other: Operand) -> Value:  # other ** self
        return _operand(other, "**", False)._pow_value(self)

    def _pow_value(self, exponent: Value) -> Value:
        x, k = self.data, exponent.data
        if x < 0 or (x == 0 and k <= 0):
            raise ValueError(
                f"Value({x}) ** Value({k}): a Value exponent needs a positive base "
                "(d/dk x^k = x^k ln x is undefined otherwise); use a plain number exponent"
            )
        return _binary(_power(x, k), _POW, self, exponent)

    @_POW.derivative
    def _pow_local(out: Local, x: Local, k: Local) -> tuple[Local, Local]:
        """d(x^k)/dx = k x^(k-1), d(x^k)/dk = x^k ln x"""
        if not isinstance(x, Value) or x.data == 0:  # numbers; or x = 0 (k > 0): constant slopes, 0^k ln 0 taken as 0
            xd, kd, outd = _data(x), _data(k), _data(out)
            return _power_slope(xd, kd, outd), (outd * math.log(xd) if xd != 0 else 0.0)
        return k * x ** (k - 1), out * x.log()

    # ---- functions ---------------------------------------------------------------------------

    def tanh(self) -> Value:
        """tanh(x). Saturates cleanly: tanh(1000) = 1.0, with gradient 0."""
        return _unary(math.tanh(self.data), _TANH, self)

    @_TANH.derivative
    def _tanh_local(out: Local, x: Local) -> Local:
        """d tanh(x)/dx = 1 - tanh(x)^2"""
        return 1 - out * out

    def exp(self) -> Value:
        """e^x. Raises OverflowError past x = 709.78 (float64's limit)."""
        x = self.data
        try:
            e = math.exp(x)
        except OverflowError:
            raise OverflowError(f"exp({x}) overflows float64 (exp is finite only for x <= 709.78)") from None
        return _unary(e, _EXP, self)

    @_EXP.derivative
    def _exp_local(out: Local, x: Local) -> Local:
        """d e^x/dx = e^x"""
        return out

    def log(self) -> Value:
        """ln x, for x > 0 only."""
        x = self.data
        if not x > 0 and x == x:  # NaN passes through as NaN
            raise ValueError(f"log is only defined for positive inputs, got log({x})")
        return _unary(math.log(x), _LOG, self)

    @_LOG.derivative
    def _log_local(out: Local, x: Local) -> Local:
        """d ln(x)/dx = 1/x"""
        return 1 / x

    def relu(self) -> Value:
        """max(0, x); NaN in, NaN out."""
        x = self.data
        return _unary(x if x > 0 or x != x else 0.0, _RELU, self)

    @_RELU.derivative
    def _relu_local(out: Local, x: Local) -> Local:
        """d max(0, x)/dx = 1 if x > 0 else 0 (0 at the kink, as PyTorch; NaN at NaN): a
        constant wherever it is defined, so every higher derivative is 0"""
        if isinstance(x, Value):
            x = x.data
        return 1.0 if x > 0 else (0.0 if x == x else x)  # type: ignore[operator]

    def sigmoid(self) -> Value:
        """1 / (1 + e^-x); never overflows, for any x."""
        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)  # x < 0: e^x cannot overflow
            s = e / (1.0 + e)
        return _unary(s, _SIGMOID, self)

    @_SIGMOID.derivative
    def _sigmoid_local(out: Local, x: Local) -> Local:
        """d s(x)/dx = s (1 - s)"""
        return out * (1 - out)

    # ---- gradients ---------------------------------------------------------------------------

    def _backward(self) -> None:
        """The chain rule for this node alone: ``child.grad += local * self.grad`` for each child."""
        if self._a is not None:
            self._fn.backward(self, self.grad)

    def backward(self, grad: float | Value = 1.0, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node below this one with d(self)/d(node).

        Sets ``self.grad = grad`` (1.0, as in the tutorial) and works in reverse topological
        order without recursion, so a chain of a million nodes is fine. Leaves accumulate
        (``+=``) across calls, as in the tutorial and PyTorch: zero them between steps.
        Interior nodes start from 0 on every call, so calling ``backward()`` twice
        simply adds the leaves' gradients twice.

        ``create_graph=True`` records the gradients as graph nodes: every ``.grad`` is then a
        `Value` computed from the graph's own Values (each op's local-derivative formula
        applied to Values), so it can be differentiated again, drawn with ``draw_dot`` and
        stepped through. Without it nothing is recorded, and gradients are plain numbers.
        """
        if create_graph:
            _backward_recorded(self, grad)
            return
        order = backward_order(self)  # consumers first; interior grads now 0.0
        self.grad = grad
        # Each node's _backward(), written out here for + and * (most of every graph) and
        # for functions of one child: a method call per node would cost about a tenth of
        # the backward pass.
        for node in order:
            g = node.grad
            fn = node._fn
            if fn is _ADD:
                node._a.grad += g
                node._b.grad += g
            elif fn is _MUL:
                a, b = node._a, node._b
                a.grad += b.data * g
                b.grad += a.data * g
            else:
                b = node._b
                if b is None:  # one child
                    a = node._a
                    a.grad += fn.formula(node.data, a.data) * g
                elif b is _MANY:  # the op of a node with many children lists their local derivatives
                    for child, local in zip(node._a, fn):
                        child.grad += local * g
                else:
                    fn.backward(node, g)


_backward_order = backward_order  # the old private name (scratchgrad.viz imported it)


# ---- gradients as graphs: derivatives of derivatives ------------------------------------------


def _chain(local: Any, g: Any) -> Any:
    """The chain rule's product, local * g: numbers, or Values recorded in the graph. A local
    derivative of exactly 1 passes g on unchanged (no node for a multiplication by one)."""
    if (type(local) is float or type(local) is int) and local == 1:
        return g
    return local * g


def _recorded_vjp(node: Value, g: Value) -> list[Any]:
    """Each child's share of ``g``, d(root)/d(node), recorded as Values."""
    return [_chain(local, g) for local in node._fn.local_graph(node)]


def _seed_value(grad: Any) -> Value:
    if isinstance(grad, Value):
        return grad
    return _leaf(_check_number(grad, "backward: grad"), _CONST)


def _backward_recorded(root: Value, grad: Any) -> None:
    """``root.backward(grad, create_graph=True)``: every .grad becomes a Value in the graph."""

    def assign(node: Value, g: Value) -> None:
        if node._a is not None:  # interior: starts from 0 on every call
            node.grad = g
        else:  # a leaf accumulates, as in a first-order backward
            old = node.grad
            node.grad = g if (not isinstance(old, Value) and old == 0) else old + g

    seed = _seed_value(grad)
    if seed is not grad and root.label:
        seed.label = f"d{root.label}/d{root.label}"  # names the 1 that every recorded gradient starts from
    with _autograd.enable_grad():
        _autograd.backpropagate(root, seed, _recorded_vjp, assign)


def _value_gradient_rules(output: Value, inputs: list[Any], grad_output: Any, create_graph: bool) -> tuple[Any, Any, Any]:
    """What scratchgrad.autograd.gradients needs for a Value graph: the seed, the vjp, and
    the gradient of an input the output does not depend on."""
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"gradients: input #{i} must be a Value, like the output; got {type(x).__name__}: {x!r}")
    if create_graph:
        return _seed_value(1.0 if grad_output is None else grad_output), _recorded_vjp, lambda x: _leaf(0.0, _CONST)
    seed = 1.0 if grad_output is None else _check_number(grad_output, "grad_output")

    def vjp(node: Value, g: float) -> list[Any]:
        return [local * g for local in node._fn.local(node)]

    return seed, vjp, lambda x: 0.0


# ---- fused nodes: many children, one node --------------------------------------------------


class _SumOp(Op):
    """``sum_values``: d/dxi = 1 for every child."""

    __slots__ = ()

    def local(self, node: Value) -> tuple[Any, ...]:
        return (1.0,) * len(node._a)

    local_graph = local

    def backward(self, node: Value, g: float) -> None:
        for child in node._a:
            child.grad += g

    def __iter__(self) -> Iterator[float]:  # the local derivatives, as backward() reads them
        return itertools.repeat(1.0)


_SUM = _SumOp("sum", "_SUM")


def sum_values(values: Iterable[Operand]) -> Value:
    """x1 + x2 + ... + xn as one node; d/dxi = 1. Numbers count as constants."""
    children: list[Value] = []
    total: float = 0.0
    for v in values:
        if isinstance(v, Value):
            children.append(v)
            total += v.data
        else:
            total += _check_number(v, "sum_values item")
    return _many(total, _SUM, tuple(children))


class _WeightedSumOp(tuple):  # type: ignore[type-arg]
    """A ``weighted_sum`` node's op: d/dwi = xi, d/dxi = wi, d/db = 1, each child's local
    derivative being its partner in the product. The op is the tuple of those local
    derivatives as numbers, one tuple per node; it acts as an `Op` (``name``, ``local``,
    ``backward``). Here every partner is a number (weights times plain inputs, or the
    reverse), so the local derivatives are constants."""

    __slots__ = ()
    name = "w·x+b"

    def local(self, node: Value) -> tuple[Any, ...]:
        return tuple(self)

    def local_graph(self, node: Value) -> tuple[Any, ...]:
        return tuple(self)

    def backward(self, node: Value, g: float) -> None:
        for child, local in zip(node._a, self):
            child.grad += local * g

    def __repr__(self) -> str:
        return "Op('w·x+b')"

    def __reduce__(self) -> Any:
        return (type(self), (tuple(self),))


class _WeightedPairsOp(_WeightedSumOp):
    """Every weight and input is a Value: the children are w1, x1, w2, x2, ... (then the
    bias), and each one's partner is its neighbour in its pair."""

    __slots__ = ()

    def local_graph(self, node: Value) -> tuple[Any, ...]:
        children = node._a
        partners: list[Any] = []
        for i in range(0, len(children) - 1, 2):
            partners += (children[i + 1], children[i])
        if len(children) % 2:
            partners.append(1.0)  # the bias
        return tuple(partners)


class _WeightedMixedOp(_WeightedSumOp):
    """Some products have two Values and some one: the n local derivatives as numbers,
    then the n partners (Values or numbers)."""

    __slots__ = ()

    def local(self, node: Value) -> tuple[Any, ...]:
        return self[: len(node._a)]

    def local_graph(self, node: Value) -> tuple[Any, ...]:
        return self[len(node._a) :]


def weighted_sum(weights: Sequence[Operand], inputs: Sequence[Operand], bias: Operand = 0.0) -> Value:
    """w1*x1 + ... + wn*xn + b as one node; d/dwi = xi, d/dxi = wi, d/db = 1.

    The terms are added in the same order as the tutorial's ``sum([wi*xi ...]) + b``,
    so the result is bit-identical to it, with one node instead of 2n + 1.
    """
    if len(weights) != len(inputs):
        raise ValueError(f"weighted_sum: {len(weights)} weights but {len(inputs)} inputs")
    children: list[Value] = []
    local: list[Number] = []
    pairs = singles = 0  # products of two Values, and of a Value and a number
    total: float = 0.0
    for w, x in zip(weights, inputs):
        w_is_value = isinstance(w, Value)
        x_is_value = isinstance(x, Value)
        wd = w.data if w_is_value else _check_number(w, "weight")  # type: ignore[union-attr]
        xd = x.data if x_is_value else _check_number(x, "input")  # type: ignore[union-attr]
        total += wd * xd
        if w_is_value:
            children.append(w)  # type: ignore[arg-type]
            local.append(xd)
            if x_is_value:
                children.append(x)  # type: ignore[arg-type]
                local.append(wd)
                pairs += 1
            else:
                singles += 1
        elif x_is_value:
            children.append(x)  # type: ignore[arg-type]
            local.append(wd)
            singles += 1
    if isinstance(bias, Value):
        total += bias.data
        children.append(bias)
        local.append(1.0)
    else:
        total += _check_number(bias, "bias")
    if not children or (_recording_off and not is_grad_enabled()):
        return _leaf(total, _WeightedSumOp(()))
    if not pairs:
        return _many(total, _WeightedSumOp(local), tuple(children))
    if not singles:
        return _many(total, _WeightedPairsOp(local), tuple(children))
    partners = [p for w, x in zip(weights, inputs) for p in _partners(w, x)]
    if isinstance(bias, Value):
        partners.append(1.0)
    return _many(total, _WeightedMixedOp(local + partners), tuple(children))


def _partners(w: Operand, x: Operand) -> tuple[Any, ...]:
    """The partner of each Value among (w, x) in the product w*x, in weighted_sum's order."""
    if isinstance(w, Value):
        return (x, w) if isinstance(x, Value) else (_check_number(x, "input"),)
    return (_check_number(w, "weight"),) if isinstance(x, Value) else ()
