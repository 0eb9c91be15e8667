"""Dual activations: E[phi(u) phi(v)] and E[phi'(u) phi'(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]]).

Shared by the fully connected NTK and the RNTK. All arguments broadcast against each other.

Next to a correlation of 1 the ReLU dual's derivative depends on ``arccos c``, whose slope is unbounded: one
unit in the last place of ``c = 1 - 1e-16`` moves it by ~1e-8. The kernels therefore pass ReLU pairs their
correlation as ``w = 1 - c`` formed without cancellation (:func:`relu_correlation`) to :func:`relu_dual_w`,
which also returns the ``w`` of the dual activation itself for the next layer or step. :func:`relu_dual`,
from the covariance, serves the variances (correlation exactly 1).
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


def relu_dual_w(norm: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ReLU dual of variances with ``sqrt(k11 k22) = norm`` and correlation ``c = 1 - w``.

    The angle ``theta = arccos c`` is taken as ``2 arcsin(sqrt(w / 2))`` (or ``pi`` minus that of ``2 - w``
    for c < 0), accurate to a few units of 1e-16 however small ``w`` is. A zero variance is taken as c = 0
    (Vphi = 0, Vphi' = 1/4), as in :func:`relu_dual`.

    Returns
    -------
    vphi, vphi_dot : ndarray
    w_phi : ndarray
        ``1 - Vphi / (norm / 2)``: the ``1 - c`` of ``Vphi`` as the covariance of ``relu(u)`` and ``relu(v)``
        (whose variances are ``k11 / 2`` and ``k22 / 2``), ``(pi - J) / pi`` with
        ``J = sin(theta) + (pi - theta) c``, written without cancellation.
    """
    w = np.minimum(np.where(norm > 0, w, 1.0), 2.0)
    c = 1.0 - w
    small = w <= 1.0
    half = np.arcsin(np.sqrt(0.5 * np.where(small, w, 2.0 - w)))    # theta / 2, or (pi - theta) / 2
    theta = np.where(small, 2.0 * half, np.pi - 2.0 * half)
    angle = np.where(small, np.pi - 2.0 * half, 2.0 * half)           # pi - theta
    sine = np.sqrt(w * (2.0 - w))                                     # sqrt(1 - c^2)
    vphi = norm * (c * angle + sine) / (2.0 * np.pi)
    w_phi = w - (sine - theta * c) / np.pi
    return vphi, angle / (2.0 * np.pi), w_phi


def relu_correlation(shares: list[tuple[np.ndarray, np.ndarray]], w_terms: list[np.ndarray]) -> np.ndarray:
    """``1 - c`` of a covariance that is a sum of terms, each an inner product of feature vectors, from the
    terms' ``1 - c``, without cancellation.

    With ``a_k``, ``b_k`` the norms of term ``k``'s two feature vectors divided by the norm of their sums
    (``shares``, pairs of broadcastable arrays whose squares sum to 1 on each side), ``1 - c`` is half the
    squared distance of the two normalised sums:

        w = sum_k (a_k - b_k)^2 / 2 + sum_k a_k b_k w_k,

    a sum of non-negative numbers, accurate however close c is to 1. ``w_terms`` are the ``w_k`` of the
    first terms; the others (a bias) have ``w_k = 0``.
    """
    w = sum(0.5 * (a - b) ** 2 for a, b in shares)
    for (a, b), w_k in zip(shares, w_terms):
        w = w + a * b * w_k
    return np.minimum(w, 2.0)


DUALS = {"relu": relu_dual, "erf": erf_dual}
