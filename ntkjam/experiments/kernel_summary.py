"""The kernel_summary experiment, registered by name for sweep specs.

``kernel_summary`` — the spectrum of an infinite-width kernel on random points of the
sphere: a cheap, useful first sweep (how the condition number and the numerical rank
of the NTK change with N, d, depth and activation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from ntkjam.core.params import Choice, Int, NonNegativeReal, PositiveInt, PositiveReal, StudyParams
from ntkjam.experiments.fields import ActivationName, Radius
from ntkjam.sweep.registry import register

__all__ = [
    "DEFAULTS",
    "KernelSummaryParams",
    "check_kernel_summary",
    "kernel_summary",
    "resolve_kernel_summary",
]


class KernelSummaryParams(StudyParams, study="kernel_summary"):
    """The parameters of :func:`kernel_summary` and their defaults (the only copy).

    Examples
    --------
    >>> from ntkjam.experiments.kernel_summary import KernelSummaryParams
    >>> p = KernelSummaryParams.resolve({"n": 10, "d": 3, "radius": "sqrt_d"})
    >>> p["kernel"], p["depth"], p["activation"], p["radius"]  # "sqrt_d" kept as given
    ('ntk', 1, 'relu', 'sqrt_d')
    """

    n: PositiveInt
    d: Int(minimum=2)
    kernel: Choice("ntk", "nngp") = "ntk"
    depth: Int(minimum=0) = 1
    activation: ActivationName = "relu"
    sigma_w: PositiveReal = 2**0.5
    sigma_b: NonNegativeReal = 0.0
    radius: Radius = 1.0


#: Parameters of the task and their defaults (``None``: required).
DEFAULTS: dict[str, Any] = KernelSummaryParams.defaults()


def resolve_kernel_summary(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of :func:`kernel_summary` validated, every default filled in (pure).

    :meth:`KernelSummaryParams.resolve`; ``activation`` and ``radius`` are kept as given.

    Parameters
    ----------
    params : dict
        See :func:`kernel_summary`; ``n`` and ``d`` required.

    Returns
    -------
    dict
        Every parameter of :class:`KernelSummaryParams`, in field order.

    Raises
    ------
    ValueError, TypeError
        Unknown or missing parameter; n < 1; d < 2; depth < 0; unknown kernel or
        activation; σ_w ≤ 0, σ_b < 0 or not finite; a radius that is neither
        positive nor "sqrt_d".

    Examples
    --------
    >>> from ntkjam.experiments.kernel_summary import resolve_kernel_summary
    >>> list(resolve_kernel_summary({"n": 10, "d": 3}))
    ['n', 'd', 'kernel', 'depth', 'activation', 'sigma_w', 'sigma_b', 'radius']
    >>> resolve_kernel_summary({"n": 10, "d": 1})
    Traceback (most recent call last):
    ...
    ValueError: d must be >= 2, got 1
    """
    return KernelSummaryParams.resolve(params)


def check_kernel_summary(params: dict[str, Any]) -> dict[str, Any]:
    """:func:`resolve_kernel_summary`, then the memory of the (n, n) kernel on this machine.

    Parameters
    ----------
    params : dict
        See :func:`kernel_summary`.

    Returns
    -------
    dict
        The resolved parameters.

    Examples
    --------
    >>> from ntkjam.experiments.kernel_summary import check_kernel_summary
    >>> check_kernel_summary({"n": 10, "d": 3})["n"]
    10
    >>> check_kernel_summary({"n": 10**7, "d": 3})  # a (1e7, 1e7) kernel
    Traceback (most recent call last):
    ...
    ValueError: n = 10000000 points in d = 3 needs about 2.13 PiB of memory per task, ...
    """
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

    Examples
    --------
    On the unit sphere the one-hidden-layer ReLU NTK has the diagonal
    Θ(x, x) = 2·(2/d) = 4/3 at d = 3, so the trace of 10 points is 40/3; it has full
    rank.  The linear model (depth 0), Θ = 2 x·x'/d, has rank d:

    >>> from ntkjam.experiments.kernel_summary import kernel_summary
    >>> out = kernel_summary({"n": 10, "d": 3}, seed=0)
    >>> round(out["trace"], 6), out["rank"], out["arrays"]["eigenvalues"].shape
    (13.333333, 10, (10,))
    >>> linear = kernel_summary({"n": 10, "d": 3, "depth": 0}, seed=0)
    >>> linear["rank"], round(linear["trace"], 6), abs(linear["lambda_min"]) < 1e-12
    (3, 6.666667, True)
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
