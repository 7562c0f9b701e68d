"""The docstring examples of the figures stage (and spectrum's comparisons) run, and none
is missing.

Issue 14 asks that every public function and class have a numpy-style docstring with
shapes and an ``Examples`` section.  For the modules below (stage 10 of docs/design.md,
and ``ntkjam.spectrum.compare``, which holds the panels the spectrum figures draw) this
test

* runs every docstring example with :mod:`doctest` (``NORMALIZE_WHITESPACE |
  ELLIPSIS``) in a scratch directory; any failure fails the test, with the doctest
  report;
* checks that every public object *defined* in one of these modules — the functions
  and classes named in its ``__all__`` or its package's, or, for a module with
  neither, its top-level names without a leading underscore — has an ``Examples``
  section.

The figure examples draw from tiny analyses (a few tasks run into a temporary
directory, or a result built from a handful of numbers) and write files only into a
``tempfile.TemporaryDirectory()``.
"""

from __future__ import annotations

import pytest
from doc_examples import check_examples_run, check_has_examples

MODULES = (
    "ntkjam.figures.common",
    "ntkjam.figures.flow",
    "ntkjam.figures.fluctuations",
    "ntkjam.figures.generalization",
    "ntkjam.figures.kernel_drift",
    "ntkjam.figures.phase_diagram",
    "ntkjam.figures.spectrum",
    "ntkjam.figures.sphere",
    "ntkjam.figures.trained",
    "ntkjam.figures.training",
    "ntkjam.spectrum.compare",
)


@pytest.mark.parametrize("name", MODULES)
def test_every_public_object_has_examples(name):
    check_has_examples(name)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    check_examples_run(name)
