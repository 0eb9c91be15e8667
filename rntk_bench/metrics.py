"""Metrics of a selected configuration, computed from its stored test predictions when tables are built.

:data:`METRICS` maps a name to ``metric(truth, predicted) -> float``. Accuracy needs no predictions (task
files of every version keep it); the others need the predictions that task files keep since they were
introduced (:mod:`rntk_bench.predictions`), so a new metric never needs a Gram matrix or an SVM fit again.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.metrics import balanced_accuracy_score, f1_score

from rntk_bench.errors import InvalidParameterError

__all__ = ["METRICS", "PREDICTION_METRICS", "check_metric"]


def _accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(predicted == truth))


def _balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    with warnings.catch_warnings():  # a predicted class absent from the truth is counted, not worth a warning
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(truth, predicted))


def _macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    # Over the classes of the truth and the predictions; a class never predicted scores 0 (zero_division=0).
    return float(f1_score(truth, predicted, average="macro", zero_division=0))


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
