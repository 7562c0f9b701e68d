"""Registered experiments: one module per study, a params model and a pure task.

Each study declares its parameters and their defaults once, as a
:class:`ntkjam.core.params.StudyParams` model (e.g. ``phase_diagram.PhaseDiagramParams``),
and a task ``(params, seed) -> dict``; the store keys tasks on the model's resolved
params.  :mod:`ntkjam.experiments.fields` holds the field types that need a physics
stage, :mod:`ntkjam.experiments.diagram_spec` the spec builder shared by the two phase
diagrams.

Importing this package registers every experiment with :mod:`ntkjam.sweep.registry`
(the registry imports it when it looks up a name).  See ``docs/sweeps.md`` for the
task contract, ``docs/phase_diagram.md`` for the jamming phase diagram and
``docs/phase_diagram_trained.md`` for the same diagram with trained networks.
"""

from ntkjam.experiments import (
    fluctuations,  # noqa: F401  (registers "kernel_fluctuations", "ntk_diagonal_moments")
    generalization,  # noqa: F401  (registers "generalization")
    kernel_drift,  # noqa: F401  (registers "kernel_drift")
    kernel_summary,  # noqa: F401  (registers "kernel_summary")
    phase_diagram,  # noqa: F401  (registers "phase_diagram")
    sphere_jamming,  # noqa: F401  (registers "sphere_jamming")
    trained,  # noqa: F401  (registers "trained_phase_diagram")
)
