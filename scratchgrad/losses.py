"""Loss functions on `Value`s: one scalar `Value` to call ``backward()`` on.

Predictions are Values (what a model returns); targets are plain numbers. Every loss
checks that the two lists have the same, non-zero length and that labels are in the
loss's domain, and says so by name when they are not.

Label conventions: ``hinge_loss`` takes y in {-1, +1} (the seed's and micrograd's
convention, also what `scratchgrad.data` returns). ``binary_cross_entropy_with_logits``
takes probabilities t in [0, 1]; turn ±1 labels into them with ``t = (y + 1) / 2``.
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable, Sequence, Union

from scratchgrad.engine import Value, sum_values

Operand = Union[Value, int, float]


def _as_list(values: Sequence[Operand] | Operand, what: str) -> list[Operand]:
    if isinstance(values, (Value, int, float)):
        return [values]
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a list of Values or numbers, got {type(values).__name__}")
    return list(values)


def _pair(
    preds: Sequence[Operand] | Operand, targets: Sequence[float] | float, loss: str
) -> tuple[list[Value], list[float]]:
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


def squared_error(preds: Sequence[Operand] | Operand, targets: Sequence[float] | float) -> Value:
    """sum_i (pred_i - target_i)^2, the seed's loss. n predictions -> one Value.

    Bit-identical to the seed's ``sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))``.
    """
    p, t = _pair(preds, targets, "squared_error")
    return sum_values([(yout - ygt) ** 2 for ygt, yout in zip(t, p)])


def mean_squared_error(preds: Sequence[Operand] | Operand, targets: Sequence[float] | float) -> Value:
    """(1/n) sum_i (pred_i - target_i)^2. n predictions -> one Value."""
    p, t = _pair(preds, targets, "mean_squared_error")
    return sum_values([(yout - ygt) ** 2 for ygt, yout in zip(t, p)]) / len(p)


def hinge_loss(scores: Sequence[Operand] | Operand, labels: Sequence[float] | float) -> Value:
    """(1/n) sum_i max(0, 1 - y_i * score_i), y_i in {-1, +1}: the SVM max-margin loss.

    n scores -> one Value. Scores should be raw (a linear output layer).
    """
    s, y = _pair(scores, labels, "hinge_loss")
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


def binary_cross_entropy_with_logits(
    logits: Sequence[Operand] | Operand, targets: Sequence[float] | float
) -> Value:
    """(1/n) sum_i [softplus(z_i) - z_i t_i], i.e. -t log sigmoid(z) - (1-t) log(1 - sigmoid(z)).

    n logits (raw scores, any real number), n targets t in [0, 1] -> one Value; the
    gradient per logit is (sigmoid(z) - t) / n. Never overflows: softplus is computed
    as z + log(1 + e^-z) for z >= 0 and log(1 + e^z) for z < 0, so e^ only sees
    numbers <= 0 (finite at |z| = 1000). For labels y in {-1, +1} pass t = (y + 1) / 2.
    """
    z, t = _pair(logits, targets, "binary_cross_entropy_with_logits")
    terms = []
    for i, (zi, ti) in enumerate(zip(z, t)):
        if not 0.0 <= ti <= 1.0:
            hint = " (for -1/+1 labels pass t = (y + 1) / 2)" if ti == -1.0 else ""
            raise ValueError(
                f"binary_cross_entropy_with_logits: targets must be in [0, 1], got targets[{i}] = {ti!r}{hint}"
            )
        if zi.data >= 0:
            softplus = zi + (1.0 + (-zi).exp()).log()
        else:
            softplus = (1.0 + zi.exp()).log()
        terms.append(softplus - zi * ti if ti != 0.0 else softplus)
    return sum_values(terms) / len(terms)


def softmax_cross_entropy(
    logits: Sequence[Operand] | Sequence[Sequence[Operand]], target: int | Sequence[int]
) -> Value:
    """-log softmax(z)[target] = log sum_j e^(z_j - m) - (z_target - m), m = max_j z_j.

    One sample: ``logits`` is a list of k class scores and ``target`` the index of the
    true class -> one Value. A batch: a list of n such lists and n indices -> the mean,
    one Value. Subtracting the max (a constant: the loss does not change) keeps e^
    finite for any logits. Gradient per logit: softmax(z)_j - [j == target].
    """
    if isinstance(target, (bool, str)) or not isinstance(target, (int, Sequence)):
        raise TypeError(f"softmax_cross_entropy: target must be a class index or a list of them, got {target!r}")
    if isinstance(target, int):
        return _softmax_ce_one(_as_list(logits, "softmax_cross_entropy: logits"), target, "")  # type: ignore[arg-type]
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


def _softmax_ce_one(logits: list[Operand], target: object, where: str) -> Value:
    k = len(logits)
    if k < 2:
        raise ValueError(f"softmax_cross_entropy:{where} needs at least 2 class logits, got {k}")
    if isinstance(target, bool) or not isinstance(target, int):
        raise TypeError(f"softmax_cross_entropy:{where} target must be an int class index, got {target!r}")
    if not 0 <= target < k:
        raise ValueError(f"softmax_cross_entropy:{where} target {target} is out of range for {k} classes")
    z = [v if isinstance(v, Value) else Value(float(v)) for v in logits]
    m = max(v.data for v in z)
    log_sum_exp = sum_values([(v - m).exp() for v in z]).log()
    return log_sum_exp - (z[target] - m)


def l2_penalty(params: Iterable[Value] | object, alpha: float) -> Value:
    """alpha * sum_p p^2 over the parameters (a list of Values, or a Module) -> one Value.

    Same numbers as micrograd's ``alpha * sum((p*p for p in model.parameters()))``.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"l2_penalty: alpha must be a finite number >= 0, got {alpha!r}")
    get_parameters = getattr(params, "parameters", None)
    values = list(get_parameters() if callable(get_parameters) else params)
    for i, p in enumerate(values):
        if not isinstance(p, Value):
            raise TypeError(f"l2_penalty: params[{i}] must be a Value, got {type(p).__name__}")
    return float(alpha) * sum_values([p * p for p in values])
