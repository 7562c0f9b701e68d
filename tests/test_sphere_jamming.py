"""The jamming study on the sphere: task, analysis (exponent fits), figures and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

import ntkjam.cli.sphere  # noqa: F401  (registers `jamming-sphere` on the app)
from ntkjam.analysis.critical_fits import (
    fit_exponent,
    isostaticity_interval,
    power_law_window,
    within_verdict,
)
from ntkjam.analysis.jamming_critical import GAMMA_THEORY, THETA_THEORY, analyze_sphere_jamming
from ntkjam.cli import app
from ntkjam.experiments.sphere_jamming import (
    build_sphere_problem,
    resolve_sphere_jamming,
    rs_jamming_margin,
    sphere_jamming_spec,
    sphere_jamming_task,
)
from ntkjam.sweep.registry import resolve
from ntkjam.sweep.spec import expand

runner = CliRunner()


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _touching_per_rank(out: dict) -> float:
    return (out["n_unsat"] + out["n_contacts"]) / out["rank"]


# ------------------------------------------------------------------------ the physics
def test_isostatic_at_jamming_kappa_minus_half():
    """κ = −0.5 (φ = α_RS(κ) = 4.77), P = 60: N_Δ/rank at jamming within 5 % of 1."""
    for seed in range(3):
        out = sphere_jamming_task({"P": 60, "margin": -0.5}, seed)
        assert out["compression"] == "jammed"
        assert abs(_touching_per_rank(out) - 1.0) <= 0.05
        assert out["kappa_sat"] < out["kappa_j"] < out["kappa_unsat"]
        assert out["kappa_unsat"] - out["kappa_sat"] <= 1e-5
        assert abs(out["kappa_j"] + 0.5) < 0.2  # lands near the target margin
        gaps, forces = out["arrays"]["gaps"], out["arrays"]["forces"]
        assert gaps.size == out["n_gaps"] and forces.size == out["n_unsat"]
        assert np.all(gaps > 0) and np.all(forces > 0)
        assert out["loss"] < 1e-9  # just above jamming: the overlaps vanish


def test_convex_side_is_hypostatic():
    """κ = 0.3 (convex): N_Δ/rank at jamming ≈ Φ(κ)·φ = 0.785 (RS), well below 1."""
    values = [_touching_per_rank(sphere_jamming_task({"P": 60, "margin": 0.3}, s))
              for s in range(3)]
    assert np.mean(values) < 0.92


def test_rank_deficient_source_posed_in_range_coordinates():
    """Truncated Taylor features on the sphere: rank < P; jammed isostatic in range(J)."""
    params = {"P": 60, "margin": -0.5, "source": "taylor_features", "d": 10}
    problem, info = build_sphere_problem(resolve_sphere_jamming(params), 0)
    assert info["rank"] <= info["n_params"]
    assert problem.n_features == info["rank"]
    assert abs(np.trace(problem.gram()) / problem.n_points - 1.0) < 1e-12  # mean K_ii = 1
    out = sphere_jamming_task(params, 0)
    assert abs(_touching_per_rank(out) - 1.0) <= 0.05


def test_same_params_and_seed_give_identical_results():
    a = sphere_jamming_task({"P": 40, "margin": -0.3}, 7)
    b = sphere_jamming_task({"P": 40, "margin": -0.3}, 7)
    arrays_a, arrays_b = a.pop("arrays"), b.pop("arrays")
    assert a == b
    for k in arrays_a:
        np.testing.assert_array_equal(arrays_a[k], arrays_b[k])
    c = sphere_jamming_task({"P": 40, "margin": -0.3}, 8)
    assert c["kappa_j"] != a["kappa_j"]


def test_rs_margin_inverts_the_capacity():
    assert abs(rs_jamming_margin(2.0)) < 1e-10  # α_c(0) = 2
    assert abs(rs_jamming_margin(4.770098882619387) + 0.5) < 1e-9


# ---------------------------------------------------------------------- exponent fits
def _power_samples(exponent: float, n_inst: int, size: int, seed: int) -> list[np.ndarray]:
    """Samples of density ∝ x^exponent on (0, 1]: x = U^{1/(1+exponent)}."""
    rng = np.random.default_rng(seed)
    return [rng.random(size) ** (1.0 / (1.0 + exponent)) for _ in range(n_inst)]


def _coverage(exponent: float, theory: float, negate: bool, fraction: float) -> int:
    """In how many of 5 synthetic data sets (6 instances × 1000) the CI holds ``theory``."""
    hits = 0
    for k in range(5):
        fit = fit_exponent(_power_samples(exponent, 6, 1000, 10 * k), name="x",
                           theory=theory, tail_fraction=fraction, negate=negate,
                           n_boot=100, seed=k)
        assert fit.tail.n_tail == pytest.approx(fraction * 6000, rel=0.01)
        hits += fit.ci_low <= theory <= fit.ci_high
    return hits


def test_gap_fit_recovers_a_known_exponent_within_its_ci():
    """Gaps of density ∝ h^{−γ}: the 95 % bootstrap CI holds γ in ≥ 4 of 5 data sets."""
    assert _coverage(-GAMMA_THEORY, GAMMA_THEORY, True, 0.2) >= 4
    # A uniform density (γ = 0, the convex case) is told apart from the theory.
    flat = fit_exponent(_power_samples(0.0, 12, 2000, 2), name="gamma", theory=GAMMA_THEORY,
                        tail_fraction=0.2, negate=True, n_boot=100, seed=1)
    assert not flat.consistent and abs(flat.value) < 3 * flat.err


def test_force_fit_recovers_a_known_exponent_within_its_ci():
    """Forces of density ∝ f^θ: the CI holds θ in ≥ 4 of 5; a wrong θ is refused."""
    assert _coverage(THETA_THEORY, THETA_THEORY, False, 0.3) >= 4
    assert _coverage(THETA_THEORY, 0.8, False, 0.3) == 0


def test_window_fit_leaves_out_a_depleted_bottom():
    """A power law depleted below x = 1e-3 (as in a finite system): the window fit from
    the 1 % quantile recovers γ, the fit from 0 is biased low."""
    rng = np.random.default_rng(4)
    x = rng.random(100_000) ** (1.0 / (1.0 - GAMMA_THEORY))
    x = x[(x > 1e-3) | (rng.random(x.size) < 0.2)]  # 80 % of the values below 1e-3 lost
    win = power_law_window(x, lower_fraction=0.01, tail_fraction=0.1)
    assert abs(-win.theta - GAMMA_THEORY) < 3 * win.theta_err
    low = power_law_window(x, lower_fraction=0.0, tail_fraction=0.1)
    assert -low.theta < GAMMA_THEORY - 3 * low.theta_err


def test_isostatic_verdict_only_where_the_interval_supports_it():
    m, lo, hi = isostaticity_interval([1.0, 1.0, 1.001, 1.0])
    assert lo <= m <= hi and within_verdict(lo, hi) == "isostatic"
    assert within_verdict(*isostaticity_interval([0.78, 0.8, 0.79])[1:]) == "hypostatic"
    assert within_verdict(*isostaticity_interval([0.9, 1.1])[1:]) == "undetermined"
    assert within_verdict(float("nan"), 1.0) == "undetermined"


# ------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("params", "match"), [
    ({"P": 50, "margin": -0.5, "constraint": "none"}, "margin = -0.5 < 0 needs a norm"),
    ({"P": 50, "margin": 0.5, "constraint": "none"}, "constraint 'none'"),
    ({"P": 50, "margin": float("inf")}, "margin must be finite"),
    ({"P": 50, "margin": float("nan")}, "margin must be finite"),
    ({"P": 50, "margin": -0.5, "norm": 0.0}, "norm must be > 0"),
    ({"P": 50, "margin": -0.5, "norm": -2.0}, "norm must be > 0"),
    ({"P": 50, "margin": -0.5, "norm": float("inf")}, "norm must be finite"),
    ({"P": 50, "margin": -0.5, "phi": 3.0}, "exactly one"),
    ({"P": 50}, "exactly one"),
    ({"P": 50, "margin": -0.5, "source": "nope"}, "source must be one of"),
])
def test_bad_parameters_are_refused_naming_the_option(params, match):
    with pytest.raises(ValueError, match=match):
        resolve_sphere_jamming(params)


@pytest.mark.parametrize(("args", "option"), [
    (["--margin", "-0.5", "--constraint", "none"], "--constraint sphere"),
    (["--margin", "inf"], "--margin"),
    (["--margin", "nan"], "--margin"),
    (["--margin", "-0.5", "--norm", "0"], "--norm"),
    (["--margin", "-0.5", "--norm", "-1"], "--norm"),
    (["--phi", "0"], "--phi"),
    ([], "--margin"),
])
def test_cli_bad_input_one_line_exit_2_before_any_work(tmp_path, args, option):
    out = tmp_path / "run"
    res = runner.invoke(app, ["jamming-sphere", "--P", "20", *args, "--output", str(out)])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert option in text and "error:" in text
    assert not out.exists()


# ----------------------------------------------------------- sweep, analysis, CLI
def test_registered_with_resolved_params():
    p = resolve("sphere_jamming")
    assert callable(p)
    spec = sphere_jamming_spec(P=[20, 30], margin=[-0.5], seeds=2)
    assert spec.experiment == "sphere_jamming" and len(expand(spec)) == 4
    with pytest.raises(ValueError, match="margin must be finite"):
        sphere_jamming_spec(P=[20], margin=[float("nan")])


def test_cli_end_to_end_tiny_grid_resumes(tmp_path):
    out = tmp_path / "run"
    args = ["jamming-sphere", "--P", "30,40", "--margin", "-0.5,0.3", "--seeds", "2",
            "--n-boot", "20", "--output", str(out), "--quiet"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "0.41269" in res.output and "N_Δ/rank" in res.output
    assert "isostatic" in res.output and "convex" in res.output
    data = json.loads((out / "analysis.json").read_text())
    assert len(data["points"]) == 4
    for ext in ("png", "pdf"):
        assert (out / "figures" / f"sphere_distributions.{ext}").stat().st_size > 0
        assert (out / "figures" / f"sphere_jamming_line.{ext}").stat().st_size > 0
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "8 already stored" in again.output
    a = analyze_sphere_jamming(out, n_boot=10)
    convex = [p for p in a.points if p.convex]
    assert convex and all(p.value == 0.3 for p in convex)
    assert all(p.isostatic == "isostatic" for p in a.points if not p.convex)


@pytest.mark.slow
def test_isostatic_jamming_at_P_1000():
    """One instance at P = 1000, κ = −0.5 (N = 4770): about 1–2 minutes on one core."""
    out = sphere_jamming_task({"P": 1000, "margin": -0.5}, 0)
    assert abs(_touching_per_rank(out) - 1.0) <= 0.01
    assert abs(out["kappa_j"] + 0.5) < 0.05
