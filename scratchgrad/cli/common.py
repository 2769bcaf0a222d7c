"""What every subcommand shares: its table entry, its errors, option parsers, output checks.

Mistakes the user can fix raise `UsageError` (one line ``scratchgrad: error: ...``, exit
status 2); a command that cannot finish for another reason raises `CommandFailed` (exit 1).
Everything printed that came from the user goes through `printable` first, so an
expression or a file name cannot send escape sequences to the terminal.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from scratchgrad.extras import install_hint

PROG = "scratchgrad"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a command whose reader closed the pipe

__all__ = [
    "CommandFailed",
    "Subcommand",
    "UsageError",
    "Written",
    "did_you_mean",
    "human_size",
    "missing_extra",
    "output_file",
    "output_folder",
    "printable",
    "say",
    "warn",
]


class UsageError(Exception):
    """A mistake the user can fix: reported as one line ``scratchgrad: error: ...``, exit status 2."""


class CommandFailed(Exception):
    """The command could not finish for a reason other than its arguments (exit status 1)."""


@dataclass(frozen=True)
class Subcommand:
    """One ``scratchgrad NAME`` subcommand: ``add_arguments(parser)`` then ``run(args) -> exit status``."""

    name: str
    summary: str  # one line in ``scratchgrad --help``
    description: str  # the top of ``scratchgrad NAME --help``
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    epilog: str | Callable[[], str] = ""  # text after the options; a function makes it with the parser

    def epilog_text(self) -> str:
        return self.epilog() if callable(self.epilog) else self.epilog


# ---- printing ----------------------------------------------------------------------------


def printable(text: object) -> str:
    """``text`` with every character a terminal would act on (ESC, other control characters,
    bidirectional overrides) written as a visible escape such as ``\\x1b``; line breaks stay."""
    chars = str(text)
    if chars.isprintable():
        return chars
    out = []
    for ch in chars:
        if ch.isprintable() or ch in "\n ":
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def say(*parts: object) -> None:
    print(*parts, flush=True)


def warn(message: str) -> None:
    print(f"{PROG}: warning: {printable(message)}", file=sys.stderr, flush=True)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'graph'?"`` when ``word`` is close to one of a few ``choices``, else ``""``."""
    if len(word) > 64:  # a long word is no typo of a short name
        return ""
    match = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


# ---- optional extras ---------------------------------------------------------------------


def missing_extra(extra: str, what: str, error: BaseException) -> CommandFailed:
    """The error for a missing optional package: which, and how to install it. A library error
    that already says how (it names its make target) is passed on as it is."""
    message = str(error)
    if f"make install-{extra}" in message:
        return CommandFailed(message)
    name = getattr(error, "name", None)
    missing = f" (no module named '{name}')" if name else ""
    return CommandFailed(f"{what} needs the '{extra}' extra{missing}: install it with {install_hint(extra)}")


# ---- options -----------------------------------------------------------------------------


def whole_number(text: str, minimum: int, maximum: int | None = None, what: str = "a whole number") -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {printable(text)!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"from {minimum:,} to {maximum:,}" if maximum is not None else f">= {minimum:,}"
        raise argparse.ArgumentTypeError(f"expected {what} {bounds}, got {value:,}")
    return value


def number(text: str, low: float = -math.inf, high: float = math.inf, *, low_open: bool = False,
           high_open: bool = False) -> float:
    """A finite float in [low, high] (an open end with ``low_open`` / ``high_open``)."""
    shown = printable(text if len(text) <= 40 else f"{text[:37]}...")
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {shown!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {shown!r}")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        if high == math.inf:
            rule = f"> {low:g}" if low_open else f">= {low:g}"
        else:
            rule = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise argparse.ArgumentTypeError(f"expected a number {rule}, got {text}")
    return value


# ---- output ------------------------------------------------------------------------------


def output_folder(path: str, option: str = "--out") -> Path:
    """Create the folder ``path`` (and its parents) for writing, or raise a UsageError saying why not."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{option}: {printable(path)} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(f"cannot create the output folder {printable(path)}: {reason}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write to the output folder {printable(path)}: permission denied")
    return folder


def output_file(path: str | Path, option: str = "--out") -> Path:
    """Check that the file ``path`` may be written: a regular file or a new name in an existing
    folder. Never a folder, a device (``/dev/null``), a pipe or a socket: the file is replaced
    by a rename when written, which would swap a device node for a regular file. Folders are
    not created (as ``cp`` or ``dot -o`` do not): a typo must not leave new folders behind."""
    target = Path(path)
    shown = printable(target)
    try:
        info = os.stat(target)  # follows symbolic links: a link to /dev/null is refused too
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise UsageError(f"{option} {shown}: {error.strerror or error}") from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"{option} {shown} is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{option} {shown} exists and is not a regular file (a device, pipe or socket): refusing to replace it")
    folder = target.parent
    if not folder.is_dir():
        if folder.exists():
            raise UsageError(f"{option} {shown}: {printable(folder)} exists and is not a folder")
        raise UsageError(f"{option} {shown}: the folder {printable(folder)} does not exist (create it first)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {shown}: cannot write to the folder {printable(folder)}: permission denied")
    return target


def check_targets(folder: Path, names: Iterable[str], option: str = "--out") -> None:
    """Before any work: each file a command will write into ``folder`` may be written there
    (no folder, device or pipe in the way of one of them)."""
    for name in names:
        output_file(folder / name, option)


class Written:
    """The files a command wrote, listed once each at its end."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def add(self, path: Path | str) -> Path:
        if Path(path) not in self.paths:
            self.paths.append(Path(path))
        return Path(path)

    def report(self, heading: str = "wrote:") -> None:
        if not self.paths:
            return
        say(heading)
        for path in self.paths:
            size = path.stat().st_size if path.exists() else 0
            say(f"  {printable(path)}  ({human_size(size)})")
