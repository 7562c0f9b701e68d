"""Sections 4–7: kernel fluctuations, fixed points, lazy vs trained, generalization.

Each function turns analysis results into a :class:`~ntkjam.report.document.Section`;
every number is formatted from them (:mod:`ntkjam.report.document`).
"""

from __future__ import annotations

import math

import numpy as np

from ntkjam.report.document import Figure, Section, Table, against, ci, num, overlap

__all__ = ["fixed_point_section", "fluctuation_section", "generalization_section",
           "trained_section"]


def _fit_cells(f) -> tuple[str, ...]:
    return (f.group, f.quantity, f.variable, num(f.exponent), ci(f.ci_low, f.ci_high),
            num(f.p_value, 2), f.verdict)


def _fit_text(f) -> str:
    return f"{num(f.exponent)} {ci(f.ci_low, f.ci_high)} ({f.group}: {f.verdict})"


def _pick(fits, quantity: str) -> list:
    return [f for f in fits if f.quantity == quantity]


def fluctuation_section(res: dict, figs: dict) -> Section:
    """Section 4: ‖K_n(0) − K_∞‖ vs width, P and N; the training drift; Hanin–Nica.

    Parameters
    ----------
    res : dict
        ``fluctuations``: its :class:`~ntkjam.analysis.FluctuationAnalysis`
        (``width_fits``, ``params_fits``, ``n_fits``: power-law fits, ``hanin_nica``);
        ``kernel_drift``: its :class:`~ntkjam.analysis.KernelDriftAnalysis`
        (``width_fits``, ``params_fits``).
    figs : dict[str, list of Path]
        ``fluctuations`` and ``kernel_drift``.

    Returns
    -------
    Section

    Examples
    --------
    A fit of ‖K_n(0) − K_∞‖/‖K_∞‖ = 0.9 n^(−1/2) at four widths (5 % errors), the only
    fit measured (stand-ins for the analyses: only the fields read):

    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from ntkjam.analysis import power_law_fit
    >>> from ntkjam.report.sections_networks import fluctuation_section
    >>> n = np.array([64.0, 128.0, 256.0, 512.0])
    >>> fit = power_law_fit(n, 0.9 / np.sqrt(n), 0.045 / np.sqrt(n), quantity="rel_frobenius",
    ...                     variable="width", group="depth 1",
    ...                     hypotheses={"n^-1/2": -0.5, "n^-1": -1.0})
    >>> res = {"fluctuations": SimpleNamespace(width_fits=(fit,), params_fits=(), n_fits=(),
    ...                                        hanin_nica=None),
    ...        "kernel_drift": SimpleNamespace(width_fits=(), params_fits=())}
    >>> s = fluctuation_section(res, {"fluctuations": [], "kernel_drift": []})
    >>> s.tables[0].rows  # doctest: +NORMALIZE_WHITESPACE
    (('depth 1', 'rel_frobenius', 'width', '-0.500', '[-0.563, -0.437]', '1.0',
      'consistent with n^-1/2'),)
    >>> s.tables[1].rows, s.answer.endswith("Hanin–Nica: not fitted.")
    ((), True)
    """
    a, d = res["fluctuations"], res["kernel_drift"]
    fits = (*a.width_fits, *a.params_fits, *a.n_fits)
    table = Table("Fluctuations at initialisation: log–log fits with 95 % intervals "
                  "(χ² p; the verdict is said only where the interval decides)",
                  ("group", "quantity", "vs", "exponent", "95 % CI", "χ² p", "verdict"),
                  tuple(_fit_cells(f) for f in fits))
    drift = Table("Training drift ‖K_T − K_0‖/‖K_0‖ (and the weights) vs width and P",
                  ("group", "quantity", "vs", "exponent", "95 % CI", "χ² p", "verdict"),
                  tuple(_fit_cells(f) for f in (*d.width_fits, *d.params_fits)))
    h = a.hanin_nica
    hn = ("Hanin–Nica: log E[K²]/E[K]² grows linearly in β = Σ 1/n_l with rate "
          f"{num(h.rate)} {ci(h.ci_low, h.ci_high)} ({h.rate_verdict}; asymptotic theory 5)"
          if h is not None else "Hanin–Nica: not fitted")
    init_w = "; ".join(_fit_text(f) for f in _pick(a.width_fits, "rel_frobenius")) or "no fit"
    init_p = "; ".join(_fit_text(f) for f in _pick(a.params_fits, "rel_frobenius")) or "no fit"
    drift_w = "; ".join(_fit_text(f) for f in _pick(d.width_fits, "rel_frobenius")) or "no fit"
    drift_p = "; ".join(_fit_text(f) for f in _pick(d.params_fits, "rel_frobenius")) or "no fit"
    n_fit = "; ".join(_fit_text(f) for f in a.n_fits) or "no fit in N"
    answer = (
        "At initialisation ‖K_n(0) − K_∞‖_F/‖K_∞‖_F ∝ n^γ with γ = " + init_w
        + " (theory −1/2); in P (P ∝ n² at fixed depth) the exponent is " + init_p
        + " (the proposal's P^(−1/4)). Training moves the kernel by ‖K_T − K_0‖_F/‖K_0‖_F ∝ "
        "n^γ with γ = " + drift_w + " (theory −1), i.e. in P: " + drift_p
        + " (the proposal's P^(−1/2)). Dependence on N at fixed width: " + n_fit + ". "
        + hn + ".")
    paragraphs = (
        "Fully connected ReLU networks in the NTK parameterization, inputs on S^(d−1): the "
        "empirical NTK K_n(0) of n_ens networks per task against the analytic K_∞, over "
        "depth × width × N; the Hanin–Nica second moment of K_n(x, x) of deep narrow networks "
        "against β = Σ 1/n_l; and the drift of the kernel when a network is trained to "
        "convergence (quadratic hinge and MSE, output scale α).",)
    figures = tuple(Figure(p, f"kernel fluctuations: {p.stem.replace('_', ' ')}")
                    for p in figs["fluctuations"])
    figures += tuple(Figure(p, f"training drift: {p.stem.replace('_', ' ')}")
                     for p in figs["kernel_drift"])
    return Section(4, "How large are finite-width kernel fluctuations, and how do they scale "
                   "with width, P and N?", paragraphs, (table, drift), figures, answer)


def fixed_point_section(res: dict, figs: dict) -> Section:
    """Section 5: fixed points of the flow that are not minima, and their stability.

    Parameters
    ----------
    res : dict
        ``fixed_points``: the rows of
        :func:`ntkjam.analysis.fixed_points.fixed_point_summary` (one per loss and φ).
    figs : dict[str, list of Path]
        ``fixed_points``.

    Returns
    -------
    Section

    Examples
    --------
    MSE at φ = 0.5 (every end point a minimum) and φ = 2 (N > rank: none is), four
    tasks each:

    >>> from ntkjam.report.sections_networks import fixed_point_section
    >>> rows = [{"loss": "mse", "phi": phi, "n_tasks": 4, "n_not_minimum": k,
    ...          "fraction": k / 4, "ci_low": lo, "ci_high": hi, "theory": float(phi > 1),
    ...          "agree_unsat": 1.0, "n_unstable_max": 0, "lyapunov": 1.0,
    ...          "linearly_stable": float(k == 0), "marginal_per_rank": 0.0}
    ...         for phi, k, lo, hi in ((0.5, 0, 0.0, 0.49), (2.0, 4, 0.51, 1.0))]
    >>> s = fixed_point_section({"fixed_points": rows}, {"fixed_points": []})
    >>> [row[:6] for row in s.tables[0].rows]  # doctest: +NORMALIZE_WHITESPACE
    [('mse', '0.500', '4', '0.0', '[0.0, 0.49]', '0.0'),
     ('mse', '2.00', '4', '1.0', '[0.51, 1.0]', '1.0')]
    >>> print(s.answer.split(". ")[0])
    Yes: 4 of the 8 end points are stable (Lyapunov) fixed points that are not minima
    """
    rows = res["fixed_points"]
    table = Table(
        "End points of gradient flow from f₀ = 0 (exact), classified by ntkjam.fixed_points: "
        "fraction that are fixed points but not minima (95 % Wilson), theory, stability",
        ("loss", "φ", "tasks", "not minima", "95 % CI", "theory", "= UNSAT", "max unstable",
         "Lyapunov", "all rates > 0", "marginal/rank"),
        tuple((r["loss"], num(r["phi"]), str(r["n_tasks"]), num(r["fraction"], 2),
               ci(r["ci_low"], r["ci_high"], 2), num(r["theory"], 2), num(r["agree_unsat"], 2),
               str(r["n_unstable_max"]), num(r["lyapunov"], 2), num(r["linearly_stable"], 2),
               num(r["marginal_per_rank"], 2)) for r in rows))
    parts = []
    for loss in sorted({r["loss"] for r in rows}):
        rs = [r for r in rows if r["loss"] == loss]
        below = [r for r in rs if r["theory"] < 0.5]
        above = [r for r in rs if r["theory"] >= 0.5]
        text = f"{loss}: "
        if below:
            k, m = sum(r["n_not_minimum"] for r in below), sum(r["n_tasks"] for r in below)
            text += (f"for φ ≤ {num(max(r['phi'] for r in below))} {k} of {m} end points "
                     "are not minima")
        if above:
            k, m = sum(r["n_not_minimum"] for r in above), sum(r["n_tasks"] for r in above)
            lo = min(r["ci_low"] for r in above)
            text += (f"{', ' if below else ''}for φ ≥ {num(min(r['phi'] for r in above))} "
                     f"{k} of {m} are (every per-φ 95 % interval above {num(lo, 2)})")
        agree = float(np.mean([r["agree_unsat"] for r in rs]))
        text += (f"; 'not a minimum' coincides with UNSAT in a fraction {num(agree, 3)} of the "
                 f"tasks; at most {max(r['n_unstable_max'] for r in rs)} unstable directions, "
                 f"a fraction {num(np.nanmean([r['lyapunov'] for r in rs]), 3)} Lyapunov stable, "
                 f"{num(np.nanmean([r['linearly_stable'] for r in rs]), 3)} with every rate > 0")
        parts.append(text)
    found = sum(r["n_not_minimum"] for r in rows if r["lyapunov"] == 1.0)
    lead = (f"Yes: {found} of the {sum(r['n_tasks'] for r in rows)} end points are stable "
            "(Lyapunov) fixed points that are not minima" if found else
            "None found among these end points")
    measured = "; ".join(parts) + ". " if parts else ""
    answer = (lead + ". " + measured + "Theory: such fixed points need "
              "Ker K ≠ {0}; for a convex loss L is a Lyapunov function on f₀ + range(K), so "
              "none is unstable; for the quadratic hinge they are exactly the UNSAT minima, "
              "marginal along the directions that move no violated constraint.")
    paragraphs = (
        "With K fixed, f* is a fixed point of ḟ = −η K ∇L(f) iff K ∇L(f*) = 0, and a minimum "
        "of L over R^N iff ∇L(f*) = 0. Each task draws random ReLU features J (N × P) for "
        "random-label points, takes the exact end point of gradient flow from f₀ = 0 (least "
        "squares for MSE, the certified minimum of the quadratic hinge, κ = 1) and classifies "
        "it, with the linearised rates on range(K) (> 0 stable, 0 marginal, < 0 unstable).",)
    return Section(5, "Are there stable fixed points that are not minima of the loss?",
                   paragraphs, (table,), tuple(Figure(p, "fixed points that are not minima "
                                                     "vs φ") for p in figs["fixed_points"]),
                   answer)


def _crossing_text(c, lo_grid: float, hi_grid: float) -> str:
    if not math.isfinite(c.phi_c):
        return "undetermined"
    if c.phi_c > hi_grid:
        return f"> {num(hi_grid)} (undetermined on this grid)"
    if c.phi_c < lo_grid:
        return f"< {num(lo_grid)} (undetermined on this grid)"
    return f"{num(c.phi_c)} {ci(c.ci_low, c.ci_high)}"


def trained_section(res: dict, figs: dict) -> Section:
    """Section 6: φ_c(α) of trained networks against the lazy prediction, N*(P).

    Parameters
    ----------
    res : dict
        ``trained``: its :class:`~ntkjam.analysis.trained.TrainedDiagramAnalysis` (``lazy``,
        ``lazy_crossings``, ``curves`` are read).
    figs : dict[str, list of Path]
        ``trained``.

    Returns
    -------
    Section

    Examples
    --------
    One size, P = 72: the lazy crossing and that of networks trained at α = 1000 (stand-ins
    for the analysis: only the fields read):

    >>> import numpy as np
    >>> from types import SimpleNamespace as NS
    >>> from ntkjam.report.sections_networks import trained_section
    >>> grid = np.array([0.6, 1.2, 1.8])
    >>> lazy = NS(n_params=72, rank=66, phi=grid)
    >>> curve = NS(n_params=72, alpha=1000.0, sat=NS(phi=grid), agreement=0.95,
    ...            crossing=NS(phi_c=1.62, ci_low=1.5, ci_high=1.75),
    ...            crossing_upper=NS(phi_c=1.66, ci_low=1.55, ci_high=1.8))
    >>> a = NS(lazy=[lazy], lazy_crossings=[NS(phi_c=1.6, ci_low=1.48, ci_high=1.71)],
    ...        curves=[curve])
    >>> s = trained_section({"trained": a}, {"trained": []})
    >>> s.tables[0].rows  # doctest: +NORMALIZE_WHITESPACE
    (('72', 'lazy', '1.60 [1.48, 1.71]', '115', 'exact', '1.83'),
     ('72', 'α = 1000', '1.62 [1.50, 1.75]', '117', '0.95', '1.66 [1.55, 1.80]'))
    >>> "consistent with the lazy φ_c" in s.answer
    True
    """
    a = res["trained"]
    rows, parts = [], []
    lazy_ci = {lz.n_params: (cr.ci_low, cr.ci_high) for lz, cr in zip(a.lazy, a.lazy_crossings,
                                                                      strict=True)}
    for lz, cr in zip(a.lazy, a.lazy_crossings, strict=True):
        lo, hi = float(lz.phi.min()), float(lz.phi.max())
        rows.append((str(lz.n_params), "lazy", _crossing_text(cr, lo, hi),
                     num(cr.phi_c * lz.n_params, 3), "exact", num(2 * lz.rank / lz.n_params)))
        parts.append(f"lazy (exact verdicts of the same initial networks, P = {lz.n_params}): "
                     f"φ_c = {_crossing_text(cr, lo, hi)}, N* = φ_c P = "
                     f"{num(cr.phi_c * lz.n_params)}, Cover 2·rank/P = "
                     f"{num(2 * lz.rank / lz.n_params)}")
    for c in a.curves:
        lo, hi = float(c.sat.phi.min()), float(c.sat.phi.max())
        ours = (c.crossing.ci_low, c.crossing.ci_high)
        rows.append((str(c.n_params), f"α = {c.alpha:g}", _crossing_text(c.crossing, lo, hi),
                     num(c.crossing.phi_c * c.n_params, 3), num(c.agreement, 2),
                     _crossing_text(c.crossing_upper, lo, hi)))
        parts.append(f"α = {c.alpha:g}: φ_c = {_crossing_text(c.crossing, lo, hi)} "
                     f"(upper bound with the runs out of budget counted SAT: "
                     f"{_crossing_text(c.crossing_upper, lo, hi)}), "
                     f"{overlap(ours, lazy_ci.get(c.n_params, (math.nan, math.nan)))}"
                     f" with the lazy φ_c; the lazy verdict in a fraction "
                     f"{num(c.agreement, 2)} of the decided runs")
    table = Table("Trained one-hidden-layer ReLU networks (quadratic hinge, F = α (f − f₀)) "
                  "vs the lazy problem of the same initial networks",
                  ("P", "model", "φ_c [95 %]", "N* = φ_c P", "= lazy", "φ_c⁺ / Cover"),
                  tuple(rows))
    answer = ("N*(P) = φ_c P of trained networks against the kernel (lazy) prediction: "
              + "; ".join(parts or ["nothing measured"])
              + ". (Consistent/different: whether the two 95 % intervals "
              "overlap; the lazy limit is α → ∞.)")
    paragraphs = (
        "For each P, output scale α, φ and seed a network is trained by full-batch gradient "
        "descent with momentum until SAT, UNSAT (converged loss > 0) or the step budget; "
        "the lazy problem of the same initial network is solved exactly. Runs out of budget "
        "are bracketed: counted UNSAT (φ_c, a lower bound) or SAT (φ_c⁺).",)
    figures = tuple(Figure(p, f"trained networks: {p.stem.replace('_', ' ')}")
                    for p in figs["trained"])
    return Section(6, "Lazy vs trained networks: N*(P) and φ_c(α)", paragraphs, (table,),
                   figures, answer)


def generalization_section(res: dict, figs: dict) -> Section:
    """Section 7: test error across φ with the theory curves, and the ensemble's effect.

    Parameters
    ----------
    res : dict
        ``generalization``: its :class:`~ntkjam.analysis.GeneralizationAnalysis`
        (``peaks``, ``crossings``, ``peak_vs_crossing``, ``theory``, ``ensemble``,
        ``settings`` are read).
    figs : dict[str, list of Path]
        ``generalization``.

    Returns
    -------
    Section

    Examples
    --------
    The test error peaks at the interpolation threshold φ ≈ 1, not at φ_c ≈ 2 (a
    stand-in for the analysis: only the fields read):

    >>> from types import SimpleNamespace as NS
    >>> from ntkjam.report.sections_networks import generalization_section
    >>> peak = NS(quantity="test_error", size=100, status="located", phi_peak=1.02,
    ...           ci_low=0.95, ci_high=1.1, height=0.48, height_low=0.45, height_high=0.5)
    >>> a = NS(peaks=[peak], crossings=[NS(phi_c=2.01, ci_low=1.9, ci_high=2.1)],
    ...        peak_vs_crossing=[], theory=[], ensemble=[],
    ...        settings={"task": "noisy_teacher_hinge", "source": "relu_features", "d": 10,
    ...                  "epsilon": 0.1})
    >>> s = generalization_section({"generalization": a}, {"generalization": []})
    >>> print(s.answer)  # doctest: +NORMALIZE_WHITESPACE
    Test error vs φ: test_error peaks at φ = 1.02 [0.950, 1.10] (located), height 0.480
    [0.450, 0.500]; φ_c (P(SAT) = ½ of the same tasks) = 2.01 [1.90, 2.10].
    """

    a = res["generalization"]
    peaks = [p for p in a.peaks if p.quantity in ("test_error", "mean_test_error")]
    rows = tuple((p.quantity, str(p.size), p.status, num(p.phi_peak), ci(p.ci_low, p.ci_high),
                  num(p.height), ci(p.height_low, p.height_high)) for p in peaks)
    table = Table("Maximum of the test error over φ (quadratic fit, 95 % bootstrap)",
                  ("quantity", "P", "status", "φ_peak", "95 % CI", "height", "95 % CI"), rows)
    parts = [f"{p.quantity} peaks at φ = {num(p.phi_peak)} {ci(p.ci_low, p.ci_high)} "
             f"({p.status}), height {num(p.height)} {ci(p.height_low, p.height_high)}"
             for p in peaks]
    parts += [f"φ_c (P(SAT) = ½ of the same tasks) = {num(c.phi_c)} {ci(c.ci_low, c.ci_high)}"
              for c in a.crossings]
    parts += [f"peak − φ_c = {num(v.shift)} {ci(v.shift_low, v.shift_high)} "
              f"({against(v.shift_low, v.shift_high, 0.0, 'no shift')})"
              for v in a.peak_vs_crossing]
    parts += [f"{t.name} theory within {num(100 * t.max_abs_rel_dev, 2)} % of the measured "
              "mean away from φ = 1" for t in a.theory]
    parts += [f"ensembling {e.n_ens} members lowers the peak by a fraction {num(e.reduction)} "
              f"{ci(e.ci_low, e.ci_high)} ({e.status})" for e in a.ensemble]
    s = a.settings
    answer = ("Test error vs φ: " + "; ".join(parts or ["nothing measured"]) + ".")
    paragraphs = (
        f"Task {s.get('task')} with {s.get('source')} (d = {s.get('d')}, label noise "
        f"ε = {s.get('epsilon')}): N training points, P features, the exact end point of "
        "gradient flow (minimum-norm quadratic hinge), test error on fresh points; n_ens "
        "members with independent features share the data and their outputs are averaged.",)
    figures = tuple(Figure(p, f"generalization: {p.stem.replace('_', ' ')}")
                    for p in figs["generalization"])
    return Section(7, "Generalization across φ, with theory curves, and the effect of "
                   "ensembling", paragraphs, (table,), figures, answer)
