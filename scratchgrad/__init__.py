"""scratchgrad: neural networks from scratch, as real software.

A scalar autograd engine (`Value`), built as in the seed tutorial and made fast and safe.
"""

from typing import Any

from scratchgrad.engine import Value, sum_values, weighted_sum
from scratchgrad.grad_mode import enable_grad, is_grad_enabled, no_grad
from scratchgrad.gradcheck import GradcheckResult, gradcheck

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # `scratchgrad.Tensor` loads numpy only when asked for, so `import scratchgrad` (the
    # scalar engine, the CLI's --help) stays light and BLAS thread settings can still apply.
    if name == "Tensor":
        from scratchgrad.tensor import Tensor

        return Tensor
    raise AttributeError(f"module 'scratchgrad' has no attribute {name!r}")


__all__ = [
    "GradcheckResult",
    "Tensor",
    "Value",
    "enable_grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "sum_values",
    "weighted_sum",
]
