"""The `scratchgrad` command as a whole: help, one-line errors, the subcommand table, extras.

Each subcommand has its own test module: test_cli_demo, test_cli_train, test_cli_graph,
test_cli_export (helpers in cli_support).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_support import ROOT, assert_usage_error, run, run_code

from scratchgrad import cli


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
    from scratchgrad.data import DATASETS

    for name in [*DATASETS, "csv"]:
        if name == "names":  # trains a GPT: its options are its own
            assert re.search(r"^  names\s+a GPT, not an MLP", text, re.M)
            continue
        assert re.search(rf"^  {name}\s+--hidden", text, re.M), name
    from scratchgrad.train import PRESETS

    assert cli.PRESETS is PRESETS  # the old name of the table, which is the library's now


def test_no_subcommand_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().err


def test_version() -> None:
    from scratchgrad import __version__

    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"scratchgrad {__version__}"


# ---- user errors: one line, exit status 2 -------------------------------------------------


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["frobnicate"], ["invalid choice: 'frobnicate'"]),
        (
            ["train", "--dataset", "mnist"],
            ["unknown dataset 'mnist'", "moons, circles, spirals, xor, gauss, plane, gaussian_mix, tutorial, digits, names or csv:PATH"],
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
        (["train", "--dataset", "digits", "--engine", "scalar"], ["the scalar engine cannot take this run", "415 million weight uses", "minutes", "use --engine tensor"]),
        (["train", "--loss", "ce"], ["--loss ce is for several classes"]),
        (["train", "--dataset", "digits", "--loss", "hinge"], ["--loss hinge is for two classes", "use --loss ce"]),
        (["train", "--optimizer", "adam", "--momentum", "0.9"], ["--momentum applies to --optimizer sgd or momentum only"]),
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
        (["graph", "x", "--var", "x=two"], ["argument --var", "x=two: expected a number, got 'two'"]),
        (["graph", "x", "--var", "x=inf"], ["argument --var", "finite"]),
        (["graph", "x", "--var", "2x=1"], ["argument --var", "'2x' is not a variable name"]),
        (["graph", "x", "--var", "x=1", "--var", "x=2"], ["--var x is given twice"]),
        (["graph", "x", "--var", "x=1", "--out", "g.jpg"], ["unknown picture format '.jpg'"]),
        (["graph", "x", "--var", "x=1", "--steps"], ["--steps writes an HTML page"]),
        (["graph", "x", "--var", "x=1", "--steps", "--out", "g.svg"], ["is not .html"]),
        (["graph", "--var", "x=1", "-x"], ["goes after '--'"]),
        (["graph", " + ".join(["x"] * 1100), "--var", "x=1", "--out", "g.html"], ["too many for a step-through page"]),
        (["grap", "x"], ["invalid choice: 'grap'", "did you mean 'graph'?"]),
        (["trian"], ["did you mean 'train'?"]),
        (["train", "--epcohs", "3"], ["unrecognized arguments: --epcohs", "did you mean '--epochs'?"]),
        (["train", "--activation", "tahn"], ["invalid choice: 'tahn'", "did you mean 'tanh'?"]),
        (["graph"], ["give the expression to draw"]),
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
        (["train", "--dataset", "digits", "--engine", "scalar"], "the scalar engine cannot take this run"),
        (["graph", "tanh(x1*w1)", "--var", "x1=1"], "undefined variable 'w1'"),
        (["graph", "x", "--var", "x=two"], "expected a number, got 'two'"),
    ],
)
def test_user_errors_through_a_subprocess(args: list[str], fragment: str, tmp_path: Path) -> None:
    assert_usage_error(run(*args, cwd=tmp_path), fragment)


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
    text = " ".join(shown.stdout.split())
    for offered in ("your own CSV file", "features", "an activation each", "L1 or L2", "backward pass", "copied link",
                    ".json, .npz or .onnx", "make playground"):  # fmt: skip
        assert offered in text, offered  # what the page offers since its rebuild
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


def test_playground_without_its_extra_names_a_command_that_works_from_a_clone() -> None:
    code = (
        "import sys; sys.modules['starlette'] = None; sys.modules['uvicorn'] = None\n"
        "from scratchgrad.cli import main\n"
        "raise SystemExit(main(['playground', '--port', '8999']))\n"
    )
    result = run_code(code)
    assert result.returncode == 1, result.stderr
    line = result.stderr.strip()
    assert line.startswith("scratchgrad: error: the playground needs Starlette and uvicorn"), line
    assert "make install-playground" in line and "pip install -e '" in line and line.endswith("[playground]'`")
    assert "Traceback" not in result.stderr


USER_FACING = [
    *sorted((ROOT / "scratchgrad" / "cli").glob("*.py")),
    ROOT / "scratchgrad" / "tutorial.py",
    ROOT / "scratchgrad" / "expr.py",
    ROOT / "scratchgrad" / "viz.py",
    ROOT / "scratchgrad" / "step_through.py",
    ROOT / "scratchgrad" / "plots.py",
]


@pytest.mark.parametrize("path", USER_FACING, ids=lambda p: p.name)
def test_user_facing_text_says_the_tutorial_never_the_seed(path: Path) -> None:
    """Help, pages, plots and docstrings call it the tutorial; "seed" is only the random seed."""
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"the seed\b|seed's|seed tutorial|seed_", text, re.I), path


def test_help_says_the_tutorial(capsys: pytest.CaptureFixture[str]) -> None:
    for command in cli.SUBCOMMANDS:
        assert cli.main([command.name, "--help"]) == 0
    text = capsys.readouterr().out
    assert "Neural Network from Scratch" in text and "the tutorial" in text
    assert not re.search(r"the seed\b|seed's", text, re.I)


def test_no_file_of_the_cli_package_is_over_400_lines() -> None:
    for path in (ROOT / "scratchgrad" / "cli").glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path


def _library_imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) for every import of scratchgrad in ``path``: name None for ``import module``."""
    import ast

    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names if alias.name.split(".")[0] == "scratchgrad"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "scratchgrad":
            found += [(node.module or "", alias.name) for alias in node.names]
    return found


def _private(module: str, name: str | None) -> bool:
    parts = module.split(".") + ([name] if name else [])
    return any(part.startswith("_") and not part.startswith("__") for part in parts)


@pytest.mark.parametrize("path", sorted((ROOT / "scratchgrad" / "cli").glob("*.py")), ids=lambda p: p.name)
def test_the_cli_imports_no_private_name_of_the_library(path: Path) -> None:
    """No ``scratchgrad._x`` / ``scratchgrad.x._y`` module and no ``from scratchgrad... import _name``,
    read from the syntax tree (so an import inside a function or over several lines counts too)."""
    imports = _library_imports(path)
    assert not [(module, name) for module, name in imports if _private(module, name)], path


def test_the_private_import_check_sees_private_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import scratchgrad._progress\n"
        "def f():\n    from scratchgrad.train import (\n        fit,\n        _Engine,\n    )\n"
        "from scratchgrad.data.splits import minibatches\nfrom scratchgrad import __version__\n"
    )
    flagged = [item for item in _library_imports(sample) if _private(*item)]
    assert flagged == [("scratchgrad._progress", None), ("scratchgrad.train", "_Engine")]


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    """``scratchgrad train ... | head -1``: no BrokenPipeError traceback, the shell's status 141."""
    import os
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "scratchgrad", "train", "--dataset", "tutorial", "--engine", "tensor", "--no-progress",
         "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "100"},
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b"training a 3-4-4-1 tanh MLP")  # printed before training
    process.stdout.close()  # as head does after its line; the scores come later
    status = process.wait(timeout=120)
    assert status == 141 and process.stderr.read() == b""
