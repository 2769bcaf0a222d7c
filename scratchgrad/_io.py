"""Safe file writing shared by every saver: a crash never leaves half a file, or a stray one.

`atomic_write_bytes` writes the new contents next to the target and renames them over
it, so readers see either the old file or the whole new one. On Linux the contents go
into a file that has no name yet (``O_TMPFILE``): if the process is killed while writing,
nothing is left behind. The file gets a name, ``.<target>.<pid>.<random>.tmp``, only once
it is complete, just before the rename. Where that is impossible the same name is used
for an ordinary temporary file; such a file left by a process that no longer runs is
removed by the next save to the same target. Only regular files are ever replaced: a
directory or a device such as /dev/null is refused.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import tempfile
from pathlib import Path
from typing import Any, Union

PathLike = Union[str, "os.PathLike[str]"]


def _check_target(target: Path) -> None:
    """Refuse to replace anything but a regular file (a directory, /dev/null, a pipe)."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return
    except OSError:
        return  # unreadable metadata: let the write itself report the problem
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, f"cannot write {target}: it is a directory; give a file name")
    if not stat.S_ISREG(mode):
        raise FileExistsError(
            errno.EEXIST,
            f"cannot write {target}: it exists and is not a regular file (a device, a pipe or a socket); "
            "give a new file name",
        )


def _temporary_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}."


def _stale_pattern(target: Path) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(target.name)}\.(\d+)\.[A-Za-z0-9_-]+\.tmp$")


def _process_is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process, or a number we cannot check: leave its file alone
    return True


def remove_stale_temporaries(target: PathLike) -> list[Path]:
    """Delete the temporary files of earlier saves to ``target`` whose process has ended.

    Only names this module makes (``.<name>.<pid>.<random>.tmp``) are considered, and
    never those of the running process (another thread may be writing one). POSIX only:
    elsewhere there is no safe way to ask whether a process still runs.
    """
    if os.name != "posix":
        return []
    target = Path(target)
    pattern = _stale_pattern(target)
    removed = []
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    for name in names:
        match = pattern.match(name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _process_is_running(pid):
            continue
        try:
            os.unlink(target.parent / name)
            removed.append(target.parent / name)
        except OSError:
            pass
    return removed


def _write_synced(handle: Any, data: bytes) -> None:
    """Write ``data`` and wait until it is on the disk (a rename after this cannot expose half a file)."""
    handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _replace(temporary: Path, target: Path) -> None:
    try:
        os.replace(temporary, target)
    except BaseException:
        _unlink_quietly(temporary)
        raise


def _write_unnamed(target: Path, data: bytes) -> bool:
    """Write ``data`` into an unnamed file (O_TMPFILE), name it and rename it over ``target``.

    False when this system cannot (no O_TMPFILE, a file system without it, no /proc):
    the caller falls back to a named temporary file.
    """
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return False
    try:
        fd = os.open(target.parent, flag | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError:
        return False
    with os.fdopen(fd, "wb") as handle:
        _write_synced(handle, data)
        temporary = target.parent / f"{_temporary_prefix(target)}{secrets.token_hex(4)}.tmp"
        if not _give_name(fd, temporary):
            return False
    _replace(temporary, target)
    return True


def _give_name(fd: int, name: Path) -> bool:
    """Link the unnamed file ``fd`` into the file system as ``name``; False if this system cannot."""
    try:
        os.link(f"/proc/self/fd/{fd}", name)  # linkat(AT_SYMLINK_FOLLOW), the unprivileged way
        return True
    except OSError:
        pass
    try:  # linkat(fd, "", AT_EMPTY_PATH): where /proc is another mount (needs privilege before Linux 6.10)
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        at_fdcwd, at_empty_path = -100, 0x1000
        return bool(libc.linkat(fd, b"", at_fdcwd, os.fsencode(name), at_empty_path) == 0)
    except (OSError, AttributeError):
        return False


def _write_named(target: Path, data: bytes) -> None:
    fd, name = tempfile.mkstemp(prefix=_temporary_prefix(target), suffix=".tmp", dir=target.parent)
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            _write_synced(handle, data)
        os.chmod(temporary, _file_mode())  # mkstemp makes 0600 files; saved files get the usual mode
    except BaseException:
        _unlink_quietly(temporary)
        raise
    _replace(temporary, target)


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The rename is atomic on POSIX and Windows, so readers see either the old file or the
    whole new one. Refuses a missing folder (FileNotFoundError), a directory
    (IsADirectoryError) and anything else that is not a regular file, e.g. /dev/null
    (FileExistsError). Returns the path written.
    """
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot save to {target}: folder {folder} does not exist")
    _check_target(target)
    remove_stale_temporaries(target)
    if not _write_unnamed(target, data):
        _write_named(target, data)
    return target


def atomic_write_text(path: PathLike, text: str) -> Path:
    """`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))
