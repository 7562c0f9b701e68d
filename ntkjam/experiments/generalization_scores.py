"""How a generalization task scores a predictor: its training loss, test error and norms.

:func:`task_loss` is the per-sample loss ℓ(f, y) of the task (the MSE or the quadratic
hinge with margin κ); :func:`predictor_scores` the train and test scores of one
predictor from its outputs — for classification the exact expectation over the flips of
the test labels, for regression the risk E (g − f*)² — and :func:`member_scores` the
same for one fitted member, with the exact risk and ‖f‖ of the linear model from its
weights.  Used by :func:`ntkjam.experiments.generalization.generalization_task`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["member_scores", "predictor_scores", "task_loss"]


def task_loss(p: dict[str, Any], f: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample training loss ℓ(f, y): ½ (f − y)² or ½ max(0, κ − y f)².

    Parameters
    ----------
    p : dict
        Resolved task parameters (``task``, ``margin`` κ).
    f : ndarray, shape (N,)
        Outputs.
    y : ndarray, shape (N,)
        Labels.

    Returns
    -------
    ndarray, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.experiments.generalization import resolve_params
    >>> from ntkjam.experiments.generalization_scores import task_loss
    >>> f, y = np.array([2.0, 0.5, -1.0]), np.ones(3)
    >>> task_loss(resolve_params({"P": 10, "phi": 1.0}), f, y)  # hinge, κ = 1
    array([0.   , 0.125, 2.   ])
    >>> task_loss(resolve_params({"P": 10, "phi": 1.0, "task": "noisy_teacher_mse"}), f, y)
    array([0.5  , 0.125, 2.   ])
    """
    if p["task"].endswith("_mse"):
        return 0.5 * (f - y) ** 2
    return 0.5 * np.maximum(0.0, p["margin"] - y * f) ** 2


def predictor_scores(p: dict[str, Any], f: np.ndarray, y: np.ndarray, g: np.ndarray,
                     target: np.ndarray, risk: float | None = None,
                     f_norm: float | None = None) -> dict[str, Any]:
    """Train and test scores of one predictor (train outputs f, test outputs g).

    Classification: the test labels are the clean ones flipped with probability ε, and
    the scores are their exact expectation over the flips (``test_error = ε + (1 − 2ε)
    teacher_error``).  Regression: ``risk = E (g − f*)²`` over the test inputs (exact for
    the linear model), ``test_error = risk + noise``, ``test_loss = test_error/2``.

    Parameters
    ----------
    p : dict
        Resolved task parameters (``task``, ``margin``, ``epsilon``, ``noise``).
    f : ndarray, shape (N,)
        Outputs on the training points.
    y : ndarray, shape (N,)
        Training labels (flipped ones included).
    g : ndarray, shape (M,)
        Outputs on the test points.
    target : ndarray, shape (M,)
        Clean test labels (classification) or f* (regression).
    risk : float, optional
        The exact risk, in place of its test-set estimate (regression only).
    f_norm : float, optional
        In place of the RMS of ``g``.

    Returns
    -------
    dict
        ``train_loss``, ``f_norm``, ``risk``, ``test_error``, ``test_loss``,
        ``teacher_error`` and ``train_error`` (None where they do not apply).

    Examples
    --------
    One of four test points on the wrong side of the teacher, ε = 0.2: the expected
    test error is 0.2 + 0.6 · ¼:

    >>> import numpy as np
    >>> from ntkjam.experiments.generalization import resolve_params
    >>> from ntkjam.experiments.generalization_scores import predictor_scores
    >>> p = resolve_params({"P": 10, "phi": 1.0})
    >>> s = predictor_scores(p, np.array([1.0, -1.0]), np.array([1.0, -1.0]),
    ...                      np.array([2.0, 1.0, -1.0, 1.0]), np.array([1.0, 1.0, -1.0, -1.0]))
    >>> s["train_error"], s["teacher_error"], round(s["test_error"], 12), s["risk"]
    (0.0, 0.25, 0.35, None)
    """
    if f_norm is None:
        f_norm = float(np.sqrt(np.mean(g * g)))
    out: dict[str, Any] = {"train_loss": float(np.mean(task_loss(p, f, y))),
                           "f_norm": f_norm}
    if p["task"] == "regression_mse":
        r = float(np.mean((g - target) ** 2)) if risk is None else float(risk)
        out.update(risk=r, test_error=r + p["noise"], test_loss=0.5 * (r + p["noise"]),
                   teacher_error=None, train_error=None)
        return out
    eps = p["epsilon"]
    wrong = float(np.mean(np.where(g >= 0.0, 1.0, -1.0) != target))
    loss = (1 - eps) * task_loss(p, g, target) + eps * task_loss(p, g, -target)
    out.update(risk=None, teacher_error=wrong, test_error=eps + (1 - 2 * eps) * wrong,
               test_loss=float(np.mean(loss)),
               train_error=float(np.mean(np.where(f >= 0.0, 1.0, -1.0) != y)))
    return out


def member_scores(p: dict[str, Any], data: dict[str, Any], mem: dict[str, Any],
                  b: np.ndarray | None) -> dict[str, Any]:
    """Scores of one predictor; for the linear regression, exact risk and ‖f‖ from b.

    Parameters
    ----------
    p : dict
        Resolved task parameters.
    data : dict
        ``y`` (N,) training labels, ``target`` (M,) clean test targets, ``beta`` (P,)
        the teacher of the regression (else None).
    mem : dict
        ``f`` (N,) and ``g`` (M,): the predictor's outputs on the training and test
        points.
    b : ndarray, shape (P,), optional
        The weights of the linear model (``source = "linear"``), else None.

    Returns
    -------
    dict
        As :func:`predictor_scores`.

    Examples
    --------
    The linear model's risk ‖b − β‖² and norm ‖b‖, exact, in place of the test-set
    estimates:

    >>> import numpy as np
    >>> from ntkjam.experiments.generalization import resolve_params
    >>> from ntkjam.experiments.generalization_scores import member_scores
    >>> p = resolve_params({"P": 2, "phi": 1.0, "task": "regression_mse", "epsilon": 0.0,
    ...                     "source": "linear"})
    >>> data = {"y": np.zeros(2), "target": np.zeros(3), "beta": np.array([1.0, 0.0])}
    >>> mem = {"f": np.zeros(2), "g": np.zeros(3)}
    >>> s = member_scores(p, data, mem, b=np.array([0.0, 1.0]))
    >>> s["risk"], s["test_error"], round(s["f_norm"], 6)  # risk + σ² = 2 + 0.25
    (2.0, 2.25, 1.0)
    """
    exact = b is not None and p["task"] == "regression_mse"
    risk = float(np.sum((b - data["beta"]) ** 2)) if exact else None
    return predictor_scores(p, mem["f"], data["y"], mem["g"], data["target"], risk=risk,
                            f_norm=float(np.linalg.norm(b)) if b is not None else None)
