"""Finite-size scaling of the crossing: φ_c(∞) and the exponent ν from several sizes.

``w(P) = b P^{−1/ν}`` (weighted log-log fit of the widths: 1/ν and ν with errors),
then ``φ_c(P) = φ_c(∞) + a P^{−1/ν}`` (weighted linear least squares at that 1/ν;
the error on 1/ν is propagated).  Input: the :class:`~ntkjam.analysis.Crossing` of
each size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ntkjam.analysis.sat import Crossing
from ntkjam.analysis.stats import positive_errors, wls
from ntkjam.core.reprs import SummaryRepr

__all__ = ["FSSFit", "finite_size_scaling"]


@dataclass(frozen=True, repr=False)
class FSSFit(SummaryRepr):
    """Finite-size scaling of the crossing.

    ``w(P) = b P^{−1/ν}`` and ``φ_c(P) = φ_c(∞) + a P^{−1/ν}``.

    Attributes
    ----------
    phi_c_inf, phi_c_inf_err : float
        Extrapolated threshold and its standard error (fit covariance, plus the
        propagated error of 1/ν).
    a, a_err : float
        Amplitude of the shift.
    inv_nu, inv_nu_err : float
        1/ν from the widths.
    nu, nu_err : float
    b : float
        Width amplitude.
    chi2, dof : float, int
        χ² and degrees of freedom of the crossing fit (dof 0 when exactly determined).
    P : tuple of int
        The sizes used.
    note : str
        How the fit was done (e.g. a shift fixed to 0 with too few sizes).
    """

    phi_c_inf: float
    phi_c_inf_err: float
    a: float
    a_err: float
    inv_nu: float
    inv_nu_err: float
    nu: float
    nu_err: float
    b: float
    chi2: float
    dof: int
    P: tuple[int, ...]
    note: str = ""


def _shift_fit(P: np.ndarray, c_val: np.ndarray, c_err: np.ndarray, x: float):
    """``φ_c(P) = φ_c(∞) + a P^{−x}`` by WLS; the shift a fixed to 0 below three sizes."""
    if P.size >= 3 and abs(x) > 1e-8:
        Xc = np.column_stack([np.ones_like(P), P ** (-x)])
        return wls(Xc, c_val, c_err)
    beta, cov, chi2 = wls(np.ones((P.size, 1)), c_val, c_err)
    return np.array([beta[0], 0.0]), np.diag([cov[0, 0], 0.0]), chi2


def finite_size_scaling(cross: list[Crossing]) -> FSSFit:
    """Fit the widths and crossings of several P (see :class:`FSSFit`).

    Raises
    ------
    ValueError
        Fewer than two sizes with a finite crossing.
    """
    cs = [c for c in cross if np.isfinite(c.phi_c) and np.isfinite(c.width) and c.width > 0]
    if len(cs) < 2:
        raise ValueError(
            f"finite-size scaling needs crossings at two or more P, got {len(cs)} "
            "(widen the φ range or add sizes)"
        )
    P = np.array([c.n_params for c in cs], dtype=float)
    w = np.array([c.width for c in cs])
    w_err = positive_errors(np.array([c.width_err for c in cs]), w)
    c_val = np.array([c.phi_c for c in cs])
    c_err = positive_errors(np.array([c.stderr for c in cs]), c_val)
    X = np.column_stack([np.ones_like(P), -np.log(P)])
    (logb, x), cov_w, _ = wls(X, np.log(w), w_err / w)
    x_err = float(math.sqrt(cov_w[1, 1]))
    note = ""
    if not (np.isfinite(x) and x > 0):
        note = f"widths do not shrink with P (1/ν = {x:.3g}); φ_c(∞) is the weighted mean"
        beta, cov, chi2 = _shift_fit(P, c_val, c_err, 0.0)
        dof = P.size - 1
        var_x = 0.0
    else:
        beta, cov, chi2 = _shift_fit(P, c_val, c_err, x)
        dof = P.size - (2 if len(cs) >= 3 else 1)
        if len(cs) < 3:
            note = "two sizes: shift a fixed to 0, φ_c(∞) is the weighted mean"
        lo, _, _ = _shift_fit(P, c_val, c_err, max(x - x_err, 1e-3))
        hi, _, _ = _shift_fit(P, c_val, c_err, x + x_err)
        var_x = (0.5 * (hi[0] - lo[0])) ** 2
    nu = 1.0 / x if x != 0 else math.inf
    return FSSFit(
        phi_c_inf=float(beta[0]),
        phi_c_inf_err=float(math.sqrt(cov[0, 0] + var_x)),
        a=float(beta[1]),
        a_err=float(math.sqrt(cov[1, 1])),
        inv_nu=float(x),
        inv_nu_err=x_err,
        nu=float(nu),
        nu_err=float(x_err / x**2) if x != 0 else math.inf,
        b=float(math.exp(logb)),
        chi2=float(chi2),
        dof=int(dof),
        P=tuple(int(p) for p in P),
        note=note,
    )
