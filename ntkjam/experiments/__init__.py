"""Registered experiments: one module per study, a params model and a pure task.

Each study declares its parameters and their defaults once, as a
:class:`ntkjam.core.params.StudyParams` model (e.g. ``phase_diagram.PhaseDiagramParams``),
and a task ``(params, seed) -> dict``; the store keys tasks on the model's resolved
params.  :mod:`ntkjam.experiments.fields` holds the field types that need a physics
stage, :mod:`ntkjam.experiments.diagram_spec` the spec builder shared by the two phase
diagrams.

:data:`BUILTIN` names the module of each experiment: the registry
(:mod:`ntkjam.sweep.registry`) imports the one it looks up, which registers it, so a
process that runs one study imports that study only.  See ``docs/sweeps.md`` for the
task contract, ``docs/phase_diagram.md`` for the jamming phase diagram and
``docs/phase_diagram_trained.md`` for the same diagram with trained networks.
"""

import importlib

#: Experiment name → the module that registers it.
BUILTIN = {
    "generalization": "ntkjam.experiments.generalization",
    "kernel_drift": "ntkjam.experiments.kernel_drift",
    "kernel_fluctuations": "ntkjam.experiments.fluctuations",
    "kernel_summary": "ntkjam.experiments.kernel_summary",
    "ntk_diagonal_moments": "ntkjam.experiments.fluctuations",
    "phase_diagram": "ntkjam.experiments.phase_diagram",
    "sphere_jamming": "ntkjam.experiments.sphere_jamming",
    "trained_phase_diagram": "ntkjam.experiments.trained",
}


def __getattr__(name: str):
    # ``ntkjam.experiments.<module>`` without importing every study at package import.
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
