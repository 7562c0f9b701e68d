"""Sweep task: the spectrum of a Gram matrix at one φ, with its asymptotic prediction.

``spectrum_task(params, seed)`` follows the sweep engine's contract (see
``docs/sweeps.md``): scalar measurements plus named arrays (the eigenvalues and the
prediction), so that figures are drawn from the store alone.

Sources (``params["source"]``) and what each is compared with:

* ``"gaussian"``: ``J`` (N, P) with iid N(0, 1/P) entries; **Marchenko–Pastur**.
* ``"features"``: random features of one hidden layer (``ntkjam.kernels.features``) on
  inputs uniform on the sphere of radius √d; the **Silverstein** law of their
  population covariance ``E[J Jᵀ]·P`` = the NNGP Gram of the data, by its eigenvalues.
* ``"truncated"``: Taylor features of the Gaussian kernel truncated at degree k
  (:func:`ntkjam.kernels.features.taylor_features`) on the unit sphere S^{d-1}.  P is
  their **rank** ``Σ_{j≤k} N(d, j)`` (the ``C(d+k, k)`` columns contain
  ``C(d+k−2, k−2)`` linearly dependent ones on a sphere); the degree is the one whose
  rank is closest to the requested P.  Prediction: the **Funk–Hecke** Gram spectrum of
  the truncated kernel, ``N μ_j`` with multiplicity ``N(d, j)`` for ``j ≤ k`` and exactly
  ``N − P`` zero modes when N > P (the exact-rank prediction, exact at any N; the
  nonzero values are the N → ∞ limit at fixed P, i.e. φ → ∞).
* ``"empirical"``: the empirical NTK ``J Jᵀ`` of a ReLU (or other) network of ``depth``
  hidden layers of equal width in the NTK parameterization (``ntkjam.networks``), inputs
  on the sphere of radius √d.  P is the parameter count; the width is the one whose P is
  closest to the requested one.  Prediction: the **infinite-width analytic NTK**
  (``ntkjam.kernels.analytic.ntk``) Gram of the *same* inputs (its eigenvalues), which
  the empirical spectrum approaches as the width grows (φ → 0); the expected number of
  zero modes is ``N − rank J`` with the generic rank of
  :func:`ntkjam.networks.expected_jacobian_rank`.  With SLQ the prediction is the
  Funk–Hecke Gram spectrum of the analytic NTK instead (no N × N matrix).
* ``"analytic"``: the analytic NTK Gram of N points on the sphere of radius √d
  (P = ∞).  Prediction: its **Funk–Hecke** Gram spectrum ``N μ_k`` × ``N(d, k)``.  φ only
  sets N = round(φ · size), so ``fixed`` must be ``"p"``.

Other parameters: ``phi`` (> 0), ``fixed`` (``"p"``: P = ``size``, N = round(φ P); ``"n"``:
N = ``size``, P = round(N/φ)), ``size``, ``d`` (input dimension; default 200 for
features, 5 otherwise), ``activation`` (default ``"relu"``), ``depth`` (networks,
default 1), ``degree`` (truncated: fixes k instead of choosing it from P),
``lengthscale`` (truncated: default ``1/√k`` on the unit sphere, which keeps all
``k + 1`` degrees well above rounding), and ``slq_probes``, ``slq_steps`` (both > 0:
the spectrum is estimated by block stochastic Lanczos quadrature from Gram-vector
products instead of dense ``eigvalsh``; its CDF is stored as ``N`` quantiles).
The parameters and their defaults are :class:`SpectrumParams` (unknown names are
refused).  Specs name this task by import path, so its keys are on the params as given
(no resolve step): a spec that spells out a default has other keys than one that omits it.
The sizes (:mod:`ntkjam.experiments.spectrum_sizes`) and the discrete predictions
(:mod:`ntkjam.experiments.spectrum_predictions`) have their own modules, re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import model_validator

from ntkjam._validate import as_int
from ntkjam.core.params import (
    Choice,
    Int,
    Nullable,
    PositiveInt,
    PositiveReal,
    StudyParams,
)
from ntkjam.experiments.fields import ActivationName
from ntkjam.experiments.spectrum_predictions import funk_hecke_gram_prediction, spectral_distance
from ntkjam.experiments.spectrum_sizes import network_width, sizes, taylor_degree

SOURCES = ("gaussian", "features", "truncated", "empirical", "analytic")

#: Default input dimension per source.
DEFAULT_D = {"gaussian": 200, "features": 200, "truncated": 5, "empirical": 5, "analytic": 5}


class SpectrumParams(StudyParams, study="spectrum"):
    """The parameters of :func:`spectrum_task` and their defaults (the only copy).

    ``None``: ``d`` is :data:`DEFAULT_D` of the source, ``degree`` is chosen from P,
    ``lengthscale`` is ``1/√k``.  ``slq_probes`` and ``slq_steps`` are both 0 (dense
    eigenvalues) or both ≥ 1 (SLQ).  Parameters a source does not use are checked too.

    Examples
    --------
    >>> from ntkjam.experiments.spectrum import SpectrumParams
    >>> p = SpectrumParams.parse({"phi": 2.0, "source": "truncated"})
    >>> p.input_dim, p.slq, SpectrumParams.parse({"phi": 2.0, "slq_probes": 4, "slq_steps": 9}).slq
    (5, None, (4, 9))
    >>> SpectrumParams.parse({"phi": 2.0, "slq_probes": 4})  # steps missing
    Traceback (most recent call last):
    ...
    ValueError: slq_steps must be >= 1, got 0
    """

    source: Choice(*SOURCES) = "gaussian"
    fixed: Choice("n", "p") = "p"
    phi: PositiveReal
    size: PositiveInt = 500
    d: Nullable(Int(minimum=2)) = None
    activation: ActivationName = "relu"
    depth: Int(minimum=1) = 1
    degree: Nullable(Int(minimum=0)) = None
    lengthscale: Nullable(PositiveReal) = None
    slq_probes: Int() = 0
    slq_steps: Int() = 0

    @model_validator(mode="after")
    def cross_checks(self) -> SpectrumParams:
        """SLQ settings both given or neither; the analytic NTK only at fixed P.

        Examples
        --------
        >>> from ntkjam.experiments.spectrum import SpectrumParams
        >>> SpectrumParams.parse({"phi": 2.0, "source": "analytic", "fixed": "n"})
        Traceback (most recent call last):
        ...
        ValueError: fixed must be 'p' for source 'analytic' (the analytic NTK has P = ∞; ...
        """
        if self.slq_probes or self.slq_steps:
            as_int("slq_probes", self.slq_probes, minimum=1)
            as_int("slq_steps", self.slq_steps, minimum=1)
        if self.source == "analytic" and self.fixed != "p":
            raise ValueError(
                "fixed must be 'p' for source 'analytic' (the analytic NTK has P = ∞; "
                f"φ sets N = round(φ · size)), got {self.fixed!r}"
            )
        return self

    @property
    def input_dim(self) -> int:
        """``d``, or the source's default (:data:`DEFAULT_D`).

        Examples
        --------
        >>> from ntkjam.experiments.spectrum import SpectrumParams
        >>> [SpectrumParams.parse(p).input_dim for p in ({"phi": 2.0}, {"phi": 2.0, "d": 7})]
        [200, 7]
        """
        return DEFAULT_D[self.source] if self.d is None else self.d

    @property
    def slq(self) -> tuple[int, int] | None:
        """``(probes, steps)`` of SLQ, or ``None`` for dense eigenvalues.

        Examples
        --------
        >>> from ntkjam.experiments.spectrum import SpectrumParams
        >>> SpectrumParams.parse({"phi": 2.0, "slq_probes": 4, "slq_steps": 9}).slq
        (4, 9)
        """
        return (self.slq_probes, self.slq_steps) if self.slq_probes else None


#: Parameters of the task and their defaults (``None``: required, or computed: see above).
DEFAULTS: dict[str, Any] = SpectrumParams.defaults()


def _seeds(seed: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(seed)
    data_seed, weight_seed, probe_seed = (int(s) for s in rng.integers(0, 2**31 - 1, size=3))
    return data_seed, weight_seed, probe_seed


def _spectrum(operator_fn, dense_fn, n: int, settings, probe_seed: int):
    """Dense eigenvalues, or SLQ quantiles with the estimate itself."""
    if settings is None:
        return dense_fn(), None
    from ntkjam.spectrum.slq import slq

    probes, steps = settings
    est = slq(operator_fn(), n_probes=min(probes, n), n_steps=steps, seed=probe_seed)
    return est.quantiles(n), est


def spectrum_task(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Measured spectrum of a Gram matrix at one φ against its prediction.

    Parameters
    ----------
    params : dict
        ``source`` ("gaussian"; see the module docstring), ``fixed`` ("p": P = size,
        N = round(φ P); "n": N = size, P = round(N/φ)), ``phi`` (φ > 0, required),
        ``size`` (500), ``d`` (input dimension; None: 200 for gaussian and features, 5
        otherwise), ``activation`` ("relu"), ``depth`` (hidden layers of the networks,
        1), ``degree`` (truncated: k; None: chosen from P), ``lengthscale`` (truncated;
        None: 1/√k), ``slq_probes`` (SLQ probes, 0: dense eigenvalues), ``slq_steps``
        (Lanczos steps of SLQ, 0).  Checked by :class:`SpectrumParams`.
    seed : int
        Task seed: the data, the weights and the SLQ probes are drawn from it.

    Returns
    -------
    dict
        Scalars ``n, p, phi_actual, method, n_zero, zero_fraction,
        expected_zero_fraction, smallest_nonzero, gap, participation_ratio, ks,
        wasserstein, predicted_atom, mass_error, spectral_distance, prediction`` (plus
        ``truncation_degree``/``width``/``slq_atom``… where they apply; measurement
        names never repeat a parameter name) and arrays ``eigenvalues``
        (N,) and either ``law_x``, ``law_density`` (a density) or
        ``predicted_eigenvalues`` (N,) (a discrete prediction).  P is ``None`` for
        the analytic NTK; with SLQ, ``eigenvalues`` are the N quantiles of the
        estimate, ``slq_nodes``, ``slq_weights`` are stored too, and
        ``spectral_distance`` is ``None`` (the quantiles do not resolve the few top
        eigenvalues that dominate it).

    Examples
    --------
    Gaussian features at φ = 2: K = J Jᵀ (40 × 40) has rank P = 20, so half its
    eigenvalues are zero, the atom 1 − 1/φ of Marchenko–Pastur.  Taylor features of
    degree 2 on S² have rank 9, so 18 points leave exactly 9 zero modes:

    >>> from ntkjam.experiments.spectrum import spectrum_task
    >>> out = spectrum_task({"phi": 2.0, "size": 20}, seed=0)
    >>> out["n"], out["p"], out["n_zero"], out["predicted_atom"], out["prediction"]
    (40, 20, 20, 0.5, 'Marchenko–Pastur')
    >>> out["arrays"]["eigenvalues"].shape
    (40,)
    >>> taylor = spectrum_task({"source": "truncated", "phi": 2.0, "size": 9, "d": 3}, 0)
    >>> taylor["truncation_degree"], taylor["n"], taylor["p"], taylor["n_zero"]
    (2, 18, 9, 9)
    >>> taylor["arrays"]["predicted_eigenvalues"].shape
    (18,)
    """
    p = SpectrumParams.parse(params)
    case = _Case(params=p, source=p.source, fixed=p.fixed, phi=p.phi, size=p.size,
                 d=p.input_dim, activation=p.activation, settings=p.slq, seed=seed,
                 seeds=_seeds(seed))
    source = p.source
    if source in ("gaussian", "features"):
        m = _random_features_case(case)
    elif source == "truncated":
        m = _truncated_case(case)
    elif source == "analytic":
        m = _analytic_case(case)
    else:
        m = _empirical_case(case)
    return _measurements(m)


@dataclass(frozen=True)
class _Case:
    """One task's parsed settings (private to this module)."""

    params: SpectrumParams
    source: str
    fixed: str
    phi: float
    size: int
    d: int
    activation: str
    settings: tuple[int, int] | None
    seed: int
    seeds: tuple[int, int, int]  # data, weights, probes


@dataclass(frozen=True)
class _Measured:
    """A measured spectrum with its prediction (a density ``law`` or eigenvalues)."""

    lam: np.ndarray
    est: Any
    n: int
    p: int | None
    label: str
    law: Any = None
    predicted: np.ndarray | None = None
    expected_zero: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _random_features_case(c: _Case) -> _Measured:
    """Gaussian features against Marchenko–Pastur, random features against Silverstein."""
    from ntkjam.spectrum.measured import feature_eigenvalues, gram_eigenvalues
    from ntkjam.spectrum.random_matrix import mp_law, silverstein_law
    from ntkjam.spectrum.slq import feature_operator

    data_seed, weight_seed, probe_seed = c.seeds
    n, p = sizes(c.phi, c.fixed, c.size)
    if c.source == "gaussian":
        rng = np.random.default_rng(c.seed)
        J = rng.standard_normal((n, p)) / np.sqrt(p)
        law, label = mp_law(n / p), "Marchenko–Pastur"
    else:
        from ntkjam.data import sphere
        from ntkjam.kernels.analytic import nngp
        from ntkjam.kernels.features import random_features

        X = sphere(n, c.d, seed=data_seed, radius="sqrt_d")
        J = random_features(X, p, activation=c.activation, seed=weight_seed)
        label = "Silverstein"
        if c.settings is None:
            tau = gram_eigenvalues(nngp(X, activation=c.activation))
            law = silverstein_law(np.clip(tau, 0.0, None), n / p)
        else:
            from ntkjam.spectrum.slq import kernel_operator, slq

            # The population spectrum is itself estimated matrix-free: the
            # quadrature nodes with their weights are a discrete population.
            pop = slq(kernel_operator(nngp, X, activation=c.activation),
                      n_probes=min(c.settings[0], n), n_steps=c.settings[1], seed=probe_seed)
            tau = np.where(pop.is_zero, 0.0, np.clip(pop.nodes, 0.0, None))
            law = silverstein_law(tau, n / p, weights=pop.weights / pop.weights.sum())
    lam, est = _spectrum(lambda: feature_operator(J), lambda: feature_eigenvalues(J),
                         n, c.settings, probe_seed)
    return _Measured(lam=lam, est=est, n=n, p=p, label=label, law=law)


def _truncated_case(c: _Case) -> _Measured:
    """Truncated Taylor features of a dot-product kernel against Funk–Hecke."""
    from ntkjam.data import sphere
    from ntkjam.kernels.features import taylor_features, taylor_kernel, taylor_rank_on_sphere
    from ntkjam.spectrum.funk_hecke import kernel_on_sphere
    from ntkjam.spectrum.measured import feature_eigenvalues
    from ntkjam.spectrum.slq import feature_operator

    data_seed, _, probe_seed = c.seeds
    params, d = c.params, c.d
    if params.degree is not None:
        degree = params.degree
        p = taylor_rank_on_sphere(d, degree)
        n = max(1, int(round(c.phi * p))) if c.fixed == "p" else c.size
    else:
        n, p_target = sizes(c.phi, c.fixed, c.size)
        degree = taylor_degree(p_target, d)
        p = taylor_rank_on_sphere(d, degree)
        if c.fixed == "p":
            n = max(1, int(round(c.phi * p)))
    ell = params.lengthscale
    if ell is None:
        ell = 1.0 / math.sqrt(max(degree, 1))
    X = sphere(n, d, seed=data_seed)
    J = taylor_features(X, degree, lengthscale=ell)
    lam, est = _spectrum(lambda: feature_operator(J), lambda: feature_eigenvalues(J),
                         n, c.settings, probe_seed)
    profile = kernel_on_sphere(taylor_kernel, d, degree=degree, lengthscale=ell)
    return _Measured(
        lam=lam, est=est, n=n, p=p, label="Funk–Hecke",
        predicted=funk_hecke_gram_prediction(profile, d, n, k_max=degree),
        extra={"truncation_degree": degree, "lengthscale_used": ell,
               "n_columns": int(J.shape[1])},
    )


def _ntk_profile(c: _Case, depth: int):
    from ntkjam.kernels.analytic import ntk
    from ntkjam.spectrum.funk_hecke import kernel_on_sphere

    return kernel_on_sphere(ntk, c.d, radius=math.sqrt(c.d), depth=depth,
                            activation=c.activation)


def _analytic_case(c: _Case) -> _Measured:
    """The analytic NTK (P = ∞) on the sphere against its Funk–Hecke eigenvalues."""
    from ntkjam.data import sphere
    from ntkjam.kernels.analytic import ntk
    from ntkjam.spectrum.measured import gram_eigenvalues
    from ntkjam.spectrum.slq import kernel_operator

    depth = c.params.depth
    profile = _ntk_profile(c, depth)
    data_seed, _, probe_seed = c.seeds
    n = sizes(c.phi, c.fixed, c.size)[0]
    X = sphere(n, c.d, seed=data_seed, radius="sqrt_d")
    lam, est = _spectrum(
        lambda: kernel_operator(ntk, X, depth=depth, activation=c.activation),
        lambda: gram_eigenvalues(ntk(X, depth=depth, activation=c.activation)),
        n, c.settings, probe_seed)
    return _Measured(lam=lam, est=est, n=n, p=None, label="Funk–Hecke",
                     predicted=funk_hecke_gram_prediction(profile, c.d, n), expected_zero=0.0)


def _empirical_case(c: _Case) -> _Measured:
    """The empirical NTK of a finite network against the analytic NTK (or Funk–Hecke)."""
    from ntkjam.data import sphere
    from ntkjam.kernels.analytic import ntk
    from ntkjam.networks import (
        empirical_ntk,
        expected_jacobian_rank,
        init_params,
        mlp,
        ntk_vector_product,
        param_count,
    )
    from ntkjam.spectrum.measured import gram_eigenvalues
    from ntkjam.spectrum.slq import GramOperator

    depth = c.params.depth
    profile = _ntk_profile(c, depth)
    data_seed, weight_seed, probe_seed = c.seeds
    n, p_target = sizes(c.phi, c.fixed, c.size)
    width = network_width(p_target, c.d, depth)
    net = mlp(c.d, width, depth=depth, activation=c.activation)
    p = param_count(net)
    if c.fixed == "p":
        n = max(1, int(round(c.phi * p)))
    X = sphere(n, c.d, seed=data_seed, radius="sqrt_d")
    theta = init_params(net, weight_seed)
    lam, est = _spectrum(
        lambda: GramOperator(n, lambda V: ntk_vector_product(net, theta, X, V),
                             "empirical NTK"),
        lambda: gram_eigenvalues(empirical_ntk(net, theta, X)),
        n, c.settings, probe_seed)
    if c.settings is None:
        predicted = gram_eigenvalues(ntk(X, depth=depth, activation=c.activation))
        predicted, label = np.clip(predicted, 0.0, None), "analytic NTK"
    else:
        predicted, label = funk_hecke_gram_prediction(profile, c.d, n), "Funk–Hecke NTK"
    rank = expected_jacobian_rank(net, n)
    return _Measured(lam=lam, est=est, n=n, p=p, label=label, predicted=predicted,
                     expected_zero=1.0 - rank / n,
                     extra={"width": width, "expected_rank": rank})


def _measurements(m: _Measured) -> dict[str, Any]:
    """The task's scalars and arrays from a measured spectrum and its prediction."""
    from ntkjam.spectrum.compare import compare, snap_zeros
    from ntkjam.spectrum.measured import spectrum_report

    lam, est, n, p = m.lam, m.est, m.n, m.p
    report = spectrum_report(lam, phi=None if p is None else n / p)
    out: dict[str, Any] = {
        "n": n,
        "p": p,
        "phi_actual": None if p is None else n / p,
        "method": "dense" if est is None else "slq",
        "prediction": m.label,
        "n_zero": report.n_zero,
        "zero_fraction": report.zero_fraction,
        "expected_zero_fraction": (
            report.expected_zero_fraction if m.expected_zero is None else m.expected_zero
        ),
        "smallest_nonzero": report.smallest_nonzero,
        "gap": report.gap if np.isfinite(report.gap) else None,
        "participation_ratio": report.participation_ratio,
        **m.extra,
    }
    arrays: dict[str, np.ndarray] = {"eigenvalues": lam}
    if est is not None:
        out.update({"slq_atom": est.atom, "slq_atom_stderr": est.atom_stderr,
                    "slq_steps_taken": est.steps})
        arrays.update({"slq_nodes": est.nodes, "slq_weights": est.weights})
    law = m.law
    if law is not None:
        cmp = compare(lam, law, zero_tol=report.tolerance)
        out.update({"ks": cmp.ks, "wasserstein": cmp.wasserstein, "predicted_atom": law.atom,
                    "mass_error": law.mass_error, "spectral_distance": None})
        arrays.update({"law_x": law.x, "law_density": law.density})
    else:
        from ntkjam.spectrum.compare import ks_two_sample

        a = snap_zeros(lam, report.tolerance)
        b = snap_zeros(m.predicted, report.tolerance)
        out.update({
            "ks": ks_two_sample(a, b, zero_tol=0.0),
            "wasserstein": float(np.mean(np.abs(a - b))),
            "predicted_atom": float(np.mean(b == 0.0)),
            "mass_error": None,
            # SLQ quantiles cannot place the few top eigenvalues that dominate δ₂
            # (their quadrature weights are noisy at the 1/N level): dense only.
            "spectral_distance": spectral_distance(a, b) if est is None else None,
        })
        arrays["predicted_eigenvalues"] = np.asarray(m.predicted, dtype=np.float64)
    out["arrays"] = arrays
    return out
