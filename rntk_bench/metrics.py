"""Metrics of a selected configuration, computed from its stored test predictions when tables are built.

:data:`METRICS` maps a name to ``metric(truth, predicted) -> float``. Accuracy needs no predictions (task
files of every version keep it); the others need the predictions that task files keep since they were
introduced (:mod:`rntk_bench.predictions`), so a new metric never needs a Gram matrix or an SVM fit again.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rntk_bench.errors import InvalidParameterError

__all__ = ["METRICS", "PREDICTION_METRICS", "check_metric"]


def _accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(predicted == truth))


def _confusion(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Counts of (true, predicted) over the labels of either, shape (n_labels, n_labels)."""
    labels, codes = np.unique(np.concatenate([truth, predicted]), return_inverse=True)
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(counts, (codes[: len(truth)], codes[len(truth):]), 1)
    return counts


def _balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    # scikit-learn's balanced_accuracy_score: the mean recall over the classes of the truth (a class only
    # predicted is counted in no recall). Computed from the confusion matrix here: the tables evaluate it for
    # every results row, where scikit-learn's input validation cost 30 times the arithmetic.
    counts = _confusion(truth, predicted)
    support = counts.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(counts)[present] / support[present]))


def _macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    # scikit-learn's f1_score(average="macro", zero_division=0): 2 tp / (2 tp + fp + fn) per label of the truth
    # or the predictions, 0 where that is 0 / 0, averaged over the labels.
    counts = _confusion(truth, predicted)
    tp = np.diag(counts).astype(float)
    denominator = counts.sum(axis=0) + counts.sum(axis=1)  # (tp + fp) + (tp + fn)
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    return float(np.mean(f1))


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": _accuracy,
    "balanced_accuracy": _balanced_accuracy,
    "macro_f1": _macro_f1,
}
"""Every metric a report can rank kernels by: the mean over a dataset's reported splits of the metric of
the selected configuration's test predictions (the selection itself is the protocol's, by accuracy)."""

PREDICTION_METRICS = tuple(name for name in METRICS if name != "accuracy")
"""The metrics that need stored predictions."""


def check_metric(name: str) -> str:
    """Return ``name`` if it is a registered metric.

    Raises
    ------
    InvalidParameterError
        Unknown name; the message lists the metrics.
    """
    if name not in METRICS:
        raise InvalidParameterError(f"unknown metric {name!r}; metrics: {', '.join(METRICS)}")
    return name
