"""The follow-up's vote: every (setting, C) tied at the best selection score, an odd number of them in the
released code's loop order, the mode of their predictions (smallest label on ties)."""

from __future__ import annotations

import numpy as np
import pytest

from rntk_bench.errors import InvalidParameterError
from rntk_bench.predictions import encode_split
from rntk_bench.results import combine
from rntk_bench.vote import _mode, tasks_for_vote, vote_order

TRUTH = np.array([0, 1, 2, 0, 1, 2])


def _task(index, params, scores, predicted, kernel="rntk"):
    return {
        "dataset": "d", "suite": "s", "collection": "uci", "protocol": "arora-uci", "kernel": kernel,
        "kernel_id": f"{kernel}[i={index}]", "params": params, "setting_index": index, "n_settings": 3,
        "C_grid": [1.0, 10.0], "selection_accuracy": scores, "status": "ok", "n_classes": 3,
        "splits": {"fold-0": {"n_train": 10, "n_test": 6,
                              "test_accuracy": [None if p is None else float(np.mean(p == TRUTH)) for p in predicted]}},
        "predictions": {"fold-0": encode_split(TRUTH, predicted, 3)},
    }


def _params(direction, output="last"):
    return {"direction": direction, "output": output, "sigma_w": 1.4142, "sigma_b": 0.1, "sigma_u": 0.5,
            "sigma_h": 0.0, "n_layers": 1, "fixed_layers": 0}


def test_mode_breaks_ties_towards_the_smallest_label():
    assert _mode(np.array([[2, 1, 0], [1, 2, 0], [0, 0, 0]])).tolist() == [0, 0, 0]
    assert _mode(np.array([[2, 1], [2, 2]])).tolist() == [2, 1]


def test_the_vote_keeps_an_odd_number_of_tied_voters_in_the_released_loop_order():
    a = np.array([0, 1, 2, 0, 1, 1])  # 5 of 6
    b = np.array([0, 1, 2, 0, 0, 0])  # 4 of 6
    c = np.array([2, 2, 2, 2, 2, 2])  # 2 of 6
    tasks = [
        _task(0, _params("bidirectional"), [0.8, 0.9], [None, c]),        # tied at C = 10, last in loop order
        _task(1, _params("forward"), [0.9, 0.9], [a, b]),                  # both Cs tied
        _task(2, _params("reversed"), [0.5, 0.7], [None, a]),              # not tied
    ]
    table = combine(tasks, selection="vote")
    row = table.iloc[0]
    # 3 tied pairs (forward C=1, forward C=10, bidirectional C=10): odd, all vote; the mode of a, b, c
    expected = _mode(np.vstack([a, b, c]))
    assert row["test_correct"] == int(np.sum(expected == TRUTH)) and row["kernel_id"].startswith("vote of 3")
    # A 4th tie: mean pooling, whose loop (the outermost) comes after every last-state setting, so it is the
    # one dropped to keep an odd number; were the bidirectional one dropped instead, the vote would be a.
    tasks.append(_task(3, _params("forward", "mean"), [0.9, 0.1], [a, None]))
    assert vote_order("rntk", tasks[3]["params"], 3, 0) > vote_order("rntk", tasks[0]["params"], 0, 1)
    table = combine(tasks, selection="vote")
    assert table.iloc[0]["kernel_id"].startswith("vote of 3")
    assert table.iloc[0]["test_correct"] == int(np.sum(_mode(np.vstack([a, b, c])) == TRUTH)) == 4
    first_best = combine(tasks)
    assert first_best.iloc[0]["kernel_id"] == "rntk[i=0]" and first_best.iloc[0]["C"] == 10.0


def test_a_vote_without_stored_predictions_is_unavailable_not_invented():
    task = _task(0, _params("forward"), [0.9, 0.9], [TRUTH, TRUTH])
    task.pop("predictions")
    task["n_settings"] = 1
    row = combine([task], selection="vote").iloc[0]
    assert row["status"] == "unavailable" and "--add-predictions" in row["error"]
    with pytest.raises(InvalidParameterError, match="unknown selection rule 'best'; rules: first-best, vote"):
        combine([task], selection="best")


def test_the_tasks_a_vote_needs_are_tied_ones_lacking_predictions_at_a_tied_c():
    a = np.array([0, 1, 2, 0, 1, 1])
    tasks = [
        _task(0, _params("bidirectional"), [0.8, 0.9], [None, a]),    # tied at C = 10, predicted there: ready
        _task(1, _params("forward"), [0.9, 0.9], [a, None]),           # tied at both Cs, not fitted at C = 10
        _task(2, _params("reversed"), [0.5, 0.7], [None, a]),          # not tied
        _task(3, _params("forward", "mean"), [0.9, 0.1], [a, None]),   # tied, but its file predates predictions
        _task(0, {}, [0.6, 0.4], [a, None], kernel="rbf"),             # another kernel: its own best counts
        _task(1, {}, [0.5, 0.6], [None, None], kernel="rbf"),
        {**_task(2, {}, [1.0, 1.0], [None, None], kernel="rbf"), "status": "failed"},
        {**_task(0, {}, [0.7, 0.7], [a, None], kernel="ntk"), "selection_by_split": True},  # no vote taken there
    ]
    tasks[3].pop("predictions")
    assert tasks_for_vote(tasks) == {("d", "rntk[i=1]"), ("d", "rntk[i=3]"), ("d", "rbf[i=1]")}
