"""Tests of the phase-diagram experiment, its spec builder and the `ntkjam phase-diagram` CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from ntkjam.cli import app
from ntkjam.experiments.phase_diagram import (
    build_problem,
    check_params,
    parameter_count,
    phase_diagram_spec,
    phase_diagram_task,
)
from ntkjam.jamming import check_farkas_certificate, lp_certificate
from ntkjam.sweep.registry import names, resolve
from ntkjam.theory import cover_probability

runner = CliRunner()


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _run(params, seed):
    out = phase_diagram_task(params, seed)
    arrays = out.pop("arrays", {})
    return out, arrays


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"P": 10, "phi": 0.0}, "phi must be > 0"),
        ({"P": 10, "phi": -1.0}, "phi must be > 0"),
        ({"P": 0, "phi": 1.0}, "P must be >= 1"),
        ({"P": 10, "phi": 1.0, "margin": float("inf")}, "margin must be finite"),
        ({"P": 10, "phi": 1.0, "margin": float("nan")}, "margin must be finite"),
        ({"P": 10, "phi": 1.0, "labels": "zeros"}, "labels must be one of"),
        ({"P": 10, "phi": 1.0, "source": "magic"}, "source must be one of"),
        ({"P": 10, "phi": 1.0, "lp_fraction": 1.5}, "lp_fraction must be in"),
        ({"P": 10, "phi": 1.0, "offset": "network"}, "needs source 'ntk_jacobian'"),
        ({"P": 10, "phi": 1.0, "labels": "parity", "dataset": "sphere"}, "need dataset"),
        ({"P": 10, "phi": 1.0, "width": 3}, "unknown parameter 'width'"),
        ({"P": 10}, "parameter 'phi' is required"),
    ],
)
def test_check_params_rejects_bad_input(params, match):
    with pytest.raises(ValueError, match=match):
        check_params(params)


def test_check_params_types_and_defaults():
    with pytest.raises(TypeError, match="P must be an integer"):
        check_params({"P": 10.5, "phi": 1.0})
    p = check_params({"P": 10, "phi": 2.0, "labels": "parity"})
    assert p["dataset"] == "digits" and p["margin"] == 1.0 and p["source"] == "relu_features"


def test_phi_times_P_must_give_a_point():
    with pytest.raises(ValueError, match="at least one point"):
        build_problem({"P": 2, "phi": 0.1}, 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(P=[]), "at least one size"),
        (dict(P=[10, 10]), "must not repeat"),
        (dict(P=[0, 10]), "P must be >= 1"),
        (dict(phi_min=0.0), "phi_min must be > 0"),
        (dict(phi_min=2.0, phi_max=1.0), "phi_max must be >= phi_min"),
        (dict(phi_num=0), "phi_num must be >= 1"),
        (dict(phi_num=1), "phi_num = 1 needs"),
        (dict(seeds=0), "seeds must be >= 1"),
        (dict(margin=float("inf")), "margin must be finite"),
        (dict(labels="binary"), "labels must be one of"),
    ],
)
def test_spec_rejects_bad_grids(kwargs, match):
    with pytest.raises(ValueError, match=match):
        phase_diagram_spec(**kwargs)


def test_spec_grid_and_registry():
    spec = phase_diagram_spec(P=[100, 50], phi_min=1.0, phi_max=3.0, phi_num=5, seeds=3,
                              margin=1.0)
    assert spec.experiment == "phase_diagram"
    assert spec.grid == {"P": (50, 100), "phi": (1.0, 1.5, 2.0, 2.5, 3.0)}
    assert spec.seeds == (0, 1, 2) and spec.n_tasks == 30
    assert "phase_diagram" in names()
    assert resolve("phase_diagram") is phase_diagram_task


# ------------------------------------------------------------------------ the task
def test_task_is_deterministic():
    params = {"P": 30, "phi": 2.1}
    a, arr_a = _run(params, 11)
    b, arr_b = _run(params, 11)
    assert a == b
    for k in ("gaps", "forces"):
        assert arr_a[k].tobytes() == arr_b[k].tobytes()
    c, _ = _run(params, 12)
    assert c != a


def test_task_below_phi_one_is_always_sat():
    # N ≤ P generic features: rank N, every labelling is reachable exactly.
    for seed in range(5):
        out, arrays = _run({"P": 40, "phi": 0.9}, seed)
        assert out["sat"] and out["verdict"] == "sat"
        assert out["rank"] == out["n"] == 36 and out["loss"] < 1e-20
        assert out["n_delta"] == 0 and arrays["forces"].size == 0
        assert out["cover"] == 1.0


def test_unsat_minimum_laws():
    """At a positive minimum with f0 = 0: N_Δ ≥ rank + 1 and Σ r = Σ r² = 2 N · loss.

    KKT (Σ r_i y_i J_i = 0 with r > 0) needs N_Δ linearly dependent rows, hence more
    than rank(J) of them for generic features; and the loss is stationary under the
    rescaling w → (1 + ε) w, which gives Σ_i r_i (κ − r_i) = 0 with κ = 1.
    """
    seen = 0
    for seed in range(6):
        out, arrays = _run({"P": 30, "phi": 2.6, "margin": 1.0}, seed)
        if out["sat"]:
            continue
        seen += 1
        r = arrays["forces"]
        assert out["n_delta"] == r.size >= out["rank"] + 1
        assert out["isostaticity"] > 1.0
        assert r.sum() == pytest.approx(np.dot(r, r), rel=1e-9)
        assert 2 * out["n"] * out["loss"] == pytest.approx(np.dot(r, r), rel=1e-9)
        assert out["n_delta_frac"] == pytest.approx(r.size / out["n"])
        assert out["n_delta"] + out["n_contacts"] + arrays["gaps"].size == out["n"]
    assert seen >= 4  # Cover: P(SAT) = 0.04 at N = 78, r = 30


@pytest.mark.parametrize("source", ["relu_features", "fourier_features", "taylor_features"])
@pytest.mark.parametrize("labels", ["random", "teacher"])
def test_lp_cross_check_agrees(source, labels):
    for seed in range(3):
        out, _ = _run({"P": 24, "phi": 2.0, "source": source, "labels": labels,
                       "lp_fraction": 1.0}, seed)
        assert out["lp_checked"] and out["lp_agrees"] is True
        assert out["lp_verdict"] == out["verdict"]


def test_teacher_labels_stay_sat_beyond_cover():
    # A linear teacher sign(β·x) is far easier than random labels: at φ = 3 (Cover:
    # P(SAT) = 7e-4 for N = 90, r = 30) random labels are never fitted, teacher labels always.
    random = [_run({"P": 30, "phi": 3.0, "store_arrays": False}, s)[0]["sat"] for s in range(6)]
    teacher = [_run({"P": 30, "phi": 3.0, "labels": "teacher", "store_arrays": False}, s)[0]
               for s in range(6)]
    assert not any(random)
    assert all(t["sat"] and t["loss"] == pytest.approx(0.0, abs=1e-20) for t in teacher)


def test_lp_fraction_draw_is_per_task():
    checked = [_run({"P": 10, "phi": 1.5, "lp_fraction": 0.5}, s)[0]["lp_checked"]
               for s in range(40)]
    assert 8 <= sum(checked) <= 32  # Binomial(40, ½): outside this with prob. < 1e-4
    assert not any(_run({"P": 10, "phi": 1.5}, s)[0]["lp_checked"] for s in range(5))


def test_farkas_vector_of_an_unsat_task():
    problem, info = build_problem(check_params({"P": 20, "phi": 3.0}), 5)
    cert = lp_certificate(problem)
    assert cert.verdict == "unsat"
    assert check_farkas_certificate(problem, cert.farkas).ok
    out, _ = _run({"P": 20, "phi": 3.0}, 5)
    assert out["verdict"] == "unsat" and out["n"] == info["n"] == 60


def test_taylor_rank_on_the_sphere():
    # d = 3, P = C(3 + 2, 2) = 10 monomials of degree ≤ 2; on the sphere x·x = 1 ties the
    # three squares to the constant: rank = N(3,0) + N(3,1) + N(3,2) = 1 + 3 + 5 = 9.
    out, _ = _run({"P": 10, "phi": 3.0, "source": "taylor_features", "d": 3}, 0)
    assert out["n_params"] == 10 and out["rank"] == 9
    assert out["phi_rank"] == pytest.approx(30 / 9)
    assert out["cover"] == pytest.approx(cover_probability(30, 9))


def test_parity_labels_use_the_digits():
    problem, info = build_problem(check_params({"P": 20, "phi": 1.5, "labels": "parity"}), 0)
    assert problem.n_points == 30 and info["n_params"] == 20
    assert set(np.unique(problem.y)) <= {-1.0, 1.0}


def test_gaussian_offset_changes_the_problem():
    base, _ = build_problem(check_params({"P": 15, "phi": 2.0}), 3)
    off, _ = build_problem(check_params({"P": 15, "phi": 2.0, "offset": "gaussian",
                                         "offset_scale": 0.5}), 3)
    np.testing.assert_array_equal(base.features(), off.features())
    assert np.all(base.f0 == 0) and np.std(off.f0) > 0.2


def test_parameter_count_is_the_p_a_task_uses():
    assert parameter_count({"P": 37, "phi": 2.0}) == 37
    # The network Jacobian: width round(P/(d+1)) = 4 units of d + 1 = 6 weights each.
    assert parameter_count({"P": 25, "phi": 2.0, "source": "ntk_jacobian", "d": 5}) == 24
    out = phase_diagram_task({"P": 25, "phi": 1.5, "source": "ntk_jacobian", "d": 5}, 0)
    assert out["n_params"] == 24 and out["n"] == 36


def test_ntk_jacobian_source():
    out, _ = _run({"P": 44, "phi": 2.0, "source": "ntk_jacobian", "d": 10,
                   "lp_fraction": 1.0}, 2)
    width = 4  # round(44 / 11)
    assert out["n_params"] == width * 11 and out["n"] == 88
    # one rescaling symmetry per ReLU unit: rank ≤ P − width
    assert out["rank"] <= out["n_params"] - width
    assert out["lp_agrees"] is True
    net, _ = _run({"P": 44, "phi": 2.0, "source": "ntk_jacobian", "offset": "network"}, 2)
    assert net["n"] == 88


# ----------------------------------------------------------------------------- CLI
_SMALL = ["--P", "12,24", "--phi-min", "1.5", "--phi-max", "2.5", "--phi-num", "5",
          "--seeds", "6", "--n-boot", "20", "-q"]


def test_cli_runs_resumes_and_writes_everything(tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["phase-diagram", *_SMALL, "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "φ_c(∞)" in res.output and "Cover" in res.output
    assert "60 tasks, 0 already stored, ran 60" in res.output
    assert (out / "sweep.sqlite").exists()
    for name in ("sat_probability", "unsat_observables", "crossings"):
        assert (out / "figures" / f"{name}.png").exists()
    data = json.loads((out / "analysis.json").read_text())
    assert [c["P"] for c in data["crossings"]] == [12, 24]
    again = runner.invoke(app, ["phase-diagram", *_SMALL, "-o", str(out)])
    assert again.exit_code == 0, again.output
    assert "60 tasks, 60 already stored, ran 0" in again.output
    more = runner.invoke(app, ["phase-diagram", *_SMALL[:-5], "--seeds", "7", "--n-boot",
                               "20", "-q", "-o", str(out)])
    assert "70 tasks, 60 already stored, ran 10" in more.output
    other = runner.invoke(app, ["phase-diagram", *_SMALL, "--labels", "teacher", "-o",
                                str(out)])
    assert other.exit_code == 2 and "labels='random'" in other.output


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--P", ""], "at least one size"),
        (["--P", "0,10"], ">= 1"),
        (["--P", "ten"], "integers"),
        (["--phi-min", "0"], "phi_min must be > 0"),
        (["--phi-min", "-1"], "phi_min must be > 0"),
        (["--phi-num", "0"], "phi_num must be >= 1"),
        (["--margin", "inf"], "margin must be finite"),
        (["--margin", "nan"], "margin must be finite"),
        (["--labels", "pm2"], "labels must be one of"),
        (["--source", "nope"], "source must be one of"),
        (["--workers", "0"], "workers must be >= 1"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(tmp_path, args, match):
    res = runner.invoke(app, ["phase-diagram", *args, "-o", str(tmp_path / "r")])
    assert res.exit_code == 2
    assert match in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "r").exists()


def test_cli_help():
    res = runner.invoke(app, ["phase-diagram", "--help"])
    assert res.exit_code == 0
    for word in ("--source", "--labels", "--margin", "--P", "--seeds", "--workers", "Cover"):
        assert word in res.output


# ------------------------------------------------------------------- slow acceptance
@pytest.mark.slow
def test_relu_features_follow_cover_chi2(tmp_path):
    """Acceptance: P(SAT) of random ReLU features, random labels = Cover at P = 100."""
    from ntkjam import sweep
    from ntkjam.analysis import cover_chi2, sat_curves

    spec = phase_diagram_spec(P=[100], phi_min=1.6, phi_max=2.5, phi_num=10, seeds=120,
                              output=str(tmp_path / "chi2"))
    sweep.run(spec, workers=1)
    (curve,) = sat_curves(sweep.load(tmp_path / "chi2"))
    assert np.all(curve.n_total == 120)
    test = cover_chi2(curve)
    assert test.dof >= 8
    assert test.p_value > 1e-3, test  # a deviation from Cover would give p ~ 0


@pytest.mark.slow
def test_fss_extrapolates_to_two(tmp_path):
    """Acceptance: φ_c(∞) = 2.00 ± 0.05 from the finite-size-scaling extrapolation."""
    from ntkjam.analysis import analyze

    out = tmp_path / "fss"
    spec = phase_diagram_spec(P=[50, 100, 200], phi_min=1.5, phi_max=2.5, phi_num=21,
                              seeds=80, output=str(out))
    from ntkjam import sweep

    sweep.run(spec, workers=1)
    a = analyze(out, n_boot=200)
    assert a.fss is not None
    assert abs(a.fss.phi_c_inf - 2.0) < 0.05, a.fss
    assert a.fss.phi_c_inf_err < 0.05
    assert math.isfinite(a.fss.nu)


@pytest.mark.slow
def test_ntk_jacobian_crossing_at_twice_the_rank(tmp_path):
    """Acceptance: one-hidden-layer ReLU net, crossing at N = 2·rank(J) within 3 %.

    d = 5, width 20: P = 120 parameters, rank 100 (one rescaling symmetry per unit);
    dead inputs are negligible (2^-20 per point).
    """
    from ntkjam import sweep
    from ntkjam.analysis import crossings

    out = tmp_path / "ntk"
    spec = phase_diagram_spec(P=[120], phi_min=1.4, phi_max=1.95, phi_num=12, seeds=30,
                              output=str(out), source="ntk_jacobian", d=5)
    sweep.run(spec, workers=1)
    df = sweep.load(out, status="done")
    assert len(df) == 360 and int(df["n_dead"].sum()) == 0
    (c,) = crossings(df, n_boot=100)
    assert c.n_params == 120 and c.rank == 100
    assert abs(c.phi_c_rank - 2.0) < 0.06, c
