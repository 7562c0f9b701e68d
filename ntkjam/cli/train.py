"""``ntkjam train``: train one finite network and save its trajectory and a figure."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

import typer

from ntkjam.cli._app import app
from ntkjam.cli._choices import ACTIVATIONS, DATASETS, PARAMETERIZATIONS
from ntkjam.cli._common import friendly_errors, parse_radius
from ntkjam.cli._options import (
    Data,
    InputDim,
    Loss,
    OldOut,
    TrainPoints,
    check_output_dir,
    input_dim,
)
from ntkjam.cli._renamed import old_spelling, renamed

OPTIMIZERS = ("gd", "flow", "adam")
TRAIN_LABELS = ("random", "teacher", "parity")
KERNEL_RECORDS = ("auto", "records", "decades")


def _parse_widths(widths: str) -> list[int]:
    try:
        values = [int(w) for w in widths.split(",") if w.strip()]
    except ValueError:
        raise ValueError(
            f"widths must be comma-separated integers such as '256,256', got {widths!r}"
        ) from None
    return values


def _check_memory(n_train: int, n_test: int, d: int, widths: list[int], records: str) -> None:
    """Refuse a network or data set whose arrays cannot fit in this machine's memory.

    The estimate (float64): inputs (N, d), parameters P, the Jacobian (N, P) of the
    empirical NTK, and K_t (N, N) kept at every record (at most ~40 with 'decades').
    Sizes below 1 are left to the validation of ``mlp`` and ``load_dataset``.
    """
    from ntkjam.core.limits import check_memory

    if n_train < 1 or n_test < 0 or d < 1 or any(w < 1 for w in widths):
        return
    n = n_train + n_test
    sizes = [d, *widths, 1]
    P = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    kernels = 40 if records == "decades" else 200
    nbytes = 8.0 * (n * d + 4.0 * P + 2.0 * n_train * P + kernels * n_train**2)
    check_memory(nbytes, f"a network of widths {widths} (P = {P} parameters) on N = "
                 f"{n_train} points in d = {d}", "lower --n, --d or --widths")


def plot_trajectory(traj, meta: dict, path: Path) -> Path:
    """Loss and N_Δ vs time, and ‖K_t − K_0‖_F / ‖K_0‖_F vs time: PATH (PNG) and its PDF.

    Drawn by :func:`ntkjam.figures.training.save_training_figure`.

    Parameters
    ----------
    traj : ntkjam.networks.Trajectory
    meta : dict
        Status, message and config (as written by ``save_trajectory``).
    path : pathlib.Path
        Output file (``.png``; the ``.pdf`` is written beside it).

    Returns
    -------
    pathlib.Path
        The PNG.
    """
    from ntkjam.figures.training import save_training_figure

    return save_training_figure(traj, meta, path)[0]


def _check_options(*, data: str, n: int, optimizer: str, kernel_records: str, lr: float,
                   unsat_window: int, unsat_rtol: float,
                   unsat_time_window: float | None) -> str:
    """Refuse bad option values; the ``--kernel-records`` rule, ``auto`` resolved by N."""
    from ntkjam._validate import as_choice, as_int, as_real

    as_choice("data", data, DATASETS)
    # Validate n here so that the message names the option (load_dataset says n_train).
    as_int("n", n, minimum=1)
    as_choice("optimizer", optimizer, OPTIMIZERS)
    kernel_records = as_choice("kernel_records", kernel_records, KERNEL_RECORDS)
    if kernel_records == "auto":
        kernel_records = "records" if n <= 1000 else "decades"
    as_real("lr", lr, positive=True)
    as_int("unsat_window", unsat_window, minimum=1)
    as_real("unsat_rtol", unsat_rtol, nonnegative=True)
    if unsat_time_window is not None:
        as_real("unsat_time_window", unsat_time_window, positive=True)
    return kernel_records


def _optimizer_and_rules(optimizer: str, lr: float, *, unsat_window: int, unsat_rtol: float,
                         unsat_time_window: float | None, max_steps: int,
                         max_time: float) -> tuple[object, tuple[object, ...]]:
    """The optimizer (``lr`` is the initial dt of ``flow``) and the stopping rules."""
    from ntkjam.networks import GD, Adam, Budget, GradientFlow, SATReached, UNSATConverged

    opt = {"gd": GD(lr=lr), "flow": GradientFlow(dt=lr), "adam": Adam(lr=lr)}[optimizer]
    stop = (
        SATReached(),
        UNSATConverged(window=unsat_window, rtol=unsat_rtol, time_window=unsat_time_window),
        Budget(max_steps=max_steps, max_time=max_time),
    )
    return opt, stop


def _save_and_report(result, net, params, ds, output: Path) -> None:
    """Write OUTPUT/trajectory.npz and its figure, then print the network and how it ended."""
    from rich.console import Console

    from ntkjam.networks import dead_inputs, load_trajectory, param_count, save_trajectory

    output.mkdir(parents=True, exist_ok=True)
    npz = save_trajectory(result, output / "trajectory.npz")
    traj, meta = load_trajectory(npz)
    png = plot_trajectory(traj, meta, output / "trajectory.png")

    console = Console()
    P = param_count(net)
    dead = dead_inputs(net, params, ds.X_train)
    console.print(f"network: widths {list(net.widths)}, {net.activation.name}, P = {P}, "
                  f"N = {ds.n_train}, phi = N/P = {ds.n_train / P:.4g}")
    console.print(f"status: {result.status} — {result.message}")
    console.print(f"steps: {result.steps} ({result.accepted} accepted), t = {result.time:.6g}, "
                  f"final loss = {traj.loss[-1]:.6g}, N_Delta = {int(traj.n_unsat[-1])}, "
                  f"|K_t - K_0|/|K_0| = {traj.kernel_change[-1]:.4g}")
    if dead.any:
        console.print(f"warning: dead inputs at initialisation: {dead.message()}")
    console.print(f"wrote {npz} and {png}")


@app.command("train")
@friendly_errors
def train_command(
    ctx: typer.Context,
    data: Data = "sphere",
    n: TrainPoints = 100,
    n_test: Annotated[int, typer.Option(help="Number of test points (outputs recorded).")] = 0,
    d: InputDim = None,
    labels: Annotated[
        Literal[TRAIN_LABELS], typer.Option(help="Labels (parity: digits only).")
    ] = "random",
    seed: Annotated[int, typer.Option(help="Seed of the data set.")] = 0,
    radius: Annotated[
        str | None,
        typer.Option(help="Norm of sphere/digits inputs: a number (default 1) or 'sqrt_d'."),
    ] = "sqrt_d",
    widths: Annotated[
        str, typer.Option(help="Hidden widths, comma-separated, e.g. '256,256' (depth 2).")
    ] = "256",
    activation: Annotated[Literal[ACTIVATIONS], typer.Option(help="Nonlinearity.")] = "relu",
    sigma_w: Annotated[float, typer.Option(help="Weight scale sigma_w > 0.")] = math.sqrt(2.0),
    sigma_b: Annotated[
        float, typer.Option(help="Bias scale sigma_b (> 0 with --bias, 0 without).")
    ] = 0.0,
    bias: Annotated[bool, typer.Option(metavar="", help="Give every layer a bias.")] = False,
    parameterization: Annotated[
        Literal[PARAMETERIZATIONS],
        typer.Option(help="ntk (as the analytic kernels) or standard."),
    ] = "ntk",
    init_seed: Annotated[int, typer.Option(help="Seed of the initial weights.")] = 0,
    alpha: Annotated[
        float,
        typer.Option(help="Output scale alpha > 0: train alpha*(f - f0), loss/alpha^2; "
                     "large alpha = lazy regime."),
    ] = 1.0,
    centered: Annotated[
        bool,
        typer.Option(metavar="", help="Subtract the initial function f0 (Chizat-Bach centering)."),
    ] = True,
    loss: Loss = "quadratic_hinge",
    margin: Annotated[
        float, typer.Option(help="Margin kappa of the constraints y f >= kappa.")
    ] = 1.0,
    optimizer: Annotated[
        Literal[OPTIMIZERS],
        typer.Option(help="gd (fixed step), flow (adaptive gradient flow) or adam."),
    ] = "gd",
    lr: Annotated[
        float, typer.Option(help="Step size (gd, adam) or initial dt (flow).")
    ] = 0.5,
    max_steps: Annotated[int, typer.Option(help="Budget: iterations.")] = 10_000,
    max_time: Annotated[float, typer.Option(help="Budget: training time t.")] = math.inf,
    unsat_window: Annotated[
        int, typer.Option(help="UNSAT when the loss decreases by < unsat-rtol over this "
                          "many steps.")
    ] = 1000,
    unsat_rtol: Annotated[float, typer.Option(help="Relative tolerance of the UNSAT rule.")] = 1e-5,
    unsat_time_window: Annotated[
        float | None,
        typer.Option(help="UNSAT window in time instead of steps (advised with --optimizer "
                     "flow, whose steps vary)."),
    ] = None,
    unsat_tol: Annotated[
        float, typer.Option(help="A constraint is unsatisfied if kappa - y f > unsat-tol.")
    ] = 1e-9,
    kernel_records: Annotated[
        Literal[KERNEL_RECORDS],
        typer.Option(help="When to record K_t (8 N^2 bytes each): 'records' (at every "
                     "record), 'decades' (t = 0, powers of ten, end) or 'auto' (records "
                     "if N <= 1000, else decades)."),
    ] = "auto",
    output: Annotated[
        Path, typer.Option(help="Output directory: trajectory.npz and trajectory.png.")
    ] = Path("runs/train"),
    n_train_old: Annotated[int | None, old_spelling("--n-train", "--n")] = None,
    out_old: OldOut = None,
) -> None:
    """Train one fully-connected network on a data set; save its trajectory and a figure.

    The trained function is F = alpha (f_theta - f_theta0) with loss
    (1/alpha^2)(1/N) sum_i l(F_i, y_i), so that F moves as dF/dt = -K_t grad_F L
    with the empirical NTK K_t: time is comparable across alpha.  Training stops
    at SAT (every margin satisfied), UNSAT (loss converged to a positive value) or
    at the budget.  Writes OUTPUT/trajectory.npz (np.load(..., allow_pickle=False))
    and OUTPUT/trajectory.png (loss and N_Delta vs t; |K_t - K_0|_F/|K_0|_F vs t).
    Notation: N = training points, P = parameters.
    """
    from ntkjam._validate import as_int
    from ntkjam.data import load_dataset
    from ntkjam.networks import init_params, mlp, train

    n = renamed(ctx, "n", n, n_train_old, "--n", "--n-train")
    output = renamed(ctx, "output", output, out_old, "--output", "--out")
    kernel_records = _check_options(
        data=data, n=n, optimizer=optimizer, kernel_records=kernel_records, lr=lr,
        unsat_window=unsat_window, unsat_rtol=unsat_rtol, unsat_time_window=unsat_time_window,
    )
    output = check_output_dir(output, "--output")
    if d is not None:
        as_int("d", d, minimum=1)
    d = input_dim(data, d)
    d_in = 64 if d is None else d  # digits: 8 x 8 images
    hidden = _parse_widths(widths)
    _check_memory(n, n_test, d_in, hidden, kernel_records)
    net = mlp(d_in, hidden, activation=activation, sigma_w=sigma_w, sigma_b=sigma_b, bias=bias,
              parameterization=parameterization)
    ds = load_dataset(
        data, n_train=n, n_test=n_test, d=d, labels=labels, seed=seed,
        radius=parse_radius(radius) if data != "gaussian" else None,
    )
    params = init_params(net, init_seed)
    opt, stop = _optimizer_and_rules(
        optimizer, lr, unsat_window=unsat_window, unsat_rtol=unsat_rtol,
        unsat_time_window=unsat_time_window, max_steps=max_steps, max_time=max_time,
    )
    result = train(
        net, params, ds.X_train, ds.y_train, loss=loss, margin=margin, alpha=alpha,
        centered=centered, optimizer=opt, stop=stop,
        X_test=ds.X_test if ds.n_test else None, unsat_tol=unsat_tol,
        kernel_times=kernel_records,
    )
    _save_and_report(result, net, params, ds, output)
