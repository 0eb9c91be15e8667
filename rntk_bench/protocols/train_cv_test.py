"""The ``train-cv-test`` protocol (UCR and embedded data): cross-validation on the training split selects,
the official test split reports.

For every (kernel setting, C): the mean accuracy of a stratified k-fold cross-validation on the training
split only (k = ``cv_folds``, reduced to the size of the smallest training class, at least 2; folds shuffled
with a fixed seed), and the test accuracy of an SVM refit on the whole training split. Only training rows
influence the selection: the test rows are scored, never compared.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from rntk_bench.data.dataset import Dataset
from rntk_bench.predictions import encode_split
from rntk_bench.protocols.base import RowsFunction
from rntk_bench.protocols.inputs import take
from rntk_bench.protocols.svm import SVC_MAX_ITER, stratified_folds

__all__ = ["score_train_cv_test"]


def score_train_cv_test(
    represent: RowsFunction,
    X,
    dataset: Dataset,
    C_grid: Sequence[float],
    cv_folds: int,
    seed: int,
    max_iter: int = SVC_MAX_ITER,
) -> dict[str, Any]:
    """Scores of one kernel setting under ``train-cv-test``, for every C.

    Returns
    -------
    dict
        ``selection_accuracy`` (mean CV accuracy per C), ``splits`` (``{"train-test": {n_train, n_test,
        cv_folds, test_accuracy per C}}``), ``predictions`` (the test labels of every C,
        :mod:`rntk_bench.predictions`), ``gram_seconds``, ``fit_seconds``.
    """
    split = dataset.split("train-test")
    train, test = np.asarray(split.train), np.asarray(split.test)
    y_train, y_test = dataset.y[train], dataset.y[test]
    start = time.perf_counter()
    rows = represent(("train-train", "test-train"), take(X, train), take(X, test))
    gram_seconds = time.perf_counter() - start
    everything, scored = np.arange(len(train)), len(train) + np.arange(len(test))  # positions in rows

    start = time.perf_counter()
    folds = stratified_folds(y_train, cv_folds, seed)
    counts: dict[str, int] = {}
    # fold by fold, every C of a fold on the same slices of the Gram matrix (fold_scores[k][c])
    fold_scores = [[float(np.mean(codes == y_train[val]))
                    for codes in rows.predictions(fit, val, y_train[fit], C_grid, None, counts, max_iter)]
                   for fit, val in folds]
    cv_accuracy = [float(np.mean([scores[index] for scores in fold_scores])) for index in range(len(C_grid))]
    predicted = rows.predictions(everything, scored, y_train, C_grid, None, counts, max_iter)
    test_accuracy = [float(np.mean(codes == y_test)) for codes in predicted]
    return {
        "svc_fits": counts.get("fits", 0),
        "svc_unconverged": counts.get("unconverged", 0),
        "selection_accuracy": cv_accuracy,
        "splits": {
            "train-test": {
                "n_train": len(train),
                "n_test": len(test),
                "cv_folds": len(folds),
                "test_accuracy": test_accuracy,
            }
        },
        "predictions": {"train-test": encode_split(y_test, predicted, len(dataset.class_labels))},
        "gram_seconds": gram_seconds,
        "fit_seconds": time.perf_counter() - start,
    }
