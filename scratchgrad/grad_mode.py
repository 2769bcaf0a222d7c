"""Gradient recording on/off, shared by the scalar `Value` and the array `Tensor` engines.

Inside ``no_grad()`` operations compute their results but record no graph: no
children, no local derivatives. Use it for inference and for parameter updates.
"""

from __future__ import annotations

import functools
from types import TracebackType
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# Read on every operation by both engines; a plain module global is the cheapest check.
enabled: bool = True


def is_grad_enabled() -> bool:
    """True when operations record the graph that ``backward()`` walks."""
    return enabled


class _GradMode:
    """Context manager and decorator that sets gradient recording for its extent."""

    _mode: bool
    _saved: list[bool]

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        # `@no_grad` without parentheses (as PyTorch allows) passes the function here
        instance = super().__new__(cls)
        instance._saved = []
        return instance(func) if func is not None else instance

    def __init__(self, func: Callable[..., Any] | None = None) -> None:
        pass

    def __enter__(self) -> None:
        global enabled
        self._saved.append(enabled)
        enabled = self._mode

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global enabled
        enabled = self._saved.pop()

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """``with no_grad():``, ``@no_grad()`` or ``@no_grad``: operations inside record no graph."""

    _mode = False


class enable_grad(_GradMode):
    """``with enable_grad():`` turns recording back on inside a ``no_grad`` block."""

    _mode = True
