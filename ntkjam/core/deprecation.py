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
    """Whether two values of one keyword are the same (arrays compared elementwise)."""
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
    """``old``: a deprecated function name for ``func`` (warns on every call)."""

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
    """

    _renamed: dict[str, str] = {}

    def __getattr__(self, name: str):
        new = type(self)._renamed.get(name)
        if new is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        warnings.warn(f"{type(self).__name__}.{name} is deprecated: use .{new}",
                      DeprecationWarning, stacklevel=2)
        return getattr(self, new)
