"""What a protocol fits its SVMs on: exact Gram blocks of its rows, or approximate kernel features of them.

A protocol computes one representation of the rows it uses (:class:`GramRows` or :class:`FeatureRows`) and then
asks it for predictions of many (fit rows, scored rows, C): every fold and every C reuse the same Gram matrix
or features, and the Cs of one (fit rows, scored rows) the same slices of them. Positions index the
representation's rows, not the dataset's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from sklearn import config_context

from rntk_bench.errors import InvalidInputError, InvalidParameterError
from rntk_bench.protocols.svm import SVC_MAX_ITER, svc_predict

__all__ = ["FeatureRows", "GramRows", "Rows", "exact_rows", "feature_rows"]


class Rows(Protocol):
    """The protocol-side view of a representation: predictions of SVMs fit on some of its rows."""

    def predictions(self, fit: np.ndarray, scored: np.ndarray, y_fit: np.ndarray, C_grid: Sequence[float],
                    wanted: Sequence[bool] | None = None, counts: dict[str, int] | None = None,
                    max_iter: int = SVC_MAX_ITER) -> list[np.ndarray | None]:
        """Labels that an SVM with penalty ``C`` fit on rows ``fit`` (labels ``y_fit``) predicts for rows
        ``scored``: one array of shape ``(len(scored),)`` per ``C`` of ``C_grid``, ``None`` where ``wanted``
        (default: every C) is false."""


def _wanted(C_grid: Sequence[float], wanted: Sequence[bool] | None) -> list[bool]:
    wanted = [True] * len(C_grid) if wanted is None else [bool(flag) for flag in wanted]
    if len(wanted) != len(C_grid):
        raise InvalidParameterError(f"wanted has {len(wanted)} flags for {len(C_grid)} values of C")
    return wanted


class GramRows:
    """Exact kernel values of the rows a protocol uses.

    Parameters
    ----------
    K : ndarray of shape (n_rows, n_columns)
        ``K[r, c]``: the kernel between row ``r`` and row ``c``; the columns are the first ``n_columns`` rows
        (the only rows any fit may train on), so ``K[:n_columns]`` is their Gram matrix with its diagonal
        terms and the remaining rows are scored only. Every value must be finite (checked here, once).

    Raises
    ------
    InvalidInputError
        ``K`` holds NaN or infinite values.
    """

    def __init__(self, K: np.ndarray):
        if not np.all(np.isfinite(K)):
            raise InvalidInputError("the Gram matrix holds NaN or infinite values; an SVM cannot be fit on it")
        self.K = K

    def predictions(self, fit: np.ndarray, scored: np.ndarray, y_fit: np.ndarray, C_grid: Sequence[float],
                    wanted: Sequence[bool] | None = None, counts: dict[str, int] | None = None,
                    max_iter: int = SVC_MAX_ITER) -> list[np.ndarray | None]:
        """``SVC(kernel="precomputed", C=C)`` fit on ``K[fit, fit]``, predicting from ``K[scored, fit]``, for
        each wanted ``C`` of ``C_grid`` (``None`` for the others).

        The two blocks are sliced once for all the Cs: a slice copies ``len(fit)`` rows of the matrix (95 MB
        for a fold of 3450 rows, 0.04-0.1 s), a large share of a fit's time on the larger datasets when it was
        made for each fit (one setting's fits on spambase under ``arora-uci``: 1.25 s of CPU time then,
        0.87 s now; ``benchmarks/fits.py``). scikit-learn's scan of each block for NaN and infinity is skipped
        (``assume_finite``): the whole matrix was checked once, when this object was made.
        """
        wanted = _wanted(C_grid, wanted)
        if not any(wanted):
            return [None] * len(C_grid)
        K_fit, K_scored = self.K[np.ix_(fit, fit)], self.K[np.ix_(scored, fit)]
        with config_context(assume_finite=True):
            return [svc_predict(K_fit, y_fit, K_scored, C, counts, max_iter) if flag else None
                    for C, flag in zip(C_grid, wanted)]


class FeatureRows:
    """Approximate kernel features of the rows a protocol uses (inner products approximate the kernel).

    Parameters
    ----------
    F : ndarray of shape (n_rows, n_features)
    solver : callable
        ``solver(F_fit, y_fit, F_scored, C, counts, max_iter) -> labels``: a linear SVM on the features
        (:func:`rntk_bench.approx.linear_svm_predict`).
    """

    def __init__(self, F: np.ndarray, solver: Any):
        self.F = F
        self.solver = solver

    def predictions(self, fit: np.ndarray, scored: np.ndarray, y_fit: np.ndarray, C_grid: Sequence[float],
                    wanted: Sequence[bool] | None = None, counts: dict[str, int] | None = None,
                    max_iter: int = SVC_MAX_ITER) -> list[np.ndarray | None]:
        """A linear SVM with penalty ``C`` fit on ``F[fit]``, predicting ``F[scored]``, for each wanted ``C`` of
        ``C_grid`` (``None`` for the others); the rows are taken once for all the Cs."""
        wanted = _wanted(C_grid, wanted)
        if not any(wanted):
            return [None] * len(C_grid)
        F_fit, F_scored = self.F[fit], self.F[scored]
        return [self.solver(F_fit, y_fit, F_scored, C, counts, max_iter) if flag else None
                for C, flag in zip(C_grid, wanted)]


def exact_rows(gram: Any):
    """The exact representation: ``represent((block_AA, block_BA), A, B)`` -> :class:`GramRows` of
    ``gram(block_AA, A, None)`` stacked over ``gram(block_BA, B, A)`` (``gram``: a
    :data:`~rntk_bench.protocols.base.GramFunction`). The test-test block is never computed."""

    def represent(blocks: tuple[str, str], A, B=None) -> GramRows:
        K = gram(blocks[0], A, None)
        if B is not None and len(B):
            K = np.vstack([K, gram(blocks[1], B, A)])
        return GramRows(K)

    return represent


def feature_rows(feature_map: Any, solver: Any):
    """The approximate representation: ``represent(blocks, A, B)`` -> :class:`FeatureRows` of
    ``feature_map.transform`` applied to the rows of ``A`` and then ``B`` (block names are not used)."""

    def represent(blocks: tuple[str, str], A, B=None) -> FeatureRows:
        F = feature_map.transform(A)
        if B is not None and len(B):
            F = np.vstack([F, feature_map.transform(B)])
        return FeatureRows(F, solver)

    return represent
