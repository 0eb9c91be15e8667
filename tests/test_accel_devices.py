"""Device selection of the accelerator engine: names, the fallback to the numba engine with its message when
JAX or a GPU is missing, the strictness of ``gram``, float64 kept local, and tiles sized to a memory budget."""

from __future__ import annotations

import numpy as np
import pytest

from rntk_bench.errors import InvalidInputError, InvalidParameterError, RntkBenchError
from rntk_bench.kernels import accel, get_kernel
from rntk_bench.kernels.accel import backend


@pytest.fixture
def without_jax(monkeypatch):
    """JAX as if not installed."""
    def missing():
        raise ImportError("No module named 'jax'")
    monkeypatch.setattr(backend, "import_jax", missing)


@pytest.fixture
def without_gpu(monkeypatch):
    """JAX as on a machine without an accelerator (also where the tests run on one)."""
    real = backend.platform_devices
    monkeypatch.setattr(accel, "platform_devices",
                        lambda jax, platform: [] if platform == "gpu" else real(jax, platform))


def test_numba_is_always_there_and_names_are_checked():
    assert accel.resolve_device("numba") == (accel.Device("numba"), None)
    assert "numba" in accel.available_devices()
    for name in ("tpu", "cpu:1", "gpu:x", ""):
        with pytest.raises(InvalidParameterError, match="auto, numba, cpu, gpu, gpu:N"):
            accel.resolve_device(name)
    assert issubclass(accel.DeviceUnavailableError, RntkBenchError)


def test_without_jax_every_request_falls_back_to_numba_with_a_message(without_jax):
    assert accel.available_devices() == ["numba"]
    for name in ("auto", "gpu", "gpu:1", "cpu", None):
        device, message = accel.resolve_device(name)
        assert device == accel.Device("numba")
        assert "No module named 'jax'" in message and "numba CPU engine" in message
        assert "pip install 'rntk-bench[gpu]'" in message
    X = np.random.default_rng(0).normal(size=(5, 6))
    with pytest.raises(accel.DeviceUnavailableError, match="No module named 'jax'"):
        accel.gram("rntk", {}, X, device="gpu")
    expected = get_kernel("rntk", n_layers=2)(X)
    assert np.array_equal(accel.gram("rntk", {"n_layers": 2}, X, device="auto"), expected)
    device, _ = accel.resolve_device("gpu")
    assert np.array_equal(accel.gram("rntk", {"n_layers": 2}, X, device=device), expected)


def test_without_gpu_the_message_says_what_jax_sees(without_gpu):
    pytest.importorskip("jax")
    for name in ("gpu", "gpu:0", "auto"):
        device, message = accel.resolve_device(name)
        assert device == accel.Device("numba")
        assert "sees 0 GPU(s)" in message and "numba CPU engine" in message
    with pytest.raises(accel.DeviceUnavailableError, match="sees 0 GPU"):
        accel.device_kernel("ntk", "gpu:0")
    assert accel.resolve_device("cpu") == (accel.Device("jax", "cpu", 0), None)
    assert accel.available_devices() == ["numba", "cpu"]


def test_device_kernel_is_the_registered_kernel_on_a_device():
    pytest.importorskip("jax")
    k = accel.device_kernel("ntk", "cpu", n_layers=2, sigma_b=0.1)
    reference = get_kernel("ntk", n_layers=2, sigma_b=0.1)
    assert (k.id, k.name, dict(k.params)) == (reference.id, reference.name, dict(reference.params))
    assert str(k.device) == "cpu" and "JAX" in k.device.describe()
    # kernels the engine does not cover run their own code on any device
    X = np.random.default_rng(1).normal(size=(4, 3))
    assert np.array_equal(accel.gram("rbf", {"gamma": 0.5}, X, device="cpu"), get_kernel("rbf", gamma=0.5)(X))
    with pytest.raises(InvalidParameterError, match="n_layers"):
        accel.gram("ntk", {"n_layers": -1}, X, device="cpu")
    with pytest.raises(InvalidInputError):
        accel.gram("rntk", {}, np.array([[0.0, np.nan]]), device="cpu")


def test_float64_stays_inside_the_engine():
    jax = pytest.importorskip("jax")
    before = jax.config.jax_enable_x64
    accel.gram("ntk", {}, np.random.default_rng(2).normal(size=(3, 2)), device="cpu")
    assert jax.config.jax_enable_x64 == before
    if not before:
        assert jax.numpy.ones(2).dtype == np.float32


class _FakeDevice:
    def __init__(self, stats):
        self.stats = stats

    def memory_stats(self):
        return self.stats


def test_tiles_fit_the_budget():
    gib = 2**30
    assert backend.tile_budget(_FakeDevice({"bytes_limit": 10 * gib, "bytes_in_use": 2 * gib})) == 4 * gib
    assert backend.tile_budget(_FakeDevice(None)) == backend.CPU_BUDGET_BYTES
    assert backend.tile_budget(_FakeDevice(None), memory_bytes=123) == 123
    for n_x, n_y, same in ((10, 10, True), (5000, 5000, True), (20000, 2000, False), (3, 100000, False)):
        for per_pair in (352, 35000):
            for budget in (2**20, 512 * 2**20, 64 * gib):
                rows, columns = backend.block_sides(n_x, n_y, same, per_pair, budget)
                assert rows * columns * per_pair <= max(budget, 64 * per_pair)
                blocks = backend.tiles(n_x, n_y if not same else n_x, rows, columns, same)
                covered = {(a, b) for a in range(-(-n_x // rows)) for b in range(-(-n_y // columns))}
                assert set(blocks) == ({(a, b) for a, b in covered if b >= a} if same else covered)


def test_assemble_mirrors_each_tile_into_an_exactly_symmetric_matrix():
    """K(X) from the tiles on and above the diagonal: each tile's values land where they belong, those above
    the diagonal also transposed below it, and the result equals the whole-matrix mirror it replaced."""
    rng = np.random.default_rng(3)
    n, side = 24, 8
    full = rng.normal(size=(n, n))
    pending = [(a, b, full[a * side:(a + 1) * side, b * side:(b + 1) * side])
               for a, b in backend.tiles(n, n, side, side, True)]
    result = backend.assemble(pending, n, n, side, side, True)
    np.testing.assert_array_equal(result, np.triu(full) + np.triu(full, 1).T)
    np.testing.assert_array_equal(result, result.T)
    # K(X, Y): every tile is computed and placed as it is
    n_x, n_y, rows, columns = 16, 24, 8, 16
    cross = rng.normal(size=(n_x, n_y))
    pending = [(a, b, cross[a * rows:(a + 1) * rows, b * columns:(b + 1) * columns])
               for a, b in backend.tiles(n_x, n_y, rows, columns, False)]
    np.testing.assert_array_equal(backend.assemble(pending, n_x, n_y, rows, columns, False), cross)


def test_pair_steps_counts_the_benchmarks_work_and_min_work_sends_small_calls_to_numba(monkeypatch):
    from rntk_bench.kernels.accel import rntk as accel_rntk

    params = dict(get_kernel("rntk", n_layers=2, output="mean", direction="bidirectional").params)
    assert accel.pair_steps("rntk", params, [4, 4, 4], [4, 4, 4], True) == 6 * 16 * 2 * 2
    last = dict(get_kernel("rntk").params)
    assert accel.pair_steps("rntk", last, [10, 10], [6, 6, 6], False) == 6 * 6
    assert accel.pair_steps("ntk", {"n_layers": 3}, [1] * 4, [1] * 5, False) == 60
    pytest.importorskip("jax")
    calls = []
    real = accel_rntk.rntk_gram
    monkeypatch.setattr(accel_rntk, "rntk_gram", lambda *a, **k: calls.append(1) or real(*a, **k))
    X = np.random.default_rng(0).normal(size=(5, 7))
    expected = get_kernel("rntk")(X)
    below = accel.device_kernel("rntk", "cpu", min_work=15 * 7 + 1)(X)   # 15 pairs x 7 steps: below
    assert not calls
    np.testing.assert_array_equal(below, expected)
    at = accel.device_kernel("rntk", "cpu", min_work=15 * 7)(X)
    assert calls == [1]
    np.testing.assert_allclose(at, expected, rtol=1e-12, atol=0)
