"""The fused FC NTK (the registered ``ntk``) equals the NumPy reference ``ntk_reference`` to 1e-12."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rntk_bench.kernels.ntk import ntk, ntk_reference
from rntk_bench.threads import limit_threads

SETTINGS = [
    {"n_layers": depth, "fixed_layers": fixed, "activation": activation, "sigma_w": sigma_w, "sigma_b": sigma_b}
    for activation, (sigma_w, sigma_b) in itertools.product(("relu", "erf"), ((1.0, 0.0), (1.5, 0.3)))
    for depth in range(5)
    for fixed in range(depth + 1)
]


@pytest.mark.parametrize("params", SETTINGS, ids=lambda p: "-".join(map(str, p.values())))
def test_fused_ntk_equals_reference(params):
    rng = np.random.default_rng(params["n_layers"] * 10 + params["fixed_layers"])
    X, Y = rng.normal(size=(67, 9)), rng.normal(size=(23, 9))
    for args in ((X,), (X, Y), (Y, X)):
        fast, reference = ntk(*args, **params), ntk_reference(*args, **params)
        scale = np.abs(reference).max()
        np.testing.assert_array_less(np.abs(fast - reference), 1e-12 * np.maximum(np.abs(reference), 1e-2 * scale))


def test_gram_is_exactly_symmetric_and_thread_independent():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(301, 5))
    with limit_threads(1):
        one = ntk(X, n_layers=2)
    with limit_threads(2):
        two = ntk(X, n_layers=2)
    np.testing.assert_array_equal(one, one.T)
    np.testing.assert_array_equal(two, two.T)
    # BLAS may sum X X^T in another order with another thread count: equal to rounding, not bit for bit
    np.testing.assert_allclose(one, two, rtol=1e-14)
