"""Reprs that summarise: every public frozen result class shows its status, key scalars and
the shapes of its arrays, never the arrays themselves (ntkjam.core.reprs)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
import warnings

import numpy as np
import pytest

import ntkjam
from ntkjam.core.reprs import STATUS_FIELDS, SummaryRepr, summarize, summary_repr

#: Frozen dataclasses that hold no result: configurations (scalars, callables, widths).
CONFIGURATIONS = {
    "ntkjam.kernels.activations.Activation", "ntkjam.networks.mlp.MLP",
    "ntkjam.networks.optimizers.StepSize", "ntkjam.networks.optimizers.Optimizer",
}
#: Result classes in modules being rewritten by another change: they take SummaryRepr then.
PENDING: set[str] = set()
_HOLDS = ("ndarray", "Array", "list", "tuple", "dict")


def _frozen_classes() -> dict[str, type]:
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for info in pkgutil.walk_packages(ntkjam.__path__, "ntkjam."):
            if info.name == "ntkjam.plots":
                continue
            mod = importlib.import_module(info.name)
            for name, obj in vars(mod).items():
                if (inspect.isclass(obj) and dataclasses.is_dataclass(obj)
                        and obj.__module__ == mod.__name__ and not name.startswith("_")
                        and obj.__dataclass_params__.frozen):
                    out[f"{mod.__name__}.{name}"] = obj
    return out


CLASSES = _frozen_classes()
SUMMARISED = sorted(n for n, c in CLASSES.items() if c.__repr__ is summary_repr)


def test_every_frozen_class_holding_arrays_summarises():
    missing = sorted(
        n for n, c in CLASSES.items()
        if c.__repr__ is not summary_repr and n not in CONFIGURATIONS | PENDING
        and any(k in str(f.type) for f in dataclasses.fields(c) for k in _HOLDS))
    assert not missing, f"frozen result classes with the dataclass repr: {missing}"
    assert not (PENDING | CONFIGURATIONS) - set(CLASSES), "stale names in the exemptions"


def _big_instance(cls):
    """An instance whose every field is a large array (status-like fields a word)."""
    obj = object.__new__(cls)
    for f in dataclasses.fields(cls):
        value = "unsat" if f.name in STATUS_FIELDS else np.arange(100_000.0).reshape(1000, 100)
        object.__setattr__(obj, f.name, value)
    return obj


@pytest.mark.parametrize("name", SUMMARISED)
def test_repr_is_short_and_names_the_class_and_status(name):
    cls = CLASSES[name]
    text = repr(_big_instance(cls))
    assert len(text) <= 300, text
    assert text.startswith(f"{cls.__name__}(")
    assert "<array (1000, 100) float64>" in text
    assert "99999" not in text and "0., 1." not in text  # no values dumped
    for key in ("status", "verdict"):
        if key in {f.name for f in dataclasses.fields(cls)}:
            assert f"{key}='unsat'" in text, text


def test_summary_order_and_values():
    @dataclasses.dataclass(frozen=True, repr=False)
    class R(SummaryRepr):
        w: np.ndarray
        loss: float
        message: str
        verdict: str
        count: int
        params: list
        nothing: object = None

    r = R(np.zeros((3, 2), dtype=np.float32), 0.123456, "x" * 100, "sat", np.int64(4),
          [(1, 2), (3, 4), (5, 6)])
    text = repr(r)
    assert text.startswith("R(verdict='sat', loss=0.1235, message='xxx")
    assert "count=4" in text and "w=<array (3, 2) float32>" in text
    assert "params=<list of 3>" in text and "nothing=None" in text
    assert len(re.findall("x", text)) < 45


def test_summarize_values():
    from ntkjam.core import Status

    assert summarize(Status.SAT) == "'sat'"
    assert summarize(np.float64(2.0)) == "2" and summarize(np.array(3.5)) == "3.5"
    assert summarize(True) == "True" and summarize((1, 2)) == "(1, 2)"
    assert summarize({"a": 1}) == "<dict of 1>"
    assert summarize(np.ones((2, 2))) == "<array (2, 2) float64>"


def test_real_results_summarise():
    from ntkjam.jamming import lp_certificate, minimize_quadratic_hinge
    from ntkjam.problem import Problem

    rng = np.random.default_rng(0)
    J, y = rng.standard_normal((400, 200)), rng.choice([-1.0, 1.0], 400)
    problem = Problem(y=y, J=J)
    for res in (problem, minimize_quadratic_hinge(problem), lp_certificate(problem),
                problem.rank_report()):
        text = repr(res)
        assert len(text) <= 300 and "<array (" in text, text
    text = repr(minimize_quadratic_hinge(problem))
    assert text.startswith("HingeMinimum(verdict='unsat', loss=") and "n_unsat=" in text
    assert "check=<CertificateCheck" in text or "…" in text
