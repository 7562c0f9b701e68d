"""The sizes of a spectrum task: (N, P) from φ, and the width or degree closest to P.

:func:`sizes` turns φ = N/P with one of N, P fixed into ``(N, P)``; the empirical-NTK
source picks the network width (:func:`network_width`) and the truncated-Taylor source
the degree (:func:`taylor_degree`) whose parameter count, or rank on the sphere, is
closest to the requested P.  Re-exported by :mod:`ntkjam.experiments.spectrum`.
"""

from __future__ import annotations

import math

from ntkjam._validate import as_choice, as_int, as_real

__all__ = ["network_width", "sizes", "taylor_degree"]


def sizes(phi: float, fixed: str, size: int) -> tuple[int, int]:
    """``(N, P)`` for φ with ``fixed`` ∈ {"n", "p"} equal to ``size``.

    Parameters
    ----------
    phi : float
        φ = N/P > 0.
    fixed : {"n", "p"}
        Which of N and P is ``size``; the other is rounded from φ (at least 1).
    size : int
        N or P, ≥ 1.

    Returns
    -------
    n, p : int

    Examples
    --------
    >>> from ntkjam.experiments.spectrum_sizes import sizes
    >>> sizes(0.5, "p", 100), sizes(2.0, "n", 100)
    ((50, 100), (100, 50))
    >>> sizes(0.5, "q", 100)
    Traceback (most recent call last):
    ...
    ValueError: fixed must be one of ['n', 'p'], got 'q'
    """
    phi = as_real("phi", phi, positive=True)
    fixed = as_choice("fixed", fixed, ("n", "p"))
    size = as_int("size", size, minimum=1)
    if fixed == "p":
        return max(1, int(round(phi * size))), size
    return size, max(1, int(round(size / phi)))


def network_width(p_target: float, d: int, depth: int) -> int:
    """Width h ≥ 1 whose bias-free network of ``depth`` layers has P closest to ``p_target``.

    ``P(h) = d h + (depth − 1) h² + h`` (input layer, hidden-to-hidden layers, readout).

    Parameters
    ----------
    p_target : float
        Requested parameter count, > 0.
    d : int
        Input dimension, ≥ 1.
    depth : int
        Hidden layers, ≥ 1.

    Returns
    -------
    int
        The width h (ties go to the smaller one).

    Examples
    --------
    With d = 5: one layer has P = 6h, two have P = 6h + h² (h = 10 gives 60 and 160):

    >>> from ntkjam.experiments.spectrum_sizes import network_width
    >>> network_width(60, 5, 1), network_width(160, 5, 2), network_width(62, 5, 1)
    (10, 10, 10)
    """
    d = as_int("d", d, minimum=1)
    depth = as_int("depth", depth, minimum=1)
    p_target = as_real("p_target", p_target, positive=True)
    a, b = depth - 1, d + 1
    h = p_target / b if a == 0 else (-b + math.sqrt(b * b + 4 * a * p_target)) / (2 * a)
    candidates = {max(1, int(math.floor(h))), max(1, int(math.ceil(h)))}
    return min(candidates, key=lambda w: (abs(b * w + a * w * w - p_target), w))


def taylor_degree(p_target: float, d: int) -> int:
    """Degree k whose Taylor-feature rank on S^{d-1}, ``Σ_{j≤k} N(d, j)``, is closest to P.

    Parameters
    ----------
    p_target : float
        Requested rank P, > 0.
    d : int
        Input dimension (the sphere S^{d-1}), ≥ 2.

    Returns
    -------
    int
        The degree k (ties go to the smaller one).

    Examples
    --------
    On S² the harmonics of degree j number 2j + 1, so degree k has rank (k + 1)²:
    1, 4, 9, 16, …

    >>> from ntkjam.experiments.spectrum_sizes import taylor_degree
    >>> taylor_degree(9, 3), taylor_degree(12, 3), taylor_degree(13, 3)
    (2, 2, 3)
    """
    from ntkjam.kernels.features import taylor_rank_on_sphere

    p_target = as_real("p_target", p_target, positive=True)
    k, best, best_err = 0, 0, math.inf
    while True:
        err = abs(taylor_rank_on_sphere(d, k) - p_target)
        if err < best_err:
            best, best_err = k, err
        if taylor_rank_on_sphere(d, k) >= p_target:
            return best
        k += 1
