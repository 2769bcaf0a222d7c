"""Run the example notebooks and keep their committed outputs current.

    .venv/bin/python scripts/notebooks.py            # execute examples/*.ipynb, save them with outputs
    .venv/bin/python scripts/notebooks.py --check    # execute and compare with what is committed

The notebooks are committed executed, so their pictures show where people browse them.
tests/test_notebooks.py runs the --check comparison: a change to the library that changes
what a cell prints fails the test until the notebooks are executed again with this script.
Each notebook runs in a fresh temporary folder (files it writes land there), on this
interpreter's own kernel.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TIMEOUT = 600  # seconds per cell; the slowest cell trains a small model

# What may differ between two honest runs: addresses, temporary folders, timings and progress bars.
_VOLATILE = [
    (re.compile(r"0x[0-9a-fA-F]{6,}"), "0x…"),
    (re.compile(r"/tmp/[^\s'\"]*"), "/tmp/…"),
    (re.compile(r"\d+(\.\d+)?\s*(ms|µs|us|ns|s)\b(?!\w)"), "<time>"),
    (re.compile(r"\d+(\.\d+)?(it|step|epoch)s?/s"), "<rate>"),
    (re.compile(r"[ \t]+$", re.M), ""),
]


def notebooks() -> list[Path]:
    return sorted(EXAMPLES.glob("*.ipynb"))


def _kernel_environment(prefix: Path) -> None:
    """A kernelspec of our own, first on JUPYTER_PATH, so the kernel is this very interpreter."""
    from ipykernel import kernelspec

    kernelspec.install(kernel_name="python3", prefix=str(prefix))
    os.environ["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ.setdefault("PYTHONHASHSEED", "0")


def execute(path: Path, workdir: Path) -> Any:
    """The notebook at ``path``, executed top to bottom in ``workdir`` (raises on any error)."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    for cell in nb.cells:  # timing metadata changes every run and says nothing to a reader
        cell.get("metadata", {}).pop("execution", None)
    return nb


def _normal_text(text: Any) -> str:
    text = "".join(text) if isinstance(text, list) else str(text)
    if "\r" in text:  # progress bars redraw a line: keep what is left on screen
        text = "\n".join(line.split("\r")[-1] for line in text.split("\n"))
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text.strip()


def summary(nb: Any) -> list[list[tuple[str, str]]]:
    """Per code cell, its outputs as (kind, text): what a reader sees, without run-to-run noise.

    Printed text and the plain-text form of results are compared as text; pictures and pages
    by their kind only (their bytes depend on fonts and Graphviz builds, not on scratchgrad).
    """
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs: list[tuple[str, str]] = []
        for out in cell.outputs:
            kind = out.output_type
            if kind == "stream":
                if out.name == "stderr":  # progress bars and warnings from dependencies
                    continue
                # The kernel cuts printed text into chunks wherever its buffer was flushed: the
                # chunks in a row are one printout, normalised once they are joined.
                raw = "".join(out.text) if isinstance(out.text, list) else str(out.text)
                if outs and outs[-1][0] == "stream":
                    outs[-1] = ("stream", outs[-1][1] + raw)
                else:
                    outs.append(("stream", raw))
            elif kind in ("execute_result", "display_data"):
                data = out.get("data", {})
                mimes = sorted(m for m in data if m != "text/plain")
                if mimes:
                    outs.append((kind, " ".join(mimes)))
                else:
                    outs.append((kind, _normal_text(data.get("text/plain", ""))))
            elif kind == "error":
                outs.append(("error", f"{out.ename}: {out.evalue}"))
        merged = [(kind, _normal_text(text)) if kind == "stream" else (kind, text) for kind, text in outs]
        cells.append(merged)
    return cells


def main(argv: list[str] | None = None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed outputs instead of saving")
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: examples/*.ipynb)")
    args = parser.parse_args(argv)
    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        _kernel_environment(Path(tmp) / "jupyter")
        for path in args.paths or notebooks():
            work = Path(tmp) / path.stem
            work.mkdir()
            nb = execute(path, work)
            if args.check:
                committed = nbformat.read(path, as_version=4)
                if summary(committed) != summary(nb):
                    stale.append(path)
                    print(f"{path}: the committed outputs differ from a fresh run")
                else:
                    print(f"{path}: committed outputs are current")
            else:
                nbformat.write(nb, path)
                print(f"{path}: executed and saved")
    if stale:
        print("run: .venv/bin/python scripts/notebooks.py", *map(str, stale), file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
