"""ACTIVATIONS: every activation function by name, for both engines.

An `Activation` holds the function on a `Value` (``scalar``) and on a `Tensor`
(``tensor``), the formula people read, and the names PyTorch and ONNX give it. The
scalar MLP, the tensor layers, the model description, export, the CLI and the
playground all read this one table: adding an activation is one entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Activation:
    """One activation function: ``scalar(Value) -> Value`` and ``tensor(Tensor) -> Tensor``."""

    name: str
    scalar: Callable[[Any], Any]
    tensor: Callable[[Any], Any]
    formula: str  # of z, the neuron's weighted sum: 'tanh(z)'
    module: str  # the tensor module's class name (scratchgrad.nn.layers), e.g. 'ReLU'
    torch: str | None  # torch.nn class name; None: no layer (the identity)
    onnx: str | None  # ONNX operator; None: no node

    def __call__(self) -> Any:
        """A new tensor module for this activation (``ACTIVATIONS['relu']()`` is a `ReLU`)."""
        from scratchgrad.nn.layers import activation_module

        return activation_module(self.name)


def _identity(x: Any) -> Any:
    return x


ACTIVATIONS: dict[str, Activation] = {
    activation.name: activation
    for activation in (
        Activation("tanh", lambda v: v.tanh(), lambda t: t.tanh(), "tanh(z)", "Tanh", "Tanh", "Tanh"),
        Activation("relu", lambda v: v.relu(), lambda t: t.relu(), "max(0, z)", "ReLU", "ReLU", "Relu"),
        Activation(
            "sigmoid", lambda v: v.sigmoid(), lambda t: t.sigmoid(), "1 / (1 + e^-z)", "Sigmoid", "Sigmoid", "Sigmoid"
        ),
        Activation("linear", _identity, _identity, "z", "Identity", None, None),
    )
}


def check_activation(name: object, what: str = "activation") -> str:
    """``name`` if it is in ACTIVATIONS, else a ValueError listing the choices."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, ACTIVATIONS))}, got {name!r}")
    return name


def is_identity(name: str) -> bool:
    """True for the activation that changes nothing ('linear')."""
    return ACTIVATIONS[name].scalar is _identity
