"""The ``inner-uci`` protocol: Arora et al.'s four ``conxuntos_kfold.dat`` folds, with a selection that reads
only the training rows of each fold.

Arora et al.'s protocol (``arora-uci``) selects on the two halves of ``conxuntos.dat``, which together hold
every test row of every fold. Here each fold selects for itself, with the same single-holdout logic moved
inside its training part: the fold's training rows are split in two halves, stratified by class and shuffled
with the run's seed (:func:`inner_halves`); every (setting, C) is fit on the first half and scored on the
second; the first best in grid order (settings outer loop, C inner loop, strict ``>``) is refit on the whole
training part and scored on the fold's test rows. The reported accuracy is the mean over the four folds, and
different folds may select different settings.

Which rows influence selection: only each fold's training rows. (The rbf grid's gamma values are scaled by
the feature variance of the first half of ``conxuntos.dat``, and the RNTK reads tabular rows divided by the
largest row norm over all rows, as in ``arora-uci``: both are label-free statistics of the features.)
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedShuffleSplit

from rntk_bench.data.dataset import Dataset
from rntk_bench.errors import DatasetError
from rntk_bench.predictions import encode_split
from rntk_bench.protocols.arora_uci import ARORA_FOLDS, split_rows
from rntk_bench.protocols.base import RowsFunction
from rntk_bench.protocols.svm import SVC_MAX_ITER

__all__ = ["inner_halves", "score_inner_uci"]


def inner_halves(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two halves of a fold's training rows (positions into ``y``): stratified by class where every class has
    at least two rows, else plainly shuffled; the first half fits, the second scores.

    Returns
    -------
    fit, validation : ndarray of int
    """
    n = len(y)
    if n < 2:
        raise DatasetError(f"a fold's training part has {n} row(s): it cannot be split for selection")
    counts = np.bincount(np.asarray(y))
    if counts[counts > 0].min() >= 2 and n // 2 >= len(counts[counts > 0]):
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=n - n // 2, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            fit, validation = next(splitter.split(np.zeros(n), y))
        return np.sort(fit), np.sort(validation)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2:])


def score_inner_uci(represent: RowsFunction, X, dataset: Dataset, C_grid: Sequence[float], seed: int = 0,
                    max_iter: int = SVC_MAX_ITER) -> dict[str, Any]:
    """Scores of one kernel setting under ``inner-uci``, for every C and fold.

    Returns
    -------
    dict
        ``selection_by_split``: True (each fold selects for itself); ``splits`` (``{"fold-k": {n_train,
        n_test, selection_accuracy per C (inner holdout), test_accuracy per C (None except at the fold's
        first-best C of this setting)}}``); ``selection_accuracy`` (the mean over folds of the inner scores,
        per C, for summaries only); ``predictions``; ``gram_seconds``; ``fit_seconds``.
    """
    splits, position, rows, gram_seconds = split_rows(represent, X, dataset, ARORA_FOLDS)

    start = time.perf_counter()
    counts: dict[str, int] = {}
    folds, predictions = {}, {}
    for name, (train, test) in splits.items():
        y_train, y_test = dataset.y[train], dataset.y[test]
        fit, validation = inner_halves(y_train, seed)
        p_train, p_test = position[train], position[test]
        p_fit, p_val = p_train[fit], p_train[validation]
        inner = [float(np.mean(codes == y_train[validation]))
                 for codes in rows.predictions(p_fit, p_val, y_train[fit], C_grid, None, counts, max_iter)]
        best = int(np.argmax(inner))  # the first C of this setting's best inner score: the only one reportable
        predicted = rows.predictions(p_train, p_test, y_train, C_grid, [index == best for index in range(len(C_grid))],
                                     counts, max_iter)
        folds[name] = {
            "n_train": len(train),
            "n_test": len(test),
            "n_inner_fit": len(fit),
            "selection_accuracy": inner,
            "test_accuracy": [None if codes is None else float(np.mean(codes == y_test)) for codes in predicted],
        }
        predictions[name] = encode_split(y_test, predicted, len(dataset.class_labels))
    return {
        "svc_fits": counts.get("fits", 0),
        "svc_unconverged": counts.get("unconverged", 0),
        "selection_by_split": True,
        "selection_accuracy": [float(np.mean([folds[name]["selection_accuracy"][index] for name in folds]))
                               for index in range(len(C_grid))],
        "splits": folds,
        "predictions": predictions,
        "gram_seconds": gram_seconds,
        "fit_seconds": time.perf_counter() - start,
    }
