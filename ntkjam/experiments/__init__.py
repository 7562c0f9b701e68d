"""Registered experiments: one module per study, each a pure task ``(params, seed) -> dict``.

Importing this package registers every experiment with :mod:`ntkjam.sweep.registry`
(the registry imports it when it looks up a name).  See ``docs/sweeps.md`` for the
task contract, ``docs/phase_diagram.md`` for the jamming phase diagram and
``docs/phase_diagram_trained.md`` for the same diagram with trained networks.
"""

from ntkjam.experiments import (
    kernel_summary,  # noqa: F401  (registers "kernel_summary")
    phase_diagram,  # noqa: F401  (registers "phase_diagram")
    trained,  # noqa: F401  (registers "trained_phase_diagram")
)
