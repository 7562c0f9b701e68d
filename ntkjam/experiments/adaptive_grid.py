"""An adaptive φ grid for the phase diagram: rounds of tasks through the sweep engine.

A uniform grid spends most of its solves where P(SAT) is 0 or 1; at P = 1000 the
transition is ~0.05 wide in φ, so 41 points over [1, 3] put one or two of them inside
it.  Here the points of each P are chosen in rounds, each round's new points a
deterministic function of the results of the rounds before it (read back from the
store), in three stages per P:

1. **probe**: :data:`PROBE_POINTS` values of N evenly spaced over
   ``[phi_min, phi_max]``, ``probe_seeds`` instances each;
2. **bracket**: while the last point where every instance is SAT and the first where
   every instance is UNSAT are further apart than :data:`BRACKET_WIDTHS` widths (the
   width from the crossing fit, at least one step of N), the interval between them is
   split in four (three new probes) — bisection on P(SAT) = ½;
3. **design**: the crossing model fitted to every instance of the design at this P,
   ``(φ_c, w)``, and the points ``φ_c + z w`` for z in :data:`DESIGN_Z` with ``seeds``
   instances each (a sequential design on P(SAT) = ½); a target within
   :data:`COVER_WIDTHS` widths of a point already measured reuses that point (its
   instances topped up to ``seeds``).  Repeated until a round adds nothing, at most
   :data:`DESIGN_ROUNDS` times.

The rounds are replayed from the store on every run: round r's points depend only on
the instances of rounds < r, so a rerun reuses every stored task and an interrupted
run, resumed, ends with the same grid as an uninterrupted one.  The crossing fit is
handed in (``fit``, e.g. :func:`ntkjam.analysis.fit_counts`): the design is a study's
choice, the estimator the analysis's.

Nested instances (one draw of N_max points whose prefixes give every N, the critical
N* of each instance found by bisection) were considered and not used: an exact N*
carries about 1.6 times the location information of one Bernoulli outcome at the
crossing, but costs ~log₂(N range) ≈ 8–10 solves per instance (docs/phase_diagram.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ntkjam._validate import as_int
from ntkjam.core.reprs import SummaryRepr
from ntkjam.experiments.diagram_spec import as_axis, phi_range
from ntkjam.experiments.phase_diagram import check_params, parameter_count
from ntkjam.sweep.spec import parse_spec

__all__ = [
    "BRACKET_WIDTHS",
    "COVER_WIDTHS",
    "DESIGN_ROUNDS",
    "DESIGN_Z",
    "PROBE_POINTS",
    "PROBE_SEEDS",
    "AdaptiveRun",
    "SizeDesign",
    "check_adaptive",
    "next_points",
    "points_spec",
    "run_adaptive",
]

#: First-round probes per P, evenly spaced in N over [phi_min, phi_max].
PROBE_POINTS = 5
#: Instances per probe (at most ``seeds``).
PROBE_SEEDS = 10
#: Bisection goes on while the all-SAT / all-UNSAT points are this many widths apart.
BRACKET_WIDTHS = 6.0
#: Design points, in widths from the fitted crossing.
DESIGN_Z = (-1.0, 0.0, 1.0)
#: A design target this close (in widths) to a measured point reuses that point.
COVER_WIDTHS = 0.5
#: Most design rounds per P.
DESIGN_ROUNDS = 3
#: Most rounds in all (probe + bracket + design): the loop always ends.
MAX_ROUNDS = 16

Fit = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[float, float]]


@dataclass(frozen=True, repr=False)
class SizeDesign(SummaryRepr):
    """The adaptive grid of one P after the last round.

    Attributes
    ----------
    P, n_params : int
        The size asked for and the parameter count it gives (φ = N / n_params).
    points : dict[int, int]
        N → instances (seeds 0, …, k − 1) of the design.
    stage : str
        ``"probe"``, ``"bracket"``, ``"design"`` (still adding) or ``"done"``.
    phi_c, width : float
        The last crossing fit, scalars (NaN before there is one).
    note : str
        Why the design stopped where it did (e.g. every instance SAT up to phi_max).

    Examples
    --------
    >>> from ntkjam.experiments.adaptive_grid import SizeDesign
    >>> d = SizeDesign(P=50, n_params=50, points={50: 10, 100: 10}, stage="probe")
    >>> d  # no fit yet after the probes
    SizeDesign(P=50, n_params=50, stage='probe', phi_c=nan, width=nan, note='',
               points=<dict of 2>)
    >>> sum(d.points.values())  # tasks of this P so far
    20
    """

    P: int
    n_params: int
    points: dict[int, int]
    stage: str
    phi_c: float = math.nan
    width: float = math.nan
    note: str = ""


@dataclass(frozen=True, repr=False)
class AdaptiveRun(SummaryRepr):
    """What :func:`run_adaptive` did: the rounds, the sweep counts, the grid per P.

    ``total``, ``skipped``, ``done``, ``failed`` and ``failed_total`` sum the sweep
    runs of every round (the fields of :class:`ntkjam.sweep.RunSummary`).

    Attributes
    ----------
    directory : Path
        The run directory (absolute).
    rounds : int
        Rounds that ran at least one sweep.
    total, skipped, done, failed, failed_total : int
        Tasks of the final design; stored before and reused; run now; failed now;
        without a finished row at the end.
    wall_time : float
        Seconds.
    designs : list of SizeDesign, shape (n_P,)
        The grid of each P, in increasing P.

    Examples
    --------
    :func:`run_adaptive` returns one; a rerun on the same store reuses every task:

    >>> from pathlib import Path
    >>> from ntkjam.experiments.adaptive_grid import AdaptiveRun
    >>> run = AdaptiveRun(directory=Path("runs/demo"), rounds=4, total=20, skipped=20,
    ...                   done=0, failed=0, failed_total=0, wall_time=0.05)
    >>> run.total == run.skipped + run.done + run.failed, run.designs
    (True, [])
    """

    directory: Path
    rounds: int
    total: int
    skipped: int
    done: int
    failed: int
    failed_total: int
    wall_time: float
    designs: list[SizeDesign] = field(default_factory=list)


def _phi_of(n: int, n_params: int) -> float:
    """The φ value that makes the task draw exactly N = n points."""
    return float(np.round(n / n_params, 12))


def _counts(results: dict[int, tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ns = np.array(sorted(results), dtype=int)
    k = np.array([results[n][0] for n in ns], dtype=float)
    m = np.array([results[n][1] for n in ns], dtype=float)
    return ns, k, m


def next_points(
    results: dict[int, tuple[int, int]], design: dict[int, int], *, n_params: int,
    n_range: tuple[int, int], seeds: int, probe_seeds: int, design_rounds: int, fit: Fit,
) -> tuple[dict[int, int], str, float, float, str]:
    """The next round of one P: new or topped-up points, from the results so far.

    Parameters
    ----------
    results : dict[int, (int, int)]
        N → (SAT instances, instances) of the design's finished tasks.
    design : dict[int, int]
        N → instances asked for so far.
    n_params : int
        P actually used (φ = N / n_params).
    n_range : (int, int)
        Smallest and largest N of the φ range.
    seeds, probe_seeds : int
        Instances of a design point and of a probe.
    design_rounds : int
        Design rounds done so far at this P.
    fit : callable
        ``fit(phi, k, n) -> (phi_c, width)`` (NaN when the data have no crossing).

    Returns
    -------
    (points, stage, phi_c, width, note)
        ``points``: N → instances to have after this round (only the N that change);
        empty when this P is done.  ``stage`` as in :class:`SizeDesign`; ``phi_c``,
        ``width`` the crossing fit (scalars); ``note`` why the design stopped.

    Examples
    --------
    The first round probes :data:`PROBE_POINTS` values of N evenly over the range:

    >>> from ntkjam.analysis import fit_counts
    >>> from ntkjam.experiments.adaptive_grid import next_points
    >>> kw = dict(n_params=100, n_range=(100, 300), seeds=10, probe_seeds=4,
    ...           fit=lambda phi, k, n: fit_counts(phi, k, n, "erf"))
    >>> probes, stage, *_ = next_points({}, {}, design_rounds=0, **kw)
    >>> probes, stage
    ({100: 4, 150: 4, 200: 4, 250: 4, 300: 4}, 'probe')

    A broad crossing at φ_c = 2 (SAT counts of 4 falling symmetrically): the design
    places ``seeds`` instances at φ_c − w, φ_c and φ_c + w, reusing measured points:

    >>> res = {100: (4, 4), 150: (4, 4), 175: (3, 4), 200: (2, 4), 225: (1, 4),
    ...        250: (0, 4), 300: (0, 4)}
    >>> new, stage, phi_c, width, _ = next_points(res, dict.fromkeys(res, 4),
    ...                                           design_rounds=0, **kw)
    >>> new, stage, round(phi_c, 3)
    ({175: 10, 200: 10, 225: 10}, 'design', 2.0)
    >>> next_points({100: (4, 4)}, {100: 4}, design_rounds=0, **kw)[1:]
    ('done', nan, nan, 'every instance SAT up to N = 100')
    """
    lo, hi = n_range
    if not design:
        ns = np.unique(np.round(np.linspace(lo, hi, PROBE_POINTS)).astype(int))
        return {int(n): probe_seeds for n in ns}, "probe", math.nan, math.nan, ""
    ns, k, m = _counts(results)
    if ns.size == 0:
        return {}, "done", math.nan, math.nan, "no finished task: nothing to refine"
    if k.sum() == m.sum():
        return {}, "done", math.nan, math.nan, f"every instance SAT up to N = {ns.max()}"
    if k.sum() == 0:
        return {}, "done", math.nan, math.nan, f"every instance UNSAT from N = {ns.min()}"
    phi_c, width = fit(ns / n_params, k, m)
    step = 1.0 / n_params
    w = width if np.isfinite(width) and width > step else step
    all_sat = ns[k == m]
    all_unsat = ns[k == 0]
    below = all_sat[all_sat < (all_unsat.min() if all_unsat.size else hi + 1)]
    left = int(below.max()) if below.size else lo
    above = all_unsat[all_unsat > left]
    right = int(above.min()) if above.size else hi
    if (right - left) * step > BRACKET_WIDTHS * w and right - left > 1:
        probes = {int(n) for n in np.round(np.linspace(left, right, 5)[1:-1]).astype(int)}
        new = {n: probe_seeds for n in sorted(probes - set(design))}
        if new:
            return new, "bracket", phi_c, width, ""
    if not np.isfinite(phi_c):
        phi_c = 0.5 * (left + right) * step
    if design_rounds >= DESIGN_ROUNDS:
        return {}, "done", phi_c, width, f"{DESIGN_ROUNDS} design rounds"
    new: dict[int, int] = {}
    known = np.array(sorted(design), dtype=int)
    for z in DESIGN_Z:
        target = min(max(int(round((phi_c + z * w) * n_params)), lo), hi)
        near = known[np.abs(known - target) <= max(COVER_WIDTHS * w * n_params, 0.5)]
        n = int(near[np.argmin(np.abs(near - target))]) if near.size else target
        if design.get(n, 0) < seeds:
            new[n] = seeds
    return new, ("design" if new else "done"), phi_c, width, ""


def points_spec(
    P: int, phis: Sequence[float], seeds: int, *, output: str | None, params: dict[str, Any],
):
    """The sweep spec of one P at the given φ values, seeds 0, …, seeds − 1.

    Parameters
    ----------
    P : int
        The size.
    phis : sequence of float, shape (n_phi,)
        φ values (sorted in the spec).
    seeds : int
        Instances at each φ.
    output : str, optional
        Run directory.
    params : dict
        The fixed task parameters (checked at the smallest and largest φ).

    Returns
    -------
    ntkjam.sweep.SweepSpec
        Of the ``phase_diagram`` experiment, grid ``{"P": (1,), "phi": (n_phi,)}``.

    Examples
    --------
    >>> from ntkjam.experiments.adaptive_grid import points_spec
    >>> spec = points_spec(50, [2.0, 1.5], 3, output=None, params={"d": 5})
    >>> spec.experiment, spec.grid, spec.n_tasks
    ('phase_diagram', {'P': (50,), 'phi': (1.5, 2.0)}, 6)
    """
    phis = sorted(float(v) for v in phis)
    check_params({**params, "P": P, "phi": phis[0]})
    check_params({**params, "P": P, "phi": phis[-1]})
    data: dict[str, Any] = {
        "experiment": "phase_diagram",
        "description": "jamming phase diagram, adaptive phi grid",
        "params": dict(params),
        "grid": {"P": [int(P)], "phi": phis},
        "seeds": {"count": int(seeds), "start": 0},
    }
    if output is not None:
        data["output"] = str(output)
    return parse_spec(data, source="phase-diagram --grid adaptive")


def _design_results(table, P: int, design: dict[int, int], n_params: int):
    """N → (SAT, instances) over the finished tasks of the design at this P only."""
    out: dict[int, tuple[int, int]] = {}
    if table is None or len(table) == 0 or "P" not in table.columns:
        return out
    rows = table[(table["P"] == P) & (table["status"] == "done")]
    for n, count in design.items():
        g = rows[(rows["phi"] == _phi_of(n, n_params)) & (rows["seed"] < count)]
        if len(g):
            out[n] = (int(g["sat"].astype(bool).sum()), int(len(g)))
    return out


def check_adaptive(P: object, phi_min: object, phi_max: object, seeds: object) -> tuple:
    """The arguments of :func:`run_adaptive` checked (one-line errors naming them).

    Parameters
    ----------
    P : sequence of int
        Sizes, distinct, ≥ 1.
    phi_min, phi_max : float
        The φ range, 0 < phi_min < phi_max.
    seeds : int
        Instances of each design point (≥ 1).

    Returns
    -------
    (list of int, float, float, int)
        ``(sorted P, phi_min, phi_max, seeds)``.

    Raises
    ------
    ValueError, TypeError
        A bad value, named with what is allowed.

    Examples
    --------
    >>> from ntkjam.experiments.adaptive_grid import check_adaptive
    >>> check_adaptive([100, 50], 1, 3, 5)
    ([50, 100], 1.0, 3.0, 5)
    >>> check_adaptive([50], 2, 2, 5)
    Traceback (most recent call last):
    ...
    ValueError: the adaptive grid needs phi_max > phi_min, got both 2.0
    """
    Ps = as_axis("P", P, lambda k, v: as_int(k, v, minimum=1), item="size")
    phi_min, phi_max, _ = phi_range(phi_min, phi_max, 2 if phi_max != phi_min else 1)
    if phi_max == phi_min:
        raise ValueError(f"the adaptive grid needs phi_max > phi_min, got both {phi_min}")
    seeds = as_int("seeds", seeds, minimum=1)
    return sorted(Ps), phi_min, phi_max, seeds


def run_adaptive(
    *, P: object, phi_min: float, phi_max: float, seeds: int, output: str | Path,
    params: dict[str, Any], fit: Fit, workers: int = 1, progress: bool = False,
    probe_seeds: int = PROBE_SEEDS,
) -> AdaptiveRun:
    """Run the adaptive grid of every P (see the module docstring) into ``output``.

    Parameters
    ----------
    P : sequence of int
        Sizes.
    phi_min, phi_max : float
        The φ range searched (0 < phi_min < phi_max).
    seeds : int
        Instances of each design point.
    output : path
        Run directory (one sweep store; every round adds to it).
    params : dict
        Fixed task parameters (see :func:`ntkjam.experiments.phase_diagram.phase_diagram_task`).
    fit : callable
        ``fit(phi, k, n) -> (phi_c, width)``: the crossing fit of binomial counts.
    workers : int
        Passed to :func:`ntkjam.sweep.run` in every round.
    progress : bool
        Show the sweep's progress bar.
    probe_seeds : int
        Instances of each probe (at most ``seeds``).

    Returns
    -------
    AdaptiveRun

    Examples
    --------
    P = 10 random ReLU features: the probes, bracketing and design rounds settle near
    Cover's φ_c = 2; a second run replays the rounds from the store and solves nothing:

    >>> import tempfile
    >>> from ntkjam.analysis import fit_counts
    >>> from ntkjam.experiments.adaptive_grid import run_adaptive
    >>> fit = lambda phi, k, n: fit_counts(phi, k, n, "erf")
    >>> kw = dict(P=[10], phi_min=1.0, phi_max=3.0, seeds=4, probe_seeds=2,
    ...           params={"store_arrays": False}, fit=fit)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     first = run_adaptive(output=tmp, **kw)
    ...     again = run_adaptive(output=tmp, **kw)
    >>> design = first.designs[0]
    >>> design.stage, 1.0 < design.phi_c < 3.0, first.done == first.total
    ('done', True, True)
    >>> again.done, again.skipped == first.total, again.designs[0].points == design.points
    (0, True, True)
    """
    from ntkjam import sweep

    Ps, phi_min, phi_max, seeds = check_adaptive(P, phi_min, phi_max, seeds)
    probe_seeds = min(as_int("probe_seeds", probe_seeds, minimum=1), seeds)
    check_params({**params, "P": Ps[0], "phi": phi_min})
    check_params({**params, "P": Ps[-1], "phi": phi_max})
    directory = Path(output)
    state = {}
    for p in Ps:
        n_params = parameter_count({**params, "P": p, "phi": phi_min})
        n_range = (max(1, round(phi_min * n_params)), max(1, round(phi_max * n_params)))
        state[p] = {"n_params": n_params, "range": n_range, "design": {}, "rounds": 0,
                    "stage": "probe", "fit": (math.nan, math.nan), "note": ""}
    started = time.perf_counter()
    ran = {"done": 0, "failed": 0}
    rounds = 0
    table = None
    for _ in range(MAX_ROUNDS):
        specs = []
        for p, st in state.items():
            if st["stage"] == "done":
                continue
            res = _design_results(table, p, st["design"], st["n_params"])
            new, stage, c, w, note = next_points(
                res, st["design"], n_params=st["n_params"], n_range=st["range"], seeds=seeds,
                probe_seeds=probe_seeds, design_rounds=st["rounds"], fit=fit)
            st.update(stage=stage, fit=(c, w), note=note)
            st["rounds"] += stage == "design"
            st["design"].update(new)
            for count in sorted(set(new.values())):
                phis = [_phi_of(n, st["n_params"]) for n, k in new.items() if k == count]
                specs.append(points_spec(p, phis, count, output=str(directory), params=params))
        if not specs:
            break
        rounds += 1
        for spec in specs:
            s = sweep.run(spec, workers=workers, progress=progress)
            ran["done"] += s.done
            ran["failed"] += s.failed
        table = sweep.load(directory)
    n_tasks = sum(sum(st["design"].values()) for st in state.values())
    failed_total = 0
    for p, st in state.items():
        done = sum(m for _, m in _design_results(table, p, st["design"], st["n_params"]).values())
        failed_total += sum(st["design"].values()) - done
    designs = [SizeDesign(P=p, n_params=st["n_params"], points=dict(sorted(st["design"].items())),
                          stage=st["stage"], phi_c=float(st["fit"][0]),
                          width=float(st["fit"][1]), note=st["note"])
               for p, st in state.items()]
    return AdaptiveRun(
        directory=directory.resolve(), rounds=rounds, total=n_tasks,
        skipped=n_tasks - ran["done"] - ran["failed"], done=ran["done"], failed=ran["failed"],
        failed_total=failed_total, wall_time=time.perf_counter() - started, designs=designs)
