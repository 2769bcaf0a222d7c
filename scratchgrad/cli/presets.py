"""The settings ``scratchgrad train`` starts from for each data set, and their limits.

These presets move to the library as ``scratchgrad.train.PRESETS`` (issue 11), shared with
the playground; until then the command keeps them here, in one table.
"""

from __future__ import annotations

from dataclasses import dataclass

GENERATED = ("moons", "circles", "spirals", "xor")
DATASETS = GENERATED + ("tutorial", "digits")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
LOSS_NAMES = ("hinge", "mse", "sse", "bce", "ce")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "linear", "cosine")
OPTIMIZER_LR = {"sgd": 0.1, "adam": 0.01}  # when --optimizer differs from the data set's preset

# Upper bounds of the options: past them a run would not fit in memory or time.
MAX_SAMPLES = 100_000
MAX_NOISE = 10.0  # the generated sets span about 2 units: noise 10 is already pure noise
MAX_LAYER_SIZE = 4096
MAX_LAYERS = 32
MAX_PARAMETERS = 10_000_000  # 80 MB of float64 weights on the tensor engine
MAX_SCALAR_PARAMETERS = 200_000  # each a Value object of the scalar engine
MAX_EPOCHS = 1_000_000
MAX_SEED = 2**32 - 1
# Scalar engine cost, in weight uses (parameters x samples x epochs): above this, --engine is
# picked as tensor when not given (about 10 s on the scalar engine, well under 1 s on tensor).
SCALAR_BUDGET = 10_000_000


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
SETTINGS = (
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
    # the tutorial's own run: MLP(3, [4, 4, 1]) tanh, summed squared error, SGD lr 0.1, 50 steps
    "tutorial": TrainConfig([4, 4], "tanh", "sse", "sgd", 0.1, 50, None),
    "csv": TrainConfig([16, 16], "relu", "hinge", "adam", 0.01, 100, None),
    # issue 8's run: 64-128-10 relu, cross-entropy, Adam lr 1e-3, batch 64, 30 epochs
    "digits": TrainConfig([128], "relu", "ce", "adam", 1e-3, 30, 64),
}


def epilog() -> str:
    """The table of defaults at the end of ``scratchgrad train --help``."""
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
    lines += [
        "",
        "engine: without --engine, the scalar engine (Values, as in the tutorial) trains small runs and the",
        f"tensor engine (numpy) runs of more than {SCALAR_BUDGET:,} weight uses (parameters x samples x epochs);",
        "the first line of the run says which. digits always uses the tensor engine.",
        "",
        f"limits: --samples 2..{MAX_SAMPLES:,}, --noise 0..{MAX_NOISE:g}, --hidden up to {MAX_LAYERS} layers of at most "
        f"{MAX_LAYER_SIZE:,} units and {MAX_PARAMETERS:,} parameters",
        f"({MAX_SCALAR_PARAMETERS:,} on the scalar engine), --epochs up to {MAX_EPOCHS:,}, --seed 0..{MAX_SEED:,}.",
        "",
        "writes NAME_loss.png, NAME_boundary.png (2-D data) or NAME_confusion.png (classes), and the model",
        "NAME_model.json (scalar engine) or NAME_model.npz (tensor engine) into --out. A run whose loss",
        "diverges stops with an error (exit status 1) and writes nothing.",
    ]
    return "\n".join(lines)
