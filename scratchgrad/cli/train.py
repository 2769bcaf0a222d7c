"""``scratchgrad train``: an MLP on a registered data set or a CSV file, with its pictures.

Thin over the library: every choice list is read from a registry (``scratchgrad.data.DATASETS``,
``scratchgrad.nn.LOSSES`` / ``ACTIVATIONS`` / ``INITS``, ``scratchgrad.optim.OPTIMIZERS`` /
``SCHEDULES``), the defaults from ``scratchgrad.train.PRESETS``, and one ``scratchgrad.train.fit``
trains the scalar or the tensor `MLP` (the same constructor, the same initial weights for the
same seed). What is left here: the options, their bounds, and which engine suits the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
from typing import Any, Callable, Mapping

from scratchgrad.cli import datasets, gpt
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
    warn,
    whole_number,
)
from scratchgrad.cli.datasets import DatasetSpec

# Upper bounds of the options: past them a run would not fit in memory or time.
MAX_SAMPLES = 100_000
MAX_LAYER_SIZE = 4096
MAX_LAYERS = 32
MAX_PARAMETERS = 10_000_000  # 80 MB of float64 weights on the tensor engine
MAX_EPOCHS = 1_000_000
MAX_SEED = 2**32 - 1
# The scalar engine's cost is counted in weight uses (parameters x samples): one Value
# operand each, about 1 us and 70 bytes (measured). Above SCALAR_BUDGET for the whole run,
# the tensor engine is picked when --engine is not given (about 10 s on Values).
SCALAR_BUDGET = 10_000_000
MAX_SCALAR_PARAMETERS = 200_000  # each a Value object
MAX_SCALAR_GRAPH = 10_000_000  # weight uses in one batch's graph: about 700 MB
MAX_SCALAR_WORK = 300_000_000  # weight uses in the whole run: about 5 minutes


def hidden(text: str) -> tuple[int, ...]:
    """``16,16`` -> (16, 16); ``""`` or ``none`` -> () (a linear model)."""
    if text.strip().lower() in ("", "none"):
        return ()
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(
                f"expected layer sizes as positive whole numbers separated by commas, e.g. 16,16; got {text[:80]!r}"
            )
        sizes.append(int(part))
    if len(sizes) > MAX_LAYERS or max(sizes) > MAX_LAYER_SIZE:
        raise argparse.ArgumentTypeError(
            f"at most {MAX_LAYERS} hidden layers of at most {MAX_LAYER_SIZE:,} units each; "
            f"got {len(sizes)} layers, the largest {max(sizes):,}"
        )
    return tuple(sizes)


def _int(minimum: int, maximum: int) -> Callable[[str], int]:
    return lambda text: whole_number(text, minimum, maximum)


def _listed(entries: Mapping[str, Any], describe: Callable[[Any], str]) -> str:
    return "; ".join(f"{name} ({describe(entry)})" for name, entry in entries.items())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scratchgrad.data import MAX_NOISE
    from scratchgrad.nn import ACTIVATIONS, INITS, LOSSES
    from scratchgrad.optim import OPTIMIZERS, SCHEDULES

    parser.add_argument(
        "--dataset", type=datasets.dataset, default=DatasetSpec("moons"), metavar="NAME", help=datasets.choices_help()
    )
    parser.add_argument(
        "--engine",
        choices=("scalar", "tensor"),
        default=None,
        help="scalar: the Value engine (the tutorial's); tensor: numpy arrays, much faster; both start from "
        f"the same weights (default: scalar for small runs, tensor above {SCALAR_BUDGET:,} weight uses)",
    )
    settings = parser.add_argument_group("model and training (defaults depend on the data set, see below)")
    settings.add_argument(
        "--hidden", type=hidden, metavar="SIZES",
        help=f"hidden layer sizes, e.g. 16,16 (at most {MAX_LAYERS} layers of {MAX_LAYER_SIZE:,})",
    )  # fmt: skip
    settings.add_argument(
        "--activation", choices=list(ACTIVATIONS),
        help="activation of the hidden layers: " + _listed(ACTIVATIONS, lambda a: a.formula),
    )  # fmt: skip
    settings.add_argument(
        "--init", choices=list(INITS),
        help="initial weights, the same on both engines: uniform (the tutorial's U(-1, 1)), kaiming (U(-r, r) with "
        "r = sqrt(6 / inputs), zero biases: for relu layers with many inputs)",
    )  # fmt: skip
    settings.add_argument("--loss", choices=list(LOSSES), help=_listed(LOSSES, lambda loss: loss.summary))
    settings.add_argument(
        "--optimizer", choices=list(OPTIMIZERS),
        help=_listed(OPTIMIZERS, lambda o: f"{o.summary}, lr {o.default_lr:g}") + "; choosing another one than "
        "the preset's also resets --lr to its own and --schedule to constant, unless you give them",
    )  # fmt: skip
    settings.add_argument("--lr", type=lambda t: number(t, 0.0, low_open=True), help="learning rate (at the start, with a schedule)")
    settings.add_argument(
        "--schedule", choices=list(SCHEDULES), help="learning-rate schedule: " + _listed(SCHEDULES, lambda s: s.summary)
    )
    settings.add_argument(
        "--momentum", type=number,
        help="momentum of the optimizers that take one (" + ", ".join(_takes_momentum()) + "), in [0, 1)",
    )  # fmt: skip
    settings.add_argument(
        "--epochs", type=_int(0, MAX_EPOCHS), help=f"passes over the training data (up to {MAX_EPOCHS:,})"
    )
    settings.add_argument(
        "--batch-size", type=_int(1, MAX_SAMPLES), metavar="N", help="samples per update (default: all of them for the 2-D sets)"
    )
    settings.add_argument("--l2", type=lambda t: number(t, 0.0), metavar="ALPHA", help="L2 penalty alpha * sum(w^2)")
    sized = ", ".join(name for name in datasets.names() if datasets.sized(DatasetSpec(name)))
    data = parser.add_argument_group(f"generated data ({sized} only)")
    data.add_argument(
        "--samples", type=_int(2, MAX_SAMPLES), metavar="N", help=f"number of training points, 2 to {MAX_SAMPLES:,}"
    )
    data.add_argument(
        "--noise", type=lambda t: number(t, 0.0, MAX_NOISE),
        help=f"standard deviation of the noise added to each point, 0 to {MAX_NOISE:g}",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=_int(0, MAX_SEED), default=0, metavar="N",
        help=f"random seed for data, weights and batches, 0 to {MAX_SEED:,} (default: 0)",
    )  # fmt: skip
    parser.add_argument("--out", default="out", metavar="DIR", help="folder for the plots and the model (default: out)")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (there is one only when stderr is a terminal)"
    )
    gpt.add_arguments(parser)  # --dataset names trains a GPT: its own options


def _takes_momentum() -> list[str]:
    """The optimizers whose factory has a ``momentum`` option."""
    from scratchgrad.optim import OPTIMIZERS

    return [name for name, spec in OPTIMIZERS.items() if "momentum" in inspect.signature(spec.factory).parameters]


def settings_of(args: argparse.Namespace) -> Any:
    """The data set's `Recipe` with the options given on top of it."""
    from scratchgrad.optim import OPTIMIZERS

    spec: DatasetSpec = args.dataset
    recipe = datasets.recipe(spec)
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(recipe) if getattr(args, f.name, None) is not None}
    if not datasets.sized(spec):
        for key in ("samples", "noise"):
            if key in overrides:
                generated = ", ".join(name for name in datasets.names() if datasets.sized(DatasetSpec(name)))
                raise UsageError(f"--{key} applies to the generated data sets ({generated}), not to {spec.stem}: leave it out")
            overrides[key] = None
    if overrides.get("optimizer", recipe.optimizer) != recipe.optimizer:
        # The preset's learning rate and schedule were tuned for its optimizer, not this one.
        overrides.setdefault("lr", OPTIMIZERS[overrides["optimizer"]].default_lr)
        overrides.setdefault("schedule", "constant")
    settings = dataclasses.replace(recipe, **overrides)
    if args.momentum is not None and settings.optimizer not in _takes_momentum():
        raise UsageError(
            f"--momentum applies to --optimizer {' or '.join(_takes_momentum())} only ({settings.optimizer} has no momentum option)"
        )
    return settings


def engine_of(args: argparse.Namespace, settings: Any, data: Any) -> tuple[str, str]:
    """(engine, why): the engine asked for, or the one that suits the run's size."""
    sizes = [data.num_features, *settings.hidden, data.classes if data.kind == "classes" else 1]
    params = sum((nin + 1) * nout for nin, nout in zip(sizes, sizes[1:]))
    if params > MAX_PARAMETERS:
        raise UsageError(
            f"the model would have {params:,} parameters, more than the limit of {MAX_PARAMETERS:,} parameters: "
            "use smaller --hidden layers"
        )
    samples = len(data.X)
    batch = min(settings.batch_size or samples, samples)
    cost = params * samples * settings.epochs + params * batch  # weight uses (+ one batch: 0 epochs still build a model)
    too_big = _too_big_for_values(params, batch, cost)
    if args.engine == "scalar":
        if too_big:
            raise UsageError(f"the scalar engine cannot take this run: {too_big}; use --engine tensor (or leave --engine out)")
        if cost > SCALAR_BUDGET:
            warn(f"about {cost / 1e6:,.0f} million weight uses on the scalar engine: this run will take "
                 f"about {cost / 1e6:,.0f} s; --engine tensor does it in seconds")  # fmt: skip
        return "scalar", ""
    if args.engine == "tensor":
        return "tensor", ""
    if too_big or cost > SCALAR_BUDGET:
        return "tensor", f", picked for speed: {cost / 1e6:,.0f} million weight uses" + ("" if too_big else "; --engine scalar for Values")
    return "scalar", ""


def _too_big_for_values(params: int, batch: int, cost: int) -> str:
    """Why the run cannot go on the scalar engine, or ""."""
    if params > MAX_SCALAR_PARAMETERS:
        return (f"the model would have {params:,} parameters, more than the scalar engine's limit of "
                f"{MAX_SCALAR_PARAMETERS:,} Values; or use smaller --hidden layers")  # fmt: skip
    if params * batch > MAX_SCALAR_GRAPH:
        return (f"a batch of {batch:,} samples through {params:,} parameters is a graph of {params * batch / 1e6:,.0f} "
                f"million weight uses, over the scalar engine's limit of {MAX_SCALAR_GRAPH / 1e6:,.0f} million; "
                "or use a smaller --batch-size")  # fmt: skip
    if cost > MAX_SCALAR_WORK:
        return (f"{cost / 1e6:,.0f} million weight uses would take the scalar engine about {cost / 6e7:,.0f} minutes, "
                f"over its limit of {MAX_SCALAR_WORK / 1e6:,.0f} million")  # fmt: skip
    return ""


def build_model(engine: str, settings: Any, data: Any, seed: int) -> Any:
    """The scalar or the tensor MLP: the same constructor, the same initial weights for the same seed."""
    from scratchgrad import nn, tensor_nn
    from scratchgrad.nn import LOSSES

    mlp = nn.MLP if engine == "scalar" else tensor_nn.MLP
    nout = data.classes if data.kind == "classes" else 1
    output_activation = LOSSES[settings.loss].output_activation_for(data.kind)
    return mlp(data.num_features, [*settings.hidden, nout], activation=settings.activation,
               output_activation=output_activation, init=settings.init, seed=seed)  # fmt: skip


def optimizer_of(settings: Any, momentum: float | None, model: Any) -> Any:
    """The optimizer by name; the library checks its settings (e.g. momentum in [0, 1))."""
    from scratchgrad.optim import make_optimizer

    options = {} if momentum is None else {"momentum": momentum}
    try:
        return make_optimizer(settings.optimizer, model.parameters(), settings.lr, **options)
    except ValueError as error:
        option = "--momentum" if str(error).startswith("momentum") else "--lr"
        raise UsageError(f"{option}: {error}") from None


def describe_run(settings: Any, optimizer: Any, data: Any, engine: str, why: str) -> str:
    sizes = [data.num_features, *settings.hidden, data.classes if data.kind == "classes" else 1]
    batch = "full batch" if settings.batch_size is None else f"batch {settings.batch_size}"
    schedule = "" if settings.schedule == "constant" else f" ({settings.schedule} decay)"
    momentum = f", momentum {optimizer.momentum:g}" if getattr(optimizer, "momentum", 0) else ""
    l2 = f", l2 {settings.l2:g}" if settings.l2 else ""
    return (
        f"training a {'-'.join(map(str, sizes))} {settings.activation} MLP ({engine} engine{why}) on {data.description}: "
        f"{settings.loss} loss, {settings.optimizer} lr {settings.lr:g}{schedule}{momentum}{l2}, "
        f"{settings.epochs} epoch{'' if settings.epochs == 1 else 's'}, {batch}, {settings.init} init"
    )


def run(args: argparse.Namespace) -> int:
    from scratchgrad.cli.report import model_file, report
    from scratchgrad.train import TrainingDiverged, fit

    if args.dataset.name == gpt.NAMES:
        return gpt.run(args)
    settings = settings_of(args)
    data = datasets.load(args.dataset, settings.loss, settings.samples, settings.noise, args.seed)
    datasets.check_loss_fits(settings.loss, data)
    engine, why = engine_of(args, settings, data)
    model = build_model(engine, settings, data, args.seed)
    optimizer = optimizer_of(settings, args.momentum, model)
    out = output_folder(args.out)
    stem = args.dataset.stem
    check_targets(out, [f"{stem}_{name}.png" for name in ("loss", "boundary", "confusion")] + [model_file(model, stem)])
    say(describe_run(settings, optimizer, data, engine, why))
    test = (data.X_test, data.y_test) if data.has_test else (None, None)
    try:
        history = fit(
            model, data.X, data.y, loss=settings.loss, optimizer=optimizer, scheduler=settings.schedule,
            epochs=settings.epochs, batch_size=settings.batch_size, l2=settings.l2, X_test=test[0], y_test=test[1],
            progress=False if args.no_progress else None, seed=args.seed,
        )  # fmt: skip
    except TrainingDiverged as error:
        raise CommandFailed(str(error)) from None
    written = Written()
    report(model, history, data, stem, out, written)
    written.report()
    return EXIT_OK


def epilog() -> str:
    """The table of defaults at the end of ``scratchgrad train --help``."""
    from scratchgrad.data import MAX_NOISE

    lines = ["defaults per data set:"]
    for name in [*datasets.names(), datasets.CSV]:
        if name == gpt.NAMES:
            lines.append(f"  {name:9s} a GPT, not an MLP: see the options of the GPT above")
            continue
        c = datasets.recipe(DatasetSpec(name))
        batch = "full batch" if c.batch_size is None else f"batch {c.batch_size}"
        extra = f", l2 {c.l2:g}" if c.l2 else ""
        schedule = "" if c.schedule == "constant" else f" ({c.schedule} schedule)"
        data = f", {c.samples} samples, noise {c.noise:g}" if c.samples is not None and c.noise is not None else ""
        init = "" if c.init == "uniform" else f", {c.init} init"
        lines.append(
            f"  {name:9s} --hidden {','.join(map(str, c.hidden)) or 'none'} --activation {c.activation} --loss {c.loss} "
            f"--optimizer {c.optimizer} --lr {c.lr:g}{schedule} --epochs {c.epochs}, {batch}{extra}{init}{data}"
        )
    lines += [
        "",
        "engine: both engines train the same MLP from the same initial weights, with one fit: for the same",
        "seed and full batches they print the same losses. Without --engine, the scalar engine (Values, as in",
        f"the tutorial) trains small runs and the tensor engine (numpy) runs of more than {SCALAR_BUDGET:,} weight",
        "uses (parameters x samples x epochs); the first line of the run says which. On Values, a run is",
        f"limited to {MAX_SCALAR_PARAMETERS:,} parameters, {MAX_SCALAR_GRAPH / 1e6:,.0f} million weight uses per batch "
        f"and {MAX_SCALAR_WORK / 1e6:,.0f} million in all.",
        "",
        f"limits: --samples 2..{MAX_SAMPLES:,}, --noise 0..{MAX_NOISE:g}, --hidden up to {MAX_LAYERS} layers of at most "
        f"{MAX_LAYER_SIZE:,} units and {MAX_PARAMETERS:,} parameters,",
        f"--momentum in [0, 1), --epochs up to {MAX_EPOCHS:,}, --seed 0..{MAX_SEED:,}.",
        "",
        "writes NAME_loss.png, NAME_boundary.png (2-D data) or NAME_confusion.png (classes), and the model",
        "NAME_model.json (scalar engine) or NAME_model.npz (tensor engine) into --out. A run whose loss",
        "diverges (not a number, or 1,000 times its first epoch's) stops with an error (exit status 1) and",
        "writes nothing.",
    ]
    return "\n".join(lines)


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
    epilog=epilog,  # made with the parser: a data set or loss registered later is listed too
)
