"""How tasks execute: one task in a worker (:func:`run_task`), and the backends that run many (joblib's loky
processes on this machine, or a dask.distributed cluster).

A backend is opened (:func:`open_backend`) before the run writes anything, so an unreachable scheduler stops
the run with a message and no folder behind. Workers run kernels inside ``limit_threads(cpu_count // n_jobs)``
so parallel workers do not oversubscribe the cores.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sysconfig
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import joblib

from rntk_bench.config import RunConfig
from rntk_bench.errors import RunError
from rntk_bench.gram_store import GramStore, stored_gram
from rntk_bench.kernels import get_kernel
from rntk_bench.kernels.plugins import Plugin, ensure_loaded
from rntk_bench.planning import Task
from rntk_bench.protocols import evaluate_setting
from rntk_bench.run_data import Loader
from rntk_bench.run_folder import now
from rntk_bench.threads import limit_threads

__all__ = ["SCHEDULER_TIMEOUT", "Backend", "open_backend", "portable_traceback", "run_task"]

SCHEDULER_TIMEOUT = "30s"
"""How long to try to reach a dask scheduler before the run stops with a message (nothing written)."""


def run_task(
    task: Task,
    loader: Loader,
    n_threads: int = 1,
    cache_dir: str | None = None,
    fail_fast: bool = False,
    parts_dir: str | None = None,
    plugins: Sequence[Plugin] = (),
    device: str = "numba",
    distribute_above: int = 0,
) -> dict[str, Any]:
    """Run one task and return its result file's content; a failure becomes ``status="error"``.

    Gram blocks go through a :class:`GramStore` in ``cache_dir`` (every kernel) or, for a task that shares
    parts or siblings with others (``Task.shared``; ``KernelSpec.parts``, ``KernelSpec.siblings``), in
    ``parts_dir``, where tasks share them. The task is scored under its planned protocol (``Task.protocol``).
    The run's ``plugins`` are imported first, so that their kernels exist in this worker. ``device`` (a name
    :func:`rntk_bench.kernels.accel.resolve_device` accepts) computes the RNTK and NTK there; where this worker
    cannot, it falls back to the numba engine and the task's notes say so. On a dask worker, an exact Gram
    matrix over more than ``distribute_above`` rows (0: never) is computed as tiles across the cluster
    (:func:`rntk_bench.tiled_gram.tiled_gram`). With ``fail_fast`` the exception propagates instead.
    """
    result: dict[str, Any] = task.describe()
    result["host"] = socket.gethostname()
    try:
        with limit_threads(max(1, int(n_threads))):
            ensure_loaded(plugins)
            dataset = loader(task.dataset)
            kernel, device_note = _bound_kernel(task, device)
            store_dir = cache_dir or (parts_dir if task.shared else None)
            stored = store_dir and not task.approx  # only exact Gram blocks go to a store
            gram = (stored_gram(GramStore(store_dir), dataset, task.kernel, kernel.params,
                                device=getattr(kernel, "device", None), min_work=getattr(kernel, "min_work", 0.0))
                    if stored else None)
            if gram is None and distribute_above and not task.approx:
                gram = _cluster_gram(kernel, distribute_above, plugins)
            scores = evaluate_setting(kernel, dataset, task.C_grid, protocol=task.protocol, cv_folds=task.cv_folds,
                                      seed=task.seed, gram=gram, svc_max_iter=task.svc_max_iter,
                                      series_scaling=task.series_scaling, approx=task.approx)
        if device_note:
            scores["notes"].append(device_note)
        result.update(scores)
        result.update(status="ok", error="")
    except Exception as exc:
        if fail_fast:
            raise
        result.update(status="error", error=f"{type(exc).__name__}: {exc}", traceback=portable_traceback())
    result["finished"] = now()
    return result


_PROJECT = Path(__file__).resolve().parents[1]
_STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()
_FRAME_FILE = re.compile(r'File "([^"]+)"')


def portable_path(path: str, roots: Sequence[Path] = (_PROJECT,)) -> str:
    """``path`` without the names of this machine's folders: relative to the project (the first of
    ``roots`` that holds it), ``site-packages/...`` for installed packages, ``<python>/...`` for the standard
    library, ``<elsewhere>/NAME`` for anything else. Task files are committed and compared across machines."""
    resolved = Path(path)
    for root in roots:
        if resolved.is_relative_to(root):
            return resolved.relative_to(root).as_posix()
    if "site-packages" in resolved.parts:
        parts = resolved.parts
        return "/".join(parts[len(parts) - parts[::-1].index("site-packages") - 1:])
    if resolved.is_relative_to(_STDLIB):
        return f"<python>/{resolved.relative_to(_STDLIB).as_posix()}"
    return f"<elsewhere>/{resolved.name}" if resolved.is_absolute() else path


def portable_traceback(text: str | None = None, roots: Sequence[Path] = (_PROJECT,)) -> str:
    """The current exception's traceback (or ``text``) with every frame's file through :func:`portable_path`."""
    text = traceback.format_exc() if text is None else text
    return _FRAME_FILE.sub(lambda match: f'File "{portable_path(match.group(1), roots)}"', text)


def _bound_kernel(task: Task, device: str) -> tuple[Any, str | None]:
    """The task's kernel, on ``device`` unless it is the numba engine (imported only when asked for), and the
    note for the task's file (why the device is not used, or which blocks it computes).

    On a device, blocks of less than ``accel.MIN_DEVICE_WORK`` pair-layer-steps go to the numba engine."""
    if device == "numba":
        return get_kernel(task.kernel, **task.params), None
    from rntk_bench.kernels.accel import ACCELERATED_KERNELS, MIN_DEVICE_WORK, device_kernel, resolve_device

    resolved, message = resolve_device(device)
    if message is None and resolved.engine != "numba" and task.kernel in ACCELERATED_KERNELS:
        message = (f"Gram blocks of at least {MIN_DEVICE_WORK:.0e} pair-layer-steps computed on {resolved}, "
                   "smaller ones on the numba engine")
    return device_kernel(task.kernel, resolved, min_work=MIN_DEVICE_WORK, **task.params), message


def _cluster_gram(kernel: Any, above: int, plugins: Sequence[Plugin]):
    """A ``gram(block, A, B)`` computing ``K(A)`` of more than ``above`` rows as tiles across the dask cluster
    this task runs on (seceding from the worker's thread pool while the tiles run); cross blocks and smaller
    matrices are computed here."""

    def gram(block: str, A, B):
        if B is not None or len(A) <= above:
            return kernel(A, B)
        from distributed import worker_client

        from rntk_bench.tiled_gram import tiled_gram

        with worker_client() as client:
            return tiled_gram(kernel, A, client=client, plugins=plugins)

    return gram


Backend = Callable[[Sequence[Task], Loader, "str | None"], Iterator[dict[str, Any]]]
"""``results(tasks, loader, parts_dir)``: the tasks' results, in completion order."""


@contextlib.contextmanager
def _dask_client(config: RunConfig) -> Iterator[Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise RunError("the dask backend needs dask.distributed: pip install 'rntk-bench[dask]'") from None
    if config.scheduler:
        try:
            client = Client(config.scheduler, timeout=SCHEDULER_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise RunError(f"cannot reach the dask scheduler at {config.scheduler!r}: {exc}; is `dask scheduler` "
                           "running there, and is the address tcp://HOST:PORT?") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=config.n_jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


@contextlib.contextmanager
def open_backend(config: RunConfig) -> Iterator[Backend]:
    """Open the configured backend (connect to the dask scheduler, start a local cluster) and yield a
    :data:`Backend` function that runs tasks on it.

    Raises
    ------
    RunError
        The dask backend is not installed or the scheduler cannot be reached.
    """
    options = (config.cache_dir, config.fail_fast)
    device = config.device
    if config.backend == "dask":
        with _dask_client(config):
            def on_dask(tasks, loader, parts_dir):
                with joblib.parallel_config(backend="dask"):
                    jobs = (joblib.delayed(run_task)(task, loader, 1, *options, parts_dir, config.plugins, device,
                                                     config.distribute_above)
                            for task in tasks)
                    yield from joblib.Parallel(n_jobs=-1, return_as="generator_unordered", batch_size=1)(jobs)

            yield on_dask
        return
    threads = max(1, (os.cpu_count() or 1) // config.n_jobs)

    def on_loky(tasks, loader, parts_dir):
        if config.n_jobs == 1:
            for task in tasks:
                yield run_task(task, loader, threads, *options, parts_dir, config.plugins, device)
            return
        jobs = (joblib.delayed(run_task)(task, loader, threads, *options, parts_dir, config.plugins, device)
                for task in tasks)
        parallel = joblib.Parallel(n_jobs=config.n_jobs, backend="loky", return_as="generator_unordered",
                                   batch_size=1, pre_dispatch="2*n_jobs")
        yield from parallel(jobs)

    yield on_loky
