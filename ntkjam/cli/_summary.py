"""What a phase-diagram summary can say when φ_c is not determined on the grid.

When every instance at some P falls on one side of the transition (all SAT, all
UNSAT), the crossing fit has nothing to cross; the summary then states the bound
that the grid does give (``φ_c > φ_max`` or ``φ_c < φ_min``) instead of a blank.
"""

from __future__ import annotations

import math

__all__ = ["one_sided", "side"]


def _fmt(v: float | None, digits: int = 3) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def side(curve, phi_c: float) -> str:
    """φ_c for the table, or the side of the grid it lies on when it has no crossing."""
    if math.isfinite(phi_c) or curve is None or len(curve.phi) == 0:
        return _fmt(phi_c)
    if bool((curve.n_sat == curve.n_total).all()):
        return f"> {float(curve.phi.max()):.3g}"
    if bool((curve.n_sat == 0).all()):
        return f"< {float(curve.phi.min()):.3g}"
    return "—"


def one_sided(curve, phi_c: float, label: str = "") -> str:
    """What can be said of φ_c at one P when every instance falls on one side."""
    if math.isfinite(phi_c) or curve is None or len(curve.phi) == 0:
        return ""
    lo, hi = float(curve.phi.min()), float(curve.phi.max())
    where = f"P = {curve.n_params}{label}, φ in [{lo:.3g}, {hi:.3g}]"
    if bool((curve.n_sat == curve.n_total).all()):
        return (f"all instances SAT on this grid ({where}): φ_c > {hi:.3g} (undetermined; "
                "raise --phi-max)")
    if bool((curve.n_sat == 0).all()):
        return (f"all instances UNSAT on this grid ({where}): φ_c < {lo:.3g} (undetermined; "
                "lower --phi-min)")
    return f"no P(SAT) = ½ crossing fitted at {where} (undetermined; add seeds or φ values)"
