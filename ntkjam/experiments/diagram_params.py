"""The parameters of a phase-diagram task: their model, defaults, checks and sizes.

* :class:`PhaseDiagramParams` (with :data:`DEFAULTS`), :func:`resolve_params` — the
  parameters of the ``phase_diagram`` task and the rules between them;
* :func:`check_params` — those, then N = round(φ · P) ≥ 1 and one task's arrays
  against this machine's memory;
* :func:`parameter_count`, :func:`feature_count`, :func:`network_width` — the P a task
  actually uses (the network Jacobian rounds P to a whole hidden width).

The task itself is in :mod:`ntkjam.experiments.phase_diagram`, which re-exports the
names its callers import from there.
"""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from ntkjam.core.params import (
    Bool,
    Choice,
    Int,
    NonNegativeReal,
    PositiveInt,
    PositiveReal,
    Real,
    StudyParams,
    Unit,
)

__all__ = [
    "DATASETS",
    "DEFAULTS",
    "LABELS",
    "OFFSETS",
    "SOURCES",
    "PhaseDiagramParams",
    "check_params",
    "feature_count",
    "network_width",
    "parameter_count",
    "resolve_params",
]

SOURCES = ("relu_features", "fourier_features", "taylor_features", "ntk_jacobian")
LABELS = ("random", "teacher", "parity")
OFFSETS = ("zero", "gaussian", "network")
DATASETS = ("auto", "sphere", "gaussian", "digits")


class PhaseDiagramParams(StudyParams, study="phase_diagram"):
    """The parameters of :func:`phase_diagram_task` and their defaults (the only copy).

    Resolved, ``dataset = "auto"`` becomes what it stands for: ``"digits"`` with
    parity labels, ``"sphere"`` otherwise.

    Examples
    --------
    >>> from ntkjam.experiments.diagram_params import PhaseDiagramParams
    >>> p = PhaseDiagramParams.resolve({"P": 50, "phi": 2.0})  # every default filled in
    >>> p["source"], p["margin"], p["dataset"]
    ('relu_features', 1.0, 'sphere')
    >>> PhaseDiagramParams.resolve({"P": 50, "phi": 2.0, "labels": "parity"})["dataset"]
    'digits'
    """

    P: PositiveInt
    phi: PositiveReal
    source: Choice(*SOURCES) = "relu_features"
    d: Int(minimum=2) = 10
    dataset: Choice(*DATASETS) = "auto"
    labels: Choice(*LABELS) = "random"
    margin: Real = 1.0
    offset: Choice(*OFFSETS) = "zero"
    offset_scale: NonNegativeReal = 1.0
    sigma_w: PositiveReal = 2**0.5
    sigma_b: NonNegativeReal = 0.0
    lengthscale: PositiveReal = 1.0
    lp_fraction: Unit = 0.0
    store_arrays: Bool = True

    @model_validator(mode="after")
    def cross_checks(self) -> PhaseDiagramParams:
        """The rules between parameters (see :func:`resolve_params`).

        Examples
        --------
        >>> from ntkjam.experiments.diagram_params import PhaseDiagramParams
        >>> PhaseDiagramParams.parse({"P": 50, "phi": 2.0, "offset": "network"})
        Traceback (most recent call last):
        ...
        ValueError: offset 'network' (the network's output at initialisation) needs source ...
        """
        if self.margin < 0 and self.offset == "zero":
            raise ValueError(
                f"margin must be >= 0 with offset 'zero', got {self.margin}: with f0 = 0, "
                "w = 0 meets every constraint y f >= margin when margin < 0, so every "
                "instance would be trivially SAT; a negative margin needs a norm constraint "
                "(the spherical problem) or a nonzero offset"
            )
        if self.offset == "network" and self.source != "ntk_jacobian":
            raise ValueError(
                f"offset 'network' (the network's output at initialisation) needs source "
                f"'ntk_jacobian', got source {self.source!r}"
            )
        if self.labels == "parity" and self.dataset not in ("auto", "digits"):
            raise ValueError(
                f"labels 'parity' (digit parity) need dataset 'digits', got {self.dataset!r}"
            )
        return self

    def resolved(self) -> dict[str, Any]:
        """The values in field order, ``dataset = "auto"`` spelled out.

        Examples
        --------
        >>> from ntkjam.experiments.diagram_params import PhaseDiagramParams
        >>> p = PhaseDiagramParams.parse({"P": 50, "phi": 2.0, "labels": "parity"})
        >>> p.dataset, p.resolved()["dataset"], list(p.resolved())[:3]
        ('auto', 'digits', ['P', 'phi', 'source'])
        """
        p = super().resolved()
        if p["dataset"] == "auto":
            p["dataset"] = "digits" if p["labels"] == "parity" else "sphere"
        return p


#: Parameters of the task and their defaults (``None``: required).
DEFAULTS: dict[str, Any] = PhaseDiagramParams.defaults()


def resolve_params(params: dict[str, Any]) -> dict[str, Any]:
    """The task parameters validated, every default filled in (pure: the task key is its hash).

    :meth:`PhaseDiagramParams.resolve`.

    Parameters
    ----------
    params : dict
        Task parameters (see :func:`phase_diagram_task`); ``P`` and ``phi`` required.

    Returns
    -------
    dict
        Every parameter of :class:`PhaseDiagramParams`, in field order.

    Raises
    ------
    ValueError, TypeError
        Unknown or missing parameter; φ ≤ 0; P < 1; margin or scales not finite;
        unknown source, labels, offset or dataset; ``lp_fraction`` outside [0, 1];
        an offset ``"network"`` with a source other than ``"ntk_jacobian"``; a
        negative margin with offset ``"zero"`` (trivially SAT: w = 0 meets every
        constraint).  (:func:`check_params` adds N = round(φ·P) ≥ 1 and the memory estimate.)

    Examples
    --------
    >>> from ntkjam.experiments.diagram_params import resolve_params
    >>> p = resolve_params({"P": 50, "phi": 2.0})
    >>> list(p)[:4], p == resolve_params({**p})  # a spelled-out default is the same task
    (['P', 'phi', 'source', 'd'], True)
    >>> resolve_params({"P": 50, "phi": 2.0, "offset": "network"})
    Traceback (most recent call last):
    ...
    ValueError: offset 'network' (...) needs source 'ntk_jacobian', got source 'relu_features'
    """
    return PhaseDiagramParams.resolve(params)


def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """:func:`resolve_params`, then the size of one task against this machine's memory.

    Parameters
    ----------
    params : dict
        Task parameters (see :func:`phase_diagram_task`).

    Returns
    -------
    dict
        The resolved parameters (:func:`resolve_params`).

    Raises
    ------
    ValueError
        As :func:`resolve_params`; N = round(φ·P) < 1; one task's arrays would not fit
        in this machine's memory.

    Examples
    --------
    >>> from ntkjam.experiments.diagram_params import check_params
    >>> check_params({"P": 50, "phi": 2.0})["P"]
    50
    >>> check_params({"P": 10, "phi": 0.01})  # N = round(0.01 · 10) = 0 points
    Traceback (most recent call last):
    ...
    ValueError: phi * P must give at least one point, got phi = 0.01 and P = 10 (...)...
    """
    p = resolve_params(params)
    _check_size(p)
    return p


def _check_size(p: dict[str, Any]) -> None:
    """N = round(φ·P) ≥ 1, and one task's arrays fit in this machine's memory."""
    from ntkjam.core.limits import check_memory
    from ntkjam.data import DIGITS_DIM

    input_dim = DIGITS_DIM if p["dataset"] == "digits" else p["d"]
    n_params = feature_count(p["source"], p["P"], input_dim)
    n = round(p["phi"] * n_params)
    if n < 1:
        raise ValueError(
            f"phi * P must give at least one point, got phi = {p['phi']} and P = {n_params} "
            f"(N = round(phi * P) = {n}); raise phi or P"
        )
    # Inputs (N, d), features (N, P) and the solver's copies of them, its Gram matrix.
    nbytes = 8.0 * (n * input_dim + 3.0 * n * n_params + min(n, n_params) ** 2)
    check_memory(nbytes, f"P = {p['P']} features, d = {input_dim} and phi = {p['phi']:g} "
                 f"(N = {n} points)", "lower P, d or phi")


def network_width(P: int, d: int) -> int:
    """Hidden width of the network whose parameter count width·(d + 1) is nearest P.

    Parameters
    ----------
    P : int
        The target parameter count.
    d : int
        Input dimension.

    Returns
    -------
    int
        ``max(1, round(P / (d + 1)))``.

    Examples
    --------
    >>> from ntkjam.experiments.diagram_params import network_width
    >>> network_width(100, 10), network_width(3, 10)  # round(100/11) = 9; at least 1
    (9, 1)
    """
    return max(1, round(P / (d + 1)))


def feature_count(source: str, P: int, d: int) -> int:
    """The features a source gives for a target P: ``width·(d + 1)`` for the network
    Jacobian (:func:`network_width`), else P.

    Parameters
    ----------
    source : str
        One of :data:`SOURCES`.
    P : int
        The target parameter count.
    d : int
        Input dimension (64 for the digits).

    Returns
    -------
    int

    Examples
    --------
    >>> from ntkjam.experiments.diagram_params import feature_count
    >>> feature_count("relu_features", 100, 10), feature_count("ntk_jacobian", 100, 10)
    (100, 99)
    """
    return network_width(P, d) * (d + 1) if source == "ntk_jacobian" else P


def parameter_count(params: dict[str, Any]) -> int:
    """The P a task actually uses (its ``n_params``): ``P``, or ``width·(d + 1)`` for the
    network Jacobian (φ = N / n_params, N = round(φ · n_params)).

    Parameters
    ----------
    params : dict
        Task parameters (validated by :func:`resolve_params`).

    Returns
    -------
    int
        The parameter count P of the task's features.

    Examples
    --------
    The network Jacobian rounds P to a whole width: d = 10 inputs, width
    round(100/11) = 9, so 9 · 11 = 99 parameters.

    >>> from ntkjam.experiments.diagram_params import parameter_count
    >>> parameter_count({"P": 100, "phi": 1.0}), parameter_count(
    ...     {"P": 100, "phi": 1.0, "source": "ntk_jacobian"})
    (100, 99)
    """
    from ntkjam.data import DIGITS_DIM

    p = resolve_params(params)
    input_dim = DIGITS_DIM if p["dataset"] == "digits" else p["d"]
    return feature_count(p["source"], p["P"], input_dim)
