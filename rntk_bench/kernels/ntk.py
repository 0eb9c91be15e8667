"""Fully connected NTK and NNGP kernels of Arora et al. (ICLR 2020), section 4 of docs/kernels.md.

With ``sigma_w = 1`` and ``sigma_b = 0`` the values equal those of the authors' released UCI code (which is
``2^-L`` times the ``c_sigma = 2`` form of the paper, i.e. ``sigma_w = sqrt(2)``).
"""

from __future__ import annotations

import inspect

import numba
import numpy as np

from rntk_bench.kernels.dual import DUALS, relu_correlation, relu_dual_w
from rntk_bench.kernels.engine.fc import fc_arguments, fc_ntk_inplace, fc_ntk_inplace_serial, fc_side
from rntk_bench.kernels.registry import check_fixed_layers, with_defaults
from rntk_bench.kernels.validation import check_same_width, check_vectors


def _checked(X, Y, n_layers: int, fixed_layers: int) -> tuple[np.ndarray, np.ndarray, bool]:
    check_fixed_layers("ntk", n_layers, fixed_layers)
    X = check_vectors(X, "X")
    same = Y is None
    Y = X if same else check_vectors(Y, "Y")
    check_same_width(X, Y)
    return X, Y, same


def _input_variances(X: np.ndarray, Y: np.ndarray):
    """``<x, x>`` of every row of X and of Y (the same summation for both, so K(X) and K(X, X) agree)."""
    var_x = np.einsum("ij,ij->i", X, X)
    return var_x, (var_x if Y is X else np.einsum("ij,ij->i", Y, Y))


def _unit_rows(X: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    return X / np.where(norms > 0, norms, 1.0)[:, None]


def _input_correlations(X: np.ndarray, Y: np.ndarray, chunk: int = 256) -> np.ndarray:
    """``1 - c`` of every pair of rows, as half the squared distance of the unit rows (no cancellation)."""
    ux, uy = _unit_rows(X), _unit_rows(Y)
    w = np.empty((len(X), len(Y)))
    for start in range(0, len(X), chunk):
        block = ux[start:start + chunk]
        w[start:start + chunk] = 0.5 * sum((block[:, None, k] - uy[None, :, k]) ** 2 for k in range(X.shape[1]))
    return w


def ntk_reference(X, Y=None, **params) -> np.ndarray:
    """Reference FC NTK: the recursion in NumPy, one ``(n_x, n_y)`` array per step.

    Same parameters, defaults and values as :func:`ntk` (the fused engine; its signature holds the defaults and
    its docstring gives the recursion and the parameters); kept as the specification the engine is tested
    against and the benchmark's baseline.

    Parameters
    ----------
    X, Y
        As for :func:`ntk`.
    **params
        The keyword parameters of :func:`ntk`; omitted ones take its defaults.

    Returns
    -------
    ndarray of shape (n_x, n_y)
    """
    p = with_defaults(ntk, params)
    n_layers, fixed_layers, sigma_w, sigma_b = p["n_layers"], p["fixed_layers"], p["sigma_w"], p["sigma_b"]
    X, Y, _ = _checked(X, Y, n_layers, fixed_layers)
    relu = p["activation"] == "relu"
    dual = DUALS[p["activation"]]
    sigma = X @ Y.T                                # Sigma_0 (n_x, n_y)
    var_x, var_y = _input_variances(X, Y)
    var_x, var_y = var_x[:, None], var_y[None, :]
    # ReLU: w = 1 - c of each layer's correlation, without cancellation (see dual.relu_correlation)
    w = _input_correlations(X, Y) if relu and n_layers > 0 else None
    theta = sigma.copy() if fixed_layers == 0 else np.zeros_like(sigma)
    for layer in range(1, n_layers + 1):
        if relu:
            vphi, vphi_dot, w_phi = relu_dual_w(np.sqrt(var_x * var_y), w)
        else:
            vphi, vphi_dot = dual(var_x, var_y, sigma)
        sigma = sigma_w**2 * vphi + sigma_b**2
        theta *= sigma_w**2 * vphi_dot
        if layer >= fixed_layers:
            theta += sigma
        vphi_x, vphi_y = dual(var_x, var_x, var_x)[0], dual(var_y, var_y, var_y)[0]
        var_x = sigma_w**2 * vphi_x + sigma_b**2
        var_y = sigma_w**2 * vphi_y + sigma_b**2
        if relu and layer < n_layers:
            # the next covariance sums sigma_w^2 Vphi (whose 1 - c is w_phi) and sigma_b^2 (1 - c = 0)
            root_x, root_y = np.sqrt(var_x), np.sqrt(var_y)
            w = relu_correlation(
                [(_share(sigma_w**2 * vphi_x, root_x), _share(sigma_w**2 * vphi_y, root_y)),
                 (_share(sigma_b**2, root_x), _share(sigma_b**2, root_y))], [w_phi])
    return theta


def _share(term, root):
    """``sqrt(term) / root`` (0 where root is 0): a term's share in the norm of a covariance's variance."""
    return np.where(root > 0, np.sqrt(term) / np.where(root > 0, root, 1.0), 0.0)


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
    X, Y, same = _checked(X, Y, n_layers, fixed_layers)
    gram = X @ Y.T                                 # Sigma_0, overwritten with the NTK
    var_x, var_y = _input_variances(X, Y)
    side_x = fc_side(X, var_x, n_layers, sigma_w, sigma_b, activation)
    side_y = side_x if same else fc_side(Y, var_y, n_layers, sigma_w, sigma_b, activation)
    fused = fc_ntk_inplace if numba.get_num_threads() > 1 else fc_ntk_inplace_serial
    fused(*fc_arguments(gram, side_x, side_y, sigma_w, sigma_b, n_layers, fixed_layers, activation, same))
    return gram


# help() and inspect show the reference with the parameters and defaults it takes, which are ntk's
ntk_reference.__signature__ = inspect.signature(ntk)


def ntk_grid(X_train) -> list[dict]:
    """Arora et al.'s grid: n_layers 0..4 and, for each, fixed_layers 0..n_layers (15 settings)."""
    return [
        {"n_layers": depth, "fixed_layers": fixed} for depth in range(5) for fixed in range(depth + 1)
    ]
