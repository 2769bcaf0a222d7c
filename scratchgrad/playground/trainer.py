"""The playground's trainer: one session's points, features and network, and what the page draws.

A `Trainer` makes the data (a built-in set from its seed, or an uploaded file), splits it
into train and test points, computes the chosen input features, and trains the network
(`model.Network`: the library's MLP and `scratchgrad.train.Trainer`) one minibatch at a
time, the batches drawn by the library's `minibatches`. After an epoch, `snapshot`
reports the losses, the output over the input plane (the decision surface), every
neuron's output over the plane (the small heat maps) and the weights.

All model math is the library's, reached through `scratchgrad.playground.model`; this
module only arranges data and packs what the page needs. Grids travel as bytes
(base64): a value v in [-1, 1] is the byte round((v + 1) * 127), 255 means "not a
number" (a diverged network).
"""

from __future__ import annotations

import base64
import math
import random
from typing import Any, Callable

import numpy as np

from scratchgrad.data import minibatches
from scratchgrad.nn import ModelDescription, build
from scratchgrad.playground import data, model
from scratchgrad.playground.config import ConfigError, PlaygroundConfig

GRID_RESOLUTION = 50  # the output's picture: GRID_RESOLUTION² cells
HEATMAP_STRIDE = 2  # a neuron's picture takes every other cell: 25 x 25
HEATMAP_RESOLUTION = GRID_RESOLUTION // HEATMAP_STRIDE
# A point's whole graph with more values than this is drawn as draw_dot's compact summary.
GRAPH_MAX_VALUES = 500
MAX_WEIGHT = 1000.0  # an edited weight or bias must be within ±MAX_WEIGHT
BATCH_SEED_OFFSET = 2  # the batches' generator: seed + this (the data and the weights use the seed)

Uploaded = tuple[np.ndarray, np.ndarray]


class Trainer:
    """One session's data, features and network: ``train_epoch()``, ``snapshot()``, one point's pass.

    ``Trainer(config, uploaded=None)``: the points (``uploaded`` (X, y) when the data set
    is 'csv'), split into train and test, the network with seeded starting weights and
    its optimizer. An epoch is one pass over the training points in shuffled minibatches
    of ``config.batch_size``, one update each.
    """

    def __init__(self, config: PlaygroundConfig, uploaded: Uploaded | None = None) -> None:
        self.config = config
        self.epoch = 0
        self.steps = 0
        if config.dataset == data.UPLOADED:
            if uploaded is None:
                raise ConfigError("dataset 'csv' needs a CSV file: upload one first")
            points, targets = uploaded
        else:
            points, targets = data.make(config.dataset, config.n_points, config.noise, config.seed)
        (self.x_train, self.y_train), (self.x_test, self.y_test) = data.split(
            points, targets, config.test_fraction, config.seed
        )
        self.f_train = data.features(self.x_train, config.features)
        self.f_test = data.features(self.x_test, config.features)
        self.domain = _square_domain(np.concatenate([self.x_train, self.x_test]))
        self._grid_points = _grid(self.domain, GRID_RESOLUTION)
        self._grid = data.features(self._grid_points, config.features)
        self._batch_order = random.Random(config.seed + BATCH_SEED_OFFSET)
        self.network = self._network(
            model.Network.new_module(config.sizes, config.activations, config.output_activation, config.seed, config.engine)
        )

    def _network(self, module: Any) -> model.Network:
        config = self.config
        return model.Network(
            module,
            loss=config.loss,
            optimizer=config.optimizer,
            learning_rate=config.learning_rate,
            regularization=config.regularization,
            rate=config.regularization_rate,
        )

    # ---- training ---------------------------------------------------------------------------

    def train_epoch(self, should_stop: Callable[[], bool] | None = None) -> bool:
        """One pass over the training points in shuffled minibatches (one update each).

        ``should_stop`` is asked before every batch; when it says True the epoch is
        abandoned and False returned (the session was closed). A loss that stops being a
        number raises the library's `TrainingDiverged` (an ArithmeticError).
        """
        batches = minibatches(self.f_train, self.y_train, self.config.batch_size, seed=self._batch_order)
        for x, y in batches:
            if should_stop is not None and should_stop():
                return False
            self.network.step(x, y)
            self.steps += 1
        self.epoch += 1
        return True

    def model_description(self) -> ModelDescription:
        """Copies of the current weights, with each layer's activation."""
        return self.network.description()

    def layers(self) -> tuple[Any, ...]:
        """The current layers (`DenseLayer`: weight, bias, activation), input to output."""
        return self.model_description().layers

    def outputs(self, features: np.ndarray) -> np.ndarray:
        """The network's outputs (n,) for feature rows (n, number of features)."""
        return model.layer_outputs(self.network.tensor_module(), features)[-1][:, 0]

    def set_parameter(self, layer: int, neuron: int, index: int | None, value: float) -> None:
        """Set weight ``index`` (None: the bias) of ``neuron`` in ``layer`` (0 is the first hidden layer)."""
        sizes = self.config.sizes
        if not 0 <= layer < len(sizes) - 1:
            raise IndexError(f"layer must be in 0..{len(sizes) - 2}, got {layer}")
        if not 0 <= neuron < sizes[layer + 1]:
            raise IndexError(f"layer {layer} has neurons 0..{sizes[layer + 1] - 1}, got {neuron}")
        if index is not None and not 0 <= index < sizes[layer]:
            raise IndexError(f"a neuron of layer {layer} has inputs 0..{sizes[layer] - 1}, got {index}")
        if not (math.isfinite(value) and abs(value) <= MAX_WEIGHT):
            raise ValueError(f"a weight must be a finite number within \u00b1{MAX_WEIGHT:g}, got {value!r}")
        self.network.set_parameter(layer, neuron, index, float(value))

    def load_description(self, description: ModelDescription) -> None:
        """Start from these weights (a loaded model file; its shape must match the settings)."""
        config = self.config
        shape = [(layer.weight.shape, layer.activation) for layer in description.layers]
        sizes = config.sizes
        expected = [((n_out, n_in), name) for n_in, n_out, name in zip(sizes[:-1], sizes[1:], config.layer_activations)]
        if shape != expected:
            raise ValueError("the model's layers do not match the settings")
        self.network = self._network(build(description, config.engine))
        self.epoch = 0
        self.steps = 0

    # ---- what the page draws ----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """After an epoch: losses, accuracies, the output's picture, every neuron's, the weights.

        ``boundary``: GRID_RESOLUTION² bytes (base64), row by row from the top (largest x2),
        each row from the smallest x1: the output on the colour scale [-1, 1] (for
        classification 2 P(+1) - 1). ``heatmaps``: HEATMAP_RESOLUTION² bytes per neuron,
        hidden layers then the output, each scaled by its ``heatmap_scales`` entry (the
        largest |value|, at least 1). Losses are None once they are not finite.
        """
        config = self.config
        n_train, n_test = len(self.f_train), len(self.f_test)
        description = self.model_description()
        network = self.network.tensor_module()
        per_layer = model.layer_outputs(network, np.concatenate([self.f_train, self.f_test, self._grid]))
        outputs = per_layer[-1][:, 0]
        train_out, test_out = outputs[:n_train], outputs[n_train : n_train + n_test]
        grid_out = [values[n_train + n_test :] for values in per_layer]
        with np.errstate(over="ignore", invalid="ignore"):
            boundary = model.confidence(config.problem, config.output_activation, grid_out[-1][:, 0])
            maps, scales = [], []
            for layer, values in enumerate(grid_out):
                last = layer == len(grid_out) - 1
                for j in range(values.shape[1]):
                    picture = boundary if last else values[:, j]
                    small = picture.reshape(GRID_RESOLUTION, GRID_RESOLUTION)[::HEATMAP_STRIDE, ::HEATMAP_STRIDE]
                    scale = _scale_of(small)
                    maps.append(small / scale)
                    scales.append(scale)
        classification = config.problem == "classification"
        return {
            "epoch": self.epoch,
            "steps": self.steps,
            "train_loss": _finite_or_none(model.loss_value(config.loss, train_out, self.y_train)),
            "test_loss": _finite_or_none(model.loss_value(config.loss, test_out, self.y_test)),
            "train_accuracy": model.accuracy_of(network, self.f_train, self.y_train) if classification else None,
            "test_accuracy": model.accuracy_of(network, self.f_test, self.y_test) if classification else None,
            "boundary": encode_grid(boundary),
            "heatmaps": encode_grid(np.concatenate([m.ravel() for m in maps])),
            "heatmap_scales": [round(s, 4) for s in scales],
            "network": _network_json(description),
        }

    def describe(self) -> dict[str, Any]:
        """What does not change while training: settings, points, shape, and the picture of
        every feature the page offers (selected or not), in `data.FEATURES` order."""
        config = self.config
        with np.errstate(over="ignore", invalid="ignore"):
            feature_maps, feature_scales = [], []
            for column in data.features(self._grid_points, tuple(data.FEATURES)).T:
                small = column.reshape(GRID_RESOLUTION, GRID_RESOLUTION)[::HEATMAP_STRIDE, ::HEATMAP_STRIDE]
                scale = _scale_of(small)
                feature_maps.append(small.ravel() / scale)
                feature_scales.append(round(scale, 4))
        return {
            "config": config.to_json(),
            "data": {
                "train": {"x": self.x_train.tolist(), "y": self.y_train.tolist()},
                "test": {"x": self.x_test.tolist(), "y": self.y_test.tolist()},
            },
            "domain": list(self.domain),
            "resolution": GRID_RESOLUTION,
            "heatmap_resolution": HEATMAP_RESOLUTION,
            "layer_sizes": list(config.sizes),
            "layer_activations": list(config.layer_activations),
            "n_parameters": config.n_parameters,
            "output_activation": config.output_activation,
            "engine_label": self.network.engine_label,
            "feature_maps": encode_grid(np.concatenate(feature_maps)),
            "feature_scales": feature_scales,
        }

    # ---- one point ----------------------------------------------------------------------------

    def point(self, split: str, index: int) -> tuple[list[float], float]:
        """One data point (x1, x2) and its label by split ('train' or 'test') and index."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        if not 0 <= index < len(x):
            raise IndexError(f"{split} point index must be in 0..{len(x) - 1}, got {index}")
        return x[index].tolist(), float(y[index])

    def _point_inputs(self, split: str, index: int) -> tuple[list[float], float, list[float], list[str]]:
        x, label = self.point(split, index)
        values = data.features(np.array([x]), self.config.features)[0].tolist()
        return x, label, values, [data.FEATURES[name][0] for name in self.config.features]

    def prepare_trace(self, split: str, index: int) -> Callable[[], dict[str, Any]]:
        """Copy what one point's forward and backward pass needs now; the returned function runs it."""
        x, label, values, names = self._point_inputs(split, index)
        description, epoch, loss = self.model_description(), self.epoch, self.config.loss

        def run() -> dict[str, Any]:
            traced = model.trace_point(description, values, label, loss, names)
            return {"split": split, "index": index, "epoch": epoch, "x": x, "label": label,
                    "feature_names": names, "loss_name": loss, **traced}

        return run

    def prepare_neuron_graph(self, split: str, index: int, layer: int, neuron: int) -> Callable[[], dict[str, Any]]:
        """Copy what the picture of one neuron of one point's pass needs; the function draws it."""
        sizes = self.config.sizes
        if not 0 <= layer < len(sizes) - 1:
            raise IndexError(f"layer must be in 0..{len(sizes) - 2}, got {layer}")
        if not 0 <= neuron < sizes[layer + 1]:
            raise IndexError(f"layer {layer} has neurons 0..{sizes[layer + 1] - 1}, got {neuron}")
        x, label, values, names = self._point_inputs(split, index)
        description, epoch, loss = self.model_description(), self.epoch, self.config.loss

        def draw() -> dict[str, Any]:
            drawn = model.neuron_graph_svg(description, values, label, loss, names, layer, neuron)
            return {"split": split, "index": index, "epoch": epoch, "layer": layer, "neuron": neuron, **drawn}

        return draw

    def prepare_point_graph(self, split: str, index: int) -> Callable[[], dict[str, Any]]:
        """Copy what the whole graph of one point needs now; the returned function draws it."""
        x, label, values, names = self._point_inputs(split, index)
        description, epoch, loss = self.model_description(), self.epoch, self.config.loss

        def draw() -> dict[str, Any]:
            drawn = model.point_graph_svg(description, values, label, loss, names, GRAPH_MAX_VALUES)
            return {"split": split, "index": index, "epoch": epoch, "x": x, "label": label, **drawn}

        return draw


def encode_grid(values: np.ndarray) -> str:
    """Values in [-1, 1] as base64 bytes round((v + 1) * 127); 255 for NaN or infinity."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    finite = np.isfinite(flat)
    codes = np.full(flat.shape, 255, dtype=np.uint8)
    codes[finite] = np.rint((np.clip(flat[finite], -1.0, 1.0) + 1.0) * 127.0).astype(np.uint8)
    return base64.b64encode(codes.tobytes()).decode("ascii")


def _scale_of(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return max(1.0, float(np.abs(finite).max())) if finite.size else 1.0


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _network_json(description: ModelDescription) -> dict[str, Any]:
    return {
        "weights": [_rounded(layer.weight) for layer in description.layers],
        "biases": [_rounded(layer.bias) for layer in description.layers],
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
