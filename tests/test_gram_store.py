"""The on-disk Gram store: round trips, atomic files, shared parts computed once, and the runner's use of it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from rntk_bench.config import build_config
from rntk_bench.gram_store import GramStore, kernel_parts, shares_grams, stored_gram
from rntk_bench.kernels import get_kernel
from rntk_bench.protocols import evaluate_setting
from rntk_bench.runner import PARTS_DIR, PreloadedDatasets, run_benchmark

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


def test_stored_gram_shares_parts_between_settings_and_scores_like_direct_computation(tmp_path, monkeypatch):
    from rntk_bench.kernels import engine

    dataset = synthetic.series_dataset(n_train=16, n_test=8, length=7, seed=3)
    calls = []
    compute = engine.compute_rntk
    monkeypatch.setattr(engine, "compute_rntk", lambda *a, **k: calls.append(a[3].direction) or compute(*a, **k))
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
    from rntk_bench.kernels import engine

    dataset = synthetic.uci_dataset(n=30, n_features=5, seed=2)
    calls = []
    compute = engine.compute_rntk
    def counting(*args, **kwargs):
        calls.append((args[3].fixed_layers, kwargs.get("with_nngp", False)))
        return compute(*args, **kwargs)

    monkeypatch.setattr(engine, "compute_rntk", counting)
    store = GramStore(tmp_path)
    for fixed in (0, 1):  # n_layers = 1: the RNTK and its NNGP
        params = dict(get_kernel("rntk", fixed_layers=fixed, output="mean").params)
        shared = evaluate_setting(get_kernel("rntk", **params), dataset, [1.0, 100.0],
                                  gram=stored_gram(store, dataset, "rntk", params))
        direct = evaluate_setting(get_kernel("rntk", **params), dataset, [1.0, 100.0])
        assert shared["selection_accuracy"] == direct["selection_accuracy"] and shared["splits"] == direct["splits"]
    # one pass for both settings (the UCI protocol has one Gram block), then the two direct computations
    assert calls == [(0, True), (0, False), (1, False)]
