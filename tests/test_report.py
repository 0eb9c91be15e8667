"""Leaderboard statistics on a hand-made results table whose ranks, P90, P95 and PMA are worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rntk_bench.errors import RunError
from rntk_bench.report import (
    accuracy_table,
    build_leaderboard,
    merge_tables,
    selected_settings,
    selected_settings_text,
    write_report,
)
from rntk_bench.results import RESULT_COLUMNS
from rntk_bench.statistics import cliques, complete_cases, holm, rank_table, summary_table, wilcoxon_holm

# Accuracy per dataset (d4 is a UCI set: the mean of four folds):
#        rntk  ntk   rbf
#   d1   0.9   0.8   0.7     ranks 1, 2, 3        best 0.9
#   d2   0.6   0.6   0.5     ranks 1.5, 1.5, 3    best 0.6
#   d3   0.5   1.0   0.95    ranks 3, 1, 2        best 1.0
#   d4   0.8   0.7   0.8     ranks 1.5, 3, 1.5    best 0.8
#   d5   rntk failed: left out of the summary
HAND = {
    "d1": {"rntk": [0.9], "ntk": [0.8], "rbf": [0.7]},
    "d2": {"rntk": [0.6], "ntk": [0.6], "rbf": [0.5]},
    "d3": {"rntk": [0.5], "ntk": [1.0], "rbf": [0.95]},
    "d4": {"rntk": [0.7, 0.9, 0.8, 0.8], "ntk": [0.7, 0.7, 0.6, 0.8], "rbf": [0.8, 0.8, 0.8, 0.8]},
    "d5": {"rntk": None, "ntk": [0.4], "rbf": [0.45]},
}


def row(dataset, kernel, split, accuracy, status="ok", error=""):
    values = dict.fromkeys(RESULT_COLUMNS, "")
    values.update(dataset=dataset, kernel=kernel, split=split, test_accuracy=accuracy, status=status, error=error,
                  kernel_id=f"{kernel}[x=1]", C=1.0, cv_accuracy=0.5, n_train=10, n_test=10, suite="hand")
    return values


def hand_table() -> pd.DataFrame:
    rows = []
    for dataset, kernels in HAND.items():
        for kernel, accuracies in kernels.items():
            if accuracies is None:
                rows.append(row(dataset, kernel, "", np.nan, status="error", error="all 3 settings failed: boom"))
            elif len(accuracies) == 1:
                rows.append(row(dataset, kernel, "train-test", accuracies[0]))
            else:
                rows.extend(row(dataset, kernel, f"fold-{i}", a) for i, a in enumerate(accuracies))
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def test_accuracy_table_averages_splits_and_leaves_failures_empty():
    accuracy = accuracy_table(hand_table())
    assert list(accuracy.columns) == ["rntk", "ntk", "rbf"] and list(accuracy.index) == ["d1", "d2", "d3", "d4", "d5"]
    assert accuracy.loc["d4"].tolist() == pytest.approx([0.8, 0.7, 0.8])
    assert math.isnan(accuracy.loc["d5", "rntk"])
    complete, dropped = complete_cases(accuracy)
    assert dropped == ["d5"] and len(complete) == 4


def test_ranks_p90_p95_pma_and_wins_match_the_hand_computation():
    complete, _ = complete_cases(accuracy_table(hand_table()))
    ranks = rank_table(complete)
    assert ranks.loc["d2"].tolist() == [1.5, 1.5, 3.0] and ranks.loc["d4"].tolist() == [1.5, 3.0, 1.5]
    summary = summary_table(complete)
    assert list(summary.index) == ["rntk", "ntk", "rbf"]  # sorted by mean rank
    assert summary.loc["rntk", "mean_rank"] == pytest.approx((1 + 1.5 + 3 + 1.5) / 4)
    assert summary.loc["ntk", "mean_rank"] == pytest.approx((2 + 1.5 + 1 + 3) / 4)
    assert summary.loc["rbf", "mean_rank"] == pytest.approx((3 + 3 + 2 + 1.5) / 4)
    # accuracy / best: rntk 1, 1, 0.5, 1; ntk 8/9, 1, 1, 7/8; rbf 7/9, 5/6, 0.95, 1
    assert summary.loc["rntk", "p90"] == 0.75 and summary.loc["ntk", "p90"] == 0.5 and summary.loc["rbf", "p90"] == 0.5
    assert summary.loc["rntk", "p95"] == 0.75 and summary.loc["ntk", "p95"] == 0.5 and summary.loc["rbf", "p95"] == 0.5
    assert summary.loc["rntk", "pma"] == pytest.approx(3.5 / 4)
    assert summary.loc["ntk", "pma"] == pytest.approx((8 / 9 + 1 + 1 + 7 / 8) / 4)
    assert summary.loc["rbf", "pma"] == pytest.approx((7 / 9 + 5 / 6 + 0.95 + 1) / 4)
    assert summary.loc["rntk", "mean_accuracy"] == pytest.approx(0.7)
    assert summary.loc["rntk", "std_accuracy"] == pytest.approx(np.std([0.9, 0.6, 0.5, 0.8], ddof=1))
    # against rntk: ntk loses d1, ties d2, wins d3, loses d4; rbf loses d1, d2, wins d3, ties d4
    assert (summary.loc["ntk", "wins"], summary.loc["ntk", "ties"], summary.loc["ntk", "losses"]) == (1, 1, 2)
    assert (summary.loc["rbf", "wins"], summary.loc["rbf", "ties"], summary.loc["rbf", "losses"]) == (1, 1, 2)
    assert pd.isna(summary.loc["rntk", "wins"])
    assert summary["n_datasets"].tolist() == [4, 4, 4]


def test_friedman_and_wilcoxon_use_the_complete_datasets():
    board = build_leaderboard(hand_table())
    matrix = np.array([[0.9, 0.8, 0.7], [0.6, 0.6, 0.5], [0.5, 1.0, 0.95], [0.8, 0.7, 0.8]])
    expected = stats.friedmanchisquare(*matrix.T)
    assert board.friedman == pytest.approx((expected.statistic, expected.pvalue))
    # chi2 = 12 / (n k (k+1)) * sum R_j^2 - 3 n (k+1) with rank sums 7, 7.5, 9.5 (before the tie correction)
    assert board.friedman[0] >= 12 / (4 * 3 * 4) * (7**2 + 7.5**2 + 9.5**2) - 3 * 4 * 4
    pair = board.pairwise.set_index(["kernel_a", "kernel_b"]).loc[("rntk", "ntk")]
    assert (pair["wins_a"], pair["wins_b"]) == (2, 1)
    assert pair["p_value"] == pytest.approx(stats.wilcoxon([0.9, 0.6, 0.5, 0.8], [0.8, 0.6, 1.0, 0.7]).pvalue)
    assert board.dropped == ["d5"] and list(board.failures["dataset"]) == ["d5"]


def test_holm_correction_by_hand():
    # sorted 0.01, 0.03, 0.04 -> 3 * 0.01, max(0.03, 2 * 0.03), max(0.06, 1 * 0.04)
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])


def test_cliques_join_kernels_no_test_separates():
    ranks = pd.Series({"a": 1.0, "b": 2.0, "c": 3.0, "d": 3.5})
    pairwise = pd.DataFrame([
        {"kernel_a": "a", "kernel_b": "c", "significant": True},
        {"kernel_a": "a", "kernel_b": "d", "significant": True},
        {"kernel_a": "b", "kernel_b": "d", "significant": True},
        {"kernel_a": "a", "kernel_b": "b", "significant": False},
    ])
    assert cliques(ranks, pairwise) == [["a", "b"], ["b", "c"], ["c", "d"]]
    assert cliques(ranks, pairwise.assign(significant=False)) == [["a", "b", "c", "d"]]


def test_identical_kernels_give_p_equal_one():
    accuracy = pd.DataFrame({"x": [0.5, 0.7, 0.9], "y": [0.5, 0.7, 0.9]}, index=["a", "b", "c"])
    pairwise = wilcoxon_holm(accuracy)
    assert pairwise["p_value"].tolist() == [1.0] and not pairwise["significant"].any()


def test_merging_runs_keeps_the_last_result_of_a_dataset_kernel():
    first = hand_table()
    second = pd.DataFrame([row("d1", "rntk", "train-test", 0.1), row("d9", "rntk", "train-test", 0.3)],
                          columns=list(RESULT_COLUMNS))
    merged, notes = merge_tables([first, second])
    accuracy = accuracy_table(merged)
    assert accuracy.loc["d1", "rntk"] == 0.1 and accuracy.loc["d9", "rntk"] == 0.3
    assert notes == ["rntk on d1: run 2 replaces run 1"]


def _write_run(path, table):
    path.mkdir()
    table.to_csv(path / "results.csv", index=False)
    (path / "run.json").write_text(json.dumps({"config": {"suite": "hand"}, "config_hash": "abc", "started": "t",
                                               "git": {"revision": "0123456789abcdef"}}))


def test_write_report_writes_markdown_csvs_and_a_png(tmp_path):
    _write_run(tmp_path / "run", hand_table())
    outcome = write_report([tmp_path / "run"])
    names = {path.name for path in outcome.files}
    assert names == {"leaderboard.md", "per_dataset.csv", "summary.csv", "pairwise.csv", "critical_difference.png"}
    assert (tmp_path / "run" / "critical_difference.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (tmp_path / "run" / "leaderboard.md").read_text()
    # std of 0.9, 0.6, 0.5, 0.8 (ddof 1): sqrt(0.1 / 3) = 18.3 %
    assert "| rntk | 4 | 70.0 +- 18.3 | 1.75 | 75.0 | 75.0 | 87.5 | - |" in text
    assert "| ntk | 4 |" in text and "1/1/2 |" in text
    assert "| d1 | **90.0** | 80.0 | 70.0 |" in text and "| d4 | **80.0** | 70.0 | **80.0** |" in text
    assert "Not in the summary (a kernel has no result): d5." in text and "boom" in text
    per_dataset = pd.read_csv(tmp_path / "run" / "per_dataset.csv", index_col=0)
    assert per_dataset.loc["d4", "best"] == "rntk;rbf"
    summary = pd.read_csv(tmp_path / "run" / "summary.csv", index_col=0)
    assert summary.loc["rbf", "pma"] == pytest.approx((7 / 9 + 5 / 6 + 0.95 + 1) / 4)


def test_write_report_needs_an_out_folder_for_several_runs(tmp_path):
    _write_run(tmp_path / "a", hand_table())
    _write_run(tmp_path / "b", hand_table().query("kernel != 'rbf'"))
    with pytest.raises(RunError, match="--out"):
        write_report([tmp_path / "a", tmp_path / "b"])
    outcome = write_report([tmp_path / "a", tmp_path / "b"], tmp_path / "merged")
    assert (tmp_path / "merged" / "leaderboard.md").exists() and "`" + str(tmp_path / "b") in \
        (tmp_path / "merged" / "leaderboard.md").read_text()
    assert len(outcome.board.notes) == 5 * 2  # every (dataset, kernel) of b replaces a's, d5's error row too
    assert list(outcome.board.accuracy.columns) == ["rntk", "ntk", "rbf"]  # first-appearance order kept
    assert outcome.board.accuracy.loc["d1", "rbf"] == 0.7
    with pytest.raises(RunError, match="does not exist"):
        write_report([tmp_path / "nope"])


def test_selected_settings_counts_datasets_per_value_of_the_parameters_that_vary():
    def chosen(dataset, params, C, n_splits=1, status="ok"):
        rows = [row(dataset, "k", f"fold-{i}", 0.5, status=status) for i in range(n_splits)]
        for values in rows:
            values.update(params=json.dumps(params), C=C)
        return rows

    table = pd.DataFrame(
        chosen("d1", {"depth": 2, "mode": "last", "scale": 0.31}, 1.0)
        + chosen("d2", {"depth": 1, "mode": "last", "scale": 0.52}, 100.0, n_splits=4)  # counted once
        + chosen("d3", {"depth": 2, "mode": "last", "scale": 0.73}, 1e6)
        + chosen("d4", {"depth": 1, "mode": "mean", "scale": 0.94}, 1e6, status="error")  # not a result
        + chosen("d5", {"depth": 2, "mode": "last", "scale": 0.15}, 1.0),
        columns=list(RESULT_COLUMNS))
    counts = selected_settings(table, "k", max_values=3)
    # mode never differs among results and scale is a per-dataset value (4 distinct > 3): neither is listed
    assert counts.values.tolist() == [["depth", "2", 3], ["depth", "1", 1],
                                      ["C", "1", 2], ["C", "100", 1], ["C", "1e+06", 1]]
    assert selected_settings_text(counts) == "depth: 2 (3), 1 (1); C: 1 (2), 100 (1), 1e+06 (1)"
    only = selected_settings(table, "k", datasets=["d1", "d2"], max_values=3)
    assert only.values.tolist() == [["depth", "2", 1], ["depth", "1", 1], ["scale", "0.31", 1], ["scale", "0.52", 1],
                                    ["C", "1", 1], ["C", "100", 1]]
    assert selected_settings(table, "absent").empty
