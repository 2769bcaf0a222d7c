"""``scratchgrad train``: data sets, engines, pictures, models, and the limits of its options."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pytest
from cli_support import assert_png, assert_usage_error, run, run_on_a_terminal

from scratchgrad import cli

SMALL = ["--epochs", "5", "--samples", "40", "--no-progress"]


def test_train_moons_writes_plots_and_a_model_that_loads(tmp_path: Path) -> None:
    result = run("train", "--dataset", "moons", *SMALL, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "2-16-16-1 relu MLP (scalar engine) on moons (40 samples, noise 0.1)" in result.stdout
    assert re.search(r"training accuracy \d+\.\d%", result.stdout)
    assert re.search(r"test accuracy \d+\.\d% \(on 40 samples not trained on\)", result.stdout)
    assert_png(tmp_path / "moons_loss.png")
    assert_png(tmp_path / "moons_boundary.png")
    from scratchgrad.nn import MLP

    model = MLP.load(tmp_path / "moons_model.json")
    assert model.architecture() == {"nin": 2, "nouts": [16, 16, 1], "activation": "relu", "output_activation": "linear"}
    assert json.loads((tmp_path / "moons_model.json").read_text())["format"] == "scratchgrad.model"
    assert result.stderr == ""


def test_train_shows_a_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    status, _, terminal = run_on_a_terminal("train", "--epochs", "3", "--samples", "20", "--out", str(tmp_path))
    assert status == 0, terminal
    assert "training" in terminal and "3/3" in terminal
    piped = run("train", "--epochs", "3", "--samples", "20", "--out", str(tmp_path))  # stderr is a pipe
    assert piped.returncode == 0 and piped.stderr == ""


def test_the_moons_defaults_train_well_out_of_the_box(tmp_path: Path) -> None:
    result = run("train", "--no-progress", "--out", str(tmp_path))  # moons is the default data set
    assert result.returncode == 0, result.stderr
    match = re.search(r"training accuracy ([\d.]+)%", result.stdout)
    assert match is not None and float(match.group(1)) >= 95.0, result.stdout


@pytest.mark.parametrize("dataset", ["circles", "spirals", "xor"])
def test_train_each_generated_data_set(dataset: str, tmp_path: Path) -> None:
    result = run(
        "train", "--dataset", dataset, "--epochs", "2", "--samples", "20", "--no-progress", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    for name in ["loss.png", "boundary.png", "model.json"]:
        assert (tmp_path / f"{dataset}_{name}").is_file()


def test_train_the_tutorials_data(tmp_path: Path) -> None:
    result = run("train", "--dataset", "tutorial", "--no-progress", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "3-4-4-1 tanh MLP" in result.stdout and "sse loss, sgd lr 0.1, 50 epochs" in result.stdout
    assert "the tutorial's 4 samples" in result.stdout
    assert "training accuracy 100.0%" in result.stdout
    assert "no decision boundary picture: the data has 3 features, not 2" in result.stdout
    assert (tmp_path / "tutorial_model.json").is_file() and not (tmp_path / "tutorial_boundary.png").exists()


def test_train_with_the_tensor_engine_writes_an_npz_model(tmp_path: Path) -> None:
    result = run("train", "--engine", "tensor", *SMALL, "--optimizer", "adam", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "(tensor engine)" in result.stdout and "adam lr 0.01," in result.stdout  # adam's own default lr
    assert_png(tmp_path / "moons_boundary.png")
    import numpy as np

    from scratchgrad import tensor_nn

    model = tensor_nn.load(tmp_path / "moons_model.npz")
    assert model(np.array([[0.5, 0.25]])).data.shape == (1, 1)


def test_train_digits_picks_the_tensor_engine_and_draws_a_confusion_matrix(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    result = run("train", "--dataset", "digits", "--epochs", "1", "--no-progress", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "64-128-10 relu MLP (tensor engine" in result.stdout and "kaiming init" in result.stdout
    assert re.search(r"test accuracy \d+\.\d%", result.stdout)
    assert_png(tmp_path / "digits_confusion.png")
    assert_png(tmp_path / "digits_loss.png")
    assert (tmp_path / "digits_model.npz").read_bytes()[:2] == b"PK"  # a zip archive, as .npz files are


def _write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_train_on_a_csv_file_with_0_1_labels(tmp_path: Path) -> None:
    rows = ["x0,x1,label"] + [f"{i / 10},{(i % 7) / 7},{int(i % 2 == 0)}" for i in range(30)]
    data = _write_csv(tmp_path / "points.csv", rows)
    result = run("train", "--dataset", f"csv:{data}", "--epochs", "3", "--no-progress", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "2 classes (labels 0 -> -1 and 1 -> +1)" in result.stdout
    assert "30 rows of" in result.stdout
    for name in ["points_loss.png", "points_boundary.png", "points_model.json"]:
        assert (tmp_path / "out" / name).is_file(), name


@pytest.mark.parametrize("engine", ["scalar", "tensor"])
def test_train_on_a_csv_file_with_three_classes(engine: str, tmp_path: Path) -> None:
    rows = ["a,b,class"] + [f"{i % 3 + (i % 5) / 10},{(i % 3) % 2 + (i % 4) / 10},{i % 3}" for i in range(30)]
    data = _write_csv(tmp_path / "three.csv", rows)
    args = ["train", "--dataset", f"csv:{data}", "--loss", "ce", "--engine", engine, "--epochs", "3", "--no-progress"]
    result = run(*args, "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "2-16-16-3 relu MLP" in result.stdout and "3 classes" in result.stdout
    assert_png(tmp_path / "out" / "three_confusion.png")
    assert_png(tmp_path / "out" / "three_boundary.png")
    without_ce = run("train", "--dataset", f"csv:{data}", "--engine", engine, "--out", str(tmp_path / "out"))
    assert_usage_error(without_ce, "has 3 distinct values: use --loss ce")


@pytest.mark.parametrize(
    "rows, fragments",
    [
        (["x0,x1,y", "1,2,1", "3,oops,0"], ["row 3, column 2 ('x1'): 'oops' is not a number"]),
        (["x0,x1,y", "1,2,1", "3,4"], ["row 3 has 2 columns, expected 3"]),
        (["x0,x1,y", "1,2,1", "", "3,4,nan"], ["row 4, column 3 ('y')", "not finite"]),
        ([], ["the file is empty"]),
        (["x0,x1,y"], ["no data rows"]),
    ],
)
def test_a_bad_csv_exits_2_naming_the_row(rows: list[str], fragments: list[str], tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "bad.csv", rows)
    result = run("train", "--dataset", f"csv:{data}", "--no-progress", "--out", str(tmp_path / "out"))
    assert_usage_error(result, "bad.csv", *fragments)
    assert len(result.stderr.strip().splitlines()) == 1


# ---- issue 12: a new user's runs -------------------------------------------------------------------


def test_a_diverging_run_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    result = run("train", "--lr", "1000", "--epochs", "20", "--no-progress", "--out", str(tmp_path))
    # train.fit's TrainingDiverged, as it says it: the loss went from 0.55 to about 7e6, finite
    assert_usage_error(result, "the loss grew from", "training diverged", "learning rate 1000", "smaller lr", status=1)
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "moons_model.json").exists()  # no model of a failed run


def test_a_big_run_picks_the_tensor_engine_and_says_so(tmp_path: Path) -> None:
    args = ["--dataset", "spirals", "--hidden", "32,32", "--optimizer", "adam", "--epochs", "300", "--no-progress"]
    result = run("train", *args, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert "(tensor engine, picked for speed" in first and "--engine scalar" in first
    assert (tmp_path / "spirals_model.npz").is_file()


def _namespace(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(["train", *argv])


def test_the_engine_follows_the_size_of_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    from scratchgrad.cli.train import engine_of, settings_of
    from scratchgrad.data import Dataset

    points = Dataset(np.zeros((100, 2)), np.ones(100))
    small = _namespace()
    assert engine_of(small, settings_of(small), points) == ("scalar", "")  # moons' defaults: seconds on Values
    big = _namespace("--dataset", "spirals", "--hidden", "32,32", "--epochs", "300")
    engine, why = engine_of(big, settings_of(big), points)
    assert engine == "tensor" and "picked for speed: 36 million weight uses" in why
    forced = _namespace("--dataset", "spirals", "--hidden", "32,32", "--epochs", "300", "--engine", "scalar")
    assert engine_of(forced, settings_of(forced), points)[0] == "scalar"
    assert "this run will take about" in capsys.readouterr().err  # said before a slow run starts
    huge = Dataset(np.zeros((90_000, 2)), np.ones(90_000))  # one full batch would be 30 million weight uses
    assert engine_of(small, settings_of(small), huge)[0] == "tensor"


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--samples", "1"], ["argument --samples", "from 2 to 100,000"]),
        (["--samples", "1000000000"], ["argument --samples", "from 2 to 100,000"]),
        (["--engine", "tensor", "--seed", "-1"], ["argument --seed", "from 0 to 4,294,967,295"]),
        (["--noise", "1e300"], ["argument --noise", "in [0, 10]"]),
        (["--hidden", "100000,100000"], ["argument --hidden", "at most 4,096 units"]),
        (["--hidden", ",".join(["4096"] * 3)], ["10,000,000 parameters"]),
        (["--hidden", "512,512", "--engine", "scalar"], ["scalar engine's limit of 200,000"]),
        (["--momentum", "2"], ["--momentum: momentum must be a finite number >= 0.0 and < 1.0, got 2.0"]),  # the library's check
        (["--momentum", "-1", "--optimizer", "momentum"], ["--momentum: momentum must be"]),
        (["--samples", "100000", "--engine", "scalar"], ["a batch of 100,000 samples", "--batch-size"]),
        (["--dataset", "digits", "--samples", "50"], ["--samples applies to the generated data sets", "not to digits"]),
        (["--dataset", "tutorial", "--noise", "0.2"], ["--noise applies to the generated data sets"]),
        (["--dataset", "csv:points.csv", "--samples", "5"], ["--samples applies", "not to points"]),
        (["--dataset", "moonz"], ["unknown dataset 'moonz'", "did you mean 'moons'?"]),
        (["--dataset", "points.csv"], ["did you mean 'csv:points.csv'?"]),
        (["--epochs", "10000000"], ["argument --epochs", "1,000,000"]),
    ],
)
def test_hostile_train_options_exit_2_with_one_line(
    args: list[str], fragments: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import subprocess

    monkeypatch.chdir(tmp_path)
    status = cli.main(["train", *args, "--no-progress"])
    captured = capsys.readouterr()
    assert_usage_error(subprocess.CompletedProcess(args, status, captured.out, captured.err), *fragments)
    assert len(captured.err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_the_limits_are_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for fragment in ("2 to 100,000", "0 to 10", "4,096", "10,000,000 parameters", "in [0, 1)", "0 to 4,294,967,295"):
        assert fragment in text, fragment


def test_a_folder_in_the_way_of_an_output_file_is_refused_before_training(tmp_path: Path) -> None:
    (tmp_path / "moons_model.json").mkdir()
    result = run("train", *SMALL, "--out", str(tmp_path))
    assert_usage_error(result, f"--out {tmp_path / 'moons_model.json'} is a folder")
    assert result.stdout == ""  # refused before any training
