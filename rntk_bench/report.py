"""Reports: the leaderboard of one or more runs, as tables, markdown and figures.

* accuracy of a kernel on a dataset: the mean test accuracy over the dataset's reported splits (one for UCR
  and embedded data, the four ``conxuntos_kfold.dat`` folds for UCI);
* only datasets on which every compared kernel has an accuracy enter the summary (complete blocks);
* ranks, P90 / P95 / PMA, wins / ties / losses and the tests are those of :mod:`rntk_bench.statistics`; the
  figures come from :mod:`rntk_bench.plots`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from rntk_bench.atomic import atomic_write_text
from rntk_bench.errors import InvalidParameterError, RunError
from rntk_bench.field_report import compare_with_field, field_markdown
from rntk_bench.metrics import check_metric
from rntk_bench.plots import plot_critical_difference
from rntk_bench.results import REPORTABLE, lacks_predictions, read_results
from rntk_bench.run_folder import RunInfo, read_task_results
from rntk_bench.statistics import (
    ALPHA,
    REFERENCE,
    cliques,
    complete_cases,
    friedman_test,
    summary_table,
    wilcoxon_holm,
)

LEADERBOARD_FILE = "leaderboard.md"
PER_DATASET_FILE = "per_dataset.csv"
SUMMARY_FILE = "summary.csv"
PAIRWISE_FILE = "pairwise.csv"
CD_FILE = "critical_difference.png"


# ----------------------------------------------------------------------------------------------- tables


def merge_tables(tables: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, list[str]]:
    """Concatenate results tables; a (dataset, kernel) present in several keeps the last table's rows.

    Returns
    -------
    table : DataFrame
    notes : list of str
        One line per replaced (dataset, kernel).
    """
    kept: list[pd.DataFrame] = []
    seen: dict[tuple[str, str], int] = {}
    notes = []
    for index, table in enumerate(tables):
        for key in table[["dataset", "kernel"]].drop_duplicates().itertuples(index=False, name=None):
            if key in seen:
                notes.append(f"{key[1]} on {key[0]}: run {index + 1} replaces run {seen[key] + 1}")
            seen[key] = index
    for index, table in enumerate(tables):
        keys = list(zip(table["dataset"], table["kernel"]))
        kept.append(table[[seen[key] == index for key in keys]])
    if not kept:
        return pd.DataFrame(), notes
    merged = pd.concat(kept, ignore_index=True)
    # rows in first-appearance order of datasets and kernels over all tables, as a single run would list them
    everything = pd.concat(tables, ignore_index=True)
    dataset_rank = {name: i for i, name in enumerate(dict.fromkeys(everything["dataset"]))}
    kernel_rank = {name: i for i, name in enumerate(dict.fromkeys(everything["kernel"]))}
    order = sorted(range(len(merged)), key=lambda i: (dataset_rank[merged["dataset"].iat[i]],
                                                      kernel_rank[merged["kernel"].iat[i]], i))
    return merged.iloc[order].reset_index(drop=True), notes


def _exact_mean_accuracy(rows: pd.DataFrame) -> float:
    """Mean test accuracy over a dataset's splits, from the counts of correct rows as exact fractions.

    Two kernels with the same correct counts get the same float, bit for bit, whatever order the splits are
    summed in, so a true tie (550 of 569 for both) is never a win by 1e-16.
    """
    accuracy = pd.to_numeric(rows["test_accuracy"], errors="coerce").to_numpy(dtype=float)
    n_test = pd.to_numeric(rows["n_test"], errors="coerce").to_numpy(dtype=float)
    correct = pd.to_numeric(rows["test_correct"], errors="coerce").to_numpy(dtype=float)
    correct = np.where(np.isnan(correct), np.round(accuracy * n_test), correct)  # files from before the counts
    if np.isnan(n_test).any() or np.isnan(correct).any() or np.any(np.abs(correct / n_test - accuracy) > 1e-9):
        return float(np.mean(accuracy))  # accuracies that are not counts over n_test (hand-made tables)
    total = sum((Fraction(int(c), int(n)) for c, n in zip(correct, n_test)), Fraction(0))
    return float(total / len(rows))


def accuracy_table(table: pd.DataFrame, kernels: Sequence[str] | None = None,
                   metric: str = "accuracy") -> pd.DataFrame:
    """Accuracy per dataset (rows, in first-appearance order) and kernel (columns): mean over splits.

    Rows whose status is not ``ok`` or ``partial`` are left out, so their cells are NaN. ``metric`` (a name of
    :data:`rntk_bench.metrics.METRICS`) chooses what is averaged over a dataset's splits; accuracy is computed
    from the counts of correct rows, exactly; another metric is NaN where the predictions were not kept.
    """
    check_metric(metric)
    usable = table[table["status"].isin(REPORTABLE)]
    if metric == "accuracy":
        values = usable.groupby(["dataset", "kernel"], sort=False).apply(_exact_mean_accuracy, include_groups=False)
        wide = values.unstack("kernel") if len(values) else pd.DataFrame()
    else:
        wide = usable.pivot_table(index="dataset", columns="kernel", values=metric, aggfunc="mean", sort=False,
                                  dropna=False)
    order = list(kernels) if kernels else list(dict.fromkeys(table["kernel"]))
    datasets = list(dict.fromkeys(table["dataset"]))
    return wide.reindex(index=datasets, columns=order).astype(float)


def selected_settings(table: pd.DataFrame, kernel: str, datasets: Sequence[str] | None = None,
                      max_values: int = 20) -> pd.DataFrame:
    """How often each value of each parameter (and C) was selected for ``kernel``, counted in datasets.

    Only parameters whose selected value differs between datasets are listed: a parameter the grid fixes, or
    one every dataset selects alike, says nothing about the data. Parameters with more than ``max_values``
    distinct selected values are left out too: their values are scaled per dataset (rbf's gamma is a multiple
    of 1 / (n_features Var(X_train))), so counting them says nothing either.

    Parameters
    ----------
    table : DataFrame
        A results table (one row per dataset, kernel and split; the selection is the same on every split).
    kernel : str
    datasets : sequence of str, optional
        Count these datasets only (default: every dataset with a usable result for ``kernel``).
    max_values : int
        See above.

    Returns
    -------
    DataFrame with columns ``parameter``, ``value``, ``n_datasets``: parameters in the order of the stored
    settings, then C; values by decreasing count (equal counts in order of first appearance).
    """
    rows = table[(table["kernel"] == kernel) & table["status"].isin(REPORTABLE)]
    if datasets is not None:
        rows = rows[rows["dataset"].isin(list(datasets))]
    rows = rows.drop_duplicates("dataset")
    chosen = [{**json.loads(params), "C": c} for params, c in zip(rows["params"], rows["C"])]
    counts = []
    for name in dict.fromkeys(key for setting in chosen for key in setting):
        values = pd.Series([setting.get(name) for setting in chosen], dtype=object).map(_setting_value)
        tally = values.value_counts(sort=False)
        if 1 < len(tally) <= max_values:
            tally = tally.iloc[np.argsort(-tally.to_numpy(), kind="stable")]
            counts += [(name, value, int(n)) for value, n in tally.items()]
    return pd.DataFrame(counts, columns=["parameter", "value", "n_datasets"])


def _setting_value(value) -> str:
    """A selected value as the page prints it: numbers in short general form (1e+06, 0.001), text as is."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return str(value)


def selected_settings_text(counts: pd.DataFrame) -> str:
    """One line from :func:`selected_settings`: ``n_layers: 1 (57), 2 (31); C: 100 (30), ...``."""
    parts = []
    for name, group in counts.groupby("parameter", sort=False):
        parts.append(f"{name}: " + ", ".join(f"{v} ({n})" for v, n in zip(group["value"], group["n_datasets"])))
    return "; ".join(parts)


# ----------------------------------------------------------------------------------------------- output


@dataclass
class Leaderboard:
    """Every table of a leaderboard (see the module docstring)."""

    accuracy: pd.DataFrame
    complete: pd.DataFrame
    dropped: list[str]
    summary: pd.DataFrame
    friedman: tuple[float, float]
    pairwise: pd.DataFrame
    groups: list[list[str]]
    failures: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    metric: str = "accuracy"
    """What ``accuracy`` (and everything built from it) holds: a name of :data:`rntk_bench.metrics.METRICS`."""


def build_leaderboard(table: pd.DataFrame, reference: str = REFERENCE, alpha: float = ALPHA,
                      metric: str = "accuracy") -> Leaderboard:
    """Compute every leaderboard table from one (merged) results table, ranking kernels by ``metric``."""
    if table.empty:
        raise RunError("the results table is empty: no task has finished yet")
    board = _build(table, reference, alpha, metric)
    board.metric = metric
    if metric != "accuracy":
        usable = table[table["status"].isin(REPORTABLE)]
        lacking = sorted(set(usable.loc[usable[metric].isna(), "kernel"]))
        if lacking:
            board.notes.append(f"{metric} needs stored predictions, which the task files of {', '.join(lacking)} "
                               "lack on some datasets (made before predictions were kept): those cells are empty")
    return board


def _build(table: pd.DataFrame, reference: str, alpha: float, metric: str) -> Leaderboard:
    accuracy = accuracy_table(table, metric=metric)
    complete, dropped = complete_cases(accuracy)
    failures = table[~table["status"].isin(REPORTABLE) | (table["status"] == "partial")]
    failures = failures.drop_duplicates(["dataset", "kernel"])[["dataset", "kernel", "status", "error"]]
    if complete.empty:
        summary = summary_table(complete, reference)
        return Leaderboard(accuracy, complete, dropped, summary, (math.nan, math.nan),
                           wilcoxon_holm(complete, alpha), [], failures)
    summary = summary_table(complete, reference)
    pairwise = wilcoxon_holm(complete, alpha)
    return Leaderboard(accuracy, complete, dropped, summary, friedman_test(complete), pairwise,
                       cliques(summary["mean_rank"], pairwise), failures)


def _pct(value) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * value:.1f}"


def summary_text(board: Leaderboard, reference: str = REFERENCE) -> str:
    """The summary as a plain-text table (what ``rntk-bench run`` prints at the end)."""
    label = "accuracy %" if board.metric == "accuracy" else f"{board.metric} %"
    lines = [(f"{'kernel':8s} {label:>15s} {'rank':>6s} {'P90':>6s} {'P95':>6s} {'PMA':>6s} "
             f"{'W/T/L vs ' + reference:>14s}")]
    for kernel, row in board.summary.iterrows():
        wtl = "" if pd.isna(row["wins"]) else f"{row['wins']}/{row['ties']}/{row['losses']}"
        spread = "" if pd.isna(row["std_accuracy"]) else f" +- {100 * row['std_accuracy']:.1f}"
        lines.append(f"{kernel:8s} {_pct(row['mean_accuracy']) + spread:>15s} {row['mean_rank']:6.2f} "
                     f"{_pct(row['p90']):>6s} {_pct(row['p95']):>6s} {_pct(row['pma']):>6s} {wtl:>14s}")
    _statistic, p_value = board.friedman
    lines.append(f"{len(board.complete)} datasets compared; Friedman p = "
                 + ("n/a (needs 3 kernels and 2 datasets)" if math.isnan(p_value) else f"{p_value:.3g}"))
    return "\n".join(lines)


def summary_markdown(board: Leaderboard, reference: str = REFERENCE) -> list[str]:
    """The summary table, its legend and the Friedman test, as markdown lines."""
    label = "accuracy" if board.metric == "accuracy" else board.metric
    out = [f"| kernel | datasets | {label} (mean +- std) | mean rank | P90 | P95 | PMA | W/T/L vs {reference} |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for kernel, row in board.summary.iterrows():
        wtl = "-" if pd.isna(row["wins"]) else f"{row['wins']}/{row['ties']}/{row['losses']}"
        spread = "" if pd.isna(row["std_accuracy"]) else f" +- {100 * row['std_accuracy']:.1f}"
        out.append(f"| {kernel} | {row['n_datasets']} | {_pct(row['mean_accuracy'])}{spread} | "
                   f"{row['mean_rank']:.2f} | {_pct(row['p90'])} | {_pct(row['p95'])} | {_pct(row['pma'])} | {wtl} |")
    statistic, p_value = board.friedman
    out += ["", ("Mean rank: Friedman rank (1 = best, ties averaged). P90/P95: % of datasets where the kernel "
            "reaches 90 %/95 % of the best accuracy among the kernels in this table; PMA: its mean % of that best. "
            "(Arora et al.'s P90/P95/PMA are relative to about 180 classifiers: not comparable with these.) W/T/L: "
            f"datasets where the kernel beats / ties / loses to {reference}, ties decided on the number of correct "
            "test rows."), ""]
    out.append("Friedman test: " + ("not applicable (needs at least 3 kernels and 2 datasets)."
                                     if math.isnan(p_value) else f"chi2 = {statistic:.3f}, p = {p_value:.3g}."))
    return out


def leaderboard_markdown(board: Leaderboard, runs: Sequence[dict], reference: str = REFERENCE,
                         alpha: float = ALPHA, cd_file: str | None = CD_FILE) -> str:
    """``leaderboard.md``: runs, summary, tests, diagram, per-dataset accuracies, failures."""
    out = ["# Leaderboard", ""]
    out.append("Runs: " + "; ".join(
        f"`{run['path']}` (suite {run.get('suite', '?')}, config {run.get('config_hash', '?')}, "
        f"started {run.get('started', '?')}, git {str(run.get('git') or '?')[:10]})" for run in runs))
    out += ["", (f"Kernels: {', '.join(board.accuracy.columns)}. Datasets compared: {len(board.complete)} "
            f"(those where every kernel has a result). Accuracy: mean test accuracy over a dataset's reported "
            f"splits, in %."), ""]
    out += ["## Summary", ""] + summary_markdown(board, reference)
    if len(board.pairwise):
        out += ["", f"## Pairwise Wilcoxon signed-rank tests (Holm-corrected, alpha = {alpha})", "",
                "| kernel A | kernel B | A better | B better | p | p (Holm) | significant |",
                "|---|---|---:|---:|---:|---:|---|"]
        for row in board.pairwise.itertuples():
            out.append(f"| {row.kernel_a} | {row.kernel_b} | {row.wins_a} | {row.wins_b} | {row.p_value:.3g} | "
                       f"{row.p_holm:.3g} | {'yes' if row.significant else 'no'} |")
    if cd_file:
        out += ["", f"![critical-difference diagram]({cd_file})", "",
                "Bars join kernels that no Holm-corrected Wilcoxon test separates."]
    out += ["", "## Accuracy per dataset (%)", "", "Best per dataset in bold.", "",
            "| dataset | " + " | ".join(board.accuracy.columns) + " |",
            "|---|" + "---:|" * len(board.accuracy.columns)]
    for dataset, row in board.accuracy.iterrows():
        best = row.max()
        cells = ["" if pd.isna(v) else (f"**{100 * v:.1f}**" if v == best else f"{100 * v:.1f}") for v in row]
        out.append(f"| {dataset} | " + " | ".join(cells) + " |")
    if board.dropped:
        out += ["", f"Not in the summary (a kernel has no result): {', '.join(board.dropped)}."]
    if len(board.failures):
        out += ["", "## Failures and partial grids", "", "| dataset | kernel | status | message |", "|---|---|---|---|"]
        for row in board.failures.itertuples():
            message = str(row.error).replace("|", "\\|").replace("\n", " ")[:300]
            out.append(f"| {row.dataset} | {row.kernel} | {row.status} | {message} |")
    if board.notes:
        out += ["", "## Notes", ""] + [f"- {note}" for note in board.notes]
    return "\n".join(out) + "\n"


@dataclass
class ReportOutcome:
    """Files written by :func:`write_report`, and the leaderboard behind them."""

    out_dir: Path
    files: list[Path]
    board: Leaderboard


def write_report(run_dirs: Sequence[str | Path], out_dir: str | Path | None = None,
                 reference: str = REFERENCE, alpha: float = ALPHA,
                 kernels: Sequence[str] | None = None, strict_reference: bool = False,
                 metric: str = "accuracy", field: Sequence[str] = (),
                 selection: str = "first-best") -> ReportOutcome:
    """Merge the results of ``run_dirs`` and write ``leaderboard.md``, the CSVs and the CD diagram.

    Parameters
    ----------
    run_dirs : sequence of path
        Run folders; a (dataset, kernel) in several keeps the last folder's result.
    out_dir : path, optional
        Default: the run folder when there is one; required for several.
    kernels : sequence of str, optional
        Report only these kernels (default: every kernel of the runs).
    metric : str
        What kernels are ranked by (:data:`rntk_bench.metrics.METRICS`), computed from the task files.
    selection : {"first-best", "vote"}
        The selection rule the results tables are built with (:data:`rntk_bench.vote.SELECTIONS`).
    field : sequence of str
        Published classifiers (:func:`rntk_bench.field.field_names`) to place the kernels among, in a section
        of ``leaderboard.md`` with its own diagram (accuracy, UCR datasets).
    strict_reference : bool
        Refuse a ``reference`` that is not among the runs' kernels (when the user named it); otherwise the
        wins/ties/losses columns are left empty for it.

    Raises
    ------
    RunError
        No run folder, several without ``out_dir``, an unreadable run folder or an unwritable report folder.
    InvalidParameterError
        ``strict_reference`` and a reference kernel the runs do not have (the message lists theirs).
    """
    if not run_dirs:
        raise RunError("name at least one run folder")
    if out_dir is None:
        if len(run_dirs) > 1:
            raise RunError("several run folders: choose where the merged leaderboard goes with --out")
        out_dir = run_dirs[0]
    out_dir = Path(out_dir)
    tables, runs, lacking = [], [], []
    for run_dir in run_dirs:
        tables.append(read_results(run_dir, selection))
        if lacks_predictions(read_task_results(run_dir)):
            lacking.append(str(run_dir))
        info = RunInfo.read(run_dir) if RunInfo.exists(run_dir) else RunInfo()
        runs.append({"path": str(run_dir), "suite": info.config.get("suite"), "config_hash": info.config_hash,
                     "started": info.started, "git": (info.git or {}).get("revision")})
    table, notes = merge_tables(tables)
    if kernels is not None and not table.empty:
        table = table[table["kernel"].isin(list(kernels))].reset_index(drop=True)
    present = list(dict.fromkeys(table["kernel"])) if not table.empty else []
    if strict_reference and reference not in present:
        raise InvalidParameterError(f"reference kernel {reference!r} is not among the runs' kernels; choices: "
                                    f"{', '.join(present) or 'none (no result yet)'}")
    board = build_leaderboard(table, reference, alpha, metric)
    board.notes.extend(notes)
    if lacking:
        board.notes.append(f"task files without stored predictions (made before they were kept) in: "
                           f"{', '.join(lacking)}; "
                           "metrics other than accuracy are empty for them: `rntk-bench run --resume "
                           "--add-predictions --out RUN` (or `rntk-bench leaderboard --add-predictions`) adds them")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create report folder {str(out_dir)!r}: {exc.strerror}") from None
    files = []
    per_dataset = board.accuracy.copy()
    per_dataset["best"] = [
        ";".join(k for k, v in row.items() if not pd.isna(v) and v == row.max()) for _, row in board.accuracy.iterrows()
    ]
    for name, frame, index in ((PER_DATASET_FILE, per_dataset, True), (SUMMARY_FILE, board.summary, True),
                               (PAIRWISE_FILE, board.pairwise, False)):
        atomic_write_text(out_dir / name, frame.to_csv(index=index))
        files.append(out_dir / name)
    cd_file = None
    if len(board.complete) and board.complete.shape[1] >= 2:
        files.append(plot_critical_difference(board.summary["mean_rank"], board.groups, out_dir / CD_FILE,
                                              f"{len(board.complete)} datasets"))
        cd_file = CD_FILE
    page = leaderboard_markdown(board, runs, reference, alpha, cd_file)
    if field:
        comparison = compare_with_field(accuracy_table(table, list(board.accuracy.columns)),
                                        table.groupby("dataset")["n_test"].sum(), field, alpha=alpha)
        page += "\n## Among published classifiers\n\n" + "\n".join(
            field_markdown(comparison, list(board.accuracy.columns), out_dir)) + "\n"
        files.append(out_dir / "field_summary.csv")
    atomic_write_text(out_dir / LEADERBOARD_FILE, page)
    files.insert(0, out_dir / LEADERBOARD_FILE)
    atomic_write_text(out_dir / "report.json", json.dumps({"runs": runs, "notes": board.notes}, indent=2) + "\n")
    return ReportOutcome(out_dir, files, board)


__all__ = [
    "CD_FILE",
    "Leaderboard",
    "ReportOutcome",
    "accuracy_table",
    "build_leaderboard",
    "leaderboard_markdown",
    "merge_tables",
    "selected_settings",
    "selected_settings_text",
    "summary_markdown",
    "summary_text",
    "write_report",
]
