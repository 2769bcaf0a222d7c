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
        "Serve the playground, a local web page in the style of TensorFlow Playground where a small network "
        "trains on this machine with scratchgrad while you watch. Pick the data (moons, circles, spirals, "
        "xor, Gaussian clouds, regression surfaces, or your own CSV file of points), its noise, size and "
        "test share, the input features (x1, x2, their squares and product, sines), the hidden layers "
        "with an activation each, the loss, the optimizer, the learning rate, L1 or L2 regularization and "
        "the engine (tensor, or the tutorial's Value engine). Every neuron draws its output over the "
        "plane, the links show the weights (click one to edit it), the train and test loss follow every "
        "epoch. Click a data point to step through its forward and backward pass on the network, then as "
        "a graph of Values. The page's address holds every setting, so a copied link reproduces the run; "
        "the trained model downloads as .json, .npz or .onnx and loads back. Stop it with Ctrl-C. Needs "
        "the 'playground' extra: in the scratchgrad folder, make playground installs it and starts the "
        "page (or .venv/bin/pip install -e '.[playground]')."
    ),
    add_arguments=add_arguments,
    run=run,
)
