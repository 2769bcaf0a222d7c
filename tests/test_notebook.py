"""examples/seed_tutorial.ipynb runs headless, top to bottom, on this interpreter, without errors."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
kernelspec = pytest.importorskip("ipykernel.kernelspec")

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "seed_tutorial.ipynb"


def test_notebook_is_saved_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)


@pytest.mark.skipif(shutil.which("dot") is None, reason="the notebook draws graphs with Graphviz's dot")
def test_notebook_executes_without_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A kernelspec of our own, first on JUPYTER_PATH, so the kernel is this very interpreter
    # (the venv's), not whatever 'python3' kernel the machine has.
    prefix = tmp_path / "jupyter-prefix"
    kernelspec.install(kernel_name="python3", prefix=str(prefix))
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    work = tmp_path / "run"
    work.mkdir()

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error

    outputs = [cell.outputs for cell in nb.cells if cell.cell_type == "code"]
    printed = "".join(o.get("text", "") for cell in outputs for o in cell if o.output_type == "stream")
    executable = outputs[-1][0]["text"].strip()
    assert os.path.realpath(executable) == os.path.realpath(sys.executable)
    # every draw_dot(...) at the end of a cell shows the graph inline as SVG
    drawing_cells = [
        cell for cell in nb.cells if cell.cell_type == "code" and cell.source.strip().splitlines()[-1].startswith("draw_dot(")
    ]
    assert len(drawing_cells) >= 9
    for cell in drawing_cells:
        (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert "image/svg+xml" in result["data"]
    # the seed's numbers: L, the neuron's gradients, the PyTorch check or a note that it was skipped
    results = "".join(str(o.get("data", {}).get("text/plain", "")) for cell in outputs for o in cell)
    assert "Value(data=-8.0)" in results
    assert "x2 1.0" in printed and "w1 2.0" in printed or "skipped the PyTorch check" in printed
    assert "step 5/5: x1*w1: x1 += -3.0000 * 1.0000, w1 += 2.0000 * 1.0000" in printed
    assert "49 " in printed  # the training loop ran all 50 epochs
    for name in ("activations.png", "loss.png", "backward_steps.html"):
        assert (work / "out" / name).stat().st_size > 1000
