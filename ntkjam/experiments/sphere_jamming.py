"""The jamming point of the quadratic hinge on the sphere (κ < 0: non-convex, critical).

One task = one instance: N points, features of rank r, labels ±1 at random, f0 = 0, and
the norm constraint ``‖w‖² = norm · r`` (a fixed RKHS norm of f − f0).  The jamming point
is found from the UNSAT side by :func:`ntkjam.jamming.compress_margin`: at fixed (N, r),
κ is lowered from ``κ_RS(φ) + margin_above`` in steps of ``margin_step`` (each
minimisation started from the previous minimum) until the loss vanishes, and the bracket
is bisected to ``kappa_tol``.  The task returns κ_J, N_Δ, the rank, N_Δ/rank and, as
arrays, the gaps and the forces of the last UNSAT minimum (just above jamming).
Registered as ``"sphere_jamming"``; see ``docs/jamming_sphere.md``.

Conventions that make κ comparable across sources:

* the features are scaled so that the mean kernel diagonal is 1, ``tr(J Jᵀ)/N = 1``
  (Gaussian rows of covariance I/P already are, up to fluctuations);
* when rank r < P (truncated Taylor features on the sphere, the empirical-NTK Jacobian,
  which has one rescaling symmetry per ReLU unit), the problem is posed in range(J):
  ``J V_r`` (N, r), ``V_r`` the right singular vectors, so that ‖w‖ is the RKHS norm
  (in the P coordinates the null directions of J would absorb any norm, and for κ < 0
  the problem would be trivially SAT);
* φ = N/r: the points are the first ``N = round(φ r)`` of the ``round(φ P)`` drawn.

Sources (``source``): ``"gaussian"`` (rows N(0, I/P): the spherical perceptron), and the
sources of the phase diagram (:func:`ntkjam.experiments.phase_diagram.build_problem`):
``"relu_features"``, ``"fourier_features"``, ``"taylor_features"``, ``"ntk_jacobian"``
(inputs uniform on S^{d−1}).

Give ``margin`` (κ of the jamming point: φ is then the RS capacity α_RS(κ), an upper
bound on φ_J for κ < 0 — exact for κ ≥ 0 — so that with Gaussian features κ_J lands
just below κ) or ``phi`` (κ_J is measured there), not both.  The compression itself and
κ_RS are in :mod:`ntkjam.experiments.sphere_compression`, re-exported here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import model_validator

from ntkjam.core.params import (
    Bool,
    Choice,
    Int,
    NonNegativeReal,
    Nullable,
    PositiveInt,
    PositiveReal,
    Real,
    StudyParams,
)
from ntkjam.experiments.sphere_compression import jam_from_unsat, rs_jamming_margin
from ntkjam.sweep.registry import register

__all__ = [
    "CONSTRAINTS",
    "DEFAULTS",
    "SOURCES",
    "SphereJammingParams",
    "build_sphere_problem",
    "check_sphere_jamming",
    "jam_from_unsat",
    "rs_jamming_margin",
    "resolve_sphere_jamming",
    "sphere_jamming_spec",
    "sphere_jamming_task",
]

SOURCES = ("gaussian", "relu_features", "fourier_features", "taylor_features", "ntk_jacobian")
CONSTRAINTS = ("sphere", "none")


class SphereJammingParams(StudyParams, study="sphere_jamming"):
    """The parameters of :func:`sphere_jamming_task` and their defaults (the only copy).

    Examples
    --------
    >>> from ntkjam.experiments.sphere_jamming import SphereJammingParams
    >>> p = SphereJammingParams.resolve({"P": 10, "margin": -0.5})
    >>> p["phi"], p["source"], p["constraint"], p["norm"]  # φ follows from the margin
    (None, 'gaussian', 'sphere', 1.0)
    """

    P: PositiveInt
    margin: Nullable(Real) = None
    phi: Nullable(PositiveReal) = None
    source: Choice(*SOURCES) = "gaussian"
    d: Int(minimum=2) = 10
    d_per_P: Nullable(PositiveReal) = None
    constraint: Choice(*CONSTRAINTS) = "sphere"
    norm: PositiveReal = 1.0
    margin_above: PositiveReal = 0.25
    margin_step: PositiveReal = 0.05
    kappa_tol: PositiveReal = 1e-5
    sigma_w: PositiveReal = 2**0.5
    sigma_b: NonNegativeReal = 0.0
    lengthscale: PositiveReal = 1.0
    max_iter: PositiveInt = 50000
    store_arrays: Bool = True

    @model_validator(mode="after")
    def cross_checks(self) -> SphereJammingParams:
        """The rules between parameters (see :func:`resolve_sphere_jamming`).

        Examples
        --------
        >>> from ntkjam.experiments.sphere_jamming import SphereJammingParams
        >>> SphereJammingParams.parse({"P": 10, "margin": 0.5, "margin_step": 0.5})
        Traceback (most recent call last):
        ...
        ValueError: margin_step must be <= margin_above = 0.25, got 0.5
        """
        if self.constraint == "none":
            if self.margin is not None and self.margin < 0:
                raise ValueError(
                    f"margin = {self.margin} < 0 needs a norm constraint (constraint "
                    "'sphere'): with f0 = 0 and no constraint, w = 0 meets every y f >= "
                    "margin, so the problem is trivially SAT"
                )
            raise ValueError(
                "constraint 'none' (no norm constraint) has no jamming point to compress "
                "to: with f0 = 0 the problem is trivially SAT for margin <= 0 and "
                "scale-free for margin > 0 (phi_c = 2 for every margin; see ntkjam "
                "phase-diagram); this study needs constraint 'sphere'"
            )
        if (self.margin is None) == (self.phi is None):
            raise ValueError(
                "give margin (the jamming point's margin; phi from the RS capacity) or phi "
                f"(the jamming margin is measured there), exactly one; got margin = "
                f"{self.margin} and phi = {self.phi}"
            )
        if self.margin_step > self.margin_above:
            raise ValueError(
                f"margin_step must be <= margin_above = {self.margin_above}, got "
                f"{self.margin_step}"
            )
        return self


#: Parameters of the task and their defaults (``None``: required, or computed).
DEFAULTS: dict[str, Any] = SphereJammingParams.defaults()


def resolve_sphere_jamming(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters validated, every default filled in (pure: the task key is its hash).

    Parameters
    ----------
    params : dict
        See :func:`sphere_jamming_task`.

    Returns
    -------
    dict
        Every parameter of :class:`SphereJammingParams`, in field order.

    Raises
    ------
    ValueError, TypeError
        Unknown or missing parameter; P < 1; a margin that is not finite; a norm, φ or
        step that is not positive and finite; both or neither of ``margin`` and ``phi``;
        ``constraint = "none"`` (a negative margin without a norm constraint is
        trivially SAT with f0 = 0; a positive one is scale-free).

    Examples
    --------
    >>> from ntkjam.experiments.sphere_jamming import resolve_sphere_jamming
    >>> resolve_sphere_jamming({"P": 10, "phi": 3.0})["margin_step"]
    0.05
    >>> resolve_sphere_jamming({"P": 10, "margin": -0.5, "phi": 3.0})
    Traceback (most recent call last):
    ...
    ValueError: give margin (...) or phi (...), exactly one; got margin = -0.5 and phi = 3.0
    """
    return SphereJammingParams.resolve(params)


def _phi(p: dict[str, Any]) -> float:
    """φ = N/r of the task: given, or the RS capacity at ``margin``."""
    if p["phi"] is not None:
        return p["phi"]
    from ntkjam.theory import rs_unsat_spherical

    return float(rs_unsat_spherical(1.0, p["margin"], allow_negative_margin=True).phi_c)


def _input_dim(p: dict[str, Any]) -> int:
    return p["d"] if p["d_per_P"] is None else max(2, round(p["d_per_P"] * p["P"]))


def check_sphere_jamming(params: dict[str, Any]) -> dict[str, Any]:
    """:func:`resolve_sphere_jamming`, then N ≥ 1 and the memory of one task here.

    Parameters
    ----------
    params : dict
        See :func:`sphere_jamming_task`.

    Returns
    -------
    dict
        The resolved parameters.

    Examples
    --------
    >>> from ntkjam.experiments.sphere_jamming import check_sphere_jamming
    >>> check_sphere_jamming({"P": 10, "phi": 3.0})["P"]
    10
    >>> check_sphere_jamming({"P": 1, "phi": 0.1})  # N = round(0.1) = 0 points
    Traceback (most recent call last):
    ...
    ValueError: phi * P must give at least one point, got phi = 0.1 and P = 1; raise phi or P
    """
    from ntkjam.core.limits import check_memory

    p = resolve_sphere_jamming(params)
    phi = _phi(p)
    n = round(phi * p["P"])
    if n < 1:
        raise ValueError(f"phi * P must give at least one point, got phi = {phi:g} and "
                         f"P = {p['P']}; raise phi or P")
    d = _input_dim(p)
    # Inputs, features and their copies (problem, A = diag(y) J, |A|), the Gram matrices.
    nbytes = 8.0 * (n * d + 5.0 * n * p["P"] + 4.0 * p["P"] ** 2)
    check_memory(nbytes, f"P = {p['P']} features, d = {d} and phi = {phi:g} (N = {n})",
                 "lower P or phi")
    return p


def _features(p: dict[str, Any], phi: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (N₀, P) and labels (N₀,) of ``N₀ = round(φ P)`` points."""
    n0 = round(phi * p["P"])
    if p["source"] == "gaussian":
        s_feat, s_lab = (int(s.generate_state(1)[0])
                         for s in np.random.SeedSequence(seed).spawn(2))
        from ntkjam.data import random_labels

        J = np.random.default_rng(s_feat).standard_normal((n0, p["P"])) / math.sqrt(p["P"])
        return J, random_labels(n0, seed=s_lab)
    from ntkjam.experiments.phase_diagram import build_problem

    problem, _ = build_problem(
        {"P": p["P"], "phi": phi, "source": p["source"], "d": _input_dim(p),
         "labels": "random", "margin": 1.0, "sigma_w": p["sigma_w"],
         "sigma_b": p["sigma_b"], "lengthscale": p["lengthscale"], "store_arrays": False},
        seed,
    )
    return np.array(problem.features()), np.array(problem.y)


def build_sphere_problem(params: dict[str, Any], seed: int, *, margin: float = 0.0):
    """The problem of one task (at ``margin``) and facts about its construction.

    Parameters
    ----------
    params : dict
        Task parameters (validated by :func:`check_sphere_jamming`).
    seed : int
        Non-negative seed of the features and the labels.
    margin : float
        κ of the returned problem.

    Returns
    -------
    problem : ntkjam.problem.Problem
        Features (N, r) in range(J) coordinates when r < P, scaled to ``tr(JJᵀ)/N = 1``.
    info : dict
        ``n`` (N), ``n_params`` (P of the source), ``rank`` (r), ``feature_scale`` (the
        factor the features were divided by), ``d`` (input dimension).

    Examples
    --------
    At κ = −0.5 the RS capacity is φ = 4.77, so P = 10 Gaussian features give 48
    points; the features are scaled to a unit mean kernel diagonal.  The 10 Taylor
    features of degree ≤ 2 in d = 3 have rank 9 on the sphere (|x|² = 1 ties three of
    them), and the problem is posed in range(J):

    >>> import numpy as np
    >>> from ntkjam.experiments.sphere_jamming import build_sphere_problem
    >>> problem, info = build_sphere_problem({"P": 10, "margin": -0.5}, seed=0)
    >>> J = np.asarray(problem.features())
    >>> J.shape, info["rank"], bool(np.isclose(np.sum(J * J) / info["n"], 1.0))
    ((48, 10), 10, True)
    >>> taylor = {"P": 10, "margin": -0.5, "source": "taylor_features", "d": 3}
    >>> problem, info = build_sphere_problem(taylor, seed=0)
    >>> np.asarray(problem.features()).shape, info["n_params"], info["rank"]
    ((43, 9), 10, 9)
    """
    from ntkjam._validate import as_seed
    from ntkjam.problem import Problem

    p = check_sphere_jamming(params)
    seed = as_seed("seed", seed)
    phi = _phi(p)
    J, y = _features(p, phi, seed)
    scale = math.sqrt(float(np.einsum("ij,ij->", J, J)) / J.shape[0])
    J /= scale
    full = Problem(y=y, J=J, margin=margin)
    r = full.rank
    if r < J.shape[1]:
        J = J @ full.reduced_svd()[2]  # range(J) coordinates: ‖w‖ is the RKHS norm
    n = max(1, min(round(phi * r), J.shape[0]))
    if r == full.n_features and n == J.shape[0]:
        problem = full  # full rank, every point kept: the same problem (and its SVD)
    else:
        problem = Problem(y=y[:n], J=np.ascontiguousarray(J[:n]), margin=margin)
    info = {"n": n, "n_params": int(full.n_features), "rank": int(problem.rank),
            "feature_scale": scale, "d": None if p["source"] == "gaussian" else _input_dim(p)}
    return problem, info


@register("sphere_jamming", check=check_sphere_jamming, resolve=resolve_sphere_jamming)
def sphere_jamming_task(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Find the jamming point of one instance from the UNSAT side and measure it.

    Parameters
    ----------
    params : dict
        ``P`` (required: features of the source); ``margin`` (None: give ``phi``
        instead; else κ of the jamming point, and φ = α_RS(κ)); ``phi`` (None: give
        ``margin`` instead; else φ = N/r) — exactly one of the two; ``source``
        ("gaussian"); ``d`` (10: input dimension); ``d_per_P`` (None: use ``d``; else
        d = round(d_per_P·P)); ``constraint`` ("sphere"; "none" is refused); ``norm``
        (1.0: ‖w‖²/r); ``margin_above`` (0.25: the compression starts at
        κ_RS(φ) + margin_above); ``margin_step`` (0.05); ``kappa_tol`` (1e-05: the final
        bracket); ``sigma_w`` (√2), ``sigma_b`` (0.0), ``lengthscale``
        (1.0) of the source; ``max_iter`` (50000: per minimisation); ``store_arrays``
        (True).
    seed : int
        Task seed (features and labels).

    Returns
    -------
    dict
        Scalars: ``n`` (N), ``n_params``, ``rank``, ``phi_eff`` (N/r), ``kappa_j``
        (midpoint of the final bracket), ``kappa_unsat``, ``kappa_sat``, ``kappa_rs``
        (κ_RS(φ), the RS upper bound on κ_J), ``n_unsat`` (N_Δ at ``kappa_unsat``),
        ``isostaticity`` (N_Δ/r), ``n_contacts``, ``n_gaps``, ``loss``, ``mean_force``,
        ``multiplier``, ``iterations`` (of that minimisation), ``n_minimizations``,
        ``feature_scale``, ``compression`` (its status, "jammed").  Arrays (with
        ``store_arrays``): ``gaps`` (y f − κ of the satisfied points) and ``forces``
        (Δ of the violated points) at ``kappa_unsat``, ``history_margin`` and
        ``history_n_unsat`` (every minimisation, in order).

    Raises
    ------
    RuntimeError
        No jamming point was bracketed (the compression ended SAT or UNSAT), or a
        minimisation ended undecided.

    Examples
    --------
    Non-convex jamming (κ < 0) is isostatic: as many constraints are violated just
    above jamming as the problem has dimensions, N_Δ = r.  At finite P the jamming
    margin lies below the RS bound:

    >>> from ntkjam.experiments.sphere_jamming import sphere_jamming_task
    >>> out = sphere_jamming_task({"P": 10, "margin": -0.5}, seed=0)
    >>> out["compression"], out["n"], out["rank"], out["n_unsat"] == out["rank"]
    ('jammed', 48, 10, True)
    >>> bool(out["kappa_j"] < out["kappa_rs"] < 0), out["arrays"]["forces"].shape
    (True, (10,))
    """
    p = check_sphere_jamming(params)
    problem, info = build_sphere_problem(p, seed)
    r = info["rank"]
    kappa_rs = rs_jamming_margin(info["n"] / r)
    c = jam_from_unsat(problem, start=round(kappa_rs + p["margin_above"], 12),
                       step=p["margin_step"], kappa_tol=p["kappa_tol"], norm=p["norm"] * r,
                       seed=seed, max_iter=p["max_iter"])
    if c.status != "jammed":
        raise RuntimeError(f"no jamming point bracketed: compression ended {c.status!r} "
                           f"(history {c.history[-3:]})")
    u = c.unsat
    out: dict[str, Any] = {
        "n": info["n"],
        "n_params": info["n_params"],
        "rank": r,
        "phi_eff": info["n"] / r,
        "kappa_j": float(c.kappa_j),
        "kappa_unsat": float(c.kappa_unsat),
        "kappa_sat": float(c.kappa_sat),
        "kappa_rs": kappa_rs,
        "n_unsat": int(u.n_unsat),
        "isostaticity": float(u.isostaticity),
        "n_contacts": int(u.contacts.size),
        "n_gaps": int(u.gaps.size),
        "loss": float(u.loss),
        "mean_force": float(np.mean(u.forces)) if u.forces.size else 0.0,
        "multiplier": float(u.multiplier),
        "iterations": int(u.iterations),
        "n_minimizations": len(c.history),
        "feature_scale": float(info["feature_scale"]),
        "compression": str(c.status),
    }
    if p["store_arrays"]:
        out["arrays"] = {
            "gaps": np.asarray(u.gaps, dtype=np.float64),
            "forces": np.asarray(u.forces, dtype=np.float64),
            "history_margin": np.array([h[0] for h in c.history], dtype=np.float64),
            "history_n_unsat": np.array([h[3] for h in c.history], dtype=np.int64),
        }
    return out


def sphere_jamming_spec(
    *,
    P: object,
    margin: object = None,
    phi: object = None,
    seeds: int = 8,
    output: str | None = None,
    description: str = "",
    **params: Any,
):
    """The sweep spec of a jamming study: grid P × margin (or P × φ), ``seeds`` replicas.

    Parameters
    ----------
    P : sequence of int
        Feature counts, each ≥ 1, distinct.
    margin, phi : sequence of float, optional
        The jamming points' margins (φ = α_RS(κ) each) or the φ values; exactly one.
    seeds : int
        Replicas per grid point (≥ 1): seeds 0, …, seeds − 1.
    output : str, optional
        Run directory.
    description : str
    **params
        Fixed task parameters (see :func:`sphere_jamming_task`), checked here on the
        smallest and the largest task.

    Returns
    -------
    ntkjam.sweep.SweepSpec

    Examples
    --------
    >>> from ntkjam import sweep
    >>> from ntkjam.experiments.sphere_jamming import sphere_jamming_spec
    >>> spec = sphere_jamming_spec(P=(20, 10), margin=(0.0, -0.5), seeds=2)
    >>> spec.grid, len(sweep.expand(spec))  # axes sorted; 2 P × 2 κ × 2 seeds
    ({'P': (10, 20), 'margin': (-0.5, 0.0)}, 8)
    """
    from ntkjam._validate import as_int, as_real
    from ntkjam.experiments.diagram_spec import as_axis
    from ntkjam.sweep.spec import MAX_TASKS, parse_spec

    Ps = as_axis("P", P, lambda n, v: as_int(n, v, minimum=1), item="size")
    if (margin is None) == (phi is None):
        raise ValueError("give margin (the jamming points' margins) or phi, exactly one")
    name = "margin" if phi is None else "phi"
    values = as_axis(name, margin if phi is None else phi,
                     lambda n, v: as_real(n, v, positive=(n == "phi")), kind="numbers")
    seeds = as_int("seeds", seeds, minimum=1)
    for fixed in ("P", "margin", "phi"):
        if fixed in params:
            raise ValueError(f"{fixed} is a grid axis here; give it through the axis arguments")
    n_tasks = len(Ps) * len(values) * seeds
    if n_tasks > MAX_TASKS:
        raise ValueError(f"{len(Ps)} sizes x {len(values)} values of {name} x seeds = {seeds} "
                         f"make {n_tasks} tasks, more than the {MAX_TASKS} one sweep may hold")
    for v in values:  # the smallest and the largest size, every value
        check_sphere_jamming({**params, "P": min(Ps), name: v})
        check_sphere_jamming({**params, "P": max(Ps), name: v})
    data: dict[str, Any] = {
        "experiment": "sphere_jamming",
        "description": description or "jamming on the sphere: kappa_J, N_Delta/rank, gaps, forces",
        "params": dict(params),
        "grid": {"P": sorted(Ps), name: sorted(values)},
        "seeds": {"count": seeds, "start": 0},
    }
    if output is not None:
        data["output"] = str(output)
    return parse_spec(data, source="jamming-sphere")
