"""An rntk-bench kernel plugin: the Laplacian kernel exp(-gamma ||x - y||_1).

Benchmark it next to the built-in kernels without touching rntk_bench:

    rntk-bench kernels check laplace --plugin examples/laplace_kernel.py
    rntk-bench run --plugin examples/laplace_kernel.py -k laplace -k rbf -d iris -d wine --jobs 2

The file is the whole plugin: one function, registered with a name, its input kind and its default grid.
Its parameter `gamma` (name, default 1.0, type float) is read from the signature.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from rntk_bench.kernels import Param, register_kernel
from rntk_bench.kernels.validation import check_vectors


def _gamma_grid(X_train) -> list[dict]:
    """gamma = 2^-4 .. 2^2 / n_features: the L1 distance grows with the number of features."""
    n_features = np.asarray(X_train).reshape(len(X_train), -1).shape[1]
    return [{"gamma": 2.0**power / n_features} for power in range(-4, 3)]


@register_kernel(
    "laplace",
    input_kind="vector",
    grid=_gamma_grid,
    params={"gamma": Param(low=0.0, doc="inverse L1 length scale")},
    description="Laplacian kernel exp(-gamma ||x - y||_1) (example plugin)",
)
def laplace(X, Y=None, *, gamma: float = 1.0) -> np.ndarray:
    """Laplacian kernel matrix.

    Parameters
    ----------
    X : array-like of shape (n_x, n_features), or (n_x, n_channels, n_timepoints) (flattened)
    Y : same kinds as X, optional
        Defaults to X.
    gamma : float
        Inverse L1 length scale.

    Returns
    -------
    ndarray of shape (n_x, n_y), float64
    """
    X = check_vectors(X, "X")
    Y = X if Y is None else check_vectors(Y, "Y")
    return np.exp(-gamma * cdist(X, Y, metric="cityblock"))
