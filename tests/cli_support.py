"""Helpers of the `scratchgrad` command's tests: run it as users do, check what it wrote."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m scratchgrad ARGS`` in a fresh interpreter, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "scratchgrad", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
        timeout=timeout,
    )


def run_code(code: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` in a fresh interpreter (to hide a package, e.g. ``sys.modules['torch'] = None``)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def run_on_a_terminal(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    """``python -m scratchgrad ARGS`` with stderr on a pseudo-terminal, as in an interactive
    shell: (exit status, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns, as a terminal has
    process = subprocess.Popen(
        [sys.executable, "-m", "scratchgrad", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, cwd=cwd,
        env={**os.environ, "COLUMNS": "100"},
    )  # fmt: skip
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    stdout = process.stdout.read().decode("utf-8") if process.stdout else ""
    return process.wait(timeout=120), stdout, shown.decode("utf-8", "replace")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG header, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_png(path: Path, min_side: int = 100) -> None:
    width, height = png_size(path)
    assert min_side <= width <= 10_000 and min_side // 2 <= height <= 10_000, (path, width, height)


def assert_svg(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    assert "<svg" in text and text.rstrip().endswith("</svg>"), path
    return text


def step_labels(page: str) -> list[str]:
    """The label of the node processed in each step of a step-through page, in page order."""
    import json
    import re

    match = re.search(r'<script type="application/json" id="steps">(.*?)</script>', page, re.S)
    assert match is not None, "not a step-through page"
    return [step["label"] for step in json.loads(match.group(1))["steps"]]


def backward_order(text: str, **values: float) -> list[str]:
    """Labels of the nodes `Value.backward()` processes, in its order, for an expression."""
    from scratchgrad.expr import evaluate
    from scratchgrad.viz import backward_steps

    return [step.node.label for step in backward_steps(evaluate(text, values))]


def assert_usage_error(result: subprocess.CompletedProcess[str], *fragments: str, status: int = 2) -> None:
    """Exit status 2 (or ``status``), one line ``scratchgrad: error: ...`` naming ``fragments``."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("scratchgrad: error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
