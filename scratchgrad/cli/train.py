"""``scratchgrad train``: an MLP on a toy data set, digits or a CSV file, with its pictures."""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from scratchgrad.cli import presets
from scratchgrad.cli.engines import Trained
from scratchgrad.cli.common import (
    EXIT_OK,
    CommandFailed,
    Subcommand,
    UsageError,
    Written,
    check_targets,
    number,
    output_folder,
    say,
    whole_number,
)
from scratchgrad.cli.presets import PRESETS, TrainConfig
from scratchgrad.cli.problem import DatasetSpec, Problem, check_loss_fits, dataset, load

# A loss that grows this many times over its first epoch's value has diverged, even if finite.
DIVERGED_GROWTH = 1000.0


def hidden(text: str) -> list[int]:
    """``16,16`` -> [16, 16]; ``""`` or ``none`` -> [] (a linear model)."""
    if text.strip().lower() in ("", "none"):
        return []
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(
                f"expected layer sizes as positive whole numbers separated by commas, e.g. 16,16; got {text[:80]!r}"
            )
        sizes.append(int(part))
    if len(sizes) > presets.MAX_LAYERS or max(sizes) > presets.MAX_LAYER_SIZE:
        raise argparse.ArgumentTypeError(
            f"at most {presets.MAX_LAYERS} hidden layers of at most {presets.MAX_LAYER_SIZE:,} units each; "
            f"got {len(sizes)} layers, the largest {max(sizes):,}"
        )
    return sizes


def _int(minimum: int, maximum: int, what: str) -> Callable[[str], int]:
    return lambda text: whole_number(text, minimum, maximum, what)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        type=dataset,
        default=DatasetSpec("moons"),
        metavar="NAME",
        help=(
            "moons, circles, spirals, xor (generated 2-D sets), tutorial (the tutorial's 4 samples), "
            "digits (8x8 handwritten digits, tensor engine, needs scikit-learn) or csv:PATH "
            "(a CSV file of numbers, last column the label) (default: moons)"
        ),
    )
    parser.add_argument(
        "--engine",
        choices=("scalar", "tensor"),
        default=None,
        help="scalar: the Value engine (the tutorial's); tensor: numpy arrays, much faster "
        f"(default: scalar for small runs, tensor above {presets.SCALAR_BUDGET:,} weight uses and for digits)",
    )
    settings = parser.add_argument_group("model and training (defaults depend on the data set, see below)")
    settings.add_argument(
        "--hidden",
        type=hidden,
        metavar="SIZES",
        help=f"hidden layer sizes, e.g. 16,16 (at most {presets.MAX_LAYERS} layers of {presets.MAX_LAYER_SIZE:,})",
    )
    settings.add_argument("--activation", choices=presets.ACTIVATIONS, help="activation of the hidden layers")
    settings.add_argument(
        "--loss",
        choices=presets.LOSS_NAMES,
        help="hinge, mse (mean squared error), sse (summed, the tutorial's), bce (cross-entropy on logits) "
        "for two classes; ce (softmax cross-entropy) for several classes",
    )
    settings.add_argument(
        "--optimizer",
        choices=presets.OPTIMIZERS,
        help="sgd or adam; choosing the one the preset does not use also resets --lr (sgd 0.1, adam 0.01) "
        "and --schedule (constant) unless you give them",
    )
    settings.add_argument(
        "--lr", type=lambda t: number(t, 0.0, low_open=True), help="learning rate (at the start, with a schedule)"
    )
    settings.add_argument(
        "--schedule", choices=presets.SCHEDULES, help="learning-rate schedule: constant, linear (to lr/10) or cosine"
    )
    settings.add_argument(
        "--momentum", type=lambda t: number(t, 0.0, 1.0, high_open=True), help="SGD momentum, in [0, 1)"
    )
    settings.add_argument(
        "--epochs",
        type=_int(0, presets.MAX_EPOCHS, "a whole number"),
        help=f"passes over the training data (up to {presets.MAX_EPOCHS:,})",
    )
    settings.add_argument(
        "--batch-size",
        type=_int(1, presets.MAX_SAMPLES, "a whole number"),
        metavar="N",
        help="samples per update (default: all of them for the 2-D sets)",
    )
    settings.add_argument(
        "--l2", type=lambda t: number(t, 0.0), metavar="ALPHA", help="L2 penalty alpha * sum(w^2)"
    )
    data = parser.add_argument_group("generated data (moons, circles, spirals, xor only)")
    data.add_argument(
        "--samples",
        type=_int(2, presets.MAX_SAMPLES, "a whole number"),
        metavar="N",
        help=f"number of training points, 2 to {presets.MAX_SAMPLES:,}",
    )
    data.add_argument(
        "--noise",
        type=lambda t: number(t, 0.0, presets.MAX_NOISE),
        help=f"standard deviation of the noise added to each point, 0 to {presets.MAX_NOISE:g}",
    )
    parser.add_argument(
        "--seed",
        type=_int(0, presets.MAX_SEED, "a whole number"),
        default=0,
        metavar="N",
        help=f"random seed for data, weights and batches, 0 to {presets.MAX_SEED:,} (default: 0)",
    )
    parser.add_argument("--out", default="out", metavar="DIR", help="folder for the plots and the model (default: out)")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (there is one only when stderr is a terminal)"
    )


def config_of(args: argparse.Namespace) -> TrainConfig:
    name = args.dataset.name
    preset = PRESETS[name]
    overrides = {key: getattr(args, key) for key in presets.SETTINGS if getattr(args, key) is not None}
    if name not in presets.GENERATED:
        for key in ("samples", "noise"):
            if key in overrides:
                raise UsageError(
                    f"--{key} applies to the generated data sets ({', '.join(presets.GENERATED)}), "
                    f"not to {args.dataset.stem}: leave it out"
                )
    if overrides.get("optimizer", preset.optimizer) != preset.optimizer:
        # The preset's learning rate and schedule were tuned for its optimizer, not this one.
        overrides.setdefault("lr", presets.OPTIMIZER_LR[overrides["optimizer"]])
        overrides.setdefault("schedule", "constant")
    config = replace(preset, **overrides)
    if config.momentum and config.optimizer != "sgd":
        raise UsageError("--momentum applies to --optimizer sgd only (Adam has its own moments)")
    return config


def sizes_of(config: TrainConfig, problem: Problem) -> list[int]:
    nout = problem.classes if problem.kind == "classes" else 1
    return [len(problem.X[0])] + config.hidden + [nout]


def parameter_count(sizes: list[int]) -> int:
    return sum((nin + 1) * nout for nin, nout in zip(sizes, sizes[1:]))


def engine_of(args: argparse.Namespace, config: TrainConfig, problem: Problem) -> tuple[str, str]:
    """(engine, why): the engine asked for, or the one that suits the run's size."""
    params = parameter_count(sizes_of(config, problem))
    if params > presets.MAX_PARAMETERS:
        raise UsageError(
            f"the model would have {params:,} parameters, more than the limit of {presets.MAX_PARAMETERS:,} parameters: "
            "use smaller --hidden layers"
        )
    if args.dataset.name == "digits":
        if args.engine == "scalar":
            raise UsageError(
                "--dataset digits needs --engine tensor: the scalar engine would need about 10^8 Value "
                "objects per epoch (leave --engine out to pick tensor automatically)"
            )
        return "tensor", ""
    if args.engine == "scalar" and params > presets.MAX_SCALAR_PARAMETERS:
        raise UsageError(
            f"the model would have {params:,} parameters, more than the scalar engine's limit of "
            f"{presets.MAX_SCALAR_PARAMETERS:,} Values: use --engine tensor or smaller --hidden layers"
        )
    batch = config.batch_size or len(problem.X)
    cost = params * len(problem.X) * config.epochs + params * batch  # weight uses; + a first batch
    if args.engine is not None:
        if args.engine == "scalar" and cost > presets.SCALAR_BUDGET:
            from scratchgrad.cli.common import warn

            warn(f"about {cost / 1e6:.0f} million weight uses on the scalar engine: this run will take "
                 f"about {cost / 1e6:.0f} s; --engine tensor does it in about a second")  # fmt: skip
        return args.engine, ""
    if cost > presets.SCALAR_BUDGET or params > presets.MAX_SCALAR_PARAMETERS:
        return "tensor", f", picked for speed: {cost / 1e6:.0f} million weight uses; --engine scalar for Values"
    return "scalar", ""


def describe_run(config: TrainConfig, problem: Problem, engine: str, why: str) -> str:
    batch = "full batch" if config.batch_size is None else f"batch {config.batch_size}"
    schedule = "" if config.schedule == "constant" else f" ({config.schedule} decay)"
    momentum = f", momentum {config.momentum:g}" if config.momentum else ""
    l2 = f", l2 {config.l2:g}" if config.l2 else ""
    return (
        f"training a {'-'.join(map(str, sizes_of(config, problem)))} {config.activation} MLP "
        f"({engine} engine{why}) on {problem.description}: "
        f"{config.loss} loss, {config.optimizer} lr {config.lr:g}{schedule}{momentum}{l2}, "
        f"{config.epochs} epoch{'' if config.epochs == 1 else 's'}, {batch}"
    )


def check_not_diverged(history: Any, config: TrainConfig) -> None:
    """A finite but exploding loss (--lr 1000: 5e21) is a failed run too: say so, exit 1."""
    losses = list(history.loss)
    if not losses:
        return
    first, last = losses[0], losses[-1]
    if not math.isfinite(last) or last > DIVERGED_GROWTH * max(first, 1e-12):
        raise CommandFailed(
            f"training diverged: the loss went from {first:.4g} to {last:.4g} in {len(losses)} epochs "
            f"with --lr {config.lr:g}; try a smaller --lr"
        )


def report(trained: Trained, problem: Problem, stem: str, out: Path, written: Written) -> None:
    """Print the scores and write the loss curve, the pictures and the model."""
    from scratchgrad import plots
    from scratchgrad.tensor_train import confusion_matrix

    history = trained.history
    if history.loss:
        test_losses = getattr(history, "test_loss", None) or None
        curve = out / f"{stem}_loss.png"
        written.add(plots.plot_loss_curve(history, curve, title=f"{stem}: training loss", test_losses=test_losses))
        say(f"final training loss {history.loss[-1]:.6g}")
    if problem.kind != "regression":
        say(f"training accuracy {trained.accuracy(problem.X, problem.y):.1%}")
        if problem.X_test:
            test = trained.accuracy(problem.X_test, problem.y_test)
            say(f"test accuracy {test:.1%} (on {len(problem.X_test)} samples not trained on)")
    scores = plots.model_predictor(trained.model)
    if problem.kind == "classes":
        X, y, which = (problem.X_test, problem.y_test, "test") if problem.X_test else (problem.X, problem.y, "training")
        matrix = confusion_matrix(y, scores(X).argmax(axis=1), problem.classes)
        picture = out / f"{stem}_confusion.png"
        written.add(plots.plot_confusion_matrix(matrix, picture, title=f"{stem}: {which} set"))
    features = len(problem.X[0])
    if features == 2 and problem.kind != "regression":
        picture = out / f"{stem}_boundary.png"
        written.add(
            plots.plot_decision_boundary(
                scores, problem.X, problem.y, picture, title=f"{stem}: decision boundary", accepts="array"
            )
        )
    elif problem.kind == "binary":
        say(f"no decision boundary picture: the data has {features} features, not 2")
    model_path = out / f"{stem}_model{trained.model_suffix}"
    trained.model.save(model_path)
    written.add(model_path)


def run(args: argparse.Namespace) -> int:
    from scratchgrad.cli import engines

    config = config_of(args)
    problem = load(args.dataset, config, args.seed)
    check_loss_fits(config, problem)
    engine, why = engine_of(args, config, problem)
    out = output_folder(args.out)
    stem = args.dataset.stem
    check_targets(out, [f"{stem}_loss.png", f"{stem}_boundary.png", f"{stem}_confusion.png",
                        f"{stem}_model.json", f"{stem}_model.npz"])  # fmt: skip
    written = Written()
    say(describe_run(config, problem, engine, why))
    progress = not args.no_progress and sys.stderr.isatty()  # a bar only where someone watches it
    trained = engines.train(engine, config, problem, args.dataset.name, args.seed, progress)
    check_not_diverged(trained.history, config)
    report(trained, problem, args.dataset.stem, out, written)
    written.report()
    return EXIT_OK


TRAIN = Subcommand(
    name="train",
    summary="train an MLP on a toy data set, digits or a CSV file",
    description=(
        "Train a multi-layer perceptron with a progress bar, then write the loss curve, a picture of "
        "what it learned (the decision boundary for 2-D data, the confusion matrix for several classes) "
        "and the trained model, and print its accuracy. Every setting has a default that works for the "
        "chosen data set; any option you give overrides it."
    ),
    add_arguments=add_arguments,
    run=run,
    epilog=presets.epilog(),
)
