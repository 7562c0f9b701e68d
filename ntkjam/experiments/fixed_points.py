"""Section 5's study: are there stable fixed points of ḟ = −η K ∇L(f) that are not minima?

A pure task (:func:`fixed_point_task`, run by the sweep engine through its import
path :data:`TASK`) and its spec builder; the reading of its store is
:func:`ntkjam.analysis.fixed_points.fixed_point_summary`.  ``ntkjam report`` runs it
(section 5).

A task draws N = round(φ P) random-label points on S^(d−1) and P random ReLU
features J (N, P), takes the end point of gradient flow from f₀ = 0 for a convex
loss — the minimum of L over the reachable set f₀ + range(K), computed exactly
(least squares for ``mse``; the finite-Newton minimum for ``quadratic_hinge``, whose
verdict is certified) — and classifies it with :func:`ntkjam.fixed_points.analyze`
on K = J Jᵀ: a minimum of L over R^N, or a fixed point that is not one (∇L ≠ 0 but
∇L ∈ Ker K), and the signs of the linearised rates on range(K).

Theory: a fixed point that is not a minimum needs Ker K ≠ {0}, i.e. N > rank K; for
MSE it is then certain (φ > 1: the N labels cannot be interpolated); for the
quadratic hinge it is exactly the UNSAT phase (Cover: φ_c = 2 in units of the rank).
A convex loss has no unstable direction: L is a Lyapunov function on the reachable
set, so these fixed points are stable (for the hinge, marginal along the rank − N_Δ
directions that move no violated constraint).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["LOSSES", "TASK", "fixed_point_spec", "fixed_point_task"]

#: The import path the sweep engine runs.
TASK = "ntkjam.experiments.fixed_points:fixed_point_task"
#: The convex losses whose end points are computed exactly.
LOSSES = ("mse", "quadratic_hinge")


def _check(params: dict[str, Any]) -> dict[str, Any]:
    from ntkjam._validate import as_choice, as_int, as_real

    allowed = {"P", "phi", "loss", "d", "tol"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} of the fixed-point task; "
                         f"allowed: {', '.join(sorted(allowed))}")
    p = {"P": as_int("P", params.get("P"), minimum=1),
         "phi": as_real("phi", params.get("phi"), positive=True),
         "loss": as_choice("loss", params.get("loss"), LOSSES),
         "d": as_int("d", params.get("d", 10), minimum=2),
         "tol": as_real("tol", params.get("tol", 1e-8), positive=True)}
    if round(p["phi"] * p["P"]) < 1:
        raise ValueError(f"phi * P must give at least one point, got phi = {p['phi']}, "
                         f"P = {p['P']}")
    return p


def _end_point(J: np.ndarray, y: np.ndarray, loss: str) -> tuple[np.ndarray, bool]:
    """The flow's end point from f₀ = 0 (shape (N,)) and whether the problem is SAT."""
    if loss == "mse":
        w = np.linalg.lstsq(J, y, rcond=None)[0]
        f = J @ w
        return f, bool(np.max(np.abs(f - y)) <= 1e-9 * max(1.0, float(np.max(np.abs(y)))))
    from ntkjam.jamming import minimize_quadratic_hinge
    from ntkjam.problem import from_features

    m = minimize_quadratic_hinge(from_features(J, y, margin=1.0))
    return np.asarray(m.outputs, dtype=np.float64), m.verdict == "sat"


def fixed_point_task(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Classify the end point of the flow for one random instance.

    Parameters
    ----------
    params : dict
        ``P`` (features, ≥ 1), ``phi`` (φ = N/P > 0; N = round(φ P)), ``loss``
        (``"mse"`` or ``"quadratic_hinge"``, margin 1), ``d`` (input dimension, 10),
        ``tol`` (‖K∇L‖ ≤ tol: a fixed point, and ‖∇L‖ ≤ tol: a minimum; 1e-8).
    seed : int
        Task seed: independent streams for the points, labels and features.

    Returns
    -------
    dict
        ``n``, ``rank``, ``sat`` (the labels reachable: interpolation for MSE, every
        margin met for the hinge), ``kind``, ``stability``, ``lyapunov_stable``,
        ``not_minimum`` (a fixed point with ∇L ≠ 0), ``grad_norm``, ``kgrad_norm``,
        ``grad_kernel_norm``, ``n_stable``, ``n_marginal``, ``n_unstable`` (rates on
        range(K)), ``smallest_rate`` (the slowest positive rate, None if none); all
        scalars.

    Examples
    --------
    Above φ = 1 the N = 30 labels are out of reach of rank K = P = 10: the flow stops
    at a stable fixed point that is not a minimum (∇L ≠ 0 but K ∇L = 0):

    >>> from ntkjam.experiments.fixed_points import fixed_point_task
    >>> r = fixed_point_task({"P": 10, "phi": 3.0, "loss": "mse"}, seed=0)
    >>> r["n"], r["rank"], r["sat"], r["kind"], r["stability"]
    (30, 10, False, 'fixed_point_not_minimum', 'stable')
    >>> r["grad_norm"] > 1e-3, r["kgrad_norm"] < 1e-10
    (True, True)

    Below Cover's φ_c = 2 the hinge problem is SAT and the end point is a minimum:

    >>> r = fixed_point_task({"P": 10, "phi": 0.5, "loss": "quadratic_hinge"}, seed=0)
    >>> r["n"], r["sat"], r["kind"], r["not_minimum"]
    (5, True, 'minimum', False)
    """
    from ntkjam.data import random_labels, sphere
    from ntkjam.fixed_points import analyze
    from ntkjam.kernels.features import random_relu_features

    p = _check(params)
    n = round(p["phi"] * p["P"])
    s_x, s_y, s_j = (int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(3))
    X = sphere(n, p["d"], seed=s_x)
    y = random_labels(n, seed=s_y)
    J = random_relu_features(X, p["P"], seed=s_j)
    f, sat = _end_point(J, y, p["loss"])
    r = analyze(J @ J.T, f, y, p["loss"], f0=np.zeros(n), tol=p["tol"] * max(1.0, n ** 0.5))
    slowest = float(r.smallest_nonzero_rate)
    return {"n": n, "rank": int(r.rank), "sat": sat, "kind": r.kind, "stability": r.stability,
            "lyapunov_stable": bool(r.lyapunov_stable),
            "not_minimum": r.kind == "fixed_point_not_minimum",
            "grad_norm": r.grad_norm, "kgrad_norm": r.kgrad_norm,
            "grad_kernel_norm": r.grad_kernel_norm, "n_stable": int(r.n_stable),
            "n_marginal": int(r.n_marginal), "n_unstable": int(r.n_unstable),
            "smallest_rate": slowest if np.isfinite(slowest) else None}


def fixed_point_spec(*, P: int, phi: object, losses: object = LOSSES, seeds: int = 10,
                     output: str | None = None, d: int = 10):
    """The sweep spec: grid φ × loss at fixed P, ``seeds`` replicas per point.

    Parameters
    ----------
    P : int
        Features (≥ 1), fixed.
    phi : sequence of float, shape (n_phi,)
        Distinct values > 0 of φ = N/P.
    losses : sequence of str, shape (n_loss,)
        Names in :data:`LOSSES`.
    seeds : int
        Replicas per grid point (≥ 1).
    output : str, optional
        Run directory.
    d : int
        Input dimension.

    Returns
    -------
    ntkjam.sweep.SweepSpec
        Grid ``{"phi": (n_phi,), "loss": (n_loss,)}``: n_phi × n_loss × seeds tasks of
        :func:`fixed_point_task`.

    Examples
    --------
    >>> from ntkjam.experiments.fixed_points import fixed_point_spec
    >>> spec = fixed_point_spec(P=10, phi=[0.5, 3.0], seeds=2)
    >>> spec.grid, spec.params, spec.n_tasks
    ({'phi': (0.5, 3.0), 'loss': ('mse', 'quadratic_hinge')}, {'P': 10, 'd': 10}, 8)
    """
    from ntkjam._validate import as_int
    from ntkjam.sweep import parse_spec

    phis, losses = [float(v) for v in phi], list(losses)
    for v in phis:
        for loss in losses:
            _check({"P": P, "phi": v, "loss": loss, "d": d})
    data = {"experiment": TASK, "description": "fixed points of the flow vs phi",
            "params": {"P": int(P), "d": int(d)}, "grid": {"phi": phis, "loss": losses},
            "seeds": {"count": as_int("seeds", seeds, minimum=1), "start": 0}}
    if output is not None:
        data["output"] = str(output)
    return parse_spec(data, source="ntkjam report")
