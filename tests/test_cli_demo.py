"""``scratchgrad demo``: the tutorial end to end, its numbers and its pictures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_support import assert_png, assert_svg, run, run_code, run_on_a_terminal, step_labels

DEMO_FILES = [
    "tutorial_L.svg",
    "tutorial_L.png",
    "tutorial_L_grads.svg",
    "tutorial_L_grads.png",
    "tutorial_neuron.svg",
    "tutorial_neuron.png",
    "tutorial_neuron_steps.html",
    "tutorial_neuron_backward.svg",
    "tutorial_neuron_backward.png",
    "activations.png",
    "tutorial_mlp_loss.png",
    "tutorial_mlp.json",
]


def test_demo_prints_the_tutorials_numbers_and_writes_its_pictures(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "out"
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    stdout = result.stdout
    assert "L = -8.0" in stdout
    assert "L 1.0  d -2.0  f 4.0  e -2.0  c -2.0  a 6.0  b -4.0" in stdout
    assert "L.backward() gives the same gradients" in stdout
    assert "\n0.0\n---\nx2 1.0\nw2 0.0\nx1 -3.0\nw1 2.0\n" in stdout  # the tutorial's PyTorch cell's output
    assert re.search(r"PyTorch \S+ \(float64\) agrees: o 0.0, x2 1.0, w2 0.0, x1 -3.0, w1 2.0", stdout)
    assert result.stderr == ""  # stderr is no terminal here: no progress bar (issue 12)

    for name in DEMO_FILES:
        assert (out / name).is_file(), name
        assert stdout.count(str(out / name) + " ") == 1  # listed once at the end
    for name in DEMO_FILES:
        if name.endswith(".png"):
            assert_png(out / name)
    L_before = assert_svg(out / "tutorial_L.svg")
    L_after = assert_svg(out / "tutorial_L_grads.svg")
    assert "data &#45;8.0000" in L_before or "data -8.0000" in L_before
    assert "grad 6.0000" in L_after and "grad 6.0000" not in L_before  # a.grad, filled in by hand
    neuron = assert_svg(out / "tutorial_neuron.svg")
    neuron_after = assert_svg(out / "tutorial_neuron_backward.svg")
    for label in ["x1", "x2", "w1", "w2", "x1*w1", "x2*w2", "x1*w1 + x2*w2", "tanh"]:
        assert f">{label}<" in neuron, label
    assert "grad &#45;3.0000" in neuron_after and "grad &#45;3.0000" not in neuron
    page = (out / "tutorial_neuron_steps.html").read_text(encoding="utf-8")
    assert step_labels(page) == ["o", "n", "x1*w1 + x2*w2", "x2*w2", "x1*w1"]  # backward()'s order
    assert "http://" not in page.replace("http://www.w3.org", "")  # self-contained

    from scratchgrad import tutorial
    from scratchgrad.nn import MLP

    model = MLP.load(out / "tutorial_mlp.json")
    assert model.architecture() == {"nin": 3, "nouts": [4, 4, 1], "activation": "tanh", "output_activation": "tanh"}
    match = re.search(r"prediction for \[4\.0, 5\.0, -3\.0\]: (\S+)", stdout)
    assert match is not None
    assert model(tutorial.QUERY).data == float(match.group(1))  # the saved model is the trained one
    losses = [float(v) for v in re.findall(r"step +\d+ +loss ([\d.]+)", stdout)]
    assert len(losses) == 6 and losses[-1] < 0.05 < losses[0]
    assert losses == [round(v, 6) for v in (lambda r: [r[k] for k in (0, 10, 20, 30, 40, 49)])(tutorial.train_mlp().losses)]


def test_demo_draws_a_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    status, _, terminal = run_on_a_terminal("demo", "--out", str(tmp_path / "out"))
    assert status == 0, terminal
    assert "50/50" in terminal and "training" in terminal
    status, _, quiet = run_on_a_terminal("demo", "--out", str(tmp_path / "out"), "--no-progress")
    assert status == 0 and "50/50" not in quiet


def test_demo_without_torch_or_graphviz_still_runs_and_says_what_it_skipped(tmp_path: Path) -> None:
    empty = tmp_path / "bin"  # a PATH without Graphviz's dot
    empty.mkdir()
    out = tmp_path / "out"
    code = (
        "import sys; sys.modules['torch'] = None\n"  # makes `import torch` fail, as when it is not installed
        "from scratchgrad.cli import main\n"
        f"raise SystemExit(main(['demo', '--out', {str(out)!r}, '--no-progress', '--seed', '3']))\n"
    )
    result = run_code(code, env={"PATH": str(empty)})
    assert result.returncode == 0, result.stderr
    assert "PyTorch check skipped: torch is not installed" in result.stdout
    assert "make install-torch" in result.stdout and "[torch]'" in result.stdout  # commands that work from a clone
    assert "agrees" not in result.stdout
    assert "L = -8.0" in result.stdout and "\nx1 -3.0\n" in result.stdout
    # Pictures: the Graphviz sources instead, and how to install Graphviz.
    assert "Graphviz" in result.stderr and "apt-get install graphviz" in result.stderr
    assert "Traceback" not in result.stderr and "%|" not in result.stderr  # no progress bar either
    for name in ["tutorial_L", "tutorial_L_grads", "tutorial_neuron", "tutorial_neuron_backward", "tutorial_neuron_steps"]:
        assert (out / f"{name}.dot").read_text().startswith("digraph"), name
        assert result.stdout.count(f"{out / name}.dot ") == 1, name  # listed once, not once per format
    for name in ["activations.png", "tutorial_mlp_loss.png", "tutorial_mlp.json"]:  # the rest of the demo still ran
        assert (out / name).is_file(), name
    assert "5 pictures could not be drawn" in result.stderr


def test_the_tutorial_module_holds_the_demos_content() -> None:
    """The CLI, the notebook and these tests share one copy of the tutorial's cells."""
    from scratchgrad import tutorial

    nodes = tutorial.expression()
    assert nodes["L"].data == -8.0
    assert tutorial.manual_gradients(nodes) == {"L": 1.0, "d": -2.0, "f": 4.0, "e": -2.0, "c": -2.0, "a": 6.0, "b": -4.0}
    neuron = tutorial.neuron(bias=6.8813735870195432)
    neuron["o"].backward()
    assert round(neuron["o"].data, 4) == 0.7071 and round(neuron["x1"].grad, 4) == -1.5
    xs, ys = tutorial.samples()
    assert len(xs) == 4 and ys == [1.0, -1.0, -1.0, 1.0]
    first, second = tutorial.train_mlp(seed=0), tutorial.train_mlp(seed=0)
    assert first.losses == second.losses and first.losses[-1] < first.losses[0]
    check = tutorial.torch_check({"o": 0.0, "x2": 1.0, "w2": 0.0, "x1": -3.0, "w1": 2.0})
    if check is not None:
        assert check.agrees


def test_a_folder_in_the_way_of_an_output_file_is_refused_first(tmp_path: Path) -> None:
    from cli_support import assert_usage_error

    (tmp_path / "tutorial_mlp.json").mkdir()
    result = run("demo", "--out", str(tmp_path))
    assert_usage_error(result, "tutorial_mlp.json is a folder")
    assert result.stdout == "" and not (tmp_path / "tutorial_L.svg").exists()
