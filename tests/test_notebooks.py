"""The tutorial notebooks (docs/tutorials/*.ipynb) run, and their stored outputs are clean.

The documentation renders the outputs stored in the notebooks (mkdocs-jupyter does not
execute them), so the fast tests check those: every code cell ran, in order, without an
error.  The slow test executes each notebook afresh with nbclient
(``scripts/run_notebooks.py``, the script that stores the outputs); the notebooks' own
``assert`` cells check the physics (P^(-1/2) convergence of random features, ranks,
Marchenko-Pastur's zero modes, Cover's law, crossings near phi = 2, resume).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "docs" / "tutorials").glob("*.ipynb"))


def _runner():
    spec = importlib.util.spec_from_file_location("run_notebooks",
                                                  ROOT / "scripts" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_tutorials_in_the_nav():
    assert 2 <= len(NOTEBOOKS) <= 5
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert f"tutorials/{path.name}" in nav


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_outputs_are_complete_and_clean(path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert code
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), (
        f"{path.name}: not executed top to bottom; run python scripts/run_notebooks.py")
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "a figure is shown"
    assert not any("execution" in c.metadata for c in code), "timings are not stored"
    text = "".join(o.get("text", "") for o in outputs)
    assert "/tmp/" not in text and str(ROOT) not in text, "no machine-specific paths"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path):
    start = time.perf_counter()
    book = _runner().execute(path)            # raises on the first failing cell
    elapsed = time.perf_counter() - start
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    stored = nbformat.read(path, as_version=4)
    # Each cell prints as many lines as stored (numbers may differ in the last digits;
    # how the kernel splits its output into messages varies, so lines are counted per cell).
    def lines(b):
        return [sum(len(o.get("text", "").splitlines()) for o in c.outputs
                    if o.output_type == "stream")
                for c in b.cells if c.cell_type == "code"]
    assert lines(book) == lines(stored), f"{path.name}: stored outputs are stale"
    print(f"{path.name}: {elapsed:.1f} s")
