"""Task keys on resolved params (key scheme 2), and stores written before (scheme 1)."""

from __future__ import annotations

import sqlite3

import pytest

from ntkjam import sweep
from ntkjam.sweep import canonical, parse_spec, registry
from ntkjam.sweep.store import read_meta

_DEFAULTS = {"x": None, "scale": 1.0}


def _resolve(params):
    unknown = set(params) - set(_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown parameter {sorted(unknown)[0]!r}")
    return {**_DEFAULTS, **params}


def keys_toy(params, seed):
    p = _resolve(params)
    return {"y": p["scale"] * p["x"] + seed}


@pytest.fixture(autouse=True)
def _registered():
    """Register the toy experiment for these tests only (the common checks run over
    every registered experiment)."""
    registry.register("keys_toy", resolve=_resolve, check=_resolve)(keys_toy)
    yield
    for table in (registry._REGISTRY, registry._RESOLVERS, registry._CHECKS):
        table.pop("keys_toy", None)


def _spec(tmp_path, params=None):
    return parse_spec({
        "experiment": "keys_toy", "output": str(tmp_path / "run"),
        "params": params or {}, "grid": {"x": [1.0, 2.0, 3.0]}, "seeds": [0, 1],
    })


def test_a_spec_that_omits_a_default_and_one_that_writes_it_are_the_same_tasks(tmp_path):
    implicit = {t.key for t in registry.expand_spec(_spec(tmp_path))}
    explicit = {t.key for t in registry.expand_spec(_spec(tmp_path, {"scale": 1.0}))}
    assert implicit == explicit
    t = registry.expand_spec(_spec(tmp_path))[0]
    assert t.params == {"x": 1.0, "scale": 1.0}  # the task carries the resolved params


def test_a_changed_default_makes_new_tasks_instead_of_mixing_results(tmp_path, monkeypatch):
    spec = _spec(tmp_path)
    first = sweep.run(spec, workers=1, progress=False)
    assert first.done == 6
    again = sweep.run(spec, workers=1, progress=False)
    assert again.done == 0 and again.skipped == 6
    monkeypatch.setitem(_DEFAULTS, "scale", 2.0)  # "a release changes the default"
    changed = sweep.run(spec, workers=1, progress=False)
    assert changed.done == 6 and changed.skipped == 0  # recomputed, not reused
    df = sweep.load(tmp_path / "run")
    assert len(df) == 12 and sorted(df["scale"].unique()) == [1.0, 2.0]


def test_the_seed_follows_the_params_as_given(tmp_path):
    """Results of a spec are those of scheme 1: the RNG seed is derived as before."""
    spec = _spec(tmp_path)
    new = registry.expand_spec(spec)
    old = registry.expand_spec(spec, scheme=1)
    assert [t.task_seed for t in new] == [t.task_seed for t in old]
    assert {t.key for t in new}.isdisjoint({t.key for t in old})


def test_a_store_written_before_keeps_its_keys(tmp_path, monkeypatch):
    """A scheme-1 store (no key_scheme in its meta) resumes without recomputing."""
    spec = _spec(tmp_path)
    monkeypatch.setattr(canonical, "HASH_SCHEME", 1)
    first = sweep.run(spec, workers=1, progress=False)
    monkeypatch.undo()
    assert first.done == 6
    db = sqlite3.connect(tmp_path / "run" / "sweep.sqlite")
    with db:
        db.execute("DELETE FROM meta WHERE key = 'key_scheme'")  # as stores were written
    db.close()
    assert canonical.key_scheme(read_meta(tmp_path / "run")) == 1
    resumed = sweep.run(spec, workers=1, progress=False)
    assert resumed.done == 0 and resumed.skipped == 6
    assert read_meta(tmp_path / "run")["key_scheme"] == "1"  # recorded, kept
    status = sweep.summarize(tmp_path / "run")
    assert status.done == 6 and status.missing == 0 and status.extra == 0


def test_a_new_store_records_the_current_scheme(tmp_path):
    sweep.run(_spec(tmp_path), workers=1, progress=False)
    assert read_meta(tmp_path / "run")["key_scheme"] == str(canonical.HASH_SCHEME) == "2"


def test_resolvers_must_be_callable():
    with pytest.raises(TypeError, match="resolve"):
        registry.register("keys_bad", resolve=3)
