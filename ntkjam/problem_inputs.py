"""The checks of a :class:`~ntkjam.problem.Problem`'s inputs, and their read-only copies.

A problem is given labels ``y`` (N,), features ``J`` (N, P) or a kernel ``K`` (N, N)
(or both), an offset ``f0`` (N,), a margin κ and a rank tolerance.  Each is checked on
its own by :mod:`ntkjam._validate`; :func:`check_problem_inputs` checks them together
(one row of ``J`` and of ``K`` and one output of ``f0`` per label, ``K = J Jᵀ`` when
both are given) and raises the error the user sees, naming the argument.  What it
returns are the :func:`read_only` copies the frozen problem keeps.
"""

from __future__ import annotations

import numpy as np

from ntkjam._validate import as_float_array, as_labels, as_real, as_square_symmetric

__all__ = ["check_problem_inputs", "read_only"]


def read_only(arr: np.ndarray) -> np.ndarray:
    """A float64 copy of ``arr`` that cannot be written to.

    Parameters
    ----------
    arr : array_like, any shape

    Returns
    -------
    numpy.ndarray, shape of ``arr``, dtype float64, not writeable

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem_inputs import read_only
    >>> a = np.arange(3)
    >>> b = read_only(a); a[0] = 7
    >>> b.tolist(), b.dtype.name, b.flags.writeable
    ([0.0, 1.0, 2.0], 'float64', False)
    """
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


def check_problem_inputs(
    y: object,
    J: object = None,
    K: object = None,
    f0: object = None,
    margin: object = 1.0,
    rtol: object = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray, float, float | None]:
    """The inputs of a :class:`~ntkjam.problem.Problem`, checked together.

    Parameters
    ----------
    y : array_like, shape (N,)
        Labels, each −1 or +1; at least one.
    J : array_like, shape (N, P), optional
        Features, finite, P ≥ 1.
    K : array_like, shape (N, N), optional
        Symmetric Gram matrix; equal to ``J Jᵀ`` (to 1e-8 relative) when ``J`` is given.
    f0 : array_like, shape (N,), optional
        Output offset; zeros by default.
    margin : float
        κ, finite.
    rtol : float, optional
        Relative rank cutoff, ≥ 0.

    Returns
    -------
    (y, J, K, f0, margin, rtol) : tuple
        The arrays as :func:`read_only` float64 copies (``J`` or ``K`` None where not
        given), ``margin`` and ``rtol`` as floats (``rtol`` None where not given).

    Raises
    ------
    ValueError
        No label, neither ``J`` nor ``K``, a shape that does not match the labels, or
        ``K ≠ J Jᵀ``; with the argument's name (and, from :mod:`ntkjam._validate`, a
        value that is not finite, not ±1 or not symmetric).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem_inputs import check_problem_inputs
    >>> y, J, K, f0, margin, rtol = check_problem_inputs([1, -1], J=np.eye(2), margin=2)
    >>> y.tolist(), J.shape, K, f0.tolist(), margin, rtol, J.flags.writeable
    ([1.0, -1.0], (2, 2), None, [0.0, 0.0], 2.0, None, False)
    >>> check_problem_inputs([1, -1], J=np.eye(2), K=np.ones((2, 2)))
    Traceback (most recent call last):
    ...
    ValueError: K must equal J Jᵀ when both are given, got max |K - J Jᵀ| = 1 (relative 1 > 1e-08)
    """
    y = as_labels("y", y)
    n = y.shape[0]
    if n < 1:
        raise ValueError("y must contain at least one label, got an empty array")
    if J is None and K is None:
        raise ValueError("give features J (N, P) or a kernel K (N, N), got neither")
    if J is not None:
        J = as_float_array("J", J, ndim=2)
        if J.shape[0] != n:
            raise ValueError(
                f"J must have one row per label: shape ({n}, P), got {J.shape}"
            )
        if J.shape[1] < 1:
            raise ValueError(f"J must have at least one column (P >= 1), got {J.shape}")
    if K is not None:
        K = as_square_symmetric("K", K)
        if K.shape[0] != n:
            raise ValueError(f"K must have shape ({n}, {n}) (one row per label), got {K.shape}")
        if J is not None:
            JJ = J @ J.T
            err = float(np.max(np.abs(JJ - K)))
            scale = max(float(np.max(np.abs(K))), np.finfo(float).tiny)
            if err > 1e-8 * scale:
                raise ValueError(
                    f"K must equal J Jᵀ when both are given, got max |K - J Jᵀ| = {err:.3g} "
                    f"(relative {err / scale:.3g} > 1e-08)"
                )
    if f0 is None:
        f0 = np.zeros(n)
    else:
        f0 = as_float_array("f0", f0, ndim=1)
        if f0.shape[0] != n:
            raise ValueError(f"f0 must have length {n} (one output per label), got {f0.shape}")
    margin = as_real("margin", margin)
    rtol = None if rtol is None else as_real("rtol", rtol, nonnegative=True)
    return (read_only(y), None if J is None else read_only(J),
            None if K is None else read_only(K), read_only(f0), margin, rtol)
