"""Neurons, layers and multi-layer perceptrons built from `Value`s, as in the seed.

``Neuron(nin)`` computes ``activation(w1*x1 + ... + wn*xn + b)``; a ``Layer`` is a list
of neurons that all see the same input; an ``MLP`` chains layers. The seed's cells run
unchanged on these classes and give the seed's numbers for the same ``random.seed``:

    from scratchgrad.nn import MLP
    n = MLP(3, [4, 4, 1])          # tanh everywhere, weights and biases ~ U(-1, 1)
    n([2.0, 3.0, -1.0])            # a single Value, since the last layer has one neuron

Every module has ``parameters()``, ``named_parameters()``, ``zero_grad()``,
``state_dict()`` / ``load_state_dict()``, and saves to / loads from a JSON file
(``model.save(path)``, ``MLP.load(path)``): the architecture, the weights written with
``repr`` so the round trip is bit-exact, and a format version. Never pickle.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import random
from typing import Any, Iterator, Mapping, NamedTuple, Protocol, Sequence, TypeVar, Union

from scratchgrad import _io
from scratchgrad.engine import Value, weighted_sum

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
INITS = ("uniform", "kaiming")
FORMAT_NAME = "scratchgrad.nn"
FORMAT_VERSION = 1

Input = Union[Value, int, float]
PathLike = Union[str, "os.PathLike[str]"]
M = TypeVar("M", bound="Module")


class RandomSource(Protocol):
    """Anything with ``uniform(a, b)``: the `random` module itself or a `random.Random`."""

    def uniform(self, a: float, b: float) -> float: ...


class ModelFileError(ValueError):
    """A model file that cannot be loaded: corrupt, truncated, wrong format or architecture.

    ``path`` is the file; the message names the file and what is wrong with it.
    """

    def __init__(self, path: PathLike, problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class IncompatibleKeys(NamedTuple):
    """What `Module.load_state_dict(..., strict=False)` did not match (as in PyTorch)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


# ---- helpers ------------------------------------------------------------------------------


def _check_positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return value


def _check_activation(name: object, what: str = "activation") -> str:
    if name not in ACTIVATIONS:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, ACTIVATIONS))}, got {name!r}")
    return str(name)


def _random_source(seed: int | None, rng: RandomSource | None) -> RandomSource:
    """The generator weights are drawn from: ``rng``, else ``Random(seed)``, else global ``random``."""
    if seed is not None and rng is not None:
        raise ValueError("give either seed= or rng=, not both")
    if rng is not None:
        if not callable(getattr(rng, "uniform", None)):
            raise TypeError(f"rng must have a uniform(a, b) method (e.g. random.Random), got {type(rng).__name__}")
        return rng
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}: {seed!r}")
        return random.Random(seed)
    return random  # the seed's behaviour: random.seed(k) makes the weights reproducible


def _as_parameter_value(value: object, key: str) -> float:
    """A state-dict entry as a finite float (a `Value` counts by its ``data``)."""
    if isinstance(value, Value):
        value = value.data
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"state_dict[{key!r}] must be a number, got {type(value).__name__}: {value!r}")
    try:
        number = float(value)  # ints and numpy scalars too
    except OverflowError:  # an int beyond float64, e.g. 10**400 in a JSON file
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"state_dict[{key!r}] is {value!r}; parameters must be finite numbers")
    return number


# ---- modules ------------------------------------------------------------------------------


class Module:
    """Base class: parameter bookkeeping, state dicts and JSON save/load.

    Parameters are found by walking the instance's attributes in the order they were
    set: a `Value`, a `Module`, or a list/tuple of them. Their dotted names follow the
    attribute path, e.g. ``layers.0.neurons.1.w.2``. Attributes starting with ``_``
    are skipped.
    """

    def __call__(self, x: Any) -> Any:  # pragma: no cover - every module defines it
        raise NotImplementedError(f"{type(self).__name__} must define __call__")

    # -- parameters

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Value]]:
        """``[(dotted_name, parameter), ...]`` in the same order as ``parameters()``."""
        return list(self._walk(prefix))

    def _walk(self, prefix: str) -> Iterator[tuple[str, Value]]:
        for name, attr in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(attr, Value):
                yield prefix + name, attr
            elif isinstance(attr, Module):
                yield from attr._walk(f"{prefix}{name}.")
            elif isinstance(attr, (list, tuple)):
                for i, item in enumerate(attr):
                    if isinstance(item, Value):
                        yield f"{prefix}{name}.{i}", item
                    elif isinstance(item, Module):
                        yield from item._walk(f"{prefix}{name}.{i}.")

    def parameters(self) -> list[Value]:
        """Every trainable `Value` of the module, in a fixed order."""
        return [p for _, p in self._walk("")]

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0 (``backward()`` accumulates into leaves)."""
        for p in self.parameters():
            p.grad = 0.0

    # -- state dicts

    def state_dict(self) -> dict[str, float]:
        """``{dotted_name: float}`` for every parameter: a snapshot of the weights."""
        return {name: p.data for name, p in self._walk("")}

    def load_state_dict(self, state: Mapping[str, object], strict: bool = True) -> IncompatibleKeys:
        """Copy weights from ``state`` (as from `state_dict`) into this module.

        With ``strict=True`` (default) the keys must match exactly; otherwise a ValueError
        lists the missing and unexpected keys. Every entry is checked before any weight
        is written, so on any error the module is left untouched.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict expects a mapping name -> number, got {type(state).__name__}")
        named = self.named_parameters()
        own = {name for name, _ in named}
        missing = [name for name, _ in named if name not in state]
        unexpected = [key for key in state if key not in own]
        if strict and (missing or unexpected):
            raise ValueError(_key_mismatch_message(type(self).__name__, missing, unexpected))
        new_values = [(p, _as_parameter_value(state[name], name)) for name, p in named if name in state]
        for p, value in new_values:
            p.data = value
        return IncompatibleKeys(missing, unexpected)

    # -- files

    def architecture(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this module's shape (no weights)."""
        raise NotImplementedError(f"{type(self).__name__} does not describe its architecture, so it cannot be saved")

    def save(self, path: PathLike) -> None:
        """Write architecture + weights as JSON to ``path``, atomically (temp file + rename).

        Floats are written with ``repr``, so ``load`` gives back bit-identical weights.
        Non-finite weights (a diverged model) raise ValueError instead of writing a file
        that could not be loaded.
        """
        for name, value in self.state_dict().items():
            if not math.isfinite(value):
                raise ValueError(f"cannot save {type(self).__name__}: parameter {name} is {value!r}")
        document = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "model": type(self).__name__,
            "architecture": self.architecture(),
            "state_dict": self.state_dict(),
        }
        text = json.dumps(document, indent=1, allow_nan=False) + "\n"
        _io.atomic_write_text(path, text)

    @classmethod
    def load(cls: type[M], path: PathLike) -> M:
        """Build a module from a file written by `save`. ``Module.load`` accepts any saved
        module; ``MLP.load`` (etc.) insists on that class.

        Raises FileNotFoundError for a missing file and `ModelFileError` (a ValueError)
        naming the file and the problem for a corrupt, truncated, foreign, newer-version
        or inconsistent file.
        """
        model_cls, architecture, state = _read_model_file(path)
        if cls is not Module and model_cls is not cls:
            raise ModelFileError(path, f"the file holds model type '{model_cls.__name__}', expected '{cls.__name__}'")
        try:
            model = model_cls._from_architecture(architecture)
        except (TypeError, ValueError) as err:
            raise ModelFileError(path, f"invalid architecture {architecture!r}: {err}") from None
        _load_file_state(model, state, path)
        return model  # type: ignore[return-value]

    def load_weights(self, path: PathLike) -> None:
        """Load the weights saved in ``path`` into this existing module.

        The file must describe the same architecture; on any error this module is left
        untouched.
        """
        model_cls, architecture, state = _read_model_file(path)
        if model_cls is not type(self) or architecture != self.architecture():
            raise ModelFileError(
                path,
                f"the file holds {model_cls.__name__}({_describe(architecture)}), "
                f"which does not match this {type(self).__name__}({_describe(self.architecture())})",
            )
        _load_file_state(self, state, path)

    @classmethod
    def _from_architecture(cls: type[M], architecture: dict[str, Any]) -> M:
        # A throwaway generator: building a model to load weights into must not
        # consume the global random numbers the user's own code may rely on.
        build: Any = cls  # subclasses take their architecture plus rng=
        return build(**architecture, rng=random.Random(0))


def _describe(architecture: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in architecture.items())


def _key_mismatch_message(owner: str, missing: list[str], unexpected: list[str]) -> str:
    parts = [f"state dict does not match this {owner}"]
    if missing:
        parts.append(f"missing keys ({len(missing)}): {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
    if unexpected:
        parts.append(
            f"unexpected keys ({len(unexpected)}): {', '.join(unexpected[:8])}{' ...' if len(unexpected) > 8 else ''}"
        )
    return "; ".join(parts)


def _read_model_file(path: PathLike) -> tuple[type[Module], dict[str, Any], dict[str, Any]]:
    """Parse and check a saved model file up to (not including) building the model."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"model file not found: {os.fspath(path)}") from None
    except IsADirectoryError:
        raise ModelFileError(path, "is a directory, not a model file") from None
    if not raw.strip():
        raise ModelFileError(path, "the file is empty")
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ModelFileError(path, "not a scratchgrad model file (not UTF-8 text)") from None
    except json.JSONDecodeError as err:
        raise ModelFileError(
            path, f"corrupt or truncated JSON ({err.msg} at line {err.lineno}, column {err.colno})"
        ) from None
    except ValueError as err:  # NaN / Infinity tokens
        raise ModelFileError(path, str(err)) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ModelFileError(path, f"not a scratchgrad model file (format {found!r}, expected {FORMAT_NAME!r})")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(path, f"format version must be an int, got {version!r}")
    if version != FORMAT_VERSION:
        newer = " (written by a newer scratchgrad; upgrade to read it)" if version > FORMAT_VERSION else ""
        raise ModelFileError(
            path, f"unsupported format version {version}; this scratchgrad reads version {FORMAT_VERSION}{newer}"
        )
    for field, kind in (("model", str), ("architecture", dict), ("state_dict", dict)):
        if not isinstance(document.get(field), kind):
            raise ModelFileError(path, f"field {field!r} is missing or not a {kind.__name__}")
    model_name = document["model"]
    if model_name not in _MODEL_CLASSES:
        raise ModelFileError(path, f"unknown model type {model_name!r} (known: {', '.join(_MODEL_CLASSES)})")
    model_cls = _MODEL_CLASSES[model_name]
    architecture = document["architecture"]
    expected = model_cls._count_parameters(architecture, path)
    if expected != len(document["state_dict"]):
        raise ModelFileError(
            path,
            f"architecture {model_name}({_describe(architecture)}) has {expected} parameters "
            f"but the file holds {len(document['state_dict'])} weights",
        )
    return model_cls, architecture, document["state_dict"]


def _reject_constant(name: str) -> float:
    raise ValueError(f"the file contains {name}, which is not a valid weight")


def _load_file_state(model: Module, state: Mapping[str, object], path: PathLike) -> None:
    try:
        model.load_state_dict(state)
    except (TypeError, ValueError) as err:
        raise ModelFileError(path, str(err)) from None


class Neuron(Module):
    """``activation(w · x + b)``: one output from ``nin`` inputs.

    Shapes: x is a sequence of ``nin`` numbers or Values -> one `Value`. ``w`` is a list of
    ``nin`` Values, ``b`` a Value; both ~ U(-1, 1) by default, as in the seed. The weighted
    sum is a single graph node (`weighted_sum`), bit-identical to the seed's
    ``sum([wi*xi for ...]) + b``.
    """

    def __init__(
        self,
        nin: int,
        activation: str = "tanh",
        *,
        init: str = "uniform",
        seed: int | None = None,
        rng: RandomSource | None = None,
    ) -> None:
        self.nin = _check_positive_int(nin, "Neuron nin")
        self.activation = _check_activation(activation)
        if init not in INITS:
            raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}, got {init!r}")
        draw = _random_source(seed, rng).uniform
        if init == "uniform":  # the seed's: weights then bias, each U(-1, 1)
            self.w = [Value(draw(-1, 1)) for _ in range(nin)]
            self.b = Value(draw(-1, 1))
        else:  # He/Kaiming uniform for relu: Var(w) = 2 / nin keeps activations' scale
            bound = math.sqrt(6.0 / nin)
            self.w = [Value(draw(-bound, bound)) for _ in range(nin)]
            self.b = Value(0.0)

    def __call__(self, x: Sequence[Input] | Input) -> Value:
        if isinstance(x, (Value, int, float)):  # one input, e.g. after a 1-neuron layer
            x = [x]
        if len(x) != self.nin:
            raise ValueError(f"Neuron expected {self.nin} inputs, got {len(x)}")
        out = weighted_sum(self.w, x, self.b)
        act = self.activation
        if act == "tanh":
            return out.tanh()
        if act == "relu":
            return out.relu()
        if act == "sigmoid":
            return out.sigmoid()
        return out

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def architecture(self) -> dict[str, Any]:
        return {"nin": self.nin, "activation": self.activation}

    @classmethod
    def _count_parameters(cls, architecture: Mapping[str, Any], path: PathLike) -> int:
        return _checked_size(architecture.get("nin"), "nin", path) + 1

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons that all read the same input.

    Shapes: x of ``nin`` inputs -> a list of ``nout`` Values, or a single Value when
    ``nout == 1`` (as in the seed). ``layer.activation`` names the activation.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "tanh",
        *,
        init: str = "uniform",
        seed: int | None = None,
        rng: RandomSource | None = None,
    ) -> None:
        self.nin = _check_positive_int(nin, "Layer nin")
        self.nout = _check_positive_int(nout, "Layer nout")
        self.activation = _check_activation(activation)
        source = _random_source(seed, rng)
        self.neurons = [Neuron(nin, activation, init=init, rng=source) for _ in range(nout)]

    def __call__(self, x: Sequence[Input] | Input) -> Value | list[Value]:
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]

    def architecture(self) -> dict[str, Any]:
        return {"nin": self.nin, "nout": self.nout, "activation": self.activation}

    @classmethod
    def _count_parameters(cls, architecture: Mapping[str, Any], path: PathLike) -> int:
        nin = _checked_size(architecture.get("nin"), "nin", path)
        return (nin + 1) * _checked_size(architecture.get("nout"), "nout", path)

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(nin, [n1, n2, ..., nout])``.

    Shapes: x of ``nin`` inputs -> a single Value when the last layer has one neuron,
    else a list of Values. Hidden layers use ``activation``; the last layer uses
    ``output_activation``, which defaults to ``activation`` (so ``MLP(3, [4, 4, 1])`` is
    tanh everywhere, the seed's network). Use ``output_activation='linear'`` for scores
    fed to hinge or cross-entropy losses.

    ``init='uniform'`` (default) draws every weight and bias from U(-1, 1) like the seed;
    ``init='kaiming'`` draws weights from U(-sqrt(6/nin), sqrt(6/nin)) with zero biases,
    which keeps deep relu networks trainable. Numbers come from the global `random`
    module (``random.seed(k)`` reproduces), or from ``seed=`` / ``rng=`` for an
    independent generator.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "tanh",
        output_activation: str | None = None,
        *,
        init: str = "uniform",
        seed: int | None = None,
        rng: RandomSource | None = None,
    ) -> None:
        self.nin = _check_positive_int(nin, "MLP nin")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or len(nouts) == 0:
            raise ValueError(f"MLP nouts must be a non-empty list of layer sizes, e.g. [4, 4, 1], got {nouts!r}")
        self.nouts = [_check_positive_int(n, f"MLP layer size nouts[{i}]") for i, n in enumerate(nouts)]
        self.activation = _check_activation(activation)
        self.output_activation = _check_activation(
            activation if output_activation is None else output_activation, "output_activation"
        )
        source = _random_source(seed, rng)
        sizes = [nin] + self.nouts
        last = len(self.nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], self.output_activation if i == last else activation, init=init, rng=source)
            for i in range(len(self.nouts))
        ]

    def __call__(self, x: Sequence[Input] | Input) -> Value | list[Value]:
        n = 1 if isinstance(x, (Value, int, float)) else len(x)
        if n != self.nin:
            raise ValueError(f"MLP expected {self.nin} inputs, got {n}")
        out: Any = x
        for layer in self.layers:
            out = layer(out)
        return out

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def architecture(self) -> dict[str, Any]:
        return {
            "nin": self.nin,
            "nouts": list(self.nouts),
            "activation": self.activation,
            "output_activation": self.output_activation,
        }

    @classmethod
    def _count_parameters(cls, architecture: Mapping[str, Any], path: PathLike) -> int:
        nin = _checked_size(architecture.get("nin"), "nin", path)
        nouts = architecture.get("nouts")
        if not isinstance(nouts, list) or not nouts:
            raise ModelFileError(path, f"architecture field 'nouts' must be a non-empty list, got {nouts!r}")
        sizes = [nin] + [_checked_size(n, "nouts", path) for n in nouts]
        return sum((sizes[i] + 1) * sizes[i + 1] for i in range(len(nouts)))

    def __repr__(self) -> str:
        out = "" if self.output_activation == self.activation else f", output_activation={self.output_activation!r}"
        return f"MLP({self.nin}, {self.nouts}, activation={self.activation!r}{out})"


def _checked_size(value: object, field: str, path: PathLike) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelFileError(path, f"architecture field {field!r} must be a positive int, got {value!r}")
    return value


_MODEL_CLASSES: dict[str, Any] = {"Neuron": Neuron, "Layer": Layer, "MLP": MLP}
