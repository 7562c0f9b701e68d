"""Stage 0 of the pipeline: no physics.  Validation, linear algebra, statuses.

Everything else may import from here; nothing here imports from the rest of ntkjam.
"""

from ntkjam.core.status import STATUS_ALIASES, Status, Verdict, as_status

__all__ = ["STATUS_ALIASES", "Status", "Verdict", "as_status"]
