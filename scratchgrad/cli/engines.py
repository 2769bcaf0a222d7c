"""Training for ``scratchgrad train`` on either engine, through the library's own ``fit``.

This module goes when ``scratchgrad.train.fit`` trains both engines (issue 11): then the
command makes one model and calls one ``fit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from scratchgrad.cli.common import CommandFailed, UsageError
from scratchgrad.cli.presets import TrainConfig
from scratchgrad.cli.problem import Problem


@dataclass
class Trained:
    """A trained model, whichever the engine: what `report` needs to describe and save it."""

    model: Any
    history: Any  # .loss, .accuracy (and .test_loss for the tensor engine)
    accuracy: Callable[[Any, Any], float]  # (X, y) -> fraction right, computed by the engine itself
    model_suffix: str  # .json (scalar) or .npz (tensor)


def _optimizer(config: TrainConfig, params: list[Any]) -> tuple[Any, Any]:
    from scratchgrad import optim

    try:
        if config.optimizer == "adam":
            optimizer: Any = optim.Adam(params, lr=config.lr)
        else:
            optimizer = optim.SGD(params, lr=config.lr, momentum=config.momentum)
    except ValueError as error:  # the library checks the hyper-parameters
        raise UsageError(str(error)) from None
    steps = max(config.epochs, 1)
    scheduler: Any = None
    if config.schedule == "linear":
        scheduler = optim.LinearDecay(optimizer, total_steps=steps, final_lr=config.lr / 10)
    elif config.schedule == "cosine":
        scheduler = optim.CosineDecay(optimizer, total_steps=steps, min_lr=config.lr / 100)
    return optimizer, scheduler


def _output_activation(loss: str, problem: Problem) -> str:
    if loss in ("mse", "sse") and problem.kind == "binary":
        return "tanh"  # scores in (-1, 1) for ±1 targets, the tutorial's choice
    return "linear"


def _diverged(error: Exception) -> CommandFailed:
    return CommandFailed(f"training diverged: {error}")


def _scalar(config: TrainConfig, problem: Problem, seed: int, progress: bool | None) -> Any:
    from scratchgrad.nn import MLP
    from scratchgrad.train import TrainingDiverged, accuracy, fit

    nout = problem.classes if problem.kind == "classes" else 1
    model = MLP(
        len(problem.X[0]),
        config.hidden + [nout],
        activation=config.activation,
        output_activation=_output_activation(config.loss, problem),
        seed=seed,
    )
    optimizer, scheduler = _optimizer(config, model.parameters())
    try:
        history = fit(
            model, problem.X, problem.y, loss=config.loss, optimizer=optimizer, scheduler=scheduler,
            epochs=config.epochs, batch_size=config.batch_size, l2=config.l2, progress=progress, seed=seed,
        )  # fmt: skip
    except TrainingDiverged as error:
        raise _diverged(error) from None
    return Trained(model, history, lambda X, y: accuracy(model, X, y), ".json")


def _tensor(config: TrainConfig, problem: Problem, seed: int, progress: bool | None) -> Any:
    import numpy as np

    from scratchgrad.tensor_nn import mlp, mse_loss
    from scratchgrad.tensor_train import TrainingDiverged, accuracy, fit

    nout = problem.classes if problem.kind == "classes" else 1
    output_activation = _output_activation(config.loss, problem)
    model = mlp(
        len(problem.X[0]), config.hidden, nout, activation=config.activation,
        output_activation=None if output_activation == "linear" else output_activation, seed=seed,
    )  # fmt: skip
    label_type = np.int64 if problem.kind == "classes" else np.float64
    optimizer, scheduler = _optimizer(config, model.parameters())
    loss: Any = config.loss
    if loss == "sse":

        def loss(outputs: Any, targets: Any) -> Any:  # the tutorial's summed squared error
            return mse_loss(outputs, targets) * len(targets)

    def arrays(X: list[list[float]], y: list[Any]) -> tuple[Any, Any]:
        return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=label_type)

    X, y = arrays(problem.X, problem.y)
    X_test, y_test = arrays(problem.X_test, problem.y_test) if problem.X_test else (None, None)
    try:
        history = fit(
            model, X, y, loss=loss, optimizer=optimizer, scheduler=scheduler, epochs=config.epochs,
            batch_size=config.batch_size, l2=config.l2, progress=progress, seed=seed, X_test=X_test, y_test=y_test,
        )  # fmt: skip
    except TrainingDiverged as error:
        raise _diverged(error) from None
    return Trained(model, history, lambda X, y: accuracy(model, *arrays(X, y)), ".npz")


def _digits(config: TrainConfig, seed: int, progress: bool | None) -> Any:
    """The tensor engine's own digits run (its split, initialisation and batching)."""
    import numpy as np

    from scratchgrad.tensor_train import TrainingDiverged, accuracy, train_digits

    if config.schedule != "constant" or config.momentum:
        raise UsageError("--schedule and --momentum are not available for --dataset digits")
    try:
        result = train_digits(
            hidden=config.hidden, epochs=config.epochs, batch_size=config.batch_size or 1_000_000,
            lr=config.lr, seed=seed, activation=config.activation, optimizer=config.optimizer, l2=config.l2,
            progress=progress,
        )  # fmt: skip
    except TrainingDiverged as error:
        raise _diverged(error) from None
    model = result.model

    def score(X: Any, y: Any) -> float:
        return accuracy(model, np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64))

    return Trained(model, result.history, score, ".npz")


def train(engine: str, config: TrainConfig, problem: Problem, dataset: str, seed: int, progress: bool | None) -> Any:
    """Train the run's model on ``engine`` and return a `Trained`."""
    if dataset == "digits":
        return _digits(config, seed, progress)
    if engine == "tensor":
        return _tensor(config, problem, seed, progress)
    return _scalar(config, problem, seed, progress)
