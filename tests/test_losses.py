"""scratchgrad.losses: value and gradient of every loss against PyTorch float64."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchgrad import Value
from scratchgrad.gradcheck import gradcheck
from scratchgrad.losses import (
    binary_cross_entropy_with_logits,
    hinge_loss,
    l1_penalty,
    l2_penalty,
    mean_squared_error,
    softmax_cross_entropy,
    squared_error,
)
from scratchgrad.nn import MLP

torch = pytest.importorskip("torch")
F = torch.nn.functional


def values(xs):
    return [Value(x) for x in xs]


def torch_leaf(xs):
    return torch.tensor(xs, dtype=torch.float64, requires_grad=True)


def check_against_torch(our_loss, torch_loss, preds, tensor, atol=1e-12):
    our_loss.backward()
    torch_loss.backward()
    assert our_loss.data == pytest.approx(torch_loss.item(), rel=1e-12, abs=atol)
    assert [p.grad for p in preds] == pytest.approx(tensor.grad.tolist(), rel=1e-12, abs=atol)


finite = st.floats(min_value=-20, max_value=20, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=8))
def test_squared_errors_vs_torch(pairs):
    preds, targets = [p for p, _ in pairs], [t for _, t in pairs]
    for ours, reduction in [(squared_error, "sum"), (mean_squared_error, "mean")]:
        p = values(preds)
        t = torch_leaf(preds)
        check_against_torch(
            ours(p, targets), F.mse_loss(t, torch.tensor(targets, dtype=torch.float64), reduction=reduction), p, t,
            atol=1e-9,
        )


def test_squared_error_is_the_seeds_sum_bit_for_bit():
    random.seed(0)
    ys = [1.0, -1.0, -1.0, 1.0]
    ypred = [Value(random.uniform(-1, 1)) for _ in ys]
    seed_loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
    assert squared_error(ypred, ys).data.hex() == seed_loss.data.hex()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(finite, st.sampled_from([-1.0, 1.0])), min_size=1, max_size=8))
def test_hinge_vs_torch(pairs):
    scores, labels = [s for s, _ in pairs], [y for _, y in pairs]
    s = values(scores)
    t = torch_leaf(scores)
    y = torch.tensor(labels, dtype=torch.float64)
    check_against_torch(hinge_loss(s, labels), torch.relu(1 - y * t).mean(), s, t)


def test_hinge_matches_micrograd_formula():
    random.seed(1)
    scores = [Value(random.uniform(-3, 3)) for _ in range(10)]
    labels = [random.choice([-1.0, 1.0]) for _ in range(10)]
    theirs = sum((1 + -yi * si).relu() for yi, si in zip(labels, scores)) / len(scores)
    assert hinge_loss(scores, labels).data.hex() == theirs.data.hex()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(min_value=-1000, max_value=1000, allow_nan=False), st.floats(min_value=0, max_value=1)),
        min_size=1,
        max_size=8,
    )
)
def test_bce_with_logits_vs_torch(pairs):
    logits, targets = [z for z, _ in pairs], [t for _, t in pairs]
    z = values(logits)
    t = torch_leaf(logits)
    ref = F.binary_cross_entropy_with_logits(t, torch.tensor(targets, dtype=torch.float64))
    # Losses up to 1000 in size: compare relative to the value.
    check_against_torch(binary_cross_entropy_with_logits(z, targets), ref, z, t, atol=1e-12)


@pytest.mark.parametrize("z", [1000.0, -1000.0, 0.0, 40.0, -40.0, 709.0, -745.0, 1e300])
@pytest.mark.parametrize("target", [0.0, 1.0, 0.25])
def test_bce_with_logits_is_stable_at_the_edges(z, target):
    v = Value(z)
    loss = binary_cross_entropy_with_logits([v], [target])
    loss.backward()
    assert math.isfinite(loss.data) and math.isfinite(v.grad)
    t = torch_leaf([z])
    ref = F.binary_cross_entropy_with_logits(t, torch.tensor([target], dtype=torch.float64))
    ref.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-12, abs=1e-15)
    sigmoid = 1 / (1 + math.exp(-z)) if z > -700 else 0.0
    assert v.grad == pytest.approx(sigmoid - target, abs=1e-15)
    assert v.grad == pytest.approx(t.grad.item(), abs=1e-15)


@pytest.mark.parametrize("target", [0.0, 0.3, 1.0])
def test_bce_gradient_at_zero_is_half_minus_target_on_both_engines(target):
    # A softplus built from relu(z) and |z| would give -t here (their slopes are 0 at 0);
    # PyTorch and sigmoid(0) - t say 1/2 - t.
    import numpy as np

    from scratchgrad.tensor import Tensor

    v = Value(0.0)
    binary_cross_entropy_with_logits([v], [target]).backward()
    z = Tensor(np.zeros(3), requires_grad=True)
    binary_cross_entropy_with_logits(z, np.full(3, target)).backward()
    t = torch_leaf([0.0])
    F.binary_cross_entropy_with_logits(t, torch.tensor([target], dtype=torch.float64)).backward()
    assert v.grad == pytest.approx(0.5 - target, abs=1e-16) and v.grad == pytest.approx(t.grad.item(), abs=1e-16)
    assert z.grad.tolist() == pytest.approx([(0.5 - target) / 3] * 3, abs=1e-16)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_softmax_cross_entropy_vs_torch(data):
    k = data.draw(st.integers(2, 5))
    n = data.draw(st.integers(1, 4))
    rows = [data.draw(st.lists(st.floats(-50, 50), min_size=k, max_size=k)) for _ in range(n)]
    targets = [data.draw(st.integers(0, k - 1)) for _ in range(n)]
    flat = [values(r) for r in rows]
    t = torch_leaf(rows)
    ref = F.cross_entropy(t, torch.tensor(targets))
    loss = softmax_cross_entropy(flat, targets)
    loss.backward()
    ref.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-12, abs=1e-12)
    assert [v.grad for r in flat for v in r] == pytest.approx(t.grad.flatten().tolist(), abs=1e-12)
    # A single sample: a list of logits and one index.
    single = values(rows[0])
    one = softmax_cross_entropy(single, targets[0])
    t1 = torch_leaf(rows[0])
    check_against_torch(one, F.cross_entropy(t1[None], torch.tensor([targets[0]])), single, t1)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    z = values([1000.0, -1000.0, 999.0])
    loss = softmax_cross_entropy(z, 2)
    loss.backward()
    assert loss.data == pytest.approx(1 + math.log1p(math.exp(-1)), rel=1e-12)
    assert all(math.isfinite(v.grad) for v in z)
    assert sum(v.grad for v in z) == pytest.approx(0.0, abs=1e-15)


def test_l2_penalty_vs_torch_and_micrograd():
    model = MLP(2, [3, 1], seed=0)
    params = model.parameters()
    penalty = l2_penalty(model, 1e-4)
    micrograd_style = 1e-4 * sum((p * p for p in params))
    assert penalty.data.hex() == micrograd_style.data.hex()
    t = torch_leaf([p.data for p in params])
    check_against_torch(penalty, 1e-4 * (t**2).sum(), params, t, atol=1e-16)
    assert l2_penalty(params, 0.0).data == 0.0


def test_l1_penalty_is_torchs_on_both_engines():
    import numpy as np

    from scratchgrad.nn import to_tensor

    model = MLP(2, [3, 1], seed=0)
    model.layers[0].neurons[0].w[1].data = 0.0  # |p| has slope 0 at 0, as torch.abs
    params = model.parameters()
    penalty = l1_penalty(model, 0.01)
    t = torch_leaf([p.data for p in params])
    check_against_torch(penalty, 0.01 * t.abs().sum(), params, t, atol=1e-16)
    assert params[1].grad == 0.0
    tensor = to_tensor(model)
    total = l1_penalty(tensor, 0.01)
    total.backward()
    assert total.data == pytest.approx(penalty.data, rel=1e-15)
    grads = np.concatenate([np.column_stack([l.weight.grad, l.bias.grad]).ravel() for l in tensor.layers])
    assert grads.tolist() == pytest.approx(t.grad.tolist(), abs=1e-16)
    assert l1_penalty(params, 0.0).data == 0.0
    with pytest.raises(ValueError, match="l1_penalty: alpha must be a finite number >= 0"):
        l1_penalty(params, math.nan)


def test_losses_pass_finite_differences():
    assert gradcheck(lambda a, b: binary_cross_entropy_with_logits([a, b], [1.0, 0.3]), [0.7, -2.0]).ok
    assert gradcheck(lambda a, b, c: softmax_cross_entropy([a, b, c], 1), [0.1, 2.0, -1.0]).ok
    assert gradcheck(lambda a, b: hinge_loss([a, b], [1.0, -1.0]), [0.2, 0.3]).ok
    assert gradcheck(lambda a, b: mean_squared_error([a, b], [1.0, -1.0]), [0.2, 0.3]).ok


def test_number_predictions_are_accepted():
    assert squared_error([0.5, 1.0], [1.0, 1.0]).data == 0.25
    assert hinge_loss([2.0], [1.0]).data == 0.0
    assert mean_squared_error(Value(3.0), 1.0).data == 4.0


def test_clear_errors():
    s = values([0.1, 0.2])
    with pytest.raises(ValueError, match="squared_error: 2 predictions but 3 targets"):
        squared_error(s, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="no predictions"):
        mean_squared_error([], [])
    with pytest.raises(ValueError, match=r"labels must be -1 or \+1, got labels\[1\] = 0.0 \(for 0/1 labels"):
        hinge_loss(s, [1.0, 0.0])
    with pytest.raises(ValueError, match=r"targets must be in \[0, 1\].*\(y \+ 1\) / 2"):
        binary_cross_entropy_with_logits(s, [1.0, -1.0])
    with pytest.raises(ValueError, match="targets\\[0\\] must be a finite number"):
        squared_error(s, [float("nan"), 1.0])
    with pytest.raises(TypeError, match="targets\\[0\\] is a Value"):
        squared_error(s, [Value(1.0), 1.0])
    with pytest.raises(ValueError, match="target 3 is out of range for 2 classes"):
        softmax_cross_entropy(s, 3)
    with pytest.raises(TypeError, match="target must be a class index"):
        softmax_cross_entropy(s, True)
    with pytest.raises(ValueError, match="at least 2 class logits"):
        softmax_cross_entropy([Value(1.0)], 0)
    with pytest.raises(ValueError, match="2 samples of logits but 1 targets"):
        softmax_cross_entropy([s, s], [0])
    with pytest.raises(TypeError, match=r"logits\[0\] is a single Value"):
        softmax_cross_entropy(s, [0, 1])
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        l2_penalty(s, -1.0)
    with pytest.raises(TypeError, match=r"params\[0\] must be a Value"):
        l2_penalty([1.0], 0.1)
    with pytest.raises(TypeError, match="predictions must be a list"):
        squared_error("ab", [1.0, 2.0])
