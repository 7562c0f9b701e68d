"""Bad input, systematically: every command and the main API, one case per bad value.

Each case runs once (CLI cases in-process through Typer's ``CliRunner``, in a fresh
working directory; a few as real subprocesses to prove the exit status) and its
outcome is classified:

* ``refused`` — exit status 2 (API: ``ValueError``/``TypeError``), one line that
  names the option, and nothing left behind in the working directory;
* ``ok`` — a case that must succeed (e.g. a grid that is all SAT) exited 0;
* ``traceback``, ``silently accepted``, ``wrong exit code``, ``vague message``
  (does not name the option, or more than one line), ``output left behind``
  (a refusal that created files) — the failures.

The table of docs/bad_input.md is produced from these runs::

    NTKJAM_WRITE_DOCS=1 .venv/bin/python -m pytest tests/test_bad_input.py

Without the variable the test checks that the committed table lists the same cases
with the same outcomes (the messages themselves may differ between machines: paths,
memory sizes).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ntkjam.cli import app

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad_input.md"
GOOD = ("refused", "ok")
#: A directory that cannot be created even by root (sysfs refuses mkdir).
READ_ONLY = "/sys/ntkjam-bad-input/out"


@dataclass(frozen=True)
class Case:
    """One bad input.

    ``argv`` (CLI) or ``api`` (a callable); ``names``: strings of which one must
    appear in the message (the option); ``expect``: "refuse" or "ok"; ``owner``:
    the reason of an ``xfail`` while another change is pending; ``setup``: files
    to create first (``file`` → ./afile, ``spec:<name>`` → a TOML spec, ``run`` →
    a finished run directory ./run); ``subprocess``: run the real executable.
    """

    id: str
    argv: tuple[str, ...] = ()
    api: Callable[[], object] | None = None
    names: tuple[str, ...] = ()
    expect: str = "refuse"
    owner: str | None = None
    setup: tuple[str, ...] = ()
    subprocess: bool = False
    what: str = ""
    needle: str = ""  # for "ok" cases: a string the output must contain
    files: tuple[str, ...] = ()  # for "ok" cases: files the run must have written

    @property
    def command(self) -> str:
        if self.api is not None:
            return "API"
        if self.argv[0].startswith("-"):
            return "ntkjam"
        return " ".join(self.argv[:2]) if self.argv[0] == "sweep" else self.argv[0]


@dataclass
class Outcome:
    kind: str
    message: str
    exit_code: int | None = None
    left: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- cases
PD = ("phase-diagram", "-q", "--P", "10", "--phi-min", "1", "--phi-max", "2", "--phi-num", "2",
      "--seeds", "2", "-o", "out")
TD = ("trained-diagram", "-q", "--P", "12", "--alpha", "1", "--phi-min", "0.25", "--phi-max",
      "0.5", "--phi-num", "2", "--seeds", "2", "--max-steps", "3000", "--window", "500",
      "-o", "out")
TR = ("train", "--n", "12", "--widths", "8", "--max-steps", "30", "--output", "out")
FL = ("flow", "--n", "16", "--max-steps", "200", "--output", "out")
KN = ("kernel", "--n", "12", "--output", "out.npz")
SP = ("spectrum", "--phi", "0.5,1", "--size", "40", "--output", "out")
HUGE = "1000000000000"
_PD_FIGURES = tuple(f"out/figures/{n}.png" for n in ("sat_probability", "unsat_observables",
                                                     "crossings"))

_OWNERS = {
    "flow": "ntkjam/cli/flow.py and ntkjam/dynamics.py (another change)",
    "kernel": "ntkjam/cli/kernel.py and ntkjam/kernels (another change)",
    "spectrum": "ntkjam/cli/spectrum.py (another change)",
    "sweep": "ntkjam/cli/sweep.py and ntkjam/sweep/store.py (another change)",
    "solver": "ntkjam/jamming.py (solver, another change)",
    "validate": "ntkjam/_validate.py and ntkjam/kernels (overflow, another change)",
    "dynamics": "ntkjam/dynamics.py (divergence, another change)",
}


def _cli(cmd_id: str, base: tuple[str, ...], option: str, value: str, *, names=None,
         **kw) -> Case:
    """A case: ``base`` with ``option value`` appended (the last value wins in Click)."""
    opt = option.lstrip("-")
    names = names or (option, opt, opt.replace("-", "_"))
    shown = value if value != "" else "''"
    return Case(id=f"{cmd_id}[{option}={value}]", argv=(*base, option, value), names=names,
                what=kw.pop("what", f"{option} {shown}"), **kw)


def _pd_cases() -> list[Case]:
    bad = [
        ("--P", ""), ("--P", "abc"), ("--P", "0"), ("--P", "-5"), ("--P", "10,10"),
        ("--P", "1e12"), ("--P", HUGE), ("--P", "10,nan"),
        ("--phi-min", "0"), ("--phi-min", "-1"), ("--phi-min", "nan"), ("--phi-min", "inf"),
        ("--phi-max", "0.5"), ("--phi-max", "inf"), ("--phi-num", "0"), ("--phi-num", "-3"),
        ("--phi-num", HUGE), ("--phi-num", "abc"),
        ("--seeds", "0"), ("--seeds", "-1"), ("--seeds", HUGE),
        ("--d", "1"), ("--d", "0"), ("--d", HUGE), ("--d", "1e12"),
        ("--margin", "nan"), ("--margin", "inf"), ("--margin", "-0.5"),
        ("--source", "foo"), ("--labels", "foo"), ("--offset", "foo"), ("--offset", "network"),
        ("--offset-scale", "-1"), ("--offset-scale", "nan"),
        ("--lp-fraction", "2"), ("--lp-fraction", "-0.1"), ("--lp-fraction", "nan"),
        ("--model", "foo"), ("--n-boot", "0"), ("--n-boot", "1"), ("--n-boot", HUGE),
        ("--n-boot", "1e12"), ("--workers", "0"), ("--workers", "-1"), ("--workers", HUGE),
        ("--workers", "1e12"),
    ]
    cases = [_cli("phase-diagram", PD, o, v) for o, v in bad]
    cases += [
        _cli("phase-diagram", PD, "-o", "afile", setup=("file",), names=("afile",),
             what="-o naming a file"),
        _cli("phase-diagram", PD, "-o", "afile/out", setup=("file",), names=("afile",),
             what="-o under a file"),
        _cli("phase-diagram", PD, "-o", READ_ONLY, names=("ntkjam-bad-input",),
             what="-o in a directory that cannot be written"),
        _cli("phase-diagram", PD, "-o", "/dev/null", names=("/dev/null",), what="-o /dev/null"),
        _cli("phase-diagram", PD, "-o", "run", setup=("run",), names=("run", "--output"),
             what="-o a run directory of another experiment"),
        Case(id="phase-diagram[all SAT]", argv=PD, expect="ok", needle="all instances SAT",
             files=_PD_FIGURES, what="grid all SAT: --P 10 --phi-min 1 --phi-max 2 --phi-num 2"),
        _cli("phase-diagram", PD, "--margin", "0", expect="ok", needle="all instances SAT",
             files=_PD_FIGURES,
             what="--margin 0 (every instance SAT)"),
        _cli("phase-diagram", (*PD[:-8], "--phi-min", "3", "--phi-max", "4", "--phi-num", "2",
                                "-o", "out"),
             "--seeds", "2", expect="ok", needle="all instances UNSAT", files=_PD_FIGURES,
             what="grid all UNSAT: --phi-min 3 --phi-max 4"),
        _cli("phase-diagram", PD, "--labels", "parity", expect="ok", needle="tasks:",
             what="--labels parity (digits)"),
        _cli("phase-diagram", PD, "--P", "1", expect="ok", needle="tasks:",
             what="--P 1 (all-zero feature rows)"),
    ]
    return cases


def _td_cases() -> list[Case]:
    bad = [
        ("--P", ""), ("--P", "x"), ("--P", "0"), ("--P", HUGE), ("--alpha", ""),
        ("--alpha", "0"), ("--alpha", "-1"), ("--alpha", "nan"), ("--alpha", "inf"),
        ("--alpha", "1,1"), ("--alpha", "x"), ("--phi-min", "0"), ("--phi-max", "nan"),
        ("--phi-num", "0"), ("--seeds", "0"), ("--seeds", HUGE), ("--d", "1"), ("--d", HUGE),
        ("--labels", "parity"), ("--labels", "foo"), ("--margin", "0"), ("--margin", "nan"),
        ("--lr", "0"), ("--lr", "2"), ("--lr", "nan"), ("--step-rule", "foo"),
        ("--momentum", "1"), ("--momentum", "-0.1"), ("--max-steps", "0"),
        ("--max-steps", HUGE), ("--window", "0"), ("--rtol", "nan"), ("--rtol", "-1"),
        ("--sat-tol", "-1"), ("--model", "foo"), ("--n-boot", "0"), ("--n-boot", HUGE),
        ("--workers", "0"), ("--workers", HUGE),
    ]
    cases = [_cli("trained-diagram", TD, o, v) for o, v in bad]
    cases += [
        _cli("trained-diagram", TD, "-o", "afile", setup=("file",), names=("afile",),
             what="-o naming a file"),
        _cli("trained-diagram", TD, "-o", "/dev/null", names=("/dev/null",),
             what="-o /dev/null"),
        Case(id="trained-diagram[all UNSAT]", argv=TD, expect="ok",
             needle="all instances UNSAT", files=tuple(
                 f"out/figures/{n}.png" for n in ("trained_sat_probability", "phi_c_alpha",
                                                  "trained_outcomes")),
             what="grid where every training ends UNSAT: --P 12 --phi-min 0.25 --phi-max 0.5"),
    ]
    return cases


def _train_cases() -> list[Case]:
    bad = [
        ("--data", "foo"), ("--n", "0"), ("--n", "-1"), ("--n", HUGE),
        ("--n-test", "-1"), ("--d", "0"), ("--d", HUGE), ("--labels", "foo"),
        ("--labels", "parity"), ("--radius", "foo"), ("--radius", "-1"), ("--radius", "nan"),
        ("--widths", "abc"), ("--widths", "0"), ("--widths", "-3"), ("--widths", HUGE),
        ("--activation", "foo"), ("--sigma-w", "0"), ("--sigma-w", "nan"), ("--sigma-b", "-1"),
        ("--parameterization", "foo"), ("--alpha", "0"), ("--alpha", "nan"), ("--loss", "foo"),
        ("--margin", "nan"), ("--optimizer", "foo"), ("--lr", "0"), ("--lr", "nan"),
        ("--lr", "inf"), ("--max-steps", "0"), ("--max-steps", "-1"), ("--max-time", "nan"),
        ("--max-time", "-1"), ("--unsat-window", "0"), ("--unsat-rtol", "-1"),
        ("--unsat-rtol", "nan"), ("--unsat-time-window", "0"), ("--unsat-tol", "-1"),
        ("--kernel-records", "foo"),
    ]
    cases = [_cli("train", TR, o, v) for o, v in bad]
    cases += [
        _cli("train", TR, "--output", "afile", setup=("file",), names=("afile",),
             what="--output naming a file"),
        _cli("train", TR, "--output", "afile/out", setup=("file",), names=("afile",),
             what="--output under a file"),
        _cli("train", TR, "--output", "/dev/null", names=("/dev/null",), what="--output /dev/null"),
        _cli("train", TR, "--output", READ_ONLY, names=("ntkjam-bad-input",),
             what="--output in a directory that cannot be written"),
    ]
    return cases


def _flow_cases() -> list[Case]:
    bad = [
        ("--data", "foo"), ("--n", "0"), ("--n", HUGE), ("--d", "0"), ("--labels", "foo"),
        ("--kernel", "foo"), ("--features", "foo"), ("--P", "0"), ("--depth", "-1"),
        ("--activation", "foo"), ("--sigma-w", "0"), ("--sigma-w", "nan"),
        ("--sigma-w", "1e200"), ("--sigma-b", "-1"), ("--lengthscale", "0"), ("--loss", "foo"),
        ("--margin", "nan"), ("--beta", "0"), ("--method", "foo"), ("--lr", "0"),
        ("--lr", "nan"), ("--steps", "0"), ("--batch-size", "0"), ("--max-time", "nan"),
        ("--max-steps", "0"), ("--grad-tol", "-1"), ("--unsat-tol", "-1"),
    ]
    cases = [_cli("flow", FL, o, v) for o, v in bad]
    cases += [
        _cli("flow", FL, "--output", "afile", setup=("file",), names=("afile",),
             what="--output naming a file"),
        _cli("flow", FL, "--output", "/dev/null", names=("/dev/null",), what="--output /dev/null"),
    ]
    return cases


def _kernel_cases() -> list[Case]:
    bad = [
        ("--data", "foo"), ("--n", "0"), ("--n", HUGE), ("--d", "0"), ("--radius", "foo"),
        ("--kernel", "foo"), ("--depth", "-1"), ("--activation", "foo"), ("--sigma-w", "0"),
        ("--sigma-w", "1e200"), ("--sigma-b", "nan"), ("--lengthscale", "0"),
        ("--degree", "-1"), ("--coef0", "-1"), ("--scale", "0"), ("--rank-rtol", "-1"),
        ("--rank-rtol", "nan"),
    ]
    cases = [_cli("kernel", KN, o, v) for o, v in bad]
    cases += [
        _cli("kernel", KN, "--output", "afile/k.npz", setup=("file",), names=("afile",),
             what="--output under a file"),
    ]
    return cases


def _spectrum_cases() -> list[Case]:
    bad = [
        ("--phi", ""), ("--phi", "x"), ("--phi", "-1"), ("--phi", "0"), ("--phi", "nan"),
        ("--phi", "1,1"), ("--source", "foo"), ("--fixed", "foo"), ("--size", "0"),
        ("--size", HUGE), ("--d", "0"), ("--activation", "foo"), ("--depth", "-1"),
        ("--slq", "foo"), ("--slq", "0,0"), ("--seeds", "0"), ("--workers", "0"),
        ("--workers", HUGE),
    ]
    cases = [_cli("spectrum", SP, o, v) for o, v in bad]
    cases += [
        _cli("spectrum", SP, "--output", "afile", setup=("file",), names=("afile",),
             what="--output naming a file"),
    ]
    return cases


_SPECS = {
    "unknown_param": 'experiment = "kernel_summary"\nseeds = [0]\n[params]\nn = 8\nd = 3\n'
                     "foo = 1\n",
    "huge_n": 'experiment = "kernel_summary"\nseeds = [0]\n[params]\nn = 1000000000000\n'
              "d = 3\n",
    "float_n": 'experiment = "kernel_summary"\nseeds = [0]\n[params]\nn = 8.5\nd = 3\n',
    "bad_kernel": 'experiment = "kernel_summary"\nseeds = [0]\n[params]\nn = 8\nd = 3\n'
                  'kernel = "foo"\n',
    "huge_seeds": 'experiment = "kernel_summary"\nseeds = {count = 1000000000000}\n[params]\n'
                  "n = 8\nd = 3\n",
    "huge_grid": 'experiment = "kernel_summary"\nseeds = [0]\n[params]\nd = 3\n[grid]\n'
                 "n = {start = 1, stop = 1000000000000, num = 1000000000000}\n",
    "pd_unknown": 'experiment = "phase_diagram"\nseeds = [0]\n[params]\nP = 10\nphi = 1.0\n'
                  "foo = 1\n",
    "pd_huge_P": 'experiment = "phase_diagram"\nseeds = [0]\n[params]\nP = 1000000000000\n'
                 "phi = 1.0\n",
    "pd_grid_huge_d": 'experiment = "phase_diagram"\nseeds = [0]\n[params]\nP = 10\nphi = 1.0\n'
                      "[grid]\nd = [5, 1000000000000]\n",
    "td_unknown": 'experiment = "trained_phase_diagram"\nseeds = [0]\n[params]\nP = 12\n'
                  "phi = 0.5\nfoo = 1\n",
    "unknown_experiment": 'experiment = "no_such_experiment"\nseeds = [0]\n',
    "not_toml": "experiment = \n",
    "good": 'experiment = "kernel_summary"\nseeds = [0]\n[params]\nn = 8\nd = 3\n',
}


def _sweep_cases() -> list[Case]:
    cases = []
    for name, names in (
        ("unknown_param", ("foo",)), ("huge_n", ("'n'", " n ")), ("float_n", ("'n'", "n must")),
        ("bad_kernel", ("kernel",)), ("huge_seeds", ("seeds",)), ("huge_grid", ("grid.n",)),
        ("pd_unknown", ("foo",)), ("pd_huge_P", ("P",)), ("pd_grid_huge_d", ("d",)),
        ("td_unknown", ("foo",)), ("unknown_experiment", ("no_such_experiment",)),
        ("not_toml", ("TOML",)),
    ):
        cases.append(Case(id=f"sweep run[{name}]", argv=("sweep", "run", "-q", f"{name}.toml"),
                          names=names, setup=(f"spec:{name}",), what=f"spec: {name}"))
        if name in ("unknown_param", "pd_huge_P"):
            cases.append(Case(id=f"sweep run --dry-run[{name}]",
                              argv=("sweep", "run", "--dry-run", f"{name}.toml"),
                              names=names, setup=(f"spec:{name}",),
                              what=f"--dry-run, spec: {name}"))
    run = ("sweep", "run", "-q", "good.toml")
    cases += [
        Case(id="sweep run[missing spec]", argv=("sweep", "run", "nofile.toml"),
             names=("nofile.toml",), what="a spec file that does not exist"),
        _cli("sweep run", run, "--workers", "0", setup=("spec:good",)),
        _cli("sweep run", run, "--workers", HUGE, setup=("spec:good",)),
        _cli("sweep run", run, "--max-in-flight", "0", setup=("spec:good",)),
        _cli("sweep run", run, "--output", "afile", setup=("spec:good", "file"),
             names=("afile",), what="--output naming a file"),
        _cli("sweep run", run, "--output", "/dev/null", setup=("spec:good",),
             names=("/dev/null",), what="--output /dev/null"),
        _cli("sweep run", run, "--output", READ_ONLY, setup=("spec:good",),
             names=("ntkjam-bad-input",), what="--output in a directory that cannot be written"),
        Case(id="sweep status[missing]", argv=("sweep", "status", "nodir"), names=("nodir",),
             what="a directory that does not exist"),
        Case(id="sweep status[file]", argv=("sweep", "status", "afile"), names=("afile",),
             setup=("file",), what="a file, not a directory"),
        Case(id="sweep status[empty dir]", argv=("sweep", "status", "."), names=(".", "sweep"),
             what="a directory that holds no run"),
        Case(id="sweep export[missing]", argv=("sweep", "export", "nodir"), names=("nodir",),
             what="a directory that does not exist"),
        Case(id="sweep export[--format=foo]", argv=("sweep", "export", "run", "--format", "foo"),
             names=("format",), setup=("run",), what="--format foo"),
        Case(id="sweep export[--output under a file]",
             argv=("sweep", "export", "run", "--output", "afile/x.csv"), names=("afile",),
             setup=("run", "file"), what="--output under a file"),
        Case(id="sweep export[--output missing dir]",
             argv=("sweep", "export", "run", "--output", "nodir/x.csv"), names=("nodir",),
             setup=("run",), what="--output in a directory that does not exist"),
    ]
    return cases


def _api_cases() -> list[Case]:
    from ntkjam import kernels, problem

    rng = np.random.default_rng(0)
    J = rng.standard_normal((6, 4))
    y = np.array([1.0, -1, 1, -1, 1, -1])
    X = rng.standard_normal((5, 3))
    Jnan = J.copy()
    Jnan[0, 0] = np.nan

    def pd_task(**params):
        from ntkjam.experiments.phase_diagram import phase_diagram_task

        return lambda: phase_diagram_task({"P": 10, "phi": 1.0, **params}, 0)

    def analyze_bad(**kw):
        def call():
            from ntkjam.analysis import analyze

            return analyze(Path("run"), **kw)
        return call

    def solve_zero():
        from ntkjam.jamming import minimize_quadratic_hinge

        return minimize_quadratic_hinge(problem.from_features(np.zeros((3, 2)), y[:3]))

    def gd_diverged():
        from ntkjam.dynamics import gradient_descent

        J = np.random.default_rng(0).standard_normal((20, 5))
        yy = np.where(np.arange(20) % 2 == 0, 1.0, -1.0)
        res = gradient_descent(np.zeros(20), yy, "quadratic_hinge", kernel=J @ J.T, lr=1e12,
                               n_steps=50)
        if res.status != "nan" or res.verdict != "diverged":  # a diverged run is never SAT
            raise RuntimeError(f"diverged run reported as {res.status!r}")
        return res.status

    def spec(data):
        from ntkjam.sweep import parse_spec

        return lambda: parse_spec(data)

    return [
        Case(id="API[from_features J NaN]", api=lambda: problem.from_features(Jnan, y),
             names=("J",), what="from_features(J with a NaN, y)"),
        Case(id="API[from_features y not ±1]",
             api=lambda: problem.from_features(J, np.array([0.0, 2, 1, 1, 1, 1])),
             names=("y",), what="from_features(J, y = [0, 2, ...])"),
        Case(id="API[from_features y length]", api=lambda: problem.from_features(J, y[:3]),
             names=("y", "label"), what="from_features(J, y of the wrong length)"),
        Case(id="API[from_features J 1-D]", api=lambda: problem.from_features(J[0], y),
             names=("J",), what="from_features(1-D J, y)"),
        Case(id="API[from_features J complex]",
             api=lambda: problem.from_features(J + 1j, y), names=("J", "complex"),
             what="from_features(complex J, y)"),
        Case(id="API[from_features margin nan]",
             api=lambda: problem.from_features(J, y, margin=float("nan")), names=("margin",),
             what="from_features(J, y, margin=nan)"),
        Case(id="API[ntk depth -1]", api=lambda: kernels.ntk(X, depth=-1), names=("depth",),
             what="ntk(X, depth=-1)"),
        Case(id="API[ntk depth 1.5]", api=lambda: kernels.ntk(X, depth=1.5), names=("depth",),
             what="ntk(X, depth=1.5)"),
        Case(id="API[ntk depth 'a']", api=lambda: kernels.ntk(X, depth="a"), names=("depth",),
             what="ntk(X, depth='a')"),
        Case(id="API[ntk activation foo]", api=lambda: kernels.ntk(X, activation="foo"),
             names=("activation",), what="ntk(X, activation='foo')"),
        Case(id="API[ntk sigma_w 1e100]", api=lambda: kernels.ntk(X, sigma_w=1e100),
             names=("sigma_w", "overflow"),
             what="ntk(X, sigma_w=1e100) (overflow)"),
        Case(id="API[ntk X*1e150]", api=lambda: kernels.ntk(X * 1e150),
             names=("X", "overflow"), what="ntk(X * 1e150) (overflow)"),
        Case(id="API[ntk X NaN]", api=lambda: kernels.ntk(np.full((2, 2), np.nan)),
             names=("X", "X1"), what="ntk(X full of NaN)"),
        Case(id="API[minimize all-zero J]", api=solve_zero, expect="ok",
             what="minimize_quadratic_hinge on all-zero features"),
        Case(id="API[gradient_descent lr 1e12]", api=gd_diverged, expect="ok",
             what="gradient_descent(..., lr=1e12) (diverges: status 'nan', never 'sat')"),
        Case(id="API[phase_diagram_task unknown]", api=pd_task(foo=1), names=("foo",),
             what="phase_diagram_task({..., 'foo': 1})"),
        Case(id="API[phase_diagram_task P 1e12]", api=pd_task(P=10**12), names=("P",),
             what="phase_diagram_task({'P': 10**12, ...})"),
        Case(id="API[phase_diagram_task d 1e12]", api=pd_task(d=10**12), names=("d",),
             what="phase_diagram_task({'d': 10**12, ...})"),
        Case(id="API[analyze model foo]", api=analyze_bad(model="foo"), names=("model",),
             setup=("run",), what="analyze(run, model='foo')"),
        Case(id="API[analyze n_boot 0]", api=analyze_bad(n_boot=0), names=("n_boot",),
             setup=("run",), what="analyze(run, n_boot=0)"),
        Case(id="API[analyze n_boot 1e12]", api=analyze_bad(n_boot=10**12), names=("n_boot",),
             setup=("run",), what="analyze(run, n_boot=10**12)"),
        Case(id="API[parse_spec seeds 1e12]",
             api=spec({"experiment": "x", "seeds": {"count": 10**12}}), names=("seeds",),
             what="parse_spec(seeds = {count = 10**12})"),
        Case(id="API[parse_spec grid 1e12]",
             api=spec({"experiment": "x", "grid": {"n": {"start": 1, "stop": 10**12,
                                                         "num": 10**12}}}),
             names=("grid.n",), what="parse_spec(grid.n with 10**12 values)"),
    ]


def _version_case() -> list[Case]:
    return [Case(id="ntkjam[--version]", argv=("--version",), expect="ok", needle="ntkjam",
                 what="--version")]


def _subprocess_cases() -> list[Case]:
    """The real executable: exit status 2 and no traceback outside the test runner."""
    return [
        Case(id="subprocess phase-diagram[--n-boot=0]", argv=(*PD, "--n-boot", "0"),
             names=("n-boot", "n_boot"), subprocess=True, what="--n-boot 0"),
        Case(id="subprocess train[--n=0]", argv=(*TR, "--n", "0"),
             names=("n", "--n"), subprocess=True, what="--n 0"),
        Case(id="subprocess sweep run[unknown_param]",
             argv=("sweep", "run", "-q", "unknown_param.toml"), names=("foo",),
             setup=("spec:unknown_param",), subprocess=True, what="spec: unknown_param"),
    ]


def all_cases() -> list[Case]:
    return (_pd_cases() + _td_cases() + _train_cases() + _flow_cases() + _kernel_cases()
            + _spectrum_cases() + _sweep_cases() + _api_cases() + _version_case()
            + _subprocess_cases())


# ---------------------------------------------------------------------------- running
_RUN_TEMPLATE: Path | None = None


def _finished_run(root: Path) -> Path:
    """A small finished kernel_summary run (built once, copied into each case)."""
    global _RUN_TEMPLATE
    if _RUN_TEMPLATE is None:
        from ntkjam import sweep

        target = root / "_template_run"
        spec = sweep.parse_spec({"experiment": "kernel_summary", "params": {"n": 6, "d": 3},
                                 "seeds": [0, 1], "output": str(target)})
        sweep.run(spec)
        _RUN_TEMPLATE = target
    return _RUN_TEMPLATE


def _setup(case: Case, cwd: Path, root: Path) -> None:
    import shutil

    for item in case.setup:
        if item == "file":
            (cwd / "afile").write_text("not a directory\n")
        elif item == "run":
            shutil.copytree(_finished_run(root), cwd / "run")
        elif item.startswith("spec:"):
            name = item.split(":", 1)[1]
            (cwd / f"{name}.toml").write_text(_SPECS[name])


def _listing(cwd: Path) -> set[str]:
    return {str(p.relative_to(cwd)) for p in cwd.rglob("*")}


@contextlib.contextmanager
def _chdir(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _lines(text: str) -> list[str]:
    return [ln for ln in text.strip().splitlines() if ln.strip()]


def _names_option(case: Case, message: str) -> bool:
    """Whether the message names the option (as a whole word: ``d`` is not ``input_dim``)."""
    return any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", message, re.IGNORECASE)
               for n in case.names)


def run_case(case: Case, cwd: Path, root: Path) -> Outcome:
    _setup(case, cwd, root)
    before = _listing(cwd)
    with _chdir(cwd):
        if case.api is not None:
            try:
                value = case.api()
            except (ValueError, TypeError) as exc:
                code, message, tb = 2, f"{type(exc).__name__}: {exc}", False
            except Exception as exc:  # noqa: BLE001 - classified, not hidden
                code, message, tb = None, "".join(
                    traceback.format_exception_only(type(exc), exc)).strip(), True
            else:
                code, message, tb = 0, f"returned {value!r}"[:200], False
        elif case.subprocess:
            exe = Path(sys.executable).with_name("ntkjam")
            proc = subprocess.run([str(exe), *case.argv], capture_output=True, text=True,
                                  timeout=120, env={**os.environ, "COLUMNS": "200"})
            code, message = proc.returncode, (proc.stderr.strip() or proc.stdout.strip())
            tb = "Traceback" in proc.stderr
        else:
            result = CliRunner().invoke(app, list(case.argv), env={"COLUMNS": "200"})
            code = result.exit_code
            tb = result.exception is not None and not isinstance(result.exception, SystemExit)
            out = result.stderr.strip() if code != 0 else ""
            message = out or result.output.strip()
            if tb:
                message = "".join(traceback.format_exception_only(
                    type(result.exception), result.exception)).strip()
    left = sorted(_listing(cwd) - before)
    if tb or "Traceback (most recent call last)" in message:
        kind = "traceback"
    elif case.expect == "ok":
        hits = [ln for ln in _lines(message) if case.needle.lower() in ln.lower()]
        needle_ok = (bool(hits) or case.api is not None) and set(case.files) <= set(left)
        message = hits[0].strip() if hits else message
        kind = "ok" if code == 0 and needle_ok else ("wrong exit code" if code else
                                                     "vague message")
    elif code == 0:
        kind = "silently accepted"
    elif code != 2:
        kind = "wrong exit code"
    elif len(_lines(message)) != 1 or not _names_option(case, message):
        kind = "vague message"
    elif left:
        kind = "output left behind"
    else:
        kind = "refused"
    return Outcome(kind, message, code, left)


_CASES = all_cases()
_RESULTS: dict[str, Outcome] = {}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Outcome]:
    if not _RESULTS:
        root = tmp_path_factory.mktemp("bad_input")
        for i, case in enumerate(_CASES):
            cwd = root / f"case{i:03d}"
            cwd.mkdir()
            _RESULTS[case.id] = run_case(case, cwd, root)
    return _RESULTS


# Cases of commands owned by other changes that fail today (measured when this file was
# written): expected failures until those changes land; `pytest -rxX` shows which of
# them pass already (then drop them from here and regenerate docs/bad_input.md).
_PENDING: dict[str, str] = {}


def _owner(case: Case) -> str | None:
    return case.owner or _PENDING.get(case.id)


def _param(case: Case):
    owner = _owner(case)
    marks = []
    if owner is not None:
        marks.append(pytest.mark.xfail(strict=False, reason=f"owned by {_OWNERS[owner]}"))
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in _CASES])
def test_bad_input_case(case: Case, results):
    """Each case is refused cleanly (exit 2, one line naming the option, nothing left)."""
    got = results[case.id]
    want = "ok" if case.expect == "ok" else "refused"
    assert got.kind == want, f"{case.what}: {got.kind} (exit {got.exit_code}): {got.message}" \
        + (f"; left {got.left}" if got.left else "")


def test_at_least_100_cases_across_all_commands():
    commands = {c.command for c in _CASES}
    assert len(_CASES) >= 100
    assert {"phase-diagram", "trained-diagram", "train", "flow", "kernel", "spectrum",
            "sweep run", "sweep status", "sweep export", "API"} <= commands


# -------------------------------------------------------------------------------- doc
def _clean(text: str, width: int = 160) -> str:
    text = " ".join(_lines(text)[:1]) if text else ""
    text = re.sub(r"/tmp/\S*?bad_input\d*/case\d+", "<tmp>", text)
    text = re.sub(r"/\S*?/case\d+", "<tmp>", text)
    text = text.replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def render(results: dict[str, Outcome]) -> str:
    from ntkjam.cli._options import usable_cores
    from ntkjam.core.limits import format_bytes, memory_bytes

    cores, memory = usable_cores(), format_bytes(memory_bytes())
    counts: dict[str, int] = {}
    for o in results.values():
        counts[o.kind] = counts.get(o.kind, 0) + 1
    lines = [
        "# Bad input: what was tried, what the user sees",
        "",
        "Generated by `tests/test_bad_input.py` (run it with `NTKJAM_WRITE_DOCS=1` to",
        "regenerate this file); every row is a case that the test runs.  CLI cases run",
        "in a fresh working directory; `refused` means exit status 2, one line naming the",
        "option, and no file or directory left behind; API cases are refused with a",
        "`ValueError` or `TypeError`.  `ok` rows must succeed.  Other outcomes are",
        "failures (the test marks those of commands still being fixed as expected",
        "failures).",
        "",
        "Limits enforced before any task runs (and before any run or output directory",
        "is made): `--n-boot` in [2, 100000]; `--workers` in [1, 4 × the usable cores];",
        "at most 1 000 000 tasks per sweep (seeds × grid points); `trained-diagram",
        "--max-steps` ≤ 10⁹; a task's estimated memory (float64 arrays of the data,",
        "features, Jacobian and kernel) must fit in this machine's physical memory.",
        f"Counts and messages below are from one run on a machine with {cores} usable",
        f"cores and {memory} of memory; the test checks the cases and their outcomes,",
        "not the wording.",
        "",
        "Outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + f" (of {len(results)} cases).",
        "",
        "| command | what was tried | outcome | what the user sees |",
        "|---|---|---|---|",
    ]
    for case in _CASES:
        o = results[case.id]
        lines.append(f"| {case.command} | {case.what.replace('|', chr(92) + '|')} | {o.kind} "
                     f"| {_clean(o.message)} |")
    return "\n".join(lines) + "\n"


def _doc_rows(text: str) -> list[tuple[str, str, str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| command") and "---" not in line:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def test_doc_table_is_generated_from_the_cases(results):
    text = render(results)
    if os.environ.get("NTKJAM_WRITE_DOCS") == "1":
        DOC.write_text(text, encoding="utf-8")
    assert DOC.exists(), "run with NTKJAM_WRITE_DOCS=1 to write docs/bad_input.md"
    assert _doc_rows(DOC.read_text(encoding="utf-8")) == _doc_rows(text), (
        "docs/bad_input.md is out of date: regenerate it with NTKJAM_WRITE_DOCS=1"
    )
