"""The `scratchgrad` command, run as users run it: in a subprocess, files checked on disk."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scratchgrad import cli

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m scratchgrad ARGS`` in a fresh interpreter, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "scratchgrad", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
        timeout=timeout,
    )


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG header, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_png(path: Path, min_side: int = 100) -> None:
    width, height = png_size(path)
    assert min_side <= width <= 10_000 and min_side // 2 <= height <= 10_000, (path, width, height)


def assert_svg(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    assert "<svg" in text and text.rstrip().endswith("</svg>"), path
    return text


def frame_labels(page: str) -> list[str]:
    """The label of the node processed in each frame of a step-through page, in page order."""
    return re.findall(r'<figure class="frame"[^>]*data-label="([^"]*)"', page)


def backward_order(text: str, **values: float) -> list[str]:
    """Labels of the nodes `Value.backward()` processes, in its order, for an expression."""
    from scratchgrad.expr import evaluate
    from scratchgrad.viz import backward_steps

    return [step.node.label for step in backward_steps(evaluate(text, values))]


def assert_usage_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("scratchgrad: error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


# ---- help -------------------------------------------------------------------------------


def test_help_lists_every_subcommand() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in cli.SUBCOMMANDS:
        assert command.name in result.stdout and command.summary in result.stdout


@pytest.mark.parametrize("command", [c.name for c in cli.SUBCOMMANDS])
def test_every_subcommand_has_useful_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: scratchgrad {command}")
    spec = next(c for c in cli.SUBCOMMANDS if c.name == command)
    assert " ".join(spec.description.split()[:6]) in " ".join(text.split())
    assert text.count("--") >= 3  # its options are described


def test_train_help_lists_the_defaults_of_each_data_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for name in cli.PRESETS:
        assert re.search(rf"^  {name}\s+--hidden", text, re.M), name


def test_no_subcommand_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().err


def test_version() -> None:
    from scratchgrad import __version__

    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"scratchgrad {__version__}"


# ---- demo -------------------------------------------------------------------------------

DEMO_FILES = [
    "seed_L.svg",
    "seed_L.png",
    "seed_L_grads.svg",
    "seed_L_grads.png",
    "seed_neuron.svg",
    "seed_neuron.png",
    "seed_neuron_backward.svg",
    "seed_neuron_backward.png",
    "seed_neuron_steps.html",
    "activations.png",
    "seed_mlp_loss.png",
    "seed_mlp.json",
]


def test_demo_prints_the_seeds_numbers_and_writes_its_pictures(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "out"
    result = run("demo", "--out", str(out))  # with the progress bar, as users see it
    assert result.returncode == 0, result.stderr
    stdout = result.stdout
    assert "L = -8.0" in stdout
    assert "L 1.0  d -2.0  f 4.0  e -2.0  c -2.0  a 6.0  b -4.0" in stdout
    assert "L.backward() gives the same gradients" in stdout
    assert "\n0.0\n---\nx2 1.0\nw2 0.0\nx1 -3.0\nw1 2.0\n" in stdout  # the seed's PyTorch cell's output
    assert re.search(r"PyTorch \S+ \(float64\) agrees: o 0.0, x2 1.0, w2 0.0, x1 -3.0, w1 2.0", stdout)
    assert "50/50" in result.stderr  # the tqdm bar went to stderr

    for name in DEMO_FILES:
        assert (out / name).is_file(), name
        assert str(out / name) in stdout  # listed at the end
    for name in DEMO_FILES:
        if name.endswith(".png"):
            assert_png(out / name)
    L_before = assert_svg(out / "seed_L.svg")
    L_after = assert_svg(out / "seed_L_grads.svg")
    assert "data &#45;8.0000" in L_before or "data -8.0000" in L_before
    assert "grad 6.0000" in L_after and "grad 6.0000" not in L_before  # a.grad, filled in by hand
    neuron = assert_svg(out / "seed_neuron.svg")
    neuron_after = assert_svg(out / "seed_neuron_backward.svg")
    for label in ["x1", "x2", "w1", "w2", "x1*w1", "x2*w2", "x1*w1 + x2*w2", "tanh"]:
        assert f">{label}<" in neuron, label
    assert "grad &#45;3.0000" in neuron_after and "grad &#45;3.0000" not in neuron
    page = (out / "seed_neuron_steps.html").read_text(encoding="utf-8")
    assert frame_labels(page) == ["o", "n", "x1*w1 + x2*w2", "x2*w2", "x1*w1"]  # backward()'s order
    assert "http://" not in page.replace("http://www.w3.org", "")  # self-contained

    from scratchgrad.nn import MLP

    model = MLP.load(out / "seed_mlp.json")
    assert model.architecture() == {"nin": 3, "nouts": [4, 4, 1], "activation": "tanh", "output_activation": "tanh"}
    match = re.search(r"prediction for \[4\.0, 5\.0, -3\.0\]: (\S+)", stdout)
    assert match is not None
    assert model([4.0, 5.0, -3.0]).data == float(match.group(1))  # the saved model is the trained one
    losses = [float(v) for v in re.findall(r"step +\d+ +loss ([\d.]+)", stdout)]
    assert len(losses) == 6 and losses[-1] < 0.05 < losses[0]


def test_demo_without_torch_or_graphviz_still_runs_and_says_what_it_skipped(tmp_path: Path) -> None:
    empty = tmp_path / "bin"  # a PATH without Graphviz's dot
    empty.mkdir()
    out = tmp_path / "out"
    code = (
        "import sys; sys.modules['torch'] = None\n"  # makes `import torch` fail, as when it is not installed
        "from scratchgrad.cli import main\n"
        f"raise SystemExit(main(['demo', '--out', {str(out)!r}, '--no-progress', '--seed', '3']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": str(empty)},
    )
    assert result.returncode == 0, result.stderr
    assert "PyTorch check skipped: torch is not installed (pip install scratchgrad[torch])" in result.stdout
    assert "agrees" not in result.stdout
    assert "L = -8.0" in result.stdout and "\nx1 -3.0\n" in result.stdout
    # Pictures: the Graphviz sources instead, and how to install Graphviz.
    assert "Graphviz" in result.stderr and "apt-get install graphviz" in result.stderr
    assert "Traceback" not in result.stderr and "%|" not in result.stderr  # no progress bar either
    for name in ["seed_L", "seed_L_grads", "seed_neuron", "seed_neuron_backward", "seed_neuron_steps"]:
        assert (out / f"{name}.dot").read_text().startswith("digraph"), name
        assert str(out / f"{name}.dot") in result.stdout
    for name in ["activations.png", "seed_mlp_loss.png", "seed_mlp.json"]:  # the rest of the demo still ran
        assert (out / name).is_file(), name


# ---- train ------------------------------------------------------------------------------

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


def test_train_shows_a_progress_bar(tmp_path: Path) -> None:
    result = run("train", "--epochs", "3", "--samples", "20", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "training" in result.stderr and "3/3" in result.stderr


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


def test_train_the_seeds_tutorial_data(tmp_path: Path) -> None:
    result = run("train", "--dataset", "tutorial", "--no-progress", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "3-4-4-1 tanh MLP" in result.stdout and "sse loss, sgd lr 0.1, 50 epochs" in result.stdout
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
    assert "64-128-10 relu MLP (tensor engine)" in result.stdout
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
    assert "labels 0 -> -1 and 1 -> +1" in result.stdout
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


# ---- graph ------------------------------------------------------------------------------

NEURON = [
    "tanh(x1*w1 + x2*w2 + b)",
    "--var",
    "x1=2",
    "--var",
    "x2=0",
    "--var",
    "w1=-3",
    "--var",
    "w2=1",
    "--var",
    "b=6",
]


def test_graph_prints_the_value_and_every_gradient(tmp_path: Path) -> None:
    result = run("graph", *NEURON, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "tanh(x1*w1 + x2*w2 + b) = 0.0"
    grads = dict(re.findall(r"^  (\w+) += \S+ +grad (\S+)$", result.stdout, re.M))
    assert grads == {"x1": "-3.0", "w1": "2.0", "x2": "1.0", "w2": "0.0", "b": "1.0"}
    assert list(tmp_path.iterdir()) == []  # no --out: nothing written


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf", ".dot", ".html"])
def test_graph_writes_each_format(suffix: str, tmp_path: Path) -> None:
    target = tmp_path / "pictures" / f"neuron{suffix}"  # the folder is created
    result = run("graph", *NEURON, "--out", str(target))
    assert result.returncode == 0, result.stderr
    assert f"wrote {target}" in result.stdout
    data = target.read_bytes()
    if suffix == ".svg":
        text = assert_svg(target)
        assert ">x1*w1 + x2*w2<" in text and "grad &#45;3.0000" in text
    elif suffix == ".png":
        assert_png(target)
    elif suffix == ".pdf":
        assert data.startswith(b"%PDF")
    elif suffix == ".dot":
        assert data.startswith(b"digraph")
    else:
        page = data.decode("utf-8")
        expected = backward_order(NEURON[0], x1=2, x2=0, w1=-3, w2=1, b=6)
        assert len(expected) == 5 and frame_labels(page) == expected
        assert page.count("<svg") >= 5


def test_graph_steps_page_and_shared_variables(tmp_path: Path) -> None:
    target = tmp_path / "steps.html"
    result = run("graph", "x*x + 3*x", "--var", "x=2", "--steps", "--out", str(target))
    assert result.returncode == 0, result.stderr
    assert "x*x + 3*x = 10.0" in result.stdout
    assert re.search(r"^  x = 2.0 +grad 7.0$", result.stdout, re.M)  # one x, both uses: 2x + 3
    page = target.read_text(encoding="utf-8")
    assert frame_labels(page) == backward_order("x*x + 3*x", x=2.0)
    assert sorted(frame_labels(page)) == ["3*x", "x*x", "x*x + 3*x"]  # leaves pass nothing on: no step


def test_graph_through_the_installed_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "scratchgrad"
    assert script.is_file(), f"the console script {script} is not installed: pip install -e ."
    result = subprocess.run(
        [str(script), "graph", "-x**2 + exp(y)", "--var", "x=3", "--var", "y=0", "--out", str(tmp_path / "g.svg")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("-x**2 + exp(y) = -8.0\n")
    assert_svg(tmp_path / "g.svg")


def test_graph_warns_about_unused_variables(tmp_path: Path) -> None:
    result = run("graph", "x + 1", "--var", "x=1", "--var", "z=2")
    assert result.returncode == 0
    assert result.stderr == "scratchgrad: warning: the expression does not use z\n"


def test_graph_without_graphviz_fails_with_install_advice(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run("graph", *NEURON, "--out", str(tmp_path / "n.svg"), env={"PATH": str(empty)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "scratchgrad: error: cannot render" in result.stderr and "apt-get install graphviz" in result.stderr
    assert (tmp_path / "n.dot").read_text().startswith("digraph")


# ---- user errors: one line, exit status 2 -------------------------------------------------


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["frobnicate"], ["invalid choice: 'frobnicate'"]),
        (
            ["train", "--dataset", "mnist"],
            ["unknown dataset 'mnist'", "moons, circles, spirals, xor, tutorial, digits or csv:PATH"],
        ),
        (["train", "--dataset", "csv:"], ["csv: needs a file name"]),
        (["train", "--hidden", "16,x"], ["argument --hidden", "'16,x'"]),
        (["train", "--hidden", "16,0"], ["argument --hidden"]),
        (["train", "--activation", "gelu"], ["argument --activation", "invalid choice: 'gelu'"]),
        (["train", "--loss", "huber"], ["argument --loss"]),
        (["train", "--lr", "-1"], ["argument --lr", "> 0"]),
        (["train", "--lr", "nan"], ["argument --lr", "finite"]),
        (["train", "--epochs", "ten"], ["argument --epochs"]),
        (["train", "--batch-size", "0"], ["argument --batch-size"]),
        (["train", "--engine", "gpu"], ["argument --engine"]),
        (["train", "--dataset", "digits", "--engine", "scalar"], ["--dataset digits needs --engine tensor"]),
        (["train", "--loss", "ce"], ["--loss ce is for several classes"]),
        (["train", "--optimizer", "adam", "--momentum", "0.9"], ["--momentum applies to --optimizer sgd only"]),
        (["train", "--dataset", "csv:does-not-exist.csv"], ["csv:does-not-exist.csv: file not found"]),
        (["graph", "x +", "--var", "x=1"], ["syntax error at column 4"]),
        (["graph", "tanh(x1*w1)", "--var", "x1=1"], ["undefined variable 'w1' (given: x1)"]),
        (
            ["graph", "log(x - 2)", "--var", "x=1"],
            ["cannot evaluate log(x - 2)", "log is only defined for positive inputs"],
        ),
        (["graph", "x / (x - 1)", "--var", "x=1"], ["division by zero"]),
        (["graph", "softplus(x)", "--var", "x=1"], ["unknown function 'softplus'", "exp, log, relu, sigmoid, tanh"]),
        (["graph", "x", "--var", "x"], ["argument --var", "expected NAME=NUMBER"]),
        (["graph", "x", "--var", "x=two"], ["argument --var", "'two' is not a number"]),
        (["graph", "x", "--var", "x=inf"], ["argument --var", "finite"]),
        (["graph", "x", "--var", "2x=1"], ["argument --var", "'2x' is not a variable name"]),
        (["graph", "x", "--var", "x=1", "--var", "x=2"], ["--var x is given twice"]),
        (["graph", "x", "--var", "x=1", "--out", "g.jpg"], ["unknown picture format '.jpg'"]),
        (["graph", "x", "--var", "x=1", "--steps"], ["--steps writes an HTML page"]),
        (["graph", "x", "--var", "x=1", "--steps", "--out", "g.svg"], ["is not .html"]),
        (["graph", "--var", "x=1", "-x"], ["goes after '--'"]),
        (["graph", " + ".join(["x"] * 400), "--var", "x=1", "--out", "g.html"], ["too many for a step-through page"]),
    ],
)
def test_user_errors_exit_2_with_one_clear_line(
    args: list[str],
    fragments: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    status = cli.main(args)  # in-process, to keep the suite fast; the same cases run below in a subprocess
    captured = capsys.readouterr()
    assert_usage_error(subprocess.CompletedProcess(args, status, captured.out, captured.err), *fragments)
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "--dataset", "mnist"], "unknown dataset 'mnist'"),
        (["train", "--hidden", "16,x"], "argument --hidden"),
        (["train", "--dataset", "digits", "--engine", "scalar"], "--dataset digits needs --engine tensor"),
        (["graph", "tanh(x1*w1)", "--var", "x1=1"], "undefined variable 'w1'"),
        (["graph", "x", "--var", "x=two"], "'two' is not a number"),
    ],
)
def test_user_errors_through_a_subprocess(args: list[str], fragment: str, tmp_path: Path) -> None:
    assert_usage_error(run(*args, cwd=tmp_path), fragment)


def test_a_syntax_error_shows_the_caret_under_the_column() -> None:
    result = run("graph", "tanh(x1*w1 +* b)", "--var", "x1=1", "--var", "w1=1", "--var", "b=1")
    assert_usage_error(result, "syntax error at column 13: expected a number, a variable or '(' after '+', found '*'")
    _, shown, caret = result.stderr.splitlines()
    assert shown == "  tanh(x1*w1 +* b)"
    assert caret == "  " + " " * 12 + "^"


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


def test_an_output_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert_usage_error(run("train", "--out", str(blocker), *SMALL), f"--out: {blocker} exists and is not a folder")
    assert_usage_error(run("demo", "--out", str(blocker / "sub")), f"cannot create the output folder {blocker / 'sub'}")
    graph = run("graph", "x", "--var", "x=1", "--out", str(blocker / "g.svg"))
    assert_usage_error(graph, f"--out {blocker / 'g.svg'}: {blocker} exists and is not a folder")


# ---- the command's structure --------------------------------------------------------------


def test_a_new_subcommand_is_one_table_entry(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[Any] = []

    def add_arguments(parser: Any) -> None:
        parser.add_argument("--to", choices=["svg", "png"], required=True)

    extra = cli.Subcommand(
        "sketch", "sketch a model", "Sketch a model.", add_arguments, lambda args: seen.append(args.to) or 0
    )
    parser = cli.build_parser([*cli.SUBCOMMANDS, extra])
    args = parser.parse_args(["sketch", "--to", "png"])
    assert args._run(args) == 0 and seen == ["png"]
    with pytest.raises(cli.UsageError, match="argument --to"):
        parser.parse_args(["sketch", "--to", "tflite"])


def test_interrupt_exits_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "SUBCOMMANDS", [dataclasses.replace(cli.GRAPH, run=interrupted)])
    assert cli.main(["graph", "x", "--var", "x=1"]) == 130
    assert capsys.readouterr().err.strip() == "scratchgrad: interrupted"


def test_a_real_bug_still_shows_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: Any) -> int:
        raise ZeroDivisionError("a bug inside scratchgrad")

    monkeypatch.setattr(cli, "SUBCOMMANDS", [dataclasses.replace(cli.GRAPH, run=broken)])
    with pytest.raises(ZeroDivisionError, match="a bug inside scratchgrad"):
        cli.main(["graph", "x", "--var", "x=1"])


def test_main_runs_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["graph", "relu(x) * sigmoid(0)", "--var", "x=4", "--out", str(tmp_path / "g.dot")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("relu(x) * sigmoid(0) = 2.0\n")
    assert re.search(r"^  x = 4.0 +grad 0.5$", out, re.M)


def test_playground_command_help_and_bad_port() -> None:
    shown = run("playground", "--help")
    assert shown.returncode == 0 and "--port" in shown.stdout and "127.0.0.1" in shown.stdout
    bad = run("playground", "--port", "99999")
    assert bad.returncode == 2
    assert "invalid port 99999" in bad.stderr and "Traceback" not in bad.stderr


def test_playground_command_reports_a_taken_port(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["playground", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("scratchgrad: error:") and str(port) in err
