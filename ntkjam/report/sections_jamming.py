"""Sections 1–3: the transition, the spectrum of K across φ, what is critical at φ_c.

Each function turns analysis results (never the physics) into a
:class:`~ntkjam.report.document.Section`; every number is formatted from them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ntkjam.report.document import Figure, Section, Table, against, ci, mean_ci, num, pm
from ntkjam.report.spectra import spectrum_rows

__all__ = ["criticality_section", "spectrum_section", "transition_section"]

_SOURCES = {"jamming_relu": "random ReLU features", "jamming_fourier": "random Fourier features",
            "jamming_taylor": "truncated Taylor features",
            "jamming_jacobian": "empirical-NTK Jacobians (one hidden ReLU layer)"}


def _figure(paths: list[Path], stem: str, caption: str) -> tuple[Figure, ...]:
    return tuple(Figure(p, caption) for p in paths if p.stem == stem)


def _rank_units(c) -> tuple[float, float, float]:
    """φ_c·P/r with its interval: the crossing in units of the rank."""
    s = c.n_params / c.rank if c.rank else math.nan
    return c.phi_c * s, c.ci_low * s, c.ci_high * s


def _supported(c, t) -> bool:
    """A crossing is a result when it is positive, inside its interval and resolved by
    its grid (a χ² against Cover with p < 0.01 is a deviation from Cover, flagged in its
    own column, not a failed fit)."""
    return (np.isfinite(c.phi_c) and c.phi_c > 0 and c.ci_low <= c.phi_c <= c.ci_high
            and bool(getattr(c, "resolved", True)))


def _crossing_rows(res: dict) -> tuple[tuple[str, ...], ...]:
    rows = []
    for name, label in _SOURCES.items():
        a = res[name]
        tests = {t.P: t for t in a.cover_tests}
        for c in a.crossings:
            r, lo, hi = _rank_units(c)
            t = tests.get(c.P)
            value = num(c.phi_c) if _supported(c, t) else f"unsupported fit ({num(c.phi_c)})"
            rows.append((label, str(c.n_params), str(c.rank), value, ci(c.ci_low, c.ci_high),
                         num(c.width, 2), f"{num(r)} {ci(lo, hi)}", num(2.0 * c.rank / c.n_params),
                         f"{t.chi2:.1f}/{t.dof} (p = {num(t.p_value, 2)})"
                         + (" — deviates from Cover" if t.p_value < 0.01 else "") if t else "n/a"))
    return tuple(rows)


def _fss_rows(res: dict) -> tuple[tuple[str, ...], ...]:
    rows = []
    for name, label in _SOURCES.items():
        f, fc = res[name].fss, res[name].fss_cover
        rows.append((label, pm(f.phi_c_inf, f.phi_c_inf_err) if f else "undetermined",
                     pm(f.nu, f.nu_err) if f else "undetermined",
                     num(fc.phi_c_inf) if fc else "n/a", num(fc.nu, 2) if fc else "n/a"))
    return tuple(rows)


def _source_sentence(name: str, a) -> str:
    """One source's result: φ_c(∞) (full rank) or the largest P's crossing in rank units."""
    label = _SOURCES[name]
    tests = {t.P: t for t in a.cover_tests}
    good = [c for c in a.crossings if _supported(c, tests.get(c.P))]
    if not good:
        return f"{label}: φ_c undetermined on this grid"
    c = good[-1]
    r, lo, hi = _rank_units(c)
    text = (f"{label}: at the largest P = {c.n_params} (rank {c.rank}) φ_c = {num(c.phi_c)} "
            f"{ci(c.ci_low, c.ci_high)} in units of P, {num(r)} {ci(lo, hi)} in units of the "
            f"rank ({against(lo, hi, 2.0, 'Cover')})")
    if a.fss is not None and all(x.rank == x.n_params for x in a.crossings):
        f = a.fss
        z = 1.959963984540054 * f.phi_c_inf_err
        text += (f"; extrapolated φ_c(∞) = {pm(f.phi_c_inf, f.phi_c_inf_err)} "
                 f"({against(f.phi_c_inf - z, f.phi_c_inf + z, 2.0, 'Cover')}), "
                 f"ν = {pm(f.nu, f.nu_err)} (Cover: 2)")
    return text


def _ntk_rank(df) -> tuple[Table, str]:
    rows = []
    for n, g in df.groupby("n", sort=True):
        rows.append((str(int(n)), str(len(g)), f"{int(g['rank'].min())}–{int(g['rank'].max())}",
                     num(g["lambda_min"].min()), num(g["condition_number"].max())))
    full = int((df["rank"] == df["n"]).sum())
    text = (f"the infinite-width NTK Gram had full rank in {full} of {len(df)} draws "
            f"(N = {', '.join(str(int(v)) for v in sorted(df['n'].unique()))}; smallest "
            f"eigenvalue {num(df['lambda_min'].min())}, largest condition number "
            f"{num(df['condition_number'].max())})")
    table = Table("Infinite-width NTK Gram on the sphere (P = ∞): rank and conditioning",
                  ("N", "draws", "rank", "min λ_min", "max condition number"), tuple(rows))
    return table, text


def transition_section(res: dict, figs: dict) -> Section:
    """Section 1: P(SAT) vs φ, φ_c(P) and φ_c(∞), per feature model; the NTK has none.

    Parameters
    ----------
    res : dict
        ``jamming_relu``, ``jamming_fourier``, ``jamming_taylor``, ``jamming_jacobian``:
        their :class:`~ntkjam.analysis.PhaseDiagramAnalysis` (``crossings``,
        ``cover_tests``, ``fss``, ``fss_cover``, ``settings`` are read); ``ntk_rank``: the
        rows of the infinite-width Gram (``n``, ``rank``, ``lambda_min``,
        ``condition_number``).
    figs : dict[str, list of Path]
        The four studies' figures (``sat_probability``, ``crossings`` are used).

    Returns
    -------
    Section

    Examples
    --------
    One crossing per model (a stand-in for the analysis: only the fields read), at
    P = rank = 100, whose interval holds Cover's φ_c = 2:

    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> from ntkjam.analysis import CoverTest
    >>> from ntkjam.report.sections_jamming import transition_section
    >>> c = SimpleNamespace(P=100, n_params=100, rank=100, phi_c=2.01, ci_low=1.95,
    ...                     ci_high=2.08, width=0.12)
    >>> a = SimpleNamespace(crossings=[c], cover_tests=[CoverTest(100, 18.2, 21, 0.64)],
    ...                     fss=None, fss_cover=None, settings={"d": 10, "margin": 1.0})
    >>> ranks = pd.DataFrame({"n": [50, 100], "rank": [50, 100], "lambda_min": [0.02, 0.01],
    ...                       "condition_number": [80.0, 160.0]})
    >>> names = ("jamming_relu", "jamming_fourier", "jamming_taylor", "jamming_jacobian")
    >>> s = transition_section(dict.fromkeys(names, a) | {"ntk_rank": ranks},
    ...                        dict.fromkeys(names, []))
    >>> s.tables[0].rows[0]  # doctest: +NORMALIZE_WHITESPACE
    ('random ReLU features', '100', '100', '2.01', '[1.95, 2.08]', '0.12',
     '2.01 [1.95, 2.08]', '2.00', '18.2/21 (p = 0.64)')
    >>> print(s.answer.split(". ")[0])  # doctest: +NORMALIZE_WHITESPACE
    P(SAT) = ½ is located (a finite 95 % interval narrower than 1 in φ) for 4 of the 4
    finite-P feature models
    >>> "(consistent with Cover = 2.00)" in s.answer, "full rank in 2 of 2 draws" in s.answer
    (True, True)
    """
    rank_table, rank_text = _ntk_rank(res["ntk_rank"])
    a = res["jamming_relu"]
    paragraphs = (
        "Each instance draws N = round(φ P) points uniform on S^(d−1) with random ±1 labels "
        f"(d = {a.settings.get('d')}, margin κ = {a.settings.get('margin')}, f₀ = 0), P features "
        "J (N × P), and decides exactly whether some w gives y_i (J w)_i ≥ κ for all i (the "
        "lazy problem: the reachable outputs are f₀ + range(J)); the finite-Newton minimum of "
        "the quadratic hinge certifies SAT or UNSAT, a fraction is cross-checked by LP.",
        "Rank convention: the degrees of freedom are the rank r of J, not P. Random ReLU and "
        "Fourier features have r = P; truncated Taylor features on the sphere and network "
        "Jacobians do not (products of coordinates are dependent on the sphere; each ReLU unit "
        "has a rescaling symmetry, r ≤ P − width). φ_c is reported in units of P and, "
        "as φ_c·P/r, of the rank, where Cover's theorem gives φ_c = 2 for points in general "
        "position.",
        "Without a finite P there is no transition: the infinite-width NTK Gram of N distinct "
        "points on the sphere is positive definite, so f₀ + range(K) = R^N and every labelling "
        "is reached (P(SAT) = 1 at every N).",
    )
    crossing = Table(
        "φ_c(P): P(SAT) = ½ from the erf crossing fit, 95 % bootstrap interval over seeds; "
        "Cover: 2·rank/P; χ²: the SAT counts against Cover's curve",
        ("features", "P", "rank", "φ_c", "95 % CI", "width", "φ_c·P/r [95 %]", "Cover",
         "χ²/dof"), _crossing_rows(res))
    fss = Table("Finite-size scaling φ_c(P) = φ_c(∞) + a P^(−1/ν) (± 95 %), and the same fit "
                "to Cover's curves on this grid", ("features", "φ_c(∞)", "ν", "Cover φ_c(∞)",
                                                   "Cover ν"), _fss_rows(res))
    figures = sum((_figure(figs[n], "sat_probability", f"P(SAT) vs φ, {lbl}, with Cover's "
                           "curves") for n, lbl in _SOURCES.items()), ())
    figures += _figure(figs["jamming_relu"], "crossings", "φ_c(P) and the width w(P) vs P, "
                       "random ReLU features, with the finite-size-scaling fit")
    located = sum(any(np.isfinite(c.ci_low) and np.isfinite(c.ci_high) and
                      c.ci_high - c.ci_low < 1.0 for c in res[n].crossings) for n in _SOURCES)
    answer = (f"P(SAT) = ½ is located (a finite 95 % interval narrower than 1 in φ) for "
              f"{located} of the {len(_SOURCES)} finite-P feature models. "
              + "; ".join(_source_sentence(n, res[n]) for n in _SOURCES)
              + f". The infinite-width kernel: {rank_text}; a full-rank K reaches every "
              "labelling, so it has no finite φ_c.")
    return Section(1, "Is there a jamming transition in function space?", paragraphs,
                   (crossing, fss, rank_table), figures, answer)


def _spectrum_table(name: str, rows: list[dict]) -> Table:
    cells = tuple((num(r["phi"]), str(r["n"]), str(r["p"]), str(r["n_seeds"]),
                   num(r["zero_fraction"]), num(r["expected_zero_fraction"]),
                   mean_ci(r["smallest"], r["smallest_lo"], r["smallest_hi"]),
                   num(r["edge"]), num(r["ks"], 2)) for r in rows)
    pred = rows[0]["prediction"] if rows else ""
    return Table(f"{name}: prediction {pred}", ("φ", "N", "P", "seeds", "zero modes",
                                               "predicted", "λ⁺_min [95 %]", "predicted edge",
                                               "KS"), cells)


def _spectrum_sentence(label: str, rows: list[dict]) -> str:
    if not rows:
        return f"{label}: no data"
    dz = max(abs(r["zero_fraction"] - r["expected_zero_fraction"]) for r in rows)
    low = min(rows, key=lambda r: r["smallest"] if np.isfinite(r["smallest"]) else np.inf)
    at2 = min(rows, key=lambda r: abs(r["phi"] - 2.0))
    return (f"{label}: zero-mode fraction at most {num(dz, 2)} from the prediction over "
            f"φ = {num(rows[0]['phi'])}–{num(rows[-1]['phi'])}, KS distance ≤ "
            f"{num(max(r['ks'] for r in rows), 2)}; λ⁺_min is smallest on the grid at "
            f"φ = {num(low['phi'])}: "
            f"{mean_ci(low['smallest'], low['smallest_lo'], low['smallest_hi'])} (predicted "
            f"edge {num(low['edge'])}); at φ = {num(at2['phi'])}: "
            f"{mean_ci(at2['smallest'], at2['smallest_lo'], at2['smallest_hi'])} (predicted "
            f"{num(at2['edge'])})")


def spectrum_section(res: dict, figs: dict) -> Section:
    """Section 2: spectra against Marchenko–Pastur / Silverstein / Funk–Hecke across φ.

    Parameters
    ----------
    res : dict
        ``spectrum_gaussian``, ``spectrum_features``, ``spectrum_truncated`` → ``(df,
        arrays)``: the study's finished rows and its arrays per task hash (see
        :func:`ntkjam.report.spectra.spectrum_rows`).
    figs : dict[str, list of Path]
        ``spectra``: the report's spectrum figures.

    Returns
    -------
    Section

    Examples
    --------
    One task at φ = 2 (N = 20, P = 10) for each of the three studies:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from ntkjam.report.sections_jamming import spectrum_section
    >>> df = pd.DataFrame({"phi": [2.0], "seed": 0, "hash": "t0", "n": 20, "p": 10,
    ...                    "smallest_nonzero": 0.18, "zero_fraction": 0.5,
    ...                    "expected_zero_fraction": 0.5, "ks": 0.1,
    ...                    "prediction": "Marchenko–Pastur"})
    >>> study = (df, {"t0": {"predicted_eigenvalues": np.array([0.0, 0.1716])}})
    >>> keys = ("spectrum_gaussian", "spectrum_features", "spectrum_truncated")
    >>> s = spectrum_section(dict.fromkeys(keys, study), {"spectra": []})
    >>> s.heading, len(s.tables)
    ('2. How does the spectrum of K depend on φ?', 3)
    >>> dict(zip(s.tables[0].header, s.tables[0].rows[0]))  # doctest: +NORMALIZE_WHITESPACE
    {'φ': '2.00', 'N': '20', 'P': '10', 'seeds': '1', 'zero modes': '0.500',
     'predicted': '0.500', 'λ⁺_min [95 %]': '0.180 (one value, no interval)',
     'predicted edge': '0.172', 'KS': '0.10'}
    """
    names = {"spectrum_gaussian": "Gaussian features N(0, 1/P) vs Marchenko–Pastur",
             "spectrum_features": "random ReLU features vs the Silverstein law of their "
             "population covariance", "spectrum_truncated": "truncated Taylor features vs "
             "their Funk–Hecke Gram spectrum"}
    rows = {k: spectrum_rows(*res[k]) for k in names}
    paragraphs = (
        "K = J Jᵀ (N × N) at fixed P and several φ; dense eigenvalues. For φ > 1 K has "
        "N − rank zero modes (fraction 1 − 1/φ at full rank); the smallest nonzero eigenvalue "
        "λ⁺_min follows the lower edge of the predicted law ((1 − √φ)² for Marchenko–Pastur), "
        "which closes at φ = 1 (the interpolation threshold of least squares), not at the "
        "jamming point φ_c ≈ 2.",)
    answer = ("Measured against the predictions (intervals: 95 % t over seeds): "
              + "; ".join(_spectrum_sentence(names[k], rows[k]) for k in names)
              + ". The theory puts the zero modes in at φ = 1 and closes the gap of the "
              "nonzero spectrum there, not at the jamming point; K alone does not know the "
              "labels and margins that set φ_c.")
    return Section(2, "How does the spectrum of K depend on φ?", paragraphs,
                   tuple(_spectrum_table(names[k], rows[k]) for k in names),
                   tuple(Figure(p, "zero modes and λ⁺_min vs φ" if p.stem == "edges" else
                                f"eigenvalue histograms vs the prediction ({p.stem})")
                         for p in figs["spectra"]), answer)


def _onset_sentence(o, what: str) -> str:
    """The answer's words on one observable at φ_c⁺: the same numbers as the section's
    body (value, 95 % interval, verdict), and the RS value set against the interval only
    where a result was measured (no comparison with a fit that is not one)."""
    rs = f"RS theory {num(o.theory_value)}" if math.isfinite(o.theory_value) else ""
    if o.basis == "none":
        return f"{what} at φ_c⁺ not measured" + (f" ({rs})" if rs else "")
    if not o.supported:
        from ntkjam.analysis import PHYSICAL_MIN

        floor = PHYSICAL_MIN["isostaticity" if o.name == "isostaticity" else "loss"]
        return (f"{what} at φ_c⁺ not a result (the fit's limit {num(o.value)} lies below the "
                f"physical minimum {floor:g})" + (f"; {rs}, not tested" if rs else ""))
    text = f"{what} at φ_c⁺ = {num(o.value)} {ci(o.ci_low, o.ci_high)} ({o.verdict})"
    if rs:
        verdict = against(o.ci_low, o.ci_high, o.theory_value, "RS")
        if o.verdict == "undetermined" and verdict.startswith("consistent"):
            verdict = "inside an interval too wide to test it"
        text += f", {rs} ({verdict})"
    if math.isfinite(o.exponent):
        lo, hi = o.exponent - 1.96 * o.exponent_err, o.exponent + 1.96 * o.exponent_err
        text += (f"; approach exponent a = {num(o.exponent)} {ci(lo, hi)}"
                 + (f" ({against(lo, hi, o.theory_exponent, 'RS')})"
                    if math.isfinite(o.theory_exponent) else ""))
    return text


def _exponent_verdict(e, name: str) -> str:
    """``against`` for a gap or force exponent, adding when its interval also holds 0
    (then the data do not show a power law at all, whatever theory they agree with)."""
    verdict = against(e.ci_low, e.ci_high, e.theory, name)
    if verdict.startswith("consistent") and e.ci_low <= 0 <= e.ci_high:
        verdict += ", and with 0: no power law resolved"
    return verdict


def _sphere_sentence(p) -> str:
    g, t = p.gamma, p.theta
    return (f"{p.label}: κ_J = {pm(p.kappa_j, p.kappa_j_sem)} (RS bound {num(p.kappa_rs)}), "
            f"N_Δ/rank = {num(p.isostaticity, 4)} {ci(p.iso_low, p.iso_high, 4)} "
            f"({p.isostatic}), γ = {num(g.value)} {ci(g.ci_low, g.ci_high)} "
            f"({_exponent_verdict(g, 'γ')}), θ = {num(t.value)} {ci(t.ci_low, t.ci_high)} "
            f"({_exponent_verdict(t, 'θ')})")


def criticality_section(res: dict, figs: dict) -> Section:
    """Section 3: the UNSAT side against the RS theory; the non-convex sphere's exponents.

    Parameters
    ----------
    res : dict
        ``jamming_relu``: its :class:`~ntkjam.analysis.PhaseDiagramAnalysis`
        (``theory``, ``loss_onset``, ``isostaticity_onset`` are read); ``sphere``: its
        :class:`~ntkjam.analysis.jamming_critical.SphereJammingAnalysis` (``points``).
    figs : dict[str, list of Path]
        ``jamming_relu`` (``unsat_observables`` is used) and ``sphere``.

    Returns
    -------
    Section

    Examples
    --------
    No crossing measured (so no limit at φ_c⁺): the RS theory is quoted beside a
    measurement that says "undetermined", never a number:

    >>> from types import SimpleNamespace
    >>> from ntkjam.analysis import onset_limit, rs_comparison
    >>> from ntkjam.report.sections_jamming import criticality_section
    >>> th = rs_comparison({"source": "relu_features", "labels": "random",
    ...                     "offset": "zero", "margin": 1.0})
    >>> loss = onset_limit([], kind="loss", theory_value=th.loss_onset)
    >>> iso = onset_limit([], kind="isostaticity", theory_value=th.isostaticity_onset)
    >>> a = SimpleNamespace(theory=th, loss_onset=loss, isostaticity_onset=iso)
    >>> s = criticality_section({"jamming_relu": a, "sphere": SimpleNamespace(points=())},
    ...                         {"jamming_relu": [], "sphere": []})
    >>> print(s.answer)  # doctest: +NORMALIZE_WHITESPACE
    Convex side: the loss per sample at φ_c⁺ not measured (RS theory 0.159); N_Δ/rank at
    φ_c⁺ not measured (RS theory 1.00). Non-convex side: no jamming point measured.
    >>> round(th.loss_onset, 4), th.isostaticity_onset  # κ²/(2π) at κ = 1; isostatic
    (0.1592, 1.0)
    """

    from ntkjam.analysis import describe_exponent, describe_onset

    a, s = res["jamming_relu"], res["sphere"]
    th = a.theory
    lines = [describe_onset(o, th) for o in (a.loss_onset, a.isostaticity_onset)]
    lines += [describe_exponent(o, th) for o in (a.loss_onset, a.isostaticity_onset)]
    paragraphs = (
        "Convex regime (random ReLU features, κ = 1, free norm): the minima of the quadratic "
        "hinge on the UNSAT side, fitted as y = y_c + A t + C t², t = (φ − φ_c(P))^a above each "
        "size's crossing, against the replica-symmetric theory (exact for κ ≥ 0).",
        *lines,
        "Non-convex regime (fixed norm ‖w‖² = rank, κ < 0, Gaussian features): the jamming "
        "point is found by compressing κ at fixed φ = N/rank; at jamming the theory "
        "(Charbonneau et al. 2014) predicts isostaticity N_Δ = rank and power laws of the gaps "
        "g(h) ~ h^−γ and forces P(f) ~ f^θ with γ = 0.41269, θ = 0.42311.",
    )
    pts = [p for p in s.points]
    table = Table("Jamming on the sphere: κ_J, N_Δ/rank and the exponents (95 % CI)",
                  ("point", "instances", "κ_J", "RS κ", "N_Δ/rank [95 %]", "verdict", "γ [95 %]",
                   "θ [95 %]"),
                  tuple((str(p.label), str(p.n_instances), pm(p.kappa_j, p.kappa_j_sem),
                         num(p.kappa_rs),
                         f"{num(p.isostaticity, 4)} {ci(p.iso_low, p.iso_high, 4)}",
                         p.isostatic, f"{num(p.gamma.value)} {ci(p.gamma.ci_low, p.gamma.ci_high)}",
                         f"{num(p.theta.value)} {ci(p.theta.ci_low, p.theta.ci_high)}")
                        for p in pts))
    figures = _figure(figs["jamming_relu"], "unsat_observables", "UNSAT side: loss per "
                      "sample, N_Δ/N and N_Δ/rank vs φ with the RS theory")
    figures += tuple(Figure(p, "jamming on the sphere") for p in figs["sphere"])
    answer = ("Convex side: " + _onset_sentence(a.loss_onset, "the loss per sample")
              + "; " + _onset_sentence(a.isostaticity_onset, "N_Δ/rank")
              + ". Non-convex side: " + ("; ".join(_sphere_sentence(p) for p in pts)
                                         if pts else "no jamming point measured") + ".")
    return Section(3, "What is critical at φ_c?", paragraphs, (table,), figures, answer)
