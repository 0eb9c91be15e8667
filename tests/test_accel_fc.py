"""The accelerator engine's fully connected NTK (JAX on its CPU backend) equals ``ntk_reference`` and the numba
engine to 1e-12 relative: every depth of Arora et al.'s grid, frozen layers, weight and bias scales, ReLU and
erf, K(X) and K(X, Y) over several tiles, with near-duplicate rows (``x`` and ``x + 1e-9`` noise, where a
``1 - c`` taken from the rounded correlation is off by ~1e-9) and an exact copy of a row of X in Y.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("jax")

DEVICE = os.environ.get("RNTK_BENCH_ACCEL_TEST_DEVICE", "cpu")
"""JAX's CPU backend, where CI runs; ``RNTK_BENCH_ACCEL_TEST_DEVICE=gpu`` checks a GPU's values the same way."""

from rntk_bench.kernels import get_kernel  # noqa: E402
from rntk_bench.kernels.accel import gram  # noqa: E402
from rntk_bench.kernels.ntk import ntk_reference  # noqa: E402


def relative_difference(value: np.ndarray, expected: np.ndarray) -> float:
    """Largest entry-wise relative difference, entries below 1 % of the largest counted at that 1 %."""
    floor = 1e-2 * np.abs(expected).max()
    return float(np.max(np.abs(value - expected) / np.maximum(np.abs(expected), floor)))


CASES = [
    dict(n_layers=0),
    dict(n_layers=1),
    dict(n_layers=2, fixed_layers=1, sigma_w=1.4, sigma_b=0.3),
    dict(n_layers=4, fixed_layers=4, sigma_b=0.5),
    dict(n_layers=3, fixed_layers=0, sigma_w=1.2, sigma_b=0.1, activation="erf"),
    dict(n_layers=1, fixed_layers=1, activation="erf"),
]


@pytest.mark.parametrize("params", CASES, ids=[str(case) for case in CASES])
def test_fc_ntk_equals_reference_and_engine(params):
    rng = np.random.default_rng(len(str(params)))
    X = rng.normal(size=(12, 20))                          # 20 features: two chunks of the distance loop
    X[1] = X[0] + 1e-9 * rng.normal(size=20)
    Y = rng.normal(size=(7, 20))
    Y[2] = X[3]
    Y[4] = X[5] + 1e-9 * rng.normal(size=20)
    for args in ((X,), (X, Y)):
        accelerated = gram("ntk", params, *args, device=DEVICE, memory_bytes=1)
        assert accelerated.dtype == np.float64 and accelerated.shape == (len(X), len(args[-1]))
        assert relative_difference(accelerated, ntk_reference(*args, **params)) < 1e-12
        assert relative_difference(accelerated, get_kernel("ntk", **params)(*args)) < 1e-12
    K = gram("ntk", params, X, device=DEVICE, memory_bytes=1)
    assert np.array_equal(K, K.T)


def test_default_tiles_give_the_same_values():
    """One tile for the whole matrix (the default budget) or many small ones: the same numbers."""
    X = np.random.default_rng(5).normal(size=(12, 20))
    params = CASES[1]
    assert np.array_equal(gram("ntk", params, X, device=DEVICE), gram("ntk", params, X, device=DEVICE, memory_bytes=1))
