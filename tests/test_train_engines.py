"""One fit for both engines: the same arguments, the same batches, the same loss history."""

from __future__ import annotations

import math
import sys
import threading

import numpy as np
import pytest

from scratchgrad import Value, no_grad, is_grad_enabled
from scratchgrad.data import load_dataset, make_moons
from scratchgrad.nn import LOSSES, MLP, Loss, describe, to_tensor
from scratchgrad.optim import OPTIMIZERS, SCHEDULES
from scratchgrad.tensor_nn import MLP as TensorMLP
from scratchgrad.tensor_nn import mlp
from scratchgrad.train import PRESETS, History, Trainer, TrainingDiverged, accuracy, fit, predict

BLOBS_X = [[0.0, 1.0], [1.0, 0.0], [-1.0, 0.0], [0.0, -1.0], [0.5, 0.8], [0.9, -0.1], [-0.7, 0.2], [0.1, -0.9]]
BLOBS_Y = [0, 1, 2, 2, 0, 1, 2, 2]

# (loss, optimizer, lr, scheduler, output activation, outputs)
RUNS = [
    ("hinge", "sgd", 0.5, "linear", "linear", 1),
    ("mse", "momentum", 0.05, "cosine", "tanh", 1),
    ("sse", "sgd", 0.01, None, "tanh", 1),
    ("bce", "adam", 0.02, "step", "linear", 1),
    ("ce", "adam", 0.05, None, "linear", 3),
]


def _both(outputs: int, output_activation: str, seed: int = 3) -> tuple[MLP, TensorMLP]:
    nin = 2
    args = (nin, [6, 5, outputs], "tanh", output_activation)
    return MLP(*args, seed=seed), TensorMLP(*args, seed=seed)


@pytest.mark.parametrize(("loss", "optimizer", "lr", "scheduler", "output", "outputs"), RUNS, ids=[r[0] for r in RUNS])
def test_both_engines_give_the_same_loss_history_full_batch(loss, optimizer, lr, scheduler, output, outputs) -> None:
    if outputs > 1:
        X, y = BLOBS_X, BLOBS_Y
    else:
        X, y = make_moons(30, noise=0.1, seed=4)
    X_test, y_test = (X[:4], y[:4])
    histories = []
    models = _both(outputs, output)
    for model in models:
        histories.append(
            fit(model, X, y, loss=loss, optimizer=optimizer, lr=lr, epochs=25, l2=1e-3, scheduler=scheduler,
                X_test=X_test, y_test=y_test, progress=False, seed=0)
        )  # fmt: skip
    scalar, tensor = histories
    assert scalar.epochs == tensor.epochs == 25
    np.testing.assert_allclose(scalar.loss, tensor.loss, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(scalar.test_loss, tensor.test_loss, rtol=1e-9, atol=1e-12)
    assert scalar.accuracy == tensor.accuracy and scalar.lr == tensor.lr
    assert scalar.loss[-1] < scalar.loss[0]
    for a, b in zip(describe(models[0]).layers, describe(models[1]).layers):  # the same weights at the end
        np.testing.assert_allclose(a.weight, b.weight, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(a.bias, b.bias, rtol=1e-8, atol=1e-10)


def test_both_engines_see_the_same_minibatches() -> None:
    X, y = make_moons(40, noise=0.1, seed=1)
    histories = [
        fit(model, X, y, loss="hinge", optimizer="adam", lr=0.02, epochs=8, batch_size=7, seed=5, progress=False)
        for model in _both(1, "linear")
    ]
    np.testing.assert_allclose(histories[0].loss, histories[1].loss, rtol=1e-9, atol=1e-12)


def test_lists_or_arrays_on_either_engine_give_the_same_history() -> None:
    X, y = make_moons(24, noise=0.1, seed=2)
    runs = []
    for make in (lambda: MLP(2, [5, 1], "relu", "linear", seed=0), lambda: TensorMLP(2, [5, 1], "relu", "linear", seed=0)):
        for data in ((X, y), (np.array(X), np.array(y))):
            runs.append(fit(make(), *data, epochs=5, batch_size=10, seed=1, progress=False).loss)
    for other in runs[1:]:
        np.testing.assert_allclose(other, runs[0], rtol=1e-9)


def test_defaults_are_the_same_on_both_engines() -> None:
    X, y = make_moons(20, noise=0.1, seed=0)
    for model in _both(1, "linear"):
        history = fit(model, X, y, epochs=3, progress=False)  # hinge (labels -1/+1), SGD lr 0.1, full batch
        assert history.lr == [OPTIMIZERS["sgd"].default_lr] * 3 and len(history.accuracy) == 3
    for model in _both(3, "linear"):
        assert len(fit(model, BLOBS_X, BLOBS_Y, epochs=2, progress=False).accuracy) == 2  # 'ce' for several outputs
    regression = [[0.1 * i] for i in range(8)], [0.3 * i for i in range(8)]
    for model in (MLP(1, [1], "linear", seed=0), TensorMLP(1, [1], "linear", seed=0)):
        assert fit(model, *regression, epochs=2, progress=False).accuracy == []  # 'mse', no accuracy


def test_early_stopping_watches_the_test_loss_or_else_the_training_loss() -> None:
    X, y = make_moons(30, noise=0.3, seed=0)
    X_test, y_test = make_moons(30, noise=0.3, seed=1)
    for model in _both(1, "linear"):
        history = fit(model, X, y, optimizer="sgd", lr=3.0, epochs=300, X_test=X_test, y_test=y_test, early_stopping=3, progress=False)
        assert history.stopped_early and history.epochs < 300
        best = int(np.argmin(history.test_loss))
        assert history.epochs == best + 1 + 3  # three epochs without a better test loss, then stop
    flat = fit(MLP(2, [1], seed=0), X, y, optimizer="sgd", lr=1e-12, epochs=50, early_stopping=2, progress=False)
    assert flat.stopped_early or flat.epochs == 50


def test_training_diverged_on_either_engine_including_overflow() -> None:
    X = [[1.0], [2.0], [3.0]]
    y = [1.0, 2.0, 3.0]
    for model in (MLP(1, [1], activation="linear", seed=0), TensorMLP(1, [1], activation="linear", seed=0)):
        with pytest.raises(TrainingDiverged, match="training diverged") as info:
            fit(model, X, y, loss="sse", epochs=1000, lr=10.0, progress=False)
        assert isinstance(info.value.history, History) and info.value.history.epochs > 0
    big = MLP(1, [1], activation="linear", seed=0)
    with pytest.raises(TrainingDiverged, match="overflowed|became inf|became nan"):
        fit(big, [[1e200]], [1.0], loss="mse", lr=1.0, epochs=3, progress=False)  # (1e200 w)**2 overflows


def test_progress_bar_only_on_a_terminal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = make_moons(10, seed=0)
    fit(TensorMLP(2, [2, 1], seed=0), X, y, epochs=3)
    assert capsys.readouterr().err == ""  # stderr is captured, not a terminal: no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    fit(TensorMLP(2, [2, 1], seed=0), X, y, epochs=3)
    err = capsys.readouterr().err
    assert "training" in err and "3/3" in err and "loss=" in err


def test_the_trainer_takes_one_step_at_a_time_on_either_engine() -> None:
    X, y = make_moons(16, noise=0.1, seed=0)
    losses = []
    for model in _both(1, "linear"):
        trainer = Trainer(model, loss="hinge", optimizer="adam", lr=0.05, scheduler="linear", total_steps=4)
        steps = [trainer.step(X[:8], y[:8]), trainer.step(np.array(X[8:]), np.array(y[8:]))]
        assert trainer.end_epoch() == pytest.approx(0.05 - 0.045 / 4)
        loss, acc = trainer.evaluate(X, y)
        assert 0 <= acc <= 1 and math.isfinite(loss)
        losses.append(steps + [loss])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-9)
    with pytest.raises(ValueError, match="needs total_steps"):
        Trainer(MLP(2, [1], seed=0), scheduler="cosine")
    runaway = Trainer(TensorMLP(1, [1], "linear", seed=0), loss="sse", lr=1e200)
    with pytest.raises(TrainingDiverged, match="the loss became"):
        for _ in range(5):
            runaway.step([[1e200]], [1.0])


def test_l1_and_l2_mean_the_same_on_both_engines_and_in_pytorch() -> None:
    torch = pytest.importorskip("torch")
    X, y = make_moons(12, noise=0.1, seed=1)
    for model in _both(1, "linear"):
        before = describe(model)
        trainer = Trainer(model, loss="bce", lr=0.3, l2=0.02, l1=0.05)
        value = trainer.step(X, y)
        params = [torch.tensor(a, requires_grad=True) for layer in before.layers for a in (layer.weight, layer.bias)]
        h = torch.tensor(X, dtype=torch.float64)
        for i in range(0, len(params), 2):
            h = h @ params[i].T + params[i + 1]
            h = torch.tanh(h) if i + 2 < len(params) else h
        target = (torch.tensor(y, dtype=torch.float64) + 1) / 2
        total = torch.nn.functional.binary_cross_entropy_with_logits(h[:, 0], target)
        total = total + 0.02 * sum((p * p).sum() for p in params) + 0.05 * sum(p.abs().sum() for p in params)
        total.backward()
        assert value == pytest.approx(total.item(), rel=1e-12)
        after = [a for layer in describe(model).layers for a in (layer.weight, layer.bias)]
        for mine, p in zip(after, params):
            np.testing.assert_allclose(mine, (p - 0.3 * p.grad).detach().numpy(), rtol=1e-12, atol=1e-15)
    histories = [fit(m, X, y, loss="hinge", epochs=5, l1=0.01, progress=False).loss for m in _both(1, "linear")]
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-9)
    with pytest.raises(ValueError, match="l1 must be a finite number >= 0"):
        Trainer(MLP(2, [1], seed=0), l1=-1.0)


def test_predict_and_accuracy_on_both_engines_and_through_to_tensor() -> None:
    scalar = MLP(2, [4, 1], activation="tanh", seed=0)
    X = np.random.default_rng(0).normal(size=(50, 2))
    scores = predict(scalar, X)
    assert isinstance(scores, list) and len(scores) == 50
    fast = predict(to_tensor(scalar), X)  # for pictures over many points
    assert isinstance(fast, np.ndarray) and fast.shape == (50,)
    np.testing.assert_allclose(fast, scores, rtol=0, atol=1e-12)
    labels = np.where(fast > 0, 1.0, -1.0)
    assert accuracy(scalar, X, labels) == accuracy(to_tensor(scalar), X, labels) == 1.0
    assert is_grad_enabled()


def test_a_loss_added_to_the_registry_trains_both_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    def absolute(outputs, labels):  # mean |output - label|, written for either engine
        from scratchgrad.nn.losses import is_tensor_input

        if is_tensor_input(outputs):
            return (outputs - np.asarray(labels).reshape(outputs.shape)).abs().mean()
        terms = [(out - y).relu() + (y - out).relu() for out, y in zip(outputs, labels)]
        return sum(terms[1:], terms[0]) / len(terms)

    monkeypatch.setitem(LOSSES, "l1", Loss("l1", absolute, absolute, "real", "linear", "mean absolute error"))
    X = [[0.1 * i] for i in range(10)]
    y = [0.5 * i - 0.3 for i in range(10)]
    histories = [fit(m, X, y, loss="l1", lr=0.05, epochs=20, progress=False) for m in (MLP(1, [1], "linear", seed=0), TensorMLP(1, [1], "linear", seed=0))]
    np.testing.assert_allclose(histories[0].loss, histories[1].loss, rtol=1e-9)
    assert histories[0].loss[-1] < histories[0].loss[0]


def test_every_preset_names_registered_settings() -> None:
    from scratchgrad.data import DATASETS
    from scratchgrad.nn import ACTIVATIONS

    for name, recipe in PRESETS.items():
        assert name in DATASETS or name == "csv"
        assert recipe.loss in LOSSES and recipe.optimizer in OPTIMIZERS and recipe.schedule in SCHEDULES
        assert recipe.activation in ACTIVATIONS


def test_the_moons_preset_trains_both_engines_to_the_same_place() -> None:
    recipe = PRESETS["moons"]
    data = load_dataset("moons", samples=60, seed=0)
    finals = []
    for cls in (MLP, TensorMLP):
        model = cls(2, [*recipe.hidden, 1], recipe.activation, LOSSES[recipe.loss].output_activation, seed=0)
        history = fit(model, data.X, data.y, loss=recipe.loss, optimizer=recipe.optimizer, lr=recipe.lr,
                      scheduler=recipe.schedule, epochs=40, l2=recipe.l2, X_test=data.X_test, y_test=data.y_test, progress=False)  # fmt: skip
        finals.append((history.loss[-1], history.test_accuracy[-1]))
    assert finals[0][0] == pytest.approx(finals[1][0], rel=1e-9) and finals[0][1] == finals[1][1]
    assert finals[0][1] >= 0.85


def _grad_mode_is_per_thread() -> bool:
    inside, done = threading.Event(), threading.Event()

    def hold_no_grad() -> None:
        with no_grad():
            inside.set()
            done.wait(5)

    thread = threading.Thread(target=hold_no_grad)
    thread.start()
    inside.wait(5)
    per_thread = is_grad_enabled()
    done.set()
    thread.join()
    return per_thread


def test_three_threads_fit_with_test_sets_at_once() -> None:
    """Issue 12: three threads running fit(..., X_test=...) crashed in 2 of 3 runs."""
    if not _grad_mode_is_per_thread():
        # Running it would switch recording off under the other tests of this process.
        pytest.xfail("needs the core track's per-thread grad mode (a no_grad() in one thread switches recording off in all)")
    data = load_dataset("moons", samples=40, seed=0)

    def run(engine: str, results: dict[str, History], name: str) -> None:
        model = MLP(2, [8, 1], "relu", "linear", seed=1) if engine == "scalar" else TensorMLP(2, [8, 1], "relu", "linear", seed=1)
        results[name] = fit(model, data.X, data.y, lr=0.2, epochs=30, X_test=data.X_test, y_test=data.y_test, progress=False)

    alone: dict[str, History] = {}
    for engine in ("scalar", "tensor"):
        run(engine, alone, engine)
    for _ in range(3):
        together: dict[str, History] = {}
        threads = [threading.Thread(target=run, args=(engine, together, f"{engine}{i}")) for i, engine in enumerate(["scalar", "tensor", "scalar"])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert set(together) == {"scalar0", "tensor1", "scalar2"}
        for name, history in together.items():
            assert history.loss == alone[name[:-1]].loss and history.test_loss == alone[name[:-1]].test_loss, name
