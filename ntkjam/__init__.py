"""ntkjam: the jamming transition of neural networks in function space.

Conventions used everywhere in the package (see ``docs/concepts.md`` for the notation and
``docs/glossary.md`` for the names; the user guide starts at ``docs/index.md``):

* **N** = number of training points, **P** = number of parameters (or random
  features), **φ = N/P**.  The jamming papers of Geiger, Spigler et al. use the
  opposite letters (N = parameters, P = data); when quoting them, translate.
* Inputs ``X`` have shape ``(N, d)``; kernels ``(N1, N2)``; features ``J`` ``(N, P)``;
  outputs and labels ``(N,)``.
* All physics is float64.  Importing ntkjam turns on JAX's 64-bit mode
  (``jax_enable_x64``; through ``JAX_ENABLE_X64=1`` when JAX is not imported yet),
  because float32 leaves spurious unsatisfied constraints at the end of training and
  cannot reach the 1e-12 kernel accuracy we promise.
"""

import os as _os
import sys as _sys

from ntkjam._version import __version__

# JAX is imported by the modules that use it, not here (a process that only solves
# linear programs never pays for it): JAX reads JAX_ENABLE_X64 when it is first
# imported, and the setting is also carried to the processes started from this one.
_os.environ["JAX_ENABLE_X64"] = "1"
if "jax" in _sys.modules:
    _sys.modules["jax"].config.update("jax_enable_x64", True)

__all__ = ["__version__", "load"]


def __getattr__(name: str):
    # ``ntkjam.load(DIR)`` without importing pandas/dask at ``import ntkjam``.
    if name == "load":
        from ntkjam.sweep import load

        return load
    raise AttributeError(f"module 'ntkjam' has no attribute {name!r}")
