"""The import step: published figures from ``../shared/references`` into compact tables under ``datasets/field``.

``python -m rntk_bench.field import ../shared/references`` runs :func:`import_references`. Every source file
is checked against the folder's ``SHA256SUMS`` before it is read, every value is validated, and the outputs
are written atomically, so a failed import leaves the previous tables in place.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rntk_bench.atomic import atomic_write_text
from rntk_bench.data.names import suggest
from rntk_bench.data.suites import get_suite
from rntk_bench.errors import DatasetError
from rntk_bench.field.sources import (
    ARCHIVE,
    ARCHIVE_CLASSIFIERS,
    ARCHIVE_COLUMNS,
    ARCHIVE_FILE,
    BAKEOFF,
    BAKEOFF_FILE,
    BAKEOFF_SOURCE_DIR,
    BAKEOFF_SUFFIX,
    CHECKSUMS_SOURCE,
    DATASET_COLUMN,
    FIELD_DIR,
    LICENSE_FILE,
    README_FILE,
    SUMMARY_SOURCE,
    VARIANT_OF,
    WINDOW_COLUMN,
)
from rntk_bench.field.tables import column_positions, parse_fraction, read_rows, unique_names

__all__ = ["import_references"]

_CHECKSUM_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")
_LEARNED = re.compile(r"^\((\d+)\)$")
_SUMMARY_NAME = "Name"
_BAKEOFF_HEADER = "Resamples:"


@dataclass
class _Imported:
    """What the sources hold, ready to write."""

    checksums: dict[str, str] = field(default_factory=dict)  # relative source path -> SHA-256, checked
    archive: list[list[str]] = field(default_factory=list)  # rows of the archive table, header excluded
    bakeoff: dict[str, dict[str, str]] = field(default_factory=dict)  # classifier -> dataset -> accuracy text
    license_text: str | None = None


def _read_checksums(source: Path) -> dict[str, str]:
    path = source / CHECKSUMS_SOURCE
    if not path.is_file():
        raise DatasetError(f"{path}: file not found (the reference folder must list its files' SHA-256 there)")
    sums = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        match = _CHECKSUM_LINE.match(line.strip())
        if not match:
            raise DatasetError(f"{path}, line {number}: expected '<64 hex digits>  <file>', got {line.strip()!r}")
        name = match.group(2).strip()
        sums[name.removeprefix("./")] = match.group(1).lower()
    return sums


def _verified(source: Path, relative: str, sums: dict[str, str], checked: dict[str, str]) -> Path:
    """``source / relative`` after its SHA-256 matched the listed one; records it in ``checked``."""
    path = source / relative
    listed = sums.get(relative)
    if listed is None:
        raise DatasetError(f"{path}: not listed in {source / CHECKSUMS_SOURCE}, cannot check it")
    try:
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found (listed in {source / CHECKSUMS_SOURCE})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror})") from None
    if actual != listed:
        raise DatasetError(
            f"{path}: SHA-256 {actual} differs from {listed} listed in {source / CHECKSUMS_SOURCE} "
            "(modified or corrupt file)"
        )
    checked[relative] = actual
    return path


def _accuracy_text(path: Path, number: int, column: str, error_text: str) -> str:
    """``1 - error`` as exact decimal text (``0.3887`` -> ``0.6113``), so no float rounding creeps in."""
    parse_fraction(path, number, column, error_text)
    return format(Decimal(1) - Decimal(error_text.strip()), "f")


def _parse_summary(path: Path, ucr_names: tuple[str, ...]) -> list[list[str]]:
    header, rows = read_rows(path)
    wanted = (_SUMMARY_NAME,) + tuple(source for _, source in ARCHIVE_CLASSIFIERS.values())
    where = column_positions(path, header, wanted, strip=True)
    unique_names(path, rows, where[_SUMMARY_NAME], _SUMMARY_NAME)
    out = []
    for number, fields in rows:
        name = fields[where[_SUMMARY_NAME]].strip()
        if name not in ucr_names:
            raise DatasetError(
                f"{path}, line {number}: {name!r} is not a UCR 2018 dataset of datasets/ucr.csv"
                f"{suggest(name, ucr_names)}"
            )
        row = {DATASET_COLUMN: name}
        for column, source_column in ARCHIVE_CLASSIFIERS.values():
            # Values carry stray (also no-break) spaces; the learned-window column adds "(w)" after the error.
            parts = fields[where[source_column]].split()
            window = None
            if source_column == "DTW (learned_w)":
                if len(parts) != 2 or not _LEARNED.match(parts[1]):
                    raise DatasetError(
                        f"{path}, line {number}, column {source_column!r}: expected 'error (window)', "
                        f"got {fields[where[source_column]].strip()!r}"
                    )
                window = _LEARNED.match(parts[1]).group(1)
            elif len(parts) > 1:
                raise DatasetError(
                    f"{path}, line {number}, column {source_column!r}: expected one number, "
                    f"got {fields[where[source_column]].strip()!r}"
                )
            row[column] = _accuracy_text(path, number, source_column, parts[0] if parts else "")
            if window is not None:
                row[WINDOW_COLUMN] = window
        out.append([row[column] for column in ARCHIVE_COLUMNS])
    return sorted(out, key=lambda row: row[0].casefold())  # by name, case ignored: the order of datasets/ucr.csv


def _parse_bakeoff(path: Path) -> dict[str, str]:
    """Dataset -> resample-0 accuracy text of one ``<NAME>_accuracy.csv``."""
    header, rows = read_rows(path)
    number, fields = header
    if len(fields) < 2 or fields[0].strip() != _BAKEOFF_HEADER or fields[1].strip() != "0":
        raise DatasetError(
            f"{path}, line {number}: expected the header '{_BAKEOFF_HEADER},0,1,...' (resample 0 first), "
            f"got {','.join(fields[:3])!r}..."
        )
    names = unique_names(path, rows, 0, "dataset")
    accuracies = {}
    for name, (number, fields) in zip(names, rows):
        # Resample 0 is the official UCR train/test split, the one rntk-bench uses; the others are re-splits.
        parse_fraction(path, number, "0", fields[1])
        accuracies[name] = fields[1].strip()  # the published text, so the table keeps every digit
    return accuracies


def _read_sources(source: Path) -> _Imported:
    if not source.is_dir():
        raise DatasetError(f"{source}: reference folder not found (expected {SUMMARY_SOURCE} and "
                           f"{BAKEOFF_SOURCE_DIR}/ inside)")
    sums = _read_checksums(source)
    imported = _Imported()
    ucr_names = get_suite("ucr128").names
    summary = _verified(source, SUMMARY_SOURCE, sums, imported.checksums)
    imported.archive = _parse_summary(summary, ucr_names)
    folder = source / BAKEOFF_SOURCE_DIR
    files = sorted(folder.glob(f"*{BAKEOFF_SUFFIX}"), key=lambda p: p.name.casefold())
    if not files:
        raise DatasetError(f"{folder}: no *{BAKEOFF_SUFFIX} files")
    for path in files:
        classifier = path.name.removesuffix(BAKEOFF_SUFFIX)
        _verified(source, f"{BAKEOFF_SOURCE_DIR}/{path.name}", sums, imported.checksums)
        imported.bakeoff[classifier] = _parse_bakeoff(path)
    if (folder / "LICENSE").is_file():
        license_path = _verified(source, f"{BAKEOFF_SOURCE_DIR}/LICENSE", sums, imported.checksums)
        imported.license_text = license_path.read_text(encoding="utf-8")
    return imported


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _bakeoff_rows(bakeoff: dict[str, dict[str, str]]) -> tuple[list[str], list[list[str]]]:
    datasets = sorted({name for values in bakeoff.values() for name in values}, key=str.casefold)
    classifiers = list(bakeoff)
    rows = [[name] + [bakeoff[c].get(name, "") for c in classifiers] for name in datasets]
    return [DATASET_COLUMN, *classifiers], rows


def _full_dtw_agreement(imported: _Imported) -> tuple[int, int] | None:
    """On how many shared datasets the bake off's 1NN-DTW equals the archive's full-window DTW (to its
    4-decimal rounding): evidence for which DTW the bake off ran."""
    dtw = imported.bakeoff.get("1NN-DTW")
    if dtw is None:
        return None
    full = {row[0]: float(row[ARCHIVE_COLUMNS.index("1NN-DTW-full")]) for row in imported.archive}
    shared = [name for name in dtw if name in full]
    return sum(abs(float(dtw[name]) - full[name]) <= 6e-5 for name in shared), len(shared)


def _names_list(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def _readme(imported: _Imported, today: str, license_written: bool) -> str:
    ucr = [row[0] for row in imported.archive]
    ucr_set = set(get_suite("ucr128").names)
    datasets = sorted({name for values in imported.bakeoff.values() for name in values}, key=str.casefold)
    variants = [f"{name} ({VARIANT_OF[name]})" for name in datasets if name in VARIANT_OF]
    others = [name for name in datasets if name not in ucr_set and name not in VARIANT_OF]
    absent = [name for name in ucr if name not in datasets]
    counts = sorted({len(values) for values in imported.bakeoff.values()})
    agreement = _full_dtw_agreement(imported)
    lines = [
        "# Published results of other classifiers (\"the field\")",
        "",
        "Generated by `python -m rntk_bench.field import ../shared/references` "
        f"(`rntk_bench/field/importer.py`) on {today}; do not edit by hand. Read by `rntk_bench.field` "
        "(`field_names`, `field_accuracy`, `field_source`). Accuracies are fractions in [0, 1]; an empty field "
        "means the source has no figure for that dataset.",
        "",
        "| file | rows | what |",
        "|---|---|---|",
        f"| `{ARCHIVE_FILE}` | {len(imported.archive)} | 1-NN accuracies from the UCR archive's summary table: "
        "`1NN-ED`, `1NN-DTW-learned`, `1NN-DTW-learned-window`, `1NN-DTW-full` |",
        f"| `{BAKEOFF_FILE}` | {len(datasets)} | bake off redux accuracies on resample 0, one column per "
        f"classifier ({len(imported.bakeoff)}) |",
    ]
    if license_written:
        lines.append(f"| `{LICENSE_FILE}` | - | the BSD-3-Clause licence of the bake off results |")
    lines += [
        "",
        "## UCR archive summary table",
        "",
        f"Source: `{SUMMARY_SOURCE}`, the archive's DataSummary.csv, unchanged. Cite: {ARCHIVE.citation}.",
        "",
        "Taken: the columns `ED (w=0)`, `DTW (learned_w)` and `DTW (w=100)`, which are ERROR RATES of 1-nearest-"
        "neighbour classifiers on the official train/test split. Stored as accuracies, 1 - error, computed in "
        "exact decimal arithmetic (0.3887 -> 0.6113). The integer in parentheses of `DTW (learned_w)` (the "
        "warping window learned on the training set) is copied as it is into `1NN-DTW-learned-window`. "
        "Display names: `1NN-ED (archive)`, "
        "`1NN-DTW-learned (archive)`, `1NN-DTW-full (archive)`.",
        "",
        f"Dataset names: all {len(ucr)} rows use the UCR 2018 spelling of `datasets/ucr.csv` (checked on import).",
        "",
        "## Bake off redux",
        "",
        f"Source: `{BAKEOFF_SOURCE_DIR}/<NAME>_accuracy.csv`, from time-series-machine-learning/tsml-eval, "
        f"results/classification/Univariate. Cite: {BAKEOFF.citation}. Licence: BSD-3-Clause"
        + (f", text in `{LICENSE_FILE}`." if license_written else "."),
        "",
        "Taken: column `0` (resample 0) of every file, the official UCR train/test split that rntk-bench "
        "uses; resamples 1-29 are random stratified re-splits and are not imported. The values are copied "
        "as published. The column names are the file names less `_accuracy.csv`; they are also the display "
        "names.",
        "",
        f"Datasets: {len(datasets)} in all ({' or '.join(map(str, counts))} per classifier).",
        f"- Preprocessed copies of UCR 2018 datasets, kept under their own names (`_eq`: made equal length, "
        f"`_nmv`: no missing values; rntk-bench reads the original files instead, so these figures are on "
        f"different data; `field_accuracy(..., variants=True)` lets them stand in): {_names_list(variants)}.",
        f"- Not in the UCR 2018 archive: {_names_list(others)}.",
        f"- UCR 2018 datasets with no bake off figure: {_names_list(absent)}.",
    ]
    if agreement is not None:
        lines.append(
            f"- The bake off's `1NN-DTW` is a full-window DTW: it equals the archive's `DTW (w=100)` accuracy "
            f"(to the archive's 4 decimals) on {agreement[0]} of the {agreement[1]} datasets both have."
        )
    lines += [
        "",
        "## Source files (SHA-256, checked against the reference folder's SHA256SUMS on import)",
        "",
        "| file | sha256 |",
        "|---|---|",
        *(f"| `{name}` | `{digest}` |" for name, digest in imported.checksums.items()),
        "",
    ]
    return "\n".join(lines)


def import_references(
    source_dir: str | Path, target_dir: str | Path = FIELD_DIR, *, today: datetime.date | None = None
) -> list[Path]:
    """Import the published figures of ``source_dir`` into ``target_dir``.

    Parameters
    ----------
    source_dir : str or Path
        The reference folder (``../shared/references``): ``SHA256SUMS``, ``UCR_DataSummary.csv`` and
        ``tsml-eval-univariate/<NAME>_accuracy.csv`` (with its ``LICENSE``).
    target_dir : str or Path
        Where the tables go; by default the repository's ``datasets/field``.
    today : datetime.date, optional
        The import date written into the README; today by default.

    Returns
    -------
    list of Path
        The files written: the archive table, the bake off table, the licence copy (when the source has
        one) and the README.

    Raises
    ------
    DatasetError
        A missing source file, a SHA-256 that differs from ``SHA256SUMS`` (or a file not listed there), a
        malformed row, a value that is not a number in [0, 1], a duplicated dataset, a missing column or a
        dataset of the summary table that is not a UCR 2018 name. Nothing is written then.
    WriteError
        The target folder cannot be written.
    """
    source, target = Path(source_dir), Path(target_dir)
    imported = _read_sources(source)
    day = (today or datetime.date.today()).isoformat()
    written = [
        atomic_write_text(target / ARCHIVE_FILE, _csv_text(list(ARCHIVE_COLUMNS), imported.archive)),
        atomic_write_text(target / BAKEOFF_FILE, _csv_text(*_bakeoff_rows(imported.bakeoff))),
    ]
    if imported.license_text is not None:
        written.append(atomic_write_text(target / LICENSE_FILE, imported.license_text))
    else:
        (target / LICENSE_FILE).unlink(missing_ok=True)  # a stale copy would claim a licence the source lacks
    written.append(atomic_write_text(target / README_FILE, _readme(imported, day, imported.license_text is not None)))
    return written
