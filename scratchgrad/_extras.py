"""Optional extras: import one, or say in one line how to install it.

scratchgrad is used from a clone (``make demo`` makes ``.venv``), so "pip install
'scratchgrad[torch]'" would ask PyPI for a package that is not there. The hint names
the Makefile target that works in a clone and the exact packages for any other
environment, read from this installation's own metadata so it cannot go stale.
"""

from __future__ import annotations

import importlib
import re
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
    """How to install ``extra``: its make target in a clone, or pip with its packages."""
    packages = " ".join(f"'{spec}'" if any(c in spec for c in "<>=[") else spec for spec in _requirements(extra))
    elsewhere = f"`pip install {packages}`" if packages else f"`pip install -e '.[{extra}]'` in the scratchgrad folder"
    return f"install it with `make install-{extra}` in the scratchgrad folder, or {elsewhere}"


def require(module: str, extra: str) -> ModuleType:
    """``import module``, or raise MissingExtraError naming what needs it and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        purpose = EXTRAS.get(extra, f"the '{extra}' extra")
        raise MissingExtraError(
            f"{purpose} needs the optional package '{module}', which is not installed: {install_hint(extra)}"
        ) from None
