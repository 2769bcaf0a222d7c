"""`gradcheck`: passes on correct derivatives, and catches (and locates) a wrong one."""

from __future__ import annotations

import math

import pytest

from scratchgrad import GradcheckResult, Value, gradcheck, no_grad, sum_values, weighted_sum


def square_with_wrong_slope(x: Value) -> Value:
    """x^2 built by hand with the slope x instead of 2x: the bug gradcheck exists to catch."""
    return Value(x.data**2, (x,), "square", _local=(x.data,))


def square_with_slightly_wrong_slope(x: Value) -> Value:
    return Value(x.data**2, (x,), "square", _local=(2 * x.data * (1 + 1e-3),))


def everything(a: Value, b: Value, c: Value) -> Value:
    h = (a * b + c).tanh()
    return (
        h * h / (1 + b.exp())
        + (c**2 + 1).log()
        - (2 - a).relu() * h.sigmoid()
        + (a * a + 0.5) ** b
        + 3 ** (h / 2)
        + sum_values([a, h, -c, 1.0])
        + weighted_sum([a, 0.5], [b, c], h)
        + (-b) ** 3
    )


@pytest.mark.parametrize(
    "f, inputs",
    [
        (lambda x: x * x, [1.5]),
        (lambda x, y: x / y + y**-2, [0.7, -1.3]),
        (everything, [0.3, -0.8, 1.1]),
        (everything, [-1.2, 0.4, -0.5]),
        (lambda x: x.exp().log().tanh(), [0.2]),
    ],
)
def test_gradcheck_passes_on_correct_derivatives(f, inputs) -> None:  # type: ignore[no-untyped-def]
    result = gradcheck(f, inputs)
    assert isinstance(result, GradcheckResult)
    assert result and result.ok
    assert len(result.analytic) == len(result.numeric) == len(inputs)
    assert result.max_abs_error < 1e-6
    assert 0 <= result.worst_input < len(inputs)
    assert str(result).startswith("gradcheck ok")
    for a, n in zip(result.analytic, result.numeric):
        assert a == pytest.approx(n, rel=1e-6, abs=1e-8)


def test_gradcheck_accepts_values_and_leaves_them_untouched() -> None:
    x, y = Value(0.7), Value(-1.3)
    x.grad = 123.0
    result = gradcheck(lambda a, b: a * b, [x, y])
    assert result
    assert result.analytic == pytest.approx([-1.3, 0.7])
    assert (x.data, x.grad, y.data, y.grad) == (0.7, 123.0, -1.3, 0.0)


def test_gradcheck_fails_on_a_wrong_derivative_and_names_the_input() -> None:
    result = gradcheck(lambda x, y: y * 3 + square_with_wrong_slope(x), [1.5, 2.0])
    assert not result and result.ok is False
    assert result.worst_input == 0
    assert result.analytic[0] == 1.5  # the wrong slope x ...
    assert result.numeric[0] == pytest.approx(3.0, rel=1e-6)  # ... against the true 2x
    assert result.max_abs_error == pytest.approx(1.5, rel=1e-6)
    assert result.max_rel_error == pytest.approx(0.5, rel=1e-6)
    report = str(result)
    assert "MISMATCH" in report and "#0" in report and "1.5" in report


def test_gradcheck_reports_the_worst_of_several_inputs() -> None:
    def f(x: Value, y: Value, z: Value) -> Value:
        return x * 2 + square_with_wrong_slope(y) + z.tanh()

    result = gradcheck(f, [0.5, -4.0, 0.1])
    assert not result
    assert result.worst_input == 1
    assert result.analytic[0] == pytest.approx(result.numeric[0], rel=1e-6)
    assert result.analytic[1] == -4.0 and result.numeric[1] == pytest.approx(-8.0, rel=1e-6)


def test_gradcheck_raises_on_failure_when_asked() -> None:
    with pytest.raises(AssertionError, match="MISMATCH: worst input #0"):
        gradcheck(square_with_wrong_slope, [1.5], raise_on_failure=True)
    # a correct function does not raise
    assert gradcheck(lambda x: x * x, [1.5], raise_on_failure=True)


def test_gradcheck_tolerances_decide_a_small_error() -> None:
    assert not gradcheck(square_with_slightly_wrong_slope, [2.0])  # 0.1% off: over rtol 1e-4
    assert gradcheck(square_with_slightly_wrong_slope, [2.0], rtol=1e-2)
    assert gradcheck(square_with_slightly_wrong_slope, [2.0], atol=1e-2)


def test_gradcheck_treats_a_nan_gradient_as_a_failure() -> None:
    def nan_slope(x: Value) -> Value:
        return Value(x.data * 2, (x,), "double", _local=(math.nan,))

    result = gradcheck(nan_slope, [1.0])
    assert not result
    assert math.isnan(result.analytic[0])


def test_gradcheck_needs_inputs() -> None:
    with pytest.raises(ValueError, match="at least one input"):
        gradcheck(lambda: Value(1.0), [])


def test_gradcheck_needs_f_to_return_a_value() -> None:
    with pytest.raises(TypeError, match="must return a Value, got float"):
        gradcheck(lambda x: x.data * 2, [1.0])


def test_gradcheck_refuses_a_non_number_input() -> None:
    with pytest.raises(TypeError, match="str"):
        gradcheck(lambda x: x * 2, ["1.0"])


def test_gradcheck_works_inside_no_grad() -> None:
    # Checking gradients is the point of the call, so a surrounding no_grad must not make
    # every analytic gradient 0 and report a mismatch that is not there.
    with no_grad():
        result = gradcheck(lambda x: x * x, [1.5])
    assert result, str(result)
