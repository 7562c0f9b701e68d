"""Figures a referee accepts, for every command that writes figures.

Each figure is checked when it is saved (``Figure.savefig`` is wrapped for the test):

* no text artist — suptitle, titles, axis labels, tick labels, legends, notes,
  annotations — lies outside the figure (their window extents, from the renderer that
  saved it), and no two tick labels of an axis overlap;
* every artist with a label is in a legend;
* a logarithmic axis holds positive data only (lines, error bars, markers);
* symbols are mathtext, not literal subscripts (``$N_\\Delta$``, not ``N_Δ``);
* each figure is written as PNG and PDF.

Commands and what draws them here (the default suite: tiny inputs, a few seconds each):
``phase-diagram`` (a tiny run, one grid with crossings and one all SAT), ``trained-diagram``,
``fluctuations`` and ``kernel-drift`` (their analyses of synthetic tables: the real tasks
train networks), ``train`` (a synthetic trajectory), ``flow`` (tiny runs, ``--margin 0``
among them), ``spectrum`` (synthetic panels and a tiny run), ``generalization`` and
``jamming-sphere`` (tiny runs).  ``kernel`` writes no figure (a table and an ``.npz``).
The slow test runs the commands that train networks end to end on tiny grids.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection, LineCollection
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.text import Text
from typer.testing import CliRunner

from ntkjam.cli import app

runner = CliRunner()

# ------------------------------------------------------------------------- the checks
#: One letter (or ‖, ∞, a closing bracket) followed by "_" outside $…$: a subscript typed
#: literally (N_Δ, K_0, φ_c, ‖K‖_F, n_ens) instead of mathtext.  Words (quadratic_hinge,
#: step_rule) are not matched: the letter before "_" must start the token.
LITERAL_SUBSCRIPT = re.compile(r"(?:(?<![A-Za-z0-9_])[A-Za-zΑ-Ωα-ωφϕ]|[‖∞)\]])_")
#: Slack of the bounds check, in pixels.
SLACK = 1.0


def _outside_math(text: str) -> str:
    parts = re.split(r"(?<!\\)\$", text)
    return "".join(parts[::2]) if len(parts) % 2 else text


def _where(artist) -> str:
    ax = getattr(artist, "axes", None)
    return "on the figure" if ax is None else f"in the panel {ax.get_title()[:40]!r}"


def text_boxes(fig: Figure, renderer) -> list[tuple[str, object, str]]:
    """``(what, window extent, text)`` of every drawn text artist, legend and axis."""
    out = []

    def walk(artist):
        for child in artist.get_children():
            if not child.get_visible():
                continue
            if isinstance(child, Axis):
                box = child.get_tightbbox(renderer)  # tick labels drawn, label, offset
                if box is not None:
                    ticks = " ".join(t.get_text() for t in child.get_ticklabels())
                    out.append((f"the {child.axis_name} axis {_where(child)}", box,
                                f"{child.label.get_text()} {ticks}"))
            elif isinstance(child, Legend):
                out.append((f"the legend {_where(child)}", child.get_window_extent(renderer),
                            " | ".join(t.get_text() for t in child.get_texts())))
            elif isinstance(child, Text):
                if child.get_text().strip():
                    out.append((f"the text {child.get_text()[:40]!r} {_where(child)}",
                                child.get_window_extent(renderer), child.get_text()))
            else:
                walk(child)

    walk(fig)
    return out


def _data_values(artist, ax, k: int) -> np.ndarray:
    """The values an artist holds along x (k = 0) or y (k = 1) in data coordinates."""
    if not artist.get_transform().contains_branch_seperately(ax.transData)[k]:
        return np.zeros(0)  # axhline/axvline/axspan: that direction is in axes coordinates
    if isinstance(artist, Line2D):
        return np.asarray(artist.get_xdata() if k == 0 else artist.get_ydata(), dtype=float)
    if isinstance(artist, LineCollection):  # error bars
        segments = [np.asarray(s, dtype=float).reshape(-1, 2)[:, k]
                    for s in artist.get_segments()]
        return np.concatenate(segments) if segments else np.zeros(0)
    if isinstance(artist, Collection):
        return np.asarray(artist.get_offsets(), dtype=float).reshape(-1, 2)[:, k]
    return np.zeros(0)


def _drawn_tick_labels(axis: Axis) -> list[Text]:
    """The tick labels an axis draws: visible, not empty, at a tick inside its view."""
    lo, hi = sorted(axis.get_view_interval())
    out = []
    for tick in (*axis.get_major_ticks(), *axis.get_minor_ticks()):
        loc = tick.get_loc()
        if loc is None or not lo - 1e-12 * abs(lo) <= loc <= hi + 1e-12 * abs(hi):
            continue
        out += [t for t in (tick.label1, tick.label2) if t.get_visible() and t.get_text()]
    return out


def overlapping_tick_labels(fig: Figure, renderer) -> list[str]:
    """Tick labels of one axis drawn over each other (e.g. minor labels on a short log axis)."""
    problems = []
    for ax in (a for a in fig.axes if a.get_visible()):
        for axis in (ax.xaxis, ax.yaxis):
            boxes = [(t.get_text(), t.get_window_extent(renderer))
                     for t in _drawn_tick_labels(axis)]
            k = 0 if axis is ax.xaxis else 1
            boxes.sort(key=lambda b: b[1].get_points()[0, k])
            for (ta, a), (tb, b) in zip(boxes, boxes[1:], strict=False):
                gap = b.get_points()[0, k] - a.get_points()[1, k]
                if gap < -SLACK and a.overlaps(b):
                    problems.append(f"tick labels {ta!r} and {tb!r} of the {axis.axis_name} "
                                    f"axis overlap (panel {ax.get_title()[:40]!r})")
    return problems


def layout_problems(fig: Figure, *, drawn: bool = False, boxes=None) -> list[str]:
    """Texts outside the figure, overlapping tick labels, labels in no legend, non-positive
    data on log axes.

    ``drawn``: the figure was just saved (its layout is done); otherwise it is drawn first.
    ``boxes``: :func:`text_boxes` of the figure, if already measured.
    """
    if not drawn:
        fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    frame = fig.bbox
    problems = []
    for what, box, _ in boxes if boxes is not None else text_boxes(fig, renderer):
        if (box.x0 < frame.x0 - SLACK or box.y0 < frame.y0 - SLACK
                or box.x1 > frame.x1 + SLACK or box.y1 > frame.y1 + SLACK):
            problems.append(f"{what} lies outside the figure: [{box.x0:.0f}, {box.x1:.0f}] × "
                            f"[{box.y0:.0f}, {box.y1:.0f}] px, the figure is "
                            f"{frame.width:.0f} × {frame.height:.0f}")
    problems += overlapping_tick_labels(fig, renderer)
    in_figure_legends = {t.get_text() for leg in fig.legends for t in leg.get_texts()}
    for ax in (a for a in fig.axes if a.get_visible()):
        legend = ax.get_legend()
        shown = in_figure_legends | ({t.get_text() for t in legend.get_texts()} if legend
                                     else set())
        for label in ax.get_legend_handles_labels()[1]:
            if label not in shown:
                problems.append(f"{label!r} is in no legend (panel {ax.get_title()[:40]!r})")
        for k, scale in enumerate((ax.get_xscale(), ax.get_yscale())):
            if scale != "log":
                continue
            for artist in (a for a in (*ax.lines, *ax.collections) if a.get_visible()):
                v = _data_values(artist, ax, k)
                bad = int(np.sum(np.isfinite(v) & (v <= 0)))
                if bad:
                    problems.append(f"the log {'xy'[k]} axis of the panel "
                                    f"{ax.get_title()[:40]!r} holds {bad} value(s) <= 0 "
                                    f"({artist.get_label()!r})")
    return problems


def literal_subscripts(fig: Figure, boxes=None) -> list[str]:
    """The texts of ``fig`` with a literal subscript outside mathtext."""
    if boxes is None:
        boxes = text_boxes(fig, fig.canvas.get_renderer())
    return [f"{what}: {text[:70]!r}" for what, _, text in boxes
            if LITERAL_SUBSCRIPT.search(_outside_math(text))]


class Saved:
    """The figures saved while a test runs: each one's checks, and the files written."""

    def __init__(self):
        self.files: list[Path] = []
        self.layout: dict[str, list[str]] = {}
        self.mathtext: dict[str, list[str]] = {}
        self.figures: dict[str, Figure] = {}
        self._seen: set[int] = set()

    def record(self, fig: Figure, path) -> None:
        path = Path(str(path))
        self.files.append(path)
        if id(fig) in self._seen:
            return
        self._seen.add(id(fig))
        self.figures[path.name] = fig
        if not hasattr(fig.canvas, "get_renderer"):  # a pyplot figure, closed after saving
            FigureCanvasAgg(fig)
            fig.draw_without_rendering()
        boxes = text_boxes(fig, fig.canvas.get_renderer())
        self.layout[path.name] = layout_problems(fig, drawn=True, boxes=boxes)
        self.mathtext[path.name] = literal_subscripts(fig, boxes)

    def check(self, *, mathtext: bool = True, formats: tuple = (".png", ".pdf")) -> None:
        """Every figure passes, and each was written in ``formats`` (PNG and PDF)."""
        assert self.files, "no figure was saved"
        bad = {k: v for k, v in self.layout.items() if v}
        assert not bad, "\n".join(f"{k}: {p}" for k, v in bad.items() for p in v)
        if mathtext:
            bad = {k: v for k, v in self.mathtext.items() if v}
            assert not bad, "\n".join(f"{k}: {p}" for k, v in bad.items() for p in v)
        stems: dict[Path, set[str]] = {}
        for f in self.files:
            assert f.exists() and f.stat().st_size > 1000, f
            stems.setdefault(f.with_suffix(""), set()).add(f.suffix)
        missing = {str(s): sorted(set(formats) - v) for s, v in stems.items()
                   if not set(formats) <= v}
        assert not missing, f"not written as {formats}: {missing}"


def writes_png_and_pdf(save) -> None:
    """A study's ``save_*`` writes PNG and PDF unless told otherwise (what its command
    calls; the slow test checks the files of the commands themselves)."""
    import inspect

    assert inspect.signature(save).parameters["formats"].default == ("png", "pdf")


@pytest.fixture
def saved(monkeypatch) -> Saved:
    """Wrap ``Figure.savefig``: each figure is checked as the file is written."""
    out = Saved()
    original = Figure.savefig

    def savefig(fig, fname, *args, **kwargs):
        result = original(fig, fname, *args, **kwargs)
        out.record(fig, fname)
        return result

    monkeypatch.setattr(Figure, "savefig", savefig)
    return out


# ----------------------------------------------------------- the checks can fail
def test_the_checks_find_what_a_referee_would_object_to(tmp_path):
    from ntkjam.figures.common import new_figure

    fig = new_figure((3.0, 2.0))
    ax = fig.subplots()
    ax.plot([0.0, 1.0, 2.0], [0.0, 1.0, 4.0], label="a labelled line")  # no legend
    ax.set_yscale("log")  # holds a zero
    ax.set_ylabel("N_Δ / N")
    fig.text(-0.2, 0.5, "a note cut at the left edge")
    problems = layout_problems(fig)
    assert any("outside the figure" in p and "a note cut" in p for p in problems), problems
    assert any("in no legend" in p for p in problems), problems
    assert any("log y axis" in p and "1 value(s) <= 0" in p for p in problems), problems
    assert literal_subscripts(fig) and "N_Δ" in literal_subscripts(fig)[0]
    crowded = new_figure((2.0, 2.0)).subplots()
    crowded.set_xticks(np.linspace(0, 1, 30), [f"{v:.3f}" for v in np.linspace(0, 1, 30)])
    assert any("overlap" in p for p in layout_problems(crowded.figure))
    good = new_figure((3.0, 2.0))
    ax = good.subplots()
    ax.plot([1.0, 2.0], [1.0, 4.0], label=r"$N_\Delta$")
    ax.set_yscale("log")
    ax.legend()
    good.suptitle("a long suptitle that constrained layout alone would leave cut on "
                  "both sides of this small figure", fontsize=9)
    from ntkjam.figures.common import fit_texts

    fit_texts(good)
    assert layout_problems(good) == [] and literal_subscripts(good) == []
    assert "\n" in good.get_suptitle()  # wrapped, not clipped


def test_write_figures_formats(tmp_path):
    from ntkjam.figures.common import check_formats, write_figures

    paths = write_figures(tmp_path, [("a", lambda f: f.subplots().plot([1, 2]), (3, 2)),
                                     ("b", lambda f: f.subplots().plot([2, 1]), (3, 2))],
                          "title", formats=("png", "pdf"))
    assert [p.name for p in paths] == ["a.png", "b.png", "a.pdf", "b.pdf"]
    with pytest.warns(DeprecationWarning, match="fmt"):
        old = write_figures(tmp_path / "old", [("c", lambda f: f.subplots(), (3, 2))], "t",
                            fmt="png")
    assert [p.name for p in old] == ["c.png"]
    with pytest.raises(ValueError, match="formats must be among"):
        check_formats(("png", "jpeg"))


# ------------------------------------------------------------------- phase-diagram
@pytest.mark.parametrize("grid", [
    ["--P", "6,10", "--phi-min", "1.2", "--phi-max", "2.8", "--phi-num", "3", "--seeds", "3"],
    ["--P", "6", "--phi-num", "2", "--seeds", "2", "--margin", "0"],  # all SAT: no crossing
], ids=["crossings", "all-sat"])
def test_phase_diagram(tmp_path, saved, grid):
    res = runner.invoke(app, ["phase-diagram", *grid, "--n-boot", "10", "-q",
                              "-o", str(tmp_path / "pd")])
    assert res.exit_code == 0, res.output
    saved.check()
    assert {p.name for p in saved.files} == {f"{n}.{f}" for f in ("png", "pdf") for n in
                                             ("sat_probability", "unsat_observables",
                                              "crossings")}
    if "--margin" not in grid:
        _fitted_crossings_beside_cover(saved, tmp_path / "pd")


def _fitted_crossings_beside_cover(saved: Saved, directory: Path) -> None:
    """The P(SAT) figure draws the fitted crossing model of each P beside Cover's curve."""
    import json

    ax = saved.figures["sat_probability.png"].axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert any(lab.startswith("Cover") for lab in labels), labels
    fits = [line for line in ax.lines if line.get_label().startswith("fit:")]
    analysis = json.loads((directory / "analysis.json").read_text(encoding="utf-8"))
    crossed = [c for c in analysis["crossings"] if c["phi_c"] is not None]
    assert len(fits) == len(crossed) >= 1, labels
    for line, c in zip(fits, crossed, strict=True):  # the model: ½ at the fitted φ_c
        x, y = line.get_xdata(), line.get_ydata()
        assert np.all(y[x < c["phi_c"]] >= 0.5) and np.all(y[x > c["phi_c"]] <= 0.5)
        assert np.all(np.diff(y) <= 1e-12)  # P(SAT) falls with φ
        assert f"{c['phi_c']:.3f}" in line.get_label()


# ----------------------------------------------------------------- trained-diagram
def _trained_analysis():
    from ntkjam.analysis.trained import TrainedDiagramAnalysis, lazy_reference, trained_curves

    rows = []
    rng = np.random.default_rng(0)
    for alpha in (1.0, 1000.0):
        for n in (8, 16, 24, 32):
            for seed in range(4):
                lazy = n / 16 + 0.3 * rng.normal() < 1.3
                u = rng.random()
                status = ("sat" if u < 1.6 - n / 20 else "budget" if u < 1.9 - n / 20
                          else "unsat")
                rows.append({"P": 16, "alpha": alpha, "phi": n / 16, "seed": seed, "n": n,
                             "n_params": 16, "rank": 12, "train_status": status,
                             "lazy_sat": bool(lazy), "kernel_change": 0.5 / alpha,
                             "steps": 100, "cover": 0.5, "status": "done"})
    df = pd.DataFrame(rows)
    df["sat"] = df["train_status"] == "sat"
    curves = trained_curves(df, n_boot=10)
    lazy, cross = lazy_reference(df, n_boot=10)
    settings = {"d": 3, "labels": "random", "margin": 1.0, "lr": 1.0, "step_rule": "tracked",
                "momentum": 0.9, "max_steps": 300}
    return TrainedDiagramAnalysis("synthetic", settings, len(df), 0, curves, lazy, cross)


def test_trained_diagram(tmp_path, saved):
    from ntkjam.figures import save_trained_figures

    writes_png_and_pdf(save_trained_figures)
    paths = save_trained_figures(_trained_analysis(), tmp_path, formats=("png",), dpi=60)
    assert len(paths) == 3
    saved.check(formats=(".png",))


# --------------------------------------------------------------------------- train
def _trajectory():
    t = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    traj = SimpleNamespace(time=t, loss=np.array([1.0, 0.5, 0.1, 0.0, 0.0]),
                           n_unsat=np.array([10, 6, 2, 0, 0]), kernel_time=t,
                           kernel_change=np.array([0.0, 1e-3, 2e-3, 3e-3, 3e-3]))
    meta = {"status": "sat", "config": {"widths": [8], "activation": "relu", "alpha": 1.0,
                                        "loss": "quadratic_hinge", "margin": 1.0,
                                        "n_train": 10, "optimizer": "gd"}}
    return traj, meta


def test_training_figure(tmp_path, saved):
    from ntkjam.figures.training import plot_training, save_training_figure

    traj, meta = _trajectory()
    paths = save_training_figure(traj, meta, tmp_path / "trajectory.png")
    assert [p.name for p in paths] == ["trajectory.png", "trajectory.pdf"]
    saved.check()
    axes = plot_training(traj, meta)
    assert [ax.get_yscale() for ax in axes] == ["log", "linear", "log"]  # N_Δ: a count
    np.testing.assert_array_equal(axes[0].lines[0].get_ydata(), [0.5, 0.1])  # loss > 0 only


def test_train(tmp_path, saved):
    from ntkjam.cli.train import plot_trajectory

    plot_trajectory(*_trajectory(), tmp_path / "trajectory.png")
    saved.check()


# ---------------------------------------------------------------------------- flow
@pytest.mark.parametrize("extra", [["--method", "gd", "--loss", "mse", "--steps", "30"],
                                   ["--margin", "0"]], ids=["gd-mse", "margin-0"])
def test_flow(tmp_path, saved, extra):
    out = tmp_path / "flow"
    res = runner.invoke(app, ["flow", "--n", "16", "--features", "relu", "--P", "8", *extra,
                              "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "flow.png").exists() and (out / "flow.pdf").exists()
    saved.check()


# ------------------------------------------------------------------------ spectrum
def _panels():
    from ntkjam.figures.spectrum import Panel
    from ntkjam.spectrum import mp_law

    rng = np.random.default_rng(1)
    J = rng.normal(size=(60, 30)) / math.sqrt(30)
    lam = np.linalg.eigvalsh(J @ J.T)
    discrete = np.sort(np.abs(lam + 0.01 * rng.normal(size=lam.size)))
    return [Panel("φ = 2 (N = 60, P = 30)", lam, (("Marchenko–Pastur", mp_law(2.0)),)),
            Panel("φ = 2, a discrete prediction", lam, predicted=(("Funk–Hecke", discrete),),
                  label="SLQ quantiles"),
            Panel("all zero modes", np.zeros(20))]


def test_spectrum_panels(tmp_path, saved):
    """Log-spaced bins (the CLI test below draws linear ones)."""
    from ntkjam.figures.spectrum import save_spectra

    paths = save_spectra(_panels(), tmp_path / "spectra.png", logx=True)
    assert [p.name for p in paths] == ["spectra.png", "spectra.pdf"]
    saved.check()


def test_spectrum_cli(tmp_path, saved):
    res = runner.invoke(app, ["spectrum", "--phi", "0.5,2", "--size", "20", "--output",
                              str(tmp_path / "run"), "--figure", str(tmp_path / "f.png")])
    assert res.exit_code == 0, res.output
    saved.check()


# -------------------------------------------------------------------- fluctuations
def _fluctuation_analysis():
    from ntkjam.analysis.fluctuations import (
        EnsembleLaw,
        FluctuationAnalysis,
        fluctuation_points,
        n_fits,
        params_fits,
        width_fits,
    )
    from ntkjam.analysis.hanin_nica import hanin_nica
    from ntkjam.analysis.power_law import power_law_fit

    rng = np.random.default_rng(2)
    rows = []
    for width in (16, 32, 64):
        for n in (8, 16, 32):
            for seed in range(3):
                e = 1 + 0.05 * rng.normal()
                rel = 0.8 * width**-0.5 * e
                rows.append({"depth": 1, "width": width, "n": n, "seed": seed, "n_ens": 4,
                             "n_params": 12 * width, "beta": 1 / width,
                             "rel_frobenius": rel, "rel_operator": 0.9 * rel * n**-0.2,
                             "rel_diagonal": rel, "rel_offdiagonal": rel,
                             "abs_frobenius": rel * n, "abs_operator": rel * n**0.8,
                             "stable_rank": 2.0 * n**0.5 * e, "inf_frobenius": float(n),
                             "inf_operator": 0.5 * n})
    points = fluctuation_points(pd.DataFrame(rows))
    diag = []
    for depth in (1, 2, 3):
        for width in (16, 32):
            for seed in range(3):
                s2 = 3.0 * depth / width
                K = np.exp(math.sqrt(s2) * rng.normal(size=64) - s2 / 2)
                diag.append({"depth": depth, "width": width, "seed": seed, "n_nets": 64,
                             "beta": depth / width, "k_inf": 1.0, "k_mean": K.mean(),
                             "k_sq_mean": (K**2).mean(), "k2_mean": (K**2).mean(),
                             "k2_sq_mean": (K**4).mean(), "k_k2_mean": (K**3).mean()})
    m, mp = np.arange(1, 7), np.arange(1, 4)
    laws = []
    for width in (16, 64):
        s = 0.8 / math.sqrt(width)
        dist, rand = np.sqrt(1e-4 + s**2 / m), s / np.sqrt(mp)
        label = f"depth 1, width {width}, N = 32"
        fit_d = power_law_fit(m, dist, 0.03 * dist, quantity="ens_rel_frobenius",
                              variable="n_ens", group=label)
        fit_r = power_law_fit(mp, rand, 0.03 * rand, quantity="pair_rel_frobenius",
                              variable="n_ens", group=label)
        laws.append(EnsembleLaw(1, width, 32, 6, 3, m, dist, 0.03 * dist, mp, rand,
                                0.03 * rand, fit_d, fit_r, 1e-4, 1e-5, 0.8,
                                np.tile(rand, (3, 1))))
    settings = {"activation": "relu", "d": 10, "sigma_w": math.sqrt(2), "sigma_b": 0.0}
    return FluctuationAnalysis(settings, tuple(points), tuple(width_fits(points)),
                               tuple(params_fits(points)), tuple(n_fits(points)), tuple(laws),
                               (), hanin_nica(pd.DataFrame(diag)), len(rows) + len(diag), 0)


def test_fluctuations(tmp_path, saved):
    from ntkjam.figures.fluctuations import save_fluctuation_figures

    a = _fluctuation_analysis()
    assert a.width_fits and a.params_fits and a.n_fits and a.hanin_nica is not None
    writes_png_and_pdf(save_fluctuation_figures)
    assert len(save_fluctuation_figures(a, tmp_path, formats=("png",), dpi=60)) == 4
    saved.check(formats=(".png",))


# --------------------------------------------------------------------- kernel-drift
def _drift_analysis():
    from ntkjam.analysis.kernel_drift import (
        KernelDriftAnalysis,
        alpha_scans,
        drift_points,
        params_fits,
        side_comparisons,
        width_fits,
    )
    from ntkjam.experiments.kernel_drift import KernelDriftParams

    rows = []
    # the width scan at α = 100, the α scan at width 32; the hinge on both sides of φ_c
    grid = ((16, 100.0), (32, 10.0), (32, 100.0), (32, 1000.0), (64, 100.0))
    for loss, sides in (("quadratic_hinge", (("sat", 0.5, 1.0), ("unsat", 3.0, 2.0))),
                        ("mse", (("sat", 0.5, 1.0),))):
        for side, phi, factor in sides:
            for w, alpha in grid:
                for s in range(3):
                    drift = factor * 5.0 / alpha / w * (1 + 0.03 * (-1) ** s)
                    rows.append({
                        **KernelDriftParams.resolve({"width": w, "phi": phi,
                                                     "alpha": alpha, "loss": loss}),
                        "seed": s, "status": "done", "side": side, "train_status": side,
                        "n_points": int(phi * 11 * w), "n_params": 11 * w,
                        "rel_frobenius": drift, "rel_operator": drift,
                        "weight_change": 0.1 / alpha / math.sqrt(w) * (1 + 0.02 * s),
                        "pattern_change": 0.01 / math.sqrt(w) * (1 + 0.02 * s)})
    points = drift_points(pd.DataFrame(rows))
    settings = {"activation": "relu", "depth": 1, "d": 5, "step_rule": "fixed", "lr": 1.0,
                "momentum": 0.9}
    return KernelDriftAnalysis(settings, tuple(points), tuple(width_fits(points)),
                               tuple(params_fits(points)), tuple(alpha_scans(points)),
                               tuple(side_comparisons(points)), len(rows), 0, 0)


def test_kernel_drift(tmp_path, saved):
    from ntkjam.figures.kernel_drift import save_kernel_drift_figures

    a = _drift_analysis()
    assert a.width_fits and a.alpha_scans and a.sides
    writes_png_and_pdf(save_kernel_drift_figures)
    assert len(save_kernel_drift_figures(a, tmp_path, formats=("png",), dpi=60)) == 4
    saved.check(formats=(".png",))


# ------------------------------------------------------------------- generalization
def test_generalization(tmp_path, saved):
    res = runner.invoke(app, ["generalization", "--task", "regression_mse", "--epsilon", "0",
                              "--P", "10", "--phi-min", "0.5", "--phi-max", "1.5",
                              "--phi-num", "3", "--n-ens", "2", "--n-test", "20", "--n-boot",
                              "10", "--seeds", "3", "-q", "-o", str(tmp_path / "ge")])
    assert res.exit_code == 0, res.output
    saved.check(mathtext=False)
    saved.check()


# ------------------------------------------------------------------- jamming-sphere
def test_jamming_sphere(tmp_path, saved):
    res = runner.invoke(app, ["jamming-sphere", "--P", "12", "--margin", "-0.5", "--seeds", "2",
                              "--n-boot", "10", "--output", str(tmp_path / "js"), "--quiet"])
    assert res.exit_code == 0, res.output
    saved.check()
    assert len(saved.files) == 4


# --------------------------------------------------------- the training commands, slow
_SLOW = {
    "train": ["train", "--n", "10", "--widths", "8", "--max-steps", "50", "--output"],
    "trained-diagram": ["trained-diagram", "--P", "8", "--d", "3", "--alpha", "10,1000",
                        "--phi-min", "0.5", "--phi-max", "2.5", "--phi-num", "2", "--seeds",
                        "2", "--max-steps", "300", "--window", "100", "--n-boot", "10", "-q",
                        "-o"],
    "fluctuations": ["fluctuations", "--depths", "1", "--widths", "16,24,32", "--n", "6",
                     "--seeds", "3", "--n-ens", "3", "--hn-depths", "1,2,3", "--hn-widths",
                     "16", "--hn-n", "4", "--n-nets", "4", "-q", "-o"],
    "kernel-drift": ["kernel-drift", "--widths", "8,12,16", "--alphas", "10", "--losses", "mse",
                     "--n", "6", "--d", "3", "--activation", "erf", "--momentum", "0.9",
                     "--seeds", "3", "--step-rule", "fixed", "-q", "-o"],
}
_NOT_YET: dict[str, str] = {}


@pytest.mark.slow
@pytest.mark.parametrize("command", [
    pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=_NOT_YET[c]))
    if c in _NOT_YET else c for c in _SLOW])
def test_training_commands_end_to_end(tmp_path, saved, command):
    res = runner.invoke(app, [*_SLOW[command], str(tmp_path / "out")])
    assert res.exit_code in (0, 1), res.output  # 1: a task failed (reported, figures drawn)
    saved.check()
