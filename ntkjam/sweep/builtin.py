"""Built-in experiments, registered by name for sweep specs.

``kernel_summary`` — the spectrum of an infinite-width kernel on random points of the
sphere: a cheap, useful first sweep (how the condition number and the numerical rank
of the NTK change with N, d, depth and activation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from ntkjam._validate import as_choice, as_int, as_real
from ntkjam.sweep.registry import register

__all__ = ["kernel_summary"]

_KERNEL_SUMMARY_PARAMS = {
    "n": None,
    "d": None,
    "kernel": "ntk",
    "depth": 1,
    "activation": "relu",
    "sigma_w": 2**0.5,
    "sigma_b": 0.0,
    "radius": 1.0,
}


def _with_defaults(params: dict[str, Any], defaults: dict[str, Any], name: str) -> dict:
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(
            f"{name}: unknown parameter {unknown[0]!r}; allowed: {', '.join(defaults)}"
        )
    missing = [k for k, v in defaults.items() if v is None and k not in params]
    if missing:
        raise ValueError(f"{name}: parameter {missing[0]!r} is required")
    return {**defaults, **params}


@register("kernel_summary")
def kernel_summary(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Spectrum summary of the analytic NTK (or NNGP) of N points uniform on a sphere.

    Parameters
    ----------
    params : dict
        ``n`` (points N, required), ``d`` (input dimension, required), ``kernel``
        ("ntk" | "nngp", default "ntk"), ``depth`` (hidden layers L ≥ 0, default 1), ``activation``
        ("relu"), ``sigma_w`` (√2), ``sigma_b`` (0), ``radius`` (1.0, or "sqrt_d").
    seed : int
        Seed of the input draw ``ntkjam.data.sphere(n, d, seed=seed)``.

    Returns
    -------
    dict
        ``trace``, ``lambda_max``, ``lambda_min`` (of the (N, N) kernel),
        ``condition_number`` (λ_max/λ_min; inf if λ_min ≤ 0), ``rank`` (numerical rank,
        :func:`ntkjam.linalg.rank_report` convention), ``rank_gap`` (singular-value ratio
        across the rank cutoff), and the array ``eigenvalues`` (N,), descending.
    """
    from ntkjam.data import sphere
    from ntkjam.kernels import analytic
    from ntkjam.linalg import default_rank_tolerance

    p = _with_defaults(params, _KERNEL_SUMMARY_PARAMS, "kernel_summary")
    n = as_int("n", p["n"], minimum=1)
    d = as_int("d", p["d"], minimum=2)
    kind = as_choice("kernel", p["kernel"], ("ntk", "nngp"))
    X = sphere(n, d, seed=seed, radius=p["radius"])
    K = getattr(analytic, kind)(
        X,
        depth=as_int("depth", p["depth"], minimum=0),
        activation=p["activation"],
        sigma_w=as_real("sigma_w", p["sigma_w"], positive=True),
        sigma_b=as_real("sigma_b", p["sigma_b"], nonnegative=True),
    )
    K = np.asarray(K, dtype=np.float64)
    eigenvalues = scipy.linalg.eigvalsh(K, check_finite=False)[::-1].copy()
    # The singular values of a symmetric K are |λ|: the rank_report convention, one
    # eigendecomposition instead of an extra SVD.
    s = np.sort(np.abs(eigenvalues))[::-1]
    tol = default_rank_tolerance(K.shape, float(s[0]))
    rank = int(np.count_nonzero(s > tol))
    gap = float(s[rank - 1] / s[rank]) if 0 < rank < s.size and s[rank] > 0 else float("inf")
    lam_max, lam_min = float(eigenvalues[0]), float(eigenvalues[-1])
    return {
        "trace": float(np.trace(K)),
        "lambda_max": lam_max,
        "lambda_min": lam_min,
        "condition_number": lam_max / lam_min if lam_min > 0 else float("inf"),
        "rank": rank,
        "rank_gap": gap,
        "arrays": {"eigenvalues": eigenvalues},
    }
