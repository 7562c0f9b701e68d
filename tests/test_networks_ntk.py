"""Empirical NTK: three implementations agree, converge to the analytic NTK; Jacobian rank."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import ntkjam  # noqa: F401  (enables float64)
from ntkjam.data import sphere
from ntkjam.kernels.activations import Activation
from ntkjam.kernels.analytic import ntk as analytic_ntk
from ntkjam.networks import (
    apply,
    dead_inputs,
    empirical_ntk,
    empirical_ntk_diagonal,
    expected_jacobian_rank,
    flatten_params,
    init_params,
    jacobian,
    jacobian_rank,
    mlp,
    ntk_vector_product,
    numerical_rank,
    param_count,
)


def _rel(A, B):
    return np.linalg.norm(A - B) / np.linalg.norm(B)


ARCHS = [
    dict(input_dim=4, widths=[6, 5, 3]),  # bias-free ReLU, depth 3
    dict(input_dim=4, widths=[7], bias=True, sigma_b=0.3),
    dict(input_dim=4, widths=[5, 6], activation="tanh", parameterization="standard",
         bias=True, sigma_b=0.2),
    dict(input_dim=4, widths=[8, 8], activation="erf", sigma_w=1.4),
]


@pytest.mark.parametrize("arch", ARCHS, ids=["relu3", "relu-bias", "tanh-std", "erf"])
def test_structured_jacobian_and_ntk_vp_agree(arch):
    net = mlp(**arch)
    params = init_params(net, 0)
    rng = np.random.default_rng(1)
    X1, X2 = rng.standard_normal((21, 4)), rng.standard_normal((9, 4))
    P = param_count(net)
    # A small memory budget forces several (padded) chunks in the oracles.
    budget = 8 * P * 4
    for X2_ in (None, X2):
        K = empirical_ntk(net, params, X1, X2_)
        K_jac = empirical_ntk(net, params, X1, X2_, method="jacobian", memory_budget=budget)
        K_vp = empirical_ntk(net, params, X1, X2_, method="ntk_vp", memory_budget=budget)
        J1 = jacobian(net, params, X1, memory_budget=budget)
        J2 = J1 if X2_ is None else jacobian(net, params, X2_)
        assert _rel(K_jac, K) < 1e-10
        assert _rel(K_vp, K) < 1e-10
        assert _rel(J1 @ J2.T, K) < 1e-10
    Ksym = empirical_ntk(net, params, X1)
    assert np.array_equal(Ksym, Ksym.T)
    np.testing.assert_allclose(empirical_ntk_diagonal(net, params, X1), np.diag(Ksym), rtol=1e-12)


def test_structured_blocks_cover_the_whole_matrix():
    # More points than one block (256): the symmetric path assembles mirrored blocks.
    from ntkjam.networks.empirical_ntk import _structured

    net = mlp(3, [4], bias=True, sigma_b=0.5)
    params = init_params(net, 0)
    X = np.random.default_rng(0).standard_normal((70, 3))
    K_ref = jacobian(net, params, X) @ jacobian(net, params, X).T
    for block in (16, 70):
        assert _rel(_structured(net, params, X, None, block), K_ref) < 1e-12
        assert _rel(_structured(net, params, X, X[:33], block), K_ref[:, :33]) < 1e-12


def test_ntk_vector_product_matches_matrix_product():
    net = mlp(5, [9, 4], activation="gelu", bias=True, sigma_b=0.1)
    params = init_params(net, 2)
    rng = np.random.default_rng(3)
    X1, X2 = rng.standard_normal((7, 5)), rng.standard_normal((11, 5))
    V = rng.standard_normal((11, 3))
    K = empirical_ntk(net, params, X1, X2)
    np.testing.assert_allclose(ntk_vector_product(net, params, X1, V, X2), K @ V, rtol=1e-11)
    np.testing.assert_allclose(ntk_vector_product(net, params, X1, V[:, 0], X2), K @ V[:, 0],
                               rtol=1e-11)
    with pytest.raises(ValueError, match="V must have 11 rows"):
        ntk_vector_product(net, params, X1, V[:5], X2)


def test_jacobian_columns_follow_flatten_params_order():
    # A bias-free ReLU net is positively homogeneous of degree 1 in each of its L+1
    # weight matrices, so Euler's theorem gives J θ = (L + 1) f.
    net = mlp(4, [6, 5])
    params = init_params(net, 4)
    X = np.random.default_rng(5).standard_normal((8, 4))
    np.testing.assert_allclose(
        jacobian(net, params, X) @ flatten_params(params), 3 * apply(net, params, X), rtol=1e-12
    )


def _relu_ntk_one_hidden_layer(X):
    """Closed form of the infinite-width NTK, one hidden ReLU layer, σ_w² = 2, σ_b = 0."""
    d = X.shape[1]
    G = X @ X.T / d
    q = np.sqrt(np.diag(G))
    c = np.clip(G / np.outer(q, q), -1.0, 1.0)
    np.fill_diagonal(c, 1.0)  # arccos near 1 would lose half the digits
    theta = np.arccos(c)
    # σ_w² E[φ(u)φ(v)] with Var u = σ_w² q² = 2q²: the arc-cosine kernel of degree 1.
    sigma2 = 2 * np.outer(q, q) * (np.sin(theta) + (np.pi - theta) * c) / np.pi
    sigma2_dot = (np.pi - theta) / np.pi
    return sigma2 + sigma2_dot * 2 * G


def test_analytic_reference_matches_closed_form():
    X = np.random.default_rng(0).standard_normal((12, 5))
    np.testing.assert_allclose(analytic_ntk(X, depth=1), _relu_ntk_one_hidden_layer(X),
                               rtol=1e-12)


def _convergence_slope(X, depth, widths, seeds, **kw):
    kernel_kw = {k: v for k, v in kw.items() if k != "bias"}
    K_inf = analytic_ntk(X, depth=depth, **kernel_kw)
    errors = []
    for width in widths:
        net = mlp(X.shape[1], width, depth=depth, **kw)
        errors.append(
            np.mean([_rel(empirical_ntk(net, init_params(net, s), X), K_inf) for s in seeds])
        )
    return np.polyfit(np.log(widths), np.log(errors), 1)[0], errors


def test_empirical_ntk_converges_to_analytic_like_inverse_sqrt_width():
    X = np.random.default_rng(0).standard_normal((16, 5))
    slope, errors = _convergence_slope(X, 1, [256, 512, 1024, 2048, 4096], range(8))
    assert -0.6 <= slope <= -0.4, (slope, errors)
    assert errors[-1] < 0.05


@pytest.mark.slow
@pytest.mark.parametrize(
    "kw",
    [dict(bias=True, sigma_b=0.4), dict(activation="erf", sigma_w=1.3)],
    ids=["relu-bias", "erf"],
)
def test_deeper_empirical_ntk_converges_to_analytic(kw):
    X = np.random.default_rng(0).standard_normal((16, 5))
    slope, errors = _convergence_slope(X, 2, [256, 512, 1024, 2048, 4096], range(8), **kw)
    assert -0.6 <= slope <= -0.4, (slope, errors)


# ---------------------------------------------------------------------------
# rank


@pytest.mark.parametrize(
    "kw", [dict(), dict(bias=True, sigma_b=0.5)], ids=["bias-free", "bias"]
)
@pytest.mark.parametrize("d, n", [(4, 6), (6, 10)])
def test_one_hidden_layer_relu_jacobian_rank_is_P_minus_n(kw, d, n):
    net = mlp(d, [n], **kw)
    P = param_count(net)
    for seed in (0, 1):
        X = sphere(3 * P, d, seed=seed + 10, radius="sqrt_d")
        report = jacobian_rank(net, init_params(net, seed), X)
        assert report.rank == P - n == expected_jacobian_rank(net, 3 * P)
        assert report.gap > 1e8  # an unambiguous numerical rank


def test_rescaling_directions_are_in_the_null_space():
    # (W⁰[:, j], b⁰[j]) · c and W¹[j] / c leave f unchanged: the tangent vector
    # (w_j, b_j, -a_j) is annihilated by J.
    net = mlp(3, [4], bias=True, sigma_b=0.5)
    params = init_params(net, 0)
    (W0, b0), (W1, b1) = params
    X = np.random.default_rng(0).standard_normal((30, 3))
    J = jacobian(net, params, X)
    for j in range(4):
        v = [
            (jnp.zeros_like(W0).at[:, j].set(W0[:, j]), jnp.zeros_like(b0).at[j].set(b0[j])),
            (jnp.zeros_like(W1).at[j].set(-W1[j]), jnp.zeros_like(b1)),
        ]
        assert np.linalg.norm(J @ flatten_params(v)) < 1e-12 * np.linalg.norm(J)


def test_smooth_and_linear_activations_rank():
    d = 4
    for act in ("tanh", "erf"):
        net = mlp(d, [5, 5], activation=act)
        P = param_count(net)
        X = sphere(2 * P, d, seed=3, radius="sqrt_d")
        rank = numerical_rank(net, init_params(net, 0), X)
        assert rank == P == expected_jacobian_rank(net, 2 * P)
    lin = mlp(d, [5, 5], activation="identity", bias=True, sigma_b=0.5)
    X = sphere(40, d, seed=3)
    assert numerical_rank(lin, init_params(lin, 0), X) == d + 1 == expected_jacobian_rank(lin, 40)
    assert expected_jacobian_rank(mlp(d, [5]), 7) == 7  # N < P − n: rank N


def test_leaky_relu_is_recognised_as_homogeneous():
    leaky = Activation("leaky", lambda z: jnp.where(z > 0, z, 0.1 * z),
                       lambda z: jnp.where(z > 0, 1.0, 0.1))
    net = mlp(4, [6], activation=leaky)
    P = param_count(net)
    X = sphere(3 * P, 4, seed=0)
    rank = numerical_rank(net, init_params(net, 0), X)
    assert rank == P - 6 == expected_jacobian_rank(net, 3 * P)


@pytest.mark.slow
def test_deep_relu_rank_equality_for_rich_inputs():
    # Deeper ReLU nets attain P − Σ widths when the inputs are rich enough.
    net = mlp(20, [12, 12])
    P = param_count(net)
    X = sphere(10 * P, 20, seed=1, radius="sqrt_d")
    for seed in (0, 2):
        rank = numerical_rank(net, init_params(net, seed), X)
        assert rank == P - 24 == expected_jacobian_rank(net, 10 * P)


def test_deep_relu_rank_is_bounded_by_P_minus_neurons():
    narrow = mlp(3, [5, 5, 5])
    Pn = param_count(narrow)
    Xn = sphere(3 * Pn, 3, seed=0, radius="sqrt_d")
    for seed in range(3):
        assert numerical_rank(narrow, init_params(narrow, seed), Xn) <= Pn - 15


# ---------------------------------------------------------------------------
# dead inputs


def test_dead_inputs_are_detected():
    net = mlp(3, [4])
    (W0, _), (W1, _) = init_params(net, 0)
    x_dead = np.array([1.0, -2.0, 0.5])
    # Every first-layer unit points away from x_dead (w_j · x_dead < 0).
    W0 = -np.abs(np.asarray(W0)) * np.sign(x_dead)[:, None]
    params = [(jnp.asarray(W0), None), (W1, None)]
    X = np.vstack([x_dead, -x_dead])
    report = dead_inputs(net, params, X)
    assert report.zero_rows.tolist() == [0]
    assert report.first_layer_inactive.tolist() == [0]
    assert report.any and "1/2 points with a zero Jacobian row" in report.message()
    assert empirical_ntk(net, params, X)[0, 0] == 0.0

    # With biases the row is not zero (the biases downstream still move f), but the
    # network is blind to the input there.
    net_b = mlp(3, [4], bias=True, sigma_b=0.5)
    (_, b0), (W1b, b1) = init_params(net_b, 0)
    params_b = [(jnp.asarray(W0), -jnp.abs(b0)), (W1b, b1)]
    report_b = dead_inputs(net_b, params_b, X)
    assert report_b.zero_rows.size == 0
    assert report_b.first_layer_inactive.tolist() == [0]


def test_bad_method_and_budget():
    net = mlp(3, [4])
    params = init_params(net, 0)
    X = np.zeros((2, 3))
    with pytest.raises(ValueError, match="method must be one of"):
        empirical_ntk(net, params, X, method="autodiff")
    with pytest.raises(ValueError, match="memory_budget must be >= 8"):
        empirical_ntk(net, params, X, method="jacobian", memory_budget=0)
    with pytest.raises(ValueError, match="n_points must be >= 1"):
        expected_jacobian_rank(net, 0)


def test_lazy_problem_from_kernel_and_jacobian():
    from ntkjam.networks import lazy_problem

    net = mlp(4, [6])
    params = init_params(net, 0)
    P = param_count(net)
    X = sphere(2 * P, 4, seed=1, radius="sqrt_d")
    y = np.where(np.arange(2 * P) % 2 == 0, 1.0, -1.0)
    by_j = lazy_problem(net, params, X, y, use="jacobian", alpha=3.0)
    by_k = lazy_problem(net, params, X, y, use="kernel", alpha=3.0)
    assert by_j.rank == by_k.rank == P - 6
    np.testing.assert_allclose(by_k.gram(), 9.0 * empirical_ntk(net, params, X), rtol=1e-12)
    np.testing.assert_array_equal(by_j.f0, 0.0)
    raw = lazy_problem(net, params, X, y, centered=False, alpha=2.0)
    np.testing.assert_allclose(raw.f0, 2.0 * apply(net, params, X), rtol=1e-13)
    with pytest.raises(ValueError, match="use must be one of"):
        lazy_problem(net, params, X, y, use="svd")
