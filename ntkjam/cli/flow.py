"""``ntkjam flow``: function-space dynamics of a kernel or random features on a data set."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import typer

from ntkjam.cli._app import app
from ntkjam.cli._choices import ACTIVATIONS, DATASETS, LABELS
from ntkjam.cli._common import friendly_errors
from ntkjam.cli._options import Data, InputDim, Loss, OldOut, TrainPoints, input_dim
from ntkjam.cli._renamed import old_spelling, renamed

KERNELS = ("ntk", "nngp", "rbf")
FEATURES = ("none", "relu", "erf", "tanh", "fourier")
METHODS = ("flow", "gd")


def __getattr__(name: str):
    """``plot_trajectory``: moved to :func:`ntkjam.figures.flow.save_flow_figure` (same
    arguments; it now writes PNG and PDF), a deprecated alias for one release."""
    if name == "plot_trajectory":
        from ntkjam.core.deprecation import deprecated_alias
        from ntkjam.figures.flow import save_flow_figure

        return deprecated_alias(save_flow_figure, "plot_trajectory")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class _GramSource:
    """What the dynamics run on: an analytic kernel (``features == "none"``) or P random features.

    ntk/nngp use ``depth``, ``activation``, ``sigma_w`` and ``sigma_b``; rbf and
    fourier the ``lengthscale``; relu/erf/tanh features ``sigma_w`` and ``sigma_b``.
    """

    kernel: str
    features: str
    P: int
    depth: int
    activation: str
    sigma_w: float
    sigma_b: float
    lengthscale: float
    seed: int

    def check(self) -> None:
        """Refuse the chosen kernel's (or features') hyperparameters, before any data are drawn."""
        from ntkjam._validate import as_real

        if self.features == "none" and self.kernel in ("ntk", "nngp"):
            from ntkjam.kernels.analytic import check_hyperparameters

            check_hyperparameters(depth=self.depth, activation=self.activation,
                                  sigma_w=self.sigma_w, sigma_b=self.sigma_b)
        elif self.features == "none" or self.features == "fourier":
            as_real("lengthscale", self.lengthscale, positive=True)
        else:
            as_real("sigma_w", self.sigma_w, positive=True)
            as_real("sigma_b", self.sigma_b, nonnegative=True)

    def build(self, X: np.ndarray, n: int, n_test: int) -> tuple[dict[str, object], str]:
        """The dynamics' keyword arguments (the first ``n`` rows of ``X`` train, the rest
        test, starting at 0) and a description of the source."""
        if self.features == "none":
            K_all = self._gram(X)
            source: dict[str, object] = {"kernel": K_all[:n, :n]}
            if n_test:
                source.update(test_kernel=K_all[n:, :n], f0_test=np.zeros(n_test))
            return source, f"{self.kernel} kernel"
        from ntkjam.kernels import features as feats

        if self.features == "fourier":
            J_all = feats.random_fourier_features(X, self.P, lengthscale=self.lengthscale,
                                                  seed=self.seed)
        else:
            J_all = feats.random_features(X, self.P, activation=self.features, seed=self.seed,
                                          sigma_w=self.sigma_w, sigma_b=self.sigma_b)
        source = {"features": J_all[:n]}
        if n_test:
            source.update(test_features=J_all[n:], f0_test=np.zeros(n_test))
        width = J_all.shape[1]
        return source, f"{self.features} features, P = {width} (φ = {n / width:.3g})"

    def _gram(self, X: np.ndarray) -> np.ndarray:
        from ntkjam.kernels import analytic

        if self.kernel == "rbf":
            return analytic.rbf(X, lengthscale=self.lengthscale)
        return getattr(analytic, self.kernel)(X, depth=self.depth, activation=self.activation,
                                              sigma_w=self.sigma_w, sigma_b=self.sigma_b)


def _check_options(src: _GramSource, *, data: str, method: str, labels: str, n: int,
                   n_test: int, lr: float, max_time: float, steps: int,
                   batch_size: int | None) -> None:
    """Refuse bad option values, then a Gram (or features) that cannot fit in memory."""
    from ntkjam._validate import as_choice, as_int, as_real
    from ntkjam.core.limits import check_memory

    as_choice("data", data, DATASETS)
    as_choice("kernel", src.kernel, KERNELS)
    as_choice("features", src.features, FEATURES)
    as_choice("method", method, METHODS)
    as_choice("labels", labels, LABELS)
    as_int("n", n, minimum=1)
    as_int("n_test", n_test, minimum=0)
    as_int("P", src.P, minimum=1)
    as_real("lr", lr, positive=True)
    if not max_time > 0:  # the option's name
        raise ValueError(f"max_time must be > 0 (inf allowed), got {max_time!r}")
    as_int("steps", steps, minimum=1)
    if batch_size is not None:
        as_int("batch_size", batch_size, minimum=1)
    as_real("lengthscale", src.lengthscale, positive=True)
    # The Gram (or the features) of all N + n_test points, a few copies of it.
    n_all = n + n_test
    width = n_all if src.features == "none" else src.P
    check_memory(24.0 * n_all * max(width, n_all), f"--n {n} (+ --n-test {n_test})",
                 "lower --n, --n-test or --P")


def _save(output: Path, res, ds, *, data: str, n: int, seed: int, what: str, title: str,
          method: str) -> None:
    """Write OUTPUT/trajectory.npz (plain arrays) and its figure OUTPUT/flow.png, flow.pdf."""
    from ntkjam.figures.flow import save_flow_figure

    output.mkdir(parents=True, exist_ok=True)
    arrays = res.as_arrays()
    arrays.update(y_train=ds.y_train, y_test=ds.y_test, n=np.array(n), seed=np.array(seed),
                  source=np.array(what), data=np.array(data))
    np.savez(output / "trajectory.npz", **arrays)
    save_flow_figure(res, output / "flow.png", title=title,
                     xlabel="flow time t" if method == "flow" else "step k")


def _print_summary(res, ds, *, title: str, method: str, output: Path) -> None:
    """The final state as a table, the stop message and the files written."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("value")
    rows = [
        ("status", res.status),
        ("verdict", res.verdict),
        ("time" if method == "flow" else "steps", f"{res.final_time:.6g}"),
        ("loss", f"{res.loss[-1]:.6e}"),
        ("N_Δ", str(int(res.n_unsat[-1]))),
        ("‖K∇L‖", f"{res.kgrad_norm[-1]:.3e}"),
        ("steps (rejected)", f"{res.n_steps} ({res.n_rejected})"),
    ]
    if ds.n_test:
        test_err = float(np.mean(ds.y_test * res.final_test_outputs <= 0))
        rows.append(("test error", f"{test_err:.4f}"))
    for row in rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    console.print(res.message, highlight=False)
    console.print(f"wrote {output / 'trajectory.npz'}, {output / 'flow.png'} and "
                  f"{output / 'flow.pdf'}", highlight=False)


@app.command()
@friendly_errors
def flow(
    ctx: typer.Context,
    data: Data = "sphere",
    n: TrainPoints = 200,
    n_test: Annotated[int, typer.Option(help="Number of test points (0: none).")] = 0,
    d: InputDim = None,
    labels: Annotated[Literal[LABELS], typer.Option(help="Labels.")] = "random",
    seed: Annotated[int, typer.Option(help="Seed of the data and of the features.")] = 0,
    kernel: Annotated[
        Literal[KERNELS],
        typer.Option(help="Analytic kernel when --features is none: ntk, nngp "
                          "(infinite-width network) or rbf."),
    ] = "ntk",
    features: Annotated[
        Literal[FEATURES],
        typer.Option(help="Random features instead of a kernel: relu, erf, tanh (a random "
                          "hidden layer of P units) or fourier (random Fourier features of "
                          "the rbf kernel); none: use --kernel."),
    ] = "none",
    P: Annotated[
        int, typer.Option("--P", help="Number of random features P (with --features).")
    ] = 100,
    depth: Annotated[int, typer.Option(help="ntk/nngp: number of hidden layers.")] = 1,
    activation: Annotated[
        Literal[ACTIVATIONS], typer.Option(help="ntk/nngp: activation.")
    ] = "relu",
    sigma_w: Annotated[float, typer.Option(help="Weight standard deviation.")] = math.sqrt(2.0),
    sigma_b: Annotated[float, typer.Option(help="Bias standard deviation.")] = 0.0,
    lengthscale: Annotated[float, typer.Option(help="rbf / fourier lengthscale.")] = 1.0,
    loss: Loss = "quadratic_hinge",
    margin: Annotated[float, typer.Option(help="Margin κ in Δ = κ − y f.")] = 1.0,
    beta: Annotated[float, typer.Option(help="Sharpness β of soft_hinge / sigmoid.")] = 10.0,
    method: Annotated[
        Literal[METHODS],
        typer.Option(help="flow (adaptive gradient flow) or gd (gradient descent)."),
    ] = "flow",
    lr: Annotated[float, typer.Option(help="Learning rate η > 0.")] = 1.0,
    steps: Annotated[int, typer.Option(help="gd: number of steps.")] = 10_000,
    batch_size: Annotated[
        int | None, typer.Option(help="gd: mini-batch size (default: full batch).")
    ] = None,
    max_time: Annotated[float, typer.Option(help="flow: maximum flow time.")] = math.inf,
    max_steps: Annotated[int, typer.Option(help="Maximum number of accepted steps.")] = 1_000_000,
    grad_tol: Annotated[
        float, typer.Option(help="Stop ('converged') when ‖K∇L‖ <= this, with ∇L = ℓ'(f)/N.")
    ] = 1e-10,
    unsat_tol: Annotated[
        float, typer.Option(help="Tolerance of N_Δ = #{Δ_i > tol}; SAT when N_Δ = 0.")
    ] = 1e-9,
    output: Annotated[
        Path,
        typer.Option(help="Output directory: trajectory.npz (plain arrays, "
                          "np.load(allow_pickle=False)), flow.png and flow.pdf."),
    ] = Path("flow_out"),
    p_old: Annotated[int | None, old_spelling("--p", "--P")] = None,
    t_max_old: Annotated[float | None, old_spelling("--t-max", "--max-time")] = None,
    out_old: OldOut = None,
) -> None:
    """Run function-space dynamics ḟ = −η K ∇L(f) from f₀ = 0 and save the trajectory.

    The training Gram K is an analytic kernel of the inputs or J Jᵀ for P random
    features J (then K is never formed when P < N).  Test outputs move with the
    cross kernel.  L = (1/N) Σ ℓ(f_i, y_i); SAT = every margin Δ_i = κ − y_i f_i ≤ tol;
    converged = ‖K∇L‖ below --grad-tol; budget = --max-time / --max-steps / --steps spent;
    nan = the run diverged (non-finite outputs or loss: lower --lr).  The verdict row
    is SAT only when the final N_Δ = 0, UNSAT only for a (quadratic) hinge run
    that converged at a positive loss, else undecided (or diverged).
    Notation: N = training points, P = features, φ = N/P.
    """
    from ntkjam.data import load_dataset
    from ntkjam.dynamics import StoppingRules, gradient_descent, gradient_flow
    from ntkjam.losses import get_loss

    P = renamed(ctx, "P", P, p_old, "--P", "--p")
    max_time = renamed(ctx, "max_time", max_time, t_max_old, "--max-time", "--t-max")
    output = renamed(ctx, "output", output, out_old, "--output", "--out")
    src = _GramSource(kernel=kernel, features=features, P=P, depth=depth, activation=activation,
                      sigma_w=sigma_w, sigma_b=sigma_b, lengthscale=lengthscale, seed=seed)
    _check_options(src, data=data, method=method, labels=labels, n=n, n_test=n_test, lr=lr,
                   max_time=max_time, steps=steps, batch_size=batch_size)
    loss_obj = get_loss(loss, margin=margin, beta=beta)
    src.check()
    if output.exists() and not output.is_dir():
        raise ValueError(f"--output must be a directory, got the file {str(output)!r}")
    ds = load_dataset(data, n_train=n, n_test=n_test, d=input_dim(data, d), labels=labels,
                      seed=seed)
    X = np.vstack([ds.X_train, ds.X_test]) if n_test else ds.X_train
    source, what = src.build(X, n, n_test)
    rules = StoppingRules(grad_tol=grad_tol, max_time=max_time, max_steps=max_steps,
                          unsat_tol=unsat_tol)
    f0 = np.zeros(n)
    if method == "flow":
        res = gradient_flow(f0, ds.y_train, loss_obj, lr=lr, stopping=rules, **source)
    else:
        res = gradient_descent(f0, ds.y_train, loss_obj, lr=lr, n_steps=steps,
                               batch_size=batch_size, seed=seed, stopping=rules, **source)
    _save(output, res, ds, data=data, n=n, seed=seed, what=what, method=method,
          title=f"{loss} on {data}, N = {n}, {what}")
    _print_summary(res, ds, method=method, output=output,
                   title=f"ntkjam flow: {loss} (κ = {margin:g}) on {data}, N = {n}, {what}")
