"""The playground's numbers: its data sets and features, its trainer, and the model seam
(`scratchgrad.playground.model`), checked against PyTorch float64, against each other and
against the library they are built on.

The two engines must follow the same path, the library's `fit`'s; a point's forward and
backward pass, a neuron's picture and the whole graph must hold PyTorch's values and
gradients; model files must round-trip; uploads must be checked row by row; every choice
is a registry entry, and the playground imports no private name of the library.
"""

from __future__ import annotations

import ast
import html
import math
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from scratchgrad.playground import data, model
from scratchgrad.playground.config import PlaygroundConfig
from scratchgrad.playground.trainer import GRID_RESOLUTION, HEATMAP_RESOLUTION, Trainer, encode_grid

TORCH_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda z: z}


def torch_network(layers: Any) -> list[tuple[torch.Tensor, torch.Tensor, str]]:
    return [
        (torch.tensor(layer.weight, dtype=torch.float64, requires_grad=True),
         torch.tensor(layer.bias, dtype=torch.float64, requires_grad=True), layer.activation)
        for layer in layers
    ]


def torch_forward(params: list[tuple[torch.Tensor, torch.Tensor, str]], x: Any) -> list[torch.Tensor]:
    outputs, h = [], torch.as_tensor(np.asarray(x), dtype=torch.float64)
    for w, b, activation in params:
        h = TORCH_ACTIVATIONS[activation](h @ w.T + b)
        outputs.append(h)
    return outputs


def torch_loss(loss: str, outputs: torch.Tensor, labels: Any) -> torch.Tensor:
    y = torch.as_tensor(np.asarray(labels), dtype=torch.float64)
    if loss == "hinge":
        return torch.relu(1 - y * outputs).mean()
    if loss == "mse":
        return ((outputs - y) ** 2).mean()
    return torch.nn.functional.binary_cross_entropy_with_logits(outputs, (y + 1) / 2)


# ---- data sets and features ---------------------------------------------------------------------


@pytest.mark.parametrize("dataset", data.datasets("classification") + data.datasets("regression"))
def test_every_data_set_is_the_librarys_seeded_and_shaped(dataset: str) -> None:
    from scratchgrad.data import load_dataset

    x, y = data.make(dataset, 120, 0.1, seed=3)
    again, _ = data.make(dataset, 120, 0.1, seed=3)
    other, _ = data.make(dataset, 120, 0.1, seed=4)
    assert x.shape == (120, 2) and y.shape == (120,) and np.isfinite(x).all()
    np.testing.assert_array_equal(x, again)
    np.testing.assert_array_equal(x, load_dataset(dataset, samples=120, noise=0.1, seed=3).X)
    assert not np.array_equal(x, other)
    if dataset in data.datasets("classification"):
        assert set(y.tolist()) == {-1.0, 1.0} and abs(y.mean()) < 0.1  # both classes, balanced
    else:
        assert (np.abs(y) <= 1).all() and len(set(y.tolist())) > 100


def test_the_data_sets_are_the_registrys_two_dimensional_ones() -> None:
    assert data.datasets("classification") == ("moons", "circles", "spirals", "xor", "gauss")
    assert data.datasets("regression") == ("plane", "gaussian_mix")
    assert "tutorial" not in data.all_datasets() and "digits" not in data.all_datasets()  # 3 and 64 features
    assert data.problem_of("plane") == "regression" and data.problem_of("csv") is None


def test_features_are_the_named_functions_of_the_point() -> None:
    points = np.array([[0.5, -2.0], [1.5, 3.0]])
    names = tuple(data.FEATURES)
    columns = data.features(points, names)
    a, b = points[:, 0], points[:, 1]
    np.testing.assert_allclose(columns, np.column_stack([a, b, a**2, b**2, a * b, np.sin(a), np.sin(b)]))
    assert [data.FEATURES[n][0] for n in names] == ["x\u2081", "x\u2082", "x\u2081\u00b2", "x\u2082\u00b2",
                                                    "x\u2081x\u2082", "sin x\u2081", "sin x\u2082"]


def test_an_upload_with_a_header_and_0_1_labels() -> None:
    text = "a,b,class\n" + "".join(f"{i / 10},{-i / 10},{i % 2}\n" for i in range(12))
    x, y = data.read_upload(text.encode(), "classification", "pts.csv")
    assert x.shape == (12, 2) and y.tolist() == [-1.0, 1.0] * 6
    x, y = data.read_upload(text.encode(), "regression", "pts.csv")
    assert y.tolist() == [0.0, 1.0] * 6


def test_an_upload_of_identical_points_is_refused() -> None:
    with pytest.raises(data.UploadError, match="every point is at the same place"):
        data.read_upload(b"1,1,0\n1,1,1\n" * 6, "classification", "same.csv")
    with pytest.raises(data.UploadError, match="same.csv: binary_labels needs exactly 2 .* switch the problem to regression"):
        data.read_upload(b"1,1,0\n1,2,1\n2,2,2\n" * 6, "classification", "same.csv")


# ---- the trainer ----------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["hinge", "mse", "bce"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "adamw"])
@pytest.mark.parametrize("regularization", ["none", "l1", "l2"])
def test_both_engines_follow_the_same_path(loss: str, optimizer: str, regularization: str) -> None:
    # relu everywhere: a point whose relus are all 0 has output exactly 0, where cross-entropy's
    # gradient must be 1/2 - t on both engines (it once was -t on tensors).
    settings = dict(loss=loss, optimizer=optimizer, hidden=(5, 3), activations=("relu", "relu"), n_points=60,
                    batch_size=7, regularization=regularization, regularization_rate=0.01,
                    features=("x1", "x2", "x1x2"))
    tensor = Trainer(PlaygroundConfig(engine="tensor", **settings))  # type: ignore[arg-type]
    scalar = Trainer(PlaygroundConfig(engine="scalar", **settings))  # type: ignore[arg-type]
    first = tensor.model_description()
    assert first == scalar.model_description()  # the same starting weights
    for _ in range(3):
        tensor.train_epoch()
        scalar.train_epoch()
    assert tensor.steps == scalar.steps == 3 * math.ceil(30 / 7)
    for t, s in zip(tensor.layers(), scalar.layers()):
        np.testing.assert_allclose(t.weight, s.weight, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(t.bias, s.bias, rtol=1e-10, atol=1e-12)
    assert not np.allclose(first.layers[0].weight, tensor.layers()[0].weight)  # it did train


@pytest.mark.parametrize("engine", ["tensor", "scalar"])
def test_the_playground_trains_as_the_librarys_fit(engine: str) -> None:
    from scratchgrad.nn import build, describe
    from scratchgrad.train import fit

    config = PlaygroundConfig(engine=engine, hidden=(4, 3), activations=("tanh", "relu"), n_points=50, batch_size=8,
                              optimizer="adam", learning_rate=0.05, regularization="l1", regularization_rate=0.01)
    trainer = Trainer(config)
    twin = build(trainer.model_description(), engine)
    for _ in range(3):
        trainer.train_epoch()
    fit(twin, trainer.f_train, trainer.y_train, loss="bce", optimizer="adam", lr=0.05, l1=0.01, epochs=3, batch_size=8,
        seed=random.Random(config.seed + 2), progress=False)
    assert describe(twin) == trainer.model_description()  # bit for bit: the same batches, the same updates


@pytest.mark.parametrize("regularization", ["none", "l1", "l2"])
@pytest.mark.parametrize("loss", ["hinge", "mse", "bce"])
def test_one_update_is_pytorchs(regularization: str, loss: str) -> None:
    config = PlaygroundConfig(loss=loss, hidden=(4, 3), activations=("tanh", "sigmoid"), regularization=regularization,
                              regularization_rate=0.03, learning_rate=0.2, batch_size=200, n_points=40,
                              features=("x1", "x2", "sinx1"))
    trainer = Trainer(config)
    params = torch_network(trainer.layers())
    out = torch_forward(params, trainer.f_train)[-1][:, 0]
    total = torch_loss(loss, out, trainer.y_train)
    if regularization == "l1":  # every parameter, biases too, as the library's l1_penalty / l2_penalty
        total = total + 0.03 * sum(w.abs().sum() + b.abs().sum() for w, b, _ in params)
    elif regularization == "l2":
        total = total + 0.03 * sum((w * w).sum() + (b * b).sum() for w, b, _ in params)
    total.backward()
    trainer.train_epoch()  # one batch holds every training point: one update
    for layer, (w, b, _) in zip(trainer.layers(), params):
        np.testing.assert_allclose(layer.weight, (w - 0.2 * w.grad).detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(layer.bias, (b - 0.2 * b.grad).detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize("loss", ["hinge", "mse", "bce"])
def test_what_the_page_shows_is_pytorchs(activation: str, loss: str) -> None:
    config = PlaygroundConfig(activations=(activation, "tanh"), loss=loss, hidden=(4, 3), n_points=40,
                              features=("x1", "x2", "x2sq"))
    trainer = Trainer(config)
    trainer.train_epoch()
    params = torch_network(trainer.layers())
    snapshot = trainer.snapshot()
    for split, features, labels in (("train", trainer.f_train, trainer.y_train), ("test", trainer.f_test, trainer.y_test)):
        out = torch_forward(params, features)[-1][:, 0]
        assert snapshot[f"{split}_loss"] == pytest.approx(torch_loss(loss, out, labels).item(), rel=1e-12)
        predicted = np.where(out.detach().numpy() > 0, 1.0, -1.0)
        assert snapshot[f"{split}_accuracy"] == pytest.approx(np.mean(predicted == labels))
    # The pictures: every neuron's output over the input plane, and the output's confidence.
    grid = data.features(_grid_of(trainer), config.features)
    per_layer = [h.detach().numpy() for h in torch_forward(params, grid)]
    # A raw score (bce, hinge) is read as a logit: 2 sigmoid(s) - 1; mse's tanh output is shown as it is.
    expected_out = np.tanh(per_layer[-1][:, 0] / 2) if loss != "mse" else np.clip(per_layer[-1][:, 0], -1, 1)
    assert snapshot["boundary"] == encode_grid(expected_out)
    maps = np.frombuffer(__import__("base64").b64decode(snapshot["heatmaps"]), dtype=np.uint8).reshape(-1, HEATMAP_RESOLUTION**2)
    assert len(maps) == 4 + 3 + 1 and len(snapshot["heatmap_scales"]) == 8
    first = per_layer[0][:, 1].reshape(GRID_RESOLUTION, GRID_RESOLUTION)[::2, ::2]
    scale = max(1.0, np.abs(first).max())
    assert snapshot["heatmap_scales"][1] == round(scale, 4)
    np.testing.assert_array_equal(maps[1], np.rint((np.clip(first.ravel() / scale, -1, 1) + 1) * 127))


def _grid_of(trainer: Trainer) -> np.ndarray:
    xmin, xmax, ymin, ymax = trainer.domain
    n = GRID_RESOLUTION
    xs = xmin + (np.arange(n) + 0.5) * (xmax - xmin) / n
    ys = ymax - (np.arange(n) + 0.5) * (ymax - ymin) / n
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def test_the_default_settings_learn_the_moons() -> None:
    trainer = Trainer(PlaygroundConfig())
    start = trainer.snapshot()
    for _ in range(60):
        trainer.train_epoch()
    end = trainer.snapshot()
    assert end["train_loss"] < start["train_loss"] / 4
    assert end["train_accuracy"] >= 0.95 and end["test_accuracy"] >= 0.9
    grid = np.frombuffer(__import__("base64").b64decode(end["boundary"]), dtype=np.uint8)
    assert (grid > 127).any() and (grid < 127).any()  # a boundary, with both classes on the map


def test_features_let_a_network_without_hidden_layers_learn_circles() -> None:
    linear = Trainer(PlaygroundConfig(dataset="circles", hidden=(), optimizer="adam", learning_rate=0.05))
    squares = Trainer(PlaygroundConfig(dataset="circles", hidden=(), optimizer="adam", learning_rate=0.05,
                                       features=("x1", "x2", "x1sq", "x2sq")))
    for _ in range(60):
        linear.train_epoch()
        squares.train_epoch()
    assert linear.snapshot()["train_accuracy"] < 0.75  # a line cannot separate a ring from its centre
    assert squares.snapshot()["train_accuracy"] > 0.95


def test_regression_learns_the_plane() -> None:
    trainer = Trainer(PlaygroundConfig(problem="regression", dataset="plane", loss="mse", noise=0.0, hidden=(4,)))
    start = trainer.snapshot()["train_loss"]
    for _ in range(40):
        trainer.train_epoch()
    assert trainer.snapshot()["train_loss"] < start / 10


def test_huge_weights_give_none_not_nan() -> None:
    trainer = Trainer(PlaygroundConfig(hidden=(3,), activations=("relu",), loss="mse"))
    trainer.set_parameter(0, 0, 0, 1000.0)
    trainer.network.module.layers[1].bias.data = np.array([np.nan])  # as a runaway update leaves it
    snapshot = trainer.snapshot()
    __import__("json").dumps(snapshot, allow_nan=False)  # the page can parse it
    assert snapshot["train_loss"] is None and snapshot["boundary"][:4] == "////"  # bytes 255: not finite
    with pytest.raises(ValueError, match="finite number within"):
        trainer.set_parameter(0, 0, 0, 1e6)
    with pytest.raises(IndexError, match="layer 0 has neurons 0..2, got 3"):
        trainer.set_parameter(0, 3, 0, 1.0)


def test_the_network_is_the_librarys_mlp_from_the_seed() -> None:
    from scratchgrad.nn import MLP, TensorMLP, describe

    config = PlaygroundConfig(hidden=(16, 4), activations=("relu", "sigmoid"), features=("x1", "x2", "x1sq"), seed=1)
    trainer = Trainer(config)
    module = trainer.network.module
    assert isinstance(module, TensorMLP) and module.layer_activations() == ["relu", "sigmoid", "linear"]
    expected = MLP(3, [16, 4, 1], ["relu", "sigmoid"], "linear", init="kaiming", seed=1)
    assert trainer.model_description() == describe(expected)
    assert Trainer(PlaygroundConfig(engine="scalar", seed=1)).model_description() == Trainer(
        PlaygroundConfig(seed=1)).model_description()
    assert Trainer(PlaygroundConfig(seed=2)).model_description() != Trainer(PlaygroundConfig(seed=1)).model_description()
    bound = math.sqrt(6 / 3)  # kaiming: U(-sqrt(6/nin), sqrt(6/nin)), zero biases
    assert np.abs(trainer.layers()[0].weight).max() <= bound and all((layer.bias == 0).all() for layer in trainer.layers())


def test_a_weight_edit_changes_the_parameter_the_optimizer_follows() -> None:
    trainer = Trainer(PlaygroundConfig(hidden=(3,), engine="scalar", learning_rate=0.5))
    parameters = trainer.network.module.parameters()
    trainer.set_parameter(0, 2, 1, -2.5)
    assert trainer.network.module.parameters() == parameters  # the same Values, edited in place
    assert trainer.layers()[0].weight[2, 1] == -2.5
    trainer.train_epoch()
    assert trainer.layers()[0].weight[2, 1] != -2.5  # and trained from there


# ---- one point: the trace, a neuron, the whole graph --------------------------------------------


def _svg_records(svg: str) -> dict[str, tuple[float, float]]:
    """{label: (data, grad)} from draw_dot's record nodes in an SVG."""
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    records = {}
    for i in range(len(texts) - 2):
        if texts[i + 1].startswith("data ") and texts[i + 2].startswith("grad "):
            records[texts[i].strip()] = (float(texts[i + 1][5:]), float(texts[i + 2][5:]))
    return records


def _wrong_point(trainer: Trainer) -> int:
    """A test point the network gets wrong, so every loss has nonzero gradients there."""
    return int(np.argmin(trainer.outputs(trainer.f_test) * trainer.y_test))


@pytest.mark.parametrize("loss", ["hinge", "mse", "bce"])
def test_a_points_trace_is_pytorchs_forward_and_backward(loss: str) -> None:
    config = PlaygroundConfig(hidden=(3, 2), activations=("tanh", "relu"), loss=loss, features=("x1", "x2", "sinx2"))
    trainer = Trainer(config)
    trainer.train_epoch()
    index = _wrong_point(trainer)
    trace = trainer.prepare_trace("test", index)()
    params = torch_network(trainer.layers())
    inputs = torch.tensor([trace["inputs"]], dtype=torch.float64, requires_grad=True)
    zs, h = [], inputs
    for w, b, activation in params:
        z = h @ w.T + b
        z.retain_grad()
        h = TORCH_ACTIVATIONS[activation](z)
        h.retain_grad()
        zs.append((z, h))
    total = torch_loss(loss, h[:, 0], [trace["label"]])
    total.backward()
    assert trace["loss"] == pytest.approx(total.item(), rel=1e-12) and trace["loss"] > 0
    assert trace["output"] == pytest.approx(h.item(), rel=1e-12)
    for layer, (z, a), (w, b, _) in zip(trace["layers"], zs, params):
        np.testing.assert_allclose(layer["z"], z.detach().numpy()[0], rtol=1e-12)
        np.testing.assert_allclose(layer["a"], a.detach().numpy()[0], rtol=1e-12)
        np.testing.assert_allclose(layer["grad_z"], z.grad.numpy()[0], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(layer["grad_a"], a.grad.numpy()[0], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(layer["grad_w"], w.grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(layer["grad_b"], b.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(trace["grad_inputs"], inputs.grad.numpy()[0], rtol=1e-10, atol=1e-14)


def test_cross_entropy_has_gradients_at_a_correct_point_and_hinge_does_not() -> None:
    for loss, moves in (("bce", True), ("hinge", False)):
        trainer = Trainer(PlaygroundConfig(loss=loss, optimizer="adam", learning_rate=0.05))
        for _ in range(60):
            trainer.train_epoch()
        best = int(np.argmax(trainer.outputs(trainer.f_train) * trainer.y_train))  # surely right
        trace = trainer.prepare_trace("train", best)()
        gradient = max(abs(g) for layer in trace["layers"] for row in layer["grad_w"] for g in row)
        assert (gradient > 0) is moves, loss


def test_a_neurons_picture_holds_pytorchs_gradients() -> None:
    trainer = Trainer(PlaygroundConfig(hidden=(3,), loss="mse"))
    trainer.train_epoch()
    index = _wrong_point(trainer)
    drawn = trainer.prepare_neuron_graph("test", index, 0, 2)()
    trace = trainer.prepare_trace("test", index)()
    records = _svg_records(drawn["svg"])
    assert set(records) >= {"x\u2081", "x\u2082", "w1.2.0", "w1.2.1", "b1.2", "z1.2", "h1.2"}
    assert records["h1.2"][1] == pytest.approx(round(trace["layers"][0]["grad_a"][2], 4), abs=1e-4)
    assert records["w1.2.1"][1] == pytest.approx(round(trace["layers"][0]["grad_w"][2][1], 4), abs=1e-4)
    assert records["z1.2"][0] == pytest.approx(round(trace["layers"][0]["z"][2], 4), abs=1e-4)
    assert drawn["upstream_grad"] == pytest.approx(trace["layers"][0]["grad_a"][2])
    output = trainer.prepare_neuron_graph("test", index, 1, 0)()
    assert {"h1.0", "h1.1", "h1.2", "w2.0.2", "output"} <= set(_svg_records(output["svg"]))


def test_the_whole_graph_is_draw_dot_and_compact_when_large() -> None:
    small = Trainer(PlaygroundConfig(hidden=(3,)))
    drawn = small.prepare_point_graph("train", 0)()
    records = _svg_records(drawn["svg"])
    assert records["loss"][1] == 1.0 and {"w1.0.0", "b2.0", "output"} <= set(records)
    assert drawn["compact"] is False and drawn["values"] == drawn["svg"].count(">data ")
    big = Trainer(PlaygroundConfig(hidden=(16, 16, 16)))
    drawn = big.prepare_point_graph("train", 0)()
    assert drawn["compact"] is True and drawn["values"] > 500


# ---- model files --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "npz"])
def test_model_files_round_trip_bit_for_bit(fmt: str) -> None:
    # Both files hold an activation per layer (the library's MLP on either engine).
    trainer = Trainer(PlaygroundConfig(hidden=(4, 3), activations=("relu", "sigmoid"), loss="mse"))
    trainer.train_epoch()
    content, name = model.model_file(trainer.model_description(), fmt)
    loaded = model.read_model_file(content, name)
    assert loaded == trainer.model_description()  # every weight to the bit, every activation
    assert loaded.layers[-1].activation == "tanh"


def test_a_model_file_is_the_librarys_and_predicts_the_same() -> None:
    import os
    import tempfile

    from scratchgrad import export

    trainer = Trainer(PlaygroundConfig(hidden=(4,)))
    trainer.train_epoch()
    content, _ = model.model_file(trainer.model_description(), "npz")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.npz")
        with open(path, "wb") as handle:
            handle.write(content)
        loaded = export.load_model(path)
    from scratchgrad.tensor import Tensor

    predicted = loaded(Tensor(trainer.f_test)).data[:, 0]  # type: ignore[operator]
    np.testing.assert_allclose(predicted, trainer.outputs(trainer.f_test), rtol=1e-12)


def test_unusable_model_files_say_why() -> None:
    from scratchgrad import tensor_nn

    odd = tensor_nn.Sequential(tensor_nn.Linear(2, 3), tensor_nn.ReLU(), tensor_nn.Tanh(), tensor_nn.Linear(3, 1))
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "odd.npz")
        odd.save(path)
        content = open(path, "rb").read()
    with pytest.raises(model.ModelFileUnusable, match="odd.npz: .*two activations in a row"):
        model.read_model_file(content, "odd.npz")
    with pytest.raises(model.ModelFileUnusable, match="odd.json: .*JSON"):
        model.read_model_file(b'{"format": "scratchgrad.nn"', "odd.json")
    with pytest.raises(model.ModelFileUnusable, match="nested too deeply"):
        model.read_model_file(b"[" * 100_000, "deep.json")


def test_no_bias_is_refused_by_name() -> None:
    import os
    import tempfile

    from scratchgrad import tensor_nn

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.npz")
        tensor_nn.Sequential(tensor_nn.Linear(2, 1, bias=False)).save(path)
        content = open(path, "rb").read()
    with pytest.raises(model.ModelFileUnusable, match="m.npz: a layer without a bias"):
        model.read_model_file(content, "m.npz")


# ---- thin: the library's registries, public names only ----------------------------------------------


def test_a_registry_entry_shows_up_in_the_playground_with_no_playground_change(monkeypatch: pytest.MonkeyPatch) -> None:
    from scratchgrad import data as library_data
    from scratchgrad.data import DatasetInfo
    from scratchgrad.nn import ACTIVATIONS, LOSSES, Activation, Loss
    from scratchgrad.optim import OPTIMIZERS, SGD, OptimizerSpec
    from scratchgrad.playground.config import limits

    def absolute(outputs: Any, labels: Any) -> Any:  # mean |o - y|, on either engine
        if isinstance(outputs, list):
            from scratchgrad import sum_values

            return sum_values([(o - y).relu() + (y - o).relu() for o, y in zip(outputs, labels)]) / len(labels)
        from scratchgrad.tensor import Tensor

        scores = outputs if isinstance(outputs, Tensor) else Tensor(outputs)  # a Tensor or an array, as LOSSES take
        scores = scores.reshape(-1) if len(scores.shape) == 2 else scores
        return (scores - np.asarray(labels)).abs().mean()

    def disc(samples: int | None, noise: float | None, seed: Any) -> Any:
        rng = random.Random(seed)
        points = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(samples or 0)]
        labels = [1.0 if x * x + y * y < 0.4 else -1.0 for x, y in points]
        return library_data.Dataset(points, labels, kind="binary", description="a disc", name="disc")

    softplus = Activation("softplus", lambda v: (1.0 + v.exp()).log(), lambda t: (t.exp() + 1.0).log(), "log(1 + e^z)",
                          "Softplus", "Softplus", "Softplus")
    monkeypatch.setitem(LOSSES, "mae", Loss("mae", absolute, absolute, "real", "linear", "mean absolute error"))
    monkeypatch.setitem(ACTIVATIONS, "softplus", softplus)
    monkeypatch.setitem(OPTIMIZERS, "slow", OptimizerSpec("slow", lambda p, lr: SGD(p, lr, momentum=0.5), 0.1, "SGD, momentum 0.5"))
    monkeypatch.setitem(library_data.DATASETS, "disc", DatasetInfo("disc", "points in a disc", "binary", 100, 0.0, disc))
    options = limits()
    assert "mae" in options["choices"]["losses"]["regression"] and options["labels"]["loss"]["mae"] == "mean absolute error"
    assert "softplus" in options["choices"]["activation"] and options["formulas"]["activation"]["softplus"] == "log(1 + e^z)"
    assert "slow" in options["choices"]["optimizer"] and "disc" in options["choices"]["datasets"]["classification"]
    for engine in ("tensor", "scalar"):
        trainer = Trainer(PlaygroundConfig(dataset="disc", loss="mae", activations=("softplus", "tanh"), optimizer="slow",
                                           engine=engine, n_points=40))
        before = trainer.snapshot()["train_loss"]
        for _ in range(5):
            trainer.train_epoch()
        assert trainer.snapshot()["train_loss"] < before
        assert trainer.prepare_trace("train", 0)()["layers"][0]["activation"] == "softplus"


def test_the_playground_imports_no_private_name_of_the_library() -> None:
    folder = Path(model.__file__).parent
    found = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scratchgrad"):
                if node.module.startswith("scratchgrad.playground"):
                    continue  # the playground's own modules
                parts = node.module.split(".")
                found += [f"{path.name}: from {node.module} import {alias.name}" for alias in node.names
                          if any(part.startswith("_") for part in [*parts, alias.name])]
            elif isinstance(node, ast.Import):
                found += [f"{path.name}: import {alias.name}" for alias in node.names
                          if alias.name.startswith("scratchgrad") and any(p.startswith("_") for p in alias.name.split("."))]
    assert found == []
    assert len(list(folder.glob("*.py"))) >= 7  # the check read the package


def test_the_trace_is_the_librarys_model_on_that_point() -> None:
    from scratchgrad.nn import build

    trainer = Trainer(PlaygroundConfig(hidden=(5, 4), activations=("relu", "sigmoid"), features=("x1", "x2", "sinx1")))
    trainer.train_epoch()
    trace = trainer.prepare_trace("train", 3)()
    library = build(trainer.model_description(), "scalar")
    assert trace["output"] == library(trace["inputs"]).data  # bit for bit
