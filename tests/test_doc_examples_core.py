"""The docstring examples of stages 0–3 (core, theory, data, kernels, losses, problem) run,
and none is missing.

The checks and what they require are in ``tests/doc_examples.py``.
"""

from __future__ import annotations

from doc_examples import stage_tests

#: The modules whose public objects must carry a runnable ``Examples`` section.
MODULES = (
    "ntkjam._validate",
    "ntkjam.core.deprecation",
    "ntkjam.core.device",
    "ntkjam.core.lazy",
    "ntkjam.core.limits",
    "ntkjam.core.params",
    "ntkjam.core.reprs",
    "ntkjam.core.status",
    "ntkjam.core.stopping",
    "ntkjam.core.processes",
    "ntkjam.core.threads",
    "ntkjam.core.train_state",
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
    "ntkjam.kernels.quadrature",
    "ntkjam.kernels.taylor",
    "ntkjam.kernels.recursion",
    "ntkjam.kernels.strips",
    "ntkjam.losses",
    "ntkjam.problem",
    "ntkjam.problem_inputs",
)


test_every_public_object_has_examples, test_docstring_examples_run = stage_tests(MODULES)
