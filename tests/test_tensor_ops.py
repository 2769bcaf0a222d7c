"""The Tensor engine's operations: values and gradients against PyTorch float64 (every op
of tests/op_registry.py over hypothesis-drawn shapes), finite differences, the scalar
engine, and the behaviour around them: errors, seeds, accumulation, no_grad, detach,
dtypes and numerical edge cases."""

from __future__ import annotations

import gc
import random

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose

from op_registry import ELEMENTWISE, OPS, OpSpec
from scratchgrad import Value, enable_grad, gradcheck, is_grad_enabled, no_grad
from scratchgrad.tensor import Tensor, concatenate, cross_entropy, linear, matmul, stack

def fuzz(examples: int) -> settings:
    """Modest, explicit example counts: the whole file runs in seconds."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _leaves(arrays: list[np.ndarray]) -> tuple[list[Tensor], list[torch.Tensor]]:
    return [Tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]


# ---- every op against PyTorch ----------------------------------------------------------------------


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@fuzz(30)
@given(data=st.data())
def test_value_and_gradient_match_pytorch(op: OpSpec, data: st.DataObject) -> None:
    arrays, kwargs = data.draw(op.case, label="inputs")
    ours, theirs = _leaves(arrays)
    out = op.ours(*ours, **kwargs)
    ref = op.torch_ref(*theirs, **kwargs)
    assert isinstance(out, Tensor) and out.dtype == np.float64
    assert out.shape == tuple(ref.shape)
    assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)

    seed = data.draw(hnp.arrays(np.float64, out.shape, elements=st.floats(-2, 2, width=64)), label="seed")
    out.backward(seed)
    ref.backward(torch.from_numpy(seed))
    for i, (leaf, reference) in enumerate(zip(ours, theirs)):
        expected = reference.grad.numpy() if reference.grad is not None else np.zeros(leaf.shape)
        assert leaf.grad is not None, f"input {i} got no gradient"
        assert leaf.grad.shape == leaf.shape and leaf.grad.dtype == np.float64
        assert_allclose(leaf.grad, expected, rtol=1e-9, atol=1e-11, err_msg=f"gradient of input {i}")


@pytest.mark.parametrize("op", [op for op in OPS if op.smooth], ids=lambda op: op.name)
@fuzz(4)
@given(data=st.data())
def test_gradient_matches_finite_differences(op: OpSpec, data: st.DataObject) -> None:
    arrays, kwargs = data.draw(op.case, label="inputs")
    result = gradcheck(lambda *xs: op.ours(*xs, **kwargs), [Tensor(a) for a in arrays], atol=1e-6, rtol=1e-5)
    assert result, str(result)


@pytest.mark.parametrize(
    ("name", "f", "inputs"),
    [
        ("relu", lambda x: x.relu(), [np.array([-2.0, -0.5, 0.7, 3.0])]),
        ("abs", lambda x: x.abs(), [np.array([[-2.0, 0.3], [1.5, -0.1]])]),
        ("max", lambda x: x.max(axis=1), [np.array([[1.0, 3.0, 2.0], [-1.0, -2.0, -0.5]])]),
        ("min", lambda x: x.min(axis=0, keepdims=True), [np.array([[1.0, 3.0, 2.0], [-1.0, 4.0, -0.5]])]),
        ("mlp", lambda x, w, b: cross_entropy(linear(x, w, b).tanh() * 2.0, np.array([0, 2, 1])), None),
    ],
)
def test_non_smooth_ops_match_finite_differences_away_from_kinks(name: str, f, inputs) -> None:
    if inputs is None:
        rng = np.random.default_rng(5)
        inputs = [rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=3)]
    result = gradcheck(f, inputs, atol=1e-6, rtol=1e-5)
    assert result, str(result)


@pytest.mark.parametrize("op", ELEMENTWISE, ids=lambda op: op.name)
@fuzz(10)
@given(data=st.data())
def test_elementwise_ops_agree_with_the_scalar_engine(op: OpSpec, data: st.DataObject) -> None:
    arrays, kwargs = data.draw(op.case, label="inputs")
    arrays = [np.array(a) for a in np.broadcast_arrays(*arrays)]  # one scalar per entry on each side
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = op.ours(*leaves, **kwargs)
    out.backward(np.ones(out.shape))
    assert op.value_fn is not None
    for index in np.ndindex(out.shape):
        values = [Value(float(a[index])) for a in arrays]
        expected = op.value_fn(*values, **kwargs)
        expected.backward()
        assert out.data[index] == pytest.approx(expected.data, rel=1e-12, abs=1e-300)
        for leaf, v in zip(leaves, values):
            assert leaf.grad is not None
            assert leaf.grad[index] == pytest.approx(v.grad, rel=1e-12, abs=1e-15)


# ---- shape, type and domain errors -----------------------------------------------------------------


def test_broadcasting_mistakes_name_the_op_and_both_shapes() -> None:
    a, b = Tensor(np.ones((3, 4))), Tensor(np.ones((5,)))
    for op, name in [(lambda: a + b, "add"), (lambda: a - b, "sub"), (lambda: a * b, "mul"), (lambda: a / b, "div")]:
        with pytest.raises(ValueError, match=rf"^{name}: shapes \(3, 4\) and \(5,\) cannot be broadcast together$"):
            op()
    with pytest.raises(ValueError, match=r"add: shapes \(3, 4\) and \(2,\)"):
        a + np.ones(2)


def test_matmul_mistakes_name_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"^matmul: shapes \(3, 4\) and \(5, 2\) do not align \(4 != 5\)$"):
        Tensor(np.ones((3, 4))) @ Tensor(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"matmul: shapes \(3,\) and \(4,\) do not align"):
        matmul(np.ones(3), Tensor(np.ones(4)))
    with pytest.raises(ValueError, match=r"matmul: both operands need at least 1 dimension, got shapes \(\) and \(3,\)"):
        Tensor(2.0) @ Tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"matmul: the batch dimensions of shapes \(2, 3, 4\) and \(3, 4, 5\)"):
        Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((3, 4, 5)))


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: Tensor(np.ones((3, 4))).reshape(5, 2), r"reshape: cannot reshape a tensor of shape \(3, 4\) \(12 entries\) into \(5, 2\)"),
        (lambda: Tensor(np.ones((3, 4))).transpose(0, 0), r"transpose: axes \(0, 0\) are not a permutation of the 2 axes of shape \(3, 4\)"),
        (lambda: Tensor(np.ones((3, 4))).sum(axis=2), r"sum: axis 2 is out of range for a tensor of shape \(3, 4\)"),
        (lambda: Tensor(np.ones((3, 4))).max(axis=-3), r"max: axis -3 is out of range"),
        (lambda: Tensor(np.ones((3, 4))).mean(axis=(0, 0)), r"mean: axis \(0, 0\) repeats an axis"),
        (lambda: Tensor(np.ones((0, 4))).max(axis=0), r"max: cannot reduce over an empty axis \(shape \(0, 4\), axis 0\)"),
        (lambda: Tensor(np.ones((0, 4))).mean(axis=0), r"mean: cannot average over an empty axis"),
        (lambda: concatenate([np.ones((2, 3)), np.ones((2, 4))]), r"concatenate: shapes \(2, 3\) and \(2, 4\) differ outside axis 0"),
        (lambda: concatenate([]), r"concatenate: needs at least one tensor"),
        (lambda: concatenate([Tensor(1.0)]), r"concatenate: 0-d tensors cannot be concatenated"),
        (lambda: stack([np.ones(2), np.ones(3)]), r"stack: shapes \(2,\) and \(3,\) differ"),
        (lambda: linear(np.ones((5, 3)), Tensor(np.ones((4, 2)))), r"linear: input shape \(5, 3\) does not fit weight shape \(4, 2\)"),
        (lambda: linear(np.ones((5, 2)), Tensor(np.ones((4, 2))), Tensor(np.ones(3))), r"linear: bias shape \(3,\) does not match weight shape \(4, 2\)"),
        (lambda: cross_entropy(np.ones((4, 3)), np.array([0, 1])), r"cross_entropy: logits shape \(4, 3\) needs targets of shape \(4,\), got \(2,\)"),
        (lambda: cross_entropy(np.ones((2, 3)), np.array([0, 3])), r"cross_entropy: target 3 is out of range for 3 classes"),
        (lambda: cross_entropy(np.ones((2, 3)), np.array([0, -1])), r"cross_entropy: target -1 is out of range"),
        (lambda: cross_entropy(np.ones((2, 3)), np.array([0, 1]), reduction="avg"), r"reduction must be 'mean', 'sum' or 'none'"),
        (lambda: cross_entropy(np.ones((2, 0)), np.zeros(2, dtype=int)), r"logits must have shape \(\.\.\., C\) with C >= 1"),
        (lambda: cross_entropy(np.ones((2, 3, 4)), np.full((2, 3), -100), ), r"the mean over 6 positions that all have the ignored target -100"),
        (lambda: Tensor([[1.0, 2.0], [3.0]]), r"Tensor data must be rectangular"),
    ],
)
def test_shape_mistakes_raise_value_errors_that_say_what_is_wrong(make, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        make()


def test_axis_errors_are_also_index_errors_like_numpy() -> None:
    with pytest.raises(IndexError):
        Tensor(np.ones(3)).sum(axis=1)


def test_indexing_mistakes_raise_index_errors_with_the_shape() -> None:
    with pytest.raises(IndexError, match=r"getitem: .*out of bounds.*\(tensor of shape \(3,\)\)"):
        Tensor(np.ones(3))[5]
    with pytest.raises(IndexError, match=r"a Tensor used as an index must hold whole numbers"):
        Tensor(np.ones(3))[Tensor([0.5])]
    x = Tensor(np.arange(4.0), requires_grad=True)
    x[Tensor([1.0, 1.0, 3.0])].sum().backward()  # whole-number floats in a Tensor are indices
    assert x.grad.tolist() == [0.0, 2.0, 0.0, 1.0]


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: Tensor("abc"), r"Tensor data must be numeric, got str"),
        (lambda: Tensor([1.0, None]), r"must be numeric .*found NoneType"),
        (lambda: Tensor([1.0, "x"]), r"must be numeric \(int, float or bool\), got dtype <U"),
        (lambda: Tensor(object()), r"must be numeric"),
        (lambda: Tensor([Value(1.0)]), r"found Value"),
        (lambda: Tensor([1 + 2j]), r"must be real, got complex"),
        (lambda: Tensor([1.0], dtype=np.int64), r"dtype must be float64 or float32, got int64"),
        (lambda: Tensor([1.0], dtype="float16"), r"dtype must be float64 or float32, got float16"),
        (lambda: Tensor([1.0]) + "x", r"unsupported operand type\(s\) for \+: 'Tensor' and 'str'"),
        (lambda: "x" * Tensor([1.0]), r"unsupported operand type\(s\) for \*: 'str' and 'Tensor'"),
        (lambda: Tensor([1.0]) @ {"a": 1}, r"unsupported operand type\(s\) for @: 'Tensor' and 'dict'"),
        (lambda: Tensor([1.0]) ** None, r"unsupported operand type\(s\) for \*\*: 'Tensor' and 'NoneType'"),
        (lambda: Tensor([1.0, 2.0]) + [1.0, "a"], r"\+: operand must be numeric"),
        (lambda: Tensor(np.ones(3)).sum(axis=1.0), r"sum: axis must be None, an int or a tuple of ints"),
        (lambda: cross_entropy(np.ones((2, 3)), np.array([0.0, 1.0])), r"targets must be integer class indices, got dtype float64"),
    ],
)
def test_non_numeric_data_raises_type_errors_naming_the_type(make, pattern: str) -> None:
    with pytest.raises(TypeError, match=pattern):
        make()


def test_integer_and_bool_data_become_float64_and_float32_is_kept() -> None:
    assert Tensor([1, 2, 3]).dtype == np.float64
    assert Tensor(np.array([1, 2], dtype=np.int32)).dtype == np.float64
    assert Tensor([True, False]).data.tolist() == [1.0, 0.0]
    assert Tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert Tensor(np.ones(2, dtype=np.float32), dtype=np.float64).dtype == np.float64
    assert Tensor([1, 2], dtype="float32").dtype == np.float32
    assert Tensor(5).shape == () and Tensor([]).shape == (0,)


def test_tensor_copies_its_data_but_from_numpy_shares_it() -> None:
    a = np.ones(3)
    t, shared = Tensor(a), Tensor.from_numpy(a)
    a[0] = 7.0
    assert t.data[0] == 1.0 and shared.data[0] == 7.0


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        (lambda: Tensor([1.0, 1000.0]).exp(), OverflowError, r"exp overflows float64 for inputs above 709.78 \(largest: 1000.0\)"),
        (lambda: Tensor(np.array([100.0], dtype=np.float32)).exp(), OverflowError, r"exp overflows float32 for inputs above 88.72"),
        (lambda: Tensor([1.0, 0.0]).log(), ValueError, r"log is only defined for positive inputs; 1 entries are <= 0"),
        (lambda: Tensor([-1.0, -2.0]).log(), ValueError, r"2 entries are <= 0 \(min -2.0\)"),
        (lambda: Tensor([1.0]) / Tensor([0.0]), ZeroDivisionError, r"div: the divisor \(shape \(1,\)\) has 1 zero entries"),
        (lambda: Tensor([1.0]) / 0, ZeroDivisionError, r"div: division of a tensor of shape \(1,\) by zero"),
        (lambda: 1.0 / Tensor([1.0, 0.0]), ZeroDivisionError, r"has 1 zero entries"),
        (lambda: Tensor([0.0, 1.0]) ** -1, ZeroDivisionError, r"zero cannot be raised to the negative power -1"),
        (lambda: Tensor([-8.0]) ** 0.5, ValueError, r"a negative base to the non-integer power 0.5 is not a real number"),
        (lambda: Tensor([-2.0]) ** Tensor([2.0]), ValueError, r"pow: a tensor exponent needs a positive base"),
        (lambda: (-2.0) ** Tensor([2.0]), ValueError, r"needs a positive base"),
    ],
)
def test_math_domain_errors_raise_instead_of_returning_nan_or_inf(make, error, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        make()


def test_saturating_functions_stay_finite_and_match_pytorch() -> None:
    x = np.array([-1e308, -1000.0, -710.0, -30.0, 0.0, 30.0, 710.0, 1000.0, 1e308])
    for ours_fn, torch_fn in [(Tensor.sigmoid, torch.sigmoid), (Tensor.tanh, torch.tanh)]:
        leaf, ref = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, expected = ours_fn(leaf), torch_fn(ref)
        out.sum().backward()
        expected.sum().backward()
        assert np.isfinite(out.data).all() and np.isfinite(leaf.grad).all()
        # atol: sigmoid(-710) = e^-710 is a subnormal 4.5e-309 here; PyTorch flushes it to 0.
        assert_allclose(out.data, expected.detach().numpy(), rtol=1e-14, atol=1e-300)
        assert_allclose(leaf.grad, ref.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_softmax_family_and_cross_entropy_are_stable_for_huge_logits() -> None:
    z = np.array([[1000.0, 0.0, -1000.0], [-1e5, -1e5 + 1.0, -1e5 + 2.0], [3.0, 3.0, 3.0]])
    targets = np.array([2, 0, 1])
    leaf, ref = Tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    loss = cross_entropy(leaf, targets) + leaf.log_softmax().sum() * 1e-3 + leaf.softmax(axis=0).max()
    expected = (
        torch.nn.functional.cross_entropy(ref, torch.from_numpy(targets))
        + torch.log_softmax(ref, dim=-1).sum() * 1e-3
        + torch.softmax(ref, dim=0).amax()
    )
    loss.backward()
    expected.backward()
    assert np.isfinite(loss.data) and np.isfinite(leaf.grad).all()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    assert_allclose(leaf.grad, ref.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_fused_cross_entropy_equals_the_derived_negative_log_softmax() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=(6, 4)) * 5
    t = rng.integers(0, 4, size=6)
    fused_leaf, derived_leaf = Tensor(z, requires_grad=True), Tensor(z, requires_grad=True)
    fused = cross_entropy(fused_leaf, t)
    derived = -derived_leaf.log_softmax()[np.arange(6), t].mean()
    fused.backward()
    derived.backward()
    assert fused.item() == pytest.approx(derived.item(), rel=1e-13)
    assert_allclose(fused_leaf.grad, derived_leaf.grad, rtol=1e-12, atol=1e-15)


def test_nan_propagates_through_values() -> None:
    x = Tensor([np.nan, 1.0], requires_grad=True)
    out = (x.relu() + x.tanh() + x.sigmoid() + x.exp() + (x * x).log() + x.abs() + x.max()).sum()
    assert np.isnan(out.data)
    out.backward()
    assert np.isnan(x.grad[0])


# ---- backward: seeds, accumulation, graphs ---------------------------------------------------------------


def test_backward_needs_a_seed_for_non_scalar_outputs() -> None:
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"a starting gradient is required for a non-scalar output \(shape \(2, 3\)\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"the gradient's shape \(3,\) does not match the output's shape \(2, 3\)"):
        (x * 2).backward(np.ones(3))
    with pytest.raises(TypeError, match=r"backward: grad must be numeric"):
        (x * 2).backward("ones")
    y = x * 2
    y.backward(np.full((2, 3), 0.5))
    assert_allclose(x.grad, np.ones((2, 3)))
    z = Tensor([3.0], requires_grad=True)
    (z * z).backward()  # one element: the seed 1 is implicit, as in PyTorch
    assert z.grad.tolist() == [6.0]


def test_backward_refuses_a_tensor_that_needs_no_gradient() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0]) * 2).sum().backward()


def test_grad_is_none_until_backward_reaches_a_leaf() -> None:
    a, b = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    unused = Tensor([5.0], requires_grad=True)
    (a * 3).sum().backward()
    assert a.grad is not None and b.grad is None and unused.grad is None
    assert (a * 3).grad is None  # interior results keep no gradient (PyTorch's default)


def test_gradients_accumulate_like_pytorch() -> None:
    rng = np.random.default_rng(0)
    x0, w0 = rng.normal(size=(4, 3)), rng.normal(size=(3,))
    x, w = Tensor(x0, requires_grad=True), Tensor(w0, requires_grad=True)
    xt, wt = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)

    def ours() -> Tensor:
        h = (x * w).tanh()  # h used twice: both uses contribute
        return (h * h + h).sum() + (x @ w).max()

    def theirs() -> torch.Tensor:
        h = (xt * wt).tanh()
        return (h * h + h).sum() + (xt @ wt).amax()

    loss, expected = ours(), theirs()
    loss.backward()
    expected.backward(retain_graph=True)
    loss.backward()  # the graph is kept: a second call adds the same gradients again
    expected.backward()
    ours().backward()
    theirs().backward()
    assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12)
    assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-12)


def test_a_leaf_used_many_times_and_passed_through_gets_its_own_gradient_array() -> None:
    x = Tensor(np.ones(3), requires_grad=True)
    y = x + x  # add passes the same gradient array to both sides
    y.backward(np.array([1.0, 2.0, 3.0]))
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    seed = np.array([1.0, 1.0, 1.0])
    z = Tensor(np.zeros(3), requires_grad=True)
    z.backward(seed)
    seed[0] = 100.0  # the caller's seed is not the leaf's gradient
    assert z.grad.tolist() == [1.0, 1.0, 1.0]
    w = Tensor(np.zeros(3), requires_grad=True)
    (w + 0.0).backward(np.ones(3))
    w.grad[0] = 5.0  # writable, and not shared with anything
    assert w.grad.tolist() == [5.0, 1.0, 1.0]


def test_repeated_fancy_indices_add_their_gradients() -> None:
    x = Tensor(np.arange(5.0), requires_grad=True)
    (x[np.array([0, 0, 3, 0])] * Tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert x.grad.tolist() == [7.0, 0.0, 0.0, 3.0, 0.0]


def test_max_splits_the_gradient_evenly_among_ties_like_amax() -> None:
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    assert_allclose(x.grad, [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    y = Tensor([5.0, 5.0], requires_grad=True)
    y.max().backward()
    assert y.grad.tolist() == [0.5, 0.5]


def test_deep_graphs_need_no_recursion() -> None:
    x = Tensor([0.5], requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    assert x.grad[0] == pytest.approx(1.0001**20_000, rel=1e-9)


def test_graphs_are_freed_without_the_cycle_collector() -> None:
    def live_tensors() -> int:
        return sum(1 for o in gc.get_objects() if type(o) is Tensor)

    gc.collect()
    gc.disable()
    try:
        before = live_tensors()
        w = Tensor(np.ones((3, 3)), requires_grad=True)
        for _ in range(3):
            loss = ((Tensor(np.ones((2, 3))) @ w).relu() ** 2).mean()
            loss.backward()
            assert live_tensors() > before + 1  # the graph is alive while loss is
            del loss
        # With the collector off, only reference counting freed the graphs: no cycles.
        assert live_tensors() == before + 1
    finally:
        gc.enable()


# ---- no_grad, detach, requires_grad -----------------------------------------------------------------------


def test_no_grad_records_nothing_and_is_shared_with_value() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        y = (x * 2).exp().sum()
        v = Value(1.0) * Value(2.0)
        with enable_grad():
            z = x * 3
    assert y.requires_grad is False and y._prev == () and y.is_leaf
    assert v._prev == ()
    assert z.requires_grad and z._prev == (x,)

    @no_grad()
    def predict(t: Tensor) -> Tensor:
        return t * 2

    assert not predict(x).requires_grad
    assert is_grad_enabled()


def test_detach_shares_data_and_blocks_the_gradient() -> None:
    x = Tensor([3.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.data is x.data
    (x * d).sum().backward()  # d is a constant: d(x*d)/dx = d = 3, not 2x = 6
    assert x.grad.tolist() == [3.0]


def test_requires_grad_only_where_asked() -> None:
    a, b = Tensor([1.0]), Tensor([2.0], requires_grad=True)
    assert not (a * 2).requires_grad
    assert (a * b).requires_grad
    (a * b).sum().backward()
    assert a.grad is None and b.grad.tolist() == [1.0]
    with pytest.raises(RuntimeError, match="only leaves can stop requiring grad"):
        (a * b).requires_grad_(False)
    assert a.requires_grad_().requires_grad


# ---- dtypes ---------------------------------------------------------------------------------------------


def test_float32_stays_float32_through_ops_and_gradients() -> None:
    rng = np.random.default_rng(1)
    x = Tensor(rng.normal(size=(4, 3)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.normal(size=(2, 3)).astype(np.float32), requires_grad=True)
    out = cross_entropy(linear(x, w).tanh() * 2.0 + 1, np.array([0, 1, 1, 0])) + (x.sigmoid() / 3).mean()
    assert out.dtype == np.float32
    out.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32
    xt = torch.tensor(x.data, requires_grad=True)
    wt = torch.tensor(w.data, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(torch.tanh(xt @ wt.T) * 2.0 + 1, torch.tensor([0, 1, 1, 0])) + (torch.sigmoid(xt) / 3).mean()
    ref.backward()
    assert out.item() == pytest.approx(ref.item(), rel=1e-5)
    assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_mixing_dtypes_follows_numpy_and_gradients_keep_each_leafs_dtype() -> None:
    single = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    double = Tensor(np.full(2, 2.0), requires_grad=True)
    out = single * double
    assert out.dtype == np.float64  # float32 with float64 gives float64, as numpy and PyTorch
    assert (single * 2.5).dtype == np.float32  # a Python number never changes the dtype
    assert (single * np.float64(2.5)).dtype == np.float32  # numpy scalars count as numbers
    out.sum().backward()
    assert single.grad.dtype == np.float32 and double.grad.dtype == np.float64
    assert single.grad.tolist() == [2.0, 2.0]
    cast = double.astype(np.float32)
    assert cast.dtype == np.float32
    cast.sum().backward()
    assert double.grad.dtype == np.float64 and double.grad.tolist() == [2.0, 2.0]


# ---- the two engines agree -------------------------------------------------------------------------------


def _seed_mlp_on_both_engines(seed: int):
    from scratchgrad.nn import MLP
    from scratchgrad.tensor_nn import Linear, Sequential, Tanh

    random.seed(seed)
    scalar = MLP(3, [4, 4, 1])  # the seed's network: tanh everywhere, output included
    layers = []
    for layer in scalar.layers:
        nin = len(layer.neurons[0].w)
        linear_layer = Linear(nin, len(layer.neurons))
        linear_layer.weight.data = np.array([[w.data for w in n.w] for n in layer.neurons])
        linear_layer.bias.data = np.array([n.b.data for n in layer.neurons])
        layers += [linear_layer, Tanh()]
    return scalar, Sequential(*layers)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_value_and_tensor_engines_agree_on_the_seeds_mlp(seed: int) -> None:
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    scalar, tensor_model = _seed_mlp_on_both_engines(seed)

    ypred = [scalar(x) for x in xs]
    loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))  # the seed's loss cell
    loss.backward()

    tensor_loss = ((tensor_model(np.array(xs)).reshape(-1) - np.array(ys)) ** 2).sum()
    tensor_loss.backward()

    assert tensor_loss.item() == pytest.approx(loss.data, rel=1e-12, abs=1e-12)
    for layer_index, layer in enumerate(scalar.layers):
        lin = tensor_model[2 * layer_index]
        expected_w = np.array([[w.grad for w in n.w] for n in layer.neurons])
        expected_b = np.array([n.b.grad for n in layer.neurons])
        assert_allclose(lin.weight.grad, expected_w, rtol=1e-12, atol=1e-12)
        assert_allclose(lin.bias.grad, expected_b, rtol=1e-12, atol=1e-12)


def test_repr_and_conversions() -> None:
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(Tensor([1.0], requires_grad=True)) == "Tensor([1.], requires_grad=True)"
    assert "dtype=float32" in repr(Tensor(np.ones(1, dtype=np.float32)))
    assert Tensor([[2.5]]).item() == 2.5 and float(Tensor(3.0)) == 3.0
    with pytest.raises(ValueError, match=r"item: only one-element tensors .* got shape \(2,\)"):
        Tensor([1.0, 2.0]).item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(Tensor(1.0))
    rows = list(Tensor(np.arange(6.0).reshape(3, 2)))
    assert len(rows) == 3 and rows[1].tolist() == [2.0, 3.0]
    assert Tensor(np.arange(6.0).reshape(2, 3)).argmax(axis=1).tolist() == [2, 2]
    t = Tensor([1.0, 2.0], requires_grad=True)
    assert np.asarray(t) is t.data and t.numpy() is t.data  # for plotting and numpy code
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    with pytest.raises(TypeError, match="does not support ufuncs"):
        np.exp(t)  # numpy would silently drop the graph: use t.exp()
    assert (np.ones(2) + t).requires_grad  # ndarray (op) Tensor is the Tensor's reflected op
