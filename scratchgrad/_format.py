"""The one place numbers become text, so every message, bar and picture agrees.

- `format_number`: the tutorial's ``%.4f`` (``%.4e`` beyond 1e6, so a huge number cannot
  stretch a picture's box); for values in graphs and step-through pages.
- `format_exact`: the shortest text that reads back as the same float (``2``, ``0.1``,
  ``1e-05``); for numbers a user typed and may type again.
- `format_short`: 4 significant digits (``0.02063``, ``1.5e+21``); for losses in
  progress bars, histories and messages.
- `format_percent`: ``98.6%``; `format_size`: ``12.3 KB``.
"""

from __future__ import annotations

import math


def format_number(x: float) -> str:
    """The tutorial's ``%.4f``; ``%.4e`` from 1e6 on in magnitude."""
    if math.isfinite(x) and abs(x) >= 1e6:
        return "%.4e" % x
    return "%.4f" % x


def format_exact(x: float) -> str:
    """The shortest text that parses back to ``x``: ``2`` for 2.0, ``0.1``, ``1e-05``, ``nan``."""
    value = float(x)
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def format_short(x: float, digits: int = 4) -> str:
    """``x`` with ``digits`` significant digits: ``0.02063``, ``1.5e+21``, ``nan``."""
    return f"{float(x):.{digits}g}"


def format_percent(fraction: float, decimals: int = 1) -> str:
    """A fraction in [0, 1] as a percentage: 0.9861 -> ``98.6%``."""
    return f"{float(fraction):.{decimals}%}"


def format_size(size: int) -> str:
    """A byte count for people: ``512 B``, ``12.3 KB``, ``4.0 MB``, ``1.2 GB``."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
