"""Thread limits for kernel computations: one knob for BLAS and numba, so parallel workers never oversubscribe.

>>> from rntk_bench.threads import limit_threads
>>> with limit_threads(1):        # inside a joblib worker of a 2-worker run on 2 cores
...     G = kernel(X)

The runner computes ``n = max(1, cpu_count // n_jobs)`` and calls every kernel inside ``limit_threads(n)``.
Both limits are restored on exit. numba's limit is per calling thread, so threads of a thread pool can hold
different limits at the same time; BLAS limits (threadpoolctl) are process-wide.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from rntk_bench.errors import InvalidParameterError


def available_cpus() -> int:
    """Number of cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


_NO_BINDING = {"", "false"}


def openmp_binding_note(environ: Mapping[str, str] | None = None, cpu_count: int | None = None) -> str | None:
    """A warning for the user where ``OMP_PROC_BIND`` asks OpenMP runtimes to bind threads on a machine of several
    CPUs, else None.

    Bound, an OpenMP runtime pins a process's main thread to the first CPU it may use when it starts
    (scikit-learn's when it is imported, numba's at the kernel engine's first parallel loop). Every worker
    process of a run then shares that core, and so do the engine's threads: on 2 cores, the engine's Gram
    matrices took twice as long, and two worker processes two to three times as long
    (``benchmarks/README.md``).

    Parameters
    ----------
    environ : mapping, optional
        The environment to read (default ``os.environ``).
    cpu_count : int, optional
        The machine's CPUs (default ``os.cpu_count()``).

    Returns
    -------
    str or None
        The warning: what is set, what it does here and the remedy.
    """
    environ = os.environ if environ is None else environ
    value = environ.get("OMP_PROC_BIND", "")
    cpus = (os.cpu_count() or 1) if cpu_count is None else cpu_count
    if value.strip().lower() in _NO_BINDING or cpus < 2:
        return None
    return (f"OMP_PROC_BIND={value} is set: OpenMP runtimes then pin each process's main thread to the first CPU it "
            "may use (scikit-learn's when it is imported, numba's at the kernel engine's first parallel loop), so "
            "the run's worker processes and the engine's threads would all share one core. Unset OMP_PROC_BIND, "
            "or set it to false, for rntk-bench.")


def _numba_limit(n: int):
    """Set numba's thread count for this thread; return a function that restores it (a no-op without numba)."""
    try:
        import numba
    except ImportError:
        return lambda: None
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    return lambda: numba.set_num_threads(previous)


@contextmanager
def limit_threads(n: int) -> Iterator[int]:
    """Cap BLAS and numba threads at ``n`` inside the ``with`` block.

    Parameters
    ----------
    n : int
        Maximum number of threads, at least 1. Values above numba's pool size are capped to it.

    Yields
    ------
    int
        The limit in force.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidParameterError(f"limit_threads needs a whole number of threads >= 1; got {n!r}")
    from threadpoolctl import threadpool_limits

    restore_numba = _numba_limit(n)
    try:
        with threadpool_limits(limits=n):
            yield n
    finally:
        restore_numba()
