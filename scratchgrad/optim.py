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

By name, for apps and `fit`: ``OPTIMIZERS`` ('sgd', 'momentum', 'adam', 'adamw') with
`make_optimizer`, and ``SCHEDULES`` ('constant', 'linear', 'cosine', 'step') with
`make_schedule`. Adding one is one entry.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from scratchgrad.engine import Value
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

    decoupled = False  # AdamW: weight decay shrinks the weights instead of joining the gradient

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
        self._all_values = all(type(p) is Value for p in self.params)
        self._moments: Any = None  # (m, v, steps) as arrays while the fast path for Values runs

    def step(self) -> None:
        """One update of every parameter from its current ``grad``."""
        lr, eps = self.lr, self.eps
        beta1, beta2 = self.betas
        l2 = 0.0 if self.decoupled else self.weight_decay
        shrink = 1.0 - lr * self.weight_decay if self.decoupled else 1.0
        if self._all_values and self._step_values(l2, shrink):
            self.steps += 1
            return
        self._sync_moments()
        for i, p, g in self._gradients(l2):
            # Each parameter counts its own steps: one skipped (grad None) keeps its bias correction right.
            t = self._param_steps[i] = self._param_steps[i] + 1
            m = self._exp_avg[i] = beta1 * self._exp_avg[i] + (1.0 - beta1) * g
            v = self._exp_avg_sq[i] = beta2 * self._exp_avg_sq[i] + (1.0 - beta2) * (g * g)
            step_size = lr / (1.0 - beta1**t)
            denom = _sqrt(v) / math.sqrt(1.0 - beta2**t) + eps
            data = p.data * shrink if shrink != 1.0 else p.data
            p.data = data - step_size * (m / denom)
        self.steps += 1

    def _step_values(self, l2: float, shrink: float) -> bool:
        """The same update for a model of Values, with the arithmetic on numpy arrays: the
        same operations in the same order (the same bits), without a Python loop of float
        arithmetic per weight. A gradient recorded as a Value counts as its number (as
        PyTorch steps on a gradient's data). False (nothing done) when the parameters have
        taken different numbers of steps (a state loaded from another run)."""
        import numpy as np

        params = self.params
        if self._moments is None:
            steps = self._param_steps
            if steps.count(steps[0]) != len(steps):
                return False
            self._moments = (np.array(self._exp_avg, dtype=np.float64), np.array(self._exp_avg_sq, dtype=np.float64), steps[0])
        m, v, t = self._moments
        t += 1
        beta1, beta2 = self.betas
        g = np.array([p.grad for p in params], dtype=np.float64)
        data = np.array([p.data for p in params], dtype=np.float64)
        if l2:
            g = g + l2 * data
        m = beta1 * m + (1.0 - beta1) * g
        v = beta2 * v + (1.0 - beta2) * (g * g)
        denom = np.sqrt(v) / math.sqrt(1.0 - beta2**t) + self.eps
        if shrink != 1.0:
            data = data * shrink
        data = data - (self.lr / (1.0 - beta1**t)) * (m / denom)
        for p, value in zip(params, data.tolist()):
            p.data = value
        self._moments = (m, v, t)
        return True

    def _sync_moments(self) -> None:
        """The moments the fast path keeps as arrays, back in the per-parameter lists."""
        if self._moments is not None:
            m, v, t = self._moments
            self._exp_avg, self._exp_avg_sq = m.tolist(), v.tolist()
            self._param_steps = [t] * len(self.params)
            self._moments = None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._moments = None
        super().load_state_dict(state)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay}

    def _buffers(self) -> dict[str, list[Any]]:
        self._sync_moments()
        return {"exp_avg": self._exp_avg, "exp_avg_sq": self._exp_avg_sq, "param_steps": self._param_steps}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, betas={self.betas}, eps={self.eps}, weight_decay={self.weight_decay})"


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``:
    each step first shrinks the weights, p = p * (1 - lr * weight_decay), then takes Adam's
    step from the gradient alone (the decay never enters m and v). Defaults as PyTorch's."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Param],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


def clip_grad_norm(params: Iterable[Param], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale every gradient by max_norm / (norm + 1e-6) when the global norm of all of them
    together exceeds ``max_norm``, in place; return that norm (before clipping), as
    ``torch.nn.utils.clip_grad_norm_``.

    ``params``: Values or Tensors (or a Module); gradients that are None are skipped. The
    norm is the ``norm_type``-norm of the per-parameter norms (2: the Euclidean norm of all
    gradients as one vector; ``math.inf``: the largest magnitude). A NaN or infinite norm
    raises FloatingPointError and changes nothing (PyTorch's ``error_if_nonfinite=True``).
    ``max_norm=math.inf`` only measures.
    """
    get_parameters = getattr(params, "parameters", None)
    items = list(get_parameters() if callable(get_parameters) else params)
    if max_norm != math.inf:  # inf: measure the norm, clip nothing
        max_norm = _check_hyper(max_norm, "max_norm", 0.0)
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real) or not norm_type > 0:
        raise ValueError(f"norm_type must be a number > 0 (or math.inf), got {norm_type!r}")
    norm_type = float(norm_type)
    for i, p in enumerate(items):
        if not hasattr(p, "grad"):
            raise TypeError(f"clip_grad_norm: params[{i}] has no .grad: {type(p).__name__} is not a parameter")
    scalar_grads = [p.grad for p in items if isinstance(p, Value) and p.grad is not None]
    array_params = [p for p in items if not isinstance(p, Value) and p.grad is not None]
    if len(scalar_grads) + len(array_params) == 0:
        return 0.0
    import numpy as np

    norms = [np.linalg.norm(np.ravel(p.grad), norm_type) for p in array_params]
    if scalar_grads:  # a Value's gradient is one number: its norm is its magnitude
        norms.append(np.linalg.norm(np.array([float(g) for g in scalar_grads]), norm_type))
    total = float(np.linalg.norm(np.array(norms, dtype=np.float64), norm_type))
    if not math.isfinite(total):
        raise FloatingPointError(
            f"clip_grad_norm: the gradients' total norm is {total}: a NaN or infinite gradient (nothing was clipped)"
        )
    scale = min(max_norm / (total + 1e-6), 1.0)
    for p in items:
        if p.grad is None:
            continue
        if isinstance(p, Value):
            p.grad = p.grad * scale
        elif isinstance(p.grad, np.ndarray) and p.grad.flags.writeable:
            p.grad *= scale
        else:
            p.grad = p.grad * scale
    return total


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
        OptimizerSpec("adamw", AdamW, 3e-3, "AdamW: Adam with decoupled weight decay (weight_decay=0.01 by default)"),
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
