"""scratchgrad.train: fit / predict / accuracy, including micrograd's two-moons demo."""

from __future__ import annotations

import math
import random

import pytest

from scratchgrad import Value, is_grad_enabled
from scratchgrad.data import make_moons, make_xor, tutorial
from scratchgrad.losses import hinge_loss
from scratchgrad.nn import MLP
from scratchgrad.optim import SGD, Adam, LinearDecay
from scratchgrad.train import History, TrainingDiverged, accuracy, fit, predict


def test_two_moons_like_micrograds_demo():
    """100 samples, noise 0.1, MLP(2, [16, 16, 1]) relu, hinge + L2 1e-4, SGD lr 1.0 - 0.9 k / 100."""
    X, y = make_moons(n_samples=100, noise=0.1, seed=1)
    model = MLP(2, [16, 16, 1], activation="relu", output_activation="linear", seed=1)
    opt = SGD(model.parameters(), lr=1.0)
    history = fit(
        model, X, y, loss="hinge", optimizer=opt, scheduler=LinearDecay(opt, total_steps=100, final_lr=0.1),
        epochs=100, l2=1e-4, progress=False,
    )
    assert history.epochs == 100
    assert history.lr == [1.0 - 0.9 * k / 100 for k in range(100)]
    assert accuracy(model, X, y) >= 0.95
    assert max(history.accuracy) >= 0.95
    assert history.loss[-1] < history.loss[0]


def test_fit_is_the_hand_written_loop_bit_for_bit():
    """Full batch fit == micrograd's demo loop written out, for a few steps."""
    X, y = make_moons(30, noise=0.1, seed=2)

    def make():
        return MLP(2, [4, 1], activation="relu", output_activation="linear", seed=5)

    by_hand = make()
    hand_losses = []
    for k in range(5):
        scores = [by_hand(x) for x in X]
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) / len(scores)
        total = data_loss + 1e-3 * sum(p * p for p in by_hand.parameters())
        by_hand.zero_grad()
        total.backward()
        for p in by_hand.parameters():
            p.data -= 0.5 * p.grad
        hand_losses.append(total.data)

    model = make()
    history = fit(model, X, y, loss="hinge", epochs=5, l2=1e-3, lr=0.5, progress=False)
    assert [p.data.hex() for p in model.parameters()] == [p.data.hex() for p in by_hand.parameters()]
    assert history.loss == pytest.approx(hand_losses, rel=1e-14)


def test_seed_problem_with_fit_and_sse():
    xs, ys = tutorial()
    random.seed(0)
    n = MLP(3, [4, 4, 1])
    history = fit(n, xs, ys, loss="sse", epochs=50, lr=0.1, progress=False)
    assert history.loss[-1] < 0.05
    assert history.accuracy[-1] == 1.0
    assert accuracy(n, xs, ys) == 1.0


def test_minibatches_adam_bce_and_reproducibility():
    X, y = make_xor(60, noise=0.05, seed=0)

    def run():
        model = MLP(2, [8, 1], activation="tanh", output_activation="linear", seed=0)
        history = fit(
            model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.05), epochs=30, batch_size=16,
            seed=7, progress=False,
        )
        return model, history

    model, history = run()
    again, history2 = run()
    assert history.loss == history2.loss
    assert [p.data for p in model.parameters()] == [p.data for p in again.parameters()]
    assert history.loss[-1] < history.loss[0]
    assert accuracy(model, X, y) >= 0.9


def test_softmax_classes_with_ce():
    X = [[0.0, 1.0], [1.0, 0.0], [-1.0, 0.0], [0.0, -1.0]] * 3
    y = [0, 1, 2, 2] * 3
    model = MLP(2, [8, 3], activation="tanh", output_activation="linear", seed=0)
    history = fit(model, X, y, loss="ce", optimizer=Adam(model.parameters(), lr=0.05), epochs=60, progress=False)
    assert history.accuracy[-1] == 1.0
    scores = predict(model, X[:2])
    assert len(scores) == 2 and len(scores[0]) == 3 and all(isinstance(s, float) for s in scores[0])
    assert accuracy(model, X, y) == 1.0


def test_custom_loss_callable_and_callback_stops_early():
    X, y = make_moons(20, seed=0)
    model = MLP(2, [4, 1], activation="relu", output_activation="linear", seed=0)
    seen = []

    def loss(scores, labels):
        assert all(isinstance(s, Value) for s in scores)
        return hinge_loss(scores, labels) * 2.0

    def callback(epoch, history):
        seen.append((epoch, len(history.loss)))
        return epoch == 2

    history = fit(model, X, y, loss=loss, epochs=10, callback=callback, progress=False)
    assert seen == [(0, 1), (1, 2), (2, 3)]
    assert history.stopped_early and history.epochs == 3 and len(history.accuracy) == 3


def test_regression_targets_have_no_accuracy():
    X = [[0.1 * i] for i in range(10)]
    y = [0.3 * i - 0.2 for i in range(10)]
    model = MLP(1, [1], activation="linear", seed=0)
    history = fit(model, X, y, loss="mse", epochs=200, lr=0.5, progress=False)
    assert history.accuracy == []
    assert history.loss[-1] < 1e-6
    assert predict(model, [[2.0]])[0] == pytest.approx(0.3 * 20 - 0.2, abs=1e-2)


def test_divergence_is_an_error_not_a_silent_nan():
    X = [[1.0], [2.0], [3.0]]
    y = [1.0, 2.0, 3.0]
    model = MLP(1, [1], activation="linear", seed=0)
    with pytest.raises(TrainingDiverged, match="training diverged") as info:
        fit(model, X, y, loss="sse", epochs=1000, lr=10.0, progress=False)
    assert isinstance(info.value.history, History) and info.value.history.epochs > 0


def test_predict_and_accuracy():
    model = MLP(2, [3, 1], seed=0)
    X = [[0.5, -0.5], [1.0, 2.0]]
    scores = predict(model, X)
    assert scores == [model(x).data for x in X]
    assert all(type(s) is float for s in scores)
    assert is_grad_enabled()
    labels = [1.0 if s > 0 else -1.0 for s in scores]
    assert accuracy(model, X, labels) == 1.0
    assert accuracy(model, X, [-v for v in labels]) == 0.0
    assert accuracy(model, X, labels, threshold=10.0) == labels.count(-1.0) / 2


def test_sigmoid_output_threshold_is_one_half():
    model = MLP(2, [1], activation="sigmoid", seed=0)
    X = [[0.5, -0.5], [1.0, 2.0], [-3.0, 1.0]]
    probs = predict(model, X)
    labels = [1.0 if p > 0.5 else -1.0 for p in probs]
    assert accuracy(model, X, labels) == 1.0


def test_progress_bar(capsys):
    X, y = make_moons(10, seed=0)
    model = MLP(2, [2, 1], seed=0)
    fit(model, X, y, epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=" in err
    fit(model, X, y, epochs=3)  # stderr is not a terminal under pytest: quiet
    fit(model, X, y, epochs=3, progress=False)
    assert capsys.readouterr().err == ""


def test_fit_errors():
    X, y = make_moons(10, seed=0)
    model = MLP(2, [2, 1], seed=0)
    with pytest.raises(ValueError, match=r"labels must be -1.0 or \+1.0, got y\[0\] = 0.0 \(for 0/1 labels"):
        fit(model, X, [0.0] * 10, loss="hinge", progress=False)
    with pytest.raises(ValueError, match="X has 10 samples but y has 9"):
        fit(model, X, y[:9], progress=False)
    with pytest.raises(ValueError, match=r"X\[1\] has 3 features, the model expects 2"):
        fit(model, [[1.0, 2.0], [1.0, 2.0, 3.0]], [1.0, -1.0], progress=False)
    with pytest.raises(ValueError, match="loss must be one of"):
        fit(model, X, y, loss="l1", progress=False)
    with pytest.raises(ValueError, match="epochs must be an int"):
        fit(model, X, y, epochs=-1, progress=False)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        fit(model, X, y, batch_size=0, progress=False)
    with pytest.raises(ValueError, match="l2 must be"):
        fit(model, X, y, l2=-1.0, progress=False)
    with pytest.raises(ValueError, match="give lr= only without optimizer="):
        fit(model, X, y, optimizer=SGD(model.parameters(), lr=0.1), lr=0.1, progress=False)
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="different optimizer"):
        fit(model, X, y, optimizer=SGD(model.parameters(), lr=0.1), scheduler=LinearDecay(opt, 5), progress=False)
    with pytest.raises(ValueError, match="needs one score per sample, but the model returns 3 outputs"):
        fit(MLP(2, [3], seed=0), X, y, loss="hinge", progress=False)
    with pytest.raises(ValueError, match="the model returns 3 outputs per sample, one per class .loss='ce'., but the labels are -1/"):
        fit(MLP(2, [3], seed=0), X, y, progress=False)  # the default loss for several outputs is 'ce'
    with pytest.raises(TypeError, match=r"labels must be integer class indices 0, 1, ..., got y\[0\] = 0.5"):
        fit(MLP(2, [3], seed=0), X, [0.5] * 10, loss="ce", progress=False)
    with pytest.raises(ValueError, match="needs a model with one output per class"):
        fit(model, X, [0] * 10, loss="ce", progress=False)
    with pytest.raises(TypeError, match="X must be a list of samples"):
        predict(model, "abc")
    with pytest.raises(TypeError, match=r"X\[0\] is a float, not a sample"):
        predict(model, [1.0, 2.0])
    with pytest.raises(ValueError, match="X is empty"):
        accuracy(model, [], [])
    with pytest.raises(TypeError, match="model must be callable"):
        fit(object(), X, y)


@pytest.mark.parametrize("engine", ["scalar", "tensor"])
def test_an_exploding_but_finite_loss_is_training_diverged(engine: str) -> None:
    # lr 1000 on moons: the hinge loss goes from 0.55 to about 7e6 after one update, 5e21 later;
    # every number stays finite, so only its growth says the run failed.
    from scratchgrad.data import load_dataset
    from scratchgrad.tensor_nn import MLP as TensorMLP
    from scratchgrad.train import DIVERGED_GROWTH

    data = load_dataset("moons", samples=40, seed=0)
    cls = MLP if engine == "scalar" else TensorMLP
    model = cls(2, [16, 16, 1], activation="relu", output_activation="linear", seed=0)
    with pytest.raises(TrainingDiverged, match=r"the loss grew from 0\.\d+ to .* with learning rate 1000\b") as info:
        fit(model, data.X, data.y, loss="hinge", optimizer="sgd", lr=1000.0, epochs=20, progress=False)
    history = info.value.history
    assert history.epochs < 20 and all(math.isfinite(v) for v in history.loss)
    assert history.loss[-1] > DIVERGED_GROWTH * history.loss[0]
    # a spike that stays under the bound is not divergence: lr 3 climbs ~70x, then trains
    model = cls(2, [16, 16, 1], activation="relu", output_activation="linear", seed=0)
    calm = fit(model, data.X, data.y, loss="hinge", optimizer="sgd", lr=3.0, epochs=30, progress=False)
    assert calm.epochs == 30 and max(calm.loss) > 10 * calm.loss[0]
