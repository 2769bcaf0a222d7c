"""What attention needs, beyond the op registry's parity tests (tests/op_registry.py runs every
new op against PyTorch, finite differences and second derivatives): the mistakes each op
refuses by name, and the fused scalar nodes' own promises."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from scratchgrad import Value, grad, hessian, no_grad, sum_values
from scratchgrad.fused import WeightRows, cross_entropy_values, linear_values, logsumexp_values, rms_norm_values, softmax_values
from scratchgrad.tensor import Tensor, causal_mask, cross_entropy, embedding, layer_norm, rms_norm, where


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        (lambda: embedding(Tensor(np.ones((5, 3))), np.array([0, 5])), IndexError, r"embedding: index 5 is out of range for weight of shape \(5, 3\) \(rows 0..4\)"),
        (lambda: embedding(Tensor(np.ones((5, 3))), np.array([-1])), IndexError, r"embedding: index -1 is out of range"),
        (lambda: embedding(Tensor(np.ones((5, 3))), np.array([0.5])), TypeError, r"embedding: indices must be integers, got dtype float64"),
        (lambda: embedding(Tensor(np.ones(5)), [0]), ValueError, r"embedding: weight must be \(num_embeddings, dim\), got shape \(5,\)"),
        (lambda: rms_norm(Tensor(np.ones((2, 4))), Tensor(np.ones(3))), ValueError, r"rms_norm: weight shape \(3,\) does not match input shape \(2, 4\) \(needs \(4,\)\)"),
        (lambda: rms_norm(Tensor(np.ones(())),), ValueError, r"rms_norm: the input needs a non-empty last axis, got shape \(\)"),
        (lambda: layer_norm(Tensor(np.ones((2, 4))), None, Tensor(np.ones(5))), ValueError, r"layer_norm: bias shape \(5,\) does not match input shape \(2, 4\)"),
        (lambda: where(np.ones(3), Tensor(np.ones(3)), 0.0), TypeError, r"where: the condition must be a boolean array, got dtype float64"),
        (lambda: where(np.ones(3, bool), Tensor(np.ones(4)), 0.0), ValueError, r"where: shapes \(3,\) \(condition\), \(4,\) and \(\) cannot be broadcast together"),
        (lambda: Tensor(np.ones((2, 3))).masked_fill(np.ones((3, 3), bool), 0.0), ValueError, r"where: shapes \(3, 3\) \(condition\), \(\) and \(2, 3\)"),
        (lambda: causal_mask(0), ValueError, r"causal_mask: size must be a positive int, got 0"),
        (lambda: Tensor(1.0).softmax(), ValueError, r"softmax: needs at least one axis, got a 0-d tensor"),
        (lambda: Tensor(np.ones((2, 0))).softmax(), ValueError, r"softmax: cannot normalise over an empty axis"),
        (lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3))), ValueError, r"matmul: shapes \(2, 3\) and \(2, 3\) do not align \(3 != 2\)"),
        (lambda: Tensor(np.ones((4, 2, 3))) @ Tensor(np.ones((3, 3, 2))), ValueError, r"matmul: the batch dimensions of shapes \(4, 2, 3\) and \(3, 3, 2\)"),
        (lambda: cross_entropy(np.ones((2, 3, 4)), np.zeros((2, 4), dtype=int)), ValueError, r"logits shape \(2, 3, 4\) needs targets of shape \(2, 3\), got \(2, 4\)"),
        (lambda: cross_entropy(np.ones((2, 3, 4)), np.full((2, 3), 7)), ValueError, r"target 7 is out of range for 4 classes"),
    ],
)
def test_mistakes_name_the_op_and_the_shapes(make, error, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        make()


def test_embedding_gradients_add_up_over_repeated_tokens() -> None:
    w = Tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    out = embedding(w, np.array([[1, 3, 1], [1, 0, 0]]))
    assert out.shape == (2, 3, 3) and out.data[0, 0].tolist() == [3.0, 4.0, 5.0]
    out.sum().backward()
    assert w.grad[:, 0].tolist() == [2.0, 3.0, 0.0, 1.0]  # row 1 picked three times, row 2 never


def test_the_causal_mask_hides_the_future_and_is_shared_read_only() -> None:
    mask = causal_mask(3)
    assert mask.tolist() == [[False, True, True], [False, False, True], [False, False, False]]
    assert causal_mask(3) is mask and not mask.flags.writeable
    scores = Tensor(np.zeros((3, 3)), requires_grad=True)
    weights = scores.masked_fill(mask, -math.inf).softmax(-1)
    assert np.allclose(weights.data, [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]])
    weights.backward(np.arange(9.0).reshape(3, 3))
    assert scores.grad[0].tolist() == [0.0, 0.0, 0.0] and scores.grad[2, 2] != 0  # hidden entries get nothing


def test_softmax_is_stable_and_one_node() -> None:
    x = Tensor(np.array([[1000.0, 1001.0, -np.inf], [-1e300, 0.0, 1e300]]), requires_grad=True)
    s = x.softmax(-1)
    assert s._op == "softmax" and s._prev == (x,) and np.isfinite(s.data).all()
    assert np.allclose(s.data.sum(-1), 1.0)


def test_sequence_cross_entropy_ignores_padding_like_pytorch() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2, 4, 5))
    t = np.array([[1, 2, 3, -100], [4, -100, -100, -100]])
    ours = Tensor(z, requires_grad=True)
    loss = cross_entropy(ours, t)
    loss.backward()
    ref = torch.tensor(z, requires_grad=True)
    theirs = torch.nn.functional.cross_entropy(ref.reshape(-1, 5), torch.from_numpy(t).reshape(-1))
    theirs.backward()
    assert float(loss.data) == pytest.approx(theirs.item(), rel=1e-12)
    assert np.allclose(ours.grad, ref.grad.numpy(), atol=1e-15) and not ours.grad[1, 1:].any()
    padded = cross_entropy(Tensor(z), t, reduction="none").data
    assert padded[0, 3] == 0.0 and padded.shape == (2, 4)
    float32 = cross_entropy(Tensor(z.astype(np.float32)), t)
    assert float32.dtype == np.float32


def test_new_ops_keep_float32() -> None:
    x = Tensor(np.ones((2, 3, 4), np.float32), requires_grad=True)
    w = Tensor(np.ones(4, np.float32), requires_grad=True)
    out = (rms_norm(x, w) + layer_norm(x, w, w)).gelu().masked_fill(causal_mask(4)[:3], -1.0)
    out = out.softmax(1)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == w.grad.dtype == np.float32


# ---- the fused scalar nodes ----------------------------------------------------------------------------


def _values(xs: list[float]) -> list[Value]:
    return [Value(x) for x in xs]


def test_fused_scalar_nodes_are_one_node_each_with_the_right_derivatives() -> None:
    z = _values([1.0, 2.0, -0.5])
    p = softmax_values(z)
    assert [v._op for v in p] == ["softmax"] * 3 and p[0]._prev[1]._op == "logsumexp"
    expected = torch.softmax(torch.tensor([1.0, 2.0, -0.5], dtype=torch.float64), 0).numpy()
    assert np.allclose([v.data for v in p], expected, rtol=1e-15)
    p[1].backward()
    assert [v.grad for v in z] == pytest.approx([-expected[1] * expected[0], expected[1] * (1 - expected[1]), -expected[1] * expected[2]])
    loss = cross_entropy_values(z, 2)
    assert loss._op == "cross_entropy" and len(loss._prev) == 3
    assert loss.data == pytest.approx(-math.log(expected[2]))
    assert logsumexp_values(z).data == pytest.approx(math.log(sum(math.exp(v) for v in (1.0, 2.0, -0.5))))
    y = rms_norm_values(z)
    assert {v._op for v in y} == {"*"} and y[0]._prev[1]._op == "1/rms"
    assert sum(v.data**2 for v in y) / 3 == pytest.approx(1.0, rel=1e-4)


def test_fused_nodes_differentiate_twice() -> None:
    def f(xs: list[Value]) -> Value:
        return cross_entropy_values([a * b for a, b in zip(softmax_values(xs), rms_norm_values(xs))], 1)

    def reference(t: torch.Tensor) -> torch.Tensor:
        s = torch.softmax(t, 0) * torch.nn.functional.rms_norm(t, (3,), eps=1e-5)
        return torch.nn.functional.cross_entropy(s[None], torch.tensor([1]))

    x = [0.3, -1.2, 0.8]
    ours = np.array(hessian(f)(x), dtype=float)
    theirs = torch.autograd.functional.hessian(reference, torch.tensor(x, dtype=torch.float64)).numpy()
    assert np.allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_linear_values_with_bias_and_fused_relu_are_exact() -> None:
    x = _values([0.5, -1.0, 2.0])
    W = [_values([1.0, 0.0, 0.5]), _values([-1.0, 1.0, 0.0]), _values([0.2, 0.3, -0.1])]
    b = _values([0.1, 0.2, -2.0])
    out = linear_values(x, W, bias=b, relu=True)
    assert [v.data for v in out] == pytest.approx([1.6, 0.0, 0.0])
    assert out[0]._op == "relu(w·x+b)" and out[1]._prev == () and out[2]._prev == ()  # off: the constant 0
    later = linear_values(out, [_values([2.0, 3.0, 4.0])])[0]
    assert len(later._prev) == 2  # the units that are off drop out of the next layer
    later.backward()
    assert W[0][0].grad == 2.0 * 0.5 and W[1][0].grad == 0.0 and b[0].grad == 2.0 and b[1].grad == 0.0
    assert x[0].grad == 2.0 * 1.0
    # the same numbers and gradients as relu(w . x + b) built from the engine's own operations
    x2, W2, b2 = _values([0.5, -1.0, 2.0]), [_values(r) for r in ([1.0, 0.0, 0.5], [-1.0, 1.0, 0.0], [0.2, 0.3, -0.1])], _values([0.1, 0.2, -2.0])
    plain = [sum_values([w * xi for w, xi in zip(row, x2)] + [bj]).relu() for row, bj in zip(W2, b2)]
    (2.0 * plain[0] + 3.0 * plain[1] + 4.0 * plain[2]).backward()
    assert [w.grad for row in W for w in row] == [w.grad for row in W2 for w in row]
    assert [v.grad for v in x] == [v.grad for v in x2]


def test_linear_values_second_derivatives_match_the_engines_products() -> None:
    def fused(v: list[Value]) -> Value:
        h = linear_values(v[:2], [v[2:4], v[4:6]], bias=v[6:8], scale=0.5)
        return (h[0] * h[1]).tanh()

    def plain(v: list[Value]) -> Value:
        h = [0.5 * (v[2] * v[0] + v[3] * v[1]) + v[6], 0.5 * (v[4] * v[0] + v[5] * v[1]) + v[7]]
        return (h[0] * h[1]).tanh()

    point = [0.3, -0.7, 1.1, 0.4, -0.2, 0.9, 0.05, -0.3]
    assert np.allclose(np.array(hessian(fused)(point), float), np.array(hessian(plain)(point), float), rtol=1e-12, atol=1e-14)
    assert grad(lambda v: fused(v))(point) == pytest.approx(grad(plain)(point), rel=1e-13)


def test_fused_nodes_refuse_what_they_cannot_take() -> None:
    with pytest.raises(ValueError, match="linear_values: rows of 2 weights for 3 inputs"):
        linear_values(_values([1.0, 2.0, 3.0]), [_values([1.0, 2.0])])
    with pytest.raises(TypeError, match="linear_values: the inputs must be Values"):
        linear_values([1.0, 2.0], [_values([1.0, 2.0])])
    with pytest.raises(ValueError, match="WeightRows: the rows have different lengths"):
        WeightRows([_values([1.0]), _values([1.0, 2.0])])
    with pytest.raises(ValueError, match="bias must be 1 Values"):
        linear_values(_values([1.0]), [_values([1.0])], bias=_values([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"cross_entropy_values: target must be a class index 0..1, got 2"):
        cross_entropy_values(_values([1.0, 2.0]), 2)
    with pytest.raises(ValueError, match="softmax of a non-finite value"):
        softmax_values(_values([1.0, math.nan]))
    with pytest.raises(TypeError, match="softmax_values: item 0 must be a Value or a number"):
        softmax_values(["a"])
    with pytest.raises(ValueError, match="needs at least one value"):
        rms_norm_values([])


def test_fused_nodes_record_nothing_under_no_grad() -> None:
    x = _values([0.5, 1.5])
    with no_grad():
        out = linear_values(x, [_values([1.0, 2.0])])[0]
        probs = softmax_values(x)
    assert out._prev == () and out.data == 3.5 and all(p._prev == () for p in probs)
