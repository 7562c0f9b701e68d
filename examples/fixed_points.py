"""Worked example: fixed points of the function-space flow that are not minima, and their stability.

The proposal asks: are there (stable) fixed points of ḟ = −η K ∇L(f) that are not
(local) minima of L?  This script answers with numbers and a figure
(``docs/figures/fixed_points.png``; see ``docs/dynamics.md``).

1. P < N (K = J Jᵀ of rank P): MSE, the quadratic hinge and the hinge in the UNSAT
   regime flow to a point where K∇L = 0 but ∇L ≠ 0 — a fixed point that is not a
   minimum of L.  The linearised flow on the reachable set f₀ + range(K) has only
   positive rates (MSE, quadratic hinge: stable) or zero rates (the piecewise-linear
   hinge: marginal, and Lyapunov-stable by convexity).  With P > N (Ker K = {0}) the
   same flows end in true minima.
2. Convex losses can have no unstable fixed point on an affine reachable set (the
   rates are eigenvalues of η Jᵀ H J ⪰ 0).  A non-convex loss can: with the sigmoid
   (smooth 0-1) loss, two copies of one input with opposite labels give a fixed point
   that is a *maximum* along range(K); flows started next to it run away in opposite
   directions, each giving up one of the two points.

Run: ``python examples/fixed_points.py [--output fixed_points.png]`` (the figure in
``docs/figures/`` was made this way; the default writes to the current folder, never over it).
Notation: N = training points, P = features, φ = N/P; L = (1/N) Σ_i ℓ(f_i, y_i).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ntkjam.dynamics import StoppingRules, gradient_flow  # noqa: E402
from ntkjam.fixed_points import analyze  # noqa: E402
from ntkjam.losses import get_loss  # noqa: E402


def part_one(n: int, p_small: int, p_large: int, seed: int):
    """Flows for P < N and P > N; returns {(loss, P): (result, report)}."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    out = {}
    for p in (p_small, p_large):
        J = rng.standard_normal((n, p)) / np.sqrt(p)
        for loss in ("mse", "quadratic_hinge", "hinge"):
            res = gradient_flow(np.zeros(n), y, loss, features=J,
                                stopping=StoppingRules(sat=False, grad_tol=1e-12))
            rep = analyze(J @ J.T, res.final_outputs, y, loss, f0=np.zeros(n), tol=1e-10)
            out[(loss, p)] = (res, rep)
    return out


def part_two(margin: float, beta: float, eps: float):
    """Sigmoid loss on two conflicting points: the unstable fixed point and the runaways."""
    K = np.ones((2, 2))
    y = np.array([1.0, -1.0])
    loss = get_loss("sigmoid", margin=margin, beta=beta)
    rep = analyze(K, np.zeros(2), y, loss)
    runs = [gradient_flow(np.full(2, s * eps), y, loss, kernel=K,
                          stopping=StoppingRules(max_time=400.0, grad_tol=1e-12))
            for s in (+1.0, -1.0)]
    return loss, rep, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("fixed_points.png"),
                        help="PNG path; a PDF is written beside it")
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n, p_small, p_large = args.n, args.n // 4, 2 * args.n

    results = part_one(n, p_small, p_large, args.seed)
    print(f"Part 1: N = {n}, random Gaussian features, f0 = 0, margin 1")
    print(f"{'loss':16s} {'P':>4s} {'status':10s} {'loss':>10s} {'|grad L|':>10s} "
          f"{'|K grad L|':>10s} {'kind':24s} {'stability':9s} stable/marginal/unstable  "
          f"slowest rate")
    for (loss, p), (res, rep) in results.items():
        print(f"{loss:16s} {p:4d} {res.status:10s} {res.loss[-1]:10.3e} {rep.grad_norm:10.3e} "
              f"{rep.kgrad_norm:10.3e} {rep.kind:24s} {rep.stability:9s} "
              f"{rep.n_stable}/{rep.n_marginal}/{rep.n_unstable}"
              f"{'':17s}{rep.smallest_nonzero_rate:.3e}")

    loss, rep2, runs = part_two(margin=0.5, beta=4.0, eps=1e-6)
    print("\nPart 2: sigmoid loss (non-convex), two copies of one input with labels +1, -1, "
          "K = [[1, 1], [1, 1]]")
    print(f"  f = 0: {rep2.message}")
    print(f"  rates on range(K): {rep2.rates}")
    for run, s in zip(runs, ("+", "-"), strict=True):
        f = run.final_outputs
        print(f"  start f = {s}1e-6 (1, 1): ends at f = ({f[0]:+.3f}, {f[1]:+.3f}), "
              f"loss {run.loss[-1]:.4f} (from {run.loss[0]:.4f}), {run.status}")

    fig, ax = plt.subplots(2, 2, figsize=(10, 7.5))
    colors = {"mse": "C0", "quadratic_hinge": "C3", "hinge": "C2"}
    for (name, p), (res, _rep) in results.items():
        if p != p_small:
            continue
        t = res.times[1:]
        ax[0, 0].loglog(t, res.grad_norm[1:], color=colors[name], ls="--",
                        label=f"{name}: ‖∇L‖")
        ax[0, 0].loglog(t, res.kgrad_norm[1:], color=colors[name], label=f"{name}: ‖K∇L‖")
    ax[0, 0].set_title(f"(a) P = {p_small} < N = {n}: ‖K∇L‖ → 0, ‖∇L‖ does not", fontsize=10)
    ax[0, 0].set_ylim(1e-15, 10)
    ax[0, 0].set_xlabel("flow time t")
    ax[0, 0].legend(fontsize=8)
    for (name, p), (_res, rep) in results.items():
        marker = "o" if p == p_small else "x"
        rates = rep.rates[rep.rates > rep.rate_tol]
        ax[0, 1].semilogy(np.arange(1, rates.size + 1), rates, marker, color=colors[name],
                          ms=3, label=f"{name}, P = {p}: {rep.kind.replace('_', ' ')}")
    ax[0, 1].set_title("(b) positive rates of the linearised flow on range(K)\n"
                       "(none is negative; hinge: all zero, not shown)", fontsize=10)
    ax[0, 1].set_xlabel("index")
    ax[0, 1].legend(fontsize=7)
    s = np.linspace(-3, 3, 601)
    f_line = np.stack([s, s], axis=1)
    L_line = np.mean(loss.value(f_line, np.array([1.0, -1.0])), axis=1)
    ax[1, 0].plot(s, L_line, color="k")
    ax[1, 0].axvline(0.0, color="C3", ls=":", label="unstable fixed point (max along range K)")
    for run, c in zip(runs, ("C0", "C2"), strict=True):
        ax[1, 0].plot(run.final_outputs[0], run.loss[-1], "o", color=c)
    ax[1, 0].set_title("(c) sigmoid loss along f = s(1, 1), labels (+1, −1)", fontsize=10)
    ax[1, 0].set_xlabel("s")
    ax[1, 0].set_ylabel("L")
    ax[1, 0].legend(fontsize=8)
    for run, c, lab in zip(runs, ("C0", "C2"), ("start +1e-6", "start −1e-6"), strict=True):
        ax[1, 1].semilogx(run.times[1:], run.outputs[1:, 0], color=c, label=lab)
    ax[1, 1].set_title("(d) runaway from the unstable fixed point", fontsize=10)
    ax[1, 1].set_xlabel("flow time t")
    ax[1, 1].set_ylabel("s(t) = f₁(t)")
    ax[1, 1].legend(fontsize=8)
    fig.suptitle("Fixed points of ḟ = −ηK∇L that are not minima (N = points, P = features)",
                 fontsize=11)
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=110)
    fig.savefig(args.output.with_suffix(".pdf"))
    print(f"\nwrote {args.output} and {args.output.with_suffix('.pdf')}")


if __name__ == "__main__":
    main()
