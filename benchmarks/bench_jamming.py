"""Benchmark: exact hinge minimum by finite Newton vs L-BFGS-B and LinearSVC; LP time vs N.

Instances: random ReLU features (``ntkjam.kernels.features.random_relu_features``)
of points on S^{d−1} (d = 10), random ±1 labels, ``f0 = 0``, margin κ = 1, at
N = 2000, P = 1000 (φ = 2, Cover's transition: some seeds are SAT, some UNSAT).
Every method runs on the same instances in the same process, with BLAS limited
to one thread (see below), and is timed to the *same loss accuracy* (best of 3
runs for Newton, L-BFGS-B and the LinearSVC fit that reaches the target):

    L(w) − L* ≤ rtol · L(0),      L(w) = (1/N) Σ_i ½ max(0, 1 − y_i J_i·w)²,

with L* the finite-Newton minimum (exact to rounding, checked by its certificate) and
rtol = ``--rtol`` (default 1e-6).

* finite Newton: :func:`ntkjam.jamming.minimize_quadratic_hinge` on a fresh
  :class:`~ntkjam.problem.Problem` (its time includes the rank needed for the
  isostaticity index).
* L-BFGS-B: :func:`scipy.optimize.minimize` on L with its exact gradient from
  w = 0; timed until the first evaluated point reaches the target.
* LinearSVC (scikit-learn, liblinear primal trust-region Newton):
  ``loss="squared_hinge", penalty="l2", dual=False, fit_intercept=False``.  Its
  objective is ``½‖w‖² + C Σ_i max(0, 1 − y_i w·x_i)²``, i.e.
  ``2CN · [L(w) + ‖w‖²/(4CN)]``: with f0 = 0 and κ = 1 it is our loss plus a ridge
  that vanishes as C → ∞.  We fit with C = 10², 10³, … (tol 1e-10) until L at its
  solution meets the target, and report that fit's time and the total spent.

BLAS threads: the machine this was written on has 2 cores shared with other jobs;
multi-threaded OpenBLAS under that contention made a 1000×1000 Cholesky 20–100×
slower than single-threaded, so every method runs with one BLAS thread
(``threadpoolctl``).  Timings are wall-clock and noisy; no timing is asserted.

Run: ``PYTHONPATH=. python benchmarks/bench_jamming.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import scipy.optimize
from _device import add_device_option, use_device
from _renamed import old_spelling
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from ntkjam.data import sphere
from ntkjam.jamming import lp_certificate, minimize_quadratic_hinge
from ntkjam.kernels.features import random_relu_features
from ntkjam.problem import Problem


class _Reached(Exception):
    pass


def instance(N: int, P: int, seed: int, d: int = 10) -> tuple[np.ndarray, np.ndarray]:
    X = sphere(N, d, seed=seed)
    J = random_relu_features(X, P, seed=seed + 10_000)
    y = np.random.default_rng(seed + 20_000).choice([-1.0, 1.0], N)
    return J, y


def loss(J: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    d = np.maximum(1.0 - y * (J @ w), 0.0)
    return float(0.5 * d @ d / len(y))


def time_newton(J, y, repeats=3):
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = minimize_quadratic_hinge(Problem(y=y, J=J))
        best = min(best, time.perf_counter() - t0)
    return res, best


def time_lbfgs(J, y, target, repeats=3):
    runs = [_time_lbfgs_once(J, y, target) for _ in range(repeats)]
    reached, _, best, evals = runs[0]
    return reached, min(r[1] for r in runs), best, evals


def _time_lbfgs_once(J, y, target, maxiter=200_000):
    N = len(y)
    A = y[:, None] * J
    state = {"best": np.inf, "evals": 0}

    def fun(w):
        d = np.maximum(1.0 - A @ w, 0.0)
        val = 0.5 * d @ d / N
        state["evals"] += 1
        state["best"] = min(state["best"], val)
        if val <= target:
            raise _Reached
        return val, -(A.T @ d) / N

    t0 = time.perf_counter()
    try:
        scipy.optimize.minimize(
            fun, np.zeros(J.shape[1]), jac=True, method="L-BFGS-B",
            options={"maxiter": maxiter, "maxfun": 2 * maxiter, "ftol": 0.0, "gtol": 0.0,
                     "maxcor": 20},
        )
        reached = False
    except _Reached:
        reached = True
    return reached, time.perf_counter() - t0, state["best"], state["evals"]


def time_linearsvc(J, y, target, Cs=(1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8), budget=150.0):
    spent = 0.0
    best = np.inf
    for C in Cs:
        if spent > budget:
            break
        clf = LinearSVC(loss="squared_hinge", penalty="l2", dual=False, fit_intercept=False,
                        C=C, tol=1e-10, max_iter=1000)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(J, y)
        dt = time.perf_counter() - t0
        spent += dt
        val = loss(J, y, clf.coef_.ravel())
        best = min(best, val)
        if val <= target:
            for _ in range(2):  # best of 3 for the fit that reaches the target
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    clf.fit(J, y)
                dt = min(dt, time.perf_counter() - t0)
            return True, C, dt, spent, val
    return False, None, float("nan"), spent, best


def compare(N, P, seeds, rtol):
    print(f"\n== finite Newton vs L-BFGS-B vs LinearSVC: N = {N}, P = {P}, "
          f"target L - L* <= {rtol:g} L(0) ==")
    for seed in seeds:
        J, y = instance(N, P, seed)
        res, t_newton = time_newton(J, y)
        L0 = loss(J, y, np.zeros(P))
        target = res.loss + rtol * L0
        print(f"seed {seed}: verdict {res.verdict}, L* = {res.loss:.12g}, N_Δ = {res.n_unsat}, "
              f"rank = {res.rank}, Newton steps = {res.iterations}, "
              f"KKT = {res.kkt_residual:.2g}")
        print(f"  finite Newton  : {t_newton:8.3f} s (fresh Problem; includes the rank)")
        if res.verdict == "sat":
            print("  (SAT: Newton ends with every margin met, L = 0 to rounding; the others only "
                  "approach L = 0 from outside, so they reach the target but never certify SAT)")
        ok, t_lb, best_lb, evals = time_lbfgs(J, y, target)
        state = "reached" if ok else f"NOT reached (best L - L* = {best_lb - res.loss:.3g})"
        print(f"  L-BFGS-B       : {t_lb:8.3f} s, {evals} evaluations, target {state}"
              f"  -> Newton is {t_lb / t_newton:.1f}x faster")
        ok, C, t_svc, spent, val = time_linearsvc(J, y, target)
        if ok:
            print(f"  LinearSVC      : {t_svc:8.3f} s at C = {C:g} (C search total {spent:.3f} s), "
                  f"L - L* = {val - res.loss:.3g}  -> Newton is {t_svc / t_newton:.1f}x faster "
                  f"({spent / t_newton:.1f}x incl. the C search)")
        else:
            print(f"  LinearSVC      : target NOT reached (C up to 1e8 or {150:.0f} s budget) "
                  f"(best L - L* = {val - res.loss:.3g}, {spent:.3f} s spent)  "
                  f"-> Newton is > {spent / t_newton:.1f}x faster")


def lp_scaling(Ns, phi, seed):
    print(f"\n== LP certificate (HiGHS) time vs N at φ = {phi}; finite Newton for reference ==")
    print(f"{'N':>6} {'P':>6} {'LP verdict':>10} {'LP s':>9} {'Newton s':>9} {'agree':>6} attempts")
    for N in Ns:
        P = int(round(N / phi))
        J, y = instance(N, P, seed)
        t0 = time.perf_counter()
        lp = lp_certificate(Problem(y=y, J=J))
        t_lp = time.perf_counter() - t0
        t0 = time.perf_counter()
        nw = minimize_quadratic_hinge(Problem(y=y, J=J))
        t_nw = time.perf_counter() - t0
        print(f"{N:6d} {P:6d} {lp.verdict:>10} {t_lp:9.3f} {t_nw:9.3f} "
              f"{str(lp.verdict == nw.verdict):>6} {len(lp.attempts)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--rtol", type=float, default=1e-6,
                        help="loss accuracy relative to L(0): L - L* <= rtol L(0)")
    old_spelling(parser, "--eps", "--rtol", type=float)
    parser.add_argument("--part", choices=("all", "compare", "lp"), default="all",
                        help="run only the solver comparison or only the LP scaling")
    add_device_option(parser)
    args = parser.parse_args()
    print(use_device(args.device))
    with threadpool_limits(limits=1):
        if args.quick:
            compare(200, 100, seeds=(0, 1), rtol=args.rtol)
            lp_scaling((100, 200), phi=2.0, seed=0)
        else:
            if args.part in ("all", "compare"):
                compare(2000, 1000, seeds=(0, 1, 2), rtol=args.rtol)
            if args.part in ("all", "lp"):
                lp_scaling((250, 500, 1000, 2000), phi=2.0, seed=0)


if __name__ == "__main__":
    main()
