"""The benchmark runner: plan tasks, run them in parallel (joblib/loky or dask.distributed), keep every result.

One task is (dataset, kernel setting): it loads the dataset by name in the worker, computes that setting's Gram
blocks once, scores every C on every fold and split (:func:`rntk_bench.protocols.evaluate_setting`) and returns
a JSON-ready dict. The main process writes each result atomically into the run folder as soon as it arrives, so
a crash, a kill or Ctrl-C loses only the tasks in flight; ``resume=True`` skips the tasks already on disk.
Selection and the results table are pure functions of the task files (:mod:`rntk_bench.results`).

Workers receive dataset *names*, never arrays, and run kernels inside ``limit_threads(cpu_count // n_jobs)``
so parallel workers do not oversubscribe the cores.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib.metadata
import os
import platform
import socket
import subprocess
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from rntk_bench.config import RunConfig, config_differences
from rntk_bench.data.dataset import Dataset
from rntk_bench.errors import RntkBenchError, RunError
from rntk_bench.gram_store import GramStore, stored_gram, stored_part_ids
from rntk_bench.kernels import KERNELS, get_kernel
from rntk_bench.protocols import (
    SVC_MAX_ITER,
    evaluate_setting,
    grid_training_input,
    kernel_input,
    protocol_for,
)
from rntk_bench.results import (
    RUN_FILE,
    atomic_write_json,
    read_run_info,
    read_task_results,
    task_path,
    write_tables,
    write_task_result,
)

PARTS_DIR = ".gram-parts"
"""Folder of a run holding the Gram parts its tasks share while they run (deleted when the run finishes)."""

ProgressCallback = Callable[[int, int, str], None]
"""``progress(done, total, label)``: called once before the first task (``label`` empty) and after each task."""

_PACKAGES = ("rntk-bench", "numpy", "scipy", "scikit-learn", "pandas", "joblib", "numba", "dask", "distributed")


def _limit_threads(n: int):
    """Cap BLAS (and numba) threads to ``n`` inside a ``with`` block."""
    try:
        from rntk_bench.threads import limit_threads
    except ImportError:  # the fast engine's helper is optional; threadpoolctl caps BLAS alone
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=n)
    return limit_threads(n)


# --------------------------------------------------------------------------------------- dataset sources


@functools.lru_cache(maxsize=4)
def _load_cached(name: str, data_dir: str | None) -> Dataset:
    from rntk_bench import data

    if not hasattr(data, "load_dataset"):
        raise RunError("the dataset loaders (rntk_bench.data.load_dataset) are not available in this installation")
    return data.load_dataset(name, data_dir)


@dataclass(frozen=True)
class DataLayerLoader:
    """Loads datasets by name through :func:`rntk_bench.data.load_dataset` (cached per worker process)."""

    data_dir: str | None = None

    def __call__(self, name: str) -> Dataset:
        return _load_cached(name, self.data_dir)

    def available(self, name: str) -> bool:
        from rntk_bench.data import dataset_available

        return bool(dataset_available(name, self.data_dir))


@dataclass(frozen=True)
class PreloadedDatasets:
    """Serves :class:`Dataset` objects already in memory (your own data, or synthetic data in tests).

    The objects travel to the workers with every task: keep them small, or use the data layer.
    """

    datasets: Mapping[str, Dataset]

    def __call__(self, name: str) -> Dataset:
        try:
            return self.datasets[name]
        except KeyError:
            raise RunError(f"no dataset {name!r}; available: {', '.join(self.datasets)}") from None

    def available(self, name: str) -> bool:
        return name in self.datasets


Loader = Callable[[str], Dataset]


# -------------------------------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Task:
    """One unit of work: one kernel setting on one dataset, scored for every C and split."""

    dataset: str
    suite: str
    collection: str
    protocol: str
    kernel: str
    kernel_id: str
    params: dict[str, Any]
    setting_index: int
    n_settings: int
    C_grid: tuple[float, ...]
    cv_folds: int
    seed: int
    svc_max_iter: int = SVC_MAX_ITER
    cost: float = 0.0
    shared: tuple[str, ...] = ()
    """Ids of the settings whose Gram files this task reads or writes in the run's parts folder
    (:func:`rntk_bench.gram_store.stored_part_ids`); empty when it shares nothing with the other tasks of
    its dataset and one pass computes nothing else, in which case it computes its Gram blocks directly."""

    @property
    def label(self) -> str:
        return f"{self.dataset} {self.kernel_id}"

    def describe(self) -> dict[str, Any]:
        """The task's identity, as stored in its result file."""
        data = asdict(self)
        data.pop("cost")
        data.pop("shared")
        data["C_grid"] = list(self.C_grid)
        return data


def _cost(dataset: Dataset, kernel: str, params: Mapping[str, Any]) -> float:
    """Rough relative cost of a task (Gram work), for :func:`execution_order`."""
    n = float(len(dataset.y))
    if KERNELS[kernel].input_kind == "sequence":
        length = float(dataset.info.max_length)
        directions = 2 if params.get("direction") == "bidirectional" else 1
        steps = length * (1 + (params.get("output") == "mean") * length)  # mean pooling: every pair of steps
        cost = n * n * steps * int(params.get("n_layers", 1)) * directions
    else:
        cost = n * n
    siblings = KERNELS[kernel].siblings
    if siblings is not None and KERNELS[kernel].batch is not None:
        together = siblings(dict(params))
        if len(together) > 1 and dict(params) != together[0]:
            cost *= 0.01  # computed in the pass of the first sibling, which starts earlier: read back
    return cost


def sharing_groups(tasks: Sequence[Task]) -> list[list[Task]]:
    """Tasks joined when they share a Gram file (an id of ``Task.shared`` on the same dataset), transitively.

    Returns
    -------
    list of list of Task
        In order of each group's first task; a task that shares nothing is a group of its own.
    """
    parent = list(range(len(tasks)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner: dict[tuple[str, str], int] = {}
    for index, task in enumerate(tasks):
        for part in task.shared:
            first = owner.setdefault((task.dataset, part), index)
            parent[root(index)] = root(first)
    groups: dict[int, list[Task]] = {}
    for index, task in enumerate(tasks):
        groups.setdefault(root(index), []).append(task)
    return list(groups.values())


def _dataset_order(tasks: Sequence[Task], n_jobs: int) -> list[Task]:
    """One dataset's tasks: ``n_jobs`` sharing groups at a time, costliest groups first.

    In each batch the groups' producers (their costliest task, which computes the shared parts) start first,
    one per worker; then come the readers, first those of the group whose producer is cheapest, since it
    finishes first. A group's parts are deleted after its last reader, so at most about ``n_jobs`` groups'
    files are on disk at once.
    """
    groups = sorted(sharing_groups(tasks), key=lambda group: -sum(task.cost for task in group))
    order: list[Task] = []
    for start in range(0, len(groups), n_jobs):
        batch = [sorted(group, key=lambda task: -task.cost) for group in groups[start:start + n_jobs]]
        order += [group[0] for group in batch]
        for group in sorted(batch, key=lambda group: group[0].cost):
            order += group[1:]
    return order


def execution_order(tasks: Sequence[Task], n_jobs: int = 1) -> list[Task]:
    """The order in which tasks are started: datasets by increasing total cost, within a dataset by groups.

    A dataset's result exists only once every setting of a kernel has finished, so finishing datasets one
    after another (the cheap ones first) makes an interrupted or still-running run report as many datasets
    as possible. Within a dataset the slowest tasks start first, so the workers finish it together, except
    that tasks sharing Gram parts (:func:`sharing_groups`) run as a group, ``n_jobs`` groups at a time: the
    part files of one group are all that is kept on disk per worker.
    """
    totals: dict[str, float] = {}
    by_dataset: dict[str, list[Task]] = {}
    for task in tasks:
        totals[task.dataset] = totals.get(task.dataset, 0.0) + task.cost
        by_dataset.setdefault(task.dataset, []).append(task)
    order: list[Task] = []
    for name in sorted(totals, key=lambda name: totals[name]):
        order += _dataset_order(by_dataset[name], max(1, int(n_jobs)))
    return order


def _planning_failure(config: RunConfig, dataset: str, kernel: str, exc: Exception, stage: str) -> dict[str, Any]:
    """A task result for a (dataset, kernel) that could not even be planned (loading or grid expansion)."""
    return {
        "dataset": dataset, "suite": config.suite, "collection": "", "protocol": "", "kernel": kernel,
        "kernel_id": f"{kernel}[{stage}]", "params": {}, "setting_index": 0, "n_settings": 1,
        "C_grid": list(config.kernel(kernel).C), "cv_folds": config.cv_folds, "seed": config.seed,
        "status": "error", "error": f"{stage}: {type(exc).__name__}: {exc}", "finished": _now(),
    }


def plan_tasks(config: RunConfig, loader: Loader) -> tuple[list[Task], dict[str, Any], list[dict[str, Any]]]:
    """Expand the configuration into tasks; each dataset is loaded once here to expand data-scaled grids.

    Returns
    -------
    tasks : list of Task
        In result order (dataset, kernel, setting).
    inputs : dict
        Per dataset: collection, protocol, sizes and what each kernel input kind did to the data (for run.json).
    failures : list of dict
        Error results of (dataset, kernel) pairs that could not be planned (dataset not loadable, grid not
        expandable on it); with ``config.fail_fast`` the error is raised instead.
    """
    tasks: list[Task] = []
    inputs: dict[str, Any] = {}
    failures: list[dict[str, Any]] = []
    for name in config.datasets:
        try:
            dataset = loader(name)
        except RntkBenchError as exc:
            if config.fail_fast:
                raise
            failures.extend(_planning_failure(config, name, grid.name, exc, "load") for grid in config.kernels)
            inputs[name] = {"error": str(exc)}
            continue
        protocol = protocol_for(dataset)
        described: dict[str, Any] = {
            "collection": dataset.collection,
            "protocol": protocol,
            "n_cases": len(dataset.y),
            "n_classes": len(dataset.class_labels),
            "splits": [split.name for split in dataset.splits],
            "loader_notes": list(dataset.notes),
            "kernel_inputs": {},
        }
        planned: list[Task] = []
        for grid in config.kernels:
            spec = KERNELS[grid.name]
            try:
                prepared = kernel_input(dataset, spec.input_kind)
                settings = grid.settings(grid_training_input(dataset, prepared.X))
            except RntkBenchError as exc:
                if config.fail_fast:
                    raise
                failures.append(_planning_failure(config, name, grid.name, exc, "grid"))
                continue
            described["kernel_inputs"][grid.name] = list(prepared.notes)
            for index, params in enumerate(settings):
                kernel = get_kernel(grid.name, **params)
                planned.append(Task(
                    dataset=name,
                    suite=config.suite,
                    collection=dataset.collection,
                    protocol=protocol,
                    kernel=grid.name,
                    kernel_id=kernel.id,
                    params=dict(kernel.params),
                    setting_index=index,
                    n_settings=len(settings),
                    C_grid=grid.C,
                    cv_folds=config.cv_folds,
                    seed=config.seed,
                    svc_max_iter=config.svc_max_iter,
                    cost=_cost(dataset, grid.name, kernel.params),
                    shared=stored_part_ids(grid.name, kernel.params),
                ))
        tasks += _keep_shared(planned)
        inputs[name] = described
    return tasks, inputs, failures


def _keep_shared(tasks: Sequence[Task]) -> list[Task]:
    """One dataset's tasks, each keeping ``shared`` only if it shares a file: with another task (the
    forward RNTK is a part of the bidirectional one) or with a sibling its pass computes too."""
    users = Counter(part for task in tasks for part in task.shared)
    # more than one id: parts or siblings, shared whatever else runs (gram_store.shares_grams)
    return [task if len(task.shared) > 1 or any(users[part] > 1 for part in task.shared)
            else replace(task, shared=()) for task in tasks]


def run_task(
    task: Task,
    loader: Loader,
    n_threads: int = 1,
    cache_dir: str | None = None,
    fail_fast: bool = False,
    parts_dir: str | None = None,
) -> dict[str, Any]:
    """Run one task and return its result file's content; a failure becomes ``status="error"``.

    Gram blocks go through a :class:`GramStore` in ``cache_dir`` (every kernel) or, for a task that shares
    parts or siblings with others (``Task.shared``; ``KernelSpec.parts``, ``KernelSpec.siblings``), in
    ``parts_dir``, where tasks share them. With ``fail_fast`` the exception propagates instead.
    """
    result: dict[str, Any] = task.describe()
    result["host"] = socket.gethostname()
    try:
        with _limit_threads(max(1, int(n_threads))):
            dataset = loader(task.dataset)
            kernel = get_kernel(task.kernel, **task.params)
            store_dir = cache_dir or (parts_dir if task.shared else None)
            gram = stored_gram(GramStore(store_dir), dataset, task.kernel, kernel.params) if store_dir else None
            scores = evaluate_setting(kernel, dataset, task.C_grid, cv_folds=task.cv_folds, seed=task.seed, gram=gram,
                                      svc_max_iter=task.svc_max_iter)
        result.update(scores)
        result.update(status="ok", error="")
    except Exception as exc:
        if fail_fast:
            raise
        result.update(status="error", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    result["finished"] = _now()
    return result


# ---------------------------------------------------------------------------------------------- run folder


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def default_run_dir(suite: str, root: str | Path = "runs") -> Path:
    """``runs/<suite>-<UTC timestamp>``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(root) / f"{suite}-{stamp}"


def check_run_dir(run_dir: str | Path, config: RunConfig, resume: bool) -> dict[str, Any] | None:
    """Refuse a run folder that cannot be used, before anything is written.

    Returns
    -------
    dict or None
        The existing ``run.json`` when resuming.

    Raises
    ------
    RunError
        Not a folder, not writable, not empty without ``resume``, nothing to resume, or a resume with a
        different configuration (the message names every differing field).
    """
    run_dir = Path(run_dir)
    if run_dir.exists():
        if not run_dir.is_dir():
            raise RunError(f"output path {str(run_dir)!r} exists and is not a folder")
        if not os.access(run_dir, os.W_OK | os.X_OK):
            raise RunError(f"output folder {str(run_dir)!r} is not writable")
        if resume:
            if not (run_dir / RUN_FILE).exists():
                raise RunError(f"cannot resume: {str(run_dir)!r} has no {RUN_FILE}, so it is not a run folder")
            info = read_run_info(run_dir)
            differences = config_differences(info.get("config", {}), config.result_fields())
            if differences:
                raise RunError(
                    f"refusing to resume {str(run_dir)!r}: it was made with a different configuration "
                    "(results would mix). Differences:\n  " + "\n  ".join(differences)
                    + "\nRun the same configuration again with --resume, or choose a new --out."
                )
            return info
        if any(run_dir.iterdir()):
            raise RunError(
                f"output folder {str(run_dir)!r} is not empty; pass --resume to continue the run in it, "
                "or choose another --out"
            )
        return None
    if resume:
        raise RunError(f"cannot resume: run folder {str(run_dir)!r} does not exist")
    parent = run_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise RunError(f"cannot create output folder {str(run_dir)!r}: {str(parent)!r} is not writable")
    return None


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _git_revision() -> dict[str, Any]:
    here = Path(__file__).resolve().parent
    try:
        revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
        return {"revision": revision, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"revision": None, "dirty": None}


def _machine() -> dict[str, Any]:
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }


# ----------------------------------------------------------------------------------------------- execution


@contextlib.contextmanager
def _dask_client(config: RunConfig) -> Iterator[Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise RunError("the dask backend needs dask.distributed: pip install 'rntk-bench[dask]'") from None
    if config.scheduler:
        try:
            client = Client(config.scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise RunError(f"cannot reach the dask scheduler at {config.scheduler!r}: {exc}") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=config.n_jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def _results(tasks: Sequence[Task], config: RunConfig, loader: Loader,
             parts_dir: str | None) -> Iterator[dict[str, Any]]:
    """Yield task results in completion order, on the configured backend."""
    options = (config.cache_dir, config.fail_fast, parts_dir)
    if config.backend == "dask":
        with _dask_client(config), joblib.parallel_config(backend="dask"):
            jobs = (joblib.delayed(run_task)(task, loader, 1, *options) for task in tasks)
            yield from joblib.Parallel(n_jobs=-1, return_as="generator_unordered", batch_size=1)(jobs)
        return
    threads = max(1, (os.cpu_count() or 1) // config.n_jobs)
    if config.n_jobs == 1:
        for task in tasks:
            yield run_task(task, loader, threads, *options)
        return
    jobs = (joblib.delayed(run_task)(task, loader, threads, *options) for task in tasks)
    parallel = joblib.Parallel(n_jobs=config.n_jobs, backend="loky", return_as="generator_unordered",
                               batch_size=1, pre_dispatch="2*n_jobs")
    yield from parallel(jobs)


@dataclass
class RunOutcome:
    """What :func:`run_benchmark` did.

    Attributes
    ----------
    run_dir : Path
    table : DataFrame
        The results table (``results.csv``).
    n_tasks, n_skipped, n_run, n_failed : int
        Planned tasks, tasks already on disk (resume), tasks run now, failed tasks among them.
    seconds : float
        Wall time of this invocation.
    """

    run_dir: Path
    table: pd.DataFrame
    n_tasks: int
    n_skipped: int
    n_run: int
    n_failed: int
    seconds: float
    notes: list[str] = field(default_factory=list)


def _available(loader: Loader, name: str) -> bool:
    check = getattr(loader, "available", None)
    return True if check is None else bool(check(name))


def run_benchmark(
    config: RunConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    loader: Loader | None = None,
    progress: ProgressCallback | None = None,
) -> RunOutcome:
    """Run (or resume) a benchmark into ``run_dir`` and return its results table.

    Parameters
    ----------
    config : RunConfig
        With ``datasets`` filled in (see :func:`rntk_bench.config.build_config`).
    run_dir : path
        Created if missing; an existing folder needs ``resume=True`` and the same configuration.
    resume : bool
        Skip the tasks whose result file exists with status ``ok`` (failed tasks run again).
    loader : callable, optional
        ``loader(name) -> Dataset``; default the data layer (:class:`DataLayerLoader`).
    progress : callable, optional
        See :data:`ProgressCallback`.

    Raises
    ------
    RunError
        Unusable folder, missing datasets, dead worker, or (``fail_fast``) a failing task.
    """
    started = time.perf_counter()
    run_dir = Path(run_dir)
    if not config.datasets:
        raise RunError(f"the run has no dataset (suite {config.suite!r})")
    loader = loader or DataLayerLoader(config.data_dir)
    if config.data_dir is not None and not Path(config.data_dir).is_dir():
        raise RunError(f"data folder {config.data_dir!r} does not exist")
    previous = check_run_dir(run_dir, config, resume)

    missing = [name for name in config.datasets if not _available(loader, name)]
    notes = []
    if missing and not config.skip_missing:
        raise RunError(
            f"{len(missing)} dataset(s) of the run are missing: {', '.join(missing)}. Get them with "
            "`rntk-bench datasets fetch NAME`, choose others with --dataset, or pass --skip-missing"
        )
    recorded, recorded_hash = config.result_fields(), config.config_hash  # as asked: a resume must match it
    if missing:
        notes.append(f"skipped missing datasets: {', '.join(missing)}")
        config = _without(config, missing)
    try:
        tasks, inputs, failures = plan_tasks(config, loader)
    except RntkBenchError as exc:  # only with fail_fast
        raise RunError(f"a dataset could not be prepared (--fail-fast): {exc}") from exc

    done = {}
    if resume:
        for result in read_task_results(run_dir):
            if result.get("status") == "ok":
                done[(result["dataset"], result["kernel_id"])] = result
    planned = {(task.dataset, task.kernel_id) for task in tasks} | {(f["dataset"], f["kernel_id"]) for f in failures}
    todo = [task for task in tasks if (task.dataset, task.kernel_id) not in done]
    todo = execution_order(todo, config.n_jobs)

    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create output folder {str(run_dir)!r}: {exc.strerror}") from None
    session = {"started": _now(), "finished": None, "status": "running", "execution": config.execution_fields(),
               "n_tasks": len(tasks), "n_skipped": len(tasks) - len(todo), "n_run": 0, "n_failed": len(failures)}
    info = previous or {
        "format": 1,
        "config": recorded,
        "config_hash": recorded_hash,
        "started": session["started"],
        "finished": None,
        "sessions": [],
    }
    info.update(versions=_versions(), git=_git_revision(), machine=_machine(), datasets=inputs, notes=notes)
    info["sessions"].append(session)
    atomic_write_json(run_dir / RUN_FILE, info)
    # a file left by a task that is no longer planned would silently join the table: remove it
    for result in read_task_results(run_dir):
        if (result["dataset"], result["kernel_id"]) not in planned:
            task_path(run_dir, result["dataset"], result["kernel_id"]).unlink(missing_ok=True)
    for failure in failures:
        write_task_result(run_dir, failure)

    total, finished = len(tasks), len(tasks) - len(todo)
    if progress:
        progress(finished, total, "")
    # Parts shared between tasks (the bidirectional RNTK's two directions) live in a private folder of the
    # run: a part's files are deleted after the last task that reads them, and whatever is left of a dataset
    # (files an interrupted earlier session wrote for tasks already done) after its last task. Remote dask
    # workers cannot be assumed to see this folder; they compute every part themselves unless --cache-dir
    # names a shared one.
    parts_store = None if (config.cache_dir or config.scheduler) else GramStore(run_dir / PARTS_DIR)
    remaining = Counter(task.dataset for task in todo)
    readers = Counter((task.dataset, part) for task in todo for part in task.shared)
    shared_by_task = {(task.dataset, task.kernel_id): task.shared for task in todo}
    status = "interrupted"
    try:
        parts_dir = None if parts_store is None else str(parts_store.root)
        for result in _results(todo, config, loader, parts_dir):
            write_task_result(run_dir, result)
            remaining[result["dataset"]] -= 1
            if parts_store is not None:
                shared = shared_by_task.get((result["dataset"], result["kernel_id"]), ())
                _release_parts(parts_store, readers, result["dataset"], shared)
                if remaining[result["dataset"]] <= 0:
                    parts_store.forget(result["dataset"])
            finished += 1
            session["n_run"] += 1
            session["n_failed"] += result["status"] != "ok"
            if progress:
                progress(finished, total, f"{result['dataset']} {result['kernel_id']}")
        status = "finished"
    except RntkBenchError as exc:
        status = "failed"
        raise RunError(f"a task failed (--fail-fast): {exc}") from exc
    except Exception as exc:
        status = "failed"
        if type(exc).__name__ == "TerminatedWorkerError":
            raise RunError(
                f"a worker process died (killed, or out of memory) while running tasks; the {session['n_run']} "
                f"tasks finished in this session are saved in {str(run_dir)!r}: run again with --resume "
                f"--out {run_dir}"
            ) from None
        raise
    finally:
        session.update(finished=_now(), status=status)
        if status == "finished":
            info["finished"] = session["finished"]
            if parts_store is not None:
                parts_store.clear()
        atomic_write_json(run_dir / RUN_FILE, info)
        table = write_tables(run_dir, config.datasets, config.kernel_names)
    return RunOutcome(run_dir, table, total, total - len(todo), session["n_run"], session["n_failed"],
                      time.perf_counter() - started, notes)


def _release_parts(store: GramStore, readers: Counter[tuple[str, str]], dataset: str,
                   shared: Sequence[str]) -> None:
    """Count a finished task out of its parts' readers; delete the files of a part nobody will read again."""
    for part in shared:
        readers[(dataset, part)] -= 1
        if readers[(dataset, part)] <= 0:
            store.forget_part(dataset, part)


def _without(config: RunConfig, names: Sequence[str]) -> RunConfig:
    return replace(config, datasets=tuple(name for name in config.datasets if name not in names))


__all__ = [
    "DataLayerLoader",
    "PreloadedDatasets",
    "RunOutcome",
    "Task",
    "check_run_dir",
    "default_run_dir",
    "execution_order",
    "plan_tasks",
    "run_benchmark",
    "run_task",
    "sharing_groups",
]
