"""Reprs that summarise a result: its status, its key scalars, the shapes of its arrays.

A frozen result class inherits it from :class:`SummaryRepr`, with ``repr=False`` so that
the dataclass does not write its own over it::

    @dataclass(frozen=True, repr=False)
    class HingeMinimum(SummaryRepr):
        ...

    HingeMinimum(verdict='unsat', loss=0.2043, n_unsat=412, rank=200, converged=True, …,
                 w=<array (200,) float64>, outputs=<array (400,) float64>, …)

The status-like fields (``status``, ``verdict``, ``kind``, ``ok``) come first, then the
scalars, then everything else in field order; arrays are shown as
``<array shape dtype>``, never their values, long strings are cut, and the whole line
stops near :data:`MAX_LENGTH` characters with ``…``.
"""

from __future__ import annotations

import dataclasses
import enum
import numbers
from typing import Any

import numpy as np

__all__ = ["MAX_LENGTH", "STATUS_FIELDS", "SummaryRepr", "summarize", "summary_repr"]

#: The length a summary stops near (the last field shown may end a little beyond it).
MAX_LENGTH = 240
#: Fields shown first, in this order, when a class has them.
STATUS_FIELDS = ("status", "verdict", "kind", "ok")
_MAX_STR = 40


def _is_scalar(value: Any) -> bool:
    return (value is None or isinstance(value, (numbers.Number, str, bool, enum.Enum))
            or (isinstance(value, np.ndarray) and value.ndim == 0))


def summarize(value: Any) -> str:
    """A short text for one field's value (never the values of an array).

    Parameters
    ----------
    value : object
        A scalar, enum, string, array of any shape, dataclass, list, tuple or dict.

    Returns
    -------
    str
        Scalars to 4 significant digits, arrays as ``<array shape dtype>``, containers by
        their length.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.core.reprs import summarize
    >>> summarize(np.zeros((3, 2))), summarize(2 / 3), summarize(7), summarize({"a": 1})
    ('<array (3, 2) float64>', '0.6667', '7', '<dict of 1>')
    """
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, (bool, np.bool_)) or value is None:
        return repr(bool(value) if value is not None else None)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.4g}"
    if isinstance(value, numbers.Complex):
        return f"{complex(value):.4g}"
    if isinstance(value, str):
        return repr(value if len(value) <= _MAX_STR else value[: _MAX_STR - 1] + "…")
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):
        if len(shape) == 0:
            return summarize(value.item())
        return f"<array {tuple(int(s) for s in shape)} {value.dtype}>"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        keys = [f for f in STATUS_FIELDS if hasattr(value, f)]
        inner = "".join(f" {k}={summarize(getattr(value, k))}" for k in keys)
        return f"<{type(value).__name__}{inner}>"
    if isinstance(value, (list, tuple)):
        if len(value) <= 4 and all(_is_scalar(v) for v in value):
            inner = ", ".join(summarize(v) for v in value)
            if isinstance(value, list):
                return f"[{inner}]"
            return f"({inner}{',' * (len(value) == 1)})"
        return f"<{type(value).__name__} of {len(value)}>"
    if isinstance(value, dict):
        return f"<dict of {len(value)}>"
    return f"<{type(value).__name__}>"


def summary_repr(self: Any) -> str:
    """``ClassName(status=…, scalars…, arrays as <array shape dtype>, …)``, near
    :data:`MAX_LENGTH` characters at most (a ``__repr__`` for frozen result classes).

    Parameters
    ----------
    self : dataclass instance
        The result to describe.

    Returns
    -------
    str
        Status-like fields first, then scalars, then the rest.

    Examples
    --------
    >>> import numpy as np
    >>> from dataclasses import dataclass
    >>> from ntkjam.core.reprs import summary_repr
    >>> @dataclass(frozen=True)
    ... class Fit:
    ...     w: np.ndarray
    ...     loss: float
    ...     status: str
    >>> summary_repr(Fit(np.ones(4), 0.25, "sat"))
    "Fit(status='sat', loss=0.25, w=<array (4,) float64>)"
    """
    fields = [f for f in dataclasses.fields(self) if f.repr]
    values = {f.name: getattr(self, f.name) for f in fields}
    first = [n for n in STATUS_FIELDS if n in values]
    scalars = [n for n in values if n not in first and values[n] is not None
               and _is_scalar(values[n])]
    rest = [n for n in values if n not in first and n not in scalars]
    head = f"{type(self).__name__}("
    parts: list[str] = []
    length = len(head)
    for name in first + scalars + rest:
        part = f"{name}={summarize(values[name])}"
        if parts and length + len(part) > MAX_LENGTH:
            parts.append("…")
            break
        parts.append(part)
        length += len(part) + 2
    return head + ", ".join(parts) + ")"


class SummaryRepr:
    """Mixin: :func:`summary_repr` as ``__repr__`` (declare the dataclass ``repr=False``).

    Examples
    --------
    >>> import numpy as np
    >>> from dataclasses import dataclass
    >>> from ntkjam.core.reprs import SummaryRepr
    >>> @dataclass(frozen=True, repr=False)
    ... class Minimum(SummaryRepr):
    ...     verdict: str
    ...     outputs: np.ndarray
    >>> Minimum("unsat", np.zeros(10))
    Minimum(verdict='unsat', outputs=<array (10,) float64>)
    """

    __slots__ = ()
    __repr__ = summary_repr
