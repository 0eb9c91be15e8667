"""The benchmark runner: run the planned tasks of a configuration into a run folder and keep every result.

:func:`run_benchmark` checks everything before it writes anything (configuration, data folder, run folder,
backend), locks the run folder (:mod:`rntk_bench.run_lock`), plans the tasks (:mod:`rntk_bench.planning`),
runs those not yet done on the backend (:mod:`rntk_bench.execution`) and writes each result atomically as soon
as it arrives, so a crash, a kill or Ctrl-C loses only the tasks in flight; ``resume=True`` skips the tasks
already on disk. Selection and the results table are pure functions of the task files
(:mod:`rntk_bench.results`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from rntk_bench.config import RunConfig
from rntk_bench.errors import InvalidParameterError, RntkBenchError, RunError
from rntk_bench.execution import Backend, open_backend
from rntk_bench.gram_store import GramStore, SharedParts
from rntk_bench.interrupts import signals_held
from rntk_bench.planning import Plan, execution_order, plan_tasks
from rntk_bench.results import write_tables
from rntk_bench.run_data import DataLayerLoader, Loader, is_available
from rntk_bench.run_folder import (
    RunInfo,
    Session,
    check_run_dir,
    git_revision,
    machine,
    now,
    read_task_results,
    task_path,
    versions,
    write_task_result,
)
from rntk_bench.run_lock import RunLock
from rntk_bench.vote import tasks_for_vote

__all__ = ["PARTS_DIR", "ProgressCallback", "RunOutcome", "run_benchmark"]

PARTS_DIR = ".gram-parts"
"""Folder of a run holding the Gram parts its tasks share while they run (deleted when the run finishes)."""

ProgressCallback = Callable[[int, int, str], None]
"""``progress(done, total, label)``: called once before the first task (``label`` empty) and after each task."""


@dataclass
class RunOutcome:
    """What :func:`run_benchmark` did.

    Attributes
    ----------
    run_dir : Path
    table : DataFrame
        The results table (``results.csv``).
    n_tasks, n_skipped, n_run, n_failed : int
        Planned tasks, tasks already on disk (resume), tasks run now, failed tasks among them (with the
        (dataset, kernel) pairs that could not be planned).
    seconds : float
        Wall time of this invocation.
    notes : list of str
    """

    run_dir: Path
    table: pd.DataFrame
    n_tasks: int
    n_skipped: int
    n_run: int
    n_failed: int
    seconds: float
    notes: list[str] = field(default_factory=list)


def _same_scores(old: tuple, new: dict) -> bool:
    """Whether a re-run reproduced what the replaced task file held (a test accuracy the old file had not
    computed, None there, may now be known)."""
    selection, splits = old
    if tuple(new.get("selection_accuracy") or ()) != selection:
        return False
    fresh = dict(_scores(new)[1])
    for name, accuracies in splits:
        if name not in fresh or len(fresh[name]) != len(accuracies):
            return False
        if any(a is not None and a != b for a, b in zip(accuracies, fresh[name])):
            return False
    return True


def _scores(result: dict) -> tuple:
    """What a re-run must reproduce: the selection scores and every split's test accuracies."""
    splits = result.get("splits") or {}
    return (tuple(result.get("selection_accuracy") or ()),
            tuple((name, tuple(splits[name]["test_accuracy"])) for name in sorted(splits)))


def _label(result: dict) -> str:
    """What the progress bar shows of a finished task: what varies between tasks, not the kernel id's head."""
    place = f" {int(result['setting_index']) + 1}/{result['n_settings']}" if result.get("n_settings", 1) > 1 else ""
    return f"{result['dataset']} {result['kernel']}{place}"


def _without(config: RunConfig, names: Sequence[str]) -> RunConfig:
    return replace(config, datasets=tuple(name for name in config.datasets if name not in names))


ADD_PREDICTIONS = ("all", "vote")
"""Which finished tasks without stored predictions ``add_predictions`` runs again."""


def _wanting_predictions(finished: list[dict], add_predictions: bool | str) -> set[tuple[str, str]]:
    """The finished tasks to run again for their predictions (see :func:`run_benchmark`)."""
    if not add_predictions:
        return set()
    if add_predictions == "vote":
        return tasks_for_vote(finished)
    return {(result["dataset"], result["kernel_id"]) for result in finished if "predictions" not in result}


def run_benchmark(
    config: RunConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    loader: Loader | None = None,
    progress: ProgressCallback | None = None,
    add_predictions: bool | str = False,
    retry_failed: bool = True,
) -> RunOutcome:
    """Run (or resume) a benchmark into ``run_dir`` and return its results table.

    Parameters
    ----------
    config : RunConfig
        With ``datasets`` filled in (see :func:`rntk_bench.config.build_config`).
    run_dir : path
        Created if missing; an existing folder needs ``resume=True`` and the same configuration.
    resume : bool
        Skip the tasks whose result file exists with status ``ok`` (failed tasks run again unless
        ``retry_failed`` is false).
    loader : callable, optional
        ``loader(name) -> Dataset``; default the data layer (:class:`~rntk_bench.run_data.DataLayerLoader`).
    progress : callable, optional
        See :data:`ProgressCallback`.
    add_predictions : bool or {"all", "vote"}
        With ``resume``: also run again the finished tasks whose files have no stored predictions (made
        before they were kept), each replacing its file when it finishes; a re-run whose scores differ from
        the old file's is counted in the session (``n_changed``) and noted in its task file. ``"vote"``: only
        those a vote reads, also where they lack predictions at a tied C only
        (:func:`rntk_bench.vote.tasks_for_vote`); ``True`` is ``"all"``.
    retry_failed : bool
        With ``resume``: run the tasks whose files record a failure again (default). False keeps those files
        as they are, for failures that are properties of the setting (a Gram matrix that overflows, an SVM
        whose dual is not finite): each resume would otherwise pay their full cost again to fail again.

    Raises
    ------
    RunError
        Unusable folder, folder in use by another process, missing datasets, unreachable scheduler, dead
        worker, or (``fail_fast``) a failing task. Nothing is written when the run cannot start.
    """
    started = time.perf_counter()
    if add_predictions not in (False, True, *ADD_PREDICTIONS):
        raise InvalidParameterError(f"add_predictions must be a bool or one of {', '.join(ADD_PREDICTIONS)}, got "
                                    f"{add_predictions!r}")
    run_dir = Path(run_dir)
    if not config.datasets:
        raise RunError(f"the run has no dataset (suite {config.suite!r})")
    loader = loader or DataLayerLoader(config.data_dir, config.embedded)
    previous = check_run_dir(run_dir, config.result_fields(), resume)

    missing = [name for name in config.datasets if not is_available(loader, name)]
    notes = []
    if missing and not config.skip_missing:
        raise RunError(
            f"{len(missing)} dataset(s) of the run are missing: {', '.join(missing)}. Get them with "
            "`rntk-bench datasets fetch NAME`, choose others with --dataset, or pass --skip-missing"
        )
    asked = config  # recorded as asked, missing datasets included: a resume must match it
    if missing:
        notes.append(f"skipped missing datasets: {', '.join(missing)}")
        config = _without(config, missing)
    try:
        plan = plan_tasks(config, loader)
    except RntkBenchError as exc:  # only with fail_fast
        raise RunError(f"a dataset could not be prepared (--fail-fast): {exc}") from exc

    with open_backend(config) as backend:
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot create output folder {str(run_dir)!r}: {exc.strerror}") from None
        session = Session(started=now(), execution=config.execution_fields(), n_tasks=len(plan.tasks),
                          n_failed=len(plan.failures))
        with RunLock(run_dir, session.started):
            if resume:  # another writer may have finished tasks between the check and the lock
                previous = RunInfo.read(run_dir)
            outcome = _run_locked(config, asked, run_dir, loader, plan, backend, previous, session, notes,
                                  resume, progress, add_predictions, retry_failed)
    outcome.n_tasks, outcome.notes = len(plan.tasks), notes
    outcome.seconds = time.perf_counter() - started
    return outcome


def _run_locked(config: RunConfig, asked: RunConfig, run_dir: Path, loader: Loader, plan: Plan, backend: Backend,
                previous: RunInfo | None, session: Session, notes: list[str], resume: bool,
                progress: ProgressCallback | None, add_predictions: bool | str = False,
                retry_failed: bool = True) -> RunOutcome:
    """The part of :func:`run_benchmark` that holds the run folder's lock: record the session, run the tasks
    not done yet, write each result, and the tables at the end (also when stopped)."""
    done, old = set(), {}
    if resume:
        results = read_task_results(run_dir)
        kept = [result for result in results if result.get("status") == "ok"]
        wanted = _wanting_predictions(kept, add_predictions)
        if not retry_failed:
            done.update((result["dataset"], result["kernel_id"]) for result in results if result.get("status") != "ok")
        for result in kept:
            key = (result["dataset"], result["kernel_id"])
            if key in wanted:
                old[key] = _scores(result)
            else:
                done.add(key)
    todo = execution_order([task for task in plan.tasks if task.key not in done], config.n_jobs)
    session.n_skipped = len(plan.tasks) - len(todo)

    info = previous or RunInfo(config=asked.result_fields(), config_hash=asked.config_hash, started=session.started)
    for earlier in info.sessions:
        if earlier.status == "running":  # its process died without a word (SIGKILL, power loss)
            earlier.status = "died"
    info.versions, info.git, info.machine = versions(), git_revision(), machine()
    info.datasets, info.notes = plan.inputs, notes
    info.sessions.append(session)
    info.write(run_dir)
    # a file left by a task that is no longer planned would silently join the table: remove it
    planned = plan.keys
    for result in read_task_results(run_dir):
        if (result["dataset"], result["kernel_id"]) not in planned:
            task_path(run_dir, result["dataset"], result["kernel_id"]).unlink(missing_ok=True)
    for failure in plan.failures:
        write_task_result(run_dir, failure)

    total, finished = len(plan.tasks), len(plan.tasks) - len(todo)
    if progress:
        progress(finished, total, "")
    # Parts shared between tasks live in a private folder of the run (gram_store.SharedParts). Remote dask
    # workers cannot be assumed to see this folder; they compute every part themselves unless --cache-dir
    # names a shared one.
    shared = None if (config.cache_dir or config.scheduler) else SharedParts(GramStore(run_dir / PARTS_DIR), todo)
    status = "interrupted"
    try:
        for result in backend(todo, loader, None if shared is None else shared.root):
            before = old.get((result["dataset"], result["kernel_id"]))
            if before is not None and result["status"] == "ok" and not _same_scores(before, result):
                session.extra["n_changed"] = session.extra.get("n_changed", 0) + 1
                result.setdefault("notes", []).append("scores differ from those of the task file this re-run "
                                                      f"replaced: {before}")
            with signals_held():  # a stop between the write and the count would make the record disagree
                write_task_result(run_dir, result)
                session.n_run += 1
                session.n_failed += result["status"] != "ok"
            finished += 1
            if shared is not None:
                shared.finished(result["dataset"], result["kernel_id"])
            if progress:
                progress(finished, total, _label(result))
        status = "finished"
    except RntkBenchError as exc:
        status = "failed"
        raise RunError(f"a task failed (--fail-fast): {exc}") from exc
    except OSError as exc:
        status = "failed"
        raise RunError(f"cannot write to run folder {str(run_dir)!r}: {exc.strerror or exc}; the "
                       f"{session.n_run} tasks finished before are saved: free space or fix the folder, then "
                       f"run again with --resume --out {run_dir}") from None
    except Exception as exc:
        status = "failed"
        if type(exc).__name__ == "TerminatedWorkerError":
            raise RunError(
                f"a worker process died (killed, or out of memory) while running tasks; the {session.n_run} "
                f"tasks finished in this session are saved in {str(run_dir)!r}: run again with --resume "
                f"--out {run_dir}"
            ) from None
        raise
    finally:
        session.finished, session.status = now(), status
        if status == "finished":
            info.finished = session.finished
            if shared is not None:
                shared.clear()
        try:
            info.write(run_dir)
            table = write_tables(run_dir, config.datasets, config.kernel_names)
        except OSError as exc:
            if status == "finished":  # nothing else in flight: say what failed; otherwise keep the first error
                raise RunError(f"cannot write the tables of run folder {str(run_dir)!r}: {exc.strerror or exc}; "
                               f"the task files are saved: run again with --resume --out {run_dir}") from None
    return RunOutcome(run_dir, table, total, total - len(todo), session.n_run, session.n_failed, 0.0)
