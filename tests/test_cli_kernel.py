"""`ntkjam kernel`: the table, the saved file, the Gram summary and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from ntkjam.cli import app
from ntkjam.cli.kernel import summarize_gram
from ntkjam.data import load_dataset
from ntkjam.kernels import analytic

runner = CliRunner()


def invoke(*args: str):
    # With a single registered command Typer runs it without its name; with several
    # (the normal case) the command name comes first.
    group = isinstance(typer.main.get_command(app), typer.core.TyperGroup)
    return runner.invoke(app, (["kernel"] if group else []) + list(args))


def test_defaults_print_the_summary_table():
    result = invoke()
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("shape", "200 x 200", "diagonal", "trace", "numerical rank", "condition"):
        assert text in out
    assert "top eigenvalues" in out
    # ReLU NTK, σ_w² = 2, depth 1, unit sphere in d = 10: diagonal 2 q0 (L+1) = 0.4.
    assert "0.4 / 0.4 / 0.4" in out
    assert "200 (eigenvalues >" in out


def test_out_file_round_trip(tmp_path):
    path = tmp_path / "gram.npz"
    args = ["--n", "40", "--d", "4", "--seed", "3", "--depth", "2", "--sigma-b", "0.1"]
    result = invoke(*args, "--activation", "erf", "--output", str(path))
    assert result.exit_code == 0, result.output
    with np.load(path, allow_pickle=False) as z:
        saved = {key: z[key] for key in z.files}
    X = load_dataset("sphere", n_train=40, d=4, seed=3).X_train
    np.testing.assert_array_equal(saved["X"], X)
    K = analytic.ntk(X, depth=2, activation="erf", sigma_b=0.1)
    np.testing.assert_array_equal(saved["K"], K)
    assert str(saved["kernel"]) == "ntk" and str(saved["activation"]) == "erf"
    assert str(saved["data"]) == "sphere"
    assert int(saved["depth"]) == 2 and float(saved["sigma_b"]) == 0.1
    assert float(saved["sigma_w"]) == math.sqrt(2.0)
    assert int(saved["n"]) == 40 and int(saved["d"]) == 4 and int(saved["seed"]) == 3
    np.testing.assert_allclose(saved["eigenvalues"], np.linalg.eigvalsh(K)[::-1], atol=1e-12)
    assert int(saved["rank"]) == 40


def test_polynomial_rank_on_the_sphere(tmp_path):
    # (x·x' + 1)³ on S² spans the polynomials of degree <= 3 on the sphere:
    # 1 + 3 + 5 + 7 = 16 spherical harmonics, whatever N is.
    path = tmp_path / "poly.npz"
    args = ["--kernel", "polynomial", "--degree", "3", "--d", "3", "--n", "60"]
    result = invoke(*args, "--rank-rtol", "1e-10", "--output", str(path))
    assert result.exit_code == 0, result.output
    assert "16 (eigenvalues >" in result.stdout and "inf" in result.stdout
    with np.load(path, allow_pickle=False) as z:
        assert int(z["rank"]) == 16 and int(z["degree"]) == 3
        assert "depth" not in z.files


def test_digits_rbf_and_gaussian_nngp(tmp_path):
    path = tmp_path / "digits.npz"
    args = ["--data", "digits", "--n", "50", "--kernel", "rbf", "--radius", "sqrt_d"]
    result = invoke(*args, "--output", str(path))
    assert result.exit_code == 0, result.output
    with np.load(path, allow_pickle=False) as z:
        assert z["X"].shape == (50, 64) and float(z["radius"]) == 8.0
        np.testing.assert_allclose(np.diag(z["K"]), 1.0)
    result = invoke("--data", "gaussian", "--n", "30", "--kernel", "nngp", "--depth", "0")
    assert result.exit_code == 0, result.output
    assert "30 x 30" in result.stdout
    # depth 0 is linear: rank min(N, d) = 10.
    assert "10 (eigenvalues >" in result.stdout


def test_help_lists_every_option():
    result = invoke("--help")
    assert result.exit_code == 0
    for option in (
        "--data", "--n", "--d", "--seed", "--radius", "--kernel", "--depth", "--activation",
        "--sigma-w", "--sigma-b", "--lengthscale", "--degree", "--coef0", "--rank-rtol", "--output",
    ):  # fmt: skip
        assert option in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "moons"], "Invalid value for '--data'"),
        (["--kernel", "laplace"], "Invalid value for '--kernel'"),
        (["--n", "0"], "n must be >= 1, got 0"),
        (["--data", "digits", "--n", "2000"], "n must be <= 1797"),
        (["--d", "1"], "d must be >= 2, got 1"),
        (["--depth", "-1"], "depth must be >= 0"),
        (["--sigma-w", "0"], "sigma_w must be > 0"),
        (["--sigma-b", "-1"], "sigma_b must be >= 0"),
        (["--activation", "swish"], "Invalid value for '--activation'"),
        (["--kernel", "rbf", "--lengthscale", "0"], "lengthscale must be > 0"),
        (["--kernel", "polynomial", "--degree", "-2"], "degree must be >= 0"),
        (["--radius", "big"], "radius must be a positive number or 'sqrt_d'"),
        (["--radius", "-1"], "radius must be > 0"),
        (["--data", "gaussian", "--radius", "2"], "radius is not defined"),
        (["--data", "digits", "--d", "10"], "d must be 64"),
        (["--seed", "-3"], "seed must be >= 0"),
        (["--rank-rtol", "0"], "rank_rtol must be > 0"),
        (["--output", "gram.txt"], "--output must be a path ending in .npz"),
        (["--output", "/no/such/dir/gram.npz"], "does not exist"),
    ],
)
def test_bad_input_exits_2_with_one_message(args, message):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    text = result.stderr
    assert "Traceback" not in text and text.startswith("error:")
    assert message in " ".join(text.split()), text
    if len(text) < 80:  # Rich wraps long lines at the console width
        assert len(text.strip().splitlines()) == 1


def test_summarize_gram_closed_forms():
    s = summarize_gram(np.diag([4.0, 3.0, 2.0, 1.0, 0.0, 0.0]))
    assert s.rank == 4 and math.isinf(s.condition) and s.shape == (6, 6)
    np.testing.assert_array_equal(s.top, [4.0, 3.0, 2.0, 1.0, 0.0])
    assert s.trace == 10.0 and s.diagonal_min == 0.0 and s.diagonal_max == 4.0
    assert s.tolerance == pytest.approx(6 * np.finfo(float).eps * 4.0)
    rot = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    full = summarize_gram(rot @ np.diag([8.0, 2.0, 0.5]) @ rot.T)
    assert full.rank == 3 and full.condition == pytest.approx(16.0, rel=1e-12)
    assert summarize_gram(np.diag([1.0, 1e-6]), rtol=1e-5).rank == 1
    with pytest.raises(ValueError, match="symmetric"):
        summarize_gram(np.array([[1.0, 2.0], [0.0, 1.0]]))
