"""``scratchgrad train --dataset names``: a GPT learns the 32,033 names and makes up new ones.

Thin over the library: the data is ``scratchgrad.data.NamesData`` (the package's names, a fixed
split), the model ``scratchgrad.nn.GPT`` and the loop ``scratchgrad.gpt_train.train_gpt`` (AdamW,
a cosine schedule, gradient clipping, the validation loss). What is left here: the options that
shape the GPT and the run, their bounds, and what is printed and written.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

from scratchgrad.cli.common import EXIT_OK, CommandFailed, UsageError, Written, check_targets, number, output_folder, say, whole_number

NAMES = "names"  # the data set this run trains on
DEFAULTS = {"steps": 3000, "layers": 4, "width": 64, "heads": 4, "block_size": 16, "batch_size": 32, "lr": 3e-3}
TEMPERATURE = 0.8
TIME_LIMIT = 90.0  # seconds of training: with loading, evaluating and writing the run stays under 2 minutes
SAMPLES = 20
MAX_STEPS = 1_000_000
MAX_LAYERS, MAX_WIDTH, MAX_HEADS, MAX_BLOCK, MAX_BATCH = 24, 1024, 32, 64, 4096
# Options of `scratchgrad train` that shape an MLP, not a GPT: refused with --dataset names.
MLP_OPTIONS = ("hidden", "activation", "init", "loss", "optimizer", "schedule", "momentum", "epochs", "l2", "samples", "noise")


def _int(minimum: int, maximum: int) -> Callable[[str], int]:
    return lambda text: whole_number(text, minimum, maximum)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the GPT run (``--dataset names``), as their own group of ``train``."""
    group = parser.add_argument_group(
        "a GPT on --dataset names (with --lr, --batch-size, --seed, --out; "
        f"defaults: {DEFAULTS['layers']} layers of width {DEFAULTS['width']}, {DEFAULTS['heads']} heads, "
        f"batch {DEFAULTS['batch_size']}, lr {DEFAULTS['lr']:g})"
    )
    group.add_argument("--steps", type=_int(1, MAX_STEPS), metavar="N", help=f"training steps (default {DEFAULTS['steps']:,})")
    group.add_argument("--layers", type=_int(1, MAX_LAYERS), metavar="N", help=f"transformer blocks, 1 to {MAX_LAYERS}")
    group.add_argument("--width", type=_int(2, MAX_WIDTH), metavar="N", help=f"embedding width, 2 to {MAX_WIDTH} (a multiple of --heads)")
    group.add_argument("--heads", type=_int(1, MAX_HEADS), metavar="N", help=f"attention heads, 1 to {MAX_HEADS}")
    group.add_argument(
        "--block-size", type=_int(2, MAX_BLOCK), metavar="N",
        help=f"positions the model sees, 2 to {MAX_BLOCK} (default {DEFAULTS['block_size']}: every name fits)",
    )  # fmt: skip
    group.add_argument(
        "--temperature", type=lambda t: number(t, 0.0, 10.0, low_open=True), default=TEMPERATURE,
        help=f"sampling temperature of the {SAMPLES} names printed at the end (default {TEMPERATURE:g}; lower: safer names)",
    )  # fmt: skip
    group.add_argument(
        "--time-limit", type=lambda t: number(t, 0.0, low_open=True), default=TIME_LIMIT, metavar="SECONDS",
        help=f"stop training after this many seconds (default {TIME_LIMIT:g}), then evaluate and sample",
    )  # fmt: skip


def _setting(args: argparse.Namespace, name: str) -> Any:
    value = getattr(args, name, None)
    return DEFAULTS[name] if value is None else value


def _check_options(args: argparse.Namespace) -> None:
    given = [f"--{name.replace('_', '-')}" for name in MLP_OPTIONS if getattr(args, name, None) is not None]
    if given:
        raise UsageError(
            f"{', '.join(given)} shape an MLP; --dataset {NAMES} trains a GPT: use --layers, --width, --heads, "
            "--block-size, --steps, --lr, --batch-size"
        )
    if getattr(args, "engine", None) == "scalar":
        raise UsageError(
            f"--dataset {NAMES} trains the tensor GPT; the same GPT on Values is scratchgrad.nn.ScalarGPT "
            "(examples/gpt.ipynb trains it)"
        )


def run(args: argparse.Namespace) -> int:
    """Train the GPT on the names, print the validation loss and 20 names, write the model and the loss curve."""
    from scratchgrad import plots
    from scratchgrad.data import NamesData
    from scratchgrad.gpt_train import train_gpt
    from scratchgrad.nn import GPT
    from scratchgrad.train import TrainingDiverged

    _check_options(args)
    steps, width, heads = _setting(args, "steps"), _setting(args, "width"), _setting(args, "heads")
    if width % heads:
        raise UsageError(f"--width {width} must be a multiple of --heads {heads} (each head gets width / heads numbers)")
    out = output_folder(args.out)
    curve, model_path = out / f"{NAMES}_loss.png", out / f"{NAMES}_model.npz"
    check_targets(out, [curve.name, model_path.name])
    data = NamesData(block_size=_setting(args, "block_size"))
    try:
        model = GPT(
            vocab_size=data.tokenizer.vocab_size, block_size=data.block_size, n_layer=_setting(args, "layers"),
            n_embd=width, n_head=heads, chars=data.tokenizer.chars, seed=args.seed,
        )  # fmt: skip
    except ValueError as error:
        raise UsageError(str(error)) from None
    batch_size, lr = _setting(args, "batch_size"), _setting(args, "lr")
    c = model.config
    say(
        f"training a GPT ({c.n_layer} layer{'s' if c.n_layer > 1 else ''} of width {c.n_embd}, {c.n_head} heads, "
        f"block {c.block_size}; {model.num_parameters():,} parameters, float32) on {len(data.train):,} names "
        f"({len(data.validation):,} more for validation, {c.vocab_size} tokens): AdamW lr {lr:g} with a "
        f"cosine decay, batch {batch_size}, {steps:,} steps (at most {args.time_limit:g} s), gradients clipped to norm 1"
    )
    start = time.perf_counter()
    try:
        history = train_gpt(
            model, data, steps=steps, batch_size=batch_size, lr=lr, seed=args.seed,
            progress=False if args.no_progress else None, time_limit=args.time_limit,
        )  # fmt: skip
    except TrainingDiverged as error:
        raise CommandFailed(f"{error}: try a smaller --lr") from None
    seconds = time.perf_counter() - start
    done = history.steps[-1]
    stopped = f", stopped by --time-limit at step {done:,} of {steps:,}" if history.stopped_early else ""
    say(f"validation loss {history.test_loss[-1]:.4f} nats per character (training loss {history.loss[-1]:.4f}; "
        f"{done:,} steps in {seconds:.0f} s{stopped})")  # fmt: skip
    say(f"{SAMPLES} names it made up (temperature {args.temperature:g}):")
    for name in model.sample(SAMPLES, temperature=args.temperature, seed=args.seed):
        say(f"  {name}")
    written = Written()
    every = max(1, round(steps / len(history.steps)))
    written.add(plots.plot_loss_curve(
        history, curve, title=f"GPT on {NAMES}: loss, nats per character", xlabel=f"evaluation (every {every:,} steps)",
    ))  # fmt: skip
    model.save(model_path)
    written.add(model_path)
    written.report()
    return EXIT_OK
