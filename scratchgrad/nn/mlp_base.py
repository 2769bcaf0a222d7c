"""What the scalar and the tensor MLP share: their constructor, checks, architecture and repr.

``MLP(nin, nouts, activation='tanh', output_activation=None, *, init='uniform',
seed=None, rng=None)`` means the same on both engines: ``nouts`` are the layer sizes,
hidden layers use ``activation`` (one name for all of them, or a list with one name per
hidden layer), the last one ``output_activation`` (default: the last hidden layer's),
weights are drawn layer by layer, neuron by neuron from one generator. Each engine's
class says only how it makes one layer (`MLPBase._make_layer`).
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceABC
from typing import Any, Mapping, Sequence

from scratchgrad._random import source
from scratchgrad.nn.activations import check_activation
from scratchgrad.nn.init import check_init
from scratchgrad.nn.module import Module, check_positive_int


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


class MLPBase(Module):
    """A multi-layer perceptron on either engine; see the module docstring.

    Subclasses define ``_make_layer(nin, nout, activation, init, generator, **options)``.
    """

    nin: int
    nouts: list[int]
    activation: str | list[str]  # a list: one activation per hidden layer
    output_activation: str
    layers: list[Any]

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str | Sequence[str] = "tanh",
        output_activation: str | None = None,
        *,
        init: str = "uniform",
        seed: Any = None,
        rng: Any = None,
        **options: Any,
    ) -> None:
        self._set_shape(nin, nouts, activation, output_activation)
        check_init(init)
        generator = source(seed, rng)
        sizes = [self.nin] + self.nouts
        self.layers = [
            self._make_layer(sizes[i], sizes[i + 1], name, init, generator, **options)
            for i, name in enumerate(self.layer_activations())
        ]

    def _set_shape(self, nin: object, nouts: object, activation: object, output_activation: object) -> None:
        self.nin = check_positive_int(nin, "MLP nin")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, SequenceABC) or len(nouts) == 0:
            raise ValueError(f"MLP nouts must be a non-empty list of layer sizes, e.g. [4, 4, 1], got {nouts!r}")
        self.nouts = [check_positive_int(n, f"MLP layer size nouts[{i}]") for i, n in enumerate(nouts)]
        if isinstance(activation, str) or not isinstance(activation, SequenceABC):
            self.activation = check_activation(activation)
            default_output = self.activation
        else:  # one per hidden layer, e.g. ['relu', 'tanh'] for MLP(2, [8, 8, 1], ...)
            hidden = len(self.nouts) - 1
            if len(activation) != hidden:
                raise ValueError(
                    f"MLP activation: a list needs one name per hidden layer ({hidden} for nouts {self.nouts}), "
                    f"got {len(activation)}: {list(activation)!r}"
                )
            self.activation = [check_activation(name, f"MLP activation[{i}]") for i, name in enumerate(activation)]
            default_output = self.activation[-1] if self.activation else "tanh"
        self.output_activation = check_activation(
            default_output if output_activation is None else output_activation, "output_activation"
        )

    def _make_layer(self, nin: int, nout: int, activation: str, init: str, generator: Any, **options: Any) -> Any:
        raise NotImplementedError

    def layer_activations(self) -> list[str]:
        """The activation after each layer: ``activation`` for the hidden ones, then ``output_activation``."""
        hidden = self.activation if isinstance(self.activation, list) else [self.activation] * (len(self.nouts) - 1)
        return [*hidden, self.output_activation]

    def architecture(self) -> dict[str, Any]:
        return {
            "nin": self.nin,
            "nouts": list(self.nouts),
            "activation": list(self.activation) if isinstance(self.activation, list) else self.activation,
            "output_activation": self.output_activation,
        }

    def _repr_extra(self) -> str:
        return ""

    def __repr__(self) -> str:
        default_output = self.layer_activations()[-2] if isinstance(self.activation, list) and self.activation else self.activation
        out = "" if self.output_activation == default_output else f", output_activation={self.output_activation!r}"
        return f"MLP({self.nin}, {self.nouts}, activation={self.activation!r}{out}{self._repr_extra()})"
