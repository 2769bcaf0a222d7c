"""Every operator of `Value`, with Values and numbers on either side, against PyTorch float64."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pytest
import torch

from scratchgrad import Value, sum_values, weighted_sum

Op = Callable[[Any, Any], Any]

# Each op is written once and run on both engines: torch tensors understand the same
# operators and have the same method names (tanh, exp, log, relu, sigmoid).
# (name, op, needs a positive first operand)
OPS: list[tuple[str, Op, bool]] = [
    ("a + b", lambda a, b: a + b, False),
    ("a + 2.5", lambda a, b: a + 2.5, False),
    ("2.5 + a", lambda a, b: 2.5 + a, False),
    ("a + 2 (int)", lambda a, b: a + 2, False),
    ("a - b", lambda a, b: a - b, False),
    ("a - 2.5", lambda a, b: a - 2.5, False),
    ("2.5 - a", lambda a, b: 2.5 - a, False),
    ("2 - a (int)", lambda a, b: 2 - a, False),
    ("a * b", lambda a, b: a * b, False),
    ("a * -1.5", lambda a, b: a * -1.5, False),
    ("-1.5 * a", lambda a, b: -1.5 * a, False),
    ("3 * a (int)", lambda a, b: 3 * a, False),
    ("a / b", lambda a, b: a / b, False),
    ("a / 4.0", lambda a, b: a / 4.0, False),
    ("4.0 / a", lambda a, b: 4.0 / a, False),
    ("2 / a (int)", lambda a, b: 2 / a, False),
    ("a ** 2", lambda a, b: a**2, False),
    ("a ** 3", lambda a, b: a**3, False),
    ("a ** 2.0", lambda a, b: a**2.0, False),
    ("a ** -1", lambda a, b: a**-1, False),
    ("a ** -2", lambda a, b: a**-2, False),
    ("a ** 0", lambda a, b: a**0, False),
    ("a ** 1", lambda a, b: a**1, False),
    ("a ** 0.5", lambda a, b: a**0.5, True),
    ("a ** 1.5", lambda a, b: a**1.5, True),
    ("a ** -0.5", lambda a, b: a**-0.5, True),
    ("a ** b (Value exponent)", lambda a, b: a**b, True),
    ("2 ** a", lambda a, b: 2**a, False),
    ("0.5 ** a", lambda a, b: 0.5**a, False),
    ("2.5 ** a", lambda a, b: 2.5**a, False),
    ("-a", lambda a, b: -a, False),
    ("+a", lambda a, b: +a, False),
    ("tanh", lambda a, b: a.tanh(), False),
    ("exp", lambda a, b: a.exp(), False),
    ("log", lambda a, b: a.log(), True),
    ("relu", lambda a, b: a.relu(), False),
    ("sigmoid", lambda a, b: a.sigmoid(), False),
    ("a*b + b/a - a**2", lambda a, b: a * b + b / a - a**2, False),
]

POINTS = [(0.7, 1.9), (-1.3, -0.6), (2.0, 0.25), (-3.5, 4.0), (6, -2)]


def _torch_leaf(x: float) -> torch.Tensor:
    return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)


def _torch_grad(t: torch.Tensor) -> float:
    return 0.0 if t.grad is None else t.grad.item()


def _close(ours: float, theirs: float) -> bool:
    # 1e-11, not 1e-15: both engines round tanh(x) before forming 1 - tanh(x)^2, which
    # loses digits as tanh saturates (about 2e-12 relative at x = 6, for either engine).
    return math.isclose(ours, theirs, rel_tol=1e-11, abs_tol=1e-300) or (math.isnan(ours) and math.isnan(theirs))


@pytest.mark.parametrize("name, op, positive", OPS, ids=[o[0] for o in OPS])
@pytest.mark.parametrize("point", POINTS, ids=str)
def test_op_matches_pytorch(name: str, op: Op, positive: bool, point: tuple[float, float]) -> None:
    a_data, b_data = point
    if positive:
        a_data = abs(a_data)
    a, b = Value(a_data), Value(b_data)
    ta, tb = _torch_leaf(a_data), _torch_leaf(b_data)

    out = op(a, b)
    tout = op(ta, tb)
    assert isinstance(out, Value)
    out.backward()
    tout.backward()

    assert _close(out.data, tout.item()), f"{name} at {point}: value {out.data} vs torch {tout.item()}"
    assert _close(a.grad, _torch_grad(ta)), f"{name} at {point}: d/da {a.grad} vs torch {_torch_grad(ta)}"
    assert _close(b.grad, _torch_grad(tb)), f"{name} at {point}: d/db {b.grad} vs torch {_torch_grad(tb)}"


@pytest.mark.parametrize("k", [1.0, 2.0, 3.0, 0.5, 1.5])
def test_value_exponent_at_zero_base_matches_pytorch(k: float) -> None:
    # 0 ** k for k > 0 is allowed with a Value exponent; its slope in the base is k 0^(k-1):
    # 1 for k = 1, infinite for 0 < k < 1, 0 for k > 1 (as for a number exponent).
    a, b = Value(0.0), Value(k)
    ta, tb = _torch_leaf(0.0), _torch_leaf(k)
    out, tout = a**b, ta**tb
    out.backward()
    tout.backward()
    assert out.data == tout.item() == 0.0
    assert a.grad == _torch_grad(ta), f"d(0 ** {k})/d base: {a.grad} vs torch {_torch_grad(ta)}"
    assert b.grad == _torch_grad(tb)


@pytest.mark.parametrize("k", [1, 2, 3, 0, 0.5, 1.5])
def test_number_exponent_at_zero_base_matches_pytorch(k: float) -> None:
    a, ta = Value(0.0), _torch_leaf(0.0)
    out, tout = a**k, ta**k
    out.backward()
    tout.backward()
    assert out.data == tout.item()
    assert a.grad == _torch_grad(ta), f"d(0 ** {k})/da: {a.grad} vs torch {_torch_grad(ta)}"


def test_value_exponent_needs_a_positive_base() -> None:
    with pytest.raises(ValueError, match="positive base"):
        Value(-2.0) ** Value(2.0)
    with pytest.raises(ValueError, match="positive base"):
        (-8) ** Value(1 / 3)
    with pytest.raises(ValueError, match="positive base"):
        Value(0.0) ** Value(-1.0)


def test_unary_plus_is_the_same_value() -> None:
    a = Value(3.0)
    assert +a is a


def test_results_are_new_nodes_with_their_children() -> None:
    a, b = Value(2.0), Value(3.0)
    for out, op, children in [
        (a + b, "+", {a, b}),
        (a - b, "-", {a, b}),
        (a * b, "*", {a, b}),
        (a / b, "/", {a, b}),
        (a**b, "**", {a, b}),
        (-a, "neg", {a}),
        (a**2, "**2", {a}),
        (a.tanh(), "tanh", {a}),
        (a.exp(), "exp", {a}),
        (a.log(), "log", {a}),
        (a.relu(), "relu", {a}),
        (a.sigmoid(), "sigmoid", {a}),
    ]:
        assert out._op == op and set(out._prev) == children and out.grad == 0.0


# ---- bad operands ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, type_names",
    [
        (lambda: Value(1.0) + "x", ["Value", "str"]),
        (lambda: "x" + Value(1.0), ["Value", "str"]),
        (lambda: Value(1.0) * [1, 2], ["Value", "list"]),
        (lambda: [1, 2] * Value(1.0), ["Value", "list"]),
        (lambda: "x" - Value(1), ["Value", "str"]),
        (lambda: Value(1) - None, ["Value", "NoneType"]),
        (lambda: Value(1.0) / {}, ["Value", "dict"]),
        (lambda: "x" / Value(1.0), ["Value", "str"]),
        (lambda: Value(1.0) ** "2", ["Value", "str"]),
        (lambda: "2" ** Value(1.0), ["Value", "str"]),
        (lambda: Value(1.0) + 1j, ["Value", "complex"]),
        (lambda: Value("x"), ["str"]),
        (lambda: Value(None), ["NoneType"]),
        (lambda: Value([1.0]), ["list"]),
        (lambda: Value(1 + 2j), ["complex"]),
        (lambda: sum_values([Value(1.0), "x"]), ["str"]),
        (lambda: weighted_sum([Value(1.0)], ["x"]), ["str"]),
    ],
)
def test_bad_operand_raises_type_error_naming_the_types(build: Callable[[], Any], type_names: list[str]) -> None:
    with pytest.raises(TypeError) as info:
        build()
    message = str(info.value)
    for name in type_names:
        assert name in message, f"{message!r} does not name {name}"


def test_weighted_sum_with_mismatched_lengths_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="2 weights but 3 inputs"):
        weighted_sum([Value(1.0), Value(2.0)], [1.0, 2.0, 3.0])


def test_node_with_children_but_no_local_derivative_stops_backward_clearly() -> None:
    a = Value(1.0)
    hand = Value(2.0, (a,), "+")  # the seed's early cells build nodes like this: allowed
    assert hand._prev == (a,) and repr(hand._local) == "(unknown,)"
    out = hand * 3.0
    with pytest.raises(RuntimeError, match=r"built by hand \(op '\+', data 2.0\).*_local"):
        out.backward()
    assert a.grad == 0.0  # never a silent zero passed off as a gradient: it raised instead
    # no children: a plain leaf, as in the seed's first cells
    assert Value(2.0, (), "", label="x").label == "x"


def test_node_built_by_hand_with_its_local_derivatives() -> None:
    a, b = Value(2.0), Value(-1.0)
    out = Value(7.0, (a, b), "custom", _local=(3.0, 5.0))
    (out * 2).backward()
    assert (a.grad, b.grad) == (6.0, 10.0)


# ---- sums --------------------------------------------------------------------------------------


def test_sum_values_and_weighted_sum_match_pytorch() -> None:
    data = [0.3, -1.2, 2.5, 0.9]
    xs = [Value(v) for v in data]
    txs = [_torch_leaf(v) for v in data]
    # a node listed twice in a sum counts twice; numbers are constants
    s = sum_values([xs[0], xs[1], 2.0, xs[0], xs[2]])
    w = weighted_sum([xs[0], 0.5, xs[3]], [xs[1], xs[2], -2.0], xs[3])
    out = s * w
    ts = txs[0] + txs[1] + 2.0 + txs[0] + txs[2]
    tw = txs[0] * txs[1] + 0.5 * txs[2] + txs[3] * -2.0 + txs[3]
    tout = ts * tw
    out.backward()
    tout.backward()
    assert out.data == pytest.approx(tout.item(), rel=1e-14)
    for x, tx in zip(xs, txs):
        assert x.grad == pytest.approx(_torch_grad(tx), rel=1e-14)
    assert len(s._prev) == 4 and len(w._prev) == 5  # one node each, not a chain


def test_weighted_sum_is_bit_identical_to_the_seeds_expression() -> None:
    ws = [Value(v) for v in (0.1, -0.7, 0.33, 1e-3)]
    xs = [2.0, 3.0, -1.0, 7.5]
    b = Value(0.4)
    seed = sum([wi * xi for wi, xi in zip(ws, xs)]) + b
    ours = weighted_sum(ws, xs, b)
    assert ours.data == seed.data
    seed.backward()
    seed_grads = [w.grad for w in ws] + [b.grad]
    for p in ws + [b]:
        p.grad = 0.0
    ours.backward()
    assert [w.grad for w in ws] + [b.grad] == seed_grads


def test_empty_sums() -> None:
    assert sum_values([]).data == 0.0
    assert weighted_sum([], [], 1.5).data == 1.5


# ---- gradient accumulation ---------------------------------------------------------------------


def test_node_used_twice_gets_both_contributions() -> None:
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0
    a = Value(3.0)
    (a / a).backward()
    assert a.grad == 0.0


def test_shared_interior_node_matches_pytorch() -> None:
    a, ta = Value(0.8), _torch_leaf(0.8)
    c, tc = Value(-1.1), _torch_leaf(-1.1)

    def graph(a: Any, c: Any) -> Any:
        b = a * 2 + c
        d = b.tanh()
        return b * b + b * d - d / (b * b + 1) + d.exp() * c

    out, tout = graph(a, c), graph(ta, tc)
    out.backward()
    tout.backward()
    assert out.data == pytest.approx(tout.item(), rel=1e-13)
    assert a.grad == pytest.approx(ta.grad.item(), rel=1e-13)
    assert c.grad == pytest.approx(tc.grad.item(), rel=1e-13)


def _accumulation_graph(a: Any, b: Any, c: Any) -> tuple[Any, Any]:
    d = a * b  # interior node, used twice
    e = d.tanh() + d * c - (c / a).sigmoid()
    return d, e


def test_leaves_accumulate_across_backward_calls_like_pytorch() -> None:
    leaves = [Value(v) for v in (0.6, -1.4, 2.2)]
    tleaves = [_torch_leaf(v) for v in (0.6, -1.4, 2.2)]
    _, e = _accumulation_graph(*leaves)
    _, te = _accumulation_graph(*tleaves)
    for call in range(3):
        e.backward()
        te.backward(retain_graph=True)
        for leaf, tleaf in zip(leaves, tleaves):
            assert leaf.grad == pytest.approx(tleaf.grad.item(), rel=1e-13), f"after backward call {call + 1}"
    # interior nodes hold this call's gradient: they are not accumulated across calls
    d, e = _accumulation_graph(*[Value(v) for v in (0.6, -1.4, 2.2)])
    e.backward()
    first = d.grad
    e.backward()
    assert d.grad == first and e.grad == 1.0


def test_backward_from_an_interior_node_then_the_root_accumulates_like_pytorch() -> None:
    leaves = [Value(v) for v in (0.6, -1.4, 2.2)]
    tleaves = [_torch_leaf(v) for v in (0.6, -1.4, 2.2)]
    d, e = _accumulation_graph(*leaves)
    td, te = _accumulation_graph(*tleaves)
    e.backward()
    d.backward()
    e.backward(2.0)
    te.backward(retain_graph=True)
    td.backward(retain_graph=True)
    te.backward(torch.tensor(2.0, dtype=torch.float64))
    for leaf, tleaf in zip(leaves, tleaves):
        assert leaf.grad == pytest.approx(tleaf.grad.item(), rel=1e-13)


def test_zeroing_leaves_between_steps_gives_fresh_gradients() -> None:
    leaves = [Value(v) for v in (0.6, -1.4, 2.2)]
    _, e = _accumulation_graph(*leaves)
    e.backward()
    first = [leaf.grad for leaf in leaves]
    for leaf in leaves:
        leaf.grad = 0.0
    e.backward()
    assert [leaf.grad for leaf in leaves] == first


# ---- repr and numbers of other types -----------------------------------------------------------


def test_repr_is_the_seeds() -> None:
    assert repr(Value(2.0)) == "Value(data=2.0)"
    assert repr(Value(6)) == "Value(data=6)"
    assert repr(Value(-0.5181071586116809)) == "Value(data=-0.5181071586116809)"
    assert repr([Value(1.0), Value(0)]) == "[Value(data=1.0), Value(data=0)]"


def test_numpy_scalars_are_accepted() -> None:
    assert Value(np.float64(2.5)).data == 2.5
    assert Value(np.float32(0.5)).data == 0.5
    assert Value(np.int64(3)).data == 3 and repr(Value(np.int64(3))) == "Value(data=3)"
    assert repr(Value(np.float64(2.0))) == "Value(data=2.0)"

    a = Value(2.0)
    outs = [
        a * np.float64(3.0),
        np.float64(3.0) * a,
        a + np.int64(3),
        np.float32(3.0) - a,
        a / np.float64(0.5),
        a ** np.int64(2),
        np.float64(2.0) ** a,
    ]
    expected = [6.0, 6.0, 5.0, 1.0, 4.0, 4.0, 4.0]
    expected_grads = [3.0, 3.0, 1.0, -1.0, 2.0, 4.0, 4.0 * math.log(2.0)]
    for out, value, grad in zip(outs, expected, expected_grads):
        assert isinstance(out, Value), type(out)
        a.grad = 0.0
        out.backward()
        assert float(out.data) == pytest.approx(value, rel=1e-15)
        assert a.grad == pytest.approx(grad, rel=1e-15)


def test_data_and_grad_can_be_set_like_the_seed_does() -> None:
    p = Value(0.5)
    p.grad = 2.0
    p.data += -0.1 * p.grad
    assert p.data == pytest.approx(0.3)


def test_node_built_by_hand_is_validated() -> None:
    a, b = Value(1.0), Value(2.0)
    with pytest.raises(ValueError, match="2 children but 1 local"):
        Value(3.0, (a, b), "+", _local=(1.0,))
    with pytest.raises(TypeError, match="children must be Values, got float"):
        Value(3.0, (a, 2.0), "+", _local=(1.0, 1.0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str"):
        Value(3.0, (a,), "f", _local=("1",))  # type: ignore[arg-type]
    # any iterable of children works, as with the seed's set(_children)
    out = Value(3.0, [a, b], "+", _local=[1.0, 1.0])
    assert out._prev == (a, b) and out._local == (1.0, 1.0)


def test_two_roots_sharing_a_subgraph_accumulate_like_pytorch() -> None:
    def graphs(a: Any, b: Any) -> tuple[Any, Any]:
        shared = (a * b).tanh() + a
        return shared * shared, shared.exp() - b

    leaves = [Value(0.4), Value(-0.9)]
    tleaves = [_torch_leaf(0.4), _torch_leaf(-0.9)]
    first, second = graphs(*leaves)
    tfirst, tsecond = graphs(*tleaves)
    first.backward()
    second.backward()
    first.backward()
    tfirst.backward(retain_graph=True)
    tsecond.backward(retain_graph=True)
    tfirst.backward()
    for leaf, tleaf in zip(leaves, tleaves):
        assert leaf.grad == pytest.approx(tleaf.grad.item(), rel=1e-13)


@pytest.mark.parametrize(
    "given, expected",
    [
        (lambda: np.float64(1.5), 1.5),
        (lambda: np.float32(0.5), 0.5),
        (lambda: np.int64(3), 3),
        (lambda: True, 1),
        (lambda: Fraction(1, 4), 0.25),
    ],
)
def test_data_is_always_a_plain_python_number(given: Callable[[], Any], expected: float) -> None:
    # issue 12: Value(np.float64(1.0)).data stayed a numpy scalar (a float subclass), and
    # leaked numpy types into gradients and saved files.
    value = Value(given())
    assert type(value.data) in (int, float) and value.data == expected
    for made in (value + given(), given() * value, value ** given(), Value(2.0) * given()):
        assert type(made.data) in (int, float)
    out = value * given()
    out.backward()
    assert type(value.grad) is float or type(value.grad) is int
    hand = Value(2.0, (value,), "f", _local=[given()])
    assert type(hand._local[0]) in (int, float)
