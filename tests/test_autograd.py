"""scratchgrad.autograd's one graph walk, shared by Value.backward, Tensor.backward and the
pictures, and the package's public surface."""

from __future__ import annotations

import numpy as np
import pytest

import scratchgrad
from scratchgrad import Value, autograd, sum_values, weighted_sum, viz
from scratchgrad.autograd import backward_order, topological_order
from scratchgrad.tensor import Tensor


def _neuron() -> tuple[Value, list[Value]]:
    x1, x2, w1, w2, b = Value(2.0), Value(0.0), Value(-3.0), Value(1.0), Value(6.8813735870195432)
    n = x1 * w1 + x2 * w2 + b
    return n.tanh(), [x1, x2, w1, w2, b]


def _assert_children_first(order: list, interior_only: bool = False) -> None:
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order), "a node appears twice"
    for node in order:
        for child in node._prev:
            if interior_only and not child._prev:
                continue
            assert position[id(child)] < position[id(node)]


def test_topological_order_lists_every_node_once_children_first_for_both_engines() -> None:
    o, leaves = _neuron()
    order = topological_order(o)
    assert order[-1] is o and len(order) == 10 and all(leaf in order for leaf in leaves)
    _assert_children_first(order)

    x = Tensor(np.ones((2, 3)), requires_grad=True)
    w = Tensor(np.ones((3, 1)), requires_grad=True)
    h = (x @ w).relu()
    loss = (h * h + h).sum()
    t_order = topological_order(loss)
    assert t_order[-1] is loss and x in t_order and w in t_order and len(t_order) == 7
    _assert_children_first(t_order)


def test_the_order_depends_on_the_graph_alone() -> None:
    (o1, _), (o2, _) = _neuron(), _neuron()
    assert [n._op for n in topological_order(o1)] == [n._op for n in topological_order(o2)]
    assert [n.data for n in topological_order(o1)] == [n.data for n in topological_order(o2)]


def test_deep_graphs_are_walked_without_recursion() -> None:
    x = Value(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    assert len(topological_order(y)) == 200_001  # each step adds a product and a constant
    assert len(backward_order(y)) == 100_000


def test_backward_order_is_consumers_first_and_resets_interior_grads() -> None:
    o, leaves = _neuron()
    o.backward()
    order = backward_order(o)
    assert order[0] is o and [n._op for n in order] == ["tanh", "+", "+", "*", "*"]
    assert all(node.grad == 0.0 for node in order)  # reset, ready for the chain rule
    assert [leaf.grad for leaf in leaves] != [0.0] * 5  # leaves are left alone (they accumulate)
    # walking again (e.g. a second backward()) finds the same order
    assert backward_order(o) == order
    _assert_children_first(order[::-1], interior_only=True)
    assert backward_order(leaves[0]) == []


def test_backward_order_handles_shared_children_and_fused_nodes() -> None:
    a, b = Value(1.5), Value(-2.0)
    shared = a * b
    top = sum_values([shared, shared.tanh(), weighted_sum([a, shared], [shared, 2.0], shared)])
    order = backward_order(top)
    assert order.count(shared) == 1 and order[0] is top
    _assert_children_first(order[::-1], interior_only=True)


def test_one_walk_serves_the_engines_and_the_pictures(monkeypatch: pytest.MonkeyPatch) -> None:
    from scratchgrad import engine, step_through, tensor_backward

    assert viz._topological_order is topological_order and step_through._topological_order is topological_order
    assert step_through._backward_order is backward_order
    calls: list[str] = []

    def counting(name, original):  # type: ignore[no-untyped-def]
        def walk(root):  # type: ignore[no-untyped-def]
            calls.append(name)
            return original(root)

        return walk

    monkeypatch.setattr(engine, "backward_order", counting("value", backward_order))
    monkeypatch.setattr(tensor_backward, "topological_order", counting("tensor", topological_order))
    o, _ = _neuron()
    o.backward()
    t = Tensor([1.0, 2.0], requires_grad=True)
    (t * t).sum().backward()
    assert calls == ["value", "tensor"]


def test_the_package_shows_its_public_names_and_no_typing_helpers() -> None:
    names = dir(scratchgrad)
    for public in ("Value", "Tensor", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
                   "gradcheck", "sum_values", "weighted_sum"):
        assert public in names
    assert not {"Any", "Union", "Optional", "TYPE_CHECKING", "annotations"} & set(names)
    assert scratchgrad.Tensor is Tensor
    with pytest.raises(AttributeError, match="no attribute 'Tensr'"):
        scratchgrad.Tensr  # noqa: B018


def test_marks_in_grad_never_leak_into_results() -> None:
    # backward_order marks nodes in .grad with zeros of its own; every interior grad is a
    # plain float by the end of backward(), equal to what it would be without the marks.
    o, leaves = _neuron()
    o.backward()
    assert all(type(n.grad) is float for n in topological_order(o))
    assert autograd._Zero() == 0.0 and autograd._Zero() is not autograd._Zero()
