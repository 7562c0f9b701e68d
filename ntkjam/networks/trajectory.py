"""The record of a training run: when it is taken, its trajectory, its result, its file.

:func:`next_record_time` and :func:`kernel_schedule` say when :func:`ntkjam.networks.train`
records (a log grid in time) and when a record carries the empirical kernel; the frozen
results hold what it recorded; :func:`save_trajectory` writes plain arrays and JSON
metadata (never a pickle), :func:`load_trajectory` reads them back.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ntkjam._validate import as_float_array
from ntkjam.core.reprs import SummaryRepr
from ntkjam.networks.mlp import Params, flatten_params

__all__ = ["TrainResult", "Trajectory", "kernel_schedule", "load_trajectory",
           "next_record_time", "save_trajectory"]


# ------------------------------------------------------------------------ the schedule
def next_record_time(t: float, t_first: float, per_decade: int) -> float:
    """The first time of the log grid ``t_first · 10^{k/per_decade}`` strictly above ``t``.

    Parameters
    ----------
    t : float
        The time now.
    t_first : float
        The first time of the grid (> 0): the run's first record after t = 0.
    per_decade : int
        Records per factor of 10 in time.

    Returns
    -------
    float
        ``t_first`` while ``t < t_first``.

    Examples
    --------
    >>> from ntkjam.networks.trajectory import next_record_time
    >>> [round(next_record_time(t, 0.1, 10), 6) for t in (0.05, 0.1, 1.0, 1.2)]
    [0.1, 0.125893, 1.258925, 1.258925]
    """
    if t < t_first:
        return t_first
    k = math.floor(per_decade * math.log10(t / t_first) + 1e-9) + 1
    return t_first * 10 ** (k / per_decade)


def kernel_schedule(kernel_times: object) -> tuple[str, list[float]]:
    """When a run's records carry the empirical kernel K_t: ``(mode, times)``.

    Parameters
    ----------
    kernel_times : {"decades", "records"} or array_like of float, shape (C,)
        ``"records"``: every record; ``"decades"``: the first record at or after each
        power of ten from 10⁻⁶ to 10¹²; times (≥ 0): the first record at or after
        each.  The first and the last record always carry it.

    Returns
    -------
    mode : {"records", "list"}
    times : list of float
        Sorted; empty for ``"records"``.

    Examples
    --------
    >>> from ntkjam.networks.trajectory import kernel_schedule
    >>> kernel_schedule("records"), kernel_schedule([2.0, 0.5])
    (('records', []), ('list', [0.5, 2.0]))
    >>> mode, times = kernel_schedule("decades")
    >>> mode, times[0], times[-1], len(times)
    ('list', 1e-06, 1000000000000.0, 19)
    """
    if isinstance(kernel_times, str):
        if kernel_times == "records":
            return "records", []
        if kernel_times == "decades":
            return "list", [10.0**k for k in range(-6, 13)]
        raise ValueError(
            "kernel_times must be 'decades', 'records' or a sequence of times, "
            f"got {kernel_times!r}"
        )
    times = as_float_array("kernel_times", kernel_times, ndim=1)
    if np.any(times < 0):
        raise ValueError(f"kernel_times must be >= 0, got {times.min()}")
    return "list", sorted(float(x) for x in times)


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

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.data import random_labels, sphere
    >>> from ntkjam.networks import init_params, mlp, train
    >>> net, X, y = mlp(3, 16), sphere(3, 3, seed=0), random_labels(3, seed=1)
    >>> result = train(net, init_params(net, seed=0), X, y, loss="hinge")
    >>> traj = result.trajectory
    >>> R = traj.time.shape[0]
    >>> traj.f_train.shape == (R, 3), traj.f_test.shape == (R, 0), traj.kernels.shape[1:]
    (True, True, (3, 3))
    >>> float(traj.weight_change[0]), float(traj.kernel_change[0])    # measured from t = 0
    (0.0, 0.0)
    >>> bool(np.allclose(traj.time, 0.5 * traj.step))                 # GD: t = lr · step
    True
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

    Examples
    --------
    >>> from ntkjam.data import random_labels, sphere
    >>> from ntkjam.networks import init_params, mlp, train
    >>> net, X, y = mlp(3, 16), sphere(3, 3, seed=0), random_labels(3, seed=1)
    >>> result = train(net, init_params(net, seed=0), X, y, loss="hinge")
    >>> result.status == "sat", result.steps == result.accepted   # GD accepts every step
    (True, True)
    >>> result.config["optimizer"], result.config["optimizer_args"], result.config["loss"]
    ('GD', {'lr': 0.5}, 'hinge')
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

    Parameters
    ----------
    result : TrainResult
    path : str or pathlib.Path
        Where to write; ``.npz`` is appended when the name does not end with it.

    Returns
    -------
    pathlib.Path
        The path written (with its ``.npz``).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from ntkjam.networks.trajectory import save_trajectory
    >>> from ntkjam.data import random_labels, sphere
    >>> from ntkjam.networks import init_params, mlp, train
    >>> net, X, y = mlp(3, 16), sphere(3, 3, seed=0), random_labels(3, seed=1)
    >>> result = train(net, init_params(net, seed=0), X, y, loss="hinge")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_trajectory(result, Path(tmp) / "run")
    ...     print(path.name, path.stat().st_size > 0)
    run.npz True
    """
    path = Path(path)
    if not path.name.endswith(".npz"):  # what numpy.savez writes: return that path
        path = path.with_name(path.name + ".npz")
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
    """Read a file written by :func:`save_trajectory`: the trajectory and its metadata.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    trajectory : Trajectory
        Arrays as saved: ``time`` (R,), ``f_train`` (R, N), ``kernels`` (C, N, N), ...
    meta : dict
        ``status``, ``message``, ``steps``, ``accepted``, ``time`` and ``config``.

    Examples
    --------
    A round trip gives the same arrays (no pickle involved):

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from ntkjam.networks.trajectory import load_trajectory, save_trajectory
    >>> from ntkjam.data import random_labels, sphere
    >>> from ntkjam.networks import init_params, mlp, train
    >>> net, X, y = mlp(3, 16), sphere(3, 3, seed=0), random_labels(3, seed=1)
    >>> result = train(net, init_params(net, seed=0), X, y, loss="hinge")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     traj, meta = load_trajectory(save_trajectory(result, Path(tmp) / "run.npz"))
    >>> bool(np.array_equal(traj.kernels, result.trajectory.kernels)), meta["status"]
    (True, 'sat')
    """
    with np.load(Path(path), allow_pickle=False) as data:
        traj = Trajectory(**{name: data[name] for name in Trajectory.__dataclass_fields__})
        meta = json.loads(str(data["meta"]))
    return traj, meta
