"""Sweep task: the spectrum of ``K = J Jᵀ`` at one φ, with its asymptotic prediction.

``spectrum_task(params, seed)`` follows the sweep engine's contract (see
``docs/sweeps.md``): scalar measurements plus named arrays (the eigenvalues and the
predicted density on its grid), so that figures are drawn from the store alone.

Parameters (``params``):

* ``source``: ``"gaussian"`` (iid N(0, 1/P) entries; prediction Marchenko–Pastur) or
  ``"features"`` (random features of one hidden layer, ``ntkjam.kernels.features``, on
  inputs uniform on the sphere of radius √d; prediction Silverstein with the population
  covariance ``E[J Jᵀ]·P`` = the NNGP Gram of the data, by its eigenvalues).
* ``phi``: φ = N/P (> 0).
* ``fixed``: ``"p"`` (P = ``size``, N = round(φ P)) or ``"n"`` (N = ``size``,
  P = round(N/φ)).
* ``size``: the fixed dimension.
* ``d`` (features): input dimension, default 200.
* ``activation`` (features): default ``"relu"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ntkjam._validate import as_choice, as_int, as_real
from ntkjam.spectrum.compare import compare
from ntkjam.spectrum.measured import feature_eigenvalues, spectrum_report
from ntkjam.spectrum.random_matrix import mp_law, silverstein_law

SOURCES = ("gaussian", "features")


def sizes(phi: float, fixed: str, size: int) -> tuple[int, int]:
    """``(N, P)`` for φ with ``fixed`` ∈ {"n", "p"} equal to ``size``."""
    phi = as_real("phi", phi, positive=True)
    fixed = as_choice("fixed", fixed, ("n", "p"))
    size = as_int("size", size, minimum=1)
    if fixed == "p":
        return max(1, int(round(phi * size))), size
    return size, max(1, int(round(size / phi)))


def spectrum_task(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Measured spectrum of ``J Jᵀ`` at one φ against its prediction.

    Returns
    -------
    dict
        Scalars ``n, p, phi_actual, n_zero, zero_fraction, expected_zero_fraction,
        smallest_nonzero, gap, participation_ratio, ks, wasserstein, predicted_atom,
        mass_error`` and arrays ``eigenvalues`` (N,), ``law_x`` and ``law_density``.
    """
    source = as_choice("source", params.get("source", "gaussian"), SOURCES)
    n, p = sizes(params["phi"], params.get("fixed", "p"), params.get("size", 500))
    rng = np.random.default_rng(seed)
    if source == "gaussian":
        J = rng.standard_normal((n, p)) / np.sqrt(p)
        law = mp_law(n / p)
    else:
        from ntkjam.data import sphere
        from ntkjam.kernels.analytic import nngp
        from ntkjam.kernels.features import random_features
        from ntkjam.spectrum.measured import gram_eigenvalues

        d = as_int("d", params.get("d", 200), minimum=2)
        activation = params.get("activation", "relu")
        data_seed, weight_seed = (int(s) for s in rng.integers(0, 2**31 - 1, size=2))
        X = sphere(n, d, seed=data_seed, radius="sqrt_d")
        J = random_features(X, p, activation=activation, seed=weight_seed)
        tau = gram_eigenvalues(nngp(X, activation=activation))
        law = silverstein_law(np.clip(tau, 0.0, None), n / p)
    lam = feature_eigenvalues(J)
    report = spectrum_report(lam, phi=n / p)
    cmp = compare(lam, law, zero_tol=report.tolerance)
    return {
        "n": n,
        "p": p,
        "phi_actual": n / p,
        "n_zero": report.n_zero,
        "zero_fraction": report.zero_fraction,
        "expected_zero_fraction": report.expected_zero_fraction,
        "smallest_nonzero": report.smallest_nonzero,
        "gap": report.gap if np.isfinite(report.gap) else None,
        "participation_ratio": report.participation_ratio,
        "ks": cmp.ks,
        "wasserstein": cmp.wasserstein,
        "predicted_atom": law.atom,
        "mass_error": law.mass_error,
        "arrays": {"eigenvalues": lam, "law_x": law.x, "law_density": law.density},
    }
