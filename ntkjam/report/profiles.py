"""The fixed studies of ``ntkjam report``: one table of settings per profile.

A profile fixes, for every study of the report, the arguments of that study's spec
builder (:mod:`ntkjam.experiments`): grids, seeds and the fixed parameters.  Nothing
here runs; :func:`report_specs` turns a profile into validated sweep specs, each with
its own run directory under the report's output directory, so a second run of the
same profile finds every task stored and recomputes nothing.

Profiles
--------
``quick``
    Sized to finish in under ten minutes on two cores (see docs/report.md for the
    measured time).
``full``
    The sizes of the individual commands' defaults or larger: a workstation or a
    cluster (``--workers``); its cost is estimated in docs/report.md.
``smoke``
    A few tasks per study, for the test suite only (seconds); its numbers mean nothing.

Notation: N = training points, P = parameters (features), φ = N/P.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["FIGURES", "N_BOOT", "PROFILES", "STUDIES", "profile_settings", "report_specs"]

PROFILES = ("quick", "full", "smoke")

#: The studies, in report order: name → (section, spec builder, what it is).
STUDIES: dict[str, tuple[int, str, str]] = {
    "jamming_relu": (1, "phase_diagram", "random ReLU features"),
    "jamming_fourier": (1, "phase_diagram", "random Fourier features"),
    "jamming_taylor": (1, "phase_diagram", "truncated Taylor features"),
    "jamming_jacobian": (1, "phase_diagram", "empirical-NTK Jacobians"),
    "ntk_rank": (1, "kernel_summary", "infinite-width NTK Gram"),
    "spectrum_gaussian": (2, "spectrum", "Gaussian features vs Marchenko-Pastur"),
    "spectrum_features": (2, "spectrum", "ReLU features vs Silverstein"),
    "spectrum_truncated": (2, "spectrum", "truncated Taylor features vs Funk-Hecke"),
    "sphere": (3, "sphere_jamming", "non-convex jamming on the sphere"),
    "fluctuations": (4, "fluctuation", "K_n(0) against K_inf"),
    "hanin_nica": (4, "diagonal", "Hanin-Nica moments"),
    "kernel_drift": (4, "kernel_drift", "K_T against K_0"),
    "fixed_points": (5, "fixed_points", "fixed points of the flow"),
    "trained": (6, "trained", "trained networks vs lazy"),
    "generalization": (7, "generalization", "test error vs phi"),
}

_SQRT2 = math.sqrt(2.0)
_JAMMING = {"phi_min": 1.0, "phi_max": 3.0, "lp_fraction": 0.02}

_QUICK: dict[str, dict[str, Any]] = {
    "jamming_relu": {**_JAMMING, "P": (25, 50, 100, 200), "phi_num": 21, "seeds": 16},
    "jamming_fourier": {**_JAMMING, "P": (25, 50, 100), "phi_num": 21, "seeds": 12,
                        "source": "fourier_features"},
    # Taylor features on S^9 (d = 10): P = 11 is degree <= 1 (rank 11), P = 66 degree <= 2
    # (rank 65: one product is dependent on the sphere)
    "jamming_taylor": {**_JAMMING, "P": (11, 66), "phi_min": 0.5, "phi_max": 2.5,
                       "phi_num": 21, "seeds": 12, "source": "taylor_features"},
    "jamming_jacobian": {**_JAMMING, "P": (33, 66, 132), "phi_num": 13, "seeds": 8,
                         "source": "ntk_jacobian"},
    "ntk_rank": {"n": (50, 100, 200, 400), "seeds": 3, "d": 10, "depth": 1},
    "spectrum_gaussian": {"phi": (0.25, 0.5, 1.0, 2.0, 3.0), "size": 200, "seeds": 3},
    "spectrum_features": {"phi": (0.25, 0.5, 1.0, 2.0, 3.0), "size": 100, "seeds": 3},
    "spectrum_truncated": {"phi": (0.5, 1.0, 2.0, 3.0), "size": 56, "seeds": 3},
    "sphere": {"P": (50, 100), "margin": (-0.5, -0.3), "seeds": 6},
    "fluctuations": {"depths": (1, 3), "widths": (64, 128, 256, 512), "n": (50, 100, 200),
                     "seeds": 4, "n_ens": 6},
    "hanin_nica": {"depths": (1, 2, 4, 8), "widths": (32, 64), "seeds": 4, "n": 16,
                   "n_nets": 32},
    "kernel_drift": {"widths": (32, 64, 128), "alphas": (10.0, 100.0, 1000.0),
                     "losses": ("quadratic_hinge", "mse"), "seeds": 3, "momentum": 0.9},
    "fixed_points": {"P": 40, "phi": (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0),
                     "losses": ("mse", "quadratic_hinge"), "seeds": 12},
    "trained": {"P": (72,), "alpha": (1.0, 1000.0), "phi_min": 0.6, "phi_max": 1.8,
                "phi_num": 5, "seeds": 3, "momentum": 0.9},
    "generalization": {"P": (100,), "phi_min": 0.5, "phi_max": 4.0, "phi_num": 15,
                       "seeds": 10, "n_ens": 5},
}

_FULL: dict[str, dict[str, Any]] = {
    **_QUICK,
    "jamming_relu": {**_JAMMING, "P": (50, 100, 200, 400, 800), "phi_num": 41, "seeds": 50},
    "jamming_fourier": {**_JAMMING, "P": (50, 100, 200, 400), "phi_num": 41, "seeds": 40,
                        "source": "fourier_features"},
    "jamming_taylor": {**_JAMMING, "P": (11, 66, 286), "phi_min": 0.5, "phi_max": 2.5,
                       "phi_num": 41, "seeds": 40, "source": "taylor_features"},
    "jamming_jacobian": {**_JAMMING, "P": (66, 132, 264, 528), "phi_num": 41, "seeds": 30,
                         "source": "ntk_jacobian"},
    "ntk_rank": {"n": (100, 200, 400, 800, 1600), "seeds": 5, "d": 10, "depth": 3},
    "spectrum_gaussian": {"phi": (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0), "size": 1000,
                          "seeds": 4},
    "spectrum_features": {"phi": (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0), "size": 1000,
                          "seeds": 4},
    "spectrum_truncated": {"phi": (0.5, 1.0, 2.0, 3.0, 4.0), "size": 126, "seeds": 4},
    "sphere": {"P": (100, 200, 400, 1000), "margin": (-0.5, -0.3, 0.0), "seeds": 16},
    "fluctuations": {"depths": (1, 3), "widths": (64, 128, 256, 512, 1024, 2048),
                     "n": (50, 100, 200, 400), "seeds": 8, "n_ens": 8},
    "hanin_nica": {"depths": (1, 2, 4, 8, 16), "widths": (32, 64, 128), "seeds": 8, "n": 16,
                   "n_nets": 64},
    "kernel_drift": {"widths": (32, 64, 128, 256, 512, 1024),
                     "alphas": (10.0, 100.0, 1000.0, 10000.0),
                     "losses": ("quadratic_hinge", "mse"), "seeds": 6, "momentum": 0.9},
    "fixed_points": {"P": 100, "phi": (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0),
                     "losses": ("mse", "quadratic_hinge"), "seeds": 40},
    "trained": {"P": (72, 144), "alpha": (1.0, 10.0, 1000.0), "phi_min": 0.6,
                "phi_max": 1.8, "phi_num": 13, "seeds": 12, "momentum": 0.9},
    "generalization": {"P": (100, 200, 400), "phi_min": 0.25, "phi_max": 4.0, "phi_num": 31,
                       "seeds": 40, "n_ens": 5},
}

_SMOKE: dict[str, dict[str, Any]] = {
    "jamming_relu": {**_JAMMING, "P": (10, 20), "phi_num": 5, "seeds": 3},
    "jamming_fourier": {**_JAMMING, "P": (10,), "phi_num": 3, "seeds": 2,
                        "source": "fourier_features"},
    "jamming_taylor": {**_JAMMING, "P": (11,), "phi_num": 3, "seeds": 2,
                       "source": "taylor_features"},
    "jamming_jacobian": {**_JAMMING, "P": (11,), "phi_num": 2, "seeds": 2,
                         "source": "ntk_jacobian"},
    "ntk_rank": {"n": (10, 20), "seeds": 1, "d": 5, "depth": 1},
    "spectrum_gaussian": {"phi": (0.5, 2.0), "size": 20, "seeds": 1},
    "spectrum_features": {"phi": (0.5, 2.0), "size": 20, "seeds": 1, "d": 20},
    "spectrum_truncated": {"phi": (0.5, 2.0), "size": 21, "seeds": 1},
    "sphere": {"P": (20,), "margin": (-0.5,), "seeds": 2},
    "fluctuations": {"depths": (1,), "widths": (8, 16, 32), "n": (6,), "seeds": 3,
                     "n_ens": 2},
    "hanin_nica": {"depths": (1, 2, 3), "widths": (8,), "seeds": 3, "n": 4, "n_nets": 4},
    "kernel_drift": {"widths": (8,), "alphas": (100.0,), "losses": ("mse",), "seeds": 2,
                     "n": (8,), "max_steps": 2000, "momentum": 0.9},
    "fixed_points": {"P": 10, "phi": (0.5, 2.0), "losses": ("mse", "quadratic_hinge"),
                     "seeds": 2},
    "trained": {"P": (12,), "alpha": (1000.0,), "phi_min": 1.0, "phi_max": 1.0,
                "phi_num": 1, "seeds": 2, "d": 3, "max_steps": 2000, "momentum": 0.9},
    "generalization": {"P": (10,), "phi_min": 0.5, "phi_max": 2.0, "phi_num": 3, "seeds": 2,
                       "n_ens": 2, "n_test": 50},
}

_TABLES = {"quick": _QUICK, "full": _FULL, "smoke": _SMOKE}

#: The studies whose figures a profile draws (None: all).  Drawing is most of the
#: analysis time of the tiny smoke profile, so it draws one study's and the report's own.
FIGURES: dict[str, tuple[str, ...] | None] = {
    "quick": None, "full": None, "smoke": ("jamming_relu", "spectra", "fixed_points")}
#: Bootstrap samples of the crossing, approach and peak fits per profile.
N_BOOT = {"quick": 200, "full": 500, "smoke": 20}


def profile_settings(profile: str) -> dict[str, dict[str, Any]]:
    """Study name → the arguments of its spec builder, for ``profile``.

    Parameters
    ----------
    profile : {"quick", "full", "smoke"}

    Returns
    -------
    dict
        A fresh copy (editing it changes nothing here).

    Raises
    ------
    ValueError
        An unknown profile.

    Examples
    --------
    >>> from ntkjam.report.profiles import STUDIES, profile_settings
    >>> smoke = profile_settings("smoke")
    >>> list(smoke) == list(STUDIES), smoke["fixed_points"]["P"]
    (True, 10)
    >>> smoke["fixed_points"]["P"] = 1000  # a copy: the profile is unchanged
    >>> [profile_settings(name)["fixed_points"]["P"] for name in ("smoke", "quick", "full")]
    [10, 40, 100]
    >>> profile_settings("tiny")
    Traceback (most recent call last):
    ...
    ValueError: profile must be one of quick, full, smoke, got 'tiny'
    """
    if profile not in _TABLES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    return {name: dict(_TABLES[profile][name]) for name in STUDIES}


def _phase(kw: dict, out: Path):
    from ntkjam.experiments.phase_diagram import phase_diagram_spec

    return (phase_diagram_spec(output=str(out), **kw),)


def _kernel_summary(kw: dict, out: Path):
    from ntkjam.sweep import parse_spec

    kw = dict(kw)
    grid = {"n": list(kw.pop("n"))}
    seeds = kw.pop("seeds")
    return (parse_spec({"experiment": "kernel_summary", "output": str(out), "params": kw,
                        "grid": grid, "seeds": {"count": seeds, "start": 0},
                        "description": "rank of the infinite-width NTK Gram"},
                       source="ntkjam report"),)


#: The spectrum task, named by import path (its specs key on the params as given).
SPECTRUM_TASK = "ntkjam.experiments.spectrum:spectrum_task"


def _spectrum(source: str):
    def build(kw: dict, out: Path):
        from ntkjam.experiments.spectrum import SpectrumParams
        from ntkjam.sweep import parse_spec

        kw = dict(kw)
        phis, seeds = list(kw.pop("phi")), kw.pop("seeds")
        params = {"source": source, "fixed": "p", **kw}
        for phi in phis:  # every task checked before anything runs
            SpectrumParams.resolve({**params, "phi": phi})
        return (parse_spec({"experiment": SPECTRUM_TASK, "output": str(out), "params": params,
                            "grid": {"phi": phis}, "seeds": {"count": seeds, "start": 0},
                            "description": f"Gram spectra ({source})"},
                           source="ntkjam report"),)
    return build


def _sphere(kw: dict, out: Path):
    from ntkjam.experiments.sphere_jamming import sphere_jamming_spec

    return (sphere_jamming_spec(output=str(out), **kw),)


def _fluctuation(kw: dict, out: Path):
    from ntkjam.experiments.fluctuations import fluctuation_spec

    return (fluctuation_spec(output=str(out), d=10, activation="relu", sigma_w=_SQRT2,
                             sigma_b=0.0, **kw),)


def _diagonal(kw: dict, out: Path):
    from ntkjam.experiments.fluctuations import diagonal_spec

    return (diagonal_spec(output=str(out), d=10, activation="relu", sigma_w=_SQRT2,
                          sigma_b=0.0, **kw),)


def _drift(kw: dict, out: Path):
    from ntkjam.experiments.kernel_drift import kernel_drift_spec

    return (kernel_drift_spec(output=str(out), **kw),)


def _fixed_points(kw: dict, out: Path):
    from ntkjam.experiments.fixed_points import fixed_point_spec

    return (fixed_point_spec(output=str(out), **kw),)


def _trained(kw: dict, out: Path):
    from ntkjam.experiments.trained import trained_spec

    return (trained_spec(output=str(out), **kw),)


def _generalization(kw: dict, out: Path):
    from ntkjam.experiments.generalization import generalization_spec

    return (generalization_spec(output=str(out), **kw),)


_BUILDERS = {"phase_diagram": _phase, "kernel_summary": _kernel_summary,
             "sphere_jamming": _sphere, "fluctuation": _fluctuation, "diagonal": _diagonal,
             "kernel_drift": _drift, "fixed_points": _fixed_points, "trained": _trained,
             "generalization": _generalization}


def report_specs(profile: str, output: str | Path) -> dict[str, tuple]:
    """Study name → its validated sweep specs, run directories under ``output``.

    Parameters
    ----------
    profile : {"quick", "full", "smoke"}
    output : path
        The report's directory; study ``name`` is stored in ``output/runs/name``.

    Returns
    -------
    dict[str, tuple of ntkjam.sweep.SweepSpec]
        In report order (:data:`STUDIES`).

    Raises
    ------
    ValueError, TypeError
        An unknown profile; a setting its study refuses (a bug in the tables above).

    Examples
    --------
    Nothing runs and nothing is written: the specs are validated and keyed, each study
    with its own run directory:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> from ntkjam.report.profiles import report_specs
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     specs = report_specs("smoke", tmp)
    ...     (spec,) = specs["fixed_points"]
    ...     where = Path(spec.output_dir()).relative_to(tmp).as_posix()
    ...     written = list(Path(tmp).iterdir())
    >>> len(specs), where, len(sweep.expand(spec)), written
    (15, 'runs/fixed_points', 8, [])
    """

    settings = profile_settings(profile)
    runs = Path(output) / "runs"
    out = {}
    for name, (_, builder, _) in STUDIES.items():
        kind = builder.split("_")[0] if builder.startswith("spectrum") else builder
        build = _spectrum(name.split("_", 1)[1]) if kind == "spectrum" else _BUILDERS[kind]
        out[name] = build(settings[name], runs / name)
    return out
