"""Loaders on small fixtures: exact values, round trips, unequal lengths, missing values, UCI splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rntk_bench.data import load_dataset
from rntk_bench.data.tsformat import read_ts
from rntk_bench.data.uci import load_uci
from rntk_bench.data.ucr import load_ucr, read_ucr_tsv

FIXTURES = Path(__file__).parent / "data"


def write_ts(path: Path, cases: list[np.ndarray], labels: list[str], classes: list[str], missing_token="?"):
    """A minimal .ts writer (test helper, independent of the reader)."""
    equal = len({c.shape[1] for c in cases}) == 1
    lines = [
        f"@problemName {path.stem}", "@timeStamps false", "@missing true",
        f"@univariate {'true' if cases[0].shape[0] == 1 else 'false'}", f"@dimensions {cases[0].shape[0]}",
        f"@equalLength {'true' if equal else 'false'}", f"@classLabel true {' '.join(classes)}", "@data",
    ]
    for case, label in zip(cases, labels):
        channels = [",".join(missing_token if np.isnan(v) else repr(float(v)) for v in row) for row in case]
        lines.append(":".join(channels) + ":" + label)
    path.write_text("\n".join(lines) + "\n")


def test_ucr_tsv_fixture_values():
    ds = load_ucr(FIXTURES, "Tiny")
    assert ds.collection == "ucr"
    assert ds.X.shape == (5, 5)
    np.testing.assert_array_equal(ds.X[1], [-1.0, -2.0, -3.0, -4.0, -5.0])
    np.testing.assert_array_equal(ds.class_labels, [1, 2])
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1, 0])
    split = ds.split("train-test")
    np.testing.assert_array_equal(split.train, [0, 1, 2])
    np.testing.assert_array_equal(split.test, [3, 4])
    assert ds.info.n_classes == 2 and not ds.info.unequal_length and not ds.info.has_missing


def test_ts_and_tsv_of_the_same_data_agree():
    tsv, ts = load_ucr(FIXTURES, "Tiny"), load_ucr(FIXTURES, "TinyTs")
    np.testing.assert_array_equal(tsv.X, ts.X)
    np.testing.assert_array_equal(tsv.y, ts.y)
    np.testing.assert_array_equal(tsv.class_labels, ts.class_labels)


def test_unequal_length_and_missing_values_fixture():
    ds = load_ucr(FIXTURES, "TinyVar")
    assert isinstance(ds.X, list)
    assert [x.shape for x in ds.X] == [(1, 2), (1, 5), (1, 4), (1, 3)]
    # interior NaN between 1.0 and 3.0 is interpolated to 2.0; trailing NaNs are padding, stripped
    np.testing.assert_array_equal(ds.X[1][0], [1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(ds.class_labels, [-1, 5])
    np.testing.assert_array_equal(ds.y, [1, 0, 1, 0])
    assert ds.info.unequal_length and ds.info.has_missing
    assert (ds.info.min_length, ds.info.max_length) == (2, 5)
    assert any("interpolation" in note for note in ds.notes)
    assert ds.take(np.array([3, 0]))[0].shape == (1, 3)


def test_fixed_length_tsv_treats_trailing_nan_as_missing(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("1\t1.0\t2.0\tNaN\n2\tNaN\t4.0\t6.0\n")
    cases, _labels = read_ucr_tsv(path, padded=False)
    assert [c.shape for c in cases] == [(1, 3), (1, 3)]
    padded_cases, _ = read_ucr_tsv(path, padded=True)
    assert [c.shape for c in padded_cases] == [(1, 2), (1, 3)]


def test_ts_round_trip_multivariate_unequal_with_missing(tmp_path, rng):
    lengths = [7, 4, 9, 4, 6]
    cases = [rng.standard_normal((3, t)) for t in lengths]
    cases[2][1, 3] = np.nan
    labels = ["walk", "run", "walk", "sit", "run"]
    path = tmp_path / "Multi_TRAIN.ts"
    write_ts(path, cases, labels, ["run", "sit", "walk"])
    parsed = read_ts(path)
    assert parsed.labels == labels
    for got, want in zip(parsed.cases, cases):
        np.testing.assert_array_equal(got, want)  # repr() round-trips floats exactly, NaN stays NaN


def test_ts_dataset_assembly_multivariate_equal(tmp_path, rng):
    folder = tmp_path / "UCRArchive_2018" / "Multi"
    folder.mkdir(parents=True)
    train = [rng.standard_normal((2, 6)) for _ in range(4)]
    test = [rng.standard_normal((2, 6)) for _ in range(3)]
    write_ts(folder / "Multi_TRAIN.ts", train, ["a", "b", "a", "b"], ["a", "b"])
    write_ts(folder / "Multi_TEST.ts", test, ["b", "a", "a"], ["a", "b"])
    ds = load_ucr(tmp_path, "Multi")
    assert ds.X.shape == (7, 2, 6)
    np.testing.assert_array_equal(ds.X[4], test[0])
    np.testing.assert_array_equal(ds.class_labels, ["a", "b"])
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1, 1, 0, 0])
    assert ds.info.n_channels == 2


def test_interpolation_values(tmp_path):
    folder = tmp_path / "UCRArchive_2018" / "Gap"
    folder.mkdir(parents=True)
    write_ts(folder / "Gap_TRAIN.ts", [np.array([[np.nan, 2.0, np.nan, np.nan, 8.0, np.nan]])], ["1"], ["1", "2"])
    write_ts(folder / "Gap_TEST.ts", [np.array([[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])], ["2"], ["1", "2"])
    ds = load_ucr(tmp_path, "Gap")
    # linear between observed points, constant beyond the first and last observation
    np.testing.assert_allclose(ds.X[0], [2.0, 2.0, 4.0, 6.0, 8.0, 8.0])
    assert ds.info.has_missing


def test_uci_fixture_splits_as_given():
    ds = load_uci(FIXTURES, "toy")
    assert ds.collection == "uci" and ds.X.shape == (8, 2)
    np.testing.assert_array_equal(ds.X[5], [-1.1, 1.2])
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1, 0, 1, 0, 1])
    assert [s.name for s in ds.splits] == ["validation", "fold-0", "fold-1", "fold-2", "fold-3"]
    np.testing.assert_array_equal(ds.split("validation").train, [0, 1, 2, 3])
    np.testing.assert_array_equal(ds.split("fold-1").train, [2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(ds.split("fold-3").test, [4, 5])
    assert (ds.info.min_length, ds.info.n_classes) == (2, 2)


def test_uci_predefined_test_file_rows_are_appended(tmp_path):
    import shutil

    folder = tmp_path / "fernandez-delgado" / "toy"
    shutil.copytree(FIXTURES / "fernandez-delgado" / "toy", folder)
    (folder / "toy_test_R.dat").write_text("\tf1\tf2\tclase\n1\t9.0\t9.5\t1\n2\t-9.0\t-9.5\t0\n")
    meta = (folder / "toy.txt").read_text().replace("n_arquivos= 1", "n_arquivos= 2")
    (folder / "toy.txt").write_text(meta + "fich2= toy_test_R.dat\nn_patrons2= 2\n")
    ds = load_uci(tmp_path, "toy")
    assert ds.X.shape == (10, 2)
    np.testing.assert_array_equal(ds.X[8], [9.0, 9.5])
    assert max(int(s.train.max()) for s in ds.splits if s.name != "train-test") < 8
    np.testing.assert_array_equal(ds.split("train-test").test, [8, 9])  # the predefined file reports
    assert ds.default_protocol == "train-cv-test"
    assert any("predefined test file" in note for note in ds.notes)


def test_load_dataset_reads_a_data_dir_outside_the_tables():
    ds = load_dataset("Tiny", FIXTURES)
    assert ds.name == "Tiny" and ds.collection == "ucr"
    assert load_dataset("toy", FIXTURES).collection == "uci"


@pytest.mark.parametrize("name", ["GunPoint", "ArrowHead", "ItalyPowerDemand", "OSULeaf"])
def test_sktime_copy_equals_ucr_archive(shared_datasets, name):
    archive = load_dataset(f"ucr:{name}", shared_datasets)
    bundled = load_dataset(f"embedded:{name}")
    assert archive.collection == "ucr" and bundled.collection == "embedded"
    np.testing.assert_allclose(bundled.X, archive.X, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(bundled.class_labels[bundled.y], archive.class_labels[archive.y])
    np.testing.assert_array_equal(bundled.splits[0].train, archive.splits[0].train)


def test_missing_values_note_says_how_many_in_how_many_series_and_how():
    # TinyGaps: fixed length 6 (as DodgerLoopDay), 4 missing values in train cases 0 and 2 and test case 0;
    # the test case's last value is missing too (not padding, the length is fixed)
    ds = load_ucr(FIXTURES, "TinyGaps", padded=False)
    assert ds.X.shape == (5, 6) and np.isfinite(ds.X).all() and ds.info.has_missing
    np.testing.assert_array_equal(ds.X[0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    np.testing.assert_array_equal(ds.X[3], [3.0] * 6)
    assert ds.notes == (
        "4 missing values in 3 of 5 series (train 2, test 1) filled by linear interpolation along time "
        "(constant extension at the ends)",
    )


def test_no_note_without_missing_values():
    assert not any("missing" in note for note in load_ucr(FIXTURES, "Tiny").notes)


def test_missing_values_note_matches_the_raw_file(shared_datasets):
    name = "DodgerLoopGame"
    folder = shared_datasets / "UCRArchive_2018" / name
    raw = [np.loadtxt(folder / f"{name}_{part}.tsv")[:, 1:] for part in ("TRAIN", "TEST")]
    values = sum(int(np.isnan(part).sum()) for part in raw)
    series = [int(np.isnan(part).any(axis=1).sum()) for part in raw]
    note = next(note for note in load_dataset(name, shared_datasets).notes if "interpolation" in note)
    assert note.startswith(f"{values} missing values in {sum(series)} of {sum(len(p) for p in raw)} series "
                           f"(train {series[0]}, test {series[1]}) filled by linear interpolation")
