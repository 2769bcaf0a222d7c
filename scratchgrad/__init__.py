"""scratchgrad: neural networks from scratch, as real software.

A scalar autograd engine (`Value`), built as in the seed tutorial and made fast and safe.
"""

from scratchgrad.engine import Value, sum_values, weighted_sum
from scratchgrad.grad_mode import enable_grad, is_grad_enabled, no_grad
from scratchgrad.gradcheck import GradcheckResult, gradcheck
from scratchgrad.tensor import Tensor

__version__ = "0.1.0"

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
