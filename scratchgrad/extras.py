"""Optional extras: import one, or say in one line how to install it.

scratchgrad is used from a clone (``make demo`` makes ``.venv``), so "pip install
'scratchgrad[torch]'" would ask PyPI for a package that is not there. In a clone the hint
names the Makefile target and the editable install; anywhere else the exact packages,
read from this installation's own metadata so they cannot go stale.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from pathlib import Path
from types import ModuleType

# What each extra is for, in the words of the error message.
EXTRAS = {
    "torch": "export to PyTorch",
    "onnx": "export to ONNX",
    "digits": "the digits data set (bundled with scikit-learn)",
    "playground": "the playground",
    "bench": "the benchmarks",
    "notebook": "the notebooks",
    "dev": "the tests",
}


class MissingExtraError(ImportError):
    """An optional package is missing; the message says how to install it."""


def _requirements(extra: str) -> list[str]:
    """The package specs the extra installs, e.g. ['torch==2.13.0'], from the metadata."""
    try:
        from importlib.metadata import PackageNotFoundError, requires
    except ImportError:  # pragma: no cover - Python < 3.8
        return []
    try:
        specs = requires("scratchgrad") or []
    except PackageNotFoundError:
        return []
    marker = re.compile(r"""extra\s*==\s*["']%s["']""" % re.escape(extra))
    return [spec.split(";")[0].strip() for spec in specs if marker.search(spec)]


def install_hint(extra: str) -> str:
    """How to install ``extra`` into the Python running now, as a phrase: "`make install-torch`
    in the scratchgrad folder, or `.venv/bin/pip install -e '.[torch]'`" in a clone, the exact
    packages for pip anywhere else ("pip install 'scratchgrad[torch]'" would ask PyPI for a
    scratchgrad that is not there)."""
    python = Path(sys.executable)
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file() and (root / "Makefile").is_file():
        here = Path.cwd()
        if python.parent.name == "bin" and python.parent.parent.parent == root:
            pip = os.path.relpath(python.parent / "pip", here) if here == root else str(python.parent / "pip")
        else:
            pip = f"{python} -m pip"
        target = "." if here == root else str(root)
        return f"`make install-{extra}` in the scratchgrad folder, or `{pip} install -e '{target}[{extra}]'`"
    packages = " ".join(f"'{spec}'" if any(c in spec for c in "<>=[") else spec for spec in _requirements(extra))
    return f"`{python} -m pip install {packages or extra}`"


def require(module: str, extra: str) -> ModuleType:
    """``import module``, or raise MissingExtraError naming what needs it and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        purpose = EXTRAS.get(extra, f"the '{extra}' extra")
        raise MissingExtraError(
            f"{purpose} needs the optional package '{module}', which is not installed: install it with {install_hint(extra)}"
        ) from None
