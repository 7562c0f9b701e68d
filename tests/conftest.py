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
