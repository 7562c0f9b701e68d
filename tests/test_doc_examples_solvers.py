"""The docstring examples of the solver, spectrum and sweep stages run, and none is missing.

Issue 14 asks that every public function and class have a numpy-style docstring with
shapes and an ``Examples`` section.  For the modules below (stages 5–7 of
docs/design.md) this test

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
    "ntkjam.dynamics.controller",
    "ntkjam.dynamics.descent",
    "ntkjam.dynamics.flow",
    "ntkjam.dynamics.mse",
    "ntkjam.dynamics.records",
    "ntkjam.dynamics.sources",
    "ntkjam.dynamics.stopping",
    "ntkjam.fixed_points",
    "ntkjam.jamming.compression",
    "ntkjam.jamming.sphere",
    "ntkjam.jamming.sphere_steps",
    "ntkjam.spectrum.funk_hecke",
    "ntkjam.spectrum.measured",
    "ntkjam.spectrum.operators",
    "ntkjam.spectrum.random_matrix",
    "ntkjam.spectrum.slq",
    "ntkjam.sweep.axes",
    "ntkjam.sweep.canonical",
    "ntkjam.sweep.execute",
    "ntkjam.sweep.executors",
    "ntkjam.sweep.plan",
    "ntkjam.sweep.reading",
    "ntkjam.sweep.registry",
    "ntkjam.sweep.results",
    "ntkjam.sweep.run",
    "ntkjam.sweep.spec",
    "ntkjam.sweep.store",
)


@pytest.mark.parametrize("name", MODULES)
def test_every_public_object_has_examples(name):
    check_has_examples(name)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    check_examples_run(name)
