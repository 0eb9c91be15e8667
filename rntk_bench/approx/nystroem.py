"""Nystroem features for any registered kernel: ``phi(x) = W^T k(L, x)`` with landmarks L among the training
rows and ``W = V_+ diag(w_+)^-1/2`` from the eigendecomposition ``K_LL = V diag(w) V^T`` (the pseudo-inverse
square root), so that ``phi(x)^T phi(x') = k(x, L) K_LL^+ k(L, x')``.

Williams and Seeger, "Using the Nystroem method to speed up kernel machines", NeurIPS 2001.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import eigh
from sklearn.base import BaseEstimator, TransformerMixin

from rntk_bench.approx._common import (
    NotFittedError,
    check_positive_int,
    check_rows,
    chunk_rows,
    cross_gram,
    kernel_from_state,
    kernel_label,
    kernel_to_state,
    n_rows,
    resolve_kernel,
    rng_from,
    take_rows,
)
from rntk_bench.approx.landmarks import AUTO, resolve_sampling, select_landmarks
from rntk_bench.errors import InvalidParameterError

DEFAULT_SAMPLING = AUTO
"""The default landmark sampling, ``"auto"``: k-means for vector kernels, uniform for sequence kernels
(docs/approximation.md gives the measurements behind the choice)."""

DEFAULT_RTOL = 1e-10
"""Eigenvalues of K_LL at or below ``rtol`` times the largest are cut (their directions dropped). A kernel
matrix is computed to ~1e-15 relative; below ~1e-10 an eigenvalue is mostly rounding of nearly repeated
landmarks, and dividing by its square root would amplify that rounding into the features."""


class NystroemMap(TransformerMixin, BaseEstimator):
    """Fitted Nystroem feature map of a kernel: inner products of features approximate the kernel.

    ``NystroemMap(kernel, m).fit(X_train).transform(X)`` gives features ``F`` of shape (n, m') with
    ``F_train @ F_test.T ~ kernel(X_train, X_test)``; m' <= m is the number of eigenvalues of ``K_LL`` kept.

    The target is the kernel's cross Gram matrix ``k(X, Y)``, also for the landmarks with themselves: a term
    that only a sample paired with itself has (the RNTK's ``sigma_h``, a white-noise term on the diagonal of
    ``k(X)``) is not represented, so train and test rows go through one map (docs/approximation.md).

    Parameters
    ----------
    kernel : Kernel, str or callable
        A bound kernel (``rntk_bench.kernels.get_kernel(name, **params)``), a registered name (default
        parameters), or any callable ``k(X, Y) -> ndarray (n_x, n_y)``.
    m : int
        Number of landmarks, ``1 <= m <= n_train``.
    sampling : {"auto", "uniform", "kmeans", "leverage"}
        How landmarks are chosen among the training rows (see :mod:`rntk_bench.approx.landmarks`); ``kmeans``
        only for vector inputs; ``"auto"`` (default) is ``kmeans`` for vector kernels, ``uniform`` for
        sequence kernels.
    seed : int, numpy Generator or None
        Randomness of the landmark choice.
    rtol : float
        Relative eigenvalue cut (:data:`DEFAULT_RTOL`).
    pool_factor : float
        ``leverage`` only: pool size as a multiple of ``m``.
    chunk_rows : int, optional
        Rows per ``transform`` tile; default: tiles of about 64 MiB.

    Attributes
    ----------
    landmark_indices_ : ndarray of int, shape (m,)
        Training rows used as landmarks.
    sampling_ : str
        The strategy used (``"auto"`` resolved).
    landmarks_ : ndarray or list
        Those rows, in the input convention of ``X``.
    components_ : ndarray of shape (m, m')
        ``W``: features are ``k(X, L) @ W``.
    eigenvalues_ : ndarray of shape (m',)
        The kept eigenvalues of ``K_LL``, ascending.
    n_components_ : int
        m', the feature dimension.
    """

    def __init__(self, kernel: Any, m: int, *, sampling: str = DEFAULT_SAMPLING, seed: Any = None,
                 rtol: float = DEFAULT_RTOL, pool_factor: float = 3.0, chunk_rows: int | None = None):
        self.kernel = kernel
        self.m = m
        self.sampling = sampling
        self.seed = seed
        self.rtol = rtol
        self.pool_factor = pool_factor
        self.chunk_rows = chunk_rows

    def fit(self, X, y=None) -> NystroemMap:
        """Choose the landmarks among the rows of ``X`` and whiten their Gram matrix.

        Parameters
        ----------
        X : ndarray of shape (n, ...) or list of n samples
            Training rows in the kernel's input convention (vectors, or series of any length).
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        InvalidParameterError
            ``m`` larger than the number of training rows (naming both), a non-positive ``m``, an unknown
            sampling (listing the choices), ``kmeans`` for sequences, a negative ``rtol``, a kernel without a
            cross Gram matrix (naming it), or landmarks whose Gram matrix has no positive eigenvalue.
        InvalidInputError
            Rows a registered kernel refuses (NaN or inf values, wrong shapes), found here for every training
            row, not only for the landmarks.
        """
        kernel = resolve_kernel(self.kernel)
        m = check_positive_int(self.m, "m")
        sampling = resolve_sampling(self.sampling, kernel, X)
        if not (isinstance(self.rtol, (int, float)) and 0 <= self.rtol < 1):
            raise InvalidParameterError(f"rtol must be a number in [0, 1); got {self.rtol!r}")
        n = n_rows(X)
        if m > n:
            raise InvalidParameterError(
                f"m={m} landmarks need at least m training rows, but X has n={n} rows; choose m <= {n}"
            )
        chunk_rows(m, self.chunk_rows)  # a bad chunk size is refused now, not at the first transform
        check_rows(kernel, X)
        indices = select_landmarks(kernel, X, m, sampling, rng_from(self.seed), pool_factor=self.pool_factor)
        landmarks = take_rows(X, indices)
        gram = cross_gram(kernel, landmarks, landmarks)
        gram = 0.5 * (gram + gram.T)  # eigh reads one triangle; both agree to rounding for a symmetric kernel
        w, V = eigh(gram)
        if not w[-1] > 0:
            raise InvalidParameterError(
                f"kernel {kernel_label(kernel)}: the Gram matrix of the {m} landmarks has no positive eigenvalue "
                "(all landmark features would be zero)"
            )
        keep = w > self.rtol * w[-1]
        self.kernel_ = kernel
        self.sampling_ = sampling
        self.landmark_indices_ = indices
        self.landmarks_ = landmarks
        self.eigenvalues_ = w[keep]
        self.components_ = V[:, keep] / np.sqrt(w[keep])
        self.n_components_ = int(keep.sum())
        return self

    def transform(self, X) -> np.ndarray:
        """Features of the rows of ``X``, computed in tiles of ``chunk_rows`` rows.

        Memory: the (n, m') result plus one (chunk, m) cross Gram tile, whatever ``n``.

        Parameters
        ----------
        X : ndarray of shape (n, ...) or list of n samples

        Returns
        -------
        ndarray of shape (n, m'), float64

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        if not hasattr(self, "components_"):
            raise NotFittedError("this NystroemMap is not fitted yet: call fit(X_train) before transform(X)")
        n = n_rows(X)
        step = chunk_rows(len(self.landmark_indices_), self.chunk_rows)
        features = np.empty((n, self.n_components_))
        for start in range(0, n, step):
            rows = take_rows(X, slice(start, min(n, start + step)))
            features[start:start + step] = cross_gram(self.kernel_, rows, self.landmarks_) @ self.components_
        return features

    def __getstate__(self) -> dict[str, Any]:
        # a bound registry kernel does not pickle (its spec holds closures); loky workers and caches need a
        # fitted map to, so the kernel travels by name and parameters and is looked up again on load
        state = dict(super().__getstate__())
        for key in ("kernel", "kernel_"):
            if key in state:
                state[key] = kernel_to_state(state[key])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        for key in ("kernel", "kernel_"):
            if key in state:
                state[key] = kernel_from_state(state[key])
        super().__setstate__(state)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "components_")
