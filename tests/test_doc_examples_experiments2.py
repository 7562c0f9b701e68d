"""The docstring examples of the second group of experiment modules run, and none is
missing.

The checks and what they require are in ``tests/doc_examples.py``.
"""

from __future__ import annotations

from doc_examples import stage_tests

MODULES = (
    "ntkjam.experiments.diagram_features",
    "ntkjam.experiments.diagram_params",
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


test_every_public_object_has_examples, test_docstring_examples_run = stage_tests(MODULES)
