"""Fully connected NTK and NNGP kernels of Arora et al. (ICLR 2020), section 4 of docs/kernels.md.

With ``sigma_w = 1`` and ``sigma_b = 0`` the values equal those of the authors' released UCI code (which is
``2^-L`` times the ``c_sigma = 2`` form of the paper, i.e. ``sigma_w = sqrt(2)``).
"""

from __future__ import annotations

import inspect

import numba
import numpy as np

from rntk_bench.kernels.dual import DUALS
from rntk_bench.kernels.engine.fc import fc_arguments, fc_ntk_inplace, fc_ntk_inplace_serial
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


def _layer_variances(var: np.ndarray, n_layers: int, sigma_w: float, sigma_b: float, activation: str):
    """Variances entering hidden layers 1..n_layers, shape (max(n_layers, 1), n); the reference's formula."""
    dual = DUALS[activation]
    layers = np.empty((max(n_layers, 1), len(var)))
    layers[0] = var
    for layer in range(1, n_layers):
        var = sigma_w**2 * dual(var, var, var)[0] + sigma_b**2
        layers[layer] = var
    return layers


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
    dual = DUALS[p["activation"]]
    sigma = X @ Y.T                                # Sigma_0 (n_x, n_y)
    var_x, var_y = _input_variances(X, Y)
    var_x, var_y = var_x[:, None], var_y[None, :]
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
    layers_x = _layer_variances(var_x, n_layers, sigma_w, sigma_b, activation)
    layers_y = layers_x if same else _layer_variances(var_y, n_layers, sigma_w, sigma_b, activation)
    fused = fc_ntk_inplace if numba.get_num_threads() > 1 else fc_ntk_inplace_serial
    fused(*fc_arguments(gram, layers_x, layers_y, sigma_w, sigma_b, n_layers, fixed_layers, activation, same))
    return gram


# help() and inspect show the reference with the parameters and defaults it takes, which are ntk's
ntk_reference.__signature__ = inspect.signature(ntk)


def ntk_grid(X_train) -> list[dict]:
    """Arora et al.'s grid: n_layers 0..4 and, for each, fixed_layers 0..n_layers (15 settings)."""
    return [
        {"n_layers": depth, "fixed_layers": fixed} for depth in range(5) for fixed in range(depth + 1)
    ]
