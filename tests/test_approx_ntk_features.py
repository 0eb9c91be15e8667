"""Random features of the FC NTK (rntk_bench.approx.NTKRandomFeatures) against the exact ``ntk`` kernel:
convergence as the width grows, the expectation, negative controls, the sketch, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import hadamard

from rntk_bench.approx import NotFittedError, NTKRandomFeatures
from rntk_bench.approx.sketch import TensorSRHT, fwht, next_power_of_two
from rntk_bench.errors import InvalidInputError, InvalidParameterError
from rntk_bench.kernels import get_kernel


def _data(n=30, d=8, seed=0):
    """Rows of unequal norms: the NTK with a bias is not homogeneous, so norms must be carried right."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) * rng.uniform(0.3, 1.5, (n, 1))


def _relative_error(params, X, m, seed, exact=None):
    exact = get_kernel("ntk", **params)(X) if exact is None else exact
    F = NTKRandomFeatures(m, seed=seed, **params).fit(X).transform(X)
    return np.linalg.norm(F @ F.T - exact) / np.linalg.norm(exact)


def _median_error(params, X, m, exact, seeds=(0, 1, 2)):
    return float(np.median([_relative_error(params, X, m, seed, exact) for seed in seeds]))


def test_fwht_is_the_sylvester_hadamard_product():
    A = np.random.default_rng(0).standard_normal((3, 32))
    np.testing.assert_allclose(fwht(A), A @ hadamard(32), atol=1e-12)
    assert [next_power_of_two(s) for s in (1, 2, 3, 8, 9)] == [1, 2, 4, 8, 16]


def test_tensor_srht_is_unbiased_for_the_product_of_inner_products():
    rng = np.random.default_rng(1)
    U, V = rng.standard_normal((2, 5)), rng.standard_normal((2, 3))
    target = (U[0] @ U[1]) * (V[0] @ V[1])
    draws = []
    for _ in range(4000):
        Z = TensorSRHT.draw(5, 3, 4, rng)(U, V)
        draws.append(Z[0] @ Z[1])
    draws = np.array(draws)
    standard_error = draws.std() / np.sqrt(len(draws))
    assert abs(draws.mean() - target) < 4 * standard_error
    assert standard_error < 0.1 * abs(target)  # tight enough to see a wrong scale


CONVERGING = [
    dict(n_layers=1),
    dict(n_layers=2, sigma_b=0.5),
    dict(n_layers=2, fixed_layers=1, sigma_w=1.4142),
    dict(n_layers=1, activation="erf", sigma_b=0.3),
]


@pytest.mark.parametrize("params", CONVERGING, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_features_converge_to_the_exact_ntk(params):
    X = _data()
    exact = get_kernel("ntk", **params)(X)
    sizes = (64, 256, 1024, 4096) if params["n_layers"] == 1 else (64, 256, 1024)
    errors = [_median_error(params, X, m, exact) for m in sizes]
    assert all(a > b for a, b in zip(errors, errors[1:])), errors
    # about 1 / sqrt(m): a factor 4 in m should halve the error; allow slack for the seeds' spread
    assert errors[0] / errors[-1] > 0.5 * np.sqrt(sizes[-1] / sizes[0]), errors
    assert errors[-1] < (0.06 if params["n_layers"] == 1 else 0.15), errors


@pytest.mark.parametrize("wrong", [dict(n_layers=2), dict(sigma_b=1.0), dict(fixed_layers=1)])
def test_wrong_settings_do_not_converge_to_it(wrong):
    X = _data()
    right = dict(n_layers=1, sigma_b=0.0)
    exact = get_kernel("ntk", **right)(X)
    good = _median_error(right, X, 2048, exact)
    bad = _median_error({**right, **wrong}, X, 2048, exact)
    assert bad > 4 * good and bad > 0.1, (good, bad)


@pytest.mark.parametrize("params", [dict(n_layers=1, sigma_b=0.3), dict(n_layers=1, activation="erf")])
def test_average_over_draws_is_the_exact_ntk(params):
    """One hidden layer: the features are unbiased, so the mean of many small draws matches to its error."""
    X = _data(8, 4, seed=2)
    exact = get_kernel("ntk", **params)(X)
    grams = np.array([(lambda F: F @ F.T)(NTKRandomFeatures(16, seed=s, **params).fit(X).transform(X))
                      for s in range(400)])
    mean, standard_error = grams.mean(axis=0), grams.std(axis=0) / np.sqrt(len(grams))
    z = np.abs(mean - exact) / standard_error
    assert z.max() < 4.5, z.max()
    assert standard_error.max() < 0.05 * np.abs(exact).max()
    # the same test rejects a kernel whose sigma_w^2 is 10 % off: it has the power to see such a difference
    wrong = get_kernel("ntk", **{**params, "sigma_w": 1.05})(X)
    assert (np.abs(mean - wrong) / standard_error).max() > 6


def test_deeper_average_matches_within_its_error():
    """Two layers: Vphi of an estimated covariance is biased by O(1 / m), below the spread of 400 draws at
    m = 64 (measured: the largest deviation is under 3 standard errors, about 2 % of the largest entry)."""
    X = _data(8, 4, seed=3)
    params = dict(n_layers=2, sigma_b=0.2)
    exact = get_kernel("ntk", **params)(X)
    grams = np.array([(lambda F: F @ F.T)(NTKRandomFeatures(64, seed=s, **params).fit(X).transform(X))
                      for s in range(400)])
    mean, standard_error = grams.mean(axis=0), grams.std(axis=0) / np.sqrt(len(grams))
    assert (np.abs(mean - exact) / standard_error).max() < 4.5
    assert np.abs(mean - exact).max() < 0.08 * np.abs(exact).max()
    wrong = get_kernel("ntk", **{**params, "n_layers": 3})(X)
    assert (np.abs(mean - wrong) / standard_error).max() > 6


def test_linear_and_nngp_shapes():
    X = _data(10, 5)
    F = NTKRandomFeatures(32, n_layers=0).fit(X).transform(X)
    np.testing.assert_allclose(F @ F.T, get_kernel("ntk", n_layers=0)(X), rtol=1e-12)
    nngp = NTKRandomFeatures(32, n_layers=2, fixed_layers=2, sigma_b=0.1, seed=0).fit(X)
    assert nngp.n_features_out_ == 33 and nngp.transform(X).shape == (10, 33)
    ntk = NTKRandomFeatures(32, n_layers=2, n_arccos=16, n_step=8, seed=0).fit(X)
    assert ntk.n_features_out_ == 32 + 16 and ntk.transform(X).shape == (10, 48)


def test_from_kernel_and_tiles():
    X = _data(25, 4)
    kernel = get_kernel("ntk", n_layers=2, sigma_b=0.2)
    a = NTKRandomFeatures.from_kernel(kernel, 64, seed=5).fit(X)
    b = NTKRandomFeatures.from_kernel(kernel, 64, seed=5, chunk_rows=4).fit(X)
    np.testing.assert_allclose(a.transform(X), b.transform(X), rtol=1e-12, atol=1e-15)
    with pytest.raises(InvalidParameterError, match="need the 'ntk' kernel"):
        NTKRandomFeatures.from_kernel(get_kernel("rbf"), 64)


def test_bad_input():
    X = _data(5, 3)
    with pytest.raises(InvalidParameterError, match=r"fixed_layers' must lie in \[0, n_layers=1\]; got 2"):
        NTKRandomFeatures(8, fixed_layers=2).fit(X)
    with pytest.raises(InvalidParameterError, match="activation"):
        NTKRandomFeatures(8, activation="tanh").fit(X)
    with pytest.raises(InvalidParameterError, match="n_features must be a positive integer"):
        NTKRandomFeatures(0).fit(X)
    with pytest.raises(NotFittedError, match="call fit"):
        NTKRandomFeatures(8).transform(X)
    fitted = NTKRandomFeatures(8, seed=0).fit(X)
    with pytest.raises(InvalidInputError, match="X has 4 features, but these random features were drawn for 3"):
        fitted.transform(np.ones((2, 4)))
