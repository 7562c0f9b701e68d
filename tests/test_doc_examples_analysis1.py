"""The docstring examples of the analysis modules of the UNSAT side, the critical fits,
the fluctuations and the generalization study run, and none is missing.

Issue 14 asks that every public function and class have a numpy-style docstring with
shapes and an ``Examples`` section.  For the modules below (part of the analysis stage
of docs/design.md) this test

* runs every docstring example with :mod:`doctest` (``NORMALIZE_WHITESPACE |
  ELLIPSIS``); any failure fails the test, with the doctest report;
* checks that every public object *defined* in one of these modules — the functions
  and classes named in its ``__all__`` or its package's, or, for a module with
  neither, its top-level names without a leading underscore — has an ``Examples``
  section.

The examples read tiny real stores (a few tasks of a sweep, written into a temporary
directory) or small synthetic tables with a known law, so the whole file takes seconds.
"""

from __future__ import annotations

import pytest
from doc_examples import check_examples_run, check_has_examples

MODULES = (
    "ntkjam.analysis.approach",
    "ntkjam.analysis.critical_fits",
    "ntkjam.analysis.curve_peaks",
    "ntkjam.analysis.criticality",
    "ntkjam.analysis.fixed_points",
    "ntkjam.analysis.fluctuations",
    "ntkjam.analysis.generalization",
    "ntkjam.analysis.generalization_scaling",
    "ntkjam.analysis.generalization_theory",
    "ntkjam.analysis.hanin_nica",
    "ntkjam.analysis.kernel_ensembles",
    "ntkjam.analysis.jamming_critical",
)


@pytest.mark.parametrize("name", MODULES)
def test_every_public_object_has_examples(name):
    check_has_examples(name)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    check_examples_run(name)
