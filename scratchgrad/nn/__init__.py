"""Models for both engines: one `Module`, the tutorial's scalar classes, tensor layers, registries.

- `Module` (`scratchgrad.nn.module`): ``model(x)``, parameters, ``zero_grad``, state
  dicts and files, for models of `Value`s and of `Tensor`s alike.
- `Neuron`, `Layer`, `MLP` (`scratchgrad.nn.scalar`): the tutorial's classes on Values,
  bit for bit. ``scratchgrad.nn.MLP`` is this scalar MLP.
- `Linear`, `Sequential`, `ReLU`/`Tanh`/`Sigmoid`/`Identity`, `TensorMLP` (the tensor
  `MLP`, also ``scratchgrad.tensor_nn.MLP``) and `mlp()` (`scratchgrad.nn.layers`).
- `ACTIVATIONS` and `LOSSES`: the registries every app reads.
- `describe`, `build`, `to_tensor`, `to_scalar`, `ModelDescription`, `DenseLayer`: the
  plain model description and the conversions between engines.
- `GPT`, `GPTConfig` and its modules (`Embedding`, `RMSNorm`, `LayerNorm`,
  `CausalSelfAttention`) (`scratchgrad.nn.gpt`), and `ScalarGPT`, the same GPT on Values
  (`scratchgrad.nn.scalar_gpt`); ``to_scalar`` / ``to_tensor`` move a GPT's weights across.
- `load(path)`: any saved model; `ModelFileError` for a file that cannot be loaded.

The tensor names load numpy on first use, so ``import scratchgrad.nn`` stays light.
"""

from __future__ import annotations

from typing import Any

from scratchgrad._random import RandomSource
from scratchgrad.nn.activations import ACTIVATIONS, Activation
from scratchgrad.nn.files import FORMAT_NAME, FORMAT_VERSION, ModelFileError, register_model
from scratchgrad.nn.init import INITS
from scratchgrad.nn.losses import LOSSES, Loss
from scratchgrad.nn.module import IncompatibleKeys, Module, zero_grad
from scratchgrad.nn.scalar import MLP, Layer, Neuron

_LAZY = {
    "DenseLayer": "description",
    "ModelDescription": "description",
    "build": "description",
    "describe": "description",
    "to_scalar": "description",
    "to_tensor": "description",
    "Linear": "layers",
    "Sequential": "layers",
    "ReLU": "layers",
    "Tanh": "layers",
    "Sigmoid": "layers",
    "Identity": "layers",
    "ActivationModule": "layers",
    "activation_module": "layers",
    "mlp": "layers",
    "GPT": "gpt",
    "GPTConfig": "gpt",
    "Embedding": "gpt",
    "RMSNorm": "gpt",
    "LayerNorm": "gpt",
    "CausalSelfAttention": "gpt",
    "ScalarGPT": "scalar_gpt",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name == "TensorMLP":
        return importlib.import_module("scratchgrad.nn.layers").MLP
    if name in _LAZY:
        return getattr(importlib.import_module(f"scratchgrad.nn.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'scratchgrad.nn' has no attribute {name!r}")


def load(path: Any) -> Module:
    """The model saved in ``path``, whichever engine and type (see `Module.load`)."""
    return Module.load(path)


__all__ = [
    "ACTIVATIONS",
    "Activation",
    "ActivationModule",
    "CausalSelfAttention",
    "DenseLayer",
    "Embedding",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "GPT",
    "GPTConfig",
    "INITS",
    "Identity",
    "IncompatibleKeys",
    "LOSSES",
    "Layer",
    "LayerNorm",
    "Linear",
    "Loss",
    "MLP",
    "ModelDescription",
    "ModelFileError",
    "Module",
    "Neuron",
    "RMSNorm",
    "RandomSource",
    "ReLU",
    "ScalarGPT",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "TensorMLP",
    "activation_module",
    "build",
    "describe",
    "load",
    "mlp",
    "register_model",
    "to_scalar",
    "to_tensor",
    "zero_grad",
]
