"""Every dataset of ../shared/datasets (79 UCR, 116 UCI) loads and matches the metadata tables.

The tables are cross-checked against the raw files with plain line/column counts that do not use the
loaders, so a wrong table row and a wrong loader cannot agree by accident.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from rntk_bench.data import dataset_available, get_suite, load_dataset
from rntk_bench.data.checksums import verify_data_dir

ROOT = Path(__file__).resolve().parents[1]


def rows(name: str) -> dict[str, dict[str, str]]:
    with open(ROOT / "datasets" / f"{name}.csv", newline="") as f:
        return {r["name"]: r for r in csv.DictReader(f)}


def test_shared_ucr_files_match_the_ucr_table(shared_datasets):
    table = rows("ucr")
    folders = sorted(p.name for p in (shared_datasets / "UCRArchive_2018").iterdir())
    assert len(folders) == 79
    for name in folders:
        row = table[name]
        labels, widths = [], set()
        for part, key in (("TRAIN", "n_train"), ("TEST", "n_test")):
            lines = (shared_datasets / "UCRArchive_2018" / name / f"{name}_{part}.tsv").read_text().splitlines()
            assert len(lines) == int(row[key]), (name, part)
            labels += [line.split("\t", 1)[0] for line in lines]
            widths |= {line.count("\t") for line in lines}
        assert len(set(labels)) == int(row["n_classes"]), name
        assert len(widths) == 1, name
        if row["unequal_length"] == "0":
            assert widths.pop() == int(row["max_length"]), name


def test_shared_uci_files_match_the_uci_table(shared_datasets):
    table = rows("uci")
    folders = sorted(p.name for p in (shared_datasets / "fernandez-delgado").iterdir())
    assert len(folders) == 116
    for name in folders:
        meta = {}
        for line in (shared_datasets / "fernandez-delgado" / name / f"{name}.txt").read_text().splitlines():
            key, _, value = line.partition("=")
            meta[key.strip()] = value.strip()
        row = table[name]
        n2 = int(meta.get("n_patrons2", 0))
        assert (int(row["n_file1"]), int(row["n_file2"])) == (int(meta["n_patrons1"]), n2), name
        assert int(row["n_cases"]) == int(meta["n_patrons1"]) + n2
        assert (int(row["n_features"]), int(row["n_classes"])) == (int(meta["n_entradas"]), int(meta["n_clases"]))


def test_uci90_is_the_arora_selection_of_the_raw_files(shared_datasets):
    selected = []
    for folder in sorted((shared_datasets / "fernandez-delgado").iterdir()):
        text = (folder / f"{folder.name}.txt").read_text()
        n1 = int(text.split("n_patrons1=")[1].split()[0])
        if "fich2=" not in text and n1 <= 5000:
            selected.append(folder.name)
    assert len(selected) == 90
    assert [e.base_name for e in get_suite("uci90").entries] == selected


@pytest.mark.parametrize("suite", ["ucr128", "uci121"])
def test_every_shared_dataset_loads_and_matches(shared_datasets, suite):
    loaded = 0
    for entry in get_suite(suite).entries:
        collection_dir = "UCRArchive_2018" if entry.collection == "ucr" else "fernandez-delgado"
        on_disk = (shared_datasets / collection_dir / entry.base_name).is_dir()
        assert dataset_available(entry.name, shared_datasets) == (on_disk or entry.name in
                                                                  ("PLAID",))  # PLAID: sktime's copy
        if not on_disk:
            continue
        ds = load_dataset(entry.name, shared_datasets)  # raises if sizes differ from the table
        assert ds.collection == entry.collection and ds.name == entry.name
        assert ds.info.n_cases == entry.n_cases and ds.info.n_classes == entry.n_classes
        assert np.bincount(ds.y).min() > 0
        if ds.collection == "uci":
            published = ["validation", "fold-0", "fold-1", "fold-2", "fold-3"]
            predefined = entry.n_train < entry.n_cases  # a fich2 test file: its rows are the train-test split's test
            assert [s.name for s in ds.splits] == published + (["train-test"] if predefined else [])
            assert ds.X.shape == (entry.n_cases, entry.n_features)
            for split in ds.splits[1:5]:
                assert len(split.train) + len(split.test) == entry.n_train
            if predefined:
                assert len(ds.split("train-test").train) == entry.n_train
                assert len(ds.split("train-test").test) == entry.n_cases - entry.n_train
        loaded += 1
    assert loaded == {"ucr128": 79, "uci121": 116}[suite]


def test_unequal_length_datasets(shared_datasets):
    for name in ("AllGestureWiimoteX", "GestureMidAirD1", "GesturePebbleZ1", "PickupGestureWiimoteZ"):
        ds = load_dataset(name, shared_datasets)
        assert ds.info.unequal_length and not ds.info.has_missing
        assert isinstance(ds.X, list) and all(x.ndim == 2 and x.shape[0] == 1 for x in ds.X)
        assert all(np.isfinite(x).all() for x in ds.X)
        assert min(x.shape[1] for x in ds.X) < max(x.shape[1] for x in ds.X)


def test_missing_value_datasets(shared_datasets):
    for name in ("DodgerLoopGame", "DodgerLoopWeekend", "MelbournePedestrian"):
        ds = load_dataset(name, shared_datasets)
        assert ds.info.has_missing and not ds.info.unequal_length
        assert isinstance(ds.X, np.ndarray) and np.isfinite(ds.X).all()
        assert any("interpolation" in note for note in ds.notes)
    # MelbournePedestrian has test series whose last hours are missing: still length 24, not padding
    assert load_dataset("MelbournePedestrian", shared_datasets).X.shape == (3633, 24)


def test_observed_values_are_kept_exactly(shared_datasets):
    ds = load_dataset("DodgerLoopGame", shared_datasets)
    raw = np.loadtxt(shared_datasets / "UCRArchive_2018" / "DodgerLoopGame" / "DodgerLoopGame_TRAIN.tsv")
    observed = ~np.isnan(raw[:, 1:])
    np.testing.assert_array_equal(ds.X[:20][observed], raw[:, 1:][observed])


def test_uci_iris_and_embedded_iris_are_different_datasets(shared_datasets):
    uci_iris = load_dataset("uci:iris", shared_datasets)
    embedded_iris = load_dataset("iris", shared_datasets)
    assert (uci_iris.collection, uci_iris.name) == ("uci", "uci:iris")
    assert (embedded_iris.collection, embedded_iris.name) == ("embedded", "iris")


def test_verify_shared_checksums(shared_datasets):
    report = verify_data_dir(shared_datasets)
    assert report.ok and report.checked == 639


def test_a_predefined_test_file_is_the_test_split_of_train_cv_test(shared_datasets):
    """The 17 UCI datasets with a fich2 test file: fich1 rows train (CV selects on them), fich2 rows report."""
    ds = load_dataset("monks-1", shared_datasets)  # 124 fich1 rows, 432 fich2 rows
    split = ds.split("train-test")
    np.testing.assert_array_equal(split.train, np.arange(124))
    np.testing.assert_array_equal(split.test, np.arange(124, 556))
    assert ds.default_protocol == "train-cv-test"
    assert load_dataset("uci:iris", shared_datasets).default_protocol == "arora-uci"
