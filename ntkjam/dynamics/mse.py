"""The exact MSE flow in the eigenbasis of K: f(t) in closed form."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ntkjam._validate import (
    as_float_array,
    as_real,
)
from ntkjam.core.reprs import SummaryRepr
from ntkjam.dynamics.sources import (
    KernelPath,
    check_problem,
    frozen_array,
    resolve_source,
    resolve_test,
)


@dataclass(frozen=True, repr=False)
class ExactMSE(SummaryRepr):
    """The closed-form MSE gradient flow with a fixed kernel, at the requested times.

    Attributes
    ----------
    times : (T,)
    outputs : (T, N)
    test_outputs : (T, N_test) or None
    loss : (T,)  L = (1/N) Σ ½ (f_i − y_i)²

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.dynamics import mse_exact
    >>> K = np.eye(3)
    >>> ex = mse_exact(np.zeros(3), np.ones(3), [0.0, 1.0], kernel=K)
    >>> ex.outputs.shape, [round(float(v), 4) for v in ex.loss]
    ((2, 3), [0.5, 0.2567])
    """

    times: np.ndarray
    outputs: np.ndarray
    test_outputs: np.ndarray | None
    loss: np.ndarray


def mse_exact(
    f0,
    y,
    times,
    *,
    kernel=None,
    features=None,
    lr: float = 1.0,
    test_kernel=None,
    test_features=None,
    f0_test=None,
    rtol: float | None = None,
) -> ExactMSE:
    """Closed-form solution of ḟ = −η K (f − y)/N, in the eigenbasis of K.

    With K = U Λ Uᵀ: f(t) = f₀ + U (e^{−ηΛt/N} − 1) Uᵀ (f₀ − y) (directions in Ker K do
    not move), and the test outputs f_test(t) = f₀_test − K_test U Λ⁻¹ (1 − e^{−ηΛt/N})
    Uᵀ (f₀ − y) (with features J = U S Vᵀ: − J_test V S⁻¹ (…)).  The test formula
    assumes K_test annihilates Ker K, true whenever the joint Gram matrix is PSD.

    Parameters
    ----------
    f0 : (N,)  initial outputs
    y : (N,)   targets (any real)
    times : (T,) non-negative times
    kernel : (N, N) or None, features : (N, P) or None
        Exactly one.
    lr : float  η > 0
    test_kernel : (N_test, N), test_features : (N_test, P), f0_test : (N_test,), optional
    rtol : float, optional
        Eigenvalues ≤ rtol·λ_max count as zero (default N·eps).

    Returns
    -------
    ExactMSE

    Examples
    --------
    The closed form agrees with the adaptive integrator, and at late times reaches the
    least-squares fit within range(J):

    >>> import numpy as np
    >>> from ntkjam.dynamics import gradient_flow, mse_exact
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> y = np.array([1.0, -1, 1, -1, 1, -1])
    >>> ex = mse_exact(np.zeros(6), y, [0.0, 10.0, 1e6], features=J)
    >>> ex.outputs.shape, ex.loss.shape
    ((3, 6), (3,))
    >>> bool(np.allclose(ex.outputs[-1], J @ np.linalg.lstsq(J, y, rcond=None)[0]))
    True
    >>> num = gradient_flow(np.zeros(6), y, "mse", features=J, times=[0.0, 10.0])
    >>> bool(np.allclose(num.outputs[1], ex.outputs[1], atol=1e-3))
    True
    """
    f0, y, _ = check_problem(f0, y, "mse")
    n = f0.size
    lr = as_real("lr", lr, positive=True)
    t = as_float_array("times", times, ndim=1)
    if np.any(t < 0):
        raise ValueError(f"times must be >= 0, got min {t.min()}")
    if (kernel is None) == (features is None):
        raise ValueError("give exactly one of kernel= or features=")
    if kernel is not None and (callable(kernel) or isinstance(kernel, KernelPath)):
        raise ValueError("mse_exact needs a fixed kernel (an (N, N) array), got a moving one")
    source = resolve_source(kernel, features, n, need_factor=False)
    f0t, Kt, Jt = resolve_test(source, test_kernel, test_features, f0_test, n)
    if source.J is not None:
        U, s, Vt = scipy.linalg.svd(source.J, full_matrices=False)
        lam = s**2
    else:
        lam, U = scipy.linalg.eigh(source.K, driver="evd")
        s, Vt = None, None
    cut = (rtol if rtol is not None else n * np.finfo(float).eps) * max(lam.max(initial=0), 0)
    keep = lam > cut
    U, lam = U[:, keep], lam[keep]
    c = U.T @ (f0 - y)
    decay = np.exp(-np.outer(t, lr * lam / n))  # (T, r)
    outputs = f0[None, :] + ((decay - 1.0) * c) @ U.T
    test_outputs = None
    if f0t is not None:
        coef = (1.0 - decay) * c  # (T, r)
        if Jt is not None:
            B = Jt @ (Vt[keep].T / s[keep])  # (N_test, r)
        else:
            B = (Kt @ U) / lam
        test_outputs = f0t[None, :] - coef @ B.T
    loss = 0.5 * np.mean((outputs - y) ** 2, axis=1)
    return ExactMSE(
        times=frozen_array(t),
        outputs=frozen_array(outputs),
        test_outputs=frozen_array(test_outputs),
        loss=frozen_array(loss),
    )
