"""Tests of the trained-network phase diagram: the compiled training loop, the task,
its analysis and the `ntkjam trained-diagram` command."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from ntkjam.analysis import analyze_trained, lazy_reference, trained_curves
from ntkjam.analysis.trained import trained_scaling
from ntkjam.cli import app
from ntkjam.data import random_labels, sphere
from ntkjam.experiments.trained import (
    STATUSES,
    check_params,
    lr_scale,
    network_width,
    train_to_convergence,
    trained_spec,
    trained_task,
)
from ntkjam.networks import (
    GD,
    Budget,
    SATReached,
    UNSATConverged,
    empirical_ntk,
    init_params,
    mlp,
    train,
)
from ntkjam.sweep.registry import names, resolve

runner = CliRunner()

# A tiny task: d = 3, width 4 (P = 16, Jacobian rank 12), short budget.
TINY = {"P": 16, "d": 3, "max_steps": 4000, "window": 500}


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _stop(window=500, rtol=1e-4, max_steps=4000):
    return (SATReached(), UNSATConverged(window=window, rtol=rtol), Budget(max_steps=max_steps))


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"P": 10, "phi": 0.0}, "phi must be > 0"),
        ({"P": 0, "phi": 1.0}, "P must be >= 1"),
        ({"P": 10, "phi": 1.0, "alpha": 0.0}, "alpha must be > 0"),
        ({"P": 10, "phi": 1.0, "margin": float("inf")}, "margin must be finite"),
        ({"P": 10, "phi": 1.0, "lr": 2.5}, "lr must be < 2"),
        ({"P": 10, "phi": 1.0, "step_rule": "magic"}, "step_rule must be one of"),
        ({"P": 10, "phi": 1.0, "momentum": 1.0}, "momentum must be in"),
        ({"P": 10, "phi": 1.0, "labels": "parity"}, "labels must be one of"),
        ({"P": 10, "phi": 1.0, "window": 0}, "window must be >= 1"),
        ({"P": 10, "phi": 1.0, "width": 3}, "unknown parameter 'width'"),
        ({"P": 10}, "parameter 'phi' is required"),
    ],
)
def test_check_params_rejects_bad_input(params, match):
    with pytest.raises(ValueError, match=match):
        check_params(params)


def test_network_width_matches_the_lazy_source():
    assert network_width(72, 5) == 12
    assert network_width(16, 3) == 4
    assert network_width(1, 10) == 1


def test_train_to_convergence_rejects_bad_input():
    net = mlp(3, 4)
    params = init_params(net, 0)
    X, y = sphere(8, 3, seed=0), random_labels(8, seed=1)
    with pytest.raises(ValueError, match="exactly one of lr"):
        train_to_convergence(net, params, X, y)
    with pytest.raises(ValueError, match="exactly one of lr"):
        train_to_convergence(net, params, X, y, lr=1.0, lr_fraction=1.0)
    with pytest.raises(ValueError, match="lr_fraction must be < 2"):
        train_to_convergence(net, params, X, y, lr_fraction=2.0)
    with pytest.raises(ValueError, match="time_window"):
        train_to_convergence(net, params, X, y, lr=1.0, stop=(
            SATReached(), UNSATConverged(time_window=1.0), Budget()))
    with pytest.raises(ValueError, match="exactly one SATReached"):
        train_to_convergence(net, params, X, y, lr=1.0, stop=(SATReached(), Budget()))
    with pytest.raises(ValueError, match="y must contain only -1 and"):
        train_to_convergence(net, params, X, np.full(8, 0.5), lr=1.0)


def test_spec_grid_validation_and_registry():
    spec = trained_spec(P=[16], alpha=[10, 1.0], phi_min=0.5, phi_max=1.5, phi_num=3, seeds=2,
                        d=3)
    assert spec.experiment == "trained_phase_diagram"
    assert spec.grid == {"P": (16,), "alpha": (1.0, 10.0), "phi": (0.5, 1.0, 1.5)}
    assert spec.n_tasks == 12
    assert "trained_phase_diagram" in names()
    assert resolve("trained_phase_diagram") is trained_task
    with pytest.raises(ValueError, match="alpha must not repeat"):
        trained_spec(alpha=[1.0, 1.0])
    with pytest.raises(ValueError, match="alpha must list at least one"):
        trained_spec(alpha=[])
    with pytest.raises(ValueError, match="alpha must be > 0"):
        trained_spec(alpha=[-1.0])
    with pytest.raises(ValueError, match="grid axis"):
        trained_spec(alpha=[1.0], phi=1.0)
    with pytest.raises(ValueError, match="momentum"):
        trained_spec(momentum=2.0)


# ------------------------------------------------------------------- the training loop
def test_fixed_step_loop_takes_the_steps_of_networks_train():
    """With a fixed step the compiled loop is ntkjam.networks.train with GD(lr)."""
    net = mlp(3, 4)
    params = init_params(net, 3)
    X, y = sphere(18, 3, seed=1), random_labels(18, seed=2)
    stop = _stop(window=300, rtol=1e-4, max_steps=3000)
    for alpha in (30.0,):
        ours = train_to_convergence(net, params, X, y, alpha=alpha, lr=2.0, stop=stop,
                                    sat_tol=1e-9)
        ref = train(net, params, X, y, alpha=alpha, optimizer=GD(lr=2.0), stop=stop,
                    records_per_decade=1, kernel_times=[])
        assert ours.status == ref.status
        assert ours.steps == ref.steps
        assert ours.time == ref.time
        assert ours.loss == pytest.approx(ref.trajectory.loss[-1], rel=1e-9, abs=1e-18)
        np.testing.assert_allclose(ours.outputs, ref.trajectory.f_train[-1], rtol=1e-9,
                                   atol=1e-12)


def test_tracked_step_is_plain_gd_in_the_lazy_regime():
    """At large α the kernel does not move: lr_t = lr · N/λ_max(K_0) throughout."""
    net = mlp(3, 4)
    params = init_params(net, 5)
    X, y = sphere(10, 3, seed=3), random_labels(10, seed=4)
    stop = _stop(window=200, max_steps=800)
    lr = lr_scale(empirical_ntk(net, params, X))
    tracked = train_to_convergence(net, params, X, y, alpha=1e5, lr_fraction=1.0, stop=stop)
    fixed = train_to_convergence(net, params, X, y, alpha=1e5, lr=lr, stop=stop)
    assert tracked.status == fixed.status
    assert tracked.lr_initial == pytest.approx(lr, rel=1e-12)
    assert tracked.lr_final == pytest.approx(lr, rel=1e-4)
    assert abs(tracked.steps - fixed.steps) <= 2
    assert tracked.time == pytest.approx(fixed.time, rel=1e-3)


def test_zero_momentum_is_gradient_descent_bit_for_bit():
    net = mlp(3, 4)
    params = init_params(net, 0)
    X, y = sphere(12, 3, seed=5), random_labels(12, seed=6)
    a = train_to_convergence(net, params, X, y, alpha=3.0, lr=1.0, stop=_stop(max_steps=800))
    b = train_to_convergence(net, params, X, y, alpha=3.0, lr=1.0, momentum=0.0,
                             stop=_stop(max_steps=800))
    assert (a.status, a.steps) == (b.status, b.steps)
    np.testing.assert_array_equal(a.outputs, b.outputs)


def test_kernel_change_falls_like_one_over_alpha():
    """At a fixed number of steps (fixed function-space time) ‖K_T − K_0‖ ∝ 1/α.

    For ReLU this holds once no unit changes sign on a training point (then K is
    linear in the weight change); at α = 100 one does here, and K jumps by 0.13
    instead of 0.01 — hence α ≥ 1000.
    """
    net = mlp(3, 8)
    params = init_params(net, 1)
    X, y = sphere(40, 3, seed=7), random_labels(40, seed=8)  # UNSAT: never stops early
    K0 = empirical_ntk(net, params, X)
    lr = lr_scale(K0)
    stop = (SATReached(), UNSATConverged(window=10_000, rtol=0.0), Budget(max_steps=300))
    change, outputs = [], []
    for alpha in (1e3, 1e4, 1e5):
        res = train_to_convergence(net, params, X, y, alpha=alpha, lr=lr, stop=stop)
        assert res.status == "budget" and res.steps == 300
        change.append(np.linalg.norm(empirical_ntk(net, res.params, X) - K0) / np.linalg.norm(K0))
        outputs.append(res.outputs)
    assert change[0] / change[1] == pytest.approx(10.0, rel=0.01)
    assert change[1] / change[2] == pytest.approx(10.0, rel=0.01)
    # ... while the outputs converge to the lazy ones.
    assert np.linalg.norm(outputs[1] - outputs[2]) < 0.2 * np.linalg.norm(outputs[0] - outputs[2])


# --------------------------------------------------------------------------- the task
def _check_row(out, max_steps=TINY["max_steps"], window=TINY["window"]):
    assert out["train_status"] in STATUSES
    # Each stopping rule's own condition holds at the end (not the definitions of the
    # derived columns, which could not fail): SAT ⇔ N_Δ = 0 recomputed from the outputs,
    # the budget ⇔ max_steps steps, UNSAT not before one window of steps.
    assert out["sat"] == (out["n_delta"] == 0) == (out["n_delta_frac"] == 0.0)
    if out["train_status"] == "budget":
        assert out["steps"] == max_steps and not out["sat"]
    assert out["decided"] or out["steps"] == max_steps
    assert out["steps"] <= max_steps
    if out["train_status"] == "unsat":
        assert out["steps"] >= window and out["loss"] > 0
    assert out["lazy_verdict"] in ("sat", "unsat")
    assert out["n_params"] % out["width"] == 0
    assert 1 <= out["rank"] <= out["n_params"] - out["width"]  # ReLU rescaling symmetry
    assert 0.0 <= out["cover"] <= 1.0
    assert out["steps"] >= 1 and out["time"] > 0
    assert out["kernel_change"] >= 0 and out["weight_change"] > 0
    if out["sat"]:
        assert out["loss"] < 1e-10
    if out["train_status"] == "unsat":
        assert out["loss"] > 0


def test_task_is_deterministic():
    params = {**TINY, "phi": 1.0, "alpha": 10.0}
    a, b = trained_task(params, 11), trained_task(params, 11)
    a.pop("train_seconds"), b.pop("train_seconds")
    assert a == b
    _check_row(a)
    c = trained_task(params, 12)
    c.pop("train_seconds")
    assert c != a


def test_few_points_always_fit_in_the_lazy_regime():
    """N ≤ rank(J): the lazy problem is SAT for every instance (J has full row rank),
    and a lazy network (α = 10⁴) reaches SAT.  (In the feature regime it need not:
    at α = 1 two of these three width-4 networks get stuck at a positive loss.)"""
    for seed in range(3):
        out = trained_task({**TINY, "phi": 0.3, "alpha": 1e4, "max_steps": 20_000}, seed)
        _check_row(out, max_steps=20_000)
        assert out["n"] <= out["rank"]
        assert out["lazy_sat"]
        assert out["train_status"] == "sat", out
        assert out["kernel_change"] < 1e-3


def test_many_points_never_fit_in_the_lazy_regime():
    """N = 3.5 P ≫ 2·rank: the lazy verdict is UNSAT (Cover: P(SAT) < 1e-5), and a very
    lazy network (α = 10⁵) never reaches SAT."""
    for seed in range(2):
        out = trained_task({**TINY, "phi": 3.5, "alpha": 1e5}, seed)
        _check_row(out)
        assert out["cover"] < 1e-5
        assert not out["lazy_sat"]
        assert out["train_status"] in ("unsat", "budget")
        assert out["loss"] > 0.01
        assert out["kernel_change"] < 1e-3


# ------------------------------------------------------------------------- analysis
def _synthetic_table():
    """A trained sweep table with known outcome counts (P = 20, rank 16, 4 seeds)."""
    rows = []
    outcomes = {  # per (alpha, n): list of train_status over seeds
        (1.0, 10): ["sat"] * 4,
        (1.0, 20): ["sat", "sat", "max_steps", "unsat"],
        (1.0, 30): ["max_steps", "unsat", "unsat", "unsat"],
        (1.0, 40): ["unsat"] * 4,
        (100.0, 10): ["sat"] * 4,
        (100.0, 20): ["sat", "max_steps", "max_steps", "max_steps"],
        (100.0, 30): ["max_steps", "max_steps", "sat", "unsat"],
        (100.0, 40): ["max_steps", "unsat", "unsat", "unsat"],
    }
    lazy = {10: [True] * 4, 20: [True] * 4, 30: [True, True, False, False], 40: [False] * 4}
    for (alpha, n), statuses in outcomes.items():
        for seed, st in enumerate(statuses):
            rows.append({
                "P": 20, "alpha": alpha, "phi": n / 20, "seed": seed, "n": n, "n_params": 20,
                "rank": 16, "train_status": st, "sat": st == "sat", "lazy_sat": lazy[n][seed],
                "kernel_change": 10.0 / alpha, "steps": 100, "cover": 0.5, "status": "done",
            })
    return pd.DataFrame(rows)


def test_trained_curves_bracket_the_undecided_runs():
    curves = trained_curves(_synthetic_table(), n_boot=20)
    assert [(c.P, c.alpha) for c in curves] == [(20, 1.0), (20, 100.0)]
    c1, c100 = curves
    np.testing.assert_array_equal(c1.sat.n_sat, [4, 2, 0, 0])
    np.testing.assert_array_equal(c1.sat_upper.n_sat, [4, 3, 1, 0])
    np.testing.assert_array_equal(c1.n_unsat, [0, 1, 3, 4])
    np.testing.assert_array_equal(c100.n_max_steps, [0, 3, 2, 1])
    # Disagreements with the lazy verdict (lazy SAT at n = 10, 20; seeds 0, 1 at n = 30).
    np.testing.assert_array_equal(c1.n_stuck, [0, 1, 1, 0])
    np.testing.assert_array_equal(c1.n_beyond_lazy, [0, 0, 0, 0])
    np.testing.assert_array_equal(c100.n_beyond_lazy, [0, 0, 1, 0])
    np.testing.assert_array_equal(c100.n_stuck, [0, 0, 0, 0])
    for c in curves:
        assert np.all(c.sat.p_sat <= c.sat_upper.p_sat)
        assert c.crossing.phi_c <= c.crossing_upper.phi_c
        np.testing.assert_allclose(c.kernel_change, 10.0 / c.alpha)
    # α = 1: P(SAT) = 1, ½, 0, 0 at φ = 0.5, 1, 1.5, 2 → the crossing is near φ = 1.
    assert 0.8 < c1.crossing.phi_c < 1.2
    # Decided runs at α = 1: 4 + 3 SAT/UNSAT at n = 10, 20 (lazy SAT: 6 agree),
    # 3 UNSAT at n = 30 (lazy: True, False, False for seeds 1–3: 2 agree), 4 at n = 40.
    assert c1.n_decided == 14
    assert c1.agreement == pytest.approx((4 + 2 + 2 + 4) / 14)


def test_lazy_reference_pools_alphas_and_uses_lazy_verdicts():
    curves, cross = lazy_reference(_synthetic_table(), n_boot=20)
    (lz,) = curves
    np.testing.assert_array_equal(lz.n_total, [8, 8, 8, 8])
    np.testing.assert_array_equal(lz.n_sat, [8, 8, 4, 0])
    assert cross[0].phi_c == pytest.approx(1.5, abs=0.1)


def test_trained_analysis_rejects_other_tables():
    df = _synthetic_table().drop(columns=["train_status"])
    with pytest.raises(ValueError, match="train_status"):
        trained_curves(df)
    df = _synthetic_table()
    df.loc[0, "train_status"] = "maybe"
    with pytest.raises(ValueError, match="train_status must be one of"):
        trained_curves(df)


def _sized_table(shift: float, sizes=(40, 80, 160), seeds: int = 40):
    """P(SAT) = Φ((φ_c(P) − φ)/w(P)) as exact counts over ``seeds``, at three sizes.

    φ_c(P) = 1.5 − shift · P^(−1/2), w(P) = 2 P^(−1/2); the lazy verdicts are the same.
    """
    from scipy.special import ndtr

    rows = []
    for P in sizes:
        phi_c, w = 1.5 - shift / math.sqrt(P), 2.0 / math.sqrt(P)
        for phi in np.linspace(0.9, 2.1, 13):
            k = round(seeds * float(ndtr((phi_c - phi) / w)))
            n = round(phi * P)
            for seed in range(seeds):
                rows.append({
                    "P": P, "alpha": 10.0, "phi": phi, "seed": seed, "n": n,
                    "n_params": P, "rank": P, "train_status": "sat" if seed < k else "unsat",
                    "sat": seed < k, "lazy_sat": seed < k, "kernel_change": 0.1,
                    "steps": 100, "cover": 0.5, "status": "done",
                })
    return pd.DataFrame(rows)


def test_trained_scaling_recovers_a_known_finite_size_law():
    df = _sized_table(shift=3.0)
    curves = trained_curves(df, n_boot=30)
    _, lazy = lazy_reference(df, n_boot=30)
    lower, upper, lz = trained_scaling(curves, lazy)
    assert (lower.bound, upper.bound, lz.bound) == ("lower", "upper", "lazy")
    assert lower.alpha == 10.0 and math.isnan(lz.alpha)
    np.testing.assert_array_equal(lower.P, [40, 80, 160])
    np.testing.assert_allclose(lower.n_star, lower.phi_c * lower.P)
    # The crossings follow 1.5 − 3/√P (counts rounded: a few per cent of the shift).
    np.testing.assert_allclose(lower.phi_c, 1.5 - 3.0 / np.sqrt(lower.P), atol=0.03)
    fit = lower.fit
    assert fit.inv_nu == pytest.approx(0.5, abs=0.1)
    assert abs(fit.phi_c_inf - 1.5) < max(3 * fit.phi_c_inf_err, 0.05)
    assert lower.verdict == "shifts with P" and lz.verdict == "shifts with P"
    # No budget runs: the two bounds are the same curve.
    np.testing.assert_array_equal(lower.phi_c, upper.phi_c)


def test_trained_scaling_says_when_no_shift_is_resolved_or_too_few_sizes():
    df = _sized_table(shift=0.0)
    (lower, _, _) = trained_scaling(trained_curves(df, n_boot=30),
                                    lazy_reference(df, n_boot=30)[1])
    assert lower.verdict == "no shift resolved"
    assert lower.fit.phi_c_inf == pytest.approx(1.5, abs=0.03)
    df = _sized_table(shift=3.0, sizes=(40, 160))
    (lower, _, _) = trained_scaling(trained_curves(df, n_boot=30),
                                    lazy_reference(df, n_boot=30)[1])
    assert lower.verdict == "undetermined" and "two sizes" in lower.note


# ------------------------------------------------------------------------------ CLI
def test_cli_runs_analyses_and_resumes(tmp_path):
    out = tmp_path / "td"
    args = ["trained-diagram", "--P", "16", "--d", "3", "--alpha", "10,1000", "--phi-min",
            "0.5", "--phi-max", "2.5", "--phi-num", "2", "--seeds", "2", "--max-steps", "1500",
            "--window", "500", "--n-boot", "20", "-q", "-o", str(out)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "Trained networks" in res.output and "lazy" in res.output
    for name in ("trained_sat_probability", "phi_c_alpha", "trained_outcomes"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    data = json.loads((out / "analysis.json").read_text())
    assert [c["alpha"] for c in data["curves"]] == [10.0, 1000.0]
    assert sum(sum(c["sat"]["n_total"]) for c in data["curves"]) == 8
    a = analyze_trained(out, n_boot=20)
    assert a.settings["max_steps"] == 1500 and a.n_done == 8
    r = a.phi_c_vs_alpha(16)
    assert list(r["alpha"]) == [10.0, 1000.0]
    assert all(math.isfinite(v) or math.isnan(v) for v in r["phi_c"])
    # Same command: nothing recomputed.
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "8 already stored, ran 0" in res.output
    # Another fixed setting in the same directory is refused.
    res = runner.invoke(app, [*args, "--lr", "0.5"])
    assert res.exit_code == 2
    assert "lr=" in res.output


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--alpha", "0"], "--alpha values must be finite and > 0"),
        (["--alpha", ""], "--alpha must list at least one"),
        (["--alpha", "1,x"], "--alpha must be numbers"),
        (["--lr", "3"], "lr must be < 2"),
        (["--phi-min", "-1"], "phi_min must be > 0"),
        (["--P", "0"], "--P sizes must be >= 1"),
        (["--step-rule", "magic"], "step_rule must be one of"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, extra, match):
    res = runner.invoke(app, ["trained-diagram", "-o", str(tmp_path / "x"), "-q", *extra])
    assert res.exit_code == 2
    assert match in res.output
    assert "Traceback" not in res.output


def test_cli_help_names_the_options():
    res = runner.invoke(app, ["trained-diagram", "--help"])
    assert res.exit_code == 0
    for opt in ("--alpha", "--max-steps", "--momentum", "--step-rule", "--sat-tol"):
        assert opt in res.output


@pytest.mark.slow
def test_lazy_limit_decided_runs_agree_with_the_exact_lazy_verdict():
    """α = 10⁴: every run that is decided within the budget reaches the verdict of the
    exact linearised problem, far from and at the transition (P = 72, rank 60, lazy
    φ_c ≈ 1.67).  (The kernel change is not asserted: a single ReLU unit changing sign
    on one training point moves K by a finite amount, whatever α.)"""
    decided = 0
    for phi in (0.6, 1.6, 2.4):
        for seed in range(4):
            out = trained_task({"P": 72, "phi": phi, "alpha": 1e4, "momentum": 0.9}, seed)
            _check_row(out, max_steps=200_000, window=5_000)
            if out["decided"]:
                decided += 1
                assert out["agrees"], out
    assert decided >= 6
