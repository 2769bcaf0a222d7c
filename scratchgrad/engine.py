"""The scalar autograd engine: `Value`, the seed's design made fast and safe.

Every operation builds a new `Value` holding its result, its children (`_prev`) and,
next to them, the local derivative of the result with respect to each child
(`_local`). The chain rule then needs no per-op code at all:

    child.grad += local * out.grad

That one line is `_backward()` for every node, and `backward()` applies it to the
whole graph in reverse topological order, found without recursion. Storing numbers
instead of closures means no reference cycles (a graph is freed by reference counting
the moment it is dropped), and gradients summed in an order fixed by the graph's
structure, never by memory addresses.

Why a node keeps its children in its own slots. A pure-Python graph is as fast as the
number of objects it allocates: each costs an allocation, a deallocation, and a visit
from the garbage collector every time it runs (it runs every 700 allocations, and its
full collections walk every live graph node). A tuple of children is a second such
object per node and a tuple of local derivatives a third, so a node stores up to two
children inline instead (``_a``, ``_b``) with their local derivatives (``_da``, ``_db``):
one object per node, about 120 bytes with its result. ``_prev`` and ``_local`` are
computed from these slots when asked for, which only drawing and teaching code does.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Sequence, Union

from scratchgrad import grad_mode

Number = Union[int, float]
Operand = Union["Value", int, float]


class _Many:
    """The ``_b`` of a node with three or more children, which keeps them in tuples instead."""

    def __repr__(self) -> str:
        return "_MANY"

    def __reduce__(self) -> str:  # copy, deepcopy and pickle keep the one instance
        return "_MANY"


_MANY: Any = _Many()


class UnknownDerivative:
    """The local derivative of a node built by hand without ``_local``, as the seed's early
    cells build them (``Value(t, (self,), 'tanh')``): such a node can be shown and drawn,
    and ``backward()`` stops at it with this error instead of silently passing no gradient.
    Multiplying it is what raises, so the chain rule's hot path pays nothing for the check.
    """

    __slots__ = ("op", "data")

    def __init__(self, op: str, data: object) -> None:
        self.op, self.data = op, data

    def __mul__(self, grad: object) -> Any:
        raise RuntimeError(
            f"backward() reached a Value built by hand (op {self.op!r}, data {self.data}) whose local "
            "derivatives are unknown: build it with scratchgrad's operators (e.g. x.tanh()), or pass "
            "_local=(d data / d child, ...) to Value(data, _children, _op, _local=...)"
        )

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return "unknown"

_new = object.__new__  # a Value without running __init__: ops need none of its checks


def _check_number(data: object, what: str) -> Number:
    """Return ``data`` as an int or float, or raise a TypeError naming its type."""
    if isinstance(data, bool):
        return int(data)
    if isinstance(data, (int, float)):
        return data
    if isinstance(data, numbers.Real):  # numpy scalars, Fraction, ...
        return int(data) if isinstance(data, numbers.Integral) else float(data)
    raise TypeError(f"{what} must be a real number (int or float), got {type(data).__name__}: {data!r}")


def _operand(other: object, op: str, self_on_left: bool) -> Value:
    """Wrap a Python number as a leaf `Value`; refuse anything else by name."""
    if type(other) is float or type(other) is int:  # the usual case first
        return _leaf(other)
    if isinstance(other, Value):  # a subclass of Value
        return other
    if isinstance(other, numbers.Real):
        return _leaf(_check_number(other, "operand"))
    names = ("'Value'", f"'{type(other).__name__}'")
    left, right = names if self_on_left else names[::-1]
    raise TypeError(f"unsupported operand type(s) for {op}: {left} and {right}")


def _power(x: float, k: float) -> float:
    """``x ** k`` as a real float, with errors that say what went wrong."""
    if x == 0 and k < 0:
        raise ZeroDivisionError(f"Value({x}) ** {k}: zero cannot be raised to a negative power")
    if x < 0 and not float(k).is_integer():
        raise ValueError(f"Value({x}) ** {k}: a negative base to a non-integer power is not a real number")
    try:
        return float(x) ** k
    except OverflowError:
        raise OverflowError(f"Value({x}) ** {k} overflows float64") from None


def _power_slope(x: float, k: float, x_to_the_k: float) -> float:
    """d/dx x^k = k x^(k-1), also where x^k underflows to 0 while the slope does not."""
    if x == 0:  # 0 for k > 1 (or k = 0), 1 for k = 1, an infinite slope for 0 < k < 1
        return 0.0 if (k > 1 or k == 0) else (1.0 if k == 1 else math.inf)
    try:
        return k * float(x) ** (k - 1)
    except OverflowError:  # float ** raises where float / gives the infinity we want
        return k * x_to_the_k / x


# ---- building nodes ------------------------------------------------------------------------
# Every node is made by one of these, or by Value() itself through _link. Inside
# ``no_grad()`` a result is a leaf: it remembers nothing, so nothing upstream stays alive.


def _leaf(data: Number, op: str = "") -> Value:
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._op = op
    out._a = out._da = out._b = out._db = out._mark = None
    return out


def _unary(data: Number, op: str, a: Value, da: Number) -> Value:
    """A node with one child ``a`` and local derivative d(data)/da = ``da``."""
    if not grad_mode.enabled:
        return _leaf(data, op)
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._op = op
    out._a = a
    out._da = da
    out._b = out._db = out._mark = None
    return out


def _binary(data: Number, op: str, a: Value, da: Number, b: Value, db: Number) -> Value:
    """A node with children ``a``, ``b`` and local derivatives ``da``, ``db``."""
    if not grad_mode.enabled:
        return _leaf(data, op)
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._op = op
    out._a = a
    out._da = da
    out._b = b
    out._db = db
    out._mark = None
    return out


def _node(data: Number, op: str, children: tuple[Value, ...], local: tuple[Number, ...]) -> Value:
    """A node with any number of children (sums, nodes built by hand)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._op = op
    out._mark = None
    _link(out, children, local)
    return out


def _link(out: Value, children: tuple[Value, ...], local: tuple[Any, ...]) -> None:
    """Store ``children`` and their ``local`` derivatives in ``out``, in the smallest form."""
    n = len(children) if grad_mode.enabled else 0
    if n == 0:
        out._a = out._da = out._b = out._db = None
    elif n == 1:
        out._a, out._da, out._b, out._db = children[0], local[0], None, None
    elif n == 2:
        out._a, out._da, out._b, out._db = children[0], local[0], children[1], local[1]
    else:
        out._a, out._da, out._b, out._db = children, local, _MANY, None


class Value:
    """A scalar that remembers how it was computed, so gradients can flow back to its inputs.

    ``Value(data, _children=(), _op='', label='')`` as in the seed; ``data`` is the number,
    ``grad`` is d(root)/d(this node) after ``root.backward()``. A node built by hand with
    children takes ``_local``: d(data)/d(child) for each child, in the same order; without
    it the node can be drawn, but ``backward()`` through it raises a clear RuntimeError.
    """

    # A node's children and their local derivatives live in four slots (see the module
    # docstring for why not in tuples):
    #   leaf             _a is None
    #   one child        _a, _da                  (_b is None)
    #   two children     _a, _da and _b, _db
    #   three or more    _a: tuple of children, _da: tuple of local derivatives, _b is _MANY
    __slots__ = ("data", "grad", "label", "_op", "_a", "_da", "_b", "_db", "_mark")

    data: Number
    grad: float
    label: str
    _op: str
    _a: Any
    _da: Any
    _b: Any
    _db: Any
    _mark: object  # bookkeeping of backward(), see _backward_order

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
        local: tuple[Any, ...]
        if _local is None:  # a node built by hand, as in the seed's early cells
            local = (UnknownDerivative(_op, data),) * len(children)
        else:
            local = tuple(_check_number(d, "_local entry") for d in _local)
            if len(local) != len(children):
                raise ValueError(f"Value: {len(children)} children but {len(local)} local derivatives in _local")
        for child in children:
            if not isinstance(child, Value):
                raise TypeError(f"Value: children must be Values, got {type(child).__name__}: {child!r}")
        self.data = data
        self.grad = 0.0
        self.label = label
        self._op = _op
        self._mark = None
        _link(self, children, local)

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
    def _local(self) -> tuple[Number, ...]:
        """d(self.data)/d(child.data) for each child in ``_prev``, in the same order."""
        a, b = self._a, self._b
        if a is None:
            return ()
        if b is None:
            return (self._da,)
        if b is _MANY:
            return self._da  # type: ignore[no-any-return]
        return (self._da, self._db)

    def __repr__(self) -> str:
        return f"Value(data={self.data})"

    # ---- arithmetic: result, then each child with d(result)/d(child) ---------------------
    # ``type(other) is not Value`` first: the usual operand is a Value, and that check is
    # cheaper than isinstance; subclasses and numbers take the slower path in _operand.

    def __add__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _operand(other, "+", True)
        if not grad_mode.enabled:
            return _leaf(self.data + other.data, "+")
        # `+` and `*` are most of every graph: they build their node here rather than
        # through _binary, which saves a function call per node (about a tenth of a step).
        out = _new(Value)
        out.data = self.data + other.data
        out.grad = 0.0
        out.label = ""
        out._op = "+"
        out._a = self
        out._da = 1.0
        out._b = other
        out._db = 1.0
        out._mark = None
        return out

    def __radd__(self, other: Operand) -> Value:  # other + self
        c = _operand(other, "+", False)
        return _binary(c.data + self.data, "+", c, 1.0, self, 1.0)

    def __sub__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _operand(other, "-", True)
        return _binary(self.data - other.data, "-", self, 1.0, other, -1.0)

    def __rsub__(self, other: Operand) -> Value:  # other - self
        c = _operand(other, "-", False)
        return _binary(c.data - self.data, "-", c, 1.0, self, -1.0)

    def __mul__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _operand(other, "*", True)
        x, y = self.data, other.data
        if not grad_mode.enabled:
            return _leaf(x * y, "*")
        out = _new(Value)  # built here, not by _binary: see __add__
        out.data = x * y
        out.grad = 0.0
        out.label = ""
        out._op = "*"
        out._a = self
        out._da = y
        out._b = other
        out._db = x
        out._mark = None
        return out

    def __rmul__(self, other: Operand) -> Value:  # other * self
        c = _operand(other, "*", False)
        x, y = c.data, self.data
        return _binary(x * y, "*", c, y, self, x)

    def __truediv__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _operand(other, "/", True)
        return self._div(other)

    def __rtruediv__(self, other: Operand) -> Value:  # other / self
        return _operand(other, "/", False)._div(self)

    def _div(self, other: Value) -> Value:
        """a / b; d/da = 1/b, d/db = -a/b^2 = -(a/b)/b."""
        a, b = self.data, other.data
        if b == 0:
            raise ZeroDivisionError(f"division by zero: Value({a}) / Value({b})")
        out = a / b
        return _binary(out, "/", self, 1.0 / b, other, -out / b)

    def __neg__(self) -> Value:
        return _unary(-self.data, "neg", self, -1.0)

    def __pos__(self) -> Value:
        return self

    def __pow__(self, other: Operand) -> Value:
        """``x ** k`` for a number k (d/dx = k x^(k-1)), or for a Value k with x > 0
        (d/dk = x^k ln x)."""
        if isinstance(other, Value):
            return self._pow_value(other)
        if type(other) is not int and type(other) is not float:
            if not isinstance(other, numbers.Real):
                raise TypeError(
                    f"unsupported operand type(s) for **: 'Value' and '{type(other).__name__}'"
                )
            other = _check_number(other, "exponent")
        x, k = self.data, other
        out = _power(x, k)
        return _unary(out, f"**{other}", self, _power_slope(x, k, out))

    def __rpow__(self, other: Operand) -> Value:  # other ** self
        return _operand(other, "**", False)._pow_value(self)

    def _pow_value(self, exponent: Value) -> Value:
        x, k = self.data, exponent.data
        if x < 0 or (x == 0 and k <= 0):
            raise ValueError(
                f"Value({x}) ** Value({k}): a Value exponent needs a positive base "
                "(d/dk x^k = x^k ln x is undefined otherwise); use a plain number exponent"
            )
        out = _power(x, k)
        d_base = _power_slope(x, k, out)
        d_exponent = out * math.log(x) if x != 0 else 0.0
        return _binary(out, "**", self, d_base, exponent, d_exponent)

    # ---- functions ---------------------------------------------------------------------------

    def tanh(self) -> Value:
        """tanh(x), d/dx = 1 - tanh(x)^2. Saturates cleanly: tanh(1000) = 1.0, gradient 0."""
        t = math.tanh(self.data)
        return _unary(t, "tanh", self, 1.0 - t * t)

    def exp(self) -> Value:
        """e^x, d/dx = e^x. Raises OverflowError past x = 709.78 (float64's limit)."""
        x = self.data
        try:
            e = math.exp(x)
        except OverflowError:
            raise OverflowError(f"exp({x}) overflows float64 (exp is finite only for x <= 709.78)") from None
        return _unary(e, "exp", self, e)

    def log(self) -> Value:
        """ln x, d/dx = 1/x, for x > 0 only."""
        x = self.data
        if not x > 0 and x == x:  # NaN passes through as NaN
            raise ValueError(f"log is only defined for positive inputs, got log({x})")
        return _unary(math.log(x), "log", self, 1.0 / x)

    def relu(self) -> Value:
        """max(0, x), d/dx = 1 if x > 0 else 0."""
        x = self.data
        if x > 0:
            return _unary(x, "relu", self, 1.0)
        if x == x:
            return _unary(0.0, "relu", self, 0.0)
        return _unary(x, "relu", self, x)  # NaN in, NaN out (value and gradient)

    def sigmoid(self) -> Value:
        """1 / (1 + e^-x), d/dx = s (1 - s); never overflows, for any x."""
        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)  # x < 0: e^x cannot overflow
            s = e / (1.0 + e)
        return _unary(s, "sigmoid", self, s * (1.0 - s))

    # ---- gradients ---------------------------------------------------------------------------

    def _backward(self) -> None:
        """The chain rule for this node alone: ``child.grad += local * self.grad`` for each child."""
        g = self.grad
        a, b = self._a, self._b
        if a is None:
            return
        if b is None:
            a.grad += self._da * g
        elif b is _MANY:
            for child, local in zip(a, self._da):
                child.grad += local * g
        else:
            a.grad += self._da * g
            b.grad += self._db * g

    def backward(self, grad: float = 1.0) -> None:
        """Fill ``.grad`` of every node below this one with d(self)/d(node).

        Sets ``self.grad = grad`` (1.0, as in the seed) and works in reverse topological
        order without recursion, so a chain of a million nodes is fine. Leaves accumulate
        (``+=``) across calls, as in the seed and PyTorch: zero them between steps.
        Interior nodes start from 0 on every call, so calling ``backward()`` twice
        simply adds the leaves' gradients twice.
        """
        order = _backward_order(self)
        self.grad = grad
        for node in order:
            node._backward()


def _backward_order(root: Value) -> list[Value]:
    """The interior nodes at and below ``root``, each before all of its children: the order
    in which ``backward()`` calls ``_backward()``. Resets their grads to 0.0 on the way.

    A depth-first post-order on an explicit stack (so depth costs no recursion), reversed.
    Children are visited in ``_prev`` order, so the order, and with it the order in which
    gradients are summed, depends only on the graph's structure.

    Each node's ``_mark`` says how far this call got with it: ``entered`` (its children
    are being ordered; it is on the stack again, under them) or ``done`` (in the order).
    Any other mark, e.g. from an earlier call, means not seen yet. Marks on the nodes spare
    a set of visited nodes: its memory, and a hash lookup per edge.
    """
    entered, done = object(), object()
    order: list[Value] = []
    stack = [root] if root._a is not None else []
    push, pop = stack.append, stack.pop
    while stack:
        node = pop()
        mark = node._mark
        if mark is entered:  # back to it: everything under it is in the order
            node._mark = done
            order.append(node)
            continue
        if mark is done:  # pushed twice, by two consumers, and already ordered
            continue
        node._mark = entered
        node.grad = 0.0
        push(node)
        # Push the interior children not yet ordered, the last first so the first comes
        # out first. None of them can be `entered`: that would be a cycle.
        b = node._b
        if b is _MANY:
            for child in reversed(node._a):
                if child._a is not None and child._mark is not done:
                    push(child)
            continue
        if b is not None and b._a is not None and b._mark is not done:
            push(b)
        a = node._a
        if a._a is not None and a._mark is not done:
            push(a)
    order.reverse()  # children first -> consumers first
    return order


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
    return _node(total, "sum", tuple(children), (1.0,) * len(children))


def weighted_sum(weights: Sequence[Operand], inputs: Sequence[Operand], bias: Operand = 0.0) -> Value:
    """w1*x1 + ... + wn*xn + b as one node; d/dwi = xi, d/dxi = wi, d/db = 1.

    The terms are added in the same order as the seed's ``sum([wi*xi ...]) + b``,
    so the result is bit-identical to it, with one node instead of 2n + 1.
    """
    if len(weights) != len(inputs):
        raise ValueError(f"weighted_sum: {len(weights)} weights but {len(inputs)} inputs")
    children: list[Value] = []
    local: list[Number] = []
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
    if isinstance(bias, Value):
        total += bias.data
        children.append(bias)
        local.append(1.0)
    else:
        total += _check_number(bias, "bias")
    return _node(total, "w·x+b", tuple(children), tuple(local))
