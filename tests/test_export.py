"""Export to PyTorch and ONNX, import from PyTorch (issue 5)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from scratchgrad import data, export, nn, tensor_nn
from scratchgrad.train import fit
from scratchgrad.optim import SGD


def _seed_mlp() -> nn.MLP:
    random.seed(1337)
    return nn.MLP(3, [4, 4, 1])


def _moons_mlp() -> nn.MLP:
    X, y = data.make_moons(n_samples=60, noise=0.1, seed=0)
    model = nn.MLP(2, [8, 8, 1], activation="relu", output_activation="linear", seed=0)
    fit(model, X, y, loss="hinge", optimizer=SGD(model.parameters(), lr=0.1), epochs=5, progress=False)
    return model


@pytest.fixture(scope="module")
def digits_model() -> tensor_nn.Sequential:
    from scratchgrad.tensor_train import train_digits

    result = train_digits(epochs=1, progress=False, seed=0)
    assert isinstance(result.model, tensor_nn.Sequential)
    return result.model


def _scalar_outputs(model: nn.MLP, X: np.ndarray) -> np.ndarray:
    rows = []
    for x in X.tolist():
        out = model(x)
        rows.append([v.data for v in out] if isinstance(out, list) else [out.data])
    return np.array(rows)


def _assert_same_state(a: nn.Module | tensor_nn.Module, b: nn.Module | tensor_nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        # bit-exact: compare the IEEE bytes, not within a tolerance
        assert np.array_equal(np.atleast_1d(np.asarray(sa[key], dtype=np.float64)).view(np.uint8),
                              np.atleast_1d(np.asarray(sb[key], dtype=np.float64)).view(np.uint8)), key


@pytest.mark.parametrize("build", [_seed_mlp, _moons_mlp], ids=["seed-mlp", "moons-mlp"])
def test_scalar_mlp_round_trip_through_torch_is_bit_exact(build) -> None:  # type: ignore[no-untyped-def]
    model = build()
    module = export.to_torch(model)
    assert all(p.dtype == torch.float64 for p in module.parameters())
    X = np.random.default_rng(0).uniform(-3, 3, size=(50, model.nin))
    ours = _scalar_outputs(model, X)
    theirs = module(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-12)
    back = export.from_torch(module)
    assert isinstance(back, nn.MLP)
    assert back.architecture() == model.architecture()
    _assert_same_state(back, model)


def test_tensor_round_trip_through_torch_is_bit_exact(digits_model: tensor_nn.Sequential) -> None:
    module = export.to_torch(digits_model)
    X = np.random.default_rng(1).uniform(0, 1, size=(100, 64))
    np.testing.assert_allclose(module(torch.from_numpy(X)).detach().numpy(), digits_model(X).data, rtol=0, atol=1e-12)
    back = export.from_torch(module, engine="tensor")
    assert isinstance(back, tensor_nn.MLP)  # Linear, ReLU, Linear fits the tensor MLP's shape
    assert back.architecture() == {"nin": 64, "nouts": [128, 10], "activation": "relu", "output_activation": "linear"}
    assert nn.describe(back) == nn.describe(digits_model)  # every weight, to the bit
    X_back = np.random.default_rng(2).uniform(0, 1, size=(10, 64))
    assert back(X_back).data.tobytes() == digits_model(X_back).data.tobytes()


def test_torch_file_round_trip(tmp_path: Path) -> None:
    model = _seed_mlp()
    path = export.save_torch(model, tmp_path / "seed.pt")
    module = export.load_torch(path)
    _assert_same_state(export.from_torch(module), model)
    # plain torch can read it safely too
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "scratchgrad-torch-export"


@pytest.mark.parametrize("build", [_seed_mlp, _moons_mlp], ids=["seed-mlp", "moons-mlp"])
def test_onnx_runtime_agrees_with_scalar_model(build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = build()
    path = export.to_onnx(model, tmp_path / "model.onnx")
    X = np.random.default_rng(2).uniform(-3, 3, size=(1000, model.nin))
    np.testing.assert_allclose(export.onnx_predict(path, X), _scalar_outputs(model, X), rtol=1e-6, atol=1e-6)


def test_onnx_runtime_agrees_with_digits_model(digits_model: tensor_nn.Sequential, tmp_path: Path) -> None:
    path = export.to_onnx(digits_model, tmp_path / "digits.onnx")
    X = np.random.default_rng(3).uniform(0, 1, size=(1000, 64))
    ours = digits_model(X).data
    ort = export.onnx_predict(path, X)
    # float32 weights and sums: agree to float32's resolution, relative to the logits' size
    np.testing.assert_allclose(ort, ours, rtol=1e-5, atol=1e-6 * float(np.abs(ours).max()))
    assert np.array_equal(ort.argmax(axis=1), ours.argmax(axis=1)) or np.mean(ort.argmax(1) == ours.argmax(1)) > 0.999


def test_onnx_float64_export(tmp_path: Path) -> None:
    model = _seed_mlp()
    path = export.to_onnx(model, tmp_path / "m64.onnx", dtype="float64")
    X = np.random.default_rng(4).uniform(-2, 2, size=(200, 3))
    np.testing.assert_allclose(export.onnx_predict(path, X), _scalar_outputs(model, X), rtol=0, atol=1e-12)


def test_onnx_model_passes_the_checker() -> None:
    import onnx

    proto = export.to_onnx_model(_moons_mlp())
    onnx.checker.check_model(proto, full_check=True)
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Relu", "Gemm", "Relu", "Gemm"]


def test_from_torch_rejects_unsupported_layers() -> None:
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Dropout(0.1), torch.nn.Linear(3, 1))
    with pytest.raises(ValueError, match=r"unsupported layer #1 Dropout"):
        export.from_torch(module)
    with pytest.raises(TypeError, match="Conv2d"):
        export.from_torch(torch.nn.Conv2d(1, 1, 3))


def test_from_torch_mixed_activations_on_both_engines() -> None:
    module = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 3), torch.nn.ReLU(),
                                 torch.nn.Linear(3, 1))
    x = np.random.default_rng(5).normal(size=(7, 2))
    expected = module.double()(torch.from_numpy(x)).detach().numpy()
    scalar = export.from_torch(module)  # the scalar MLP takes one activation per hidden layer
    assert scalar.architecture()["activation"] == ["tanh", "relu"]
    np.testing.assert_allclose([scalar(row).data for row in x.tolist()], expected[:, 0], rtol=0, atol=1e-12)
    back = export.from_torch(module, engine="tensor")
    np.testing.assert_allclose(back(x).data, expected, rtol=0, atol=1e-12)
    no_bias = torch.nn.Sequential(torch.nn.Linear(2, 3, bias=False), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    with pytest.raises(ValueError, match="engine='tensor'"):
        export.from_torch(no_bias)


def test_from_torch_float32_module_is_imported_exactly() -> None:
    module = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sigmoid())
    back = export.from_torch(module)
    weights = module[0].weight.detach().double().numpy()
    assert [w.data for w in back.layers[0].neurons[1].w] == weights[1].tolist()
    assert back.output_activation == "sigmoid"


def test_export_refuses_non_models() -> None:
    with pytest.raises(TypeError, match="cannot export a dict"):
        export.to_torch({"not": "a model"})


@pytest.mark.parametrize("module, extra, call", [
    ("torch", "torch", lambda: export.to_torch(_seed_mlp())),
    ("onnx", "onnx", lambda: export.to_onnx_model(_seed_mlp())),
])
def test_missing_extra_names_the_extra(module: str, extra: str, call, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(ImportError, match=rf"make install-{extra}"):
        call()


def test_cli_export_to_both_formats(tmp_path: Path) -> None:
    model = _moons_mlp()
    model_path = tmp_path / "moons.json"
    model.save(model_path)
    for fmt, name in (("onnx", "moons.onnx"), ("torch", "moons.pt")):
        out = tmp_path / name
        run = subprocess.run([sys.executable, "-m", "scratchgrad", "export", str(model_path), "--to", fmt, "--out", str(out)],
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert out.stat().st_size > 0
    X = np.random.default_rng(6).uniform(-2, 2, size=(100, 2))
    np.testing.assert_allclose(export.onnx_predict(tmp_path / "moons.onnx", X), _scalar_outputs(model, X), rtol=1e-6, atol=1e-6)
    _assert_same_state(export.from_torch(export.load_torch(tmp_path / "moons.pt")), model)


def test_cli_export_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    run = subprocess.run([sys.executable, "-m", "scratchgrad", "export", str(bad), "--to", "onnx", "--out", str(tmp_path / "x.onnx")],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "broken.json" in run.stderr and "Traceback" not in run.stderr
