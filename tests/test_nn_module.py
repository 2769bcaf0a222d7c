"""scratchgrad.nn.Module: one base class for models of Values and models of Tensors."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from scratchgrad import Value, nn, optim
from scratchgrad.nn import MLP, IncompatibleKeys, Module, ModelFileError, zero_grad
from scratchgrad.tensor import Tensor
from scratchgrad.tensor_nn import MLP as TensorMLP
from scratchgrad.tensor_nn import Linear, Sequential, mlp


def test_both_engines_share_one_module_class_and_are_called_alike() -> None:
    scalar, tensor = MLP(2, [3, 1], seed=0), TensorMLP(2, [3, 1], seed=0)
    assert isinstance(scalar, Module) and isinstance(tensor, Module)
    assert type(scalar).__mro__[-2] is Module and Module in type(tensor).__mro__
    assert isinstance(scalar([0.5, -1.0]), Value)
    assert tensor(np.array([[0.5, -1.0]])).shape == (1, 1)
    assert tensor(np.array([0.5, -1.0])).shape == (1,)  # (nin,) -> (nout,)
    assert (scalar.model_engine(), tensor.model_engine()) == ("scalar", "tensor")


def test_one_walk_finds_values_tensors_modules_and_lists_once() -> None:
    class Mixed(Module):
        def __init__(self) -> None:
            self.scale = Tensor(np.ones(3), requires_grad=True)
            self.constant = Tensor(np.ones(3))  # no grad: not a parameter
            self.head = Linear(3, 2, seed=0)
            self.blocks = [Linear(2, 2, seed=1), (Tensor(np.zeros(1), requires_grad=True),)]
            self.tied = self.head.weight  # the same array under a second name: listed once
            self._cache = Linear(3, 3)  # private: skipped
            self.note = "text"

        def forward(self, x: Tensor) -> Tensor:
            return self.blocks[0](self.head(x * self.scale))

    names = [name for name, _ in Mixed().named_parameters()]
    assert names == ["scale", "head.weight", "head.bias", "blocks.0.weight", "blocks.0.bias", "blocks.1.0"]
    assert Mixed().num_parameters() == 3 + 6 + 2 + 4 + 2 + 1
    assert [name for name, _ in MLP(1, [1], seed=0).named_parameters(prefix="net.")] == ["net.layers.0.neurons.0.w.0", "net.layers.0.neurons.0.b"]


def test_a_module_written_like_the_tutorial_with_call_still_works() -> None:
    class TutorialStyle(Module):
        def __init__(self) -> None:
            self.w = Value(2.0)
            self.inner = nn.Neuron(1, activation="linear", seed=0)

        def __call__(self, x: float) -> Value:  # the tutorial defines __call__, not forward
            return self.inner([x]) * self.w

    model = TutorialStyle()
    model(3.0).backward()
    assert [name for name, _ in model.named_parameters()] == ["w", "inner.w.0", "inner.b"]
    assert model.w.grad != 0.0
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    with pytest.raises(NotImplementedError, match="must define forward"):
        Module()(1.0)


def test_zero_grad_is_one_rule_for_every_caller() -> None:
    scalar, tensor = MLP(2, [2, 1], seed=0), mlp(2, [2], 1, seed=0)
    scalar([1.0, 2.0]).backward()
    tensor(np.ones((1, 2))).sum().backward()
    for clear in (lambda m: m.zero_grad(), lambda m: zero_grad(m.parameters()), lambda m: optim.SGD(m, lr=0.1).zero_grad()):
        scalar([1.0, 2.0]).backward()
        tensor(np.ones((1, 2))).sum().backward()
        clear(scalar)
        clear(tensor)
        assert all(p.grad == 0.0 and type(p.grad) is float for p in scalar.parameters())
        assert all(p.grad is None for p in tensor.parameters())  # PyTorch's set_to_none


def test_state_dicts_hold_floats_for_values_and_array_copies_for_tensors() -> None:
    scalar, tensor = MLP(2, [2, 1], seed=0), TensorMLP(2, [2, 1], seed=0)
    assert all(type(v) is float for v in scalar.state_dict().values())
    state = tensor.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    state["layers.0.weight"][0, 0] = 99.0
    assert tensor.layers[0].weight.data[0, 0] != 99.0
    numpy_numbers = {name: np.float32(value) for name, value in scalar.state_dict().items()}
    assert scalar.load_state_dict(numpy_numbers) == IncompatibleKeys([], [])
    assert all(type(p.data) is float for p in scalar.parameters())  # numpy scalars become floats


def test_a_numpy_float32_weight_saves_and_loads(tmp_path) -> None:
    """Issue 12: a weight set to np.float32 made save fail with 'not JSON serializable'."""
    model = MLP(2, [2, 1], seed=0)
    model.layers[0].neurons[0].w[0].data = np.float32(0.25)
    model.layers[0].neurons[0].b.data = np.float64(-0.5)
    path = tmp_path / "m.json"
    model.save(path)
    loaded = MLP.load(path)
    assert loaded.layers[0].neurons[0].w[0].data == 0.25 and loaded.layers[0].neurons[0].b.data == -0.5
    assert json.loads(path.read_text())["state_dict"]["layers.0.neurons.0.w.0"] == 0.25


def test_any_module_saves_its_weights_and_loads_them_back_into_a_model_you_build(tmp_path) -> None:
    class Block(Module):
        def __init__(self, seed: int) -> None:
            rng = np.random.default_rng(seed)
            self.embedding = Tensor(rng.normal(size=(5, 3, 2)), requires_grad=True)  # any shape
            self.mix = Linear(2, 2, seed=seed)

        def forward(self, x: Tensor) -> Tensor:
            return self.mix(x)

    path = tmp_path / "block.npz"
    Block(0).save(path)
    other = Block(1)
    other.load_weights(path)
    assert np.array_equal(other.embedding.data, Block(0).embedding.data)
    with pytest.raises(ModelFileError, match="unknown model type 'Block'.*call its load_weights"):
        Module.load(path)
    with pytest.raises(ModelFileError, match="does not match this Sequential"):
        Sequential(Linear(2, 2)).load_weights(path)


def test_a_model_mixing_values_and_tensors_is_refused_when_saved(tmp_path) -> None:
    class Mixed(Module):
        def __init__(self) -> None:
            self.a = Value(1.0)
            self.b = Tensor(np.ones(2), requires_grad=True)

    with pytest.raises(ValueError, match="mixes Value and Tensor parameters"):
        Mixed().save(tmp_path / "m.json")


def test_loading_a_file_draws_no_random_numbers(tmp_path) -> None:
    for model, name in ((MLP(3, [4, 1], seed=1), "s.json"), (TensorMLP(3, [4, 1], seed=1), "t.npz")):
        model.save(tmp_path / name)
        random.seed(5)
        state = random.getstate()
        Module.load(tmp_path / name)
        assert random.getstate() == state


def test_calling_a_module_runs_the_forward_of_its_own_class() -> None:
    class Doubled(Linear):
        def forward(self, x):
            return super().forward(x) * 2.0

    class Tripled(Doubled):
        def forward(self, x):
            return Linear.forward(self, x) * 3.0

    x = np.ones((1, 2))
    plain = Linear(2, 1, seed=0)(x).data
    assert np.allclose(Doubled(2, 1, seed=0)(x).data, 2 * plain)
    assert np.allclose(Tripled(2, 1, seed=0)(x).data, 3 * plain)
    assert MLP(2, [1], seed=0)([1.0, 2.0]).data == MLP(2, [1], seed=0).forward([1.0, 2.0]).data
