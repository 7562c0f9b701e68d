"""Numeric failure paths: overflow is refused or rescued, never NaN/inf; no diverged SAT.

Issue 10, item 3: kernels at extreme scales, complex input, non-finite network
parameters, diverged or frozen dynamics, and the CLI refusals that go with them.
"""

import math
import re
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import ntkjam  # noqa: F401
import ntkjam.data
from ntkjam._validate import NumericalRangeError, as_float_array, as_real
from ntkjam.cli import app
from ntkjam.dynamics import STATUSES, StoppingRules, gradient_descent, gradient_flow
from ntkjam.kernels import nngp, nngp_and_ntk, ntk, polynomial, rbf
from ntkjam.kernels.analytic import MAX_VARIANCE, check_hyperparameters
from ntkjam.networks import empirical_ntk, init_params, mlp
from ntkjam.networks.empirical_ntk import empirical_ntk_diagonal, jacobian, ntk_vector_product
from ntkjam.networks.mlp import apply

runner = CliRunner()

#: "SAT" as a verdict word (not the tail of "UNSAT").
BARE_SAT = re.compile(r"(?<!UN)SAT")


@pytest.fixture
def X():
    return np.random.default_rng(0).standard_normal((6, 3))


def _quiet(fn, *args, **kwargs):
    """Call ``fn`` with every NumPy RuntimeWarning turned into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return fn(*args, **kwargs)


# ------------------------------------------------------------------ analytic kernels


def test_numerical_range_error_is_a_value_error_and_a_floating_point_error():
    assert issubclass(NumericalRangeError, ValueError)
    assert issubclass(NumericalRangeError, FloatingPointError)


@pytest.mark.parametrize("sigma_w", [1e100, 1e77, 1e-100])
@pytest.mark.parametrize("kernel", [ntk, nngp])
def test_sigma_w_out_of_float64_range_is_refused(X, kernel, sigma_w):
    with pytest.raises(ValueError, match=r"sigma_w must be in \[1e-76, 1e\+76\].*got "):
        kernel(X, sigma_w=sigma_w)
    with pytest.raises(ValueError, match="sigma_w must be in"):
        check_hyperparameters(sigma_w=sigma_w)


def test_huge_sigma_b_is_refused(X):
    with pytest.raises(ValueError, match="sigma_b must be <= 1e\\+76"):
        ntk(X, sigma_b=1e200)


@pytest.mark.parametrize(
    "kw",
    [dict(), dict(activation="erf"), dict(activation="identity", depth=2),
     dict(activation="tanh"), dict(method="quadrature")],
)
@pytest.mark.parametrize("factor", [1e150, 1e80])
def test_huge_inputs_raise_naming_the_scale(X, kw, factor):
    # 1e80: ‖x‖² fits in float64 but the recursion's products of two variances do not
    # (before: NaN for ReLU, and a finite but wrong erf kernel).
    with pytest.raises(NumericalRangeError) as info:
        _quiet(ntk, X * factor, **kw)
    msg = str(info.value)
    assert "ntk would overflow float64" in msg and "rescale X" in msg
    assert "sigma_w=1.41421" in msg and "max ‖x‖²/d" in msg
    with pytest.raises(NumericalRangeError, match="nngp_and_ntk"):
        _quiet(nngp_and_ntk, X, X * factor, **kw)


def test_deep_layer_variance_overflow_names_the_layer(X):
    # σ_w² / 2 = 5e59 per ReLU layer: layer 3 reaches ~1e179 > MAX_VARIANCE.
    with pytest.raises(NumericalRangeError, match="layer-3 pre-activation variance"):
        _quiet(ntk, X, depth=6, sigma_w=1e30)
    # the same growth through the quadrature path (a user-visible activation name)
    with pytest.raises(NumericalRangeError, match="layer-3 pre-activation variance"):
        _quiet(ntk, X, depth=6, sigma_w=1e30, activation="softplus")


def test_output_overflow_is_caught_by_the_result_check(X):
    # depth 0 forms no products of variances: values up to float64's limit are fine ...
    K = _quiet(ntk, X * 1e100, depth=0)
    np.testing.assert_allclose(K, 2.0 * (X @ X.T) * 1e200 / 3, rtol=1e-13)
    # ... and beyond it the output check refuses instead of returning inf.
    with pytest.raises(NumericalRangeError, match=r"ntk overflowed float64: .* inf"):
        _quiet(ntk, X * 1e150, depth=0, sigma_w=1e10)


def test_large_but_representable_scales_stay_exact(X):
    # ReLU with σ_b = 0 is positively homogeneous: K(cX) = c² K(X), exactly in
    # binary scaling, right up to the range limit.
    c = 2.0**200  # ‖cx‖²/d ~ 1e120 < MAX_VARIANCE
    assert (c * c * np.max(np.sum(X**2, axis=1))) / 3 < MAX_VARIANCE
    np.testing.assert_array_equal(_quiet(ntk, X * c, depth=3), c * c * ntk(X, depth=3))
    # erf at a large but allowed σ_w saturates to sign(u): E = (2/π) arcsin(cos θ)
    sw = 1e70
    K = _quiet(nngp, X, depth=1, activation="erf", sigma_w=sw) / sw**2
    norms = np.linalg.norm(X, axis=1)
    cos = (X @ X.T) / np.outer(norms, norms)
    off = ~np.eye(X.shape[0], dtype=bool)
    np.testing.assert_allclose(K[off], (2 / np.pi) * np.arcsin(cos[off]), rtol=1e-9)
    np.testing.assert_allclose(np.diag(K), 1.0, rtol=1e-12)


def test_rbf_at_extreme_arguments_is_finite_and_exact(X):
    eye = np.eye(X.shape[0])
    np.testing.assert_array_equal(_quiet(rbf, X * 1e200), eye)
    np.testing.assert_array_equal(_quiet(rbf, X, lengthscale=1e-200), eye)
    np.testing.assert_array_equal(_quiet(rbf, X * 1e160, lengthscale=1e-160), eye)
    # rbf depends on X/ℓ only
    np.testing.assert_allclose(_quiet(rbf, X * 1e200, lengthscale=1e200), rbf(X), atol=1e-14)
    np.testing.assert_allclose(
        _quiet(rbf, X * 1e200, X[:2] * 1e200, lengthscale=1e199), rbf(X, X[:2], lengthscale=0.1),
        rtol=1e-12, atol=1e-300,
    )
    assert np.all(np.isfinite(_quiet(rbf, X, lengthscale=1e300)))


def test_polynomial_overflow_is_refused_naming_the_parameters(X):
    with pytest.raises(NumericalRangeError, match=r"polynomial overflowed.*degree=1000"):
        _quiet(polynomial, X * 10, degree=1000)
    with pytest.raises(NumericalRangeError, match="polynomial overflowed"):
        _quiet(polynomial, X * 1e200, degree=2)
    # an inner product that overflows while scale·x·x' does not is computed exactly
    K = _quiet(polynomial, X * 1e200, degree=1, scale=1e-300, coef0=0.0)
    np.testing.assert_allclose(K, (X @ X.T) * 1e100, rtol=1e-13)


# ---------------------------------------------------------------------- complex input


@pytest.mark.parametrize(
    "value", [np.ones((2, 2)) + 1j, [[1j, 2.0]], jnp.ones((2, 2), dtype=jnp.complex64)]
)
def test_complex_arrays_are_refused(value):
    with pytest.raises(TypeError, match="X must be a real array, got complex values"):
        as_float_array("X", value)


def test_complex_inputs_to_kernels_and_scalars_are_refused(X):
    with pytest.raises(TypeError, match="X1 must be a real array, got complex"):
        ntk(X + 0j)
    with pytest.raises(TypeError, match="X2 must be a real array, got complex"):
        rbf(X, X * (1 + 1j))
    with pytest.raises(TypeError, match="sigma_w must be a real number"):
        as_real("sigma_w", 1 + 0j)
    with pytest.raises(TypeError, match="f0 must be a real array, got complex"):
        gradient_descent(np.zeros(2) + 0j, [1.0, -1.0], "mse", kernel=np.eye(2), lr=0.1,
                         n_steps=2)


# ------------------------------------------------------------------ empirical NTK


@pytest.fixture
def net_params():
    net = mlp(3, 8, depth=2, bias=True, sigma_b=0.1)
    return net, init_params(net, 0)


@pytest.mark.parametrize("method", ["structured", "jacobian", "ntk_vp"])
def test_nan_parameters_are_refused_naming_params(X, net_params, method):
    net, params = net_params
    W, b = params[1]
    bad = [params[0], (W.at[2, 3].set(jnp.nan), b), params[2]]
    with pytest.raises(ValueError, match=r"params\[1\] W must be finite, got 1 non-finite"):
        empirical_ntk(net, bad, X, method=method)
    W, b = params[0]
    bad = [(W, b.at[0].set(jnp.inf)), *params[1:]]
    with pytest.raises(ValueError, match=r"params\[0\] b must be finite"):
        empirical_ntk(net, bad, X, method=method)


def test_nan_or_complex_parameters_are_refused_everywhere(X, net_params):
    net, params = net_params
    W, b = params[0]
    bad = [(W * jnp.nan, b), *params[1:]]
    for fn in (empirical_ntk, empirical_ntk_diagonal, jacobian, apply):
        with pytest.raises(ValueError, match=r"params\[0\] W must be finite"):
            fn(net, bad, X)
    with pytest.raises(TypeError, match=r"params\[0\] W must be real, got complex"):
        empirical_ntk(net, [(W + 0j, b), *params[1:]], X)


def test_overflowing_gradients_raise_naming_params(X, net_params):
    net, params = net_params
    huge = [(W * 1e200, b) for W, b in params]
    for fn in (empirical_ntk, empirical_ntk_diagonal, jacobian):
        with pytest.raises(NumericalRangeError, match=r"overflowed float64.*params \(max \|θ\|"):
            fn(net, huge, X)
    with pytest.raises(NumericalRangeError, match="ntk_vector_product overflowed"):
        ntk_vector_product(net, huge, X, np.ones(X.shape[0]))
    with pytest.raises(NumericalRangeError, match="rescale params or X"):
        empirical_ntk(net, params, X * 1e300)


# ------------------------------------------------------------------------- dynamics


def _problem(n=20, p=8, seed=0):
    rng = np.random.default_rng(seed)
    J = rng.standard_normal((n, p))
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    return J, y


@pytest.mark.parametrize("loss", ["quadratic_hinge", "mse"])  # unbounded ℓ': these blow up
@pytest.mark.parametrize("batch_size", [None, 5])
def test_diverged_descent_ends_nan_never_sat(loss, batch_size):
    J, y = _problem()
    res = _quiet(gradient_descent, np.zeros(y.size), y, loss, kernel=J @ J.T, lr=1e12,
                 n_steps=5000, batch_size=batch_size)
    assert "nan" in STATUSES
    assert res.status == "nan", res.message
    assert res.verdict == "diverged"
    assert res.message.startswith("diverged: non-finite values at step ")
    assert "lower lr" in res.message and not BARE_SAT.search(res.message)
    assert res.n_steps < 5000  # stopped when it happened, not at the budget
    last = (res.final_outputs, res.loss[-1:], res.kgrad_norm[-1:])
    assert not all(np.all(np.isfinite(v)) for v in last)


def test_stable_descent_is_unchanged_by_the_divergence_check():
    J, y = _problem()
    K = J @ J.T
    lr = 0.5 * y.size / np.linalg.eigvalsh(K)[-1]
    res = gradient_descent(np.zeros(y.size), y, "quadratic_hinge", kernel=K, lr=lr,
                           n_steps=20_000)
    assert res.status in ("sat", "converged") and np.all(np.isfinite(res.loss))


@pytest.mark.parametrize(
    "source",
    [dict(kernel=np.zeros((4, 4))), dict(features=np.zeros((4, 3))),
     dict(features=np.zeros((4, 9))), dict(kernel=lambda t: np.zeros((4, 4)))],
    ids=["kernel", "features", "wide-features", "moving"],
)
@pytest.mark.parametrize("loss", ["quadratic_hinge", "hinge", "mse"])
def test_zero_kernel_flow_stops_at_once(source, loss):
    y = np.array([1.0, -1.0, 1.0, 1.0])
    f0 = np.array([0.1, 0.2, -0.3, 0.0])
    res = _quiet(gradient_flow, f0, y, loss, **source)
    assert res.status == "converged" and res.final_time == 0.0 and res.n_steps == 0
    assert "the outputs cannot move" in res.message
    np.testing.assert_array_equal(res.final_outputs, f0)
    assert int(res.n_unsat[-1]) == 4 and not BARE_SAT.search(res.message)
    expected = "UNSAT" if loss != "mse" else "undecided"
    assert res.verdict == expected and expected in res.message


def test_zero_kernel_flow_on_satisfied_margins_is_sat_with_test_points():
    y = np.array([1.0, -1.0])
    res = gradient_flow(2.0 * y, y, "quadratic_hinge", kernel=np.zeros((2, 2)),
                        test_kernel=np.zeros((3, 2)), f0_test=np.array([1.0, 2.0, 3.0]))
    assert res.status == "sat" and res.verdict == "SAT" and res.final_time == 0.0
    np.testing.assert_array_equal(res.final_test_outputs, [1.0, 2.0, 3.0])


def test_flow_time_scale_out_of_range_is_refused():
    y = np.array([1.0, -1.0])
    with pytest.raises(ValueError, match=r"time scale N/\(lr tr K\).*out of float64 range"):
        gradient_flow(np.zeros(2), y, "quadratic_hinge", kernel=1e-310 * np.eye(2))
    with pytest.raises(ValueError, match="rescale lr or the kernel"):
        gradient_flow(np.zeros(2), y, "mse", kernel=np.eye(2), lr=1e-300,
                      stopping=StoppingRules(sat=False))
    # a finite max_time needs no 30-decade default grid: a slow flow is fine then
    res = gradient_flow(np.zeros(2), y, "mse", kernel=np.eye(2), lr=1e-290,
                        stopping=StoppingRules(max_time=1.0, grad_tol=0.0))
    assert res.status == "budget" and res.final_time == 1.0


@pytest.mark.parametrize("loss", ["mse", "quadratic_hinge", "logistic", "soft_hinge"])
def test_converged_message_says_sat_only_when_no_margin_is_violated(loss):
    J, y = _problem(n=30, p=40, seed=3)  # P > N: every margin reachable
    res = gradient_flow(np.zeros(y.size), y, loss, features=J,
                        stopping=StoppingRules(sat=False, grad_tol=1e-10, unsat_tol=1e-9))
    n_unsat = int(res.n_unsat[-1])
    assert res.status == "converged", res.message
    assert bool(BARE_SAT.search(res.message)) == (n_unsat == 0), res.message
    assert (res.verdict == "SAT") == (n_unsat == 0)
    if loss != "quadratic_hinge":
        assert "UNSAT" not in res.message  # no margin verdict from a smooth loss


def test_verdict_of_a_tight_tolerance_is_undecided_not_sat():
    # quadratic hinge converging to zero loss from a SAT instance, judged with
    # unsat_tol = 0: tiny positive margins remain, so not SAT, not UNSAT either.
    J, y = _problem(n=30, p=40, seed=3)
    res = gradient_flow(np.zeros(y.size), y, "quadratic_hinge", features=J,
                        stopping=StoppingRules(sat=False, grad_tol=1e-10, unsat_tol=0.0))
    if int(res.n_unsat[-1]) > 0:
        assert res.verdict == "undecided" and "undecided" in res.message
        assert not BARE_SAT.search(res.message)
    else:
        assert res.verdict == "SAT"


# ------------------------------------------------------------------------------ CLI


def _no_data(*args, **kwargs):
    raise AssertionError("the data set was drawn before the options were validated")


def test_kernel_cli_refuses_huge_sigma_w_before_any_work(monkeypatch, tmp_path):
    monkeypatch.setattr(ntkjam.data, "load_dataset", _no_data)
    out = tmp_path / "gram.npz"
    for args, message in [
        (["--sigma-w", "1e200"], "sigma_w must be in [1e-76, 1e+76]"),
        (["--sigma-w", "1e-200"], "sigma_w must be in"),
        (["--sigma-b", "1e200"], "sigma_b must be <="),
        (["--activation", "foo"], "Invalid value for '--activation'"),
        (["--kernel", "rbf", "--lengthscale", "0"], "lengthscale must be > 0"),
    ]:
        result = runner.invoke(app, ["kernel", "--n", "10", *args, "--output", str(out)])
        assert result.exit_code == 2, (args, result.output)
        text = result.stderr
        assert text.startswith("error:") and "Traceback" not in text
        assert message in " ".join(text.split())
        assert not out.exists()


def test_kernel_cli_overflow_is_one_line_exit_2(tmp_path):
    out = tmp_path / "gram.npz"
    result = runner.invoke(app, ["kernel", "--n", "10", "--kernel", "polynomial", "--degree",
                                 "1000", "--radius", "10", "--output", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: polynomial overflowed float64")
    assert not out.exists()


def test_spectrum_cli_refuses_unknown_activation_up_front(tmp_path):
    out = tmp_path / "spec"
    result = runner.invoke(app, ["spectrum", "--source", "features", "--activation", "foo",
                                 "--size", "20", "--phi", "1", "--output", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: Invalid value for '--activation'")
    assert not out.exists()


def test_flow_cli_diverged_run_is_reported_as_such(tmp_path):
    out = tmp_path / "gd"
    result = runner.invoke(app, ["flow", "--n", "30", "--method", "gd", "--lr", "1e12",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    z = np.load(out / "trajectory.npz", allow_pickle=False)
    assert str(z["status"]) == "nan"
    assert "diverged" in result.stdout and not BARE_SAT.search(result.stdout)
    assert (out / "flow.png").stat().st_size > 10_000  # the figure survives inf values


def test_flow_cli_summary_is_consistent(tmp_path):
    out = tmp_path / "mse"
    result = runner.invoke(app, ["flow", "--n", "50", "--loss", "mse", "--output", str(out)])
    assert result.exit_code == 0, result.output
    z = np.load(out / "trajectory.npz", allow_pickle=False)
    n_unsat = int(z["n_unsat"][-1])
    assert str(z["status"]) == "converged" and n_unsat > 0  # rounding noise on margins
    text = " ".join(result.stdout.split())
    assert "verdict │ undecided" in text
    assert not BARE_SAT.search(result.stdout)


def test_flow_cli_refuses_bad_kernel_options_before_any_work(monkeypatch, tmp_path):
    monkeypatch.setattr(ntkjam.data, "load_dataset", _no_data)
    for args, message in [(["--sigma-w", "1e200"], "sigma_w must be in"),
                          (["--activation", "foo"], "Invalid value for '--activation'"),
                          (["--kernel", "rbf", "--lengthscale", "-1"], "lengthscale must be > 0")]:
        result = runner.invoke(app, ["flow", "--n", "10", *args, "--output", str(tmp_path / "x")])
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.stderr.split())
        assert not (tmp_path / "x").exists()


def test_sigma_w_range_constants_are_float64_safe():
    from ntkjam.kernels.analytic import SIGMA_W_MAX, SIGMA_W_MIN

    assert math.isfinite(SIGMA_W_MAX**4) and SIGMA_W_MIN**4 >= np.finfo(float).tiny
    assert math.isfinite(200.0 * MAX_VARIANCE * MAX_VARIANCE)


# ------------------------------------------------------------------- feature maps


def test_feature_maps_refuse_overflow_naming_the_parameters(X):
    from ntkjam.kernels import features as F

    big = X / np.max(np.abs(X)) * 1e308  # finite inputs whose projections overflow
    with pytest.raises(NumericalRangeError, match=r"random_relu_features overflowed.*sigma_w"):
        _quiet(F.random_relu_features, big, 50, seed=0)
    with pytest.raises(NumericalRangeError, match=r"random_features overflowed.*rescale X"):
        _quiet(F.random_features, big, 50, seed=0, activation="gelu")
    with pytest.raises(NumericalRangeError, match="random_fourier_features overflowed"):
        _quiet(F.random_fourier_features, X, 10, seed=0, lengthscale=1e-310)
    with pytest.raises(NumericalRangeError, match=r"taylor_features overflowed.*degree=3"):
        _quiet(F.taylor_features, X, 3, lengthscale=1e-300)
    with pytest.raises(NumericalRangeError, match="taylor_kernel overflowed"):
        _quiet(F.taylor_kernel, X * 1e100, degree=3)
    # in range, the maps are untouched
    J = _quiet(F.random_relu_features, X * 1e100, 50, seed=0)
    np.testing.assert_allclose(J, 1e100 * F.random_relu_features(X, 50, seed=0), rtol=1e-14)
