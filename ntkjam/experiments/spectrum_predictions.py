"""Discrete Gram-spectrum predictions and the distance between two spectra.

:func:`funk_hecke_gram_prediction` is the predicted spectrum of the Gram matrix of N
uniform points on S^{d-1} for a dot-product kernel (``N μ_k``, each ``N(d, k)`` times,
zeros when the kernel has finite rank); :func:`spectral_distance` is the relative δ₂
distance between a measured and a predicted spectrum.  Both are used by the spectrum
task and re-exported by :mod:`ntkjam.experiments.spectrum`.
"""

from __future__ import annotations

import numpy as np

from ntkjam._validate import as_int

__all__ = ["funk_hecke_gram_prediction", "spectral_distance"]


def funk_hecke_gram_prediction(
    profile, d: int, n: int, *, k_max: int | None = None, rtol: float = 1e-12
) -> np.ndarray:
    """Predicted Gram eigenvalues of n uniform points on S^{d-1}, ascending, shape (n,).

    ``profile`` is the kernel as a function of t = x·x'/(|x||x'|) (see
    :func:`ntkjam.spectrum.funk_hecke.kernel_on_sphere`).

    The n largest of ``n μ_k`` (each ``N(d, k)`` times) over the degrees with
    ``μ_k > rtol · max μ``, padded with exact zeros when there are fewer such modes
    than n (a kernel of finite rank, e.g. a polynomial of degree ``k_max``).  Without
    ``k_max`` the degrees are extended until they hold n nonzero modes (the odd
    coefficients of ReLU kernels vanish, so counting all degrees is not enough).

    Parameters
    ----------
    profile : callable
        ``profile(t)`` for a 1-D array of cosines t in [−1, 1], same shape out.
    d : int
        Input dimension (the sphere S^{d-1}).
    n : int
        Points N, ≥ 1.
    k_max : int, optional
        Highest degree (a kernel of finite rank); None: as many degrees as needed.
    rtol : float
        Degrees with ``μ_k ≤ rtol · max μ`` count as zero.

    Returns
    -------
    ndarray, shape (n,)
        The predicted eigenvalues, ascending.

    Examples
    --------
    The kernel 1 + x·x' on S² has μ_0 = 1 (once) and μ_1 = 1/3 (three times): for six
    points the Gram eigenvalues are 6, 2, 2, 2 and two exact zeros.  The kernel e^{x·x'}
    has every degree, μ_0 = E[e^t] = sinh 1:

    >>> import numpy as np
    >>> from ntkjam.experiments.spectrum_predictions import funk_hecke_gram_prediction
    >>> funk_hecke_gram_prediction(lambda t: 1 + t, 3, 6, k_max=1)
    array([0., 0., 2., 2., 2., 6.])
    >>> full = funk_hecke_gram_prediction(np.exp, 3, 6)
    >>> full.shape, bool(np.isclose(full[-1], 6 * np.sinh(1.0))), bool(full[0] > 0)
    ((6,), True, True)
    """
    from ntkjam.spectrum.funk_hecke import funk_hecke, harmonic_multiplicity

    n = as_int("n", n, minimum=1)
    if k_max is None:
        k, total = 0, 1
        while total < n:
            k += 1
            total += harmonic_multiplicity(d, k)
        k_max = max(k, 2)
        while True:
            fh = funk_hecke(profile, d, k_max)
            keep = fh.mu > rtol * float(np.max(fh.mu))
            if fh.multiplicity[keep].sum() >= n or k_max > 4096:
                break
            k_max *= 2
    else:
        fh = funk_hecke(profile, d, as_int("k_max", k_max, minimum=0))
        keep = fh.mu > rtol * float(np.max(fh.mu))
    order = np.argsort(-fh.mu[keep], kind="stable")
    values = np.repeat(n * fh.mu[keep][order], fh.multiplicity[keep][order].astype(np.int64))
    out = np.zeros(n)
    out[: min(n, values.size)] = values[:n]
    return np.sort(out)


def spectral_distance(measured: object, predicted: object) -> float:
    """``‖λ − λ̂‖₂ / ‖λ̂‖₂`` between two spectra of equal size, each sorted.

    The δ₂ distance of Koltchinskii and Giné, relative: it goes to zero as the
    Gram spectrum of N samples converges to the operator's eigenvalues.

    Parameters
    ----------
    measured, predicted : array_like, shape (N,)
        Eigenvalues, in any order.

    Returns
    -------
    float
        Scalar, ≥ 0; zero for equal spectra.

    Examples
    --------
    >>> from ntkjam.experiments.spectrum_predictions import spectral_distance
    >>> spectral_distance([3.0, 1.0, 2.0], [1.0, 2.0, 3.0])  # sorted first
    0.0
    >>> round(spectral_distance([1.1, 2.2, 3.3], [1.0, 2.0, 3.0]), 12)  # 10 % too large
    0.1
    """
    a = np.sort(np.asarray(measured, dtype=np.float64))
    b = np.sort(np.asarray(predicted, dtype=np.float64))
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"spectra must be 1-D of equal size, got {a.shape} and {b.shape}")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), np.finfo(float).tiny))
