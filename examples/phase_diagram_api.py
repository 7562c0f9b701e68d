"""A small jamming phase diagram from Python: spec → sweep → store → analysis.

What ``ntkjam phase-diagram`` does, with every step visible: build the spec of a
P × φ grid (random ReLU features of points on S^(d−1), random labels, margin 1), run it
through the sweep engine (resumable: a second run recomputes nothing), read the store as a
table, and fit the crossing P(SAT) = ½ for each P with a bootstrap interval over seeds.
For each P the script says whether Cover's φ_c(P) lies inside that interval.

Run: ``python examples/phase_diagram_api.py [--P 25,50,100] [--seeds 10] [--output DIR]``
(default output ``runs/example_phase_diagram`` under the current directory; nothing else
is written).  Notation: N = points, P = features, φ = N/P (the jamming papers swap N, P).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ntkjam
from ntkjam import sweep
from ntkjam.analysis import analyze
from ntkjam.experiments.phase_diagram import phase_diagram_spec


def run(P: list[int], phi_num: int, seeds: int, output: Path, n_boot: int):
    """Run (or resume) the sweep into ``output`` and analyze it; returns (summary, analysis)."""
    spec = phase_diagram_spec(P=P, phi_min=1.0, phi_max=3.0, phi_num=phi_num, seeds=seeds,
                              output=str(output))
    summary = sweep.run(spec)
    return summary, analyze(output, n_boot=n_boot)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--P", default="25,50,100", help="feature counts, comma-separated")
    parser.add_argument("--phi-num", type=int, default=9, help="values of φ in [1, 3]")
    parser.add_argument("--seeds", type=int, default=10, help="instances per (P, φ)")
    parser.add_argument("--n-boot", type=int, default=100, help="bootstrap samples per P")
    parser.add_argument("--output", type=Path, default=Path("runs/example_phase_diagram"))
    args = parser.parse_args(argv)
    P = [int(p) for p in args.P.split(",")]

    summary, a = run(P, args.phi_num, args.seeds, args.output, args.n_boot)
    print(f"{summary.total} tasks in {args.output}: {summary.done} run now, "
          f"{summary.skipped} already stored, {summary.failed} failed")
    table = ntkjam.load(args.output)
    print("\nP(SAT) (rows φ = N/P, columns P):")
    print(table.pivot_table(index="phi", columns="P", values="sat").round(2).to_string())
    print("\ncrossing P(SAT) = 1/2, 95% bootstrap interval over seeds:")
    for c in a.crossings:
        inside = c.ci_low <= c.phi_c_cover <= c.ci_high
        verdict = ("inside the interval" if inside else
                   "outside the interval (1 chance in 20 per size if Cover holds)")
        print(f"  P = {c.P:4d}: φ_c = {c.phi_c:.3f} [{c.ci_low:.3f}, {c.ci_high:.3f}]; "
              f"Cover's {c.phi_c_cover:.3f} {verdict}")
    if a.fss is None:
        print("finite-size scaling: undetermined (too few sizes with a crossing)")
    else:
        print(f"finite-size scaling: φ_c(∞) = {a.fss.phi_c_inf:.3f} ± {a.fss.phi_c_inf_err:.3f}"
              f" (χ²/dof = {a.fss.chi2:.2f}/{a.fss.dof}){'; ' + a.fss.note if a.fss.note else ''}")


if __name__ == "__main__":
    main()
