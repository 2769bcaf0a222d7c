"""``scratchgrad graph``: evaluate an expression, backpropagate, print and draw its graph."""

from __future__ import annotations

import argparse
from pathlib import Path

from scratchgrad.cli.common import number as finite_number
from scratchgrad.cli.common import (
    EXIT_OK,
    CommandFailed,
    Subcommand,
    UsageError,
    output_file,
    printable,
    say,
    warn,
)

PICTURE_SUFFIXES = (".svg", ".png", ".pdf", ".dot", ".gv")
PAGE_SUFFIXES = (".html", ".htm")
USAGE_HINT = 'give the expression to draw, e.g. scratchgrad graph "x**2 + 3*x" --var x=2 --out graph.svg'


def _short(name: str) -> str:
    from scratchgrad.expr import shorten

    return printable(shorten(name))


def variable(text: str) -> tuple[str, float]:
    """``--var NAME=NUMBER`` -> (name, value)."""
    name, sep, number = text.partition("=")
    name, number = name.strip(), number.strip()
    if not sep or not name or not number:
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, e.g. x1=2.0; got {_short(text)!r}")
    if not name.isidentifier():
        raise argparse.ArgumentTypeError(
            f"{_short(name)!r} is not a variable name (letters, digits, _; not starting with a digit)"
        )
    try:
        return name, finite_number(number)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"{_short(name)}={_short(number)}: {error}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "expression", nargs="?", help='the expression, e.g. "tanh(x1*w1 + x2*w2 + b)" (quote it for the shell)'
    )
    parser.add_argument(
        "--var",
        "-v",
        type=variable,
        action="append",
        default=[],
        metavar="NAME=NUMBER",
        help="the value of a variable; repeat for each variable",
    )
    parser.add_argument(
        "--out",
        "-o",
        metavar="FILE",
        help="write the graph to FILE: .svg, .png, .pdf, .dot (Graphviz source), or .html (the step-through "
        "page); its folder must exist",
    )
    parser.add_argument(
        "--steps", action="store_true", help="write the backward pass step by step as an HTML page (--out FILE.html)"
    )
    parser.add_argument(
        "--rankdir",
        choices=("LR", "TB", "RL", "BT"),
        default="LR",
        help="direction of the drawing (default: LR, left to right)",
    )


EPILOG = """\
the language: numbers (2, 0.5, 1e-3), variables, + - * / ** (** binds tighter than unary minus
and is right-associative, as in Python: -x**2 is -(x**2)), parentheses, and the functions
tanh, exp, log, relu, sigmoid.

Big graphs (more than 500 values) are drawn as a compact summary, which says so; long chains
of one operation (x*x*...*x) become one box.

examples:
  scratchgrad graph "tanh(x1*w1 + x2*w2 + b)" --var x1=2 --var x2=0 --var w1=-3 --var w2=1 --var b=6 --out neuron.svg
  scratchgrad graph "x**2 + 3*x" --var x=2 --out steps.html

An expression that starts with a minus sign must come after "--" (or start with a space):
  scratchgrad graph --var x=3 -- "-x**2"
"""


def _format_number(x: float) -> str:
    return repr(float(x)) if isinstance(x, float) else repr(x)


def _target(args: argparse.Namespace) -> tuple[Path | None, str]:
    target = Path(args.out) if args.out else None
    suffix = target.suffix.lower() if target else ""
    if target is not None and suffix not in PICTURE_SUFFIXES + PAGE_SUFFIXES:
        raise UsageError(
            f"--out {printable(args.out)}: unknown picture format {printable(suffix) or '(no suffix)'!r}; "
            f"use {', '.join(PICTURE_SUFFIXES + PAGE_SUFFIXES)}"
        )
    if args.steps and target is None:
        raise UsageError("--steps writes an HTML page: give it with --out FILE.html")
    if args.steps and suffix not in PAGE_SUFFIXES:
        raise UsageError(f"--steps writes an HTML page, but --out {printable(args.out)} is not .html")
    if target is not None:
        output_file(target, "--out")
    return target, suffix


def _draw(out: object, target: Path, suffix: str, args: argparse.Namespace) -> Path:
    from scratchgrad import step_through, viz

    if suffix in PAGE_SUFFIXES:
        size, limit = len(viz.trace(out)[0]), step_through.ANIMATION_MAX_NODES  # type: ignore[arg-type]
        if size > limit:
            raise UsageError(
                f"the graph has {size:,} values, too many for a step-through page (at most {limit:,}): "
                "write a picture instead, e.g. --out graph.svg"
            )
    from scratchgrad.expr import shorten

    title = shorten(" ".join(args.expression.split()), 120)
    try:
        if suffix in PAGE_SUFFIXES:
            return step_through.animate_backward(out, target, title=title, rankdir=args.rankdir)  # type: ignore[arg-type]
        return viz.render(viz.draw_dot(out, rankdir=args.rankdir), target)  # type: ignore[arg-type]
    except viz.GraphvizMissingError as error:
        raise CommandFailed(str(error)) from None
    except RuntimeError as error:
        import graphviz

        if not isinstance(error.__cause__, graphviz.CalledProcessError):
            raise
        # dot itself failed (old Graphviz versions crash on some large graphs)
        raise CommandFailed(f"{error} (the .dot source can still be written: --out graph.dot)") from None


def run(args: argparse.Namespace) -> int:
    from scratchgrad import Value
    from scratchgrad.expr import ExprError, evaluate, parse, shorten, variable_names

    if args.expression is None:
        raise UsageError(f"{USAGE_HINT} (see 'scratchgrad graph --help')")
    given: dict[str, float] = {}
    for name, value in args.var:
        if name in given:
            raise UsageError(
                f"--var {_short(name)} is given twice ({_format_number(given[name])} and {_format_number(value)})"
            )
        given[name] = value
    target, suffix = _target(args)
    try:
        tree = parse(args.expression)
        names = variable_names(tree)
        leaves = {name: Value(given[name], label=name) for name in names if name in given}
        out = evaluate(tree, {**given, **leaves})
    except ExprError as error:
        raise UsageError(str(error)) from None
    unused = [name for name in given if name not in names]
    if unused:
        shown_unused = [_short(name) for name in unused[:10]] + ([f"{len(unused) - 10} more"] if len(unused) > 10 else [])
        warn(f"the expression does not use {', '.join(shown_unused)}")

    out.backward()
    say(f"{printable(shorten(' '.join(args.expression.split()), 100))} = {_format_number(out.data)}")
    if leaves:
        rows = [(_short(name), _format_number(leaf.data), _format_number(leaf.grad)) for name, leaf in leaves.items()]
        name_width = max(len(name) for name, _, _ in rows)
        value_width = max(len(value) for _, value, _ in rows)
        say("variables and gradients:")
        for name, value, grad in rows:
            say(f"  {name:<{name_width}} = {value:<{value_width}}   grad {grad}")
    if target is not None:
        say(f"wrote {printable(_draw(out, target, suffix, args))}")
    return EXIT_OK


GRAPH = Subcommand(
    name="graph",
    summary="draw the computation graph of an expression, with gradients",
    description=(
        "Parse an arithmetic expression (a real parser, never Python's eval), build its graph of "
        "Values from the --var values, run backward(), print the result and the gradient of each "
        "variable, and draw the graph as the tutorial does (each value as label | data | grad) or, "
        "with an .html file or --steps, the backward pass step by step."
    ),
    add_arguments=add_arguments,
    run=run,
    epilog=EPILOG,
)
