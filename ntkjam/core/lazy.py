"""Package names that load their sub-module on first use.

A package ``__init__`` that imports its sub-modules makes every user of one of them pay
for all: ``ntkjam.kernels.features`` (NumPy) paid for JAX through the analytic kernels,
``ntkjam.figures`` for the spectrum tools.  :func:`lazy_exports` gives such a package a
module ``__getattr__`` (PEP 562) instead, so ``from ntkjam.kernels import ntk`` still
works and imports only what it names.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, where: Mapping[str, str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each name of ``where`` from its module.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : mapping of str to str
        Public name → the sub-module (relative to ``package``) that defines it.

    Returns
    -------
    (callable, callable)
        The module-level ``__getattr__(name)`` (imports the sub-module, keeps the value
        in the package's namespace so later look-ups are plain) and ``__dir__()``.

    Examples
    --------
    >>> import sys
    >>> from ntkjam.core.lazy import lazy_exports
    >>> getattr_, dir_ = lazy_exports("ntkjam.core", {"as_status": "status"})
    >>> getattr_("as_status").__module__, "as_status" in dir_()
    ('ntkjam.core.status', True)
    >>> getattr_("nothing")
    Traceback (most recent call last):
    ...
    AttributeError: module 'ntkjam.core' has no attribute 'nothing'
    """
    table = dict(where)

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{table[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__
