"""The playground's seam to the library: every number it shows about a network comes from here,
and everything here is scratchgrad's public API.

- The network is the library's `scratchgrad.nn.MLP` (the scalar engine, the tutorial's
  Values) or its tensor twin `scratchgrad.nn.TensorMLP`: one activation per hidden layer,
  ``init='kaiming'``, the session's seed (the same starting weights on both engines).
- One update per batch is `scratchgrad.train.Trainer.step`, with a loss of
  `scratchgrad.nn.LOSSES`, an optimizer of `scratchgrad.optim.OPTIMIZERS` and the
  trainer's L1 or L2 penalty. The choices the page offers are those registries' entries.
- The pictures read `scratchgrad.nn.describe` (the weights) and the tensor MLP's
  `layer_outputs` (every neuron over the input plane; a scalar network goes through
  `to_tensor` first); losses and accuracies are `LOSSES` and `train.accuracy`.
- One point's pass runs the scalar network's neurons on `Value`s, then ``backward()``;
  its pictures are `viz.draw_dot`.
- Files are the library's model files (`Module.save`, `scratchgrad.nn.load`) and
  `export.to_onnx_model`.

A network travels between sessions, files and pictures as a `ModelDescription`.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from typing import Any, Sequence

import numpy as np

from scratchgrad import Value, no_grad, viz, weighted_sum
from scratchgrad.nn import (
    ACTIVATIONS,
    LOSSES,
    MLP,
    DenseLayer,
    ModelDescription,
    Module,
    TensorMLP,
    build,
    describe,
    to_tensor,
)
from scratchgrad.nn import load as load_model
from scratchgrad.train import Trainer, accuracy

from scratchgrad.playground.data import PROBLEMS

ENGINES = ("tensor", "scalar")
ENGINE_LABELS = {"tensor": "tensor engine (numpy)", "scalar": "scalar engine (Value)"}
REGULARIZATIONS = ("none", "l1", "l2")  # the Trainer's l1= / l2=
MODEL_FORMATS = ("json", "npz", "onnx")
INIT = "kaiming"  # U(-sqrt(6/nin), sqrt(6/nin)) and zero biases: deep relu networks still train
# A model file larger than this once unpacked is refused before it is read.
MAX_MODEL_FILE_BYTES = 4 * 1024 * 1024


class ModelFileUnusable(ValueError):
    """A model file the playground cannot load or write; the message says why."""


# ---- the choices: the library's registries --------------------------------------------------------


def losses_for(problem: str) -> list[str]:
    """The LOSSES entries that train one output on the problem's labels: -1/+1 or real
    numbers for classification, real numbers for regression (class-index losses need one
    output per class)."""
    labels = ("pm1", "real") if PROBLEMS[problem] == "binary" else ("real",)
    return [name for name, loss in LOSSES.items() if loss.labels in labels]


def output_activation(problem: str, loss: str) -> str:
    """The output neuron's activation: the one LOSSES says suits the loss and the data."""
    return str(LOSSES[loss].output_activation_for(PROBLEMS[problem]))


def loss_for_output(problem: str, loss: str, activation: str) -> str | None:
    """A loss of the problem whose output activation is ``activation``: ``loss`` itself when
    it fits, else the first that does; None when none does (for a loaded model)."""
    for name in [loss, *losses_for(problem)]:
        if name in losses_for(problem) and output_activation(problem, name) == activation:
            return name
    return None


# ---- the network being trained -------------------------------------------------------------------


class Network:
    """A library MLP and the library's `Trainer` for it: ``step(x, y)`` is one update.

    ``regularization`` 'l1' or 'l2' adds ``rate`` times the sum of |p| or p² over every
    weight and bias to each batch's loss.
    """

    def __init__(
        self,
        module: Module,
        *,
        loss: str,
        optimizer: str,
        learning_rate: float,
        regularization: str = "none",
        rate: float = 0.0,
    ) -> None:
        self.module = module
        self.engine = str(module.engine)
        self.trainer = Trainer(
            module, loss=loss, optimizer=optimizer, lr=learning_rate,
            l1=rate if regularization == "l1" else 0.0, l2=rate if regularization == "l2" else 0.0,
        )  # fmt: skip

    @staticmethod
    def new_module(sizes: Sequence[int], activations: Sequence[str], output: str, seed: int, engine: str) -> Module:
        """A fresh MLP: ``sizes`` from the inputs to the output, one activation per hidden layer."""
        model_class = MLP if engine == "scalar" else TensorMLP
        return model_class(sizes[0], list(sizes[1:]), list(activations), output, init=INIT, seed=seed)  # type: ignore[no-any-return]

    @property
    def engine_label(self) -> str:
        return ENGINE_LABELS[self.engine]

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One update from the batch x (n, nin), y (n,); its loss. Raises `TrainingDiverged`."""
        return self.trainer.step(x, y)

    def description(self) -> ModelDescription:
        """The current weights and activations (copies)."""
        return describe(self.module)

    def tensor_module(self) -> Any:
        """The network on the tensor engine (itself, or a copy of a scalar one) for pictures."""
        return self.module if self.engine == "tensor" else to_tensor(self.module)

    def set_parameter(self, layer: int, neuron: int, index: int | None, value: float) -> None:
        """Set one weight (``index`` = its input) or a bias (``index`` None), in place, so the
        optimizer keeps following the same parameters."""
        edited = []
        for number, dense in enumerate(self.description().layers):
            if number == layer:
                weight, bias = dense.weight.copy(), np.array(dense.bias, copy=True)
                if index is None:
                    bias[neuron] = value
                else:
                    weight[neuron, index] = value
                dense = DenseLayer(weight, bias, dense.activation)
            edited.append(dense)
        self.module.load_state_dict(build(ModelDescription(tuple(edited)), self.engine).state_dict())


# ---- what the page draws ----------------------------------------------------------------------------


def layer_outputs(network: Any, x: np.ndarray) -> list[np.ndarray]:
    """Each layer's outputs (after its activation) for inputs x (n, nin), by the tensor engine."""
    with no_grad(), np.errstate(over="ignore", invalid="ignore"):
        return [out.data for out in network.layer_outputs(x)]


def loss_value(loss: str, outputs: np.ndarray, labels: np.ndarray) -> float:
    """The mean loss of outputs (n,) against labels (n,), by the LOSSES entry (no penalty)."""
    with no_grad(), np.errstate(over="ignore", invalid="ignore"):
        return float(LOSSES[loss](outputs, labels).data)


def accuracy_of(network: Any, x: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of points classified right (`scratchgrad.train.accuracy`)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return accuracy(network, x, labels)


def confidence(problem: str, activation: str, outputs: np.ndarray) -> np.ndarray:
    """Outputs on the colour scale [-1, 1]: for classification -1 is sure of -1, +1 sure of +1.

    A raw score s (a 'linear' output) is read as a logit: P(+1) = sigmoid(s), shown as
    2 P(+1) - 1 = tanh(s / 2). Bounded outputs and regression targets are clipped to [-1, 1].
    """
    if PROBLEMS[problem] == "binary" and activation == "linear":
        return np.tanh(outputs / 2.0)
    return np.clip(outputs, -1.0, 1.0)


# ---- one point, forward and backward, on the tutorial's Value engine --------------------------


def _labelled_network(description: ModelDescription) -> Any:
    """The network on the scalar engine, its weights labelled w<layer>.<neuron>.<input>, b<layer>.<neuron>."""
    network = build(description, "scalar")
    for number, layer in enumerate(network.layers, start=1):
        for j, neuron in enumerate(layer.neurons):
            _label(neuron, f"{number}.{j}")
    return network


def _label(neuron: Any, name: str) -> None:
    for i, w in enumerate(neuron.w):
        w.label = f"w{name}.{i}"
    neuron.b.label = f"b{name}"


def _neuron(neuron: Any, inputs: Sequence[Value], name: str) -> tuple[Value, Value]:
    """The tutorial's neuron written out, so its weighted sum is a node to read: z = w·x + b
    (the library's `weighted_sum`, as `Neuron` computes it), a = activation(z) (ACTIVATIONS)."""
    z = weighted_sum(neuron.w, inputs, neuron.b)
    z.label = f"z{name}"
    a = ACTIVATIONS[neuron.activation].scalar(z)
    a.label = f"h{name}"  # the identity returns z itself: then the one node is h
    return z, a


def _run_point(
    description: ModelDescription, inputs: Sequence[float], input_labels: Sequence[str], label: float, loss: str
) -> tuple[Any, list[Value], list[list[tuple[Value, Value]]], Value]:
    """The labelled scalar network run on one point, neuron by neuron, its loss's backward() done."""
    network = _labelled_network(description)
    x = [Value(float(v), label=name) for v, name in zip(inputs, input_labels)]
    layers: list[list[tuple[Value, Value]]] = []
    h: list[Value] = x
    for number, layer in enumerate(network.layers, start=1):
        layers.append([_neuron(neuron, h, f"{number}.{j}") for j, neuron in enumerate(layer.neurons)])
        h = [a for _, a in layers[-1]]
    output = h[0]
    output.label = "output"
    total = LOSSES[loss].scalar([output], [label])
    total.label = "loss"
    total.backward()
    return network, x, layers, total


def trace_point(
    description: ModelDescription, inputs: Sequence[float], label: float, loss: str, input_labels: Sequence[str]
) -> dict[str, Any]:
    """One point's forward and backward pass, neuron by neuron, on the tutorial's engine.

    A scalar network of `Value`s with these weights runs on ``inputs`` (the point's
    features); its loss calls ``backward()``. Per layer: each neuron's weighted sum z,
    value a = activation(z), and the gradients dL/da, dL/dz, dL/dw (out, in), dL/db.
    """
    network, x, layers, total = _run_point(description, inputs, input_labels, label, loss)
    traced = []
    for layer, neurons in zip(network.layers, layers):
        traced.append({
            "activation": layer.activation,
            "z": [z.data for z, _ in neurons],
            "a": [a.data for _, a in neurons],
            "grad_a": [a.grad for _, a in neurons],
            "grad_z": [z.grad for z, _ in neurons],
            "grad_w": [[w.grad for w in neuron.w] for neuron in layer.neurons],
            "grad_b": [neuron.b.grad for neuron in layer.neurons],
        })
    return {
        "inputs": [v.data for v in x],
        "grad_inputs": [v.grad for v in x],
        "layers": traced,
        "output": layers[-1][0][1].data,
        "loss": total.data,
    }


def neuron_graph_svg(
    description: ModelDescription,
    inputs: Sequence[float],
    label: float,
    loss: str,
    input_labels: Sequence[str],
    layer: int,
    neuron: int,
) -> dict[str, Any]:
    """One neuron of one point's pass as the tutorial draws it (`viz.draw_dot`): its inputs,
    weights, bias, weighted sum and activation, each with data and gradient.

    The rest of the network enters as numbers: the inputs are the previous layer's values
    (leaves) and the gradient arriving at the neuron's output is dL/da from the whole
    network's backward pass; ``backward(grad=dL/da)`` fills in the rest.
    """
    _, x, layers, total = _run_point(description, inputs, input_labels, label, loss)
    previous = x if layer == 0 else [a for _, a in layers[layer - 1]]
    names = list(input_labels) if layer == 0 else [f"h{layer}.{i}" for i in range(len(previous))]
    upstream = layers[layer][neuron][1].grad
    leaves = [Value(v.data, label=name) for v, name in zip(previous, names)]
    dense = description.layers[layer]
    alone = ModelDescription((DenseLayer(dense.weight[neuron : neuron + 1], dense.bias[neuron : neuron + 1], dense.activation),))  # type: ignore[index]
    unit = build(alone, "scalar").layers[0].neurons[0]
    _label(unit, f"{layer + 1}.{neuron}")
    _, out = _neuron(unit, leaves, f"{layer + 1}.{neuron}")
    if layer == len(description.layers) - 1:
        out.label = "output"
    out.backward(grad=upstream)
    return {"svg": _svg(viz.draw_dot(out, format="svg", compact=False)), "upstream_grad": upstream, "loss": total.data}


def point_graph_svg(
    description: ModelDescription,
    inputs: Sequence[float],
    label: float,
    loss: str,
    input_labels: Sequence[str],
    max_values: int,
) -> dict[str, Any]:
    """The whole graph of one point's output and loss (`viz.draw_dot`), compact when large."""
    _, _, layers, total = _run_point(description, inputs, input_labels, label, loss)
    nodes, _ = viz.trace(total)
    compact = len(nodes) > max_values
    drawing = viz.draw_dot(total, format="svg", compact=compact, max_nodes=max(max_values, len(nodes)))
    return {"svg": _svg(drawing), "values": len(nodes), "compact": compact, "output": layers[-1][0][1].data, "loss": total.data}


class GraphUnavailableError(RuntimeError):
    """The graph could not be drawn on this machine (Graphviz's dot is missing)."""


def _svg(drawing: Any) -> str:
    try:
        return str(drawing.pipe(format="svg").decode("utf-8"))
    except Exception as exc:  # graphviz.ExecutableNotFound: dot is not installed
        if type(exc).__name__ == "ExecutableNotFound":
            raise GraphUnavailableError(
                "cannot draw the graph: Graphviz's `dot` program was not found. " + viz.INSTALL_HINT
            ) from None
        raise


# ---- model files -----------------------------------------------------------------------------


def model_file(description: ModelDescription, fmt: str) -> tuple[bytes, str]:
    """The network as a file: (content, file name).

    'json': the scalar engine's `MLP` file; 'npz': the tensor engine's `MLP` file (both
    the library's format, each layer with its activation); 'onnx': ONNX (needs the
    ``onnx`` extra). Raises ModelFileUnusable when the file cannot be written.
    """
    if fmt == "onnx":
        from scratchgrad import export

        try:
            return export.to_onnx_model(description).SerializeToString(), "playground-model.onnx"
        except ImportError as exc:
            raise ModelFileUnusable(f"ONNX files need the onnx extra: {exc}") from None
    suffix = ".json" if fmt == "json" else ".npz"
    network = build(description, "scalar" if fmt == "json" else "tensor")
    with tempfile.TemporaryDirectory(prefix="scratchgrad-model-") as folder:
        path = os.path.join(folder, "model" + suffix)
        try:
            network.save(path)
        except ValueError as exc:  # non-finite weights
            raise ModelFileUnusable(f"cannot save this network: {str(exc).replace(path, 'the model')}") from None
        with open(path, "rb") as handle:
            return handle.read(), "playground-model" + suffix


def onnx_available() -> bool:
    """Whether the ``onnx`` package is installed (ONNX downloads)."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True


def read_model_file(content: bytes, filename: str) -> ModelDescription:
    """The network in a scratchgrad model file (``.json`` or ``.npz``, either engine).

    Raises ModelFileUnusable naming the problem: another format, a corrupt file, an
    archive that unpacks to more than MAX_MODEL_FILE_BYTES, a model that is not a stack
    of dense layers with a bias each (what the playground's neurons are).
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
            description = describe(load_model(path))
        except (ValueError, TypeError, KeyError, RecursionError, MemoryError) as exc:
            message = str(exc).replace(path, shown) if not isinstance(exc, RecursionError) else "nested too deeply"
            raise ModelFileUnusable(message if message.startswith(shown) else f"{shown}: {message}") from None
    if not description.is_mlp():
        raise ModelFileUnusable(f"{shown}: a layer without a bias; the playground's neurons all have one")
    return description


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
