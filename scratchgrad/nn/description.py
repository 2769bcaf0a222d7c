"""The plain model description: a dense network as weight matrices, biases and activation names.

``describe(model)`` reduces a scalar `Neuron` / `Layer` / `MLP` or a tensor `Linear` /
`Sequential` / `MLP` to a `ModelDescription`: one `DenseLayer(weight, bias, activation)`
per layer, weights as float64 arrays (out, in). ``build(description, engine)`` turns one
back into a model of either engine, so

    to_tensor(model) == build(describe(model), 'tensor')
    to_scalar(model) == build(describe(model), 'scalar')

move a model between the engines with bit-identical weights. Export to PyTorch and
ONNX, the CLI's pictures and the playground all start from this description; there is
no other converter. ``description.to_dict()`` / ``ModelDescription.from_dict`` are its
JSON form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from scratchgrad.nn.activations import check_activation, is_identity
from scratchgrad.nn.module import Module

# A description read from outside (a dict, a PyTorch file) may not ask for more than this.
MAX_DESCRIPTION_PARAMETERS = 50_000_000


@dataclass(frozen=True, eq=False)
class DenseLayer:
    """``activation(x @ weight.T + bias)``: weight (out, in) float64, bias (out,) float64 or None."""

    weight: np.ndarray
    bias: np.ndarray | None
    activation: str = "linear"

    def __post_init__(self) -> None:
        weight = np.array(self.weight, dtype=np.float64, copy=True)
        if weight.ndim != 2 or 0 in weight.shape:
            raise ValueError(f"a dense layer's weight is a non-empty (out, in) matrix, got shape {weight.shape}")
        bias = None if self.bias is None else np.array(self.bias, dtype=np.float64, copy=True)
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"a dense layer's bias has shape ({weight.shape[0]},) for weight {weight.shape}, got {bias.shape}")
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "bias", bias)
        object.__setattr__(self, "activation", check_activation(self.activation))

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])

    def __eq__(self, other: object) -> bool:
        """Equal when the activations and every weight are the same to the bit."""
        if not isinstance(other, DenseLayer):
            return NotImplemented
        same_bias = (self.bias is None and other.bias is None) or (
            self.bias is not None and other.bias is not None and _bits_equal(self.bias, other.bias)
        )
        return self.activation == other.activation and _bits_equal(self.weight, other.weight) and same_bias

    __hash__ = None  # type: ignore[assignment]


def _bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.tobytes() == b.tobytes()


@dataclass(frozen=True, eq=False)
class ModelDescription:
    """A feed-forward network: ``layers`` one `DenseLayer` each, whose sizes chain."""

    layers: tuple[DenseLayer, ...]

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers:
            raise ValueError("a model description needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, DenseLayer):
                raise TypeError(f"layer {i} is a {type(layer).__name__}, not a DenseLayer")
            if i and layer.in_features != layers[i - 1].out_features:
                raise ValueError(
                    f"layer {i} takes {layer.in_features} inputs but layer {i - 1} gives {layers[i - 1].out_features} outputs"
                )
        object.__setattr__(self, "layers", layers)

    @property
    def nin(self) -> int:
        return self.layers[0].in_features

    @property
    def nout(self) -> int:
        return self.layers[-1].out_features

    def is_mlp(self) -> bool:
        """True when it fits `MLP`'s shape: a bias in every layer (activations may differ per layer)."""
        return all(layer.bias is not None for layer in self.layers)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModelDescription):
            return NotImplemented
        return len(self.layers) == len(other.layers) and all(a == b for a, b in zip(self.layers, other.layers))

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``{"layers": [{"weight": [[...]], "bias": [...] or None, "activation": "relu"}]}``.

        Floats are kept exactly (JSON writes them with ``repr``).
        """
        return {
            "layers": [
                {
                    "weight": layer.weight.tolist(),
                    "bias": None if layer.bias is None else layer.bias.tolist(),
                    "activation": layer.activation,
                }
                for layer in self.layers
            ]
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelDescription:
        """The description `to_dict` wrote, checked: shapes, finite numbers, known activations."""
        layers = data.get("layers") if isinstance(data, Mapping) else None
        if not isinstance(layers, list) or not layers:
            raise ValueError("a model description is a dict with a non-empty list 'layers'")
        total = 0
        built = []
        for i, spec in enumerate(layers):
            if not isinstance(spec, Mapping) or "weight" not in spec:
                raise ValueError(f"layer {i} must be a dict with 'weight', 'bias' and 'activation'")
            weight = _finite_matrix(spec["weight"], f"layer {i} weight", 2)
            bias = None if spec.get("bias") is None else _finite_matrix(spec["bias"], f"layer {i} bias", 1)
            total += weight.size + (0 if bias is None else bias.size)
            if total > MAX_DESCRIPTION_PARAMETERS:
                raise ValueError(f"the description holds more than {MAX_DESCRIPTION_PARAMETERS:,} numbers")
            built.append(DenseLayer(weight, bias, spec.get("activation", "linear")))
        return cls(tuple(built))


def _finite_matrix(value: Any, what: str, ndim: int) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a {'matrix' if ndim == 2 else 'list'} of numbers") from None
    if array.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} dimension(s), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} holds NaN or infinity")
    return array


# ---- describe: model -> description ----------------------------------------------------------------


def describe(model: Any) -> ModelDescription:
    """The `ModelDescription` of a model of either engine (a description is returned as it is).

    Scalar: `Neuron`, `Layer`, `MLP`. Tensor: `Linear`, `Sequential` of Linear and
    activation modules, `MLP`. Anything else is a TypeError naming it.
    """
    from scratchgrad.nn import layers as tensor_layers
    from scratchgrad.nn import scalar

    if isinstance(model, ModelDescription):
        return model
    if isinstance(model, scalar.MLP):
        return ModelDescription(tuple(_scalar_layer(layer.neurons, layer.activation) for layer in model.layers))
    if isinstance(model, scalar.Layer):
        return ModelDescription((_scalar_layer(model.neurons, model.activation),))
    if isinstance(model, scalar.Neuron):
        return ModelDescription((_scalar_layer([model], model.activation),))
    if isinstance(model, tensor_layers.MLP):
        return ModelDescription(
            tuple(_tensor_layer(linear, name) for linear, name in zip(model.layers, model.layer_activations()))
        )
    if isinstance(model, (tensor_layers.Sequential, tensor_layers.Linear)):
        return ModelDescription(tuple(_sequence_layers(model, tensor_layers)))
    raise TypeError(
        f"cannot describe a {type(model).__name__}: a model description is made from a scratchgrad.nn "
        "MLP, Layer or Neuron, or a tensor MLP, Sequential (of Linear and activation modules) or Linear"
    )


def _scalar_layer(neurons: list[Any], activation: str) -> DenseLayer:
    weight = np.array([[float(w.data) for w in neuron.w] for neuron in neurons], dtype=np.float64)
    bias = np.array([float(neuron.b.data) for neuron in neurons], dtype=np.float64)
    return DenseLayer(weight, bias, activation)


def _tensor_layer(linear: Any, activation: str) -> DenseLayer:
    bias = None if linear.bias is None else linear.bias.data
    return DenseLayer(linear.weight.data, bias, activation)


def _sequence_layers(module: Module, tensor_layers: Any) -> list[DenseLayer]:
    """A Linear / Sequential as dense layers: each activation module joins the Linear before it."""
    steps: list[tuple[Any, ...]] = []
    for position, item in enumerate(_flatten(module, tensor_layers)):
        if isinstance(item, tensor_layers.Linear):
            steps.append(("linear", item.weight.data, None if item.bias is None else item.bias.data))
        elif isinstance(item, tensor_layers.ActivationModule):
            steps.append((item.name,))
        else:
            raise TypeError(f"cannot describe layer #{position} {item!r}: supported are Linear and the activation modules")
    return list(from_steps(steps).layers)


def from_steps(steps: Iterable[tuple[Any, ...]]) -> ModelDescription:
    """A description from a sequence of ``("linear", weight, bias)`` and ``(activation_name,)``
    steps, as a Sequential or a PyTorch module lists them: each activation joins the
    linear step before it; 'linear' (the identity) is skipped. Refuses a sequence that
    starts with an activation or has two in a row, naming the position."""
    found: list[DenseLayer] = []
    for position, step in enumerate(steps):
        if len(step) == 3:  # ("linear", weight, bias); a 1-tuple names an activation
            found.append(DenseLayer(step[1], step[2], "linear"))
            continue
        name = check_activation(step[0])
        if is_identity(name):
            continue
        if not found:
            raise ValueError(f"layer #{position}: the model must start with a Linear layer, not {name}")
        if found[-1].activation != "linear":
            raise ValueError(f"layer #{position}: two activations in a row ({found[-1].activation}, {name})")
        found[-1] = DenseLayer(found[-1].weight, found[-1].bias, name)
    if not found:
        raise ValueError("the model has no Linear layer")
    return ModelDescription(tuple(found))


def _flatten(module: Module, tensor_layers: Any) -> list[Any]:
    if isinstance(module, tensor_layers.Sequential):
        return [item for layer in module.layers for item in _flatten(layer, tensor_layers)]
    return [module]


# ---- build: description -> model ---------------------------------------------------------------------


def build(description: ModelDescription, engine: str = "scalar", dtype: Any = None) -> Module:
    """A model of ``engine`` ('scalar' or 'tensor') holding the description's weights exactly.

    'scalar' builds a `scratchgrad.nn.MLP` (it needs a bias in every layer; each layer
    keeps its own activation). 'tensor' builds a tensor `MLP` when the description
    has that shape, else a `Sequential` of `Linear` and activation modules; ``dtype``
    float64 (default) or float32.
    """
    if not isinstance(description, ModelDescription):
        raise TypeError(f"build takes a ModelDescription (see describe()), got {type(description).__name__}")
    if engine not in ("scalar", "tensor"):
        raise ValueError(f"engine must be 'scalar' or 'tensor', got {engine!r}")
    if engine == "tensor":
        return _build_tensor(description, dtype)
    if dtype is not None and np.dtype(dtype) != np.float64:
        raise ValueError("a scalar model holds Python floats (float64); dtype= is for engine='tensor'")
    return _build_scalar(description)


def _mlp_settings(description: ModelDescription) -> dict[str, Any]:
    layers = description.layers
    output_activation = layers[-1].activation
    hidden = [layer.activation for layer in layers[:-1]]
    return {
        "nin": description.nin,
        "nouts": [layer.out_features for layer in layers],
        # one name when the hidden layers agree (the files of one-activation MLPs stay as they were)
        "activation": hidden if len(set(hidden)) > 1 else hidden[0] if hidden else output_activation,
        "output_activation": output_activation,
    }


def _build_scalar(description: ModelDescription) -> Module:
    from scratchgrad.nn.scalar import MLP

    if any(layer.bias is None for layer in description.layers):
        raise ValueError("the scalar MLP needs a bias in every layer; use engine='tensor'")
    count = sum(layer.weight.size + layer.out_features for layer in description.layers)
    if count > 5_000_000:
        raise ValueError(f"{count:,} parameters are too many for the scalar engine (one Value each); use engine='tensor'")
    model = MLP.from_architecture(_mlp_settings(description))
    for layer, dense in zip(model.layers, description.layers):
        for neuron, row, b in zip(layer.neurons, dense.weight.tolist(), dense.bias.tolist()):  # type: ignore[union-attr]
            for w, value in zip(neuron.w, row):
                w.data = value
            neuron.b.data = b
    return model


def _build_tensor(description: ModelDescription, dtype: Any) -> Module:
    from scratchgrad.nn import layers as tensor_layers

    target = np.dtype(np.float64 if dtype is None else dtype)
    if description.is_mlp():
        model = tensor_layers.MLP.from_architecture(_mlp_settings(description), dtype=target)
        for linear, dense in zip(model.layers, description.layers):
            linear.weight.data = dense.weight.astype(target)
            linear.bias.data = dense.bias.astype(target)  # type: ignore[union-attr]
        return model
    modules: list[Module] = []
    for dense in description.layers:
        modules.append(tensor_layers.Linear.from_arrays(dense.weight, dense.bias, dtype=target))
        if not is_identity(dense.activation):
            modules.append(tensor_layers.activation_module(dense.activation))
    return tensor_layers.Sequential(*modules)


def to_tensor(model: Any, dtype: Any = None) -> Module:
    """The model on the tensor engine, weights bit-identical (``build(describe(model), 'tensor')``;
    a model that is not a dense network, a GPT, converts itself)."""
    if hasattr(model, "_to_engine"):
        return model._to_engine("tensor", dtype)  # type: ignore[no-any-return]
    return build(describe(model), "tensor", dtype)


def to_scalar(model: Any) -> Module:
    """The model on the scalar engine, weights bit-identical (``build(describe(model), 'scalar')``;
    a model that is not a dense network, a GPT, converts itself)."""
    if hasattr(model, "_to_engine"):
        return model._to_engine("scalar")  # type: ignore[no-any-return]
    return build(describe(model), "scalar")


__all__ = ["DenseLayer", "ModelDescription", "build", "describe", "from_steps", "to_scalar", "to_tensor"]
