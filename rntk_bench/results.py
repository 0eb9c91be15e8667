"""The tables of a run, built from its task files: the selected configuration of every (dataset, kernel)
with its accuracies (``results.csv``), and every score behind the selection (``scores.csv``).

The task files (:mod:`rntk_bench.run_folder`) are the source of truth: ``results.csv`` is a pure function of
them (:func:`combine`), so an interrupted run loses only the tasks in flight and a resumed run ends with the
same table. Each (dataset, kernel) is selected by the selection rule of the protocol its tasks ran under.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rntk_bench.atomic import atomic_write_text
from rntk_bench.errors import InvalidParameterError, RunError
from rntk_bench.metrics import METRICS, PREDICTION_METRICS
from rntk_bench.predictions import decode_split
from rntk_bench.protocols import Candidate, get_protocol
from rntk_bench.run_folder import TASKS_DIR, RunInfo, read_task_results
from rntk_bench.vote import SELECTIONS, selects_per_split, vote_rows

RESULTS_FILE = "results.csv"
SCORES_FILE = "scores.csv"

RESULT_COLUMNS = (
    "dataset",
    "suite",
    "collection",
    "protocol",
    "kernel",
    "kernel_id",
    "params",
    "C",
    "split",
    "cv_accuracy",
    "test_accuracy",
    "test_correct",
    *PREDICTION_METRICS,
    "n_train",
    "n_test",
    "n_settings",
    "n_failed",
    "gram_seconds",
    "fit_seconds",
    "status",
    "error",
    "notes",
)
"""Columns of ``results.csv``. ``cv_accuracy`` is the selection score: the mean cross-validation accuracy
(train-cv-test) or the validation accuracy (arora-uci) of the selected setting and C. ``gram_seconds`` and
``fit_seconds`` add up the whole grid search of that kernel on that dataset. ``status`` is ``ok``, ``partial``
(some settings failed; selected among the others, listed in ``error``), ``error`` (every setting failed) or
``incomplete`` (the run was interrupted before every setting finished) or ``no-selection`` (train-cv-test
on a dataset with one training case per class, where cross-validation cannot score anything: left out of
rankings). ``test_correct`` is the number of
test rows predicted right (what ties are decided on); the other metrics (:data:`rntk_bench.metrics.METRICS`)
are computed from the stored predictions and empty for task files made before predictions were kept."""
OPTIONAL_COLUMNS = ("test_correct", *PREDICTION_METRICS)
"""Columns that ``results.csv`` files written by earlier versions lack."""

SCORE_COLUMNS = (
    "dataset",
    "kernel",
    "kernel_id",
    "setting_index",
    "C",
    "split",
    "selection_accuracy",
    "test_accuracy",
)
REPORTABLE = ("ok", "partial")
"""Statuses whose rows carry a selected configuration and accuracies."""


# ------------------------------------------------------------------------------------------ combining


def _order_key(order: Sequence[str] | None):
    position = {name: index for index, name in enumerate(order or ())}
    return lambda name: (position.get(name, len(position)), name)


def combine(
    task_results: Iterable[dict[str, Any]],
    dataset_order: Sequence[str] | None = None,
    kernel_order: Sequence[str] | None = None,
    dataset_notes: Mapping[str, Sequence[str]] | None = None,
    selection: str = "first-best",
) -> pd.DataFrame:
    """The results table of a run: the selected configuration of every (dataset, kernel) and its accuracies.

    Parameters
    ----------
    task_results : iterable of dict
        Task result files' contents (:func:`read_task_results`).
    dataset_order, kernel_order : sequence of str, optional
        Row order; names not listed follow alphabetically.
    dataset_notes : mapping, optional
        Per dataset, what the loader did to its data (``run.json``: interpolated missing values, unequal
        lengths); they lead the ``notes`` of every row of that dataset.
    selection : {"first-best", "vote"}
        The selection rule (:data:`rntk_bench.vote.SELECTIONS`): the protocol's first best, or the
        follow-up's vote over every (setting, C) tied at the best selection score (from stored predictions).

    Returns
    -------
    DataFrame with columns :data:`RESULT_COLUMNS`, one row per (dataset, kernel, split).
    """
    if selection not in SELECTIONS:
        raise InvalidParameterError(f"unknown selection rule {selection!r}; rules: {', '.join(SELECTIONS)}")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for result in task_results:
        groups.setdefault((result["dataset"], result["kernel"]), []).append(result)
    by_dataset, by_kernel = _order_key(dataset_order), _order_key(kernel_order)
    rows: list[dict[str, Any]] = []
    for dataset, kernel in sorted(groups, key=lambda key: (by_dataset(key[0]), by_kernel(key[1]))):
        rows.extend(_group_rows(groups[(dataset, kernel)], (dataset_notes or {}).get(dataset, ()), selection))
    table = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    return table


def _group_rows(group: list[dict[str, Any]], data_notes: Sequence[str] = (),
                selection: str = "first-best") -> list[dict[str, Any]]:
    group = sorted(group, key=lambda result: result["setting_index"])
    first = group[0]
    ok = [result for result in group if result["status"] == "ok"]
    failed = [result for result in group if result["status"] != "ok"]
    planned = int(first["n_settings"])
    base = {
        "dataset": first["dataset"],
        "suite": first.get("suite", ""),
        "collection": first.get("collection", ""),
        "protocol": first.get("protocol", ""),
        "kernel": first["kernel"],
        "n_settings": planned,
        "n_failed": len(failed),
        "gram_seconds": float(sum(result.get("gram_seconds") or 0.0 for result in group)),
        "fit_seconds": float(sum(result.get("fit_seconds") or 0.0 for result in group)),
        "notes": "; ".join(dict.fromkeys([*data_notes, *(note for result in ok for note in result.get("notes", []))])),
    }
    empty = {"kernel_id": "", "params": "", "C": np.nan, "split": "", "cv_accuracy": np.nan,
             "test_accuracy": np.nan, "n_train": np.nan, "n_test": np.nan}
    if len({result["setting_index"] for result in group}) < planned:
        finished = len({result["setting_index"] for result in group})
        return [{**base, **empty, "status": "incomplete",
                 "error": f"{finished} of {planned} settings finished; resume the run to finish it"}]
    messages = "; ".join(f"{result['kernel_id']}: {result.get('error', '')}" for result in failed)
    if not ok:
        return [{**base, **empty, "status": "error", "error": f"all {planned} settings failed: {messages}"}]
    if _selection_impossible(ok):
        return [{**base, **empty, "status": "no-selection",
                 "error": "cross-validation is impossible: every class has a single training case, so no setting "
                          "can be scored on training data; left out of rankings (a grid-order choice would decide it)"}]
    if selection == "vote" and selects_per_split(ok):
        return [{**base, **empty, "status": "unavailable",
                 "error": f"the vote is defined for one selection per dataset; protocol {first.get('protocol')!r} "
                          "selects in each split"}]
    if selection == "vote":
        rows = vote_rows(ok, {**base, **empty})
        if failed:
            for row in rows:
                row["status"] = "partial" if row["status"] == "ok" else row["status"]
                row["error"] = row["error"] or f"{len(failed)} of {planned} settings failed: {messages}"
        return rows
    status, error = ("partial", f"{len(failed)} of {planned} settings failed: {messages}") if failed else ("ok", "")
    rule = get_protocol(first.get("protocol") or "train-cv-test").select
    # A protocol that selects in each split (inner-uci) keeps per-split selection scores; the others one list.
    per_split = bool(ok[0].get("selection_by_split"))
    rows = []
    chosen = None
    for split in ok[0]["splits"]:
        if per_split or chosen is None:
            chosen, c_index = rule([
                Candidate(result["setting_index"], result["kernel_id"], result["params"], tuple(result["C_grid"]),
                          tuple(result["splits"][split]["selection_accuracy"] if per_split
                                else result["selection_accuracy"]))
                for result in ok
            ])
            winner = next(result for result in ok if result["setting_index"] == chosen.setting_index)
        scores = winner["splits"][split]
        rows.append({
            **_prediction_metrics(winner, split, c_index, scores["n_test"]),
            **base,
            "kernel_id": winner["kernel_id"],
            "params": json.dumps(winner["params"], sort_keys=True),
            "C": chosen.C_grid[c_index],
            "split": split,
            "cv_accuracy": chosen.selection_accuracy[c_index],
            "test_accuracy": scores["test_accuracy"][c_index],
            "test_correct": int(round(scores["test_accuracy"][c_index] * scores["n_test"])),
            "n_train": scores["n_train"],
            "n_test": scores["n_test"],
            "status": status,
            "error": error,
        })
    return rows


def _selection_impossible(ok: Sequence[dict[str, Any]]) -> bool:
    """Whether the train-cv-test selection had nothing to go on: one training case per class (UCR's Fungi),
    so every cross-validation fold scores classes its training part never saw."""
    first = ok[0]
    if first.get("protocol") != "train-cv-test" or "n_classes" not in first:
        return False
    split = (first.get("splits") or {}).get("train-test") or {}
    return "n_train" in split and int(split["n_train"]) <= int(first["n_classes"])


def _prediction_metrics(result: dict[str, Any], split: str, c_index: int, n_test: int) -> dict[str, float]:
    """The prediction metrics of one task's split at one C (NaN for a task file without predictions)."""
    stored = (result.get("predictions") or {}).get(split)
    if stored is None:
        return {name: np.nan for name in PREDICTION_METRICS}
    where = f"task file of {result['dataset']} {result['kernel_id']}, split {split}"
    labels = decode_split(stored, len(result["C_grid"]), n_test, int(result.get("n_classes") or 3844), where)
    predicted = labels.predicted[c_index]
    if predicted is None:
        raise RunError(f"{where}: the selected C (number {c_index}) has no stored predictions")
    if int(np.sum(predicted == labels.truth)) != int(round(result["splits"][split]["test_accuracy"][c_index] * n_test)):
        raise RunError(f"{where}: the stored predictions disagree with the stored accuracy")
    return {name: METRICS[name](labels.truth, predicted) for name in PREDICTION_METRICS}


def lacks_predictions(task_results: Iterable[dict[str, Any]]) -> bool:
    """Whether any finished task of a run has no stored predictions (made before they were kept)."""
    return any(result.get("status") == "ok" and "predictions" not in result for result in task_results)


def score_table(task_results: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Every score behind the selection: one row per (dataset, kernel setting, C, split)."""
    rows = []
    for result in task_results:
        if result["status"] != "ok":
            continue
        for c_index, C in enumerate(result["C_grid"]):
            for split, scores in result["splits"].items():
                rows.append({
                    "dataset": result["dataset"],
                    "kernel": result["kernel"],
                    "kernel_id": result["kernel_id"],
                    "setting_index": result["setting_index"],
                    "C": C,
                    "split": split,
                    "selection_accuracy": result["selection_accuracy"][c_index],
                    "test_accuracy": scores["test_accuracy"][c_index],
                })
    table = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    return table.sort_values(["dataset", "kernel", "setting_index", "C", "split"], kind="stable", ignore_index=True)


def write_tables(run_dir: str | Path, dataset_order=None, kernel_order=None) -> pd.DataFrame:
    """Rebuild ``results.csv`` and ``scores.csv`` of a run folder from its task files; returns the results."""
    task_results = read_task_results(run_dir)
    info = RunInfo.read(run_dir) if RunInfo.exists(run_dir) else RunInfo()
    table = combine(task_results, dataset_order, kernel_order, info.loader_notes())
    atomic_write_text(Path(run_dir) / RESULTS_FILE, table.to_csv(index=False))
    atomic_write_text(Path(run_dir) / SCORES_FILE, score_table(task_results).to_csv(index=False))
    return table


def read_results(run_dir: str | Path, selection: str = "first-best") -> pd.DataFrame:
    """The results table of a run folder: rebuilt from its task files (with ``selection``, see
    :func:`combine`), or read from ``results.csv`` (first best only)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"run folder {str(run_dir)!r} does not exist")
    if (run_dir / TASKS_DIR).is_dir():
        info = RunInfo.read(run_dir) if RunInfo.exists(run_dir) else RunInfo()
        return combine(read_task_results(run_dir), info.dataset_order, info.kernel_order, info.loader_notes(),
                       selection)
    if selection != "first-best":
        raise RunError(f"{str(run_dir)!r} has no task files: the {selection!r} selection needs them")
    path = run_dir / RESULTS_FILE
    if not path.exists():
        raise RunError(f"{str(run_dir)!r} has neither task files nor {RESULTS_FILE}: is it a run folder?")
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    missing = sorted(set(RESULT_COLUMNS) - set(table.columns) - set(OPTIONAL_COLUMNS))
    if missing:
        raise RunError(f"{path} lacks the column(s) {', '.join(missing)}")
    for column in OPTIONAL_COLUMNS:
        if column not in table.columns:
            table[column] = np.nan
    return table[list(RESULT_COLUMNS)]


__all__ = [
    "REPORTABLE",
    "RESULTS_FILE",
    "RESULT_COLUMNS",
    "SCORES_FILE",
    "SCORE_COLUMNS",
    "combine",
    "lacks_predictions",
    "read_results",
    "score_table",
    "write_tables",
]
