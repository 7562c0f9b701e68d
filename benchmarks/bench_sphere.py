"""Benchmark: time to the jamming point on the sphere vs P, ntkjam's solver against L-BFGS.

Instances: Gaussian features (rows N(0, I/P)), random labels, f0 = 0, the sphere
‖w‖² = P, φ = α_RS(−0.5) = 4.770 (N = round(φ P)), seed 0 (and ``--seeds``).  Both
methods run the *same protocol* in the same process, with one BLAS thread:

* start at κ_RS(φ) + 0.25 and lower κ in steps of 0.05, each minimisation started from
  the previous minimum, until one is SAT; then bisect the bracket to 1e-5, every trial
  started from the UNSAT minimum at its upper end (:func:`jam_from_unsat`);
* the same stopping rules at every iterate: SAT when every ``Δ_i ≤ 1e-9·|κ| + e_i``
  (``e_i`` the rounding bound of ``J_i·w``), UNSAT when the Riemannian gradient is
  ``≤ 1e-8 · |κ| · √(2L)/R`` (see :func:`ntkjam.jamming.minimize_on_sphere`).

Methods:

* **ntkjam** — :func:`ntkjam.experiments.sphere_jamming.jam_from_unsat`, i.e.
  :func:`ntkjam.jamming.compress_margin` with :func:`minimize_on_sphere` (Riemannian
  CG, shifted Newton on the tangent space, saddle escape);
* **L-BFGS-B** — :func:`scipy.optimize.minimize` (``method="L-BFGS-B"``, memory 20)
  on the unconstrained parametrisation ``w = R x/‖x‖`` with the exact gradient
  ``(R/‖x‖)(I − x̂x̂ᵀ) ∇L(w)``, the loss scaled by its value at the start (so that
  L-BFGS-B's absolute tolerances do not stop it at a loss of 1e-12), the rules above
  checked in its callback; when it stops on its own (a line search failing on a loss
  flat to rounding) it is restarted from there with a fresh memory, at most 5 times,
  and then the point is UNSAT if the gradient is within 100× the threshold (ntkjam's
  rule for a loss flat to rounding), else undecided.  Run twice: with that rule, and
  taking its own stop at a positive loss as UNSAT ("own stop"), the rule a user of
  L-BFGS-B would have.  No saddle test.  A run over
  ``--budget`` seconds is abandoned.

Reported: κ_J, N_Δ/rank at the last UNSAT minimum, minimisations, seconds.  Wall-clock
on a shared 2-core machine: noisy; nothing is asserted.

Run: ``PYTHONPATH=. python benchmarks/bench_sphere.py [--P 100,200,400,800] [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import scipy.optimize
from _device import add_device_option, use_device
from threadpoolctl import threadpool_limits

from ntkjam.experiments.sphere_jamming import jam_from_unsat, rs_jamming_margin
from ntkjam.jamming.certificates import rounding_bound
from ntkjam.problem import Problem

PHI = 4.770098882619387  # α_RS(−0.5)
STEP, KAPPA_TOL, TOL, GRAD_TOL = 0.05, 1e-5, 1e-9, 1e-8
RESTARTS = 5  # of L-BFGS-B after it stops on its own


class _Decided(Exception):
    def __init__(self, status: str, w: np.ndarray):
        super().__init__(status)
        self.status, self.w = status, w


def instance(P: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    N = round(PHI * P)
    return rng.standard_normal((N, P)) / math.sqrt(P), rng.choice([-1.0, 1.0], N)


def lbfgs_on_sphere(J, y, kappa, w0, R, max_iter=20000, loose=False):
    """Minimise the hinge loss on the sphere with L-BFGS-B: ``(status, w, loss)``.

    ``loose``: a stop of L-BFGS-B on its own at a positive loss is UNSAT, whatever the
    gradient there (instead of within 100× the threshold).
    """
    A = y[:, None] * J
    n = A.shape[0]
    problem = Problem(y=y, J=J, margin=kappa)
    scale = abs(kappa) if kappa != 0 else 1.0

    def loss_grad_w(w):
        d = kappa - A @ w
        r = np.maximum(d, 0.0)
        return 0.5 * float(r @ r) / n, -(A.T @ r) / n, d

    L0 = max(loss_grad_w(w0)[0], 1e-300)

    def fun(x):
        nx = np.linalg.norm(x)
        w = R * x / nx
        L, g, _ = loss_grad_w(w)
        gx = (R / nx) * (g - (g @ w) * w / (R * R))
        return L / L0, gx / L0

    def rules(x):
        w = R * x / np.linalg.norm(x)
        L, g, d = loss_grad_w(w)
        if np.all(d <= TOL * scale + rounding_bound(problem, w)):
            raise _Decided("sat", w)
        rg = g - (g @ w) * w / (R * R)
        if np.linalg.norm(rg) <= GRAD_TOL * scale * math.sqrt(2 * L) / R:
            raise _Decided("unsat", w)

    x = w0
    try:
        rules(x)
        for _ in range(RESTARTS + 1):  # a stop on its own: restart with a fresh memory
            res = scipy.optimize.minimize(fun, x, jac=True, method="L-BFGS-B",
                                          callback=rules,
                                          options={"maxiter": max_iter, "maxcor": 20,
                                                   "ftol": 0.0, "gtol": 0.0})
            x = res.x
        w = R * x / np.linalg.norm(x)
        L, g, _ = loss_grad_w(w)
        rg = g - (g @ w) * w / (R * R)
        ok = np.linalg.norm(rg) <= 100 * GRAD_TOL * scale * math.sqrt(2 * L) / R
        status = "unsat" if (ok or loose) and L > 0 else "budget"
    except _Decided as dec:
        status, w = dec.status, dec.w
    return status, w, problem.loss(w)


def lbfgs_jamming(J, y, start, budget, loose=False):
    """The protocol of :func:`jam_from_unsat` with L-BFGS-B minimisations."""
    P = J.shape[1]
    R = math.sqrt(P)
    t0 = time.perf_counter()
    w = np.random.default_rng(0).standard_normal(P)
    w *= R / np.linalg.norm(w)
    history, last, k_hi, k_lo = [], None, float("nan"), float("nan")

    def solve(k, w_start):
        if time.perf_counter() - t0 > budget:
            raise TimeoutError
        status, w_new, loss = lbfgs_on_sphere(J, y, k, w_start, R, loose=loose)
        history.append((k, status))
        if status == "budget":
            raise RuntimeError(f"undecided at κ = {k:.5g}")
        return status, w_new

    for k in np.round(start - STEP * np.arange(160), 12):
        status, w_new = solve(float(k), w if last is None else last)
        if status == "sat":
            k_lo = float(k)
            break
        last, k_hi = w_new, float(k)
    while k_hi - k_lo > KAPPA_TOL:
        mid = 0.5 * (k_hi + k_lo)
        status, w_new = solve(mid, last)
        if status == "sat":
            k_lo = mid
        else:
            last, k_hi = w_new, mid
    d = k_hi - (y[:, None] * J) @ last
    band = TOL * abs(k_hi) + rounding_bound(Problem(y=y, J=J, margin=k_hi), last)
    n_touch = int(np.sum(d > -band))
    return 0.5 * (k_hi + k_lo), n_touch / P, len(history), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--P", default="100,200,400,800", help="feature counts, comma-separated")
    ap.add_argument("--seeds", type=int, default=1, help="instances per P")
    ap.add_argument("--budget", type=float, default=900.0, help="seconds per L-BFGS run")
    ap.add_argument("--quick", action="store_true", help="P = 100, 200 only")
    add_device_option(ap)
    args = ap.parse_args()
    print(use_device(args.device))
    sizes = [100, 200] if args.quick else [int(v) for v in args.P.split(",")]
    start = round(rs_jamming_margin(PHI) + 0.25, 12)
    print(f"phi = {PHI:.4f} (alpha_RS(-0.5)), start kappa = {start}, step {STEP}, "
          f"bracket {KAPPA_TOL}")
    print(f"{'P':>5} {'seed':>4} | {'method':<28} {'kappa_J':>9} {'N_D/rank':>8} "
          f"{'minims':>6} {'seconds':>8}")
    with threadpool_limits(limits=1):
        for P in sizes:
            for seed in range(args.seeds):
                J, y = instance(P, seed)
                t = time.perf_counter()
                c = jam_from_unsat(Problem(y=y, J=J, margin=start), start=start, step=STEP,
                                   kappa_tol=KAPPA_TOL, norm=float(P), seed=0, max_iter=50000)
                t_ours = time.perf_counter() - t
                iso = (c.unsat.n_unsat + c.unsat.contacts.size) / c.unsat.rank
                print(f"{P:>5} {seed:>4} | {'ntkjam':<28} {c.kappa_j:>9.5f} {iso:>8.4f} "
                      f"{len(c.history):>6} {t_ours:>8.2f}", flush=True)
                for loose in (False, True):
                    name = "L-BFGS-B" + (" (own stop = UNSAT)" if loose else "")
                    try:
                        kj, iso, m, t_peer = lbfgs_jamming(J, y, start, args.budget, loose)
                        print(f"{P:>5} {seed:>4} | {name:<28} {kj:>9.5f} {iso:>8.4f} "
                              f"{m:>6} {t_peer:>8.2f}  ({t_peer / t_ours:.1f}x)", flush=True)
                    except TimeoutError:
                        print(f"{P:>5} {seed:>4} | {name:<28} not at jamming after "
                              f"{args.budget:.0f} s", flush=True)
                    except RuntimeError as exc:
                        print(f"{P:>5} {seed:>4} | {name:<28} {exc}", flush=True)

if __name__ == "__main__":
    main()
