"""One exact Gram matrix ``K(X)`` computed as tiles, in this process or across a dask.distributed cluster.

>>> from rntk_bench.kernels import get_kernel
>>> from rntk_bench.tiled_gram import tiled_gram
>>> G = tiled_gram(get_kernel("rntk", sigma_h=0.5), X, tile=2000)                        # in-process
>>> G = tiled_gram(get_kernel("ntk", n_layers=3), X, client="tcp://10.0.0.5:8786", out="K.npy")

The rows are cut into blocks; only the upper-triangle tiles are computed (a diagonal tile as ``kernel(X_i)``,
so that terms of a sample paired with itself, such as the RNTK's ``sigma_h``, enter the true diagonal only;
the others as ``kernel(X_i, X_j)``) and each is mirrored. No process holds more than a few tiles besides the
result (see :mod:`rntk_bench.tiled_gram_parts` for the memory rule, :func:`default_tile` and
:func:`worker_peak_bytes`).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from contextlib import nullcontext
from typing import Any

import numpy as np

from rntk_bench.errors import InvalidParameterError, RunError
from rntk_bench.kernels import Kernel
from rntk_bench.kernels.plugins import Plugin
from rntk_bench.threads import limit_threads
from rntk_bench.tiled_gram_parts import (
    DEFAULT_TILE_BUDGET,
    TILE_COPIES,
    Failure,
    KernelRef,
    Output,
    compute_tile,
    copies_gram,
    default_tile,
    place,
    prepare,
    tile_pairs,
    worker_peak_bytes,
)

__all__ = ["DEFAULT_TILE_BUDGET", "TILE_COPIES", "default_tile", "tiled_gram", "worker_peak_bytes"]

LOST_TILE_LIMIT = 3
"""How often a tile may be cancelled because a worker holding its input died, before the call gives up."""
CONNECT_TIMEOUT = "30s"
"""How long :func:`tiled_gram` tries to reach a scheduler given by address, and waits for a first worker."""


def tiled_gram(
    kernel: Kernel,
    X: Any,
    *,
    tile: int | None = None,
    client: Any = None,
    out: str | os.PathLike | None = None,
    threads: int | None = 1,
    retries: int = 3,
    plugins: Sequence[Plugin] = (),
    progress: Callable[[int, int], None] | None = None,
    timeout: str | float = CONNECT_TIMEOUT,
) -> np.ndarray:
    """The Gram matrix ``kernel(X)`` of ``X`` with itself, computed tile by tile.

    Parameters
    ----------
    kernel : Kernel
        A registered kernel with its parameters bound (``get_kernel(name, **params)``).
    X : array-like or list of arrays
        Input of the kernel's kind: ``(n, n_features)`` (or ``(n, channels, T)``, flattened) for vector
        kernels; ``(n, T)``, ``(n, channels, T)`` or a list of ``(channels, T_i)`` arrays for sequence kernels.
    tile : int, optional
        Rows per block. Default :func:`default_tile`: the largest tile of which :data:`TILE_COPIES` float64
        copies fit 1 GiB (6688 rows), and, on a cluster, at least two tiles per worker thread.
    client : distributed.Client or str, optional
        A dask client, or a scheduler address (``tcp://HOST:PORT``) to connect to for this call. The blocks are
        scattered to the workers once; tiles are tasks with ``retries``, at most two per worker thread in
        flight, gathered as they complete and released at once, so neither the workers nor this process hold
        more than a few. A worker that dies costs only the tiles it was running: the scheduler runs them
        again elsewhere (blocks it held are scattered again), and finished tiles are already written here.
        None: the same tiles, one after another, here.
    out : path, optional
        Write the matrix to this ``.npy`` file (its folder must exist) and return it opened with
        ``mmap_mode="r"``. It is written under a temporary name in the same folder and renamed when complete;
        on any failure the temporary file is deleted and ``out`` is untouched. None: return an array.
    threads : int or None
        BLAS and numba threads for each tile (:func:`rntk_bench.threads.limit_threads`), here and on the
        workers. 1 (default) makes every tile the same to the last bit wherever it is computed (OpenBLAS's
        matrix products round differently with different thread counts); None leaves each process's settings.
    retries : int
        Attempts after a tile's task raised something other than a library error (those stop the call at once).
    plugins : sequence of Plugin
        Plugins that register ``kernel`` (:func:`rntk_bench.kernels.plugins.load_plugin`); workers import them
        first (a file plugin travels with the tasks).
    progress : callable, optional
        ``progress(done, total)`` after each tile is written.
    timeout : str or float
        For a ``client`` given as an address: how long to try to reach it, and to wait for a first worker.

    Returns
    -------
    ndarray of shape (n, n), float64, symmetric to the last bit (a read-only memory map with ``out``)

    Raises
    ------
    InvalidParameterError
        ``tile`` or ``threads`` not a whole number >= 1, ``kernel`` not a Kernel, ``retries`` < 0, or, with a client, a
        plugin's kernel without its plugin in ``plugins``.
    InvalidInputError
        ``X`` is not input of the kernel's kind (named with the kernel), or a tile's kernel call refused it.
    WriteError
        ``out`` lies in a missing folder or cannot be written.
    RunError
        dask.distributed is not installed, the scheduler cannot be reached (named), or no worker joins it.

    Notes
    -----
    **Equality to the last bit.** The cluster's result equals the in-process result of the same ``tile``
    bitwise when the workers run the same NumPy, BLAS and CPU type (with ``threads=1``); tested against a
    ``dask scheduler`` and two ``dask worker`` processes, one of them killed mid-run. Against ``kernel(X)``:

    * **rntk** (no BLAS): equal to the last bit, unequal lengths, ``sigma_h``, mean pooling, both directions
      and repeated series included. Two things had to be matched (``tiled_gram_parts.Prepared``): the engine
      orders samples by decreasing length and computes a pair with the earlier one as its row, and mean
      pooling sums in an order that depends on which one that is, so the blocks are cut from X in that order
      and the rows scattered back; and ``K(X, Y)`` without ``sigma_h`` takes a pair of identical series from
      their variances where ``K(X)`` runs its chain (1 ulp apart), so such pairs in different blocks are
      recomputed here as ``kernel(copies)`` (``g x g`` for ``g`` copies of one series).
    * **ntk, linear, poly, rbf**: not bitwise. Their inner products ``X_i @ X_j.T`` come from OpenBLAS, whose
      rounding depends on the shapes (``X @ X.T`` is one ``syrk`` call on all of X; a tile is a ``gemm`` or,
      for one row, a ``gemv``), on the thread count and on the CPU, so no tiling can reproduce ``kernel(X)``;
      besides, scikit-learn's ``rbf`` ``K(X)`` is not even symmetric to the last bit. The difference is that
      rounding carried through the kernel, the same size as ``kernel(X)`` against ``kernel(X, X)``. Measured
      (max |difference| / max |K|, 120 rows, tiles of 1, 7 and 64 rows): on standard-normal data with 50 to
      600 features ntk ReLU <= 3e-16, linear <= 1e-15, poly <= 2e-15, rbf <= 2e-16, erf ntk (4 layers)
      <= 5e-13; with 3000 features erf ntk 2e-12. Ill-conditioned cases amplify it, as they amplify
      ``kernel(X)``'s own rounding: rbf whose only non-zero entries are near-duplicate rows at scale 100,
      ~1e-11 (``kernel(X, X)``: 4e-11); erf ntk with 4 layers on exact duplicate rows at scale 100, ~2e-8
      (``kernel(X, X)``: 4e-9).
    """
    if not isinstance(kernel, Kernel):
        raise InvalidParameterError(f"kernel must be a Kernel (rntk_bench.kernels.get_kernel(name, **params)); "
                                    f"got {type(kernel).__name__}")
    if tile is not None and (isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 1):
        raise InvalidParameterError(f"tile must be a whole number of rows >= 1; got {tile!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise InvalidParameterError(f"threads must be None or a whole number >= 1; got {threads!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidParameterError(f"retries must be a whole number >= 0; got {retries!r}")
    origin = kernel.spec.origin
    if client is not None and origin != "built-in" and not origin.startswith("entry point") and not any(
            kernel.name in plugin.kernels for plugin in plugins):
        raise InvalidParameterError(f"kernel {kernel.name!r} comes from {origin}, which dask workers do not import "
                                    "by themselves: pass plugins=[rntk_bench.kernels.plugins.load_plugin(SPEC)]")
    prepared = prepare(kernel, X)
    owned = _connect(client, timeout) if isinstance(client, str) else None
    try:
        dask_client = owned or client
        if tile is None:
            tile = default_tile(prepared.n, workers=sum(_nthreads(dask_client, timeout).values()) if dask_client else 0)
        data, rows = prepared.blocks(int(tile))
        output = Output(prepared.n, out)
        try:
            tiles = list(tile_pairs(len(data)))
            with limit_threads(threads) if threads else nullcontext():  # once here: threadpoolctl is slow
                if dask_client is None:
                    _run_here(kernel, data, rows, tiles, output.matrix, progress)
                else:
                    _run_on_cluster(dask_client, KernelRef.of(kernel, plugins), data, rows, tiles, output.matrix,
                                    threads, retries, progress, timeout)
                copies_gram(kernel, prepared, int(tile), output.matrix, None)
            return output.finish()
        except BaseException:
            output.discard()
            raise
    finally:
        if owned is not None:
            owned.close()


def _run_here(kernel, data, rows, tiles, result, progress) -> None:
    for done, (a, b) in enumerate(tiles, 1):
        values = compute_tile(kernel, data[a], None if a == b else data[b], None)
        if isinstance(values, Failure):
            raise values.error
        place(result, rows[a], rows[b], values)
        if progress is not None:
            progress(done, len(tiles))


def _run_on_cluster(client, ref, data, rows, tiles, result, threads, retries, progress, timeout) -> None:
    from distributed import KilledWorker, as_completed

    slots = sum(_nthreads(client, timeout).values())
    # Sent once; a block is then copied between workers, never again from here, unless the worker holding its
    # last copy dies: the scheduler cannot recompute scattered data (and its memory manager soon drops the
    # extra copies that broadcast=True would make), so a tile cancelled for a lost block is resubmitted with
    # the block scattered again.
    scattered = client.scatter(data, hash=False)
    where: dict[str, tuple[int, int]] = {}
    lost: dict[tuple[int, int], int] = {}
    pending = iter(tiles)

    def submit(a: int, b: int):
        future = client.submit(compute_tile, ref, scattered[a], None if a == b else scattered[b], threads,
                               retries=retries, pure=False, key=f"tiled-gram-{a}-{b}-{os.urandom(6).hex()}")
        where[future.key] = (a, b)
        return future

    running = as_completed([submit(a, b) for a, b in itertools.islice(pending, max(2, 2 * slots))], loop=client.loop)
    done = 0
    try:
        for future in running:
            a, b = where.pop(future.key)
            try:
                values = future.result()
            except KilledWorker as exc:
                raise RunError(f"tile ({a}, {b}) of the Gram matrix of {ref.name} was lost with every worker that "
                               f"ran it: {exc}") from None
            except CancelledError as exc:
                lost[a, b] = lost.get((a, b), 0) + 1
                if lost[a, b] > LOST_TILE_LIMIT:
                    raise RunError(f"tile ({a}, {b}) of the Gram matrix of {ref.name} was cancelled "
                                   f"{lost[a, b]} times: {exc}") from None
                gone = [k for k in {a, b} if scattered[k].status != "finished"] or sorted({a, b})
                for k, again in zip(gone, client.scatter([data[k] for k in gone], hash=False)):
                    scattered[k] = again
                running.add(submit(a, b))
                continue
            future.release()
            del future
            if isinstance(values, Failure):
                raise values.error
            place(result, rows[a], rows[b], values)
            del values
            done += 1
            if progress is not None:
                progress(done, len(tiles))
            following = next(pending, None)
            if following is not None:
                running.add(submit(*following))
    finally:
        leftover = list(running.futures)
        running.clear()
        client.cancel(leftover + scattered)


def _nthreads(client, timeout) -> dict[str, int]:
    """The worker threads of the cluster, after waiting up to ``timeout`` for a first worker."""
    from dask.utils import parse_timedelta

    threads = client.nthreads()
    if not threads:
        try:
            client.wait_for_workers(1, timeout=parse_timedelta(timeout))
        except TimeoutError:
            raise RunError(f"no dask worker joined the scheduler at {client.scheduler.address!r} within "
                           f"{timeout}; start one with `dask worker {client.scheduler.address}`") from None
        threads = client.nthreads()
    return threads


def _connect(address: str, timeout: str | float):
    try:
        from distributed import Client
    except ImportError:
        raise RunError("a dask cluster needs dask.distributed: pip install 'rntk-bench[dask]'") from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise RunError(f"cannot reach the dask scheduler at {address!r}: {exc}; is `dask scheduler` running "
                       "there, and is the address tcp://HOST:PORT?") from None
