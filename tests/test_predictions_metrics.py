"""Predictions kept in task files, metrics computed from them after the fact, ties decided on counts, and the
kernels placed among published classifiers."""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score
from typer.testing import CliRunner

from rntk_bench.cli import app
from rntk_bench.config import build_config
from rntk_bench.errors import InvalidParameterError, RunError
from rntk_bench.field_report import compare_with_field
from rntk_bench.predictions import decode_split, encode_split
from rntk_bench.report import accuracy_table, write_report
from rntk_bench.results import combine
from rntk_bench.run_data import PreloadedDatasets
from rntk_bench.run_folder import read_task_results, task_path
from rntk_bench.runner import run_benchmark
from rntk_bench.vote import tasks_for_vote

runner = CliRunner()
_SPEC = importlib.util.spec_from_file_location("synthetic", Path(__file__).parent / "data" / "runner" / "synthetic.py")
synthetic = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(synthetic)


# ----------------------------------------------------------------------------------------------- encoding


@pytest.mark.parametrize("n_classes", [2, 62, 63, 300])
def test_predictions_round_trip_for_any_number_of_classes(rng, n_classes):
    truth = rng.integers(0, n_classes, 50)
    predicted = [rng.integers(0, n_classes, 50), None, truth.copy()]
    stored = encode_split(truth, predicted, n_classes)
    decoded = decode_split(stored, 3, 50, n_classes, "here")
    assert np.array_equal(decoded.truth, truth) and decoded.predicted[1] is None
    assert np.array_equal(decoded.predicted[0], predicted[0]) and decoded.correct(2) == 50


def test_predictions_are_compact(rng):
    truth = rng.integers(0, 2, 1000)
    predicted = [np.where(rng.random(1000) < 0.9, truth, 1 - truth) for _ in range(5)]
    assert len(encode_split(truth, predicted, 2)) < 2500  # 6000 characters before compression


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda good: good[:-4] + "!!!!", "corrupt"),
        (lambda good: encode_split(np.zeros(9, int), [np.zeros(9, int)], 3), "9 labels for 10 test rows"),
        (lambda good: encode_split(np.zeros(10, int), [np.full(10, 5)], 6), "label 5 outside the 3 classes"),
        (lambda good: encode_split(np.zeros(10, int), [np.zeros(10, int), None], 3), "2 C values stored"),
    ],
)
def test_corrupted_predictions_name_the_task_and_the_problem(corrupt, message):
    good = encode_split(np.zeros(10, int), [np.zeros(10, int)], 3)
    with pytest.raises(RunError, match=f"task X, split s: .*{message}"):
        decode_split(corrupt(good), 1, 10, 3, "task X, split s")


# ------------------------------------------------------------------------------------------------ metrics


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("metrics") / "run"
    config = build_config(suite="s", datasets=["waves", "blobs"], kernels=["rbf", "poly"],
                          grids={"rbf": {"C": [0.01, 1.0, 100.0]}, "poly": {"C": [1.0, 100.0]}})
    loader = PreloadedDatasets({"waves": synthetic.series_dataset(), "blobs": synthetic.uci_dataset()})
    outcome = run_benchmark(config, run_dir, loader=loader)
    return run_dir, outcome, config, loader


def test_every_task_keeps_its_predictions_and_metrics_follow_from_them(small_run):
    run_dir, outcome, _, _ = small_run
    for result in read_task_results(run_dir):
        for split, stored in result["predictions"].items():
            decoded = decode_split(stored, len(result["C_grid"]), result["splits"][split]["n_test"],
                                   result["n_classes"], "test")
            for index, accuracy in enumerate(result["splits"][split]["test_accuracy"]):
                if accuracy is not None:
                    assert decoded.correct(index) / len(decoded.truth) == accuracy
    table = outcome.table
    for row in table.itertuples():
        result = json.loads(task_path(run_dir, row.dataset, row.kernel_id).read_text())
        decoded = decode_split(result["predictions"][row.split], len(result["C_grid"]), row.n_test,
                               result["n_classes"], "test")
        predicted = decoded.predicted[result["C_grid"].index(row.C)]
        assert row.balanced_accuracy == pytest.approx(balanced_accuracy_score(decoded.truth, predicted))
        assert row.macro_f1 == pytest.approx(f1_score(decoded.truth, predicted, average="macro"))
        assert row.test_correct == int((predicted == decoded.truth).sum())


def test_a_report_ranks_by_any_metric_and_refuses_an_unknown_one(small_run, tmp_path):
    run_dir, _, _, _ = small_run
    result = runner.invoke(app, ["report", str(run_dir), "--out", str(tmp_path / "r"), "--metric",
                                 "balanced_accuracy"])
    assert result.exit_code == 0 and "balanced_accuracy %" in result.output, result.output
    assert "| kernel | datasets | balanced_accuracy (mean +- std)" in (tmp_path / "r" / "leaderboard.md").read_text()
    wrong = runner.invoke(app, ["report", str(run_dir), "--out", str(tmp_path / "w"), "--metric", "auc"])
    assert wrong.exit_code == 1 and "unknown metric 'auc'; metrics: accuracy, balanced_accuracy, macro_f1" in \
        wrong.output


def _without_predictions(source: Path, run_dir: Path) -> Path:
    """A copy of a run whose task files lack predictions, as files made before they were kept."""
    import shutil

    shutil.copytree(source, run_dir)
    for path in run_dir.glob("tasks/*/*.json"):
        data = json.loads(path.read_text())
        data.pop("predictions")
        path.write_text(json.dumps(data))
    return run_dir


def test_old_task_files_load_are_reported_and_get_their_predictions_on_request(small_run, tmp_path):
    source, outcome, config, loader = small_run
    run_dir = _without_predictions(source, tmp_path / "old")
    report = write_report([run_dir], tmp_path / "report", metric="macro_f1")
    assert any("without stored predictions" in note for note in report.board.notes)
    assert report.board.accuracy.isna().all().all()  # no predictions: the metric is unknown, not invented
    resumed = run_benchmark(config, run_dir, resume=True, loader=loader, add_predictions=True)
    assert resumed.n_run == outcome.n_tasks and all("predictions" in r for r in read_task_results(run_dir))
    session = json.loads((run_dir / "run.json").read_text())["sessions"][-1]
    assert "n_changed" not in session  # the re-run reproduced every score
    columns = ["dataset", "kernel", "kernel_id", "C", "test_accuracy", "balanced_accuracy"]
    pd.testing.assert_frame_equal(resumed.table[columns], outcome.table[columns])


def test_predictions_for_the_vote_re_run_only_the_tasks_it_reads(small_run, tmp_path):
    source, outcome, config, loader = small_run
    run_dir = _without_predictions(source, tmp_path / "old")
    before = read_task_results(run_dir)
    readers = tasks_for_vote(before)
    assert 0 < len(readers) < len(before)  # the fixture has tasks the vote does not read
    resumed = run_benchmark(config, run_dir, resume=True, loader=loader, add_predictions="vote")
    assert resumed.n_run == len(readers)
    with_predictions = {(r["dataset"], r["kernel_id"]) for r in read_task_results(run_dir) if "predictions" in r}
    assert with_predictions == readers
    assert (combine(read_task_results(run_dir), selection="vote").status == "ok").all()
    with pytest.raises(InvalidParameterError, match="add_predictions must be a bool or one of all, vote"):
        run_benchmark(config, run_dir, resume=True, loader=loader, add_predictions="voters")


def test_for_vote_narrows_add_predictions_only():
    result = runner.invoke(app, ["run", "--for-vote"])
    assert result.exit_code == 1 and "--for-vote narrows --add-predictions: use them together" in result.output


# ---------------------------------------------------------------------------------------------------- ties


def _tied_counts():
    """Two ways of getting the same number of correct rows over four folds of 142 whose float means differ."""
    for a, b in itertools.product(itertools.combinations_with_replacement(range(130, 142), 4), repeat=2):
        if sum(a) == sum(b) and np.mean(np.array(a) / 142) != np.mean(np.array(b) / 142):
            return a, b
    raise AssertionError("no example")


def test_a_true_tie_on_correct_counts_is_a_tie_whatever_the_float_means_say():
    first, second = _tied_counts()
    rows = [{"dataset": "d", "kernel": kernel, "split": f"fold-{i}", "test_accuracy": count / 142,
             "test_correct": count, "n_test": 142, "status": "ok"}
            for kernel, counts in (("a", first), ("b", second)) for i, count in enumerate(counts)]
    accuracy = accuracy_table(pd.DataFrame(rows))
    assert accuracy.loc["d", "a"] == accuracy.loc["d", "b"]


# ---------------------------------------------------------------------------------------------- the field


def test_kernels_are_placed_among_published_classifiers_on_common_datasets():
    kernels = pd.DataFrame({"mine": [0.9, 1.0, 0.5]}, index=["GunPoint", "Coffee", "PLAID"])
    n_test = pd.Series({"GunPoint": 150, "Coffee": 28, "PLAID": 537})
    comparison = compare_with_field(kernels, n_test, ["ROCKET"])
    assert list(comparison.accuracy.index) == ["GunPoint", "Coffee"]  # the bake off has no PLAID
    assert list(comparison.accuracy.columns) == ["mine", "ROCKET (published)", "1NN-DTW-learned (archive) (published)"]
    # 1-NN DTW (learned window) errs on 0.0867 of GunPoint (13 of 150 rows) and on none of Coffee
    assert comparison.against.loc["mine"].tolist() == [0, 1, 1]
    with pytest.raises(InvalidParameterError, match="ROCKETT"):
        compare_with_field(kernels, n_test, ["ROCKETT"])


def test_a_dataset_with_one_training_case_per_class_is_left_out_of_rankings(tmp_path):
    dataset = synthetic.series_dataset(n_train=2, n_test=6)
    assert sorted(dataset.y[dataset.split("train-test").train]) == [0, 1]
    config = build_config(suite="s", datasets=["waves", "tiny"], kernels=["rbf"], grids={"rbf": {"C": [1.0]}})
    loader = PreloadedDatasets({"waves": synthetic.series_dataset(), "tiny": dataset})
    outcome = run_benchmark(config, tmp_path / "run", loader=loader)
    row = outcome.table.set_index("dataset").loc["tiny"]
    assert row["status"] == "no-selection" and "single training case" in row["error"]
    assert accuracy_table(outcome.table).loc["tiny"].isna().all()


def test_the_metrics_equal_scikit_learns_on_random_labels(rng):
    import warnings

    from rntk_bench.metrics import METRICS

    for _ in range(300):
        k, n = int(rng.integers(2, 8)), int(rng.integers(1, 60))
        truth, predicted = rng.integers(0, k, n), rng.integers(0, k, n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = (balanced_accuracy_score(truth, predicted),
                        f1_score(truth, predicted, average="macro", zero_division=0))
        assert (METRICS["balanced_accuracy"](truth, predicted), METRICS["macro_f1"](truth, predicted)) == \
            pytest.approx(expected, rel=1e-12, abs=1e-15)
