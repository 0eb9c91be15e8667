"""The accelerator engine's RNTK (JAX, run here on its CPU backend) equals ``rntk_reference`` and the numba
engine to 1e-12 relative, for every parameter of the registered ``rntk``.

Each case draws series with near-duplicate pairs (``x`` and ``x + 1e-9`` noise, in X and between X and Y, whose
correlations round to 1 in float64 where sigma_h = 0: an implementation taking ``1 - c`` from the rounded ``c``
is off by ~1e-9 there, which the ReLU cases with sigma_h = 0 and a trained top layer detect) and a Y that holds
an exact copy of a row of X; K(X) and K(X, Y) are both checked. Tiles of 8 x 8 pairs (``memory_bytes=1``)
make even these small matrices span several tiles, below and above the diagonal.
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
from rntk_bench.kernels.rntk import rntk_reference  # noqa: E402


def relative_difference(value: np.ndarray, expected: np.ndarray) -> float:
    """Largest entry-wise relative difference, entries below 1 % of the largest counted at that 1 %."""
    floor = 1e-2 * np.abs(expected).max()
    return float(np.max(np.abs(value - expected) / np.maximum(np.abs(expected), floor)))


def series(rng: np.random.Generator, n: int, n_channels: int, lengths) -> np.ndarray | list[np.ndarray]:
    """``n`` series (an array for one length, else a list), the second a near-duplicate of the first."""
    if isinstance(lengths, int):
        X = 0.4 * rng.normal(size=(n, n_channels, lengths))
    else:
        X = [0.4 * rng.normal(size=(n_channels, length)) for length in lengths[:n]]
    X[1] = X[0] + 1e-9 * rng.normal(size=X[0].shape)
    return X


# (parameters, channels, lengths): every parameter of the registered rntk and its values, unequal lengths,
# one and three channels; lengths up to 8 keep one padded time axis (and one compiled tile) per case
CASES = [
    (dict(n_layers=3, fixed_layers=2, sigma_w=2.0, sigma_b=0.05), 1, [5, 8, 3, 8, 6, 2, 7, 4, 8, 5]),
    (dict(n_layers=2, fixed_layers=1, direction="bidirectional", sigma_w=1.2, sigma_u=0.8, sigma_b=0.3,
          sigma_v=1.5), 3, 8),
    (dict(n_layers=2, output="mean", direction="reversed"), 1, [4, 7, 8, 2, 6, 5, 8, 3, 1, 6]),
    (dict(n_layers=1, fixed_layers=1, output="mean", sigma_b=0.0, sigma_h=0.4, direction="bidirectional"), 3,
     [8, 3, 5, 8, 6, 4, 2, 7, 8, 1]),
    (dict(n_layers=2, activation="erf", sigma_h=0.3, direction="bidirectional"), 1, [6, 8, 4, 7, 3, 8, 5, 2, 8, 6]),
    (dict(n_layers=1, activation="erf", output="mean", sigma_h=0.2), 3, 6),
]


@pytest.mark.parametrize(("params", "n_channels", "lengths"), CASES, ids=[str(case[0]) for case in CASES])
def test_rntk_equals_reference_and_engine(params, n_channels, lengths):
    rng = np.random.default_rng(len(str(params)))
    X = series(rng, 10, n_channels, lengths)
    Y = series(rng, 6, n_channels, lengths)
    Y[3] = X[4].copy()                       # an identical series: its chain is taken as exactly correlated
    Y[4] = X[5] + 1e-9 * rng.normal(size=X[5].shape)
    for args in ((X,), (X, Y)):
        accelerated = gram("rntk", params, *args, device=DEVICE, memory_bytes=1)
        assert accelerated.dtype == np.float64 and accelerated.shape == (len(X), len(args[-1]))
        assert relative_difference(accelerated, rntk_reference(*args, **params)) < 1e-12
        assert relative_difference(accelerated, get_kernel("rntk", **params)(*args)) < 1e-12
    K = gram("rntk", params, X, device=DEVICE, memory_bytes=1)
    assert np.array_equal(K, K.T)            # the upper triangle, mirrored


def test_sigma_h_is_a_diagonal_term_of_k_x_only():
    """K(X) differs from K(X, X) by the initial-state term exactly on the diagonal, as for the engine."""
    params, n_channels, lengths = CASES[3]   # compiled already by that case
    X = series(np.random.default_rng(3), 10, n_channels, lengths)
    same, cross = gram("rntk", params, X, device=DEVICE, memory_bytes=1), gram("rntk", params, X, X, device=DEVICE,
                                                                              memory_bytes=1)
    off_diagonal = ~np.eye(len(X), dtype=bool)
    assert np.allclose(same[off_diagonal], cross[off_diagonal], rtol=1e-13, atol=0)
    assert np.all(same.diagonal() > cross.diagonal())
