"""``scratchgrad export``: saved models to PyTorch and ONNX, and the files it refuses to touch."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cli_support import assert_usage_error, run, run_code

from scratchgrad import cli


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    from scratchgrad.nn import MLP

    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    return path


def test_export_to_torch(model_file: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    result = run("export", str(model_file), "--to", "torch", "--out", str(tmp_path / "m.pt"))
    assert result.returncode == 0, result.stderr
    assert f"wrote {tmp_path / 'm.pt'}" in result.stdout and (tmp_path / "m.pt").stat().st_size > 0
    assert f"{model_file}: a 2-3-1 scalar model, activations tanh, tanh" in result.stdout  # from nn.describe


def test_out_naming_a_folder_is_refused(model_file: Path, tmp_path: Path) -> None:
    result = run("export", str(model_file), "--to", "onnx", "--out", str(tmp_path))
    assert_usage_error(result, f"--out {tmp_path} is a folder")


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_export_never_replaces_a_device_node(device: str, model_file: Path) -> None:
    """As root, writing through a rename used to swap /dev/null for a regular file."""
    before = os.stat(device)
    result = run("export", str(model_file), "--to", "onnx", "--out", device)
    assert_usage_error(result, f"--out {device} exists and is not a regular file")
    after = os.stat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_export_never_creates_missing_folders(model_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "m.onnx"
    assert_usage_error(run("export", str(model_file), "--to", "onnx", "--out", str(target)), "does not exist")
    assert not target.parent.exists()


def test_a_model_file_that_cannot_be_read(
    model_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from scratchgrad import export

    def denied(path: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(export, "load_model", denied)  # root reads any file: simulate the denial
    assert cli.main(["export", str(model_file), "--to", "onnx"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"scratchgrad: error: MODEL {model_file}: cannot read it: Permission denied"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files without read permission")
def test_a_model_file_without_read_permission(model_file: Path) -> None:
    model_file.chmod(0)
    try:
        assert_usage_error(run("export", str(model_file), "--to", "onnx"), "cannot read it: Permission denied")
    finally:
        model_file.chmod(0o644)


def test_a_folder_as_the_model(tmp_path: Path) -> None:
    folder = tmp_path / "model.json"
    folder.mkdir()
    assert_usage_error(run("export", str(folder), "--to", "onnx", "--out", str(tmp_path / "m.onnx")), "not a model file")


def test_a_missing_extra_names_a_command_that_works_from_a_clone(model_file: Path, tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from scratchgrad.cli import main\n"
        f"raise SystemExit(main(['export', {str(model_file)!r}, '--to', 'torch', '--out', {str(tmp_path / 'm.pt')!r}]))\n"
    )
    result = run_code(code)
    assert result.returncode == 1, result.stderr
    line = result.stderr.strip()
    assert line.startswith("scratchgrad: error: export to PyTorch needs the optional package 'torch'"), line
    assert "make install-torch" in line and "pip install -e '" in line and "[torch]'`" in line
    assert "pip install 'scratchgrad[torch]'" not in line  # scratchgrad is not on PyPI
    root = Path(__file__).resolve().parent.parent
    assert str(root) in line or "'.[torch]'" in line
