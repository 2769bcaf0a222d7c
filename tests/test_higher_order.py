"""Derivatives of derivatives (issue 13): backward(create_graph=True) on both engines, the
functional API (grad, jacobian, hessian, hvp), and second and third derivatives of every op
of tests/op_registry.py against PyTorch, finite differences and closed forms."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from op_registry import OPS, OpSpec, check_derivatives
from scratchgrad import Tensor, Value, autograd, grad, hessian, hvp, jacobian, no_grad, sum_values
from scratchgrad.autograd import gradients, topological_order
from scratchgrad.tensor import linear

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# ---- backward(create_graph=True) on Values -----------------------------------------------------------


def test_create_graph_makes_every_gradient_a_value_that_can_be_differentiated_again() -> None:
    x = Value(2.0, label="x")
    y = (x**3).tanh() * 0.01 + x**3  # y' = 3x^2 (1 + 0.01 (1 - tanh^2 x^3))
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value) and isinstance(y.grad, Value)
    assert all(isinstance(n.grad, Value) for n in topological_order(y) if n._prev)
    first = x.grad
    xt = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    yt = torch.tanh(xt**3) * 0.01 + xt**3
    (gt,) = torch.autograd.grad(yt, xt, create_graph=True)
    assert first.data == pytest.approx(gt.item(), rel=1e-12)
    x.grad = 0.0
    first.backward()  # the gradient's own graph: d/dx of dy/dx
    (ht,) = torch.autograd.grad(gt, xt)
    assert x.grad == pytest.approx(ht.item(), rel=1e-12)


def test_without_create_graph_gradients_are_plain_numbers_and_nothing_is_recorded() -> None:
    x = Value(0.7)
    y = x.tanh() * x
    before = len(topological_order(y))
    y.backward()
    assert type(x.grad) is float and all(type(n.grad) is float for n in topological_order(y))
    assert len(topological_order(y)) == before


def test_third_derivative_by_three_backward_passes() -> None:
    x = Value(1.5)
    (x**4).backward(create_graph=True)  # 4x^3
    first, x.grad = x.grad, 0.0
    first.backward(create_graph=True)  # 12x^2
    second, x.grad = x.grad, 0.0
    second.backward()  # 24x
    assert (first.data, second.data, x.grad) == (4 * 1.5**3, 12 * 1.5**2, 24 * 1.5)


def test_leaves_accumulate_recorded_gradients_and_interior_nodes_start_over() -> None:
    w, x = Value(0.5), Value(-1.5)
    loss = (w * x).tanh()
    loss.backward(create_graph=True)
    once = w.grad.data
    loss.backward(create_graph=True)
    assert isinstance(w.grad, Value) and w.grad.data == pytest.approx(2 * once)
    assert loss._a.grad.data == pytest.approx(1 - loss.data**2)  # interior: this call's only
    w.grad = 3.0  # a number already there is added to
    loss.backward(create_graph=True)
    assert w.grad.data == pytest.approx(3.0 + once)


def test_the_gradient_graph_can_be_drawn_and_stepped_through() -> None:
    from scratchgrad.viz import backward_steps, draw_dot

    x1, w1, b = Value(2.0, label="x1"), Value(-3.0, label="w1"), Value(6.8813735870195432, label="b")
    o = (x1 * w1 + b).tanh()
    o.label = "o"
    o.backward(create_graph=True)
    dw = w1.grad
    dw.label = "dL/dw1"
    source = draw_dot(dw).source
    assert "dL/dw1" in source and "tanh" in source and "w1" in source  # dL/dw1 depends on w1 through o
    assert "grad" in draw_dot(o).source  # recorded gradients show as numbers
    for leaf in (x1, w1, b):
        leaf.grad = 0.0  # backward_steps accumulates into leaves, as backward() does
    steps = list(backward_steps(dw))
    assert steps and steps[-1].grads[w1] == pytest.approx(grad(grad(lambda w: (2.0 * w + b.data).tanh()))(-3.0))


def test_create_graph_through_a_node_built_by_hand_says_what_is_missing() -> None:
    x = Value(1.0)
    hand = Value(x.data * 2, (x,), "double", _local=(2.0,))
    with pytest.raises(RuntimeError, match=r"built by hand \(op 'double'.*derivative of the gradient"):
        (hand * hand).backward(create_graph=True)
    unknown = Value(x.data, (x,), "mystery")
    with pytest.raises(RuntimeError, match="whose local derivatives are unknown"):
        unknown.backward(create_graph=True)


def test_create_graph_records_even_inside_no_grad() -> None:
    x = Value(3.0)
    y = x * x * x
    with no_grad():
        y.backward(create_graph=True)
        assert isinstance(x.grad, Value) and x.grad._prev
    assert x.grad.data == 27.0


# ---- backward(create_graph=True) on Tensors ------------------------------------------------------------


def test_tensor_create_graph_gives_tensor_gradients_that_differentiate_again() -> None:
    rng = np.random.default_rng(3)
    x = Tensor(rng.normal(size=4), requires_grad=True)
    w = Tensor(rng.normal(size=(3, 4)), requires_grad=True)
    loss = linear(x, w).tanh().sum()
    loss.backward(create_graph=True)
    assert isinstance(x.grad, Tensor) and x.grad.requires_grad and isinstance(w.grad, Tensor)
    penalty = (x.grad * x.grad).sum()  # the squared norm of dL/dx, differentiated w.r.t. w
    w.grad = None
    penalty.backward()
    xt = torch.tensor(x.data, requires_grad=True)
    wt = torch.tensor(w.data, requires_grad=True)
    (gx,) = torch.autograd.grad(torch.tanh(wt @ xt).sum(), xt, create_graph=True)
    (gw,) = torch.autograd.grad((gx * gx).sum(), wt)
    assert_allclose(w.grad, gw.numpy(), rtol=1e-10, atol=1e-12)


def test_tensor_create_graph_keeps_float32() -> None:
    x = Tensor(np.array([0.5, -1.0], dtype=np.float32), requires_grad=True)
    (x.sigmoid() * x).sum().backward(create_graph=True)
    assert x.grad.dtype == np.float32
    h = hessian(lambda t: (t.sigmoid() * t).sum())(np.array([0.5, -1.0], dtype=np.float32))
    assert h.dtype == np.float32 and h.shape == (2, 2)


# ---- the functional API ---------------------------------------------------------------------------------


def test_numbers_in_numbers_out_values_in_values_out() -> None:
    f = lambda x: x**3  # noqa: E731
    assert grad(f)(2.0) == 12.0 and type(grad(f)(2.0)) is float
    assert grad(grad(f))(2.0) == 12.0 and grad(grad(grad(f)))(2.0) == 6.0
    assert grad(grad(grad(grad(lambda x: x**5))))(2.0) == 5 * 4 * 3 * 2 * 2.0
    x = Value(2.0)
    g = grad(f)(x)
    assert isinstance(g, Value) and g.data == 12.0 and x in topological_order(g)
    assert grad(lambda xs: xs[0] * xs[1] ** 2)([3.0, 2.0]) == [4.0, 12.0]
    assert grad(lambda x, y: x * y, argnums=(0, 1))(3.0, 4.0) == (4.0, 3.0)
    assert grad(lambda x, y: x * y, argnums=-1)(3.0, 4.0) == 3.0


def test_arrays_in_arrays_out_tensors_in_tensors_out() -> None:
    f = lambda x: (x.tanh() * x).sum()  # noqa: E731
    x = np.array([[0.5, -1.0], [2.0, 0.1]])
    g = grad(f)(x)
    assert type(g) is np.ndarray and g.shape == x.shape
    assert_allclose(g, np.tanh(x) + x * (1 - np.tanh(x) ** 2))
    h = hessian(f)(x)
    assert h.shape == (2, 2, 2, 2)
    assert hessian(f)(x.ravel()).shape == (4, 4)
    t = Tensor(x.ravel(), requires_grad=True)
    gt = grad(f)(t)
    assert isinstance(gt, Tensor) and gt.requires_grad
    assert_allclose(jacobian(lambda x: x.exp() * 2.0)(x.ravel()), np.diag(2 * np.exp(x.ravel())))


def test_hessian_of_functions_of_numbers_lists_and_several_arguments() -> None:
    f = lambda x, y: (x * y).tanh() + x.exp() / y  # noqa: E731
    hxx = hessian(f)(1.5, -0.5)
    blocks = hessian(f, argnums=(0, 1))(1.5, -0.5)
    xt = torch.tensor([1.5, -0.5], dtype=torch.float64)
    ht = torch.autograd.functional.hessian(lambda v: torch.tanh(v[0] * v[1]) + torch.exp(v[0]) / v[1], xt).numpy()
    assert hxx == pytest.approx(ht[0, 0], rel=1e-12)
    assert_allclose(np.array(blocks), ht, rtol=1e-12)
    as_list = hessian(lambda v: f(v[0], v[1]))([1.5, -0.5])
    assert isinstance(as_list, list) and len(as_list) == 2 and all(len(row) == 2 for row in as_list)
    assert_allclose(np.array(as_list), ht, rtol=1e-12)


def test_hvp_is_the_hessian_times_v_without_forming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    f = lambda x: ((x @ a).tanh() * x).sum()  # noqa: E731
    x, v = rng.normal(size=6), rng.normal(size=6)
    product = hvp(f, x, v)
    assert product.shape == x.shape
    assert_allclose(product, hessian(f)(x) @ v, rtol=1e-10)
    from scratchgrad import functional

    calls = []
    monkeypatch.setattr(functional, "gradients", lambda *a, **k: calls.append(1) or gradients(*a, **k))
    big = rng.normal(size=300)
    assert hvp(lambda x: (x.tanh() * x).sum(), big, big).shape == (300,)
    assert len(calls) == 2  # two reverse passes, whatever the size: no n x n Hessian
    assert hvp(lambda x: x**4, 2.0, 1.0) == 48.0
    assert hvp(lambda xs: xs[0] ** 2 * xs[1], [1.0, 3.0], [1.0, 0.0]) == [6.0, 2.0]


def test_a_variable_of_an_enclosing_grad_is_differentiated_too() -> None:
    # d/dx [x * d/dy (x y)] = d/dx x^2 = 2x: the inner gradient depends on x, so it must stay
    # in the graph (JAX's "perturbation confusion" test) though the inner call got a number.
    assert grad(lambda x: x * grad(lambda y: x * y)(2.0))(3.0) == 6.0
    arrays = grad(lambda x: (x * grad(lambda y: (x * y).sum())(np.ones(2))).sum())(np.array([1.0, 2.0]))
    assert_allclose(arrays, [2.0, 4.0])


def test_closing_over_a_models_weights_returns_values_connected_to_them() -> None:
    w = Value(0.5)
    slope = grad(lambda x: (w * x).tanh())(1.0)  # depends on w: a Value, so a penalty can use it
    assert isinstance(slope, Value) and w in topological_order(slope)
    (slope * slope).backward()
    wt = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    xt = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    (gx,) = torch.autograd.grad(torch.tanh(wt * xt), xt, create_graph=True)
    (gx * gx).backward()
    assert w.grad == pytest.approx(wt.grad.item(), rel=1e-12)


def test_the_functional_api_leaves_every_grad_attribute_alone() -> None:
    w = Value(0.5)
    w.grad = 7.0
    hessian(lambda x: (w * x).tanh() * x)(1.0)
    grad(lambda x: (w * x).tanh())(1.0)
    assert w.grad == 7.0
    t = Tensor([1.0, 2.0], requires_grad=True)
    grad(lambda x: (x * t).sum())(np.array([3.0, 4.0]))
    assert t.grad is None


def test_the_functional_api_works_inside_no_grad() -> None:
    with no_grad():
        assert grad(lambda x: x * x)(3.0) == 6.0
        assert hessian(lambda x: (x**3).sum())(np.array([1.0, 2.0])).tolist() == [[6.0, 0.0], [0.0, 12.0]]


def test_zero_derivatives_where_the_output_does_not_depend_on_an_argument() -> None:
    assert grad(lambda x, y: x * 2.0 + y * 0.0, argnums=(0, 1))(3.0, 4.0) == (2.0, 0.0)
    assert grad(lambda x, y: x.tanh(), argnums=1)(Value(3.0), 4.0).data == 0.0  # y unused
    assert hessian(lambda x: x * 3.0)(1.0) == 0.0  # linear: the second derivative is 0
    assert hessian(lambda x: x.relu() * 2.0)(1.0) == 0.0
    assert grad(lambda x: Value(5.0))(1.0).data == 0.0  # a Value made inside f: the result is a Value


# ---- errors that name the fix -------------------------------------------------------------------------


def test_differentiating_a_gradient_computed_without_create_graph_names_the_fix() -> None:
    def first_derivative(x: Value) -> Any:
        y = x**3
        y.backward()  # a plain number: not in the graph
        return x.grad

    with pytest.raises(TypeError, match=r"got float.*backward\(create_graph=True\)"):
        grad(first_derivative)(2.0)

    def tensor_derivative(x: Tensor) -> Any:
        (x * x).sum().backward()
        return x.grad.sum()

    with pytest.raises(TypeError, match=r"got float64|got ndarray|create_graph=True"):
        grad(tensor_derivative)(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"create_graph=True"):
        gradients(12.0, [Value(2.0)])
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    with pytest.raises(RuntimeError, match=r"create_graph=True"):
        Tensor(x.grad).sum().backward()


def test_the_hessian_of_a_non_scalar_function_says_what_shape_was_expected() -> None:
    with pytest.raises(ValueError, match=r"hessian: f must return a scalar \(a Tensor of shape \(\) or one element\), got a Tensor of shape \(3,\)"):
        hessian(lambda x: x * x)(np.ones(3))
    with pytest.raises(ValueError, match=r"hessian: f must return a scalar \(one Value\), got a list of 2 values.*jacobian\(jacobian\(f\)\)"):
        hessian(lambda x: [x * x, x])(1.0)
    with pytest.raises(ValueError, match=r"grad: .*shape \(2, 2\).*use jacobian\(f\)"):
        grad(lambda x: x * 2.0)(np.ones((2, 2)))


def test_bad_arguments_are_refused_by_name() -> None:
    with pytest.raises(TypeError, match=r"grad: argument 0 must be a number.*got str"):
        grad(lambda x: x)("2")
    with pytest.raises(ValueError, match="argnums 2 is out of range for a call with 2 argument"):
        grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)
    with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints"):
        grad(lambda x: x, argnums=1.5)(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mix arrays or Tensors with numbers"):
        grad(lambda x, y: x, argnums=(0, 1))(1.0, np.ones(2))
    with pytest.raises(ValueError, match=r"hvp: v must have x's shape \(3,\), got \(2,\)"):
        hvp(lambda x: (x * x).sum(), np.ones(3), np.ones(2))
    assert grad(lambda x: x * x).__name__ == "grad(<lambda>)"


# ---- second derivatives of every op ---------------------------------------------------------------------


def _pre(x: Any, positive: bool, sig: Callable[[Any], Any]) -> Any:
    """A smooth map in front of an op, so its input is an interior node: into (0.2, 2.2) for
    inputs that must be positive, (-2, 2) otherwise."""
    return sig(x) * 2.0 + 0.2 if positive else sig(x) * 4.0 - 2.0


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@fuzz(12)
@given(data=st.data())
def test_hessians_of_every_tensor_op_match_pytorch(op: OpSpec, data: st.DataObject) -> None:
    arrays, kwargs = data.draw(op.case, label="inputs")
    assume(sum(a.size for a in arrays) <= 24)
    out_shape = op.ours(*[Tensor(a) for a in arrays], **kwargs).shape
    weights = data.draw(st.lists(st.floats(-1, 1), min_size=int(np.prod(out_shape)), max_size=int(np.prod(out_shape))))
    w = np.array(weights).reshape(out_shape)
    positive = [i in op.positive or i in op.bounded for i in range(len(arrays))]

    def ours(*xs: Tensor) -> Tensor:
        inner = [_pre(x, p, Tensor.sigmoid) for x, p in zip(xs, positive)]
        return (op.ours(*inner, **kwargs).tanh() * w).sum()

    def theirs(*xs: torch.Tensor) -> torch.Tensor:
        inner = [_pre(x, p, torch.sigmoid) for x, p in zip(xs, positive)]
        return (torch.tanh(op.torch_ref(*inner, **kwargs)) * torch.from_numpy(w)).sum()

    k = len(arrays)
    h = hessian(ours, argnums=tuple(range(k)))(*arrays)
    ht = torch.autograd.functional.hessian(theirs, tuple(torch.tensor(a) for a in arrays))
    scale = max([1.0] + [float(np.abs(ht[i][j].numpy()).max()) for i in range(k) for j in range(k) if ht[i][j].numel()])
    for i in range(k):
        for j in range(k):
            assert h[i][j].shape == tuple(ht[i][j].shape)
            assert_allclose(h[i][j], ht[i][j].numpy(), rtol=1e-9, atol=1e-11 * scale, err_msg=f"d2/d(x{i}) d(x{j})")


def _flat_tensor_function(op: OpSpec, arrays: list[np.ndarray], kwargs: dict[str, Any]) -> Callable[[Tensor], Tensor]:
    """The op (behind smooth maps) as a scalar function of one flat Tensor of all its inputs."""
    sizes = [a.size for a in arrays]
    positive = [i in op.positive or i in op.bounded for i in range(len(arrays))]
    rng = np.random.default_rng(len(sizes))

    def f(flat: Tensor) -> Tensor:
        parts, start = [], 0
        for a, n, p in zip(arrays, sizes, positive):
            parts.append(_pre(flat[start : start + n].reshape(a.shape), p, Tensor.sigmoid))
            start += n
        out = op.ours(*parts, **kwargs)
        return (out.tanh() * rng_weights(out.shape)).sum()

    weights: dict[tuple[int, ...], np.ndarray] = {}

    def rng_weights(shape: tuple[int, ...]) -> np.ndarray:
        if shape not in weights:
            weights[shape] = rng.uniform(-1, 1, size=shape)
        return weights[shape]

    return f


@pytest.mark.parametrize("op", [op for op in OPS if op.smooth], ids=lambda op: op.name)
@fuzz(6)
@given(data=st.data())
def test_derivatives_to_order_2_of_every_smooth_tensor_op_match_finite_differences(op: OpSpec, data: st.DataObject) -> None:
    arrays, kwargs = data.draw(op.case, label="inputs")
    assume(sum(a.size for a in arrays) <= 24)
    flat = np.concatenate([a.ravel() for a in arrays])
    check_derivatives(_flat_tensor_function(op, arrays, kwargs), flat, order=2)


SCALAR_OPS = [op for op in OPS if op.value_fn is not None or op.scalar_fn is not None]


@pytest.mark.parametrize("op", [op for op in SCALAR_OPS if op.smooth], ids=lambda op: op.name)
@fuzz(10)
@given(data=st.data())
def test_derivatives_to_order_2_of_every_scalar_op_match_finite_differences(op: OpSpec, data: st.DataObject) -> None:
    arrays, kwargs = data.draw(op.case, label="inputs")
    if op.scalar_fn is None:  # elementwise: one entry of each input
        arrays = [np.array(a).ravel()[:1].reshape(()) if a.size else np.zeros(()) for a in np.broadcast_arrays(*arrays)]
    flat = [float(v) for a in arrays for v in np.ravel(a)]
    sizes = [a.size for a in arrays]
    positive = [i in op.positive or i in op.bounded for i in range(len(arrays))]

    def f(xs: list[Value]) -> Value:
        parts, start = [], 0
        for a, n, p in zip(arrays, sizes, positive):
            mapped = [_pre(x, p, Value.sigmoid) for x in xs[start : start + n]]
            parts.append(mapped if a.ndim else mapped[0])
            start += n
        out = op.scalar_fn(*parts, **kwargs) if op.scalar_fn else op.value_fn(*parts, **kwargs)  # type: ignore[misc]
        return out.tanh()

    check_derivatives(f, flat, order=2)


def test_check_derivatives_catches_a_wrong_second_derivative(monkeypatch: pytest.MonkeyPatch) -> None:
    from scratchgrad import engine

    # A tanh whose first derivative is right but is a plain number even when recorded:
    # every gradient is right, and every second derivative through tanh is missing a term.
    monkeypatch.setattr(engine._TANH, "formula", lambda out, x: 1 - float(out) ** 2)
    check_derivatives(lambda xs: xs[0].tanh() * 3.0, [0.4], order=1)
    with pytest.raises(AssertionError, match="order 2"):
        check_derivatives(lambda xs: xs[0].tanh() * 3.0, [0.4], order=2)


# ---- random graphs on the scalar engine -------------------------------------------------------------------

# Every scalar op of the registry: elementwise ops through value_fn (one Value per input,
# numbers from the op's case), fused ones (sum_values, weighted_sum) through scalar_fn.


@st.composite
def scalar_programs(draw: st.DrawFn, smooth_only: bool) -> tuple[list[float], list[tuple[OpSpec, list[Any], dict[str, Any]]]]:
    ops = [op for op in SCALAR_OPS if op.smooth or not smooth_only]
    inputs = draw(st.lists(st.floats(-1.5, 1.5), min_size=1, max_size=3))
    steps = []
    available = len(inputs)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(ops))
        arrays, kwargs = draw(op.case)
        pick = st.integers(0, available - 1)
        if op.scalar_fn is not None:  # lists of node indices shaped like the case's arrays
            n = draw(st.integers(1, 3))
            args: list[Any] = [[draw(pick) for _ in range(n)] if a.ndim else draw(pick) for a in arrays]
            if op.name == "weighted_sum":
                args = [[draw(pick) for _ in range(n)], [draw(pick) for _ in range(n)], draw(pick)]
        else:
            args = [draw(pick) for _ in arrays]
        steps.append((op, args, kwargs))
        available += 1
    return inputs, steps


def _run_program(steps: list[tuple[OpSpec, list[Any], dict[str, Any]]], xs: list[Any], engine: str) -> Any:
    nodes = list(xs)
    sig = Value.sigmoid if engine == "ours" else torch.sigmoid

    def node(i: int, positive: bool) -> Any:
        return _pre(nodes[i], True, sig) if positive else nodes[i]

    for op, args, kwargs in steps:
        guarded = [
            [node(i, k in op.positive or k in op.bounded) for i in a] if isinstance(a, list) else node(a, k in op.positive or k in op.bounded)
            for k, a in enumerate(args)
        ]
        if engine == "ours":
            out = op.scalar_fn(*guarded, **kwargs) if op.scalar_fn else op.value_fn(*guarded, **kwargs)  # type: ignore[misc]
        else:
            tensors = [torch.stack(g) if isinstance(g, list) else g for g in guarded]
            out = op.torch_ref(*tensors, **kwargs)
        nodes.append(out)
    return nodes[-1] * 0.5 + nodes[-2] if len(nodes) > 1 else nodes[-1]


@fuzz(150)
@given(program=scalar_programs(smooth_only=False))
def test_second_derivatives_of_random_scalar_graphs_match_pytorch(program: Any) -> None:
    inputs, steps = program
    ours = hessian(lambda xs: _run_program(steps, xs, "ours"))(inputs)
    value = _run_program(steps, [Value(x) for x in inputs], "ours").data
    assume(math.isfinite(value) and abs(value) < 1e6)
    xt = torch.tensor(inputs, dtype=torch.float64)
    theirs = torch.autograd.functional.hessian(lambda v: _run_program(steps, list(v), "torch"), xt).numpy()
    assume(np.all(np.isfinite(theirs)))
    scale = max(1.0, float(np.abs(theirs).max()))
    assert_allclose(np.array(ours, dtype=float).reshape(theirs.shape), theirs, rtol=1e-9, atol=1e-11 * scale)


@fuzz(60)
@given(program=scalar_programs(smooth_only=True))
def test_derivatives_to_order_2_of_random_scalar_graphs_match_finite_differences(program: Any) -> None:
    inputs, steps = program
    value = _run_program(steps, [Value(x) for x in inputs], "ours").data
    assume(math.isfinite(value) and abs(value) < 1e3)
    check_derivatives(lambda xs: _run_program(steps, xs, "ours"), inputs, order=2, rtol=1e-4, atol=1e-5)


# ---- third derivatives of closed forms --------------------------------------------------------------------

THIRD = [
    ("tanh", lambda x: x.tanh(), lambda x: -2 * (1 - math.tanh(x) ** 2) * (1 - 3 * math.tanh(x) ** 2)),
    ("exp", lambda x: x.exp(), math.exp),
    ("x**4", lambda x: x**4, lambda x: 24 * x),
    ("x**2.5", lambda x: x**2.5, lambda x: 2.5 * 1.5 * 0.5 * x**-0.5),
    ("log", lambda x: x.log(), lambda x: 2 / x**3),
    ("sigmoid", lambda x: x.sigmoid(), lambda x: (s := 1 / (1 + math.exp(-x))) * (1 - s) * (1 - 6 * s + 6 * s * s)),
    ("1/x", lambda x: 1 / x, lambda x: -6 / x**4),
    ("2**x", lambda x: 2**x, lambda x: math.log(2) ** 3 * 2**x),
]


@pytest.mark.parametrize("name, f, formula", THIRD, ids=[t[0] for t in THIRD])
@fuzz(10)
@given(x=st.floats(0.2, 2.5))
def test_third_derivatives_of_closed_forms_on_both_engines(name: str, f: Callable[[Any], Any], formula: Callable[[float], float], x: float) -> None:
    expected = formula(x)
    assert grad(grad(grad(f)))(x) == pytest.approx(expected, rel=1e-10, abs=1e-12)
    points = np.array([x, x / 2 + 0.1])
    third = jacobian(hessian(lambda t: f(t).sum()))(points)  # d3/dxi dxj dxk: diagonal for elementwise f
    assert third.shape == (2, 2, 2)
    for i, p in enumerate(points):
        assert third[i, i, i] == pytest.approx(formula(p), rel=1e-10, abs=1e-12)
    assert np.count_nonzero(third) <= 2


def test_relu_has_zero_second_derivative_everywhere_it_is_defined() -> None:
    for x in (-1.0, 0.5, 3.0):
        assert grad(grad(lambda v: v.relu() * v.relu()))(x) == (2.0 if x > 0 else 0.0)
        assert grad(grad(lambda v: v.relu()))(x) == 0.0
    assert hessian(lambda t: t.relu().sum())(np.array([-1.0, 2.0])).tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_every_output_of_gradients_is_in_the_graph_when_asked() -> None:
    a, b = Value(1.5), Value(-0.5)
    out = (a * b).tanh() + a.exp() / b
    ga, gb = gradients(out, [a, b], create_graph=True)
    assert isinstance(ga, Value) and a in topological_order(ga) and b in topological_order(gb)
    plain = gradients(out, [a, b])
    assert plain == [ga.data, gb.data]
    assert autograd.is_grad_enabled()
    assert sum_values([ga, gb]).data == pytest.approx(sum(plain))
