"""Every ```python block of the README runs as written, in order, in one namespace per block,
and every output it shows is what the code prints.

A README shows what a line prints as a comment with an arrow on that line,
``print(x)  # -> 0.7071``, or on a comment line right under it, ``# -> [[50, 0], [0, 50]]``.
The text after the arrow must start with exactly what that ``print`` wrote (a ``...`` in it
means "and more"); anything after that (``, as in the tutorial``) is commentary. So no
result in the README is typed in: change the library, and the example showing it fails.
"""

from __future__ import annotations

import builtins
import io
import re
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PRINT_CALL = re.compile(r"^\s*print\(")


def _blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def _shown_outputs(code: str) -> dict[int, str]:
    """{line number of a print call: the output the README shows for it after '# -> '}."""
    lines = code.splitlines()
    shown: dict[int, str] = {}
    for number, line in enumerate(lines, start=1):
        if not PRINT_CALL.match(line):
            continue
        _, arrow, comment = line.partition("# -> ")
        if arrow:
            shown[number] = comment.strip()
        elif number < len(lines) and lines[number].lstrip().startswith("# -> "):
            shown[number] = lines[number].lstrip()[len("# -> "):].strip()
    return shown


def _matches(printed: str, comment: str) -> bool:
    printed = " ".join(printed.split())
    comment = " ".join(comment.split())
    if comment.startswith(printed):
        return True
    head, dots, _ = comment.partition("...")
    return bool(dots) and len(head) >= 3 and printed.startswith(head)


def test_readme_has_examples() -> None:
    assert len(_blocks()) >= 1


def test_the_output_checker_catches_a_typed_in_number() -> None:
    code = "x = 1\nprint(x)  # -> 2\nprint(x)\n# -> 1, the answer\nprint(x)  # a remark\n"
    assert _shown_outputs(code) == {2: "2", 3: "1, the answer"}
    assert _matches("0.70710678", "0.7071...") and _matches("1.0 0.0", "1.0 0.0, as in PyTorch")
    assert not _matches("0.70710678", "0.7071") and not _matches("3", "2")


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_example_runs_and_shows_what_it_prints(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    code = _blocks()[index]
    filename = f"README.md[python block {index}]"
    printed: dict[int, list[str]] = {}

    def recording_print(*args: object, **kwargs: object) -> None:
        if kwargs.get("file") not in (None, sys.stdout):
            builtins.print(*args, **kwargs)  # type: ignore[call-overload]
            return
        buffer = io.StringIO()
        builtins.print(*args, **{**kwargs, "file": buffer})  # type: ignore[call-overload]
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename != filename:
            frame = frame.f_back  # type: ignore[assignment]
        if frame is not None:
            printed.setdefault(frame.f_lineno, []).append(buffer.getvalue().rstrip("\n"))
        builtins.print(*args, **kwargs)  # type: ignore[call-overload]

    exec(compile(code, filename, "exec"), {"__name__": "__readme__", "print": recording_print})
    for line, comment in _shown_outputs(code).items():
        assert line in printed, f"{filename}, line {line}: the print under comment {comment!r} never ran"
        output = printed[line][0]
        assert _matches(output, comment), (
            f"{filename}, line {line}: the README shows {comment!r}, the code prints {output!r}"
        )
