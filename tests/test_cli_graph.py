"""``scratchgrad graph``: expressions, their gradients and their pictures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import assert_png, assert_svg, assert_usage_error, backward_order, run, step_labels

from scratchgrad import cli

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
    target = tmp_path / f"neuron{suffix}"
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
        assert len(expected) == 5 and step_labels(page) == expected
        assert page.count("<svg") == 1  # one drawing, played by the page's script


def test_graph_steps_page_and_shared_variables(tmp_path: Path) -> None:
    target = tmp_path / "steps.html"
    result = run("graph", "x*x + 3*x", "--var", "x=2", "--steps", "--out", str(target))
    assert result.returncode == 0, result.stderr
    assert "x*x + 3*x = 10.0" in result.stdout
    assert re.search(r"^  x = 2.0 +grad 7.0$", result.stdout, re.M)  # one x, both uses: 2x + 3
    page = target.read_text(encoding="utf-8")
    assert step_labels(page) == backward_order("x*x + 3*x", x=2.0)
    assert sorted(step_labels(page)) == ["3*x", "x*x", "x*x + 3*x"]  # leaves pass nothing on: no step


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


def test_a_syntax_error_shows_the_caret_under_the_column() -> None:
    result = run("graph", "tanh(x1*w1 +* b)", "--var", "x1=1", "--var", "w1=1", "--var", "b=1")
    assert_usage_error(result, "syntax error at column 13: expected a number, a variable or '(' after '+', found '*'")
    _, shown, caret = result.stderr.splitlines()
    assert shown == "  tanh(x1*w1 +* b)"
    assert caret == "  " + " " * 12 + "^"


def test_main_runs_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["graph", "relu(x) * sigmoid(0)", "--var", "x=4", "--out", str(tmp_path / "g.dot")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("relu(x) * sigmoid(0) = 2.0\n")
    assert re.search(r"^  x = 4.0 +grad 0.5$", out, re.M)


# ---- hostile input (issue 12) ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["²", "①", "₁", "x₁ + 1"])
def test_unicode_digits_exit_2_with_one_line(text: str) -> None:
    assert_usage_error(run("graph", text, "--var", "x=1"), "unexpected character")


def test_escape_sequences_from_the_input_never_reach_the_terminal(tmp_path: Path) -> None:
    for args, status in (
        (["graph", "\x1b[2J\x1b[31mx"], 2),
        (["graph", "x", "--var", "x\x1b[31m=1"], 2),
        (["graph", "x", "-o", "\x1b[2J.dot"], 0),  # a strange but valid file name: written, shown escaped
        (["graph", "x", "-o", "\x1b[2J.jpg"], 2),
    ):
        result = run(*args, "--var", "x=1", cwd=tmp_path)
        assert result.returncode == status, result.stderr
        assert "\x1b" not in result.stderr and "\x1b" not in result.stdout, repr(result.stderr)
        assert "Traceback" not in result.stderr


def test_a_product_of_40000_factors_is_drawn_compact_and_says_so(tmp_path: Path) -> None:
    """It used to run two minutes, then fail in dot: the chain is now one box of the compact view."""
    target = tmp_path / "big.svg"
    result = run("graph", "*".join(["x"] * 40_000), "--var", "x=1.00001", "--out", str(target), timeout=90)
    assert result.returncode == 0, result.stderr
    assert "compact view" in result.stderr and len(result.stderr.splitlines()) == 1
    assert "39998 × *" in assert_svg(target)
    assert len(result.stdout.splitlines()[0]) < 130  # the expression is shortened in the output


def test_huge_names_are_shortened_in_messages() -> None:
    name = "a" * 130_000
    result = run("graph", f"{name} + 1", "--var", f"{'b' * 130_000}=1")
    assert_usage_error(result, "undefined variable")
    assert len(result.stderr) < 400


def test_graph_with_no_expression_says_how_to_give_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["graph"]) == 2
    err = capsys.readouterr().err
    assert 'give the expression to draw, e.g. scratchgrad graph "x**2 + 3*x"' in err
    assert "goes after '--'" not in err  # the hint for expressions starting with '-' is for those only
    assert len(err.strip().splitlines()) == 1


def test_out_naming_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pics.svg").mkdir()
    for target in (tmp_path, tmp_path / "pics.svg"):
        result = run("graph", "x", "--var", "x=1", "--out", str(target))
        assert_usage_error(result)
        assert "is a folder" in result.stderr or "unknown picture format" in result.stderr


def test_graph_never_creates_missing_folders(tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "dir" / "a.svg"
    result = run("graph", "x", "--var", "x=1", "-o", str(target))
    assert_usage_error(result, f"the folder {target.parent} does not exist")
    assert not (tmp_path / "nonexistent").exists()
    if Path("/nonexistent").exists():
        pytest.skip("/nonexistent exists on this machine")
    assert_usage_error(run("graph", "x", "--var", "x=1", "-o", "/nonexistent/dir/a.svg"), "does not exist")
    assert not Path("/nonexistent").exists()


def test_graph_refuses_to_replace_a_device(tmp_path: Path) -> None:
    result = run("graph", "x", "--var", "x=1", "--out", "/dev/null", cwd=tmp_path)
    assert_usage_error(result)  # no suffix: refused before anything is written
    link = tmp_path / "null.svg"
    link.symlink_to("/dev/null")
    assert_usage_error(run("graph", "x", "--var", "x=1", "--out", str(link)), "not a regular file")
    assert Path("/dev/null").is_char_device() and link.is_symlink()
