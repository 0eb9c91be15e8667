"""The published leaderboard: run definitions as data, resumable runs, and the pages built from them.

``results/leaderboard.toml`` names the runs (suite, kernels, grids) and the boards (runs merged into one
comparison). :func:`run_leaderboard` runs each into ``results/runs/<name>/`` with the benchmark runner,
resuming what is already there, and :func:`write_leaderboard_page` writes ``results/leaderboard.md`` and each
board's tables and figures under ``results/boards/<name>/`` from whatever task files exist.

The CI leaderboard (:func:`run_ci_leaderboard`) runs the ``[ci]`` definition from scratch in a temporary folder
and renders :func:`ci_markdown`: a page with no timing, date, version or path, so that two runs of the same
code give the same bytes and a change that moves an accuracy shows up as a diff (:func:`compare_text`).
"""

from __future__ import annotations

import difflib
import tempfile
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from rntk_bench.config import KernelGrid, RunConfig, build_config
from rntk_bench.errors import InvalidParameterError, RunError
from rntk_bench.kernels import KERNELS
from rntk_bench.report import (
    CD_FILE,
    REFERENCE,
    Leaderboard,
    accuracy_table,
    build_leaderboard,
    merge_tables,
    plot_rntk_scatter,
    selected_settings,
    selected_settings_text,
    summary_markdown,
    write_report,
)
from rntk_bench.results import (
    REPORTABLE,
    RUN_FILE,
    atomic_write_text,
    combine,
    read_results,
    read_run_info,
    read_task_results,
)

DEFINITIONS_FILE = Path("results") / "leaderboard.toml"
PAGE_FILE = "leaderboard.md"
CI_FILE = "ci-leaderboard.md"
SCATTER_FILE = "scatter.png"
RUNS_DIR = "runs"
BOARDS_DIR = "boards"

_RUN_KEYS = ("title", "description", "suite", "datasets", "kernels", "grid", "cv_folds", "seed", "svc_max_iter",
             "skip_missing", "tie")
_BOARD_KEYS = ("title", "runs", "published", "notes")
_TOP_KEYS = ("runs", "boards", "ci")


# ------------------------------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class TiedGrid(KernelGrid):
    """A kernel grid whose settings are filtered by ties: ``param`` must take one of ``values``.

    A string value names another parameter of the same setting: ``("fixed_layers", (0, "n_layers"))`` keeps
    ``fixed_layers = 0`` and ``fixed_layers = n_layers``. The ties enter :meth:`as_dict`, hence the run's
    configuration hash.
    """

    ties: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def settings(self, X_train) -> list[dict[str, Any]]:
        kept = [setting for setting in super().settings(X_train) if _satisfies(setting, self.ties)]
        if not kept:
            raise InvalidParameterError(f"the {self.name} grid has no setting left once its ties are applied")
        return kept

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "ties": {name: list(values) for name, values in self.ties}}


def _satisfies(setting: Mapping[str, Any], ties: Sequence[tuple[str, Sequence[Any]]]) -> bool:
    for name, values in ties:
        allowed = [setting[value] if isinstance(value, str) else value for value in values]
        if setting[name] not in allowed:
            return False
    return True


@dataclass(frozen=True)
class RunDefinition:
    """One published run: a run configuration (the keys of a ``--config`` file) plus page text.

    Attributes
    ----------
    name : str
        Folder name under ``results/runs/``.
    title, description : str
    file : dict
        ``suite``, ``datasets``, ``kernels``, ``grid``, ``cv_folds``, ``seed``, ``svc_max_iter`` as in a run
        configuration file.
    ties : dict
        ``{kernel: {param: [values]}}`` (see :class:`TiedGrid`).
    skip_missing : bool
    """

    name: str
    title: str = ""
    description: str = ""
    file: dict[str, Any] = field(default_factory=dict)
    ties: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    skip_missing: bool = False


@dataclass(frozen=True)
class BoardDefinition:
    """Runs merged into one comparison; ``published`` maps a kernel to a published mean accuracy in %."""

    name: str
    title: str
    runs: tuple[str, ...]
    published: dict[str, float] = field(default_factory=dict)
    notes: str = ""


@dataclass(frozen=True)
class Definitions:
    """Everything ``results/leaderboard.toml`` defines."""

    runs: dict[str, RunDefinition]
    boards: dict[str, BoardDefinition]
    ci: RunDefinition | None
    path: Path


def _check_keys(where: str, table: Mapping[str, Any], valid: Sequence[str]) -> None:
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise InvalidParameterError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; valid keys: "
                                    f"{', '.join(valid)}")


def _run_definition(where: str, name: str, table: Any) -> RunDefinition:
    if not isinstance(table, Mapping):
        raise InvalidParameterError(f"{where}: must be a table")
    _check_keys(where, table, _RUN_KEYS)
    ties = table.get("tie", {})
    if not isinstance(ties, Mapping) or not all(isinstance(axes, Mapping) for axes in ties.values()):
        raise InvalidParameterError(f"{where}.tie must be tables [..tie.KERNEL] of PARAM = [values]")
    for kernel, axes in ties.items():
        if kernel not in KERNELS:
            raise InvalidParameterError(f"{where}.tie: unknown kernel {kernel!r}; kernels: {', '.join(KERNELS)}")
        for param, values in axes.items():
            params = KERNELS[kernel].params
            if param not in params:
                raise InvalidParameterError(f"{where}.tie.{kernel}: unknown parameter {param!r}; valid: "
                                            f"{', '.join(params)}")
            if not isinstance(values, list) or not values:
                raise InvalidParameterError(f"{where}.tie.{kernel}.{param} must be a non-empty list")
            for value in values:
                if isinstance(value, str) and value not in params:
                    raise InvalidParameterError(f"{where}.tie.{kernel}.{param}: {value!r} is not a parameter of "
                                                f"{kernel}; valid: {', '.join(params)}")
    file = {key: table[key] for key in ("suite", "datasets", "kernels", "grid", "cv_folds", "seed", "svc_max_iter")
            if key in table}
    return RunDefinition(name, str(table.get("title", name)), str(table.get("description", "")), file,
                         {kernel: dict(axes) for kernel, axes in ties.items()}, bool(table.get("skip_missing", False)))


def parse_definitions(data: Mapping[str, Any], path: str | Path = "<definitions>") -> Definitions:
    """Validate the content of a leaderboard definitions file (see ``results/leaderboard.toml``).

    Every run's configuration is built (:func:`build_run_config`), so unknown suites, datasets, kernels,
    parameters and invalid grids are refused here, with the file named.

    Raises
    ------
    InvalidParameterError
    """
    path = Path(path)
    _check_keys(str(path), data, _TOP_KEYS)
    runs = {name: _run_definition(f"{path}: runs.{name}", name, table) for name, table in data.get("runs", {}).items()}
    boards = {}
    for name, table in data.get("boards", {}).items():
        where = f"{path}: boards.{name}"
        _check_keys(where, table, _BOARD_KEYS)
        members = tuple(table.get("runs", ()))
        unknown = [run for run in members if run not in runs]
        if not members or unknown:
            raise InvalidParameterError(f"{where}: runs must name defined runs; unknown: {unknown or 'none given'}; "
                                        f"defined: {', '.join(runs)}")
        published = {str(k): float(v) for k, v in dict(table.get("published", {})).items()}
        boards[name] = BoardDefinition(name, str(table.get("title", name)), members, published,
                                       str(table.get("notes", "")))
    ci = _run_definition(f"{path}: ci", "ci", data["ci"]) if "ci" in data else None
    definitions = Definitions(runs, boards, ci, path)
    for definition in [*runs.values(), *([ci] if ci else [])]:
        try:
            build_run_config(definition)
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"{path}: run {definition.name!r}: {exc}") from None
    return definitions


def load_definitions(path: str | Path = DEFINITIONS_FILE) -> Definitions:
    """Read and validate a leaderboard definitions file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"leaderboard definitions {str(path)!r} do not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise RunError(f"{path} is not valid TOML: {exc}") from None
    return parse_definitions(data, path)


def build_run_config(definition: RunDefinition, data_dir: str | Path | None = None, n_jobs: int = 1) -> RunConfig:
    """The :class:`RunConfig` of a run definition (datasets: the suite's unless listed)."""
    from rntk_bench.data import get_suite

    suite = definition.file.get("suite")
    suite_datasets = [entry.name for entry in get_suite(suite).entries] if suite else None
    if suite is None and not definition.file.get("datasets"):
        raise InvalidParameterError("a run needs a suite or a list of datasets")
    config = build_config(suite=suite or definition.name, suite_datasets=suite_datasets, file=definition.file,
                          data_dir=data_dir, n_jobs=n_jobs, skip_missing=definition.skip_missing)
    if definition.ties:
        unknown = [kernel for kernel in definition.ties if kernel not in config.kernel_names]
        if unknown:
            raise InvalidParameterError(f"ties given for kernel(s) not in the run: {', '.join(unknown)}")
        grids = tuple(
            TiedGrid(grid.name, grid.overrides, grid.C,
                     tuple((param, tuple(values)) for param, values in sorted(definition.ties[grid.name].items())))
            if grid.name in definition.ties else grid
            for grid in config.kernels
        )
        for grid in grids:
            grid.settings([[0.0, 1.0], [1.0, 0.0]])  # refuses ties that leave nothing
        config = replace(config, kernels=grids)
    return config


# ----------------------------------------------------------------------------------------------- running

Progress = Callable[[str, int, int, str], None]
"""``progress(run_name, done, total, label)``."""


def run_leaderboard(
    definitions: Definitions,
    results_dir: str | Path = "results",
    *,
    only: Sequence[str] | None = None,
    data_dir: str | Path | None = None,
    n_jobs: int = 1,
    progress: Progress | None = None,
    after_each: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) the defined runs into ``results_dir/runs/<name>/``, in definition order.

    Parameters
    ----------
    only : sequence of str, optional
        Run names to run; default all.
    after_each : callable, optional
        Called with the run name after each run (e.g. to refresh the page).

    Returns
    -------
    dict
        Run name -> :class:`rntk_bench.runner.RunOutcome`.
    """
    from rntk_bench.runner import run_benchmark

    names = list(only) if only else list(definitions.runs)
    unknown = [name for name in names if name not in definitions.runs]
    if unknown:
        raise InvalidParameterError(f"unknown run(s) {', '.join(unknown)}; defined: {', '.join(definitions.runs)}")
    outcomes = {}
    for name in names:
        config = build_run_config(definitions.runs[name], data_dir, n_jobs)
        run_dir = Path(results_dir) / RUNS_DIR / name
        callback = None if progress is None else (lambda done, total, label, _n=name: progress(_n, done, total, label))
        outcomes[name] = run_benchmark(config, run_dir, resume=(run_dir / RUN_FILE).exists(), progress=callback)
        if after_each:
            after_each(name)
    return outcomes


# ------------------------------------------------------------------------------------------ run summaries


@dataclass(frozen=True)
class RunStatus:
    """What a run folder holds: planned and finished tasks, compute time, machine, unconverged SVM fits."""

    name: str
    exists: bool
    n_datasets: int = 0
    kernels: tuple[str, ...] = ()
    n_done: int = 0
    n_failed: int = 0
    task_seconds: float = 0.0
    wall_seconds: float = 0.0
    machine: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    unconverged_selected: tuple[str, ...] = ()
    unconverged_fits: int = 0
    fits: int = 0


def _seconds_between(start: str | None, end: str | None) -> float:
    if not start or not end:
        return 0.0
    return (pd.Timestamp(end) - pd.Timestamp(start)).total_seconds()


def run_status(run_dir: str | Path, name: str = "") -> RunStatus:
    """Summarise a run folder from its ``run.json`` and task files (missing folder: ``exists=False``)."""
    run_dir = Path(run_dir)
    if not (run_dir / RUN_FILE).exists():
        return RunStatus(name or run_dir.name, False)
    info = read_run_info(run_dir)
    results = read_task_results(run_dir)
    config = info.get("config", {})
    table = combine(results, config.get("datasets"), list(config.get("kernels", {})))
    selected = set(zip(table["dataset"], table["kernel_id"])) if len(table) else set()
    affected = sorted({f"{r['dataset']} {r['kernel_id']} ({r['svc_unconverged']} of {r['svc_fits']} fits)"
                       for r in results if r.get("svc_unconverged") and (r["dataset"], r["kernel_id"]) in selected})
    wall = 0.0
    for session in info.get("sessions", []):
        wall += _seconds_between(session.get("started"), session.get("finished"))
    return RunStatus(
        name=name or run_dir.name,
        exists=True,
        n_datasets=len(info.get("datasets") or config.get("datasets", [])),  # planned: missing ones left out
        kernels=tuple(config.get("kernels", {})),
        n_done=sum(r.get("status") == "ok" for r in results),
        n_failed=sum(r.get("status") != "ok" for r in results),
        task_seconds=float(sum((r.get("gram_seconds") or 0.0) + (r.get("fit_seconds") or 0.0) for r in results)),
        wall_seconds=wall,
        machine=dict(info.get("machine", {})),
        versions=dict(info.get("versions", {})),
        notes=tuple(info.get("notes", [])),
        unconverged_selected=tuple(affected),
        unconverged_fits=int(sum(r.get("svc_unconverged") or 0 for r in results)),
        fits=int(sum(r.get("svc_fits") or 0 for r in results)),
    )


def planned_tasks(definition: RunDefinition, n_datasets: int | None = None) -> int:
    """Tasks a run plans: datasets (default: every dataset of the definition) x kernel settings.

    The grids' sizes do not depend on the data (rbf's values do, not their number).
    """
    config = build_run_config(definition)
    probe = [[0.0, 1.0], [1.0, 0.0]]
    count = len(config.datasets) if n_datasets is None else n_datasets
    return count * sum(len(grid.settings(probe)) for grid in config.kernels)


# -------------------------------------------------------------------------------------------------- pages


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
        rows.append(f"| {kernel} | {figure:.2f} | {ours:.2f} | {ours - figure:+.2f} | "
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
    folders = [results_dir / RUNS_DIR / run for run in definition.runs]
    run_dirs = [folder for folder in folders if (folder / RUN_FILE).exists() and read_task_results(folder)]
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
           "| run | datasets | kernels | tasks finished | failed | task time (sum) | wall time |",
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
            out.append(f"| {name} | | {', '.join(build_run_config(definition).kernel_names)} | 0 of {planned} | | | |")
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
            "the sum over tasks of Gram and SVM time; with "
            "`--jobs 2` the wall time is about half of it."), ""]
    for name, definition in definitions.runs.items():
        out += [f"**{name}**: {definition.title}. {definition.description}", ""]
        for note in statuses[name].notes:
            out += [f"- {note}", ""]
    if complete:
        out += [f"Total: {_hours(total_task)} of task time, {_hours(total_wall)} of wall time: how long `make "
                "leaderboard` takes from scratch on this machine with `--jobs 2`.", ""]
    else:
        out += [f"Total: {_hours(total_task)} of task time, {_hours(total_wall)} of wall time so far. Once every "
                "run has finished, the total wall time is how long `make leaderboard` takes from scratch on this "
                "machine with `--jobs 2`.", ""]
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
        if board_definition.notes:
            out += [board_definition.notes.strip(), ""]
        if (out_dir / CD_FILE).exists():
            out += [f"![critical-difference diagram]({relative}/{CD_FILE})", "",
                    "Bars join kernels that no Holm-corrected pairwise Wilcoxon test separates.", ""]
        if (out_dir / SCATTER_FILE).exists():
            out += [f"![rntk against each baseline]({relative}/{SCATTER_FILE})", ""]
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
    path = results_dir / PAGE_FILE
    atomic_write_text(path, "\n".join(out).rstrip() + "\n")
    return path


# --------------------------------------------------------------------------------------------------- CI


def ci_markdown(table: pd.DataFrame, title: str = "CI leaderboard", reference: str = REFERENCE) -> str:
    """A deterministic page for a results table: summary, then each dataset's accuracy and selected setting.

    No timing, date, version or path: two runs of the same code on the same data give the same text.
    """
    board = build_leaderboard(table, reference)
    out = [f"# {title}", "",
           ("Regenerated by `.ci/run` (`rntk-bench leaderboard --ci --check results/ci-leaderboard.md`); a change "
           "that moves an accuracy or a selected setting changes this file."), ""]
    out += summary_markdown(board, reference) + [""]
    out += ["| dataset | kernel | accuracy % | selection score % | selected setting | C |",
            "|---|---|---:|---:|---|---:|"]
    usable = table[table["status"].isin(REPORTABLE)]
    for (dataset, kernel), rows in usable.groupby(["dataset", "kernel"], sort=False):
        first = rows.iloc[0]
        out.append(f"| {dataset} | {kernel} | {100 * rows['test_accuracy'].mean():.2f} | "
                   f"{100 * first['cv_accuracy']:.2f} | `{first['kernel_id']}` | {first['C']:g} |")
    failed = table[~table["status"].isin(REPORTABLE)].drop_duplicates(["dataset", "kernel"])
    if len(failed):
        out += ["", "Failed: " + ", ".join(f"{row.kernel} on {row.dataset} ({row.status})"
                                           for row in failed.itertuples())]
    return "\n".join(out) + "\n"


def compare_text(expected: str, actual: str, expected_name: str = "expected", actual_name: str = "actual") -> str:
    """A unified diff of two pages; empty when they are equal."""
    return "".join(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                        expected_name, actual_name))


def run_ci_leaderboard(
    definitions: Definitions,
    *,
    data_dir: str | Path | None = None,
    n_jobs: int = 1,
    progress: Progress | None = None,
    work_dir: str | Path | None = None,
) -> str:
    """Run the ``[ci]`` definition from scratch and return its :func:`ci_markdown` page.

    The run folder is temporary (under ``work_dir`` when given), so the page always reflects the current code.
    """
    from rntk_bench.runner import run_benchmark

    if definitions.ci is None:
        raise RunError(f"{definitions.path} defines no [ci] leaderboard")
    config = build_run_config(definitions.ci, data_dir, n_jobs)
    callback = None if progress is None else (lambda done, total, label: progress("ci", done, total, label))
    with tempfile.TemporaryDirectory(prefix="rntk-ci-", dir=work_dir) as folder:
        outcome = run_benchmark(config, Path(folder) / "ci", progress=callback)
    if outcome.n_failed:
        failed = outcome.table[~outcome.table["status"].isin(REPORTABLE)]
        raise RunError(f"{outcome.n_failed} CI leaderboard task(s) failed: "
                       + "; ".join(f"{r.dataset} {r.kernel}: {r.error}" for r in failed.itertuples())[:2000])
    return ci_markdown(outcome.table, definitions.ci.title)


def check_against(path: str | Path, actual: str) -> None:
    """Raise :class:`RunError` with a diff when the file at ``path`` differs from ``actual``."""
    path = Path(path)
    try:
        expected = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"{path} does not exist: generate it with `rntk-bench leaderboard --ci`") from None
    diff = compare_text(expected, actual, str(path), "regenerated")
    if diff:
        raise RunError(f"the regenerated CI leaderboard differs from {path}: accuracies or selections changed. "
                       "If the change is intended, regenerate it with `rntk-bench leaderboard --ci` and commit "
                       f"it.\n{diff}")


__all__ = [
    "BoardDefinition",
    "BoardOutcome",
    "Definitions",
    "RunDefinition",
    "RunStatus",
    "TiedGrid",
    "build_run_config",
    "check_against",
    "ci_markdown",
    "compare_text",
    "compared_kernels",
    "coverage_table",
    "load_definitions",
    "parse_definitions",
    "published_rows",
    "run_ci_leaderboard",
    "run_leaderboard",
    "run_status",
    "write_board",
    "write_leaderboard_page",
]
