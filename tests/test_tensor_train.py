"""Training tensor models: the digits run the issue asks for (>= 97% test accuracy in 30
epochs), the 2-D toy sets, the data loaders, fit's checks, metrics and saved models."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from scratchgrad.digits import load_digits, toy_dataset
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
        ({"loss": "ce", "y": np.array([0.0, 1.0] * 20)}, TypeError, r"labels must be integer class indices 0, 1, ..., got y\[0\] = 0.0"),
        ({"loss": "ce", "y": np.array([0, 7] * 20)}, ValueError, r"labels must be class indices 0..1 for a model with 2 outputs, got y\[1\] = 7"),
        ({"loss": "hinge", "out": 1, "y": np.array([0.0, 1.0] * 20)}, ValueError, r"labels must be -1.0 or \+1.0, got y\[0\] = 0.0"),
        ({"loss": "l1"}, ValueError, "loss must be one of"),
        ({"epochs": -1}, ValueError, "epochs must be an int >= 0"),
        ({"batch_size": 0}, ValueError, "batch_size must be a positive int or None"),
        ({"l2": -1.0}, ValueError, "l2 must be a finite number >= 0"),
        ({"X": np.ones((39, 2))}, ValueError, "X has 39 samples but y has 40"),
        ({"X": np.ones(40)}, ValueError, r"X must be \(samples, features\), got shape \(40,\)"),
        ({"X": np.ones((40, 3))}, ValueError, r"linear: input shape \(1, 3\) does not fit weight shape"),
        ({"lr": 0.1, "optimizer": "given"}, ValueError, "give lr= only without optimizer="),
        ({"optimizer": "rmsprop"}, ValueError, "optimizer must be one of 'sgd', 'momentum', 'adam'"),
        ({"scheduler": "exponential"}, ValueError, "schedule must be one of 'constant', 'linear', 'cosine', 'step'"),
        ({"early_stopping": 0}, ValueError, "early_stopping must be a positive int"),
        ({"X_test": np.zeros((3, 2))}, ValueError, "give both X_test and y_test"),
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
    with pytest.raises(TypeError, match="model must be callable and have parameters()"):
        fit(lambda x: x, X, y)  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the weights overflow on purpose
def test_fit_stops_with_a_clear_error_when_training_diverges() -> None:
    X, y = toy_dataset("moons", 40, seed=0)
    model = mlp(2, [8], 1, seed=0)
    with pytest.raises(TrainingDiverged, match=r"the loss became (nan|inf) in epoch \d+ with learning rate 10000000000\.0: training diverged \(try a smaller lr") as info:
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


# ---- the benchmark ------------------------------------------------------------------------------------


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


def test_train_digits_loads_the_data_once_and_trains_on_its_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    """A digits run loaded the data twice with two splits and turned arrays into lists and back."""
    from scratchgrad import tensor_train

    loads, seen = [], []
    real_load, real_fit = tensor_train.load_digits, tensor_train.fit
    monkeypatch.setattr(tensor_train, "load_digits", lambda *a, **k: loads.append(1) or real_load(*a, **k))
    monkeypatch.setattr(tensor_train, "fit", lambda model, X, y, **k: seen.append((X, y, k["X_test"])) or real_fit(model, X, y, **k))
    result = train_digits(hidden=(8,), epochs=1, progress=False)
    assert loads == [1]
    X, y, X_test = seen[0]
    assert X is result.data.X_train and y is result.data.y_train and X_test is result.data.X_test
    given = load_digits()
    again = train_digits(hidden=(8,), epochs=1, progress=False, data=given)
    assert loads == [1] and again.data is given  # data= passes a loaded split through
