"""No public module escapes the docstring-example checks (issue 14).

Each ``test_doc_examples_<stage>.py`` lists the modules of its stages in ``MODULES``;
together they must cover every module of the package that defines a public function
or class (:func:`doc_examples.public_objects`), so a new module cannot ship without
examples.  The command-line modules (``ntkjam.cli``) are left out: their docstrings
are the ``--help`` texts, checked against docs/cli.md instead.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from doc_examples import public_objects

import ntkjam

HERE = Path(__file__).parent


def _listed() -> set[str]:
    names: set[str] = set()
    for path in sorted(HERE.glob("test_doc_examples_*.py")):
        if path.stem == Path(__file__).stem:
            continue
        names |= set(importlib.import_module(path.stem).MODULES)
    return names


def _modules_with_public_objects() -> set[str]:
    out = set()
    for info in pkgutil.walk_packages(ntkjam.__path__, "ntkjam."):
        leaf = info.name.rsplit(".", 1)[-1]
        if info.ispkg or leaf.startswith("_") or info.name.startswith("ntkjam.cli"):
            continue
        if public_objects(info.name):
            out.add(info.name)
    return out


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # ntkjam.plots, a moved module
def test_every_public_module_is_checked():
    missing = sorted(_modules_with_public_objects() - _listed())
    assert not missing, f"modules without docstring-example checks: {missing}"


def test_every_listed_module_defines_public_objects():
    """A listed module exists and still defines what it is checked for (a stale entry
    would pass vacuously)."""
    stale = sorted(name for name in _listed() if not public_objects(name))
    assert not stale, f"listed in a MODULES tuple but defines no public object: {stale}"
