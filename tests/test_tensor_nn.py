"""Modules on tensors: Linear/Sequential/activations/mlp against PyTorch, parameter
bookkeeping, state dicts, .npz save/load (bit-exact; clear errors on bad files), the
optimizers of scratchgrad.optim on tensor parameters, and the tensor losses."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from scratchgrad import optim
from scratchgrad.tensor import Tensor, cross_entropy
from scratchgrad.tensor_nn import (
    Identity,
    Linear,
    ModelFileError,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    binary_cross_entropy_with_logits,
    from_architecture,
    hinge_loss,
    load,
    mlp,
    mse_loss,
)


def _torch_copy(model: Sequential) -> torch.nn.Sequential:
    layers = []
    for layer in model:
        if isinstance(layer, Linear):
            lin = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None).double()
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(layer.weight.data))
                if layer.bias is not None:
                    lin.bias.copy_(torch.from_numpy(layer.bias.data))
            layers.append(lin)
        else:
            layers.append({ReLU: torch.nn.ReLU, Tanh: torch.nn.Tanh, Sigmoid: torch.nn.Sigmoid}[type(layer)]())
    return torch.nn.Sequential(*layers)


# ---- layers ------------------------------------------------------------------------------------------


def test_linear_uses_pytorchs_layout_and_initial_range() -> None:
    layer = Linear(64, 128, seed=0)
    assert layer.weight.shape == (128, 64) and layer.bias.shape == (128,)
    bound = 1 / np.sqrt(64)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert layer.weight.data.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)  # uniform's std
    kaiming = Linear(64, 128, seed=0, init="kaiming")
    assert kaiming.weight.data.std() == pytest.approx(np.sqrt(2 / 64), rel=0.05)
    assert not kaiming.bias.data.any()
    assert Linear(3, 2, bias=False).bias is None
    assert_array_equal(Linear(4, 3, seed=7).weight.data, Linear(4, 3, seed=7).weight.data)
    assert Linear(4, 3, dtype=np.float32).weight.dtype == np.float32


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: Linear(0, 3), "in_features must be a positive int, got 0"),
        (lambda: Linear(3, 2.5), "out_features must be a positive int, got 2.5"),
        (lambda: Linear(3, 2, init="xavier"), "init must be one of 'uniform', 'kaiming', got 'xavier'"),
        (lambda: mlp(2, [4], 1, activation="gelu"), "activation must be one of 'tanh', 'relu', 'sigmoid', 'linear', got 'gelu'"),
        (lambda: mlp(2, [0], 1), "hidden size must be a positive int"),
        (lambda: Linear(3, 2)(np.ones((4, 5))), r"linear: input shape \(4, 5\) does not fit weight shape \(2, 3\)"),
    ],
)
def test_bad_layer_arguments_and_inputs_are_refused_clearly(make, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        make()
    with pytest.raises(TypeError, match="layer 1 is a str"):
        Sequential(Linear(2, 2), "relu")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed must be an int"):
        Linear(2, 2, seed="x")  # type: ignore[arg-type]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_mlp_forward_and_backward_match_pytorch(activation: str) -> None:
    model = mlp(5, [7, 6], 3, activation=activation, seed=1)
    assert [type(layer).__name__ for layer in model] == ["Linear", type(model[1]).__name__, "Linear", type(model[3]).__name__, "Linear"]
    reference = _torch_copy(model)
    x = np.random.default_rng(2).normal(size=(9, 5))
    targets = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    loss = cross_entropy(model(x), targets)
    expected = torch.nn.functional.cross_entropy(reference(torch.from_numpy(x)), torch.from_numpy(targets))
    loss.backward()
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        assert_allclose(p.grad, q.grad.numpy(), rtol=1e-10, atol=1e-13, err_msg=name)


def test_output_activation_and_a_single_hidden_int() -> None:
    model = mlp(2, 3, 1, activation="tanh", output_activation="sigmoid", seed=0)
    assert [type(layer) for layer in model] == [Linear, Tanh, Linear, Sigmoid]
    out = model(np.zeros((4, 2)))
    assert out.shape == (4, 1) and ((out.data > 0) & (out.data < 1)).all()
    assert [type(layer) for layer in mlp(2, [3], 1, activation="linear")] == [Linear, Linear]
    assert Identity()(np.ones(2)).tolist() == [1.0, 1.0]
    assert ReLU()(np.array([-1.0, 2.0])).tolist() == [0.0, 2.0]


# ---- parameters and state dicts -----------------------------------------------------------------------


def test_named_parameters_follow_pytorchs_names() -> None:
    model = mlp(2, [4, 4], 1, seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert names == list(_torch_copy(model).state_dict())
    assert model.num_parameters() == 2 * 4 + 4 + 4 * 4 + 4 + 4 + 1
    assert model.parameters()[0] is model[0].weight


def test_custom_modules_find_their_parameters_by_attribute() -> None:
    class Block(Module):
        def __init__(self) -> None:
            self.scale = Tensor(np.ones(3), requires_grad=True)
            self.fixed = Tensor(np.ones(3))  # no grad: a constant, not a parameter
            self.inner = Linear(3, 3, seed=0)
            self.heads = [Linear(3, 1, seed=1), Linear(3, 1, seed=2)]
            self.gates = (Tensor(np.ones(1), requires_grad=True), Tensor(np.ones(1)))
            self._cache = Linear(3, 3)  # private: skipped

        def forward(self, x):
            h = self.inner(x * self.scale)
            return self.heads[0](h) + self.heads[1](h)

    names = [n for n, _ in Block().named_parameters()]
    assert names == ["scale", "inner.weight", "inner.bias", "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias", "gates.0"]


def test_zero_grad_sets_gradients_to_none() -> None:
    model = mlp(2, [3], 1, seed=0)
    model(np.ones((2, 2))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_is_a_copy_and_load_state_dict_checks_everything_first() -> None:
    model, other = mlp(2, [3], 1, seed=0), mlp(2, [3], 1, seed=1)
    state = model.state_dict()
    state["0.weight"][0, 0] = 99.0
    assert model[0].weight.data[0, 0] != 99.0
    other.load_state_dict(model.state_dict())
    for p, q in zip(model.parameters(), other.parameters()):
        assert_array_equal(p.data, q.data)

    before = [p.data.copy() for p in other.parameters()]
    bad_shape = {**model.state_dict(), "2.bias": np.zeros(2)}
    with pytest.raises(ValueError, match=r"state_dict\['2.bias'\] has shape \(2,\), but the parameter has shape \(1,\)"):
        other.load_state_dict(bad_shape)
    missing = {k: v for k, v in model.state_dict().items() if k != "0.bias"}
    with pytest.raises(ValueError, match=r"missing keys \(1\): 0.bias"):
        other.load_state_dict(missing)
    with pytest.raises(ValueError, match=r"unexpected keys \(1\): extra"):
        other.load_state_dict({**model.state_dict(), "extra": np.zeros(1)})
    with pytest.raises(TypeError, match="must hold numbers"):
        other.load_state_dict({**model.state_dict(), "0.bias": np.array(["a", "b", "c"])})
    with pytest.raises(ValueError, match=r"state_dict\['2.bias'\] holds NaN or infinity"):
        other.load_state_dict({**model.state_dict(), "2.bias": np.array([np.nan])})
    for p, b in zip(other.parameters(), before):
        assert_array_equal(p.data, b)  # untouched by every failed load
    result = other.load_state_dict(missing, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == []


# ---- files --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_and_load_round_trip_bit_exactly(tmp_path: Path, dtype) -> None:
    model = mlp(4, [5, 3], 2, activation="tanh", output_activation="sigmoid", seed=3, dtype=dtype)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = Sequential.load(path)
    assert loaded.architecture() == model.architecture()
    for (name, p), (name2, q) in zip(model.named_parameters(), loaded.named_parameters()):
        assert name == name2 and q.dtype == dtype
        assert p.data.tobytes() == q.data.tobytes()
    x = np.random.default_rng(0).normal(size=(6, 4))
    assert model(x).data.tobytes() == loaded(x).data.tobytes()
    assert type(load(path)) is Sequential and type(Module.load(path)) is Sequential
    fresh = mlp(4, [5, 3], 2, activation="tanh", output_activation="sigmoid", seed=9, dtype=dtype)
    fresh.load_weights(path)
    assert fresh(x).data.tobytes() == model(x).data.tobytes()
    with np.load(path, allow_pickle=False) as archive:  # a plain .npz: readable without scratchgrad
        assert set(archive.files) == {"__scratchgrad__", *model.state_dict()}


def test_save_refuses_non_finite_weights_and_keeps_the_old_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "model.npz"
    model = mlp(2, [3], 1, seed=0)
    model.save(path)
    original = path.read_bytes()
    model[0].bias.data[1] = np.nan
    with pytest.raises(ValueError, match="parameter 0.bias holds NaN or infinity"):
        model.save(path)
    model[0].bias.data[1] = 0.0

    def broken_write(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", broken_write)
    with pytest.raises(RuntimeError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary file left behind


def _write_npz(path: Path, header: object, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, __scratchgrad__=np.array(json.dumps(header)), **arrays)
    path.write_bytes(buffer.getvalue())


def test_broken_files_raise_model_file_errors_naming_the_file_and_problem(tmp_path: Path) -> None:
    model = mlp(2, [3], 1, seed=0)
    good = tmp_path / "good.npz"
    model.save(good)
    with zipfile.ZipFile(good) as archive:
        header = json.loads(str(np.lib.format.read_array(archive.open("__scratchgrad__.npy"))))
    assert header["format"] == "scratchgrad.model" and header["engine"] == "tensor" and header["model"] == "Sequential"
    data = good.read_bytes()

    cases: dict[str, tuple[bytes, str]] = {
        "empty.npz": (b"", "the file is empty"),
        "truncated.npz": (data[: len(data) // 2], "not a readable .npz model file"),
        "noise.npz": (bytes(range(256)) * 4, "not a scratchgrad model file"),
        "model.json": (b'{"format": "scratchgrad.nn"}', "format version must be an int"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ModelFileError, match=message) as info:
            Sequential.load(path)
        assert name in str(info.value)

    def expect(path: Path, message: str, loader=Sequential.load) -> None:
        with pytest.raises(ModelFileError, match=message) as info:
            loader(path)
        assert str(path) in str(info.value)

    no_header = tmp_path / "plain.npz"
    np.savez(no_header, weight=np.ones(3))
    expect(no_header, "no __scratchgrad__ header")
    foreign = tmp_path / "foreign.npz"
    _write_npz(foreign, {**header, "format": "other"}, model.state_dict())
    expect(foreign, "not a scratchgrad model file .format 'other'")
    newer = tmp_path / "newer.npz"
    _write_npz(newer, {**header, "version": 3}, model.state_dict())
    expect(newer, "unsupported format version 3.*newer scratchgrad")
    bad_arch = tmp_path / "arch.npz"
    _write_npz(bad_arch, {**header, "model": "Conv2d"}, model.state_dict())
    expect(bad_arch, "unknown model type 'Conv2d'")
    bad_layer = tmp_path / "layer.npz"
    _write_npz(bad_layer, {**header, "shapes": None, "architecture": {"type": "Sequential", "layers": [{"type": "Dropout"}]}}, {})
    expect(bad_layer, "invalid architecture .*unknown model type 'Dropout'")
    wrong_shape = tmp_path / "shape.npz"
    _write_npz(wrong_shape, {**header, "shapes": None}, {**model.state_dict(), "0.weight": np.zeros((2, 2))})
    expect(wrong_shape, r"0.weight.* has shape \(2, 2\), but the parameter has shape \(3, 2\)")
    lying = tmp_path / "lying.npz"
    _write_npz(lying, header, {**model.state_dict(), "0.weight": np.zeros((2, 2))})
    expect(lying, "the header's 'shapes' do not match the arrays")
    missing = tmp_path / "missing.npz"
    _write_npz(missing, {**header, "shapes": None}, {k: v for k, v in model.state_dict().items() if k != "2.bias"})
    expect(missing, r"missing keys \(1\): 2.bias")
    nan = tmp_path / "nan.npz"
    _write_npz(nan, header, {**model.state_dict(), "2.bias": np.array([np.nan])})
    expect(nan, "parameter 2.bias holds NaN or infinity")
    pickled = tmp_path / "pickled.npz"
    buffer = io.BytesIO()
    np.savez(buffer, __scratchgrad__=np.array(json.dumps(header)), evil=np.array([object()], dtype=object))
    pickled.write_bytes(buffer.getvalue())
    expect(pickled, "member evil holds Python objects")  # allow_pickle=False: never unpickled
    corrupt_json = tmp_path / "json.npz"
    with zipfile.ZipFile(corrupt_json, "w") as archive:
        raw = io.BytesIO()
        np.save(raw, np.array("{not json"))
        archive.writestr("__scratchgrad__.npy", raw.getvalue())
    expect(corrupt_json, "corrupt or truncated header")
    other_model = mlp(2, [5], 1, seed=0)
    expect(good, "does not match this Sequential", other_model.load_weights)
    with pytest.raises(ModelFileError, match="holds model type 'Sequential' .tensor engine., expected 'Linear'"):
        Linear.load(good)
    with pytest.raises(FileNotFoundError, match="model file not found"):
        Sequential.load(tmp_path / "nope.npz")
    with pytest.raises(ModelFileError, match="is a directory"):
        Sequential.load(tmp_path)


def test_from_architecture_rebuilds_shapes() -> None:
    model = mlp(3, [4], 2, activation="sigmoid", seed=0)
    rebuilt = from_architecture(model.architecture())
    assert rebuilt.architecture() == model.architecture()
    with pytest.raises(ValueError, match="unknown model type 'Dropout' for the tensor engine"):
        from_architecture({"type": "Dropout"})


# ---- optimizers and losses on tensors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
         lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
        (lambda ps: optim.Adam(ps, lr=1e-2, weight_decay=1e-4), lambda ps: torch.optim.Adam(ps, lr=1e-2, weight_decay=1e-4)),
    ],
    ids=["sgd-nesterov", "adam"],
)
def test_scratchgrad_optimizers_train_tensor_models_like_torch_optim(ours, theirs) -> None:
    model = mlp(3, [8], 3, seed=4)
    reference = _torch_copy(model)
    opt, ref_opt = ours(model.parameters()), theirs(reference.parameters())
    rng = np.random.default_rng(0)
    for _ in range(15):
        x, y = rng.normal(size=(10, 3)), rng.integers(0, 3, size=10)
        loss = cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        opt.step()
        ref_loss = torch.nn.functional.cross_entropy(reference(torch.from_numpy(x)), torch.from_numpy(y))
        ref_opt.zero_grad()
        ref_loss.backward()
        ref_opt.step()
        assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-10)
    for p, q in zip(model.parameters(), reference.parameters()):
        assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12)
    opt.zero_grad()  # the optimizer's own zero_grad works on tensors too
    model(np.ones((1, 3))).sum().backward()
    assert all(p.grad is not None and np.isfinite(p.grad).all() for p in model.parameters())


def test_tensor_losses_match_pytorch() -> None:
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(8, 1)) * 3
    labels = np.where(rng.random(8) < 0.5, -1.0, 1.0)
    for ours, theirs in [
        (lambda s, y: hinge_loss(s, y), lambda s, y: torch.relu(1 - y * s[:, 0]).mean()),
        (lambda s, y: mse_loss(s, y), lambda s, y: ((s[:, 0] - y) ** 2).mean()),
        (
            lambda s, y: binary_cross_entropy_with_logits(s * 300, (y + 1) / 2),
            lambda s, y: torch.nn.functional.binary_cross_entropy_with_logits(s[:, 0] * 300, (y + 1) / 2),
        ),
    ]:
        leaf, ref = Tensor(scores, requires_grad=True), torch.tensor(scores, requires_grad=True)
        loss, expected = ours(leaf, labels), theirs(ref, torch.from_numpy(labels))
        loss.backward()
        expected.backward()
        assert np.isfinite(loss.item())
        assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
        assert_allclose(leaf.grad, ref.grad.numpy(), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match=r"targets must be in \[0, 1\], got a target of -1.0 \(for -1/\+1 labels"):
        binary_cross_entropy_with_logits(scores, labels)
    with pytest.raises(ValueError, match=r"hinge_loss: scores shape \(8, 1\) and targets shape \(3,\) differ"):
        hinge_loss(scores, np.ones(3))
