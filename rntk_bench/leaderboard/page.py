"""The leaderboard page: every board's tables and figures under ``results/boards/<name>/`` and
``results/leaderboard.md``, from whatever task files exist now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rntk_bench.atomic import atomic_write_text
from rntk_bench.field_report import compare_with_field, field_markdown
from rntk_bench.leaderboard.definitions import (
    RUNS_DIR,
    BoardDefinition,
    Definitions,
    build_run_config,
    planned_tasks,
)
from rntk_bench.leaderboard.status import run_status
from rntk_bench.plots import plot_rntk_scatter
from rntk_bench.report import (
    CD_FILE,
    Leaderboard,
    accuracy_table,
    merge_tables,
    selected_settings,
    selected_settings_text,
    summary_markdown,
    write_report,
)
from rntk_bench.results import read_results
from rntk_bench.run_folder import RunInfo, read_task_results
from rntk_bench.statistics import REFERENCE

__all__ = [
    "BOARDS_DIR",
    "PAGE_FILE",
    "SCATTER_FILE",
    "BoardOutcome",
    "compared_kernels",
    "coverage_table",
    "published_rows",
    "write_board",
    "write_leaderboard_page",
]

PAGE_FILE = "leaderboard.md"
SCATTER_FILE = "scatter.png"
BOARDS_DIR = "boards"


def _hours(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def coverage_table(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Per kernel: datasets with a result and mean accuracy over them (not only the complete cases)."""
    return pd.DataFrame({"n_datasets": accuracy.count().astype(int), "mean_accuracy": accuracy.mean()})


def published_rows(accuracy: pd.DataFrame, published: Mapping[str, float], n_suite: int) -> list[str]:
    """Markdown rows comparing our mean accuracy of a kernel (over its datasets) with a published figure."""
    rows = []
    coverage = coverage_table(accuracy)
    for kernel, figure in published.items():
        if kernel not in coverage.index or coverage.loc[kernel, "n_datasets"] == 0:
            rows.append(f"| {kernel} | {figure:.2f} | not run yet | | |")
            continue
        ours = 100 * coverage.loc[kernel, "mean_accuracy"]
        difference = round(ours - figure, 2) or 0.0  # no "-0.00" for a difference below the shown precision
        rows.append(f"| {kernel} | {figure:.2f} | {ours:.2f} | {difference:+.2f} | "
                    f"{int(coverage.loc[kernel, 'n_datasets'])} of {n_suite} |")
    return rows


def _per_dataset_markdown(accuracy: pd.DataFrame) -> list[str]:
    out = ["| dataset | " + " | ".join(accuracy.columns) + " |", "|---|" + "---:|" * len(accuracy.columns)]
    for dataset, row in accuracy.iterrows():
        best = row.max()
        cells = ["" if pd.isna(v) else (f"**{100 * v:.2f}**" if v == best else f"{100 * v:.2f}") for v in row]
        out.append(f"| {dataset} | " + " | ".join(cells) + " |")
    return out


def compared_kernels(accuracy: pd.DataFrame, share: float = 0.5) -> tuple[list[str], list[str]]:
    """Kernels with a result on at least ``share`` of the datasets that any kernel has, and the others.

    A kernel whose run has barely started would otherwise shrink the compared datasets (complete cases) to
    almost none; it is left out of the comparison until it covers enough datasets.
    """
    counts = accuracy.count()
    most = int(counts.max()) if len(counts) else 0
    chosen = [kernel for kernel, count in counts.items() if most and count >= share * most]
    return chosen, [kernel for kernel in counts.index if kernel not in chosen]


@dataclass
class BoardOutcome:
    """A written board: the comparison, its folder, every kernel's accuracies, kernels left out of it, and the
    merged results table it was made from."""

    board: Leaderboard
    out_dir: Path
    accuracy: pd.DataFrame
    left_out: list[str]
    table: pd.DataFrame


def write_board(definition: BoardDefinition, results_dir: str | Path,
                kernel_order: Mapping[str, Sequence[str]] | None = None) -> BoardOutcome | None:
    """Write a board's tables, critical-difference diagram and scatter plot under ``boards/<name>/``.

    Kernels with results on fewer than half of the datasets are left out of the comparison
    (:func:`compared_kernels`). ``kernel_order`` (run name -> kernel names) orders the per-dataset columns.
    Returns None while no dataset has a result (every setting of a kernel finished) in any of its runs.
    """
    results_dir = Path(results_dir)
    kernel_order = kernel_order or {}
    run_dirs = board_run_dirs(definition, results_dir)
    if not run_dirs:
        return None
    out_dir = results_dir / BOARDS_DIR / definition.name
    table, _notes = merge_tables([read_results(run_dir) for run_dir in run_dirs])
    order = [kernel for run in definition.runs for kernel in kernel_order.get(run, ())]
    present = list(dict.fromkeys(table["kernel"]))
    accuracy = accuracy_table(table, [k for k in dict.fromkeys(order + present) if k in present])
    chosen, left_out = compared_kernels(accuracy)
    if not chosen:  # tasks finished, but no (dataset, kernel) has all its settings yet
        return None
    report = write_report(run_dirs, out_dir, reference=REFERENCE, kernels=chosen)
    scatter = out_dir / SCATTER_FILE
    if plot_rntk_scatter(report.board.complete, scatter, REFERENCE, title=definition.title) is None:
        scatter.unlink(missing_ok=True)
    return BoardOutcome(report.board, out_dir, accuracy, left_out, table)


def board_run_dirs(definition: BoardDefinition, results_dir: Path) -> list[Path]:
    """The folders of a board's runs that exist and hold task files."""
    folders = [results_dir / RUNS_DIR / run for run in definition.runs]
    return [folder for folder in folders if RunInfo.exists(folder) and read_task_results(folder)]


def board_accuracy(definition: BoardDefinition, results_dir: Path, kernels: Sequence[str],
                   rule: str = "first-best") -> pd.DataFrame:
    """Accuracy (dataset x kernel) of a board's runs under selection ``rule``; only ``kernels`` that have
    results; empty while none of its runs has task files."""
    run_dirs = board_run_dirs(definition, results_dir)
    if not run_dirs:
        return pd.DataFrame()
    table, _notes = merge_tables([read_results(run_dir, rule) for run_dir in run_dirs])
    present = set(table["kernel"])
    return accuracy_table(table, [kernel for kernel in kernels if kernel in present])


def _beside_row(kernel: str, a: pd.Series, b: pd.Series, when_empty: str) -> str:
    """One table row: a kernel's mean accuracy in ``a`` and in ``b`` on the datasets both have, and on how many
    ``b`` is better / equal / worse."""
    both = pd.concat([a, b], axis=1, keys=["a", "b"]).dropna()
    if both.empty:
        return f"| {kernel} | 0 | | | ({when_empty}) |"
    better, equal = int((both.b > both.a).sum()), int((both.b == both.a).sum())
    return (f"| {kernel} | {len(both)} | {100 * both.a.mean():.2f} | {100 * both.b.mean():.2f} | "
            f"{better} / {equal} / {len(both) - better - equal} |")


def compare_markdown(title: str, accuracy: pd.DataFrame, other: pd.DataFrame, kernels: Sequence[str]) -> list[str]:
    """This board's accuracy beside another board's (the same kernels under another protocol), per kernel of
    this board that the other board's runs define (``kernels``), on the datasets where both have a result."""
    out = [f"**Beside '{title}'**, per kernel on the datasets where both boards have its result:", "",
           "| kernel | datasets | this board % | that board % | that board better / equal / worse |",
           "|---|---:|---:|---:|---|"]
    for kernel in [kernel for kernel in accuracy.columns if kernel in kernels]:
        if kernel not in other.columns:
            out.append(f"| {kernel} | 0 | | | (no result there yet) |")
            continue
        out.append(_beside_row(kernel, accuracy[kernel], other[kernel], "no dataset in common yet"))
    return out + [""]


def selection_markdown(definition: BoardDefinition, results_dir: Path, first_best: pd.DataFrame) -> list[str]:
    """Each further selection rule of a board beside the first best, per kernel, on the datasets where the
    rule can be applied (the vote needs the stored predictions of every tied configuration)."""
    out = []
    for rule in definition.selections[1:]:
        other = board_accuracy(definition, results_dir, list(first_best.columns), rule)
        note = (" The follow-up paper's released RNTK code selects by this vote (its reproduction is the rntk row "
                "here); Arora et al.'s code, reproduced for ntk above, keeps the first best." if rule == "vote" else "")
        out += [f"**Selection by {rule}** beside the first best (the selection of every other table of this board), "
                f"on the datasets where it can be applied.{note}", "",
                f"| kernel | datasets | first best % | {rule} % | {rule} better / equal / worse |",
                "|---|---:|---:|---:|---|"]
        out += [_beside_row(kernel, first_best[kernel], other[kernel],
                            "no dataset yet: its task files lack predictions") for kernel in first_best.columns]
        out.append("")
    return out


TRADEOFF_DIR = "approx"
"""Folder of ``results/`` where ``python -m benchmarks.approx_tradeoff`` writes the exact-or-approximate
measurements (``tradeoff.md``, ``tradeoff.png``, ``tradeoff.csv``)."""


def tradeoff_markdown(results_dir: Path) -> list[str]:
    """The measured trade-off between exact Gram matrices and approximate features, as a page section (its
    own title replaced), when the benchmark's files exist; nothing otherwise."""
    table = results_dir / TRADEOFF_DIR / "tradeoff.md"
    if not table.is_file():
        return []
    lines = table.read_text().strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    while lines and not lines[0].strip():
        lines = lines[1:]
    out = ["## Exact or approximate: what approximation costs", ""] + lines + [""]
    if (results_dir / TRADEOFF_DIR / "tradeoff.png").is_file():
        out += [f"![exact against approximate]({TRADEOFF_DIR}/tradeoff.png)", ""]
    return out


def write_leaderboard_page(definitions: Definitions, results_dir: str | Path = "results") -> Path:
    """Write every board and ``results_dir/leaderboard.md`` from the task files that exist now."""
    results_dir = Path(results_dir)
    statuses = {name: run_status(results_dir / RUNS_DIR / name, name) for name in definitions.runs}
    out = ["# rntk-bench leaderboard", "",
           ("Kernel SVMs with the recurrent neural tangent kernel (rntk), the fully connected NTK (ntk), and RBF "
           "and polynomial (poly) baselines, on the UCI collection of Fernandez-Delgado et al. and the UCR "
           "time-series archive. Every number below is measured by this repository's code and regenerated by "
           "one command."), "",
           "## How to rerun", "",
           "```sh",
           "make leaderboard                       # all runs, resuming the task files already under results/runs/",
           "rntk-bench leaderboard --only ucr --jobs 2 --data-dir ../shared/datasets   # one run",
           "rntk-bench leaderboard --report-only   # rebuild this page from the task files, running nothing",
           "```", "",
           ("Runs are defined in [`leaderboard.toml`](leaderboard.toml). Each run folder `runs/<name>/` holds one "
           "JSON file per finished task (one kernel setting on one dataset, scored for every C); an interrupted "
           "run continues where it stopped. Gram matrices are never stored."), "",
           "## Runs", "",
           "| run | datasets | kernels | tasks finished | failed | task time (sum) | wall time (all sessions) |",
           "|---|---:|---|---:|---:|---:|---:|"]
    machine: dict[str, Any] = {}
    versions: dict[str, Any] = {}
    total_task, total_wall = 0.0, 0.0
    complete = True
    for name, definition in definitions.runs.items():
        status = statuses[name]
        planned = planned_tasks(definition)
        if not status.exists:
            complete = False
            config = build_run_config(definition)
            settings = sum(grid.size() for grid in config.kernels)
            out.append(f"| {name} | | {', '.join(config.kernel_names)} | not started ({len(config.datasets)} "
                       f"dataset{'s' if len(config.datasets) != 1 else ''} of the suite x {settings} settings) | | | |")
            continue
        machine, versions = status.machine or machine, status.versions or versions
        total_task += status.task_seconds
        total_wall += status.wall_seconds
        kernels = build_run_config(definition).kernel_names
        planned = planned_tasks(definition, status.n_datasets or None)
        complete = complete and status.n_done == planned
        out.append(f"| {name} | {status.n_datasets} | {', '.join(kernels)} | {status.n_done} of {planned} | "
                   f"{status.n_failed} | {_hours(status.task_seconds)} | {_hours(status.wall_seconds)} |")
    out += ["", ("Tasks: finished of planned (datasets present in the data folder x kernel settings). Task time: "
            "the sum over the current task files of their Gram and SVM time, what a run from scratch costs (with "
            "`--jobs 2` its wall time is about half of it). Wall time: the sum of the run's sessions, including "
            "sessions that re-ran tasks (to add predictions), on a machine that may have been busy."), ""]
    for name, definition in definitions.runs.items():
        out += [f"**{name}**: {definition.title}. {definition.description}", ""]
        for note in statuses[name].notes:
            out += [f"- {note}", ""]
    state = "every run complete" if complete else "so far"
    out += [f"Total ({state}): {_hours(total_task)} of task time, so about {_hours(total_task / 2)} of wall time "
            f"for `make leaderboard` from scratch with `--jobs 2`; {_hours(total_wall)} of wall time over all "
            "sessions.", ""]
    if machine:
        out += [f"Machine: {machine.get('processor', '?')}, {machine.get('cpu_count', '?')} cores, "
                f"{machine.get('platform', '?')}. Versions: "
                + ", ".join(f"{k} {v}" for k, v in versions.items() if v) + ".", ""]

    for board_definition in definitions.boards.values():
        out += [f"## {board_definition.title}", ""]
        written = write_board(board_definition, results_dir,
                              {name: build_run_config(run).kernel_names for name, run in definitions.runs.items()})
        if written is None:
            out += ["No dataset of this board has a result yet (a result needs every setting of the kernel's "
                    "grid on that dataset).", ""]
            continue
        board, out_dir = written.board, written.out_dir
        relative = out_dir.relative_to(results_dir).as_posix()
        out += [(f"Runs: {', '.join(board_definition.runs)}. Datasets compared (every kernel has a result): "
                f"{len(board.complete)}. Accuracy: mean test accuracy over the dataset's reported splits, in %."),
                ""]
        if written.left_out:
            out += ["Left out of the comparison until their runs cover at least half of the datasets: "
                    + ", ".join(written.left_out) + ".", ""]
        if len(board.complete):
            out += summary_markdown(board, REFERENCE) + [""]
        coverage = coverage_table(written.accuracy)
        out += ["Each kernel over every dataset where it has a result:", "",
                "| kernel | datasets | mean accuracy |", "|---|---:|---:|"]
        out += [f"| {kernel} | {int(row.n_datasets)} | {100 * row.mean_accuracy:.2f} |"
                for kernel, row in coverage.iterrows() if row.n_datasets] + [""]
        out += ["Selected settings, in datasets per value (over the datasets of the table above; the selection "
                "keeps the first best in grid order, so ties favour earlier values):", ""]
        for kernel, row in coverage.iterrows():
            covered = written.accuracy.index[written.accuracy[kernel].notna()]
            counts = selected_settings(written.table, kernel, covered) if row.n_datasets else None
            if counts is not None and len(counts):
                out.append(f"- {kernel}: {selected_settings_text(counts)}")
        out.append("")
        if board_definition.published:
            n_suite = len(written.accuracy)
            out += ["Published figures:", "", "| kernel | published | ours | difference | datasets |",
                    "|---|---:|---:|---:|---|"]
            out += published_rows(written.accuracy, board_definition.published, n_suite) + [""]
        if len(board_definition.selections) > 1:
            out += selection_markdown(board_definition, results_dir, written.accuracy)
        for other_name in board_definition.compare:
            other = definitions.boards[other_name]
            defined = [kernel for run in other.runs for kernel in build_run_config(definitions.runs[run]).kernel_names]
            out += compare_markdown(other.title, written.accuracy,
                                    board_accuracy(other, results_dir, list(written.accuracy.columns)), defined)
        if board_definition.field:
            out += ["### The kernels among published classifiers", ""]
            n_test = written.table.groupby("dataset")["n_test"].sum()
            comparison = compare_with_field(written.accuracy[list(board.complete.columns)], n_test,
                                            board_definition.field)
            out += field_markdown(comparison, list(board.complete.columns), out_dir, relative)
        if board_definition.notes:
            out += [board_definition.notes.strip(), ""]
        if (out_dir / CD_FILE).exists():
            out += [f"![critical-difference diagram]({relative}/{CD_FILE})", "",
                    "Bars join kernels that no Holm-corrected pairwise Wilcoxon test separates.", ""]
        if (out_dir / SCATTER_FILE).exists():
            out += [f"![rntk against each baseline]({relative}/{SCATTER_FILE})", ""]
        data_notes = list(dict.fromkeys(line for run in board_definition.runs for line in statuses[run].data_notes))
        if data_notes:
            out += ["What the loader did to the data before any kernel read it (recorded in each run.json):", ""]
            out += [f"- {line}" for line in data_notes] + [""]
        unconverged = [line for run in board_definition.runs for line in statuses[run].unconverged_selected]
        fits = sum(statuses[run].fits for run in board_definition.runs)
        stopped = sum(statuses[run].unconverged_fits for run in board_definition.runs)
        caps = ", ".join(f"{run} {build_run_config(definitions.runs[run]).svc_max_iter:.0e}"
                         for run in board_definition.runs if run in definitions.runs)
        out += [f"SVM fits stopped at the iteration cap (max_iter: {caps}): {stopped} of {fits}; selected kernel "
                "settings among whose fits one stopped: " + ("; ".join(unconverged) if unconverged else "none") + ".",
                ""]
        out += [(f"Full tables: [{relative}/per_dataset.csv]({relative}/per_dataset.csv), "
                f"[{relative}/summary.csv]({relative}/summary.csv), "
                f"[{relative}/pairwise.csv]({relative}/pairwise.csv), "
                f"[{relative}/leaderboard.md]({relative}/leaderboard.md) (tests, failures)."), "",
                "<details><summary>Accuracy per dataset (%)</summary>", ""]
        out += _per_dataset_markdown(written.accuracy) + ["", "</details>", ""]
    out += tradeoff_markdown(results_dir)
    path = results_dir / PAGE_FILE
    atomic_write_text(path, "\n".join(out).rstrip() + "\n")
    return path
