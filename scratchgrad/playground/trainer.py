"""The playground's trainer: a session's data, model and optimizer, and what the page draws.

The model trains on the engine the page chose: the tensor engine (`scratchgrad.tensor_nn`,
numpy arrays, fast) by default, or the seed's scalar `Value` engine (`scratchgrad.nn.MLP`)
for small problems. Both start from the same weights for the same seed and take the
same minibatches in the same order, so they follow the same path (to rounding).

What the page sees is computed from a copy of the weights with plain numpy
(`forward`): the loss and accuracy on the train and test points, the decision
boundary on a grid, and the weights themselves. The computation graph of one point
is the seed's picture: a scalar `MLP` holding a copy of the current weights, whatever
engine trains, run on that point, its loss's ``backward()``, drawn by ``draw_dot``.

Network: 2 inputs -> hidden layers (``activation``) -> 1 output. The output is a raw
score for the hinge and binary cross-entropy losses and tanh(score) for mean squared
error (labels are -1/+1); a point is classified +1 when the output is > 0.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from scratchgrad import data as datasets
from scratchgrad import losses, optim
from scratchgrad.engine import Value
from scratchgrad.nn import MLP
from scratchgrad.playground.config import PlaygroundConfig

Weights = list[tuple[np.ndarray, np.ndarray]]  # per layer: W (n_out, n_in), b (n_out,)

GRID_RESOLUTION = 50
# A point's graph with more values than this is drawn as draw_dot's compact summary.
GRAPH_MAX_VALUES = 500
MOMENTUM = 0.9

_GENERATORS: dict[str, Callable[..., tuple[list[list[float]], list[float]]]] = {
    "moons": datasets.make_moons,
    "circles": datasets.make_circles,
    "spirals": datasets.make_spirals,
    "xor": datasets.make_xor,
}


def output_activation(loss: str) -> str:
    """The last layer's activation for a loss: tanh for mse (labels are ±1), else a raw score."""
    return "tanh" if loss == "mse" else "linear"


def initial_weights(config: PlaygroundConfig) -> Weights:
    """Seeded starting weights: Glorot-uniform (He-uniform for relu) weights, zero biases.

    Drawn with numpy from ``config.seed``, so both engines start from the same numbers.
    """
    rng = np.random.default_rng([config.seed, 1])
    sizes = config.sizes
    weights: Weights = []
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = layer == len(sizes) - 2
        if config.activation == "relu" and not last:
            bound = math.sqrt(6.0 / n_in)
        else:
            bound = math.sqrt(6.0 / (n_in + n_out))
        weights.append((rng.uniform(-bound, bound, size=(n_out, n_in)), np.zeros(n_out)))
    return weights


# ---- numpy evaluation (what the page draws) ---------------------------------------------------


def _activate(z: np.ndarray, name: str) -> np.ndarray:
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "sigmoid":
        # 1 / (1 + e^-z) without overflow for very negative z.
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return z


def forward(weights: Weights, activation: str, last_activation: str, x: np.ndarray) -> np.ndarray:
    """The network's outputs for points x: (n, 2) -> (n,). h = act(h @ W.T + b), layer by layer."""
    h = x
    for layer, (w, b) in enumerate(weights):
        name = last_activation if layer == len(weights) - 1 else activation
        h = _activate(h @ w.T + b, name)
    return h[:, 0]


def loss_value(loss: str, outputs: np.ndarray, labels: np.ndarray) -> float:
    """The mean loss of outputs against ±1 labels, as scratchgrad.losses defines it."""
    if loss == "hinge":
        return float(np.mean(np.maximum(0.0, 1.0 - labels * outputs)))
    if loss == "mse":
        return float(np.mean((outputs - labels) ** 2))
    targets = (labels + 1.0) / 2.0  # bce: softplus(z) - z t, t in {0, 1}
    return float(np.mean(np.logaddexp(0.0, outputs) - outputs * targets))


def confidence(loss: str, outputs: np.ndarray) -> np.ndarray:
    """Outputs mapped to [-1, 1] for the heat map: -1 sure negative, +1 sure positive."""
    if loss == "bce":
        return np.tanh(outputs / 2.0)  # 2 sigmoid(z) - 1
    return np.clip(outputs, -1.0, 1.0)


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


# ---- the engines --------------------------------------------------------------------------


class _ScalarNet:
    """The seed's engine: an `MLP` of `Value`s, one graph per minibatch."""

    label = "scalar engine (Value)"

    def __init__(self, config: PlaygroundConfig, weights: Weights) -> None:
        self.config = config
        self.model = MLP(
            2, [*config.hidden, 1], activation=config.activation,
            output_activation=output_activation(config.loss), seed=0,
        )
        _load_scalar(self.model, weights)
        self.optimizer = _make_optimizer(config, self.model.parameters())

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        model = self.model
        outputs: list[Value] = [model(point) for point in x.tolist()]  # type: ignore[misc]
        loss = _scalar_loss(self.config.loss, outputs, y.tolist())
        model.zero_grad()
        loss.backward()
        # The update only rebinds .data (no graph), so it needs no no_grad(): that switch is
        # process-wide and would stop other sessions' threads from recording their graphs.
        self.optimizer.step()

    def weights(self) -> Weights:
        return [
            (
                np.array([[w.data for w in neuron.w] for neuron in layer.neurons], dtype=np.float64),
                np.array([neuron.b.data for neuron in layer.neurons], dtype=np.float64),
            )
            for layer in self.model.layers
        ]


def _load_scalar(model: MLP, weights: Weights) -> None:
    for layer, (w, b) in zip(model.layers, weights):
        for j, neuron in enumerate(layer.neurons):
            for i, value in enumerate(neuron.w):
                value.data = float(w[j, i])
            neuron.b.data = float(b[j])


def _scalar_loss(loss: str, outputs: Sequence[Value], labels: Sequence[float]) -> Value:
    if loss == "hinge":
        return losses.hinge_loss(outputs, labels)
    if loss == "mse":
        return losses.mean_squared_error(outputs, labels)
    return losses.binary_cross_entropy_with_logits(outputs, [(y + 1.0) / 2.0 for y in labels])


def _make_optimizer(config: PlaygroundConfig, parameters: list[Any]) -> optim.Optimizer:
    if config.optimizer == "adam":
        return optim.Adam(parameters, lr=config.learning_rate)
    momentum = MOMENTUM if config.optimizer == "momentum" else 0.0
    return optim.SGD(parameters, lr=config.learning_rate, momentum=momentum)


class _TensorNet:
    """The tensor engine: a `scratchgrad.tensor_nn.mlp` on numpy arrays, one graph per minibatch."""

    label = "tensor engine (numpy)"

    def __init__(self, config: PlaygroundConfig, weights: Weights) -> None:
        from scratchgrad import tensor, tensor_nn

        self._tensor = tensor
        self.config = config
        last = output_activation(config.loss)
        self.model = tensor_nn.mlp(
            2, list(config.hidden), 1, activation=config.activation,
            output_activation=None if last == "linear" else last, seed=0,
        )
        self.linears = [layer for layer in self.model if isinstance(layer, tensor_nn.Linear)]
        names = [name for name, _ in self.model.named_parameters()]
        arrays = [array for w, b in weights for array in (w, b)]
        self.model.load_state_dict(dict(zip(names, arrays)))
        self.optimizer = _make_optimizer(config, self.model.parameters())
        self._loss = {
            "hinge": tensor_nn.hinge_loss,
            "mse": tensor_nn.mse_loss,
            "bce": tensor_nn.binary_cross_entropy_with_logits,
        }[config.loss]

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        outputs = self.model(self._tensor.Tensor.from_numpy(x))  # (batch, 1)
        targets = (y + 1.0) / 2.0 if self.config.loss == "bce" else y
        loss = self._loss(outputs, targets)
        self.model.zero_grad()
        loss.backward()
        self.optimizer.step()  # rebinds .data only; see _ScalarNet.step

    def weights(self) -> Weights:
        return [(linear.weight.data.copy(), linear.bias.data.copy()) for linear in self.linears]  # type: ignore[union-attr]


# ---- the trainer --------------------------------------------------------------------------


class Trainer:
    """One session's data set, model and optimizer: ``train_epoch()``, ``snapshot()``, graphs.

    ``Trainer(config)``: the data (``config.n_points`` points of ``config.dataset``, split
    into train and test), a network 2 -> hidden -> 1 on ``config.engine`` with seeded
    starting weights, and the optimizer. An epoch is one pass over the training points
    in shuffled minibatches of ``config.batch_size``.
    """

    def __init__(self, config: PlaygroundConfig) -> None:
        self.config = config
        self.epoch = 0
        self.steps = 0
        make = _GENERATORS[config.dataset]
        x, y = make(n_samples=config.n_points, noise=config.noise, seed=config.seed)
        x_train, x_test, y_train, y_test = datasets.train_test_split(
            x, y, test_fraction=config.n_test / config.n_points, seed=config.seed
        )
        self.x_train = np.array(x_train, dtype=np.float64)
        self.y_train = np.array(y_train, dtype=np.float64)
        self.x_test = np.array(x_test, dtype=np.float64)
        self.y_test = np.array(y_test, dtype=np.float64)
        self._order = np.random.default_rng([config.seed, 2])
        self.domain = _square_domain(np.concatenate([self.x_train, self.x_test]))
        self._grid = _grid(self.domain, GRID_RESOLUTION)
        self._last = output_activation(config.loss)
        weights = initial_weights(config)
        self.net: _ScalarNet | _TensorNet = (
            _ScalarNet(config, weights) if config.engine == "scalar" else _TensorNet(config, weights)
        )

    def train_epoch(self) -> None:
        """One pass over the training points in shuffled minibatches (one optimizer step each)."""
        order = self._order.permutation(len(self.x_train))
        size = self.config.batch_size
        for start in range(0, len(order), size):
            batch = order[start : start + size]
            self.net.step(self.x_train[batch], self.y_train[batch])
            self.steps += 1
        self.epoch += 1

    def weights(self) -> Weights:
        """Copies of the current weights: per layer W (n_out, n_in) and b (n_out,)."""
        return self.net.weights()

    def outputs(self, x: np.ndarray, weights: Weights | None = None) -> np.ndarray:
        """The network's outputs for points x (n, 2) -> (n,), computed with numpy."""
        weights = self.weights() if weights is None else weights
        with np.errstate(over="ignore", invalid="ignore"):
            return forward(weights, self.config.activation, self._last, x)

    def snapshot(self) -> dict[str, Any]:
        """What the page draws after an epoch: losses, accuracies, the boundary grid, the weights.

        ``boundary`` is ``GRID_RESOLUTION``² confidences in [-1, 1], row by row from the
        top (largest x1) down, each row from the smallest x0; None where not finite.
        Losses are None once they are not finite (a diverged model).
        """
        weights = self.weights()
        loss = self.config.loss
        train_out = self.outputs(self.x_train, weights)
        test_out = self.outputs(self.x_test, weights)
        with np.errstate(over="ignore", invalid="ignore"):
            grid = confidence(loss, self.outputs(self._grid, weights))
            train_loss = loss_value(loss, train_out, self.y_train)
            test_loss = loss_value(loss, test_out, self.y_test)
        grid = np.round(grid, 3)
        boundary: list[float | None] = grid.tolist()
        if not np.isfinite(grid).all():
            boundary = [v if math.isfinite(v) else None for v in boundary]  # type: ignore[arg-type]
        return {
            "epoch": self.epoch,
            "steps": self.steps,
            "train_loss": _finite_or_none(train_loss),
            "test_loss": _finite_or_none(test_loss),
            "train_accuracy": float(np.mean(np.where(train_out > 0, 1.0, -1.0) == self.y_train)),
            "test_accuracy": float(np.mean(np.where(test_out > 0, 1.0, -1.0) == self.y_test)),
            "boundary": boundary,
            "network": _network_json(weights),
        }

    def describe(self) -> dict[str, Any]:
        """What does not change while training: settings, data points, grid and network shape."""
        config = self.config
        return {
            "config": config.to_json(),
            "data": {
                "train": {"x": self.x_train.tolist(), "y": self.y_train.tolist()},
                "test": {"x": self.x_test.tolist(), "y": self.y_test.tolist()},
            },
            "domain": list(self.domain),
            "resolution": GRID_RESOLUTION,
            "layer_sizes": list(config.sizes),
            "n_parameters": config.n_parameters,
            "output_activation": self._last,
            "engine_label": self.net.label,
        }

    def point(self, split: str, index: int) -> tuple[list[float], float]:
        """One data point (x, label) by split ('train' or 'test') and index."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        if not 0 <= index < len(x):
            raise IndexError(f"{split} point index must be in 0..{len(x) - 1}, got {index}")
        return x[index].tolist(), float(y[index])

    def prepare_point_graph(self, split: str, index: int) -> Callable[[], dict[str, Any]]:
        """Copy what the graph of one point needs now; the returned function draws it."""
        x, label = self.point(split, index)
        weights, epoch, config = self.weights(), self.epoch, self.config

        def render() -> dict[str, Any]:
            return point_graph(config, weights, x, label, split=split, index=index, epoch=epoch)

        return render


def point_graph(
    config: PlaygroundConfig,
    weights: Weights,
    x: Sequence[float],
    label: float,
    *,
    split: str = "train",
    index: int = 0,
    epoch: int = 0,
) -> dict[str, Any]:
    """The seed's picture of one point: a scalar MLP with these weights, its loss, backward, draw_dot.

    Leaves are labelled ``x0, x1`` (the point), ``w{layer}.{neuron}.{input}`` and
    ``b{layer}.{neuron}``; ``z{layer}.{neuron}`` is a neuron's weighted sum and
    ``h{layer}.{neuron}`` its activation; ``score`` the output and ``loss`` the loss.
    Returns the SVG and the numbers shown with it.
    """
    from scratchgrad import viz

    model = MLP(
        2, [*config.hidden, 1], activation=config.activation,
        output_activation=output_activation(config.loss), seed=0,
    )
    _load_scalar(model, weights)
    for number, layer in enumerate(model.layers, start=1):
        for j, neuron in enumerate(layer.neurons):
            for i, w in enumerate(neuron.w):
                w.label = f"w{number}.{j}.{i}"
            neuron.b.label = f"b{number}.{j}"
    h: list[Value] = [Value(float(x[0]), label="x0"), Value(float(x[1]), label="x1")]
    for number, layer in enumerate(model.layers, start=1):
        outs = layer(h)
        h = [outs] if isinstance(outs, Value) else list(outs)
        for j, out in enumerate(h):
            if out._op != "w·x+b":  # an activation: its input is the weighted sum
                out._prev[0].label = f"z{number}.{j}"
            out.label = f"h{number}.{j}"
    score = h[0]
    score.label = "score"
    loss = _scalar_loss(config.loss, [score], [label])
    loss.label = "loss"
    loss.backward()
    nodes, _ = viz.trace(loss)
    compact = len(nodes) > GRAPH_MAX_VALUES
    drawing = viz.draw_dot(loss, format="svg", compact=compact, max_nodes=max(GRAPH_MAX_VALUES, len(nodes)))
    try:
        svg = drawing.pipe(format="svg").decode("utf-8")
    except Exception as exc:  # graphviz.ExecutableNotFound: dot is not installed
        if type(exc).__name__ == "ExecutableNotFound":
            raise GraphUnavailableError(
                "cannot draw the graph: Graphviz's `dot` program was not found. " + viz.INSTALL_HINT
            ) from None
        raise
    return {
        "split": split,
        "index": index,
        "epoch": epoch,
        "x": [float(x[0]), float(x[1])],
        "label": label,
        "score": score.data,
        "loss": loss.data,
        "values": len(nodes),
        "compact": compact,
        "svg": svg,
    }


class GraphUnavailableError(RuntimeError):
    """The graph could not be drawn on this machine (Graphviz's dot is missing)."""


def _network_json(weights: Weights) -> dict[str, Any]:
    return {
        "weights": [_rounded(w) for w, _ in weights],
        "biases": [_rounded(b) for _, b in weights],
    }


def _rounded(array: np.ndarray) -> Any:
    clean = np.nan_to_num(np.round(array, 4), nan=0.0, posinf=1e9, neginf=-1e9)
    return clean.tolist()


def _square_domain(points: np.ndarray) -> tuple[float, float, float, float]:
    """A square (xmin, xmax, ymin, ymax) around the points with a margin, so shapes are not stretched."""
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (low + high) / 2.0
    half = max(float((high - low).max()) / 2.0 * 1.15, 0.5)
    return (
        float(centre[0] - half), float(centre[0] + half),
        float(centre[1] - half), float(centre[1] + half),
    )


def _grid(domain: tuple[float, float, float, float], n: int) -> np.ndarray:
    """Cell centres of an n x n grid over the domain, rows from the top: (n*n, 2)."""
    xmin, xmax, ymin, ymax = domain
    xs = xmin + (np.arange(n) + 0.5) * (xmax - xmin) / n
    ys = ymax - (np.arange(n) + 0.5) * (ymax - ymin) / n
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])
