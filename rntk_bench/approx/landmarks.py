"""Choosing the Nystroem landmarks among the training rows: uniform, k-means and ridge-leverage sampling.

``uniform``
    ``m`` distinct rows drawn uniformly (Williams and Seeger, NeurIPS 2001).
``kmeans``
    The training row nearest to each of ``m`` k-means centres (the centres themselves are the landmarks of
    Zhang, Tsang and Kwok, ICML 2008; rows are used here so that landmarks are inputs every kernel accepts).
    Vector inputs only: a mean of series of unequal length is not defined.
``leverage``
    Ridge leverage scores (Alaoui and Mahoney, NeurIPS 2015; Musco and Musco, NeurIPS 2017), computed exactly
    on a uniform pool of ``pool_factor * m`` rows: with the pool's Gram matrix ``K = U diag(w) U^T``, row i's
    score is ``[K (K + lam I)^-1]_ii = sum_j U_ij^2 w_j / (w_j + lam)``, and ``lam`` is set so that the scores
    sum to ``m`` (the effective dimension equals the landmark count). ``m`` pool rows are then drawn without
    replacement with probabilities proportional to the scores. This is the one-level version of Musco and
    Musco's recursive scheme: the pool stands in for the training set, which keeps the cost at
    ``(pool_factor m)^2`` kernel entries and one eigendecomposition of that size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import eigh

from rntk_bench.approx._common import cross_gram, input_kind, kernel_label, take_rows
from rntk_bench.errors import InvalidInputError, InvalidParameterError

SAMPLINGS = ("uniform", "kmeans", "leverage")
"""The landmark sampling strategies, by name."""

AUTO = "auto"
"""The default: ``kmeans`` for kernels that read vectors, ``uniform`` for kernels that read sequences (the
measurements in docs/approximation.md: k-means landmarks cut the error 2-10x on vectors, and on series
leverage sampling was no better than uniform at several times the cost)."""


def resolve_sampling(sampling: Any, kernel, X) -> str:
    """The strategy ``sampling`` names, with ``"auto"`` resolved for this kernel and input.

    Raises
    ------
    InvalidParameterError
        An unknown name; the message lists the choices.
    """
    check_sampling(sampling)
    if sampling == AUTO:
        return "kmeans" if input_kind(kernel, X) == "vector" else "uniform"
    return sampling

KMEANS_SAMPLE = 20
"""k-means runs on at most ``max(KMEANS_SAMPLE * m, 10_000)`` uniformly drawn rows, which bounds its cost on
large training sets; the landmarks are the rows of that sample nearest to the centres."""


def check_sampling(sampling: Any) -> str:
    """Return ``sampling`` if it names a strategy or ``"auto"``, else raise an error listing the choices."""
    if sampling != AUTO and sampling not in SAMPLINGS:
        raise InvalidParameterError(f"unknown sampling {sampling!r}; choices: {', '.join((AUTO, *SAMPLINGS))}")
    return sampling


def select_landmarks(kernel, X, m: int, sampling: str, rng: np.random.Generator, *, pool_factor: float = 3.0
                     ) -> np.ndarray:
    """Indices of ``m`` distinct training rows to use as landmarks, sorted.

    Parameters
    ----------
    kernel : callable
        ``kernel(X, Y) -> (n_x, n_y)``; only ``leverage`` evaluates it (on the pool).
    X : ndarray or list, n rows
        The training rows.
    m : int
        Number of landmarks, ``1 <= m <= n`` (checked by the caller).
    sampling : {"auto", "uniform", "kmeans", "leverage"}
    rng : numpy.random.Generator
    pool_factor : float
        ``leverage``: the pool holds ``min(n, ceil(pool_factor * m))`` rows.

    Returns
    -------
    ndarray of int, shape (m,)

    Raises
    ------
    InvalidParameterError
        An unknown sampling name, or ``kmeans`` for a kernel that reads sequences.
    """
    sampling = resolve_sampling(sampling, kernel, X)
    n = len(X)
    if sampling == "uniform" or m == n:
        return np.sort(rng.choice(n, size=m, replace=False))
    if sampling == "kmeans":
        return _kmeans(kernel, X, m, rng)
    return _leverage(kernel, X, m, rng, pool_factor)


def _kmeans(kernel, X, m: int, rng: np.random.Generator) -> np.ndarray:
    from sklearn.cluster import KMeans
    from sklearn.metrics import pairwise_distances_argmin

    if input_kind(kernel, X) != "vector":
        raise InvalidParameterError(
            f"sampling 'kmeans' needs vector inputs, but kernel {kernel_label(kernel)} reads sequences (k-means "
            "centres of series are not defined); use 'uniform' or 'leverage'"
        )
    n = len(X)
    sample = np.sort(rng.choice(n, size=min(n, max(KMEANS_SAMPLE * m, 10_000)), replace=False))
    try:  # vector kernels flatten (n, channels, T) input; so does their k-means
        rows = np.asarray(take_rows(X, sample), dtype=np.float64).reshape(len(sample), -1)
    except ValueError as exc:
        raise InvalidInputError(f"sampling 'kmeans' needs rows of one length: {exc}") from None
    model = KMeans(n_clusters=m, n_init=1, max_iter=100, random_state=int(rng.integers(2**31))).fit(rows)
    nearest = np.unique(pairwise_distances_argmin(model.cluster_centers_, rows))
    if len(nearest) < m:  # two centres share a nearest row (duplicate rows): fill up uniformly
        rest = np.setdiff1d(np.arange(len(sample)), nearest)
        nearest = np.concatenate([nearest, rng.choice(rest, size=m - len(nearest), replace=False)])
    return np.sort(sample[nearest])


def leverage_scores(gram: np.ndarray, d_eff: float) -> np.ndarray:
    """Ridge leverage scores of the rows of a PSD Gram matrix, at the ridge whose effective dimension is
    ``d_eff`` (or the smallest ridge tried, 1e-12 of the largest eigenvalue, when the rank is below it).

    Parameters
    ----------
    gram : ndarray of shape (p, p)
    d_eff : float
        Target sum of the scores, ``0 < d_eff <= p``.

    Returns
    -------
    ndarray of shape (p,), entries in [0, 1]
    """
    w, U = eigh(gram)
    w = np.clip(w, 0.0, None)  # rounding leaves tiny negative eigenvalues of a PSD matrix
    top = w[-1] if w[-1] > 0 else 1.0
    # d_eff(lam) = sum w / (w + lam) falls monotonically in lam: bisect log(lam) over 15 decades
    low, high = np.log(top * 1e-12), np.log(top * 1e3)
    for _ in range(60):
        mid = 0.5 * (low + high)
        if np.sum(w / (w + np.exp(mid))) > d_eff:
            low = mid
        else:
            high = mid
    lam = np.exp(high)
    return np.clip((U**2) @ (w / (w + lam)), 0.0, 1.0)


def _leverage(kernel, X, m: int, rng: np.random.Generator, pool_factor: float) -> np.ndarray:
    n = len(X)
    if not np.isfinite(pool_factor) or pool_factor < 1:
        raise InvalidParameterError(f"pool_factor must be a number >= 1; got {pool_factor!r}")
    pool = np.sort(rng.choice(n, size=min(n, int(np.ceil(pool_factor * m))), replace=False))
    if len(pool) == m:
        return pool
    rows = take_rows(X, pool)
    scores = leverage_scores(cross_gram(kernel, rows, rows), float(m))
    # a floor keeps every pool row drawable, so that m distinct rows exist even where scores are exactly 0
    weights = scores + 1e-12 * max(scores.max(), 1e-300)
    chosen = rng.choice(len(pool), size=m, replace=False, p=weights / weights.sum())
    return np.sort(pool[chosen])
