"""The example notebooks run headless, top to bottom, on this interpreter, and are committed
with the outputs a fresh run gives (scripts/notebooks.py executes and saves them): the
tutorial, the GPT walk-through, and higher_order_derivatives.ipynb (the examples of the
README's "Derivatives of derivatives" and their pictures)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel.kernelspec")

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("notebooks_script", ROOT / "scripts" / "notebooks.py")
assert _spec and _spec.loader
notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(notebooks)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the notebooks draw graphs with Graphviz's dot")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> None:
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "MPLBACKEND", "PYTHONHASHSEED")}
    notebooks._kernel_environment(tmp_path_factory.mktemp("jupyter"))
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _run_current(name: str, tmp_path: Path) -> tuple[Any, list[Any], str]:
    """Execute examples/<name> in ``tmp_path``, check that it shows what it is committed
    with, and return the fresh notebook, its code cells' outputs and all the text they printed."""
    path = ROOT / "examples" / name
    committed = nbformat.read(path, as_version=4)
    fresh = notebooks.execute(path, tmp_path)
    assert notebooks.summary(committed) == notebooks.summary(fresh), (
        f"examples/{name}'s committed outputs differ from a fresh run: .venv/bin/python scripts/notebooks.py examples/{name}"
    )
    outputs = [cell.outputs for cell in fresh.cells if cell.cell_type == "code"]
    printed = "".join(o.get("text", "") for cell in outputs for o in cell if o.output_type == "stream")
    return fresh, outputs, printed


def test_every_notebook_is_committed_executed() -> None:
    paths = notebooks.notebooks()
    assert paths
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert code and all(cell.execution_count is not None for cell in code), f"{path.name} is not executed"
        assert not [o for c in code for o in c.outputs if o.output_type == "error"], f"{path.name} has an error"


@needs_dot
def test_the_kernel_is_this_interpreter(kernel: None, tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")])
    path = tmp_path / "which.ipynb"
    nbformat.write(nb, path)
    executed = notebooks.execute(path, tmp_path)
    assert os.path.realpath(executed.cells[0].outputs[0]["text"].strip()) == os.path.realpath(sys.executable)


@needs_dot
def test_tutorial_notebook_gives_the_tutorials_numbers_and_current_outputs(kernel: None, tmp_path: Path) -> None:
    nb, outputs, printed = _run_current("tutorial.ipynb", tmp_path)
    # every draw_dot(...) at the end of a cell shows the graph inline as SVG
    drawing_cells = [
        cell for cell in nb.cells if cell.cell_type == "code" and cell.source.strip().splitlines()[-1].startswith("draw_dot(")
    ]
    assert len(drawing_cells) >= 9
    for cell in drawing_cells:
        (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert "image/svg+xml" in result["data"]
    # the tutorial's numbers: L, the neuron's gradients, the PyTorch check
    results = "".join(str(o.get("data", {}).get("text/plain", "")) for cell in outputs for o in cell)
    assert "Value(data=-8.0)" in results
    assert "x2 1.0" in printed and "w1 2.0" in printed
    assert "step 5/5: x1*w1: x1 += -3.0000 * 1.0000, w1 += 2.0000 * 1.0000" in printed
    assert "49 " in printed  # the training loop ran all 50 epochs
    for name in ("activations.png", "loss.png", "backward_steps.html"):
        assert (tmp_path / "out" / name).stat().st_size > 1000


@needs_dot
def test_gpt_notebook_walks_from_the_neuron_to_a_trained_gpt_and_is_current(kernel: None, tmp_path: Path) -> None:
    _, outputs, printed = _run_current("gpt.ipynb", tmp_path)
    assert "o = 0.7071; do/dw1 = 1.0000, do/dx1 = -1.5000, do/db = 0.5000" in printed  # the tutorial's neuron
    assert "the same output: True" in printed  # one attention head, on Values and on tensors
    assert "step 1/10: * = " in printed  # one attention score's backward, step by step
    difference = float(printed.split("largest gradient difference ")[1].split()[0])
    assert difference <= 1e-10  # the scalar GPT's gradients are the tensor GPT's
    assert "step 400: training loss" in printed
    names = printed.strip().splitlines()[-20:]
    assert len(names) == 20 and all(name.isalpha() and name.islower() for name in names)
    svgs = [o for cell in outputs for o in cell if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) >= 4
    assert (tmp_path / "attention_score.html").stat().st_size > 1000


@needs_dot
def test_higher_order_notebook_shows_what_it_is_committed_with(kernel: None, tmp_path: Path) -> None:
    _, outputs, printed = _run_current("higher_order_derivatives.ipynb", tmp_path)
    kinds = [o.get("data", {}) for cell in outputs for o in cell if o.output_type in ("display_data", "execute_result")]
    assert "12.0 12.0 6.0" in printed and "d2y/dx2 = 12.0" in printed
    assert "reached in 6 steps" in printed  # Newton's method, under 10 steps
    assert "PyTorch's Hessian differs by less than 1e-15: True" in printed
    assert "-2.8284" in printed and "d2o/dw1^2 = -2.8284 = -2.8284" in printed
    assert "penalty weight 0.0:" in printed and "penalty weight 0.01:" in printed and "accuracy 100%" in printed
    assert "equals A + diag(e^x): True" in printed
    assert sum("image/svg+xml" in d for d in kinds) == 1  # the graph of do/dw1
    assert sum("image/png" in d for d in kinds) == 2  # Newton's steps, the two score maps
