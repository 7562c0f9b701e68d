"""Deprecated aliases of renamed public names, kept for one release.

Three kinds of rename (``docs/glossary.md``, "Retired names"):

* a keyword: :func:`renamed_keywords` wraps the function so that the old keyword is
  still accepted with a ``DeprecationWarning`` naming the new one, and giving both with
  different values is refused (``ValueError``).  The signature shows the new name only.
* a result field: the :class:`DeprecatedNames` mixin gives read-only aliases
  (``_renamed = {"old": "new"}`` on the class).
* a function: :func:`deprecated_alias` returns a function that warns and calls the new
  one; a module offers it through a module-level ``__getattr__`` so that the old name
  is not part of the module's public names.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["DeprecatedNames", "deprecated_alias", "renamed_keywords", "same_value"]


def same_value(a: object, b: object) -> bool:
    """Whether two values of one keyword are the same (arrays compared elementwise).

    Parameters
    ----------
    a, b : object
        The two values; arrays of any shape are compared with ``np.array_equal``.

    Returns
    -------
    bool
        True when ``a is b`` or their arrays are equal in shape and values; False also when
        they cannot be compared.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.core.deprecation import same_value
    >>> same_value(np.arange(3), [0, 1, 2]), same_value(np.zeros(2), np.zeros(3))
    (True, False)
    """
    if a is b:
        return True
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except Exception:  # noqa: BLE001 - incomparable values are different
        return False


def renamed_keywords(**renames: str) -> Callable[[F], F]:
    """Decorator: accept the old keyword ``old=`` of each ``old="new"`` for one release.

    The old keyword warns (``DeprecationWarning``: "``f(old=)`` is deprecated: use
    ``new=``") and is passed on as ``new``; both given with different values is a
    ``ValueError`` naming the two.

    Parameters
    ----------
    **renames : str
        ``old="new"`` pairs; each ``new`` must be a parameter of the decorated function.

    Returns
    -------
    callable
        The decorator.

    Examples
    --------
    >>> import warnings
    >>> from ntkjam.core.deprecation import renamed_keywords
    >>> @renamed_keywords(n="N")
    ... def count(N):
    ...     return 2 * N
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     count(n=3), caught[0].category.__name__
    (6, 'DeprecationWarning')
    """

    def decorate(func: F) -> F:
        sig = inspect.signature(func)
        for new in renames.values():
            if new not in sig.parameters:
                raise TypeError(f"{func.__qualname__} has no parameter {new!r}")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                value = kwargs.pop(old)
                given = sig.bind_partial(*args, **kwargs).arguments
                if new in given and not same_value(given[new], value):
                    raise ValueError(f"{func.__name__}: give {new} or its deprecated name "
                                     f"{old}, not both ({given[new]!r} vs {value!r})")
                warnings.warn(f"{func.__name__}({old}=...) is deprecated: use {new}= "
                              f"(same meaning)", DeprecationWarning, stacklevel=2)
                if new not in given:
                    kwargs[new] = value
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def deprecated_alias(func: F, old: str) -> F:
    """``old``: a deprecated function name for ``func`` (warns on every call).

    Parameters
    ----------
    func : callable
        The function under its new name.
    old : str
        The retired name the alias carries.

    Returns
    -------
    callable
        Same arguments and result as ``func``; every call warns (``DeprecationWarning``).

    Examples
    --------
    >>> import warnings
    >>> from ntkjam.core.deprecation import deprecated_alias
    >>> def n_points(n):
    ...     return n + 1
    >>> old = deprecated_alias(n_points, "n_samples")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     old.__name__, old(1), "use n_points" in str(caught[0].message)
    ('n_samples', 2, True)
    """

    @functools.wraps(func)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(f"{old} is deprecated: use {func.__name__} (same arguments)",
                      DeprecationWarning, stacklevel=2)
        return func(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old
    return alias  # type: ignore[return-value]


class DeprecatedNames:
    """Mixin: read-only aliases of renamed result fields, with a DeprecationWarning.

    A subclass lists ``_renamed = {"old": "new"}``; ``result.old`` warns and returns
    ``result.new``.  Assigning ``result.old`` fails like any field of a frozen result.

    Examples
    --------
    >>> import warnings
    >>> from dataclasses import dataclass
    >>> from ntkjam.core.deprecation import DeprecatedNames
    >>> @dataclass(frozen=True)
    ... class Result(DeprecatedNames):
    ...     N: int
    ...     _renamed = {"n": "N"}
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     Result(N=4).n, caught[0].category.__name__
    (4, 'DeprecationWarning')
    """

    _renamed: dict[str, str] = {}

    def __getattr__(self, name: str):
        new = type(self)._renamed.get(name)
        if new is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        warnings.warn(f"{type(self).__name__}.{name} is deprecated: use .{new}",
                      DeprecationWarning, stacklevel=2)
        return getattr(self, new)
