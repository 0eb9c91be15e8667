"""The pieces of :func:`rntk_bench.tiled_gram.tiled_gram`: the row blocks, one tile's computation (the same
function in-process and on a dask worker), the memory rule and the output file.

Memory rule: a worker holds at most the input (the blocks its tiles read) and, per task it runs at a time,
:data:`TILE_COPIES` float64 arrays of ``tile x tile`` (the tile it returns, one temporary of that size inside
the kernel such as scikit-learn's distance matrix before ``exp``, and one in transit while it is sent), plus
for the RNTK the engine's per-sample arrays (``engine.working_set_bytes``). :func:`default_tile` inverts it:
the largest tile whose ``TILE_COPIES * 8 * tile**2`` bytes fit a budget.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.format import open_memmap

from rntk_bench.atomic import file_mode
from rntk_bench.errors import InvalidInputError, InvalidParameterError, RntkBenchError, WriteError
from rntk_bench.kernels import KERNELS, Kernel, get_kernel
from rntk_bench.kernels.plugins import Plugin, ensure_loaded
from rntk_bench.kernels.validation import check_sequences, check_vectors
from rntk_bench.threads import limit_threads

TILE_COPIES = 3
"""float64 ``tile x tile`` arrays a worker holds per running task (see the module docstring)."""
DEFAULT_TILE_BUDGET = 1 << 30
"""Bytes per running task that :func:`default_tile` fills by default (1 GiB: tiles of 6688 rows)."""


# ------------------------------------------------------------------------------------------------ blocks

@dataclass
class Prepared:
    """X validated once for a kernel, in the order its tiles are cut from.

    For sequence kernels the samples are first put in the engine's own order (stable, by decreasing length):
    the RNTK computes a pair of a Gram matrix with the earlier sample of that order as its row, and mean
    pooling sums its steps in an order that depends on which sample that is. In this order every
    upper-triangle tile has the earlier sample as its row, as ``kernel(X)`` has, so the tiles equal
    ``kernel(X)`` to the last bit; ``order`` scatters them back. Vector input keeps its order (``order`` None).

    ``copies`` are the groups (positions in that order) of identical series: in ``K(X, Y)`` without
    ``sigma_h`` the engine takes a pair of identical series from their variances, where ``K(X)`` runs the pair's
    chain (which may differ in the last bit); :func:`copies_gram` recomputes those pairs the way ``K(X)`` does.
    """

    data: Any
    order: np.ndarray | None
    nbytes: int
    t_max: int = 0
    channels: int = 0
    copies: list[np.ndarray] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.data)

    def blocks(self, tile: int) -> tuple[list[Any], list[Any]]:
        """The row blocks and the output rows each fills (a slice, or an index array)."""
        starts = range(0, self.n, tile)
        rows = [slice(s, s + tile) if self.order is None else self.order[s:s + tile] for s in starts]
        return [self.data[s:s + tile] for s in starts], rows


def prepare(kernel: Kernel, X: Any) -> Prepared:
    """Validate ``X`` as input of ``kernel``'s kind (vectors or series).

    Raises
    ------
    InvalidInputError
        ``X`` is not input of that kind, naming the kernel and the kind.
    """
    kind = kernel.spec.input_kind
    try:
        if kind == "vector":
            values = check_vectors(X, "X")
            return Prepared(values, None, values.nbytes)
        series = check_sequences(X, "X")          # time-major (T_i, channels)
    except InvalidInputError as exc:
        raise InvalidInputError(f"X is not {kind} input for kernel {kernel.id} ({kernel.spec.origin}): {exc}") from None
    lengths = np.array([len(item) for item in series])
    order = np.argsort(-lengths, kind="stable")
    ordered = [series[k].T for k in order]         # back to the kernel's (channels, T_i)
    groups: dict[tuple, list[int]] = {}
    for position, item in enumerate(ordered):
        groups.setdefault((item.shape, item.tobytes()), []).append(position)
    copies = [np.array(group) for group in groups.values() if len(group) > 1]
    return Prepared(ordered, order, sum(item.nbytes for item in series), int(lengths.max()), series[0].shape[1],
                    copies)


def copies_gram(kernel: Kernel, prepared: Prepared, tile: int, result: np.ndarray, threads: int | None) -> None:
    """Overwrite the pairs of identical series that lie in different blocks with their values in
    ``kernel(group)``, which are those of ``kernel(X)`` (one ``g x g`` matrix per group of ``g`` copies)."""
    for group in prepared.copies:
        if group[0] // tile != group[-1] // tile:
            values = compute_tile(kernel, [prepared.data[k] for k in group], None, threads)
            if isinstance(values, Failure):
                raise values.error
            rows = prepared.order[group]
            place(result, rows, rows, values)


def tile_pairs(n_blocks: int) -> Iterator[tuple[int, int]]:
    """The upper-triangle tiles ``(a, b)``, ``a <= b``, row by row."""
    for a in range(n_blocks):
        for b in range(a, n_blocks):
            yield a, b


def place(result: np.ndarray, rows_a: Any, rows_b: Any, values: np.ndarray) -> None:
    """Write tile ``(a, b)`` and its mirror ``(b, a)`` (one write for a diagonal tile)."""
    def at(rows, columns):
        return (rows, columns) if isinstance(rows, slice) else np.ix_(rows, columns)
    result[at(rows_a, rows_b)] = values
    if rows_a is not rows_b:
        result[at(rows_b, rows_a)] = values.T


# ------------------------------------------------------------------------------------------- one tile

@dataclass(frozen=True)
class KernelRef:
    """What a task needs to get the kernel in a worker: its name and parameters, and the plugins that
    register it (a file plugin carries its source). A kernel not registered under its name travels as is."""

    name: str
    params: dict[str, Any]
    plugins: tuple[Plugin, ...] = ()
    kernel: Kernel | None = None

    @classmethod
    def of(cls, kernel: Kernel, plugins: Sequence[Plugin]) -> KernelRef:
        registered = KERNELS.get(kernel.name) is kernel.spec
        return cls(kernel.name, dict(kernel.params), tuple(plugins), None if registered else kernel)

    def resolve(self) -> Kernel:
        if self.kernel is not None:
            return self.kernel
        ensure_loaded(self.plugins)
        return get_kernel(self.name, **self.params)


@dataclass(frozen=True)
class Failure:
    """A tile's error of the library's family, returned instead of raised so that dask does not retry it
    (retries are for what may pass another time: a lost worker, a MemoryError)."""

    error: RntkBenchError


def compute_tile(ref: KernelRef | Kernel, block_a: Any, block_b: Any, threads: int | None) -> np.ndarray | Failure:
    """``kernel(block_a)`` (a diagonal tile, ``block_b`` None) or ``kernel(block_a, block_b)``, under
    ``limit_threads(threads)``. A diagonal tile's lower triangle is set from its upper one, so the whole
    matrix is symmetric to the last bit (a no-op for kernels whose ``K(X)`` already is)."""
    try:
        kernel = ref.resolve() if isinstance(ref, KernelRef) else ref
        with limit_threads(threads) if threads else nullcontext():
            values = kernel(block_a) if block_b is None else kernel(block_a, block_b)
    except RntkBenchError as exc:
        return Failure(exc)
    if block_b is None:
        for row in range(1, len(values)):
            values[row, :row] = values[:row, row]
    return values


# ------------------------------------------------------------------------------------------ memory rule

def default_tile(n: int, *, memory_budget: int = DEFAULT_TILE_BUDGET, workers: int = 0) -> int:
    """The tile size for ``n`` rows: the largest whose ``TILE_COPIES * 8 * tile**2`` bytes fit ``memory_budget``
    (bytes per running task), at most ``n``, and, for a cluster of ``workers`` task slots (worker threads),
    small enough that there are at least two tiles per slot."""
    if memory_budget < TILE_COPIES * 8:
        raise InvalidParameterError(f"memory_budget must be at least {TILE_COPIES * 8} bytes; got {memory_budget}")
    tile = min(max(1, n), math.isqrt(memory_budget // (TILE_COPIES * 8)))
    if workers > 0:
        blocks = 1
        while blocks * (blocks + 1) // 2 < 2 * workers and blocks < n:
            blocks += 1
        tile = min(tile, -(-n // blocks))
    return max(1, tile)


def worker_peak_bytes(kernel: Kernel, X: Any, tile: int, *, tasks: int = 1, threads: int = 1) -> int:
    """Estimated peak memory of one dask worker (or of the process, without a client, besides the result)
    that runs ``tasks`` tiles at a time with ``threads`` threads each: the whole input (a worker gathers the
    blocks its tiles read, eventually all of them), plus per task :data:`TILE_COPIES` tiles and, for the
    RNTK, the engine's per-sample arrays. ``tasks``: a worker's threads, or twice that to cover finished tiles
    that wait to be gathered (at most two per worker thread of the cluster are in flight)."""
    prepared = X if isinstance(X, Prepared) else prepare(kernel, X)
    tile = min(tile, prepared.n)
    per_task = TILE_COPIES * 8 * tile * tile
    if kernel.name == "rntk" and kernel.spec.origin == "built-in":
        from rntk_bench.kernels.engine import working_set_bytes

        per_task += working_set_bytes(tile, tile, prepared.t_max, prepared.channels, kernel.params["n_layers"], threads)
    return prepared.nbytes + tasks * per_task


# ------------------------------------------------------------------------------------------ the output

class Output:
    """The result matrix: in memory, or a ``.npy`` file written under a temporary name in the target folder
    and renamed over ``path`` by :meth:`finish` (:meth:`discard` deletes it: nothing half-written remains)."""

    def __init__(self, n: int, path: str | os.PathLike | None):
        self.path = None if path is None else Path(path)
        self.temporary: Path | None = None
        if self.path is None:
            self.matrix = np.empty((n, n))
            return
        if not self.path.parent.is_dir():
            raise WriteError(2, f"cannot write {self.path}: its folder {self.path.parent} does not exist")
        if self.path.is_dir():
            raise WriteError(21, f"cannot write {self.path}: it is a folder")
        try:
            handle, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            os.close(handle)
            self.temporary = Path(name)
            os.chmod(name, file_mode())
            self.matrix = open_memmap(name, mode="w+", dtype=np.float64, shape=(n, n))
            if hasattr(os, "posix_fallocate"):  # a full disk is an error now, not a SIGBUS in a later write
                with open(name, "rb+") as stream:
                    os.posix_fallocate(stream.fileno(), 0, os.fstat(stream.fileno()).st_size)
        except OSError as exc:
            self.discard()
            raise WriteError(exc.errno, f"cannot write {self.path}: {exc.strerror or exc}") from None

    def finish(self) -> np.ndarray:
        """The result: the array, or the renamed file opened read-only as a memory map."""
        if self.path is None:
            return self.matrix
        try:
            self.matrix.flush()
            del self.matrix
            with open(self.temporary, "rb+") as stream:
                os.fsync(stream.fileno())
            os.replace(self.temporary, self.path)
        except OSError as exc:
            self.discard()
            raise WriteError(exc.errno, f"cannot write {self.path}: {exc.strerror or exc}") from None
        self.temporary = None
        return np.load(self.path, mmap_mode="r")

    def discard(self) -> None:
        self.__dict__.pop("matrix", None)
        if self.temporary is not None:
            self.temporary.unlink(missing_ok=True)
            self.temporary = None
