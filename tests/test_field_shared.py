"""The imported tables equal a fresh parse of ``../shared/references`` (skipped where that folder is absent).

The checks parse the sources with plain ``csv`` code, following the folder's README, not with the importer,
so an importer bug and a wrong table cannot agree by accident.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import math
import re
from pathlib import Path

import pytest

from rntk_bench.field import FIELD_DIR, field_accuracy, field_names, import_references

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = ROOT.parent / "shared" / "references"


@pytest.fixture(scope="module")
def references() -> Path:
    if not (REFERENCES / "SHA256SUMS").is_file():
        pytest.skip(f"published reference results not found at {REFERENCES}")
    return REFERENCES


def summary_rows(references: Path) -> list[dict[str, str]]:
    with open(references / "UCR_DataSummary.csv", encoding="utf-8-sig", newline="") as f:
        return [{key.strip(): value for key, value in row.items()} for row in csv.DictReader(f)]


def test_a_fresh_import_reproduces_the_committed_files(references, tmp_path):
    day = datetime.date(2000, 1, 2)
    import_references(references, tmp_path, today=day)
    for name in ("ucr_archive_1nn.csv", "bakeoff_redux_resample0.csv", "LICENSE-tsml-eval"):
        assert (tmp_path / name).read_bytes() == (FIELD_DIR / name).read_bytes(), name
    committed = re.sub(r" on \d{4}-\d{2}-\d{2};", " on 2000-01-02;", (FIELD_DIR / "README.md").read_text())
    assert (tmp_path / "README.md").read_text() == committed


def test_archive_accuracies_are_one_minus_the_published_errors(references):
    rows = summary_rows(references)
    assert len(rows) == 128
    columns = {"1NN-ED (archive)": "ED (w=0)", "1NN-DTW-learned (archive)": "DTW (learned_w)",
               "1NN-DTW-full (archive)": "DTW (w=100)"}
    table = field_accuracy(list(columns), [row["Name"].strip() for row in rows])
    for row in rows:
        for name, column in columns.items():
            error = float(row[column].split()[0])
            assert table.at[row["Name"].strip(), name] == pytest.approx(1 - error, abs=1e-12)
    gunpoint = next(row for row in rows if row["Name"].strip() == "GunPoint")
    learned = float(gunpoint["DTW (learned_w)"].split()[0])
    assert field_accuracy(["1NN-DTW-learned (archive)"], ["GunPoint"]).iat[0, 0] == pytest.approx(1 - learned)


def test_bakeoff_accuracies_are_resample_0_as_published(references):
    files = sorted((references / "tsml-eval-univariate").glob("*_accuracy.csv"))
    assert len(files) == 40
    names = [path.name.removesuffix("_accuracy.csv") for path in files]
    assert set(field_names()[3:]) == set(names)
    published = {}
    for name, path in zip(names, files):
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0][:2] == ["Resamples:", "0"]
        published[name] = {row[0]: float(row[1]) for row in rows[1:]}
    datasets = sorted({dataset for values in published.values() for dataset in values})
    table = field_accuracy(names, datasets)
    for name in names:
        for dataset in datasets:
            value = table.at[dataset, name]
            if dataset in published[name]:
                assert value == published[name][dataset], (name, dataset)
            else:
                assert math.isnan(value), (name, dataset)
    assert table.at["Adiac", "ROCKET"] == published["ROCKET"]["Adiac"]


def test_the_readme_records_each_source_checksum(references):
    listed = {}
    for line in (references / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name.removeprefix("./")] = digest
    readme = (FIELD_DIR / "README.md").read_text()
    recorded = dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", readme, flags=re.M))
    assert len(recorded) == 42  # the summary, 40 classifier files and the licence
    for name, digest in recorded.items():
        assert listed[name] == digest == hashlib.sha256((references / name).read_bytes()).hexdigest()
