"""The ``scratchgrad`` command: the seed end to end, training runs and graph pictures.

    scratchgrad demo  --out out/                          # the seed tutorial, every picture
    scratchgrad train --dataset moons --out out/          # an MLP on a toy set, with plots
    scratchgrad graph "tanh(x1*w1 + x2*w2 + b)" --var x1=2 --var w1=-3 ... --out g.svg

Each subcommand is one `Subcommand` in the `SUBCOMMANDS` table: a function that adds its
arguments and a function that runs it and returns the exit status. Mistakes the user can
fix (a bad option, a bad expression, a missing file, a CSV with a bad row) print one
line ``scratchgrad: error: ...`` on stderr and exit with status 2, as argparse does; a
Python traceback means a bug in scratchgrad. Heavy libraries (numpy, matplotlib,
graphviz, torch) are imported by the subcommands that need them, so ``--help`` is quick.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sys
import textwrap
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, NoReturn, Sequence

PROG = "scratchgrad"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A mistake the user can fix: reported as one line ``scratchgrad: error: ...``, exit status 2."""


class CommandFailed(Exception):
    """The command could not finish for a reason other than its arguments (exit status 1)."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, but errors become `UsageError` so `main` reports them in one line."""

    def error(self, message: str) -> NoReturn:
        hint = ""
        if self.prog.endswith(" graph") and ("expression" in message or "unrecognized" in message):
            hint = "; an expression that starts with '-' goes after '--', e.g. scratchgrad graph --var x=3 -- \"-x**2\""
        raise UsageError(f"{message}{hint} (see '{self.prog} --help')")


@dataclass(frozen=True)
class Subcommand:
    """One ``scratchgrad NAME`` subcommand: ``add_arguments(parser)`` then ``run(args) -> exit status``."""

    name: str
    summary: str  # one line in ``scratchgrad --help``
    description: str  # the top of ``scratchgrad NAME --help``
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    epilog: str = ""


# ---- shared helpers ----------------------------------------------------------------------


def _say(*parts: object) -> None:
    print(*parts, flush=True)


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)


def _output_folder(path: str, option: str = "--out") -> Path:
    """Create ``path`` (and its parents) for writing, or raise a UsageError saying why not."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{option}: {path} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(f"cannot create the output folder {path}: {reason}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write to the output folder {path}: permission denied")
    return folder


def _whole_number(text: str, minimum: int, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1, "a positive whole number")


def _non_negative_int(text: str) -> int:
    return _whole_number(text, 0, "a whole number >= 0")


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


class _Written:
    """The files a command wrote, listed at its end."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def add(self, path: Path | str) -> Path:
        self.paths.append(Path(path))
        return Path(path)

    def report(self, heading: str = "wrote:") -> None:
        if not self.paths:
            return
        _say(heading)
        for path in self.paths:
            size = path.stat().st_size if path.exists() else 0
            _say(f"  {path}  ({_human_size(size)})")


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _render_picture(root: Any, path: Path, written: _Written, missing: list[str]) -> None:
    """Render ``root``'s graph to ``path``; without Graphviz, note the .dot written instead."""
    from scratchgrad import viz

    try:
        written.add(viz.render(viz.draw_dot(root), path))
    except viz.GraphvizMissingError as error:
        written.add(error.source_path)
        missing.append(str(path))


# ---- scratchgrad demo --------------------------------------------------------------------

SEED_XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
SEED_YS = [1.0, -1.0, -1.0, 1.0]
SEED_QUERY = [4.0, 5.0, -3.0]


def _add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default="out", metavar="DIR", help="folder for the pictures and the model (default: out)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="N", help="random seed for the MLP's initial weights (default: 0)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar while training")


def _seed_expression(out: Path, written: _Written, missing: list[str]) -> None:
    """The seed's first graph, L = (a*b + c) * f, and its gradients worked out by hand."""
    from scratchgrad import Value

    _say("== 1. An expression: L = (a*b + c) * f, the seed's first graph")
    # the seed's own cell
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    _say(f"L = {L.data}")
    _render_picture(L, out / "seed_L.svg", written, missing)
    _render_picture(L, out / "seed_L.png", written, missing)

    # The seed's manual chain rule, one line per node.
    L.grad = 1.0
    d.grad = f.data
    f.grad = d.data
    e.grad = d.grad
    c.grad = d.grad
    a.grad = e.grad * b.data
    b.grad = e.grad * a.data
    manual = {v.label: v.grad for v in (L, d, f, e, c, a, b)}
    _say("gradients by hand (the chain rule, node by node):")
    _say("  " + "  ".join(f"{name} {grad}" for name, grad in manual.items()))
    _render_picture(L, out / "seed_L_grads.svg", written, missing)
    _render_picture(L, out / "seed_L_grads.png", written, missing)

    for v in (L, d, f, e, c, a, b):
        v.grad = 0.0
    L.backward()
    automatic = {v.label: v.grad for v in (L, d, f, e, c, a, b)}
    if automatic != manual:
        raise CommandFailed(f"backward() disagrees with the hand-worked gradients: {automatic} vs {manual}")
    _say("L.backward() gives the same gradients")


def _seed_neuron(out: Path, written: _Written, missing: list[str]) -> dict[str, float]:
    """The seed's neuron o = tanh(x1*w1 + x2*w2 + b): pictures before and after backward."""
    from scratchgrad import Value, viz

    _say("")
    _say("== 2. A neuron: o = tanh(x1*w1 + x2*w2 + b)")
    # the seed's own cell
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(6, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    _render_picture(o, out / "seed_neuron.svg", written, missing)
    _render_picture(o, out / "seed_neuron.png", written, missing)
    steps = out / "seed_neuron_steps.html"
    try:
        written.add(viz.animate_backward(o, steps, title="The seed's neuron: backward() step by step"))
    except viz.GraphvizMissingError as error:
        written.add(error.source_path)
        missing.append(str(steps))

    o.backward()
    _render_picture(o, out / "seed_neuron_backward.svg", written, missing)
    _render_picture(o, out / "seed_neuron_backward.png", written, missing)
    _say(o.data)
    _say("---")
    grads = {"x2": x2.grad, "w2": w2.grad, "x1": x1.grad, "w1": w1.grad}
    for name, grad in grads.items():
        _say(name, grad)
    return {"o": float(o.data), **grads}


def _torch_check(ours: dict[str, float]) -> bool | None:
    """The seed's PyTorch cell next to our numbers: True/False, or None without torch."""
    try:
        import torch
    except ImportError:
        _say("PyTorch check skipped: torch is not installed (pip install scratchgrad[torch])")
        return None
    x1 = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    x2 = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    w1 = torch.tensor([-3.0], dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([6.0], dtype=torch.float64, requires_grad=True)
    o = torch.tanh(x1 * w1 + x2 * w2 + b)
    o.backward()
    theirs = {
        "o": o.item(),
        "x2": x2.grad.item(),  # type: ignore[union-attr]
        "w2": w2.grad.item(),  # type: ignore[union-attr]
        "x1": x1.grad.item(),  # type: ignore[union-attr]
        "w1": w1.grad.item(),  # type: ignore[union-attr]
    }
    worst = max(abs(ours[k] - theirs[k]) for k in theirs)
    agree = worst <= 1e-12
    verdict = "agrees" if agree else f"DISAGREES (largest difference {worst:.3g})"
    _say(f"PyTorch {torch.__version__} (float64) {verdict}: " + ", ".join(f"{k} {v}" for k, v in theirs.items()))
    return agree


def _progress(iterable: Sequence[int], enabled: bool, description: str) -> Iterator[int]:
    if not enabled:
        yield from iterable
        return
    from tqdm import tqdm

    bar = tqdm(iterable, desc=description, unit="step", file=sys.stderr, leave=True)
    try:
        yield from bar
    finally:
        bar.close()


def _seed_mlp(out: Path, written: _Written, seed: int, progress: bool) -> None:
    """The seed's MLP(3, [4, 4, 1]) trained on its 4 samples, then asked about [4, 5, -3]."""
    from scratchgrad import losses, plots
    from scratchgrad.nn import MLP

    _say("")
    _say("== 3. The seed's MLP(3, [4, 4, 1]) on its 4 samples: 50 steps, lr 0.1, squared error")
    random.seed(seed)  # the seed draws its weights from the global random module; so do we
    n = MLP(3, [4, 4, 1])
    history: list[float] = []
    for k in _progress(range(50), progress, "training"):
        # forward pass
        ypred: list[Any] = [n(x) for x in SEED_XS]
        loss = losses.squared_error(ypred, SEED_YS)
        # backward pass
        for p in n.parameters():
            p.grad = 0.0
        loss.backward()
        # update
        for p in n.parameters():
            p.data += -0.1 * p.grad
        history.append(float(loss.data))
    for k in sorted({0, 10, 20, 30, 40, 49}):
        _say(f"step {k:2d}  loss {history[k]:.6f}")
    written.add(plots.plot_loss_curve(history, out / "seed_mlp_loss.png", title="The seed's MLP(3, [4, 4, 1])"))
    model_path = out / "seed_mlp.json"
    n.save(model_path)
    written.add(model_path)
    prediction = n(SEED_QUERY)
    _say(f"prediction for {SEED_QUERY}: {prediction.data}")  # type: ignore[union-attr]


def run_demo(args: argparse.Namespace) -> int:
    """``scratchgrad demo``: the seed tutorial end to end."""
    out = _output_folder(args.out)
    written = _Written()
    missing: list[str] = []
    _seed_expression(out, written, missing)
    ours = _seed_neuron(out, written, missing)
    agrees = _torch_check(ours)
    from scratchgrad import plots

    written.add(plots.plot_activations(out / "activations.png"))
    _seed_mlp(out, written, args.seed, progress=not args.no_progress)
    _say("")
    written.report(f"wrote {len(written.paths)} files:")
    if missing:
        from scratchgrad.viz import INSTALL_HINT

        _warn(
            f"{len(missing)} pictures could not be drawn because Graphviz's `dot` is missing; "
            f"their .dot sources were written instead. {INSTALL_HINT}"
        )
    if agrees is False:
        raise CommandFailed("scratchgrad and PyTorch disagree on the seed's neuron (a bug: please report it)")
    return EXIT_OK


DEMO = Subcommand(
    name="demo",
    summary="run the seed tutorial end to end and write its pictures",
    description=(
        "Run the seed tutorial end to end: the expression L = (a*b + c) * f with its gradients worked "
        "out by hand; the neuron tanh(x1*w1 + x2*w2 + b) before and after backward(), checked against "
        "PyTorch when it is installed; the seed's MLP(3, [4, 4, 1]) trained on its 4 samples (50 steps, "
        "lr 0.1, squared error) and its prediction for [4, 5, -3]. Writes the graph pictures (SVG and "
        "PNG), a step-through page of the neuron's backward pass (HTML), the activation functions, the "
        "loss curve and the trained model (JSON) into --out, and lists them."
    ),
    add_arguments=_add_demo_arguments,
    run=run_demo,
)


# ---- scratchgrad train -------------------------------------------------------------------

GENERATED = ("moons", "circles", "spirals", "xor")
DATASETS = GENERATED + ("tutorial", "digits")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
LOSS_NAMES = ("hinge", "mse", "sse", "bce", "ce")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "linear", "cosine")
OPTIMIZER_LR = {"sgd": 0.1, "adam": 0.01}  # when --optimizer differs from the data set's preset


@dataclass(frozen=True)
class DatasetSpec:
    """What ``--dataset`` named: a built-in set, or ``csv`` with its path."""

    name: str
    path: Path | None = None

    @property
    def stem(self) -> str:
        """The prefix of the files written for this data set."""
        return self.path.stem if self.path is not None else self.name


def _dataset(text: str) -> DatasetSpec:
    if text.startswith("csv:"):
        path = text[len("csv:") :]
        if not path:
            raise argparse.ArgumentTypeError("csv: needs a file name, e.g. --dataset csv:data.csv")
        return DatasetSpec("csv", Path(path))
    if text in DATASETS:
        return DatasetSpec(text)
    raise argparse.ArgumentTypeError(f"unknown dataset {text!r} (choose from {', '.join(DATASETS)} or csv:PATH)")


def _hidden(text: str) -> list[int]:
    """``16,16`` -> [16, 16]; ``""`` or ``none`` -> [] (a linear model)."""
    if text.strip().lower() in ("", "none"):
        return []
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(
                f"expected layer sizes as positive whole numbers separated by commas, e.g. 16,16; got {text!r}"
            )
        sizes.append(int(part))
    return sizes


@dataclass(frozen=True)
class TrainConfig:
    """Every training setting; a preset per data set, overridden by the options given."""

    hidden: list[int]
    activation: str
    loss: str
    optimizer: str
    lr: float
    epochs: int
    batch_size: int | None  # None: full batch
    l2: float = 0.0
    schedule: str = "constant"
    momentum: float = 0.0
    samples: int = 100
    noise: float = 0.1


# The options of `scratchgrad train` that override a field of TrainConfig.
TRAIN_SETTINGS = (
    "hidden", "activation", "loss", "optimizer", "lr", "schedule",
    "momentum", "epochs", "batch_size", "l2", "samples", "noise",
)  # fmt: skip

# Settings that train well out of the box (checked by the tests with fewer epochs).
PRESETS: dict[str, TrainConfig] = {
    # micrograd's demo: 2-16-16-1 relu, hinge + L2 1e-4, SGD lr 1.0 -> 0.1, full batch
    "moons": TrainConfig([16, 16], "relu", "hinge", "sgd", 1.0, 100, None, l2=1e-4, schedule="linear"),
    "circles": TrainConfig([16, 16], "relu", "hinge", "sgd", 1.0, 100, None, l2=1e-4, schedule="linear", noise=0.05),
    "spirals": TrainConfig([16, 16], "tanh", "hinge", "adam", 0.05, 200, None, schedule="cosine", noise=0.05),
    "xor": TrainConfig([8, 8], "relu", "hinge", "sgd", 0.5, 100, None, l2=1e-4, schedule="linear"),
    # the seed's own run: MLP(3, [4, 4, 1]) tanh, summed squared error, SGD lr 0.1, 50 steps
    "tutorial": TrainConfig([4, 4], "tanh", "sse", "sgd", 0.1, 50, None),
    "csv": TrainConfig([16, 16], "relu", "hinge", "adam", 0.01, 100, None),
    # issue 8's run: 64-128-10 relu, cross-entropy, Adam lr 1e-3, batch 64, 30 epochs
    "digits": TrainConfig([128], "relu", "ce", "adam", 1e-3, 30, 64),
}


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        type=_dataset,
        default=DatasetSpec("moons"),
        metavar="NAME",
        help=(
            "moons, circles, spirals, xor (generated 2-D sets), tutorial (the seed's 4 samples), "
            "digits (8x8 handwritten digits, tensor engine, needs scikit-learn) or csv:PATH "
            "(a CSV file of numbers, last column the label) (default: moons)"
        ),
    )
    parser.add_argument(
        "--engine",
        choices=("scalar", "tensor"),
        default=None,
        help="scalar: the Value engine (the seed's); tensor: numpy arrays, much faster "
        "(default: tensor for digits, else scalar)",
    )
    settings = parser.add_argument_group("model and training (defaults depend on the data set, see below)")
    settings.add_argument("--hidden", type=_hidden, metavar="SIZES", help="hidden layer sizes, e.g. 16,16")
    settings.add_argument("--activation", choices=ACTIVATIONS, help="activation of the hidden layers")
    settings.add_argument(
        "--loss",
        choices=LOSS_NAMES,
        help="hinge, mse (mean squared error), sse (summed, the seed's), bce (cross-entropy on logits) "
        "for two classes; ce (softmax cross-entropy) for several classes",
    )
    settings.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        help="sgd or adam; choosing the one the preset does not use also resets --lr (sgd 0.1, adam 0.01) "
        "and --schedule (constant) unless you give them",
    )
    settings.add_argument("--lr", type=_positive_float, help="learning rate (at the start, with a schedule)")
    settings.add_argument(
        "--schedule", choices=SCHEDULES, help="learning-rate schedule: constant, linear (to lr/10) or cosine"
    )
    settings.add_argument("--momentum", type=_non_negative_float, help="SGD momentum")
    settings.add_argument("--epochs", type=_non_negative_int, help="passes over the training data")
    settings.add_argument(
        "--batch-size",
        type=_positive_int,
        metavar="N",
        help="samples per update (default: all of them for the 2-D sets)",
    )
    settings.add_argument("--l2", type=_non_negative_float, metavar="ALPHA", help="L2 penalty alpha * sum(w^2)")
    data = parser.add_argument_group("generated data (moons, circles, spirals, xor)")
    data.add_argument("--samples", type=_positive_int, metavar="N", help="number of training points")
    data.add_argument("--noise", type=_non_negative_float, help="standard deviation of the noise added to each point")
    parser.add_argument(
        "--seed", type=int, default=0, metavar="N", help="random seed for data, weights and batches (default: 0)"
    )
    parser.add_argument("--out", default="out", metavar="DIR", help="folder for the plots and the model (default: out)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _train_epilog() -> str:
    lines = ["defaults per data set:"]
    for name, c in PRESETS.items():
        batch = "full batch" if c.batch_size is None else f"batch {c.batch_size}"
        extra = f", l2 {c.l2:g}" if c.l2 else ""
        schedule = "" if c.schedule == "constant" else f" ({c.schedule} schedule)"
        data = f", {c.samples} samples, noise {c.noise:g}" if name in GENERATED else ""
        hidden = ",".join(map(str, c.hidden)) or "none"
        lines.append(
            f"  {name:9s} --hidden {hidden} --activation {c.activation} --loss {c.loss} --optimizer "
            f"{c.optimizer} --lr {c.lr:g}{schedule} --epochs {c.epochs}, {batch}{extra}{data}"
        )
    lines.append("")
    lines.append("writes NAME_loss.png, NAME_boundary.png (2-D data) or NAME_confusion.png (digits), and the model")
    lines.append("NAME_model.json (scalar engine) or NAME_model.npz (tensor engine) into --out.")
    return "\n".join(lines)


def _config(args: argparse.Namespace) -> TrainConfig:
    preset = PRESETS[args.dataset.name]
    overrides = {key: getattr(args, key) for key in TRAIN_SETTINGS if getattr(args, key) is not None}
    if args.dataset.name not in GENERATED:
        for key in ("samples", "noise"):
            if key in overrides:
                _warn(f"--{key} only applies to the generated data sets; ignored for {args.dataset.name}")
                del overrides[key]
    if overrides.get("optimizer", preset.optimizer) != preset.optimizer:
        # The preset's learning rate and schedule were tuned for its optimizer, not this one.
        overrides.setdefault("lr", OPTIMIZER_LR[overrides["optimizer"]])
        overrides.setdefault("schedule", "constant")
    config = replace(preset, **overrides)
    if config.momentum and config.optimizer != "sgd":
        raise UsageError("--momentum applies to --optimizer sgd only (Adam has its own moments)")
    return config


def _engine(args: argparse.Namespace) -> str:
    if args.dataset.name == "digits":
        if args.engine == "scalar":
            raise UsageError(
                "--dataset digits needs --engine tensor: the scalar engine would need about 10^8 Value "
                "objects per epoch (leave --engine out to pick tensor automatically)"
            )
        return "tensor"
    return args.engine or "scalar"


@dataclass
class Problem:
    """The data to learn: X as lists of floats, y as ±1 labels, class indices or real targets."""

    X: list[list[float]]
    y: list[Any]
    kind: str  # 'binary' (±1), 'classes' (0..k-1) or 'regression'
    classes: int = 2
    X_test: list[list[float]] = field(default_factory=list)
    y_test: list[Any] = field(default_factory=list)
    description: str = ""


def _load_problem(spec: DatasetSpec, config: TrainConfig, seed: int) -> Problem:
    from scratchgrad import data

    if spec.name in GENERATED:
        generators: dict[str, Callable[..., tuple[list[list[float]], list[float]]]] = {
            "moons": data.make_moons,
            "circles": data.make_circles,
            "spirals": data.make_spirals,
            "xor": data.make_xor,
        }
        make = generators[spec.name]
        X, y = make(config.samples, noise=config.noise, seed=seed)
        # A fresh sample of the same distribution measures how well the model generalises.
        X_test, y_test = make(config.samples, noise=config.noise, seed=seed + 1_000_003)
        return Problem(
            X, y, "binary", 2, X_test, y_test, f"{spec.name} ({config.samples} samples, noise {config.noise:g})"
        )
    if spec.name == "tutorial":
        X, y = data.tutorial()
        return Problem(X, y, "binary", 2, description="the seed's 4 samples")
    assert spec.name == "csv" and spec.path is not None
    try:
        X, y = data.load_csv(spec.path)
    except FileNotFoundError:
        raise UsageError(f"--dataset csv:{spec.path}: file not found") from None
    except (OSError, ValueError) as error:  # DataFileError names the file, the row and the column
        raise UsageError(str(error)) from None
    return _csv_problem(X, y, config, spec)


def _csv_problem(X: list[list[float]], y: list[float], config: TrainConfig, spec: DatasetSpec) -> Problem:
    from scratchgrad.data import binary_labels

    values = sorted(set(y))
    where = f"{len(X)} rows of {spec.path}"
    if config.loss == "ce":
        if not all(float(v).is_integer() for v in values):
            raise UsageError(f"--loss ce needs whole-number class labels in the last column of {spec.path}")
        index = {v: i for i, v in enumerate(values)}
        return Problem(X, [index[v] for v in y], "classes", len(values), description=f"{where}, {len(values)} classes")
    if len(values) == 2:
        if values != [-1.0, 1.0]:
            _say(f"labels {values[0]:g} -> -1 and {values[1]:g} -> +1")
        return Problem(X, binary_labels(y), "binary", 2, description=f"{where}, 2 classes")
    if config.loss in ("mse", "sse"):
        return Problem(X, y, "regression", 1, description=f"{where}, real targets")
    raise UsageError(
        f"the last column of {spec.path} has {len(values)} distinct values: use --loss ce for several "
        "classes, or --loss mse for real-valued targets"
    )


def _check_loss_fits(config: TrainConfig, problem: Problem) -> None:
    if config.loss == "ce" and problem.kind == "binary":
        raise UsageError("--loss ce is for several classes; for two classes use hinge, bce, mse or sse")
    if config.loss != "ce" and problem.kind == "classes":
        raise UsageError(
            f"--loss {config.loss} is for two classes; this data has {problem.classes} classes: use --loss ce"
        )


def _optimizer(config: TrainConfig, params: list[Any]) -> tuple[Any, Any]:
    from scratchgrad import optim

    if config.optimizer == "adam":
        optimizer: Any = optim.Adam(params, lr=config.lr)
    else:
        optimizer = optim.SGD(params, lr=config.lr, momentum=config.momentum)
    steps = max(config.epochs, 1)
    scheduler: Any = None
    if config.schedule == "linear":
        scheduler = optim.LinearDecay(optimizer, total_steps=steps, final_lr=config.lr / 10)
    elif config.schedule == "cosine":
        scheduler = optim.CosineDecay(optimizer, total_steps=steps, min_lr=config.lr / 100)
    return optimizer, scheduler


def _describe_run(config: TrainConfig, problem: Problem, engine: str, nin: int, nout: int) -> str:
    sizes = [nin] + config.hidden + [nout]
    batch = "full batch" if config.batch_size is None else f"batch {config.batch_size}"
    schedule = "" if config.schedule == "constant" else f" ({config.schedule} decay)"
    momentum = f", momentum {config.momentum:g}" if config.momentum else ""
    l2 = f", l2 {config.l2:g}" if config.l2 else ""
    return (
        f"training a {'-'.join(map(str, sizes))} {config.activation} MLP ({engine} engine) on {problem.description}: "
        f"{config.loss} loss, {config.optimizer} lr {config.lr:g}{schedule}{momentum}{l2}, "
        f"{config.epochs} epoch{'' if config.epochs == 1 else 's'}, {batch}"
    )


def _output_activation(loss: str, problem: Problem) -> str:
    if loss in ("mse", "sse") and problem.kind == "binary":
        return "tanh"  # scores in (-1, 1) for ±1 targets, the seed's choice
    return "linear"


def _numpy_forward(model: Any) -> Callable[[Any], Any]:
    """The scalar MLP's forward pass on a whole array of points at once, for pictures: a
    decision boundary needs ~40,000 forward passes, seconds as Values, milliseconds here."""
    import numpy as np

    layers = [
        (
            np.array([[w.data for w in neuron.w] for neuron in layer.neurons], dtype=np.float64),
            np.array([neuron.b.data for neuron in layer.neurons], dtype=np.float64),
            layer.activation,
        )
        for layer in model.layers
    ]
    activations: dict[str, Callable[[Any], Any]] = {
        "tanh": np.tanh,
        "relu": lambda z: np.maximum(z, 0.0),
        "sigmoid": lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),  # the logistic function, overflow-free
        "linear": lambda z: z,
    }

    def forward(points: Any) -> Any:
        h = np.asarray(points, dtype=np.float64)
        for W, b, activation in layers:
            h = activations[activation](h @ W.T + b)
        return h[:, 0] if h.shape[1] == 1 else h

    return forward


@dataclass
class Trained:
    """A trained model, whichever the engine: what `_report` needs to describe and save it."""

    history: Any  # .loss, .accuracy (and .test_loss for the tensor engine)
    scores: Callable[[Any], Any]  # (n, features) array -> (n,) scores or (n, k) logits, for pictures
    accuracy: Callable[[Any, Any], float]  # (X, y) -> fraction right, computed by the engine itself
    save: Callable[[Path], None]
    model_suffix: str  # .json (scalar) or .npz (tensor)


def _train_scalar(config: TrainConfig, problem: Problem, args: argparse.Namespace) -> Trained:
    from scratchgrad.nn import MLP
    from scratchgrad.train import TrainingDiverged, accuracy, fit

    nin = len(problem.X[0])
    nout = problem.classes if problem.kind == "classes" else 1
    _say(_describe_run(config, problem, "scalar", nin, nout))
    model = MLP(
        nin,
        config.hidden + [nout],
        activation=config.activation,
        output_activation=_output_activation(config.loss, problem),
        seed=args.seed,
    )
    optimizer, scheduler = _optimizer(config, model.parameters())
    try:
        history = fit(
            model,
            problem.X,
            problem.y,
            loss=config.loss,
            optimizer=optimizer,
            scheduler=scheduler,
            epochs=config.epochs,
            batch_size=config.batch_size,
            l2=config.l2,
            progress=not args.no_progress,
            seed=args.seed,
        )
    except TrainingDiverged as error:
        raise CommandFailed(f"training diverged: {error}") from None
    return Trained(
        history=history,
        scores=_numpy_forward(model),
        accuracy=lambda X, y: accuracy(model, X, y),
        save=model.save,
        model_suffix=".json",
    )


def _fit_tensor(model: Any, problem: Problem, config: TrainConfig, args: argparse.Namespace) -> Any:
    import numpy as np

    from scratchgrad.tensor_nn import mse_loss
    from scratchgrad.tensor_train import TrainingDiverged, fit

    label_type = np.int64 if problem.kind == "classes" else np.float64
    optimizer, scheduler = _optimizer(config, model.parameters())
    loss: Any = config.loss
    if loss == "sse":

        def loss(outputs: Any, targets: Any) -> Any:  # the seed's summed squared error
            return mse_loss(outputs, targets) * len(targets)

    try:
        return fit(
            model,
            np.asarray(problem.X, dtype=np.float64),
            np.asarray(problem.y, dtype=label_type),
            loss=loss,
            optimizer=optimizer,
            scheduler=scheduler,
            epochs=config.epochs,
            batch_size=config.batch_size,
            l2=config.l2,
            progress=not args.no_progress,
            seed=args.seed,
            X_test=np.asarray(problem.X_test, dtype=np.float64) if problem.X_test else None,
            y_test=np.asarray(problem.y_test, dtype=label_type) if problem.X_test else None,
        )
    except TrainingDiverged as error:
        raise CommandFailed(f"training diverged: {error}") from None


def _train_digits(config: TrainConfig, args: argparse.Namespace) -> tuple[Any, Any]:
    """The tensor engine's own digits run (its split, initialisation and batching)."""
    from scratchgrad.tensor_train import TrainingDiverged, train_digits

    if config.schedule != "constant" or config.momentum:
        raise UsageError("--schedule and --momentum are not available for --dataset digits")
    try:
        result = train_digits(
            hidden=config.hidden,
            epochs=config.epochs,
            batch_size=config.batch_size or 1_000_000,  # no batch size: the whole training set
            lr=config.lr,
            seed=args.seed,
            activation=config.activation,
            optimizer=config.optimizer,
            l2=config.l2,
            progress=not args.no_progress,
        )
    except TrainingDiverged as error:
        raise CommandFailed(f"training diverged: {error}") from None
    return result.model, result.history


def _train_tensor(config: TrainConfig, problem: Problem, args: argparse.Namespace) -> Trained:
    import numpy as np

    from scratchgrad.tensor_nn import mlp
    from scratchgrad.tensor_train import accuracy, predict

    nin = len(problem.X[0])
    nout = problem.classes if problem.kind == "classes" else 1
    _say(_describe_run(config, problem, "tensor", nin, nout))
    if args.dataset.name == "digits":
        model, history = _train_digits(config, args)
    else:
        output_activation = _output_activation(config.loss, problem)
        model = mlp(
            nin,
            config.hidden,
            nout,
            activation=config.activation,
            output_activation=None if output_activation == "linear" else output_activation,
            seed=args.seed,
        )
        history = _fit_tensor(model, problem, config, args)
    label_type = np.int64 if problem.kind == "classes" else np.float64
    return Trained(
        history=history,
        scores=lambda points: predict(model, np.asarray(points, dtype=np.float64)),
        accuracy=lambda X, y: accuracy(model, np.asarray(X, dtype=np.float64), np.asarray(y, dtype=label_type)),
        save=model.save,
        model_suffix=".npz",
    )


def _report(trained: Trained, problem: Problem, stem: str, out: Path, written: _Written) -> None:
    """Print the scores and write the loss curve, the pictures and the model."""
    from scratchgrad import plots
    from scratchgrad.tensor_train import confusion_matrix

    history = trained.history
    if history.loss:
        test_losses = getattr(history, "test_loss", None) or None
        curve = out / f"{stem}_loss.png"
        written.add(plots.plot_loss_curve(history, curve, title=f"{stem}: training loss", test_losses=test_losses))
        _say(f"final training loss {history.loss[-1]:.6g}")
    if problem.kind != "regression":
        _say(f"training accuracy {trained.accuracy(problem.X, problem.y):.1%}")
        if problem.X_test:
            test = trained.accuracy(problem.X_test, problem.y_test)
            _say(f"test accuracy {test:.1%} (on {len(problem.X_test)} samples not trained on)")
    if problem.kind == "classes":
        X, y, which = (problem.X_test, problem.y_test, "test") if problem.X_test else (problem.X, problem.y, "training")
        matrix = confusion_matrix(y, trained.scores(X).argmax(axis=1), problem.classes)
        picture = out / f"{stem}_confusion.png"
        written.add(plots.plot_confusion_matrix(matrix, picture, title=f"{stem}: {which} set"))
    features = len(problem.X[0])
    if features == 2 and problem.kind != "regression":
        picture = out / f"{stem}_boundary.png"
        written.add(
            plots.plot_decision_boundary(
                trained.scores, problem.X, problem.y, picture, title=f"{stem}: decision boundary", accepts="array"
            )
        )
    elif problem.kind == "binary":
        _say(f"no decision boundary picture: the data has {features} features, not 2")
    model_path = out / f"{stem}_model{trained.model_suffix}"
    trained.save(model_path)
    written.add(model_path)


def _digits_problem() -> Problem:
    try:
        from scratchgrad.digits import load_digits

        data = load_digits()
    except ImportError as error:  # scikit-learn missing: the message names the extra to install
        raise CommandFailed(str(error)) from None
    return Problem(
        data.X_train.tolist(),
        data.y_train.tolist(),
        "classes",
        data.num_classes,
        data.X_test.tolist(),
        data.y_test.tolist(),
        f"digits ({len(data.X_train)} training and {len(data.X_test)} test images of 8x8 pixels)",
    )


def run_train(args: argparse.Namespace) -> int:
    """``scratchgrad train``: train an MLP on a data set, write its plots and the model."""
    engine = _engine(args)
    config = _config(args)
    problem = _digits_problem() if args.dataset.name == "digits" else _load_problem(args.dataset, config, args.seed)
    _check_loss_fits(config, problem)
    out = _output_folder(args.out)
    written = _Written()
    trained = (_train_tensor if engine == "tensor" else _train_scalar)(config, problem, args)
    _report(trained, problem, args.dataset.stem, out, written)
    written.report()
    return EXIT_OK


TRAIN = Subcommand(
    name="train",
    summary="train an MLP on a toy data set, digits or a CSV file",
    description=(
        "Train a multi-layer perceptron with a progress bar, then write the loss curve, a picture of "
        "what it learned (the decision boundary for 2-D data, the confusion matrix for digits) and "
        "the trained model, and print its accuracy. Every setting has a default that works for the "
        "chosen data set; any option you give overrides it."
    ),
    add_arguments=_add_train_arguments,
    run=run_train,
    epilog=_train_epilog(),
)


# ---- scratchgrad graph -------------------------------------------------------------------

PICTURE_SUFFIXES = (".svg", ".png", ".pdf", ".dot", ".gv")
PAGE_SUFFIXES = (".html", ".htm")


def _variable(text: str) -> tuple[str, float]:
    name, sep, number = text.partition("=")
    name = name.strip()
    if not sep or not name or not number.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, e.g. x1=2.0; got {text!r}")
    if not name.isidentifier():
        raise argparse.ArgumentTypeError(
            f"{name!r} is not a variable name (letters, digits, _; not starting with a digit)"
        )
    try:
        value = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}={number.strip()}: {number.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{name}={number.strip()}: the value must be a finite number")
    return name, value


def _add_graph_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("expression", help='the expression, e.g. "tanh(x1*w1 + x2*w2 + b)" (quote it for the shell)')
    parser.add_argument(
        "--var",
        "-v",
        type=_variable,
        action="append",
        default=[],
        metavar="NAME=NUMBER",
        help="the value of a variable; repeat for each variable",
    )
    parser.add_argument(
        "--out",
        "-o",
        metavar="FILE",
        help="write the graph to FILE: .svg, .png, .pdf, .dot (Graphviz source), or .html (the step-through page)",
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


GRAPH_EPILOG = """\
the language: numbers (2, 0.5, 1e-3), variables, + - * / ** (** binds tighter than unary minus
and is right-associative, as in Python: -x**2 is -(x**2)), parentheses, and the functions
tanh, exp, log, relu, sigmoid.

examples:
  scratchgrad graph "tanh(x1*w1 + x2*w2 + b)" --var x1=2 --var x2=0 --var w1=-3 --var w2=1 --var b=6 --out neuron.svg
  scratchgrad graph "x**2 + 3*x" --var x=2 --out steps.html

An expression that starts with a minus sign must come after "--" (or start with a space):
  scratchgrad graph --var x=3 -- "-x**2"
"""


def _format_number(x: float) -> str:
    return repr(float(x)) if isinstance(x, float) else repr(x)


def run_graph(args: argparse.Namespace) -> int:
    """``scratchgrad graph``: evaluate an expression, backpropagate, print and draw it."""
    from scratchgrad import Value
    from scratchgrad.expr import ExprError, evaluate, parse, variable_names

    given: dict[str, float] = {}
    for name, value in args.var:
        if name in given:
            raise UsageError(f"--var {name} is given twice ({_format_number(given[name])} and {_format_number(value)})")
        given[name] = value
    target = Path(args.out) if args.out else None
    suffix = target.suffix.lower() if target else ""
    if target is not None and suffix not in PICTURE_SUFFIXES + PAGE_SUFFIXES:
        raise UsageError(
            f"--out {args.out}: unknown picture format {suffix or '(no suffix)'!r}; "
            f"use {', '.join(PICTURE_SUFFIXES + PAGE_SUFFIXES)}"
        )
    if args.steps and target is None:
        raise UsageError("--steps writes an HTML page: give it with --out FILE.html")
    if args.steps and suffix not in PAGE_SUFFIXES:
        raise UsageError(f"--steps writes an HTML page, but --out {args.out} is not .html")

    try:
        tree = parse(args.expression)
        names = variable_names(tree)
        leaves = {name: Value(given[name], label=name) for name in names if name in given}
        out = evaluate(tree, {**given, **leaves})
    except ExprError as error:
        raise UsageError(str(error)) from None
    unused = [name for name in given if name not in names]
    if unused:
        _warn(f"the expression does not use {', '.join(unused)}")

    out.backward()
    shown = " ".join(args.expression.split())
    shown = shown if len(shown) <= 100 else shown[:99] + "…"
    _say(f"{shown} = {_format_number(out.data)}")
    if leaves:
        rows = [(name, _format_number(leaf.data), _format_number(leaf.grad)) for name, leaf in leaves.items()]
        name_width = max(len(name) for name, _, _ in rows)
        value_width = max(len(value) for _, value, _ in rows)
        _say("variables and gradients:")
        for name, value, grad in rows:
            _say(f"  {name:<{name_width}} = {value:<{value_width}}   grad {grad}")

    if target is not None:
        from scratchgrad import viz

        if target.parent != Path(""):
            _output_folder(str(target.parent), f"--out {args.out}")
        if suffix in PAGE_SUFFIXES:
            size, limit = len(viz.trace(out)[0]), viz.ANIMATION_MAX_NODES
            if size > limit:
                raise UsageError(
                    f"the graph has {size} values, too many for a step-through page (at most {limit}): "
                    "write a picture instead, e.g. --out graph.svg"
                )
        try:
            if suffix in PAGE_SUFFIXES:
                path = viz.animate_backward(out, target, title=args.expression.strip(), rankdir=args.rankdir)
            else:
                path = viz.render(viz.draw_dot(out, rankdir=args.rankdir), target)
        except viz.GraphvizMissingError as error:
            raise CommandFailed(str(error)) from None
        except RuntimeError as error:
            import graphviz

            if not isinstance(error.__cause__, graphviz.CalledProcessError):
                raise
            # dot itself failed (old Graphviz versions crash on some large graphs)
            raise CommandFailed(f"{error} (the .dot source can still be written: --out graph.dot)") from None
        _say(f"wrote {path}")
    return EXIT_OK


GRAPH = Subcommand(
    name="graph",
    summary="draw the computation graph of an expression, with gradients",
    description=(
        "Parse an arithmetic expression (a real parser, never Python's eval), build its graph of "
        "Values from the --var values, run backward(), print the result and the gradient of each "
        "variable, and draw the graph as the seed does (each value as label | data | grad) or, with "
        "an .html file or --steps, the backward pass step by step."
    ),
    add_arguments=_add_graph_arguments,
    run=run_graph,
    epilog=GRAPH_EPILOG,
)


# ---- export --------------------------------------------------------------------------------

EXPORT_FORMATS = {"torch": ".pt", "onnx": ".onnx"}


def _add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a saved model: .json (scalar MLP) or .npz (tensor model)")
    parser.add_argument("--to", required=True, choices=sorted(EXPORT_FORMATS), help="the target format")
    parser.add_argument("--out", help="the file to write (default: MODEL with the format's suffix)")
    parser.add_argument(
        "--dtype",
        default="float32",
        choices=("float32", "float64"),
        help="ONNX only: the numbers' type (default float32)",
    )


def run_export(args: argparse.Namespace) -> int:
    from scratchgrad import export
    from scratchgrad.nn import ModelFileError

    source = Path(args.model)
    target = Path(args.out) if args.out else source.with_suffix(EXPORT_FORMATS[args.to])
    if target.resolve() == source.resolve():
        raise UsageError(f"--out {target} would overwrite the model itself")
    if target.parent != Path(""):
        _output_folder(str(target.parent), "--out")
    try:
        model = export.load_model(source)
    except FileNotFoundError:
        raise UsageError(f"MODEL {source}: file not found") from None
    except (ModelFileError, ValueError) as error:
        raise UsageError(f"MODEL {source}: {error}") from None
    try:
        if args.to == "torch":
            path = export.save_torch(model, target)
        else:
            path = export.to_onnx(model, target, dtype=args.dtype)
    except ImportError as error:  # the extra is missing: the message names it
        raise CommandFailed(str(error)) from None
    except (TypeError, ValueError) as error:
        raise UsageError(f"cannot export {source}: {error}") from None
    _say(f"wrote {path} ({_human_size(path.stat().st_size)})")
    return EXIT_OK


EXPORT = Subcommand(
    name="export",
    summary="export a saved model to PyTorch or ONNX",
    description=(
        "Read a model saved by scratchgrad (a scalar MLP's .json or a tensor model's .npz) and write it "
        "for PyTorch (a .pt file of its layers and state_dict, readable with torch.load(path, "
        "weights_only=True) or scratchgrad.export.load_torch) or as an ONNX graph checked by "
        "onnx.checker. Needs the 'torch' or 'onnx' extra: pip install 'scratchgrad[torch]' / "
        "'scratchgrad[onnx]'."
    ),
    add_arguments=_add_export_arguments,
    run=run_export,
)


# ---- playground ----------------------------------------------------------------------------


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected a number from 1 to 65535") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {port}: expected a number from 1 to 65535")
    return port


def _add_playground_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to your network)",
    )
    parser.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--open", action="store_true", help="open the page in a web browser once the server is up")


def run_playground(args: argparse.Namespace) -> int:
    from scratchgrad.playground import serve

    try:
        serve(host=args.host, port=args.port, open_browser=args.open)
    except ImportError as error:  # Starlette / uvicorn not installed: the message names the extra
        raise CommandFailed(str(error)) from None
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
        "extra: pip install 'scratchgrad[playground]'."
    ),
    add_arguments=_add_playground_arguments,
    run=run_playground,
)


# ---- the command -------------------------------------------------------------------------

SUBCOMMANDS: list[Subcommand] = [DEMO, TRAIN, GRAPH, EXPORT, PLAYGROUND]


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
        sub = commands.add_parser(
            command.name,
            help=command.summary,
            description=textwrap.fill(command.description, width=width),
            epilog=command.epilog or None,
            formatter_class=argparse.RawDescriptionHelpFormatter if command.epilog else argparse.HelpFormatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(_run=command.run)
    return parser


def _one_line_warnings(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    _warn(str(message))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``scratchgrad`` with ``argv`` (default: the command line) and return the exit status."""
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as done:  # --help and --version end here
            return int(done.code or 0)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings
            return int(args._run(args))
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    except CommandFailed as error:
        print(f"{PROG}: error: {error}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
