"""Fully connected NTK and NNGP kernels of Arora et al. (ICLR 2020), section 4 of docs/kernels.md.

With ``sigma_w = 1`` and ``sigma_b = 0`` the values equal those of the authors' released UCI code (which is
``2^-L`` times the ``c_sigma = 2`` form of the paper, i.e. ``sigma_w = sqrt(2)``).
"""

from __future__ import annotations

import numpy as np

from rntk_bench.errors import InvalidParameterError
from rntk_bench.kernels.dual import DUALS
from rntk_bench.kernels.validation import check_same_width, check_vectors


def ntk(
    X,
    Y=None,
    *,
    n_layers: int = 1,
    fixed_layers: int = 0,
    sigma_w: float = 1.0,
    sigma_b: float = 0.0,
    activation: str = "relu",
) -> np.ndarray:
    """NTK of a fully connected network with ``n_layers`` hidden layers, the first ``fixed_layers`` frozen.

    ``Sigma_0 = <x, x'>`` (raw features), ``Sigma_h = sigma_w^2 Vphi(Sigma_{h-1}) + sigma_b^2``,
    ``Sdot_h = sigma_w^2 Vphi'(Sigma_{h-1})`` and
    ``Theta = sum_{h=F..L} Sigma_h prod_{h'=h+1..L} Sdot_h'``; ``fixed_layers = n_layers`` gives the NNGP.

    Parameters
    ----------
    X : array-like of shape (n_x, n_features)
    Y : array-like of shape (n_y, n_features), optional
        Defaults to ``X``.
    n_layers : int
        Number of hidden layers L >= 0 (0 gives the linear kernel).
    fixed_layers : int
        Number F of frozen bottom layers, 0 <= F <= L.
    sigma_w, sigma_b : float
        Weight and bias scales.
    activation : {"relu", "erf"}

    Returns
    -------
    ndarray of shape (n_x, n_y)
    """
    if not 0 <= fixed_layers <= n_layers:
        raise InvalidParameterError(
            f"ntk parameter 'fixed_layers' must lie in [0, n_layers={n_layers}]; got {fixed_layers}"
        )
    X = check_vectors(X, "X")
    Y = X if Y is None else check_vectors(Y, "Y")
    check_same_width(X, Y)
    dual = DUALS[activation]
    sigma = X @ Y.T                                # Sigma_0 (n_x, n_y)
    var_x = np.einsum("ij,ij->i", X, X)[:, None]   # its diagonal for X, shape (n_x, 1)
    var_y = np.einsum("ij,ij->i", Y, Y)[None, :]   # and for Y, shape (1, n_y)
    theta = sigma.copy() if fixed_layers == 0 else np.zeros_like(sigma)
    for layer in range(1, n_layers + 1):
        vphi, vphi_dot = dual(var_x, var_y, sigma)
        sigma = sigma_w**2 * vphi + sigma_b**2
        theta *= sigma_w**2 * vphi_dot
        if layer >= fixed_layers:
            theta += sigma
        var_x = sigma_w**2 * dual(var_x, var_x, var_x)[0] + sigma_b**2
        var_y = sigma_w**2 * dual(var_y, var_y, var_y)[0] + sigma_b**2
    return theta


def ntk_grid(X_train) -> list[dict]:
    """Arora et al.'s grid: n_layers 0..4 and, for each, fixed_layers 0..n_layers (15 settings)."""
    return [
        {"n_layers": depth, "fixed_layers": fixed} for depth in range(5) for fixed in range(depth + 1)
    ]
