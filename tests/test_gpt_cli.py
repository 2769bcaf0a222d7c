"""``scratchgrad train --dataset names``: a GPT, its validation loss, 20 names, its files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from cli_support import assert_png, run, run_on_a_terminal

from scratchgrad.nn import GPT, Module

SHORT = ["--dataset", "names", "--steps", "40", "--layers", "1", "--width", "16", "--no-progress"]


def test_the_names_run_prints_the_validation_loss_and_20_names_and_writes_its_files(tmp_path: Path) -> None:
    result = run("train", *SHORT, "--seed", "3", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "training a GPT (1 layer of width 16, 4 heads, block 16; 4,192 parameters, float32) on 28,830 names" in out
    loss = float(re.search(r"validation loss (\d\.\d{4}) nats per character", out).group(1))
    assert 2.0 < loss < 3.4
    names = re.search(r"20 names it made up \(temperature 0\.8\):\n((?:  [a-z]*\n){20})", out)
    assert names, out
    model = Module.load(tmp_path / "names_model.npz")
    assert isinstance(model, GPT) and model.config.n_layer == 1 and model.dtype == np.float32
    assert [f"  {name}" for name in model.sample(20, temperature=0.8, seed=3)] == names.group(1).splitlines()
    assert_png(tmp_path / "names_loss.png")
    assert result.stderr == ""  # no progress bar into a pipe


def test_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    status, _, shown = run_on_a_terminal("train", *SHORT[:-1], "--out", str(tmp_path))
    assert status == 0 and "training" in shown and "step" in shown


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--hidden", "8"], r"--hidden shape an MLP; --dataset names trains a GPT: use --layers"),
        (["--epochs", "3", "--loss", "ce"], r"--loss, --epochs shape an MLP"),
        (["--engine", "scalar"], r"the same GPT on Values is scratchgrad.nn.ScalarGPT"),
        (["--width", "30"], r"--width 30 must be a multiple of --heads 4"),
        (["--layers", "0"], r"--layers: expected a whole number from 1 to 24, got 0"),
    ],
)
def test_options_that_do_not_fit_a_gpt_are_refused(options: list[str], message: str, tmp_path: Path) -> None:
    result = run("train", "--dataset", "names", *options, "--out", str(tmp_path))
    assert result.returncode == 2
    assert re.search(message, result.stderr), result.stderr
    assert not any(tmp_path.iterdir())


def test_the_time_limit_stops_training_and_says_so(tmp_path: Path) -> None:
    result = run("train", *SHORT[:2], "--steps", "100000", "--time-limit", "1", "--no-progress", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert re.search(r"stopped by --time-limit at step [\d,]+ of 100,000", result.stdout)
