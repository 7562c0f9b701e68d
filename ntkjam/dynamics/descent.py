"""Gradient descent in function space, full batch or mini-batch."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from ntkjam._validate import (
    as_int,
    as_seed,
)
from ntkjam.dynamics.records import FlowResult, Recorder
from ntkjam.dynamics.sources import FixedSource, check_kernel_value, resolve_run
from ntkjam.dynamics.stopping import StopCheck, StoppingRules
from ntkjam.losses import Loss


@np.errstate(over="ignore", invalid="ignore")
def gradient_descent(
    f0,
    y,
    loss: str | Loss,
    *,
    kernel=None,
    features=None,
    lr: float,
    n_steps: int,
    batch_size: int | None = None,
    seed: int = 0,
    stopping: StoppingRules | None = None,
    record_steps: Sequence[int] | None = None,
    points_per_decade: int = 10,
    record_outputs: bool = True,
    test_kernel=None,
    test_features=None,
    f0_test=None,
) -> FlowResult:
    """Discrete dynamics f_{k+1} = f_k − η K_k ∇_B L(f_k), full batch or mini-batch.

    Full batch (``batch_size=None``): ∇L = ℓ'(f)/N.  Mini-batch: each epoch visits
    a fresh random permutation of the points in consecutive batches B of
    ``batch_size`` (the last may be smaller); a step uses the batch loss
    L_B = (1/|B|) Σ_{i∈B} ℓ, i.e. f ← f − η K[:, B] ℓ'(f_B)/|B|.  Step k corresponds to
    flow time t = k of :func:`gradient_flow` with the same ``lr`` (Euler with unit
    step), so as η → 0 at fixed ηk the descent approaches the flow with error O(η).

    Parameters
    ----------
    f0, y, loss, kernel, features, test_kernel, test_features, f0_test
        As in :func:`gradient_flow`; a moving kernel is evaluated at the step index.
    lr : float
        η > 0.
    n_steps : int
        Maximum number of steps (the budget; ``stopping.max_steps`` also applies).
    batch_size : int, optional
    seed : int
        Seed of the batch order (unused for full batch).
    stopping : StoppingRules, optional
        Checked after every full-batch step, and at the end of every epoch for
        mini-batches (whose ‖K∇L‖ is the full-batch value).
    record_steps : sequence of int, optional
        Steps at which to record; default 0 and a log-spaced set of steps.

    Returns
    -------
    FlowResult
        ``times`` are step indices; ``n_rejected``/``n_refreshes``/``n_forced`` are 0.
        A step size beyond stability ends with status ``"nan"`` (non-finite
        outputs or loss) as soon as it is detected, never with ``"sat"``.

    Examples
    --------
    Full-batch descent on MSE with P = 3 features for N = 6 points reaches the
    least-squares fit (the projection of y on range(J)):

    >>> import numpy as np
    >>> from ntkjam.dynamics import gradient_descent
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> y = np.array([1.0, -1, 1, -1, 1, -1])
    >>> res = gradient_descent(np.zeros(6), y, "mse", features=J, lr=0.5, n_steps=5000)
    >>> res.status.value, res.final_outputs.shape
    ('converged', (6,))
    >>> bool(np.allclose(res.final_outputs, J @ np.linalg.lstsq(J, y, rcond=None)[0]))
    True
    """
    n_steps = as_int("n_steps", n_steps, minimum=1)
    seed = as_seed("seed", seed)
    ppd = as_int("points_per_decade", points_per_decade, minimum=1)
    inputs = resolve_run(f0, y, loss, lr=lr, stopping=stopping, kernel=kernel,
                         features=features, test_kernel=test_kernel,
                         test_features=test_features, f0_test=f0_test, need_factor=False)
    f0, y, loss, lr, source = inputs.f0, inputs.y, inputs.loss, inputs.lr, inputs.source
    f0t, Kt, Jt = inputs.f0t, inputs.Kt, inputs.Jt
    n = f0.size
    if batch_size is not None:
        batch_size = as_int("batch_size", batch_size, minimum=1)
        if batch_size > n:
            raise ValueError(f"batch_size must be <= N = {n}, got {batch_size}")
    budget = min(n_steps, inputs.stopping.max_steps)
    rules = dataclasses.replace(inputs.stopping, max_steps=budget)
    if record_steps is None:
        grid = np.unique(np.round(10.0 ** (np.arange(0, ppd * math.log10(budget) + 1) / ppd)))
        marks = set(int(k) for k in grid) | {0}
    else:
        marks = {as_int("record_steps[i]", k, minimum=0) for k in record_steps}
    rng = np.random.default_rng(seed)

    def full_kg(fvec, k):
        gvec = loss.grad(fvec, y) / n
        if isinstance(source, FixedSource):
            return gvec, source.apply(gvec)
        return gvec, check_kernel_value(source.kernel_at(float(k)), n, float(k)) @ gvec

    def test_step(idx, gb, k):
        if Jt is not None:
            return Jt @ (source.J[idx].T @ gb)
        Kx = Kt(float(k)) if callable(Kt) else Kt
        return Kx[:, idx] @ gb

    rec = Recorder(loss, y, rules.unsat_tol, record_outputs)
    stop = StopCheck(rules, loss, y, clock="step")
    f = f0.copy()
    ft = None if f0t is None else f0t.copy()
    g, kg = full_kg(f, 0)
    if 0 in marks:
        rec.add(0.0, f, ft, g, kg)
    status, message = stop(f, kg, 0.0, 0)
    everything = np.arange(n)
    order, pos, k = np.empty(0, dtype=np.int64), 0, 0
    while status is None:
        if batch_size is None:
            idx = everything
            update = kg
            gb = g
        else:
            if pos >= order.size:
                order, pos = rng.permutation(n), 0
            idx = order[pos:pos + batch_size]
            pos += idx.size
            gb = loss.grad(f[idx], y[idx]) / idx.size
            if isinstance(source, FixedSource):
                update = source.apply_cols(idx, gb)
            else:
                update = check_kernel_value(source.kernel_at(float(k)), n, float(k))[:, idx] @ gb
        if ft is not None:
            ft = ft - lr * test_step(idx, gb, k)
        f = f - lr * update
        k += 1
        end_of_epoch = batch_size is None or pos >= order.size
        if end_of_epoch or k in marks or k >= budget:
            g, kg = full_kg(f, k)
        if k in marks:
            rec.add(float(k), f, ft, g, kg)
        if end_of_epoch or k >= budget:
            status, message = stop(f, kg, float(k), k)
    return rec.finish(float(k), f, ft, g, kg, status=status, message=message, n_steps=k, lr=lr)
