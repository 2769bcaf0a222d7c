"""Layers on tensors: `Linear`, `Sequential`, activations, an `mlp` builder and losses.

The same bookkeeping as `scratchgrad.nn` (``parameters()``, ``named_parameters()``,
``zero_grad()``, ``state_dict()`` / ``load_state_dict()``, ``save`` / ``load``), with
a numpy array per weight matrix instead of a `Value` per weight:

    model = mlp(64, [128], 10, activation="relu", seed=0)   # 64 -> 128 -> 10
    logits = model(X)                                       # X: (batch, 64) array or Tensor
    loss = cross_entropy(logits, y)                         # y: integer class indices

`Linear` uses PyTorch's layout and initialisation: ``weight`` (out, in), ``bias`` (out,),
both drawn from U(-1/sqrt(in), 1/sqrt(in)); ``y = x @ weight.T + bias``. Parameters
have ``.data`` and ``.grad`` arrays, so `scratchgrad.optim`'s optimizers work unchanged.

Files are ``.npz`` archives read with ``allow_pickle=False``: one array per parameter
plus a JSON header (format, version, architecture, dtype). Saving is atomic and
bit-exact; a corrupt, truncated, foreign or mismatched file raises `ModelFileError`.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar, Union

import numpy as np

from scratchgrad import _io
from scratchgrad.nn import IncompatibleKeys, ModelFileError
from scratchgrad.tensor import Tensor, _resolve_dtype, cross_entropy, linear

PathLike = Union[str, "os.PathLike[str]"]
Input = Union[Tensor, np.ndarray]
Seed = Union[int, np.random.Generator, None]
M = TypeVar("M", bound="Module")

FORMAT_NAME = "scratchgrad.tensor_nn"
FORMAT_VERSION = 1
_HEADER_KEY = "__scratchgrad__"
INITS = ("uniform", "kaiming")


def _rng(seed: Seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}: {seed!r}")


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return int(value)


# ---- modules -------------------------------------------------------------------------------------


class Module:
    """Base class: parameter bookkeeping, state dicts and ``.npz`` save/load.

    Parameters are found by walking the instance's attributes in the order they were
    set: a `Tensor` with ``requires_grad=True``, a `Module`, or a list/tuple of them.
    Names follow the attribute path (``weight``, ``1.bias`` in a `Sequential`).
    """

    def forward(self, x: Input) -> Tensor:  # pragma: no cover - every module defines it
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def __call__(self, x: Input) -> Tensor:
        return self.forward(x)

    # -- parameters

    def _collect(self, prefix: str, out: list[tuple[str, Tensor]]) -> None:
        """Append ``(name, parameter)`` pairs to ``out`` (a plain loop: zero_grad runs every step)."""
        for name, attr in self.__dict__.items():
            if isinstance(attr, Tensor):
                if attr.requires_grad and name[0] != "_":
                    out.append((prefix + name, attr))
            elif isinstance(attr, Module):
                if name[0] != "_":
                    attr._collect(f"{prefix}{name}.", out)
            elif isinstance(attr, (list, tuple)) and name[0] != "_":
                for i, item in enumerate(attr):
                    if isinstance(item, Module):
                        item._collect(f"{prefix}{name}.{i}.", out)
                    elif isinstance(item, Tensor) and item.requires_grad:
                        out.append((f"{prefix}{name}.{i}", item))

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        """``[(dotted_name, parameter), ...]`` in the same order as ``parameters()``."""
        out: list[tuple[str, Tensor]] = []
        self._collect("", out)
        return out

    def parameters(self) -> list[Tensor]:
        """Every trainable tensor of the module, in a fixed order."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many numbers the parameters hold in total."""
        return sum(p.data.size for p in self.parameters())

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to None (PyTorch's default); backward() accumulates."""
        for _, p in self.named_parameters():
            p.grad = None

    # -- state dicts

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{dotted_name: array}`` for every parameter: copies, a snapshot of the weights."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy weights from ``state`` (as from `state_dict`) into this module.

        Keys must match exactly with ``strict=True``; shapes must always match. Arrays are
        converted to each parameter's dtype. Everything is checked before anything is
        written, so on any error the module is left untouched.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict expects a mapping name -> array, got {type(state).__name__}")
        named = self.named_parameters()
        own = {name for name, _ in named}
        missing = [name for name, _ in named if name not in state]
        unexpected = [key for key in state if key not in own]
        if strict and (missing or unexpected):
            parts = [f"state dict does not match this {type(self).__name__}"]
            if missing:
                parts.append(f"missing keys: {', '.join(missing)}")
            if unexpected:
                parts.append(f"unexpected keys: {', '.join(map(str, unexpected))}")
            raise ValueError("; ".join(parts))
        updates = []
        for name, p in named:
            if name not in state:
                continue
            value = state[name]
            array = value.data if isinstance(value, Tensor) else np.asarray(value)
            if array.dtype.kind not in "fiu":
                raise TypeError(f"state_dict[{name!r}] must hold numbers, got dtype {array.dtype}")
            if array.shape != p.data.shape:
                raise ValueError(f"state_dict[{name!r}] has shape {array.shape}, but the parameter has shape {p.data.shape}")
            updates.append((p, np.array(array, dtype=p.data.dtype, copy=True)))
        for p, array in updates:
            p.data = array
        return IncompatibleKeys(missing, unexpected)

    # -- files

    def architecture(self) -> dict[str, Any]:
        """A JSON-able description that rebuilds this module's shape (no weights)."""
        raise NotImplementedError(f"{type(self).__name__} does not describe its architecture, so it cannot be saved")

    def save(self, path: PathLike) -> None:
        """Write architecture + weights to ``path`` as an ``.npz`` archive, atomically.

        The file is written exactly at ``path`` (no suffix added). Arrays are stored as
        they are, so `load` gives back bit-identical weights. Non-finite weights (a
        diverged model) raise ValueError instead of being saved.
        """
        state = self.state_dict()
        for name, array in state.items():
            if not np.isfinite(array).all():
                raise ValueError(f"cannot save {type(self).__name__}: parameter {name} holds NaN or infinity")
        dtypes = {str(a.dtype) for a in state.values()}
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "architecture": self.architecture(),
            "dtype": dtypes.pop() if len(dtypes) == 1 else "mixed",
        }
        arrays: dict[str, Any] = {_HEADER_KEY: np.array(json.dumps(header)), **state}
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        _io.atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls: type[M], path: PathLike) -> M:
        """Build a module from a file written by `save` (``Module.load`` accepts any).

        Raises FileNotFoundError for a missing file and `ModelFileError` (a ValueError)
        naming the file and the problem for anything else that is wrong with it.
        """
        header, arrays = _read_npz(path)
        try:
            model = from_architecture(header["architecture"], dtype=_header_dtype(header, path))
        except (TypeError, ValueError, KeyError) as err:
            raise ModelFileError(path, f"invalid architecture {header.get('architecture')!r}: {err}") from None
        if cls is not Module and not isinstance(model, cls):
            raise ModelFileError(path, f"the file holds a {type(model).__name__}, not a {cls.__name__}")
        _load_arrays(model, arrays, path)
        return model  # type: ignore[return-value]

    def load_weights(self, path: PathLike) -> None:
        """Load the weights saved in ``path`` into this module (same architecture required).

        On any error this module is left untouched.
        """
        header, arrays = _read_npz(path)
        if header.get("architecture") != self.architecture():
            raise ModelFileError(
                path, f"the file holds {header.get('architecture')!r}, which does not match this model {self.architecture()!r}"
            )
        _load_arrays(self, arrays, path)


def _read_npz(path: PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON header and the parameter arrays of a saved model, checked."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"model file {os.fspath(path)} does not exist")
    if os.path.isdir(path):
        raise ModelFileError(path, "is a directory, not a model file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as err:
        # np.load raises OSError/ValueError for non-npz data, BadZipFile/EOFError for a
        # truncated archive, ValueError for pickled (object) arrays, which we never write.
        raise ModelFileError(path, f"not a readable .npz model file ({type(err).__name__}: {err})") from None
    raw = arrays.pop(_HEADER_KEY, None)
    if raw is None or raw.dtype.kind != "U" or raw.shape != ():
        raise ModelFileError(path, f"not a scratchgrad tensor model (no {_HEADER_KEY} header)")
    try:
        header = json.loads(str(raw))
    except json.JSONDecodeError as err:
        raise ModelFileError(path, f"corrupt header: {err}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFileError(path, f"not a {FORMAT_NAME} file (format {header.get('format') if isinstance(header, dict) else header!r})")
    version = header.get("version")
    if version != FORMAT_VERSION:
        raise ModelFileError(path, f"format version {version!r} is not supported (this scratchgrad reads version {FORMAT_VERSION})")
    return header, arrays


def _header_dtype(header: Mapping[str, Any], path: PathLike) -> Any:
    dtype = header.get("dtype", "float64")
    if dtype not in ("float64", "float32"):
        raise ModelFileError(path, f"unsupported dtype {dtype!r} (float64 or float32)")
    return dtype


def _load_arrays(model: Module, arrays: Mapping[str, np.ndarray], path: PathLike) -> None:
    for name, array in arrays.items():
        if array.dtype.kind != "f":
            raise ModelFileError(path, f"parameter {name} holds {array.dtype}, not floats")
        if not np.isfinite(array).all():
            raise ModelFileError(path, f"parameter {name} holds NaN or infinity")
    try:
        model.load_state_dict(arrays, strict=True)
    except (TypeError, ValueError) as err:
        raise ModelFileError(path, str(err)) from None


class Linear(Module):
    """y = x @ weight.T + bias: (..., in_features) -> (..., out_features), one fused node.

    ``init='uniform'`` (PyTorch's default): weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
    ``init='kaiming'``: weight ~ N(0, 2/in) (He et al., for relu), bias 0.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        seed: Seed = None,
        dtype: Any = np.float64,
        init: str = "uniform",
    ) -> None:
        self.in_features = _positive_int(in_features, "Linear: in_features")
        self.out_features = _positive_int(out_features, "Linear: out_features")
        if init not in INITS:
            raise ValueError(f"Linear: init must be one of {', '.join(map(repr, INITS))}, got {init!r}")
        target = _resolve_dtype(dtype)
        rng = _rng(seed)
        bound = 1.0 / math.sqrt(self.in_features)
        shape = (self.out_features, self.in_features)
        if init == "uniform":
            w = rng.uniform(-bound, bound, size=shape)
        else:
            w = rng.normal(0.0, math.sqrt(2.0 / self.in_features), size=shape)
        self.weight = Tensor(w, requires_grad=True, dtype=target)
        self.bias: Tensor | None = None
        if bias:
            b = rng.uniform(-bound, bound, size=self.out_features) if init == "uniform" else np.zeros(self.out_features)
            self.bias = Tensor(b, requires_grad=True, dtype=target)
        self._init = init

    def forward(self, x: Input) -> Tensor:
        return linear(x, self.weight, self.bias)

    def _collect(self, prefix: str, out: list[tuple[str, Tensor]]) -> None:
        if type(self) is not Linear:  # a subclass may add attributes: walk them all
            return super()._collect(prefix, out)
        if self.weight.requires_grad:
            out.append((prefix + "weight", self.weight))
        if self.bias is not None and self.bias.requires_grad:
            out.append((prefix + "bias", self.bias))

    def architecture(self) -> dict[str, Any]:
        return {"type": "Linear", "in_features": self.in_features, "out_features": self.out_features, "bias": self.bias is not None}

    def __repr__(self) -> str:
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None})"


class _Activation(Module):
    """An elementwise function with no parameters."""

    def architecture(self) -> dict[str, Any]:
        return {"type": type(self).__name__}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(_Activation):
    """max(0, x) elementwise."""

    def forward(self, x: Input) -> Tensor:
        return (x if isinstance(x, Tensor) else Tensor(x)).relu()


class Tanh(_Activation):
    """tanh(x) elementwise."""

    def forward(self, x: Input) -> Tensor:
        return (x if isinstance(x, Tensor) else Tensor(x)).tanh()


class Sigmoid(_Activation):
    """1 / (1 + e^-x) elementwise."""

    def forward(self, x: Input) -> Tensor:
        return (x if isinstance(x, Tensor) else Tensor(x)).sigmoid()


class Identity(_Activation):
    """x unchanged (the 'linear' activation)."""

    def forward(self, x: Input) -> Tensor:
        return x if isinstance(x, Tensor) else Tensor(x)


ACTIVATIONS: dict[str, type[_Activation]] = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "linear": Identity}


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(2, 16), ReLU(), Linear(16, 1))``."""

    def __init__(self, *layers: Module) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, not a tensor_nn Module")
        self.layers = list(layers)

    def _collect(self, prefix: str, out: list[tuple[str, Tensor]]) -> None:
        # PyTorch's names: "0.weight", "2.bias", ... (the layer's position, no attribute name).
        for i, layer in enumerate(self.layers):
            layer._collect(f"{prefix}{i}.", out)

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

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"


def from_architecture(architecture: Mapping[str, Any], dtype: Any = np.float64, seed: Seed = 0) -> Module:
    """Rebuild a module (with fresh weights) from what its ``architecture()`` returned."""
    if not isinstance(architecture, Mapping):
        raise TypeError(f"an architecture is a dict, got {type(architecture).__name__}")
    kind = architecture.get("type")
    if kind == "Sequential":
        layers = architecture.get("layers")
        if not isinstance(layers, list):
            raise ValueError("Sequential needs a list of layers")
        rng = _rng(seed)
        return Sequential(*(from_architecture(layer, dtype, rng) for layer in layers))
    if kind == "Linear":
        return Linear(
            architecture["in_features"], architecture["out_features"], bool(architecture.get("bias", True)), seed, dtype
        )
    for cls in ACTIVATIONS.values():
        if kind == cls.__name__:
            return cls()
    raise ValueError(f"unknown layer type {kind!r}")


def mlp(
    nin: int,
    hidden: int | Sequence[int],
    nout: int,
    activation: str = "relu",
    output_activation: str | None = None,
    seed: Seed = None,
    dtype: Any = np.float64,
    init: str = "uniform",
) -> Sequential:
    """A multi-layer perceptron: nin -> hidden[0] -> ... -> nout as a `Sequential`.

    ``activation`` ('relu', 'tanh', 'sigmoid', 'linear') follows every hidden layer;
    ``output_activation`` (default None: none, i.e. logits/scores) follows the last.
    """
    sizes = [hidden] if isinstance(hidden, (int, np.integer)) else list(hidden)
    widths = [_positive_int(nin, "mlp: nin"), *(_positive_int(h, "mlp: hidden size") for h in sizes), _positive_int(nout, "mlp: nout")]
    choices: tuple[tuple[str, str | None], ...] = (("activation", activation), ("output_activation", output_activation))
    for name, value in choices:
        if value is not None and value not in ACTIVATIONS:
            raise ValueError(f"mlp: {name} must be one of {', '.join(map(repr, ACTIVATIONS))}, got {value!r}")
    rng = _rng(seed)
    layers: list[Module] = []
    for i in range(len(widths) - 1):
        layers.append(Linear(widths[i], widths[i + 1], seed=rng, dtype=dtype, init=init))
        last = i == len(widths) - 2
        act = output_activation if last else activation
        if act is not None and act != "linear":
            layers.append(ACTIVATIONS[act]())
    return Sequential(*layers)


def load(path: PathLike) -> Module:
    """The module saved in ``path`` (see `Module.save`)."""
    return Module.load(path)


# ---- losses on tensors --------------------------------------------------------------------------


def _pair(scores: Input, targets: Any, op: str) -> tuple[Tensor, Tensor]:
    """Scores and targets of one shape; targets become a constant tensor (an array is not copied)."""
    s = scores if isinstance(scores, Tensor) else Tensor(scores)
    t = targets if isinstance(targets, Tensor) else Tensor.from_numpy(np.asarray(targets))
    if s.data.shape != t.data.shape:
        if s.data.ndim == 2 and s.data.shape[1] == 1 and t.data.shape == (s.data.shape[0],):
            t = t.reshape(-1, 1)  # one score per sample from a (N, 1) output: targets as a column
        else:
            raise ValueError(f"{op}: scores shape {s.shape} and targets shape {t.shape} differ")
    return s, t


def hinge_loss(scores: Input, targets: Any) -> Tensor:
    """mean(relu(1 - y * score)) for labels y of -1 / +1; scores (N,) or (N, 1)."""
    s, y = _pair(scores, targets, "hinge_loss")
    return (1.0 - y * s).relu().mean()


def mse_loss(predictions: Input, targets: Any) -> Tensor:
    """mean((prediction - target)^2)."""
    p, t = _pair(predictions, targets, "mse_loss")
    return ((p - t) ** 2).mean()


def binary_cross_entropy_with_logits(logits: Input, targets: Any) -> Tensor:
    """mean(relu(z) - z t + log(1 + e^-|z|)) for targets t in {0, 1}; stable for any logit z.

    With -1/+1 labels y, pass t = (y + 1) / 2.
    """
    z, t = _pair(logits, targets, "binary_cross_entropy_with_logits")
    if ((t.data != 0) & (t.data != 1)).any():
        raise ValueError("binary_cross_entropy_with_logits: targets must be 0 or 1 (for -1/+1 labels pass (y + 1) / 2)")
    return (z.relu() - z * t + ((-z.abs()).exp() + 1.0).log()).mean()


LOSSES: dict[str, Callable[[Tensor, Any], Tensor]] = {
    "ce": cross_entropy,
    "hinge": hinge_loss,
    "mse": mse_loss,
    "bce": binary_cross_entropy_with_logits,
}


__all__ = [
    "ACTIVATIONS",
    "Identity",
    "LOSSES",
    "Linear",
    "ModelFileError",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "from_architecture",
    "hinge_loss",
    "load",
    "mlp",
    "mse_loss",
]
