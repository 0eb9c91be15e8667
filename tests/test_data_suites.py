"""Suites and metadata tables: documented rules re-derived, names unique, embedded data with no data dir."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from rntk_bench.data import (
    SUITES,
    dataset_available,
    get_suite,
    load_dataset,
    resolve_data_dir,
    user_cache_dir,
)
from rntk_bench.data.suites import TABLES_DIR

ROOT = Path(__file__).resolve().parents[1]


def table(name: str) -> list[dict[str, str]]:
    with open(ROOT / "datasets" / f"{name}.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_tables_live_in_the_top_level_datasets_folder():
    assert TABLES_DIR == ROOT / "datasets"


def test_suite_sizes():
    sizes = {name: len(suite) for name, suite in SUITES.items()}
    assert sizes == {"demo": 9, "embedded": 13, "uci90": 90, "uci121": 121, "ucr128": 128, "ucr-small": 30}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_suite_names_unique_and_described(name):
    suite = get_suite(name)
    assert suite.name == name and suite.description
    assert len(set(suite.names)) == len(suite.names)
    assert all(entry.collection in ("ucr", "uci", "embedded") for entry in suite.entries)


def test_uci90_rule_from_the_table():
    rows = table("uci")
    assert len(rows) == 121
    derived = [r["name"] for r in rows if int(r["n_cases"]) <= 5000 and int(r["n_file2"]) == 0]
    assert len(derived) == 90
    assert [e.base_name for e in get_suite("uci90").entries] == derived


def test_ucr_small_rule_from_the_table():
    derived = [r["name"] for r in table("ucr")
               if int(r["n_train"]) + int(r["n_test"]) <= 500 and r["unequal_length"] == "0"
               and int(r["max_length"]) <= 500]
    assert list(get_suite("ucr-small").names) == derived


def test_full_collections_are_complete():
    assert {e.name for e in get_suite("ucr128").entries} == {r["name"] for r in table("ucr")}
    assert len(table("ucr")) == 128
    assert {e.base_name for e in get_suite("uci121").entries} == {r["name"] for r in table("uci")}


def test_demo_is_embedded_and_light():
    demo = get_suite("demo")
    assert all(e.collection == "embedded" for e in demo.entries)
    assert not {"digits", "ACSF1", "OSULeaf", "PLAID"} & set(demo.names)
    assert {"digits", "ACSF1", "OSULeaf", "PLAID"} <= set(get_suite("embedded").names)


def test_clashing_uci_names_are_qualified():
    names = get_suite("uci121").names
    assert "uci:iris" in names and "uci:wine" in names and "iris" not in names
    assert "iris" in get_suite("demo").names


@pytest.fixture
def no_data(tmp_path, monkeypatch) -> Path:
    """An empty data directory and cache: nothing but embedded data is available."""
    empty = tmp_path / "empty"
    monkeypatch.setenv("RNTK_BENCH_DATA", str(empty))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return empty


@pytest.mark.parametrize("name", get_suite("demo").names)
def test_demo_suite_loads_with_no_data_dir(no_data, name):
    entry = next(e for e in get_suite("demo").entries if e.name == name)
    assert dataset_available(name)
    ds = load_dataset(name)
    assert ds.collection == "embedded" and ds.name == name
    split = ds.split("train-test")
    assert (len(split.train), len(split.test)) == (entry.n_train, entry.n_test)
    assert np.intersect1d(split.train, split.test).size == 0
    assert ds.info.n_classes == entry.n_classes and ds.info.n_channels == entry.n_channels
    assert set(np.unique(ds.y[split.train])) == set(range(entry.n_classes))
    if isinstance(ds.X, np.ndarray):
        assert np.isfinite(ds.X).all()
    else:
        assert all(np.isfinite(x).all() and x.shape[0] == entry.n_channels for x in ds.X)


def test_embedded_heavy_sets_load_with_no_data_dir(no_data):
    for name in ("digits", "ACSF1", "OSULeaf", "PLAID"):
        ds = load_dataset(name)
        assert ds.collection == "embedded"
    assert not dataset_available("abalone") and not dataset_available("Adiac")


def test_sklearn_split_is_stratified_seeded_and_standardised(no_data):
    a, b = load_dataset("wine"), load_dataset("wine")
    np.testing.assert_array_equal(a.split("train-test").test, b.split("train-test").test)
    train = a.split("train-test").train
    counts_train = np.bincount(a.y[train]) / len(train)
    counts_all = np.bincount(a.y) / len(a.y)
    np.testing.assert_allclose(counts_train, counts_all, atol=0.02)
    np.testing.assert_allclose(a.X[train].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(a.X[train].std(axis=0), 1, atol=1e-12)


def test_resolve_data_dir_order(tmp_path, monkeypatch):
    monkeypatch.setenv("RNTK_BENCH_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.delenv("RNTK_BENCH_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir() == user_cache_dir() == tmp_path / "xdg" / "rntk-bench"
