"""JAX as the accelerator library: importing it, float64 without global state, devices and their memory.

JAX is optional (the ``gpu`` extra installs it with CUDA, the ``test`` extra the CPU-only wheel). Nothing here
imports it at module level, so that :mod:`rntk_bench.kernels.accel` can report a missing installation instead
of failing to import.

**float64.** JAX computes in float32 unless the ``jax_enable_x64`` option is on. Setting it globally would change
the dtypes of every other JAX user in the process, so the engine turns it on only around its own work, with the
thread-local context manager ``jax.enable_x64(True)`` (:func:`float64`): arrays created, functions traced and
results fetched inside it are float64; other code keeps its setting.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from types import ModuleType

import numpy as np

CPU_BUDGET_BYTES = 512 * 2**20
"""Working memory a tile may use where the device does not report its free memory (JAX on CPU): 512 MiB."""

DEVICE_SHARE = 0.5
"""Share of an accelerator's free memory (as reported by JAX's allocator) that a tile may use."""

MAX_LANES = 2**24
"""Most pair-chains one tile advances per step (16.8 M): enough to fill a large GPU; beyond it a larger tile
only risks running out of memory where the per-pair estimate is low."""

MIN_JAX = (0, 10)
"""Oldest JAX release tested (``jax.enable_x64`` as a context manager is needed)."""


def import_jax() -> ModuleType:
    """Import JAX, or raise ImportError with the reason (not installed, too old, broken installation)."""
    jax = importlib.import_module("jax")
    version = tuple(int(part) for part in jax.__version__.split(".")[:2] if part.isdigit())
    if version < MIN_JAX or not hasattr(jax, "enable_x64"):
        raise ImportError(f"JAX {jax.__version__} is older than {'.'.join(map(str, MIN_JAX))}")
    return jax


def jax_or_reason() -> tuple[ModuleType | None, str | None]:
    """``(jax, None)``, or ``(None, why it cannot be used)``."""
    try:
        return import_jax(), None
    except ImportError as error:
        return None, str(error) or "JAX is not installed"
    except Exception as error:  # noqa: BLE001 - a broken jaxlib raises anything at import; it is reported, not hidden
        return None, f"JAX failed to import: {type(error).__name__}: {error}"


@contextlib.contextmanager
def float64() -> Iterator[None]:
    """Turn on JAX's float64 for the calling thread inside the block only (see the module docstring)."""
    jax = import_jax()
    with jax.enable_x64(True):
        yield


def platform_devices(jax: ModuleType, platform: str) -> list:
    """JAX's devices of ``platform`` ("cpu" or "gpu", which covers CUDA and ROCm); [] when there are none."""
    try:
        return list(jax.devices(platform))
    except RuntimeError:           # JAX: "Unknown backend" when no such platform was initialised
        return []


def free_bytes(device) -> int | None:
    """Free memory of a JAX device from its allocator's statistics, or None where it reports none (CPU)."""
    try:
        stats = device.memory_stats()
    except Exception:  # noqa: BLE001 - backends without statistics raise various errors; None means "unknown"
        return None
    if not stats or "bytes_limit" not in stats:
        return None
    return max(0, int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0)))


def tile_budget(device, memory_bytes: int | None = None) -> int:
    """Bytes one tile may use: ``memory_bytes`` if given, else :data:`DEVICE_SHARE` of the device's free
    memory, else :data:`CPU_BUDGET_BYTES`."""
    if memory_bytes is not None:
        return int(memory_bytes)
    free = free_bytes(device)
    return CPU_BUDGET_BYTES if free is None else max(int(free * DEVICE_SHARE), 2**20)


def _power_of_two_at_most(count: int) -> int:
    return 1 << max(0, int(count).bit_length() - 1)


def _power_of_two_at_least(count: int) -> int:
    return 1 << max(0, int(count - 1).bit_length())


MIN_BLOCK = 8
"""Smallest block side: blocks are powers of two from here on, so that few distinct shapes are compiled."""

SAME_SPLIT = 4
"""For K(X), a tile is at most ``1 / SAME_SPLIT`` of the samples wide, so that most of the lower triangle
lies in skipped tiles (with 4, about 10 of 16 tiles are computed, against the whole square for one tile)."""


def block_sides(n_x: int, n_y: int, same: bool, bytes_per_pair: int, budget: int,
                chains: int = 1) -> tuple[int, int]:
    """Rows and columns of one tile of pairs, both powers of two, so that a tile needs at most ``budget``
    and advances at most :data:`MAX_LANES` pair-chains (``chains`` per pair) at a time.

    For K(X) (``same``) the tiles are square and at most ``1 / SAME_SPLIT`` of the samples wide, so that the
    tiles below the diagonal, which are skipped, are most of the lower triangle. For K(X, Y) a tile takes as many
    columns as fit (up to all of Y), then rows.

    Returns
    -------
    rows, columns : int
    """
    pairs = max(MIN_BLOCK * MIN_BLOCK, min(budget // max(bytes_per_pair, 1), MAX_LANES // max(chains, 1)))
    if same:
        side = min(_power_of_two_at_most(int(pairs**0.5)), _power_of_two_at_least(-(-n_x // SAME_SPLIT)))
        side = max(side, MIN_BLOCK)
        return side, side
    columns = max(MIN_BLOCK, min(_power_of_two_at_least(n_y), _power_of_two_at_most(pairs // MIN_BLOCK)))
    rows = max(MIN_BLOCK, min(_power_of_two_at_least(n_x), _power_of_two_at_most(pairs // columns)))
    return rows, columns


def tiles(n_x: int, n_y: int, rows: int, columns: int, same: bool) -> list[tuple[int, int]]:
    """The ``(row block, column block)`` indices to compute; for K(X) only those on or above the diagonal."""
    n_row_blocks, n_column_blocks = -(-n_x // rows), -(-n_y // columns)
    return [(a, b) for a in range(n_row_blocks) for b in range(n_column_blocks) if not same or b >= a]


def assemble(pending, n_x: int, n_y: int, rows: int, columns: int, same: bool):
    """The ``(n_x, n_y)`` matrix of the tiles ``pending`` (``(row block, column block, device array)``).

    Tiles are fetched in the order they were dispatched (JAX runs them asynchronously). For K(X) each tile
    above the diagonal is also written, transposed, below it, and a diagonal tile mirrors its own upper
    triangle, so the result is exactly symmetric; mirroring per tile rather than with ``np.triu`` over the
    whole matrix saves three passes over it on the host, which cost seconds at N = 20000.

    Returns
    -------
    ndarray of shape (n_x, n_y), float64
        Padded rows and columns (beyond the samples) included.
    """
    result = np.empty((n_x, n_y))
    for a, b, block in pending:
        block = np.asarray(block)
        ra, cb = slice(a * rows, (a + 1) * rows), slice(b * columns, (b + 1) * columns)
        if same and a == b:
            block = np.triu(block) + np.triu(block, 1).T
        result[ra, cb] = block
        if same and b > a:
            result[cb, ra] = block.T
    return result
