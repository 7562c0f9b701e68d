"""Deprecated alias of :mod:`ntkjam.figures` (kept for one release).

Import the figures from :mod:`ntkjam.figures` instead; this module re-exports the
same names (``ntkjam.figures.__all__``) and warns on import.  It no longer sets the
matplotlib backend.
"""

import warnings

from ntkjam import figures as _figures

__all__ = list(_figures.__all__)
globals().update({name: getattr(_figures, name) for name in __all__})

warnings.warn(
    "ntkjam.plots is deprecated and will be removed in the next release; import from "
    "ntkjam.figures instead",
    DeprecationWarning,
    stacklevel=2,
)
