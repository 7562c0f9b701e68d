"""The theory curve a generalization task is compared with, where one applies.

For ``regression_mse`` without an offset (f0 = 0), :func:`theory_prediction` gives the
asymptotic risk and test error of the task's model: Hastie et al. (2019) for
``linear`` (ridge λ as given), Mei & Montanari (2019) for ``relu_features``
(λ_MM = λ d/σ_w⁴), and the spectral learning curve (Bordelon, Canatar & Pehlevan 2020)
for ``ntk_kernel`` (λ_BCP = N λ), with the Funk–Hecke eigenvalues of the depth-1 NTK on
the sphere (:func:`funk_hecke_spectrum`).  Used by
:func:`ntkjam.experiments.generalization.generalization_task`.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

__all__ = ["K_MAX", "funk_hecke_spectrum", "theory_prediction"]

#: Degrees of the Funk–Hecke expansion behind the ``ntk_kernel`` theory.
K_MAX = 40


@functools.lru_cache(maxsize=8)
def funk_hecke_spectrum(d: int, sigma_w: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Funk–Hecke eigenvalues, multiplicities and the tail mass of the depth-1 NTK on the
    sphere of radius √d (uniform probability measure), degrees 0…K_MAX.

    Parameters
    ----------
    d : int
        Input dimension (≥ 2).
    sigma_w : float
        Weight scale of the network.

    Returns
    -------
    (mu, multiplicity, tail)
        ``mu`` (K_MAX + 1,) the eigenvalue of each degree k, ``multiplicity``
        (K_MAX + 1,) its number of spherical harmonics N(d, k), ``tail`` (scalar ≥ 0)
        the trace K(x, x) not carried by degrees ≤ K_MAX.  Cached: do not modify them.

    Examples
    --------
    On S² (d = 3) degree k has 2k + 1 harmonics; the degrees up to 40 carry nearly all
    of the trace K(x, x):

    >>> from ntkjam.experiments.generalization_theory import funk_hecke_spectrum
    >>> mu, mult, tail = funk_hecke_spectrum(3, 2**0.5)
    >>> mu.shape, mult[:4].tolist(), bool(0 <= tail < 1e-2 * (mu @ mult))
    ((41,), [1.0, 3.0, 5.0, 7.0], True)
    """
    from ntkjam.kernels.analytic import ntk
    from ntkjam.spectrum.funk_hecke import funk_hecke, kernel_on_sphere

    profile = kernel_on_sphere(ntk, d, radius=math.sqrt(d), depth=1, sigma_w=sigma_w)
    fh = funk_hecke(profile, d, K_MAX)
    mu = np.asarray(fh.mu, dtype=np.float64)
    mult = np.asarray(fh.multiplicity, dtype=np.float64)
    tail = max(float(profile(np.array([1.0]))[0] - mu @ mult), 0.0)
    return mu, mult, tail


def theory_prediction(p: dict[str, Any], n: int, m: int) -> tuple[str, float | None, float | None]:
    """``(name, risk, test_error)`` of the theory that applies to this task, if any.

    Parameters
    ----------
    p : dict
        Resolved task parameters (:func:`ntkjam.experiments.generalization.resolve_params`).
    n, m : int
        Training points N and parameters P of the task.

    Returns
    -------
    (str, float or None, float or None)
        ``"hastie"``, ``"mei_montanari"`` or ``"spectral"`` with the predicted risk
        E (f − f*)² and test error (risk + noise), or ``("", None, None)``.

    Examples
    --------
    Ridgeless linear regression with N = 50, P = 100 (γ = P/N = 2): the risk is
    (1 − 1/γ) ‖β‖² + σ²/(γ − 1) = 0.5 + 0.25, the test error adds the label noise σ²;
    a classification task has no theory here:

    >>> from ntkjam.experiments.generalization import resolve_params
    >>> from ntkjam.experiments.generalization_theory import theory_prediction
    >>> p = resolve_params({"P": 100, "phi": 0.5, "task": "regression_mse",
    ...                     "source": "linear", "epsilon": 0.0})
    >>> name, risk, error = theory_prediction(p, 50, 100)
    >>> name, round(risk, 6), round(error, 6)
    ('hastie', 0.75, 1.0)
    >>> theory_prediction(resolve_params({"P": 100, "phi": 0.5}), 50, 100)
    ('', None, None)
    """
    if p["task"] != "regression_mse" or p["offset_scale"] > 0:
        return "", None, None
    kw = {"signal": p["signal"], "noise": p["noise"]}
    if p["source"] == "linear":
        from ntkjam.theory.linear_ridge import linear_ridge_risk

        r = linear_ridge_risk(n / m, p["ridge"], **kw)
        return "hastie", float(r.risk), float(r.test_error)
    if p["source"] == "relu_features":
        from ntkjam.theory.random_features import random_features_risk

        d = p["d"]
        r = random_features_risk(m / d, n / d, p["ridge"] * d / p["sigma_w"] ** 4, **kw)
        return "mei_montanari", float(r.risk), float(r.test_error)
    if p["source"] == "ntk_kernel":
        from ntkjam.theory.learning_curves import kernel_learning_curve

        mu, mult, tail = funk_hecke_spectrum(p["d"], p["sigma_w"])
        power = np.zeros_like(mu)
        power[1] = p["signal"]
        r = kernel_learning_curve(mu, power, n, n * p["ridge"], multiplicities=mult,
                                  noise=p["noise"], tail_trace=tail)
        return "spectral", float(r.risk), float(r.test_error)
    return "", None, None
