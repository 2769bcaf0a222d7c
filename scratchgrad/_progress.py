"""The one progress bar helper: tqdm on a terminal, nothing in logs and pipes.

``progress_bar(total, desc, enabled)`` returns a tqdm bar when ``enabled`` is True, or
when it is None and stderr is a terminal; otherwise None. A bar redrawn into a log file
only fills it with carriage returns, so the default is to stay quiet there.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping


def stderr_is_terminal() -> bool:
    """True when stderr is an interactive terminal (not a file, a pipe or a test's capture)."""
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # a closed or detached stream
        return False


def progress_bar(total: int, desc: str, enabled: bool | None = None, unit: str = "epoch") -> Any:
    """A tqdm bar of ``total`` steps, or None when no bar should be drawn (see the module docstring)."""
    if enabled is None:
        enabled = stderr_is_terminal()
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=True, file=sys.stderr)


def advance(bar: Any, postfix: Mapping[str, str] | None = None) -> None:
    """One step forward on ``bar`` (None: nothing to do), showing ``postfix`` next to it."""
    if bar is None:
        return
    if postfix:
        bar.set_postfix(dict(postfix), refresh=False)
    bar.update(1)
