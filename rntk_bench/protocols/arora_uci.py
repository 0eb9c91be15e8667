"""The ``arora-uci`` protocol: Arora et al.'s (ICLR 2020) selection and report on the Fernandez-Delgado UCI
collection, as their released code does it.

For every (kernel setting, C): the accuracy of an SVM fit on the first half of ``conxuntos.dat`` (split
``"validation"``) on its second half. For the first C of best validation accuracy of each setting (the only
C of that setting the selection can pick): the test accuracy on each of the four ``conxuntos_kfold.dat``
splits (``"fold-0"`` .. ``"fold-3"``). The reported accuracy is the mean over the four folds of the selected
configuration.

Which rows influence selection: both halves of ``conxuntos.dat``. Together they hold every row of every
fold's test part, so test rows do influence the selection under this protocol. It is kept because it is
the published protocol (the reproduction of Arora et al.'s and the RNTK follow-up's numbers).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from rntk_bench.data.dataset import Dataset
from rntk_bench.errors import DatasetError
from rntk_bench.predictions import encode_split
from rntk_bench.protocols.base import RowsFunction
from rntk_bench.protocols.inputs import take
from rntk_bench.protocols.svm import SVC_MAX_ITER

__all__ = ["ARORA_FOLDS", "score_arora_uci", "split_rows"]

ARORA_FOLDS = tuple(f"fold-{index}" for index in range(4))


def split_rows(represent: RowsFunction, X, dataset: Dataset, names: Sequence[str]):
    """The representation (Gram matrix or features) of every row that the splits ``names`` use, computed once,
    to be sliced per split.

    Returns
    -------
    splits : dict
        Split name -> (train rows, test rows), disjoint (checked).
    position : ndarray of shape (n_cases,), int
        Row index of each case in the Gram matrix (-1 for cases no split uses).
    rows : GramRows or FeatureRows
        Over the used rows in increasing order (a Gram matrix of shape (n_rows, n_rows) when exact).
    gram_seconds : float
    """
    splits = {}
    for name in names:
        split = dataset.split(name)
        train, test = np.asarray(split.train), np.asarray(split.test)
        if np.intersect1d(train, test).size:
            raise DatasetError(f"dataset {dataset.name!r}: split {name!r} has rows in both train and test")
        splits[name] = (train, test)
    rows = np.unique(np.concatenate([np.concatenate(pair) for pair in splits.values()]))
    position = np.full(len(dataset.y), -1)
    position[rows] = np.arange(len(rows))
    start = time.perf_counter()
    represented = represent(("rows-rows", ""), take(X, rows), None)
    return splits, position, represented, time.perf_counter() - start


def score_arora_uci(
    represent: RowsFunction, X, dataset: Dataset, C_grid: Sequence[float], max_iter: int = SVC_MAX_ITER
) -> dict[str, Any]:
    """Scores of one kernel setting under Arora et al.'s UCI protocol, for every C.

    The Gram matrix (or the features) of every row used by a split is computed once and sliced; train and
    test rows of each split are disjoint (checked), so the slices equal ``K(train)`` and ``K(test, train)``.

    Returns
    -------
    dict
        ``selection_accuracy`` (validation accuracy per C), ``splits`` (``{"fold-k": {n_train, n_test,
        test_accuracy per C}}``, ``None`` except at the Cs of this setting's best validation accuracy, the
        only ones a selection can report), ``predictions`` (each fold's test labels for that C,
        :mod:`rntk_bench.predictions`), ``validation`` (sizes of the validation split), ``gram_seconds``,
        ``fit_seconds``.
    """
    splits, position, rows, gram_seconds = split_rows(represent, X, dataset, ("validation",) + ARORA_FOLDS)

    start = time.perf_counter()
    blocks = {name: (position[train], position[test], dataset.y[train], dataset.y[test])
              for name, (train, test) in splits.items()}
    counts: dict[str, int] = {}
    p_fit, p_val, y_fit, y_val = blocks["validation"]
    validation = [float(np.mean(codes == y_val))
                  for codes in rows.predictions(p_fit, p_val, y_fit, C_grid, None, counts, max_iter)]
    # The first-best selection keeps the first strictly better candidate with C as the inner loop, so whichever
    # setting wins, it wins with its own first-best C; the follow-up's vote (selection.vote) takes every
    # (setting, C) tied at the best validation accuracy, each of them at its setting's best. So the folds are
    # fit for the Cs at this setting's best validation accuracy only, as Arora et al.'s code fits the first
    # (the others can never be reported; the slowest fits are large-C fits).
    tied = {index for index, score in enumerate(validation) if score == max(validation)}
    folds, predictions = {}, {}
    for name in ARORA_FOLDS:
        p_train, p_test, y_train, y_test = blocks[name]
        predicted = rows.predictions(p_train, p_test, y_train, C_grid, [index in tied for index in range(len(C_grid))],
                                     counts, max_iter)
        folds[name] = {
            "n_train": len(splits[name][0]),
            "n_test": len(splits[name][1]),
            "test_accuracy": [None if codes is None else float(np.mean(codes == y_test)) for codes in predicted],
        }
        predictions[name] = encode_split(y_test, predicted, len(dataset.class_labels))
    return {
        "svc_fits": counts.get("fits", 0),
        "svc_unconverged": counts.get("unconverged", 0),
        "selection_accuracy": validation,
        "splits": folds,
        "predictions": predictions,
        "validation": {"n_train": len(splits["validation"][0]), "n_test": len(splits["validation"][1])},
        "gram_seconds": gram_seconds,
        "fit_seconds": time.perf_counter() - start,
    }
