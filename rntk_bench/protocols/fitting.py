"""What a protocol fits its SVMs on: exact Gram blocks of its rows, or approximate kernel features of them.

A protocol computes one representation of the rows it uses (:class:`GramRows` or :class:`FeatureRows`) and then
asks it for predictions of many (fit rows, scored rows, C): every fold and every C reuse the same Gram blocks
or features. Positions index the representation's rows, not the dataset's.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from rntk_bench.protocols.svm import SVC_MAX_ITER, svc_predict

__all__ = ["FeatureRows", "GramRows", "Rows", "exact_rows", "feature_rows"]


class Rows(Protocol):
    """The protocol-side view of a representation: predictions of an SVM fit on some of its rows."""

    def predict(self, fit: np.ndarray, scored: np.ndarray, y_fit: np.ndarray, C: float,
                counts: dict[str, int] | None = None, max_iter: int = SVC_MAX_ITER) -> np.ndarray:
        """Labels an SVM with penalty ``C`` fit on rows ``fit`` (labels ``y_fit``) predicts for rows ``scored``."""


class GramRows:
    """Exact kernel values of the rows a protocol uses.

    Parameters
    ----------
    K : ndarray of shape (n_rows, n_columns)
        ``K[r, c]``: the kernel between row ``r`` and row ``c``; the columns are the first ``n_columns`` rows
        (the only rows any fit may train on), so ``K[:n_columns]`` is their Gram matrix with its diagonal
        terms and the remaining rows are scored only.
    """

    def __init__(self, K: np.ndarray):
        self.K = K

    def predict(self, fit: np.ndarray, scored: np.ndarray, y_fit: np.ndarray, C: float,
                counts: dict[str, int] | None = None, max_iter: int = SVC_MAX_ITER) -> np.ndarray:
        """``SVC(kernel="precomputed", C=C)`` fit on ``K[fit, fit]``, predicting from ``K[scored, fit]``."""
        return svc_predict(self.K[np.ix_(fit, fit)], y_fit, self.K[np.ix_(scored, fit)], C, counts, max_iter)


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

    def predict(self, fit: np.ndarray, scored: np.ndarray, y_fit: np.ndarray, C: float,
                counts: dict[str, int] | None = None, max_iter: int = SVC_MAX_ITER) -> np.ndarray:
        """A linear SVM with penalty ``C`` fit on ``F[fit]``, predicting ``F[scored]``."""
        return self.solver(self.F[fit], y_fit, self.F[scored], C, counts, max_iter)


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
