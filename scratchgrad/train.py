"""Training, predictions and scores for models of either engine, in one call each.

    from scratchgrad.data import make_moons
    from scratchgrad.nn import MLP
    from scratchgrad.train import fit, accuracy
    X, y = make_moons(100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], activation='relu', output_activation='linear', seed=0)
    history = fit(model, X, y, loss='hinge', epochs=100, l2=1e-4, progress=False)

``fit`` is the tutorial's loop (forward, zero the gradients, backward, update) plus what
a real run needs: minibatches, any loss of `LOSSES`, any optimizer of `OPTIMIZERS` and
schedule of `SCHEDULES`, L2 regularisation, test-set tracking, early stopping, a
progress bar on a terminal, and `TrainingDiverged` when the loss stops being a number.
The same call trains a model of `Value`s (``scratchgrad.nn.MLP``) or of `Tensor`s
(``scratchgrad.tensor_nn.MLP``, `Sequential`), on lists or numpy arrays; with the same
seed and full batches both engines follow the same path (equal losses to 1e-9).

`Trainer` is the loop's body (one update, an evaluation) for code that drives training
itself, such as the playground. `PRESETS` are settings that train each data set well.

Labels follow the tutorial's convention: -1.0 / +1.0 for two classes; integer class
indices with ``loss='ce'`` for a model with one output per class; real numbers for
'mse' / 'sse' regression.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence, Union

import numpy as np

from scratchgrad import grad_mode
from scratchgrad._format import format_percent, format_short
from scratchgrad._progress import advance, progress_bar
from scratchgrad._random import as_random
from scratchgrad.data.splits import minibatches
from scratchgrad.engine import Value
from scratchgrad.nn.activations import ACTIVATIONS
from scratchgrad.nn.losses import LOSSES, Loss, check_labels, get_loss, l1_penalty, l2_penalty
from scratchgrad.nn.module import is_tensor, zero_grad
from scratchgrad.optim import OPTIMIZERS, SCHEDULES, LRScheduler, Optimizer, make_optimizer, make_schedule

LossFn = Callable[[Any, Any], Any]

# A finite loss that grows past this many times its first epoch's (or past this many times 1.0,
# whichever is larger) has diverged: a stable run does not climb three orders of magnitude.
DIVERGED_GROWTH = 1000.0


@dataclass
class History:
    """What `fit` measured, one entry per epoch.

    ``loss``: the mean training loss over the epoch's batches (L2 and L1 terms included),
    measured on each batch's forward pass before its update (as micrograd's demo does);
    ``accuracy``: the fraction of training samples classified right on those passes
    (empty for regression); ``test_loss`` / ``test_accuracy``: on the test set after the
    epoch (when fit has one; no L2 term); ``lr``: the learning rate the epoch used.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        return len(self.loss)


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite (or overflowed, or exploded: see `DIVERGED_GROWTH`);
    ``history`` holds the epochs before it."""

    def __init__(self, message: str, history: History | None = None) -> None:
        super().__init__(message)
        self.history = history if history is not None else History()


# ---- the two engines: how a batch goes through a model ----------------------------------------------


def _engine_of(model: Any) -> str:
    engine = getattr(model, "model_engine", None)
    if callable(engine):
        return str(engine())
    params = model.parameters() if callable(getattr(model, "parameters", None)) else []
    return "tensor" if params and is_tensor(params[0]) else "scalar"


def _model_dtype(model: Any) -> Any:
    for p in model.parameters() if callable(getattr(model, "parameters", None)) else []:
        if is_tensor(p):
            return p.data.dtype
    return np.dtype(np.float64)


class _Engine:
    """How one engine takes inputs, runs a batch and reads its outputs."""

    name = ""

    def inputs(self, X: Any, model: Any, what: str = "X") -> Any:
        raise NotImplementedError

    def labels(self, y: Any, kind: str) -> Any:
        raise NotImplementedError

    def forward(self, model: Any, X: Any) -> Any:
        raise NotImplementedError

    def scores(self, outputs: Any) -> np.ndarray:
        """The outputs as a float array: (N,) for one output per sample, else (N, k)."""
        raise NotImplementedError


class _ScalarEngine(_Engine):
    name = "scalar"

    def inputs(self, X: Any, model: Any, what: str = "X") -> list[list[float]]:
        if isinstance(X, np.ndarray):
            if X.ndim != 2:
                raise ValueError(f"{what} must be (samples, features), got shape {X.shape}")
            rows = X.tolist()
        else:
            _check_samples(X, what)
            rows = list(X)
        nin = getattr(model, "nin", None)
        if isinstance(nin, int):
            for i, sample in enumerate(rows):
                if len(sample) != nin:
                    raise ValueError(f"{what}[{i}] has {len(sample)} features, the model expects {nin}")
        return rows

    def labels(self, y: Any, kind: str) -> list[Any]:
        if isinstance(y, np.ndarray):
            return y.tolist()
        return list(y)

    def forward(self, model: Any, X: Any) -> list[Any]:
        return [model(x) for x in X]

    def scores(self, outputs: Any) -> np.ndarray:
        first = outputs[0] if outputs else None
        if isinstance(first, (list, tuple)):
            return np.array([[_number(v) for v in out] for out in outputs], dtype=np.float64)
        return np.array([_number(out) for out in outputs], dtype=np.float64)


class _TensorEngine(_Engine):
    name = "tensor"

    def inputs(self, X: Any, model: Any, what: str = "X") -> np.ndarray:
        data = X.data if is_tensor(X) else X
        if not isinstance(data, np.ndarray):
            _check_samples(data, what)
        array = np.asarray(data, dtype=_model_dtype(model))
        if array.ndim != 2:
            raise ValueError(f"{what} must be (samples, features), got shape {array.shape}")
        if len(array) == 0:
            raise ValueError(f"{what} is empty: no samples")
        return array

    def labels(self, y: Any, kind: str) -> np.ndarray:
        array = np.asarray(y.data if is_tensor(y) else y)
        return array if kind == "index" else array.astype(np.float64, copy=False)

    def forward(self, model: Any, X: Any) -> Any:
        return model(X)

    def scores(self, outputs: Any) -> np.ndarray:
        data = outputs.data if is_tensor(outputs) else np.asarray(outputs)
        return data[:, 0] if data.ndim == 2 and data.shape[1] == 1 else data


_ENGINES = {"scalar": _ScalarEngine(), "tensor": _TensorEngine()}


def _number(v: Any) -> float:
    return float(v.data) if isinstance(v, Value) else float(v)


def _check_samples(X: Any, what: str = "X") -> None:
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence):
        raise TypeError(f"{what} must be a list of samples, e.g. [[x0, x1], ...], got {type(X).__name__}")
    if len(X) == 0:
        raise ValueError(f"{what} is empty: no samples")
    for i, sample in enumerate(X):
        if isinstance(sample, (Value, numbers.Number, str, bytes)) or not isinstance(sample, (Sequence, np.ndarray)):
            raise TypeError(
                f"{what}[{i}] is a {type(sample).__name__}, not a sample; {what} must be a list of samples "
                f"(lists of numbers), e.g. [[x0, x1], ...]"
            )


# ---- predictions and scores ---------------------------------------------------------------------------


def _output_activation(model: Any) -> str | None:
    """The name of the model's last activation, when it says: an MLP's ``output_activation``,
    a scalar Layer's or Neuron's ``activation``, a Sequential's last activation module."""
    name = getattr(model, "output_activation", None)
    if isinstance(name, str):
        return name
    layers = getattr(model, "layers", None)
    last = layers[-1] if isinstance(layers, list) and layers else model
    for attribute in ("activation", "name"):
        value = getattr(last, attribute, None)
        if isinstance(value, str) and value in ACTIVATIONS:
            return value
    return None


def default_threshold(model: Any) -> float:
    """0.5 for a sigmoid output (a probability), else 0.0 (tanh, linear and relu scores)."""
    return 0.5 if _output_activation(model) == "sigmoid" else 0.0


def _predict_scores(model: Any, X: Any, batch_size: int = 4096) -> np.ndarray:
    engine = _ENGINES[_engine_of(model)]
    data = engine.inputs(X, model)
    with grad_mode.no_grad():
        if engine.name == "scalar":
            return engine.scores(engine.forward(model, data))
        parts = [engine.scores(model(data[start : start + batch_size])) for start in range(0, len(data), batch_size)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def predict(model: Any, X: Any, batch_size: int = 4096) -> Any:
    """The model's outputs for every sample of X (a list or an array), without a graph.

    A model of Values gives plain floats: n samples -> a list of n floats (a list of k
    floats each for k outputs). A model of Tensors gives an array: (n,) for one output,
    (n, k) for k. To score many points with a scalar model quickly (a picture of its
    decision boundary), predict with ``scratchgrad.nn.to_tensor(model)``: the same numbers.
    """
    scores = _predict_scores(model, X, batch_size)
    return scores.tolist() if _engine_of(model) == "scalar" else scores


def _classify(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Class predictions: the argmax of k outputs, or -1 / +1 by ``threshold`` for one."""
    if scores.ndim == 2:
        return scores.argmax(axis=1)
    return np.where(scores > threshold, 1.0, -1.0)


def accuracy(model: Any, X: Any, y: Any, threshold: float | None = None) -> float:
    """Fraction of samples classified right, in [0, 1].

    One output: predicted +1 when score > threshold, else -1, compared with labels
    -1/+1. The threshold defaults to 0 (the midpoint of tanh's range and the sign of a
    linear score) or 0.5 for a sigmoid output. k outputs: the argmax vs class indices.
    """
    scores = _predict_scores(model, X)
    labels = np.asarray(y.data if is_tensor(y) else y)
    if len(scores) != len(labels):
        raise ValueError(f"accuracy: {len(scores)} predictions but {len(labels)} labels")
    if scores.ndim == 1:
        check_labels(labels, "pm1", "accuracy")
    return float(np.mean(_classify(scores, default_threshold(model) if threshold is None else threshold) == labels))


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """counts[i, j] = how many samples of true class i were predicted as class j (int64, C x C)."""
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(f"confusion_matrix: y_true shape {t.shape} and y_pred shape {p.shape} must be equal and 1-D")
    for name, arr in (("y_true", t), ("y_pred", p)):
        if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0):
            raise ValueError(f"confusion_matrix: {name} must hold class indices 0, 1, ..., got {arr.dtype} {arr[:5]}")
    classes = num_classes if num_classes is not None else (int(max(t.max(), p.max())) + 1 if t.size else 0)
    if t.size and max(t.max(), p.max()) >= classes:
        raise ValueError(f"confusion_matrix: a label is >= num_classes={classes}")
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (t, p), 1)
    return counts


# ---- one update: the Trainer --------------------------------------------------------------------------


class _Diverged(Exception):
    """The loss of one step was not a number; `fit` turns it into TrainingDiverged."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _diverged_message(what: str, lr: float, loss: str, epoch: int | None = None) -> str:
    where = f" in epoch {epoch}" if epoch is not None else ""
    hint = "try a smaller lr"
    if loss in LOSSES and LOSSES[loss].labels == "real":  # squared error grows fastest
        hint += ", Adam, or loss='hinge'/'bce' instead of squared error"
    return f"the loss {what}{where} with learning rate {lr}: training diverged ({hint})"


def _outputs_of(model: Any, engine: _Engine, X: Any) -> int:
    """How many outputs the model gives per sample (one forward pass on one sample)."""
    with grad_mode.no_grad():
        out = engine.forward(model, X[:1])
        scores = engine.scores(out)
    return 1 if scores.ndim == 1 else int(scores.shape[1])


def _resolve_loss(loss: str | LossFn | None, outputs: int, y: Any) -> tuple[Loss | None, LossFn | None, str]:
    """The registry entry (or a function of your own) and its label kind."""
    if loss is None:
        if outputs > 1:
            loss = "ce"
            labels = np.asarray(y)
            if labels.dtype.kind == "f" and np.isin(labels, (-1.0, 1.0)).all():
                raise ValueError(
                    f"fit: the model returns {outputs} outputs per sample, one per class (loss='ce'), but the labels "
                    f"are -1/+1: for two classes use a last layer of size 1, or give class indices 0..{outputs - 1}"
                )
        else:
            labels = np.asarray(y)
            loss = "hinge" if labels.dtype.kind in "fiu" and np.isin(labels, (-1.0, 1.0)).all() else "mse"
    if callable(loss) and not isinstance(loss, str):
        return None, loss, "any"
    spec = get_loss(loss)
    if spec.labels == "index" and outputs < 2:
        raise ValueError(f"fit(loss={spec.name!r}) needs a model with one output per class (e.g. MLP(2, [16, 3])), got one score")
    if spec.labels != "index" and outputs > 1:
        raise ValueError(
            f"fit(loss={spec.name!r}) needs one score per sample, but the model returns {outputs} outputs "
            "(use loss='ce' with class-index labels, or a last layer of size 1)"
        )
    return spec, None, spec.labels


class Trainer:
    """One model, loss and optimizer: ``step(X_batch, y_batch)`` makes one update.

    ``Trainer(model, loss=None, optimizer=None, lr=None, l2=0.0, scheduler=None, l1=0.0)``:
    ``loss`` a name of `LOSSES` or a function ``(outputs, labels) -> loss`` (None: chosen
    from the first batch, as `fit` does); ``optimizer`` a name of `OPTIMIZERS`, an
    `Optimizer`, or None ('sgd'); ``lr`` None takes the optimizer's default;
    ``scheduler`` an `LRScheduler` or a name of `SCHEDULES` (then ``total_steps`` says
    over how many ``end_epoch()`` calls it runs). ``l2`` / ``l1`` add ``l2 * sum p^2`` /
    ``l1 * sum |p|`` over every parameter to each batch's loss. Either engine; batches as
    lists or arrays.
    """

    def __init__(
        self,
        model: Any,
        loss: str | LossFn | None = None,
        optimizer: str | Optimizer | None = None,
        lr: float | None = None,
        l2: float = 0.0,
        scheduler: str | LRScheduler | None = None,
        total_steps: int | None = None,
        l1: float = 0.0,
    ) -> None:
        if not callable(model) or not callable(getattr(model, "parameters", None)):
            raise TypeError(f"model must be callable and have parameters(), got {type(model).__name__}")
        for name, rate in (("l2", l2), ("l1", l1)):
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (math.isfinite(rate) and rate >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {rate!r}")
        self.model = model
        self.engine = _ENGINES[_engine_of(model)]
        self.params = list(model.parameters())
        self.l2 = float(l2)
        self.l1 = float(l1)
        self.optimizer = _make_optimizer(optimizer, self.params, lr)
        self.scheduler = _make_scheduler(scheduler, self.optimizer, total_steps)
        self._requested_loss = loss
        self.loss: Loss | None = None  # the LOSSES entry, once known
        self._loss_fn: LossFn | None = None
        self.label_kind = "any"
        self.outputs: int | None = None
        self.steps = 0

    # -- setting up on the first data

    def _prepare(self, X: Any, y: Any) -> None:
        if self.outputs is not None:
            return
        self.outputs = _outputs_of(self.model, self.engine, X)
        self.loss, custom, self.label_kind = _resolve_loss(self._requested_loss, self.outputs, y)
        self._loss_fn = custom if custom is not None else getattr(self.loss, self.engine.name)

    def _batch(self, X: Any, y: Any, what: str = "X") -> tuple[Any, Any]:
        data = self.engine.inputs(X, self.model, what)
        self._prepare(data, y)
        labels = self.engine.labels(y, self.label_kind)
        if len(labels) != len(data):
            raise ValueError(f"{what} has {len(data)} samples but y has {len(labels)}")
        self._check(labels)
        return data, labels

    def _check(self, labels: Any) -> None:
        if self.label_kind != "any":
            check_labels(labels, self.label_kind, f"fit(loss={self.loss.name!r})", self.outputs)  # type: ignore[union-attr]

    @property
    def loss_name(self) -> str | None:
        return None if self.loss is None else self.loss.name

    # -- one update

    def _update(self, X: Any, y: Any) -> tuple[float, Any]:
        """Forward, loss (+ L2, + L1), zero the gradients, backward, step: the batch's loss and outputs."""
        try:
            outputs = self.engine.forward(self.model, X)
            batch_loss = self._loss_fn(outputs, y)  # type: ignore[misc]
            if self.l2:
                batch_loss = batch_loss + l2_penalty(self.params, self.l2)
            if self.l1:
                batch_loss = batch_loss + l1_penalty(self.params, self.l1)
        except OverflowError as err:  # the scalar engine: exp() or ** past float64's range
            raise _Diverged(f"overflowed ({err})") from err
        value = float(batch_loss.data)
        if not math.isfinite(value):
            raise _Diverged(f"became {value}")
        zero_grad(self.params)
        batch_loss.backward()
        self.optimizer.step()
        self.steps += 1
        return value, outputs

    def step(self, X_batch: Any, y_batch: Any) -> float:
        """One update on a batch (a list or an array of samples and their labels); its loss.

        Raises `TrainingDiverged` when the loss is not a finite number.
        """
        X, y = self._batch(X_batch, y_batch)
        try:
            with _quiet_overflow():
                return self._update(X, y)[0]
        except _Diverged as err:
            raise TrainingDiverged(_diverged_message(err.what, self.optimizer.lr, self.loss_name or "")) from None

    def end_epoch(self) -> float:
        """Step the schedule (once per epoch); the learning rate for the next epoch."""
        if self.scheduler is not None:
            self.scheduler.step()
        return self.optimizer.lr

    # -- measuring

    def _classify_scores(self, scores: np.ndarray) -> np.ndarray | None:
        if self.label_kind not in ("pm1", "index"):
            return None
        return _classify(scores, default_threshold(self.model))

    def evaluate(self, X: Any, y: Any) -> tuple[float, float | None]:
        """``(loss, accuracy)`` on (X, y) without recording a graph (no L2 term); accuracy
        is None for regression."""
        data, labels = self._batch(X, y)
        return self._evaluate(data, labels)

    def _evaluate(self, data: Any, labels: Any) -> tuple[float, float | None]:
        with grad_mode.no_grad(), _quiet_overflow():
            try:
                outputs = self.engine.forward(self.model, data)
                loss = float(self._loss_fn(outputs, labels).data)  # type: ignore[misc]
            except OverflowError:
                return math.inf, None
        predicted = self._classify_scores(self.engine.scores(outputs))
        return loss, None if predicted is None else float(np.mean(predicted == np.asarray(labels)))


def _make_optimizer(optimizer: str | Optimizer | None, params: list[Any], lr: float | None) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        if lr is not None:
            raise ValueError("give lr= only without optimizer= (the optimizer has its own lr)")
        return optimizer
    if optimizer is not None and not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a name ({', '.join(OPTIMIZERS)}), an Optimizer or None, got {type(optimizer).__name__}")
    return make_optimizer(optimizer or "sgd", params, lr)


def _make_scheduler(scheduler: str | LRScheduler | None, optimizer: Optimizer, total_steps: int | None) -> LRScheduler | None:
    if scheduler is None or isinstance(scheduler, LRScheduler):
        if scheduler is not None and scheduler.optimizer is not optimizer:
            raise ValueError("scheduler was made for a different optimizer than the one fit uses")
        return scheduler
    if not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be a name ({', '.join(SCHEDULES)}), an LRScheduler or None, got {type(scheduler).__name__}")
    if total_steps is None:
        raise ValueError(f"scheduler={scheduler!r} needs total_steps= (how many epochs it spans)")
    return make_schedule(scheduler, optimizer, max(int(total_steps), 1))


@contextlib.contextmanager
def _quiet_overflow() -> Iterator[None]:
    """numpy's overflow warnings off: a diverging run is reported as TrainingDiverged instead."""
    with np.errstate(over="ignore", invalid="ignore"):
        yield


# ---- BLAS threads -----------------------------------------------------------------------------------------

_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter: Any = None


@contextlib.contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """Limit numpy's BLAS to ``threads`` threads for the block (None: leave it alone).

    At these sizes a matrix product takes microseconds, and BLAS threads waking up for
    each one cost more than they save (on a busy machine, 10x more): one thread is
    fastest. Uses ``threadpoolctl`` (installed with scikit-learn) when available;
    otherwise set ``OPENBLAS_NUM_THREADS=1`` before starting Python. The limit is
    process-wide, so overlapping blocks in several threads share it: the first sets it,
    the last restores it.
    """
    global _blas_users, _blas_limiter
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with _blas_lock:
        if _blas_users == 0:
            _blas_limiter = threadpool_limits(limits=threads, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_limiter is not None:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


# ---- fit --------------------------------------------------------------------------------------------------


def check_fit_settings(epochs: object, batch_size: object, l2: object) -> None:
    """The settings `fit` checks first, refused with a message naming the bad one."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or None (full batch), got {batch_size!r}")
    if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not (math.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")


def _check_early_stopping(value: object) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"early_stopping must be a positive int (epochs without improvement) or None, got {value!r}")
    return value  # type: ignore[return-value]


def _postfix(history: History) -> dict[str, str]:
    shown = {"loss": format_short(history.loss[-1])}
    if history.accuracy:
        shown["acc"] = format_percent(history.accuracy[-1])
    if history.test_accuracy:
        shown["test_acc"] = format_percent(history.test_accuracy[-1])
    elif history.test_loss:
        shown["test_loss"] = format_short(history.test_loss[-1])
    return shown


def _non_finite_parameter(params: list[Any]) -> bool:
    for p in params:
        if isinstance(p, Value):
            if not math.isfinite(p.data):
                return True
        elif not np.isfinite(p.data).all():
            return True
    return False


def fit(
    model: Any,
    X: Any,
    y: Any,
    loss: str | LossFn | None = None,
    optimizer: str | Optimizer | None = None,
    lr: float | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    l2: float = 0.0,
    scheduler: str | LRScheduler | None = None,
    X_test: Any = None,
    y_test: Any = None,
    early_stopping: int | None = None,
    progress: bool | None = None,
    seed: Any = None,
    callback: Callable[[int, History], Any] | None = None,
    threads: int | None = 1,
    l1: float = 0.0,
) -> History:
    """Train ``model`` (either engine) on (X, y), lists or arrays; return the per-epoch `History`.

    Each batch: one graph for the batch's loss (+ ``l2 * sum p^2`` + ``l1 * sum |p|``), zero the gradients,
    ``backward()``, one optimizer step. After each epoch: the schedule steps, the test
    set (``X_test``, ``y_test``) is scored, ``callback(epoch, history)`` runs (a truthy
    return stops training), and ``early_stopping=N`` stops after N epochs without a lower
    test loss (training loss without a test set).

    loss: a name of `LOSSES` ('hinge', 'mse', 'sse', 'bce', 'ce') or a function
    ``(outputs, labels) -> loss``; None picks 'ce' for a model with several outputs,
    else 'hinge' for labels -1/+1, else 'mse'. optimizer: a name of `OPTIMIZERS`, an
    `Optimizer`, or None ('sgd'); ``lr`` None takes the optimizer's default (give lr only
    without an Optimizer). scheduler: a name of `SCHEDULES` (over ``epochs``) or an
    `LRScheduler`. batch_size: None for the full batch, in order; else minibatches
    shuffled every epoch from ``seed`` (an int or a `random.Random`; None: the global
    `random` module), the same batches on both engines. progress: a tqdm bar; None shows
    it only when stderr is a terminal. threads: BLAS threads on the tensor engine (see
    `blas_threads`). Raises `TrainingDiverged` (with the history so far) if the loss or
    the weights stop being finite numbers, or the loss of an epoch grows to more than
    `DIVERGED_GROWTH` (1,000) times the first epoch's (and 1.0).
    """
    check_fit_settings(epochs, batch_size, l2)
    patience = _check_early_stopping(early_stopping)
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither")
    trainer = Trainer(model, loss, optimizer, lr, l2, scheduler, total_steps=epochs, l1=l1)
    data, labels = trainer._batch(X, y)
    test = trainer._batch(X_test, y_test, "X_test") if X_test is not None else None
    # Accuracy means something for classes: -1/+1 labels (whatever the loss) or class indices.
    classify = trainer.label_kind in ("pm1", "index") or bool(np.isin(np.asarray(labels), (-1.0, 1.0)).all())
    threshold = default_threshold(model)
    n = len(data)
    full_batch = batch_size is None or batch_size >= n
    rng = None if full_batch else as_random(seed)
    history = History()
    best, since_best = math.inf, 0
    bar = progress_bar(epochs, "training", progress)
    with contextlib.ExitStack() as cleanup:
        if trainer.engine.name == "tensor":
            cleanup.enter_context(blas_threads(threads))
        cleanup.enter_context(_quiet_overflow())
        if bar is not None:
            cleanup.callback(bar.close)
        for epoch in range(epochs):
            history.lr.append(trainer.optimizer.lr)
            total, correct = 0.0, 0
            batches = [(data, labels)] if full_batch else minibatches(data, labels, batch_size, seed=rng)  # type: ignore[arg-type]
            for xb, yb in batches:
                try:
                    value, outputs = trainer._update(xb, yb)
                except _Diverged as err:
                    message = _diverged_message(err.what, trainer.optimizer.lr, trainer.loss_name or "", epoch)
                    raise TrainingDiverged(message, history) from None
                total += value * len(xb)
                if classify:
                    correct += int(np.sum(_classify(trainer.engine.scores(outputs), threshold) == np.asarray(yb)))
            history.loss.append(total / n)
            if classify:
                history.accuracy.append(correct / n)
            if history.loss[-1] > DIVERGED_GROWTH * max(history.loss[0], 1.0):
                what = f"grew from {format_short(history.loss[0])} to {format_short(history.loss[-1])}"
                # the lr the run started with: the updates before this epoch's made it grow
                raise TrainingDiverged(_diverged_message(what, history.lr[0], trainer.loss_name or "", epoch), history)
            if test is not None:
                test_loss, test_accuracy = trainer._evaluate(*test)
                history.test_loss.append(test_loss)
                if test_accuracy is not None:
                    history.test_accuracy.append(test_accuracy)
            trainer.end_epoch()
            advance(bar, _postfix(history))
            if callback is not None and callback(epoch, history):
                history.stopped_early = True
                break
            if patience is not None:
                watched = history.test_loss[-1] if test is not None else history.loss[-1]
                best, since_best = (watched, 0) if watched < best else (best, since_best + 1)
                if since_best >= patience:
                    history.stopped_early = True
                    break
    if _non_finite_parameter(trainer.params):
        raise TrainingDiverged(
            _diverged_message("was finite but the last update made the weights NaN or infinite", trainer.optimizer.lr,
                              trainer.loss_name or "", history.epochs - 1),
            history,
        )  # fmt: skip
    return history


# ---- settings that train each data set well -----------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """Settings that train a data set well (the CLI's and the playground's defaults)."""

    hidden: tuple[int, ...]
    activation: str
    loss: str
    optimizer: str
    lr: float
    schedule: str = "constant"
    epochs: int = 100
    batch_size: int | None = None  # None: the full batch
    l2: float = 0.0
    samples: int | None = None  # a generated set's size and noise (None: the set's own)
    noise: float | None = None
    init: str = "uniform"  # the weights' initialisation (scratchgrad.nn.INITS)


PRESETS: dict[str, Recipe] = {
    # micrograd's demo: 2-16-16-1 relu, hinge + L2 1e-4, SGD lr 1.0 -> 0.1, full batch
    "moons": Recipe((16, 16), "relu", "hinge", "sgd", 1.0, "linear", 100, None, 1e-4, 100, 0.1),
    "circles": Recipe((16, 16), "relu", "hinge", "sgd", 1.0, "linear", 100, None, 1e-4, 100, 0.05),
    "spirals": Recipe((16, 16), "tanh", "hinge", "adam", 0.05, "cosine", 200, None, 0.0, 100, 0.05),
    "xor": Recipe((8, 8), "relu", "hinge", "sgd", 0.5, "linear", 100, None, 1e-4, 100, 0.1),
    "gauss": Recipe((4,), "tanh", "hinge", "sgd", 0.1, "constant", 50, None, 0.0, 100, 0.1),
    "plane": Recipe((4,), "tanh", "mse", "adam", 0.05, "constant", 100, None, 0.0, 100, 0.1),
    "gaussian_mix": Recipe((16, 16), "tanh", "mse", "adam", 0.02, "cosine", 300, None, 0.0, 100, 0.1),
    # the tutorial's own run: MLP(3, [4, 4, 1]) tanh, summed squared error, SGD lr 0.1, 50 steps
    "tutorial": Recipe((4, 4), "tanh", "sse", "sgd", 0.1, "constant", 50),
    "csv": Recipe((16, 16), "relu", "hinge", "adam", 0.01, "constant", 100),
    # 64-128-10 relu, cross-entropy, Adam lr 1e-3, batch 64, 30 epochs, kaiming init: 97-98% on the test
    # set (the tutorial's U(-1, 1) weights are too large for 64 inputs: 88-91%)
    "digits": Recipe((128,), "relu", "ce", "adam", 1e-3, "constant", 30, 64, init="kaiming"),
}


__all__ = [
    "DIVERGED_GROWTH",
    "History",
    "LOSSES",
    "PRESETS",
    "Recipe",
    "Trainer",
    "TrainingDiverged",
    "accuracy",
    "blas_threads",
    "check_fit_settings",
    "confusion_matrix",
    "default_threshold",
    "fit",
    "predict",
]
