"""The docstring examples of the solver, spectrum and sweep stages run, and none is
missing.

The checks and what they require are in ``tests/doc_examples.py``.
"""

from __future__ import annotations

from doc_examples import stage_tests

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
    "ntkjam.jamming.sphere_geometry",
    "ntkjam.jamming.sphere_steps",
    "ntkjam.spectrum.funk_hecke",
    "ntkjam.spectrum.measured",
    "ntkjam.spectrum.operators",
    "ntkjam.spectrum.random_matrix",
    "ntkjam.spectrum.silverstein",
    "ntkjam.spectrum.slq",
    "ntkjam.spectrum.spectral_law",
    "ntkjam.sweep.axes",
    "ntkjam.sweep.canonical",
    "ntkjam.sweep.execute",
    "ntkjam.sweep.executors",
    "ntkjam.sweep.local_pool",
    "ntkjam.sweep.local_cluster",
    "ntkjam.sweep.placement",
    "ntkjam.sweep.plan",
    "ntkjam.sweep.progress",
    "ntkjam.sweep.reading",
    "ntkjam.sweep.registry",
    "ntkjam.sweep.results",
    "ntkjam.sweep.run",
    "ntkjam.sweep.spec",
    "ntkjam.sweep.store",
)


test_every_public_object_has_examples, test_docstring_examples_run = stage_tests(MODULES)
