"""Numerical edge cases of `Value`: saturation, overflow, domain errors, NaN, and very deep graphs."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from typing import Any, Callable

import pytest
import torch

from scratchgrad import Value, sum_values, weighted_sum

NAN = float("nan")


def _grad_of(f: Callable[[Value], Value], x: float) -> tuple[float, float]:
    v = Value(x)
    out = f(v)
    out.backward()
    return out.data, v.grad


# ---- saturation --------------------------------------------------------------------------------


@pytest.mark.parametrize("x, expected", [(1000.0, 1.0), (-1000.0, -1.0), (1e308, 1.0), (-1e308, -1.0), (40.0, 1.0)])
def test_tanh_saturates_cleanly(x: float, expected: float) -> None:
    value, grad = _grad_of(Value.tanh, x)
    assert value == expected
    assert grad == 0.0


@pytest.mark.parametrize("x", [1000.0, -1000.0, 710.0, -710.0, 1e308, -1e308, 745.0, -745.0, 36.0, -36.0])
def test_sigmoid_is_stable_for_large_inputs(x: float) -> None:
    value, grad = _grad_of(Value.sigmoid, x)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    torch.sigmoid(t).backward()
    assert math.isfinite(value) and math.isfinite(grad)
    assert 0.0 <= value <= 1.0 and grad >= 0.0
    assert value == pytest.approx(torch.sigmoid(torch.tensor(x, dtype=torch.float64)).item(), rel=1e-15, abs=1e-300)
    assert grad == pytest.approx(t.grad.item(), rel=1e-12, abs=1e-300)
    if x >= 710:  # e^-x is subnormal or zero: the result rounds to exactly 1
        assert value == 1.0
    if x <= -710:  # e^x is subnormal or zero: the result is tiny, never a NaN from inf/inf
        assert value < 1e-300


def test_sigmoid_keeps_relative_accuracy_on_the_negative_side() -> None:
    # 1/(1+e^-x) would lose nothing here, but e^x/(1+e^x) must not be computed as 1 - (1/(1+e^-x)).
    value, grad = _grad_of(Value.sigmoid, -40.0)
    exact = math.exp(-40.0) / (1.0 + math.exp(-40.0))
    assert value == pytest.approx(exact, rel=1e-15)
    assert grad == pytest.approx(exact * (1 - exact), rel=1e-15)


def test_exp_of_a_large_negative_number_underflows_to_zero() -> None:
    value, grad = _grad_of(Value.exp, -1000.0)
    assert value == 0.0 and grad == 0.0


# ---- domain errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("x", [1000.0, 710.0, 1e308])
def test_exp_overflow_raises_naming_exp_and_the_input(x: float) -> None:
    with pytest.raises(OverflowError) as info:
        Value(x).exp()
    assert "exp" in str(info.value) and repr(x) in str(info.value)


def test_exp_just_below_the_overflow_threshold_is_finite() -> None:
    value, grad = _grad_of(Value.exp, 709.0)
    assert value == grad == math.exp(709.0)


@pytest.mark.parametrize("x", [0.0, -0.0, -1.0, -1e-300, -math.inf])
def test_log_of_a_non_positive_number_raises_naming_log(x: float) -> None:
    with pytest.raises(ValueError, match="log"):
        Value(x).log()


def test_log_of_the_smallest_positive_float_has_an_infinite_slope_not_an_error() -> None:
    value, grad = _grad_of(Value.log, 5e-324)
    assert value == pytest.approx(math.log(5e-324))
    assert grad == math.inf


@pytest.mark.parametrize("build", [lambda: Value(0) ** -1, lambda: Value(0.0) ** -2.5, lambda: Value(-0.0) ** -1])
def test_zero_to_a_negative_power_raises_zero_division(build: Callable[[], Value]) -> None:
    with pytest.raises(ZeroDivisionError, match="zero|0"):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: Value(0) / Value(0),
        lambda: Value(1.0) / Value(0.0),
        lambda: Value(1.0) / 0,
        lambda: 1 / Value(0.0),
        lambda: 0.0 / Value(-0.0),
    ],
)
def test_division_by_zero_raises_zero_division_with_the_operands(build: Callable[[], Value]) -> None:
    with pytest.raises(ZeroDivisionError) as info:
        build()
    assert "division by zero" in str(info.value) and "Value(" in str(info.value)


@pytest.mark.parametrize("build", [lambda: Value(-8) ** 0.5, lambda: Value(-8.0) ** (1 / 3), lambda: Value(-1e-9) ** 2.5])
def test_negative_base_to_a_fractional_power_is_a_value_error_not_complex(build: Callable[[], Value]) -> None:
    with pytest.raises(ValueError, match="real"):
        build()


def test_negative_base_to_an_integral_float_power_is_fine() -> None:
    value, grad = _grad_of(lambda v: v**3.0, -2.0)
    assert (value, grad) == (-8.0, 12.0)


@pytest.mark.parametrize(
    "power, product",
    [
        (lambda: Value(1e200) ** 2, lambda: Value(1e200) * Value(1e200)),
        (lambda: Value(10) ** 400, lambda: Value(1e200) * Value(1e200)),
        (lambda: Value(-1e200) ** 3, lambda: Value(-1e200) * Value(1e200) * Value(1e200)),
        (lambda: Value(1e-200) ** -2, lambda: Value(1e200) * Value(1e200)),
        (lambda: Value(2.0) ** Value(2000.0), lambda: Value(1e200) * Value(1e200)),
    ],
)
def test_power_overflows_to_inf_like_the_product_it_stands_for(power: Callable[[], Value], product: Callable[[], Value]) -> None:
    # x ** 2 and x * x agree (issue 12): both give inf past float64's range, as PyTorch does,
    # so a diverging loss is a non-finite number that training can detect, not a crash.
    assert power().data == product().data and math.isinf(power().data)


def test_gradient_of_an_overflowing_power_is_an_infinite_slope_with_the_right_sign() -> None:
    assert _grad_of(lambda v: v**2, 1e200) == (math.inf, 2e200)
    assert _grad_of(lambda v: v**3, -1e200) == (-math.inf, math.inf)
    assert _grad_of(lambda v: v**2, -1e300)[1] == -2e300


@pytest.mark.parametrize("k", [2, 3, 2.5])
def test_gradient_of_a_power_survives_underflow_of_the_power(k: float) -> None:
    # (1e-200)^2 underflows to 0, but its slope 2e-200 is a normal float (PyTorch gives it).
    x = 1e-200
    value, grad = _grad_of(lambda v: v**k, x)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (t**k).backward()
    assert value == 0.0
    assert grad == pytest.approx(t.grad.item(), rel=1e-12, abs=1e-320), f"d(x**{k})/dx at {x}"


# ---- NaN ---------------------------------------------------------------------------------------

# Every op, as a function of one Value; ops with two operands use the NaN on one side.
NAN_OPS: list[tuple[str, Callable[[Value], Any]]] = [
    ("x + 1", lambda x: x + 1),
    ("1 + x", lambda x: 1 + x),
    ("x + y", lambda x: x + Value(2.0)),
    ("x - 1", lambda x: x - 1),
    ("1 - x", lambda x: 1 - x),
    ("x * 3", lambda x: x * 3),
    ("3 * x", lambda x: 3 * x),
    ("x * y", lambda x: Value(2.0) * x),
    ("x / 2", lambda x: x / 2),
    ("2 / x", lambda x: 2 / x),
    ("y / x", lambda x: Value(2.0) / x),
    ("-x", lambda x: -x),
    ("x ** 2", lambda x: x**2),
    ("x ** -1", lambda x: x**-1),
    ("x ** 0.5", lambda x: x**0.5),
    ("x ** y", lambda x: x ** Value(2.0)),
    ("y ** x", lambda x: Value(2.0) ** x),
    ("2 ** x", lambda x: 2**x),
    ("tanh", Value.tanh),
    ("exp", Value.exp),
    ("log", Value.log),
    ("relu", Value.relu),
    ("sigmoid", Value.sigmoid),
    ("sum_values", lambda x: sum_values([x, 1.0, Value(2.0)])),
    ("weighted_sum", lambda x: weighted_sum([x, Value(1.0)], [2.0, Value(3.0)], Value(0.5))),
]

# Ops whose derivative depends on the NaN input itself, so the NaN leaf's own gradient is NaN.
NAN_SLOPE_OPS = {"x ** 2", "x ** -1", "x ** 0.5", "x ** y", "y ** x", "2 ** x", "2 / x", "y / x",
                 "tanh", "exp", "log", "relu", "sigmoid"}  # fmt: skip


@pytest.mark.parametrize("name, op", NAN_OPS, ids=[n for n, _ in NAN_OPS])
def test_nan_propagates_through_the_value(name: str, op: Callable[[Value], Value]) -> None:
    x = Value(NAN)
    out = op(x)
    assert math.isnan(out.data), f"{name}(nan) = {out.data}"
    out.backward()
    if name in NAN_SLOPE_OPS:
        assert math.isnan(x.grad), f"d {name}/dx at nan = {x.grad}"


@pytest.mark.parametrize("name, op", NAN_OPS, ids=[n for n, _ in NAN_OPS])
def test_nan_gradient_propagates_through_every_op(name: str, op: Callable[[Value], Value]) -> None:
    # A NaN arriving from above must reach the leaves, whatever the op's own slope (even 0).
    for x_data in (0.7, -0.7):
        if name in {"log", "x ** 0.5", "x ** y"} and x_data < 0:  # real-valued only for x > 0
            continue
        x = Value(x_data)
        out = op(x) * Value(NAN)
        out.backward()
        assert math.isnan(x.grad), f"{name} at {x_data}: gradient {x.grad} instead of nan"


@pytest.mark.parametrize("x", [NAN, math.inf, -math.inf, 0.0, -2.0])
def test_the_zeroth_power_is_constant_so_its_gradient_is_0_even_at_nan_like_pytorch(x: float) -> None:
    # issue 12: d(x**0)/dx = 0 everywhere; 0 * x**-1 used to make it NaN at NaN (and inf).
    v = Value(x)
    out = v**0
    out.backward()
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (t**0).backward()
    assert out.data == 1.0 == (t**0).item()
    assert v.grad == 0.0 == t.grad.item()
    from scratchgrad.tensor import Tensor

    tensor = Tensor([x, 1.5], requires_grad=True)
    (tensor**0).sum().backward()
    assert tensor.grad.tolist() == [0.0, 0.0]


def test_nan_in_one_branch_does_not_leak_into_an_independent_leaf() -> None:
    a, b = Value(NAN), Value(2.0)
    out = a.tanh() + b * 3
    out.backward()
    assert math.isnan(out.data) and math.isnan(a.grad) and b.grad == 3.0


# ---- very deep graphs --------------------------------------------------------------------------

MILLION_NODE_CHAIN = """
import gc
from scratchgrad import Value

x = Value(0.5)
v = x
middle = None
# 125,000 blocks of 8 ops = 1,000,000 nodes. Each block maps v to itself exactly and has
# slope 1 * 2 * 0.5 * (-1) * 1 * (-1) * 1 * 1 = 1, so d(root)/dx = 1 exactly.
for i in range(125_000):
    v = v + 1.5; v = v * 2.0; v = v / 2.0; v = -v; v = v ** 1; v = -v; v = v.relu(); v = v - 1.5
    if i == 62_500:
        middle = v
root = v * 3.0
root.backward()
assert root.data == 1.5, root.data
assert x.grad == 3.0, x.grad
assert middle.grad == 3.0, middle.grad
# A second backward accumulates into the leaf again, and the interior is recomputed.
root.backward()
assert x.grad == 6.0 and middle.grad == 3.0, (x.grad, middle.grad)
# Freeing a million-deep chain must not overflow the C stack.
del v, root, middle
gc.collect()
assert x.grad == 6.0
print("ok")
"""


def test_million_node_chain_backward_and_deallocation() -> None:
    # A separate interpreter, so that a crash while freeing the graph (a C stack overflow)
    # shows up as this test failing, not as the test run dying.
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(MILLION_NODE_CHAIN)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", (
        f"exit status {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr[-3000:]}"
    )


def test_backward_deeper_than_the_recursion_limit() -> None:
    depth = 20 * sys.getrecursionlimit()
    x = Value(0.3)
    v = x
    # d v / d x, carried forward by the chain rule in plain floats. Each step has slope 1 at
    # its fixed point v = 0, so the product decays slowly and stays a normal float.
    slope = 1.0
    for i in range(depth):
        if i % 3 == 0:
            e = v.exp()
            v = e.log()
            slope *= e.data * (1 / e.data)
        elif i % 3 == 1:
            v = v.tanh()
            slope *= 1 - v.data**2
        else:
            s = v.sigmoid()
            v = s * 4 - 2
            slope *= 4 * s.data * (1 - s.data)
    v.backward()
    assert 1e-6 < slope < 1e-3
    assert x.grad == pytest.approx(slope, rel=1e-9)
    del v  # freeing it must not recurse either


def test_wide_sum_backward() -> None:
    xs = [Value(float(i)) for i in range(100_000)]
    total = sum_values(x * x for x in xs)
    total.backward()
    assert total.data == sum(float(i) ** 2 for i in range(100_000))
    assert all(x.grad == 2 * x.data for x in xs[::997])
