"""``scratchgrad playground``: serve the browser playground."""

from __future__ import annotations

import argparse

from scratchgrad.cli.common import EXIT_OK, CommandFailed, Subcommand, UsageError, missing_extra


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected a number from 1 to 65535") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {value}: expected a number from 1 to 65535")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to your network)",
    )
    parser.add_argument("--port", type=port, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--open", action="store_true", help="open the page in a web browser once the server is up")


def run(args: argparse.Namespace) -> int:
    try:
        from scratchgrad.playground import serve

        serve(host=args.host, port=args.port, open_browser=args.open)
    except ImportError as error:  # Starlette / uvicorn not installed
        raise missing_extra("playground", "the playground", error) from None
    except ValueError as error:
        raise UsageError(str(error)) from None
    except OSError as error:  # the port is taken, or the host cannot be served
        raise CommandFailed(str(error)) from None
    return EXIT_OK


PLAYGROUND = Subcommand(
    name="playground",
    summary="train a network in the browser and watch it learn",
    description=(
        "Serve the playground, a local web page where you pick a data set (moons, circles, spirals, "
        "xor), shape a network and press Play: the network trains on this machine with scratchgrad "
        "and the page shows the decision boundary, the train and test loss, the weights, and the "
        "computation graph of any point you click. Stop it with Ctrl-C. Needs the 'playground' "
        "extra: in the scratchgrad folder, make playground installs it and starts the page "
        "(or .venv/bin/pip install -e '.[playground]')."
    ),
    add_arguments=add_arguments,
    run=run,
)
