"""The record of one kernel-drift training run and the distances measured on it.

:func:`ntkjam.experiments.kernel_drift.drift_run` trains the network of a task and
returns a :class:`DriftRun` (the data, θ_0 and θ_T, the empirical NTK K_0 and K_T);
:func:`measure_drift` turns it into the study's distances (relative kernel change in
Frobenius and operator norm, weight change, the fraction of ReLU pattern flips, the
kernel-label alignment before and after), and :func:`side_of` maps the stopping status
to the side of the transition.  Both are re-exported by
:mod:`ntkjam.experiments.kernel_drift`, the registered task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ntkjam.core.reprs import SummaryRepr
from ntkjam.core.status import Status
from ntkjam.experiments.fluctuations import spectral_norm

__all__ = ["DriftRun", "measure_drift", "side_of"]


@dataclass(frozen=True, repr=False)
class DriftRun(SummaryRepr):
    """One training run of :func:`ntkjam.experiments.kernel_drift.drift_run` and both kernels.

    Attributes
    ----------
    status : Status
        ``"sat"``, ``"converged"``, ``"unsat"``, ``"budget"`` or ``"nan"``.
    steps, time : int, float
        Steps and function-space time ``Σ lr``.
    loss, n_unsat : float, int
        Final ``L̃`` (per sample, not divided by α²) and N_Δ = #{κ − y_i F_i > sat_tol}.
    lr_initial, lr_final, seconds : float
        Steps, and the wall clock of the loop (compilation included).
    net : ntkjam.networks.MLP
    X, y : ndarray, shapes (N, d) and (N,)
    params0, params : list of (W, b)
        θ_0 and θ_T.
    K0, KT : ndarray, shape (N, N)
        Empirical NTK (unscaled, of f_θ) at the start and at the end.

    Examples
    --------
    >>> from ntkjam.experiments.kernel_drift import drift_run
    >>> run = drift_run({"width": 8, "n": 6, "d": 3, "max_steps": 200, "window": 50}, 0)
    >>> repr(run).startswith("DriftRun(status='sat', steps=")  # the status first
    True
    >>> run.y.shape, [W.shape for W, _ in run.params]  # θ_T, shaped as θ_0
    ((6,), [(3, 8), (8, 1)])
    """

    status: str
    steps: int
    time: float
    loss: float
    n_unsat: int
    lr_initial: float
    lr_final: float
    seconds: float
    net: Any
    X: np.ndarray
    y: np.ndarray
    params0: list
    params: list
    K0: np.ndarray
    KT: np.ndarray


def side_of(status: str) -> str:
    """``"sat"`` (zero loss reached: hinge SAT, MSE interpolation), ``"unsat"`` (a positive
    loss stopped falling) or ``"undecided"`` (budget, non-finite).

    Parameters
    ----------
    status : str
        A training status (:class:`ntkjam.core.status.Status` or its string).

    Returns
    -------
    str

    Examples
    --------
    >>> from ntkjam.experiments.kernel_drift_measures import side_of
    >>> [side_of(s) for s in ("sat", "converged", "unsat", "budget", "nan")]
    ['sat', 'sat', 'unsat', 'undecided', 'undecided']
    """
    if status in (Status.SAT, Status.CONVERGED):
        return "sat"
    return "unsat" if status == Status.UNSAT else "undecided"


def _alignment(K: np.ndarray, y: np.ndarray) -> float:
    return float(y @ K @ y / (np.linalg.norm(K) * float(y @ y)))  # yᵀKy / (‖K‖_F ‖y‖²)


def _pattern_change(net, params0, params, X) -> float:
    """Fraction of (point, hidden unit) pairs whose pre-activation changed sign."""
    import jax.numpy as jnp

    from ntkjam.networks.mlp import forward

    Xj = jnp.asarray(X)
    z0 = forward(net, params0, Xj)[1][:-1]
    zT = forward(net, params, Xj)[1][:-1]
    flips = sum(int(np.sum(np.sign(np.asarray(a)) != np.sign(np.asarray(b))))
                for a, b in zip(z0, zT, strict=True))
    return flips / (X.shape[0] * sum(int(np.asarray(a).shape[1]) for a in z0))


def measure_drift(run: DriftRun) -> dict[str, float]:
    """The distances of a :class:`DriftRun`: kernels, weights, activation patterns.

    Parameters
    ----------
    run : DriftRun
        Kernels K0, KT (N, N), θ_0 and θ_T, the inputs X (N, d) and labels y (N,).

    Returns
    -------
    dict
        ``rel_frobenius`` ‖K_T − K_0‖_F/‖K_0‖_F, ``rel_operator`` ‖K_T − K_0‖_op /
        ‖K_0‖_op, ``kernel_growth`` ‖K_T‖_F/‖K_0‖_F, ``lambda_ratio``
        λ_max(K_T)/λ_max(K_0), ``weight_change`` ‖θ_T − θ_0‖/‖θ_0‖, ``weight_distance``
        ‖θ_T − θ_0‖, ``pattern_change``, ``alignment_0``, ``alignment_T``; all scalars.

    Examples
    --------
    A run that did not move measures zero drift (and the same alignment twice):

    >>> import dataclasses
    >>> from ntkjam.experiments.kernel_drift import drift_run
    >>> from ntkjam.experiments.kernel_drift_measures import measure_drift
    >>> run = drift_run({"width": 8, "n": 6, "d": 3, "max_steps": 200, "window": 50}, 0)
    >>> moved = measure_drift(run)
    >>> bool(moved["rel_frobenius"] > 0), bool(moved["weight_change"] > 0)
    (True, True)
    >>> still = measure_drift(dataclasses.replace(run, params=run.params0, KT=run.K0))
    >>> still["rel_frobenius"], still["weight_change"], still["pattern_change"]
    (0.0, 0.0, 0.0)
    >>> still["kernel_growth"], still["alignment_T"] == still["alignment_0"]
    (1.0, True)
    """
    K0, KT = run.K0, run.KT
    E = KT - K0
    op0 = spectral_norm(K0)
    theta0 = np.concatenate([np.ravel(np.asarray(W)) for W, _ in run.params0])
    thetaT = np.concatenate([np.ravel(np.asarray(W)) for W, _ in run.params])
    dist = float(np.linalg.norm(thetaT - theta0))
    return {
        "rel_frobenius": float(np.linalg.norm(E) / np.linalg.norm(K0)),
        "rel_operator": spectral_norm(E) / op0,
        "kernel_growth": float(np.linalg.norm(KT) / np.linalg.norm(K0)),
        "lambda_ratio": spectral_norm(KT) / op0,
        "weight_change": dist / float(np.linalg.norm(theta0)),
        "weight_distance": dist,
        "pattern_change": _pattern_change(run.net, run.params0, run.params, run.X),
        "alignment_0": _alignment(K0, run.y),
        "alignment_T": _alignment(KT, run.y),
    }
