"""Dual activations: E[phi(u) phi(v)] and E[phi'(u) phi'(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]]).

Shared by the fully connected NTK and the RNTK. All arguments broadcast against each other.
"""

from __future__ import annotations

import numpy as np

ACTIVATIONS = ("relu", "erf")


def relu_dual(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ReLU: arc-cosine kernels of degree 1 and 0 (Cho and Saul, 2009).

    A zero variance (an input that is deterministically zero) gives ``Vphi = 0`` and the ``c = 0`` value
    ``Vphi' = 1/4`` rather than NaN: the covariance is zero there, so the term it multiplies is zero too.

    Returns
    -------
    vphi, vphi_dot : ndarray
    """
    norm = np.sqrt(k11 * k22)
    safe = np.where(norm > 0, norm, 1.0)
    c = np.clip(np.where(norm > 0, k12 / safe, 0.0), -1.0, 1.0)
    angle = np.pi - np.arccos(c)
    # (1 - c)(1 + c), not 1 - c^2: next to |c| = 1 the latter loses half the digits of sqrt(1 - c^2)
    vphi = norm * (c * angle + np.sqrt((1.0 - c) * (1.0 + c))) / (2.0 * np.pi)
    vphi_dot = angle / (2.0 * np.pi)
    return vphi, vphi_dot


def erf_dual(k11: np.ndarray, k22: np.ndarray, k12: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """erf: Williams (1997).

    The squared covariance is capped at ``k11 k22`` (Cauchy-Schwarz) so rounding never makes the
    determinant under the square root negative.

    Returns
    -------
    vphi, vphi_dot : ndarray
    """
    a = 1.0 + 2.0 * k11
    b = 1.0 + 2.0 * k22
    k12 = np.clip(k12, -np.sqrt(k11 * k22), np.sqrt(k11 * k22))
    vphi = 2.0 / np.pi * np.arcsin(np.clip(2.0 * k12 / np.sqrt(a * b), -1.0, 1.0))
    vphi_dot = 4.0 / np.pi / np.sqrt(a * b - 4.0 * k12 * k12)
    return vphi, vphi_dot


DUALS = {"relu": relu_dual, "erf": erf_dual}
