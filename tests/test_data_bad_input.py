"""Bad input: every corruption gives a DatasetError naming the file and line (or index), never a partial dataset.

Each case copies a valid fixture from tests/data into tmp_path and breaks one thing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from rntk_bench.data import get_suite, load_dataset
from rntk_bench.data.uci import load_uci
from rntk_bench.data.ucr import load_ucr
from rntk_bench.errors import DatasetError, DatasetNotFoundError, InvalidParameterError

FIXTURES = Path(__file__).parent / "data"


@pytest.fixture
def root(tmp_path) -> Path:
    for part in ("UCRArchive_2018", "fernandez-delgado"):
        shutil.copytree(FIXTURES / part, tmp_path / part)
    return tmp_path


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, f"fixture {path.name} lacks {old!r}"
    path.write_text(text.replace(old, new, count))


def tsv(root: Path, part: str = "TRAIN") -> Path:
    return root / "UCRArchive_2018" / "Tiny" / f"Tiny_{part}.tsv"


def ts(root: Path, part: str = "TRAIN") -> Path:
    return root / "UCRArchive_2018" / "TinyTs" / f"TinyTs_{part}.ts"


def uci(root: Path, name: str) -> Path:
    return root / "fernandez-delgado" / "toy" / name


def expect(match: str, loader, *args):
    with pytest.raises(DatasetError, match=match):
        loader(*args)


# ---- UCR .tsv ----------------------------------------------------------------------------------------------

def test_tsv_truncated_last_line(root):
    edit(tsv(root), "0.0\t0.25\t0.5\t0.75\t1.0\n", "0.0\t0.25\t0.")
    expect(r"Tiny_TRAIN\.tsv, line 3: 4 fields, expected 6 \(truncated file\?\)", load_ucr, root, "Tiny")


def test_tsv_wrong_column_count(root):
    edit(tsv(root), "-5.0\n", "-5.0\t7.0\n")
    expect(r"Tiny_TRAIN\.tsv, line 2: 7 fields, expected 6", load_ucr, root, "Tiny")


def test_tsv_non_numeric_value(root):
    edit(tsv(root, "TEST"), "3.0\t3.0\t3.0\n", "3.0\tabc\t3.0\n")
    expect(r"Tiny_TEST\.tsv, line 2, column 5: 'abc' is not a number", load_ucr, root, "Tiny")


def test_tsv_empty_field(root):
    edit(tsv(root), "1\t0.5\t1.0", "1\t\t1.0")
    expect(r"Tiny_TRAIN\.tsv, line 1, column 2: empty field", load_ucr, root, "Tiny")


def test_tsv_label_with_no_values(root):
    edit(tsv(root), "-1.0\t-2.0\t-3.0\t-4.0\t-5.0", "NaN\tNaN\tNaN\tNaN\tNaN")
    expect(r"Tiny_TRAIN\.tsv, line 2: a label with no values", load_ucr, root, "Tiny")


def test_tsv_missing_label(root):
    edit(tsv(root), "2\t-1.0", "NaN\t-1.0")
    expect(r"Tiny_TRAIN\.tsv, line 2: the class label is missing", load_ucr, root, "Tiny")


def test_tsv_binary_garbage(root):
    tsv(root).write_bytes(b"PK\x03\x04\x00\x00garbage")
    expect(r"Tiny_TRAIN\.tsv: binary content", load_ucr, root, "Tiny")


def test_tsv_empty_file(root):
    tsv(root, "TEST").write_text("")
    expect(r"Tiny_TEST\.tsv: empty file", load_ucr, root, "Tiny")


def test_tsv_missing_test_file(root):
    # a dataset folder with one file missing is broken, not absent: the error names the file
    tsv(root, "TEST").unlink()
    match = r"Tiny_TEST\.tsv: file missing.*rntk-bench datasets fetch Tiny --force"
    with pytest.raises(DatasetError, match=match) as caught:
        load_ucr(root, "Tiny")
    assert not isinstance(caught.value, DatasetNotFoundError)


def test_ucr_folder_absent_says_how_to_fetch(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"rntk-bench datasets fetch Tiny`"):
        load_ucr(tmp_path, "Tiny")


def test_tsv_sizes_disagree_with_metadata(root):
    # a folder called GunPoint that holds other data must not pass for the UCR GunPoint
    folder = root / "UCRArchive_2018" / "GunPoint"
    folder.mkdir()
    shutil.copy(tsv(root), folder / "GunPoint_TRAIN.tsv")
    shutil.copy(tsv(root, "TEST"), folder / "GunPoint_TEST.tsv")
    expect(r"GunPoint does not match its metadata: n_cases 5 \(expected 200\)", load_dataset, "GunPoint", root)


# ---- .ts -----------------------------------------------------------------------------------------------------

def test_ts_no_data_section(root):
    text = ts(root).read_text()
    ts(root).write_text(text.split("@data")[0])
    expect(r"TinyTs_TRAIN\.ts: no @data line", load_ucr, root, "TinyTs")


def test_ts_undeclared_label(root):
    edit(ts(root), "-5.0:2", "-5.0:3")
    expect(r"TinyTs_TRAIN\.ts, line \d+: class label '3' is not declared", load_ucr, root, "TinyTs")


def test_ts_wrong_channel_count(root):
    edit(ts(root), "-5.0:2", "-5.0:1.0,2.0:2")
    expect(r"TinyTs_TRAIN\.ts, line \d+: 2 channels, expected 1", load_ucr, root, "TinyTs")


def test_ts_non_numeric_value(root):
    edit(ts(root), "-3.0", "minus3")
    expect(r"TinyTs_TRAIN\.ts, line \d+, channel 0, value 2: 'minus3' is not a number", load_ucr, root, "TinyTs")


def test_ts_label_with_no_values(root):
    edit(ts(root, "TEST"), "3.0,3.0,3.0,3.0,3.0:1", "1")
    expect(r"TinyTs_TEST\.ts, line \d+: a label with no values", load_ucr, root, "TinyTs")


def test_ts_empty_channel(root):
    edit(ts(root, "TEST"), "3.0,3.0,3.0,3.0,3.0:1", ":1")
    expect(r"TinyTs_TEST\.ts, line \d+: channel 0 has no values", load_ucr, root, "TinyTs")


def test_ts_empty_class(root):
    for part in ("TRAIN", "TEST"):
        edit(ts(root, part), "@classLabel true 1 2", "@classLabel true 1 2 3")
    expect(r"class\(es\) \['3'\] declared by @classLabel have no case \(empty class\)", load_ucr, root, "TinyTs")


def test_ts_equal_length_contradicted(root):
    edit(ts(root), "0.0,0.25,0.5,0.75,1.0:1", "0.0,0.25,0.5:1")
    expect(r"TinyTs_TRAIN\.ts: @equalLength true but series lengths range 3\.\.5", load_ucr, root, "TinyTs")


def test_ts_regression_file(root):
    edit(ts(root), "@classLabel true 1 2", "@targetLabel true")
    expect(r"TinyTs_TRAIN\.ts: a regression problem", load_ucr, root, "TinyTs")


def test_ts_all_values_missing_in_a_case(root):
    edit(ts(root), "@missing false", "@missing true")
    edit(ts(root), "0.0,0.25,0.5,0.75,1.0:1", "?,?,?,?,?:1")
    expect(r"train case 2, channel 0: every value is missing", load_ucr, root, "TinyTs")


# ---- Fernandez-Delgado UCI -------------------------------------------------------------------------------

def test_uci_missing_metadata_file(root):
    uci(root, "toy.txt").unlink()
    expect(r"toy\.txt: metadata file missing", load_uci, root, "toy")


def test_uci_metadata_key_missing(root):
    edit(uci(root, "toy.txt"), "n_clases= 2\n", "")
    expect(r"toy\.txt: metadata key\(s\) n_clases missing", load_uci, root, "toy")


def test_uci_metadata_not_an_integer(root):
    edit(uci(root, "toy.txt"), "n_patrons1= 8", "n_patrons1= eight")
    expect(r"toy\.txt: n_patrons1= 'eight' is not an integer", load_uci, root, "toy")


def test_uci_missing_fold_file(root):
    uci(root, "conxuntos_kfold.dat").unlink()
    expect(r"conxuntos_kfold\.dat: fold file missing", load_uci, root, "toy")


def test_uci_fold_index_out_of_range(root):
    edit(uci(root, "conxuntos_kfold.dat"), "\n4 5 \n", "\n4 8 \n")
    expect(r"conxuntos_kfold\.dat, line 8, position 1: index 8 out of range 0\.\.7", load_uci, root, "toy")


def test_uci_fold_index_not_an_integer(root):
    edit(uci(root, "conxuntos.dat"), "4 5 6 7", "4 5 x 7")
    expect(r"conxuntos\.dat, line 2: 'x' is not an integer index", load_uci, root, "toy")


def test_uci_fold_file_wrong_line_count(root):
    edit(uci(root, "conxuntos_kfold.dat"), "0 1 2 3 6 7 \n4 5 \n", "")
    expect(r"conxuntos_kfold\.dat: 6 lines, expected 8", load_uci, root, "toy")


def test_uci_validation_sizes_disagree_with_metadata(root):
    edit(uci(root, "toy.txt"), "n_patrons_entrena= 4", "n_patrons_entrena= 5")
    expect(r"conxuntos\.dat: 4 \+ 4 indices, the metadata says n_patrons_entrena= 5", load_uci, root, "toy")


def test_uci_truncated_data_file(root):
    edit(uci(root, "toy_R.dat"), "8\t1.5\t1.6\t1\n", "")
    expect(r"toy_R\.dat: 7 data rows, the metadata says 8 \(truncated file\?\)", load_uci, root, "toy")


def test_uci_wrong_column_count(root):
    edit(uci(root, "toy_R.dat"), "3\t-0.5\t0.6\t0", "3\t-0.5\t0.6\t0.1\t0")
    expect(r"toy_R\.dat, line 4: 5 fields, expected 4", load_uci, root, "toy")


def test_uci_non_numeric_value(root):
    edit(uci(root, "toy_R.dat"), "0.9\t1.0", "0.9\tone")
    expect(r"toy_R\.dat, line 6, column 3: 'one' is not a number", load_uci, root, "toy")


def test_uci_label_out_of_range(root):
    edit(uci(root, "toy_R.dat"), "-1.4\t0", "-1.4\t2")
    expect(r"toy_R\.dat, line 8: class label 2 is not an integer in 0\.\.1", load_uci, root, "toy")


def test_uci_empty_class(root):
    edit(uci(root, "toy.txt"), "n_clases= 2", "n_clases= 3")
    expect(r"class 2 of n_clases= 3 has no case \(empty class\)", load_uci, root, "toy")


def test_uci_fold_train_test_overlap(root):
    edit(uci(root, "conxuntos_kfold.dat"), "6 7 \n", "5 7 \n")
    expect(r"conxuntos_kfold\.dat, lines 1-2: train and test indices overlap", load_uci, root, "toy")


def test_uci_missing_folder_says_how_to_fetch(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=re.escape("rntk-bench datasets fetch abalone")):
        load_dataset("abalone", tmp_path)


# ---- names -------------------------------------------------------------------------------------------------

def test_unknown_dataset_lists_close_matches(tmp_path):
    with pytest.raises(DatasetError, match=r"unknown dataset 'gunpoint'; did you mean 'GunPoint'"):
        load_dataset("gunpoint", tmp_path)


def test_unknown_collection_prefix(tmp_path):
    with pytest.raises(DatasetError, match=r"unknown collection 'uea'"):
        load_dataset("uea:BasicMotions", tmp_path)


def test_unknown_suite_lists_suites():
    match = r"unknown suite 'ucr'; did you mean .*\(suites: demo, .*ucr-small\)"
    with pytest.raises(InvalidParameterError, match=match):
        get_suite("ucr")
