"""scratchgrad.optim: SGD and Adam step by step against torch.optim, on Values and numpy arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchgrad import Value
from scratchgrad.nn import MLP
from scratchgrad.optim import SGD, Adam, CosineDecay, LinearDecay, StepDecay

torch = pytest.importorskip("torch")

START = [0.5, -1.5, 2.0, 0.0, -0.25]
SCALE = [1.0, 2.0, -0.5, 3.0, 0.7]


def objective_value(params):
    """A bumpy function of 5 Values: sum tanh(a_i p_i) + 0.3 a_i p_i^2 + exp(p_0 p_1 / 10)."""
    total = Value(0.0)
    for p, a in zip(params, SCALE):
        total = total + (p * a).tanh() + 0.3 * a * p * p
    return total + (params[0] * params[1] / 10).exp()


def objective_torch(t):
    a = torch.tensor(SCALE, dtype=torch.float64)
    return (torch.tanh(a * t) + 0.3 * a * t * t).sum() + torch.exp(t[0] * t[1] / 10)


class ArrayParam:
    """The smallest thing an optimizer accepts: numpy .data and .grad (like the Tensor engine)."""

    def __init__(self, data):
        self.data = np.array(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)


CONFIGS = [
    (SGD, dict(lr=0.05)),
    (SGD, dict(lr=0.05, momentum=0.9)),
    (SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (SGD, dict(lr=0.05, momentum=0.8, weight_decay=0.1)),
    (SGD, dict(lr=0.03, momentum=0.7, weight_decay=0.01, nesterov=True)),
    (SGD, dict(lr=0.05, momentum=0.9, dampening=0.3)),
    (Adam, dict(lr=0.05)),
    (Adam, dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6)),
    (Adam, dict(lr=0.05, weight_decay=0.1)),
]
TORCH = {SGD: torch.optim.SGD, Adam: torch.optim.Adam}


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=[f"{c.__name__}-{k}" for c, k in CONFIGS])
def test_matches_torch_optim_on_values(cls, kwargs):
    params = [Value(x) for x in START]
    opt = cls(params, **kwargs)
    t = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    topt = TORCH[cls]([t], **kwargs)
    for step in range(20):
        opt.zero_grad()
        loss = objective_value(params)
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = objective_torch(t)
        tloss.backward()
        topt.step()
        assert loss.data == pytest.approx(tloss.item(), abs=1e-12), f"step {step}"
        assert [p.data for p in params] == pytest.approx(t.tolist(), abs=1e-12), f"step {step}"
    assert all(type(p.data) is float for p in params), "Values keep plain float data"
    assert max(abs(p.data - s) for p, s in zip(params, START)) > 0.1, "the parameters did move"


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=[f"{c.__name__}-{k}" for c, k in CONFIGS])
def test_matches_torch_optim_on_numpy_arrays(cls, kwargs):
    matrix, vector = ArrayParam([START[:2], START[2:4]]), ArrayParam([START[4]])
    opt = cls([matrix, vector], **kwargs)
    t = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    topt = TORCH[cls]([t], **kwargs)
    for step in range(20):
        opt.zero_grad()
        assert matrix.grad is None  # the one rule: an array gradient is cleared to None
        topt.zero_grad()
        objective_torch(t).backward()
        # The array engine's gradient, here taken from torch at our own current point.
        ours = torch.tensor(np.concatenate([matrix.data.ravel(), vector.data]), requires_grad=True)
        objective_torch(ours).backward()
        g = ours.grad.numpy()
        matrix.grad, vector.grad = g[:4].reshape(2, 2).copy(), g[4:].copy()
        opt.step()
        topt.step()
        got = np.concatenate([matrix.data.ravel(), vector.data])
        assert got == pytest.approx(t.detach().numpy(), abs=1e-12), f"step {step}"
    assert matrix.data.shape == (2, 2) and isinstance(matrix.data, np.ndarray)


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_float32_arrays_stay_float32(cls):
    p = ArrayParam([1.0, 2.0])
    p.data = p.data.astype(np.float32)
    p.grad = np.array([0.5, -0.5], dtype=np.float32)
    opt = cls([p], lr=0.1, momentum=0.9) if cls is SGD else cls([p], lr=0.1)
    opt.step()
    opt.step()
    assert p.data.dtype == np.float32


def test_parameters_without_grad_are_skipped():
    used, unused = Value(1.0), ArrayParam([1.0])
    unused.grad = None
    used.grad = 2.0
    for opt in (SGD([used, unused], lr=0.1, momentum=0.5), Adam([used, unused], lr=0.1)):
        opt.step()
        opt.zero_grad()
        assert unused.grad is None and unused.data[0] == 1.0 and used.grad == 0.0


def test_accepts_a_module():
    model = MLP(2, [2, 1], seed=0)
    opt = SGD(model, lr=0.1)
    assert opt.params == model.parameters()


def test_state_dict_resumes_exactly():
    def run(steps, opt_state=None):
        params = [Value(x) for x in START]
        opt = Adam(params, lr=0.05, weight_decay=0.01)
        if opt_state is not None:
            params_data, state = opt_state
            for p, d in zip(params, params_data):
                p.data = d
            opt.load_state_dict(state)
        for _ in range(steps):
            opt.zero_grad()
            objective_value(params).backward()
            opt.step()
        return [p.data for p in params], opt.state_dict()

    straight, _ = run(10)
    halfway = run(5)
    resumed, state = run(5, halfway)
    assert [x.hex() for x in resumed] == [x.hex() for x in straight]
    assert state["steps"] == 10 and state["type"] == "Adam"
    with pytest.raises(ValueError, match="not SGD"):
        SGD([Value(1.0)], lr=0.1).load_state_dict(state)

    params = [Value(1.0), Value(2.0)]
    sgd = SGD(params, lr=0.1, momentum=0.9)
    params[0].grad, params[1].grad = 1.0, -1.0
    sgd.step()
    copy = SGD([Value(1.0), Value(2.0)], lr=0.5)
    copy.load_state_dict(sgd.state_dict())
    assert copy.lr == 0.1 and copy.momentum == 0.9 and copy._momentum_buffer == [1.0, -1.0]
    with pytest.raises(ValueError, match="buffers do not match"):
        SGD([Value(1.0)], lr=0.1).load_state_dict(sgd.state_dict())


def test_bad_hyperparameters_name_the_parameter():
    p = [Value(1.0)]
    for kwargs, name in [
        (dict(lr=0.0), "lr"),
        (dict(lr=-0.1), "lr"),
        (dict(lr=float("nan")), "lr"),
        (dict(lr=0.1, momentum=-0.5), "momentum"),
        (dict(lr=0.1, weight_decay=-1.0), "weight_decay"),
        (dict(lr=0.1, dampening=-1.0), "dampening"),
    ]:
        with pytest.raises(ValueError, match=f"^{name} must be"):
            SGD(p, **kwargs)
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0"):
        SGD(p, lr=0.1, nesterov=True)
    for kwargs, name in [
        (dict(lr=0.0), "lr"),
        (dict(betas=(1.0, 0.999)), r"betas\[0\]"),
        (dict(betas=(0.9, -0.1)), r"betas\[1\]"),
        (dict(eps=-1e-8), "eps"),
        (dict(weight_decay=-0.1), "weight_decay"),
    ]:
        with pytest.raises(ValueError, match=f"^{name} must be"):
            Adam(p, **kwargs)
    with pytest.raises(ValueError, match="betas must be a pair"):
        Adam(p, betas=0.9)
    with pytest.raises(ValueError, match="params is empty"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="params is empty"):
        Adam(iter([]))
    with pytest.raises(TypeError, match=r"params\[1\] has no .data and .grad"):
        SGD([Value(1.0), 3.0], lr=0.1)
    with pytest.raises(ValueError, match=r"params\[1\] appears more than once"):
        SGD(p + p, lr=0.1)
    opt = SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="lr must be"):
        opt.lr = -1.0
    opt.lr = 0.0  # a schedule may end at zero


# ---- schedules ----------------------------------------------------------------------------


def test_linear_decay_is_micrograds_schedule_exactly():
    opt = SGD([Value(1.0)], lr=1.0)
    sched = LinearDecay(opt, total_steps=100, final_lr=0.1)
    seen = []
    for k in range(100):
        seen.append(opt.lr)
        assert opt.lr == 1.0 - 0.9 * k / 100
        sched.step()
    assert opt.lr == pytest.approx(0.1) and sched.get_lr() == opt.lr
    sched.step()
    assert opt.lr == pytest.approx(0.1), "stays at the final rate"
    assert seen[0] == 1.0 and seen[-1] == pytest.approx(0.109)


def test_step_and_cosine_decay_vs_torch_schedulers():
    t = torch.zeros(1, requires_grad=True)
    for ours_cls, torch_cls, kw, tkw in [
        (StepDecay, torch.optim.lr_scheduler.StepLR, dict(step_size=3, gamma=0.5), dict(step_size=3, gamma=0.5)),
        (CosineDecay, torch.optim.lr_scheduler.CosineAnnealingLR, dict(total_steps=10, min_lr=0.01), dict(T_max=10, eta_min=0.01)),
    ]:
        opt = SGD([Value(1.0)], lr=0.2)
        sched = ours_cls(opt, **kw)
        topt = torch.optim.SGD([t], lr=0.2)
        tsched = torch_cls(topt, **tkw)
        for _ in range(10):
            assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], abs=1e-12)
            topt.step()
            tsched.step()
            sched.step()
    assert opt.lr == pytest.approx(0.01)
    sched.step()
    assert opt.lr == pytest.approx(0.01), "cosine stays at min_lr after total_steps"


def test_schedule_errors():
    opt = SGD([Value(1.0)], lr=0.1)
    with pytest.raises(ValueError, match="total_steps must be a positive int"):
        LinearDecay(opt, 0)
    with pytest.raises(ValueError, match="step_size must be a positive int"):
        StepDecay(opt, 1.5)
    with pytest.raises(ValueError, match="gamma must be"):
        StepDecay(opt, 2, gamma=0.0)
    with pytest.raises(ValueError, match="min_lr must be"):
        CosineDecay(opt, 10, min_lr=-1.0)
    with pytest.raises(TypeError, match="needs an optimizer"):
        CosineDecay(object(), 10)
    assert math.isclose(CosineDecay(opt, 4).lr_at(2), 0.05)
