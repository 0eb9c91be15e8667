"""Malformed published-results files give a DatasetError naming the file and line; nothing half-written.

The import step reads ``tests/data/field/references`` (a reduced reference folder with the real quirks: a
byte-order mark, CRLF line ends, a header ending in a space, no-break spaces, a quoted comma), copied and
damaged in ``tmp_path``; the reader reads ``tests/data/field/tables``, damaged the same way.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import shutil
from pathlib import Path

import pytest

from rntk_bench.errors import DatasetError
from rntk_bench.field import field_accuracy, field_names, import_references, read_archive_table, read_bakeoff_table
from rntk_bench.field.__main__ import main

FIXTURES = Path(__file__).resolve().parent / "data" / "field"
SUMMARY = "UCR_DataSummary.csv"
ROCKET = "tsml-eval-univariate/ROCKET_accuracy.csv"


def resum(folder: Path) -> None:
    """Rewrite SHA256SUMS for the folder's files, so that a damaged file fails on its content, not its sum."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  ./{p.relative_to(folder).as_posix()}\n" for p in files]
    (folder / "SHA256SUMS").write_text("".join(lines))


@pytest.fixture
def source(tmp_path) -> Path:
    folder = tmp_path / "references"
    shutil.copytree(FIXTURES / "references", folder)
    return folder


def edit(folder: Path, name: str, old: str, new: str, *, checksums: bool = True) -> Path:
    path = folder / name
    data = path.read_bytes().decode("utf-8")
    assert old in data, (name, old)
    path.write_bytes(data.replace(old, new, 1).encode("utf-8"))
    if checksums:
        resum(folder)
    return path


# ----------------------------------------------------------------------------------------------- import


def test_the_fixture_imports(source, tmp_path):
    target = tmp_path / "field"
    written = import_references(source, target, today=datetime.date(2024, 5, 6))
    assert [p.name for p in written] == [
        "ucr_archive_1nn.csv", "bakeoff_redux_resample0.csv", "LICENSE-tsml-eval", "README.md"
    ]
    assert (target / "ucr_archive_1nn.csv").read_text() == (
        "dataset,1NN-ED,1NN-DTW-learned,1NN-DTW-learned-window,1NN-DTW-full\n"
        "Coffee,1.0000,1.0000,0,1.0000\nGunPoint,0.9133,0.9133,0,0.9067\nPLAID,0.5233,0.8343,12,0.8361\n"
    )
    assert (target / "bakeoff_redux_resample0.csv").read_text() == (
        "dataset,HC2,ROCKET\nCoffee,1.0,1.0\nGunPoint,1.0,1.0\nPLAID_eq,0.8919925512104283,\n"
        "Tools,0.8507462686567164,\n"
    )
    readme = (target / "README.md").read_text()
    assert "on 2024-05-06;" in readme and "resample 0" in readme
    assert "PLAID_eq (PLAID)" in readme and "Not in the UCR 2018 archive: Tools." in readme
    digest = hashlib.sha256((source / SUMMARY).read_bytes()).hexdigest()
    assert f"| `{SUMMARY}` | `{digest}` |" in readme
    assert (target / "LICENSE-tsml-eval").read_text() == (source / "tsml-eval-univariate/LICENSE").read_text()
    for path in (FIXTURES / "tables").iterdir():  # the reader's fixture tables are this import's output
        assert (target / path.name).read_bytes() == path.read_bytes()


def test_a_changed_file_fails_its_checksum(source, tmp_path):
    edit(source, ROCKET, "Coffee,1.0", "Coffee,0.5", checksums=False)
    with pytest.raises(DatasetError, match=r"ROCKET_accuracy.csv: SHA-256 [0-9a-f]{64} differs from [0-9a-f]{64} "):
        import_references(source, tmp_path / "field")


def test_an_unlisted_file_is_refused(source, tmp_path):
    shutil.copy(source / ROCKET, source / "tsml-eval-univariate/EXTRA_accuracy.csv")
    with pytest.raises(DatasetError, match=r"EXTRA_accuracy.csv: not listed in .*SHA256SUMS"):
        import_references(source, tmp_path / "field")


def test_missing_or_malformed_checksum_list(source, tmp_path):
    (source / "SHA256SUMS").write_text("0123  ./README.md\n")
    with pytest.raises(DatasetError, match=r"SHA256SUMS, line 1: expected '<64 hex digits>  <file>'"):
        import_references(source, tmp_path / "field")
    (source / "SHA256SUMS").unlink()
    with pytest.raises(DatasetError, match=r"SHA256SUMS: file not found"):
        import_references(source, tmp_path / "field")
    with pytest.raises(DatasetError, match=r"nowhere: reference folder not found"):
        import_references(tmp_path / "nowhere", tmp_path / "field")


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (SUMMARY, "DTW (w=100)", "DTW (w=10)", r"line 1: column 'DTW \(w=100\)' missing"),
        (SUMMARY, ",0.4767,", ",0.47x67,", r"line 4, column 'ED \(w=0\)': '0.47x67' is not a number"),
        (SUMMARY, ",0.1639,", ",1.1639,", r"line 4, column 'DTW \(w=100\)': 1.1639 is outside \[0, 1\]"),
        (SUMMARY, "0.1657 (12)", "0.1657", r"line 4, column 'DTW \(learned_w\)': expected 'error \(window\)'"),
        (SUMMARY, "0.1657 (12)", "0.1657 (1.5)", r"line 4, column 'DTW \(learned_w\)': expected 'error \(window\)'"),
        (SUMMARY, ",0.0000,0.4643", ",0.0000 0.1,0.4643", r"line 2, column 'DTW \(w=100\)': expected one number"),
        (SUMMARY, ",GunPoint,", ",Gunpoint,", r"line 3: 'Gunpoint' is not a UCR 2018 dataset.*did you mean 'GunPoint'"),
        (SUMMARY, ",PLAID,", ",Coffee,", r"line 4: Name 'Coffee' duplicated \(first on line 2\)"),
        (SUMMARY, ",0.8380,P. Schafer", ",0.8380", r"line 4: 11 fields, expected 12 as in the header \(truncated"),
        (SUMMARY, 'Bagnall"', "Bagnall", r"line \d: malformed CSV \(unexpected end of data\)"),
        (ROCKET, "Resamples:,0,", "Resamples:,1,", r"line 1: expected the header 'Resamples:,0"),
        (ROCKET, "Coffee,1.0,1.0,1.0", "Coffee,1.0,1.0", r"line 2: 3 fields, expected 4"),
        (ROCKET, "GunPoint,1.0,", "GunPoint,one,", r"line 3, column '0': 'one' is not a number"),
        (ROCKET, "GunPoint,1.0,", "GunPoint,,", r"line 3, column '0': empty"),
        (ROCKET, "GunPoint,1.0,", "GunPoint,-0.1,", r"line 3, column '0': -0.1 is outside \[0, 1\]"),
        (ROCKET, "GunPoint,1.0,", "GunPoint,NaN,", r"line 3, column '0': NaN is outside \[0, 1\]"),
        (ROCKET, "GunPoint,", "Coffee,", r"line 3: dataset 'Coffee' duplicated \(first on"),
    ],
)
def test_malformed_sources_name_file_and_line(source, tmp_path, name, old, new, message):
    target = tmp_path / "field"
    path = edit(source, name, old, new)
    with pytest.raises(DatasetError, match=re.escape(str(path)) + ", " + message):
        import_references(source, target)
    assert not target.exists()  # nothing is written before every source has been read


def test_a_failed_import_keeps_the_previous_tables(source, tmp_path):
    target = tmp_path / "field"
    import_references(source, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    edit(source, ROCKET, "Coffee,1.0", "Coffee,2.0")
    with pytest.raises(DatasetError):
        import_references(source, target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before


def test_without_a_licence_no_copy_is_left(source, tmp_path):
    target = tmp_path / "field"
    import_references(source, target)
    (source / "tsml-eval-univariate/LICENSE").unlink()
    resum(source)
    written = import_references(source, target)
    assert "LICENSE-tsml-eval" not in [p.name for p in written]
    assert not (target / "LICENSE-tsml-eval").exists()
    assert "LICENSE-tsml-eval" not in (target / "README.md").read_text()


def test_command_line(source, tmp_path, capsys):
    target = tmp_path / "field"
    assert main(["import", str(source), "--target", str(target)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"wrote .*ucr_archive_1nn.csv \(\d+ bytes\)", out)
    edit(source, ROCKET, "Coffee,1.0", "Coffee,x")
    assert main(["import", str(source), "--target", str(target)]) == 1
    assert re.match(r"error: .*ROCKET_accuracy.csv, line 2, column '0': 'x' is not a number", capsys.readouterr().err)
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


# ----------------------------------------------------------------------------------------------- reader


@pytest.fixture
def tables(tmp_path) -> Path:
    folder = tmp_path / "tables"
    shutil.copytree(FIXTURES / "tables", folder)
    return folder


ARCHIVE = "ucr_archive_1nn.csv"
BAKEOFF = "bakeoff_redux_resample0.csv"


def test_the_fixture_tables_read(tables):
    assert field_names(folder=tables) == [
        "1NN-ED (archive)", "1NN-DTW-learned (archive)", "1NN-DTW-full (archive)", "HC2", "ROCKET"
    ]
    table = field_accuracy(["1NN-ED (archive)", "HC2"], folder=tables)
    assert list(table.index) == ["Coffee", "GunPoint", "PLAID"]
    assert table.at["GunPoint", "1NN-ED (archive)"] == pytest.approx(0.9133)
    accuracy, window = read_archive_table(tables / ARCHIVE)
    assert accuracy.shape == (3, 3) and window.tolist() == [0, 0, 12]
    assert read_bakeoff_table(tables / BAKEOFF).shape == (4, 2)


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (ARCHIVE, "GunPoint,0.9133,0.9133,0,", "GunPoint,0.9133,0,", r"line 3: 4 fields, expected 5"),
        (ARCHIVE, "GunPoint,0.9133,", "GunPoint,91.33%,", r"line 3, column '1NN-ED': '91.33%' is not a number"),
        (ARCHIVE, "GunPoint,0.9133,", "GunPoint,1.9133,", r"line 3, column '1NN-ED': 1.9133 is outside \[0, 1\]"),
        (ARCHIVE, ",12,", ",twelve,", r"line 4, column '1NN-DTW-learned-window': 'twelve' is not a whole number"),
        (ARCHIVE, "PLAID,", "Coffee,", r"line 4: dataset 'Coffee' duplicated \(first on line 2\)"),
        (ARCHIVE, ",1NN-DTW-full", ",DTW-full", r"line 1: column '1NN-DTW-full' missing \(header: 'dataset'"),
        (ARCHIVE, ",1NN-DTW-learned,", ",1NN-ED,", r"line 1: column '1NN-ED' present 2 times"),
        (BAKEOFF, "dataset,", "name,", r"line 1: the first column is 'name', expected 'dataset'"),
        (BAKEOFF, ",ROCKET", ",HC2", r"line 1: classifier name 'HC2' in column 2 is repeated"),
        (BAKEOFF, ",ROCKET", ",1NN-ED (archive)", r"line 1: classifier name '1NN-ED \(archive\)' in column 3 is"),
        (BAKEOFF, ",ROCKET", ",", r"line 1: classifier name '' in column 3 is empty"),
        (BAKEOFF, "Tools,0.8507462686567164,", "Tools,0.85", r"line 5: 2 fields, expected 3 .*\(truncated file\?\)"),
        (BAKEOFF, "GunPoint,1.0,1.0", "GunPoint,1.0,inf", r"line 3, column 'ROCKET': inf is outside \[0, 1\]"),
        (BAKEOFF, "Tools,", "GunPoint,", r"line 5: dataset 'GunPoint' duplicated \(first on line 3\)"),
        (BAKEOFF, "Tools,", ",", r"line 5, column 'dataset': empty name"),
    ],
)
def test_malformed_tables_name_file_and_line(tables, name, old, new, message):
    path = edit(tables, name, old, new, checksums=False)
    with pytest.raises(DatasetError, match=re.escape(str(path)) + ", " + message):
        field_accuracy(["HC2"], folder=tables)


def test_empty_and_binary_tables(tables):
    (tables / ARCHIVE).write_text("\n\n")
    with pytest.raises(DatasetError, match=re.escape(str(tables / ARCHIVE)) + ": no header and no rows"):
        field_names(folder=tables)
    (tables / ARCHIVE).write_bytes(b"dataset\x00\x01")
    with pytest.raises(DatasetError, match="binary content"):
        field_names(folder=tables)
