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
import scipy.stats

from ntkjam.analysis.sat import Crossing
from ntkjam.analysis.stats import positive_errors, wls
from ntkjam.core.reprs import SummaryRepr

__all__ = ["FSS_P_MIN", "FSSFit", "finite_size_scaling"]

#: χ² p-value below which a scaling law is not supported by the data.
FSS_P_MIN = 0.01


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
    p_value : float
        χ² survival probability of the crossing fit (NaN when ``dof`` is 0).
    width_chi2, width_dof, width_p_value : float, int, float
        The same for the width law ``w(P) = b P^{−1/ν}`` (dof = sizes − 2).
    supported : bool
        No warning: every width resolved by its grid (:attr:`Crossing.resolved`) and
        neither χ² rejecting its law (p ≥ :data:`FSS_P_MIN`).  An unsupported fit is
        reported with its warnings, not as a result.
    warnings : tuple of str
        Why the fit is not supported.

    Examples
    --------
    >>> from ntkjam.analysis.sat import Crossing
    >>> from ntkjam.analysis.scaling import finite_size_scaling
    >>> nan = float("nan")
    >>> cross = [Crossing(P=P, n_params=P, rank=P, phi_c=2 - P**-0.5, width=P**-0.5,
    ...                   ci_low=nan, ci_high=nan, stderr=0.01, width_err=0.01 * P**-0.5,
    ...                   phi_c_rank=nan, phi_c_cover=nan, width_cover=nan, n_boot=0,
    ...                   n_seeds=0) for P in (64, 256)]
    >>> fit = finite_size_scaling(cross)  # two sizes: no room for the shift a
    >>> fit.note, round(fit.a, 6), fit.supported  # the crossings 1.875, 1.9375 disagree
    ('two sizes: shift a fixed to 0, φ_c(∞) is the weighted mean', 0.0, False)
    >>> fit.warnings[0]
    'the crossing law φ_c(P) = φ_c(∞) + a P^(-1/ν) does not describe the sizes: χ²/dof = ...'
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
    p_value: float = math.nan
    width_chi2: float = math.nan
    width_dof: int = 0
    width_p_value: float = math.nan
    supported: bool = True
    warnings: tuple[str, ...] = ()


def _sf(chi2: float, dof: int) -> float:
    return float(scipy.stats.chi2.sf(chi2, dof)) if dof > 0 else math.nan


def _fss_warnings(cs: list[Crossing], chi2: float, dof: int, w_chi2: float,
                  w_dof: int) -> list[str]:
    """Why a finite-size-scaling fit is not supported (empty when it is)."""
    out = []
    narrow = [c for c in cs if not c.resolved]
    if narrow:
        sizes = ", ".join(f"P = {c.n_params} (w = {c.width:.3g} < step {c.grid_step:.3g})"
                          for c in narrow)
        out.append(f"the transition is narrower than half the φ grid step at {sizes}: those "
                   "widths are upper bounds, so ν is not measured (refine the grid near φ_c)")
    for what, c2, k in (("width law w(P) = b P^(-1/ν)", w_chi2, w_dof),
                        ("crossing law φ_c(P) = φ_c(∞) + a P^(-1/ν)", chi2, dof)):
        p = _sf(c2, k)
        if np.isfinite(p) and p < FSS_P_MIN:
            out.append(f"the {what} does not describe the sizes: χ²/dof = {c2:.1f}/{k} "
                       f"(p = {p:.2g} < {FSS_P_MIN:g})")
    return out


def _shift_fit(P: np.ndarray, c_val: np.ndarray, c_err: np.ndarray, x: float):
    """``φ_c(P) = φ_c(∞) + a P^{−x}`` by WLS; the shift a fixed to 0 below three sizes."""
    if P.size >= 3 and abs(x) > 1e-8:
        Xc = np.column_stack([np.ones_like(P), P ** (-x)])
        return wls(Xc, c_val, c_err)
    beta, cov, chi2 = wls(np.ones((P.size, 1)), c_val, c_err)
    return np.array([beta[0], 0.0]), np.diag([cov[0, 0], 0.0]), chi2


def finite_size_scaling(cross: list[Crossing]) -> FSSFit:
    """Fit the widths and crossings of several P (see :class:`FSSFit`).

    Parameters
    ----------
    cross : list of Crossing
        One per size (those without a finite crossing and positive width are left out).

    Returns
    -------
    FSSFit

    Raises
    ------
    ValueError
        Fewer than two sizes with a finite crossing.

    Examples
    --------
    >>> from ntkjam.analysis.sat import Crossing
    >>> from ntkjam.analysis.scaling import finite_size_scaling
    >>> nan = float("nan")
    >>> cross = [Crossing(P=P, n_params=P, rank=P, phi_c=2 - P**-0.5, width=P**-0.5,
    ...                   ci_low=nan, ci_high=nan, stderr=0.01, width_err=0.01 * P**-0.5,
    ...                   phi_c_rank=nan, phi_c_cover=nan, width_cover=nan, n_boot=0,
    ...                   n_seeds=0) for P in (16, 64, 256)]  # exact laws, ν = 2
    >>> fit = finite_size_scaling(cross)
    >>> round(fit.phi_c_inf, 6), round(fit.a, 6), round(fit.nu, 6), fit.supported
    (2.0, -1.0, 2.0, True)
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
    (logb, x), cov_w, w_chi2 = wls(X, np.log(w), w_err / w)
    w_dof = P.size - 2
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
    warns = _fss_warnings(cs, chi2, dof, w_chi2, w_dof)
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
        p_value=_sf(chi2, dof),
        width_chi2=float(w_chi2),
        width_dof=int(w_dof),
        width_p_value=_sf(w_chi2, w_dof),
        supported=not warns,
        warnings=tuple(warns),
    )
