"""`no_grad` / `enable_grad`: operations inside record no graph, and the mode always comes back."""

from __future__ import annotations

from typing import Callable

import pytest

import scratchgrad
from scratchgrad import Value, enable_grad, is_grad_enabled, no_grad, sum_values, weighted_sum
from scratchgrad import grad_mode

ALL_OPS: list[tuple[str, Callable[[Value, Value], Value]]] = [
    ("+", lambda a, b: a + b),
    ("+ number", lambda a, b: 1.5 + a),
    ("-", lambda a, b: a - b),
    ("- number", lambda a, b: 1.5 - a),
    ("*", lambda a, b: a * b),
    ("/", lambda a, b: a / b),
    ("/ number", lambda a, b: 2 / a),
    ("** number", lambda a, b: a**2),
    ("** Value", lambda a, b: a**b),
    ("number ** Value", lambda a, b: 2**a),
    ("neg", lambda a, b: -a),
    ("tanh", lambda a, b: a.tanh()),
    ("exp", lambda a, b: a.exp()),
    ("log", lambda a, b: a.log()),
    ("relu", lambda a, b: a.relu()),
    ("sigmoid", lambda a, b: a.sigmoid()),
    ("sum_values", lambda a, b: sum_values([a, b, 1.0])),
    ("weighted_sum", lambda a, b: weighted_sum([a, b], [b, 2.0], a)),
    ("by hand", lambda a, b: Value(a.data * 2, (a,), "double", _local=(2.0,))),
]


@pytest.mark.parametrize("name, op", ALL_OPS, ids=[n for n, _ in ALL_OPS])
def test_no_grad_records_no_graph_for_any_op(name: str, op: Callable[[Value, Value], Value]) -> None:
    a, b = Value(1.5), Value(0.5)
    expected = op(a, b)
    assert expected._prev != ()
    with no_grad():
        out = op(a, b)
    assert out._prev == () and out._local == ()
    assert out.data == expected.data  # the forward pass is unchanged
    out.backward()
    assert out.grad == 1.0 and a.grad == 0.0 and b.grad == 0.0


def test_is_grad_enabled_follows_the_blocks() -> None:
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        assert grad_mode.enabled is False
    assert is_grad_enabled()


def test_no_grad_as_a_decorator() -> None:
    @no_grad()
    def predict(x: Value) -> Value:
        """Inference without a graph."""
        assert not is_grad_enabled()
        return (x * 2).tanh()

    x = Value(0.3)
    y = predict(x)
    assert y._prev == ()
    assert is_grad_enabled()
    assert predict.__name__ == "predict" and predict.__doc__ == "Inference without a graph."
    # the decorated function can be called again, and from inside another block
    with no_grad():
        assert predict(x)._prev == ()
        assert not is_grad_enabled()
    with enable_grad():
        assert predict(x)._prev == ()
        assert is_grad_enabled()


def test_no_grad_as_a_bare_decorator_like_pytorch() -> None:
    # PyTorch accepts `@torch.no_grad` without parentheses; users write it that way.
    @no_grad  # type: ignore[arg-type]
    def predict(x: Value) -> Value:
        return x * 2

    assert predict(Value(1.0))._prev == ()
    assert is_grad_enabled()


def test_no_grad_blocks_nest() -> None:
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
            assert (Value(1.0) * 2)._prev == ()
        assert not is_grad_enabled()  # the inner block restores the outer one's mode
        assert (Value(1.0) * 2)._prev == ()
    assert is_grad_enabled()


def test_one_no_grad_object_can_be_reused_and_nested() -> None:
    block = no_grad()
    with block:
        with block:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()
    with block:
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_enable_grad_inside_no_grad_records_again() -> None:
    a = Value(2.0)
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            recorded = a * 3
        assert not is_grad_enabled()
        unrecorded = a * 3
    assert len(recorded._prev) == 2 and recorded._prev[0] is a and unrecorded._prev == ()
    recorded.backward()
    assert a.grad == 3.0


def test_enable_grad_as_a_decorator_inside_no_grad() -> None:
    @enable_grad()
    def loss_of(x: Value) -> Value:
        return x * x

    x = Value(3.0)
    with no_grad():
        loss = loss_of(x)
        assert not is_grad_enabled()
    loss.backward()
    assert x.grad == 6.0


def test_mode_is_restored_when_the_block_raises() -> None:
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            Value(1.0) / 0
    assert is_grad_enabled()
    with no_grad():
        with pytest.raises(RuntimeError):
            with enable_grad():
                raise RuntimeError("boom")
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_mode_is_restored_when_a_decorated_function_raises() -> None:
    @no_grad()
    def broken(x: Value) -> Value:
        return x.log()

    with pytest.raises(ValueError, match="log"):
        broken(Value(-1.0))
    assert is_grad_enabled()


def test_parameter_updates_inside_no_grad() -> None:
    w, b = Value(0.5), Value(-0.2)
    xs, ys = [1.0, 2.0, -1.0], [1.0, -1.0, 0.5]
    losses = []
    for _ in range(20):
        loss = sum_values(((w * x + b) - y) ** 2 for x, y in zip(xs, ys))
        w.grad = b.grad = 0.0
        loss.backward()
        with no_grad():
            # an update written with the operators, as with PyTorch tensors: no graph grows
            new_w, new_b = w - 0.05 * w.grad, b - 0.05 * b.grad
            assert new_w._prev == () and new_b._prev == ()
            w.data, b.data = new_w.data, new_b.data
            # evaluating inside no_grad leaves the parameters' gradients alone
            check = sum_values(((w * x + b) - y) ** 2 for x, y in zip(xs, ys))
            check.backward()
        losses.append(loss.data)
        assert w._prev == () and b._prev == ()
    assert losses[-1] < losses[0] / 2
    # the update used the gradients of the last recorded loss, not of the no_grad check
    assert w.grad != 0.0 and check.grad == 1.0


def test_value_made_under_no_grad_is_a_leaf_of_later_graphs() -> None:
    a, b = Value(2.0), Value(5.0)
    with no_grad():
        c = a * 3  # detached from a, like torch's detach()
    out = c * b
    out.backward()
    assert (a.grad, b.grad, c.grad) == (0.0, 6.0, 5.0)


def test_the_package_exports_the_shared_mode() -> None:
    assert scratchgrad.no_grad is grad_mode.no_grad
    assert scratchgrad.enable_grad is grad_mode.enable_grad
    assert scratchgrad.is_grad_enabled is grad_mode.is_grad_enabled
