"""``scratchgrad export``: a saved model to PyTorch (.pt) or ONNX (.onnx)."""

from __future__ import annotations

import argparse
from pathlib import Path

from scratchgrad.cli.common import (
    EXIT_OK,
    CommandFailed,
    Subcommand,
    UsageError,
    human_size,
    missing_extra,
    output_file,
    printable,
    say,
)

FORMATS = {"torch": ".pt", "onnx": ".onnx"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a saved model: .json (scalar MLP) or .npz (tensor model)")
    parser.add_argument("--to", required=True, choices=sorted(FORMATS), help="the target format")
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="the file to write: a new name or a regular file, in an existing folder "
        "(default: MODEL with the format's suffix)",
    )
    parser.add_argument(
        "--dtype",
        default="float32",
        choices=("float32", "float64"),
        help="ONNX only: the numbers' type (default float32)",
    )


def run(args: argparse.Namespace) -> int:
    from scratchgrad import export
    from scratchgrad.nn import ModelFileError, describe

    source = Path(args.model)
    shown = printable(source)
    target = output_file(Path(args.out) if args.out else source.with_suffix(FORMATS[args.to]), "--out")
    if target.resolve() == source.resolve():
        raise UsageError(f"--out {printable(target)} would overwrite the model itself")
    try:
        model = export.load_model(source)
    except FileNotFoundError:
        raise UsageError(f"MODEL {shown}: file not found") from None
    except IsADirectoryError:
        raise UsageError(f"MODEL {shown} is a folder, not a model file") from None
    except OSError as error:  # no read permission, an I/O error
        raise UsageError(f"MODEL {shown}: cannot read it: {error.strerror or error}") from None
    except (ModelFileError, ValueError) as error:
        raise UsageError(f"MODEL {shown}: {printable(error)}") from None
    try:
        layers = describe(model).layers  # what every exporter writes out, layer by layer
    except (TypeError, ValueError) as error:
        raise UsageError(f"cannot export {shown}: {printable(error)}") from None
    sizes = "-".join(map(str, [layers[0].in_features, *(layer.out_features for layer in layers)]))
    say(f"{shown}: a {sizes} {model.model_engine()} model, activations {', '.join(layer.activation for layer in layers)}")
    try:
        if args.to == "torch":
            path = export.save_torch(model, target)
        else:
            path = export.to_onnx(model, target, dtype=args.dtype)
    except ImportError as error:
        raise missing_extra(args.to, f"export --to {args.to}", error) from None
    except (TypeError, ValueError) as error:
        raise UsageError(f"cannot export {shown}: {printable(error)}") from None
    say(f"wrote {printable(path)} ({human_size(path.stat().st_size)})")
    return EXIT_OK


EXPORT = Subcommand(
    name="export",
    summary="export a saved model to PyTorch or ONNX",
    description=(
        "Read a model saved by scratchgrad (a scalar MLP's .json or a tensor model's .npz) and write it "
        "for PyTorch (a .pt file of its layers and state_dict, readable with torch.load(path, "
        "weights_only=True) or scratchgrad.export.load_torch) or as an ONNX graph checked by "
        "onnx.checker. Needs the 'torch' or 'onnx' extra: in the scratchgrad folder, make install-torch or "
        "make install-onnx (or .venv/bin/pip install -e '.[torch]' / -e '.[onnx]')."
    ),
    add_arguments=add_arguments,
    run=run,
)
