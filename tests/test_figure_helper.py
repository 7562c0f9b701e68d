"""A second process drawing a figure beside this one (:mod:`ntkjam.figures.helper`).

* ``save_figures(..., helper=...)`` writes the same files, byte for byte (PNG), in the
  same order, as without a helper;
* a helper that dies before drawing leaves the figure to this process;
* ``only=`` draws a subset and refuses names it does not know.
"""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import pytest

from ntkjam import sweep
from ntkjam.analysis import analyze
from ntkjam.core.processes import stop_pool
from ntkjam.experiments.phase_diagram import phase_diagram_spec
from ntkjam.figures.helper import figure_helper
from ntkjam.figures.phase_diagram import FIGURES, save_figures


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pd")
    spec = phase_diagram_spec(P=(8,), phi_min=1.0, phi_max=3.0, phi_num=3, seeds=4)
    sweep.run(spec, output=tmp)
    return analyze(tmp, n_boot=10, distributions=False)


def _pngs(paths):
    return {p.name: p.read_bytes() for p in paths if p.suffix == ".png"}


def test_a_helper_draws_the_same_files_in_the_same_order(analysis, tmp_path):
    alone = save_figures(analysis, tmp_path / "alone", dpi=40)
    helper = figure_helper("ntkjam.figures.phase_diagram")
    try:
        shared = save_figures(analysis, tmp_path / "shared", dpi=40, helper=helper)
    finally:
        stop_pool(helper)
    assert [p.name for p in shared] == [p.name for p in alone]
    assert [p.name for p in alone] == [f"{n}.{f}" for f in ("png", "pdf") for n in FIGURES]
    assert _pngs(shared) == _pngs(alone)
    assert all(p.stat().st_size > 0 for p in shared)


class _DeadHelper:
    """Stands in for a helper whose process died: every call fails as a broken pool."""

    def __init__(self):
        self.calls = 0

    def submit(self, fn, *args, **kwargs):
        self.calls += 1
        fut = Future()
        fut.set_exception(BrokenProcessPool("the helper process died"))
        return fut


def test_the_figure_of_a_dead_helper_is_drawn_here(analysis, tmp_path):
    dead = _DeadHelper()
    paths = save_figures(analysis, tmp_path, formats="png", dpi=40, helper=dead)
    assert dead.calls == 1
    assert [p.name for p in paths] == [f"{n}.png" for n in FIGURES]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)


def test_only_draws_a_subset_and_checks_its_names(analysis, tmp_path):
    paths = save_figures(analysis, tmp_path, formats="png", dpi=40, only="crossings")
    assert [p.name for p in paths] == ["crossings.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crossings.png"]
    with pytest.raises(ValueError, match="only must name figures among"):
        save_figures(analysis, tmp_path, only=("sat_probability", "phase"))
