"""Broadcasting helpers shared by the generalization theories.

Each theory takes floats or arrays, broadcasts them against each other and returns
floats for scalar input, read-only float64 arrays of the broadcast shape otherwise
(the convention of :mod:`ntkjam.theory.replica`).
"""

from __future__ import annotations

import numpy as np

from ntkjam._validate import as_float_array


def broadcast_named(**values: object) -> tuple[np.ndarray, ...]:
    """Convert each keyword to a finite float64 array and broadcast them together.

    Parameters
    ----------
    **values : array_like
        The inputs, by parameter name (used in the error messages).

    Returns
    -------
    tuple of numpy.ndarray
        The broadcast arrays (fresh copies), in keyword order.
    """
    arrays = {name: as_float_array(name, value) for name, value in values.items()}
    try:
        out = np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{n} {a.shape}" for n, a in arrays.items())
        raise ValueError(f"{' and '.join(arrays)} must broadcast together, got shapes "
                         f"{shapes}") from None
    return tuple(np.array(a, dtype=np.float64) for a in out)


def check_range(name: str, arr: np.ndarray, *, positive: bool = False,
                nonnegative: bool = False, what: str = "") -> None:
    """Refuse entries of ``arr`` that are <= 0 (``positive``) or < 0 (``nonnegative``)."""
    suffix = f" ({what})" if what else ""
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0{suffix}, got {float(np.min(arr))}")
    if nonnegative and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0{suffix}, got {float(np.min(arr))}")


def finish(value: np.ndarray, scalar: bool) -> float | np.ndarray:
    """A float when ``scalar``, else a read-only float64 copy of ``value``."""
    if scalar:
        return float(np.asarray(value).reshape(()))
    out = np.array(value, dtype=np.float64)
    out.setflags(write=False)
    return out
