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

from typing import Any, Mapping, Sequence, Union

from scratchgrad._random import source
from scratchgrad.engine import Value, weighted_sum
from scratchgrad.nn.activations import ACTIVATIONS, check_activation
from scratchgrad.nn.files import register_model
from scratchgrad.nn.init import PLACEHOLDER, check_init, dense
from scratchgrad.nn.mlp_base import MLPBase, architecture_size, mlp_sizes
from scratchgrad.nn.module import Module, check_positive_int

Input = Union[Value, int, float]


class ScalarModule(Module):
    """A library module on Values: it can be rebuilt from its architecture (for loading)."""

    engine = "scalar"

    @classmethod
    def from_architecture(cls, architecture: Mapping[str, Any], dtype: Any = None) -> Any:
        # Weights about to be overwritten: no random numbers are drawn (the global `random`
        # state a user's own code relies on is left alone).
        build: Any = cls  # each subclass takes its architecture's fields and rng=
        return build(**architecture, rng=PLACEHOLDER)


class Neuron(ScalarModule):
    """``activation(w · x + b)``: one output from ``nin`` inputs.

    Shapes: x is a sequence of ``nin`` numbers or Values -> one `Value`. ``w`` is a list of
    ``nin`` Values, ``b`` a Value; both ~ U(-1, 1) by default, as in the tutorial. The
    weighted sum is a single graph node (`weighted_sum`), bit-identical to the tutorial's
    ``sum([wi*xi for ...]) + b``.
    """

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

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(ScalarModule):
    """``nout`` neurons that all read the same input.

    Shapes: x of ``nin`` inputs -> a list of ``nout`` Values, or a single Value when
    ``nout == 1`` (as in the tutorial). ``layer.activation`` names the activation.
    """

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

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(MLPBase, ScalarModule):
    """A multi-layer perceptron: ``MLP(nin, [n1, n2, ..., nout])``.

    Shapes: x of ``nin`` inputs -> a single Value when the last layer has one neuron,
    else a list of Values. Hidden layers use ``activation`` (one name, or a list of one
    per hidden layer: ``MLP(2, [8, 8, 1], ['relu', 'tanh'])``); the last layer uses
    ``output_activation``, which defaults to the last hidden layer's (so ``MLP(3, [4, 4, 1])``
    is tanh everywhere, the tutorial's network). Use ``output_activation='linear'`` for
    scores fed to hinge or cross-entropy losses.

    ``init='uniform'`` (default) draws every weight and bias from U(-1, 1) like the
    tutorial; ``init='kaiming'`` draws weights from U(-sqrt(6/nin), sqrt(6/nin)) with
    zero biases, which keeps deep relu networks trainable. Numbers come from the global
    `random` module (``random.seed(k)`` reproduces), or from ``seed=`` / ``rng=`` for an
    independent generator. ``scratchgrad.tensor_nn.MLP`` is the same network on tensors.
    """

    def _make_layer(self, nin: int, nout: int, activation: str, init: str, generator: Any, **options: Any) -> Layer:
        return Layer(nin, nout, activation, init=init, rng=generator, **options)

    def forward(self, x: Sequence[Input] | Input) -> Value | list[Value]:
        n = 1 if isinstance(x, (Value, int, float)) else len(x)
        if n != self.nin:
            raise ValueError(f"MLP expected {self.nin} inputs, got {n}")
        out: Any = x
        for layer in self.layers:
            out = layer(out)
        return out  # type: ignore[no-any-return]

    @classmethod
    def count_parameters(cls, architecture: Mapping[str, Any]) -> int:
        sizes = mlp_sizes(architecture)
        return sum((sizes[i] + 1) * sizes[i + 1] for i in range(len(sizes) - 1))


for _model in (Neuron, Layer, MLP):
    register_model(_model)

__all__ = ["Layer", "MLP", "Neuron"]
