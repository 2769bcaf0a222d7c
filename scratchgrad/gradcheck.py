"""`gradcheck`: compare what ``backward()`` says with central finite differences.

Works for both engines: scalar inputs (`Value` or numbers) give ``f`` one `Value`
each; `Tensor` or numpy-array inputs give ``f`` one float64 `Tensor` each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, Union

from scratchgrad import autograd
from scratchgrad.engine import Value, _check_number

ScalarInput = Union[Value, int, float]


@dataclass
class GradcheckResult:
    """What `gradcheck` found; truthy when every gradient is within tolerance."""

    ok: bool
    max_abs_error: float
    max_rel_error: float
    worst_input: int
    analytic: list[float] = field(default_factory=list)
    numeric: list[float] = field(default_factory=list)
    # Tensor inputs: ``analytic``/``numeric`` list every entry of every input, flattened
    # in order; ``worst_input`` indexes that list and ``worst_entry`` says where it is:
    # (which input, index inside it).
    worst_entry: tuple[int, tuple[int, ...]] | None = None

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "MISMATCH"
        i = self.worst_input
        where = f"input #{i}"
        if self.worst_entry is not None:
            where = f"input #{self.worst_entry[0]} at index {self.worst_entry[1]}"
        return (
            f"gradcheck {verdict}: worst {where}: backward {self.analytic[i]!r} vs "
            f"finite differences {self.numeric[i]!r} (abs error {self.max_abs_error:.3g}, "
            f"rel error {self.max_rel_error:.3g})"
        )


def gradcheck(
    f: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    raise_on_failure: bool = False,
) -> GradcheckResult:
    """Check d f / d input_i from ``backward()`` against (f(x+eps) - f(x-eps)) / (2 eps).

    ``f`` takes one `Value` per input and returns a `Value`. A gradient passes when
    ``|analytic - numeric| <= atol + rtol * |numeric|``. Returns a `GradcheckResult`
    with the worst error; with ``raise_on_failure=True`` a mismatch raises
    AssertionError carrying the same report.

    With `Tensor` / numpy-array inputs, ``f`` gets one float64 `Tensor` per input
    (float32 data is checked in float64: finite differences need the precision) and
    returns a `Tensor`. A non-scalar output is checked through the scalar
    ``sum(output * v)`` for a fixed random ``v``, which tests every entry of every
    input's gradient (the vector-Jacobian product backward() computes). Gradient
    recording is switched on for the check, even inside ``no_grad()``.
    """
    if not inputs:
        raise ValueError("gradcheck needs at least one input")
    with autograd.enable_grad():
        if any(_is_array_like(x) for x in inputs):
            result = _gradcheck_tensors(f, inputs, eps, atol, rtol)
        else:
            result = _gradcheck_scalars(f, inputs, eps, atol, rtol)
    if raise_on_failure and not result.ok:
        raise AssertionError(str(result))
    return result


def _is_array_like(x: object) -> bool:
    from scratchgrad.tensor import Tensor

    import numpy as np

    return isinstance(x, (Tensor, np.ndarray))


def _compare(analytic: list[float], numeric: list[float], atol: float, rtol: float) -> tuple[bool, int, float, float]:
    """(all within tolerance, worst index, its abs error, its rel error); NaN fails."""
    ok = True
    worst, worst_abs, worst_rel, worst_excess = 0, 0.0, 0.0, -float("inf")
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        abs_err = abs(a - n)
        rel_err = abs_err / max(abs(n), 1e-300)
        excess = abs_err - (atol + rtol * abs(n))
        if not excess <= 0:  # NaN counts as failure
            ok = False
        if excess > worst_excess or excess != excess:
            worst, worst_abs, worst_rel, worst_excess = i, abs_err, rel_err, excess
    return ok, worst, worst_abs, worst_rel


def _gradcheck_tensors(f: Callable[..., Any], inputs: Sequence[Any], eps: float, atol: float, rtol: float) -> GradcheckResult:
    import numpy as np

    from scratchgrad.tensor import Tensor

    points = []
    for i, x in enumerate(inputs):
        if not _is_array_like(x):
            raise TypeError(f"gradcheck: mix of tensor and scalar inputs; input #{i} is a {type(x).__name__}")
        points.append(np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64))

    def output(values: list[Any]) -> Tensor:
        out = f(*values)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: f must return a Tensor, got {type(out).__name__}")
        return out

    leaves = [Tensor(p, requires_grad=True) for p in points]
    out = output(leaves)
    # A fixed random direction for non-scalar outputs (seeded: the check is repeatable).
    direction = np.random.default_rng(0).uniform(0.5, 1.5, size=out.shape) * np.where(
        np.random.default_rng(1).random(out.shape) < 0.5, -1.0, 1.0
    )
    if out.data.size == 1:
        direction = np.ones(out.shape)
    out.backward(direction)
    analytic: list[float] = []
    for leaf in leaves:
        grad = leaf.grad if leaf.grad is not None else np.zeros_like(leaf.data)
        analytic.extend(float(g) for g in grad.ravel())

    def evaluate(values: list[Any]) -> float:
        with autograd.no_grad():
            return float(np.sum(output([Tensor(v) for v in values]).data * direction))

    numeric: list[float] = []
    locations: list[tuple[int, tuple[int, ...]]] = []
    for k, p in enumerate(points):
        for index in np.ndindex(p.shape):
            up = [q.copy() for q in points]
            down = [q.copy() for q in points]
            up[k][index] += eps
            down[k][index] -= eps
            numeric.append((evaluate(up) - evaluate(down)) / (2 * eps))
            locations.append((k, tuple(int(j) for j in index)))
    if not numeric:
        raise ValueError("gradcheck: the inputs hold no entries")
    ok, worst, worst_abs, worst_rel = _compare(analytic, numeric, atol, rtol)
    return GradcheckResult(ok, worst_abs, worst_rel, worst, analytic, numeric, locations[worst])


def _gradcheck_scalars(f: Callable[..., Value], inputs: Sequence[ScalarInput], eps: float, atol: float, rtol: float) -> GradcheckResult:
    point = [float(x.data) if isinstance(x, Value) else float(_check_number(x, "gradcheck input")) for x in inputs]

    def evaluate(values: list[float]) -> float:
        out = f(*[Value(v) for v in values])
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
        return float(out.data)

    leaves = [Value(v) for v in point]
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
    out.backward()
    analytic = [float(leaf.grad) for leaf in leaves]

    numeric = []
    for i in range(len(point)):
        up, down = list(point), list(point)
        up[i] += eps
        down[i] -= eps
        numeric.append((evaluate(up) - evaluate(down)) / (2 * eps))

    ok, worst, worst_abs, worst_rel = _compare(analytic, numeric, atol, rtol)
    return GradcheckResult(ok, worst_abs, worst_rel, worst, analytic, numeric)
