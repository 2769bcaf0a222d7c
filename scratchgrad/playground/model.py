"""Every number the playground computes about a network, in one module: its seam to the library.

The trainer, the sessions, the server and the page do no model math of their own: they
call this module. It is built on scratchgrad's public pieces as they are today: the
scalar `Value` engine's `nn.Layer` (the tutorial's neurons), the tensor engine's
`tensor_nn.Linear` / `Sequential` / activation modules and tensor losses, the scalar
losses of `scratchgrad.losses`, `scratchgrad.optim`'s SGD and Adam, `viz.draw_dot` and the
library's model files (`nn.MLP.save` JSON, `tensor_nn` ``.npz``, `export.to_onnx_model`).
When the library's `Trainer`, registries (LOSSES, OPTIMIZERS, ACTIVATIONS) and model
description (`nn.describe` / `build`) land, this module is what changes.

A network is described by `DenseLayer`s: ``weight`` (out, in), ``bias`` (out,) and the
activation name, input to output. The output layer has one neuron: a raw score for the
cross-entropy and hinge losses and for regression, tanh(score) for mean squared error on
±1 labels.
"""

from __future__ import annotations

import io
import math
import os
import random
import tempfile
import zipfile
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from scratchgrad import losses as scalar_losses
from scratchgrad import nn, optim, tensor_nn
from scratchgrad.engine import Value, sum_values
from scratchgrad.tensor import Tensor

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
ACTIVATION_FORMULAS = {"tanh": "tanh(z)", "relu": "max(0, z)", "sigmoid": "1 / (1 + e^\u2212z)", "linear": "z"}
LOSSES = ("bce", "hinge", "mse")
LOSS_LABELS = {"bce": "cross-entropy", "hinge": "hinge", "mse": "mean squared error"}
# One point's loss, for an output s (score) or o (tanh output) and a label y (±1 or a target).
LOSS_FORMULAS = {
    "bce": "log(1 + e^(\u2212y\u00b7s))",
    "hinge": "max(0, 1 \u2212 y\u00b7s)",
    "mse": "(o \u2212 y)\u00b2",
}
OPTIMIZERS = ("sgd", "momentum", "adam")
OPTIMIZER_LABELS = {"sgd": "SGD", "momentum": "SGD + momentum 0.9", "adam": "Adam"}
MOMENTUM = 0.9
REGULARIZATIONS = ("none", "l1", "l2")
ENGINES = ("tensor", "scalar")
ENGINE_LABELS = {"tensor": "tensor engine (numpy)", "scalar": "scalar engine (Value)"}
MODEL_FORMATS = ("json", "npz", "onnx")
# A model file larger than this once unpacked is refused before it is read.
MAX_MODEL_FILE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class DenseLayer:
    """One layer: activation(weight @ x + bias); weight (out, in), bias (out,)."""

    weight: np.ndarray
    bias: np.ndarray
    activation: str


Layers = tuple[DenseLayer, ...]


class ModelFileUnusable(ValueError):
    """A model file the playground cannot load or write; the message says why."""


def output_activation(problem: str, loss: str) -> str:
    """The output neuron's activation: tanh for mean squared error on ±1 labels, else none."""
    return "tanh" if problem == "classification" and loss == "mse" else "linear"


def initial_layers(sizes: Sequence[int], activations: Sequence[str], seed: int) -> Layers:
    """Seeded starting weights for a network of ``sizes`` (input to output), zero biases.

    ``activations`` names each layer's activation (len(sizes) - 1 of them). Weights are
    Glorot-uniform, He-uniform before a relu, so deep networks start trainable.
    """
    rng = np.random.default_rng([seed, 1])
    layers = []
    for (n_in, n_out), activation in zip(zip(sizes[:-1], sizes[1:]), activations):
        bound = math.sqrt(6.0 / n_in) if activation == "relu" else math.sqrt(6.0 / (n_in + n_out))
        layers.append(DenseLayer(rng.uniform(-bound, bound, size=(n_out, n_in)), np.zeros(n_out), activation))
    return tuple(layers)


# ---- the two engines -------------------------------------------------------------------------


class _ScalarEngine:
    """The tutorial's engine: one `nn.Layer` of `Value` neurons per layer; a graph per batch."""

    def __init__(self, layers: Layers) -> None:
        self.layers = [
            nn.Layer(layer.weight.shape[1], layer.weight.shape[0], layer.activation, rng=random.Random(0))
            for layer in layers
        ]
        for module, layer in zip(self.layers, layers):
            _load_scalar_layer(module, layer)

    def parameters(self) -> list[Any]:
        return [p for layer in self.layers for p in layer.parameters()]

    def weights(self) -> list[Value]:
        return [w for layer in self.layers for neuron in layer.neurons for w in neuron.w]

    def loss(self, name: str, x: np.ndarray, y: np.ndarray) -> Value:
        outputs = [_scalar_forward(self.layers, row)[-1][0] for row in x.tolist()]
        return _scalar_loss(name, outputs, y.tolist())

    def penalty(self, kind: str, rate: float) -> Value:
        weights = self.weights()
        if kind == "l2":
            return scalar_losses.l2_penalty(weights, rate)
        return rate * sum_values([w.relu() + (-w).relu() for w in weights])  # |w|

    def arrays(self) -> Layers:
        return tuple(
            DenseLayer(
                np.array([[w.data for w in neuron.w] for neuron in layer.neurons], dtype=np.float64),
                np.array([neuron.b.data for neuron in layer.neurons], dtype=np.float64),
                layer.activation,
            )
            for layer in self.layers
        )

    def set_parameter(self, layer: int, neuron: int, index: int | None, value: float) -> None:
        unit = self.layers[layer].neurons[neuron]
        (unit.b if index is None else unit.w[index]).data = value


def _load_scalar_layer(module: nn.Layer, layer: DenseLayer) -> None:
    for j, neuron in enumerate(module.neurons):
        for i, w in enumerate(neuron.w):
            w.data = float(layer.weight[j, i])
        neuron.b.data = float(layer.bias[j])


def _scalar_forward(layers: Sequence[nn.Layer], inputs: Sequence[Any]) -> list[list[Value]]:
    """Each layer's outputs for one point, as lists of Values (a 1-neuron layer too)."""
    outputs: list[list[Value]] = []
    h: Any = list(inputs)
    for layer in layers:
        out = layer(h)
        h = [out] if isinstance(out, Value) else list(out)
        outputs.append(h)
    return outputs


def _scalar_loss(name: str, outputs: Sequence[Value], labels: Sequence[float]) -> Value:
    if name == "hinge":
        return scalar_losses.hinge_loss(outputs, labels)
    if name == "mse":
        return scalar_losses.mean_squared_error(outputs, labels)
    return scalar_losses.binary_cross_entropy_with_logits(outputs, [(y + 1.0) / 2.0 for y in labels])


class _TensorEngine:
    """The tensor engine: a `tensor_nn.Sequential` of Linear and activation modules."""

    def __init__(self, layers: Layers) -> None:
        modules: list[tensor_nn.Module] = []
        self.linears: list[tensor_nn.Linear] = []
        self.activations: list[str] = []
        for layer in layers:
            linear = tensor_nn.Linear(layer.weight.shape[1], layer.weight.shape[0], seed=0)
            linear.load_state_dict({"weight": layer.weight, "bias": layer.bias})
            modules.append(linear)
            self.linears.append(linear)
            self.activations.append(layer.activation)
            if layer.activation != "linear":
                modules.append(tensor_nn.ACTIVATIONS[layer.activation]())
        self.model = tensor_nn.Sequential(*modules)
        # A layer's output is read after its activation module, or after its Linear when it has none.
        self._layer_ends = [
            i for i in range(len(modules)) if i + 1 == len(modules) or isinstance(modules[i + 1], tensor_nn.Linear)
        ]

    def parameters(self) -> list[Any]:
        return self.model.parameters()

    def loss(self, name: str, x: np.ndarray, y: np.ndarray) -> Tensor:
        outputs = self.model(Tensor.from_numpy(x))  # (batch, 1)
        targets = (y + 1.0) / 2.0 if name == "bce" else y
        return tensor_nn.LOSSES[name](outputs, targets)

    def penalty(self, kind: str, rate: float) -> Tensor:
        terms = [(linear.weight * linear.weight if kind == "l2" else linear.weight.abs()).sum() for linear in self.linears]
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total * rate

    def layer_outputs(self, x: np.ndarray) -> list[np.ndarray]:
        """Each layer's outputs (after its activation) for inputs x (n, nin)."""
        outputs = []
        h = Tensor.from_numpy(x)
        for i, module in enumerate(self.model):
            h = module(h)
            if i in self._layer_ends:
                outputs.append(h.data)
        return outputs

    def arrays(self) -> Layers:
        return tuple(
            DenseLayer(linear.weight.data.copy(), linear.bias.data.copy(), activation)  # type: ignore[union-attr]
            for linear, activation in zip(self.linears, self.activations)
        )

    def set_parameter(self, layer: int, neuron: int, index: int | None, value: float) -> None:
        linear = self.linears[layer]
        target = linear.bias if index is None else linear.weight
        array = target.data.copy()  # type: ignore[union-attr]
        array[(neuron,) if index is None else (neuron, index)] = value
        target.data = array  # type: ignore[union-attr]


class Network:
    """A network being trained on one engine: ``step(x, y)`` is one update on one batch.

    ``loss`` ('bce' cross-entropy on ±1 labels, 'hinge', 'mse'), ``optimizer`` ('sgd',
    'momentum', 'adam') with ``learning_rate``, and ``regularization`` ('none', 'l1' adds
    rate·Σ|w|, 'l2' adds rate·Σw², over the weights, not the biases) to each batch's loss.
    """

    def __init__(
        self,
        layers: Layers,
        *,
        engine: str = "tensor",
        loss: str = "bce",
        optimizer: str = "sgd",
        learning_rate: float = 0.1,
        regularization: str = "none",
        rate: float = 0.0,
    ) -> None:
        self.engine_name = engine
        self.engine: _ScalarEngine | _TensorEngine = _ScalarEngine(layers) if engine == "scalar" else _TensorEngine(layers)
        self.loss_name = loss
        self.regularization = regularization
        self.rate = rate
        parameters = self.engine.parameters()
        if optimizer == "adam":
            self.optimizer: optim.Optimizer = optim.Adam(parameters, lr=learning_rate)
        else:
            momentum = MOMENTUM if optimizer == "momentum" else 0.0
            self.optimizer = optim.SGD(parameters, lr=learning_rate, momentum=momentum)

    @property
    def engine_label(self) -> str:
        return ENGINE_LABELS[self.engine_name]

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        """One update from the batch x (n, nin), y (n,): loss (+ penalty), backward, optimizer step."""
        total: Any = self.engine.loss(self.loss_name, x, y)
        if self.regularization != "none" and self.rate > 0:
            total = total + self.engine.penalty(self.regularization, self.rate)
        self.optimizer.zero_grad()
        total.backward()
        # The update only rebinds .data (no graph), so it needs no no_grad(), which is still
        # process-wide and would stop other sessions' threads from recording their graphs.
        self.optimizer.step()

    def layers(self) -> Layers:
        """Copies of the current weights."""
        return self.engine.arrays()

    def set_parameter(self, layer: int, neuron: int, index: int | None, value: float) -> None:
        """Set one weight (``index`` = its input) or a bias (``index`` None)."""
        self.engine.set_parameter(layer, neuron, index, value)

    def layer_outputs(self, x: np.ndarray) -> list[np.ndarray]:
        """Each layer's outputs for inputs x (n, nin), computed by the tensor engine."""
        engine = self.engine if isinstance(self.engine, _TensorEngine) else _TensorEngine(self.engine.arrays())
        return engine.layer_outputs(x)


def layer_outputs(layers: Layers, x: np.ndarray) -> list[np.ndarray]:
    """Each layer's outputs for inputs x (n, nin) of a network described by ``layers``."""
    return _TensorEngine(layers).layer_outputs(x)


def loss_value(loss: str, outputs: np.ndarray, labels: np.ndarray) -> float:
    """The mean loss of outputs (n,) against labels (n,), by the tensor engine's loss."""
    targets = (labels + 1.0) / 2.0 if loss == "bce" else labels
    return float(tensor_nn.LOSSES[loss](Tensor.from_numpy(outputs), targets).data)


def confidence(problem: str, loss: str, outputs: np.ndarray) -> np.ndarray:
    """Outputs on the colour scale [-1, 1]: for classification -1 is sure of -1, +1 sure of +1.

    Cross-entropy's score s means P(+1) = sigmoid(s), shown as 2 sigmoid(s) - 1 = tanh(s/2);
    hinge scores and regression outputs are clipped to [-1, 1].
    """
    if problem == "classification" and loss == "bce":
        return np.tanh(outputs / 2.0)
    return np.clip(outputs, -1.0, 1.0)


def predicted_labels(outputs: np.ndarray) -> np.ndarray:
    """±1 class for each output: +1 when the output is > 0."""
    return np.where(outputs > 0, 1.0, -1.0)


# ---- one point, forward and backward, on the tutorial's Value engine ---------------------------


def _labelled_network(layers: Layers) -> list[nn.Layer]:
    modules = _ScalarEngine(layers).layers
    for number, module in enumerate(modules, start=1):
        for j, neuron in enumerate(module.neurons):
            for i, w in enumerate(neuron.w):
                w.label = f"w{number}.{j}.{i}"
            neuron.b.label = f"b{number}.{j}"
    return modules


def _run_point(
    layers: Layers, inputs: Sequence[float], input_labels: Sequence[str], label: float, loss: str
) -> tuple[list[nn.Layer], list[Value], list[list[Value]], Value]:
    """A labelled scalar network with these weights, run on one point, its loss's backward() done."""
    modules = _labelled_network(layers)
    x = [Value(float(v), label=name) for v, name in zip(inputs, input_labels)]
    outputs = _scalar_forward(modules, x)
    for number, (module, outs) in enumerate(zip(modules, outputs), start=1):
        for j, out in enumerate(outs):
            if module.activation != "linear":  # the activation's input is the weighted sum
                out._prev[0].label = f"z{number}.{j}"
            out.label = f"h{number}.{j}"
    outputs[-1][0].label = "output"
    total = _scalar_loss(loss, [outputs[-1][0]], [label])
    total.label = "loss"
    total.backward()
    return modules, x, outputs, total


def _weighted_sum_of(out: Value, activation: str) -> Value:
    return out if activation == "linear" else out._prev[0]


def trace_point(
    layers: Layers, inputs: Sequence[float], label: float, loss: str, input_labels: Sequence[str]
) -> dict[str, Any]:
    """One point's forward and backward pass, neuron by neuron, from the tutorial's engine.

    A scalar network of `Value`s with these weights runs on ``inputs`` (the point's
    features); its loss calls ``backward()``. Per layer: each neuron's weighted sum z,
    value a = activation(z), and the gradients dL/da, dL/dz, dL/dw (out, in), dL/db.
    """
    modules, x, outputs, total = _run_point(layers, inputs, input_labels, label, loss)
    traced = []
    for module, outs in zip(modules, outputs):
        sums = [_weighted_sum_of(out, module.activation) for out in outs]
        traced.append({
            "activation": module.activation,
            "z": [s.data for s in sums],
            "a": [out.data for out in outs],
            "grad_a": [out.grad for out in outs],
            "grad_z": [s.grad for s in sums],
            "grad_w": [[w.grad for w in neuron.w] for neuron in module.neurons],
            "grad_b": [neuron.b.grad for neuron in module.neurons],
        })
    return {
        "inputs": [v.data for v in x],
        "grad_inputs": [v.grad for v in x],
        "layers": traced,
        "output": outputs[-1][0].data,
        "loss": total.data,
    }


def neuron_graph_svg(
    layers: Layers,
    inputs: Sequence[float],
    label: float,
    loss: str,
    input_labels: Sequence[str],
    layer: int,
    neuron: int,
) -> dict[str, Any]:
    """One neuron of one point's pass as the tutorial draws it (`viz.draw_dot`): its inputs,
    weights, bias, products, sum and activation, each with data and gradient.

    The rest of the network enters as numbers: the inputs are the previous layer's values
    (leaves) and the gradient arriving at the neuron's output is dL/da from the whole
    network's backward pass; ``backward(grad=dL/da)`` fills in the rest.
    """
    from scratchgrad import viz

    modules, x, outputs, total = _run_point(layers, inputs, input_labels, label, loss)
    previous = x if layer == 0 else outputs[layer - 1]
    names = list(input_labels) if layer == 0 else [f"h{layer}.{i}" for i in range(len(previous))]
    upstream = outputs[layer][neuron].grad
    leaves = [Value(v.data, label=name) for v, name in zip(previous, names)]
    unit = nn.Layer(len(leaves), 1, modules[layer].activation, rng=random.Random(0))
    original = modules[layer].neurons[neuron]
    copy = unit.neurons[0]
    for w, source in zip(copy.w, original.w):
        w.data, w.label = source.data, source.label
    copy.b.data, copy.b.label = original.b.data, original.b.label
    out = copy(leaves)
    if copy.activation != "linear":
        out._prev[0].label = f"z{layer + 1}.{neuron}"
    out.label = f"h{layer + 1}.{neuron}" if layer < len(layers) - 1 else "output"
    out.backward(grad=upstream)
    return {"svg": _svg(viz.draw_dot(out, format="svg", compact=False)), "upstream_grad": upstream, "loss": total.data}


def point_graph_svg(
    layers: Layers, inputs: Sequence[float], label: float, loss: str, input_labels: Sequence[str], max_values: int
) -> dict[str, Any]:
    """The whole graph of one point's output and loss (`viz.draw_dot`), compact when large."""
    from scratchgrad import viz

    _, _, outputs, total = _run_point(layers, inputs, input_labels, label, loss)
    nodes, _ = viz.trace(total)
    compact = len(nodes) > max_values
    drawing = viz.draw_dot(total, format="svg", compact=compact, max_nodes=max(max_values, len(nodes)))
    return {"svg": _svg(drawing), "values": len(nodes), "compact": compact, "output": outputs[-1][0].data, "loss": total.data}


class GraphUnavailableError(RuntimeError):
    """The graph could not be drawn on this machine (Graphviz's dot is missing)."""


def _svg(drawing: Any) -> str:
    from scratchgrad import viz

    try:
        return str(drawing.pipe(format="svg").decode("utf-8"))
    except Exception as exc:  # graphviz.ExecutableNotFound: dot is not installed
        if type(exc).__name__ == "ExecutableNotFound":
            raise GraphUnavailableError(
                "cannot draw the graph: Graphviz's `dot` program was not found. " + viz.INSTALL_HINT
            ) from None
        raise


# ---- model files -----------------------------------------------------------------------------


def model_file(layers: Layers, fmt: str) -> tuple[bytes, str]:
    """The network as a scratchgrad model file: (content, file name).

    'json': the scalar engine's `nn.MLP` file (one activation for all hidden layers);
    'npz': the tensor engine's `Sequential` file (any activations); 'onnx': ONNX (needs the
    ``onnx`` extra). Raises ModelFileUnusable when the format cannot hold this network.
    """
    if fmt == "json":
        hidden = {layer.activation for layer in layers[:-1]}
        if len(hidden) > 1:
            raise ModelFileUnusable(
                "a .json model (the scalar engine's MLP) has one activation for all hidden layers, "
                f"but this network mixes {', '.join(sorted(hidden))}; download the .npz file instead"
            )
        nouts = [layer.weight.shape[0] for layer in layers]
        model = nn.MLP(
            layers[0].weight.shape[1], nouts, activation=hidden.pop() if hidden else layers[-1].activation,
            output_activation=layers[-1].activation, rng=random.Random(0),
        )
        for module, layer in zip(model.layers, layers):
            _load_scalar_layer(module, layer)
        return _saved_bytes(model.save, ".json"), "playground-model.json"
    model_t = _TensorEngine(layers).model
    if fmt == "npz":
        return _saved_bytes(model_t.save, ".npz"), "playground-model.npz"
    from scratchgrad import export

    try:
        proto = export.to_onnx_model(model_t)
    except ImportError as exc:
        raise ModelFileUnusable(f"ONNX files need the onnx extra: {exc}") from None
    return proto.SerializeToString(), "playground-model.onnx"


def onnx_available() -> bool:
    """Whether the ``onnx`` package is installed (ONNX downloads)."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True


def _saved_bytes(save: Any, suffix: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="scratchgrad-model-") as folder:
        path = os.path.join(folder, "model" + suffix)
        try:
            save(path)
        except ValueError as exc:  # non-finite weights
            raise ModelFileUnusable(f"cannot save this network: {exc}") from None
        with open(path, "rb") as handle:
            return handle.read()


def read_model_file(content: bytes, filename: str) -> Layers:
    """The layers of a scratchgrad model file (``.json`` scalar MLP or ``.npz`` tensor model).

    Raises ModelFileUnusable naming the problem: another format, a corrupt file, an
    archive that unpacks to more than MAX_MODEL_FILE_BYTES, layers the playground cannot
    show (anything but dense layers with tanh, relu, sigmoid or no activation).
    """
    suffix = os.path.splitext(filename)[1].lower()
    shown = os.path.basename(filename) or "the model file"
    if suffix not in (".json", ".npz"):
        raise ModelFileUnusable(f"{shown}: load a scratchgrad model file, .json or .npz (got {suffix or 'no extension'!r})")
    if suffix == ".npz":
        _check_archive(content, shown)
    with tempfile.TemporaryDirectory(prefix="scratchgrad-model-") as folder:
        path = os.path.join(folder, "model" + suffix)
        with open(path, "wb") as handle:
            handle.write(content)
        try:
            model = nn.MLP.load(path) if suffix == ".json" else tensor_nn.load(path)
        except (ValueError, TypeError, KeyError, RecursionError, MemoryError) as exc:
            message = str(exc).replace(path, shown) if not isinstance(exc, RecursionError) else "nested too deeply"
            raise ModelFileUnusable(f"{shown}: {message}" if not message.startswith(shown) else message) from None
    return _describe(model, shown)


def _check_archive(content: bytes, shown: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ModelFileUnusable(f"{shown}: not a readable .npz model file") from None
    if unpacked > MAX_MODEL_FILE_BYTES:
        raise ModelFileUnusable(
            f"{shown}: unpacks to {unpacked:,} bytes; the playground loads models up to {MAX_MODEL_FILE_BYTES:,}"
        )


def _describe(model: Any, shown: str) -> Layers:
    if isinstance(model, nn.MLP):
        return tuple(
            DenseLayer(
                np.array([[w.data for w in neuron.w] for neuron in layer.neurons], dtype=np.float64),
                np.array([neuron.b.data for neuron in layer.neurons], dtype=np.float64),
                layer.activation,
            )
            for layer in model.layers
        )
    layers: list[DenseLayer] = []
    names: dict[type, str] = {cls: name for name, cls in tensor_nn.ACTIVATIONS.items()}
    modules = list(model) if isinstance(model, tensor_nn.Sequential) else [model]
    for module in modules:
        if isinstance(module, tensor_nn.Linear):
            if module.bias is None:
                raise ModelFileUnusable(f"{shown}: a Linear layer without a bias; the playground's neurons all have one")
            weight = np.array(module.weight.data, dtype=np.float64)
            layers.append(DenseLayer(weight, np.array(module.bias.data, dtype=np.float64), "linear"))
        elif type(module) in names and layers and layers[-1].activation == "linear":
            last = layers[-1]
            layers[-1] = DenseLayer(last.weight, last.bias, names[type(module)])
        else:
            raise ModelFileUnusable(
                f"{shown}: the playground shows dense layers each followed by at most one activation; found {module!r}"
            )
    if not layers:
        raise ModelFileUnusable(f"{shown}: the model has no layers")
    return tuple(layers)
