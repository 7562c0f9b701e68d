"""One BLAS thread for the small dense solves, the caller's setting restored after."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from ntkjam.core.threads import blas_threads, one_blas_thread
from ntkjam.experiments.phase_diagram import build_problem, resolve_params
from ntkjam.jamming import newton
from ntkjam.jamming.minimum import minimize_quadratic_hinge
from ntkjam.jamming.sphere import minimize_on_sphere


def test_the_limit_is_one_inside_and_the_callers_after():
    with threadpool_limits(limits=2, user_api="blas"):
        with one_blas_thread():
            assert blas_threads() == 1
            with one_blas_thread():  # nested
                assert blas_threads() == 1
            assert blas_threads() == 1
        assert blas_threads() == 2


def test_blocks_entered_from_many_threads_leave_the_controlling_threads_setting():
    """Only one Python thread controls OpenBLAS's process-wide pool (threadpoolctl's
    rule): blocks entered from other threads while the main thread holds a limit change
    nothing, and the main thread's count is the same after they ran."""
    errors = []

    def worker(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for _ in range(30):
                with one_blas_thread():
                    time.sleep(float(rng.uniform(0, 1e-3)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with threadpool_limits(limits=2, user_api="blas"):
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert blas_threads() == 2


def test_an_error_inside_restores_the_setting():
    with threadpool_limits(limits=2, user_api="blas"):
        with pytest.raises(RuntimeError), one_blas_thread():
            raise RuntimeError("inside")
        assert blas_threads() == 2


@pytest.fixture
def problem():
    return build_problem(resolve_params({"P": 60, "phi": 2.2}), 4)[0]


def test_the_exact_minimum_runs_on_one_thread_and_does_not_depend_on_the_callers(
        problem, monkeypatch):
    inside = []
    real = newton.finite_newton

    def spy(*args, **kwargs):
        inside.append(blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr("ntkjam.jamming.minimum.finite_newton", spy)
    results = {}
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            results[threads] = minimize_quadratic_hinge(problem)
            assert blas_threads() == threads
    assert inside == [1, 1]
    a, b = results[1], results[2]
    assert a.verdict == b.verdict and a.loss == b.loss and np.array_equal(a.w, b.w)


def test_the_sphere_minimum_does_not_depend_on_the_callers_threads(problem):
    out = {}
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            out[threads] = minimize_on_sphere(problem, norm=60.0)
    assert out[1].loss == out[2].loss and np.array_equal(out[1].w, out[2].w)
