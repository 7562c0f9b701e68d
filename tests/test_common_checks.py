"""Common checks (in the manner of scikit-learn's) over every public solver and every
experiment task.

Solvers (``SOLVERS``): a NaN input is a ``ValueError`` naming the parameter; inputs are
not mutated; the same inputs and seed give a bit-identical result; results are frozen.

Experiment tasks (every name of ``ntkjam.sweep.registry.names()``, and the spectrum task
that ``ntkjam spectrum`` runs by import path), on tiny params: a NaN parameter is a
``ValueError`` naming it; the params dict is not mutated; the same seed gives identical
measurements; the output is JSON-able (scalars) with NumPy arrays under ``"arrays"``;
the defaults the task's docstring states are the defaults the task resolves.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import math
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from ntkjam.sweep import registry

# --------------------------------------------------------------------------- helpers


def _nan(a: Any) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.flat[0] = np.nan
    return a


def assert_identical(a: Any, b: Any, where: str = "result") -> None:
    """Bit-for-bit equality through dataclasses, dicts, sequences and arrays (NaN == NaN).

    Wall-clock fields (names ending in ``seconds``) are skipped.
    """
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            if not f.name.endswith("seconds"):
                assert_identical(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            if not str(k).endswith("seconds"):
                assert_identical(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    elif hasattr(a, "shape") and hasattr(a, "dtype"):
        x, y = np.asarray(a), np.asarray(b)
        assert x.shape == y.shape and x.dtype == y.dtype, where
        assert np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"), f"{where} differs"
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _snapshot(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else copy.deepcopy(v))
            for k, v in inputs.items()}


# --------------------------------------------------------------------------- solvers


@dataclass(frozen=True)
class Solver:
    """``call(**inputs())`` runs the solver; ``nan`` names the inputs to poison one by one
    (the error must name the parameter, given as ``(input, name in the message)``)."""

    name: str
    call: Callable[..., Any]
    inputs: Callable[[], dict[str, Any]]
    nan: tuple[tuple[str, str], ...]


def _data():
    rng = np.random.default_rng(0)
    N, P, d = 12, 6, 3
    J = rng.standard_normal((N, P))
    y = rng.choice([-1.0, 1.0], N)
    X = rng.standard_normal((N, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return {"J": J, "y": y, "K": J @ J.T, "f0": np.zeros(N), "X": X}


def _problem_solver(name: str, solve: Callable[..., Any]) -> Solver:
    from ntkjam.problem import Problem

    def call(J, y, f0, margin, tol):
        return solve(Problem(y=y, J=J, f0=f0, margin=margin), tol=tol)

    def inputs():
        D = _data()
        return {"J": D["J"], "y": D["y"], "f0": 0.3 * D["J"][:, 0], "margin": 1.0,
                "tol": 1e-9}

    return Solver(name, call, inputs, (("J", "J"), ("f0", "f0"), ("margin", "margin"),
                                       ("tol", "tol")))


def _solvers() -> list[Solver]:
    from ntkjam import fixed_points
    from ntkjam.dynamics import StoppingRules, gradient_descent, gradient_flow, mse_exact
    from ntkjam.jamming import lp_certificate, minimize_quadratic_hinge, sat_unsat
    from ntkjam.kernels import nngp, ntk, polynomial, rbf
    from ntkjam.networks import (
        GD,
        Budget,
        SATReached,
        UNSATConverged,
        empirical_ntk,
        init_params,
        mlp,
        train,
    )

    net = mlp(3, [8])
    rules = StoppingRules(max_steps=300)

    def flow_inputs():
        D = _data()
        return {"f0": D["f0"], "y": D["y"], "kernel": D["K"], "lr": 1.0}

    def net_inputs():
        D = _data()
        return {"X": D["X"], "y": D["y"], "margin": 1.0}

    def kernel_inputs():
        D = _data()
        return {"X1": D["X"], "X2": D["X"][:5]}

    stop = (SATReached(), UNSATConverged(window=20), Budget(max_steps=40))
    return [
        _problem_solver("minimize_quadratic_hinge", minimize_quadratic_hinge),
        _problem_solver("lp_certificate", lp_certificate),
        _problem_solver("sat_unsat", sat_unsat),
        Solver("gradient_flow",
               lambda f0, y, kernel, lr: gradient_flow(f0, y, "quadratic_hinge", kernel=kernel,
                                                       lr=lr, stopping=rules),
               flow_inputs, (("f0", "f0"), ("kernel", "kernel"), ("lr", "lr"))),
        Solver("gradient_descent",
               lambda f0, y, kernel, lr: gradient_descent(
                   f0, y, "quadratic_hinge", kernel=kernel, lr=0.05 * lr, n_steps=60,
                   batch_size=4, seed=3),
               flow_inputs, (("f0", "f0"), ("kernel", "kernel"), ("lr", "lr"))),
        Solver("mse_exact",
               lambda f0, y, kernel, lr: mse_exact(f0, y, np.array([0.0, 1.0, 10.0]),
                                                   kernel=kernel, lr=lr),
               flow_inputs, (("f0", "f0"), ("kernel", "kernel"), ("lr", "lr"))),
        Solver("fixed_points.analyze",
               lambda f0, y, kernel, lr: fixed_points.analyze(kernel, f0, y, "quadratic_hinge",
                                                             lr=lr),
               flow_inputs, (("f0", "f"), ("kernel", "K"), ("lr", "lr"))),
        Solver("networks.train",
               lambda X, y, margin: train(net, init_params(net, 0), X, y, margin=margin,
                                          optimizer=GD(lr=0.5), stop=stop),
               net_inputs, (("X", "X"), ("margin", "margin"))),
        Solver("empirical_ntk",
               lambda X1, X2: empirical_ntk(net, init_params(net, 1), X1, X2),
               kernel_inputs, (("X1", "X1"), ("X2", "X2"))),
        Solver("ntk", lambda X1, X2: ntk(X1, X2, depth=2), kernel_inputs,
               (("X1", "X1"), ("X2", "X2"))),
        Solver("nngp", lambda X1, X2: nngp(X1, X2, activation="erf"), kernel_inputs,
               (("X1", "X1"), ("X2", "X2"))),
        Solver("rbf", lambda X1, X2: rbf(X1, X2, lengthscale=0.7), kernel_inputs,
               (("X1", "X1"), ("X2", "X2"))),
        Solver("polynomial", lambda X1, X2: polynomial(X1, X2, degree=3), kernel_inputs,
               (("X1", "X1"), ("X2", "X2"))),
    ]


SOLVERS = {s.name: s for s in _solvers()}
CASES = [(s.name, inp, shown) for s in SOLVERS.values() for inp, shown in s.nan]


@pytest.mark.parametrize("name, inp, shown", CASES, ids=[f"{n}-{i}" for n, i, _ in CASES])
def test_solver_nan_input_is_a_value_error_naming_it(name, inp, shown):
    solver = SOLVERS[name]
    inputs = solver.inputs()
    inputs[inp] = np.nan if np.ndim(inputs[inp]) == 0 else _nan(inputs[inp])
    with pytest.raises(ValueError, match=rf"(?<!\w){re.escape(shown)}(?!\w)"):
        solver.call(**inputs)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_solver_does_not_mutate_and_repeats_bit_for_bit(name):
    solver = SOLVERS[name]
    inputs = solver.inputs()
    before = _snapshot(inputs)
    first = solver.call(**inputs)
    for k, v in before.items():
        assert_identical(inputs[k], v, f"input {k}")
    second = solver.call(**solver.inputs())
    assert_identical(first, second, name)
    if dataclasses.is_dataclass(first):
        field = dataclasses.fields(first)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(first, field, None)


def test_every_public_solver_is_checked():
    """The solvers the issue lists: a new one is added to SOLVERS, not forgotten."""
    wanted = {"minimize_quadratic_hinge", "lp_certificate", "sat_unsat", "gradient_flow",
              "gradient_descent", "mse_exact", "fixed_points.analyze", "networks.train",
              "ntk", "nngp", "rbf", "polynomial", "empirical_ntk"}
    assert wanted <= set(SOLVERS)


# --------------------------------------------------------------------------- tasks

SPECTRUM_TASK = "ntkjam.spectrum.experiment:spectrum_task"

#: Tiny parameters of each experiment (a new experiment adds its own here).
TINY: dict[str, dict[str, Any]] = {
    "kernel_drift": {"width": 8, "n": 6, "d": 3, "max_steps": 200, "window": 50},
    "kernel_fluctuations": {"width": 16, "n": 6, "d": 3, "n_ens": 2},
    "generalization": {"P": 10, "phi": 1.5, "d": 3, "n_test": 20, "n_ens": 2},
    "kernel_summary": {"n": 8, "d": 3},
    "ntk_diagonal_moments": {"width": 16, "n": 4, "d": 3, "n_nets": 3},
    "phase_diagram": {"P": 10, "phi": 1.5, "lp_fraction": 1.0},
    "sphere_jamming": {"P": 10, "margin": -0.5, "max_iter": 2000},
    "trained_phase_diagram": {"P": 12, "phi": 0.5, "max_steps": 200, "window": 50},
    SPECTRUM_TASK: {"phi": 0.5, "size": 40},
}
#: Float parameters to poison with NaN in each (the message must name the parameter).
NAN_PARAMS: dict[str, tuple[str, ...]] = {
    "kernel_drift": ("phi", "alpha", "margin", "sigma_w", "lr", "momentum", "rtol",
                     "loss_tol"),
    "kernel_fluctuations": ("sigma_w", "sigma_b", "radius"),
    "generalization": ("phi", "epsilon", "noise", "ridge", "margin", "sigma_w"),
    "kernel_summary": ("sigma_w", "sigma_b"),
    "ntk_diagonal_moments": ("sigma_w", "sigma_b", "radius"),
    "phase_diagram": ("phi", "margin", "sigma_w", "offset_scale", "lengthscale"),
    "sphere_jamming": ("margin", "norm", "sigma_w", "lengthscale"),
    "trained_phase_diagram": ("phi", "alpha", "margin", "sigma_w", "lr", "rtol"),
    SPECTRUM_TASK: ("phi",),
}
TASKS = sorted(set(registry.names()) | {SPECTRUM_TASK})
_OUTPUTS: dict[str, dict[str, Any]] = {}


def _task(name: str):
    return registry.resolve(name)


def _run(name: str) -> dict[str, Any]:
    if name not in _OUTPUTS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            _OUTPUTS[name] = _task(name)(dict(TINY[name]), 7)
    return _OUTPUTS[name]


def test_every_registered_experiment_has_tiny_params():
    assert set(registry.names()) <= set(TINY), "add tiny params for the new experiment"
    assert set(TINY) == set(NAN_PARAMS)


@pytest.mark.parametrize("name, param", [(n, p) for n in TASKS for p in NAN_PARAMS[n]])
def test_task_nan_param_is_a_value_error_naming_it(name, param):
    params = {**TINY[name], param: float("nan")}
    with pytest.raises(ValueError, match=rf"(?<!\w){re.escape(param)}(?!\w)"):
        _task(name)(params, 7)


@pytest.mark.parametrize("name", TASKS)
def test_task_does_not_mutate_and_repeats(name):
    params = copy.deepcopy(TINY[name])
    out = _task(name)(params, 7)
    assert params == TINY[name], "the task changed its params"
    assert_identical(out, _run(name), name)


@pytest.mark.parametrize("name", TASKS)
def test_task_output_is_json_able_with_arrays_apart(name):
    out = _run(name)
    assert isinstance(out, dict)
    scalars = {k: v for k, v in out.items() if k != "arrays"}
    for k, v in scalars.items():
        assert v is None or isinstance(v, (bool, int, float, str)), f"{name}.{k}: {type(v)}"
    json.loads(json.dumps(scalars))
    for k, v in out.get("arrays", {}).items():
        assert isinstance(v, np.ndarray), f"{name} arrays[{k!r}]: {type(v)}"


# ------------------------------------------------------------- documented defaults

_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?(?![\w.])")


def documented_params(doc: str) -> dict[str, str]:
    """``name`` → the text in parentheses after ````name```` in a ``params : dict`` entry."""
    section = doc.split("params : dict", 1)[1].split("seed : int", 1)[0]
    out: dict[str, str] = {}
    i = 0
    for m in re.finditer(r"``(\w+)``\s*\(", section):
        if m.start() < i:
            continue  # inside the parentheses of an earlier name
        depth, j = 1, m.end()
        while depth and j < len(section):
            depth += {"(": 1, ")": -1}.get(section[j], 0)
            j += 1
        out[m.group(1)] = " ".join(section[m.end(): j - 1].split())
        i = j
    return out


def states_default(text: str, default: Any) -> bool:
    """Whether a parenthesised description states ``default`` (the first quoted word for
    a string, a number equal to it, ``√2`` for 2**0.5, ``required`` for None)."""
    if default is None:
        return "required" in text
    if isinstance(default, bool):
        return str(default) in text
    if isinstance(default, str):
        quoted = re.findall(r'"([^"]*)"', text)
        return bool(quoted) and (quoted[0] == default or f'default "{default}"' in text)
    if math.isclose(float(default), 2**0.5):
        return "√2" in text
    return any(math.isclose(float(x), float(default)) for x in _NUMBER.findall(text))


_DOC_DEFAULTS = [
    "kernel_summary",
    "phase_diagram",
    "trained_phase_diagram",
]


@pytest.mark.parametrize("name", _DOC_DEFAULTS)
def test_documented_defaults_are_the_actual_defaults(name):
    task, resolve = _task(name), registry.resolver(name)
    assert resolve is not None, f"{name} registers no resolve function"
    required = {k: v for k, v in TINY[name].items() if k in ("P", "phi", "n", "d")}
    # The defaults as given (a DEFAULTS mapping where the module has one), else as resolved.
    defaults = getattr(sys.modules[task.__module__], "DEFAULTS", None)
    actual = dict(defaults) if defaults is not None else resolve(dict(required))
    assert set(resolve(dict(required))) == set(actual)
    docs = documented_params(inspect.getdoc(task))
    assert set(docs) == set(actual), f"documented {sorted(docs)} vs actual {sorted(actual)}"
    wrong = {k: (docs[k], actual[k]) for k in docs if k not in required
             and not states_default(docs[k], actual[k])}
    assert not wrong, f"{name}: documented vs actual defaults {wrong}"
    for k in required:
        assert states_default(docs[k], None), f"{name}: {k} is required, say so"


def test_the_default_parser_reads_what_it_should():
    doc = ('params : dict\n    ``a`` (x, 1.0), ``b`` ("u" or "v"), ``c`` (N/λ(K), 2, < 3),'
           ' ``d`` (√2), ``e`` (size, required)\nseed : int\n')
    docs = documented_params(doc)
    assert docs == {"a": "x, 1.0", "b": '"u" or "v"', "c": "N/λ(K), 2, < 3", "d": "√2",
                    "e": "size, required"}
    assert states_default(docs["a"], 1.0) and not states_default(docs["a"], 2.0)
    assert states_default(docs["b"], "u") and not states_default(docs["b"], "v")
    assert states_default(docs["c"], 2) and states_default(docs["d"], 2**0.5)
    assert states_default(docs["e"], None)
