"""tiled_gram: one Gram matrix as upper-triangle tiles, in-process and on a real dask cluster."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from rntk_bench.errors import InvalidInputError, InvalidParameterError, RunError, WriteError
from rntk_bench.kernels import get_kernel, register_kernel
from rntk_bench.kernels import plugins as plugin_module
from rntk_bench.kernels.validation import check_vectors
from rntk_bench.tiled_gram import TILE_COPIES, default_tile, tiled_gram, worker_peak_bytes


@pytest.fixture(autouse=True)
def clean_registry(kernel_registry):
    """Kernels and plugins registered by a test are gone after it (conftest's ``kernel_registry``)."""
    yield


def _series(rng, n: int, channels: int = 2, low: int = 3, high: int = 12) -> list[np.ndarray]:
    """Unequal lengths, with two exact duplicates (pairs that are not the same sample)."""
    series = [rng.standard_normal((channels, int(length))) for length in rng.integers(low, high, size=n)]
    if n > 9:
        series[9] = series[2].copy()
        series[n - 1] = series[4].copy()
    return series


RNTK_SETTINGS = [
    {},
    {"sigma_h": 0.7, "output": "mean", "direction": "bidirectional", "n_layers": 2},
    {"activation": "erf", "direction": "reversed", "sigma_h": 0.3},
    {"output": "mean", "n_layers": 2, "fixed_layers": 2},
]


@pytest.mark.parametrize("params", RNTK_SETTINGS)
def test_rntk_tiles_equal_the_whole_gram_matrix_to_the_last_bit(rng, params):
    kernel = get_kernel("rntk", **params)
    X = _series(rng, 23)
    whole = kernel(X)
    for tile in (1, 4, 10, 23, 50):
        assert np.array_equal(tiled_gram(kernel, X, tile=tile), whole), tile


def test_rntk_diagonal_terms_enter_true_self_pairs_only(rng):
    """sigma_h > 0 with unequal lengths: the tiled diagonal is K(X)'s, which K(X, X) (distinct samples) lacks."""
    kernel = get_kernel("rntk", sigma_h=0.9, output="mean")
    X = _series(rng, 11)
    tiled = tiled_gram(kernel, X, tile=3)
    cross = kernel(X, [x.copy() for x in X])
    assert np.array_equal(tiled, kernel(X))
    assert np.all(np.diag(tiled) > np.diag(cross))
    off = ~np.eye(len(X), dtype=bool)
    np.testing.assert_allclose(tiled[off], cross[off], rtol=1e-12, atol=0)


VECTOR_SETTINGS = [("ntk", {"n_layers": 3}), ("ntk", {"n_layers": 2, "activation": "erf", "sigma_b": 0.3}),
                   ("rbf", {}), ("poly", {"degree": 4}), ("linear", {})]


@pytest.mark.parametrize(("name", "params"), VECTOR_SETTINGS)
def test_vector_kernels_agree_with_the_whole_matrix_to_1e_12(rng, name, params):
    """BLAS rounds inner products differently for other shapes: not bitwise (see tiled_gram's Notes), but
    within 1e-12 of max |K|, exactly symmetric, and the same on every call with the same tile."""
    kernel = get_kernel(name, **params)
    X = rng.standard_normal((37, 11))
    whole = kernel(X)
    for tile in (1, 5, 37):
        tiled = tiled_gram(kernel, X, tile=tile)
        assert np.abs(tiled - whole).max() <= 1e-12 * np.abs(whole).max()
        assert np.array_equal(tiled, tiled.T)
        assert np.array_equal(tiled, tiled_gram(kernel, X, tile=tile))


@pytest.mark.parametrize(("n", "tile"), [(1, 1), (1, 8), (5, 8), (7, 3), (9, 9), (10, 4)])
def test_sizes_that_do_not_divide_into_tiles(rng, n, tile):
    for kernel, X in ((get_kernel("rntk", sigma_h=0.2), _series(rng, n)), (get_kernel("poly"), rng.random((n, 3)))):
        tiled = tiled_gram(kernel, X, tile=tile)
        assert tiled.shape == (n, n) and tiled.dtype == np.float64
        np.testing.assert_allclose(tiled, kernel(X), rtol=1e-13, atol=0)


def test_npy_output_is_memory_mappable_equal_and_leaves_no_temporary(rng, tmp_path):
    kernel = get_kernel("rntk", sigma_h=0.4, output="mean")
    X = _series(rng, 13)
    target = tmp_path / "K.npy"
    result = tiled_gram(kernel, X, tile=5, out=target)
    assert isinstance(result, np.memmap) and not result.flags.writeable
    assert np.array_equal(result, kernel(X))
    assert np.array_equal(np.load(target, mmap_mode="r"), tiled_gram(kernel, X, tile=5))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["K.npy"]


def _exploding_kernel():
    """A vector kernel whose tiles with a row starting with 99 have an inf entry (refused by Kernel)."""
    @register_kernel("tg_explode")
    def tg_explode(X, Y=None):
        X = check_vectors(X, "X")
        Y = X if Y is None else check_vectors(Y, "Y")
        gram = X @ Y.T
        gram[X[:, 0] == 99.0, :] = np.inf
        return gram

    return get_kernel("tg_explode")


def test_a_failing_tile_leaves_neither_the_file_nor_a_temporary(rng, tmp_path):
    X = rng.random((12, 3))
    X[10, 0] = 99.0                       # in the last row block: several tiles are written before it fails
    target = tmp_path / "K.npy"
    with pytest.raises(InvalidInputError, match="tg_explode"):
        tiled_gram(_exploding_kernel(), X, tile=4, out=target)
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"the old file")
    with pytest.raises(InvalidInputError):
        tiled_gram(get_kernel("tg_explode"), X, tile=4, out=target)
    assert list(tmp_path.iterdir()) == [target] and target.read_bytes() == b"the old file"


def test_an_interrupt_mid_run_removes_the_temporary(rng, tmp_path):
    def interrupt(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tiled_gram(get_kernel("linear"), rng.random((9, 2)), tile=3, out=tmp_path / "K.npy", progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_are_one_clear_error_each(rng, tmp_path):
    X = rng.random((6, 3))
    for tile in (0, -2, 2.5, True, "4"):
        with pytest.raises(InvalidParameterError, match="tile must be a whole number of rows >= 1"):
            tiled_gram(get_kernel("rbf"), X, tile=tile)
    with pytest.raises(InvalidParameterError, match="threads must be None or a whole number >= 1"):
        tiled_gram(get_kernel("rbf"), X, threads=0)
    with pytest.raises(InvalidParameterError, match="must be a Kernel"):
        tiled_gram("rbf", X)
    unequal = [rng.random((1, 5)), rng.random((1, 7))]
    with pytest.raises(InvalidInputError, match=r"X is not vector input for kernel rbf\[gamma=None\].*unequal"):
        tiled_gram(get_kernel("rbf"), unequal)
    with pytest.raises(InvalidParameterError, match="'tg_explode' comes from module .* pass plugins="):
        tiled_gram(_exploding_kernel(), X, client="tcp://127.0.0.1:9")
    missing = tmp_path / "no" / "such" / "folder" / "K.npy"
    with pytest.raises(WriteError, match=f"folder {missing.parent} does not exist"):
        tiled_gram(get_kernel("rbf"), X, out=missing)
    assert not (tmp_path / "no").exists()


def test_an_unreachable_scheduler_is_named(rng):
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(RunError, match=f"cannot reach the dask scheduler at '{address}'"):
        tiled_gram(get_kernel("rbf"), rng.random((4, 2)), client=address, timeout="1s")


def test_default_tile_fills_the_budget_and_splits_for_workers():
    budget = 1 << 30
    tile = default_tile(100_000, memory_budget=budget)
    assert TILE_COPIES * 8 * tile**2 <= budget < TILE_COPIES * 8 * (tile + 1) ** 2
    assert default_tile(50) == 50 and default_tile(1) == 1
    for workers in (1, 3, 8):
        tile = default_tile(2000, workers=workers)
        blocks = -(-2000 // tile)
        assert blocks * (blocks + 1) // 2 >= 2 * workers
    with pytest.raises(InvalidParameterError, match="memory_budget"):
        default_tile(10, memory_budget=8)


def test_peak_memory_is_a_few_tiles_not_the_matrix(rng, tmp_path):
    """With out=path nothing of n x n is held in memory; numpy's allocations stay within the estimate."""
    kernel = get_kernel("ntk", n_layers=2)
    X = rng.standard_normal((400, 10))
    estimate = worker_peak_bytes(kernel, X, 50)
    assert estimate == X.nbytes + TILE_COPIES * 8 * 50 * 50
    tiled_gram(kernel, X, tile=50, out=tmp_path / "warm.npy", threads=None)
    tracemalloc.start()
    try:  # threads=None: threadpoolctl's bookkeeping (~0.4 MB of Python objects, once per call) is not counted
        tiled_gram(kernel, X, tile=50, out=tmp_path / "K.npy", threads=None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= estimate < 400 * 400 * 8 / 4
    rntk = get_kernel("rntk", n_layers=2)
    assert worker_peak_bytes(rntk, _series(rng, 30), 10) > worker_peak_bytes(rntk, _series(rng, 30), 5)


# ------------------------------------------------------------------------------------ a real dask cluster

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(folder: Path, n_workers: int = 2):
    """A `dask scheduler` and ``n_workers`` `dask worker` processes (no nanny, so that killing one's process
    kills the worker) on 127.0.0.1; yields (address, worker processes)."""
    from distributed import Client

    dask = Path(sys.executable).with_name("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], cwd=folder, **quiet)]
    try:
        workers = []
        for index in range(n_workers):
            (folder / f"worker{index}").mkdir()
            workers.append(subprocess.Popen([str(dask), "worker", address, "--nthreads", "1", "--no-nanny",
                                             "--no-dashboard", "--host", "127.0.0.1"],
                                            cwd=folder / f"worker{index}", **quiet))
        processes += workers
        deadline = time.monotonic() + 120
        while True:  # the scheduler takes a moment to listen, and the workers to register
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(n_workers, timeout=max(1.0, deadline - time.monotonic()))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        yield address, workers
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.slow
def test_a_dask_cluster_gives_the_local_result_to_the_last_bit(rng, tmp_path):
    from distributed import Client, get_task_stream

    sequences = _series(rng, 31)
    vectors = rng.standard_normal((45, 20))
    cases = [(get_kernel("rntk", sigma_h=0.5, output="mean", direction="bidirectional"), sequences, 6),
             (get_kernel("ntk", n_layers=2, activation="erf"), vectors, 8),
             (get_kernel("rbf"), vectors, 7)]
    with dask_cluster(tmp_path) as (address, _):
        with Client(address, timeout="10s") as client:
            for kernel, X, tile in cases:
                local = tiled_gram(kernel, X, tile=tile)
                with get_task_stream(client) as stream:
                    remote = tiled_gram(kernel, X, tile=tile, client=client)
                assert np.array_equal(remote, local), kernel.id
                tiles = [task for task in stream.data if task["key"].startswith("tiled-gram-")]
                assert len({task["worker"] for task in tiles}) == 2  # both workers computed tiles
        written = tiled_gram(cases[0][0], sequences, tile=6, client=address, out=tmp_path / "K.npy")
    assert np.array_equal(written, cases[0][0](sequences))
    assert sorted(path.name for path in tmp_path.glob("*.npy*")) == ["K.npy"]


SLOW_PLUGIN = """
import time

from rntk_bench.kernels import get_kernel, register_kernel


@register_kernel("tg_slow_rntk", input_kind="sequence")
def tg_slow_rntk(X, Y=None, *, sigma_h: float = 0.0, delay: float = 0.0):
    time.sleep(delay)
    return get_kernel("rntk", sigma_h=sigma_h, output="mean")(X, Y)
"""


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_no_tile(rng, tmp_path):
    """One of two workers is killed after the first tiles: its tile is recomputed on the other, the blocks
    it held are scattered again, and the result is the exact one. The kernel comes from a file plugin
    that the workers only get as the source shipped with the tasks."""
    plugin_file = tmp_path / "slow_plugin.py"
    plugin_file.write_text(textwrap.dedent(SLOW_PLUGIN))
    plugin = plugin_module.load_plugin(str(plugin_file))
    plugin_file.unlink()
    X = _series(rng, 20)
    expected = get_kernel("rntk", sigma_h=0.6, output="mean")(X)
    kernel = get_kernel("tg_slow_rntk", sigma_h=0.6, delay=0.4)
    with dask_cluster(tmp_path) as (address, workers):
        done_when_killed = []

        def kill_one(done, total):
            if done == 3:
                workers[0].kill()
                workers[0].wait()
                done_when_killed.append(total)

        result = tiled_gram(kernel, X, tile=4, client=address, plugins=[plugin], progress=kill_one)
        assert done_when_killed == [15] and workers[0].poll() is not None
    assert np.array_equal(result, expected)
