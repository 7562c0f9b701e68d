"""The adaptive φ grid: its stages on synthetic outcomes, and its rounds through the engine."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr
from typer.testing import CliRunner

from ntkjam.analysis import analyze, fit_counts
from ntkjam.experiments.adaptive_grid import (
    DESIGN_ROUNDS,
    DESIGN_Z,
    PROBE_POINTS,
    next_points,
    run_adaptive,
)


def _fit(phi, k, n):
    return fit_counts(phi, k, n, "erf")


def _simulate(phi_c, width, n_params, seeds=100, probe_seeds=10, seed=0, n_range=(1000, 3000)):
    """Drive :func:`next_points` to the end on Bernoulli outcomes of a known crossing."""
    rng = np.random.default_rng(seed)
    draws: dict[int, list[bool]] = {}
    design: dict[int, int] = {}
    rounds = 0
    stages = []
    for _ in range(30):
        results = {n: (int(sum(draws[n][:c])), c) for n, c in design.items()}
        new, stage, c, w, note = next_points(
            results, design, n_params=n_params, n_range=n_range, seeds=seeds,
            probe_seeds=probe_seeds, design_rounds=rounds, fit=_fit)
        stages.append(stage)
        if not new:
            return design, stages, (c, w), note
        rounds += stage == "design"
        for n, count in new.items():
            p = float(ndtr((phi_c - n / n_params) / width))
            have = draws.setdefault(n, [])
            have += list(rng.random(count - len(have)) < p)
        design.update(new)
    raise AssertionError("the design did not end")


def test_first_round_probes_the_range_evenly():
    new, stage, *_ = next_points({}, {}, n_params=100, n_range=(100, 300), seeds=50,
                                 probe_seeds=10, design_rounds=0, fit=_fit)
    assert stage == "probe" and new == {n: 10 for n in (100, 150, 200, 250, 300)}
    assert len(new) == PROBE_POINTS


def test_separated_outcomes_are_bisected_between_the_last_sat_and_first_unsat_point():
    design = {100: 10, 150: 10, 200: 10, 250: 10, 300: 10}
    results = {100: (10, 10), 150: (10, 10), 200: (0, 10), 250: (0, 10), 300: (0, 10)}
    new, stage, *_ = next_points(results, design, n_params=100, n_range=(100, 300), seeds=50,
                                 probe_seeds=10, design_rounds=0, fit=_fit)
    assert stage == "bracket" and new == {162: 10, 175: 10, 188: 10}


def test_one_sided_outcomes_end_the_design_with_a_bound():
    design = {100: 10, 300: 10}
    for results, word in (({100: (10, 10), 300: (10, 10)}, "SAT"),
                          ({100: (0, 10), 300: (0, 10)}, "UNSAT")):
        new, stage, _, _, note = next_points(results, design, n_params=100,
                                             n_range=(100, 300), seeds=50, probe_seeds=10,
                                             design_rounds=0, fit=_fit)
        assert new == {} and stage == "done" and f"every instance {word}" in note


@pytest.mark.parametrize("seed", [0, 1])
def test_the_design_converges_on_the_crossing_with_few_points(seed):
    # P = 1000: a transition 0.045 wide at φ_c = 2.003, searched over φ in [1, 3].
    design, stages, (phi_c, width), _ = _simulate(2.003, 0.045, 1000, seed=seed)
    assert stages[0] == "probe" and "design" in stages and stages[-1] == "done"
    full = sorted(n for n, k in design.items() if k == 100)
    # The design points sit within three widths of the true crossing, at least one on
    # each side of it and one within a width.
    assert len(DESIGN_Z) <= len(full) <= len(DESIGN_Z) * DESIGN_ROUNDS
    z = (np.array(full) / 1000 - 2.003) / 0.045
    assert np.all(np.abs(z) < 3) and z.min() < 0 < z.max() and np.min(np.abs(z)) < 1
    assert abs(phi_c - 2.003) < 0.02 and 0.5 < width / 0.045 < 2.0
    # Far fewer instances than a uniform grid of 41 points × 100 seeds (4100).
    assert sum(design.values()) < 900


def test_the_design_is_a_function_of_the_results_only():
    a = _simulate(1.95, 0.1, 200, n_range=(200, 600), seed=4)
    b = _simulate(1.95, 0.1, 200, n_range=(200, 600), seed=4)
    assert a[0] == b[0] and a[1] == b[1]


def test_rounds_through_the_engine_resume_and_analyze(tmp_path):
    params = dict(source="relu_features", d=5, lp_fraction=0.0, store_arrays=False)
    kw = dict(P=[12], phi_min=1.0, phi_max=3.0, seeds=8, output=tmp_path / "run",
              params=params, fit=_fit, probe_seeds=4)
    first = run_adaptive(**kw)
    assert first.done == first.total > 0 and first.skipped == 0 and first.failed_total == 0
    (d,) = first.designs
    assert d.stage == "done" and max(d.points.values()) == 8
    again = run_adaptive(**kw)  # replayed from the store: nothing runs, same grid
    assert again.done == 0 and again.skipped == again.total == first.total
    assert again.designs[0].points == d.points
    a = analyze(tmp_path / "run", n_boot=20, distributions=False)
    assert a.n_done == first.total and np.isfinite(a.crossings[0].phi_c)


def test_the_cli_refuses_an_unknown_grid(tmp_path):
    from ntkjam.cli import app

    out = tmp_path / "x"
    res = CliRunner().invoke(app, ["phase-diagram", "--grid", "dense", "-o", str(out)])
    assert res.exit_code == 2
    assert "--grid must be one of uniform, adaptive, got 'dense'" in res.output
    assert not out.exists()
