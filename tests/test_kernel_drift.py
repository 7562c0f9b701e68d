"""Training drift of the NTK: the experiment, the analysis, the figures and the CLI.

The default tests take well under 30 s on two shared cores; the bigger width scans are
``slow``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import ntkjam  # noqa: F401  (float64)
import ntkjam.cli.kernel_drift  # noqa: F401  (registers the command until cli/__init__ does)
from ntkjam.analysis.kernel_drift import (
    alpha_scans,
    analyze_kernel_drift,
    drift_points,
    side_comparisons,
    width_fits,
)
from ntkjam.cli import app
from ntkjam.experiments.kernel_drift import (
    KernelDriftParams,
    LossBelow,
    drift_run,
    kernel_drift,
    kernel_drift_spec,
    measure_drift,
    side_of,
    task_inputs,
)
from ntkjam.networks import GD, Budget, empirical_ntk, train

runner = CliRunner()
SMALL = {"n": 12, "d": 4, "activation": "erf", "step_rule": "fixed"}


def _rows(grid: list[dict], seeds, **fixed) -> pd.DataFrame:
    """The table a sweep would store: params and measurements, one row per task."""
    rows = []
    for point in grid:
        for seed in seeds:
            params = {**fixed, **point}
            rows.append({**KernelDriftParams.resolve(params), **kernel_drift(params, seed),
                         "seed": seed, "status": "done"})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ the physics
def test_lazy_limit_drift_falls_like_one_over_alpha():
    """Smooth activation, fixed width: ‖K_T − K_0‖/‖K_0‖ = (A/α + B/α²)/n → 0 as α → ∞,
    like 1/α at large α, and the weights move by ‖θ_T − θ_0‖ ∝ 1/α."""
    alphas = (10.0, 100.0, 1000.0, 10_000.0)
    out = [kernel_drift({**SMALL, "width": 32, "alpha": a, "momentum": 0.9}, 3)
           for a in alphas]
    assert all(o["train_status"] == "sat" and o["side"] == "sat" for o in out)
    drift = np.array([o["rel_frobenius"] for o in out])
    assert np.all(np.diff(drift) < 0) and drift[-1] < 1e-3, drift
    assert drift[2] / drift[3] == pytest.approx(10.0, rel=0.05), drift
    scaled = np.array([o["weight_distance"] * a for o, a in zip(out, alphas, strict=True)])
    assert scaled[2] == pytest.approx(scaled[3], rel=0.01), scaled


def test_mse_weight_change_matches_the_lazy_solution():
    """α → ∞ with the MSE: the weights end at the minimum-norm interpolant of the
    linearised network, ‖θ_T − θ_0‖ = √(yᵀ K_0⁻¹ y)/α."""
    run = drift_run({**SMALL, "width": 48, "alpha": 1e4, "loss": "mse"}, 1)
    assert run.status == "converged"
    dist = measure_drift(run)["weight_distance"]
    lazy = math.sqrt(float(run.y @ np.linalg.solve(run.K0, run.y))) / 1e4
    assert dist == pytest.approx(lazy, rel=1e-3), (dist, lazy)


def test_mse_drift_is_the_direct_computation():
    """The task's drift against K(T) recomputed here: the same network trained by
    ``ntkjam.networks.train`` (GD at the same step, for the same number of steps), its
    kernels from the explicit Jacobian."""
    p = {**SMALL, "width": 16, "alpha": 10.0, "loss": "mse"}
    out = kernel_drift(p, 2)
    assert out["train_status"] == "converged" and out["final_loss"] <= 1e-8
    _, net, X, y, params0 = task_inputs(p, 2)
    K0 = empirical_ntk(net, params0, X, method="jacobian")
    lr = X.shape[0] / np.linalg.eigvalsh(K0)[-1]
    res = train(net, params0, X, y, loss="mse", alpha=10.0, optimizer=GD(lr=lr),
                stop=(Budget(max_steps=out["steps"]),), kernel_times=[])
    assert res.steps == out["steps"] and res.trajectory.loss[-1] <= 1e-8
    KT = empirical_ntk(net, res.params, X, method="jacobian")
    E = KT - K0
    assert out["rel_frobenius"] == pytest.approx(np.linalg.norm(E) / np.linalg.norm(K0),
                                                 rel=1e-8)
    assert out["rel_operator"] == pytest.approx(
        np.abs(np.linalg.eigvalsh(E)).max() / np.linalg.eigvalsh(K0).max(), rel=1e-8)
    assert out["weight_change"] == pytest.approx(res.trajectory.weight_change[-1], rel=1e-8)
    assert out["n_points"] == 12 and out["n_params"] == 16 * 5


def test_width_exponent_is_minus_one_for_a_smooth_activation():
    """erf, fixed N (one data set, the spread is the initialisation's), α = 100, hinge to
    SAT: the drift is (A/α + B/α²)/n, a fitted exponent whose 95 % interval holds −1."""
    df = _rows([{"width": w} for w in (32, 128, 512)], range(6), n=20, d=4,
               activation="erf", step_rule="fixed", alpha=100.0, loss="quadratic_hinge",
               data_seed=0, momentum=0.9)
    fits = {f.quantity: f for f in width_fits(drift_points(df))}
    f = fits["rel_frobenius"]
    assert f.ci_low <= -1.0 <= f.ci_high and abs(f.exponent + 1) < 0.15, f
    assert f.verdict == "consistent with n^-1", f
    # ‖θ_T − θ_0‖ = O(1/α) and ‖θ_0‖ = √P ∝ √n: n^-1/2, a little steeper at these widths
    # since the distance to go falls with n (K_n's conditioning improves towards K_∞)
    w = fits["weight_change"]
    assert -0.7 < w.exponent < -0.45, w


def test_hinge_sides_of_the_jamming_threshold():
    """Few points (N ≪ rank) reach SAT and stop; many (N far above 2·rank, Cover's
    threshold) end UNSAT at a positive loss, with the kernel moving more."""
    base = {"width": 4, "d": 3, "alpha": 10.0, "momentum": 0.9, "rtol": 1e-4,
            "window": 2000}
    sat = kernel_drift({**base, "phi": 0.5}, 0)
    unsat = kernel_drift({**base, "phi": 4.0}, 0)
    assert sat["train_status"] == "sat" and sat["final_loss"] < 1e-10 and sat["n_delta"] == 0
    assert unsat["train_status"] == "unsat" and unsat["final_loss"] > 1e-3
    assert (sat["n_points"], unsat["n_points"]) == (8, 64)
    assert unsat["phi_eff"] > unsat["phi_cover"] == 2 * 12 / 16


def test_same_seed_same_numbers_and_seeds_differ():
    p = {**SMALL, "width": 8, "alpha": 10.0, "momentum": 0.9}
    a, b = kernel_drift(p, 5), kernel_drift(p, 5)
    assert {k: v for k, v in a.items() if k != "train_seconds"} == \
        {k: v for k, v in b.items() if k != "train_seconds"}
    assert kernel_drift(p, 6)["rel_frobenius"] != a["rel_frobenius"]


def test_side_of_and_the_mse_rule():
    assert [side_of(s) for s in ("sat", "converged", "unsat", "budget", "nan")] == \
        ["sat", "sat", "unsat", "undecided", "undecided"]
    rule = LossBelow(1e-6)
    assert rule.status == "converged" and rule.check(type("S", (), {
        "loss": 1e-7, "time": 1.0, "step": 3})()).startswith("converged")


# ------------------------------------------------------------------ the analysis
def _synthetic(exponent: float, sides=("sat",), scale=1.0) -> pd.DataFrame:
    rows = []
    for side, factor in zip(sides, (1.0, 2.0), strict=False):
        for w in (32, 64, 128, 256):
            for alpha in (10.0, 100.0, 1000.0):
                for s in range(8):
                    # ±3 % about the law, exactly: the means follow it, the errors are finite
                    drift = scale * factor * 5.0 / alpha * w**exponent * (1 + 0.03 * (-1)**s)
                    rows.append({
                        **KernelDriftParams.resolve({"width": w, "phi": 0.5 if side == "sat"
                                                     else 3.0, "alpha": alpha}),
                        "seed": s, "status": "done", "side": side,
                        "train_status": side, "n_points": 100, "n_params": 11 * w,
                        "rel_frobenius": drift, "rel_operator": drift,
                        "weight_change": 0.1 / alpha / math.sqrt(w) * (1 + 0.02 * s),
                        "pattern_change": 0.0})
    return pd.DataFrame(rows)


def test_analysis_finds_the_exponent_and_the_unsat_ratio():
    pts = drift_points(_synthetic(-1.0, sides=("sat", "unsat")))
    fits = [f for f in width_fits(pts) if f.quantity == "rel_frobenius"]
    assert len(fits) == 6
    assert all(f.verdict == "consistent with n^-1" for f in fits), fits
    assert not [f for f in width_fits(pts) if f.quantity == "pattern_change"]  # all zero
    scans = alpha_scans(pts)
    assert all(s.fit.verdict == "consistent with α^-1" and s.decreasing for s in scans)
    sides = side_comparisons(pts)
    assert len(sides) == 12  # 4 widths × 3 α
    assert all(c.verdict == "UNSAT moves more" and c.ci_low < 2.0 < c.ci_high
               for c in sides), sides
    steep = [f for f in width_fits(drift_points(_synthetic(-0.75)))
             if f.quantity == "rel_frobenius"]
    assert all(f.verdict == "consistent with n^-3/4" for f in steep)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("params, match", [
    ({"width": 8}, "give exactly one of n"),
    ({"width": 8, "n": 10, "phi": 1.0}, "give exactly one of n"),
    ({"width": 8, "n": 10, "lr": 2.0}, "lr must be < 2"),
    ({"width": 8, "n": 10, "momentum": 1.0}, r"momentum must be in \[0, 1\)"),
    ({"width": 8, "n": 10, "loss": "hinge"}, "loss must be one of"),
    ({"width": 0, "n": 10}, "width must be >= 1"),
    ({"width": 8, "phi": 0.001}, "at least one point"),
    ({"width": 8, "n": 10, "bias": True}, "unknown parameter"),
])
def test_bad_params_are_one_line_errors(params, match):
    with pytest.raises(ValueError, match=match):
        kernel_drift(params, 0)


def test_spec_builder_refuses_before_anything_runs():
    with pytest.raises(ValueError, match="widths must be strictly increasing"):
        kernel_drift_spec(widths=[64, 32])
    with pytest.raises(ValueError, match="alphas must be strictly increasing"):
        kernel_drift_spec(alphas=[10, 1])
    with pytest.raises(ValueError, match="not both"):
        kernel_drift_spec(n=[10], phi=[0.5])
    with pytest.raises(ValueError, match="losses must be one of"):
        kernel_drift_spec(losses=["logistic"])
    with pytest.raises(ValueError, match="width is a grid axis"):
        kernel_drift_spec(width=4)
    spec = kernel_drift_spec(widths=[8, 16], alphas=[1.0], losses=["mse"], n=[10], seeds=3)
    assert spec.n_tasks == 6


_TINY = ["--widths", "8,12,16", "--alphas", "10", "--losses", "mse", "--n", "6", "--d", "3",
         "--activation", "erf", "--momentum", "0.9",
         "--seeds", "3", "--step-rule", "fixed", "-q"]


@pytest.mark.parametrize("args, match", [
    (["--widths", "16,8,12"], "--widths must be strictly increasing"),
    (["--widths", "8,x"], "--widths must be integers"),
    (["--alphas", "10,1"], "--alphas must be strictly increasing"),
    (["--alphas", "-1"], "--alphas must be positive"),
    (["--losses", "hinge"], "--losses must list distinct names"),
    (["--phi", "0.5"], "not both"),
    (["--seeds", "2"], "--seeds must be >= 3"),
    (["--widths", "8,16", "--n", "6"], "nothing to fit"),
    (["--lr", "2.5"], "lr must be < 2"),
])
def test_cli_bad_input_is_one_line_exit_2_nothing_written(tmp_path, args, match):
    out = tmp_path / "run"
    res = runner.invoke(app, ["kernel-drift", *_TINY, *args, "-o", str(out)])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and match in lines[0], res.output
    assert not out.exists()


def test_cli_runs_resumes_and_writes_everything(tmp_path):
    from ntkjam import sweep

    out = tmp_path / "kd"
    res = runner.invoke(app, ["kernel-drift", *_TINY, "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "exponent γ in the width" in res.output and "n^" in res.output
    data = json.loads((out / "analysis.json").read_text())
    assert {f["quantity"] for f in data["width_fits"]} >= {"rel_frobenius", "rel_operator"}
    names = {p.name for p in (out / "figures").iterdir()}
    for stem in ("drift_width", "mechanism_width", "drift_alpha", "drift_sides"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
    first = sweep.load(out / "store")
    again = runner.invoke(app, ["kernel-drift", *_TINY, "-o", str(out)])
    assert again.exit_code == 0 and "ran 0 in" in again.output, again.output
    pd.testing.assert_frame_equal(first, sweep.load(out / "store"))
    other = runner.invoke(app, ["kernel-drift", *_TINY, "--d", "4", "-o", str(out)])
    assert other.exit_code == 2 and "holds a kernel-drift sweep with d=3" in other.output
    a = analyze_kernel_drift(out / "store")
    assert a.n_done == 9 and len(a.points) == 3
    with pytest.raises(ValueError, match="is not a sweep run directory"):
        analyze_kernel_drift(tmp_path)


# ------------------------------------------------------------------ bigger (slow)
@pytest.mark.slow
@pytest.mark.parametrize("loss", ["quadratic_hinge", "mse"])
def test_width_exponent_relu_large_alpha(loss):
    """ReLU, N = 50, α = 100, widths 32 … 512: the exponent lies between the smooth n^-1
    and the pattern-flip n^-3/4 laws (docs/kernel_drift.md)."""
    df = _rows([{"width": w} for w in (32, 64, 128, 256, 512)], range(4), n=50, d=10,
               alpha=100.0, loss=loss, step_rule="fixed")
    f = next(f for f in width_fits(drift_points(df)) if f.quantity == "rel_frobenius")
    assert -1.15 <= f.exponent <= -0.6 and f.ci_high - f.ci_low < 0.5, f
