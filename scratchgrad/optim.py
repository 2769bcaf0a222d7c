"""Optimizers and learning-rate schedules, the same update rules as ``torch.optim``.

One optimizer serves both engines: it updates anything with ``.data`` and ``.grad``,
the scalar `Value` (floats) and the tensor engine's parameters (numpy arrays) alike. The arithmetic
only uses ``+ - * /`` and a square root, and rebinds ``p.data = p.data - ...``
instead of updating in place, so one code path serves both. A parameter whose
``grad`` is None (never reached by ``backward()``) is skipped, as in PyTorch.

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = LinearDecay(opt, total_steps=100, final_lr=0.01)
    for step in range(100):
        loss = ...; opt.zero_grad(); loss.backward(); opt.step(); sched.step()

By name, for apps and `fit`: ``OPTIMIZERS`` ('sgd', 'momentum', 'adam') with
`make_optimizer`, and ``SCHEDULES`` ('constant', 'linear', 'cosine', 'step') with
`make_schedule`. Adding one is one entry.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from scratchgrad.nn.module import zero_grad

Param = Any  # anything with .data and .grad (float or numpy array)


def _sqrt(x: Any) -> Any:
    """Square root of a float (math.sqrt keeps it a plain float) or of a numpy array."""
    if isinstance(x, (int, float)):
        return math.sqrt(x)
    import numpy as np

    return np.sqrt(x)


def _check_hyper(value: object, name: str, low: float, high: float = math.inf, low_open: bool = False) -> float:
    """``value`` as a float in [low, high) (or (low, high) when low_open), else ValueError naming it."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = (v > low if low_open else v >= low) and v < high
    if not ok:
        bound = f"{'>' if low_open else '>='} {low}" + (f" and < {high}" if high != math.inf else "")
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)  # type: ignore[arg-type]


class Optimizer:
    """Base class: holds the parameters and the learning rate; ``step()`` is the update."""

    def __init__(self, params: Iterable[Param], lr: float) -> None:
        get_parameters = getattr(params, "parameters", None)
        if callable(get_parameters):  # a Module: take its parameters
            params = get_parameters()
        if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
            raise TypeError(f"params must be a list of parameters, got {type(params).__name__}")
        self.params: list[Param] = list(params)
        if not self.params:
            raise ValueError("params is empty: the optimizer has nothing to update")
        seen: set[int] = set()
        for i, p in enumerate(self.params):
            if not (hasattr(p, "data") and hasattr(p, "grad")):
                raise TypeError(f"params[{i}] has no .data and .grad: {type(p).__name__} is not a parameter")
            if id(p) in seen:
                raise ValueError(f"params[{i}] appears more than once in params")
            seen.add(id(p))
        self.lr = _check_hyper(lr, "lr", 0.0, low_open=True)
        self.steps = 0

    @property
    def lr(self) -> float:
        """The learning rate used by the next ``step()``; schedules set it. Must be >= 0."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _check_hyper(value, "lr", 0.0)

    def zero_grad(self) -> None:
        """Clear every parameter's gradient (``backward()`` accumulates): a `Value`'s becomes
        0.0, a `Tensor`'s (or any array parameter's) None, as `scratchgrad.nn.zero_grad`."""
        zero_grad(self.params)

    def step(self) -> None:  # pragma: no cover - every optimizer defines it
        raise NotImplementedError

    def _gradients(self, weight_decay: float) -> Iterator[tuple[int, Param, Any]]:
        """``(index, parameter, gradient)`` of every parameter that has a gradient (None is
        skipped, as in PyTorch), with L2 weight decay added: grad + weight_decay * data."""
        for i, p in enumerate(self.params):
            g = p.grad
            if g is not None:
                yield i, p, (g + weight_decay * p.data if weight_decay else g)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr}

    def _buffers(self) -> dict[str, list[Any]]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, step count and per-parameter buffers (copied), to resume later."""
        return {
            "type": type(self).__name__,
            "steps": self.steps,
            **self._hyperparameters(),
            "buffers": {name: [_copy(b) for b in bufs] for name, bufs in self._buffers().items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned, for the same parameters in the same order."""
        if state.get("type") != type(self).__name__:
            raise ValueError(f"state dict is for {state.get('type')!r}, not {type(self).__name__}")
        buffers = state.get("buffers", {})
        own = self._buffers()
        if set(buffers) != set(own) or any(len(buffers[n]) != len(self.params) for n in own):
            raise ValueError(
                f"state dict buffers do not match this {type(self).__name__} with {len(self.params)} parameters"
            )
        hyper = {k: state[k] for k in self._hyperparameters() if k in state}
        for key, value in hyper.items():
            setattr(self, key, tuple(value) if isinstance(value, list) else value)
        for name, values in buffers.items():
            setattr(self, f"_{name}", [_copy(v) for v in values])
        self.steps = int(state.get("steps", 0))


def _copy(x: Any) -> Any:
    return x.copy() if hasattr(x, "copy") else x


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov and weight decay.

    As ``torch.optim.SGD``: g = grad + weight_decay * p; with momentum,
    buf = momentum * buf + (1 - dampening) * g (buf = g on the first step) and
    g = g + momentum * buf (Nesterov) or g = buf; then p = p - lr * g.
    """

    def __init__(
        self,
        params: Iterable[Param],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        dampening: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _check_hyper(momentum, "momentum", 0.0, 1.0)  # 1 or more never forgets: it diverges
        self.weight_decay = _check_hyper(weight_decay, "weight_decay", 0.0)
        self.dampening = _check_hyper(dampening, "dampening", 0.0)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0")
        self._momentum_buffer: list[Any] = [None] * len(self.params)

    def step(self) -> None:
        """One update of every parameter from its current ``grad``."""
        lr, mu = self.lr, self.momentum
        buffers = self._momentum_buffer
        for i, p, g in self._gradients(self.weight_decay):
            if mu:
                buf = buffers[i]
                # First step: the buffer starts as the gradient itself (a copy for arrays,
                # so later in-place changes to .grad cannot reach it).
                buf = _copy(g) if buf is None else mu * buf + (1.0 - self.dampening) * g
                buffers[i] = buf
                g = g + mu * buf if self.nesterov else buf
            p.data = p.data - lr * g
        self.steps += 1

    def _hyperparameters(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "nesterov": self.nesterov,
            "dampening": self.dampening,
        }

    def _buffers(self) -> dict[str, list[Any]]:
        return {"momentum_buffer": self._momentum_buffer}

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay}, nesterov={self.nesterov})"


class Adam(Optimizer):
    """Adam: per-parameter step sizes from running averages of the gradient and its square.

    As ``torch.optim.Adam``: g = grad + weight_decay * p (L2, not AdamW's decoupled decay);
    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    """

    def __init__(
        self,
        params: Iterable[Param],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_check_hyper(betas[0], "betas[0]", 0.0, 1.0), _check_hyper(betas[1], "betas[1]", 0.0, 1.0))
        self.eps = _check_hyper(eps, "eps", 0.0)
        self.weight_decay = _check_hyper(weight_decay, "weight_decay", 0.0)
        self._exp_avg: list[Any] = [0.0] * len(self.params)
        self._exp_avg_sq: list[Any] = [0.0] * len(self.params)
        self._param_steps: list[int] = [0] * len(self.params)

    def step(self) -> None:
        """One update of every parameter from its current ``grad``."""
        lr, eps = self.lr, self.eps
        beta1, beta2 = self.betas
        for i, p, g in self._gradients(self.weight_decay):
            # Each parameter counts its own steps: one skipped (grad None) keeps its bias correction right.
            t = self._param_steps[i] = self._param_steps[i] + 1
            m = self._exp_avg[i] = beta1 * self._exp_avg[i] + (1.0 - beta1) * g
            v = self._exp_avg_sq[i] = beta2 * self._exp_avg_sq[i] + (1.0 - beta2) * (g * g)
            step_size = lr / (1.0 - beta1**t)
            denom = _sqrt(v) / math.sqrt(1.0 - beta2**t) + eps
            p.data = p.data - step_size * (m / denom)
        self.steps += 1

    def _hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay}

    def _buffers(self) -> dict[str, list[Any]]:
        return {"exp_avg": self._exp_avg, "exp_avg_sq": self._exp_avg_sq, "param_steps": self._param_steps}

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps}, weight_decay={self.weight_decay})"


# ---- learning-rate schedules ----------------------------------------------------------------


class LRScheduler:
    """Sets ``optimizer.lr`` from the number of ``step()`` calls so far.

    The rate starts at the optimizer's lr at construction (``base_lr``); each ``step()``
    (call it once per epoch, or once per update, consistently) moves to the next value.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not hasattr(optimizer, "lr"):
            raise TypeError(f"a schedule needs an optimizer with an .lr attribute, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.last_step = 0

    def lr_at(self, step: int) -> float:  # pragma: no cover - every schedule defines it
        raise NotImplementedError

    def step(self) -> float:
        """Advance one step and set (and return) the optimizer's new learning rate."""
        self.last_step += 1
        lr = self.lr_at(self.last_step)
        self.optimizer.lr = lr
        return lr

    def get_lr(self) -> float:
        """The learning rate for the current step."""
        return self.lr_at(self.last_step)


def _check_steps(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _done(step: int, total_steps: int) -> float:
    """How far along a decay over ``total_steps`` is at ``step``: 0 at the start, 1 from the end on."""
    return min(step, total_steps) / total_steps


class ConstantLR(LRScheduler):
    """lr_k = base_lr: no schedule, as an object (so every run has one)."""

    def lr_at(self, step: int) -> float:
        return self.base_lr


class LinearDecay(LRScheduler):
    """lr_k = base_lr - (base_lr - final_lr) * k / total_steps, then final_lr from k = total_steps on.

    With base_lr 1.0, final_lr 0.1 and total_steps 100 this is micrograd's demo schedule
    ``1.0 - 0.9*k/100`` exactly.
    """

    def __init__(self, optimizer: Optimizer, total_steps: int, final_lr: float = 0.0) -> None:
        super().__init__(optimizer)
        self.total_steps, self.final_lr = _check_steps(total_steps, "total_steps"), _check_hyper(final_lr, "final_lr", 0.0)

    def lr_at(self, step: int) -> float:
        k = min(step, self.total_steps)
        return self.base_lr - (self.base_lr - self.final_lr) * k / self.total_steps


class StepDecay(LRScheduler):
    """lr_k = base_lr * gamma ** (k // step_size): multiply by gamma every step_size steps."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = _check_steps(step_size, "step_size")
        self.gamma = _check_hyper(gamma, "gamma", 0.0, low_open=True)

    def lr_at(self, step: int) -> float:
        return self.base_lr * self.gamma ** (step // self.step_size)


class CosineDecay(LRScheduler):
    """lr_k = min_lr + (base_lr - min_lr) * (1 + cos(pi * k / total_steps)) / 2, then min_lr."""

    def __init__(self, optimizer: Optimizer, total_steps: int, min_lr: float = 0.0) -> None:
        super().__init__(optimizer)
        self.total_steps, self.min_lr = _check_steps(total_steps, "total_steps"), _check_hyper(min_lr, "min_lr", 0.0)

    def lr_at(self, step: int) -> float:
        return self.min_lr + (self.base_lr - self.min_lr) * (1.0 + math.cos(math.pi * _done(step, self.total_steps))) / 2.0


# ---- by name ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer by name: ``factory(params, lr, **options) -> Optimizer`` and its usual lr."""

    name: str
    factory: Callable[..., Optimizer]
    default_lr: float
    summary: str


def _sgd_with_momentum(params: Iterable[Param], lr: float, momentum: float = 0.9, **options: Any) -> SGD:
    return SGD(params, lr, momentum=momentum, **options)


OPTIMIZERS: dict[str, OptimizerSpec] = {
    spec.name: spec
    for spec in (
        OptimizerSpec("sgd", SGD, 0.1, "stochastic gradient descent: p -= lr * grad"),
        OptimizerSpec("momentum", _sgd_with_momentum, 0.1, "SGD with momentum 0.9 (momentum= to change it, in [0, 1))"),
        OptimizerSpec("adam", Adam, 0.01, "Adam: per-parameter steps from running gradient moments"),
    )
}


def _lookup(table: dict[str, Any], name: object, what: str) -> Any:
    if not isinstance(name, str) or name not in table:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, table))}, got {name!r}")
    return table[name]


def make_optimizer(name: str, params: Iterable[Param], lr: float | None = None, **options: Any) -> Optimizer:
    """The optimizer ``name`` of OPTIMIZERS over ``params``; ``lr`` None takes its default_lr."""
    spec: OptimizerSpec = _lookup(OPTIMIZERS, name, "optimizer")
    return spec.factory(params, spec.default_lr if lr is None else lr, **options)


@dataclass(frozen=True)
class ScheduleSpec:
    """A learning-rate schedule by name: ``factory(optimizer, total_steps) -> LRScheduler``."""

    name: str
    factory: Callable[[Optimizer, int], LRScheduler]
    summary: str


SCHEDULES: dict[str, ScheduleSpec] = {
    spec.name: spec
    for spec in (
        ScheduleSpec("constant", lambda opt, total: ConstantLR(opt), "the same lr throughout"),
        ScheduleSpec("linear", lambda opt, total: LinearDecay(opt, total, final_lr=opt.lr / 10), "linearly down to lr/10"),
        ScheduleSpec("cosine", lambda opt, total: CosineDecay(opt, total, min_lr=opt.lr / 100), "a half cosine down to lr/100"),
        ScheduleSpec("step", lambda opt, total: StepDecay(opt, max(1, total // 3), gamma=0.1), "lr/10 after each third"),
    )
}


def make_schedule(name: str, optimizer: Optimizer, total_steps: int) -> LRScheduler:
    """The schedule ``name`` of SCHEDULES for ``optimizer`` over ``total_steps`` steps."""
    spec: ScheduleSpec = _lookup(SCHEDULES, name, "schedule")
    return spec.factory(optimizer, _check_steps(total_steps, "total_steps"))
