"""The registries every app reads: LOSSES, OPTIMIZERS, SCHEDULES, DATASETS (ACTIVATIONS: test_nn_description)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchgrad import Value
from scratchgrad.data import DATASETS, MAX_NOISE, MAX_SAMPLES, Dataset, csv_dataset, dataset_info, load_dataset, make_moons
from scratchgrad.nn import LOSSES
from scratchgrad.nn.losses import binary_cross_entropy_with_logits, check_labels
from scratchgrad.optim import OPTIMIZERS, SCHEDULES, SGD, Adam, ConstantLR, CosineDecay, LinearDecay, StepDecay, make_optimizer, make_schedule
from scratchgrad.tensor import Tensor

# ---- LOSSES: both implementations give the same number and the same gradients ----------------------


def _outputs(loss: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Model outputs and labels that suit ``loss``: (7, 3) logits and indices, or (7, 1) scores and -1/+1."""
    if LOSSES[loss].labels == "index":
        return rng.normal(size=(7, 3)) * 4, rng.integers(0, 3, size=7)
    return np.tanh(rng.normal(size=(7, 1))) * 2, np.where(rng.random(7) < 0.5, -1.0, 1.0)


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_gives_the_same_number_and_gradient_on_both_engines(name: str) -> None:
    spec = LOSSES[name]
    outputs, labels = _outputs(name, np.random.default_rng(len(name)))
    leaf = Tensor(outputs, requires_grad=True)
    tensor_loss = spec.tensor(leaf, labels)
    tensor_loss.backward()
    rows = [[Value(float(z)) for z in row] for row in outputs]  # what a model of Values returns
    scalar_loss = spec.scalar(rows if outputs.shape[1] > 1 else [row[0] for row in rows], labels.tolist())
    scalar_loss.backward()
    assert scalar_loss.data == pytest.approx(float(tensor_loss.data), rel=1e-12, abs=1e-14)
    np.testing.assert_allclose([[v.grad for v in row] for row in rows], leaf.grad, rtol=1e-10, atol=1e-14)
    assert spec.labels in ("pm1", "index", "real") and spec.output_activation in ("linear", "tanh") and spec.summary


def test_the_tensor_bce_has_the_right_slope_at_zero() -> None:
    leaf = Tensor(np.zeros((2, 1)), requires_grad=True)
    binary_cross_entropy_with_logits(leaf, np.array([1.0, 0.25])).backward()
    np.testing.assert_allclose(leaf.grad[:, 0], (0.5 - np.array([1.0, 0.25])) / 2)  # sigmoid(0) - t, averaged
    big = Tensor(np.array([[1000.0], [-1000.0]]), requires_grad=True)
    loss = binary_cross_entropy_with_logits(big, np.array([0.0, 1.0]))
    loss.backward()
    assert loss.item() == pytest.approx(1000.0) and np.isfinite(big.grad).all()


def test_label_conventions_are_checked_by_name() -> None:
    check_labels([1.0, -1.0], "pm1", "fit")
    check_labels(np.array([0, 2]), "index", "fit", outputs=3)
    check_labels([0.5, 3.0], "real", "fit")
    for args, error, message in [
        (([1.0, 0.0], "pm1"), ValueError, r"fit: labels must be -1.0 or \+1.0, got y\[1\] = 0.0 \(for 0/1 labels"),
        (([0, 3], "index"), ValueError, r"class indices 0..2 for a model with 3 outputs, got y\[1\] = 3"),
        (([0, 1.5], "index"), TypeError, r"integer class indices 0, 1, ..., got y\[1\] = 1.5"),
        (([1.0, math.inf], "real"), ValueError, r"y\[1\] must be a finite number, got inf"),
        (([[1.0]], "real"), ValueError, "one label per sample"),
    ]:
        with pytest.raises(error, match=message):
            check_labels(*args, "fit", outputs=3)


# ---- OPTIMIZERS and SCHEDULES ---------------------------------------------------------------------------


def test_optimizers_by_name() -> None:
    params = [Value(1.0)]
    assert set(OPTIMIZERS) == {"sgd", "momentum", "adam", "adamw"}
    sgd = make_optimizer("sgd", params)
    assert isinstance(sgd, SGD) and sgd.lr == 0.1 and sgd.momentum == 0.0
    momentum = make_optimizer("momentum", params, lr=0.5)
    assert isinstance(momentum, SGD) and momentum.lr == 0.5 and momentum.momentum == 0.9
    assert make_optimizer("momentum", params, momentum=0.5).momentum == 0.5
    adam = make_optimizer("adam", params)
    assert isinstance(adam, Adam) and adam.lr == OPTIMIZERS["adam"].default_lr == 0.01
    with pytest.raises(ValueError, match="optimizer must be one of 'sgd', 'momentum', 'adam', 'adamw', got 'rmsprop'"):
        make_optimizer("rmsprop", params)


@pytest.mark.parametrize("momentum", [1.0, 2.0, -0.1, math.nan])
def test_momentum_must_be_below_one(momentum: float) -> None:
    """Issue 12: --momentum 2 was accepted (and training diverged)."""
    with pytest.raises(ValueError, match=r"momentum must be a finite number >= 0.0 and < 1.0"):
        SGD([Value(1.0)], lr=0.1, momentum=momentum)
    with pytest.raises(ValueError, match="momentum must be"):
        make_optimizer("momentum", [Value(1.0)], momentum=momentum)


def test_schedules_by_name() -> None:
    def lrs(name: str, total: int = 9) -> list[float]:
        opt = SGD([Value(1.0)], lr=1.0)
        schedule = make_schedule(name, opt, total)
        return [opt.lr] + [schedule.step() for _ in range(total)]

    assert set(SCHEDULES) == {"constant", "linear", "cosine", "step"}
    assert lrs("constant") == [1.0] * 10
    assert lrs("linear")[-1] == pytest.approx(0.1) and lrs("cosine")[-1] == pytest.approx(0.01)
    assert lrs("step") == [1.0, 1.0, 1.0] + [pytest.approx(0.1)] * 3 + [pytest.approx(0.01)] * 3 + [pytest.approx(0.001)]
    opt = SGD([Value(1.0)], lr=1.0)
    kinds = {name: type(make_schedule(name, opt, 5)) for name in SCHEDULES}
    assert kinds == {"constant": ConstantLR, "linear": LinearDecay, "cosine": CosineDecay, "step": StepDecay}
    with pytest.raises(ValueError, match="schedule must be one of"):
        make_schedule("warmup", opt, 5)
    with pytest.raises(ValueError, match="total_steps must be a positive int"):
        make_schedule("linear", opt, 0)


# ---- DATASETS ---------------------------------------------------------------------------------------------


def test_every_data_set_loads_once_as_arrays_and_as_lists() -> None:
    assert set(DATASETS) >= {"moons", "circles", "spirals", "xor", "tutorial", "digits"}
    for name, info in DATASETS.items():
        if info.extra == "digits":
            pytest.importorskip("sklearn")
        data = load_dataset(name)
        assert isinstance(data, Dataset) and data.kind == info.kind and data.classes == info.classes
        assert data.X.shape == (len(data.y), info.features) and data.X.dtype == np.float64
        assert data.y.dtype == (np.int64 if info.kind == "classes" else np.float64)
        assert data.description and data.name == name
        X, y, X_test, y_test = data.as_lists()
        assert X == data.X.tolist() and y == data.y.tolist() and len(X_test) == len(data.X_test)
        if info.samples is not None:
            assert len(X) == info.samples and data.has_test and len(X_test) == info.samples
    moons = load_dataset("moons", samples=50, noise=0.2, seed=3)
    assert moons.X.tolist() == make_moons(50, noise=0.2, seed=3)[0]  # the generator's own points
    assert moons.X_test.tolist() != moons.X.tolist()  # a fresh sample to test on


def test_settings_a_data_set_does_not_have_are_refused_not_ignored() -> None:
    """Issue 12: --samples and --noise were silently ignored for digits and CSV."""
    for name in ("tutorial", "digits"):
        with pytest.raises(ValueError, match=f"the {name} data set has no samples setting"):
            load_dataset(name, samples=10)
        with pytest.raises(ValueError, match=f"the {name} data set has no noise setting"):
            load_dataset(name, noise=0.1)
    with pytest.raises(ValueError, match=r"unknown data set 'moon'; choose one of .* \(did you mean 'moons'\?\)"):
        dataset_info("moon")


@pytest.mark.parametrize(
    ("samples", "noise", "message"),
    [(MAX_SAMPLES + 1, None, "n_samples must be an int from 2 to 1,000,000"), (1, None, "n_samples must be an int from 2"),
     (None, 1e300, f"noise must be a finite number >= 0 and <= {MAX_NOISE:g}"), (None, -1.0, "noise must be")],
)  # fmt: skip
def test_sizes_and_noise_have_sane_bounds(samples, noise, message: str) -> None:
    """Issue 12: --samples 1000000000 and --noise 1e300 gave tracebacks or a MemoryError."""
    with pytest.raises(ValueError, match=message):
        load_dataset("moons", samples=samples, noise=noise)


def test_a_csv_file_as_a_dataset(tmp_path) -> None:
    binary = tmp_path / "binary.csv"
    binary.write_text("a,b,label\n0,1,0\n1,0,1\n1,1,1\n")
    data = csv_dataset(binary)
    assert data.kind == "binary" and data.y.tolist() == [-1.0, 1.0, 1.0] and not data.has_test
    assert data.description.endswith("2 classes (labels 0 -> -1 and 1 -> +1)")  # the mapping is said, not hidden
    classes = tmp_path / "classes.csv"
    classes.write_text("0,1,3\n1,0,5\n1,1,7\n2,2,5\n")
    data = csv_dataset(classes)
    assert data.kind == "classes" and data.classes == 3 and data.y.tolist() == [0, 1, 2, 1]
    real = tmp_path / "real.csv"
    real.write_text("0,1.5\n1,2.25\n2,0.5\n")
    assert csv_dataset(real).kind == "regression"
    with pytest.raises(ValueError, match="whole-number labels"):
        csv_dataset(real, kind="classes")
