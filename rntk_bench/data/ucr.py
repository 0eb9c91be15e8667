"""Loader for the UCR 2018 archive: ``<root>/UCRArchive_2018/<Name>/<Name>_TRAIN.tsv`` and ``_TEST.tsv``.

The same folder may instead hold ``<Name>_TRAIN.ts`` and ``<Name>_TEST.ts`` (what
``rntk-bench datasets fetch`` installs from timeseriesclassification.com); ``.tsv`` wins when both exist.

In the ``.tsv`` files column 1 is the class label and the rest are the values. Variable-length series are
padded with trailing NaNs, which are stripped per series; any other NaN is a missing value, filled by linear
interpolation (see :func:`rntk_bench.data.series.interpolate_missing`) and reported in ``Dataset.notes``.
For datasets the archive lists with a fixed length (``padded=False``), trailing NaNs are missing values too
(MelbournePedestrian has series whose last hours are missing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rntk_bench.data.dataset import Collection, Dataset
from rntk_bench.data.locations import ucr_dir
from rntk_bench.data.series import assemble_train_test
from rntk_bench.data.textfiles import parse_numeric_lines, read_text
from rntk_bench.data.tsformat import read_ts
from rntk_bench.errors import DatasetError, DatasetNotFoundError


def read_ucr_tsv(path: str | Path, padded: bool = True) -> tuple[list[np.ndarray], np.ndarray]:
    """Read one UCR ``.tsv`` file.

    Parameters
    ----------
    path : str or Path
    padded : bool
        Whether trailing NaNs are length padding (stripped) rather than missing values.

    Returns
    -------
    cases : list of ndarray of shape (1, T_i)
    labels : ndarray of shape (n_cases,), float
        The label column as read.
    """
    path = Path(path)
    lines = [(i, line) for i, line in enumerate(read_text(path).splitlines(), start=1) if line.strip()]
    if not lines:
        raise DatasetError(f"{path}: empty file")
    sep = "\t" if "\t" in lines[0][1] else ","
    table = parse_numeric_lines(path, lines, sep)
    if table.shape[1] < 2:
        raise DatasetError(f"{path}, line {lines[0][0]}: a label with no values")
    labels, values = table[:, 0], table[:, 1:]
    if np.isnan(labels).any():
        row = int(np.flatnonzero(np.isnan(labels))[0])
        raise DatasetError(f"{path}, line {lines[row][0]}: the class label is missing (NaN)")
    cases = []
    for row, series in enumerate(values):
        if padded:
            observed = np.flatnonzero(~np.isnan(series))
            if observed.size == 0:
                raise DatasetError(f"{path}, line {lines[row][0]}: a label with no values (all NaN)")
            series = series[: observed[-1] + 1]
        elif np.isnan(series).all():
            raise DatasetError(f"{path}, line {lines[row][0]}: a label with no values (all NaN)")
        cases.append(series[None, :])
    return cases, labels


def ucr_files(root: Path, name: str) -> tuple[Path, Path] | None:
    """The (train, test) files of UCR dataset ``name`` under ``root``, ``.tsv`` preferred; None if absent."""
    folder = ucr_dir(root, name)
    for suffix in (".tsv", ".ts"):
        train, test = folder / f"{name}_TRAIN{suffix}", folder / f"{name}_TEST{suffix}"
        if train.is_file() and test.is_file():
            return train, test
    return None


EXPECTED_UCR_FILES = "{name}_TRAIN.tsv and {name}_TEST.tsv (or {name}_TRAIN.ts and {name}_TEST.ts)"
"""What a UCR dataset folder must hold (formatted with the dataset name)."""


def _listing(folder: Path, limit: int = 8) -> str:
    try:
        names = sorted(entry.name for entry in folder.iterdir())
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    if not names:
        return "nothing"
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def find_ucr_files(root: str | Path, name: str, fetch_name: str | None = None) -> tuple[Path, Path]:
    """The (train, test) files of UCR dataset ``name`` under data directory ``root``, checked for presence.

    Parameters
    ----------
    root : str or Path
        Data directory holding ``UCRArchive_2018/``.
    name : str
        Dataset name as the archive spells it (the folder name).
    fetch_name : str, optional
        The name to suggest in ``rntk-bench datasets fetch`` hints (default ``name``).

    Returns
    -------
    (Path, Path)
        ``<name>_TRAIN.tsv`` and ``<name>_TEST.tsv``, else the ``.ts`` pair.

    Raises
    ------
    DatasetNotFoundError
        The data directory has no ``UCRArchive_2018/<name>`` entry at all.
    DatasetError
        The entry exists but is broken: a file or dangling link instead of a folder, or a folder without a
        complete pair of one format. The message names the missing file by its full path.
    """
    folder = ucr_dir(Path(root), name)
    fetch_name = fetch_name or name
    expected = EXPECTED_UCR_FILES.format(name=name)
    replace = f"restore it, or replace the folder with `rntk-bench datasets fetch {fetch_name} --force`"
    if not folder.is_dir():
        if folder.is_symlink() or folder.exists():
            what = "a link to a missing folder" if not folder.exists() else "a file"
            raise DatasetError(
                f"{folder}: {what}, not a folder; a UCR dataset folder holds {expected} (remove it, then "
                f"restore the folder or get it with `rntk-bench datasets fetch {fetch_name}`)"
            )
        raise DatasetNotFoundError(
            f"UCR dataset {name!r} is not in {folder} (expected {expected}); get it with "
            f"`rntk-bench datasets fetch {fetch_name}`"
        )
    files = ucr_files(Path(root), name)
    if files is not None:
        return files
    for suffix in (".tsv", ".ts"):
        train, test = folder / f"{name}_TRAIN{suffix}", folder / f"{name}_TEST{suffix}"
        if train.is_file() or test.is_file():
            missing = test if train.is_file() else train
            raise DatasetError(
                f"{missing}: file missing; the UCR dataset folder {folder} holds {_listing(folder)}, but a dataset "
                f"needs both {train.name} and {test.name} (or both as {'.ts' if suffix == '.tsv' else '.tsv'}); "
                f"{replace}"
            )
    raise DatasetError(
        f"{folder / f'{name}_TRAIN.tsv'} and {name}_TEST.tsv missing (nor a .ts pair): the UCR dataset folder "
        f"{folder} holds {_listing(folder)}, but a dataset needs {expected}; restore them, or replace the "
        f"folder with `rntk-bench datasets fetch {fetch_name} --force`"
    )


def load_ts_pair(name: str, collection: Collection, train: Path, test: Path) -> Dataset:
    """Build a dataset from a ``_TRAIN.ts`` / ``_TEST.ts`` pair; both must declare the same classes."""
    parsed_train, parsed_test = read_ts(train), read_ts(test)
    declared = set(parsed_train.class_labels) | set(parsed_test.class_labels)
    present = set(parsed_train.labels) | set(parsed_test.labels)
    if declared - present:
        raise DatasetError(
            f"{train.parent}: class(es) {sorted(declared - present)} declared by @classLabel have no case "
            "(empty class)"
        )
    return assemble_train_test(
        name, collection, parsed_train.cases, parsed_test.cases, parsed_train.labels, parsed_test.labels,
        train.parent,
    )


def load_ucr(root: str | Path, name: str, padded: bool = True) -> Dataset:
    """Load UCR dataset ``name`` from data directory ``root`` with its train/test split.

    Parameters
    ----------
    root : str or Path
        Data directory holding ``UCRArchive_2018/``.
    name : str
        Dataset name as the archive spells it (``"GunPoint"``).
    padded : bool
        Whether trailing NaNs in ``.tsv`` files are length padding; pass False for datasets the archive
        lists with a fixed length.

    Raises
    ------
    DatasetNotFoundError
        When the data directory has no folder for ``name``.
    DatasetError
        When the folder is broken (see :func:`find_ucr_files`) or a file is corrupt (naming file and line).
    """
    train, test = find_ucr_files(Path(root), name)
    if train.suffix == ".ts":
        return load_ts_pair(name, "ucr", train, test)
    train_cases, train_labels = read_ucr_tsv(train, padded)
    test_cases, test_labels = read_ucr_tsv(test, padded)
    return assemble_train_test(name, "ucr", train_cases, test_cases, train_labels, test_labels, train.parent)
