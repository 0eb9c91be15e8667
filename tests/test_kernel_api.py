"""The public kernel API: registry contents, errors, canonical ids, and the classic kernels against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import pairwise

from rntk_bench.errors import InvalidInputError, InvalidParameterError, RntkBenchError
from rntk_bench.kernels import KERNELS, get_kernel
from rntk_bench.kernels.ntk import ntk_reference
from rntk_bench.kernels.rntk import rntk_reference


def test_registered_names_and_input_kinds():
    assert set(KERNELS) == {"rntk", "ntk", "rbf", "poly", "linear"}
    assert KERNELS["rntk"].input_kind == "sequence"
    assert {KERNELS[name].input_kind for name in ("ntk", "rbf", "poly", "linear")} == {"vector"}
    for spec in KERNELS.values():
        assert spec.default_grid(np.ones((3, 4)) + np.arange(4))  # a grid is never empty


def test_unknown_kernel_lists_the_registered_ones():
    with pytest.raises(InvalidParameterError, match="unknown kernel 'rntx'.*linear, ntk, poly, rbf, rntk"):
        get_kernel("rntx")


@pytest.mark.parametrize("name", ["rntk", "ntk"])
def test_fixed_layers_beyond_depth_is_refused(name):
    """The same message from the registry and from a direct call of the kernel function or its reference."""
    message = f"^{name} parameter 'fixed_layers' must lie in \\[0, n_layers=2\\]; got 3$"
    with pytest.raises(InvalidParameterError, match=message):
        get_kernel(name, n_layers=2, fixed_layers=3)
    X = np.ones((2, 3))
    for function in (KERNELS[name].function, {"rntk": rntk_reference, "ntk": ntk_reference}[name]):
        with pytest.raises(InvalidParameterError, match=message):
            function(X, n_layers=2, fixed_layers=3)
    with pytest.raises(InvalidParameterError, match=f"^{name} parameter 'fixed_layers' .*; got -1$"):
        KERNELS[name].function(X, n_layers=2, fixed_layers=-1)


def test_errors_belong_to_one_family():
    assert issubclass(InvalidParameterError, RntkBenchError)
    assert issubclass(InvalidInputError, RntkBenchError)


def test_canonical_id_sorts_parameters_and_fills_defaults():
    kernel = get_kernel("poly", degree=2, coef0=0)
    assert kernel.id == "poly[coef0=0,degree=2,gamma=None]"
    assert get_kernel("rbf", gamma=0.5).id == "rbf[gamma=0.5]"
    assert get_kernel("linear").id == "linear[]"
    assert get_kernel("ntk", n_layers=2).id == get_kernel("ntk", n_layers=2.0, fixed_layers=0).id


def test_integer_parameters_must_be_whole():
    with pytest.raises(InvalidParameterError, match="integer"):
        get_kernel("rntk", n_layers=1.5)


@pytest.mark.parametrize(
    "name, params, reference",
    [
        ("rbf", dict(gamma=0.3), lambda X, Y: pairwise.rbf_kernel(X, Y, gamma=0.3)),
        ("rbf", dict(), lambda X, Y: pairwise.rbf_kernel(X, Y)),
        ("poly", dict(degree=2, gamma=0.5, coef0=0.0), lambda X, Y: pairwise.polynomial_kernel(X, Y, 2, 0.5, 0.0)),
        ("poly", dict(), lambda X, Y: pairwise.polynomial_kernel(X, Y)),
        ("linear", dict(), lambda X, Y: X @ Y.T),
    ],
)
def test_classic_kernels_equal_scikit_learn(name, params, reference):
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(6, 5)), rng.normal(size=(3, 5))
    kernel = get_kernel(name, **params)
    np.testing.assert_allclose(kernel(X, Y), reference(X, Y), rtol=1e-14)
    np.testing.assert_allclose(kernel(X), reference(X, X), rtol=1e-14)


def test_rbf_grid_is_scaled_by_the_training_data():
    rng = np.random.default_rng(8)
    X = 3.0 * rng.normal(size=(50, 4))
    gammas = [setting["gamma"] for setting in KERNELS["rbf"].default_grid(X)]
    scale = 1.0 / (4 * X.var())
    np.testing.assert_allclose(gammas, [scale * 2.0**k for k in range(-8, 5)])


def test_ntk_without_hidden_layers_is_the_linear_kernel():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(5, 3))
    np.testing.assert_allclose(get_kernel("ntk", n_layers=0)(X), X @ X.T, rtol=1e-14)


def test_relu_ntk_matches_the_closed_form_for_one_hidden_layer():
    """One hidden ReLU layer, sigma_w = 1: Theta = <x,y> k0(c) + |x||y| k1(c) / (2 pi) (Cho and Saul)."""
    rng = np.random.default_rng(10)
    X = rng.normal(size=(4, 3))
    norms = np.linalg.norm(X, axis=1)
    cosine = np.clip(X @ X.T / np.outer(norms, norms), -1, 1)
    angle = np.arccos(cosine)
    arc0 = (np.pi - angle) / (2 * np.pi)
    arc1 = np.outer(norms, norms) * (np.sin(angle) + (np.pi - angle) * cosine) / (2 * np.pi)
    np.testing.assert_allclose(get_kernel("ntk", n_layers=1)(X), X @ X.T * arc0 + arc1, rtol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("output", ["last", "mean"])
def test_zero_variance_is_guarded(activation, output):
    """sigma_b = sigma_h = 0 and an all-zero input: a defined value, never NaN (the released code gives NaN)."""
    X = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, -1.0], [0.5, 0.2, 0.1]])
    for fixed in (0, 2):
        gram = get_kernel(
            "rntk", n_layers=2, sigma_b=0.0, sigma_h=0.0, activation=activation, output=output, fixed_layers=fixed
        )(X)
        assert np.all(np.isfinite(gram))
        assert gram[0, 0] == 0.0 and gram[0, 1] == 0.0
    assert np.all(np.isfinite(get_kernel("ntk", n_layers=3, activation=activation)(X)))


def test_channel_mismatch_is_an_input_error():
    with pytest.raises(InvalidInputError, match="channels"):
        get_kernel("rntk")(np.zeros((2, 3, 4)), np.zeros((2, 2, 4)))
    with pytest.raises(InvalidInputError, match="features"):
        get_kernel("rbf")(np.zeros((2, 3)), np.zeros((2, 4)))


def test_shapes_that_are_not_series_are_refused():
    with pytest.raises(InvalidInputError, match="shape"):
        get_kernel("rntk")(np.zeros((2, 3, 4, 5)))
    with pytest.raises(InvalidInputError, match="no cases"):
        get_kernel("ntk")(np.zeros((0, 3)))
    with pytest.raises(InvalidInputError, match="numbers"):
        get_kernel("linear")([["a", "b"]])
