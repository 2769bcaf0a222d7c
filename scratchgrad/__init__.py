"""scratchgrad: neural networks from scratch, as real software.

A scalar autograd engine (`Value`), built as in the tutorial *Neural Network from Scratch*
and made fast and safe, and a numpy array engine (`Tensor`) on the same design.
"""

from __future__ import annotations

from scratchgrad.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from scratchgrad.engine import Value, sum_values, weighted_sum
from scratchgrad.functional import grad, hessian, hvp, jacobian
from scratchgrad.gradcheck import GradcheckResult, gradcheck

__version__ = "0.1.0"

# Loaded on first use (see __getattr__): `import scratchgrad` (the scalar engine, the CLI's
# --help) stays light, and BLAS thread settings can still apply before numpy is imported.
_LAZY = {"Tensor": "scratchgrad.tensor"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scratchgrad' has no attribute {name!r}")


__all__ = [
    "GradcheckResult",
    "Tensor",
    "Value",
    "enable_grad",
    "grad",
    "gradcheck",
    "hessian",
    "hvp",
    "is_grad_enabled",
    "jacobian",
    "no_grad",
    "set_grad_enabled",
    "sum_values",
    "weighted_sum",
]


def __dir__() -> list[str]:
    """The public names (and submodules already imported), without helpers of the import machinery."""
    own = {name for name in globals() if not name.startswith("_") and name != "annotations"}
    return sorted(own | set(__all__) | {"__version__"})
