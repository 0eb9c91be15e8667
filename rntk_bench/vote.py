"""The follow-up paper's selection rule, ``vote``, exactly as its released code does it.

The released UCI code of the bidirectional / mean-pooled RNTK (moonlightlane/RNTK_UCI, ``best_hyperparam_vote.py``
and ``RNTK_UCI_test_vote.py``) does not keep one best configuration. It walks its grid in loop order (output
``avg``, direction ``flip``, sigma_w, sigma_b, sigma_u, sigma_h, layers, frozen layers, C), numbers every
(configuration, C) whose validation accuracy equals the best (``acc == acc_best``), and keeps the first
``i_max`` of them, where ``i_max`` is their count, less one when it is even (an odd number of voters). Each
voter's SVM predicts every test fold; a case's prediction is the mode of the voters' predictions
(``scipy.stats.mode``: on a tie, the smallest label). The reported accuracy is the mean over the folds.

:func:`vote_rows` applies the same rule to a (dataset, kernel)'s task files, from their stored predictions;
grid order for kernels other than the RNTK is the runner's (settings, then C).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rntk_bench.metrics import METRICS, PREDICTION_METRICS
from rntk_bench.predictions import decode_split

__all__ = ["SELECTIONS", "selects_per_split", "tasks_for_vote", "vote_order", "vote_rows"]

SELECTIONS = ("first-best", "vote")
"""Selection rules a results table can be built with: the protocol's first best (Arora et al.'s strict ``>``)
or the follow-up's vote."""

_OUTPUT = {"last": 0, "mean": 1}
_DIRECTION = {"forward": 0, "reversed": 1, "bidirectional": 2}


def vote_order(kernel: str, params: dict[str, Any], setting_index: int, c_index: int) -> tuple:
    """Sort key of a (setting, C) in the released code's loop order (the RNTK), else in grid order."""
    if kernel != "rntk":
        return (setting_index, c_index)
    return (_OUTPUT.get(params.get("output"), 9), _DIRECTION.get(params.get("direction"), 9),
            params.get("sigma_w"), params.get("sigma_b"), params.get("sigma_u"), params.get("sigma_h"),
            params.get("n_layers"), params.get("fixed_layers"), c_index)


def _mode(stack: np.ndarray) -> np.ndarray:
    """Per column, the most frequent value, the smallest among equally frequent ones (scipy.stats.mode)."""
    n_classes = int(stack.max()) + 1
    counts = np.zeros((n_classes, stack.shape[1]), dtype=np.int64)
    for row in stack:
        counts[row, np.arange(stack.shape[1])] += 1
    return np.argmax(counts, axis=0)  # argmax takes the first (smallest) label on ties


def selects_per_split(ok: Sequence[dict[str, Any]]) -> bool:
    """Whether a (dataset, kernel)'s protocol selects in each split (inner-uci): the vote, one selection per
    dataset, is not defined for it."""
    return bool(ok and ok[0].get("selection_by_split"))


def _tied(ok: Sequence[dict[str, Any]]) -> tuple[float, list[tuple[tuple, dict[str, Any], int]]]:
    """The best selection score of a (dataset, kernel)'s task files, and its tied (setting, C) pairs in vote order."""
    best = max(max(result["selection_accuracy"]) for result in ok)
    tied = [(vote_order(result["kernel"], result["params"], result["setting_index"], c_index), result, c_index)
            for result in ok for c_index, score in enumerate(result["selection_accuracy"]) if score == best]
    tied.sort(key=lambda item: item[0])
    return best, tied


def tasks_for_vote(results: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
    """The (dataset, kernel_id) of every finished task a vote reads whose stored predictions it lacks.

    Parameters
    ----------
    results : sequence of dict
        Task files of a run; those without status ``ok`` are ignored.

    Returns
    -------
    set of (str, str)
        The tasks holding a (setting, C) tied at the best selection score of their (dataset, kernel) (a
        superset of the voters: the vote keeps an odd number of them) that have no stored predictions, or
        none at a tied C (files from before every tied C was fitted); none of a protocol that selects in
        each split, where no vote is taken. Usually a small share of a large grid's
        tasks: ``--add-predictions --for-vote`` re-runs only these.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for result in results:
        if result.get("status") == "ok":
            groups.setdefault((result["dataset"], result["kernel"]), []).append(result)
    return {(result["dataset"], result["kernel_id"]) for ok in groups.values() if not selects_per_split(ok)
            for _, result, c_index in _tied(ok)[1] if "predictions" not in result
            or any(scores["test_accuracy"][c_index] is None for scores in result["splits"].values())}


def vote_rows(ok: Sequence[dict[str, Any]], base: dict[str, Any]) -> list[dict[str, Any]]:
    """The results rows of a (dataset, kernel) under the vote, one per reported split.

    Parameters
    ----------
    ok : sequence of dict
        The finished task files of the (dataset, kernel).
    base : dict
        The row fields shared by every row (dataset, kernel, timings, notes, ...).

    Returns
    -------
    list of dict
        Rows with status ``ok``; or one row with status ``unavailable`` when a voter's task file has no
        stored predictions (made before they were kept).
    """
    best, tied = _tied(ok)
    n_voters = len(tied) - (1 - len(tied) % 2)
    voters = tied[:n_voters]
    if any("predictions" not in result for _, result, _ in voters):
        return [{**base, "status": "unavailable", "split": "",
                 "error": "the vote needs the stored predictions of every tied configuration; some task files "
                          "were made before predictions were kept (rntk-bench leaderboard --add-predictions)"}]
    first = voters[0][1]
    rows = []
    for split, scores in first["splits"].items():
        n_test = scores["n_test"]
        stack, truth = [], None
        for _, result, c_index in voters:
            labels = decode_split(result["predictions"][split], len(result["C_grid"]), n_test,
                                  int(result.get("n_classes") or 3844),
                                  f"task file of {result['dataset']} {result['kernel_id']}, split {split}")
            predicted = labels.predicted[c_index]
            if predicted is None:
                return [{**base, "status": "unavailable", "split": "",
                         "error": f"{result['kernel_id']}: no stored predictions at the tied C number {c_index} "
                                  "(the task file predates fitting every tied C)"}]
            stack.append(predicted)
            truth = labels.truth
        voted = _mode(np.vstack(stack))
        correct = int(np.sum(voted == truth))
        rows.append({
            **base,
            "kernel_id": f"vote of {n_voters}: {first['kernel_id']} ...",
            "params": "",
            "C": np.nan,
            "split": split,
            "cv_accuracy": best,
            "test_accuracy": correct / n_test,
            "test_correct": correct,
            **{name: METRICS[name](truth, voted) for name in PREDICTION_METRICS},
            "n_train": scores["n_train"],
            "n_test": n_test,
            "status": "ok",
            "error": "",
            "notes": "; ".join(filter(None, [base.get("notes", ""), f"vote of the first {n_voters} of {len(tied)} "
                                             "(setting, C) pairs tied at the best selection score"])),
        })
    return rows
