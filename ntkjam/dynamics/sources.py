"""Where the kernel comes from: a fixed K or features J, or a moving kernel K(t).

:func:`resolve_run` checks what a flow and a descent both start from (the problem,
η, the stopping settings, the kernel and the test points) in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ntkjam._validate import (
    as_float_array,
    as_real,
    as_square_symmetric,
)
from ntkjam.core.reprs import SummaryRepr
from ntkjam.dynamics.stopping import StoppingRules
from ntkjam.linalg import psd_features
from ntkjam.losses import Loss, get_loss


@dataclass(frozen=True, repr=False)
class KernelPath(SummaryRepr):
    """A moving kernel given by checkpoints, linearly interpolated in time.

    Parameters
    ----------
    times : array_like, shape (T,)
        Strictly increasing checkpoint times (flow time, or step index for
        :func:`gradient_descent`).
    kernels : array_like, shape (T, N, N)
        Training Gram matrices at the checkpoints.
    test_kernels : array_like, shape (T, N_test, N), optional
        Cross kernels K_t(X_test, X) at the same checkpoints.

    Notes
    -----
    Before the first checkpoint the first kernel is used, after the last one the last.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.dynamics import KernelPath
    >>> K = np.eye(3)
    >>> path = KernelPath(times=[0.0, 1.0], kernels=[K, 3 * K])
    >>> bool(np.allclose(path.at(0.5), 2 * K)), bool(np.allclose(path.at(5.0), 3 * K))
    (True, True)
    """

    times: np.ndarray
    kernels: np.ndarray
    test_kernels: np.ndarray | None = None

    def __post_init__(self) -> None:
        times = as_float_array("times", self.times, ndim=1)
        kernels = as_float_array("kernels", self.kernels, ndim=3)
        if times.size < 1 or np.any(np.diff(times) <= 0):
            raise ValueError(f"times must be non-empty and strictly increasing, got {times}")
        if kernels.shape[0] != times.size:
            raise ValueError(
                f"kernels must have one (N, N) matrix per time ({times.size}), "
                f"got shape {kernels.shape}"
            )
        for k in kernels:
            as_square_symmetric("kernels[i]", k)
        object.__setattr__(self, "times", frozen_array(times))
        object.__setattr__(self, "kernels", frozen_array(kernels))
        if self.test_kernels is not None:
            tk = as_float_array("test_kernels", self.test_kernels, ndim=3)
            if tk.shape[0] != times.size or tk.shape[2] != kernels.shape[1]:
                raise ValueError(
                    f"test_kernels must have shape ({times.size}, N_test, {kernels.shape[1]}), "
                    f"got {tk.shape}"
                )
            object.__setattr__(self, "test_kernels", frozen_array(tk))

    def at(self, t: float) -> np.ndarray:
        """The interpolated training kernel K_t.

        Parameters
        ----------
        t : float
            Time; clamped to the first and last checkpoints.

        Returns
        -------
        numpy.ndarray, shape (N, N)

        Examples
        --------
        >>> path = KernelPath(times=[0.0, 2.0], kernels=[np.eye(2), 3 * np.eye(2)])
        >>> np.round(path.at(0.5), 9).tolist(), path.at(-1.0).tolist()
        ([[1.5, 0.0], [0.0, 1.5]], [[1.0, 0.0], [0.0, 1.0]])
        """
        return _interpolate(self.times, self.kernels, t)

    def test_at(self, t: float) -> np.ndarray:
        """The interpolated cross kernel K_t(X_test, X).

        Parameters
        ----------
        t : float
            Time; clamped to the first and last checkpoints.

        Returns
        -------
        numpy.ndarray, shape (N_test, N)

        Raises
        ------
        ValueError
            When the path has no ``test_kernels``.

        Examples
        --------
        >>> path = KernelPath(times=[0.0, 1.0], kernels=[np.eye(2)] * 2,
        ...                   test_kernels=[np.zeros((1, 2)), np.ones((1, 2))])
        >>> path.test_at(0.5).shape, np.round(path.test_at(0.5), 9).tolist()
        ((1, 2), [[0.5, 0.5]])
        """
        if self.test_kernels is None:
            raise ValueError("this KernelPath has no test_kernels")
        return _interpolate(self.times, self.test_kernels, t)


def _interpolate(times: np.ndarray, stack: np.ndarray, t: float) -> np.ndarray:
    if t <= times[0]:
        return stack[0]
    if t >= times[-1]:
        return stack[-1]
    j = int(np.searchsorted(times, t, side="right"))
    lam = (t - times[j - 1]) / (times[j] - times[j - 1])
    return (1.0 - lam) * stack[j - 1] + lam * stack[j]


def frozen_array(a: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, repr=False)
class FixedSource(SummaryRepr):
    """A fixed kernel: dense K and/or features J, and the factor used by the flow."""

    n: int
    K: np.ndarray | None  # dense Gram, when given or cheap
    J: np.ndarray | None  # user features
    factor: np.ndarray  # (N, r) with factor factorᵀ = K
    factor_is_features: bool

    def apply(self, v: np.ndarray) -> np.ndarray:
        """K v."""
        if self.K is not None:
            return self.K @ v
        return self.J @ (self.J.T @ v)

    def apply_cols(self, idx: np.ndarray, v: np.ndarray) -> np.ndarray:
        """K[:, idx] v."""
        if self.K is not None:
            return self.K[:, idx] @ v
        return self.J @ (self.J[idx].T @ v)


@dataclass(frozen=True)
class _MovingSource:
    n: int
    kernel_at: Callable[[float], np.ndarray]
    test_at: Callable[[float], np.ndarray] | None


def check_kernel_value(K: object, n: int, t: float) -> np.ndarray:
    K = as_float_array(f"kernel(t={t:g})", K, ndim=2)
    if K.shape != (n, n):
        raise ValueError(f"kernel(t={t:g}) must have shape ({n}, {n}), got {K.shape}")
    return K


def resolve_source(kernel, features, n: int, *, need_factor: bool):
    """Validate the kernel source and build a fixed or moving source object.

    Parameters
    ----------
    kernel : (N, N) array, callable t ↦ (N, N), KernelPath or None
    features : (N, P) array or None
        Exactly one of ``kernel`` and ``features``.
    n : int
        N, the number of training points.
    need_factor : bool
        Whether the caller needs a factor F with F Fᵀ = K (the flow's coordinates): for
        features wider than N (P > N) it is then computed from K = J Jᵀ, shape (N, r ≤ N).

    Returns
    -------
    FixedSource or moving source
        ``apply(v)`` maps v (N,) to K v (N,).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.dynamics import resolve_source
    >>> J = np.ones((4, 2))
    >>> src = resolve_source(None, J, 4, need_factor=True)
    >>> src.apply(np.ones(4)).shape  # K v = J (Jᵀ v), shape (N,)
    (4,)
    >>> float(src.apply(np.ones(4))[0])
    8.0
    """
    if (kernel is None) == (features is None):
        raise ValueError("give exactly one of kernel= (Gram matrix, callable, KernelPath) "
                         "or features= (N, P) array")
    if features is not None:
        J = as_float_array("features", features, ndim=2)
        if J.shape[0] != n:
            raise ValueError(
                f"features must have one row per training point (N = {n}), got shape {J.shape}"
            )
        if J.shape[1] < 1:
            raise ValueError(f"features must have at least one column, got shape {J.shape}")
        if J.shape[1] <= n:
            return FixedSource(n=n, K=None, J=J, factor=J, factor_is_features=True)
        K = J @ J.T
        factor = psd_features(K) if need_factor else J
        return FixedSource(n=n, K=K, J=J, factor=factor, factor_is_features=not need_factor)
    if isinstance(kernel, KernelPath):
        if kernel.kernels.shape[1] != n:
            raise ValueError(
                f"kernel checkpoints must be ({n}, {n}) to match f0, "
                f"got {kernel.kernels.shape[1:]}"
            )
        test_at = kernel.test_at if kernel.test_kernels is not None else None
        return _MovingSource(n=n, kernel_at=kernel.at, test_at=test_at)
    if callable(kernel):
        as_square_symmetric("kernel(0)", check_kernel_value(kernel(0.0), n, 0.0))
        return _MovingSource(n=n, kernel_at=kernel, test_at=None)
    K = as_square_symmetric("kernel", kernel)
    if K.shape[0] != n:
        raise ValueError(f"kernel must be ({n}, {n}) to match f0 (N = {n}), got {K.shape}")
    factor = psd_features(K) if need_factor else np.zeros((n, 0))
    return FixedSource(n=n, K=K, J=None, factor=factor, factor_is_features=False)


def resolve_test(source, test_kernel, test_features, f0_test, n: int):
    """Validate the test-point inputs; return (f0_test, K_test or callable, J_test)."""
    if test_kernel is None and test_features is None:
        if isinstance(source, _MovingSource) and source.test_at is not None:
            if f0_test is None:
                return None, None, None  # test kernels of the path unused
            f0t = as_float_array("f0_test", f0_test, ndim=1)
            nt = source.test_at(0.0).shape[0]
            if f0t.shape[0] != nt:
                raise ValueError(f"f0_test must have length {nt} (one per test point), "
                                 f"got {f0t.shape[0]}")
            return f0t, source.test_at, None
        if f0_test is not None:
            raise ValueError("f0_test given without test_kernel= or test_features=")
        return None, None, None
    if test_kernel is not None and test_features is not None:
        raise ValueError("give at most one of test_kernel= and test_features=")
    if test_features is not None:
        if not (isinstance(source, FixedSource) and source.J is not None):
            raise ValueError("test_features= needs training features= (fixed)")
        Jt = as_float_array("test_features", test_features, ndim=2)
        if Jt.shape[1] != source.J.shape[1]:
            raise ValueError(
                f"test_features must have P = {source.J.shape[1]} columns like features, "
                f"got shape {Jt.shape}"
            )
        nt, Kt = Jt.shape[0], None
    elif callable(test_kernel):
        if not isinstance(source, _MovingSource):
            raise ValueError("a callable test_kernel needs a moving (callable) kernel")
        Jt, Kt = None, test_kernel
        nt = None
    else:
        Kt = as_float_array("test_kernel", test_kernel, ndim=2)
        if Kt.shape[1] != n:
            raise ValueError(
                f"test_kernel must have shape (N_test, {n}) (test rows, training columns), "
                f"got {Kt.shape}"
            )
        nt, Jt = Kt.shape[0], None
    if f0_test is None:
        raise ValueError("f0_test (initial test outputs) is required with test points")
    f0t = as_float_array("f0_test", f0_test, ndim=1)
    if nt is not None and f0t.shape[0] != nt:
        raise ValueError(f"f0_test must have length {nt} (one per test point), got {f0t.shape[0]}")
    return f0t, Kt, Jt


def check_problem(f0, y, loss):
    loss = get_loss(loss)
    f0 = as_float_array("f0", f0, ndim=1)
    if f0.shape[0] < 1:
        raise ValueError("f0 must have at least one entry")
    y = loss.check_labels(y, n=f0.shape[0])
    return f0, y, loss


@dataclass(frozen=True, repr=False)
class RunInputs(SummaryRepr):
    """The checked inputs of a flow or a descent (built by :func:`resolve_run`).

    ``f0`` and ``y`` (N,), the ``loss``, the rate ``lr`` = η, the ``stopping``
    settings, the kernel ``source`` (a :class:`FixedSource` or a moving one), and the
    test points: their initial outputs ``f0t`` (N_test,) with the cross kernel ``Kt``
    ((N_test, N) or callable) or the test features ``Jt`` (N_test, P); ``None``
    without test points.
    """

    f0: np.ndarray
    y: np.ndarray
    loss: Loss
    lr: float
    stopping: StoppingRules
    source: Any
    f0t: np.ndarray | None
    Kt: Any
    Jt: Any


def resolve_run(f0, y, loss, *, lr, stopping, kernel, features, test_kernel, test_features,
                f0_test, need_factor: bool) -> RunInputs:
    """Check the arguments :func:`gradient_flow` and :func:`gradient_descent` share.

    ``need_factor``: the flow integrates in the coordinates of a factor J Jᵀ = K
    (computed from a Gram matrix); the descent only multiplies by K.
    """
    f0, y, loss = check_problem(f0, y, loss)
    n = f0.size
    lr = as_real("lr", lr, positive=True)
    rules = stopping if stopping is not None else StoppingRules()
    if not isinstance(rules, StoppingRules):
        raise TypeError(f"stopping must be a StoppingRules, got {rules!r}")
    source = resolve_source(kernel, features, n, need_factor=need_factor)
    f0t, Kt, Jt = resolve_test(source, test_kernel, test_features, f0_test, n)
    return RunInputs(f0=f0, y=y, loss=loss, lr=lr, stopping=rules, source=source, f0t=f0t,
                     Kt=Kt, Jt=Jt)
