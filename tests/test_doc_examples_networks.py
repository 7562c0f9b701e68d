"""The docstring examples of the networks and the lazy jamming solvers run, and none is
missing.

The checks and what they require are in ``tests/doc_examples.py``.
"""

from __future__ import annotations

from doc_examples import stage_tests

MODULES = (
    "ntkjam.networks.configs",
    "ntkjam.networks.backprop",
    "ntkjam.networks.empirical_ntk",
    "ntkjam.networks.function_space",
    "ntkjam.networks.lazy",
    "ntkjam.networks.mlp",
    "ntkjam.networks.optimizers",
    "ntkjam.networks.rank",
    "ntkjam.networks.tangents",
    "ntkjam.networks.training",
    "ntkjam.networks.trajectory",
    "ntkjam.jamming.certificates",
    "ntkjam.jamming.lp",
    "ntkjam.jamming.minimum",
    "ntkjam.jamming.newton",
)


test_every_public_object_has_examples, test_docstring_examples_run = stage_tests(MODULES)


def test_save_trajectory_returns_the_path_written(tmp_path):
    """numpy appends ``.npz`` to a name without it; the returned path is that file."""
    import numpy as np

    from ntkjam.networks.trajectory import (
        TrainResult,
        Trajectory,
        load_trajectory,
        save_trajectory,
    )

    arrays = {name: np.zeros(1) for name in Trajectory.__dataclass_fields__}
    result = TrainResult(status="sat", message="", steps=0, accepted=0, time=0.0,
                         params=[(np.ones((1, 1)), None)], trajectory=Trajectory(**arrays),
                         config={})
    for given, written in (("run", "run.npz"), ("run.npz", "run.npz"), ("a.b", "a.b.npz")):
        path = save_trajectory(result, tmp_path / given)
        assert path == tmp_path / written and path.is_file()
        assert load_trajectory(path)[1]["status"] == "sat"
