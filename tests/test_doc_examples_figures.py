"""The docstring examples of the figures stage (and spectrum's comparisons) run, and none
is missing.

The checks and what they require are in ``tests/doc_examples.py``.
"""

from __future__ import annotations

from doc_examples import stage_tests

MODULES = (
    "ntkjam.figures.common",
    "ntkjam.figures.helper",
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


test_every_public_object_has_examples, test_docstring_examples_run = stage_tests(MODULES)
