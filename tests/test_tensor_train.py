"""Training tensor models: the digits run the issue asks for (>= 97% test accuracy in 30
epochs), the 2-D toy sets, the data loaders, fit's checks, metrics and saved models."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from scratchgrad import digits as digits_module
from scratchgrad.digits import load_digits, minibatches, stratified_split, toy_dataset
from scratchgrad.optim import SGD, Adam
from scratchgrad.tensor_nn import Sequential, mlp
from scratchgrad.tensor_train import (
    TrainingDiverged,
    accuracy,
    confusion_matrix,
    fit,
    predict,
    train_digits,
    train_toy,
)


@pytest.fixture(scope="module")
def digits_result():
    return train_digits(hidden=(128,), epochs=30, batch_size=64, lr=1e-3, seed=0, progress=False)


def test_digits_mlp_reaches_97_percent_test_accuracy_within_30_epochs(digits_result) -> None:
    r = digits_result
    assert [type(layer).__name__ for layer in r.model] == ["Linear", "ReLU", "Linear"]
    assert r.model[0].weight.shape == (128, 64) and r.model[2].weight.shape == (10, 128)
    assert len(r.history.loss) == len(r.history.test_accuracy) == 30
    assert max(r.history.test_accuracy) >= 0.97
    assert r.test_accuracy >= 0.97, r.history.test_accuracy
    assert r.history.loss[-1] < r.history.loss[0] / 10
    assert r.confusion_matrix.shape == (10, 10)
    assert r.confusion_matrix.sum() == len(r.data.y_test) == 359
    assert np.trace(r.confusion_matrix) / 359 == pytest.approx(r.test_accuracy)
    assert_array_equal(r.confusion_matrix.sum(axis=1), np.bincount(r.data.y_test, minlength=10))
    # The data train_digits uses is load_digits()'s default, so others can evaluate its model on it.
    assert_array_equal(r.data.X_test, load_digits().X_test)
    assert accuracy(r.model, load_digits().X_test, load_digits().y_test) == r.test_accuracy


def test_digits_model_saves_and_loads_with_identical_predictions(digits_result, tmp_path: Path) -> None:
    path = tmp_path / "digits.npz"
    digits_result.model.save(path)
    loaded = Sequential.load(path)
    X = digits_result.data.X_test
    assert predict(loaded, X).tobytes() == predict(digits_result.model, X).tobytes()
    assert accuracy(loaded, X, digits_result.data.y_test) == digits_result.test_accuracy


def test_training_is_reproducible_from_its_seed() -> None:
    a = train_digits(hidden=(16,), epochs=2, seed=3, progress=False)
    b = train_digits(hidden=(16,), epochs=2, seed=3, progress=False)
    assert a.history.loss == b.history.loss
    assert a.model[0].weight.data.tobytes() == b.model[0].weight.data.tobytes()


def test_float32_digits_training_follows_float64() -> None:
    single = train_digits(hidden=(32,), epochs=5, seed=0, progress=False, dtype=np.float32)
    double = train_digits(hidden=(32,), epochs=5, seed=0, progress=False)
    assert single.model[0].weight.dtype == np.float32 and single.data.X_train.dtype == np.float32
    assert np.allclose(single.history.loss, double.history.loss, rtol=1e-4)
    assert abs(single.test_accuracy - double.test_accuracy) <= 0.01 and single.test_accuracy > 0.8


@pytest.mark.parametrize(("dataset", "minimum"), [("moons", 0.95), ("circles", 0.95), ("xor", 0.95)])
def test_toy_sets_train_to_high_accuracy(dataset: str, minimum: float) -> None:
    r = train_toy(dataset, progress=False)
    assert r.train_accuracy >= minimum
    assert len(r.history.loss) == 100 and r.history.lr[0] == 1.0 and r.history.lr[-1] < 0.15
    scores = r.predict([[0.0, 0.5], [1.0, -0.5]])
    assert scores.shape == (2,)
    assert r.predict(r.X).tobytes() == predict(r.model, r.X).tobytes()


def test_toy_training_with_adam_and_minibatches() -> None:
    r = train_toy("moons", optimizer="adam", epochs=40, batch_size=16, loss="bce", progress=False)
    assert r.train_accuracy >= 0.9


# ---- fit -------------------------------------------------------------------------------------------


def test_fit_records_test_metrics_callbacks_and_stops_early() -> None:
    data = load_digits()
    model = mlp(64, [16], 10, seed=0)
    seen = []

    def callback(epoch, history):
        seen.append(epoch)
        return epoch == 2

    history = fit(model, data.X_train, data.y_train, epochs=10, X_test=data.X_test, y_test=data.y_test, callback=callback, progress=False)
    assert seen == [0, 1, 2] and history.stopped_early and history.epochs == 3
    assert len(history.test_loss) == len(history.test_accuracy) == 3
    assert all(0 <= a <= 1 for a in history.accuracy + history.test_accuracy)


def test_fit_shows_a_progress_bar(capsys) -> None:
    X, y = toy_dataset("moons", 40, seed=1)
    fit(mlp(2, [4], 1, seed=0), X, y, loss="hinge", epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "training" in err and "3/3" in err


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"loss": "ce", "y": np.array([0.0, 1.0] * 20)}, TypeError, "needs integer class labels"),
        ({"loss": "ce", "y": np.array([0, 7] * 20)}, ValueError, r"labels must be in 0..1 for a model with 2 outputs"),
        ({"loss": "hinge", "out": 1, "y": np.array([0.0, 1.0] * 20)}, ValueError, "needs labels -1.0 / \\+1.0"),
        ({"loss": "l1"}, ValueError, "loss must be one of"),
        ({"epochs": -1}, ValueError, "epochs must be an int >= 0"),
        ({"batch_size": 0}, ValueError, "batch_size must be a positive int or None"),
        ({"l2": -1.0}, ValueError, "l2 must be a finite number >= 0"),
        ({"X": np.ones((39, 2))}, ValueError, r"X must be \(samples, features\) and y \(samples,\), got shapes \(39, 2\) and \(40,\)"),
        ({"X": np.ones((40, 3))}, ValueError, r"linear: input shape \(1, 3\) does not fit weight shape"),
        ({"lr": 0.1, "optimizer": "given"}, ValueError, "give lr= only without optimizer="),
    ],
)
def test_fit_refuses_bad_arguments_clearly(kwargs, error, pattern: str) -> None:
    out = kwargs.pop("out", 2)
    model = mlp(2, [4], out, seed=0)
    X = kwargs.pop("X", np.zeros((40, 2)))
    y = kwargs.pop("y", np.array([0, 1] * 20))
    if kwargs.get("optimizer") == "given":
        kwargs["optimizer"] = SGD(model.parameters(), lr=0.1)
    with pytest.raises(error, match=pattern):
        fit(model, X, y, progress=False, **kwargs)
    with pytest.raises(TypeError, match="must be a scratchgrad.tensor_nn Module"):
        fit(lambda x: x, X, y)  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the weights overflow on purpose
def test_fit_stops_with_a_clear_error_when_training_diverges() -> None:
    X, y = toy_dataset("moons", 40, seed=0)
    model = mlp(2, [8], 1, seed=0)
    with pytest.raises(TrainingDiverged, match=r"the loss became (nan|inf) in epoch \d+ with learning rate 10000000000\.0: training diverged \(try a smaller lr\)") as info:
        fit(model, X * 1e150, y, loss="mse", optimizer=SGD(model.parameters(), lr=1e10), epochs=20, progress=False)
    assert isinstance(info.value.history.loss, list)


def test_l2_regularisation_shrinks_weights() -> None:
    X, y = toy_dataset("moons", 60, seed=0)
    norms = []
    for l2 in (0.0, 0.1):
        model = mlp(2, [8], 1, seed=0)
        fit(model, X, y, loss="hinge", optimizer=Adam(model.parameters(), lr=0.01), epochs=30, batch_size=None, l2=l2, progress=False)
        norms.append(sum(float((p.data**2).sum()) for p in model.parameters()))
    assert norms[1] < norms[0]


# ---- metrics -------------------------------------------------------------------------------------------


def test_confusion_matrix_counts_true_rows_and_predicted_columns() -> None:
    from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 4, 50), rng.integers(0, 4, 50)
    assert_array_equal(confusion_matrix(t, p), sklearn_confusion_matrix(t, p, labels=range(4)))
    assert confusion_matrix([0, 1], [1, 1], num_classes=3).tolist() == [[0, 1, 0], [0, 1, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="must be equal and 1-D"):
        confusion_matrix([0, 1], [1])
    with pytest.raises(ValueError, match="class indices"):
        confusion_matrix([0.5, 1.0], [1, 1])
    with pytest.raises(ValueError, match=">= num_classes=2"):
        confusion_matrix([0, 2], [1, 1], num_classes=2)


def test_predict_and_accuracy_for_one_score_and_for_class_logits() -> None:
    model = mlp(2, [3], 1, seed=0)
    X = np.random.default_rng(0).normal(size=(7, 2))
    scores = predict(model, X)
    assert scores.shape == (7,)
    assert accuracy(model, X, np.where(scores > 0, 1.0, -1.0)) == 1.0
    multi = mlp(2, [3], 4, seed=0)
    logits = predict(multi, X, batch_size=3)  # in pieces, the same result
    assert logits.shape == (7, 4)
    assert logits.tobytes() == predict(multi, X).tobytes()
    assert accuracy(multi, X, logits.argmax(axis=1)) == 1.0
    with pytest.raises(ValueError, match="7 predictions but 2 labels"):
        accuracy(model, X, [1.0, -1.0])


# ---- data ----------------------------------------------------------------------------------------------


def test_digits_split_is_fixed_stratified_and_scaled() -> None:
    a, b = load_digits(scale="unit"), load_digits(scale="unit")
    assert a.X_train.shape == (1438, 64) and a.X_test.shape == (359, 64)
    assert a.X_train.dtype == np.float64 and a.y_train.dtype == np.int64
    assert_array_equal(a.X_train, b.X_train)
    assert_array_equal(a.y_test, b.y_test)
    assert a.X_train.min() == 0.0 and a.X_train.max() == 1.0
    test_counts = np.bincount(a.y_test, minlength=10)
    assert test_counts.min() >= 34 and test_counts.max() <= 37  # 20% of each class
    assert not np.array_equal(load_digits(seed=5).y_test, a.y_test)
    s = load_digits()  # standardized by default
    assert np.abs(s.X_train.mean(axis=0)).max() < 1e-12
    assert_array_equal(s.y_train, a.y_train)
    assert np.allclose(s.transform(a.X_test * 16), s.X_test)
    with pytest.raises(ValueError, match="scale must be one of 'unit', 'standard'"):
        load_digits(scale="minmax")
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        load_digits(test_fraction=1.0)


def test_stratified_split_covers_every_index_once() -> None:
    y = np.repeat(np.arange(3), [10, 20, 30])
    train, test = stratified_split(y, 0.1, seed=0)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(60))
    assert np.bincount(y[test]).tolist() == [1, 2, 3]


def test_missing_scikit_learn_names_the_extra(monkeypatch) -> None:
    digits_module._raw_digits.cache_clear()
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    try:
        with pytest.raises(ImportError, match=r"pip install scratchgrad\[digits\]"):
            load_digits()
    finally:
        digits_module._raw_digits.cache_clear()


def test_minibatches_cover_the_data_once_per_epoch() -> None:
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    batches = list(minibatches(X, y, 4, seed=0))
    assert [len(b) for b, _ in batches] == [4, 4, 2]
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    for xb, yb in batches:
        assert_array_equal(xb[:, 0] / 2, yb)  # rows stay paired with their labels
    assert [len(b) for b, _ in minibatches(X, y, 4, drop_last=True, seed=0)] == [4, 4]
    assert [yb.tolist() for _, yb in minibatches(X, y, 5, shuffle=False)] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    rng = np.random.default_rng(1)
    first, second = [yb.tolist() for _, yb in minibatches(X, y, 10, seed=rng)], [yb.tolist() for _, yb in minibatches(X, y, 10, seed=rng)]
    assert first != second  # a shared generator gives each epoch a new order
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        next(minibatches(X, y, 0))
    with pytest.raises(ValueError, match=r"X has shape \(10, 2\) but y has shape \(9,\)"):
        next(minibatches(X, y[:9], 2))


def test_toy_datasets_as_arrays() -> None:
    from scratchgrad import data

    X, y = toy_dataset("moons", 50, noise=0.1, seed=2)
    X_list, y_list = data.make_moons(50, noise=0.1, seed=2)
    assert X.shape == (50, 2) and y.shape == (50,) and X.dtype == np.float64
    assert_array_equal(X, np.array(X_list))
    assert_array_equal(y, np.array(y_list))
    assert set(np.unique(y)) == {-1.0, 1.0}
    for name in ("circles", "spirals", "xor"):
        assert toy_dataset(name, 30, seed=0)[0].shape == (30, 2)
    assert toy_dataset("xor", 10, seed=0, dtype=np.float32)[0].dtype == np.float32
    with pytest.raises(ValueError, match="unknown toy data set 'blobs'; choose one of moons, circles, spirals, xor"):
        toy_dataset("blobs")


def test_benchmark_baselines_train_the_same_model() -> None:
    """benchmarks/tensor.py compares engines on one model: its hand-written numpy and
    PyTorch versions must compute the same losses as scratchgrad from the same weights."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "tensor.py"
    spec = importlib.util.spec_from_file_location("scratchgrad_tensor_benchmark", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data = load_digits()
    X, y = data.X_train[:300], data.y_train[:300]
    model = mlp(64, [32], 10, seed=0)
    w = bench.weights_of(model)
    digits_cases = {
        "scratchgrad": bench.scratchgrad_digits_epoch(model, X, y, 64, seed=1),
        "numpy": bench.numpy_digits_epoch(w, X, y, 64, seed=1),
        "torch": bench.torch_digits_epoch(w, X, y, 64, seed=1),
    }
    for _ in range(2):  # two epochs: the Adam updates of all three agree too
        bench.check_agreement(digits_cases, "digits epoch")
    Xm, ym = toy_dataset("moons", 100, noise=0.1, seed=0)
    moons = mlp(2, [16, 16], 1, seed=0)
    wm = bench.weights_of(moons)
    moon_cases = {
        "scratchgrad": bench.scratchgrad_moons_step(moons, Xm, ym, 0.1),
        "numpy": bench.numpy_moons_step(wm, Xm, ym, 0.1),
        "torch": bench.torch_moons_step(wm, Xm, ym, 0.1),
    }
    for _ in range(3):
        bench.check_agreement(moon_cases, "moons step")
