"""Validation at the boundary: every public function checks its inputs with these.

Each helper raises ``ValueError`` (bad value) or ``TypeError`` (bad type) whose
message names the parameter, shows the offending value and says what is allowed,
e.g. ``sigma_w must be > 0, got -1.0``.

Results are checked too: a computation whose output leaves the float64 range
raises :class:`NumericalRangeError` (a ``ValueError`` and a
``FloatingPointError``) naming the inputs that caused it, never returns NaN or
inf silently (see :func:`check_finite_result`).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np


class NumericalRangeError(ValueError, FloatingPointError):
    """A result that does not fit in float64 (overflow to inf, or NaN from inf − inf).

    Subclasses ``ValueError`` (the inputs are out of the range the computation can
    represent, so the CLI reports it as a bad input: one line, exit status 2) and
    ``FloatingPointError`` (it is an arithmetic failure).

    Examples
    --------
    >>> from ntkjam._validate import NumericalRangeError
    >>> issubclass(NumericalRangeError, ValueError), issubclass(NumericalRangeError,
    ...                                                         FloatingPointError)
    (True, True)
    """


def _show(value: object) -> str:
    """A short representation of ``value`` for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_float_array(
    name: str,
    value: object,
    *,
    ndim: int | Sequence[int] | None = None,
    finite: bool = True,
    copy: bool = False,
) -> np.ndarray:
    """Convert ``value`` to a float64 NumPy array, checking its rank and finiteness.

    Complex input is refused (``TypeError``) rather than silently losing its
    imaginary part.

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : array_like
        Anything NumPy can turn into a real array (JAX arrays included).
    ndim : int or sequence of int, optional
        Allowed numbers of dimensions.
    finite : bool
        Reject NaN and infinities.
    copy : bool
        Always return a fresh array (never a view of the caller's data).

    Returns
    -------
    numpy.ndarray
        float64 array.

    Examples
    --------
    >>> from ntkjam._validate import as_float_array
    >>> a = as_float_array("X", [[1, 2], [3, 4]], ndim=2)
    >>> a.dtype.name, a.shape
    ('float64', (2, 2))
    >>> try:
    ...     as_float_array("y", [1.0, float("nan")])
    ... except ValueError as exc:
    ...     print(exc)
    y must be finite, got 1 non-finite value(s) (NaN or inf)
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real array, got {_show(value)}")
    if _is_complex(value):
        raise TypeError(
            f"{name} must be a real array, got complex values ({_show(value)}); "
            "pass the real part explicitly (e.g. numpy.real) if that is what you mean"
        )
    try:
        arr = np.array(value, dtype=np.float64, copy=copy or None)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real array, got {_show(value)}") from exc
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            what = " or ".join(str(a) for a in allowed)
            raise ValueError(
                f"{name} must have {what} dimension(s), got shape {arr.shape}"
            )
    if finite and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, got {bad} non-finite value(s) (NaN or inf)")
    return arr


def _is_numpy_dtype(dtype: object) -> bool:
    try:
        np.dtype(dtype)
    except TypeError:
        return False
    return True


def _is_complex(value: object) -> bool:
    """Whether ``value`` holds complex numbers (NumPy, JAX or nested sequences)."""
    dtype = getattr(value, "dtype", None)
    # A foreign dtype object (e.g. torch's) is not a NumPy dtype: inspect the values.
    if dtype is not None and _is_numpy_dtype(dtype):
        return np.dtype(dtype).kind == "c"
    if isinstance(value, numbers.Number):
        return isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real)
    try:
        return np.asarray(value).dtype.kind == "c"
    except (TypeError, ValueError):
        return False  # ragged or otherwise unconvertible: the conversion below says so


def check_finite_result(what: str, result: np.ndarray, cause: str) -> np.ndarray:
    """Raise :class:`NumericalRangeError` unless every entry of ``result`` is finite.

    Parameters
    ----------
    what : str
        The computation, e.g. ``"ntk"``.
    result : numpy.ndarray
        Its output (one ``isfinite`` reduction; returned unchanged when finite).
    cause : str
        The inputs that set its scale and what to change, e.g.
        ``"sigma_w=1e+100, depth=3; rescale X or sigma_w"``.

    Returns
    -------
    numpy.ndarray
        ``result`` itself.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam._validate import NumericalRangeError, check_finite_result
    >>> check_finite_result("ntk", np.ones(3), "rescale X").shape
    (3,)
    >>> try:
    ...     check_finite_result("ntk", np.array([1.0, np.inf]), "rescale X")
    ... except NumericalRangeError as exc:
    ...     print(exc)
    ntk overflowed float64: 1 of 2 entries are inf; rescale X
    """
    if not np.isfinite(result).all():
        finite = np.isfinite(result)
        bad = int(finite.size - np.count_nonzero(finite))
        kinds = []
        if np.isnan(result).any():
            kinds.append("NaN")
        if np.isinf(result).any():
            kinds.append("inf")
        raise NumericalRangeError(
            f"{what} overflowed float64: {bad} of {result.size} entries are "
            f"{' or '.join(kinds)}; {cause}"
        )
    return result


def as_inputs(name: str, value: object, *, dim: int | None = None) -> np.ndarray:
    """Check a design matrix ``X`` of shape ``(N, d)`` with N ≥ 1, d ≥ 1, finite.

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : array_like, shape (N, d)
        The inputs, one point per row.
    dim : int, optional
        Required input dimension ``d``.

    Returns
    -------
    numpy.ndarray, shape (N, d)
        float64 copy or view of ``value``.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam._validate import as_inputs
    >>> as_inputs("X", np.zeros((5, 3))).shape
    (5, 3)
    >>> try:
    ...     as_inputs("X", np.zeros((5, 3)), dim=2)
    ... except ValueError as exc:
    ...     print(exc)
    X must have input dimension d = 2 (to match the other inputs), got shape (5, 3)
    """
    X = as_float_array(name, value, ndim=2)
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} must have shape (N, d) with N >= 1 and d >= 1, got {X.shape}")
    if dim is not None and X.shape[1] != dim:
        raise ValueError(
            f"{name} must have input dimension d = {dim} (to match the other inputs), "
            f"got shape {X.shape}"
        )
    return X



def as_input_pair(X1: object, X2: object = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Check the inputs of a kernel ``k(X1, X2)``: ``X1`` (N1, d), ``X2`` (N2, d) or None.

    Parameters
    ----------
    X1 : array_like, shape (N1, d)
    X2 : array_like, shape (N2, d), optional

    Returns
    -------
    X1 : numpy.ndarray, shape (N1, d)
    X2 : numpy.ndarray, shape (N2, d), or None

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam._validate import as_input_pair
    >>> X1, X2 = as_input_pair(np.ones((4, 2)), np.ones((3, 2)))
    >>> X1.shape, X2.shape, as_input_pair(np.ones((4, 2)))[1]
    ((4, 2), (3, 2), None)
    """
    X1 = as_inputs("X1", X1)
    if X2 is None:
        return X1, None
    return X1, as_inputs("X2", X2, dim=X1.shape[1])

def as_labels(name: str, value: object, *, n: int | None = None) -> np.ndarray:
    """Check labels: a 1-D array with entries in {-1, +1}; returned as float64.

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : array_like, shape (N,)
        The labels.
    n : int, optional
        Required length (one label per point).

    Returns
    -------
    numpy.ndarray, shape (N,)
        float64 labels.

    Examples
    --------
    >>> from ntkjam._validate import as_labels
    >>> as_labels("y", [1, -1, 1]).tolist()
    [1.0, -1.0, 1.0]
    >>> try:
    ...     as_labels("y", [1, 0])
    ... except ValueError as exc:
    ...     print(exc)
    y must contain only -1 and +1, got value 0.0
    """
    y = as_float_array(name, value, ndim=1)
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name} must have length {n} (one label per point), got {y.shape[0]}")
    bad = ~np.isin(y, (-1.0, 1.0))
    if np.any(bad):
        first = float(y[np.argmax(bad)])
        raise ValueError(f"{name} must contain only -1 and +1, got value {first!r}")
    return y


def as_int(name: str, value: object, *, minimum: int | None = None) -> int:
    """Check an integer parameter (bools rejected), optionally bounded below.

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : object
        Any integral number (NumPy integers included).
    minimum : int, optional
        Smallest allowed value.

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam._validate import as_int
    >>> as_int("P", np.int64(100), minimum=1)
    100
    >>> try:
    ...     as_int("P", True)
    ... except TypeError as exc:
    ...     print(exc)
    P must be an integer, got True
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_show(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def as_real(
    name: str,
    value: object,
    *,
    positive: bool = False,
    nonnegative: bool = False,
) -> float:
    """Check a finite real scalar, optionally > 0 or >= 0.

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : object
        Any real number (bools refused).
    positive, nonnegative : bool
        Require ``value > 0`` or ``value >= 0``.

    Returns
    -------
    float

    Examples
    --------
    >>> from ntkjam._validate import as_real
    >>> as_real("phi", 2)
    2.0
    >>> try:
    ...     as_real("sigma_w", -1.0, positive=True)
    ... except ValueError as exc:
    ...     print(exc)
    sigma_w must be > 0, got -1.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_show(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if nonnegative and not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def as_choice(name: str, value: object, allowed: Sequence[str]) -> str:
    """Check that ``value`` is one of the named options.

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : object
        The option given.
    allowed : sequence of str
        The allowed options.

    Returns
    -------
    str
        ``value`` unchanged.

    Examples
    --------
    >>> from ntkjam._validate import as_choice
    >>> as_choice("loss", "hinge", ("hinge", "quadratic"))
    'hinge'
    >>> try:
    ...     as_choice("loss", "l1", ("hinge", "quadratic"))
    ... except ValueError as exc:
    ...     print(exc)
    loss must be one of ['hinge', 'quadratic'], got 'l1'
    """
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {_show(value)}")
    return value


def as_square_symmetric(name: str, value: object, *, rtol: float = 1e-10) -> np.ndarray:
    """Check a finite, square, symmetric matrix (to ``rtol`` of its largest entry).

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : array_like, shape (N, N)
        The matrix.
    rtol : float
        Largest allowed ``max|K - K^T|`` relative to ``max|K|``.

    Returns
    -------
    numpy.ndarray, shape (N, N)
        float64 matrix (not symmetrised).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam._validate import as_square_symmetric
    >>> as_square_symmetric("K", np.eye(3)).shape
    (3, 3)
    >>> try:
    ...     as_square_symmetric("K", np.ones((2, 3)))
    ... except ValueError as exc:
    ...     print(exc)
    K must be square, got shape (2, 3)
    """
    K = as_float_array(name, value, ndim=2)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"{name} must be square, got shape {K.shape}")
    scale = float(np.max(np.abs(K))) if K.size else 0.0
    asym = float(np.max(np.abs(K - K.T))) if K.size else 0.0
    if asym > rtol * max(scale, np.finfo(float).tiny):
        raise ValueError(
            f"{name} must be symmetric, got max |K - K^T| = {asym:.3g} "
            f"(relative {asym / max(scale, np.finfo(float).tiny):.3g} > {rtol:g})"
        )
    return K


def as_seed(name: str, value: object) -> int:
    """Check a seed: a non-negative integer.

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : object
        The seed.

    Returns
    -------
    int

    Examples
    --------
    >>> from ntkjam._validate import as_seed
    >>> as_seed("seed", 7)
    7
    >>> try:
    ...     as_seed("seed", -1)
    ... except ValueError as exc:
    ...     print(exc)
    seed must be >= 0, got -1
    """
    return as_int(name, value, minimum=0)
