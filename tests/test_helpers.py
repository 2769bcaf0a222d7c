"""The one RNG helper, the one progress bar, the one number formatter and the safe file writer."""

from __future__ import annotations

import io
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchgrad import _io
from scratchgrad._format import format_exact, format_number, format_percent, format_short, format_size
from scratchgrad._progress import advance, progress_bar, stderr_is_terminal
from scratchgrad._random import as_random, permutation, source, uniform_draws

# ---- _random ---------------------------------------------------------------------------------------------


def test_as_random_accepts_the_seeds_people_pass() -> None:
    assert as_random(None) is random
    rng = random.Random(3)
    assert as_random(rng) is rng
    assert as_random(5).random() == random.Random(5).random()
    assert as_random(np.int64(5)).random() == random.Random(5).random()
    generator = np.random.default_rng(0)
    first, second = as_random(generator), as_random(generator)
    assert isinstance(first, random.Random) and first.random() != second.random()  # continues the Generator
    for bad in (True, "1", 1.5):
        with pytest.raises(TypeError, match="seed must be an int, a random.Random or None"):
            as_random(bad)
    with pytest.raises(ValueError, match="either seed= or rng="):
        source(1, random.Random(1))


def test_uniform_draws_are_bit_identical_to_random_uniform() -> None:
    a, b = random.Random(9), random.Random(9)
    assert uniform_draws(a, 50, -0.3, 0.7) == [b.uniform(-0.3, 0.7) for _ in range(50)]

    class OnlyUniform:
        def uniform(self, low: float, high: float) -> float:
            return (low + high) / 2

    assert uniform_draws(OnlyUniform(), 2, -1.0, 3.0) == [1.0, 1.0]
    order = permutation(random.Random(1), 10)
    assert sorted(order) == list(range(10)) and order != list(range(10))


# ---- _format ----------------------------------------------------------------------------------------------


def test_number_formats() -> None:
    assert format_number(0.70710678) == "0.7071" and format_number(-2.5e7) == "-2.5000e+07"
    assert format_number(float("nan")) == "nan"
    assert [format_exact(x) for x in (2.0, 0.1, 1e-5, -3.0, 1e20, float("inf"))] == ["2", "0.1", "1e-05", "-3", "1e+20", "inf"]
    assert float(format_exact(1 / 3)) == 1 / 3
    assert format_short(0.020634511) == "0.02063" and format_short(5e21) == "5e+21"
    assert format_percent(0.98612) == "98.6%" and format_percent(1.0, 0) == "100%"
    assert [format_size(n) for n in (512, 12_600, 5 * 1024**2, 3 * 1024**3)] == ["512 B", "12.3 KB", "5.0 MB", "3.0 GB"]


# ---- _progress ------------------------------------------------------------------------------------------


def test_a_bar_only_on_a_terminal_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12: progress bars were drawn into logs (35 redraws in make demo's output)."""
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    assert not stderr_is_terminal()
    assert progress_bar(10, "training") is None
    advance(None, {"loss": "1"})  # nothing to do
    bar = progress_bar(2, "training", enabled=True)
    advance(bar, {"loss": "0.5"})
    advance(bar)
    bar.close()
    assert "2/2" in log.getvalue() and "loss=0.5" in log.getvalue()
    monkeypatch.setattr(log, "isatty", lambda: True, raising=False)
    assert stderr_is_terminal() and progress_bar(1, "x") is not None
    assert progress_bar(1, "x", enabled=False) is None


# ---- _io ---------------------------------------------------------------------------------------------------


def test_a_write_replaces_the_file_whole_and_never_shows_a_temporary_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model.json"
    target.write_text("old")
    seen: list[list[str]] = []
    real = _io._write_synced

    def watching(handle, data: bytes) -> None:
        seen.append(sorted(os.listdir(tmp_path)))  # while the data is written
        real(handle, data)

    monkeypatch.setattr(_io, "_write_synced", watching)
    _io.atomic_write_text(target, "new")
    assert target.read_text() == "new" and sorted(os.listdir(tmp_path)) == ["model.json"]
    assert seen == [["model.json"]]  # an unnamed file: nothing to leave behind if killed now
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_the_named_fallback_cleans_up_after_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_io, "_write_unnamed", lambda target, data: False)
    target = tmp_path / "a.txt"
    _io.atomic_write_text(target, "one")
    assert target.read_text() == "one" and os.listdir(tmp_path) == ["a.txt"]
    monkeypatch.setattr(_io.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("rename failed")))
    with pytest.raises(OSError, match="rename failed"):
        _io.atomic_write_text(target, "two")
    assert target.read_text() == "one" and os.listdir(tmp_path) == ["a.txt"]


def test_stale_temporaries_of_ended_processes_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "m.npz"
    dead = 2**22 + 12345  # above Linux's pid_max on most systems: no such process
    while True:
        try:
            os.kill(dead, 0)
            dead += 1
        except ProcessLookupError:
            break
        except PermissionError:
            dead += 1
    names = [f".m.npz.{dead}.x1y2.tmp", f".m.npz.{os.getpid()}.abcd.tmp", f".other.npz.{dead}.x1y2.tmp", ".m.npz.tmp", "m.npz.1.a.tmp"]
    for name in names:
        (tmp_path / name).write_text("left behind")
    removed = _io.remove_stale_temporaries(target)
    assert [p.name for p in removed] == [f".m.npz.{dead}.x1y2.tmp"]
    assert sorted(os.listdir(tmp_path)) == sorted(names[1:])


def test_refuses_folders_devices_and_missing_folders(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="folder .* does not exist"):
        _io.atomic_write_text(tmp_path / "no" / "a.txt", "x")
    with pytest.raises(IsADirectoryError, match="it is a directory"):
        _io.atomic_write_text(tmp_path, "x")
    with pytest.raises(FileExistsError, match="not a regular file"):
        _io.atomic_write_bytes("/dev/null", b"x")
