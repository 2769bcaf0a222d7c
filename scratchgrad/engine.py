"""The scalar autograd engine: `Value`, the seed's design made fast and safe.

Every operation builds a new `Value` holding its result, its children (`_prev`)
and, next to them, the local derivative of the result with respect to each child
(`_local`). The chain rule then needs no per-op code at all:

    child.grad += local * out.grad

That one line is `_backward()` for every node, and `backward()` applies it to the
whole graph in reverse topological order, found without recursion. Storing
numbers instead of closures means no reference cycles (a graph is freed the
moment it is dropped), a third of micrograd's memory per node, and gradients
summed in an order fixed by the graph's structure, never by memory addresses.
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable, Sequence, Union

from scratchgrad import grad_mode

Number = Union[int, float]
Operand = Union["Value", int, float]

# Local derivatives shared by every node of these ops: no allocation per node.
_ADD_LOCAL = (1.0, 1.0)
_SUB_LOCAL = (1.0, -1.0)
_NEG_LOCAL = (-1.0,)
_PASS_LOCAL = (1.0,)
_BLOCK_LOCAL = (0.0,)


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
    if isinstance(other, Value):
        return other
    if isinstance(other, (int, float, numbers.Real)) and not isinstance(other, complex):
        return Value(_check_number(other, "operand"))
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


class Value:
    """A scalar that remembers how it was computed, so gradients can flow back to its inputs.

    ``Value(data, _children=(), _op='', label='')`` as in the seed; ``data`` is the number,
    ``grad`` is d(root)/d(this node) after ``root.backward()``.
    """

    __slots__ = ("data", "grad", "label", "_op", "_prev", "_local")

    data: Number
    grad: float
    label: str
    _op: str
    _prev: tuple[Value, ...]
    _local: tuple[float, ...]

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
        self.data = data
        self.grad = 0.0
        self.label = label
        self._op = _op
        if _local is None:  # a node built by hand, as in the seed's first cells
            _children = tuple(_children)
            if _children:
                raise TypeError(
                    "Value(data, _children, ...) also needs _local: the derivative of data "
                    "with respect to each child (use the operators instead of building nodes)"
                )
            _local = ()
        if grad_mode.enabled:
            self._prev = _children if type(_children) is tuple else tuple(_children)
            self._local = _local if type(_local) is tuple else tuple(_local)
        else:
            self._prev = self._local = ()

    def __repr__(self) -> str:
        return f"Value(data={self.data})"

    # ---- arithmetic: result, children, local derivative d(result)/d(child) -----------------

    def __add__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _operand(other, "+", True)
        return Value(self.data + other.data, (self, other), "+", "", _ADD_LOCAL)

    def __radd__(self, other: Operand) -> Value:  # other + self
        return _operand(other, "+", False) + self

    def __sub__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _operand(other, "-", True)
        return Value(self.data - other.data, (self, other), "-", "", _SUB_LOCAL)

    def __rsub__(self, other: Operand) -> Value:  # other - self
        return _operand(other, "-", False) - self

    def __mul__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _operand(other, "*", True)
        return Value(self.data * other.data, (self, other), "*", "", (other.data, self.data))

    def __rmul__(self, other: Operand) -> Value:  # other * self
        return _operand(other, "*", False) * self

    def __truediv__(self, other: Operand) -> Value:
        other = other if isinstance(other, Value) else _operand(other, "/", True)
        a, b = self.data, other.data
        if b == 0:
            raise ZeroDivisionError(f"division by zero: Value({a}) / Value({b})")
        out = a / b
        return Value(out, (self, other), "/", "", (1.0 / b, -out / b))

    def __rtruediv__(self, other: Operand) -> Value:  # other / self
        return _operand(other, "/", False) / self

    def __neg__(self) -> Value:
        return Value(-self.data, (self,), "neg", "", _NEG_LOCAL)

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
        if x != 0:
            local = k * out / x
        else:  # k x^(k-1) at x = 0: 0 for k > 1, 1 for k == 1, infinite slope for 0 < k < 1
            local = 0.0 if (k > 1 or k == 0) else (1.0 if k == 1 else math.inf)
        return Value(out, (self,), f"**{other}", "", (local,))

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
        d_base = k * out / x if x != 0 else 0.0
        d_exponent = out * math.log(x) if x != 0 else 0.0
        return Value(out, (self, exponent), "**", "", (d_base, d_exponent))

    # ---- functions ---------------------------------------------------------------------------

    def tanh(self) -> Value:
        """tanh(x), d/dx = 1 - tanh(x)^2. Saturates cleanly: tanh(1000) = 1.0, gradient 0."""
        t = math.tanh(self.data)
        return Value(t, (self,), "tanh", "", (1.0 - t * t,))

    def exp(self) -> Value:
        """e^x, d/dx = e^x. Raises OverflowError past x = 709.78 (float64's limit)."""
        x = self.data
        try:
            e = math.exp(x)
        except OverflowError:
            raise OverflowError(f"exp({x}) overflows float64 (exp is finite only for x <= 709.78)") from None
        return Value(e, (self,), "exp", "", (e,))

    def log(self) -> Value:
        """ln x, d/dx = 1/x, for x > 0 only."""
        x = self.data
        if not x > 0 and x == x:  # NaN passes through as NaN
            raise ValueError(f"log is only defined for positive inputs, got log({x})")
        return Value(math.log(x), (self,), "log", "", (1.0 / x,))

    def relu(self) -> Value:
        """max(0, x), d/dx = 1 if x > 0 else 0."""
        x = self.data
        if x > 0:
            return Value(x, (self,), "relu", "", _PASS_LOCAL)
        if x == x:
            return Value(0.0, (self,), "relu", "", _BLOCK_LOCAL)
        return Value(x, (self,), "relu", "", (x,))  # NaN in, NaN out (value and gradient)

    def sigmoid(self) -> Value:
        """1 / (1 + e^-x), d/dx = s (1 - s); never overflows, for any x."""
        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)  # x < 0: e^x cannot overflow
            s = e / (1.0 + e)
        return Value(s, (self,), "sigmoid", "", (s * (1.0 - s),))

    # ---- gradients ---------------------------------------------------------------------------

    def _backward(self) -> None:
        """The chain rule for this node alone: pass ``self.grad`` on to the children."""
        g = self.grad
        for child, local in zip(self._prev, self._local):
            child.grad += local * g

    def backward(self, grad: float = 1.0) -> None:
        """Fill ``.grad`` of every node below this one with d(self)/d(node).

        Sets ``self.grad = grad`` (1.0, as in the seed) and works in reverse topological
        order without recursion, so a chain of a million nodes is fine. Leaves accumulate
        (``+=``) across calls, as in the seed and PyTorch: zero them between steps.
        Interior nodes start from 0 on every call, so calling ``backward()`` twice
        simply adds the leaves' gradients twice.
        """
        # Pass 1: every interior node below self, and how many times it is used (its
        # consumers). A node is ready for the chain rule once all its consumers are done.
        pending: dict[Value, int] = {}
        stack = [self]
        while stack:
            node = stack.pop()
            for child in node._prev:
                if child._prev:
                    count = pending.get(child)
                    if count is None:
                        pending[child] = 1
                        child.grad = 0.0
                        stack.append(child)
                    else:
                        pending[child] = count + 1
        # Pass 2: the chain rule, each node once, after all its consumers.
        self.grad = grad
        ready = [self]
        while ready:
            node = ready.pop()
            g = node.grad
            for child, local in zip(node._prev, node._local):
                child.grad += local * g
                if child._prev:
                    count = pending[child] - 1
                    if count:
                        pending[child] = count
                    else:
                        ready.append(child)


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
    return Value(total, tuple(children), "sum", "", (1.0,) * len(children))


def weighted_sum(weights: Sequence[Operand], inputs: Sequence[Operand], bias: Operand = 0.0) -> Value:
    """w1*x1 + ... + wn*xn + b as one node; d/dwi = xi, d/dxi = wi, d/db = 1.

    The terms are added in the same order as the seed's ``sum([wi*xi ...]) + b``,
    so the result is bit-identical to it, with one node instead of 2n + 1.
    """
    if len(weights) != len(inputs):
        raise ValueError(f"weighted_sum: {len(weights)} weights but {len(inputs)} inputs")
    children: list[Value] = []
    local: list[float] = []
    total: float = 0.0
    for w, x in zip(weights, inputs):
        wd = w.data if isinstance(w, Value) else _check_number(w, "weight")
        xd = x.data if isinstance(x, Value) else _check_number(x, "input")
        total += wd * xd
        if isinstance(w, Value):
            children.append(w)
            local.append(xd)
        if isinstance(x, Value):
            children.append(x)
            local.append(wd)
    if isinstance(bias, Value):
        total += bias.data
        children.append(bias)
        local.append(1.0)
    else:
        total += _check_number(bias, "bias")
    return Value(total, tuple(children), "w·x+b", "", tuple(local))
