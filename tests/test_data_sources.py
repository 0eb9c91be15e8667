"""Where a dataset comes from: the data folder, or a copy bundled with sktime / scikit-learn.

A dataset folder in the data folder always wins: when it is broken the loader says which file is missing and
never falls back to the bundled copy, which is used only when the data folder has no trace of the dataset.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rntk_bench.cli_datasets import datasets_app
from rntk_bench.data import DatasetSource, check_data_dir, dataset_available, dataset_source, load_dataset
from rntk_bench.errors import DatasetError, DatasetNotFoundError

FIXTURES = Path(__file__).parent / "data"
TINY = FIXTURES / "UCRArchive_2018" / "Tiny"
TINY_TS = FIXTURES / "UCRArchive_2018" / "TinyTs"


def ucr_folder(root: Path, name: str) -> Path:
    folder = root / "UCRArchive_2018" / name
    folder.mkdir(parents=True)
    return folder


def expect_broken(name: str, root: Path, *fragments: str) -> None:
    """Both the loader and the availability check raise a DatasetError (not a not-found) with ``fragments``."""
    for call in (load_dataset, dataset_available):
        with pytest.raises(DatasetError) as caught:
            call(name, root)
        assert not isinstance(caught.value, DatasetNotFoundError), str(caught.value)
        for fragment in fragments:
            assert fragment in str(caught.value), (call.__name__, str(caught.value))


# ---- broken copies are errors, never a substitution ------------------------------------------------------------

def test_broken_tsv_copy_of_a_bundled_set_names_the_missing_file(tmp_path):
    folder = ucr_folder(tmp_path, "GunPoint")
    shutil.copy(TINY / "Tiny_TRAIN.tsv", folder / "GunPoint_TRAIN.tsv")
    expect_broken("GunPoint", tmp_path, str(folder / "GunPoint_TEST.tsv"), "GunPoint_TRAIN.tsv and GunPoint_TEST.tsv",
                  "bundled with sktime is not used", "rntk-bench datasets fetch GunPoint --force")


def test_broken_ts_copy_names_the_missing_ts_file(tmp_path):
    folder = ucr_folder(tmp_path, "ArrowHead")
    shutil.copy(TINY_TS / "TinyTs_TEST.ts", folder / "ArrowHead_TEST.ts")
    expect_broken("ArrowHead", tmp_path, str(folder / "ArrowHead_TRAIN.ts"), "ArrowHead_TRAIN.ts and ArrowHead_TEST.ts")


def test_empty_dataset_folder_is_broken(tmp_path):
    folder = ucr_folder(tmp_path, "ItalyPowerDemand")
    (folder / "notes.txt").write_text("to do\n")
    expect_broken("ItalyPowerDemand", tmp_path, str(folder / "ItalyPowerDemand_TRAIN.tsv"),
                  "ItalyPowerDemand_TEST.tsv", "notes.txt")


def test_a_file_in_place_of_the_dataset_folder(tmp_path):
    (tmp_path / "UCRArchive_2018").mkdir()
    (tmp_path / "UCRArchive_2018" / "GunPoint").write_text("oops")
    expect_broken("GunPoint", tmp_path, str(tmp_path / "UCRArchive_2018" / "GunPoint"), "not a folder")


def test_mixed_formats_are_not_a_pair(tmp_path):
    folder = ucr_folder(tmp_path, "Tiny")
    shutil.copy(TINY / "Tiny_TRAIN.tsv", folder / "Tiny_TRAIN.tsv")
    shutil.copy(TINY_TS / "TinyTs_TEST.ts", folder / "Tiny_TEST.ts")
    expect_broken("Tiny", tmp_path, str(folder / "Tiny_TEST.tsv"), "Tiny_TEST.ts")


def test_broken_folder_outside_the_tables_is_not_an_unknown_name(tmp_path):
    folder = ucr_folder(tmp_path, "Tiny")
    shutil.copy(TINY / "Tiny_TEST.tsv", folder / "Tiny_TEST.tsv")
    expect_broken("Tiny", tmp_path, str(folder / "Tiny_TRAIN.tsv"))


@pytest.mark.parametrize("missing", ["toy_R.dat", "conxuntos.dat", "conxuntos_kfold.dat", "toy.txt"])
def test_broken_uci_folder_is_not_available(tmp_path, missing):
    folder = tmp_path / "fernandez-delgado" / "toy"
    shutil.copytree(FIXTURES / "fernandez-delgado" / "toy", folder)
    (folder / missing).unlink()
    expect_broken("toy", tmp_path, str(folder / missing), "conxuntos_kfold.dat")


def test_complete_copy_in_the_data_folder_wins_over_the_bundled_one(tmp_path):
    folder = ucr_folder(tmp_path, "TinyTs")
    for part in ("TRAIN", "TEST"):
        shutil.copy(TINY_TS / f"TinyTs_{part}.ts", folder / f"TinyTs_{part}.ts")
    assert dataset_available("TinyTs", tmp_path)
    assert load_dataset("TinyTs", tmp_path).collection == "ucr"


def test_bundled_copy_is_used_when_the_data_folder_has_no_trace(tmp_path):
    ucr_folder(tmp_path, "Coffee")  # another dataset's folder does not matter
    assert dataset_available("GunPoint", tmp_path)
    assert load_dataset("GunPoint", tmp_path).collection == "embedded"


def test_cli_info_reports_the_broken_copy(tmp_path):
    folder = ucr_folder(tmp_path, "GunPoint")
    shutil.copy(TINY / "Tiny_TRAIN.tsv", folder / "GunPoint_TRAIN.tsv")
    result = CliRunner().invoke(datasets_app, ["info", "GunPoint", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "GunPoint_TEST.tsv" in result.output and "(embedded)" not in result.output


def test_cli_list_marks_the_broken_copy(tmp_path):
    folder = ucr_folder(tmp_path, "GunPoint")
    shutil.copy(TINY / "Tiny_TRAIN.tsv", folder / "GunPoint_TRAIN.tsv")
    result = CliRunner().invoke(datasets_app, ["list", "--suite", "ucr-small", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("GunPoint "))
    assert line.split()[-1] == "broken"
    assert str(folder / "GunPoint_TEST.tsv") in result.output


# ---- where a dataset comes from, and the data folder alone -----------------------------------------------------

def complete_tinyts(root: Path, name: str = "TinyTs") -> Path:
    folder = ucr_folder(root, name)
    for part in ("TRAIN", "TEST"):
        text = (TINY_TS / f"TinyTs_{part}.ts").read_text().replace("TinyTs", name)
        (folder / f"{name}_{part}.ts").write_text(text)
    return folder


def test_dataset_source_says_data_folder_or_bundled(tmp_path):
    folder = complete_tinyts(tmp_path)
    assert dataset_source("TinyTs", tmp_path) == DatasetSource("TinyTs", "ucr", "data-dir", folder)
    assert dataset_source("GunPoint", tmp_path) == DatasetSource("GunPoint", "embedded", "embedded", None)
    assert dataset_source("iris", tmp_path).kind == "embedded"
    assert str(dataset_source("GunPoint", tmp_path)) == "bundled with sktime"
    assert str(dataset_source("iris", tmp_path)) == "bundled with scikit-learn"
    assert str(dataset_source("TinyTs", tmp_path)) == f"data folder {folder}"


def test_dataset_source_is_none_when_unavailable_and_raises_for_unknown_or_broken(tmp_path):
    assert dataset_source("abalone", tmp_path) is None
    assert dataset_source("Adiac", tmp_path) is None
    with pytest.raises(DatasetError, match="unknown dataset 'Cofee'"):
        dataset_source("Cofee", tmp_path)
    ucr_folder(tmp_path, "GunPoint")
    with pytest.raises(DatasetError, match="GunPoint_TRAIN.tsv"):
        dataset_source("GunPoint", tmp_path)


def test_uci_source_of_a_clashing_name(tmp_path):
    folder = tmp_path / "fernandez-delgado" / "iris"
    folder.mkdir(parents=True)
    assert dataset_source("iris", tmp_path).kind == "embedded"
    with pytest.raises(DatasetError, match=r"iris\.txt: metadata file missing.*fetch uci:iris --force"):
        dataset_source("uci:iris", tmp_path)


@pytest.mark.parametrize("name", ["GunPoint", "PLAID", "BasicMotions", "iris", "digits", "embedded:ArrowHead"])
def test_without_embedded_copies_a_bundled_set_is_not_found(tmp_path, name):
    assert dataset_available(name, tmp_path)
    assert not dataset_available(name, tmp_path, embedded=False)
    assert dataset_source(name, tmp_path, embedded=False) is None
    with pytest.raises(DatasetNotFoundError, match="bundled"):
        load_dataset(name, tmp_path, embedded=False)


def test_without_embedded_copies_the_message_says_how_to_fetch(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"fetch GunPoint --no-embedded") as caught:
        load_dataset("GunPoint", tmp_path, embedded=False)
    assert str(tmp_path / "UCRArchive_2018" / "GunPoint") in str(caught.value)
    with pytest.raises(DatasetNotFoundError, match=r"'uci:iris'"):
        load_dataset("iris", tmp_path, embedded=False)


def test_without_embedded_copies_the_data_folder_is_read(tmp_path):
    folder = complete_tinyts(tmp_path, "BasicMotions")
    # BasicMotions is bundled with sktime, but the data folder's copy is the one read (and needed)
    assert dataset_source("BasicMotions", tmp_path, embedded=False) == DatasetSource(
        "BasicMotions", "ucr", "data-dir", folder)
    assert load_dataset("BasicMotions", tmp_path, embedded=False).collection == "ucr"
    assert load_dataset("Tiny", FIXTURES, embedded=False).collection == "ucr"
    assert load_dataset("toy", FIXTURES, embedded=False).collection == "uci"


def test_cli_list_and_info_show_the_source(tmp_path):
    complete_tinyts(tmp_path)
    runner = CliRunner()
    listing = runner.invoke(datasets_app, ["list", "--suite", "ucr-small", "--data-dir", str(tmp_path)])
    assert listing.exit_code == 0, listing.output
    line = next(line for line in listing.output.splitlines() if line.startswith("GunPoint "))
    assert line.split()[-1] == "embedded"
    alone = runner.invoke(datasets_app, ["list", "--suite", "ucr-small", "--data-dir", str(tmp_path), "--no-embedded"])
    line = next(line for line in alone.output.splitlines() if line.startswith("GunPoint "))
    assert line.split()[-1] == "missing"
    info = runner.invoke(datasets_app, ["info", "GunPoint", "--data-dir", str(tmp_path)])
    assert info.exit_code == 0 and "source     bundled with sktime" in info.output
    info = runner.invoke(datasets_app, ["info", "TinyTs", "--data-dir", str(tmp_path)])
    assert f"source     data folder {tmp_path / 'UCRArchive_2018' / 'TinyTs'}" in info.output
    info = runner.invoke(datasets_app, ["info", "GunPoint", "--data-dir", str(tmp_path), "--no-embedded"])
    assert info.exit_code == 0 and "not in" in info.output and "--no-embedded" in info.output


# ---- the data folder itself ------------------------------------------------------------------------------------

@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "data.txt"
    path.write_text("not a folder")
    return path


def test_check_data_dir_accepts_a_folder_and_expands_the_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert check_data_dir(tmp_path) == tmp_path
    assert check_data_dir("~") == tmp_path
    assert check_data_dir(tmp_path / "new", must_exist=False) == tmp_path / "new"


def test_check_data_dir_missing(tmp_path):
    with pytest.raises(DatasetError, match=rf"data folder '{tmp_path / 'nope'}' does not exist") as caught:
        check_data_dir(tmp_path / "nope")
    assert not isinstance(caught.value, DatasetNotFoundError)


def test_check_data_dir_file(a_file):
    for must_exist in (True, False):
        with pytest.raises(DatasetError, match=rf"data folder '{a_file}' is a file, not a folder"):
            check_data_dir(a_file, must_exist=must_exist)


def test_check_data_dir_unreadable(tmp_path, monkeypatch):
    import rntk_bench.data.locations as locations

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(locations.os, "scandir", denied)
    with pytest.raises(DatasetError, match=rf"data folder '{tmp_path}' is not readable \(Permission denied\)"):
        check_data_dir(tmp_path)


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="permissions do not apply to root")
def test_check_data_dir_unreadable_for_real(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0)
    try:
        with pytest.raises(DatasetError, match="is not readable"):
            check_data_dir(folder)
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("call", [load_dataset, dataset_available, dataset_source])
def test_every_data_layer_entry_checks_the_data_folder(tmp_path, a_file, call):
    # GunPoint would otherwise come from sktime's bundled copy, and abalone would just be "missing"
    for name in ("GunPoint", "abalone"):
        with pytest.raises(DatasetError, match="does not exist"):
            call(name, tmp_path / "nope")
        with pytest.raises(DatasetError, match="is a file, not a folder"):
            call(name, a_file)


def test_the_default_data_folder_may_be_absent_but_not_a_file(tmp_path, a_file, monkeypatch):
    monkeypatch.setenv("RNTK_BENCH_DATA", str(tmp_path / "not-yet"))
    assert load_dataset("GunPoint").collection == "embedded" and not dataset_available("abalone")
    monkeypatch.setenv("RNTK_BENCH_DATA", str(a_file))
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        dataset_available("abalone")


def test_fetch_into_a_file_is_refused(a_file):
    from rntk_bench.data.fetch import fetch

    with pytest.raises(DatasetError, match="is a file, not a folder"):
        fetch("Adiac", a_file, ucr_url="http://127.0.0.1:9/unreachable")


@pytest.mark.parametrize("command", [["list"], ["info", "GunPoint"], ["verify"], ["fetch", "Adiac"]])
def test_cli_datasets_commands_check_the_data_folder(a_file, command):
    result = CliRunner().invoke(datasets_app, [*command, "--data-dir", str(a_file)])
    assert result.exit_code == 1
    assert f"error: data folder '{a_file}' is a file, not a folder" in result.output


@pytest.mark.parametrize("command", [["list"], ["info", "GunPoint"], ["verify"]])
def test_cli_datasets_commands_refuse_a_missing_data_folder(tmp_path, command):
    result = CliRunner().invoke(datasets_app, [*command, "--data-dir", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert f"data folder '{tmp_path / 'nope'}' does not exist" in result.output
