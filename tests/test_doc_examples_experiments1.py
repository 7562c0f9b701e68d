"""The docstring examples of the first group of experiment modules run, and none is missing.

Issue 14 asks that every public function and class have a numpy-style docstring with
shapes and an ``Examples`` section.  For the modules below (stage 8 of docs/design.md:
the adaptive grid, the training-to-convergence loop, the phase-diagram spec builder and
the fixed-point, fluctuation and generalization studies) this test

* runs every docstring example with :mod:`doctest` (``NORMALIZE_WHITESPACE |
  ELLIPSIS``); any failure fails the test, with the doctest report;
* checks that every public object *defined* in one of these modules — the functions
  and classes named in its ``__all__`` or its package's, or, for a module with
  neither, its top-level names without a leading underscore — has an ``Examples``
  section.
"""

from __future__ import annotations

import pytest
from doc_examples import check_examples_run, check_has_examples

MODULES = (
    "ntkjam.experiments.adaptive_grid",
    "ntkjam.experiments.convergence",
    "ntkjam.experiments.diagram_spec",
    "ntkjam.experiments.fixed_points",
    "ntkjam.experiments.fluctuation_specs",
    "ntkjam.experiments.fluctuations",
    "ntkjam.experiments.generalization",
    "ntkjam.experiments.generalization_fits",
    "ntkjam.experiments.generalization_theory",
    "ntkjam.experiments.lazy_fit",
)


@pytest.mark.parametrize("name", MODULES)
def test_every_public_object_has_examples(name):
    check_has_examples(name)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    check_examples_run(name)
