"""Training pictures with matplotlib: loss curves, decision boundaries, activation functions
and confusion matrices, saved to PNG, SVG or PDF.

Every ``plot_*(..., path)`` saves to ``path`` (the format from its suffix: .png, .svg or
.pdf) and returns it as a ``Path``; the matching ``*_figure(...)`` function returns the
``matplotlib.figure.Figure`` instead, to customise or to show in a notebook.

No screen is ever needed and the user's matplotlib setup is left alone: figures are
built with ``matplotlib.figure.Figure`` and drawn by the Agg canvas directly, never
through ``pyplot``, so this module neither selects a backend nor opens windows, and an
interactive session keeps its own backend.
"""

from __future__ import annotations

import io
import math
import numbers
import os
import re
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Sequence, Union

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from scratchgrad import grad_mode
from scratchgrad._io import atomic_write_bytes
from scratchgrad.engine import Value

PathLike = Union[str, "os.PathLike[str]"]
SUFFIX_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
DPI = 120
# Colours of the two classes -1 / +1, the two ends of the score map (RdBu: low red, high blue).
NEGATIVE_COLOR = "#d6604d"
POSITIVE_COLOR = "#4393c3"


# ---- saving ---------------------------------------------------------------------------------


def _format_of(path: PathLike) -> tuple[Path, str]:
    target = Path(path)
    file_format = SUFFIX_FORMATS.get(target.suffix.lower())
    if file_format is None:
        raise ValueError(f"cannot tell the picture format of {target}: use one of the suffixes {', '.join(SUFFIX_FORMATS)}")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot save to {target}: folder {target.parent} does not exist")
    return target, file_format


def save_figure(figure: Figure, path: PathLike) -> Path:
    """Draw ``figure`` with the Agg canvas and write it to ``path`` (.png/.svg/.pdf) atomically.

    figure: a matplotlib Figure -> the path written.
    """
    target, file_format = _format_of(path)
    FigureCanvasAgg(figure)  # attach a screenless canvas; no pyplot, no global backend
    buffer = io.BytesIO()
    # No creation date and fixed SVG ids: the same figure gives the same bytes.
    metadata: dict[str, Any] = {"Date": None} if file_format in ("svg", "pdf") else {}
    with matplotlib.rc_context({"svg.hashsalt": "scratchgrad"}):
        figure.savefig(buffer, format=file_format, dpi=DPI, bbox_inches="tight", metadata=metadata)
    return atomic_write_bytes(target, buffer.getvalue())


# ---- input checking -----------------------------------------------------------------------------


def _as_number(value: object, what: str) -> float:
    """A float from a number or a `Value` (by its data); a TypeError naming ``what`` otherwise."""
    if isinstance(value, Value):
        value = value.data
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}: {value!r}")
    return float(value)


def _number_list(values: object, what: str) -> list[float]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a list of numbers, got {type(values).__name__}")
    return [_as_number(v, f"{what}[{i}]") for i, v in enumerate(values)]


# ---- loss curve ---------------------------------------------------------------------------------


def _history_series(history_or_losses: object) -> tuple[list[float], list[float] | None, list[float] | None]:
    """(losses, accuracy, test losses) from a list of losses or a History-like object."""
    if hasattr(history_or_losses, "loss") or hasattr(history_or_losses, "losses"):
        history = history_or_losses
        losses = getattr(history, "loss", None)
        if losses is None:
            losses = getattr(history, "losses")
        accuracy = getattr(history, "accuracy", None)
        test = getattr(history, "test_loss", None)
        if test is None:
            test = getattr(history, "test_losses", None)
        return (
            _number_list(losses, "history.loss"),
            _number_list(accuracy, "history.accuracy") if accuracy else None,
            _number_list(test, "history.test_loss") if test else None,
        )
    return _number_list(history_or_losses, "losses"), None, None


def loss_curve_figure(
    history_or_losses: object,
    title: str = "Training loss",
    accuracy: Sequence[float] | None = None,
    test_losses: Sequence[float] | None = None,
    log_scale: bool | None = None,
    xlabel: str = "epoch",
) -> Figure:
    """The loss per epoch (or per whatever ``xlabel`` names); with accuracy (0..1, right axis)
    and test losses when given.

    history_or_losses: a list of n losses, or an object with ``.loss`` (and optionally
    ``.accuracy``, ``.test_loss``) lists, such as ``scratchgrad.train``'s History -> a Figure.

    ``accuracy``/``test_losses`` given here win over the history's. ``log_scale=None``
    picks a log axis when all losses are positive and span more than two decades.
    Non-finite losses (a diverged run) are not drawn; a red line marks the first one and
    a RuntimeWarning says so.
    """
    losses, history_accuracy, history_test = _history_series(history_or_losses)
    if not losses:
        raise ValueError("no losses to plot: the list is empty")
    acc = _number_list(accuracy, "accuracy") if accuracy is not None else history_accuracy
    test = _number_list(test_losses, "test_losses") if test_losses is not None else history_test
    for name, series in (("accuracy", acc), ("test_losses", test)):
        if series is not None and len(series) != len(losses):
            raise ValueError(f"{name} has {len(series)} values but there are {len(losses)} losses (one per epoch)")
    if acc is not None and any(not 0.0 <= a <= 1.0 for a in acc):
        raise ValueError("accuracy values must be fractions in [0, 1] (e.g. 0.95, not 95)")

    epochs = np.arange(1, len(losses) + 1)
    loss_array = np.array(losses)
    finite = np.isfinite(loss_array)
    figure = Figure(figsize=(7, 4.2))
    ax = figure.add_subplot()
    marker = "o" if len(losses) <= 30 else None
    ax.plot(epochs[finite], loss_array[finite], marker=marker, markersize=3, color="#1f77b4", label="training loss")
    if test is not None:
        test_array = np.array(test)
        ok = np.isfinite(test_array)
        ax.plot(epochs[ok], test_array[ok], marker=marker, markersize=3, color="#ff7f0e", label="test loss")
    shown = loss_array[finite]
    if log_scale is None:
        log_scale = bool(shown.size) and bool(np.all(shown > 0)) and shown.max() > 100 * shown.min()
    if log_scale:
        if shown.size and np.any(shown <= 0):
            raise ValueError("log_scale=True needs positive losses")
        ax.set_yscale("log")
    if not finite.all():
        first_bad = int(np.argmin(finite)) + 1
        ax.axvline(first_bad, color="red", linestyle="--", linewidth=1.5)
        ax.annotate(
            f"loss is {loss_array[first_bad - 1]} from epoch {first_bad}",
            xy=(first_bad, 0.5), xycoords=("data", "axes fraction"), color="red", rotation=90,
            ha="right", va="center",
        )
        warnings.warn(
            f"the loss is {loss_array[first_bad - 1]} from epoch {first_bad} on (training diverged); "
            "those epochs are not drawn",
            RuntimeWarning,
            stacklevel=3,
        )
    if shown.size:
        last = int(np.flatnonzero(finite)[-1])
        ax.set_title(f"{title} (final {loss_array[last]:.4g})" if title else "")
    else:
        ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if acc is not None:
        right = ax.twinx()
        right.plot(epochs, acc, color="#2ca02c", marker=marker, markersize=3, label="accuracy")
        right.set_ylim(-0.02, 1.02)
        right.set_ylabel("accuracy")
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    if len(handles) > 1:
        ax.legend(handles, labels, loc="upper right" if acc is None else "center right")
    return figure


def plot_loss_curve(history_or_losses: object, path: PathLike, **options: Any) -> Path:
    """Save `loss_curve_figure` to ``path`` (.png/.svg/.pdf) and return the path.

    ``options`` are `loss_curve_figure`'s: ``title``, ``accuracy``, ``test_losses``, ``log_scale``, ``xlabel``.
    """
    _format_of(path)  # check the path before the work
    return save_figure(loss_curve_figure(history_or_losses, **options), path)


# ---- decision boundary --------------------------------------------------------------------------

Predict = Callable[[Any], Any]


def _is_model(candidate: object) -> bool:
    from scratchgrad.nn import Module

    return isinstance(candidate, Module)


def model_predictor(model: object) -> Callable[[Any], np.ndarray]:
    """A function scoring many points at once with a scratchgrad model, for pictures.

    model: a model of either engine (a scalar ``scratchgrad.nn`` MLP, Layer or Neuron, a
    tensor MLP, Sequential or Linear) -> a function from an (n, features) array (or list
    of lists) to (n,) scores or (n, k) logits.

    A decision boundary needs ~40,000 forward passes: seconds on `Value`s, milliseconds on
    arrays. A scalar model is scored by its tensor twin (``scratchgrad.nn.to_tensor``: the
    same weights, bit for bit) through ``scratchgrad.train.predict``, so its picture shows
    the model's own scores.
    """
    from scratchgrad.nn import to_tensor
    from scratchgrad.train import predict

    if not _is_model(model):
        raise TypeError(f"model_predictor takes a scratchgrad model, got {type(model).__name__}")
    engine = model.model_engine()  # type: ignore[attr-defined]
    scorer = to_tensor(model) if engine == "scalar" else model  # a TypeError names what cannot be converted

    def scores(points: Any) -> np.ndarray:
        return np.asarray(predict(scorer, np.asarray(points, dtype=np.float64)))

    return scores


def _points(X: object) -> np.ndarray:
    try:
        array = np.array(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"X must be a list of [x0, x1] number pairs or an (n, 2) array: {exc}") from None
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] == 0:
        raise ValueError(f"X must hold n >= 1 points of 2 coordinates, shape (n, 2); got shape {array.shape}")
    if not np.isfinite(array).all():
        row = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise ValueError(f"X[{row}] = {array[row].tolist()} is not finite")
    return array


def _labels(y: object, n: int) -> np.ndarray:
    if isinstance(y, (str, bytes)) or not isinstance(y, Iterable):
        raise TypeError(f"y must be a list of labels, got {type(y).__name__}")
    labels = np.array([_as_number(v, f"y[{i}]") for i, v in enumerate(y)])
    if labels.shape != (n,):
        raise ValueError(f"y has {labels.size} labels but X has {n} points")
    if not np.isfinite(labels).all() or not np.all(labels == np.round(labels)):
        raise ValueError("y must hold class labels: -1.0/+1.0 or class ids 0, 1, 2, ...")
    return labels.astype(int)


def _scores_array(raw: object, n: int) -> np.ndarray:
    """predict's output as an (n,) or (n, k) float array: a list of numbers or Values, an
    array, or anything with an array ``.data`` (a Tensor)."""
    data = getattr(raw, "data", None)
    if isinstance(data, np.ndarray):
        raw = data
    if isinstance(raw, np.ndarray):
        scores = raw.astype(float)
    else:
        if isinstance(raw, (Value, numbers.Real)) or not hasattr(raw, "__iter__"):
            raise TypeError(f"predict must return one score per point (a list or an array), got {type(raw).__name__}")
        rows = list(raw)  # type: ignore[call-overload]
        scores = np.array(
            [
                [_as_number(v, "score") for v in row] if isinstance(row, (list, tuple, np.ndarray)) else _as_number(row, "score")
                for row in rows
            ],
            dtype=float,
        )
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.ndim not in (1, 2) or scores.shape[0] != n:
        raise ValueError(f"predict returned scores of shape {scores.shape} for {n} points; expected ({n},) or ({n}, k)")
    return scores


def _call_predict(predict: Predict, points: np.ndarray, accepts: str) -> tuple[np.ndarray, str]:
    """Scores of ``points``, calling ``predict`` with an array or a list of [x0, x1] lists.

    With ``accepts='auto'`` the array is tried first and the list if that fails; the way
    that worked is returned so the next call goes straight to it.
    """
    attempts = ["array", "list"] if accepts == "auto" else [accepts]
    errors = []
    for kind in attempts:
        argument = points if kind == "array" else points.tolist()
        try:
            with grad_mode.no_grad():  # pictures need no graph: faster, far less memory
                raw = predict(argument)
        except Exception as exc:  # a predict that wants the other input kind fails in its own way
            if accepts != "auto":
                raise
            errors.append(f"with an {kind}: {type(exc).__name__}: {exc}")
            continue
        return _scores_array(raw, len(points)), kind
    raise TypeError(
        "predict failed on both input kinds it may take, an (n, 2) array and a list of [x0, x1] lists: "
        + "; ".join(errors)
    )


def _predicted_classes(scores: np.ndarray, threshold: float, binary_pm: bool) -> np.ndarray:
    if scores.ndim == 2:
        return np.argmax(scores, axis=1)
    above = scores > threshold
    return np.where(above, 1, -1) if binary_pm else above.astype(int)


def decision_boundary_figure(
    predict: Predict,
    X: object,
    y: object,
    resolution: int = 200,
    title: str = "Decision boundary",
    threshold: float | None = None,
    padding: float = 0.1,
    accepts: Literal["auto", "array", "list"] = "auto",
) -> Figure:
    """The score of a 2-D classifier over the plane, its decision line, and the data.

    predict: a scratchgrad model (scored on arrays, see `model_predictor`), or a callable
    taking m points -- an (m, 2) numpy array or a list of m [x0, x1]
    lists (``accepts`` says which; 'auto' tries the array, then the list) -- and returning m
    scores (numbers, Values or an array; or an (m, k) array of class scores). X: n points,
    (n, 2); y: n labels, -1/+1 or class ids 0..k-1 -> a Figure.

    One score per point: a heat map of the score (red below ``threshold``, blue above) and
    the ``threshold`` contour, the decision boundary (None: 0.5 for a model whose output
    is a sigmoid, a probability, else 0 for tanh or linear scores). k scores per point: the region of each predicted class. The grid
    is ``resolution`` x ``resolution`` over the data's box widened by ``padding`` of its
    size; predict runs under ``no_grad()``. The title gives the accuracy on the points.
    """
    if accepts not in ("auto", "array", "list"):
        raise ValueError(f"accepts must be 'auto', 'array' or 'list', got {accepts!r}")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not 2 <= resolution <= 2000:
        raise ValueError(f"resolution must be an int from 2 to 2000, got {resolution!r}")
    if _is_model(predict):  # a scratchgrad model: scored on arrays, many points at once
        if threshold is None:
            from scratchgrad.train import default_threshold

            threshold = default_threshold(predict)
        predict, accepts = model_predictor(predict), "array"
    if threshold is None:
        threshold = 0.0
    if not callable(predict):
        raise TypeError(f"predict must be a callable returning scores, got {type(predict).__name__}")
    points = _points(X)
    labels = _labels(y, len(points))
    classes = sorted(set(labels.tolist()))
    binary_pm = set(classes) <= {-1, 1}
    if not binary_pm and min(classes) < 0:
        raise ValueError(f"y must hold -1/+1 labels or class ids 0, 1, 2, ...; got {classes}")

    point_scores, kind = _call_predict(predict, points, accepts)
    low, high = points.min(axis=0), points.max(axis=0)
    margin = np.where(high > low, (high - low) * padding, 1.0)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    grid_scores, _ = _call_predict(predict, grid, kind)
    if grid_scores.ndim != point_scores.ndim:
        raise ValueError("predict returned one score per point for some inputs and several for others")
    for name, scores in (("the grid", grid_scores), ("the data points", point_scores)):
        bad = ~np.isfinite(scores.reshape(len(scores), -1)).all(axis=1)
        if bad.any():
            where = (grid if name == "the grid" else points)[int(np.flatnonzero(bad)[0])]
            raise ValueError(
                f"predict returned {int(bad.sum())} non-finite scores on {name}, the first at "
                f"({where[0]:.4g}, {where[1]:.4g}): the model has diverged (nan/inf weights?)"
            )

    figure = Figure(figsize=(6.4, 5.2))
    ax = figure.add_subplot()
    if grid_scores.ndim == 1:
        field = grid_scores.reshape(gx.shape)
        lo, hi = float(field.min()), float(field.max())
        norm = TwoSlopeNorm(vcenter=threshold, vmin=lo, vmax=hi) if lo < threshold < hi else None
        # Round level values, so the colour bar reads 0.5, 1.0, ... rather than 0.513, 1.046, ...
        levels = MaxNLocator(nbins=20).tick_values(lo, hi) if hi > lo else np.array([lo - 0.5, hi + 0.5])
        filled = ax.contourf(gx, gy, field, levels=levels, cmap="RdBu", norm=norm, alpha=0.75)
        figure.colorbar(filled, ax=ax, label="model score", ticks=MaxNLocator(nbins=8))
        if lo < threshold < hi:
            ax.contour(gx, gy, field, levels=[threshold], colors="black", linewidths=2)
    else:
        region = np.argmax(grid_scores, axis=1).reshape(gx.shape)
        k = grid_scores.shape[1]
        colors = [f"C{i % 10}" for i in range(k)]
        ax.contourf(gx, gy, region, levels=np.arange(-0.5, k), cmap=ListedColormap(colors), alpha=0.3)
        ax.contour(gx, gy, region, levels=np.arange(0.5, k - 1), colors="black", linewidths=1.5)
    for cls in classes:
        chosen = labels == cls
        if binary_pm:
            color, name = (POSITIVE_COLOR, "y = +1") if cls == 1 else (NEGATIVE_COLOR, "y = -1")
        else:
            color, name = f"C{cls % 10}", f"class {cls}"
        ax.scatter(points[chosen, 0], points[chosen, 1], c=color, edgecolors="black", linewidths=0.6, s=28, label=name)
    predicted = _predicted_classes(point_scores, threshold, binary_pm)
    accuracy = float(np.mean(predicted == labels))
    ax.set_title(f"{title} (accuracy {accuracy:.1%} on these {len(points)} points)" if title else "")
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.legend(loc="best", framealpha=0.8)
    return figure


def plot_decision_boundary(predict: Predict, X: object, y: object, path: PathLike, **options: Any) -> Path:
    """Save `decision_boundary_figure` to ``path`` (.png/.svg/.pdf) and return the path.

    ``options`` are `decision_boundary_figure`'s: ``resolution``, ``title``, ``threshold``,
    ``padding``, ``accepts``.
    """
    _format_of(path)
    return save_figure(decision_boundary_figure(predict, X, y, **options), path)


# ---- activation functions -----------------------------------------------------------------------

# What each activation's derivative reads as, for the legend (one not listed here is labelled
# "f'(x)"); which activations are drawn comes from the registry, scratchgrad.nn.ACTIVATIONS.
DERIVATIVE_FORMULAS = {"tanh": "1 - tanh²(x)", "relu": "1 if x > 0 else 0", "sigmoid": "σ(x) (1 - σ(x))"}


def _curved_activations() -> list[str]:
    """The registry's activations but the identity (a straight line of slope 1 teaches nothing)."""
    from scratchgrad.nn.activations import ACTIVATIONS, is_identity

    return [name for name in ACTIVATIONS if not is_identity(name)]


def activation_curves(name: str, xs: Sequence[float]) -> tuple[list[float], list[float]]:
    """f(x) and f'(x) of the activation ``name`` at each x, the derivative from ``backward()``.

    name: a name of ``scratchgrad.nn.ACTIVATIONS`` ('tanh', 'relu', 'sigmoid', ...); xs: n
    numbers -> two lists of n floats, computed by scratchgrad's own Value ops.
    """
    from scratchgrad.nn.activations import ACTIVATIONS

    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")
    function = ACTIVATIONS[name].scalar
    values, slopes = [], []
    for x in xs:
        v = Value(float(x))
        out = function(v)
        out.backward()
        values.append(float(out.data))
        slopes.append(v.grad)
    return values, slopes


def activations_figure(x_range: tuple[float, float] = (-5.0, 5.0), points: int = 401) -> Figure:
    """Every activation of ``scratchgrad.nn.ACTIVATIONS`` (tanh, relu, sigmoid; not the
    identity) with its derivative, side by side (the tutorial plots tanh).

    x_range: (low, high) -> a Figure of one panel per activation, f solid and f' dashed, both
    computed by scratchgrad's own Value ops and backward().
    """
    from scratchgrad.nn.activations import ACTIVATIONS

    low, high = (float(v) for v in x_range)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"x_range must be two finite numbers, low < high; got {x_range!r}")
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ValueError(f"points must be an int >= 2, got {points!r}")
    names = _curved_activations()
    xs = np.linspace(low, high, points)
    figure = Figure(figsize=(11 * len(names) / 3, 3.6))
    axes = figure.subplots(1, len(names), sharex=True, squeeze=False)[0]
    for ax, name in zip(axes, names):
        values, slopes = activation_curves(name, xs.tolist())
        formula = re.sub(r"\bz\b", "x", ACTIVATIONS[name].formula)  # the registry writes it of z
        f_label = formula if formula.startswith(f"{name}(") else f"{name}(x) = {formula}"
        d_label = DERIVATIVE_FORMULAS.get(name, f"{name}'(x)")
        ax.plot(xs, values, color="#1f77b4", linewidth=2, label=f_label)
        ax.plot(xs, slopes, color="#d62728", linewidth=1.8, linestyle="--", label=f"derivative: {d_label}")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    figure.suptitle("Activation functions and their derivatives")
    figure.tight_layout()
    return figure


def plot_activations(path: PathLike, x_range: tuple[float, float] = (-5.0, 5.0)) -> Path:
    """Save `activations_figure` to ``path`` (.png/.svg/.pdf) and return the path."""
    _format_of(path)
    return save_figure(activations_figure(x_range), path)


# ---- confusion matrix ---------------------------------------------------------------------------


def confusion_matrix_figure(
    matrix: object,
    labels: Sequence[object] | None = None,
    normalize: bool = False,
    title: str = "Confusion matrix",
) -> Figure:
    """A confusion matrix as a heat map with the count (or fraction) in each cell.

    matrix: (k, k) counts, rows = true class, columns = predicted class (scikit-learn's
    convention); labels: k class names (default 0..k-1) -> a Figure.

    ``normalize=True`` divides each row by its total, so the diagonal is each class's
    recall; a class with no samples keeps a row of zeros. The title gives the accuracy.
    """
    try:
        counts = np.array(matrix, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"matrix must be a (k, k) table of numbers: {exc}") from None
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"matrix must be square, (k, k) with k >= 1; got shape {counts.shape}")
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError("matrix entries must be finite counts >= 0")
    k = counts.shape[0]
    names = [str(label) for label in labels] if labels is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(f"labels has {len(names)} names for a {k} x {k} matrix")
    total = counts.sum()
    shown = counts
    if normalize:
        row_sums = counts.sum(axis=1, keepdims=True)
        shown = np.divide(counts, row_sums, out=np.zeros_like(counts), where=row_sums > 0)
    integer = not normalize and bool(np.all(counts == np.round(counts)))
    size = max(4.5, 0.55 * k + 2.5)
    figure = Figure(figsize=(size + 1.0, size))
    ax = figure.add_subplot()
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else max(float(shown.max()), 1e-12))
    figure.colorbar(image, ax=ax, label="fraction of the true class" if normalize else "count")
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 3 else 0, ha="right" if max(map(len, names)) > 3 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 30:  # beyond that the numbers would not fit
        dark = 0.6 * (1 if normalize else float(shown.max()))
        for i in range(k):
            for j in range(k):
                value = shown[i, j]
                text = f"{value:.2f}" if not integer else f"{int(value)}"
                ax.text(j, i, text, ha="center", va="center", fontsize=8 if k > 12 else 10,
                        color="white" if value > dark else "black")
    accuracy = float(np.trace(counts) / total) if total > 0 else float("nan")
    suffix = f" (accuracy {accuracy:.1%})" if total > 0 else " (no samples)"
    ax.set_title((title + suffix) if title else "")
    return figure


def plot_confusion_matrix(
    matrix: object,
    path: PathLike,
    labels: Sequence[object] | None = None,
    normalize: bool = False,
    title: str = "Confusion matrix",
) -> Path:
    """Save `confusion_matrix_figure` to ``path`` (.png/.svg/.pdf) and return the path."""
    _format_of(path)
    return save_figure(confusion_matrix_figure(matrix, labels, normalize, title), path)
