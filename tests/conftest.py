"""Shared test settings."""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """One BLAS thread for every test.

    The tests do many small dense solves; multi-threaded OpenBLAS on a shared 2-core
    machine was measured 20x slower than one thread for them (196 s vs 10 s for the
    slow jamming tests), and results do not depend on the thread count.
    """
    with threadpool_limits(limits=1):
        yield


#: Integration checks moved to the slow suite (`make test-slow`) to keep the default run
#: under ten minutes on two cores; each has a faster sibling in the default suite (the
#: same property on a smaller case, or another parameter of the same test).
SLOW_IN_DEFAULT_RUN = frozenset({
    "tests/test_sweep_resume.py::test_sigkill_of_a_chunked_dask_run_loses_only_chunks_in_flight",
    "tests/test_kernels_jax.py::test_grad_matches_finite_differences[erf]",
    "tests/test_sweep_chunks.py::test_a_chunk_whose_worker_dies_fails_only_the_task_that_killed_it",
    "tests/test_jamming_invariance.py::test_narrow_relu_networks_with_dead_inputs",
    "tests/test_kernel_drift.py::test_width_exponent_is_minus_one_for_a_smooth_activation",
    "tests/test_sweep_chunks.py::test_workers_and_cluster_modes_give_the_same_store[2-always]",
    "tests/test_sweep_dask.py::test_existing_scheduler_and_a_worker_that_dies",
    "tests/test_sweep_faults.py::test_local_dask_cluster_serves_no_http_without_dashboard",
    "tests/test_kernels_analytic.py::test_quadrature_converges_for_smooth_activation",
    "tests/test_kernel_drift.py::test_hinge_sides_of_the_jamming_threshold",
    "tests/test_networks_ntk.py::test_structured_jacobian_and_ntk_vp_agree[erf]",
    "tests/test_networks_ntk.py::test_structured_jacobian_and_ntk_vp_agree[tanh-std]",
})


@pytest.hookimpl(tryfirst=True)  # before the `-m 'not slow'` deselection
def pytest_collection_modifyitems(config, items):
    known = set()
    for item in items:
        if item.nodeid in SLOW_IN_DEFAULT_RUN:
            item.add_marker(pytest.mark.slow)
            known.add(item.nodeid)
    # A renamed test must not silently come back into (or vanish from) the default run.
    collected_files = {item.nodeid.split("::")[0] for item in items}
    selective = config.getoption("keyword") or any("::" in a for a in config.args)
    stale = {n for n in SLOW_IN_DEFAULT_RUN - known
             if n.split("::")[0] in collected_files and not selective}
    if stale:
        raise pytest.UsageError(f"SLOW_IN_DEFAULT_RUN names tests that do not exist: {stale}")
