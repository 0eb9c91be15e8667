"""Published accuracies of other classifiers on the UCR datasets, read from the imported tables.

The tables in ``datasets/field`` are written by :func:`rntk_bench.field.import_references`; this module only
reads them (cached per file, re-read when a file changes) and never needs ``../shared``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rntk_bench.data.names import suggest
from rntk_bench.errors import DatasetError, InvalidParameterError
from rntk_bench.field.sources import (
    ARCHIVE,
    ARCHIVE_CLASSIFIERS,
    ARCHIVE_COLUMNS,
    ARCHIVE_FILE,
    BAKEOFF,
    BAKEOFF_FILE,
    DATASET_COLUMN,
    FIELD_DIR,
    VARIANT_OF,
    WINDOW_COLUMN,
    FieldSource,
)
from rntk_bench.field.tables import column_positions, parse_fraction, read_rows, unique_names

__all__ = [
    "archive_dtw_window",
    "field_accuracy",
    "field_citation",
    "field_names",
    "field_source",
    "read_archive_table",
    "read_bakeoff_table",
]

_MISSING_HINT = "run `python -m rntk_bench.field import ../shared/references` to create it"


def read_archive_table(path: str | Path) -> tuple[pd.DataFrame, pd.Series]:
    """Read the imported archive table (``ucr_archive_1nn.csv``).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    accuracy : pandas.DataFrame
        Datasets x the archive's classifiers (display names such as ``"1NN-ED (archive)"``), float
        accuracies in [0, 1], NaN for an empty field.
    window : pandas.Series
        The learned DTW warping window per dataset (nullable ``Int64``).

    Raises
    ------
    DatasetError
        A missing file or column, a row with the wrong number of fields, a value that is not a number in
        [0, 1], a window that is not a whole number, or a dataset on two lines; the message names the file
        and line.
    """
    path = Path(path)
    header, rows = read_rows(path, "imported table")
    where = column_positions(path, header, ARCHIVE_COLUMNS)
    datasets = unique_names(path, rows, where[DATASET_COLUMN], DATASET_COLUMN)
    values = np.full((len(rows), len(ARCHIVE_CLASSIFIERS)), np.nan)
    windows: list[int | None] = []
    for i, (number, fields) in enumerate(rows):
        for j, (column, _) in enumerate(ARCHIVE_CLASSIFIERS.values()):
            values[i, j] = parse_fraction(path, number, column, fields[where[column]], empty_ok=True)
        text = fields[where[WINDOW_COLUMN]].strip()
        if text and not text.isdigit():
            raise DatasetError(f"{path}, line {number}, column {WINDOW_COLUMN!r}: {text!r} is not a whole number")
        windows.append(int(text) if text else None)
    index = pd.Index(datasets, name=DATASET_COLUMN)
    accuracy = pd.DataFrame(values, index=index, columns=list(ARCHIVE_CLASSIFIERS))
    return accuracy, pd.Series(windows, index=index, dtype="Int64", name=WINDOW_COLUMN)


def read_bakeoff_table(path: str | Path) -> pd.DataFrame:
    """Read the imported bake off table (``bakeoff_redux_resample0.csv``).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    pandas.DataFrame
        Datasets x classifiers (the header's names), float accuracies in [0, 1], NaN for an empty field.

    Raises
    ------
    DatasetError
        A first column other than ``dataset``, an empty or repeated classifier name (or one of the archive's
        names), a row with the wrong number of fields, a value that is not a number in [0, 1], or a dataset on
        two lines; the message names the file and line.
    """
    path = Path(path)
    (number, header), rows = read_rows(path, "imported table")
    if header[0] != DATASET_COLUMN:
        raise DatasetError(f"{path}, line {number}: the first column is {header[0]!r}, expected {DATASET_COLUMN!r}")
    classifiers = header[1:]
    for position, name in enumerate(classifiers, start=2):
        if not name.strip() or classifiers.count(name) > 1 or name in ARCHIVE_CLASSIFIERS:
            problem = "empty" if not name.strip() else "repeated" if classifiers.count(name) > 1 else "an archive name"
            raise DatasetError(f"{path}, line {number}: classifier name {name!r} in column {position} is {problem}")
    datasets = unique_names(path, rows, 0, DATASET_COLUMN)
    values = np.array(
        [[parse_fraction(path, n, name, text, empty_ok=True) for name, text in zip(classifiers, fields[1:])]
         for n, fields in rows],
        dtype=np.float64,
    ).reshape(len(rows), len(classifiers))
    return pd.DataFrame(values, index=pd.Index(datasets, name=DATASET_COLUMN), columns=classifiers)


@dataclass(frozen=True)
class _Tables:
    accuracy: pd.DataFrame  # every dataset x every classifier: archive rows first, then bake-off-only rows
    window: pd.Series
    ucr: tuple[str, ...]  # the archive's datasets: the UCR 2018 names
    sources: dict[str, FieldSource]


_CACHE: dict[Path, tuple[tuple[int, ...], _Tables]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    try:
        status = path.stat()
    except FileNotFoundError:
        raise DatasetError(f"{path}: published results table not found; {_MISSING_HINT}") from None
    return status.st_mtime_ns, status.st_size


def _tables(folder: str | Path | None) -> _Tables:
    folder = Path(folder) if folder is not None else FIELD_DIR
    archive_path, bakeoff_path = folder / ARCHIVE_FILE, folder / BAKEOFF_FILE
    stamp = _stamp(archive_path) + _stamp(bakeoff_path)
    cached = _CACHE.get(folder)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    archive, window = read_archive_table(archive_path)
    bakeoff = read_bakeoff_table(bakeoff_path)
    rows = list(archive.index) + [name for name in bakeoff.index if name not in archive.index]
    accuracy = archive.reindex(rows).join(bakeoff.reindex(rows))
    accuracy.index.name, accuracy.columns.name = DATASET_COLUMN, "classifier"
    sources = {name: ARCHIVE for name in archive.columns} | {name: BAKEOFF for name in bakeoff.columns}
    tables = _Tables(accuracy, window, tuple(archive.index), sources)
    _CACHE[folder] = (stamp, tables)
    return tables


def _known(name: str, tables: _Tables) -> str:
    if not isinstance(name, str) or name not in tables.sources:
        valid = list(tables.sources)
        hint = suggest(name, valid) if isinstance(name, str) else ""
        raise InvalidParameterError(
            f"unknown published classifier {name!r}{hint} (available: {', '.join(valid)})"
        )
    return name


def field_names(folder: str | Path | None = None) -> list[str]:
    """Every published classifier available: the archive's three 1-NN classifiers, then the bake off's.

    Parameters
    ----------
    folder : str or Path, optional
        The folder of the imported tables; the repository's ``datasets/field`` by default.

    Returns
    -------
    list of str
        ``["1NN-ED (archive)", "1NN-DTW-learned (archive)", "1NN-DTW-full (archive)", "1NN-DTW", "Arsenal",
        ...]``: names with ``(archive)`` come from the archive's summary table, the others from the bake off
        (:func:`field_source` says which).

    Raises
    ------
    DatasetError
        A table is missing or malformed.
    """
    return list(_tables(folder).sources)


def field_accuracy(
    names: Sequence[str],
    datasets: Sequence[str] | None = None,
    *,
    variants: bool = False,
    folder: str | Path | None = None,
) -> pd.DataFrame:
    """Published test accuracies (official UCR split) of the classifiers ``names``.

    Parameters
    ----------
    names : sequence of str
        Classifiers from :func:`field_names` (a single string is one name), each at most once.
    datasets : sequence of str, optional
        The rows, in this order. Any name is accepted (typically a run's datasets): one with no published
        figure, a UCI dataset say, gives a row of NaN. By default, the UCR 2018 datasets with a figure from at
        least one of ``names``, in the order of ``datasets/ucr.csv``; the bake off's extra datasets (new
        ones, and the ``_eq``/``_nmv`` copies) appear only when named.
    variants : bool
        Where a bake off classifier has no figure for a UCR 2018 dataset but has one for the bake off's
        preprocessed copy of it (``PLAID_eq`` for ``PLAID``, see :data:`rntk_bench.field.VARIANT_OF`), use
        that figure. The cells filled so are listed in ``result.attrs["variants"]``
        (``{classifier: {dataset: copy}}``), for a footnote: the copy is not the data rntk-bench reads.
    folder : str or Path, optional
        The folder of the imported tables; the repository's ``datasets/field`` by default.

    Returns
    -------
    pandas.DataFrame
        Datasets (index ``"dataset"``) x ``names`` (in the given order), float accuracies in [0, 1], NaN
        where the classifier has no published figure for the dataset.

    Raises
    ------
    InvalidParameterError
        An unknown or repeated name; the message lists the available names and suggests close ones.
    DatasetError
        A table is missing or malformed.
    """
    tables = _tables(folder)
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        _known(name, tables)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidParameterError(f"published classifiers named more than once: {', '.join(repeated)}")
    table = tables.accuracy[names].copy()
    filled: dict[str, dict[str, str]] = {}
    if variants:
        for copy, original in VARIANT_OF.items():
            if copy not in table.index or original not in table.index:
                continue
            for name in names:
                if math.isnan(table.at[original, name]) and not math.isnan(table.at[copy, name]):
                    table.at[original, name] = table.at[copy, name]
                    filled.setdefault(name, {})[original] = copy
    if datasets is None:
        ucr = table.loc[list(tables.ucr)]
        result = ucr[ucr.notna().any(axis=1)] if names else ucr.iloc[:0]
    else:
        datasets = [datasets] if isinstance(datasets, str) else list(datasets)
        result = table.reindex(pd.Index(datasets, name=DATASET_COLUMN))
    result = result.astype(np.float64)
    rows = set(result.index)
    result.attrs["variants"] = {
        name: {original: copy for original, copy in cells.items() if original in rows}
        for name, cells in filled.items()
        if rows.intersection(cells)
    }
    return result


def field_source(name: str, folder: str | Path | None = None) -> str:
    """A short credit for captions: ``"published: Dau et al. 2019, UCR archive summary table"`` or
    ``"published: Middlehurst et al. 2024, bake off redux, resample 0"``.

    Raises
    ------
    InvalidParameterError
        An unknown name; the message lists the available names.
    """
    tables = _tables(folder)
    return tables.sources[_known(name, tables)].caption


def field_citation(name: str, folder: str | Path | None = None) -> str:
    """The full reference to cite for the classifier's figures (authors, title, venue, year).

    Raises
    ------
    InvalidParameterError
        An unknown name; the message lists the available names.
    """
    tables = _tables(folder)
    return tables.sources[_known(name, tables)].citation


def archive_dtw_window(datasets: Sequence[str] | None = None, folder: str | Path | None = None) -> pd.Series:
    """The warping window the archive learned for ``1NN-DTW-learned (archive)``, per dataset.

    Parameters
    ----------
    datasets : sequence of str, optional
        The rows; all of the archive's datasets by default. Unknown names get ``<NA>``.
    folder : str or Path, optional

    Returns
    -------
    pandas.Series
        Nullable integers (``Int64``): the number in parentheses of the summary's ``DTW (learned_w)`` column.
    """
    window = _tables(folder).window
    return window.copy() if datasets is None else window.reindex(list(datasets))
