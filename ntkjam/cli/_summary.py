"""The summary of a lazy phase diagram, and what it says when a fit is not a result.

When every instance at some P falls on one side of the transition (all SAT, all
UNSAT), the crossing fit has nothing to cross; the summary then states the bound
that the grid does give (``φ_c > φ_max`` or ``φ_c < φ_min``) instead of a blank.
Fits that the data do not support (:attr:`PhaseDiagramAnalysis.warnings`: a crossing
narrower than the grid step, P(SAT) rejected by Cover's curve, a finite-size-scaling
law its χ² rejects, a limit outside the physical range) are printed as warnings,
marked in the table, never as results; the finite-size-scaling fit shows its own χ²/dof.
"""

from __future__ import annotations

import math

__all__ = ["describe_lazy", "fss_line", "one_sided", "side"]


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



def _onset_lines(a) -> list[str]:
    """The UNSAT side at φ_c⁺: the limits from the approach fits, beside the RS theory."""
    from ntkjam.analysis import describe_exponent, describe_onset
    from ntkjam.analysis.phase_diagram import WINDOW_WIDTHS

    th = a.theory
    form = "a = ½ (the RS form) for the limits" if th.applies else "a free"
    lines = [f"UNSAT minima as φ → φ_c⁺: y = y_c + A t + C t², t = (φ − φ_c(P))^a, fitted to "
             f"the UNSAT means at φ − φ_c(P) ≥ {WINDOW_WIDTHS:g} w(P) at each P, φ_c(P)'s "
             f"error propagated; {form}"
             + ("" if th.applies else f" — {th.note}")]
    for o in (a.loss_onset, a.isostaticity_onset):
        lines.append("  " + describe_onset(o, th))
        lines += [f"    warning: {n}" for n in o.notes if o.basis != "none"]
    lines += ["  " + describe_exponent(o, th) for o in (a.loss_onset, a.isostaticity_onset)]
    return lines


def _crossing_table(a):
    """φ_c(P) (P(SAT) = ½) with its CI and width, in units of the rank and Cover's, per P."""
    from rich.table import Table

    s = a.settings
    title = (
        f"Jamming phase diagram — source {s.get('source')}, labels {s.get('labels')}, "
        f"margin κ = {s.get('margin')}, {a.crossings[0].n_seeds if a.crossings else 0} seeds "
        "per point  (N = points, P = features, φ = N/P)"
    )
    table = Table(title=title, title_justify="left")
    units_rank = any(c.rank != c.n_params for c in a.crossings)
    cols = ["P", "rank", "φ_c", "95 % CI", "width"]
    if units_rank:
        cols.append("φ_c·P/r")
    cols += ["Cover", "χ²/dof (p)"]
    for col in cols:
        table.add_column(col, justify="center" if col == "95 % CI" else "right", no_wrap=True)
    tests = {t.P: t for t in a.cover_tests}
    sat = {c.P: c for c in a.sat}
    from ntkjam.analysis.approach import P_MIN

    marks = set()
    for c in a.crossings:
        t = tests.get(c.P)
        narrow = "" if getattr(c, "resolved", True) else "*"
        rejected = "!" if t is not None and t.p_value < P_MIN else ""
        marks.update(m for m in (narrow, rejected) if m)
        row = [str(c.n_params), str(c.rank), side(sat.get(c.P), c.phi_c) + narrow,
               f"{_fmt(c.ci_low)}–{_fmt(c.ci_high)}", _fmt(c.width) + narrow]
        if units_rank:
            row.append(_fmt(c.phi_c_rank))
        row += [
            _fmt(c.phi_c_cover) if a.cover_applies else "n/a",
            f"{t.chi2:.1f}/{t.dof} ({t.p_value:.2f}){rejected}" if t is not None else "n/a",
        ]
        table.add_row(*row)
    table.caption = (
        "theory (Cover 1965, random labels, general position): φ_c = 2 in units of the "
        "rank r at every P; width ∝ P^(-1/2), ν = 2. φ_c: P(SAT) = ½ in units of P; "
        + ("φ_c·P/r: in units of the rank; " if units_rank else "")
        + "Cover: the same fit to Cover's curve on this grid; χ²: the SAT counts against "
        "Cover's."
        + (" *: transition narrower than half the φ grid step (width an upper bound, not "
           "a result)." if "*" in marks else "")
        + (f" !: Cover's curve rejected (p < {P_MIN:g}), see the warnings." if "!" in marks
           else "")
    )
    return table


def _chi2_text(chi2: float, dof: int, p: float) -> str:
    if dof <= 0:
        return "exact (dof 0)"
    return f"{chi2:.1f}/{dof} (p = {p:.2g})"


def fss_line(a) -> str:
    """φ_c(∞) and ν with the fit's own χ²/dof; an unsupported fit is said to be no result."""
    f = a.fss
    sizes = ", ".join(str(p) for p in f.P)
    gof = (f"χ²/dof: crossings {_chi2_text(f.chi2, f.dof, f.p_value)}, widths "
           f"{_chi2_text(f.width_chi2, f.width_dof, f.width_p_value)}")
    values = (f"φ_c(∞) = {_fmt(f.phi_c_inf)} ± {_fmt(f.phi_c_inf_err)}, "
              f"ν = {_fmt(f.nu, 2)} ± {_fmt(f.nu_err, 2)}")
    if not getattr(f, "supported", True):
        return (f"finite-size scaling over P = {sizes}: unsupported fit, not a result "
                f"({values}; {gof}) — see the warnings")
    text = f"[bold]{values}[/]  (finite-size scaling over P = {sizes}; {gof})"
    if a.fss_cover is not None:
        text += (f"; Cover's curves on the same grid give φ_c(∞) = "
                 f"{_fmt(a.fss_cover.phi_c_inf)}, ν = {_fmt(a.fss_cover.nu, 2)}")
    return text


def _phase_lines(a) -> list[str]:
    """Undetermined φ_c, the finite-size scaling, the UNSAT onset, the gap and force tails."""
    sat = {c.P: c for c in a.sat}
    lines = [line for c in a.crossings if (line := one_sided(sat.get(c.P), c.phi_c))]
    if a.fss is not None:
        lines.append(fss_line(a))
    # (a limit outside the physical range is said on its own line below)
    lines += [f"[bold]warning:[/] {w.message}" for w in getattr(a, "warnings", ())
              if w.kind != "physical_range"]
    lines += _onset_lines(a)
    for tail in (a.gaps, a.forces):
        if tail is None:
            continue
        if tail.supported:
            lines.append(f"{tail.name} near 0: density ∝ x^θ, θ = {_fmt(tail.theta, 2)} ± "
                         f"{_fmt(tail.theta_err, 2)} ({tail.n_tail} values, "
                         f"{_fmt(tail.decades, 1)} decades, KS p = {_fmt(tail.ks_pvalue, 2)})")
        else:
            lines.append(f"{tail.name}: no power law supported ({tail.note})")
    lines.append(
        f"tasks: {a.n_done} done, {a.n_failed} failed; LP cross-checks {a.n_lp_checked} "
        f"({a.n_lp_disagree} disagreements); dead inputs {a.n_dead_total}"
    )
    return lines


def describe_lazy(a) -> tuple[object, list[str]]:
    """The summary of a lazy phase diagram (a :class:`PhaseDiagramAnalysis`): its table and
    its lines."""
    return _crossing_table(a), _phase_lines(a)
