"""A way onward: carry a scratchgrad model to PyTorch or ONNX, and bring a PyTorch one back.

Every exporter first reduces a model to the same plain description, a list of steps
``("linear", W, b)`` (W of shape (out, in), b of shape (out,) or None) and
``("relu" | "tanh" | "sigmoid",)``, then writes that description in the target's terms.
Supported models: the scalar `scratchgrad.nn.MLP` (and `Layer`) and the tensor engine's
`Sequential` / `Linear` and activation modules.

torch, onnx and onnxruntime are optional extras, imported only when an exporter runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from scratchgrad import nn, tensor_nn
from scratchgrad._io import PathLike, atomic_write_bytes

if TYPE_CHECKING:  # pragma: no cover
    import onnx
    import torch

Step = Union[tuple[str, np.ndarray, Union[np.ndarray, None]], tuple[str]]
ACTIVATIONS = ("relu", "tanh", "sigmoid")
TORCH_EXPORT_FORMAT = "scratchgrad-torch-export"
TORCH_EXPORT_VERSION = 1


def _require(module: str, extra: str) -> Any:
    """Import an optional dependency, or say which extra brings it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"this needs the optional package '{module}': pip install 'scratchgrad[{extra}]'"
        ) from None


# ---- the plain description ---------------------------------------------------------------


def model_steps(model: object) -> list[Step]:
    """The model as ``[("linear", W, b), ("tanh",), ...]`` with float64 numpy weights."""
    if isinstance(model, nn.MLP):
        return [step for layer in model.layers for step in _scalar_layer_steps(layer)]
    if isinstance(model, nn.Layer):
        return _scalar_layer_steps(model)
    if isinstance(model, tensor_nn.Sequential):
        return [step for layer in model.layers for step in _tensor_module_steps(layer)]
    if isinstance(model, tensor_nn.Module):
        return _tensor_module_steps(model)
    raise TypeError(
        f"cannot export a {type(model).__name__}: export takes a scratchgrad.nn.MLP or Layer, "
        "or a tensor_nn Sequential / Linear"
    )


def _scalar_layer_steps(layer: nn.Layer) -> list[Step]:
    weights = np.array([[float(w.data) for w in neuron.w] for neuron in layer.neurons], dtype=np.float64)
    bias = np.array([float(neuron.b.data) for neuron in layer.neurons], dtype=np.float64)
    steps: list[Step] = [("linear", weights, bias)]
    if layer.activation != "linear":
        steps.append((layer.activation,))
    return steps


def _tensor_module_steps(module: object) -> list[Step]:
    if isinstance(module, tensor_nn.Linear):
        bias = None if module.bias is None else np.array(module.bias.data, dtype=np.float64)
        return [("linear", np.array(module.weight.data, dtype=np.float64), bias)]
    names = {tensor_nn.ReLU: "relu", tensor_nn.Tanh: "tanh", tensor_nn.Sigmoid: "sigmoid"}
    for cls, name in names.items():
        if type(module) is cls:
            return [(name,)]
    if type(module) is tensor_nn.Identity:
        return []
    if isinstance(module, tensor_nn.Sequential):
        return [step for layer in module.layers for step in _tensor_module_steps(layer)]
    raise TypeError(f"cannot export layer {module!r}: supported are Linear, ReLU, Tanh, Sigmoid, Identity")


# ---- PyTorch -------------------------------------------------------------------------------


def to_torch(model: object) -> torch.nn.Sequential:
    """The model as a float64 ``torch.nn.Sequential`` of ``Linear`` and activation modules.

    Same architecture, same weights bit for bit; outputs agree to float64 rounding.
    """
    torch = _require("torch", "torch")
    modules: list[Any] = []
    for step in model_steps(model):
        if step[0] == "linear":
            _, weights, bias = step  # type: ignore[misc]
            linear = torch.nn.Linear(weights.shape[1], weights.shape[0], bias=bias is not None, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(weights))
                if bias is not None:
                    linear.bias.copy_(torch.from_numpy(bias))
            modules.append(linear)
        else:
            modules.append({"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[step[0]]())
    return torch.nn.Sequential(*modules)


def _torch_steps(module: Any) -> list[Step]:
    torch = _require("torch", "torch")
    if isinstance(module, torch.nn.Linear):
        bias = None if module.bias is None else module.bias.detach().to(torch.float64).cpu().numpy().copy()
        return [("linear", module.weight.detach().to(torch.float64).cpu().numpy().copy(), bias)]
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(
            f"from_torch takes an nn.Sequential of Linear and ReLU/Tanh/Sigmoid/Identity, got {type(module).__name__}"
        )
    kinds = {torch.nn.ReLU: "relu", torch.nn.Tanh: "tanh", torch.nn.Sigmoid: "sigmoid"}
    steps: list[Step] = []
    for index, layer in enumerate(module):
        if isinstance(layer, (torch.nn.Linear, torch.nn.Sequential)):
            steps.extend(_torch_steps(layer))
        elif type(layer) in kinds:
            steps.append((kinds[type(layer)],))
        elif isinstance(layer, torch.nn.Identity):
            continue
        else:
            raise ValueError(
                f"from_torch: unsupported layer #{index} {type(layer).__name__} ({layer!r}); "
                "supported are Linear, ReLU, Tanh, Sigmoid and Identity"
            )
    return steps


def _layers_from_steps(steps: list[Step]) -> list[tuple[np.ndarray, np.ndarray | None, str]]:
    """Group steps as (W, b, activation) per Linear; refuses shapes that do not chain."""
    layers: list[tuple[np.ndarray, np.ndarray | None, str]] = []
    for position, step in enumerate(steps):
        if step[0] == "linear":
            _, weights, bias = step  # type: ignore[misc]
            if layers and layers[-1][0].shape[0] != weights.shape[1]:
                raise ValueError(
                    f"layer #{position}: Linear with {weights.shape[1]} inputs follows a layer "
                    f"with {layers[-1][0].shape[0]} outputs"
                )
            layers.append((weights, bias, "linear"))
        else:
            if not layers:
                raise ValueError(f"layer #{position}: the model must start with a Linear layer, not {step[0]}")
            weights, bias, activation = layers[-1]
            if activation != "linear":
                raise ValueError(f"layer #{position}: two activations in a row ({activation}, {step[0]})")
            layers[-1] = (weights, bias, step[0])
    if not layers:
        raise ValueError("the model has no Linear layer")
    return layers


def from_torch(module: Any, engine: str = "scalar") -> nn.MLP | tensor_nn.Sequential:
    """A PyTorch ``nn.Sequential`` of ``Linear`` + ReLU/Tanh/Sigmoid/Identity as scratchgrad.

    ``engine='scalar'`` gives an `nn.MLP` of `Value`s (to look inside with ``draw_dot``;
    its hidden layers must share one activation and have biases), ``engine='tensor'`` a
    tensor `Sequential`. Weights are copied as float64, exactly.
    """
    if engine not in ("scalar", "tensor"):
        raise ValueError(f"from_torch: engine must be 'scalar' or 'tensor', got {engine!r}")
    layers = _layers_from_steps(_torch_steps(module))
    if engine == "tensor":
        modules: list[tensor_nn.Module] = []
        for weights, bias, activation in layers:
            linear = tensor_nn.Linear(weights.shape[1], weights.shape[0], bias=bias is not None)
            linear.weight.data = weights.copy()
            if bias is not None and linear.bias is not None:
                linear.bias.data = bias.copy()
            modules.append(linear)
            if activation != "linear":
                modules.append(tensor_nn.ACTIVATIONS[activation]())
        return tensor_nn.Sequential(*modules)

    hidden = {activation for _, _, activation in layers[:-1]}
    if len(hidden) > 1:
        raise ValueError(
            f"from_torch: the scalar MLP has one activation for all hidden layers, this model mixes "
            f"{sorted(hidden)}; use engine='tensor'"
        )
    if any(bias is None for _, bias, _ in layers):
        raise ValueError("from_torch: the scalar MLP needs a bias in every Linear layer; use engine='tensor'")
    output_activation = layers[-1][2]
    activation = hidden.pop() if hidden else output_activation
    model = nn.MLP(
        int(layers[0][0].shape[1]),
        [int(w.shape[0]) for w, _, _ in layers],
        activation=activation,
        output_activation=output_activation,
        seed=0,
    )
    for layer, (weights, bias, _) in zip(model.layers, layers):
        assert bias is not None
        for neuron, row, b in zip(layer.neurons, weights.tolist(), bias.tolist()):
            for w, value in zip(neuron.w, row):
                w.data = value
            neuron.b.data = b
    return model


def save_torch(model: object, path: PathLike) -> Path:
    """Write the model for PyTorch: ``torch.save`` of its layer list and ``state_dict``.

    The file holds only tensors, strings and numbers, so ``load_torch`` (or
    ``torch.load(path, weights_only=True)``) reads it without unpickling any class.
    """
    torch = _require("torch", "torch")
    import io

    module = to_torch(model)
    layers: list[dict[str, Any]] = []
    for layer in module:
        if isinstance(layer, torch.nn.Linear):
            layers.append({"type": "Linear", "in_features": layer.in_features,
                           "out_features": layer.out_features, "bias": layer.bias is not None})
        else:
            layers.append({"type": type(layer).__name__})
    buffer = io.BytesIO()
    torch.save(
        {"format": TORCH_EXPORT_FORMAT, "version": TORCH_EXPORT_VERSION, "layers": layers,
         "state_dict": module.state_dict()},
        buffer,
    )
    return atomic_write_bytes(path, buffer.getvalue())


def load_torch(path: PathLike) -> torch.nn.Sequential:
    """Rebuild the ``nn.Sequential`` written by `save_torch` (safe: ``weights_only=True``)."""
    torch = _require("torch", "torch")
    try:
        payload = torch.load(Path(path), weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:
        raise ValueError(f"{path}: not a readable PyTorch file ({error})") from None
    if not isinstance(payload, dict) or payload.get("format") != TORCH_EXPORT_FORMAT:
        raise ValueError(f"{path}: not a scratchgrad PyTorch export")
    modules: list[Any] = []
    kinds = {"ReLU": torch.nn.ReLU, "Tanh": torch.nn.Tanh, "Sigmoid": torch.nn.Sigmoid}
    for spec in payload["layers"]:
        if spec["type"] == "Linear":
            modules.append(torch.nn.Linear(spec["in_features"], spec["out_features"], bias=spec["bias"],
                                           dtype=torch.float64))
        elif spec["type"] in kinds:
            modules.append(kinds[spec["type"]]())
        else:
            raise ValueError(f"{path}: unknown layer type {spec['type']!r}")
    module = torch.nn.Sequential(*modules)
    module.load_state_dict(payload["state_dict"])
    return module


# ---- ONNX ----------------------------------------------------------------------------------

ONNX_OPSET = 17
ONNX_IR_VERSION = 8  # the IR version that goes with opset 17; readable by every ONNX Runtime since 1.13


def to_onnx_model(model: object, dtype: str = "float32") -> onnx.ModelProto:
    """The model as an ONNX graph: input ``input`` (batch, nin) -> output ``output`` (batch, nout).

    Each Linear is one ``Gemm`` (``x @ W.T + b``), each activation its ONNX op.
    Checked with ``onnx.checker`` before it is returned.
    """
    onnx = _require("onnx", "onnx")
    from onnx import TensorProto, helper, numpy_helper

    if dtype not in ("float32", "float64"):
        raise ValueError(f"to_onnx: dtype must be 'float32' or 'float64', got {dtype!r}")
    np_dtype = np.float32 if dtype == "float32" else np.float64
    elem_type = TensorProto.FLOAT if dtype == "float32" else TensorProto.DOUBLE
    layers = _layers_from_steps(model_steps(model))
    nodes, initializers = [], []
    current = "input"
    for index, (weights, bias, activation) in enumerate(layers):
        inputs = [current, f"layer{index}.weight"]
        initializers.append(numpy_helper.from_array(weights.astype(np_dtype), f"layer{index}.weight"))
        if bias is not None:
            inputs.append(f"layer{index}.bias")
            initializers.append(numpy_helper.from_array(bias.astype(np_dtype), f"layer{index}.bias"))
        last = index == len(layers) - 1
        linear_out = "output" if last and activation == "linear" else f"layer{index}.linear"
        nodes.append(helper.make_node("Gemm", inputs, [linear_out], name=f"layer{index}.gemm", transB=1))
        current = linear_out
        if activation != "linear":
            act_out = "output" if last else f"layer{index}.{activation}"
            op = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}[activation]
            nodes.append(helper.make_node(op, [current], [act_out], name=f"layer{index}.{activation}"))
            current = act_out
    nin, nout = int(layers[0][0].shape[1]), int(layers[-1][0].shape[0])
    graph = helper.make_graph(
        nodes,
        "scratchgrad_model",
        [helper.make_tensor_value_info("input", elem_type, ["batch", nin])],
        [helper.make_tensor_value_info("output", elem_type, ["batch", nout])],
        initializers,
    )
    proto = helper.make_model(
        graph,
        producer_name="scratchgrad",
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
    )
    proto.ir_version = ONNX_IR_VERSION
    onnx.checker.check_model(proto, full_check=True)
    return proto


def to_onnx(model: object, path: PathLike, dtype: str = "float32") -> Path:
    """Write the model as an ONNX file (see `to_onnx_model`), atomically."""
    proto = to_onnx_model(model, dtype)
    return atomic_write_bytes(path, proto.SerializeToString())


def onnx_predict(path: PathLike, inputs: Any) -> np.ndarray:
    """Run an ONNX file in ONNX Runtime on a (batch, nin) array; returns (batch, nout)."""
    ort = _require("onnxruntime", "onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    declared = session.get_inputs()[0]
    dtype = np.float64 if declared.type == "tensor(double)" else np.float32
    batch = np.asarray(inputs, dtype=dtype)
    if batch.ndim == 1:
        batch = batch[None, :]
    expected = declared.shape[1]
    if batch.ndim != 2 or (isinstance(expected, int) and batch.shape[1] != expected):
        raise ValueError(f"onnx_predict: the model takes (batch, {expected}) inputs, got shape {batch.shape}")
    return np.asarray(session.run(None, {declared.name: batch})[0])


def load_model(path: PathLike) -> nn.Module | tensor_nn.Module:
    """A saved scratchgrad model: ``.json`` (scalar `nn.MLP`) or ``.npz`` (tensor module)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return nn.MLP.load(path)
    if suffix == ".npz":
        return tensor_nn.load(path)
    raise ValueError(f"{path}: unknown model file type {suffix!r} (expected .json or .npz)")
