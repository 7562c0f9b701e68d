"""The kernel_summary experiment, registered by name for sweep specs.

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

__all__ = ["check_kernel_summary", "kernel_summary", "resolve_kernel_summary"]

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


def resolve_kernel_summary(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of :func:`kernel_summary` validated, every default filled in (pure).

    Raises
    ------
    ValueError, TypeError
        Unknown or missing parameter; n < 1; d < 2; depth < 0; unknown kernel or
        activation; σ_w ≤ 0, σ_b < 0 or not finite; a radius that is neither
        positive nor "sqrt_d".
    """
    from ntkjam.data import resolve_radius
    from ntkjam.kernels import get_activation

    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict, got {type(params).__name__}")
    p = _with_defaults(params, _KERNEL_SUMMARY_PARAMS, "kernel_summary")
    p["n"] = as_int("n", p["n"], minimum=1)
    p["d"] = as_int("d", p["d"], minimum=2)
    p["kernel"] = as_choice("kernel", p["kernel"], ("ntk", "nngp"))
    p["depth"] = as_int("depth", p["depth"], minimum=0)
    get_activation(p["activation"])
    p["sigma_w"] = as_real("sigma_w", p["sigma_w"], positive=True)
    p["sigma_b"] = as_real("sigma_b", p["sigma_b"], nonnegative=True)
    resolve_radius(p["radius"], p["d"])
    return p


def check_kernel_summary(params: dict[str, Any]) -> dict[str, Any]:
    """:func:`resolve_kernel_summary`, then the memory of the (n, n) kernel on this machine."""
    from ntkjam.core.limits import check_memory

    p = resolve_kernel_summary(params)
    # Inputs (n, d); the kernel, its eigendecomposition's workspace and the eigenvalues.
    n, d = p["n"], p["d"]
    check_memory(8.0 * (n * d + 3.0 * n * n), f"n = {n} points in d = {d}", "lower n or d")
    return p


@register("kernel_summary", check=check_kernel_summary, resolve=resolve_kernel_summary)
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

    p = check_kernel_summary(params)
    X = sphere(p["n"], p["d"], seed=seed, radius=p["radius"])
    K = getattr(analytic, p["kernel"])(
        X, depth=p["depth"], activation=p["activation"], sigma_w=p["sigma_w"],
        sigma_b=p["sigma_b"],
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
