"""The docstring examples of the analysis of the UNSAT side, the critical fits,
fluctuations and generalization run, and none is missing.

The checks and what they require are in ``tests/doc_examples.py``.
"""

from __future__ import annotations

from doc_examples import stage_tests

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


test_every_public_object_has_examples, test_docstring_examples_run = stage_tests(MODULES)
