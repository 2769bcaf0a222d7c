"""Old path of the gradient-recording switch; it lives in `scratchgrad.autograd` now.

``from scratchgrad.grad_mode import no_grad`` keeps working, and so does reading
``grad_mode.enabled`` (this thread's mode, as `is_grad_enabled()` says). Assigning it
sets this thread's mode, like ``set_grad_enabled(value)``.
"""

from __future__ import annotations

import sys
import types

from scratchgrad.autograd import _set_enabled, enable_grad, is_grad_enabled, no_grad, set_grad_enabled


class _GradModeModule(types.ModuleType):
    @property
    def enabled(self) -> bool:
        """This thread's recording mode (read-only view kept for old code)."""
        return is_grad_enabled()

    @enabled.setter
    def enabled(self, mode: bool) -> None:
        _set_enabled(bool(mode))


sys.modules[__name__].__class__ = _GradModeModule

__all__ = ["enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]
