"""How far approximate features are from the exact kernel: the error measures of docs/approximation.md."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

from rntk_bench.approx._common import cross_gram, kernel_label, resolve_kernel
from rntk_bench.approx.nystroem import NystroemMap


def spectral_norm(A: np.ndarray) -> float:
    """Largest absolute eigenvalue of a symmetric matrix (Lanczos; a dense solve for small ones)."""
    if len(A) <= 200:
        return float(np.max(np.abs(np.linalg.eigvalsh(A))))
    op = LinearOperator(A.shape, matvec=lambda v: A @ v, dtype=np.float64)
    return float(np.max(np.abs(eigsh(op, k=1, which="LM", return_eigenvectors=False, tol=1e-6))))


def gram_errors(exact: np.ndarray, features: np.ndarray) -> dict[str, float]:
    """Relative errors of ``features @ features.T`` against the exact Gram matrix.

    Parameters
    ----------
    exact : ndarray of shape (n, n), symmetric
    features : ndarray of shape (n, m')

    Returns
    -------
    dict
        ``frobenius``: ``||K - F F^T||_F / ||K||_F``; ``spectral``: ``||K - F F^T||_2 / ||K||_2``;
        ``max``: largest absolute entry error over the largest absolute entry of ``K``.
    """
    diff = exact - features @ features.T
    return {
        "frobenius": float(np.linalg.norm(diff) / np.linalg.norm(exact)),
        "spectral": spectral_norm(diff) / spectral_norm(exact),
        "max": float(np.abs(diff).max() / np.abs(exact).max()),
    }


def nystroem_error_table(kernel: Any, X, ms: Iterable[int], samplings: Iterable[str], seeds: Iterable[int],
                         exact: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Errors of Nystroem features against the exact cross Gram matrix of ``X``, for each landmark count,
    sampling and seed (every row of ``X`` is both a training and an evaluation row).

    Parameters
    ----------
    kernel : Kernel, str or callable
    X : ndarray or list, n rows
    ms, samplings, seeds
        The grid; a count above n is skipped.
    exact : ndarray of shape (n, n), optional
        ``kernel(X, X)`` if already computed.

    Returns
    -------
    list of dict
        One per cell: kernel, m, sampling, seed, n_components, fit_s, transform_s and :func:`gram_errors`.
    """
    kernel = resolve_kernel(kernel)
    exact = cross_gram(kernel, X, X) if exact is None else exact
    rows = []
    for m in ms:
        if m > len(X):
            continue
        for sampling in samplings:
            for seed in seeds:
                start = time.perf_counter()
                mapping = NystroemMap(kernel, m, sampling=sampling, seed=seed).fit(X)
                fitted = time.perf_counter()
                features = mapping.transform(X)
                done = time.perf_counter()
                rows.append({"kernel": kernel_label(kernel), "m": m, "sampling": sampling, "seed": seed,
                             "n_components": mapping.n_components_, "fit_s": fitted - start,
                             "transform_s": done - fitted, **gram_errors(exact, features)})
    return rows
