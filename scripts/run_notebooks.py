"""Execute the tutorial notebooks (``docs/tutorials/*.ipynb``) and store their outputs.

The documentation shows the notebooks with the outputs stored in them (mkdocs-jupyter does
not execute them at build time), so after editing a notebook run::

    python scripts/run_notebooks.py                  # every tutorial, outputs written back
    python scripts/run_notebooks.py --check          # execute only; write nothing

Each notebook runs in a fresh kernel (this interpreter's ``python3`` kernel) whose working
directory is a scratch directory, so nothing is written into the repository; the
notebooks' own ``assert`` cells are their checks.  ``tests/test_notebooks.py`` runs the
same function on copies.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "docs" / "tutorials"
TIMEOUT = 120  # seconds per cell


def execute(path: Path, *, timeout: int = TIMEOUT):
    """Run every cell of the notebook at ``path`` in a fresh kernel.

    Parameters
    ----------
    path : Path
        An ``.ipynb`` file; it is read, not modified.
    timeout : int
        Seconds allowed per cell.

    Returns
    -------
    nbformat.NotebookNode
        The notebook with its outputs (no timing metadata, so re-running it changes
        only what the cells print or draw).

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        A cell raised (an ``assert`` of the notebook failed, for instance).
    """
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="ntkjam_nb_") as scratch:
        client = NotebookClient(book, timeout=timeout, kernel_name="python3",
                                record_timing=False, resources={"metadata": {"path": scratch}})
        client.execute()
    for cell in book.cells:
        cell.metadata.pop("execution", None)
    return book


def main(argv: list[str] | None = None) -> int:
    """Execute the tutorials (and write their outputs back unless ``--check``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: docs/tutorials/*.ipynb)")
    parser.add_argument("--check", action="store_true", help="execute only; write nothing")
    args = parser.parse_args(argv)
    import nbformat

    for path in args.notebooks or sorted(TUTORIALS.glob("*.ipynb")):
        start = time.perf_counter()
        book = execute(path)
        if not args.check:
            nbformat.write(book, path)
        print(f"{path.name}: ran in {time.perf_counter() - start:.1f} s"
              + ("" if args.check else ", outputs written"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
