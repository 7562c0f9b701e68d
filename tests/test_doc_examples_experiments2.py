"""The docstring examples of the experiments of group 2 run, and none is missing.

Issue 14 asks that every public function and class have a numpy-style docstring with
shapes and an ``Examples`` section.  For the modules below (the kernel-drift,
kernel-summary, phase-diagram, spectrum, sphere-jamming and trained-network studies of
stage 8 of docs/design.md, and the modules split out of them) this test

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
    "ntkjam.experiments.diagram_features",
    "ntkjam.experiments.kernel_drift",
    "ntkjam.experiments.kernel_drift_measures",
    "ntkjam.experiments.kernel_summary",
    "ntkjam.experiments.phase_diagram",
    "ntkjam.experiments.spectrum",
    "ntkjam.experiments.spectrum_predictions",
    "ntkjam.experiments.spectrum_sizes",
    "ntkjam.experiments.sphere_compression",
    "ntkjam.experiments.sphere_jamming",
    "ntkjam.experiments.trained",
)


@pytest.mark.parametrize("name", MODULES)
def test_every_public_object_has_examples(name):
    check_has_examples(name)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    check_examples_run(name)
