"""Old path of the tensor engine's modules: they live in `scratchgrad.nn` now.

`Linear`, `Sequential`, the activation modules, `mlp` and the tensor `MLP` (the scalar
`scratchgrad.nn.MLP`'s twin: same arguments, same weights for the same seed) come from
`scratchgrad.nn.layers`; `Module`, files and `ModelFileError` from `scratchgrad.nn`; the
loss functions (which take Tensors or arrays as well as Values) from `scratchgrad.nn.losses`.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from scratchgrad.nn.activations import ACTIVATIONS
from scratchgrad.nn.files import FORMAT_NAME, FORMAT_VERSION, ModelFileError, model_class
from scratchgrad.nn.layers import (
    ActivationModule,
    Identity,
    Linear,
    MLP,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    activation_module,
    mlp,
)
from scratchgrad.nn.losses import LOSSES, binary_cross_entropy_with_logits, hinge_loss, mse_loss
from scratchgrad.nn.module import IncompatibleKeys, Module
from scratchgrad.tensor_functions import cross_entropy


def from_architecture(architecture: Mapping[str, Any], dtype: Any = np.float64) -> Module:
    """An empty (zero-weight) tensor module of the shape ``architecture()`` described: load
    weights into it next. A ValueError for an unknown layer type."""
    if not isinstance(architecture, Mapping):
        raise TypeError(f"an architecture is a dict, got {type(architecture).__name__}")
    return model_class("tensor", str(architecture.get("type"))).from_architecture(architecture, dtype)  # type: ignore[no-any-return]


def load(path: Any) -> Module:
    """The module saved in ``path`` (see `Module.save`)."""
    return Module.load(path)
