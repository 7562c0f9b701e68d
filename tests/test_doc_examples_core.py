"""The docstring examples of stages 0–3 run, and no public object lacks one.

Issue 14 asks that every public function and class have a numpy-style docstring with
shapes and an ``Examples`` section.  For the modules below (core, validation, linear
algebra, theory, data, kernels, losses and the problem: stages 0–3 of docs/design.md)
this test

* runs every docstring example with :mod:`doctest` (``NORMALIZE_WHITESPACE |
  ELLIPSIS``), including those of the jitted and ``custom_jvp`` functions that
  :class:`doctest.DocTestFinder` does not reach through a module; any failure fails
  the test, with the doctest report;
* checks that every public object *defined* in one of these modules — the functions
  and classes (jitted ones included) named in its ``__all__`` or its package's, or,
  for a module with neither, its top-level names without a leading underscore — has
  an ``Examples`` section.

The examples print shapes, booleans, integers or values rounded far above rounding
noise, so they do not depend on the machine's BLAS or CPU.
"""

from __future__ import annotations

import pytest
from doc_examples import check_examples_run, check_has_examples

#: The modules whose public objects must carry a runnable ``Examples`` section.
MODULES = (
    "ntkjam._validate",
    "ntkjam.core.deprecation",
    "ntkjam.core.device",
    "ntkjam.core.limits",
    "ntkjam.core.params",
    "ntkjam.core.reprs",
    "ntkjam.core.status",
    "ntkjam.core.stopping",
    "ntkjam.linalg",
    "ntkjam.theory.capacity",
    "ntkjam.theory.learning_curves",
    "ntkjam.theory.linear_ridge",
    "ntkjam.theory.random_features",
    "ntkjam.theory.replica",
    "ntkjam.data.datasets",
    "ntkjam.data.inputs",
    "ntkjam.data.labels",
    "ntkjam.kernels.activations",
    "ntkjam.kernels.analytic",
    "ntkjam.kernels.classic",
    "ntkjam.kernels.elementary",
    "ntkjam.kernels.expectations",
    "ntkjam.kernels.features",
    "ntkjam.kernels.taylor",
    "ntkjam.kernels.recursion",
    "ntkjam.kernels.strips",
    "ntkjam.losses",
    "ntkjam.problem",
)


@pytest.mark.parametrize("name", MODULES)
def test_every_public_object_has_examples(name):
    check_has_examples(name)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    check_examples_run(name)
