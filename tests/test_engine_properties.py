"""Random expression graphs from every op, checked against PyTorch float64 and finite differences.

Hypothesis writes a small program: some leaves, then instructions that each apply one op to
earlier nodes (so sub-expressions are shared, often several times), and the root is the sum
of every node nothing else uses. One interpreter runs the program on three engines:

* `Bound`, plain floats that also carry a first-order bound on the rounding error any float64
  engine may make (forward and backward). It decides which programs are valid: domains with
  a margin (log of a positive node, no division near 0, no relu near its kink, ...) and
  magnitudes that float64 can answer meaningfully;
* scratchgrad's `Value`;
* PyTorch float64 tensors.

Values and gradients of every node must agree with PyTorch within 1e-10 relative, or within
a few times the rounding bound where the graph itself amplifies rounding (cancellation,
saturated tanh / sigmoid), since there the two engines may legitimately differ by more.
Well-conditioned graphs are thus compared at 1e-10. Gradients are also checked against
central finite differences with scratchgrad's `gradcheck`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence, Union

import torch
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from scratchgrad import Value, gradcheck, sum_values, weighted_sum

GRAPHS_PER_RUN = 1000
U = 2.0**-52  # one unit in the last place of 1.0: each rounding costs at most half of it
MAX_MAGNITUDE = 1e5  # larger values or gradients make the rounding bounds, not the engines, the subject
MAX_RELATIVE_BOUND = 1e-9  # graphs whose float64 answer is this uncertain are not informative

# ---- an engine of floats with rounding-error bounds --------------------------------------------


class Bound:
    """A float, a bound on its rounding error, and the edges to bound its gradient's error.

    ``edges`` holds (child, d self / d child, bound on the error of that derivative).
    """

    __slots__ = ("value", "err", "edges", "grad", "grad_err", "order")
    created = 0

    def __init__(self, value: float, err: float = 0.0, edges: Sequence[tuple[Bound, float, float]] = ()) -> None:
        self.value = float(value)
        self.err = err
        self.edges = tuple(edges)
        self.grad = 0.0
        self.grad_err = 0.0
        Bound.created += 1
        self.order = Bound.created

    @staticmethod
    def of(x: Bound | float) -> Bound:
        return x if isinstance(x, Bound) else Bound(x)

    def _unary(self, out: float, local: float, local_err: float, ulps: float = 2.0) -> Bound:
        return Bound(out, abs(local) * self.err + ulps * U * abs(out), [(self, local, local_err)])

    def __add__(self, other: Bound | float) -> Bound:
        o = Bound.of(other)
        out = self.value + o.value
        return Bound(out, self.err + o.err + U * (abs(self.value) + abs(o.value)), [(self, 1.0, 0.0), (o, 1.0, 0.0)])

    def __radd__(self, other: float) -> Bound:
        return Bound.of(other) + self

    def __sub__(self, other: Bound | float) -> Bound:
        o = Bound.of(other)
        out = self.value - o.value
        return Bound(out, self.err + o.err + U * (abs(self.value) + abs(o.value)), [(self, 1.0, 0.0), (o, -1.0, 0.0)])

    def __rsub__(self, other: float) -> Bound:
        return Bound.of(other) - self

    def __mul__(self, other: Bound | float) -> Bound:
        o = Bound.of(other)
        a, b = self.value, o.value
        err = abs(b) * self.err + abs(a) * o.err + U * abs(a * b)
        return Bound(a * b, err, [(self, b, o.err), (o, a, self.err)])

    def __rmul__(self, other: float) -> Bound:
        return Bound.of(other) * self

    def __truediv__(self, other: Bound | float) -> Bound:
        o = Bound.of(other)
        a, b = self.value, o.value
        out = a / b
        err = self.err / abs(b) + abs(out) * o.err / abs(b) + U * abs(out)
        d_a_err = o.err / b**2 + U / abs(b)
        d_b_err = err / abs(b) + abs(out) * o.err / b**2 + U * abs(out / b)
        return Bound(out, err, [(self, 1 / b, d_a_err), (o, -out / b, d_b_err)])

    def __rtruediv__(self, other: float) -> Bound:
        return Bound.of(other) / self

    def __neg__(self) -> Bound:
        return Bound(-self.value, self.err, [(self, -1.0, 0.0)])

    def __pos__(self) -> Bound:
        return self

    def __pow__(self, other: Bound | float) -> Bound:
        x = self.value
        if isinstance(other, Bound):  # x ** k with both sides varying, x > 0
            k = other.value
            out = x**k
            d_x, d_k = k * x ** (k - 1), out * math.log(x)
            d_x_dk = abs(x ** (k - 1) * (1 + k * math.log(x)))  # the mixed second derivative
            err = abs(d_x) * self.err + abs(d_k) * other.err + 2 * U * abs(out)
            d_x_err = abs(k * (k - 1) * x ** (k - 2)) * self.err + d_x_dk * other.err + 2 * U * abs(d_x)
            d_k_err = d_x_dk * self.err + abs(out) * math.log(x) ** 2 * other.err + 2 * U * abs(d_k)
            return Bound(out, err, [(self, d_x, d_x_err), (other, d_k, d_k_err)])
        k = other
        out = float(x) ** k
        local = k * x ** (k - 1) if k != 0 else 0.0
        curvature = 0.0 if k * (k - 1) == 0 else abs(k * (k - 1) * x ** (k - 2))
        return self._unary(out, local, curvature * self.err + 2 * U * abs(local))

    def __rpow__(self, base: float) -> Bound:  # base ** self, base > 0
        out = base**self.value
        local = out * math.log(base)
        return self._unary(out, local, abs(local * math.log(base)) * self.err + 2 * U * abs(local))

    def tanh(self) -> Bound:
        t = math.tanh(self.value)
        local = 1 - t * t
        out = self._unary(t, local, 0.0)
        out.edges = ((self, local, 2 * abs(t) * out.err + 2 * U),)  # 1 - t^2 from a rounded t
        return out

    def exp(self) -> Bound:
        e = math.exp(self.value)
        out = self._unary(e, e, 0.0)
        out.edges = ((self, e, out.err),)
        return out

    def log(self) -> Bound:
        x = self.value
        return self._unary(math.log(x), 1 / x, self.err / x**2 + U / abs(x))

    def relu(self) -> Bound:
        # exact; callers keep the input away from the kink, so the slope has no error
        return Bound(max(self.value, 0.0), self.err if self.value > 0 else 0.0, [(self, float(self.value > 0), 0.0)])

    def sigmoid(self) -> Bound:
        s = 1 / (1 + math.exp(-self.value)) if self.value >= 0 else math.exp(self.value) / (1 + math.exp(self.value))
        local = s * (1 - s)
        out = self._unary(s, local, 0.0)
        out.edges = ((self, local, abs(1 - 2 * s) * out.err + 2 * U * local),)
        return out


def bound_sum_values(items: Iterable[Bound | float]) -> Bound:
    items = list(items)
    nodes = [i for i in items if isinstance(i, Bound)]
    total = sum(i.value if isinstance(i, Bound) else i for i in items)
    magnitude = sum(abs(i.value) if isinstance(i, Bound) else abs(i) for i in items)
    err = sum(n.err for n in nodes) + len(items) * U * magnitude
    return Bound(total, err, [(n, 1.0, 0.0) for n in nodes])


def bound_weighted_sum(weights: Sequence[Bound | float], inputs: Sequence[Bound | float], bias: Bound | float) -> Bound:
    edges, total, magnitude, err = [], 0.0, 0.0, 0.0
    for w, x in zip(weights, inputs):
        wb, xb = Bound.of(w), Bound.of(x)
        total += wb.value * xb.value
        magnitude += abs(wb.value * xb.value)
        err += abs(xb.value) * wb.err + abs(wb.value) * xb.err
        if isinstance(w, Bound):
            edges.append((w, xb.value, xb.err))
        if isinstance(x, Bound):
            edges.append((x, wb.value, wb.err))
    b = Bound.of(bias)
    total += b.value
    magnitude += abs(b.value)
    err += b.err + (len(weights) + 1) * U * magnitude
    if isinstance(bias, Bound):
        edges.append((bias, 1.0, 0.0))
    return Bound(total, err, edges)


def bound_backward(root: Bound) -> None:
    """Gradients of every node, with first-order bounds on their rounding errors."""
    seen: dict[int, Bound] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            stack.extend(child for child, _, _ in node.edges)
    root.grad, root.grad_err = 1.0, 0.0
    for node in sorted(seen.values(), key=lambda n: n.order, reverse=True):  # creation order is topological
        g, g_err = node.grad, node.grad_err
        for child, local, local_err in node.edges:
            child.grad += local * g
            child.grad_err += abs(local) * g_err + local_err * abs(g) + U * (abs(local * g) + abs(child.grad))


# ---- the three engines behind one interface ----------------------------------------------------


@dataclass(frozen=True)
class Backend:
    leaf: Callable[[float], Any]
    sum_values: Callable[[list[Any]], Any]
    weighted_sum: Callable[[list[Any], list[Any], Any], Any]


def _torch_leaf(x: float) -> torch.Tensor:
    return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)


def _torch_sum(items: list[Any]) -> Any:
    total: Any = 0.0  # the order of scratchgrad's sum_values, so the roundings match
    for item in items:
        total = total + item
    return total


def _torch_weighted_sum(weights: list[Any], inputs: list[Any], bias: Any) -> Any:
    total: Any = 0.0
    for w, x in zip(weights, inputs):
        total = total + w * x
    return total + bias


BOUND = Backend(Bound, bound_sum_values, bound_weighted_sum)
SCRATCHGRAD = Backend(Value, sum_values, weighted_sum)
TORCH = Backend(_torch_leaf, _torch_sum, _torch_weighted_sum)


def _data(x: Any) -> float:
    return x.value if isinstance(x, Bound) else float(x.data if isinstance(x, Value) else x.item())


# ---- programs ----------------------------------------------------------------------------------

Ref = tuple[str, Union[int, float]]  # ("node", index) or ("const", number)
Instruction = tuple[Any, ...]

BINARY = ["add", "sub", "mul", "div", "pow_value"]
WITH_CONSTANT = ["add_c", "radd_c", "sub_c", "rsub_c", "mul_c", "rmul_c", "div_c", "rdiv_c", "pow_c", "rpow_c"]
UNARY = ["neg", "pos", "tanh", "exp", "log", "relu", "sigmoid"]
POSITIVE_FORMS = ["square", "sigmoid", "exp", "raw"]
EXPONENTS = [2, 3, -1, -2, 0, 1, 2.0, 0.5, 1.5, -0.5, 2.5]
CONSTANTS = [-3, -2.5, -1, -0.5, 0.25, 0.5, 1, 1.5, 2, 3.0]
POWER_BASES = [0.5, 2, 2.5, 3.0, math.e]


@dataclass
class Program:
    leaves: list[float]
    instructions: list[Instruction]

    def inputs_of(self, instruction: Instruction) -> list[int]:
        kind = instruction[0]
        if kind in BINARY:
            return [instruction[1], instruction[2]]
        if kind in WITH_CONSTANT or kind in UNARY:
            return [instruction[1]]
        refs: list[Ref] = list(instruction[1]) if kind == "sum" else [*instruction[1], *instruction[2], instruction[3]]
        return [int(r[1]) for r in refs if r[0] == "node"]

    def sinks(self) -> list[int]:
        used = {i for ins in self.instructions for i in self.inputs_of(ins)}
        return [i for i in range(len(self.leaves) + len(self.instructions)) if i not in used]


@st.composite
def programs(draw: st.DrawFn) -> Program:
    leaf = st.one_of(st.floats(-3, 3, allow_nan=False, allow_subnormal=False), st.integers(-3, 3))
    leaves = draw(st.lists(leaf, min_size=1, max_size=5))
    instructions: list[Instruction] = []
    for _ in range(draw(st.integers(1, 20))):
        n = len(leaves) + len(instructions)
        node = st.integers(0, n - 1)
        ref = st.one_of(node.map(lambda i: ("node", i)), st.sampled_from(CONSTANTS).map(lambda c: ("const", c)))
        kind = draw(st.sampled_from(BINARY + WITH_CONSTANT + UNARY + ["sum", "wsum"]))
        if kind in BINARY:
            instructions.append((kind, draw(node), draw(node), draw(st.sampled_from(POSITIVE_FORMS))))
        elif kind == "pow_c":
            instructions.append((kind, draw(node), draw(st.sampled_from(EXPONENTS)), draw(st.sampled_from(POSITIVE_FORMS))))
        elif kind == "rpow_c":
            instructions.append((kind, draw(node), draw(st.sampled_from(POWER_BASES))))
        elif kind in WITH_CONSTANT:
            instructions.append((kind, draw(node), draw(st.sampled_from(CONSTANTS))))
        elif kind in UNARY:
            instructions.append((kind, draw(node), draw(st.sampled_from(POSITIVE_FORMS))))
        elif kind == "sum":
            first = ("node", draw(node))  # at least one node, or it would be a constant
            instructions.append((kind, [first, *draw(st.lists(ref, max_size=5))]))
        else:
            size = draw(st.integers(1, 4))
            weights = draw(st.lists(ref, min_size=size, max_size=size))
            inputs = draw(st.lists(ref, min_size=size, max_size=size))
            weights[0] = ("node", draw(node))
            instructions.append((kind, weights, inputs, draw(ref)))
    return Program(leaves, instructions)


class Reject(Exception):
    """The program leaves the domain (or the magnitudes) the comparison is meaningful in."""


def _require(condition: bool) -> None:
    if not condition:
        raise Reject


def run(program: Program, backend: Backend, leaves: Sequence[Any], check: bool = False) -> tuple[list[Any], Any]:
    """Every node of ``program`` and its root, on ``backend``; ``check`` enforces the domains."""
    nodes: list[Any] = list(leaves)

    def positive(x: Any, form: str) -> Any:
        if form == "square":
            return x * x + 0.5
        if form == "sigmoid":
            return x.sigmoid() + 0.1
        if form == "exp":
            if check:
                _require(-30 < _data(x) < 10)
            return x.exp()
        if check:
            _require(_data(x) > 0.1)
        return x

    def away_from_zero(x: Any) -> Any:
        if check:
            _require(abs(_data(x)) > 0.1)
        return x

    def modest_power(base: float, exponent: Any) -> Any:
        if check:  # larger powers fail the magnitude check anyway; this keeps them from overflowing
            _require(abs(_data(exponent) * math.log(base)) <= 30)
        return exponent

    def resolve(r: Ref) -> Any:
        return nodes[int(r[1])] if r[0] == "node" else r[1]

    for ins in program.instructions:
        kind = ins[0]
        if kind in BINARY:
            a, b = nodes[ins[1]], nodes[ins[2]]
            if kind == "add":
                out = a + b
            elif kind == "sub":
                out = a - b
            elif kind == "mul":
                out = a * b
            elif kind == "div":
                out = a / away_from_zero(b)
            else:
                base = positive(a, ins[3])
                out = base ** modest_power(_data(base), b)
        elif kind in WITH_CONSTANT:
            x, c = nodes[ins[1]], ins[2]
            if kind == "add_c":
                out = x + c
            elif kind == "radd_c":
                out = c + x
            elif kind == "sub_c":
                out = x - c
            elif kind == "rsub_c":
                out = c - x
            elif kind == "mul_c":
                out = x * c
            elif kind == "rmul_c":
                out = c * x
            elif kind == "div_c":
                out = x / c
            elif kind == "rdiv_c":
                out = c / away_from_zero(x)
            elif kind == "rpow_c":
                out = c ** modest_power(c, x)
            else:  # pow_c: real-valued bases only
                if not float(c).is_integer():
                    x = positive(x, ins[3])
                elif c < 0:
                    x = away_from_zero(x)
                out = x**c
        elif kind in UNARY:
            x = nodes[ins[1]]
            if kind == "neg":
                out = -x
            elif kind == "pos":
                out = +x
            elif kind == "tanh":
                out = x.tanh()
            elif kind == "exp":
                if check:
                    _require(_data(x) < 10)
                out = x.exp()
            elif kind == "log":
                out = positive(x, ins[2]).log()
            elif kind == "relu":
                if check:
                    _require(abs(_data(x)) > 1e-2)  # finite differences must not straddle the kink
                out = x.relu()
            else:
                out = x.sigmoid()
        elif kind == "sum":
            out = backend.sum_values([resolve(r) for r in ins[1]])
        else:
            out = backend.weighted_sum([resolve(r) for r in ins[1]], [resolve(r) for r in ins[2]], resolve(ins[3]))
        if check:
            _require(abs(_data(out)) <= MAX_MAGNITUDE)
        nodes.append(out)
    root = sum(nodes[i] for i in program.sinks())  # Python's sum: 0 + first + ..., via __radd__
    return nodes, root


# ---- the property ------------------------------------------------------------------------------


def _agrees(ours: float, theirs: float, rounding_bound: float) -> bool:
    return abs(ours - theirs) <= 1e-10 * abs(theirs) + 4 * rounding_bound


def check_program(program: Program) -> bool:
    """Compare scratchgrad with PyTorch (and gradcheck) on one valid program; False if invalid."""
    try:
        bound_nodes, bound_root = run(program, BOUND, [Bound(x) for x in program.leaves], check=True)
        bound_backward(bound_root)
    except (Reject, OverflowError):  # an OverflowError here comes from a bound, not a result
        return False
    for node in bound_nodes:
        # `not <=` so that a NaN bound rejects too
        if not node.err <= MAX_RELATIVE_BOUND * max(abs(node.value), 1.0):
            return False
        if not (abs(node.grad) <= MAX_MAGNITUDE and node.grad_err <= MAX_RELATIVE_BOUND * max(abs(node.grad), 1.0)):
            return False

    leaves = [Value(x) for x in program.leaves]
    nodes, root = run(program, SCRATCHGRAD, leaves)
    root.backward()

    tleaves = [_torch_leaf(x) for x in program.leaves]
    tnodes, troot = run(program, TORCH, tleaves)
    for t in tnodes:
        if isinstance(t, torch.Tensor) and not t.is_leaf:
            t.retain_grad()
    troot.backward()

    assert _agrees(root.data, troot.item(), bound_root.err), f"root: {root.data!r} vs torch {troot.item()!r}"
    for i, (node, tnode, b) in enumerate(zip(nodes, tnodes, bound_nodes)):
        assert isinstance(node, Value), f"node {i} is a {type(node).__name__}"
        assert _agrees(node.data, tnode.item(), b.err), f"node {i}: value {node.data!r} vs torch {tnode.item()!r}"
        tgrad = 0.0 if tnode.grad is None else tnode.grad.item()
        assert _agrees(node.grad, tgrad, b.grad_err), (
            f"node {i}: gradient {node.grad!r} vs torch {tgrad!r} (rounding bound {b.grad_err:.3g})"
        )

    def f(*xs: Value) -> Value:
        return run(program, SCRATCHGRAD, xs)[1]

    eps = 1e-6
    # finite differences lose |f| rounding / eps to cancellation, and eps^2 f''' to truncation
    result = gradcheck(f, program.leaves, eps=eps, rtol=1e-5, atol=1e-6 + 2 * bound_root.err / eps)
    assert result, f"{result}\nprogram: {program}"
    return True


compared = 0


@settings(
    max_examples=GRAPHS_PER_RUN + 100,  # set here, so no profile can turn it down
    derandomize=False,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(programs())
def _random_graph_agrees(program: Program) -> None:
    global compared
    valid = check_program(program)
    assume(valid)
    compared += 1


def test_random_graphs_agree_with_pytorch_and_finite_differences() -> None:
    global compared
    compared = 0
    _random_graph_agrees()
    assert compared >= GRAPHS_PER_RUN, f"only {compared} random graphs were compared with PyTorch"


# ---- the checker itself must be able to fail ---------------------------------------------------


def test_the_comparison_catches_a_wrong_gradient() -> None:
    program = Program([0.7, -1.2], [("mul", 0, 1, "raw"), ("tanh", 2, "raw"), ("sum", [("node", 3), ("node", 0)])])
    assert check_program(program)
    original = Value.tanh

    def tanh_with_a_slightly_wrong_slope(self: Value) -> Value:
        t = original(self)
        return Value(t.data, (self,), "tanh", _local=(1.0 - t.data * t.data * (1 + 1e-8),))

    Value.tanh = tanh_with_a_slightly_wrong_slope  # type: ignore[method-assign]
    try:
        try:
            check_program(program)
        except AssertionError as error:
            assert "gradient" in str(error)
        else:
            raise AssertionError("a 1e-8 error in tanh's slope went unnoticed")
    finally:
        Value.tanh = original  # type: ignore[method-assign]


def test_every_op_is_generated() -> None:
    seen: set[str] = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(programs())
    def collect(program: Program) -> None:
        seen.update(ins[0] for ins in program.instructions)

    collect()
    assert seen == set(BINARY + WITH_CONSTANT + UNARY + ["sum", "wsum"])
