"""The straightforward NumPy RNTK: the authors' algorithm, as their released code computes it.

Equal lengths, univariate, ReLU, last state, every layer trained: the whole N x N matrix is advanced one time
step at a time, with the dual activation evaluated on full matrices. No masks, no padding, no symmetry, no
tiling; in-place operations where NumPy allows them. It is the baseline the issue's 60-80 million pair-steps
per second refers to, timed in the same run as the engine.
"""

from __future__ import annotations

import numpy as np


def _relu_dual(sigma: np.ndarray, root_q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vphi and Vphi' of the N x N covariances ``sigma`` with per-sample standard deviations ``root_q``."""
    norm = np.outer(root_q, root_q)
    c = np.clip(sigma / norm, -1.0, 1.0)
    angle = np.pi - np.arccos(c)
    vphi = norm * (c * angle + np.sqrt(1.0 - c * c)) / (2.0 * np.pi)
    return vphi, angle / (2.0 * np.pi)


def rntk_authors(X: np.ndarray, n_layers: int = 1, sigma_w: float = 1.4142, sigma_u: float = 0.5,
                 sigma_b: float = 0.1, sigma_h: float = 0.0, sigma_v: float = 1.0) -> np.ndarray:
    """RNTK Gram matrix of the rows of ``X`` (shape (N, T)); the same values as ``rntk_reference``."""
    n, t_max = X.shape
    sigma = [np.zeros((n, n)) for _ in range(n_layers)]
    theta = [np.zeros((n, n)) for _ in range(n_layers)]
    q = [np.zeros(n) for _ in range(n_layers)]
    for t in range(t_max):
        below, below_dot = np.outer(X[:, t], X[:, t]), None
        for layer in range(n_layers):
            if t == 0:
                r, r_dot = sigma_h**2 * np.eye(n), np.zeros((n, n))
                q_new = np.full(n, sigma_w**2 * sigma_h**2)
            else:
                r, r_dot = _relu_dual(sigma[layer], np.sqrt(q[layer]))
                q_new = sigma_w**2 * q[layer] / 2.0
            q_new = q_new + sigma_u**2 * np.diag(below) + sigma_b**2
            new_sigma = sigma_w**2 * r + sigma_u**2 * below + sigma_b**2
            new_theta = new_sigma + sigma_w**2 * theta[layer] * r_dot
            if layer > 0:
                new_theta += sigma_u**2 * theta[layer - 1] * below_dot
            sigma[layer], theta[layer], q[layer] = new_sigma, new_theta, q_new
            below, below_dot = _relu_dual(new_sigma, np.sqrt(q_new))
    top = n_layers - 1
    out, out_dot = _relu_dual(sigma[top], np.sqrt(q[top]))
    return sigma_v**2 * (out + theta[top] * out_dot)
