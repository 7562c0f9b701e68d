"""Generalization across φ = N/P: test error of the lazy model and of trained networks.

One task draws a training set of N = round(φ · P) points and a test set, fits
``n_ens`` models that share the data but not their features or offsets, and measures
the first one (the single model), the mean over the members and their ensemble (the
average of the members' test outputs).  Registered as ``"generalization"``.

Tasks (``task``): ``noisy_teacher_hinge`` / ``noisy_teacher_mse`` — inputs on the
sphere of radius √d, labels ``sign(β·x)`` each flipped with probability ε
(``epsilon``); ``regression_mse`` — ``y = β·x + noise``, ‖β‖² = ``signal``, the noise
of variance ``noise`` (σ², as in :mod:`ntkjam.theory`); ``parity_hinge`` /
``parity_mse`` — the digits (d = 64, norm 8), parity labels (flipped with ε too).

Models (``source``, the phase diagram's word for where the features come from):
``relu_features`` (random ReLU features, f0 = σ₀ J v with v ~ N(0, I): the random-
features network at initialisation), ``linear`` (J = X with x ~ N(0, I_P): the model
of Hastie et al.; f0 = σ₀ X v/√P), ``ntk_jacobian`` (the Jacobian of a one-hidden-
layer ReLU net of width round(P/(d+1)); f0 = σ₀ × the net at initialisation),
``ntk_kernel`` (kernel regression with the analytic NTK: infinitely many features;
P only sets the unit of φ), ``network`` (the same net *trained*: heavy-ball gradient
descent on α (f − f0) with the task's loss, through :func:`ntkjam.networks.train`).

The lazy fits are the exact end points of the gradient flow from ``w = 0`` on
``L(w) + (λ/2)‖w‖²`` (``ridge`` = λ, L = (1/N) Σ ℓ): see :mod:`ntkjam.experiments.lazy_fit`;
for the quadratic hinge without ridge the *minimum-norm* minimiser is reported.
Theory per task where it applies (f0 = 0, ``regression_mse``): Hastie et al. for
``linear``, Mei–Montanari for ``relu_features`` (λ_MM = λ d/σ_w⁴), the spectral
theory with the Funk–Hecke eigenvalues for ``ntk_kernel`` (λ_BCP = N λ): see
:mod:`ntkjam.experiments.generalization_theory`; the scores of a predictor in
:mod:`ntkjam.experiments.generalization_scores`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import model_validator

from ntkjam._validate import as_int, as_real
from ntkjam.core.params import (
    Checked,
    Choice,
    Int,
    NonNegativeReal,
    Nullable,
    PositiveInt,
    PositiveReal,
    StudyParams,
)
from ntkjam.experiments.diagram_spec import as_axis, diagram_spec
from ntkjam.experiments.generalization_fits import fit_member, kernel_member, seeds
from ntkjam.experiments.generalization_scores import member_scores
from ntkjam.experiments.generalization_theory import (
    K_MAX,  # noqa: F401  (re-exported: the old import path)
    funk_hecke_spectrum,
    theory_prediction,
)
from ntkjam.sweep.registry import register

__all__ = ["DEFAULTS", "SOURCES", "TASKS", "GeneralizationParams", "check_params",
           "generalization_spec", "generalization_task", "n_params", "resolve_params", "sizes"]

TASKS = ("noisy_teacher_hinge", "noisy_teacher_mse", "regression_mse", "parity_hinge",
         "parity_mse")
SOURCES = ("relu_features", "linear", "ntk_jacobian", "ntk_kernel", "network")


def _flip_probability(name: str, value: object) -> float:
    value = as_real(name, value)
    if not 0.0 <= value <= 0.5:
        raise ValueError(f"{name} must be in [0, 0.5] (the probability that a training "
                         f"label is flipped), got {value}")
    return value


def _momentum(name: str, value: object) -> float:
    value = as_real(name, value, nonnegative=True)
    if value >= 1:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return value


class GeneralizationParams(StudyParams, study="generalization"):
    """Parameters of :func:`generalization_task` (the defaults live here only).

    Examples
    --------
    >>> from ntkjam.experiments.generalization import GeneralizationParams
    >>> p = GeneralizationParams.resolve({"P": 50, "phi": 2.0})
    >>> p["n_train"], p["task"], p["source"], p["epsilon"], p["n_test"]
    (None, 'noisy_teacher_hinge', 'relu_features', 0.2, 1000)
    """

    P: Nullable(PositiveInt) = None
    phi: PositiveReal
    n_train: Nullable(Int(minimum=2)) = None
    task: Choice(*TASKS) = "noisy_teacher_hinge"
    source: Choice(*SOURCES) = "relu_features"
    d: Int(minimum=2) = 10
    epsilon: Checked(float, _flip_probability) = 0.2
    noise: NonNegativeReal = 0.25
    signal: NonNegativeReal = 1.0
    ridge: NonNegativeReal = 0.0
    margin: PositiveReal = 1.0
    n_test: PositiveInt = 1000
    n_ens: PositiveInt = 1
    offset_scale: NonNegativeReal = 0.0
    sigma_w: PositiveReal = 2**0.5
    alpha: PositiveReal = 1.0
    momentum: Checked(float, _momentum) = 0.9
    max_steps: PositiveInt = 100_000

    @model_validator(mode="after")
    def cross_checks(self) -> GeneralizationParams:
        """Combinations that have no meaning (see :func:`resolve_params`).

        Examples
        --------
        >>> from ntkjam.experiments.generalization import GeneralizationParams
        >>> GeneralizationParams.parse({"phi": 2.0, "P": 50, "source": "ntk_kernel"})
        Traceback (most recent call last):
        ...
        ValueError: source 'ntk_kernel' fits the MSE only, got task 'noisy_teacher_hinge'
        """
        hinge = self.task.endswith("_hinge")
        if (self.P is None) == (self.n_train is None):
            raise ValueError(f"give exactly one of P (features; N = round(phi * P)) and n_train "
                             f"(training points; P = round(N / phi)), got P = {self.P} and "
                             f"n_train = {self.n_train}")
        if self.source == "linear" and self.task.startswith("parity"):
            raise ValueError("source 'linear' (J = X, x ~ N(0, I_P)) draws its own inputs; "
                             "the parity task needs the digits: use another source")
        if self.source == "ntk_kernel" and hinge:
            raise ValueError(f"source 'ntk_kernel' fits the MSE only, got task {self.task!r}")
        if self.source in ("ntk_kernel", "network") and self.offset_scale > 0:
            raise ValueError(f"offset_scale must be 0 with source {self.source!r} (no offset: "
                             f"f0 = 0), got {self.offset_scale}")
        if self.n_ens > 1 and (self.source == "ntk_kernel" or (
                self.source == "linear" and self.offset_scale == 0)):
            raise ValueError(f"n_ens = {self.n_ens} needs random members, but source "
                             f"{self.source!r} with offset_scale = {self.offset_scale} "
                             "gives identical ones; use n_ens = 1 or an offset")
        if self.task == "regression_mse" and self.epsilon > 0:
            raise ValueError(f"epsilon flips ±1 labels; regression_mse has real labels (use "
                             f"noise), got epsilon = {self.epsilon}")
        return self


#: Parameters of the task and their defaults (``None``: required).
DEFAULTS: dict[str, Any] = GeneralizationParams.defaults()


def resolve_params(params: dict[str, Any]) -> dict[str, Any]:
    """The task parameters validated, every default filled in (the store hashes this).

    Raises
    ------
    ValueError, TypeError
        Unknown or missing parameter, a value out of range (ε outside [0, ½], φ ≤ 0,
        P < 1, d < 2, …) or a combination without meaning (see the model's checks).

    Examples
    --------
    >>> from ntkjam.experiments.generalization import resolve_params
    >>> resolve_params({"n_train": 100, "phi": 2.0})["P"] is None  # the task sets P = N/φ
    True
    >>> resolve_params({"P": 50, "n_train": 100, "phi": 2.0})
    Traceback (most recent call last):
    ...
    ValueError: give exactly one of P (features; N = round(phi * P)) and n_train ...
    """
    return GeneralizationParams.resolve(params)


def n_params(source: str, P: int, d: int) -> int:
    """The parameter count a task uses: ``width · (d + 1)`` for the networks, else P.

    Parameters
    ----------
    source : str
        One of :data:`SOURCES`.
    P : int
        The target parameter count.
    d : int
        Input dimension.

    Returns
    -------
    int
        P, or for ``"ntk_jacobian"`` / ``"network"`` (one hidden layer of width
        round(P/(d + 1)), no biases) the count of that network.

    Examples
    --------
    >>> from ntkjam.experiments.generalization import n_params
    >>> n_params("relu_features", 100, 10), n_params("ntk_jacobian", 100, 10)  # 9 · 11
    (100, 99)
    """
    if source in ("ntk_jacobian", "network"):
        return max(1, round(P / (d + 1))) * (d + 1)
    return P


def sizes(p: dict[str, Any]) -> tuple[int, int, int]:
    """``(N, P target, P used)`` of resolved params: N = round(φ · n_params) at fixed P,
    or P = round(N/φ) at fixed ``n_train`` (the networks then round it to a width).

    Parameters
    ----------
    p : dict
        Resolved parameters (:func:`resolve_params`).

    Returns
    -------
    (int, int, int)
        Training points N, the target P and the parameter count used (:func:`n_params`).

    Examples
    --------
    >>> from ntkjam.experiments.generalization import resolve_params, sizes
    >>> sizes(resolve_params({"P": 100, "phi": 2.0}))
    (200, 100, 100)
    >>> sizes(resolve_params({"n_train": 200, "phi": 2.0, "source": "ntk_jacobian"}))
    (200, 100, 99)
    """
    if p["n_train"] is None:
        P = p["P"]
        m = n_params(p["source"], P, _input_dim(p, P))
        return round(p["phi"] * m), P, m
    n = p["n_train"]
    P = max(1, round(n / p["phi"]))
    return n, P, n_params(p["source"], P, _input_dim(p, P))


def _input_dim(p: dict[str, Any], P: int) -> int:
    from ntkjam.data import DIGITS_DIM

    if p["task"].startswith("parity"):
        return DIGITS_DIM
    return P if p["source"] == "linear" else p["d"]


def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """:func:`resolve_params`, then N ≥ 2, the digits available and the memory estimate.

    Parameters
    ----------
    params : dict
        Task parameters (see :func:`generalization_task`).

    Returns
    -------
    dict
        Every parameter, defaults filled in (the store's key).

    Raises
    ------
    ValueError, TypeError
        As :func:`resolve_params`; fewer than 2 training points; more digits asked for
        than there are; a task too large for this machine's memory.

    Examples
    --------
    >>> from ntkjam.experiments.generalization import check_params
    >>> check_params({"P": 20, "phi": 0.5})["d"]
    10
    >>> check_params({"P": 2, "phi": 0.5})
    Traceback (most recent call last):
    ...
    ValueError: phi * P must give at least 2 training points, got phi = 0.5 and P = 2 ...
    """
    from ntkjam.core.limits import check_memory
    from ntkjam.data import DIGITS_SIZE

    p = resolve_params(params)
    n, P, m = sizes(p)
    d = _input_dim(p, P)
    if n < 2:
        raise ValueError(f"phi * P must give at least 2 training points, got phi = "
                         f"{p['phi']} and P = {m} (N = round(phi * P) = {n}); raise phi or P")
    if p["task"].startswith("parity") and n + p["n_test"] > DIGITS_SIZE:
        raise ValueError(f"the digits hold {DIGITS_SIZE} images: N = {n} training and "
                         f"n_test = {p['n_test']} test points do not fit; lower phi, P or n_test")
    rows = n + p["n_test"]
    nbytes = 8.0 * (rows * d + 3.0 * rows * m + min(n, m) ** 2 + 2.0 * n * rows)
    check_memory(nbytes, f"P = {m}, d = {d} and phi = {p['phi']:g} (N = {n} points)",
                 "lower P, phi or n_test")
    return p


# ----------------------------------------------------------------------------- data
def _draw_data(p: dict[str, Any], n: int, seed: int) -> dict[str, Any]:
    """Training inputs and labels, test inputs and their clean targets."""
    from ntkjam.data import load_dataset, teacher_direction

    s_data, s_flip, s_noise, s_beta = seeds(seed, 4)
    task = p["task"]
    if task.startswith("parity"):
        ds = load_dataset("digits", n_train=n, n_test=p["n_test"], labels="parity",
                          seed=s_data, radius="sqrt_d")
    elif p["source"] == "linear":
        ds = load_dataset("gaussian", n_train=n, n_test=p["n_test"], d=p["P"],
                          labels="teacher" if task != "regression_mse" else "random", seed=s_data)
    else:
        ds = load_dataset("sphere", n_train=n, n_test=p["n_test"], d=p["d"], radius="sqrt_d",
                          labels="teacher" if task != "regression_mse" else "random", seed=s_data)
    X, X_test = np.asarray(ds.X_train), np.asarray(ds.X_test)
    out = {"X": X, "X_test": X_test, "beta": None}
    if task == "regression_mse":
        beta = teacher_direction(X.shape[1], seed=s_beta)
        beta *= math.sqrt(p["signal"]) / np.linalg.norm(beta)
        rng = np.random.default_rng(s_noise)
        out.update(y=X @ beta + math.sqrt(p["noise"]) * rng.standard_normal(n),
                   target=X_test @ beta, beta=beta)
    else:
        flip = np.random.default_rng(s_flip).random(n) < p["epsilon"]
        y = np.asarray(ds.y_train)
        out.update(y=np.where(flip, -y, y), target=np.asarray(ds.y_test))
    return out


# ----------------------------------------------------------------------------- task
@register("generalization", check=check_params, resolve=resolve_params)
def generalization_task(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Fit ``n_ens`` models on one training set and measure them on a test set.

    Parameters
    ----------
    params : dict
        ``P`` (features, or the target parameter count of the networks; None: set from
        ``n_train``), ``phi`` (φ = N/P > 0, required), ``n_train`` (training points at
        fixed N, P = round(N/φ); None: N = round(φ · n_params) from P; give exactly one
        of the two), ``task`` ("noisy_teacher_hinge"), ``source`` ("relu_features"),
        ``d`` (input dimension, 10; the digits have 64, the linear model P),
        ``epsilon`` (label-flip probability in [0, ½], 0.2), ``noise`` (σ² of the
        regression labels, 0.25), ``signal`` (‖β‖², 1.0), ``ridge`` (λ of L + λ‖w‖²/2,
        0.0), ``margin`` (κ of the hinge, 1.0), ``n_test`` (test points, 1000),
        ``n_ens`` (members, 1), ``offset_scale`` (σ₀ of the offset, 0.0), ``sigma_w``
        (√2), ``alpha`` (output scale of the trained network, 1.0), ``momentum`` (its
        heavy-ball β, 0.9), ``max_steps`` (its budget, 100000).  See the module
        docstring.
    seed : int
        Task seed: the data, the label flips and every member's features and offset
        come from independent streams spawned from it.

    Returns
    -------
    dict
        ``n``, ``n_params``, ``phi_eff``, ``rank`` (of the first member's features),
        ``sat`` and ``verdict`` (hinge: the first member's problem without ridge,
        certified; network: its training status), ``sat_fraction`` (members SAT),
        ``exact`` (every minimiser exact), the first member's ``test_error``,
        ``test_loss``, ``train_loss``, ``train_error``, ``teacher_error`` (error against
        the clean labels), ``risk`` (regression: E (f − f*)²), ``w_norm`` (‖w‖, the
        trained displacement), ``f_norm`` (RMS of the test outputs); the members'
        means ``mean_test_error``, ``mean_test_loss``, ``mean_w_norm``,
        ``mean_f_norm``; the ensemble's ``ens_test_error``, ``ens_test_loss``,
        ``ens_train_loss``, ``ens_teacher_error``, ``ens_risk``, ``ens_f_norm``; the
        theory that applies (``theory``: "hastie", "mei_montanari", "spectral" or "")
        with ``theory_risk`` and ``theory_test_error``.  ``ntk_kernel`` tasks also
        store the arrays ``fh_eigenvalues``, ``fh_multiplicities`` (both (K_MAX + 1,))
        and the scalar ``tail_trace`` of their theory.  Every other value is a scalar.

    Examples
    --------
    N = 10 noisy-teacher points, P = 20 random ReLU features: the hinge problem is SAT
    (rank 10 = N), the training set is fitted, and the test error is the exact
    expectation over flips ε + (1 − 2ε) × the error against the clean teacher:

    >>> from ntkjam.experiments.generalization import generalization_task
    >>> r = generalization_task({"P": 20, "phi": 0.5, "n_test": 100}, seed=0)
    >>> r["n"], r["n_params"], r["rank"], r["sat"], r["train_error"], r["theory"]
    (10, 20, 10, True, 0.0, '')
    >>> abs(r["test_error"] - (0.2 + 0.6 * r["teacher_error"])) < 1e-12
    True
    """
    p = check_params(params)
    seed = as_int("seed", seed, minimum=0)
    n, P, m = sizes(p)
    p = {**p, "P": P}  # the feature count of this task, also at fixed n_train
    s_data, s_members = seeds(seed, 2)
    data = _draw_data(p, n, s_data)
    if p["source"] == "ntk_kernel":
        members = [kernel_member(p, data)]
    else:
        members = [fit_member(p, data, s, k == 0)
                   for k, s in enumerate(seeds(s_members, p["n_ens"]))]
    scores = [member_scores(p, data, mem, mem["b"]) for mem in members]
    b_ens = None if members[0]["b"] is None else np.mean([mem["b"] for mem in members], 0)
    ens = member_scores(p, data, {"f": np.mean([mem["f"] for mem in members], 0),
                                  "g": np.mean([mem["g"] for mem in members], 0)}, b_ens)
    hinge = p["task"].endswith("_hinge")
    verdict = members[0]["verdict"]
    name, th_risk, th_error = theory_prediction(p, n, m)
    out: dict[str, Any] = {
        "n": n, "n_params": m, "phi_eff": n / m, "rank": int(members[0]["rank"]),
        "sat": verdict == "sat" if hinge else None, "verdict": verdict,
        "sat_fraction": float(np.mean([mem["verdict"] == "sat" for mem in members]))
        if hinge else None,
        "exact": all(mem["exact"] for mem in members),
        **scores[0], "w_norm": members[0]["w_norm"],
        "mean_test_error": float(np.mean([s["test_error"] for s in scores])),
        "mean_test_loss": float(np.mean([s["test_loss"] for s in scores])),
        "mean_w_norm": float(np.mean([mem["w_norm"] for mem in members])),
        "mean_f_norm": float(np.mean([s["f_norm"] for s in scores])),
        **{f"ens_{k}": ens[k] for k in ("test_error", "test_loss", "train_loss",
                                         "teacher_error", "risk", "f_norm")},
        "theory": name, "theory_risk": th_risk, "theory_test_error": th_error,
    }
    if p["source"] == "ntk_kernel":
        mu, mult, tail = funk_hecke_spectrum(p["d"], p["sigma_w"])
        out["tail_trace"] = tail
        out["arrays"] = {"fh_eigenvalues": mu.copy(), "fh_multiplicities": mult.copy()}
    return out


def generalization_spec(
    *,
    P: object = (100,),
    n_train: object = None,
    phi_min: float = 0.5,
    phi_max: float = 4.0,
    phi_num: int = 15,
    seeds: int = 10,
    output: str | None = None,
    description: str = "",
    **params: Any,
):
    """The sweep spec of a generalization study: grid P × φ (or n_train × φ), ``seeds``
    replicas per point.

    Parameters
    ----------
    P : sequence of int, shape (n_P,)
        Distinct sizes ≥ 1 (ignored when ``n_train`` is given).
    n_train : sequence of int, shape (n_N,), optional
        Fixed numbers of training points (distinct, ≥ 2); then P = round(N/φ).
    phi_min, phi_max, phi_num
        ``linspace(phi_min, phi_max, phi_num)``.
    seeds : int
        Replicas per point: seeds 0 … seeds − 1.
    output, description
        As for :func:`ntkjam.experiments.phase_diagram.phase_diagram_spec`.
    **params
        Fixed parameters of :func:`generalization_task`, checked on the smallest and
        the largest task.

    Returns
    -------
    ntkjam.sweep.SweepSpec
        (n_P or n_N) × phi_num × seeds tasks.

    Examples
    --------
    >>> from ntkjam.experiments.generalization import generalization_spec
    >>> spec = generalization_spec(n_train=(40, 80), phi_min=0.5, phi_max=2.0, phi_num=4,
    ...                            seeds=2, n_test=100)
    >>> spec.grid, spec.params, spec.n_tasks
    ({'n_train': (40, 80), 'phi': (0.5, 1.0, 1.5, 2.0)}, {'n_test': 100}, 16)
    """
    from ntkjam.experiments.diagram_spec import phi_range

    if n_train is None:
        axis = ("P", as_axis("P", P, lambda k, v: as_int(k, v, minimum=1), item="size"), "sizes")
    else:
        Ns = as_axis("n_train", n_train, lambda k, v: as_int(k, v, minimum=2), item="size")
        axis = ("n_train", Ns, "sizes")
        lo = phi_range(phi_min, phi_max, phi_num)[0]
        if "P" not in params and "phi" not in params:  # at fixed N the largest P is at phi_min
            check_params({**params, "n_train": max(Ns), "phi": lo})
    return diagram_spec(
        "generalization", check_params, axes=[axis], phi=(phi_min, phi_max, phi_num),
        seeds=seeds, params=params, output=output, source="generalization",
        description=description or "generalization: test error vs phi = N/P",
    )
