"""examples/higher_order_derivatives.ipynb runs headless, top to bottom, with the outputs it
is committed with: the examples of the README's "Derivatives of derivatives" and their
pictures (see scripts/notebooks.py, which executes and saves the notebooks)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel.kernelspec")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "higher_order_derivatives.ipynb"
_spec = importlib.util.spec_from_file_location("notebooks_script", ROOT / "scripts" / "notebooks.py")
assert _spec and _spec.loader
notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(notebooks)


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "MPLBACKEND", "PYTHONHASHSEED")}
    notebooks._kernel_environment(tmp_path / "jupyter")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.mark.skipif(shutil.which("dot") is None, reason="the notebook draws a graph with Graphviz's dot")
def test_the_notebook_runs_and_shows_what_it_is_committed_with(kernel: None, tmp_path: Path) -> None:
    committed = nbformat.read(NOTEBOOK, as_version=4)
    fresh = notebooks.execute(NOTEBOOK, tmp_path)
    assert notebooks.summary(committed) == notebooks.summary(fresh), (
        "examples/higher_order_derivatives.ipynb's committed outputs differ from a fresh run: "
        ".venv/bin/python scripts/notebooks.py examples/higher_order_derivatives.ipynb"
    )
    outputs = [cell.outputs for cell in fresh.cells if cell.cell_type == "code"]
    printed = "".join(o.get("text", "") for cell in outputs for o in cell if o.output_type == "stream")
    kinds = [o.get("data", {}) for cell in outputs for o in cell if o.output_type in ("display_data", "execute_result")]
    assert "12.0 12.0 6.0" in printed and "d2y/dx2 = 12.0" in printed
    assert "reached in 6 steps" in printed  # Newton's method, under 10 steps
    assert "PyTorch's Hessian differs by less than 1e-15: True" in printed
    assert "-2.8284" in printed and "d2o/dw1^2 = -2.8284 = -2.8284" in printed
    assert "penalty weight 0.0:" in printed and "penalty weight 0.01:" in printed and "accuracy 100%" in printed
    assert "equals A + diag(e^x): True" in printed
    assert sum("image/svg+xml" in d for d in kinds) == 1  # the graph of do/dw1
    assert sum("image/png" in d for d in kinds) == 2  # Newton's steps, the two score maps
