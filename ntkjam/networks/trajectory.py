"""The record of a training run: its trajectory, its result, and their ``.npz`` file.

Frozen results of :func:`ntkjam.networks.train`; :func:`save_trajectory` writes plain
arrays and JSON metadata (never a pickle), :func:`load_trajectory` reads them back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ntkjam.core.reprs import SummaryRepr
from ntkjam.networks.mlp import Params, flatten_params

__all__ = ["TrainResult", "Trajectory", "load_trajectory", "save_trajectory"]


# ------------------------------------------------------------------------------- results


@dataclass(frozen=True, repr=False)
class Trajectory(SummaryRepr):
    """Measurements on the record grid (R records) and at kernel checkpoints (C).

    Attributes
    ----------
    time, step : arrays (R,)
    loss : array (R,)
        L̃ = (1/N) Σ ℓ(F_i, y_i), the function-space loss (α-independent scale).
    n_unsat : array (R,) of int
        N_Δ = #{i : κ − y_i F_i > tol}.
    f_train : array (R, N)
        Trained outputs F on the training set.
    f_test : array (R, N_test)
        Trained outputs on the test set (N_test = 0 if none was given).
    weight_change : array (R,)
        ‖θ_t − θ_0‖ / ‖θ_0‖.
    kernel_time : array (C,)
    kernels : array (C, N, N)
        Empirical NTK ``K_t`` of ``f_θ`` (unscaled) on the training set.
    kernel_change : array (C,)
        ‖K_t − K_0‖_F / ‖K_0‖_F.
    """

    time: np.ndarray
    step: np.ndarray
    loss: np.ndarray
    n_unsat: np.ndarray
    f_train: np.ndarray
    f_test: np.ndarray
    weight_change: np.ndarray
    kernel_time: np.ndarray
    kernels: np.ndarray
    kernel_change: np.ndarray


@dataclass(frozen=True, repr=False)
class TrainResult(SummaryRepr):
    """Outcome of :func:`train`.

    Attributes
    ----------
    status : Status
        ``"sat"``, ``"unsat"``, ``"budget"`` or ``"nan"`` (a :class:`~ntkjam.core.status.Status`,
        equal to its string).
    message : str
    steps : int
        Iterations performed (rejected flow steps included).
    accepted : int
        Accepted steps.
    time : float
        Final time.
    params : list of (W, b)
        Final parameters.
    trajectory : Trajectory
    config : dict
        Scalars describing the run (JSON-serialisable).
    """

    status: str
    message: str
    steps: int
    accepted: int
    time: float
    params: Params
    trajectory: Trajectory
    config: dict


# ------------------------------------------------------------------------------- storage


def save_trajectory(result: TrainResult, path: str | Path) -> Path:
    """Write the trajectory, status and config of a run to an ``.npz`` file (no pickle).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    traj = result.trajectory
    meta = {
        "status": result.status,
        "message": result.message,
        "steps": result.steps,
        "accepted": result.accepted,
        "time": result.time,
        "config": result.config,
    }
    arrays = {name: getattr(traj, name) for name in Trajectory.__dataclass_fields__}
    np.savez_compressed(
        path,
        meta=np.array(json.dumps(meta)),
        final_params=flatten_params(result.params),
        **arrays,
    )
    return path


def load_trajectory(path: str | Path) -> tuple[Trajectory, dict]:
    """Read a file written by :func:`save_trajectory`: the trajectory and its metadata."""
    with np.load(Path(path), allow_pickle=False) as data:
        traj = Trajectory(**{name: data[name] for name in Trajectory.__dataclass_fields__})
        meta = json.loads(str(data["meta"]))
    return traj, meta
