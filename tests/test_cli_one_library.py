"""``scratchgrad train`` is thin over the one library: both engines through one fit, and every
choice list read from a registry (issue 11)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from cli_support import run

from scratchgrad import cli


def _final_loss(stdout: str) -> str:
    match = re.search(r"^final training loss (\S+)$", stdout, re.M)
    assert match is not None, stdout
    return match.group(1)


@pytest.mark.parametrize(
    "dataset, options",
    [
        ("moons", ["--epochs", "40"]),  # the preset: hinge, SGD with a linear decay, L2, full batch
        ("circles", ["--loss", "bce", "--activation", "tanh", "--optimizer", "adam", "--epochs", "25"]),
        ("tutorial", []),  # the tutorial's own run: summed squared error on 3 features, tanh outputs
    ],
)
def test_both_engines_print_the_same_final_loss_and_save_models_that_agree(
    dataset: str, options: list[str], tmp_path: Path
) -> None:
    from scratchgrad.data import load_dataset
    from scratchgrad.nn import Module
    from scratchgrad.train import predict

    outputs = {}
    for engine in ("scalar", "tensor"):
        result = run("train", "--dataset", dataset, *options, "--engine", engine, "--seed", "3", "--no-progress",
                     "--out", str(tmp_path / engine))  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"({engine} engine)" in result.stdout
        outputs[engine] = result.stdout
    # the same loss printed to 6 significant digits, the same accuracies
    assert _final_loss(outputs["scalar"]) == _final_loss(outputs["tensor"])
    scores = [line for line in outputs["scalar"].splitlines() if "accuracy" in line]
    assert scores and scores == [line for line in outputs["tensor"].splitlines() if "accuracy" in line]
    scalar = Module.load(tmp_path / "scalar" / f"{dataset}_model.json")
    tensor = Module.load(tmp_path / "tensor" / f"{dataset}_model.npz")
    assert scalar.model_engine() == "scalar" and tensor.model_engine() == "tensor"
    data = load_dataset(dataset, seed=3)
    points = np.vstack([data.X, data.X_test]) if data.has_test else data.X
    np.testing.assert_allclose(predict(scalar, points), predict(tensor, points), rtol=0, atol=1e-6)


def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """One new entry in each registry the command reads; none of them known to the CLI."""
    from scratchgrad.data import DATASETS, Dataset, DatasetInfo
    from scratchgrad.nn import ACTIVATIONS, LOSSES, Activation, Loss
    from scratchgrad.optim import OPTIMIZERS, SCHEDULES, SGD, ConstantLR
    from scratchgrad.optim import OptimizerSpec, ScheduleSpec

    def clouds(samples: int | None, noise: float | None, seed: object) -> Dataset:
        rng = np.random.default_rng(int(seed))  # type: ignore[call-overload]
        y = np.where(np.arange(samples or 0) % 2 == 0, 1.0, -1.0)
        X = rng.normal(size=(samples or 0, 2)) * (noise or 0.0) + y[:, None]
        return Dataset(X, y, kind="binary", description=f"two Gaussian clouds ({samples} samples)", name="clouds")

    def hinge_squared(outputs: object, labels: object) -> object:
        return LOSSES["hinge"](outputs, labels) ** 2

    leaky = Activation("leaky", lambda v: v.relu() + 0.1 * v, lambda t: t.relu() + t * 0.1, "max(0, z) + z/10",
                       "ReLU", None, None)  # fmt: skip
    monkeypatch.setitem(DATASETS, "clouds", DatasetInfo("clouds", "two Gaussian clouds", "binary", 30, 0.5, clouds))
    monkeypatch.setitem(LOSSES, "hinge2", Loss("hinge2", hinge_squared, hinge_squared, "pm1", "linear", "squared hinge"))
    monkeypatch.setitem(ACTIVATIONS, "leaky", leaky)
    monkeypatch.setitem(OPTIMIZERS, "slow", OptimizerSpec("slow", SGD, 0.05, "SGD with a small default lr"))
    monkeypatch.setitem(SCHEDULES, "flat", ScheduleSpec("flat", lambda opt, total: ConstantLR(opt), "no change"))


def test_an_entry_added_to_a_registry_is_a_choice_of_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _registered(monkeypatch)
    assert cli.main(["train", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    for text in ("clouds (two Gaussian clouds)", "hinge2 (squared hinge)", "leaky (max(0, z) + z/10)",
                 "slow (SGD with a small default lr, lr 0.05)", "flat (no change)", "clouds --hidden 16,16"):
        assert text in shown, text
    args = ["train", "--dataset", "clouds", "--loss", "hinge2", "--activation", "leaky", "--optimizer", "slow",
            "--schedule", "flat", "--epochs", "3", "--no-progress", "--out", str(tmp_path)]  # fmt: skip
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "2-16-16-1 leaky MLP (scalar engine) on two Gaussian clouds (30 samples)" in out
    assert "hinge2 loss, slow lr 0.05" in out  # the new optimizer's own default lr
    assert (tmp_path / "clouds_boundary.png").is_file() and (tmp_path / "clouds_model.json").is_file()
    assert cli.main([*args[:-2], "--engine", "tensor", "--out", str(tmp_path / "tensor")]) == 0
    assert _final_loss(capsys.readouterr().out) == _final_loss(out)
