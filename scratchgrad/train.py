"""Training loop, predictions and accuracy for `Value` models, in one call each.

    from scratchgrad.data import make_moons
    from scratchgrad.nn import MLP
    from scratchgrad.train import fit, accuracy
    X, y = make_moons(100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], activation='relu', output_activation='linear', seed=0)
    history = fit(model, X, y, loss='hinge', epochs=100, l2=1e-4)

``fit`` is the seed's loop (forward, zero the gradients, backward, update) plus what a
real run needs: minibatches, a choice of loss and optimizer, L2 regularisation, a
learning-rate schedule, a progress bar, a per-epoch history and early stopping.

Labels follow the seed's convention: -1.0 / +1.0 for binary classification; integer
class indices with ``loss='ce'`` for a model with one output per class.
"""

from __future__ import annotations

import math
import numbers
import random
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence, Union

from scratchgrad import grad_mode, losses
from scratchgrad.data import minibatches
from scratchgrad.engine import Value
from scratchgrad.optim import SGD, LRScheduler, Optimizer

LossFn = Callable[[list[Any], list[Any]], Value]
LOSSES = ("hinge", "mse", "sse", "bce", "ce")


@dataclass
class History:
    """What `fit` measured, one entry per epoch.

    ``loss``: the mean training loss over the epoch's batches (L2 term included);
    ``accuracy``: the fraction of training samples classified right (empty for
    regression targets); ``lr``: the learning rate used. Both are measured on the
    forward passes of the epoch, before each batch's update (as micrograd's demo does).
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        return len(self.loss)


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; ``history`` holds the epochs before it."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


# ---- predictions --------------------------------------------------------------------------


def _check_samples(X: Sequence[Sequence[float]], what: str = "X") -> None:
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence):
        raise TypeError(f"{what} must be a list of samples, e.g. [[x0, x1], ...], got {type(X).__name__}")
    if len(X) == 0:
        raise ValueError(f"{what} is empty: no samples")
    for i, sample in enumerate(X):
        if isinstance(sample, (Value, numbers.Number, str, bytes)) or not isinstance(sample, Sequence):
            raise TypeError(
                f"{what}[{i}] is a {type(sample).__name__}, not a sample; {what} must be a list of samples "
                f"(lists of numbers), e.g. [[x0, x1], ...]"
            )


def _check_inputs(model: Any, X: Sequence[Sequence[float]]) -> None:
    _check_samples(X)
    nin = getattr(model, "nin", None)
    if isinstance(nin, int):
        for i, sample in enumerate(X):
            if len(sample) != nin:
                raise ValueError(f"X[{i}] has {len(sample)} features, the model expects {nin}")


def _as_float(out: Any) -> float | list[float]:
    if isinstance(out, Value):
        return float(out.data)
    if isinstance(out, list):
        return [float(v.data) if isinstance(v, Value) else float(v) for v in out]
    return float(out)


def predict(model: Callable[[Any], Any], X: Sequence[Sequence[float]]) -> list[Any]:
    """The model's output for every sample, as plain floats, without building a graph.

    n samples -> n floats (a list of k floats per sample for a k-output model).
    """
    _check_inputs(model, X)
    with grad_mode.no_grad():
        return [_as_float(model(x)) for x in X]


def _output_activation(model: Any) -> str | None:
    name = getattr(model, "output_activation", None)
    if name is None:
        layers = getattr(model, "layers", None)
        name = getattr(layers[-1], "activation", None) if layers else getattr(model, "activation", None)
    return name if isinstance(name, str) else None


def default_threshold(model: Any) -> float:
    """0.5 for a sigmoid output (a probability), else 0.0 (tanh, linear and relu scores)."""
    return 0.5 if _output_activation(model) == "sigmoid" else 0.0


def _classify(score: Any, threshold: float) -> float | int:
    if isinstance(score, list):  # k outputs: the class with the largest score
        return max(range(len(score)), key=score.__getitem__)
    return 1.0 if score > threshold else -1.0


def accuracy(
    model: Callable[[Any], Any], X: Sequence[Sequence[float]], y: Sequence[float], threshold: float | None = None
) -> float:
    """Fraction of samples classified right, in [0, 1].

    One output: predicted +1 when score > threshold, else -1, compared with labels
    -1/+1. The threshold defaults to 0 (the midpoint of tanh's range and the sign of a
    linear score) or 0.5 for a sigmoid output. k outputs: the argmax vs class indices.
    """
    scores = predict(model, X)
    if len(scores) != len(y):
        raise ValueError(f"X has {len(scores)} samples but y has {len(y)}")
    t = default_threshold(model) if threshold is None else threshold
    if not isinstance(scores[0], list):
        _check_pm1(y, "accuracy")
    return sum(_classify(s, t) == yi for s, yi in zip(scores, y)) / len(y)


def _check_pm1(y: Sequence[float], what: str) -> None:
    for i, yi in enumerate(y):
        if yi != 1.0 and yi != -1.0:
            hint = " (for 0/1 labels use scratchgrad.data.binary_labels(y))" if yi == 0 else ""
            raise ValueError(f"{what}: labels must be -1.0 or +1.0, got y[{i}] = {yi!r}{hint}")


# ---- training -----------------------------------------------------------------------------


def _loss_function(loss: str | LossFn) -> tuple[LossFn, str]:
    """The loss as f(scores, labels) -> Value, and the label kind it needs."""
    if callable(loss):
        return loss, "any"
    if loss == "hinge":
        return losses.hinge_loss, "pm1"
    if loss == "mse":
        return losses.mean_squared_error, "real"
    if loss == "sse":  # the seed's summed squared error
        return losses.squared_error, "real"
    if loss == "bce":
        return (lambda z, y: losses.binary_cross_entropy_with_logits(z, [(yi + 1.0) / 2.0 for yi in y])), "pm1"
    if loss == "ce":
        return losses.softmax_cross_entropy, "index"
    raise ValueError(f"loss must be one of {', '.join(map(repr, LOSSES))} or a function (scores, labels) -> Value, got {loss!r}")


def _check_labels(y: Sequence[Any], kind: str, loss: object) -> None:
    if kind == "pm1":
        _check_pm1(y, f"fit(loss={loss!r})")
    elif kind == "index":
        for i, yi in enumerate(y):
            if isinstance(yi, bool) or not isinstance(yi, int) or yi < 0:
                raise ValueError(f"fit(loss='ce'): labels must be class indices 0, 1, ..., got y[{i}] = {yi!r}")
    elif kind == "real":
        for i, yi in enumerate(y):
            if isinstance(yi, bool) or not isinstance(yi, numbers.Real) or not math.isfinite(yi):
                raise ValueError(f"fit: y[{i}] must be a finite number, got {yi!r}")


def _diverged(epoch: int, optimizer: Optimizer, what: str) -> str:
    return (
        f"the loss {what} in epoch {epoch} with learning rate {optimizer.lr}: training diverged "
        "(try a smaller lr, Adam, or loss='hinge'/'bce' instead of squared error)"
    )


def _check_output_shape(score: Any, loss: str) -> None:
    several = isinstance(score, list)
    if loss == "ce" and not several:
        raise ValueError("fit(loss='ce') needs a model with one output per class (e.g. MLP(2, [16, 3])), got one score")
    if loss != "ce" and several:
        raise ValueError(
            f"fit(loss={loss!r}) needs one score per sample, but the model returns {len(score)} outputs "
            "(use loss='ce' with class-index labels, or a last layer of size 1)"
        )


def _progress_bar(enabled: bool | None, epochs: int) -> Any:
    if enabled is None:
        enabled = bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=epochs, desc="training", unit="epoch", leave=True)


def check_fit_settings(epochs: object, batch_size: object, l2: object) -> None:
    """The settings both engines' ``fit`` share, refused with a message naming the bad one."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or None (full batch), got {batch_size!r}")
    if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not (math.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")


def fit(
    model: Any,
    X: Sequence[Sequence[float]],
    y: Sequence[Any],
    loss: str | LossFn = "hinge",
    optimizer: Optimizer | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    l2: float = 0.0,
    scheduler: LRScheduler | None = None,
    progress: bool | None = None,
    seed: int | random.Random | None = None,
    callback: Callable[[int, History], Any] | None = None,
    lr: float | None = None,
) -> History:
    """Train ``model`` on (X, y) and return the per-epoch `History`.

    Each batch: one graph for the whole batch's loss (+ ``l2 * sum p^2``), zero the
    gradients, ``backward()``, ``optimizer.step()``. Then once per epoch
    ``scheduler.step()`` and ``callback(epoch, history)``; a truthy return stops early.

    loss: 'hinge' (labels ±1, linear output), 'bce' (labels ±1, logits: linear output),
    'mse' / 'sse' (mean / summed squared error, the seed's with 'sse'), 'ce' (one output
    per class, integer labels) or a function ``(scores, labels) -> Value``.
    optimizer: defaults to ``SGD(model.parameters(), lr=lr or 0.1)``.
    batch_size: None for full batch (no shuffling); else minibatches shuffled every epoch by
    ``seed`` (an int or `random.Random`; None uses the global `random` module).
    progress: a tqdm bar; None shows it only when stderr is a terminal, False never.
    Raises `TrainingDiverged` (with the history so far) if the loss becomes NaN or inf.
    """
    if not callable(model) or not callable(getattr(model, "parameters", None)):
        raise TypeError(f"model must be callable and have parameters(), got {type(model).__name__}")
    _check_inputs(model, X)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    check_fit_settings(epochs, batch_size, l2)
    loss_fn, label_kind = _loss_function(loss)
    _check_labels(y, label_kind, loss)
    params: list[Value] = list(model.parameters())
    if optimizer is None:
        optimizer = SGD(params, lr=0.1 if lr is None else lr)
    elif lr is not None:
        raise ValueError("give lr= only without optimizer= (the optimizer has its own lr)")
    if scheduler is not None and scheduler.optimizer is not optimizer:
        raise ValueError("scheduler was made for a different optimizer than the one fit uses")
    rng: Any = random.Random(seed) if isinstance(seed, int) else seed
    threshold = default_threshold(model)
    # Accuracy means something for classes: ±1 labels, or class indices with 'ce'.
    classify = label_kind in ("pm1", "index") or all(yi == 1.0 or yi == -1.0 for yi in y)

    history = History()
    bar = _progress_bar(progress, epochs)
    try:
        for epoch in range(epochs):
            epoch_lr = optimizer.lr
            total_loss, correct = 0.0, 0
            batches: Iterable[tuple[Any, Any]]
            if batch_size is None or batch_size >= len(X):
                batches = [(list(X), list(y))]
            else:
                batches = minibatches(X, y, batch_size, shuffle=True, seed=rng)
            for xb, yb in batches:
                try:
                    scores = [model(x) for x in xb]
                    if epoch == 0 and isinstance(loss, str):
                        _check_output_shape(scores[0], loss)
                    batch_loss = loss_fn(scores, yb)
                    if l2:
                        batch_loss = batch_loss + losses.l2_penalty(params, l2)
                except OverflowError as err:  # e.g. exp() or ** past float64's range
                    raise TrainingDiverged(_diverged(epoch, optimizer, f"overflowed ({err})"), history) from err
                if not math.isfinite(batch_loss.data):
                    raise TrainingDiverged(_diverged(epoch, optimizer, f"became {batch_loss.data}"), history)
                for p in params:
                    p.grad = 0.0
                batch_loss.backward()
                optimizer.step()
                total_loss += batch_loss.data * len(xb)
                if classify:
                    correct += sum(_classify(_as_float(s), threshold) == yi for s, yi in zip(scores, yb))
            history.loss.append(total_loss / len(X))
            history.lr.append(epoch_lr)
            if classify:
                history.accuracy.append(correct / len(X))
            if scheduler is not None:
                scheduler.step()
            if bar is not None:
                postfix = {"loss": f"{history.loss[-1]:.4g}"}
                if classify:
                    postfix["acc"] = f"{history.accuracy[-1]:.3f}"
                bar.set_postfix(postfix, refresh=False)
                bar.update(1)
            if callback is not None and callback(epoch, history):
                history.stopped_early = True
                break
    finally:
        if bar is not None:
            bar.close()
    return history
