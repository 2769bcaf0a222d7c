"""Model files under attack (issue 12): every crafted file is refused with a ModelFileError
before anything large is allocated; saves are atomic and leave nothing behind when killed;
version-1 files of both engines still load."""

from __future__ import annotations

import builtins
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from scratchgrad.nn import MLP, Module, ModelFileError
from scratchgrad.nn.files import MAX_PARAMETERS
from scratchgrad.tensor_nn import MLP as TensorMLP
from scratchgrad.tensor_nn import Sequential, mlp

REPO = Path(__file__).resolve().parent.parent
V1_TENSOR = {"format": "scratchgrad.tensor_nn", "version": 1, "dtype": "float64"}


def _npz(path: Path, header: dict, arrays: dict[str, np.ndarray]) -> Path:
    buffer = io.BytesIO()
    np.savez(buffer, __scratchgrad__=np.array(json.dumps(header)), **arrays)
    path.write_bytes(buffer.getvalue())
    return path


def _peak_bytes(action) -> int:
    tracemalloc.start()
    try:
        action()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _refused(path: Path, message: str) -> int:
    """Load ``path`` expecting a ModelFileError matching ``message``; the peak memory it took."""

    def load() -> None:
        with pytest.raises(ModelFileError, match=message):
            Module.load(path)

    return _peak_bytes(load)


# ---- sizes are checked before anything is allocated ----------------------------------------------------


@pytest.mark.parametrize("size", [12_000, 1_000_000])
def test_a_header_declaring_a_huge_layer_is_refused_before_allocating(tmp_path: Path, size: int) -> None:
    """Issue 12: Linear(12000, 12000) allocated 2.2 GB before it was refused (10^6: MemoryError)."""
    architecture = {"type": "Linear", "in_features": size, "out_features": size, "bias": True}
    path = _npz(tmp_path / "huge.npz", {**V1_TENSOR, "architecture": architecture}, {"weight": np.zeros((3, 2)), "bias": np.zeros(3)})
    peak = _refused(path, rf"has shape \(3, 2\), but the parameter has shape \({size}, {size}\)")
    assert peak < 5_000_000


def test_a_zip_bomb_is_refused_from_its_headers_without_decompressing(tmp_path: Path) -> None:
    """Issue 12: a 1.5 MB deflated .npz that decompresses to 1.76 GB was decompressed first."""
    shape = (11_000, 20_000)  # 220 million float64: 1.76 GB
    header = {**V1_TENSOR, "architecture": {"type": "Linear", "in_features": shape[1], "out_features": shape[0], "bias": False}}
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        text = io.BytesIO()
        np.save(text, np.array(json.dumps(header)))
        archive.writestr("__scratchgrad__.npy", text.getvalue())
        with archive.open("weight.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_2_0(member, {"descr": "<f8", "fortran_order": False, "shape": shape})
            zeros = bytes(64 * 1024 * 1024)
            for _ in range(shape[0] * shape[1] * 8 // len(zeros)):
                member.write(zeros)
            member.write(bytes(shape[0] * shape[1] * 8 % len(zeros)))
    assert path.stat().st_size < 2_000_000  # 1.7 MB
    peak = _refused(path, f"more than {MAX_PARAMETERS:,} numbers")
    assert peak < 5_000_000


def test_an_array_whose_zip_entry_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    model = mlp(2, [3], 1, seed=0)
    good = tmp_path / "good.npz"
    model.save(good)
    crafted = tmp_path / "crafted.npz"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(crafted, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info.filename, data + (bytes(1000) if info.filename == "0.weight.npy" else b""))
    _refused(crafted, r"member 0.weight declares 1,\d+ bytes but a \(3, 2\) array of float64 needs")


def test_deeply_nested_json_is_a_model_file_error_not_a_recursion_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"format": ' + "[" * 200_000 + "]" * 200_000 + "}")
    _refused(path, "nested too deeply")
    npz = tmp_path / "deep.npz"
    with zipfile.ZipFile(npz, "w") as archive:
        text = io.BytesIO()
        np.save(text, np.array("[" * 100_000 + "]" * 100_000))
        archive.writestr("__scratchgrad__.npy", text.getvalue())
    _refused(npz, "nested too deeply")


def test_a_scalar_file_cannot_ask_for_more_values_than_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    MLP(2, [1], seed=0).save(path)
    document = json.loads(path.read_text())
    document["architecture"]["nouts"] = [100_000, 100_000]
    path.write_text(json.dumps(document))
    _refused(path, "has 10,000,400,000 parameters; the scalar engine loads at most")


# ---- dtypes -----------------------------------------------------------------------------------------


def test_mixed_float32_and_float64_layers_are_refused_at_save(tmp_path: Path) -> None:
    """Issue 12: such a model saved fine but could not be loaded ("unsupported dtype 'mixed'")."""
    model = mlp(2, [3], 1, seed=0)
    model[0].weight.data = model[0].weight.data.astype(np.float32)
    path = tmp_path / "mixed.npz"
    with pytest.raises(ValueError, match=r"mix dtypes \(float32 \(0.weight\), float64 \(0.bias\)\).*astype"):
        model.save(path)
    assert not path.exists()
    for p in model.parameters():
        p.data = p.data.astype(np.float32)
    model.save(path)
    assert all(p.data.dtype == np.float32 for p in Sequential.load(path).parameters())


def test_an_old_mixed_file_loads_as_float64(tmp_path: Path) -> None:
    model = mlp(2, [3], 1, seed=0)
    arrays = model.state_dict()
    arrays["0.weight"] = arrays["0.weight"].astype(np.float32)
    path = _npz(tmp_path / "old.npz", {**V1_TENSOR, "dtype": "mixed", "architecture": model.architecture()}, arrays)
    loaded = Sequential.load(path)
    assert loaded[0].weight.data.dtype == np.float64
    assert np.array_equal(loaded[0].weight.data, arrays["0.weight"].astype(np.float64))


# ---- files that cannot be read -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["m.json", "m.npz"])
def test_a_model_file_without_read_permission_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Issue 12: a PermissionError traceback. (As root a chmod cannot take the permission away,
    so the refusal is simulated where the file is opened.)"""
    path = tmp_path / name
    (MLP(2, [1], seed=0) if name.endswith(".json") else TensorMLP(2, [1], seed=0)).save(path)
    if os.geteuid() != 0:
        path.chmod(0)
    else:
        real_open = builtins.open

        def refusing_open(file, *args, **kwargs):
            if os.fspath(file) == os.fspath(path):
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", refusing_open)
    with pytest.raises(ModelFileError, match="cannot read the file: permission denied") as info:
        Module.load(path)
    assert name in str(info.value)


def test_a_device_is_not_a_model_file_and_is_never_overwritten(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not a regular file"):
        Module.load("/dev/zero")  # an endless stream: refused before reading
    with pytest.raises(FileExistsError, match="/dev/null: it exists and is not a regular file"):
        MLP(2, [1], seed=0).save("/dev/null")
    with pytest.raises(IsADirectoryError, match="it is a directory"):
        MLP(2, [1], seed=0).save(tmp_path)
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


# ---- a killed save leaves nothing behind ----------------------------------------------------------------

KILLED_SAVE = """
import os, signal, sys
sys.path.insert(0, {repo!r})
{prepare}
from scratchgrad.nn import MLP
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # killed after writing, before the rename
MLP(2, [3, 1], seed=0).save({target!r})
"""


def _killed_save(target: Path, prepare: str = "") -> None:
    script = KILLED_SAVE.format(repo=str(REPO), prepare=prepare, target=str(target))
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True)
    assert run.returncode == -signal.SIGKILL, run.stderr


def test_a_save_killed_midway_leaves_no_temporary_file(tmp_path: Path) -> None:
    """Issue 12: a killed save left a hidden .tmp behind. The data is written into a file
    with no name yet (O_TMPFILE), which vanishes with the process."""
    target = tmp_path / "m.json"
    MLP(2, [3, 1], seed=1).save(target)
    before = target.read_bytes()
    _killed_save(target)
    assert sorted(os.listdir(tmp_path)) == ["m.json"]
    assert target.read_bytes() == before


def test_where_an_unnamed_file_is_impossible_the_next_save_removes_a_killed_saves_leftover(tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    _killed_save(target, prepare="del os.O_TMPFILE")  # as on a system without O_TMPFILE: a named temporary
    leftovers = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert len(leftovers) == 1 and leftovers[0].startswith(".m.json.")
    other = tmp_path / "other.json"
    other.write_text("{}")
    (tmp_path / f".other.json.{os.getpid()}.abcd.tmp").write_text("a save of ours in progress")
    MLP(2, [3, 1], seed=0).save(target)
    assert sorted(os.listdir(tmp_path)) == sorted(["m.json", "other.json", f".other.json.{os.getpid()}.abcd.tmp"])


# ---- load_torch checks before it builds -----------------------------------------------------------------


def _torch_file(tmp_path: Path, **changes) -> Path:
    torch = pytest.importorskip("torch")
    payload = {
        "format": "scratchgrad-torch-export",
        "version": 1,
        "layers": [{"type": "Linear", "in_features": 2, "out_features": 2, "bias": True}, {"type": "Tanh"}],
        "state_dict": {"0.weight": torch.ones(2, 2, dtype=torch.float64), "0.bias": torch.zeros(2, dtype=torch.float64)},
    }
    payload.update(changes)
    for key in [k for k, v in payload.items() if v is None]:
        del payload[key]
    path = tmp_path / "model.pt"
    torch.save(payload, path)
    return path


def test_load_torch_checks_a_small_file_before_building_a_large_model(tmp_path: Path) -> None:
    """Issue 12: a 1 KB file declaring Linear(40000, 40000) allocated 12 GB before 'Missing key(s)'."""
    from scratchgrad import export

    torch = pytest.importorskip("torch")
    huge = [{"type": "Linear", "in_features": 40_000, "out_features": 40_000, "bias": True}]
    cases = [
        ({"layers": huge}, r"layer #0 is Linear\(40000, 40000\) but its weight is of shape \(2, 2\)"),
        ({"layers": None}, "the file has no 'layers' list"),
        ({"version": 99}, "unsupported export version 99.*newer"),
        ({"version": "1"}, "unsupported export version '1'"),
        ({"format": "other"}, "not a scratchgrad PyTorch export"),
        ({"state_dict": {"0.weight": torch.full((2, 2), float("nan"), dtype=torch.float64), "0.bias": torch.zeros(2)}}, "holds NaN"),
        ({"layers": [{"type": "Conv2d"}]}, "layer #0: unknown layer type 'Conv2d'"),
        ({"state_dict": {"0.weight": torch.ones(2, 2), "0.bias": torch.zeros(2), "9.weight": torch.ones(1)}}, "unexpected tensors.*9.weight"),
    ]
    for changes, message in cases:
        with pytest.raises(ModelFileError, match=message):
            export.load_torch(_torch_file(tmp_path, **changes))
    module = export.load_torch(_torch_file(tmp_path))
    assert [type(m).__name__ for m in module] == ["Linear", "Tanh"]
    (tmp_path / "garbage.pt").write_bytes(b"not a torch file")
    with pytest.raises(ModelFileError, match="not a readable PyTorch file"):
        export.load_torch(tmp_path / "garbage.pt")


# ---- version-1 files still load ------------------------------------------------------------------------


def test_version_1_files_of_both_engines_still_load(tmp_path: Path) -> None:
    scalar = MLP(3, [4, 1], seed=0)
    old_json = {
        "format": "scratchgrad.nn",
        "version": 1,
        "model": "MLP",
        "architecture": scalar.architecture(),
        "state_dict": scalar.state_dict(),
    }
    (tmp_path / "old.json").write_text(json.dumps(old_json))
    loaded = MLP.load(tmp_path / "old.json")
    assert [p.data.hex() for p in loaded.parameters()] == [p.data.hex() for p in scalar.parameters()]
    tensor = mlp(3, [4], 2, activation="tanh", seed=0, dtype=np.float32)
    path = _npz(tmp_path / "old.npz", {**V1_TENSOR, "dtype": "float32", "architecture": tensor.architecture()}, tensor.state_dict())
    again = Module.load(path)
    assert isinstance(again, Sequential) and again.architecture() == tensor.architecture()
    assert all(a.data.tobytes() == b.data.tobytes() for a, b in zip(again.parameters(), tensor.parameters()))
