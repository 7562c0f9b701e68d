"""The study parameter models (ntkjam.core.params) and the models of the experiments."""

from __future__ import annotations

import inspect
import math
import re
import sys
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError, model_validator

from ntkjam.core.params import (
    Bool,
    Checked,
    Choice,
    Int,
    NonNegativeReal,
    Nullable,
    PositiveInt,
    PositiveReal,
    Real,
    StudyParams,
    Unit,
)
from ntkjam.experiments import spectrum
from ntkjam.sweep import registry


def _small(name: str, value: object) -> float:
    if value > 3:
        raise ValueError(f"{name} must be <= 3 (a study's own bound), got {value}")
    return float(value)


class Toy(StudyParams, study="toy"):
    n: PositiveInt
    x: Real
    k: Int(minimum=-2) = 0
    scale: PositiveReal = 1.0
    shift: NonNegativeReal = 0.0
    frac: Unit = 0.5
    flag: Bool = True
    mode: Choice("a", "b") = "a"
    small: Checked(float, _small) = 1.0
    dim: Nullable(Int(minimum=2)) = None

    @model_validator(mode="after")
    def cross_checks(self) -> Toy:
        if self.mode == "b" and self.x < 0:
            raise ValueError(f"mode 'b' needs x >= 0, got {self.x}")
        return self


def _refused(params: dict[str, Any]) -> tuple[type, str]:
    with pytest.raises((ValueError, TypeError)) as info:
        Toy.resolve({"n": 1, "x": 0.0, **params})
    assert not isinstance(info.value, ValidationError), "a pydantic error leaked out"
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"n": 0}, ValueError, "n must be >= 1, got 0"),
        ({"n": 2.0}, TypeError, "n must be an integer, got 2.0"),
        ({"n": True}, TypeError, "n must be an integer, got True"),
        ({"n": None}, TypeError, "n must be an integer, got None"),
        ({"k": -3}, ValueError, "k must be >= -2, got -3"),
        ({"x": "1"}, TypeError, "x must be a real number, got '1'"),
        ({"x": False}, TypeError, "x must be a real number, got False"),
        ({"x": math.nan}, ValueError, "x must be finite, got nan"),
        ({"x": -math.inf}, ValueError, "x must be finite, got -inf"),
        ({"scale": 0}, ValueError, "scale must be > 0, got 0.0"),
        ({"shift": -1e-9}, ValueError, "shift must be >= 0, got -1e-09"),
        ({"frac": 1.5}, ValueError, "frac must be in [0, 1], got 1.5"),
        ({"frac": -0.5}, ValueError, "frac must be >= 0, got -0.5"),
        ({"flag": 1}, TypeError, "flag must be a boolean, got 1"),
        ({"flag": "yes"}, TypeError, "flag must be a boolean, got 'yes'"),
        ({"mode": "c"}, ValueError, "mode must be one of ['a', 'b'], got 'c'"),
        ({"mode": 1}, ValueError, "mode must be one of ['a', 'b'], got 1"),
        ({"small": 4}, ValueError, "small must be <= 3 (a study's own bound), got 4"),
        ({"dim": 1}, ValueError, "dim must be >= 2, got 1"),
        ({"dim": "2"}, TypeError, "dim must be an integer, got '2'"),
    ],
)
def test_each_field_type_refuses_with_the_checks_own_message(params, error, message):
    assert _refused(params) == (error, message)


def test_each_field_type_accepts_and_converts():
    p = Toy.resolve({"n": np.int64(3), "x": 2, "k": -2, "scale": np.float32(0.5), "shift": 0,
                     "frac": 1, "flag": False, "mode": "b", "small": 3, "dim": 4})
    assert p == {"n": 3, "x": 2.0, "k": -2, "scale": 0.5, "shift": 0.0, "frac": 1.0,
                 "flag": False, "mode": "b", "small": 3.0, "dim": 4}
    assert [type(v) for v in p.values()] == [int, float, int, float, float, float, bool, str,
                                             float, int]
    assert Toy.resolve({"n": 1, "x": 0, "dim": None})["dim"] is None


def test_unknown_and_missing_parameters_name_the_study():
    with pytest.raises(ValueError) as info:
        Toy.resolve({"n": 1, "x": 0, "zeta": 1, "alpha": 2})
    assert str(info.value) == ("toy: unknown parameter 'alpha'; allowed: n, x, k, scale, shift,"
                               " frac, flag, mode, small, dim")
    with pytest.raises(ValueError, match=r"^toy: parameter 'x' is required$"):
        Toy.resolve({"n": 1})
    with pytest.raises(ValueError, match=r"^toy: parameter 'n' is required$"):
        Toy.resolve({})
    with pytest.raises(TypeError, match=r"^params must be a dict, got list$"):
        Toy.resolve([("n", 1)])


def test_the_first_bad_field_is_reported_even_before_a_later_type_error():
    """pydantic lets a TypeError escape at once; the model reports in field order."""
    assert _refused({"n": 0, "x": "1"}) == (ValueError, "n must be >= 1, got 0")
    assert _refused({"scale": -1, "flag": 2}) == (ValueError, "scale must be > 0, got -1.0")
    assert _refused({"flag": 2, "scale": -1}) == (ValueError, "scale must be > 0, got -1.0")


def test_a_model_validator_error_is_the_original_value_error():
    assert _refused({"mode": "b", "x": -1}) == (ValueError, "mode 'b' needs x >= 0, got -1.0")
    # Cross-field rules run only once every field is valid.
    assert _refused({"mode": "b", "x": -1, "frac": 2})[1] == "frac must be in [0, 1], got 2.0"


def test_models_are_frozen():
    model = Toy.parse({"n": 1, "x": 0})
    with pytest.raises(ValidationError):
        model.n = 2
    assert model.n == 1


def test_defaults_and_resolve():
    assert Toy.defaults() == {"n": None, "x": None, "k": 0, "scale": 1.0, "shift": 0.0,
                              "frac": 0.5, "flag": True, "mode": "a", "small": 1.0, "dim": None}
    given = {"x": 1, "mode": "b", "n": 2}
    p = Toy.resolve(given)
    assert type(p) is dict and list(p) == list(Toy.defaults())  # field order, not given order
    assert p == {**Toy.defaults(), "n": 2, "x": 1.0, "mode": "b"}
    assert given == {"x": 1, "mode": "b", "n": 2}  # not mutated
    assert Toy.resolve(p) == p  # idempotent: spelling out a default is the same task
    assert Toy.parse(given).resolved() == p


def test_checked_keeps_a_value_as_given_and_nullable_needs_a_field_type():
    class Kept(StudyParams, study="kept"):
        tag: Checked(Any, lambda name, value: value) = "x"

    marker = object()
    assert Kept.resolve({"tag": marker})["tag"] is marker
    with pytest.raises(TypeError, match="Nullable needs a field type"):
        Nullable(int)


# ------------------------------------------------------------- the studies' models

def _study_models() -> dict[str, tuple[type[StudyParams], Any]]:
    """Study name -> (model, module), over the modules of the registered experiments and
    the spectrum task (named by import path).  A model counts in the module that defines
    it, or in its task's module when defined beside it (e.g. ``fluctuation_specs``)."""
    out = {}
    tasks = {n: registry.get(n).__module__ for n in registry.names()}
    modules = {sys.modules[m] for m in tasks.values()} | {spectrum}
    for module in modules:
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, StudyParams)
                    and (value.__module__ == module.__name__
                         or tasks.get(value.study) == module.__name__)):
                out[value.study] = (value, module)
    return out


def _task(name: str):
    return spectrum.spectrum_task if name == "spectrum" else registry.get(name)


def _documented(task) -> dict[str, str] | None:
    """``name`` -> the text in parentheses after it, in the ``params : dict`` entry
    (``None`` when the task's docstring has none)."""
    doc = inspect.getdoc(task) or ""
    if "params : dict" not in doc:
        return None
    section = " ".join(doc.split("params : dict", 1)[1].split("seed : int", 1)[0].split())
    out, at = {}, 0
    while (m := re.compile(r"``(\w+)`` \(").search(section, at)) is not None:
        depth, j = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(section[j], 0)
            j += 1
        out[m.group(1)], at = section[m.end(): j - 1], j
    return out


def _states(text: str, default: Any) -> bool:
    """Whether ``text`` states ``default``: its first quoted word, ``√2``, or the number."""
    if isinstance(default, bool):
        return str(default) in text
    if isinstance(default, str):
        return re.findall(r'"([^"]*)"', text)[:1] == [default]
    if math.isclose(default, 2**0.5):
        return "√2" in text
    numbers = re.findall(r"(?<![\w.])\d+(?:\.\d*)?(?:e[-+]?\d+)?(?![\w.])", text)
    return any(math.isclose(float(x), default) for x in numbers)


MODELS = _study_models()
#: Valid required parameters of the studies whose module holds DEFAULTS.
REQUIRED = {"phase_diagram": {"P": 10, "phi": 1.5}, "trained_phase_diagram": {"P": 12, "phi": 0.5},
            "kernel_summary": {"n": 8, "d": 3}, "spectrum": {"phi": 0.5}}


def test_every_registered_experiment_has_a_model_named_after_it():
    assert set(registry.names()) | {"spectrum"} <= set(MODELS)
    assert set(REQUIRED) <= set(MODELS)


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_the_module_defaults_are_the_models(name):
    model, module = MODELS[name]
    assert module.DEFAULTS == model.defaults()
    required = {k for k, field in model.model_fields.items() if field.is_required()}
    assert required == set(REQUIRED[name])
    resolved = model.resolve(dict(REQUIRED[name]))
    assert list(resolved) == list(model.defaults())
    if name in registry.names():
        assert registry.resolver(name)(dict(REQUIRED[name])) == resolved


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_documented_defaults_are_the_models(name):
    """Every task's docstring lists all its parameters and states the model's defaults."""
    model, _ = MODELS[name]
    docs = _documented(_task(name))
    assert docs, f"{name}: list the parameters in the task's docstring"
    assert set(docs) == set(model.model_fields)
    for k, default in model.defaults().items():
        if model.model_fields[k].is_required():
            assert "required" in docs[k], f"{name}: {k} is required, say so"
        elif default is None:
            assert "None" in docs[k], f"{name}: say what {k} = None means"
        else:
            assert _states(docs[k], default), f"{name}.{k}: {docs[k]!r}"


def test_the_spectrum_model_refuses_what_the_task_used_to_ignore_or_crash_on():
    with pytest.raises(ValueError, match=r"^spectrum: parameter 'phi' is required$"):
        spectrum.spectrum_task({"size": 10}, 0)
    with pytest.raises(ValueError, match=r"^spectrum: unknown parameter 'sizes'"):
        spectrum.spectrum_task({"phi": 1.0, "sizes": 10}, 0)
    with pytest.raises(ValueError, match=r"^slq_steps must be >= 1, got 0$"):
        spectrum.SpectrumParams.resolve({"phi": 1.0, "slq_probes": 3})
    with pytest.raises(ValueError, match=r"^fixed must be 'p' for source 'analytic'"):
        spectrum.SpectrumParams.resolve({"phi": 1.0, "source": "analytic", "fixed": "n"})
    p = spectrum.SpectrumParams.parse({"phi": 1.0, "source": "truncated"})
    assert (p.input_dim, p.slq) == (5, None)
    slq = spectrum.SpectrumParams.parse({"phi": 1.0, "slq_probes": 2, "slq_steps": 9}).slq
    assert slq == (2, 9)
