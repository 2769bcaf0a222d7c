"""Loss functions for both engines, and LOSSES: every loss by name.

Each function takes predictions and targets and returns one number to call
``backward()`` on: a `Value` for lists of Values (the scalar engine), a `Tensor` for a
`Tensor` or numpy array (the tensor engine). Both give the same number (tests check
it). Every function checks that predictions and targets match and that labels are in
its domain, and says so by name when they are not.

`LOSSES` maps a name ('hinge', 'mse', 'sse', 'bce', 'ce') to a `Loss`: its scalar and
tensor implementations in terms of model outputs and labels, the label convention
('pm1': -1/+1; 'index': class indices 0..k-1; 'real': any numbers) and the output
activation it suits. `fit`, the CLI and the playground read it: adding a loss is one entry.

Label conventions of the functions: ``hinge_loss`` takes y in {-1, +1} (the tutorial's
and micrograd's convention, also what `scratchgrad.data` returns);
``binary_cross_entropy_with_logits`` takes probabilities t in [0, 1] (``t = (y + 1) / 2``
for ±1 labels; the 'bce' entry of LOSSES does that for you).
"""

from __future__ import annotations

import math
import numbers
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence, Union

from scratchgrad.engine import Value, sum_values, weighted_sum
from scratchgrad.nn.module import is_tensor

Operand = Union[Value, int, float]


def is_tensor_input(x: object) -> bool:
    """True for what the tensor engine's losses take: a `Tensor` or a numpy array."""
    if is_tensor(x):
        return True
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(x, numpy.ndarray)


# ---- the scalar engine: lists of Values ----------------------------------------------------------


def _as_list(values: Any, what: str) -> list[Any]:
    if isinstance(values, (Value, int, float)):
        return [values]
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a list of Values or numbers, got {type(values).__name__}")
    return list(values)


def _scalar_pair(preds: Any, targets: Any, loss: str) -> tuple[list[Value], list[float]]:
    """Predictions as Values and targets as finite floats, in equal-length, non-empty lists."""
    p = [v if isinstance(v, Value) else Value(v) for v in _as_list(preds, f"{loss}: predictions")]
    t = _as_list(targets, f"{loss}: targets")
    if len(p) != len(t):
        raise ValueError(f"{loss}: {len(p)} predictions but {len(t)} targets")
    if not p:
        raise ValueError(f"{loss}: no predictions (empty list)")
    floats: list[float] = []
    for i, y in enumerate(t):
        if isinstance(y, Value):
            raise TypeError(f"{loss}: targets[{i}] is a Value; targets are plain numbers (use .data)")
        if isinstance(y, bool) or not isinstance(y, numbers.Real) or not math.isfinite(y):
            raise ValueError(f"{loss}: targets[{i}] must be a finite number, got {y!r}")
        floats.append(float(y))
    return p, floats


def _squared_error_values(preds: Any, targets: Any, loss: str) -> list[Value]:
    p, t = _scalar_pair(preds, targets, loss)
    return [(yout - ygt) ** 2 for ygt, yout in zip(t, p)]


def _hinge_values(scores: Any, labels: Any) -> Value:
    s, y = _scalar_pair(scores, labels, "hinge_loss")
    terms = []
    for i, (yi, si) in enumerate(zip(y, s)):
        if yi == 1.0:  # 1 - (+1)*s, without the multiplication node (same number)
            terms.append((1.0 - si).relu())
        elif yi == -1.0:
            terms.append((1.0 + si).relu())
        else:
            raise ValueError(
                f"hinge_loss: labels must be -1 or +1, got labels[{i}] = {yi!r}"
                + (" (for 0/1 labels use y = 2*label - 1)" if yi == 0.0 else "")
            )
    return sum_values(terms) / len(terms)


def _bce_values(logits: Any, targets: Any) -> Value:
    z, t = _scalar_pair(logits, targets, "binary_cross_entropy_with_logits")
    terms = []
    for i, (zi, ti) in enumerate(zip(z, t)):
        _check_probability(ti, f"targets[{i}] = {ti!r}")
        if zi.data >= 0:  # softplus(z) = z + log(1 + e^-z): e^ only sees numbers <= 0
            softplus = zi + (1.0 + (-zi).exp()).log()
        else:
            softplus = (1.0 + zi.exp()).log()
        terms.append(softplus - zi * ti if ti != 0.0 else softplus)
    return sum_values(terms) / len(terms)


def _check_probability(t: float, where: str) -> None:
    if not 0.0 <= t <= 1.0:
        hint = " (for -1/+1 labels pass t = (y + 1) / 2)" if t == -1.0 else ""
        raise ValueError(f"binary_cross_entropy_with_logits: targets must be in [0, 1], got {where}{hint}")


def _softmax_ce_values(logits: Any, target: Any) -> Value:
    if isinstance(target, (bool, str)) or not isinstance(target, (int, Sequence)):
        raise TypeError(f"softmax_cross_entropy: target must be a class index or a list of them, got {target!r}")
    if isinstance(target, int):
        return _softmax_ce_one(_as_list(logits, "softmax_cross_entropy: logits"), target, "")
    batch = list(logits)
    if len(batch) != len(target):
        raise ValueError(f"softmax_cross_entropy: {len(batch)} samples of logits but {len(target)} targets")
    if not batch:
        raise ValueError("softmax_cross_entropy: no samples (empty list)")
    losses = []
    for n, (row, index) in enumerate(zip(batch, target)):
        if isinstance(row, (Value, int, float)):
            raise TypeError(
                "softmax_cross_entropy: with a list of targets, logits must be a list of per-sample lists; "
                f"logits[{n}] is a single {type(row).__name__}"
            )
        losses.append(_softmax_ce_one(list(row), index, f" sample {n}:"))
    return sum_values(losses) / len(losses)


def _softmax_ce_one(logits: list[Any], target: object, where: str) -> Value:
    k = len(logits)
    if k < 2:
        raise ValueError(f"softmax_cross_entropy:{where} needs at least 2 class logits, got {k}")
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(f"softmax_cross_entropy:{where} target must be an int class index, got {target!r}")
    if not 0 <= int(target) < k:
        raise ValueError(f"softmax_cross_entropy:{where} target {target} is out of range for {k} classes")
    z = [v if isinstance(v, Value) else Value(float(v)) for v in logits]
    m = max(v.data for v in z)
    log_sum_exp = sum_values([(v - m).exp() for v in z]).log()
    return log_sum_exp - (z[int(target)] - m)


# ---- the tensor engine: Tensors and arrays ---------------------------------------------------------


def _tensor_pair(scores: Any, targets: Any, op: str) -> tuple[Any, Any]:
    """Scores and targets of one shape; targets become a constant tensor (an array is not copied)."""
    import numpy as np

    from scratchgrad.tensor import Tensor

    s = scores if isinstance(scores, Tensor) else Tensor(scores)
    t = np.asarray(targets.data if isinstance(targets, Tensor) else targets, dtype=s.data.dtype)
    if s.data.shape != t.shape:
        if s.data.ndim == 2 and s.data.shape[1] == 1 and t.shape == (s.data.shape[0],):
            t = t.reshape(-1, 1)  # one score per sample from a (N, 1) output: targets as a column
        else:
            raise ValueError(f"{op}: scores shape {s.shape} and targets shape {t.shape} differ")
    if s.data.size == 0:
        raise ValueError(f"{op}: no predictions (empty array)")
    return s, Tensor.from_numpy(t)  # a constant: targets get no gradient


def _hinge_tensor(scores: Any, labels: Any) -> Any:
    s, y = _tensor_pair(scores, labels, "hinge_loss")
    _check_pm1_array(y.data, "hinge_loss: labels")
    return (1.0 - y * s).relu().mean()


def _bce_tensor(logits: Any, targets: Any) -> Any:
    import numpy as np

    from scratchgrad.tensor import Tensor
    from scratchgrad.tensor_functions import stack

    z, t = _tensor_pair(logits, targets, "binary_cross_entropy_with_logits")
    bad = (t.data < 0) | (t.data > 1) | ~np.isfinite(t.data)
    if bad.any():
        _check_probability(float(t.data[bad].flat[0]), f"a target of {float(t.data[bad].flat[0])!r}")
    # softplus(z) = log(e^0 + e^z), stable for any z and with the right slope sigmoid(z) at 0
    softplus = stack([Tensor(np.zeros_like(z.data)), z], axis=-1).logsumexp(axis=-1)
    return (softplus - z * t).mean()


def _check_pm1_array(y: Any, what: str) -> None:
    import numpy as np

    if (np.abs(y) == 1.0).all():
        return
    bad = np.flatnonzero((y != 1.0) & (y != -1.0))
    if bad.size:
        value = float(y.flat[bad[0]])
        hint = " (for 0/1 labels use y = 2*label - 1)" if value == 0.0 else ""
        raise ValueError(f"{what} must be -1 or +1, got {value!r} at position {int(bad[0])}{hint}")


# ---- the public functions: one per loss, for either engine ---------------------------------------


def squared_error(preds: Any, targets: Any) -> Any:
    """sum_i (pred_i - target_i)^2, the tutorial's loss. n predictions -> one Value (or Tensor).

    On Values bit-identical to the tutorial's ``sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))``.
    """
    if is_tensor_input(preds):
        p, t = _tensor_pair(preds, targets, "squared_error")
        return ((p - t) ** 2).sum()
    return sum_values(_squared_error_values(preds, targets, "squared_error"))


def mean_squared_error(preds: Any, targets: Any) -> Any:
    """(1/n) sum_i (pred_i - target_i)^2. n predictions -> one Value (or Tensor)."""
    if is_tensor_input(preds):
        p, t = _tensor_pair(preds, targets, "mse_loss")
        return ((p - t) ** 2).mean()
    terms = _squared_error_values(preds, targets, "mean_squared_error")
    return sum_values(terms) / len(terms)


mse_loss = mean_squared_error  # the tensor engine's old name


def hinge_loss(scores: Any, labels: Any) -> Any:
    """(1/n) sum_i max(0, 1 - y_i * score_i), y_i in {-1, +1}: the SVM max-margin loss.

    n scores -> one Value (or Tensor: scores (N,) or (N, 1)). Scores should be raw (a
    linear output layer).
    """
    return _hinge_tensor(scores, labels) if is_tensor_input(scores) else _hinge_values(scores, labels)


def binary_cross_entropy_with_logits(logits: Any, targets: Any) -> Any:
    """(1/n) sum_i [softplus(z_i) - z_i t_i], i.e. -t log sigmoid(z) - (1-t) log(1 - sigmoid(z)).

    n logits (raw scores, any real number), n targets t in [0, 1] -> one Value (or
    Tensor); the gradient per logit is (sigmoid(z) - t) / n. Never overflows: e^ only
    sees numbers <= 0 (finite at |z| = 1000). For labels y in {-1, +1} pass t = (y + 1) / 2.
    """
    return _bce_tensor(logits, targets) if is_tensor_input(logits) else _bce_values(logits, targets)


def softmax_cross_entropy(logits: Any, target: Any) -> Any:
    """-log softmax(z)[target] = log sum_j e^(z_j - m) - (z_target - m), m = max_j z_j.

    One sample: ``logits`` is a list of k class scores and ``target`` the index of the
    true class -> one Value. A batch: a list of n such lists and n indices -> the mean.
    A Tensor of logits (N, k) with an integer array of targets goes to the tensor
    engine's fused `cross_entropy`. Subtracting the max keeps e^ finite for any logits.
    Gradient per logit: softmax(z)_j - [j == target].
    """
    if is_tensor_input(logits):
        from scratchgrad.tensor_functions import cross_entropy

        return cross_entropy(logits, target)
    return _softmax_ce_values(logits, target)


def _penalty_parameters(params: Any, alpha: float, penalty: str) -> tuple[list[Any], bool]:
    """The parameters (of a Module, or a list) and whether they are Tensors; checks ``alpha``."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"{penalty}: alpha must be a finite number >= 0, got {alpha!r}")
    get_parameters = getattr(params, "parameters", None)
    values = list(get_parameters() if callable(get_parameters) else params)
    if values and all(is_tensor(p) for p in values):
        return values, True
    for i, p in enumerate(values):
        if not isinstance(p, Value):
            raise TypeError(f"{penalty}: params[{i}] must be a Value (or all of them Tensors), got {type(p).__name__}")
    return values, False


def l2_penalty(params: Any, alpha: float) -> Any:
    """alpha * sum_p p^2 over the parameters (Values or Tensors, or a Module) -> one Value (or Tensor).

    On Values the same numbers as micrograd's ``alpha * sum((p*p for p in model.parameters()))``.
    """
    values, tensors = _penalty_parameters(params, alpha, "l2_penalty")
    if tensors:
        return float(alpha) * sum((p * p).sum() for p in values)
    return float(alpha) * sum_values([p * p for p in values])


def l1_penalty(params: Any, alpha: float) -> Any:
    """alpha * sum_p |p| over the parameters (Values or Tensors, or a Module) -> one Value (or Tensor).

    The gradient of each |p| is sign(p), 0 at p = 0 (as PyTorch's ``abs``), on both engines.
    On Values it is one node, sum_p p * sign(p): the signs are constants of this step.
    """
    values, tensors = _penalty_parameters(params, alpha, "l1_penalty")
    if tensors:
        return float(alpha) * sum(p.abs().sum() for p in values)
    signs = [(p.data > 0) - (p.data < 0) for p in values]
    return float(alpha) * weighted_sum(values, signs)


# ---- the registry ------------------------------------------------------------------------------------

LABEL_KINDS = {
    "pm1": "-1.0 / +1.0 (one score per sample)",
    "index": "class indices 0, 1, ..., k-1 (one output per class)",
    "real": "any finite numbers (one output per sample)",
}


@dataclass(frozen=True)
class Loss:
    """One loss on model outputs and labels, for each engine.

    ``scalar(outputs, labels) -> Value``: outputs as a model of Values returns them (one
    Value per sample, or a list per sample for 'ce'), labels a list. ``tensor(outputs,
    labels) -> Tensor``: outputs (N, 1), (N,) or (N, k), labels an array.
    """

    name: str
    scalar: Callable[[Any, Any], Any]
    tensor: Callable[[Any, Any], Any]
    labels: str  # 'pm1' | 'index' | 'real': see LABEL_KINDS
    output_activation: str  # the last layer's activation that suits it: 'linear' | 'tanh'
    summary: str

    def __call__(self, outputs: Any, labels: Any) -> Any:
        """The loss of ``outputs`` (Values, or a Tensor / array) against ``labels``, on their engine."""
        return (self.tensor if is_tensor_input(outputs) else self.scalar)(outputs, labels)

    def output_activation_for(self, kind: str) -> str:
        """The output activation for data of ``kind`` ('binary', 'classes', 'regression'):
        real-valued targets need an unbounded output."""
        return "linear" if kind == "regression" else self.output_activation


def _bce_pm1(implementation: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """BCE on the project's -1/+1 labels: t = (y + 1) / 2."""

    def bce(outputs: Any, labels: Any) -> Any:
        if is_tensor_input(outputs):
            import numpy as np

            return implementation(outputs, (np.asarray(labels, dtype=np.float64) + 1.0) / 2.0)
        return implementation(outputs, [(float(y) + 1.0) / 2.0 for y in labels])

    return bce


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss("hinge", _hinge_values, _hinge_tensor, "pm1", "linear", "mean max(0, 1 - y·s): the SVM margin loss"),
        Loss("mse", mean_squared_error, mean_squared_error, "real", "tanh", "mean squared error"),
        Loss("sse", squared_error, squared_error, "real", "tanh", "summed squared error (the tutorial's)"),
        Loss("bce", _bce_pm1(_bce_values), _bce_pm1(_bce_tensor), "pm1", "linear", "binary cross-entropy on logits"),
        Loss("ce", _softmax_ce_values, softmax_cross_entropy, "index", "linear", "softmax cross-entropy, several classes"),
    )
}


def get_loss(name: object) -> Loss:
    """The LOSSES entry of ``name``, or a ValueError listing the names."""
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(map(repr, LOSSES))} or a function (outputs, labels) -> loss, got {name!r}")
    return LOSSES[name]


def check_labels(y: Any, kind: str, what: str, outputs: int | None = None) -> None:
    """Refuse labels that do not follow the convention ``kind`` ('pm1', 'index', 'real'),
    naming the first bad one as ``y[i]``; for 'index', also labels >= ``outputs``."""
    import numpy as np

    array = np.asarray(y)
    if array.ndim != 1:
        raise ValueError(f"{what}: y must be one label per sample (1-D), got shape {array.shape}")
    if array.size == 0:
        return
    if kind == "index":
        if array.dtype.kind not in "iu":
            items = array.tolist() if isinstance(y, np.ndarray) else list(y)
            index = next((i for i, v in enumerate(items) if isinstance(v, bool) or not isinstance(v, numbers.Integral)), 0)
            raise TypeError(f"{what}: labels must be integer class indices 0, 1, ..., got y[{index}] = {items[index]!r}")
        bad = np.flatnonzero((array < 0) | (array >= (outputs if outputs is not None else np.inf)))
        if bad.size:
            top = f"0..{outputs - 1} for a model with {outputs} outputs" if outputs else "0, 1, ..."
            raise ValueError(f"{what}: labels must be class indices {top}, got y[{int(bad[0])}] = {array[bad[0]].item()!r}")
        return
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{what}: labels must be numbers, got {array.dtype}")
    if kind == "pm1":
        bad = np.flatnonzero((array != 1.0) & (array != -1.0))
        if bad.size:
            value = float(array[bad[0]])
            hint = " (for 0/1 labels use scratchgrad.data.binary_labels(y))" if value == 0.0 else ""
            raise ValueError(f"{what}: labels must be -1.0 or +1.0, got y[{int(bad[0])}] = {value!r}{hint}")
    else:
        bad = np.flatnonzero(~np.isfinite(array.astype(np.float64)))
        if bad.size:
            raise ValueError(f"{what}: y[{int(bad[0])}] must be a finite number, got {float(array[bad[0]])!r}")
