"""Neurons, layers and multi-layer perceptrons built from `Value`s, as in the tutorial.

``Neuron(nin)`` computes ``activation(w1*x1 + ... + wn*xn + b)``; a ``Layer`` is a list
of neurons that all see the same input; an ``MLP`` chains layers. The tutorial's cells
run unchanged on these classes and give its numbers for the same ``random.seed``:

    from scratchgrad.nn import MLP
    n = MLP(3, [4, 4, 1])          # tanh everywhere, weights and biases ~ U(-1, 1)
    n([2.0, 3.0, -1.0])            # a single Value, since the last layer has one neuron

The tensor engine's `scratchgrad.tensor_nn.MLP` takes the same arguments and, for the
same seed, holds the same weights (see `scratchgrad.nn.init`).
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceABC
from typing import Any, Mapping, Sequence, Union

from scratchgrad._random import source
from scratchgrad.engine import Value, weighted_sum
from scratchgrad.nn.files import register_model
from scratchgrad.nn.activations import ACTIVATIONS, check_activation
from scratchgrad.nn.init import PLACEHOLDER, check_init, dense
from scratchgrad.nn.module import Module, check_positive_int

Input = Union[Value, int, float]


def mlp_arguments(
    nin: object, nouts: object, activation: object, output_activation: object, init: object
) -> tuple[int, list[int], str, str]:
    """The checked ``(nin, nouts, activation, output_activation)`` of an MLP, either engine."""
    nin = check_positive_int(nin, "MLP nin")
    if isinstance(nouts, (str, bytes)) or not isinstance(nouts, SequenceABC) or len(nouts) == 0:
        raise ValueError(f"MLP nouts must be a non-empty list of layer sizes, e.g. [4, 4, 1], got {nouts!r}")
    sizes = [check_positive_int(n, f"MLP layer size nouts[{i}]") for i, n in enumerate(nouts)]
    hidden = check_activation(activation)
    last = check_activation(activation if output_activation is None else output_activation, "output_activation")
    check_init(init)
    return nin, sizes, hidden, last


def mlp_repr(model: Any, extra: str = "") -> str:
    out = "" if model.output_activation == model.activation else f", output_activation={model.output_activation!r}"
    return f"MLP({model.nin}, {model.nouts}, activation={model.activation!r}{out}{extra})"


def mlp_architecture(model: Any) -> dict[str, Any]:
    return {
        "nin": model.nin,
        "nouts": list(model.nouts),
        "activation": model.activation,
        "output_activation": model.output_activation,
    }


def architecture_size(architecture: Mapping[str, Any], field: str) -> int:
    """A positive int field of a saved architecture, or a ValueError naming it."""
    value = architecture.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"architecture field {field!r} must be a positive int, got {value!r}")
    return value


def mlp_sizes(architecture: Mapping[str, Any]) -> list[int]:
    """[nin, n1, ..., nout] of a saved MLP architecture, checked without building anything."""
    nin = architecture_size(architecture, "nin")
    nouts = architecture.get("nouts")
    if not isinstance(nouts, list) or not nouts:
        raise ValueError(f"architecture field 'nouts' must be a non-empty list, got {nouts!r}")
    return [nin] + [architecture_size({"nouts": n}, "nouts") for n in nouts]


class Neuron(Module):
    """``activation(w · x + b)``: one output from ``nin`` inputs.

    Shapes: x is a sequence of ``nin`` numbers or Values -> one `Value`. ``w`` is a list of
    ``nin`` Values, ``b`` a Value; both ~ U(-1, 1) by default, as in the tutorial. The
    weighted sum is a single graph node (`weighted_sum`), bit-identical to the tutorial's
    ``sum([wi*xi for ...]) + b``.
    """

    engine = "scalar"

    def __init__(
        self,
        nin: int,
        activation: str = "tanh",
        *,
        init: str = "uniform",
        seed: int | None = None,
        rng: Any = None,
    ) -> None:
        self.nin = check_positive_int(nin, "Neuron nin")
        self.activation = check_activation(activation)
        rows, biases = dense(source(seed, rng), self.nin, 1, check_init(init), 1.0)
        self.w = [Value(w) for w in rows[0]]
        self.b = Value(biases[0])  # type: ignore[index]

    def forward(self, x: Sequence[Input] | Input) -> Value:
        if isinstance(x, (Value, int, float)):  # one input, e.g. after a 1-neuron layer
            x = [x]
        if len(x) != self.nin:
            raise ValueError(f"Neuron expected {self.nin} inputs, got {len(x)}")
        return ACTIVATIONS[self.activation].scalar(weighted_sum(self.w, x, self.b))  # type: ignore[no-any-return]

    def architecture(self) -> dict[str, Any]:
        return {"nin": self.nin, "activation": self.activation}

    @classmethod
    def count_parameters(cls, architecture: Mapping[str, Any]) -> int:
        return architecture_size(architecture, "nin") + 1

    @classmethod
    def from_architecture(cls, architecture: Mapping[str, Any], dtype: Any = None) -> Neuron:
        return cls(**architecture, rng=PLACEHOLDER)

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons that all read the same input.

    Shapes: x of ``nin`` inputs -> a list of ``nout`` Values, or a single Value when
    ``nout == 1`` (as in the tutorial). ``layer.activation`` names the activation.
    """

    engine = "scalar"

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "tanh",
        *,
        init: str = "uniform",
        seed: int | None = None,
        rng: Any = None,
    ) -> None:
        self.nin = check_positive_int(nin, "Layer nin")
        self.nout = check_positive_int(nout, "Layer nout")
        self.activation = check_activation(activation)
        generator = source(seed, rng)
        self.neurons = [Neuron(self.nin, activation, init=init, rng=generator) for _ in range(self.nout)]

    def forward(self, x: Sequence[Input] | Input) -> Value | list[Value]:
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def architecture(self) -> dict[str, Any]:
        return {"nin": self.nin, "nout": self.nout, "activation": self.activation}

    @classmethod
    def count_parameters(cls, architecture: Mapping[str, Any]) -> int:
        return (architecture_size(architecture, "nin") + 1) * architecture_size(architecture, "nout")

    @classmethod
    def from_architecture(cls, architecture: Mapping[str, Any], dtype: Any = None) -> Layer:
        return cls(**architecture, rng=PLACEHOLDER)

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(nin, [n1, n2, ..., nout])``.

    Shapes: x of ``nin`` inputs -> a single Value when the last layer has one neuron,
    else a list of Values. Hidden layers use ``activation``; the last layer uses
    ``output_activation``, which defaults to ``activation`` (so ``MLP(3, [4, 4, 1])`` is
    tanh everywhere, the tutorial's network). Use ``output_activation='linear'`` for
    scores fed to hinge or cross-entropy losses.

    ``init='uniform'`` (default) draws every weight and bias from U(-1, 1) like the
    tutorial; ``init='kaiming'`` draws weights from U(-sqrt(6/nin), sqrt(6/nin)) with
    zero biases, which keeps deep relu networks trainable. Numbers come from the global
    `random` module (``random.seed(k)`` reproduces), or from ``seed=`` / ``rng=`` for an
    independent generator.
    """

    engine = "scalar"

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "tanh",
        output_activation: str | None = None,
        *,
        init: str = "uniform",
        seed: int | None = None,
        rng: Any = None,
    ) -> None:
        self.nin, self.nouts, self.activation, self.output_activation = mlp_arguments(
            nin, nouts, activation, output_activation, init
        )
        generator = source(seed, rng)
        sizes = [self.nin] + self.nouts
        last = len(self.nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], self.output_activation if i == last else self.activation, init=init, rng=generator)
            for i in range(len(self.nouts))
        ]

    def forward(self, x: Sequence[Input] | Input) -> Value | list[Value]:
        n = 1 if isinstance(x, (Value, int, float)) else len(x)
        if n != self.nin:
            raise ValueError(f"MLP expected {self.nin} inputs, got {n}")
        out: Any = x
        for layer in self.layers:
            out = layer(out)
        return out  # type: ignore[no-any-return]

    def architecture(self) -> dict[str, Any]:
        return mlp_architecture(self)

    @classmethod
    def count_parameters(cls, architecture: Mapping[str, Any]) -> int:
        sizes = mlp_sizes(architecture)
        return sum((sizes[i] + 1) * sizes[i + 1] for i in range(len(sizes) - 1))

    @classmethod
    def from_architecture(cls, architecture: Mapping[str, Any], dtype: Any = None) -> MLP:
        return cls(**architecture, rng=PLACEHOLDER)

    def __repr__(self) -> str:
        return mlp_repr(self)


for _model in (Neuron, Layer, MLP):
    register_model(_model)

__all__ = ["Layer", "MLP", "Neuron"]
