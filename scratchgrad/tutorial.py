"""The tutorial *Neural Network from Scratch* (after Andrej Karpathy's micrograd lecture),
as data and steps that the ``scratchgrad demo`` command, the notebook and the tests share.

Each function builds one of the tutorial's cells with scratchgrad, with the tutorial's own
numbers, and returns what it built; nothing here prints or writes files.

    >>> from scratchgrad import tutorial
    >>> nodes = tutorial.expression()          # L = (a*b + c) * f
    >>> nodes["L"].data
    -8.0
    >>> tutorial.manual_gradients(nodes)["a"]  # the chain rule worked out by hand
    6.0
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from scratchgrad import data, losses
from scratchgrad._progress import advance, progress_bar
from scratchgrad.engine import Value
from scratchgrad.nn import MLP

__all__ = [
    "MLPRun",
    "QUERY",
    "TorchCheck",
    "expression",
    "manual_gradients",
    "neuron",
    "samples",
    "torch_check",
    "train_mlp",
]

QUERY = [4.0, 5.0, -3.0]
"""The input the tutorial asks its trained MLP about."""

MLP_SIZES = (3, [4, 4, 1])
MLP_STEPS = 50
MLP_LR = 0.1


def samples() -> tuple[list[list[float]], list[float]]:
    """The tutorial's 4 samples of 3 features and their ±1 targets (fresh lists)."""
    return data.tutorial()


def expression() -> dict[str, Value]:
    """The tutorial's first graph, L = (a*b + c) * f, each node labelled: a, b, c, e, d, f, L."""
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
    return {"L": L, "d": d, "f": f, "e": e, "c": c, "a": a, "b": b}


def manual_gradients(nodes: dict[str, Value]) -> dict[str, float]:
    """Fill in the gradients of `expression`'s nodes by hand, one chain-rule line per node as
    the tutorial does, and return them by name (L, d, f, e, c, a, b)."""
    L, d, f, e, c, a, b = (nodes[k] for k in ("L", "d", "f", "e", "c", "a", "b"))
    L.grad = 1.0
    d.grad = f.data  # dL/dd = f
    f.grad = d.data  # dL/df = d
    e.grad = d.grad  # a + passes the gradient on unchanged
    c.grad = d.grad
    a.grad = e.grad * b.data  # de/da = b
    b.grad = e.grad * a.data  # de/db = a
    return {name: node.grad for name, node in nodes.items()}


def neuron(bias: float = 6.0) -> dict[str, Value]:
    """The tutorial's neuron o = tanh(x1*w1 + x2*w2 + b), every node labelled as in its cell.

    With the default ``bias`` 6 (the first version of the cell) n is 0, so o = 0 and the
    gradients are round numbers; the tutorial later uses 6.8813735870195432 (o = 0.7071)."""
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(bias, label="b")
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
    return {"o": o, "n": n, "x1*w1 + x2*w2": x1w1x2w2, "x1*w1": x1w1, "x2*w2": x2w2,
            "x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b}  # fmt: skip


@dataclass(frozen=True)
class TorchCheck:
    """The tutorial's PyTorch cell next to scratchgrad's numbers for the same neuron."""

    version: str
    theirs: dict[str, float]  # o and the gradients of x2, w2, x1, w1, as PyTorch computes them
    largest_difference: float

    @property
    def agrees(self) -> bool:
        return self.largest_difference <= 1e-12


def torch_check(ours: dict[str, float], bias: float = 6.0) -> TorchCheck | None:
    """Run the tutorial's PyTorch cell (float64) and compare with ``ours`` (o, x2, w2, x1, w1).

    Returns None when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    x1 = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    x2 = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    w1 = torch.tensor([-3.0], dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([bias], dtype=torch.float64, requires_grad=True)
    o = torch.tanh(x1 * w1 + x2 * w2 + b)
    o.backward()
    theirs = {"o": o.item(), "x2": x2.grad.item(), "w2": w2.grad.item(),  # type: ignore[union-attr]
              "x1": x1.grad.item(), "w1": w1.grad.item()}  # type: ignore[union-attr]  # fmt: skip
    worst = max(abs(ours[k] - theirs[k]) for k in theirs)
    return TorchCheck(str(torch.__version__), theirs, worst)


@dataclass
class MLPRun:
    """The tutorial's MLP after its training loop: the model and the loss of every step."""

    model: MLP
    losses: list[float] = field(default_factory=list)

    def predict_query(self) -> float:
        """The trained model's answer for `QUERY`."""
        return float(self.model(QUERY).data)  # type: ignore[union-attr]


def train_mlp(
    seed: int = 0,
    steps: int = MLP_STEPS,
    lr: float = MLP_LR,
    progress: bool | None | Callable[[Iterable[int]], Iterable[int]] = False,
) -> MLPRun:
    """The tutorial's ``MLP(3, [4, 4, 1])`` trained on its 4 samples: ``steps`` steps of plain
    gradient descent on the summed squared error, exactly its loop.

    The weights come from the global `random` module seeded with ``seed``, as in the tutorial
    (``random.seed(seed)``). ``progress``: True draws the library's progress bar, None draws it
    when stderr is a terminal (as `scratchgrad.train.fit` does), False none; a function may
    also wrap the step range itself (e.g. ``tqdm``)."""
    xs, ys = samples()
    random.seed(seed)
    model = MLP(*MLP_SIZES)
    run = MLPRun(model)
    step_range: Iterable[int] = range(steps)
    bar = None
    if callable(progress):
        step_range = progress(step_range)
    else:
        bar = progress_bar(steps, "training", progress, unit="step")
    for _ in step_range:
        # forward pass
        ypred: list[Any] = [model(x) for x in xs]
        loss = losses.squared_error(ypred, ys)
        # backward pass
        for p in model.parameters():
            p.grad = 0.0
        loss.backward()
        # update
        for p in model.parameters():
            p.data += -lr * p.grad
        run.losses.append(float(loss.data))
        advance(bar, {"loss": f"{loss.data:.4g}"})
    if bar is not None:
        bar.close()
    return run
