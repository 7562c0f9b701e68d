"""Sweep specs: validation messages, ranges, task keys and derived seeds."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest

from ntkjam.sweep import SpecError, canonical_json, derive_seed, expand, load_spec, parse_spec
from ntkjam.sweep.spec import task_key

# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("spec", "needles"),
    [
        ({}, ["'experiment' is required", "package.module:function"]),
        ({"experiment": 3}, ["'experiment'", "got 3", "import path"]),
        ({"experiment": "a b"}, ["'experiment'", "'a b'", "import path"]),
        ({"experiment": "x", "grd": {}}, ["unknown field 'grd'", "allowed: experiment"]),
        (
            {"experiment": "x", "grid": {"phi": {"start": 1.0, "stop": 3.0, "num": 0}}},
            ["grid.phi.num", "integer >= 1", "got 0"],
        ),
        (
            {"experiment": "x", "grid": {"phi": {"start": 1.0, "stop": 3.0}}},
            ["grid.phi", "'num'", "start, stop, num, log"],
        ),
        (
            {"experiment": "x", "grid": {"phi": {"start": 1.0, "stop": 3.0, "num": 3, "step": 1}}},
            ["grid.phi", "'step'", "allowed keys: start, stop, num, log"],
        ),
        (
            {"experiment": "x", "grid": {"n": {"start": 0.0, "stop": 8, "num": 3, "log": True}}},
            ["grid.n", "start > 0", "start=0.0"],
        ),
        (
            {"experiment": "x", "grid": {"n": {"start": 1, "stop": 3, "num": 5}}},
            ["grid.n", "repeats values", "as floats"],
        ),
        ({"experiment": "x", "grid": {"n": []}}, ["grid.n", "at least one value"]),
        ({"experiment": "x", "grid": {"n": [1, 1]}}, ["grid.n", "twice"]),
        ({"experiment": "x", "grid": {"n": [1, "a"]}}, ["grid.n", "mixes"]),
        ({"experiment": "x", "grid": {"n": 5}}, ["grid.n", "list of values or a range", "got 5"]),
        ({"experiment": "x", "grid": {"n": [[1, 2]]}}, ["grid.n[0]", "number, string or boolean"]),
        ({"experiment": "x", "grid": {"status": [1]}}, ["'status'", "reserved"]),
        ({"experiment": "x", "params": {"Status": 1}}, ["'Status'", "reserved", "ignore case"]),
        ({"experiment": "x", "params": {"N": 1}, "grid": {"n": [2]}}, ["'N' and 'n'", "case"]),
        ({"experiment": "x", "grid": {"2x": [1]}}, ["'2x'", "letters, digits"]),
        ({"experiment": "x", "grid": {"seeds": [0, 1]}}, ["grid.seeds", "above the first [table]"]),
        ({"experiment": "x", "params": {"n": 1}, "grid": {"n": [2]}}, ["'n'", "both"]),
        ({"experiment": "x", "params": 3}, ["'params'", "got 3", "table of name = value"]),
        ({"experiment": "x", "params": {"eps": math.inf}}, ["params.eps", "finite", "inf"]),
        ({"experiment": "x", "seeds": [-1]}, ["seeds[0]", ">= 0", "-1"]),
        ({"experiment": "x", "seeds": [0, 0]}, ["seeds", "distinct"]),
        ({"experiment": "x", "seeds": {"count": 0}}, ["seeds.count", ">= 1", "got 0"]),
        ({"experiment": "x", "seeds": {"n": 3}}, ["seeds", "'n'", "count, start"]),
        ({"experiment": "x", "seeds": "all"}, ["seeds", "'all'", "{count = 5, start = 0}"]),
        ({"experiment": "x", "output": 7}, ["'output'", "got 7", "directory path"]),
    ],
)
def test_bad_spec_names_field_value_and_what_is_allowed(spec, needles):
    with pytest.raises(SpecError) as info:
        parse_spec(spec, source="t.toml")
    message = str(info.value)
    assert message.startswith("invalid sweep spec t.toml: ")
    for needle in needles:
        assert needle in message, (needle, message)
    assert "\n" not in message  # one line, no pydantic wall of text
    assert "https://" not in message


def test_several_errors_are_reported_together_and_capped():
    with pytest.raises(SpecError) as info:
        parse_spec({"experiment": 1, "description": 2, "output": 3, "a": 4, "b": 5})
    message = str(info.value)
    assert "'experiment'" in message and "'description'" in message
    assert "(and 2 more)" in message


def test_toml_errors_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('experiment = "x"\ngrid = {', encoding="utf-8")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(bad)
    with pytest.raises(SpecError, match="cannot read spec file"):
        load_spec(tmp_path / "missing.toml")


# --------------------------------------------------------------------------- values


def test_ranges_lists_and_seeds(tmp_path):
    path = tmp_path / "s.toml"
    # An unregistered experiment: only the spec syntax is checked here (the parameters of
    # a registered one are checked at load, see test_bad_input.py).
    path.write_text(
        """
experiment = "my_study"
seeds = {count = 3, start = 10}
output = "out/here"
[params]
d = 5
widths = [10, 20]
[grid]
phi = {start = 1.0, stop = 3.0, num = 5}
n = {start = 16, stop = 1024, num = 7, log = true}
sigma = {start = 0.01, stop = 1.0, num = 3, log = true}
act = ["relu", "erf"]
""",
        encoding="utf-8",
    )
    spec = load_spec(path)
    assert spec.grid["phi"] == (1.0, 1.5, 2.0, 2.5, 3.0)
    assert spec.grid["n"] == (16, 32, 64, 128, 256, 512, 1024)
    assert all(isinstance(v, int) for v in spec.grid["n"])
    assert spec.grid["sigma"][0] == 0.01 and spec.grid["sigma"][-1] == 1.0  # exact ends
    assert spec.grid["sigma"][1] == pytest.approx(0.1, rel=1e-14)
    assert spec.grid["act"] == ("relu", "erf")
    assert spec.seeds == (10, 11, 12)
    assert spec.axes == ("phi", "n", "sigma", "act")
    assert spec.n_tasks == 5 * 7 * 3 * 2 * 3
    # relative output is taken relative to the spec file, an override to the cwd
    assert spec.output_dir() == (tmp_path / "out" / "here").resolve()
    assert spec.output_dir("elsewhere") == (Path.cwd() / "elsewhere").resolve()
    (tmp_path / "nameless.toml").write_text('experiment = "e"\n', encoding="utf-8")
    assert load_spec(tmp_path / "nameless.toml").output_dir() == tmp_path / "runs" / "nameless"


def test_expand_order_and_contents():
    spec = parse_spec(
        {"experiment": "e", "params": {"d": 2}, "grid": {"a": [1, 2], "b": ["u", "v", "w"]},
         "seeds": [5, 6]}
    )
    tasks = expand(spec)
    assert len(tasks) == spec.n_tasks == 12
    assert [(t.point["a"], t.point["b"], t.seed) for t in tasks[:4]] == [
        (1, "u", 5), (1, "u", 6), (1, "v", 5), (1, "v", 6)
    ]
    assert tasks[0].params == {"d": 2, "a": 1, "b": "u"}
    assert len({t.key for t in tasks}) == 12
    assert len({t.task_seed for t in tasks}) == 12


# --------------------------------------------------------------------------- keys and seeds


def test_task_key_is_sha256_of_canonical_json_and_stable():
    params = {"phi": 1.5, "n": 100, "activation": "relu", "widths": [10, 20], "eps": 1e-12,
              "flag": True}
    expected_json = (
        '{"experiment":"kernel_summary","params":{"activation":"relu","eps":1e-12,"flag":true,'
        '"n":100,"phi":1.5,"widths":[10,20]},"scheme":1,"seed":3}'
    )
    payload = {"scheme": 1, "experiment": "kernel_summary", "params": params, "seed": 3}
    assert canonical_json(payload) == expected_json
    key = task_key("kernel_summary", params, 3, scheme=1)
    assert key == hashlib.sha256(expected_json.encode()).hexdigest()
    # Pinned: changing these breaks every existing run directory's resume (stores
    # written before resolved keys keep scheme 1).
    assert key == "e6fc2754b6501904aea1c9b17743145ef06751cdbf8d5c4825cbbea74767b9c9"
    assert derive_seed(key) == 99850051
    # Scheme 2 (resolved params, the default now): the same recipe, its own number.
    key2 = task_key("kernel_summary", params, 3)
    assert key2 == hashlib.sha256(expected_json.replace('"scheme":1', '"scheme":2')
                                  .encode()).hexdigest()
    with pytest.raises(ValueError, match="scheme must be one of"):
        task_key("kernel_summary", params, 3, scheme=7)


def test_task_key_depends_on_exactly_what_it_should():
    base = task_key("e", {"a": 1.0, "b": "x"}, 0)
    assert task_key("e", {"b": "x", "a": 1.0}, 0) == base  # key order irrelevant
    assert task_key("e", {"a": np.float64(1.0), "b": "x"}, 0) == base  # numpy scalars unwrapped
    assert task_key("e", {"a": 1, "b": "x"}, 0) != base  # int 1 is not float 1.0
    assert task_key("e", {"a": float(np.nextafter(1.0, 2.0)), "b": "x"}, 0) != base  # one ulp
    assert task_key("e", {"a": 1.0, "b": "x"}, 1) != base
    assert task_key("f", {"a": 1.0, "b": "x"}, 0) != base
    assert task_key("e", {"a": 0.1 + 0.2}, 0) != task_key("e", {"a": 0.3}, 0)  # exact floats


def test_keys_do_not_depend_on_axis_order_or_grid_shape():
    a = parse_spec({"experiment": "e", "grid": {"x": [1, 2], "y": [3.0, 4.0]}, "seeds": [0, 1]})
    b = parse_spec({"experiment": "e", "grid": {"y": [4.0, 3.0], "x": [2, 1]}, "seeds": [1, 0]})
    c = parse_spec({"experiment": "e", "params": {"y": 3.0}, "grid": {"x": [1]}, "seeds": [0]})
    keys_a = {t.key: t.task_seed for t in expand(a)}
    assert keys_a == {t.key: t.task_seed for t in expand(b)}
    # the same resolved parameters give the same key, whether fixed or on a grid
    assert expand(c)[0].key in keys_a


def test_derive_seed_range_and_validation():
    seeds = [derive_seed(task_key("e", {"i": i}, 0)) for i in range(200)]
    assert all(0 <= s < 2**32 for s in seeds)
    assert len(set(seeds)) == 200
    with pytest.raises(ValueError, match="64 lowercase hex"):
        derive_seed("abc")


def test_canonical_json_rejects_non_json_values():
    with pytest.raises(SpecError, match="finite"):
        canonical_json({"a": float("nan")})
    with pytest.raises(SpecError, match="string, number, boolean, list or table"):
        canonical_json({"a": object()})


def test_the_spec_in_the_docs_is_valid_and_has_the_stated_size():
    import tomllib

    docs = Path(__file__).resolve().parents[1] / "docs" / "sweeps.md"
    text = docs.read_text(encoding="utf-8")
    block = text.split("## 2. Writing a spec", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    spec = parse_spec(tomllib.loads(block))
    assert spec.n_tasks == 525
    assert spec.grid["n"] == (16, 32, 64, 128, 256, 512, 1024)
    assert spec.grid["sigma_b"] == (0.0, 0.25, 0.5, 0.75, 1.0)
