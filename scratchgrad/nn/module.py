"""`Module`: the one base class of every model, on `Value`s and on `Tensor`s alike.

A module is called like a function, ``model(x)``, which runs its ``forward(x)``. Its
parameters are found by one walk over its attributes, in the order they were set:

- a `Value` (the scalar engine: one number per parameter),
- a `Tensor` with ``requires_grad=True`` (the tensor engine: an array per parameter),
- another `Module`, whose parameters follow under its attribute name,
- a list or tuple of any of these, named by position (``layers.0.neurons.1.w.2``).

Attributes whose name starts with ``_`` are skipped. A parameter reachable twice (a
shared weight) is listed once, under its first name, as in PyTorch.

On top of the walk: ``named_parameters``, ``parameters``, ``num_parameters``,
``zero_grad`` (a `Value`'s grad becomes 0.0, a `Tensor`'s None), ``state_dict`` /
``load_state_dict`` and files (``save``, ``Module.load``, ``load_weights``; see
`scratchgrad.nn.files`).
"""

from __future__ import annotations

import math
import numbers
import os
import sys
from typing import Any, ClassVar, Iterable, Iterator, Mapping, NamedTuple, Sequence, TypeVar, Union

from scratchgrad.engine import Value

PathLike = Union[str, "os.PathLike[str]"]
M = TypeVar("M", bound="Module")


class IncompatibleKeys(NamedTuple):
    """What `Module.load_state_dict(..., strict=False)` did not match (as in PyTorch)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def tensor_type() -> type | None:
    """The `Tensor` class if the tensor engine is loaded; without it no Tensor can exist."""
    module = sys.modules.get("scratchgrad.tensor")
    return None if module is None else module.Tensor


def is_tensor(x: object) -> bool:
    """True for a `Tensor` (without importing the tensor engine, or numpy, to find out)."""
    cls = tensor_type()
    return cls is not None and isinstance(x, cls)


def zero_grad(parameters: Iterable[Any]) -> None:
    """The one rule for clearing gradients: a `Value`'s grad becomes 0.0, anything else's
    (a `Tensor`, an array parameter) None, as PyTorch's ``set_to_none``.

    ``backward()`` accumulates into leaves, so clear them before each one.
    """
    for p in parameters:
        p.grad = 0.0 if isinstance(p, Value) else None


def check_positive_int(value: object, what: str) -> int:
    """``value`` as an int >= 1 (numpy integers too), else a ValueError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return int(value)


def float_dtype(dtype: Any = None) -> Any:
    """The numpy dtype of parameters and data: float64 (None, the default) or float32, in any
    spelling numpy accepts; a TypeError for anything else."""
    import numpy as np

    if dtype is None:
        return np.dtype(np.float64)
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float64 or float32, got {dtype!r}") from None
    if resolved not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise TypeError(f"dtype must be float64 or float32, got {resolved}")
    return resolved


def _shorten_list(names: Sequence[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (" ..." if len(names) > limit else "")


def key_mismatch_message(owner: str, missing: Sequence[str], unexpected: Sequence[str]) -> str:
    """'state dict does not match this MLP; missing keys (1): a; unexpected keys (2): b, c'."""
    parts = [f"state dict does not match this {owner}"]
    if missing:
        parts.append(f"missing keys ({len(missing)}): {_shorten_list(missing)}")
    if unexpected:
        parts.append(f"unexpected keys ({len(unexpected)}): {_shorten_list([str(k) for k in unexpected])}")
    return "; ".join(parts)


def _scalar_entry(value: object, key: str) -> float:
    """A state-dict entry for a `Value` parameter, as a finite float."""
    if isinstance(value, Value):
        value = value.data
    if is_tensor(value):
        value = getattr(value, "data")
    if getattr(value, "shape", None) == ():  # a 0-d numpy array
        value = value.item()  # type: ignore[attr-defined]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"state_dict[{key!r}] must be a number, got {type(value).__name__}: {value!r}")
    try:
        number = float(value)  # ints and numpy scalars too
    except OverflowError:  # an int beyond float64, e.g. 10**400 in a JSON file
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"state_dict[{key!r}] is {value!r}; parameters must be finite numbers")
    return number


def _tensor_entry(value: Any, key: str, parameter: Any) -> Any:
    """A state-dict entry for a `Tensor` parameter, as a finite array of its shape and dtype."""
    import numpy as np

    array = value.data if (is_tensor(value) or isinstance(value, Value)) else value
    array = np.asarray(array)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"state_dict[{key!r}] must hold numbers, got dtype {array.dtype}")
    if array.shape != parameter.data.shape:
        raise ValueError(f"state_dict[{key!r}] has shape {array.shape}, but the parameter has shape {parameter.data.shape}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"state_dict[{key!r}] holds NaN or infinity; parameters must be finite numbers")
    return np.array(array, dtype=parameter.data.dtype, copy=True)


class Module:
    """The base class of every model: ``model(x)`` runs ``forward(x)``; see the module docstring.

    ``engine`` is 'scalar' or 'tensor' for the library's classes; for a module of your
    own it is found from its parameters.
    """

    engine: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__ and "__call__" not in cls.__dict__:
            # model(x) is forward(x) itself: no extra call per neuron on the scalar engine's hot path.
            cls.__call__ = cls.__dict__["forward"]  # type: ignore[method-assign]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward(x) (or __call__)")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- the one parameter walk

    def _children(self) -> Iterator[tuple[str, Any]]:
        """The ``(name, attribute)`` pairs the walk visits: public attributes in the order set."""
        for name, attr in self.__dict__.items():
            if name[0] != "_":
                yield name, attr

    def _walk(self, prefix: str, out: list[tuple[str, Any]], seen: set[int], tensor: type | None) -> None:
        # The walk runs at every zero_grad(): the usual case reads __dict__ without a generator.
        children = self.__dict__.items() if type(self)._children is Module._children else self._children()
        for name, attr in children:
            if name[0] != "_":
                _visit(prefix + name, attr, out, seen, tensor)

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Any]]:
        """``[(dotted_name, parameter), ...]`` in the same order as ``parameters()``."""
        out: list[tuple[str, Any]] = []
        self._walk(prefix, out, set(), tensor_type())
        return out

    def parameters(self) -> list[Any]:
        """Every trainable `Value` or `Tensor` of the module, in a fixed order."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many numbers the parameters hold (a `Value` is one, a `Tensor` its size)."""
        return sum(1 if isinstance(p, Value) else int(p.data.size) for p in self.parameters())

    def zero_grad(self) -> None:
        """Clear every parameter's gradient (0.0 for a `Value`, None for a `Tensor`); see `zero_grad`."""
        zero_grad(self.parameters())

    def model_engine(self) -> str:
        """'scalar' (its parameters are Values) or 'tensor' (Tensors); a ValueError if mixed."""
        if self.engine is not None:
            return self.engine
        kinds = {"scalar" if isinstance(p, Value) else "tensor" for p in self.parameters()}
        if len(kinds) > 1:
            raise ValueError(f"{type(self).__name__} mixes Value and Tensor parameters; a model is on one engine")
        return kinds.pop() if kinds else "tensor"

    # -- state dicts

    def state_dict(self) -> dict[str, Any]:
        """``{dotted_name: weight}``: a float per `Value`, an array copy per `Tensor`."""
        return {name: float(p.data) if isinstance(p, Value) else p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy weights from ``state`` (as from `state_dict`) into this module.

        With ``strict=True`` (default) the keys must match exactly; a ValueError lists the
        missing and unexpected ones. Every entry must be a finite number (an array of the
        parameter's shape for a `Tensor`, converted to its dtype). Everything is checked
        before anything is written, so on any error the module is left untouched.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict expects a mapping name -> weight, got {type(state).__name__}")
        named = self.named_parameters()
        own = {name for name, _ in named}
        missing = [name for name, _ in named if name not in state]
        unexpected = [key for key in state if key not in own]
        if strict and (missing or unexpected):
            raise ValueError(key_mismatch_message(type(self).__name__, missing, unexpected))
        updates = [
            (p, _scalar_entry(state[name], name) if isinstance(p, Value) else _tensor_entry(state[name], name, p))
            for name, p in named
            if name in state
        ]
        for p, value in updates:
            p.data = value
        return IncompatibleKeys(missing, unexpected)

    # -- files (scratchgrad.nn.files)

    def architecture(self) -> dict[str, Any]:
        """The JSON-able constructor arguments that rebuild this module's shape (no weights)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not describe its architecture: save() still writes its weights, "
            "and load_weights() reads them into a model you build"
        )

    def save(self, path: PathLike) -> None:
        """Write the architecture and the weights to ``path``, atomically and bit-exactly:
        JSON for a model of Values, an ``.npz`` archive for a model of Tensors (the file is
        written exactly at ``path``; no suffix is added). See `scratchgrad.nn.files`."""
        from scratchgrad.nn import files

        files.save(self, path)

    @classmethod
    def load(cls: type[M], path: PathLike) -> M:
        """The model saved in ``path``. ``Module.load`` loads any saved model; ``MLP.load``
        (etc.) insists on that class. FileNotFoundError for a missing file, `ModelFileError`
        (a ValueError naming the file and the problem) for anything wrong with it."""
        from scratchgrad.nn import files

        return files.load(path, expected=None if cls is Module else cls)  # type: ignore[return-value]

    def load_weights(self, path: PathLike) -> None:
        """Load the weights saved in ``path`` into this module (same architecture required).

        On any error this module is left untouched.
        """
        from scratchgrad.nn import files

        files.load_weights(self, path)


def _visit(path: str, attr: Any, out: list[tuple[str, Any]], seen: set[int], tensor: type | None) -> None:
    kind = type(attr)
    if kind is Value or kind is tensor or isinstance(attr, Value) or (tensor is not None and isinstance(attr, tensor)):
        if (kind is Value or getattr(attr, "requires_grad")) and id(attr) not in seen:
            seen.add(id(attr))
            out.append((path, attr))
    elif isinstance(attr, Module):
        attr._walk(path + ".", out, seen, tensor)
    elif isinstance(attr, (list, tuple)):
        for i, item in enumerate(attr):
            _visit(f"{path}.{i}", item, out, seen, tensor)
