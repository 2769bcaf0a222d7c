"""One model, two engines: the tensor MLP draws the scalar MLP's weights, and the plain model
description (describe / build / to_tensor / to_scalar) moves models between them bit for bit."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from scratchgrad import Value, nn
from scratchgrad.nn import ACTIVATIONS, MLP, Activation, DenseLayer, ModelDescription, build, describe, to_scalar, to_tensor
from scratchgrad.tensor_nn import MLP as TensorMLP
from scratchgrad.tensor_nn import Identity, Linear, ReLU, Sequential, Sigmoid, Tanh, mlp

SHAPES = [
    (3, [4, 4, 1], "tanh", None, "uniform"),
    (2, [16, 16, 1], "relu", "linear", "uniform"),
    (5, [8, 3], "relu", "linear", "kaiming"),
    (2, [6, 1], "sigmoid", "tanh", "kaiming"),
]


def bits(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype=np.float64).tobytes()


@pytest.mark.parametrize(("nin", "nouts", "activation", "output", "init"), SHAPES)
def test_the_tensor_mlp_draws_the_scalar_mlps_weights_for_the_same_seed(nin, nouts, activation, output, init) -> None:
    scalar = MLP(nin, nouts, activation, output, init=init, seed=7)
    tensor = TensorMLP(nin, nouts, activation, output, init=init, seed=7)
    assert describe(scalar) == describe(tensor)
    assert scalar.architecture() == tensor.architecture()
    # ... and for the tutorial's way of seeding: the global random state
    random.seed(11)
    scalar = MLP(nin, nouts, activation, output, init=init)
    after_scalar = random.getstate()
    random.seed(11)
    tensor = TensorMLP(nin, nouts, activation, output, init=init)
    assert describe(scalar) == describe(tensor)
    assert random.getstate() == after_scalar  # the same numbers consumed, in the same order


def test_the_tensor_mlp_computes_what_the_scalar_mlp_computes() -> None:
    scalar = MLP(3, [5, 4, 2], activation="relu", output_activation="sigmoid", seed=3)
    tensor = TensorMLP(3, [5, 4, 2], activation="relu", output_activation="sigmoid", seed=3)
    X = np.random.default_rng(0).normal(size=(20, 3))
    expected = np.array([[v.data for v in scalar(x)] for x in X.tolist()])
    assert np.allclose(tensor(X).data, expected, rtol=0, atol=1e-15)
    assert tensor(X[0]).shape == (2,)
    single = TensorMLP(3, [2], seed=0, dtype=np.float32)
    assert single(X).data.dtype == np.float32 and single.layers[0].weight.data.dtype == np.float32
    assert repr(single) == "MLP(3, [2], activation='tanh', dtype='float32')"
    with pytest.raises(ValueError, match="MLP nouts must be a non-empty list"):
        TensorMLP(2, [])
    with pytest.raises(ValueError, match="either seed= or rng="):
        TensorMLP(2, [1], seed=1, rng=random.Random(1))


@pytest.mark.parametrize(("nin", "nouts", "activation", "output", "init"), SHAPES)
def test_to_tensor_and_to_scalar_are_bit_exact(nin, nouts, activation, output, init) -> None:
    scalar = MLP(nin, nouts, activation, output, init=init, seed=1)
    for p in scalar.parameters():  # awkward numbers: the conversion must not round anything
        p.data = p.data / 3.0 + 1e-300
    tensor = to_tensor(scalar)
    assert isinstance(tensor, TensorMLP) and tensor.architecture() == scalar.architecture()
    back = to_scalar(tensor)
    assert isinstance(back, MLP)
    assert [p.data.hex() for p in back.parameters()] == [p.data.hex() for p in scalar.parameters()]
    X = np.random.default_rng(1).normal(size=(6, nin))
    outputs = tensor(X).data
    for x, row in zip(X.tolist(), outputs):
        out = scalar(x)
        assert np.allclose([v.data for v in out] if isinstance(out, list) else [out.data], row, rtol=0, atol=1e-12)
    assert describe(to_tensor(scalar, dtype=np.float32)).layers[0].weight.dtype == np.float64  # described as float64


def test_describe_covers_every_library_model() -> None:
    neuron = nn.Neuron(3, "relu", seed=0)
    layer = nn.Layer(3, 2, "sigmoid", seed=0)
    assert describe(neuron).layers[0].weight.shape == (1, 3) and describe(neuron).layers[0].activation == "relu"
    assert describe(layer).layers[0].activation == "sigmoid" and describe(layer).nout == 2
    sequential = mlp(4, [5], 2, activation="tanh", output_activation="sigmoid", seed=0)
    description = describe(sequential)
    assert [l.activation for l in description.layers] == ["tanh", "sigmoid"]
    assert bits(description.layers[0].weight) == bits(sequential[0].weight.data)
    no_bias = Sequential(Linear(2, 3, bias=False, seed=0), ReLU(), Identity(), Linear(3, 1, seed=1))
    assert describe(no_bias).layers[0].bias is None and not describe(no_bias).is_mlp()
    assert describe(Linear(2, 2, seed=0)).layers[0].activation == "linear"
    for bad, message in [
        (Sequential(ReLU(), Linear(2, 2)), "must start with a Linear layer"),
        (Sequential(Linear(2, 2), Tanh(), Sigmoid()), "two activations in a row"),
        (Sequential(Linear(2, 3), Linear(2, 1)), "layer 1 takes 2 inputs but layer 0 gives 3 outputs"),
    ]:
        with pytest.raises(ValueError, match=message):
            describe(bad)
    with pytest.raises(TypeError, match="cannot describe a dict"):
        describe({"weights": []})


def test_build_picks_the_model_that_fits_the_description() -> None:
    mixed = ModelDescription(
        (DenseLayer(np.ones((3, 2)), np.zeros(3), "tanh"), DenseLayer(np.ones((2, 3)), np.zeros(2), "relu"),
         DenseLayer(np.ones((1, 2)), None, "linear"))
    )  # fmt: skip
    built = build(mixed, "tensor")
    assert isinstance(built, Sequential) and [type(m).__name__ for m in built] == ["Linear", "Tanh", "Linear", "ReLU", "Linear"]
    assert describe(built) == mixed
    with pytest.raises(ValueError, match="needs a bias in every layer.*engine='tensor'"):
        build(mixed, "scalar")
    no_bias = ModelDescription((DenseLayer(np.ones((1, 2)), None, "linear"),))
    with pytest.raises(ValueError, match="needs a bias in every layer"):
        build(no_bias, "scalar")
    with pytest.raises(ValueError, match="engine must be 'scalar' or 'tensor'"):
        build(no_bias, "gpu")
    with pytest.raises(ValueError, match="dtype= is for engine='tensor'"):
        build(describe(MLP(1, [1], seed=0)), "scalar", dtype=np.float32)


def test_the_description_round_trips_through_json_exactly() -> None:
    model = MLP(3, [4, 2], activation="relu", output_activation="linear", seed=2)
    description = describe(model)
    again = ModelDescription.from_dict(json.loads(json.dumps(description.to_dict())))
    assert again == description
    assert [p.data.hex() for p in build(again).parameters()] == [p.data.hex() for p in model.parameters()]
    data = description.to_dict()
    for change, message in [
        (lambda d: d["layers"][0].update(weight=[[math.nan] * 3] * 4), "layer 0 weight holds NaN or infinity"),
        (lambda d: d["layers"][0].update(activation="swish"), "activation must be one of"),
        (lambda d: d["layers"][1].update(weight=[[1.0] * 5] * 2), "layer 1 takes 5 inputs but layer 0 gives 4 outputs"),
        (lambda d: d["layers"][0].update(bias=[0.0]), r"bias has shape \(4,\)"),
        (lambda d: d.update(layers=[]), "non-empty list 'layers'"),
        (lambda d: d["layers"][0].update(weight="abc"), "layer 0 weight must be a matrix of numbers"),
    ]:
        broken = json.loads(json.dumps(data))
        change(broken)
        with pytest.raises(ValueError, match=message):
            ModelDescription.from_dict(broken)


def test_every_activation_means_the_same_on_both_engines() -> None:
    from scratchgrad.tensor import Tensor

    points = [-30.0, -2.5, -1e-3, 0.0, 0.7, 4.0, 30.0]
    for name, activation in ACTIVATIONS.items():
        scalar = [activation.scalar(Value(z)).data for z in points]
        tensor = activation.tensor(Tensor(np.array(points))).data
        assert np.allclose(scalar, tensor, rtol=1e-15, atol=1e-15), name
        assert type(activation()).__name__ == activation.module  # ACTIVATIONS['relu']() is a ReLU


def test_an_activation_added_to_the_registry_works_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    softplus = Activation(
        "softplus",
        lambda v: (1.0 + v.exp()).log(),
        lambda t: (t.exp() + 1.0).log(),
        "log(1 + e^z)", "Softplus", "Softplus", "Softplus",
    )  # fmt: skip
    monkeypatch.setitem(ACTIVATIONS, "softplus", softplus)
    scalar = MLP(2, [3, 1], activation="softplus", output_activation="linear", seed=0)
    tensor = to_tensor(scalar)
    assert np.allclose(tensor(np.array([[0.3, -0.2]])).data[0, 0], scalar([0.3, -0.2]).data, atol=1e-14)
    sequential = mlp(2, [3], 1, activation="softplus", seed=0)
    assert type(sequential[1]).__name__ == "Softplus"
    assert describe(sequential).layers[0].activation == "softplus"


# ---- an activation per hidden layer --------------------------------------------------------------


def test_an_activation_per_hidden_layer_on_both_engines(tmp_path) -> None:
    activations = ["relu", "sigmoid", "tanh"]
    scalar = MLP(2, [4, 3, 3, 1], activations, "linear", init="kaiming", seed=5)
    tensor = TensorMLP(2, [4, 3, 3, 1], activations, "linear", init="kaiming", seed=5)
    assert [layer.activation for layer in scalar.layers] == [*activations, "linear"]
    assert tensor.layer_activations() == [*activations, "linear"]
    assert describe(scalar) == describe(tensor)  # the same weights for the same seed
    assert [layer.activation for layer in describe(scalar).layers] == [*activations, "linear"]
    expected = {"nin": 2, "nouts": [4, 3, 3, 1], "activation": activations, "output_activation": "linear"}
    assert scalar.architecture() == tensor.architecture() == expected
    assert repr(scalar) == "MLP(2, [4, 3, 3, 1], activation=['relu', 'sigmoid', 'tanh'], output_activation='linear')"
    # Conversions and files keep them, bit for bit.
    assert isinstance(to_tensor(scalar), TensorMLP) and describe(to_scalar(tensor)) == describe(scalar)
    scalar.save(tmp_path / "m.json")
    tensor.save(tmp_path / "m.npz")
    for path in ("m.json", "m.npz"):
        loaded = nn.load(tmp_path / path)
        assert loaded.architecture() == expected and describe(loaded) == describe(scalar)
    X = np.random.default_rng(2).normal(size=(5, 2))
    np.testing.assert_allclose(tensor(X).data[:, 0], [scalar(x).data for x in X.tolist()], rtol=0, atol=1e-14)
    # The output defaults to the last hidden layer's activation; one name still means every layer.
    assert MLP(2, [3, 3, 1], ["relu", "tanh"], seed=0).output_activation == "tanh"
    assert MLP(2, [3, 3, 1], "relu", seed=0).layer_activations() == ["relu", "relu", "relu"]
    with pytest.raises(ValueError, match=r"one name per hidden layer \(2 for nouts \[3, 3, 1\]\), got 1"):
        TensorMLP(2, [3, 3, 1], ["relu"])
    with pytest.raises(ValueError, match=r"MLP activation\[1\] must be one of"):
        MLP(2, [3, 3, 1], ["relu", "softmax"])


def test_layer_outputs_are_every_layers_values_on_the_way_to_the_output() -> None:
    from scratchgrad import no_grad

    model = TensorMLP(3, [5, 4, 2], ["tanh", "relu"], "sigmoid", seed=1)
    X = np.random.default_rng(0).normal(size=(7, 3))
    outputs = model.layer_outputs(X)
    assert [o.shape for o in outputs] == [(7, 5), (7, 4), (7, 2)]
    np.testing.assert_array_equal(outputs[-1].data, model(X).data)
    w0, b0 = model.layers[0].weight.data, model.layers[0].bias.data
    np.testing.assert_allclose(outputs[0].data, np.tanh(X @ w0.T + b0), rtol=1e-14)
    with no_grad():
        assert not model.layer_outputs(X)[1].requires_grad
