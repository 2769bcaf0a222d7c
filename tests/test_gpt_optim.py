"""AdamW and clip_grad_norm: equal to torch.optim.AdamW and torch.nn.utils.clip_grad_norm_ to
1e-12, on Values and on Tensors; Adam's fast path for Values takes the generic path's steps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchgrad import Value
from scratchgrad.optim import OPTIMIZERS, Adam, AdamW, clip_grad_norm, make_optimizer
from scratchgrad.tensor import Tensor

HYPER = st.fixed_dictionaries(
    {
        "lr": st.floats(1e-4, 0.5),
        "beta1": st.floats(0.0, 0.99),
        "beta2": st.floats(0.5, 0.9999),
        "eps": st.sampled_from([1e-8, 1e-6, 1e-3]),
        "weight_decay": st.floats(0.0, 0.5),
        "max_norm": st.floats(0.01, 10.0),
        "seed": st.integers(0, 2**16),
    }
)


def _engines(initial: np.ndarray, kind: type, lr: float, betas: tuple[float, float], eps: float, weight_decay: float):
    tensor = Tensor(initial.copy(), requires_grad=True)
    values = [Value(float(x)) for x in initial.ravel()]
    reference = torch.tensor(initial.copy(), requires_grad=True)
    torch_kind = torch.optim.AdamW if kind is AdamW else torch.optim.Adam
    options = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    return (tensor, kind([tensor], **options)), (values, kind(values, **options)), (reference, torch_kind([reference], **options))


@pytest.mark.parametrize("kind", [AdamW, Adam])
@settings(max_examples=25, deadline=None)
@given(hyper=HYPER)
def test_adamw_and_clipping_equal_pytorch_on_both_engines(kind: type, hyper: dict) -> None:
    rng = np.random.default_rng(hyper["seed"])
    initial = rng.normal(size=(4, 3))
    betas = (hyper["beta1"], hyper["beta2"])
    (tensor, t_opt), (values, v_opt), (reference, r_opt) = _engines(initial, kind, hyper["lr"], betas, hyper["eps"], hyper["weight_decay"])
    for _ in range(8):
        g = rng.normal(size=initial.shape) * rng.choice([0.1, 1.0, 30.0])
        tensor.grad = g.copy()
        for v, gi in zip(values, g.ravel()):
            v.grad = float(gi)
        reference.grad = torch.tensor(g)
        expected = torch.nn.utils.clip_grad_norm_([reference], hyper["max_norm"]).item()
        assert clip_grad_norm([tensor], hyper["max_norm"]) == pytest.approx(expected, rel=1e-12)
        assert clip_grad_norm(values, hyper["max_norm"]) == pytest.approx(expected, rel=1e-12)
        assert np.allclose(tensor.grad, reference.grad.numpy(), rtol=1e-12, atol=0)
        t_opt.step()
        v_opt.step()
        r_opt.step()
        torch_data = reference.detach().numpy()
        assert np.allclose(tensor.data, torch_data, rtol=1e-12, atol=1e-15)
        assert np.array_equal(np.array([v.data for v in values]).reshape(initial.shape), tensor.data)  # the same bits


def test_adamw_defaults_and_registry_entry_are_pytorchs() -> None:
    opt = AdamW([Value(1.0)])
    assert (opt.lr, opt.betas, opt.eps, opt.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 1e-2)
    assert isinstance(make_optimizer("adamw", [Value(1.0)]), AdamW) and OPTIMIZERS["adamw"].default_lr == 3e-3
    assert repr(opt) == "AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01)"
    p = Value(2.0)
    p.grad = 0.0
    AdamW([p], lr=0.1, weight_decay=0.5).step()
    assert p.data == 2.0 * (1 - 0.1 * 0.5)  # decoupled: the weight shrinks even with no gradient


def test_clip_grad_norm_edge_cases() -> None:
    a, b = Tensor(np.array([3.0, 0.0]), requires_grad=True), Tensor(np.array([4.0]), requires_grad=True)
    a.grad, b.grad = np.array([3.0, 0.0]), None  # None is skipped
    assert clip_grad_norm([a, b], 10.0) == 3.0 and a.grad.tolist() == [3.0, 0.0]
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([-4.0])
    assert clip_grad_norm([a, b], math.inf, norm_type=math.inf) == 4.0
    assert clip_grad_norm([a, b], 1.0) == 5.0
    assert np.allclose(np.concatenate([a.grad, b.grad]), np.array([3.0, 0.0, -4.0]) / (5.0 + 1e-6))
    assert clip_grad_norm([a, b], 0.0) == pytest.approx(1.0, rel=1e-6) and not a.grad.any()
    assert clip_grad_norm([Tensor(np.ones(2), requires_grad=True)], 1.0) == 0.0  # no gradients yet
    a.grad = np.array([np.inf, 1.0])
    with pytest.raises(FloatingPointError, match=r"total norm is inf: a NaN or infinite gradient \(nothing was clipped\)"):
        clip_grad_norm([a, b], 1.0)
    assert a.grad[1] == 1.0
    with pytest.raises(ValueError, match="max_norm must be a finite number >= 0"):  # or inf
        clip_grad_norm([a], -1.0)
    with pytest.raises(ValueError, match="norm_type must be a number > 0"):
        clip_grad_norm([a], 1.0, norm_type=0)
    with pytest.raises(TypeError, match=r"params\[0\] has no .grad"):
        clip_grad_norm([3.0], 1.0)


def test_the_fast_path_for_values_keeps_its_state_across_saves_and_recorded_gradients() -> None:
    values = [Value(x) for x in (0.5, -1.0, 2.0)]
    generic = [Tensor(np.array(x), requires_grad=True) for x in (0.5, -1.0, 2.0)]
    fast, slow = AdamW(values, lr=0.1), AdamW(generic, lr=0.1)
    for step in range(6):
        for v, t, g in zip(values, generic, (0.3, -0.2, 1.5 * step)):
            v.grad, t.grad = g, np.array(g)
        fast.step()
        slow.step()
        if step == 2:
            state = fast.state_dict()
            fast = AdamW(values, lr=0.1)
            fast.load_state_dict(state)
    assert [v.data for v in values] == [float(t.data) for t in generic]
    assert fast.state_dict()["buffers"]["param_steps"] == [6, 6, 6]
    x = Value(1.5)
    (x * x * x).backward(create_graph=True)  # a recorded gradient steps on its number, as PyTorch does
    AdamW([x], lr=0.1, weight_decay=0.0).step()
    assert isinstance(x.data, float) and x.data == pytest.approx(1.5 - 0.1)
