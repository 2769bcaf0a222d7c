"""Missing optional packages are named with a command that works from a clone."""

from __future__ import annotations

import pytest

from scratchgrad import extras as _extras


def test_install_hint_in_a_clone_names_the_make_target_and_the_editable_install() -> None:
    hint = _extras.install_hint("torch")
    assert "make install-torch" in hint and "install -e" in hint and "[torch]" in hint
    assert "scratchgrad[" not in hint  # scratchgrad is not on PyPI: that spelling fails from a clone


def test_outside_a_clone_the_hint_names_the_exact_packages(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    assert _extras._requirements("torch") == ["torch==2.13.0"]  # read from the metadata, not typed in
    monkeypatch.setattr(_extras, "__file__", str(tmp_path / "scratchgrad" / "extras.py"))
    assert _extras.install_hint("torch").endswith("-m pip install 'torch==2.13.0'`")


def test_every_extra_of_the_project_has_a_purpose_and_a_make_target() -> None:
    from pathlib import Path

    import tomllib

    root = Path(__file__).resolve().parent.parent
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras) == set(_extras.EXTRAS)
    makefile = (root / "Makefile").read_text()
    assert all(name in makefile.split("EXTRAS :=")[1].splitlines()[0].split() for name in extras)


def test_require_raises_one_line_naming_the_purpose_and_the_fix() -> None:
    with pytest.raises(_extras.MissingExtraError) as caught:
        _extras.require("scratchgrad_no_such_module", "onnx")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("export to ONNX needs the optional package 'scratchgrad_no_such_module'")
    assert "make install-onnx" in message
