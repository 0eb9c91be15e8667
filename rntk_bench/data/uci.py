"""Loader for the Fernandez-Delgado et al. (JMLR 2014) UCI collection: ``<root>/fernandez-delgado/<name>/``.

Per dataset folder: ``<name>.txt`` (``key= value`` metadata), the data file(s) named by ``fich1=`` (and
``fich2=`` for datasets with a predefined test set), ``conxuntos.dat`` (train half, validation half) and
``conxuntos_kfold.dat`` (4 x (train, test) index lines, 0-based). Data rows are
``index f1 ... fd label`` after one header line, labels 0-based.

The splits are used exactly as published: ``"validation"`` from ``conxuntos.dat`` and ``"fold-0"`` ..
``"fold-3"`` from ``conxuntos_kfold.dat`` (four random 75/25 splits whose test sets overlap). The published
indices address the rows of ``fich1`` only. For the 17 datasets with a predefined test file (``fich2``), its
rows are appended after the ``fich1`` rows so that ``X`` holds the whole dataset, and a ``"train-test"`` split
(``fich1`` rows train, ``fich2`` rows test) is added; such a dataset is scored by default with
``train-cv-test`` (cross-validation on the ``fich1`` rows selects, the predefined test file reports), since no
published split uses its test file (Arora et al.'s 90-dataset protocol leaves these datasets out).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rntk_bench.data.dataset import Dataset, DatasetInfo, Split
from rntk_bench.data.locations import uci_dir
from rntk_bench.data.textfiles import parse_numeric_lines, read_text
from rntk_bench.errors import DatasetError, DatasetNotFoundError

REQUIRED_KEYS = ("n_entradas", "n_clases", "fich1", "n_patrons1", "n_patrons_entrena", "n_patrons_valida")


def read_metadata(path: Path) -> dict[str, str]:
    """Parse ``<name>.txt``: lines ``key= value``; every key in :data:`REQUIRED_KEYS` must be present."""
    meta: dict[str, str] = {}
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise DatasetError(f"{path}, line {number}: expected 'key= value'; got {line.strip()[:60]!r}")
        meta[key.strip()] = value.strip()
    missing = [key for key in REQUIRED_KEYS if key not in meta]
    if "fich2" in meta and "n_patrons2" not in meta:
        missing.append("n_patrons2")
    if missing:
        raise DatasetError(f"{path}: metadata key(s) {', '.join(missing)} missing")
    return meta


def _int(meta: dict[str, str], key: str, path: Path) -> int:
    try:
        value = int(meta[key])
    except ValueError:
        raise DatasetError(f"{path}: {key}= {meta[key]!r} is not an integer") from None
    if value < 0:
        raise DatasetError(f"{path}: {key}= {value} is negative")
    return value


def read_data_file(path: Path, n_rows: int, n_features: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Read ``<name>_R.dat``: a header line, then ``index f1 .. fd label`` rows.

    Returns
    -------
    X : ndarray of shape (n_rows, n_features)
    y : ndarray of shape (n_rows,), int in 0 .. n_classes - 1
    """
    lines = [(i, line) for i, line in enumerate(read_text(path).splitlines(), start=1) if line.strip()]
    if not lines:
        raise DatasetError(f"{path}: empty file")
    rows = lines[1:]  # the first line is the column header
    if len(rows) != n_rows:
        raise DatasetError(f"{path}: {len(rows)} data rows, the metadata says {n_rows} (truncated file?)")
    table = parse_numeric_lines(path, rows, None, n_fields=n_features + 2)
    if np.isnan(table).any():
        row, col = np.argwhere(np.isnan(table))[0]
        raise DatasetError(f"{path}, line {rows[row][0]}, column {col + 1}: missing value (NaN)")
    labels = table[:, -1]
    bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0) | (labels >= n_classes))
    if bad.size:
        row = int(bad[0])
        raise DatasetError(
            f"{path}, line {rows[row][0]}: class label {labels[row]:g} is not an integer in 0..{n_classes - 1}"
        )
    return table[:, 1:-1], labels.astype(np.int64)


def read_index_file(path: Path, n_lines: int, n_rows: int) -> list[np.ndarray]:
    """Read a fold file: ``n_lines`` lines of 0-based row indices, each index in ``0 .. n_rows - 1``."""
    if not path.is_file():
        raise DatasetError(f"{path}: fold file missing")
    lines = read_text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) != n_lines:
        raise DatasetError(f"{path}: {len(lines)} lines, expected {n_lines}")
    folds = []
    for number, line in enumerate(lines, start=1):
        tokens = line.split()
        if not tokens:
            raise DatasetError(f"{path}, line {number}: no indices")
        try:
            indices = np.array([int(t) for t in tokens], dtype=np.int64)
        except ValueError:
            token = next(t for t in tokens if not t.lstrip("-").isdigit())
            raise DatasetError(f"{path}, line {number}: {token!r} is not an integer index") from None
        out = np.flatnonzero((indices < 0) | (indices >= n_rows))
        if out.size:
            raise DatasetError(
                f"{path}, line {number}, position {int(out[0])}: index {indices[out[0]]} out of range "
                f"0..{n_rows - 1}"
            )
        if np.unique(indices).size != indices.size:
            raise DatasetError(f"{path}, line {number}: repeated indices")
        folds.append(indices)
    return folds


EXPECTED_UCI_FILES = ("{name}.txt, the data file(s) it names (fich1=, fich2=), conxuntos.dat and "
                      "conxuntos_kfold.dat")
"""What a Fernandez-Delgado dataset folder must hold (formatted with the dataset name)."""


def _named_data_files(meta_path: Path) -> list[str]:
    """The ``fich1=`` / ``fich2=`` file names of a metadata file, read leniently (content is checked on load)."""
    try:
        text = meta_path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return []
    names = []
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() in ("fich1", "fich2") and value.strip():
            names.append(value.strip())
    return names


def find_uci_folder(root: str | Path, name: str, fetch_name: str | None = None) -> Path:
    """The folder of Fernandez-Delgado dataset ``name`` under data directory ``root``, checked for presence.

    Only the presence of the files is checked: ``<name>.txt``, the data files it names (``fich1=``,
    ``fich2=``), ``conxuntos.dat`` and ``conxuntos_kfold.dat``; their content is checked by :func:`load_uci`.

    Parameters
    ----------
    root : str or Path
        Data directory holding ``fernandez-delgado/``.
    name : str
        The folder name (``"abalone"``, ``"iris"``).
    fetch_name : str, optional
        The name to suggest in ``rntk-bench datasets fetch`` hints (default ``name``; ``"uci:iris"`` for the
        names that clash with scikit-learn's bundled sets).

    Raises
    ------
    DatasetNotFoundError
        The data directory has no ``fernandez-delgado/<name>`` entry at all.
    DatasetError
        The entry exists but is not a folder, or a required file is missing (named by its full path).
    """
    folder = uci_dir(Path(root), name)
    fetch_name = fetch_name or name
    expected = EXPECTED_UCI_FILES.format(name=name)
    if not folder.is_dir():
        if folder.is_symlink() or folder.exists():
            what = "a link to a missing folder" if not folder.exists() else "a file"
            raise DatasetError(
                f"{folder}: {what}, not a folder; a Fernandez-Delgado dataset folder holds {expected} (remove "
                f"it, then restore the folder or get it with `rntk-bench datasets fetch {fetch_name}`)"
            )
        raise DatasetNotFoundError(
            f"UCI dataset {name!r} is not in {folder}; get it with `rntk-bench datasets fetch {fetch_name}` "
            "(downloads the whole Fernandez-Delgado collection)"
        )
    meta_path = folder / f"{name}.txt"
    required = [(meta_path, "metadata file")]
    if meta_path.is_file():
        required += [(folder / data_file, "data file") for data_file in _named_data_files(meta_path)]
    required += [(folder / "conxuntos.dat", "fold file"), (folder / "conxuntos_kfold.dat", "fold file")]
    for path, kind in required:
        if not path.is_file():
            raise DatasetError(
                f"{path}: {kind} missing; a Fernandez-Delgado dataset folder holds {expected}. Restore it, or "
                f"replace the folder with `rntk-bench datasets fetch {fetch_name} --force`"
            )
    return folder


def load_uci(root: str | Path, name: str, fetch_name: str | None = None) -> Dataset:
    """Load Fernandez-Delgado dataset ``name`` from data directory ``root``.

    Parameters
    ----------
    root : str or Path
        Data directory holding ``fernandez-delgado/``.
    name : str
        The folder name.
    fetch_name : str, optional
        The name to suggest in ``rntk-bench datasets fetch`` hints (see :func:`find_uci_folder`).

    Returns
    -------
    Dataset
        ``X`` of shape ``(n_cases, n_features)``, splits ``"validation"`` and ``"fold-0"`` .. ``"fold-3"``.

    Raises
    ------
    DatasetNotFoundError
        When the data directory has no folder for ``name``.
    DatasetError
        When a required file is missing (see :func:`find_uci_folder`), or on any inconsistency between
        metadata, data and fold files (naming file, line and index).
    """
    folder = find_uci_folder(root, name, fetch_name)
    meta_path = folder / f"{name}.txt"
    meta = read_metadata(meta_path)
    n_features = _int(meta, "n_entradas", meta_path)
    n_classes = _int(meta, "n_clases", meta_path)
    n1 = _int(meta, "n_patrons1", meta_path)
    n_fit, n_val = _int(meta, "n_patrons_entrena", meta_path), _int(meta, "n_patrons_valida", meta_path)
    if n_features < 1 or n_classes < 2 or n1 < 2:
        raise DatasetError(f"{meta_path}: n_entradas, n_clases and n_patrons1 must be at least 1, 2 and 2")
    X, y = read_data_file(folder / meta["fich1"], n1, n_features, n_classes)
    notes: tuple[str, ...] = ()
    if "fich2" in meta:
        n2 = _int(meta, "n_patrons2", meta_path)
        X2, y2 = read_data_file(folder / meta["fich2"], n2, n_features, n_classes)
        X, y = np.vstack([X, X2]), np.concatenate([y, y2])
        notes = (
            (f"rows {n1}..{n1 + n2 - 1} are the predefined test file {meta['fich2']}; "
            f"the published splits index rows 0..{n1 - 1} ({meta['fich1']}) only"),
        )
    counts = np.bincount(y, minlength=n_classes)
    if (counts == 0).any():
        raise DatasetError(
            f"{folder}: class {int(np.flatnonzero(counts == 0)[0])} of n_clases= {n_classes} has no case "
            "(empty class)"
        )
    fit, val = read_index_file(folder / "conxuntos.dat", 2, n1)
    if (len(fit), len(val)) != (n_fit, n_val):
        raise DatasetError(
            f"{folder / 'conxuntos.dat'}: {len(fit)} + {len(val)} indices, the metadata says "
            f"n_patrons_entrena= {n_fit}, n_patrons_valida= {n_val}"
        )
    splits = [Split("validation", fit, val)]
    kfold = read_index_file(folder / "conxuntos_kfold.dat", 8, n1)
    for k in range(4):
        train, test = kfold[2 * k], kfold[2 * k + 1]
        if np.intersect1d(train, test).size:
            raise DatasetError(f"{folder / 'conxuntos_kfold.dat'}, lines {2 * k + 1}-{2 * k + 2}: train and "
                               "test indices overlap")
        splits.append(Split(f"fold-{k}", train, test))
    if "fich2" in meta:
        splits.append(Split("train-test", np.arange(n1), np.arange(n1, len(y))))
    info = DatasetInfo(
        n_cases=len(y), n_channels=1, min_length=n_features, max_length=n_features, n_classes=n_classes,
        unequal_length=False, has_missing=False,
    )
    return Dataset(name, "uci", X, y, np.arange(n_classes), tuple(splits), info, notes)
