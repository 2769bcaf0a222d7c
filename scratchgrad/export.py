"""A way onward: carry a scratchgrad model to PyTorch or ONNX, and bring a PyTorch one back.

Every exporter starts from the model's plain description (`scratchgrad.nn.describe`:
one ``DenseLayer(weight, bias, activation)`` per layer) and writes it in the target's
terms; `from_torch` reads a PyTorch module into a description and builds it with
`scratchgrad.nn.build`. Supported: the scalar `MLP` / `Layer` / `Neuron`, the tensor
`MLP`, `Sequential` and `Linear`, and any `ModelDescription`. Activations map to
PyTorch and ONNX through the ACTIVATIONS registry. A GPT (tensor or scalar) goes through
`scratchgrad.gpt_export`, from its config and its weights.

torch, onnx and onnxruntime are optional extras, imported only when an exporter runs.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from scratchgrad._io import PathLike, atomic_write_bytes
from scratchgrad.nn.activations import ACTIVATIONS, is_identity
from scratchgrad.nn.description import DenseLayer, ModelDescription, build, describe, from_steps
from scratchgrad.nn.files import ModelFileError
from scratchgrad.nn.module import Module

if TYPE_CHECKING:  # pragma: no cover
    import onnx
    import torch

Step = Union[tuple[str, np.ndarray, Union[np.ndarray, None]], tuple[str]]
TORCH_EXPORT_FORMAT = "scratchgrad-torch-export"
TORCH_EXPORT_VERSION = 1
MAX_TORCH_FILE_BYTES = 1024 * 1024 * 1024
MAX_TORCH_PARAMETERS = 50_000_000


def _require(module: str, extra: str) -> Any:
    """Import an optional dependency, or say how to install the extra that brings it."""
    from scratchgrad.extras import require

    return require(module, extra)


def _description(model: object) -> ModelDescription:
    try:
        return describe(model)
    except TypeError as error:
        raise TypeError(str(error).replace("cannot describe", "cannot export", 1)) from None


def model_steps(model: object) -> list[Step]:
    """The model as ``[("linear", W, b), ("tanh",), ...]`` with float64 numpy weights."""
    steps: list[Step] = []
    for layer in _description(model).layers:
        steps.append(("linear", layer.weight, layer.bias))
        if not is_identity(layer.activation):
            steps.append((layer.activation,))
    return steps


# ---- PyTorch -------------------------------------------------------------------------------


def _torch_activation(torch: Any, name: str) -> Any:
    return getattr(torch.nn, ACTIVATIONS[name].torch)()  # type: ignore[arg-type]


def to_torch(model: object) -> torch.nn.Sequential:
    """The model as a float64 ``torch.nn.Sequential`` of ``Linear`` and activation modules.

    Same architecture, same weights bit for bit; outputs agree to float64 rounding. A GPT
    becomes a ``torch.nn.Module`` of its architecture in its own dtype (tokens -> logits).
    """
    from scratchgrad import gpt_export

    if gpt_export.is_gpt(model):
        return gpt_export.to_torch(model)
    torch = _require("torch", "torch")
    modules: list[Any] = []
    for layer in _description(model).layers:
        linear = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.weight))
            if layer.bias is not None:
                linear.bias.copy_(torch.from_numpy(layer.bias))
        modules.append(linear)
        if not is_identity(layer.activation):
            modules.append(_torch_activation(torch, layer.activation))
    return torch.nn.Sequential(*modules)


def _torch_activation_names() -> dict[str, str]:
    """torch.nn class name -> ACTIVATIONS name ('Identity' -> 'linear')."""
    names = {entry.torch: name for name, entry in ACTIVATIONS.items() if entry.torch is not None}
    names["Identity"] = next(name for name in ACTIVATIONS if is_identity(name))
    return names


def _torch_steps(module: Any, torch: Any) -> list[Step]:
    if isinstance(module, torch.nn.Linear):
        bias = None if module.bias is None else module.bias.detach().to(torch.float64).cpu().numpy()
        return [("linear", module.weight.detach().to(torch.float64).cpu().numpy(), bias)]
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(
            f"from_torch takes an nn.Sequential of Linear and {'/'.join(_torch_activation_names())} layers, "
            f"got {type(module).__name__}"
        )
    activations = _torch_activation_names()
    steps: list[Step] = []
    for index, layer in enumerate(module):
        if isinstance(layer, (torch.nn.Linear, torch.nn.Sequential)):
            steps.extend(_torch_steps(layer, torch))
        elif type(layer).__name__ in activations and type(layer) is getattr(torch.nn, type(layer).__name__):
            steps.append((activations[type(layer).__name__],))
        else:
            raise ValueError(
                f"from_torch: unsupported layer #{index} {type(layer).__name__} ({layer!r}); "
                f"supported are Linear, {', '.join(activations)}"
            )
    return steps


def torch_description(module: Any) -> ModelDescription:
    """The `ModelDescription` of a PyTorch ``nn.Sequential`` of Linear and activation layers."""
    torch = _require("torch", "torch")
    return from_steps(_torch_steps(module, torch))


def from_torch(module: Any, engine: str = "scalar") -> Module:
    """A PyTorch ``nn.Sequential`` of ``Linear`` + activation layers as a scratchgrad model.

    ``engine='scalar'`` gives an `nn.MLP` of `Value`s (to look inside with ``draw_dot``;
    its hidden layers must share one activation and have biases), ``engine='tensor'``
    the tensor `MLP` (or a `Sequential` when the layers do not fit an MLP's shape).
    Weights are copied as float64, exactly.
    """
    if engine not in ("scalar", "tensor"):
        raise ValueError(f"from_torch: engine must be 'scalar' or 'tensor', got {engine!r}")
    description = torch_description(module)
    try:
        return build(description, engine)
    except ValueError as error:
        raise ValueError(f"from_torch: {error}") from None


def _torch_layers(description: ModelDescription) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    for layer in description.layers:
        layers.append({"type": "Linear", "in_features": layer.in_features, "out_features": layer.out_features, "bias": layer.bias is not None})
        if not is_identity(layer.activation):
            layers.append({"type": ACTIVATIONS[layer.activation].torch})
    return layers


def save_torch(model: object, path: PathLike) -> Path:
    """Write the model for PyTorch: ``torch.save`` of its layer list and ``state_dict``.

    The file holds only tensors, strings and numbers, so `load_torch` (or
    ``torch.load(path, weights_only=True)``) reads it without unpickling any class.
    """
    from scratchgrad import gpt_export

    if gpt_export.is_gpt(model):
        raise TypeError("save_torch writes dense networks; for a GPT, torch.save(to_torch(model).state_dict(), path)")
    torch = _require("torch", "torch")
    import io

    description = _description(model)
    buffer = io.BytesIO()
    torch.save(
        {
            "format": TORCH_EXPORT_FORMAT,
            "version": TORCH_EXPORT_VERSION,
            "layers": _torch_layers(description),
            "state_dict": to_torch(description).state_dict(),
        },
        buffer,
    )
    return atomic_write_bytes(path, buffer.getvalue())


def _torch_payload(path: PathLike, torch: Any) -> Any:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"PyTorch file not found: {os.fspath(path)}") from None
    except OSError as error:
        raise ModelFileError(path, f"cannot read the file: {error.strerror or error}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ModelFileError(path, "is not a regular file")
    if info.st_size > MAX_TORCH_FILE_BYTES:
        raise ModelFileError(path, f"the file is {info.st_size:,} bytes; at most {MAX_TORCH_FILE_BYTES:,} are read")
    try:
        return torch.load(Path(path), weights_only=True)
    except PermissionError:
        raise ModelFileError(path, "cannot read the file: permission denied") from None
    except Exception as error:  # torch raises many kinds for a file that is not its own
        raise ModelFileError(path, f"not a readable PyTorch file ({type(error).__name__}: {error})") from None


def _checked_size(spec: dict[str, Any], key: str, index: int, path: PathLike) -> int:
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelFileError(path, f"layer #{index}: {key} must be a positive int, got {value!r}")
    return value


def load_torch(path: PathLike) -> torch.nn.Sequential:
    """Rebuild the ``nn.Sequential`` written by `save_torch` (safe: ``weights_only=True``).

    The file is checked before anything is built: format and version, every layer
    against the tensors stored for it (shapes, finite numbers), and sizes, so a small
    file cannot make it allocate a large model. Anything wrong is a `ModelFileError`.
    """
    torch = _require("torch", "torch")
    payload = _torch_payload(path, torch)
    if not isinstance(payload, dict) or payload.get("format") != TORCH_EXPORT_FORMAT:
        raise ModelFileError(path, "not a scratchgrad PyTorch export")
    version = payload.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version != TORCH_EXPORT_VERSION:
        newer = " (written by a newer scratchgrad)" if isinstance(version, int) and version > TORCH_EXPORT_VERSION else ""
        raise ModelFileError(path, f"unsupported export version {version!r}; this scratchgrad reads version {TORCH_EXPORT_VERSION}{newer}")
    layers, state = payload.get("layers"), payload.get("state_dict")
    if not isinstance(layers, list) or not layers:
        raise ModelFileError(path, "the file has no 'layers' list")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFileError(path, "the file has no 'state_dict' of tensors")
    activations = _torch_activation_names()
    steps: list[Step] = []
    used: set[str] = set()
    total = 0
    for index, spec in enumerate(layers):
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind == "Linear":
            shapes: dict[str, tuple[int, ...]] = {
                "weight": (_checked_size(spec, "out_features", index, path), _checked_size(spec, "in_features", index, path))
            }
            if spec.get("bias", True):
                shapes["bias"] = (shapes["weight"][0],)
            arrays: dict[str, np.ndarray | None] = {"bias": None}
            for name, shape in shapes.items():
                key = f"{index}.{name}"
                tensor = state.get(key)
                if tensor is None or tuple(tensor.shape) != shape:
                    found = "missing" if tensor is None else f"of shape {tuple(tensor.shape)}"
                    raise ModelFileError(path, f"layer #{index} is Linear{shapes['weight'][::-1]} but its {name} is {found}, not {shape}")
                total += math.prod(shape)
                if total > MAX_TORCH_PARAMETERS:
                    raise ModelFileError(path, f"the model holds more than {MAX_TORCH_PARAMETERS:,} numbers")
                if not bool(torch.isfinite(tensor).all()):
                    raise ModelFileError(path, f"layer #{index}'s {name} holds NaN or infinity")
                arrays[name] = tensor.detach().to(torch.float64).cpu().numpy()
                used.add(key)
            steps.append(("linear", arrays["weight"], arrays["bias"]))  # type: ignore[arg-type]
        elif isinstance(kind, str) and kind in activations:
            steps.append((activations[kind],))
        else:
            raise ModelFileError(path, f"layer #{index}: unknown layer type {kind!r}")
    extra = sorted(set(state) - used)
    if extra:
        raise ModelFileError(path, f"unexpected tensors in the state_dict: {', '.join(extra[:8])}")
    try:
        return to_torch(from_steps(steps))
    except (TypeError, ValueError) as error:
        raise ModelFileError(path, str(error)) from None


# ---- ONNX ----------------------------------------------------------------------------------

ONNX_OPSET = 17
ONNX_IR_VERSION = 8  # the IR version that goes with opset 17; readable by every ONNX Runtime since 1.13


def to_onnx_model(model: object, dtype: str = "float32") -> onnx.ModelProto:
    """The model as an ONNX graph: input ``input`` (batch, nin) -> output ``output`` (batch, nout).

    Each layer is one ``Gemm`` (``x @ W.T + b``) and its activation's ONNX operator.
    Checked with ``onnx.checker`` before it is returned. A GPT's graph takes ``tokens``
    (batch, T) int64 and gives ``logits`` (batch, T, vocab) (see `scratchgrad.gpt_export`).
    """
    from scratchgrad import gpt_export

    if gpt_export.is_gpt(model):
        return gpt_export.to_onnx_model(model, dtype, ONNX_OPSET, ONNX_IR_VERSION)
    onnx = _require("onnx", "onnx")
    from onnx import TensorProto, helper, numpy_helper

    if dtype not in ("float32", "float64"):
        raise ValueError(f"to_onnx: dtype must be 'float32' or 'float64', got {dtype!r}")
    np_dtype = np.float32 if dtype == "float32" else np.float64
    elem_type = TensorProto.FLOAT if dtype == "float32" else TensorProto.DOUBLE
    description = _description(model)
    nodes, initializers = [], []
    current = "input"
    for index, layer in enumerate(description.layers):
        inputs = [current, f"layer{index}.weight"]
        initializers.append(numpy_helper.from_array(layer.weight.astype(np_dtype), f"layer{index}.weight"))
        if layer.bias is not None:
            inputs.append(f"layer{index}.bias")
            initializers.append(numpy_helper.from_array(layer.bias.astype(np_dtype), f"layer{index}.bias"))
        last = index == len(description.layers) - 1
        identity = is_identity(layer.activation)
        linear_out = "output" if last and identity else f"layer{index}.linear"
        nodes.append(helper.make_node("Gemm", inputs, [linear_out], name=f"layer{index}.gemm", transB=1))
        current = linear_out
        if not identity:
            act_out = "output" if last else f"layer{index}.{layer.activation}"
            op = ACTIVATIONS[layer.activation].onnx
            if op is None:
                raise ValueError(f"to_onnx: activation {layer.activation!r} has no ONNX operator in ACTIVATIONS")
            nodes.append(helper.make_node(op, [current], [act_out], name=f"layer{index}.{layer.activation}"))
            current = act_out
    graph = helper.make_graph(
        nodes,
        "scratchgrad_model",
        [helper.make_tensor_value_info("input", elem_type, ["batch", description.nin])],
        [helper.make_tensor_value_info("output", elem_type, ["batch", description.nout])],
        initializers,
    )
    proto = helper.make_model(graph, producer_name="scratchgrad", opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    proto.ir_version = ONNX_IR_VERSION
    onnx.checker.check_model(proto, full_check=True)
    return proto


def to_onnx(model: object, path: PathLike, dtype: str = "float32") -> Path:
    """Write the model as an ONNX file (see `to_onnx_model`), atomically."""
    proto = to_onnx_model(model, dtype)
    return atomic_write_bytes(path, proto.SerializeToString())


def onnx_predict(path: PathLike, inputs: Any) -> np.ndarray:
    """Run an ONNX file in ONNX Runtime on a (batch, nin) array; returns (batch, nout). A
    GPT's file takes token ids (batch, T) (or (T,)) and returns logits (batch, T, vocab)."""
    ort = _require("onnxruntime", "onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    declared = session.get_inputs()[0]
    if declared.type == "tensor(int64)":  # token ids
        tokens = np.asarray(inputs)
        if tokens.dtype.kind not in "iu" or tokens.ndim not in (1, 2):
            raise ValueError(f"onnx_predict: the model takes token ids (batch, T), got {tokens.dtype} {tokens.shape}")
        return np.asarray(session.run(None, {declared.name: np.atleast_2d(tokens).astype(np.int64)})[0])
    dtype = np.float64 if declared.type == "tensor(double)" else np.float32
    batch = np.asarray(inputs, dtype=dtype)
    if batch.ndim == 1:
        batch = batch[None, :]
    expected = declared.shape[1]
    if batch.ndim != 2 or (isinstance(expected, int) and batch.shape[1] != expected):
        raise ValueError(f"onnx_predict: the model takes (batch, {expected}) inputs, got shape {batch.shape}")
    return np.asarray(session.run(None, {declared.name: batch})[0])


def load_model(path: PathLike) -> Module:
    """A saved scratchgrad model of either engine (JSON or ``.npz``; see `scratchgrad.nn.load`)."""
    return Module.load(path)
