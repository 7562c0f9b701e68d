"""The docstring examples of the networks and jamming stages run, and none is missing.

Issue 14 asks that every public function and class have a numpy-style docstring with
shapes and an ``Examples`` section.  For the modules below (stage 4 of docs/design.md,
the finite networks, and the lazy-regime solvers of stage 5: LP certificate, exact
hinge minimum, finite Newton) this test

* runs every docstring example with :mod:`doctest` (``NORMALIZE_WHITESPACE |
  ELLIPSIS``); any failure fails the test, with the doctest report;
* checks that every public object *defined* in one of these modules — the functions
  and classes named in its ``__all__`` or its package's, or, for a module with
  neither, its top-level names without a leading underscore — has an ``Examples``
  section.
"""

from __future__ import annotations

import pytest
from doc_examples import check_examples_run, check_has_examples

MODULES = (
    "ntkjam.networks.configs",
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


@pytest.mark.parametrize("name", MODULES)
def test_every_public_object_has_examples(name):
    check_has_examples(name)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    check_examples_run(name)


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
