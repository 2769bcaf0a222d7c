"""The ``scratchgrad`` command: the tutorial end to end, training runs, graph pictures, export.

    scratchgrad demo  --out out/                          # the tutorial, every picture
    scratchgrad train --dataset moons --out out/          # an MLP on a toy set, with plots
    scratchgrad graph "tanh(x1*w1 + x2*w2 + b)" --var x1=2 --var w1=-3 ... --out g.svg

One module per subcommand (demo, train, graph, export, playground), each defining one
`Subcommand`: a function that adds its arguments and a function that runs it and returns the
exit status; `SUBCOMMANDS` lists them (``train`` keeps its data sets in `datasets` and its
closing report in `report`). The subcommands call the public library only: its registries
give every choice list, ``scratchgrad.train.fit`` does the training. Mistakes
the user can fix (a bad option, a bad expression, a missing file, a CSV with a bad row) print
one line ``scratchgrad: error: ...`` on stderr and exit with status 2, as argparse does; a
Python traceback means a bug in scratchgrad. Heavy libraries (numpy, matplotlib, graphviz,
torch) are imported by the subcommands that need them, so ``--help`` is quick.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import textwrap
import warnings
from typing import Any, NoReturn, Sequence

from scratchgrad.cli.common import (
    EXIT_FAILED,
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    PROG,
    CommandFailed,
    Subcommand,
    UsageError,
    did_you_mean,
    printable,
    warn,
)
from scratchgrad.cli.demo import DEMO
from scratchgrad.cli.export import EXPORT
from scratchgrad.cli.graph import GRAPH
from scratchgrad.cli.playground import PLAYGROUND
from scratchgrad.cli.train import TRAIN

__all__ = [
    "CommandFailed",
    "DEMO",
    "EXPORT",
    "GRAPH",
    "PLAYGROUND",
    "PRESETS",
    "SUBCOMMANDS",
    "Subcommand",
    "TRAIN",
    "UsageError",
    "build_parser",
    "main",
]

SUBCOMMANDS: list[Subcommand] = [DEMO, TRAIN, GRAPH, EXPORT, PLAYGROUND]


def __getattr__(name: str) -> Any:
    if name == "PRESETS":  # the old name of the train presets, which are the library's now
        from scratchgrad.train import PRESETS

        return PRESETS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

_INVALID_CHOICE = re.compile(r"invalid choice: '(.*)' \(choose from (.*)\)$", re.S)


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, but errors become `UsageError` so `main` reports them in one line."""

    commands: dict[str, argparse.ArgumentParser] = {}  # the sub-parsers, by subcommand name

    def options(self) -> list[str]:
        return [option for action in self._actions for option in action.option_strings]

    def error(self, message: str) -> NoReturn:
        hint = ""
        choice = _INVALID_CHOICE.search(message)
        if choice:
            hint = did_you_mean(choice.group(1), re.findall(r"'([^']*)'", choice.group(2)))
        elif self.prog.endswith(" graph") and "expected one argument" in message:
            hint = "; an expression that starts with '-' goes after '--', e.g. scratchgrad graph --var x=3 -- \"-x**2\""
        raise UsageError(f"{message}{hint} (see '{self.prog} --help')")


def build_parser(subcommands: Sequence[Subcommand] = ()) -> argparse.ArgumentParser:
    """The argparse parser of ``scratchgrad`` with one sub-parser per subcommand."""
    from scratchgrad import __version__

    subcommands = subcommands or SUBCOMMANDS
    width = max(min(shutil.get_terminal_size().columns, 100) - 2, 40)  # as argparse wraps its help
    parser = _ArgumentParser(
        prog=PROG,
        description="scratchgrad: neural networks from scratch, as real software.",
        epilog="Run 'scratchgrad COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for command in subcommands:
        epilog = command.epilog_text()
        sub = commands.add_parser(
            command.name,
            help=command.summary,
            description=textwrap.fill(command.description, width=width),
            epilog=epilog or None,
            formatter_class=argparse.RawDescriptionHelpFormatter if epilog else argparse.HelpFormatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(_run=command.run)
        parser.commands = {**parser.commands, command.name: sub}
    return parser


def _one_line_warnings(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    warn(str(message))


def _error(message: object) -> None:
    print(f"{PROG}: error: {printable(message)}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``scratchgrad`` with ``argv`` (default: the command line) and return the exit status."""
    parser = build_parser()
    try:
        try:
            args, extra = parser.parse_known_args(argv)
        except SystemExit as done:  # --help and --version end here
            return int(done.code or 0)
        if extra:
            hint = ""
            command = getattr(args, "command", None)
            if command == "graph" and extra[0].startswith("-") and not extra[0].startswith("--"):
                hint = "; an expression that starts with '-' goes after '--', e.g. scratchgrad graph --var x=3 -- \"-x**2\""
            elif command and extra[0].startswith("--"):
                sub = parser.commands.get(command) if isinstance(parser, _ArgumentParser) else None
                hint = did_you_mean(extra[0].split("=")[0], sub.options() if isinstance(sub, _ArgumentParser) else [])
            where = f"{PROG} {command}" if command else PROG
            raise UsageError(f"unrecognized arguments: {' '.join(extra)}{hint} (see '{where} --help')")
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings
            return int(args._run(args))
    except UsageError as error:
        _error(error)
        return EXIT_USAGE
    except CommandFailed as error:
        _error(error)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (``scratchgrad train | head -3``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's last flush at exit fails no more
        return EXIT_BROKEN_PIPE
