"""`gradcheck`: compare what ``backward()`` says with central finite differences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence, Union

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

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "MISMATCH"
        i = self.worst_input
        return (
            f"gradcheck {verdict}: worst input #{i}: backward {self.analytic[i]!r} vs "
            f"finite differences {self.numeric[i]!r} (abs error {self.max_abs_error:.3g}, "
            f"rel error {self.max_rel_error:.3g})"
        )


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[ScalarInput],
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
    """
    if not inputs:
        raise ValueError("gradcheck needs at least one input")
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
    result = GradcheckResult(ok, worst_abs, worst_rel, worst, analytic, numeric)
    if raise_on_failure and not ok:
        raise AssertionError(str(result))
    return result
