"""The docstring examples of the first group of experiment modules run, and none is
missing.

The checks and what they require are in ``tests/doc_examples.py``.
"""

from __future__ import annotations

from doc_examples import stage_tests

MODULES = (
    "ntkjam.experiments.adaptive_grid",
    "ntkjam.experiments.convergence",
    "ntkjam.experiments.diagram_spec",
    "ntkjam.experiments.fixed_points",
    "ntkjam.experiments.fluctuation_specs",
    "ntkjam.experiments.fluctuations",
    "ntkjam.experiments.generalization",
    "ntkjam.experiments.generalization_fits",
    "ntkjam.experiments.generalization_scores",
    "ntkjam.experiments.generalization_theory",
    "ntkjam.experiments.lazy_fit",
)


test_every_public_object_has_examples, test_docstring_examples_run = stage_tests(MODULES)
