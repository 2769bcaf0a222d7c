"""Model files for both engines: one header, JSON for models of Values, ``.npz`` for models of Tensors.

Every file starts from the same header::

    {"format": "scratchgrad.model", "version": 2, "engine": "scalar" | "tensor",
     "model": "MLP", "architecture": {...}, "dtype": "float64" | "float32",
     "shapes": {"layers.0.weight": [16, 2], ...}}

A model of Values is a JSON document: the header plus ``"state_dict"`` (each weight
written with ``repr``, so the round trip is bit-exact). A model of Tensors is an
``.npz`` archive (uncompressed): the header as the member ``__scratchgrad__`` plus one
``.npy`` array per parameter, never read with pickle. Version-1 files of both kinds
(``scratchgrad.nn`` JSON, ``scratchgrad.tensor_nn`` archives) still load.

Loading checks before it builds anything, so a small or hostile file cannot make it
allocate much: the JSON nesting and size; in an archive, the zip directory and each
array's ``.npy`` header (shape, dtype, byte count), read without reading any data, against
the shapes the architecture declares and a cap of `MAX_PARAMETERS` numbers; then the
values themselves (finite floats). Anything wrong is one `ModelFileError` (a
ValueError) naming the file and the problem. Writes are atomic (`scratchgrad._io`).
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import zipfile
from dataclasses import dataclass
from typing import Any, Mapping, Union

from scratchgrad import _io
from scratchgrad.nn.module import Module, key_mismatch_message

PathLike = Union[str, "os.PathLike[str]"]

FORMAT_NAME = "scratchgrad.model"
FORMAT_VERSION = 2
OLD_FORMATS = {"scratchgrad.nn": "scalar", "scratchgrad.tensor_nn": "tensor"}  # version 1
HEADER_MEMBER = "__scratchgrad__"
DTYPES = ("float64", "float32")

MAX_PARAMETERS = 50_000_000  # numbers in a tensor model file (400 MB as float64)
MAX_SCALAR_PARAMETERS = 5_000_000  # Values in a scalar model file (one Python object each)
MAX_JSON_BYTES = 256 * 1024 * 1024
MAX_HEADER_BYTES = 1024 * 1024
MAX_MEMBERS = 100_000


class ModelFileError(ValueError):
    """A model file that cannot be loaded or written: corrupt, truncated, foreign, hostile,
    or for another architecture. ``path`` is the file; the message names it and the problem."""

    def __init__(self, path: PathLike, problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


# ---- the model types files can hold -------------------------------------------------------------

_MODELS: dict[tuple[str, str], type[Any]] = {}


def register_model(cls: type[Any]) -> type[Any]:
    """Let files hold ``cls`` (usable as a class decorator): a `Module` with an ``engine``,
    ``architecture()``, ``from_architecture(architecture, dtype)`` and a size check made
    from the architecture alone (``count_parameters`` for the scalar engine,
    ``parameter_shapes`` for the tensor engine), so a file is checked before it is built."""
    engine = getattr(cls, "engine", None)
    size_check = {"scalar": "count_parameters", "tensor": "parameter_shapes"}.get(engine or "")
    if size_check is None or not hasattr(cls, size_check) or not hasattr(cls, "from_architecture"):
        raise TypeError(
            f"register_model: {cls.__name__} needs engine 'scalar' or 'tensor', from_architecture() and "
            f"{size_check or 'count_parameters() / parameter_shapes()'}"
        )
    _MODELS[(engine, cls.__name__)] = cls  # type: ignore[index]
    return cls


def _load_engine(engine: str) -> None:
    if engine == "tensor":
        import scratchgrad.nn.gpt  # noqa: F401
        import scratchgrad.nn.layers  # noqa: F401  (registers the tensor classes)
    else:
        import scratchgrad.nn.scalar  # noqa: F401
        import scratchgrad.nn.scalar_gpt  # noqa: F401


def model_class(engine: str, name: str) -> type[Any]:
    """The registered class of ``engine`` named ``name``, or a ValueError listing the known ones."""
    _load_engine(engine)
    cls = _MODELS.get((engine, name))
    if cls is None:
        known = sorted(n for e, n in _MODELS if e == engine)
        raise ValueError(f"unknown model type {name!r} for the {engine} engine (known: {', '.join(known)})")
    return cls


# ---- saving -------------------------------------------------------------------------------------


def _describe(architecture: Any) -> str:
    if not isinstance(architecture, Mapping):
        return "" if architecture is None else repr(architecture)
    return ", ".join(f"{k}={v!r}" for k, v in architecture.items())


def header_of(model: Module) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and the state dict ``save`` writes for ``model``; refuses what could not be loaded."""
    owner = type(model).__name__
    engine = model.model_engine()
    try:
        architecture = model.architecture()
    except NotImplementedError:
        architecture = None  # a model of your own: load_weights() can still read its weights
    state = model.state_dict()
    if engine == "scalar":
        for name, value in state.items():
            if not math.isfinite(value):
                raise ValueError(f"cannot save {owner}: parameter {name} is {value!r}")
        dtype = "float64"
        shapes: dict[str, list[int]] = {name: [] for name in state}
    else:
        import numpy as np

        dtypes: dict[str, str] = {}
        for name, array in state.items():
            if not np.isfinite(array).all():
                raise ValueError(f"cannot save {owner}: parameter {name} holds NaN or infinity")
            dtypes.setdefault(str(array.dtype), name)
        if len(dtypes) > 1:
            listed = ", ".join(f"{kind} ({name})" for kind, name in dtypes.items())
            raise ValueError(
                f"cannot save {owner}: its parameters mix dtypes ({listed}); a model file holds one dtype: "
                "convert them all first, e.g. p.data = p.data.astype(np.float64) for p in model.parameters()"
            )
        dtype = next(iter(dtypes), "float64")
        shapes = {name: list(array.shape) for name, array in state.items()}
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "engine": engine,
        "model": owner,
        "architecture": architecture,
        "dtype": dtype,
        "shapes": shapes,
    }
    return header, state


def npz_bytes(header: Mapping[str, Any], arrays: Mapping[str, Any]) -> bytes:
    """An uncompressed .npz archive: the header member, then one .npy member per array."""
    import numpy as np

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        members = {HEADER_MEMBER: np.array(json.dumps(header)), **arrays}
        for name, array in members.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def save(model: Module, path: PathLike) -> None:
    """Write ``model`` to ``path`` (see the module docstring), atomically."""
    header, state = header_of(model)
    if header["engine"] == "scalar":
        text = json.dumps({**header, "state_dict": state}, indent=1, allow_nan=False) + "\n"
        _io.atomic_write_text(path, text)
    else:
        _io.atomic_write_bytes(path, npz_bytes(header, state))


# ---- reading and checking -------------------------------------------------------------------------


@dataclass
class ModelFile:
    """A model file read and checked, not yet built into a model."""

    path: str
    engine: str
    model: str
    cls: type[Any] | None  # None: a model type this process does not know (load_weights can still read it)
    architecture: Any
    dtype: str
    state: dict[str, Any]


def _open(path: PathLike) -> tuple[Any, int]:
    """The open file and its size; FileNotFoundError, or a ModelFileError saying why not."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"model file not found: {os.fspath(path)}") from None
    except IsADirectoryError:
        raise ModelFileError(path, "is a directory, not a model file") from None
    except PermissionError:
        raise ModelFileError(path, "cannot read the file: permission denied") from None
    except OSError as err:
        raise ModelFileError(path, f"cannot read the file: {err.strerror or err}") from None
    info = os.fstat(handle.fileno())
    if stat.S_ISDIR(info.st_mode):
        handle.close()
        raise ModelFileError(path, "is a directory, not a model file")
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        raise ModelFileError(path, "is not a regular file (a device or a pipe), not a model file")
    return handle, info.st_size


def read(path: PathLike) -> ModelFile:
    """Read and check the model file at ``path`` (either kind), up to building the model."""
    handle, size = _open(path)
    with handle:
        if size == 0:
            raise ModelFileError(path, "the file is empty")
        magic = handle.read(4)
        handle.seek(0)
        if magic in (b"PK\x03\x04", b"PK\x05\x06"):
            return _read_npz(handle, path)
        if size > MAX_JSON_BYTES:
            raise ModelFileError(path, f"the file is {size:,} bytes; a JSON model file may be at most {MAX_JSON_BYTES:,}")
        try:
            raw = handle.read()
        except OSError as err:
            raise ModelFileError(path, f"cannot read the file: {err.strerror or err}") from None
    return _read_json(raw, path)


def _parse_json(text: str, path: PathLike, what: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise ModelFileError(path, f"corrupt or truncated {what} ({err.msg} at line {err.lineno}, column {err.colno})") from None
    except RecursionError:
        raise ModelFileError(path, f"the {what} is nested too deeply to be a model file") from None
    except ValueError as err:  # NaN / Infinity tokens
        raise ModelFileError(path, str(err)) from None


def _reject_constant(name: str) -> float:
    raise ValueError(f"the file contains {name}, which is not a valid weight")


def _check_header(document: Any, path: PathLike, kind: str) -> dict[str, Any]:
    """The header fields of a version-2 or version-1 document, as a version-2 header."""
    if not isinstance(document, dict):
        raise ModelFileError(path, f"not a scratchgrad model file (a JSON {type(document).__name__}, not an object)")
    found = document.get("format")
    if found != FORMAT_NAME and found not in OLD_FORMATS:
        raise ModelFileError(path, f"not a scratchgrad model file (format {found!r}, expected {FORMAT_NAME!r})")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(path, f"format version must be an int, got {version!r}")
    expected = FORMAT_VERSION if found == FORMAT_NAME else 1
    if version != expected:
        newer = " (written by a newer scratchgrad; upgrade to read it)" if version > expected else ""
        raise ModelFileError(path, f"unsupported format version {version}; this scratchgrad reads version {expected}{newer}")
    if found == FORMAT_NAME:
        header = dict(document)
    else:  # version 1: the engine follows from the format; a tensor file's model type from its architecture
        architecture = document.get("architecture")
        if found == "scratchgrad.nn":
            model = document.get("model")
        else:
            model = architecture.get("type") if isinstance(architecture, dict) else None
        header = {**document, "engine": OLD_FORMATS[found], "model": model, "shapes": None}
        header.setdefault("dtype", "float64")
    engine = header.get("engine")
    if engine != kind:
        stored = "a JSON document" if kind == "scalar" else "an .npz archive"
        raise ModelFileError(path, f"the header names engine {engine!r}, but {stored} holds a {kind}-engine model")
    if not isinstance(header.get("model"), str):
        raise ModelFileError(path, f"field 'model' is missing or not a str: {header.get('model')!r}")
    if header.get("architecture") is not None and not isinstance(header["architecture"], dict):
        raise ModelFileError(path, "field 'architecture' is not a dict")
    return header


def _model_class(header: Mapping[str, Any]) -> type[Any] | None:
    try:
        return model_class(header["engine"], header["model"])
    except ValueError:
        return None


def _read_json(raw: bytes, path: PathLike) -> ModelFile:
    if not raw.strip():
        raise ModelFileError(path, "the file is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelFileError(path, "not a scratchgrad model file (not UTF-8 text)") from None
    header = _check_header(_parse_json(text, path, "JSON"), path, "scalar")
    state = header.get("state_dict")
    if not isinstance(state, dict):
        raise ModelFileError(path, "field 'state_dict' is missing or not a dict")
    cls = _model_class(header)
    architecture = header.get("architecture")
    if architecture is not None and cls is not None:
        try:
            expected = cls.count_parameters(architecture)
        except (TypeError, ValueError) as err:
            raise ModelFileError(path, str(err)) from None
        if expected > MAX_SCALAR_PARAMETERS:
            raise ModelFileError(
                path, f"architecture {header['model']}({_describe(architecture)}) has {expected:,} parameters; "
                f"the scalar engine loads at most {MAX_SCALAR_PARAMETERS:,}"
            )  # fmt: skip
        if expected != len(state):
            raise ModelFileError(
                path, f"architecture {header['model']}({_describe(architecture)}) has {expected} parameters "
                f"but the file holds {len(state)} weights"
            )  # fmt: skip
    if len(state) > MAX_SCALAR_PARAMETERS:
        raise ModelFileError(path, f"the file holds {len(state):,} weights; the scalar engine loads at most {MAX_SCALAR_PARAMETERS:,}")
    shapes = header.get("shapes")
    if shapes is not None and (not isinstance(shapes, dict) or set(shapes) != set(state) or any(s != [] for s in shapes.values())):
        raise ModelFileError(path, "field 'shapes' does not list one scalar ([]) per weight of the state_dict")
    return ModelFile(os.fspath(path), "scalar", header["model"], cls, architecture, "float64", state)


def _npy_header(stream: Any, name: str, path: PathLike) -> tuple[tuple[int, ...], Any, int]:
    """Shape, dtype and header length of one .npy member, from its first bytes only."""
    import numpy as np

    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):
            shape, _, dtype = fmt.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ModelFileError(path, f"member {name} is not a readable .npy array ({err})") from None
    if dtype.hasobject:
        raise ModelFileError(path, f"member {name} holds Python objects (pickled data), which scratchgrad never reads")
    return tuple(int(n) for n in shape), dtype, stream.tell()


def _read_npz(handle: Any, path: PathLike) -> ModelFile:
    import numpy as np

    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise ModelFileError(path, f"not a readable .npz model file (corrupt or truncated zip archive: {err})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ModelFileError(path, f"the archive has {len(infos):,} members; a model file may have at most {MAX_MEMBERS:,}")
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if not info.filename.endswith(".npy") or info.filename[:-4] in members:
                raise ModelFileError(path, f"not a scratchgrad model archive (member {info.filename!r})")
            members[info.filename[:-4]] = info
        header_info = members.pop(HEADER_MEMBER, None)
        if header_info is None:
            raise ModelFileError(path, f"not a scratchgrad tensor model (no {HEADER_MEMBER} header)")
        try:
            header = _check_header(_parse_json(_header_text(archive, header_info, path), path, "header"), path, "tensor")
            cls = _model_class(header)
            stored = _stored_shapes(archive, members, path)
            _check_shapes(header, cls, stored, path)
            arrays = {name: np.lib.format.read_array(archive.open(info), allow_pickle=False) for name, info in members.items()}
        except (zipfile.BadZipFile, EOFError, OSError) as err:
            raise ModelFileError(path, f"not a readable .npz model file (corrupt or truncated: {err})") from None
    for name, array in arrays.items():
        if not np.isfinite(array).all():
            raise ModelFileError(path, f"parameter {name} holds NaN or infinity")
    dtype = header.get("dtype", "float64")
    if dtype == "mixed":  # version-1 files could hold float32 and float64 layers: read them as float64
        dtype = "float64"
    return ModelFile(os.fspath(path), "tensor", header["model"], cls, header.get("architecture"), dtype, arrays)


def _header_text(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: PathLike) -> str:
    import numpy as np

    with archive.open(info) as stream:
        shape, dtype, offset = _npy_header(stream, HEADER_MEMBER, path)
        if shape != () or dtype.kind != "U" or dtype.itemsize > MAX_HEADER_BYTES or info.file_size != offset + dtype.itemsize:
            raise ModelFileError(path, f"corrupt header: {HEADER_MEMBER} is not one string of at most {MAX_HEADER_BYTES:,} bytes")
        raw = stream.read(dtype.itemsize)
    return str(np.frombuffer(raw, dtype=dtype)[0])


def _stored_shapes(archive: zipfile.ZipFile, members: Mapping[str, zipfile.ZipInfo], path: PathLike) -> dict[str, tuple[tuple[int, ...], Any]]:
    """Each member's shape and dtype from its .npy header; the byte counts and sizes checked."""
    stored = {}
    total = 0
    for name, info in members.items():
        with archive.open(info) as stream:
            shape, dtype, offset = _npy_header(stream, name, path)
        if dtype.kind != "f" or dtype.itemsize not in (4, 8):
            raise ModelFileError(path, f"parameter {name} holds {dtype}, not float32 or float64 numbers")
        count = math.prod(shape)
        total += count
        if total > MAX_PARAMETERS:
            raise ModelFileError(path, f"the arrays hold more than {MAX_PARAMETERS:,} numbers, the most a model file may hold")
        if info.file_size != offset + count * dtype.itemsize:
            raise ModelFileError(
                path, f"member {name} declares {info.file_size:,} bytes but a {shape} array of {dtype} needs "
                f"{offset + count * dtype.itemsize:,} (a corrupt or crafted file)"
            )  # fmt: skip
        stored[name] = (shape, dtype)
    return stored


def _check_shapes(header: Mapping[str, Any], cls: type[Any] | None, stored: Mapping[str, tuple[tuple[int, ...], Any]], path: PathLike) -> None:
    """The stored arrays against the header's shapes and dtype, and against the architecture."""
    declared = header.get("shapes")
    if declared is not None:
        if not isinstance(declared, dict) or {k: tuple(v) if isinstance(v, list) else v for k, v in declared.items()} != {
            k: shape for k, (shape, _) in stored.items()
        }:
            raise ModelFileError(path, "the header's 'shapes' do not match the arrays stored in the archive")
    dtype = header.get("dtype", "float64")
    if dtype not in DTYPES and not (dtype == "mixed" and header.get("format") in OLD_FORMATS):
        raise ModelFileError(path, f"unsupported dtype {dtype!r} (float64 or float32)")
    if dtype in DTYPES and any(str(d.newbyteorder("=")) != dtype for _, d in stored.values()):
        raise ModelFileError(path, f"the header says {dtype} but the archive holds other arrays")
    architecture = header.get("architecture")
    if architecture is None or cls is None:
        return  # nothing to build from: load_weights checks the arrays against the model
    try:
        expected = cls.parameter_shapes(architecture)
    except (TypeError, ValueError, KeyError) as err:
        raise ModelFileError(path, f"invalid architecture {architecture!r}: {err}") from None
    missing = [name for name in expected if name not in stored]
    unexpected = [name for name in stored if name not in expected]
    if missing or unexpected:
        raise ModelFileError(path, key_mismatch_message(header["model"], missing, unexpected))
    for name, shape in expected.items():
        if stored[name][0] != tuple(shape):
            raise ModelFileError(
                path, f"state_dict[{name!r}] has shape {stored[name][0]}, but the parameter has shape {tuple(shape)}"
            )


# ---- building ------------------------------------------------------------------------------------------


def _fill(model: Module, contents: ModelFile) -> None:
    try:
        model.load_state_dict(contents.state)
    except (TypeError, ValueError) as err:
        raise ModelFileError(contents.path, str(err)) from None


def load(path: PathLike, expected: type[Any] | None = None) -> Module:
    """The model saved in ``path``; with ``expected``, a ModelFileError unless it is of that class."""
    contents = read(path)
    if contents.cls is None:
        try:
            model_class(contents.engine, contents.model)
        except ValueError as err:
            raise ModelFileError(path, f"{err}; build the model yourself and call its load_weights(path)") from None
    if expected is not None and contents.cls is not expected:
        raise ModelFileError(
            path, f"the file holds model type {contents.model!r} ({contents.engine} engine), "
            f"expected {expected.__name__!r} ({getattr(expected, 'engine', None) or 'any'} engine)"
        )  # fmt: skip
    if contents.architecture is None:
        raise ModelFileError(
            path, f"the file holds a {contents.model} without an architecture, which cannot be rebuilt: "
            "build the model yourself and call its load_weights(path)"
        )  # fmt: skip
    assert contents.cls is not None  # an unknown type was refused above
    try:
        model = contents.cls.from_architecture(contents.architecture, dtype=contents.dtype)
    except (TypeError, ValueError, KeyError) as err:
        raise ModelFileError(path, f"invalid architecture {contents.architecture!r}: {err}") from None
    _fill(model, contents)
    return model  # type: ignore[no-any-return]


def load_weights(model: Module, path: PathLike) -> None:
    """Read the weights in ``path`` into ``model``, which must have the file's architecture."""
    contents = read(path)
    try:
        own = model.architecture()
    except NotImplementedError:
        own = None
    if contents.model != type(model).__name__ or contents.engine != model.model_engine() or (
        own is not None and contents.architecture != own
    ):
        raise ModelFileError(
            path, f"the file holds {contents.model}({_describe(contents.architecture)}), "
            f"which does not match this {type(model).__name__}({_describe(own)})"
        )  # fmt: skip
    _fill(model, contents)


__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_PARAMETERS",
    "MAX_SCALAR_PARAMETERS",
    "ModelFile",
    "ModelFileError",
    "load",
    "load_weights",
    "model_class",
    "read",
    "register_model",
    "save",
]
