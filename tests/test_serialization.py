"""Saving and loading models: bit-exact JSON round trips, clear errors, atomic writes."""

from __future__ import annotations

import json
import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgrad._io
from scratchgrad.nn import FORMAT_VERSION, MLP, Layer, ModelFileError, Module, Neuron, files


def hexes(model):
    return [float(p.data).hex() for p in model.parameters()]


def test_save_load_round_trip_is_bit_exact(tmp_path):
    model = MLP(2, [16, 16, 1], activation="relu", output_activation="linear", seed=3)
    model.parameters()[0].data = 1 / 3
    model.parameters()[1].data = 5e-324  # the smallest subnormal
    model.parameters()[2].data = -1.7976931348623157e308
    path = tmp_path / "model.json"
    model.save(path)
    loaded = MLP.load(path)
    assert isinstance(loaded, MLP)
    assert loaded.architecture() == model.architecture()
    assert hexes(loaded) == hexes(model)
    x = [0.25, -0.5]
    assert loaded(x).data.hex() == model(x).data.hex()
    assert [layer.activation for layer in loaded.layers] == ["relu", "relu", "linear"]


def test_file_contents(tmp_path):
    path = tmp_path / "seed.json"
    MLP(3, [4, 4, 1], seed=0).save(str(path))
    doc = json.loads(path.read_text())
    assert doc["format"] == "scratchgrad.model" and doc["version"] == FORMAT_VERSION == 2
    assert doc["engine"] == "scalar" and doc["model"] == "MLP" and doc["dtype"] == "float64"
    assert doc["architecture"] == {"nin": 3, "nouts": [4, 4, 1], "activation": "tanh", "output_activation": "tanh"}
    assert len(doc["state_dict"]) == 41 and "layers.0.neurons.1.w.2" in doc["state_dict"]
    assert doc["shapes"] == {name: [] for name in doc["state_dict"]}  # a Value is a scalar
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"


@pytest.mark.parametrize("model", [Neuron(3, "sigmoid", seed=1), Layer(2, 3, "relu", seed=2)], ids=["Neuron", "Layer"])
def test_neuron_and_layer_round_trip_and_module_load_dispatches(tmp_path, model):
    path = tmp_path / "m.json"
    model.save(path)
    again = type(model).load(path)
    assert hexes(again) == hexes(model) and again.architecture() == model.architecture()
    anything = Module.load(path)
    assert type(anything) is type(model) and hexes(anything) == hexes(model)


def test_loading_does_not_touch_the_global_random_state(tmp_path):
    path = tmp_path / "m.json"
    MLP(2, [3, 1], seed=0).save(path)
    random.seed(123)
    state = random.getstate()
    MLP.load(path)
    assert random.getstate() == state


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=9, max_size=9))
def test_any_finite_weights_round_trip(tmp_path_factory, weights):
    model = MLP(2, [2, 1], seed=0)
    for p, w in zip(model.parameters(), weights):
        p.data = w
    path = tmp_path_factory.mktemp("h") / "w.json"
    model.save(path)
    assert hexes(MLP.load(path)) == [float(w).hex() for w in weights]


def test_load_weights_into_existing_model(tmp_path):
    path = tmp_path / "m.json"
    source = MLP(2, [3, 1], seed=1)
    source.save(path)
    target = MLP(2, [3, 1], seed=2)
    target.load_weights(path)
    assert hexes(target) == hexes(source)
    other = MLP(2, [4, 1], seed=2)
    before = hexes(other)
    with pytest.raises(ModelFileError, match=r"m\.json.*does not match this MLP"):
        other.load_weights(path)
    assert hexes(other) == before


# ---- bad files ----------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.json"
    MLP(3, [4, 4, 1], seed=0).save(path)
    return path


def edit(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found: .*nope.json"):
        MLP.load(tmp_path / "nope.json")


def test_truncated_file(saved):
    text = saved.read_text()
    saved.write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match=r"model\.json: corrupt or truncated JSON") as info:
        MLP.load(saved)
    assert isinstance(info.value, ValueError) and info.value.path == str(saved)


def test_corrupt_bytes(saved):
    saved.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe garbage")
    with pytest.raises(ModelFileError, match=r"model\.json: not a scratchgrad model file \(not UTF-8"):
        MLP.load(saved)
    saved.write_text("{not json at all")
    with pytest.raises(ModelFileError, match="corrupt or truncated JSON"):
        MLP.load(saved)


def test_empty_file(saved):
    saved.write_text("")
    with pytest.raises(ModelFileError, match=r"model\.json: the file is empty"):
        MLP.load(saved)


def test_foreign_json(saved):
    saved.write_text('{"hello": "world"}')
    with pytest.raises(ModelFileError, match="not a scratchgrad model file"):
        MLP.load(saved)
    saved.write_text("[1, 2, 3]")
    with pytest.raises(ModelFileError, match="not a scratchgrad model file"):
        MLP.load(saved)


@pytest.mark.parametrize("version", [3, 1])
def test_wrong_format_version(saved, version):
    edit(saved, lambda d: d.update(version=version))
    with pytest.raises(ModelFileError, match=f"model\\.json: unsupported format version {version}") as info:
        MLP.load(saved)
    assert ("newer scratchgrad" in str(info.value)) == (version > FORMAT_VERSION)


def test_wrong_architecture_parameter_count(saved):
    edit(saved, lambda d: d["architecture"].update(nouts=[4, 5, 1]))
    with pytest.raises(ModelFileError, match=r"has 47 parameters but the file holds 41 weights"):
        MLP.load(saved)


def test_weights_that_do_not_fit_the_architecture(saved):
    def rename(doc):
        for table in (doc["state_dict"], doc["shapes"]):
            table["layers.9.neurons.0.b"] = table.pop("layers.0.neurons.0.b")

    edit(saved, rename)
    with pytest.raises(ModelFileError, match=r"missing keys \(1\): layers\.0\.neurons\.0\.b.*unexpected keys"):
        MLP.load(saved)


def test_bad_architecture_fields(saved):
    edit(saved, lambda d: d["architecture"].update(activation="softmax"))
    with pytest.raises(ModelFileError, match="invalid architecture.*activation must be one of"):
        MLP.load(saved)
    edit(saved, lambda d: d["architecture"].update(activation="tanh", nin="3"))
    with pytest.raises(ModelFileError, match="architecture field 'nin' must be a positive int"):
        MLP.load(saved)
    edit(saved, lambda d: d["architecture"].update(nin=3, extra=1))
    with pytest.raises(ModelFileError, match="invalid architecture"):
        MLP.load(saved)


def test_bad_weight_values(saved):
    edit(saved, lambda d: d["state_dict"].update({"layers.0.neurons.0.w.0": "0.5"}))
    with pytest.raises(ModelFileError, match=r"layers\.0\.neurons\.0\.w\.0.*must be a number"):
        MLP.load(saved)
    text = saved.read_text().replace('"0.5"', "NaN")
    saved.write_text(text)
    with pytest.raises(ModelFileError, match="NaN"):
        MLP.load(saved)


def test_wrong_model_class(tmp_path):
    path = tmp_path / "layer.json"
    Layer(3, 2, seed=0).save(path)
    with pytest.raises(ModelFileError, match=r"holds model type .Layer. \(scalar engine\), expected .MLP."):
        MLP.load(path)
    edit(path, lambda d: d.update(model="Transformer"))
    with pytest.raises(ModelFileError, match="unknown model type 'Transformer'"):
        Module.load(path)


def test_directory_is_not_a_model_file(tmp_path):
    with pytest.raises(ModelFileError, match="is a directory"):
        MLP.load(tmp_path)


# ---- atomic writes ------------------------------------------------------------------------


def test_failed_rename_leaves_old_file_intact(saved, monkeypatch):
    old = saved.read_bytes()

    def crash(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(scratchgrad._io.os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        MLP(3, [4, 4, 1], seed=99).save(saved)
    assert saved.read_bytes() == old
    assert os.listdir(saved.parent) == [saved.name], "the temporary file was cleaned up"


def test_failed_write_midway_leaves_old_file_intact(saved, monkeypatch):
    old = saved.read_bytes()
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            raise OSError("disk full")

    monkeypatch.setattr(scratchgrad._io.os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="disk full"):
        MLP(3, [4, 4, 1], seed=99).save(saved)
    assert saved.read_bytes() == old
    assert os.listdir(saved.parent) == [saved.name]
    assert hexes(MLP.load(saved)) == hexes(MLP(3, [4, 4, 1], seed=0))


def test_failed_serialization_leaves_old_file_intact(saved, monkeypatch):
    old = saved.read_bytes()

    def broken_dumps(*args, **kwargs):
        raise RuntimeError("encoder failed")

    monkeypatch.setattr(files.json, "dumps", broken_dumps)
    with pytest.raises(RuntimeError, match="encoder failed"):
        MLP(3, [4, 4, 1], seed=99).save(saved)
    assert saved.read_bytes() == old


def test_non_finite_weights_are_refused_before_writing(saved):
    old = saved.read_bytes()
    model = MLP(3, [4, 4, 1], seed=1)
    model.layers[1].neurons[2].b.data = float("inf")
    with pytest.raises(ValueError, match=r"parameter layers\.1\.neurons\.2\.b is inf"):
        model.save(saved)
    assert saved.read_bytes() == old


def test_save_into_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        MLP(2, [1], seed=0).save(tmp_path / "no" / "such" / "m.json")
