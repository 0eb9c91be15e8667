"""Classic kernels on vectors: the same values as ``sklearn.metrics.pairwise``, on validated input."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import pairwise

from rntk_bench.kernels.validation import check_same_width, check_vectors


def _pair(X, Y) -> tuple[np.ndarray, np.ndarray]:
    X = check_vectors(X, "X")
    Y = X if Y is None else check_vectors(Y, "Y")
    check_same_width(X, Y)
    return X, Y


def rbf(X, Y=None, *, gamma: float | None = None) -> np.ndarray:
    """Gaussian kernel ``exp(-gamma ||x - y||^2)``.

    Parameters
    ----------
    X : array-like of shape (n_x, n_features)
    Y : array-like of shape (n_y, n_features), optional
        Defaults to ``X``.
    gamma : float, optional
        Inverse squared length scale; ``None`` means ``1 / n_features``.

    Returns
    -------
    ndarray of shape (n_x, n_y)
    """
    X, Y = _pair(X, Y)
    return pairwise.rbf_kernel(X, Y, gamma=gamma)


def poly(X, Y=None, *, degree: int = 3, gamma: float | None = None, coef0: float = 1.0) -> np.ndarray:
    """Polynomial kernel ``(gamma <x, y> + coef0) ** degree``.

    Parameters
    ----------
    X : array-like of shape (n_x, n_features)
    Y : array-like of shape (n_y, n_features), optional
    degree : int
    gamma : float, optional
        ``None`` means ``1 / n_features``.
    coef0 : float

    Returns
    -------
    ndarray of shape (n_x, n_y)
    """
    X, Y = _pair(X, Y)
    return pairwise.polynomial_kernel(X, Y, degree=degree, gamma=gamma, coef0=coef0)


def linear(X, Y=None) -> np.ndarray:
    """Linear kernel ``<x, y>``.

    Returns
    -------
    ndarray of shape (n_x, n_y)
    """
    X, Y = _pair(X, Y)
    return pairwise.linear_kernel(X, Y)


def rbf_grid(X_train) -> list[dict]:
    """gamma in 2^-8 .. 2^4 times ``1 / (n_features * Var(X_train))``, the scale of scikit-learn's ``"scale"``."""
    X = check_vectors(X_train, "X_train")
    variance = float(X.var())
    scale = 1.0 / (X.shape[1] * variance) if variance > 0 else 1.0 / X.shape[1]
    return [{"gamma": scale * 2.0**power} for power in range(-8, 5)]


def poly_grid(X_train) -> list[dict]:
    """degree in {2, 3, 4} x coef0 in {0, 1}, gamma = 1 / n_features."""
    return [{"degree": degree, "coef0": coef0, "gamma": None} for degree in (2, 3, 4) for coef0 in (0.0, 1.0)]
