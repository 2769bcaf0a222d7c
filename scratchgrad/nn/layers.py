"""Layers on tensors: `Linear`, `Sequential`, the activation modules, the tensor `MLP`, `mlp()`.

The same `Module` as the scalar classes (``parameters()``, ``named_parameters()``,
``zero_grad()``, ``state_dict()``, files), with a numpy array per weight matrix instead of
a `Value` per weight:

    model = mlp(64, [128], 10, activation="relu", seed=0)   # 64 -> 128 -> 10, a Sequential
    logits = model(X)                                       # X: (batch, 64) array or Tensor

    net = MLP(2, [16, 16, 1], activation="relu", output_activation="linear", seed=0)

`MLP` takes the scalar `scratchgrad.nn.MLP`'s arguments with the same defaults and
meaning, and for the same seed draws the same weights; input (N, nin) -> (N, nout), or
(nin,) -> (nout,). `Linear` uses PyTorch's layout and initial range: ``weight`` (out, in),
``bias`` (out,), both ~ U(-1/sqrt(in), 1/sqrt(in)); ``y = x @ weight.T + bias``.
Randomness on both engines comes from `random.Random` (`scratchgrad._random`).
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Mapping, Sequence, Union

import numpy as np

from scratchgrad._random import as_random
from scratchgrad.nn.activations import ACTIVATIONS, check_activation, is_identity
from scratchgrad.nn.files import register_model
from scratchgrad.nn.init import check_init, dense
from scratchgrad.nn.module import Module, check_positive_int, float_dtype
from scratchgrad.nn.mlp_base import MLPBase, architecture_size, mlp_sizes
from scratchgrad.tensor import Tensor
from scratchgrad.tensor_functions import linear

Input = Union[Tensor, np.ndarray]


def _dense_arrays(rng: Any, nin: int, nout: int, init: str, bound: float, bias: bool, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray | None]:
    """A (nout, nin) weight and a (nout,) bias drawn as `scratchgrad.nn.init.dense` draws them
    (float64 numbers, then rounded to ``dtype``)."""
    rows, biases = dense(rng, nin, nout, init, bound, bias)
    weight = np.array(rows, dtype=np.float64).reshape(nout, nin).astype(dtype, copy=False)
    return weight, None if biases is None else np.array(biases, dtype=np.float64).astype(dtype, copy=False)


class Linear(Module):
    """y = x @ weight.T + bias: (..., in_features) -> (..., out_features), one fused node.

    ``init='uniform'`` (PyTorch's default range): weight and bias ~ U(-1/sqrt(in), 1/sqrt(in));
    ``init='kaiming'``: weight ~ U(-sqrt(6/in), sqrt(6/in)), bias 0 (the scalar MLP's kaiming).
    ``seed``: an int, a `random.Random`, None (the global `random` module) or, for old
    code, a numpy Generator.
    """

    engine = "tensor"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        seed: Any = None,
        dtype: Any = np.float64,
        init: str = "uniform",
    ) -> None:
        self.in_features = check_positive_int(in_features, "Linear: in_features")
        self.out_features = check_positive_int(out_features, "Linear: out_features")
        check_init(init, "Linear: init")
        weight, bias_array = _dense_arrays(
            as_random(seed, "Linear: seed"), self.in_features, self.out_features, init,
            1.0 / math.sqrt(self.in_features), bool(bias), float_dtype(dtype),
        )  # fmt: skip
        self.weight = Tensor(weight, requires_grad=True)
        self.bias = None if bias_array is None else Tensor(bias_array, requires_grad=True)

    @classmethod
    def from_arrays(cls, weight: Any, bias: Any = None, dtype: Any = None) -> Linear:
        """A Linear holding these weights: ``weight`` (out, in), ``bias`` (out,) or None (copied)."""
        w = np.array(weight, dtype=None if dtype is None else float_dtype(dtype), copy=True)
        if w.ndim != 2 or w.dtype.kind != "f":
            raise ValueError(f"Linear.from_arrays: weight must be a 2-D float array (out, in), got {w.dtype} {w.shape}")
        layer = cls.__new__(cls)
        layer.in_features, layer.out_features = int(w.shape[1]), int(w.shape[0])
        layer.weight = Tensor(w, requires_grad=True)
        layer.bias = None
        if bias is not None:
            b = np.array(bias, dtype=w.dtype, copy=True)
            if b.shape != (w.shape[0],):
                raise ValueError(f"Linear.from_arrays: bias shape {b.shape} does not match weight shape {w.shape}")
            layer.bias = Tensor(b, requires_grad=True)
        return layer

    def forward(self, x: Input) -> Tensor:
        return linear(x, self.weight, self.bias)

    def architecture(self) -> dict[str, Any]:
        return {"type": "Linear", "in_features": self.in_features, "out_features": self.out_features, "bias": self.bias is not None}

    @classmethod
    def parameter_shapes(cls, architecture: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        inputs = architecture_size(architecture, "in_features")
        outputs = architecture_size(architecture, "out_features")
        shapes: dict[str, tuple[int, ...]] = {"weight": (outputs, inputs)}
        if architecture.get("bias", True):
            shapes["bias"] = (outputs,)
        return shapes

    @classmethod
    def from_architecture(cls, architecture: Mapping[str, Any], dtype: Any = None) -> Linear:
        shapes = cls.parameter_shapes(architecture)
        target = float_dtype(dtype)
        bias = np.zeros(shapes["bias"], dtype=target) if "bias" in shapes else None
        return cls.from_arrays(np.zeros(shapes["weight"], dtype=target), bias)

    def __repr__(self) -> str:
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None})"


class ActivationModule(Module):
    """An elementwise function with no parameters, from the ACTIVATIONS registry."""

    engine = "tensor"
    name = "linear"

    def forward(self, x: Input) -> Tensor:
        return ACTIVATIONS[self.name].tensor(x if isinstance(x, Tensor) else Tensor(x))  # type: ignore[no-any-return]

    def architecture(self) -> dict[str, Any]:
        return {"type": type(self).__name__}

    @classmethod
    def parameter_shapes(cls, architecture: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        return {}

    @classmethod
    def from_architecture(cls, architecture: Mapping[str, Any], dtype: Any = None) -> ActivationModule:
        return cls()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(ActivationModule):
    """max(0, x) elementwise."""

    name = "relu"


class Tanh(ActivationModule):
    """tanh(x) elementwise."""

    name = "tanh"


class Sigmoid(ActivationModule):
    """1 / (1 + e^-x) elementwise."""

    name = "sigmoid"


class Identity(ActivationModule):
    """x unchanged (the 'linear' activation)."""

    name = "linear"


_ACTIVATION_MODULES: dict[str, type[ActivationModule]] = {cls.name: cls for cls in (ReLU, Tanh, Sigmoid, Identity)}


def activation_module(name: str) -> ActivationModule:
    """The tensor module of an ACTIVATIONS entry (a class is made for a new entry)."""
    check_activation(name)
    cls = _ACTIVATION_MODULES.get(name)
    if cls is None:
        entry = ACTIVATIONS[name]
        cls = type(entry.module, (ActivationModule,), {"name": name, "__doc__": f"{entry.formula} elementwise."})
        _ACTIVATION_MODULES[name] = cls
        register_model(cls)
    return cls()


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(2, 16), ReLU(), Linear(16, 1))``.

    Parameters are named by position, as in PyTorch: ``0.weight``, ``2.bias``.
    """

    engine = "tensor"

    def __init__(self, *layers: Module) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, not a scratchgrad.nn Module")
        self.layers = list(layers)

    def _children(self) -> Iterator[tuple[str, Any]]:
        return ((str(i), layer) for i, layer in enumerate(self.layers))

    def _walk(self, prefix: str, out: list[tuple[str, Any]], seen: set[int], tensor: type | None) -> None:
        for i, layer in enumerate(self.layers):  # the same as _children's walk, without a generator per step
            layer._walk(f"{prefix}{i}.", out, seen, tensor)

    def forward(self, x: Input) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x if isinstance(x, Tensor) else Tensor(x)

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def architecture(self) -> dict[str, Any]:
        return {"type": "Sequential", "layers": [layer.architecture() for layer in self.layers]}

    @classmethod
    def _layer_classes(cls, architecture: Mapping[str, Any]) -> list[tuple[type[Any], Mapping[str, Any]]]:
        from scratchgrad.nn.files import model_class

        layers = architecture.get("layers")
        if not isinstance(layers, list):
            raise ValueError("Sequential needs a list of layers")
        found = []
        for spec in layers:
            if not isinstance(spec, Mapping) or not isinstance(spec.get("type"), str):
                raise ValueError(f"a Sequential layer is a dict with a 'type', got {spec!r}")
            found.append((model_class("tensor", spec["type"]), spec))
        return found

    @classmethod
    def parameter_shapes(cls, architecture: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {}
        for i, (layer_cls, spec) in enumerate(cls._layer_classes(architecture)):
            shapes.update({f"{i}.{name}": shape for name, shape in layer_cls.parameter_shapes(spec).items()})
        return shapes

    @classmethod
    def from_architecture(cls, architecture: Mapping[str, Any], dtype: Any = None) -> Sequential:
        return cls(*(layer_cls.from_architecture(spec, dtype) for layer_cls, spec in cls._layer_classes(architecture)))

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"


class MLP(MLPBase):
    """The scalar `scratchgrad.nn.MLP` on tensors: same arguments, defaults, meaning and weights.

    ``MLP(nin, nouts, activation='tanh', output_activation=None, *, init='uniform',
    seed=None, rng=None, dtype=float64)``: hidden layers use ``activation`` (one name, or
    a list of one per hidden layer), the last one ``output_activation`` (default: the
    last hidden layer's). For the same ``seed`` (or the same global
    `random` state) it draws exactly the scalar MLP's initial weights: neuron by neuron,
    its weights then its bias. Input (N, nin) -> output (N, nout); (nin,) -> (nout,).
    ``layers`` holds one `Linear` per layer: parameters ``layers.0.weight``, ``layers.0.bias``...
    """

    engine = "tensor"

    def _make_layer(self, nin: int, nout: int, activation: str, init: str, generator: Any, **options: Any) -> Linear:
        dtype = options.pop("dtype", np.float64)
        if options:
            raise TypeError(f"MLP got unexpected keyword arguments {sorted(options)}")
        return Linear.from_arrays(*_dense_arrays(generator, nin, nout, init, 1.0, True, float_dtype(dtype)))

    def forward(self, x: Input) -> Tensor:
        return self.layer_outputs(x)[-1]

    def layer_outputs(self, x: Input) -> list[Tensor]:
        """Every layer's output (after its activation) for ``x``, the first hidden layer's
        to the model's (``model(x)`` is the last): the values a picture of each neuron
        over many inputs needs. For a scalar MLP, use ``to_tensor(model).layer_outputs``."""
        out = x if isinstance(x, Tensor) else Tensor(x, dtype=self.layers[0].weight.data.dtype)
        outputs = []
        for layer, name in zip(self.layers, self.layer_activations()):
            out = ACTIVATIONS[name].tensor(layer(out))
            outputs.append(out)
        return outputs

    @classmethod
    def parameter_shapes(cls, architecture: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        sizes = mlp_sizes(architecture)
        shapes: dict[str, tuple[int, ...]] = {}
        for i in range(len(sizes) - 1):
            shapes[f"layers.{i}.weight"] = (sizes[i + 1], sizes[i])
            shapes[f"layers.{i}.bias"] = (sizes[i + 1],)
        return shapes

    @classmethod
    def from_architecture(cls, architecture: Mapping[str, Any], dtype: Any = None) -> MLP:
        """An MLP of this architecture with zero weights (no random draws): to load weights into."""
        shapes = cls.parameter_shapes(architecture)  # checks the sizes before anything is built
        extra = set(architecture) - {"nin", "nouts", "activation", "output_activation"}
        if extra:
            raise TypeError(f"MLP got unexpected architecture fields {sorted(extra)}")
        model = cls.__new__(cls)
        model._set_shape(
            architecture["nin"], architecture["nouts"], architecture.get("activation", "tanh"), architecture.get("output_activation")
        )
        target = float_dtype(dtype)
        model.layers = [
            Linear.from_arrays(np.zeros(shapes[f"layers.{i}.weight"], target), np.zeros(shapes[f"layers.{i}.bias"], target))
            for i in range(len(model.nouts))
        ]
        return model

    def _repr_extra(self) -> str:
        dtype = self.layers[0].weight.data.dtype
        return "" if dtype == np.float64 else f", dtype={str(dtype)!r}"


def mlp(
    nin: int,
    hidden: int | Sequence[int],
    nout: int,
    activation: str = "relu",
    output_activation: str | None = None,
    seed: Any = None,
    dtype: Any = np.float64,
    init: str = "uniform",
) -> Sequential:
    """A multi-layer perceptron nin -> hidden[0] -> ... -> nout as a `Sequential` of `Linear`
    layers (PyTorch's initial range) and activation modules.

    ``activation`` follows every hidden layer; ``output_activation`` (default None: none,
    i.e. logits/scores) follows the last. See `MLP` for the scalar MLP's twin.
    """
    sizes = [hidden] if isinstance(hidden, (int, np.integer)) else list(hidden)
    widths = [
        check_positive_int(nin, "mlp: nin"),
        *(check_positive_int(h, "mlp: hidden size") for h in sizes),
        check_positive_int(nout, "mlp: nout"),
    ]
    hidden_activation = check_activation(activation, "mlp: activation")
    last = None if output_activation is None else check_activation(output_activation, "mlp: output_activation")
    generator = as_random(seed, "mlp: seed")
    layers: list[Module] = []
    for i in range(len(widths) - 1):
        layers.append(Linear(widths[i], widths[i + 1], seed=generator, dtype=dtype, init=init))
        name = last if i == len(widths) - 2 else hidden_activation
        if name is not None and not is_identity(name):
            layers.append(activation_module(name))
    return Sequential(*layers)


for _model in (Linear, Sequential, MLP, ReLU, Tanh, Sigmoid, Identity):
    register_model(_model)
