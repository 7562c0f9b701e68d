"""The renamed names of docs/glossary.md ("Retired names"): each old name still works, warns,
and giving it beside its new name with a different value is refused."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from ntkjam.cli import app
from ntkjam.core.deprecation import DeprecatedNames, deprecated_alias, renamed_keywords
from ntkjam.theory import gardner_capacity

runner = CliRunner()


# ------------------------------------------------------------------------ the helpers
def test_renamed_keywords_maps_warns_and_refuses_conflicts():
    @renamed_keywords(old="new")
    def f(a, new=1.0):
        return a + new

    assert f(1, new=2) == 3
    with pytest.warns(DeprecationWarning, match=r"f\(old=\.\.\.\) is deprecated: use new="):
        assert f(1, old=2) == 3
    with pytest.warns(DeprecationWarning):
        assert f(1, 2, old=2) == 3  # the same value twice: accepted
    with pytest.raises(ValueError, match="give new or its deprecated name old"):
        f(1, new=2, old=3)
    with pytest.raises(ValueError, match="not both"):
        f(1, 2, old=3)  # the new one given positionally
    assert "old" not in f.__wrapped__.__code__.co_varnames


def test_renamed_keywords_compares_arrays_elementwise():
    @renamed_keywords(old="new")
    def f(new=None):
        return new

    with pytest.warns(DeprecationWarning):
        np.testing.assert_array_equal(f(new=np.ones(3), old=np.ones(3)), np.ones(3))
    with pytest.raises(ValueError):
        f(new=np.ones(3), old=np.zeros(3))


def test_renamed_keywords_refuses_an_unknown_new_name():
    with pytest.raises(TypeError, match="no parameter 'nope'"):
        renamed_keywords(old="nope")(lambda a: a)


def test_deprecated_alias_warns_and_calls():
    def new(x):
        return 2 * x

    old = deprecated_alias(new, "old")
    assert old.__name__ == "old"
    with pytest.warns(DeprecationWarning, match="old is deprecated: use new"):
        assert old(2) == 4


def test_deprecated_names_is_read_only():
    from dataclasses import FrozenInstanceError, dataclass

    @dataclass(frozen=True)
    class R(DeprecatedNames):
        _renamed = {"old": "new"}
        new: int

    r = R(3)
    with pytest.warns(DeprecationWarning, match=r"R\.old is deprecated: use \.new"):
        assert r.old == 3
    with pytest.raises(FrozenInstanceError):
        r.old = 4
    with pytest.raises(AttributeError, match="no attribute 'other'"):
        r.other  # noqa: B018


# ------------------------------------------------------------------------------- API
def test_gardner_capacity_kappa():
    with pytest.warns(DeprecationWarning, match="use margin="):
        assert gardner_capacity(kappa=1.0) == gardner_capacity(margin=1.0)
    with pytest.raises(ValueError, match="not both"):
        gardner_capacity(0.5, kappa=1.0)


def test_funk_hecke_and_truncation_error_kappa():
    from ntkjam.spectrum import funk_hecke, truncation_error

    def profile(t):
        return 1.0 + t + t**2

    fh = funk_hecke(profile, 3, 4)
    with pytest.warns(DeprecationWarning, match="use profile="):
        old = funk_hecke(kappa=profile, d=3, k_max=4)
    np.testing.assert_array_equal(old.mu, fh.mu)
    with pytest.warns(DeprecationWarning, match="use profile="):
        assert truncation_error(kappa=profile, result=fh, K=4) == truncation_error(
            profile, fh, 4)
    with pytest.raises(ValueError, match="not both"):
        funk_hecke(profile, 3, 4, kappa=np.cos)


def test_check_function_space_eta_and_its_field():
    from ntkjam.data import load_dataset
    from ntkjam.networks import check_function_space, init_params, mlp

    ds = load_dataset("sphere", n_train=6, d=3, seed=0)
    net = mlp(3, [8], activation="erf")
    params = init_params(net, 0)
    new = check_function_space(net, params, ds.X_train, ds.y_train, lr=0.1, n_steps=1)
    with pytest.warns(DeprecationWarning, match="use lr="):
        old = check_function_space(net, params, ds.X_train, ds.y_train, eta=0.1, n_steps=1)
    np.testing.assert_array_equal(old.relative_error, new.relative_error)
    with pytest.warns(DeprecationWarning, match=r"FunctionSpaceCheck\.eta is deprecated"):
        assert new.eta == new.lr == 0.1
    with pytest.raises(ValueError, match="not both"):
        check_function_space(net, params, ds.X_train, ds.y_train, lr=0.1, eta=0.2)


def test_fixed_points_analyse():
    import ntkjam.fixed_points as fp
    from ntkjam.fixed_points import analyse  # the old name still imports

    K, f, y = np.eye(2), np.zeros(2), np.array([1.0, -1.0])
    with pytest.warns(DeprecationWarning, match="analyse is deprecated: use analyze"):
        rep = analyse(K, f, y, "mse")
    new = fp.analyze(K, f, y, "mse")
    assert (rep.kind, rep.message) == (new.kind, new.message)
    np.testing.assert_array_equal(rep.gradient, new.gradient)
    assert "analyse" not in vars(fp)  # not a public name of the module
    with pytest.raises(AttributeError):
        fp.analyse_nothing  # noqa: B018


def test_train_outcome_n_delta():
    from ntkjam.experiments.trained import TrainOutcome

    out = TrainOutcome(status="sat", steps=1, time=1.0, loss=0.0, n_unsat=3, lr_initial=1.0,
                       lr_final=1.0, params=[], outputs=np.zeros(2), seconds=0.0)
    with pytest.warns(DeprecationWarning, match=r"TrainOutcome\.n_delta is deprecated"):
        assert out.n_delta == 3


def test_jamming_helpers_moved_to_core():
    from ntkjam.jamming.lp import LPCertificate
    from ntkjam.jamming.minimum import HingeMinimum

    assert issubclass(HingeMinimum, DeprecatedNames) and issubclass(LPCertificate,
                                                                     DeprecatedNames)


# ------------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("old, new, extra", [
    (["--out"], ["--output"], []),
    (["--p", "7"], ["--P", "7"], ["--features", "relu"]),
    (["--t-max", "0.5"], ["--max-time", "0.5"], []),
])
def test_flow_old_spellings(tmp_path, old, new, extra):
    base = ["flow", "--n", "8", "--max-steps", "20", *extra]
    if old == ["--out"]:
        old, new = [*old, str(tmp_path / "a")], [*new, str(tmp_path / "b")]
    else:
        base += ["--output", str(tmp_path / "c")]
    a = runner.invoke(app, [*base, *old])
    assert a.exit_code == 0, a.output
    assert f"warning: {old[0]} is deprecated: use {new[0]}" in a.stderr
    b = runner.invoke(app, [*base, *new])
    assert b.exit_code == 0 and "deprecated" not in b.stderr
    if old[0] == "--out":
        a_npz = np.load(tmp_path / "a" / "trajectory.npz")
        b_npz = np.load(tmp_path / "b" / "trajectory.npz")
        np.testing.assert_array_equal(a_npz["loss"], b_npz["loss"])


def test_flow_both_spellings_with_different_values_is_refused(tmp_path):
    r = runner.invoke(app, ["flow", "--n", "8", "--features", "relu", "--P", "9", "--p", "8",
                            "--output", str(tmp_path / "x")])
    assert r.exit_code == 2
    assert "--P and its deprecated spelling --p were both given" in r.stderr
    assert not (tmp_path / "x").exists()


def test_train_old_spellings(tmp_path):
    r = runner.invoke(app, ["train", "--n-train", "6", "--widths", "4", "--max-steps", "5",
                            "--out", str(tmp_path / "t")])
    assert r.exit_code == 0, r.output
    assert "warning: --n-train is deprecated: use --n" in r.stderr
    assert "warning: --out is deprecated: use --output" in r.stderr
    assert (tmp_path / "t" / "trajectory.npz").exists()
    r = runner.invoke(app, ["train", "--n", "6", "--n-train", "7", "--output", str(tmp_path)])
    assert r.exit_code == 2 and "--n and its deprecated spelling --n-train" in r.stderr


def test_kernel_old_spelling(tmp_path):
    r = runner.invoke(app, ["kernel", "--n", "6", "--out", str(tmp_path / "k.npz")])
    assert r.exit_code == 0, r.output
    assert "warning: --out is deprecated: use --output" in r.stderr
    assert (tmp_path / "k.npz").exists()


@pytest.mark.parametrize("command, old", [("flow", "--out"), ("flow", "--p"),
                                          ("flow", "--t-max"), ("kernel", "--out"),
                                          ("train", "--out"), ("train", "--n-train")])
def test_old_spellings_are_not_in_the_help(command, old):
    r = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    assert f"{old} " not in r.output


def test_stopping_rules_t_max_is_max_time():
    """StoppingRules(t_max=...) still works (renamed max_time), with a warning."""
    import warnings

    from ntkjam.dynamics import StoppingRules

    with pytest.warns(DeprecationWarning, match="max_time"):
        rules = StoppingRules(t_max=3.0)
    assert rules.max_time == 3.0
    with pytest.warns(DeprecationWarning, match="max_time"):
        assert rules.t_max == 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert StoppingRules(max_time=2.0).max_time == 2.0
    with pytest.raises(ValueError, match="max_time must be > 0"):
        StoppingRules(max_time=0.0)
