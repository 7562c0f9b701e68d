"""``ntkjam kernel``: a kernel Gram on a data set, summarised as a table (optionally saved)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import typer

from ntkjam.cli._app import app
from ntkjam.cli._choices import ACTIVATIONS, DATASETS
from ntkjam.cli._common import friendly_errors, parse_radius
from ntkjam.cli._options import Data, InputDim, OldOut, input_dim
from ntkjam.cli._renamed import renamed
from ntkjam.core.reprs import SummaryRepr

KERNELS = ("ntk", "nngp", "rbf", "polynomial")


@dataclass(frozen=True, repr=False)
class GramSummary(SummaryRepr):
    """Spectral summary of a symmetric PSD Gram matrix ``K`` (N, N).

    ``rank`` counts eigenvalues above ``tolerance = rtol · λ_max`` (default
    ``rtol = N · eps``); ``condition`` is ``λ_max / λ_min`` when the rank is full
    and ``inf`` otherwise.
    """

    shape: tuple[int, int]
    diagonal_min: float
    diagonal_mean: float
    diagonal_max: float
    trace: float
    rank: int
    tolerance: float
    rtol: float
    condition: float
    eigenvalues: np.ndarray  # all of them, descending

    @property
    def top(self) -> np.ndarray:
        """The five largest eigenvalues (fewer when N < 5)."""
        return self.eigenvalues[:5]


def summarize_gram(K: np.ndarray, *, rtol: float | None = None) -> GramSummary:
    """Diagonal, trace, numerical rank, condition number and eigenvalues of ``K``.

    Parameters
    ----------
    K : numpy.ndarray, shape (N, N)
        Symmetric (checked) positive semi-definite Gram matrix.
    rtol : float, optional
        Eigenvalues ``<= rtol · λ_max`` count as zero; default ``N · eps``.

    Returns
    -------
    GramSummary
    """
    import scipy.linalg

    from ntkjam._validate import as_real, as_square_symmetric

    K = as_square_symmetric("K", K)
    n = K.shape[0]
    rtol = n * np.finfo(np.float64).eps if rtol is None else as_real("rtol", rtol, positive=True)
    lam = scipy.linalg.eigvalsh(K, check_finite=False)[::-1]
    tol = rtol * max(float(lam[0]), 0.0)
    rank = int(np.count_nonzero(lam > tol))
    condition = float(lam[0] / lam[-1]) if rank == n and lam[-1] > 0 else math.inf
    diag = np.diag(K)
    return GramSummary(
        shape=K.shape,
        diagonal_min=float(diag.min()),
        diagonal_mean=float(diag.mean()),
        diagonal_max=float(diag.max()),
        trace=float(diag.sum()),
        rank=rank,
        tolerance=tol,
        rtol=rtol,
        condition=condition,
        eigenvalues=lam,
    )


def _kernel_parameters(
    kernel: str,
    *,
    depth: int,
    activation: str,
    sigma_w: float,
    sigma_b: float,
    lengthscale: float,
    degree: int,
    coef0: float,
    scale: float,
) -> dict[str, object]:
    """The options that the chosen kernel uses (the others are ignored)."""
    if kernel in ("ntk", "nngp"):
        return {"depth": depth, "activation": activation, "sigma_w": sigma_w, "sigma_b": sigma_b}
    if kernel == "rbf":
        return {"lengthscale": lengthscale}
    return {"degree": degree, "coef0": coef0, "scale": scale}


def _check_kernel_parameters(kernel: str, params: dict[str, object]) -> None:
    """Refuse bad kernel options up front, with the kernel's own checks and messages.

    For ntk/nngp this includes the float64 range of ``sigma_w`` and ``sigma_b``
    (see :func:`ntkjam.kernels.analytic.check_hyperparameters`).
    """
    from ntkjam.kernels.analytic import check_hyperparameters

    if kernel in ("ntk", "nngp"):
        check_hyperparameters(**params)


def _check_unused_options(*, lengthscale: float, degree: int, coef0: float,
                          scale: float) -> None:
    """Every kernel option is checked, used by the chosen kernel or not: a bad value is a
    mistake the user should hear about, not one that is silently ignored."""
    from ntkjam._validate import as_int, as_real

    as_real("lengthscale", lengthscale, positive=True)
    as_int("degree", degree, minimum=0)
    as_real("coef0", coef0, nonnegative=True)
    as_real("scale", scale, positive=True)


def _check_options(*, data: str, kernel: str, output: Path | None, n: int,
                   rank_rtol: float | None) -> None:
    """Refuse bad option values and a Gram that cannot fit in memory, before any work."""
    from ntkjam._validate import as_choice, as_int, as_real
    from ntkjam.core.limits import check_memory
    from ntkjam.data import DIGITS_SIZE

    as_choice("data", data, DATASETS)
    as_choice("kernel", kernel, KERNELS)
    if output is not None:
        if output.suffix != ".npz":
            raise ValueError(f"--output must be a path ending in .npz, got {str(output)!r}")
        if not output.parent.is_dir():
            raise ValueError(f"--output: directory {str(output.parent)!r} does not exist")
    # Validate n here so that the message names the option (load_dataset says n_train).
    as_int("n", n, minimum=1)
    check_memory(24.0 * n * n, f"--n {n}", "lower --n (the N x N Gram and its eigenvalues)")
    if rank_rtol is not None:
        as_real("rank_rtol", rank_rtol, positive=True)
    if data == "digits" and n > DIGITS_SIZE:
        raise ValueError(f"n must be <= {DIGITS_SIZE} for digits (images available), got {n}")


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _print_summary(summary: GramSummary, params: dict[str, object], *, title: str) -> None:
    """The summary as a table, the kernel's parameters as its caption."""
    from rich.console import Console
    from rich.table import Table

    described = ", ".join(
        f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )
    table = Table(title=title, caption=described)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("shape", f"{summary.shape[0]} x {summary.shape[1]}")
    table.add_row(
        "diagonal min / mean / max",
        " / ".join(
            _fmt(v) for v in (summary.diagonal_min, summary.diagonal_mean, summary.diagonal_max)
        ),
    )
    table.add_row("trace", _fmt(summary.trace))
    table.add_row(
        "numerical rank",
        f"{summary.rank} (eigenvalues > {summary.tolerance:.3g} = {summary.rtol:.3g} x max)",
    )
    table.add_row("condition number", _fmt(summary.condition))
    table.add_row("top eigenvalues", ", ".join(_fmt(v) for v in summary.top))
    table.add_row("smallest eigenvalue", _fmt(summary.eigenvalues[-1]))
    Console().print(table)


def _save(output: Path, K: np.ndarray, dataset, summary: GramSummary, params: dict[str, object],
          *, data: str, kernel: str, seed: int) -> None:
    """Write K, X, the eigenvalues and the parameters to OUTPUT (plain arrays and strings)."""
    from rich.console import Console

    from ntkjam._version import __version__

    X = dataset.X_train
    arrays: dict[str, np.ndarray] = {
        "K": K,
        "X": X,
        "eigenvalues": summary.eigenvalues,
        "data": np.str_(data),
        "kernel": np.str_(kernel),
        "n": np.int64(X.shape[0]),
        "d": np.int64(X.shape[1]),
        "seed": np.int64(seed),
        "radius": np.float64(math.nan if dataset.radius is None else dataset.radius),
        "rank": np.int64(summary.rank),
        "rank_tolerance": np.float64(summary.tolerance),
        "ntkjam_version": np.str_(__version__),
    }
    for key, value in params.items():
        arrays[key] = np.str_(value) if isinstance(value, str) else np.asarray(value)
    np.savez(output, **arrays)
    Console().print(f"saved {output}")


@app.command()
@friendly_errors
def kernel(
    ctx: typer.Context,
    data: Data = "sphere",
    n: Annotated[int, typer.Option(help="Number of points N.")] = 200,
    d: InputDim = None,
    seed: Annotated[int, typer.Option(help="Seed of the inputs.")] = 0,
    radius: Annotated[
        str | None,
        typer.Option(help="Norm of the inputs for sphere and digits: a number (default 1) or "
                     "'sqrt_d' (then q0 = |x|^2/d = 1 in the NTK parameterization)."),
    ] = None,
    kernel: Annotated[
        Literal[KERNELS],
        typer.Option(
            "--kernel",
            help="Kernel: ntk, nngp (infinite-width network, NTK parameterization), "
            "rbf (exp(-|x-x'|^2/2l^2)) or polynomial ((scale x.x' + coef0)^degree).",
        ),
    ] = "ntk",
    depth: Annotated[int, typer.Option(help="ntk/nngp: number of hidden layers L >= 0.")] = 1,
    activation: Annotated[
        Literal[ACTIVATIONS], typer.Option(help="ntk/nngp: the nonlinearity.")
    ] = "relu",
    sigma_w: Annotated[
        float, typer.Option(help="ntk/nngp: weight standard deviation sigma_w > 0.")
    ] = math.sqrt(2.0),
    sigma_b: Annotated[
        float, typer.Option(help="ntk/nngp: bias standard deviation sigma_b >= 0.")
    ] = 0.0,
    lengthscale: Annotated[float, typer.Option(help="rbf: lengthscale l > 0.")] = 1.0,
    degree: Annotated[int, typer.Option(help="polynomial: degree >= 0.")] = 2,
    coef0: Annotated[float, typer.Option(help="polynomial: constant term >= 0.")] = 1.0,
    scale: Annotated[float, typer.Option(help="polynomial: scale of x.x', > 0.")] = 1.0,
    rank_rtol: Annotated[
        float | None,
        typer.Option(
            help="Relative rank tolerance: eigenvalues <= rtol * lambda_max count as zero "
            "(default N * machine epsilon)."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Save K, X, the eigenvalues and the parameters to this .npz file "
            "(plain arrays and strings: np.load(path, allow_pickle=False))."
        ),
    ] = None,
    out_old: OldOut = None,
) -> None:
    """Compute a kernel Gram matrix on a data set and print its summary.

    The table gives the shape, the diagonal (min/mean/max), the trace, the
    numerical rank with its tolerance, the condition number and the five largest
    eigenvalues.  Notation: N = number of points.
    """
    from ntkjam.data import load_dataset
    from ntkjam.kernels import analytic

    output = renamed(ctx, "output", output, out_old, "--output", "--out")
    _check_options(data=data, kernel=kernel, output=output, n=n, rank_rtol=rank_rtol)
    params = _kernel_parameters(kernel, depth=depth, activation=activation, sigma_w=sigma_w,
                                sigma_b=sigma_b, lengthscale=lengthscale, degree=degree,
                                coef0=coef0, scale=scale)
    _check_unused_options(lengthscale=lengthscale, degree=degree, coef0=coef0, scale=scale)
    _check_kernel_parameters(kernel, params)  # before any data are drawn
    dataset = load_dataset(data, n_train=n, d=input_dim(data, d), seed=seed,
                           radius=parse_radius(radius))
    X = dataset.X_train
    K = getattr(analytic, kernel)(X, **params)
    summary = summarize_gram(K, rtol=rank_rtol)
    norm = "" if dataset.radius is None else f", |x| = {dataset.radius:.6g}"
    _print_summary(summary, params, title=f"{kernel} Gram on {data} (N={X.shape[0]}, "
                   f"d={X.shape[1]}, seed={seed}{norm})")
    if output is not None:
        _save(output, K, dataset, summary, params, data=data, kernel=kernel, seed=seed)
