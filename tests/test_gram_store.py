"""The on-disk Gram store: round trips, atomic files, shared parts computed once, and the runner's use of it."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rntk_bench.config import build_config
from rntk_bench.gram_store import (
    GramStore,
    kernel_parts,
    part_key,
    shares_grams,
    stored_gram,
    stored_part_ids,
)
from rntk_bench.kernels import get_kernel
from rntk_bench.protocols import evaluate_setting
from rntk_bench.run_data import PreloadedDatasets
from rntk_bench.run_folder import read_task_results
from rntk_bench.runner import PARTS_DIR, run_benchmark

_SPEC = importlib.util.spec_from_file_location("synthetic", Path(__file__).parent / "data" / "runner" / "synthetic.py")
synthetic = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(synthetic)


def test_store_round_trip_computes_once_and_forgets_per_dataset(tmp_path):
    store = GramStore(tmp_path / "store")
    calls = []

    def compute():
        calls.append(1)
        return np.arange(6.0).reshape(2, 3)

    first = store.load_or_compute("uci:a/b", "k1", compute)
    again = store.load_or_compute("uci:a/b", "k1", compute)
    np.testing.assert_array_equal(first, again)
    assert len(calls) == 1 and again.dtype == np.float64
    assert store.path("uci:a/b", "k1").is_file() and ":" not in store.path("uci:a/b", "k1").parent.name
    assert not list(store.path("uci:a/b", "k1").parent.glob("*.tmp"))  # no temporary file left behind
    store.load_or_compute("other", "k1", compute)
    store.forget("uci:a/b")
    assert not store.path("uci:a/b", "k1").exists() and store.path("other", "k1").exists()
    store.clear()
    assert not (tmp_path / "store").exists()


def test_a_damaged_file_is_recomputed(tmp_path):
    store = GramStore(tmp_path)
    path = store.path("d", "k")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a numpy file")
    np.testing.assert_array_equal(store.load_or_compute("d", "k", lambda: np.ones((2, 2))), np.ones((2, 2)))


def test_a_failing_computation_leaves_no_file(tmp_path):
    store = GramStore(tmp_path)

    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.load_or_compute("d", "k", fail)
    assert not store.path("d", "k").exists()


def test_the_rntk_shares_parts_and_siblings_other_kernels_do_not():
    assert shares_grams("rntk", {"direction": "bidirectional"})
    assert shares_grams("rntk", {"direction": "forward"})  # with its NNGP sibling
    assert not shares_grams("rntk", {"n_layers": 2, "fixed_layers": 1})
    assert not shares_grams("rbf", {"gamma": 0.5})
    assert [k.params["direction"] for k in kernel_parts("rntk", {"direction": "bidirectional"})] == [
        "forward", "reversed"]


def test_stored_part_ids_name_every_setting_whose_files_a_setting_touches():
    forward = dict(get_kernel("rntk", direction="forward").params)
    ids = stored_part_ids("rntk", {**forward, "direction": "bidirectional"})
    expected = [get_kernel("rntk", **{**forward, "direction": direction, "fixed_layers": fixed}).id
                for direction in ("forward", "reversed") for fixed in (0, 1)]  # parts x (RNTK, NNGP)
    assert list(ids) == expected
    nngp = stored_part_ids("rntk", {**forward, "fixed_layers": 1})
    assert set(nngp) == set(expected[:2]) and set(stored_part_ids("rntk", forward)) == set(nngp)
    two_layers = dict(get_kernel("rntk", n_layers=2, fixed_layers=1, direction="bidirectional").params)
    forward_alone = get_kernel("rntk", **{**two_layers, "direction": "forward"})
    assert stored_part_ids("rntk", two_layers) == (  # fixed_layers = 1 of 2 has no sibling
        forward_alone.id, get_kernel("rntk", **{**two_layers, "direction": "reversed"}).id)
    assert stored_part_ids("rntk", forward_alone.params) == (forward_alone.id,)
    assert stored_part_ids("rbf", {"gamma": 0.5}) == (get_kernel("rbf", gamma=0.5).id,)


def test_forget_part_deletes_one_settings_blocks_only(tmp_path):
    dataset = synthetic.series_dataset(n_train=6, n_test=4, length=5)
    store = GramStore(tmp_path)
    params = dict(get_kernel("rntk", direction="bidirectional").params)
    gram = stored_gram(store, dataset, "rntk", params)
    X = dataset.X
    gram("train", X[:6], X[:6])
    gram("test", X[6:], X[:6])
    ids = stored_part_ids("rntk", params)
    files = {part: sorted(p.name for p in store.root.rglob(f"{part_key(part)}-*.npy")) for part in ids}
    assert all(len(names) == 2 for names in files.values())  # two blocks of each part and sibling
    store.forget_part(dataset.name, ids[0])
    left = sorted(p.name for p in store.root.rglob("*.npy"))
    assert left == sorted(name for part in ids[1:] for name in files[part])
    store.forget_part("another dataset", ids[1])  # nothing of that dataset: nothing happens
    assert sorted(p.name for p in store.root.rglob("*.npy")) == left


def test_stored_gram_shares_parts_between_settings_and_scores_like_direct_computation(tmp_path, monkeypatch):
    rntk_module = importlib.import_module("rntk_bench.kernels.rntk")

    dataset = synthetic.series_dataset(n_train=16, n_test=8, length=7, seed=3)
    calls = []
    compute = rntk_module.compute_rntk
    monkeypatch.setattr(rntk_module, "compute_rntk", lambda *a, **k: calls.append(a[3].direction) or compute(*a, **k))
    store = GramStore(tmp_path)
    for direction in ("bidirectional", "forward", "reversed"):
        params = dict(get_kernel("rntk", direction=direction, sigma_h=0.2).params)
        shared = evaluate_setting(get_kernel("rntk", **params), dataset, [1.0, 100.0],
                                  gram=stored_gram(store, dataset, "rntk", params))
        direct = evaluate_setting(get_kernel("rntk", **params), dataset, [1.0, 100.0])
        assert shared["selection_accuracy"] == direct["selection_accuracy"]
        assert shared["splits"] == direct["splits"]
    # the shared run: forward and reversed once per Gram block (train-train, test-train), nothing else
    shared_calls = calls[:4]
    assert sorted(shared_calls) == ["forward", "forward", "reversed", "reversed"]
    assert calls[4:] == ["bidirectional", "bidirectional", "forward", "forward", "reversed", "reversed"]


def test_a_run_shares_parts_in_a_private_folder_and_deletes_it(tmp_path):
    loader = PreloadedDatasets({"waves": synthetic.series_dataset(), "blobs": synthetic.uci_dataset()})
    config = build_config(suite="synthetic", datasets=["waves", "blobs"], kernels=["rntk"],
                          grids={"rntk": {"direction": ["forward", "reversed", "bidirectional"], "n_layers": [1],
                                          "sigma_u": [0.5], "sigma_b": [0.1], "sigma_h": [0.0],
                                          "C": [1.0, 100.0]}})
    outcome = run_benchmark(config, tmp_path / "run", loader=loader)
    assert outcome.n_failed == 0 and set(outcome.table["status"]) == {"ok"}
    assert not (tmp_path / "run" / PARTS_DIR).exists()
    for name in ("waves", "blobs"):
        dataset = loader(name)
        row = outcome.table[outcome.table.dataset == name].iloc[0]
        params = dict(get_kernel("rntk", **json.loads(row["params"])).params)
        direct = evaluate_setting(get_kernel("rntk", **params), dataset, [1.0, 100.0])
        c_index = [1.0, 100.0].index(row["C"])
        first_split = outcome.table[outcome.table.dataset == name]["split"].iloc[0]
        assert row["cv_accuracy"] == direct["selection_accuracy"][c_index]
        assert row["test_accuracy"] == direct["splits"][first_split]["test_accuracy"][c_index]


def test_a_sibling_computed_in_the_same_pass_is_read_back(tmp_path, monkeypatch):
    rntk_module = importlib.import_module("rntk_bench.kernels.rntk")

    dataset = synthetic.uci_dataset(n=30, n_features=5, seed=2)
    calls = []
    compute = rntk_module.compute_rntk
    def counting(*args, **kwargs):
        calls.append((args[3].fixed_layers, kwargs.get("with_nngp", False)))
        return compute(*args, **kwargs)

    monkeypatch.setattr(rntk_module, "compute_rntk", counting)
    store = GramStore(tmp_path)
    for fixed in (0, 1):  # n_layers = 1: the RNTK and its NNGP
        params = dict(get_kernel("rntk", fixed_layers=fixed, output="mean").params)
        shared = evaluate_setting(get_kernel("rntk", **params), dataset, [1.0, 100.0],
                                  gram=stored_gram(store, dataset, "rntk", params))
        direct = evaluate_setting(get_kernel("rntk", **params), dataset, [1.0, 100.0])
        assert shared["selection_accuracy"] == direct["selection_accuracy"] and shared["splits"] == direct["splits"]
    # one pass for both settings (the UCI protocol has one Gram block), then the two direct computations
    assert calls == [(0, True), (0, False), (1, False)]


def _follow_up_grid(sigma_u):
    return {"rntk": {"direction": ["forward", "reversed", "bidirectional"], "n_layers": [1], "fixed_layers": [0, 1],
                     "sigma_u": sigma_u, "sigma_b": [0.1], "sigma_h": [0.0], "output": ["last"],
                     "C": [1.0, 100.0]}}


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_run_deletes_each_part_after_its_last_reader_and_computes_each_once(tmp_path, monkeypatch, n_jobs):
    rntk_module = importlib.import_module("rntk_bench.kernels.rntk")

    # six groups of six settings (direction x fixed_layers), each group sharing four settings' files
    sigma_u = [0.25, 0.5, 0.75, 1.0, 1.25, 1.5]
    loader = PreloadedDatasets({"waves": synthetic.series_dataset(n_train=12, n_test=8, length=6)})
    config = build_config(suite="synthetic", datasets=["waves"], kernels=["rntk"], grids=_follow_up_grid(sigma_u),
                          n_jobs=n_jobs)
    calls = []
    compute = rntk_module.compute_rntk
    monkeypatch.setattr(rntk_module, "compute_rntk", lambda *a, **k: calls.append(a[3].direction) or compute(*a, **k))
    parts = tmp_path / "run" / PARTS_DIR
    peak = []

    def progress(done, total, label):
        peak.append(len({path.name.split("-")[0] for path in parts.rglob("*.npy")}))

    outcome = run_benchmark(config, tmp_path / "run", loader=loader, progress=progress)
    assert outcome.n_failed == 0 and outcome.n_run == 36 and not parts.exists()
    # all 24 shared settings' files are written, but a group's (four settings) are deleted after its last
    # task; with one worker a single group is on disk at a time. With two, which group is alive when depends
    # on timing (a slow reader keeps its group while the other worker goes on), so only "not all" is sure
    assert 4 <= max(peak) < 24, peak
    if n_jobs == 1:  # in-process: each direction once per Gram block (train-train, test-train) and sigma_u
        assert sorted(calls) == sorted(["forward", "reversed"] * 2 * len(sigma_u))
        assert max(peak) == 4
    reference = run_benchmark(build_config(suite="synthetic", datasets=["waves"], kernels=["rntk"],
                                           grids=_follow_up_grid(sigma_u), cache_dir=str(tmp_path / "cache")),
                              tmp_path / "reference", loader=loader)
    columns = ["dataset", "kernel_id", "C", "cv_accuracy", "test_accuracy"]
    pd.testing.assert_frame_equal(outcome.table[columns], reference.table[columns])


def _shared_run(tmp_path, monkeypatch, grid: dict, recorded: str) -> tuple[list, dict]:
    """Run ``grid`` on a small series dataset, recording ``recorded`` of each engine call's RNTKParams; the
    run's calls and its scores by kernel id."""
    rntk_module = importlib.import_module("rntk_bench.kernels.rntk")
    calls = []
    compute = rntk_module.compute_rntk
    monkeypatch.setattr(rntk_module, "compute_rntk",
                        lambda *a, **k: calls.append(getattr(a[3], recorded)) or compute(*a, **k))
    config = build_config(suite="synthetic", datasets=["waves"], kernels=["rntk"], grids={"rntk": grid})
    outcome = run_benchmark(config, tmp_path / "run", loader=_WAVES)
    assert outcome.n_failed == 0
    scores = {r["kernel_id"]: (r["selection_accuracy"], r["splits"]) for r in read_task_results(tmp_path / "run")}
    return calls, scores


def _assert_each_alone_scores_the_same(tmp_path, grid: dict, name: str, scores: dict) -> None:
    """Each value of ``grid[name]`` run alone (nothing read from another task) scores as in the shared run."""
    for value in grid[name]:
        alone = build_config(suite="synthetic", datasets=["waves"], kernels=["rntk"],
                             grids={"rntk": {**grid, name: [value]}})
        run_benchmark(alone, tmp_path / str(value), loader=_WAVES)
        [result] = read_task_results(tmp_path / str(value))
        assert scores[result["kernel_id"]] == (result["selection_accuracy"], result["splits"])


_WAVES = PreloadedDatasets({"waves": synthetic.series_dataset(n_train=12, n_test=8, length=6)})


def test_a_setting_without_siblings_reads_its_direction_from_the_bidirectional_task(tmp_path, monkeypatch):
    # fixed_layers = 1 of 2 layers has no NNGP sibling, but its forward and reversed settings are the parts
    # of its bidirectional setting: each direction is computed once per Gram block, not twice
    grid = {"direction": ["forward", "reversed", "bidirectional"], "n_layers": [2], "fixed_layers": [1],
            "sigma_u": [0.5], "sigma_b": [0.1], "sigma_h": [0.0], "C": [1.0, 100.0]}
    calls, scores = _shared_run(tmp_path, monkeypatch, grid, "direction")
    assert len(scores) == 3 and sorted(calls) == ["forward", "forward", "reversed", "reversed"]
    _assert_each_alone_scores_the_same(tmp_path, grid, "direction", scores)


def test_a_shallower_setting_reads_the_gram_matrices_of_the_deeper_pass(tmp_path, monkeypatch):
    # n_layers in {1, 2}: the two-layer pass also reads out the one-layer kernels (its bottom layer), so the
    # engine runs once per Gram block, for two layers, and the one-layer task reads its matrices back
    grid = {"n_layers": [1, 2], "output": ["mean"], "sigma_u": [0.5], "sigma_b": [0.1], "sigma_h": [0.3],
            "C": [1.0, 100.0]}
    calls, scores = _shared_run(tmp_path, monkeypatch, grid, "n_layers")
    assert len(scores) == 2 and calls == [2, 2]  # train-train and test-train blocks, both depths from each
    _assert_each_alone_scores_the_same(tmp_path, grid, "n_layers", scores)


def _claimed_setup(tmp_path, monkeypatch):
    """A store holding one setting's block, with that block's file replaced by a claim to fill in."""
    rntk_module = importlib.import_module("rntk_bench.kernels.rntk")
    dataset = synthetic.uci_dataset(n=20, n_features=4, seed=5)
    params = dict(get_kernel("rntk", output="last").params)
    store = GramStore(tmp_path)
    expected = stored_gram(store, dataset, "rntk", params)("all", dataset.X, None)
    assert not list(tmp_path.rglob("*.claim"))  # released once the files are written
    [path] = [p for p in tmp_path.rglob("*.npy") if p.name.startswith(part_key(get_kernel("rntk", **params).id))]
    path.unlink()
    calls = []
    compute = rntk_module.compute_rntk
    monkeypatch.setattr(rntk_module, "compute_rntk", lambda *a, **k: calls.append(1) or compute(*a, **k))
    return dataset, params, store, expected, path, calls


def test_a_part_claimed_by_a_live_worker_is_waited_for_not_computed(tmp_path, monkeypatch):
    import socket
    import subprocess
    import threading
    import time

    dataset, params, store, expected, path, calls = _claimed_setup(tmp_path, monkeypatch)
    worker = subprocess.Popen(["sleep", "60"])  # a live process of this host holds the claim
    claim = path.with_suffix(".claim")
    try:
        claim.write_text(f"{socket.gethostname()} {worker.pid}\n")

        def finish():  # the claiming worker saves the block, then gives up its claim
            time.sleep(0.6)
            store.save(dataset.name, path.stem, expected)
            claim.unlink()

        threading.Thread(target=finish).start()
        start = time.perf_counter()
        value = stored_gram(store, dataset, "rntk", params)("all", dataset.X, None)
        waited = time.perf_counter() - start
    finally:
        worker.kill()
        worker.wait()
    np.testing.assert_array_equal(value, expected)
    assert calls == [] and waited >= 0.5


@pytest.mark.parametrize("holder", ["dead process", "other host"])
def test_a_claim_that_cannot_be_waited_for_is_computed_through(tmp_path, monkeypatch, holder):
    import socket
    import subprocess

    dataset, params, store, expected, path, calls = _claimed_setup(tmp_path, monkeypatch)
    if holder == "dead process":
        finished = subprocess.Popen(["true"])
        finished.wait()
        path.with_suffix(".claim").write_text(f"{socket.gethostname()} {finished.pid}\n")
    else:
        path.with_suffix(".claim").write_text(f"not-{socket.gethostname()} {os.getpid()}\n")
    value = stored_gram(store, dataset, "rntk", params)("all", dataset.X, None)
    np.testing.assert_array_equal(value, expected)
    assert calls == [1]
    # a dead process's claim is taken over and released; another host's is left to its owner
    assert path.with_suffix(".claim").exists() == (holder == "other host")


def test_stored_gram_on_a_device_computes_each_missing_part_there(tmp_path, monkeypatch):
    """With an accelerator device the parts of a setting that shares them (the bidirectional kernel's two
    directions, the one-layer settings' siblings) are computed on it, each alone, and stored under the
    same keys: the values equal the numba engine's store to 1e-12, and the numba engine is not called."""
    pytest.importorskip("jax")
    from rntk_bench.kernels import accel

    rntk_module = importlib.import_module("rntk_bench.kernels.rntk")
    dataset = synthetic.series_dataset(n_train=10, n_test=5, length=6, seed=4)
    X = dataset.X
    params = dict(get_kernel("rntk", n_layers=2, fixed_layers=0, direction="bidirectional", output="mean").params)
    expected = stored_gram(GramStore(tmp_path / "numba"), dataset, "rntk", params)("train", X[:10], X[:10])
    device, message = accel.resolve_device("cpu")
    assert message is None
    numba_calls, device_calls = [], []
    monkeypatch.setattr(rntk_module, "compute_rntk", lambda *a, **k: numba_calls.append(a) or 1 / 0)
    real = accel.device_kernel
    monkeypatch.setattr(accel, "device_kernel", lambda name, dev, **p: device_calls.append(p) or real(name, dev, **p))
    store = GramStore(tmp_path / "device")
    value = stored_gram(store, dataset, "rntk", params, device=device)("train", X[:10], X[:10])
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=0)
    assert not numba_calls
    assert [p["direction"] for p in device_calls] == ["forward", "reversed"]
    # the parts are stored: a second setting with the same forward part reads it back
    forward = {**params, "direction": "forward"}
    again = stored_gram(store, dataset, "rntk", forward, device=device)("train", X[:10], X[:10])
    assert len(device_calls) == 2
    np.testing.assert_array_equal(again, store.load(dataset.name, next(
        key.stem for key in store.root.rglob(f"{part_key(get_kernel('rntk', **forward).id)}-*.npy"))))


def test_stored_gram_on_a_device_leaves_small_blocks_to_the_numba_engine_with_their_siblings(tmp_path,
                                                                                            monkeypatch):
    """Below ``min_work`` a part's block is computed as without a device: by the numba engine, its siblings
    in the same pass and stored with it."""
    pytest.importorskip("jax")
    from rntk_bench.kernels import accel

    dataset = synthetic.series_dataset(n_train=10, n_test=5, length=6, seed=4)
    X = dataset.X
    params = dict(get_kernel("rntk", n_layers=2, fixed_layers=0, direction="bidirectional", output="mean").params)
    numba_store = GramStore(tmp_path / "numba")
    expected = stored_gram(numba_store, dataset, "rntk", params)("train", X[:10], X[:10])
    device, _ = accel.resolve_device("cpu")
    device_calls = []
    real = accel.device_kernel
    monkeypatch.setattr(accel, "device_kernel", lambda *a, **k: device_calls.append(a) or real(*a, **k))
    rntk_gram = importlib.import_module("rntk_bench.kernels.accel.rntk")
    monkeypatch.setattr(rntk_gram, "rntk_gram", lambda *a, **k: 1 / 0)
    store = GramStore(tmp_path / "device")
    value = stored_gram(store, dataset, "rntk", params, device=device, min_work=1e12)("train", X[:10], X[:10])
    np.testing.assert_array_equal(value, expected)
    assert device_calls  # a device was asked for, and declined the blocks as too small
    assert ({path.name for path in store.root.rglob("*.npy")}
            == {path.name for path in numba_store.root.rglob("*.npy")})
