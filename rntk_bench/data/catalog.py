"""Finding a dataset by name in every collection, loading it and checking it against its metadata.

Names are unique across collections. ``"collection:name"`` (``"ucr:GunPoint"``, ``"uci:iris"``,
``"embedded:GunPoint"``) always selects one collection. A plain name resolves as follows:

1. scikit-learn's bundled sets (``iris``, ``wine``, ``breast_cancer``, ``digits``) are embedded;
2. a UCR name is read from the data directory. Only when the data directory has no trace of it (no
   ``UCRArchive_2018/<Name>`` entry at all) and sktime bundles it (GunPoint, ArrowHead, ...) is the bundled
   copy used (same data, same split), and ``collection`` says ``"embedded"``. A folder that is there but
   broken (a file missing) is an error naming the missing file, never replaced by the bundled copy;
3. a Fernandez-Delgado name is read from the data directory (``iris`` and ``wine`` there are
   ``"uci:iris"`` and ``"uci:wine"``);
4. the remaining sktime sets (BasicMotions, JapaneseVowels, UnitTest) are read from a
   ``UCRArchive_2018/<Name>`` folder when the data directory has one, else embedded.

``embedded=False`` (on :func:`load_dataset`, :func:`dataset_available`, :func:`dataset_source`) uses the data
directory alone: a dataset it does not hold is not found, whatever sktime or scikit-learn bundle.
:func:`dataset_source` says where a dataset is read from.

A data directory may also hold datasets outside the metadata tables (a UCR or UCI folder of the right
layout); they load by name and are simply not checked against expected sizes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from rntk_bench.data.dataset import Collection, Dataset
from rntk_bench.data.embedded import (
    EMBEDDED_SETS,
    SKLEARN_SETS,
    SKTIME_SETS,
    load_embedded,
)
from rntk_bench.data.locations import checked_data_dir, uci_dir, ucr_dir
from rntk_bench.data.names import suggest
from rntk_bench.data.suites import EMBEDDED_TABLE, UCI_TABLE, UCR_TABLE, SuiteEntry
from rntk_bench.data.uci import find_uci_folder, load_uci
from rntk_bench.data.ucr import find_ucr_files, load_ucr
from rntk_bench.errors import DatasetError, DatasetNotFoundError

COLLECTIONS = ("ucr", "uci", "embedded")


def _split_name(name: str) -> tuple[str | None, str]:
    if not isinstance(name, str) or not name:
        raise DatasetError(f"a dataset name must be a non-empty string; got {name!r}")
    prefix, sep, rest = name.partition(":")
    if not sep:
        return None, name
    if prefix not in COLLECTIONS:
        raise DatasetError(
            f"unknown collection {prefix!r} in {name!r}{suggest(prefix, COLLECTIONS)} "
            f"(collections: {', '.join(COLLECTIONS)})"
        )
    return prefix, rest


def _ucr_trace(root: Path, name: str) -> bool:
    """Whether the data directory has any ``UCRArchive_2018/<name>`` entry (complete or not)."""
    return os.path.lexists(ucr_dir(root, name))


def _uci_trace(root: Path, name: str) -> bool:
    """Whether the data directory has any ``fernandez-delgado/<name>`` entry (complete or not)."""
    return os.path.lexists(uci_dir(root, name))


def known_names() -> list[str]:
    """Every name in the metadata tables and the embedded sets (qualified where a plain name clashes)."""
    names = set(UCR_TABLE) | set(EMBEDDED_SETS)
    names |= {entry.name for entry in UCI_TABLE.values()}
    return sorted(names, key=str.lower)


def resolve(name: str, data_dir: str | Path | None = None) -> tuple[str, str]:
    """Return ``(collection, base_name)`` that ``name`` denotes for data directory ``data_dir``.

    Only the presence of a dataset's folder decides (see the module docstring); whether its files are
    complete is checked by :func:`find_files`.

    Raises
    ------
    DatasetError
        For a name in no collection, listing close matches; for a data directory that is not a readable
        folder (see :func:`~rntk_bench.data.locations.check_data_dir`).
    """
    return _resolve(name, checked_data_dir(data_dir))


def _resolve(name: str, root: Path) -> tuple[str, str]:
    """:func:`resolve` in the data directory ``root``, already checked."""
    collection, base = _split_name(name)
    if collection == "embedded":
        if base not in EMBEDDED_SETS:
            raise DatasetError(
                f"{base!r} is not an embedded dataset{suggest(base, EMBEDDED_SETS)} (embedded: "
                f"{', '.join(EMBEDDED_SETS)})"
            )
        return "embedded", base
    if collection == "ucr":
        return "ucr", base
    if collection == "uci":
        return "uci", base
    if base in SKLEARN_SETS:
        return "embedded", base
    if base in UCR_TABLE:
        if base in SKTIME_SETS and not _ucr_trace(root, base):
            return "embedded", base
        return "ucr", base
    if base in UCI_TABLE:
        return "uci", base
    if base in SKTIME_SETS:
        return ("ucr" if _ucr_trace(root, base) else "embedded"), base
    if _ucr_trace(root, base):
        return "ucr", base
    if _uci_trace(root, base):
        return "uci", base
    raise DatasetError(
        f"unknown dataset {name!r}{suggest(base, known_names())} (see `rntk-bench datasets list`; names are "
        "case-sensitive)"
    )


def canonical_name(collection: str, base: str) -> str:
    """The unique name of a dataset: ``base``, or ``"uci:<base>"`` where it clashes with an embedded set."""
    if collection == "uci" and base in SKLEARN_SETS:
        return f"uci:{base}"
    return base


def expected_entry(collection: str, base: str) -> SuiteEntry | None:
    """The metadata row a loaded dataset must match (None for datasets outside the tables)."""
    if collection == "uci":
        return UCI_TABLE.get(base)
    if collection == "ucr":
        return UCR_TABLE.get(base)
    return EMBEDDED_TABLE.get(base)


def check_against_metadata(dataset: Dataset, entry: SuiteEntry, source: str | Path) -> None:
    """Raise :class:`DatasetError` if ``dataset`` disagrees with its metadata row ``entry``."""
    info = dataset.info
    found: dict[str, object] = {"n_cases": info.n_cases, "n_classes": info.n_classes, "n_channels": info.n_channels}
    expected: dict[str, object] = {"n_cases": entry.n_cases, "n_classes": entry.n_classes,
                                   "n_channels": entry.n_channels}
    if dataset.collection == "uci":
        found["n_features"] = info.max_length
        expected["n_features"] = entry.n_features
    else:
        split = dataset.split("train-test")
        found |= {"n_train": len(split.train), "n_test": len(split.test)}
        expected |= {"n_train": entry.n_train, "n_test": entry.n_test}
        if not entry.unequal_length and entry.max_length is not None:
            found["length"] = (info.min_length, info.max_length)
            expected["length"] = (entry.min_length, entry.max_length)
    wrong = [f"{key} {found[key]} (expected {expected[key]})" for key in expected if found[key] != expected[key]]
    if wrong:
        raise DatasetError(f"{source}: {dataset.name} does not match its metadata: " + ", ".join(wrong))


SourceKind = Literal["data-dir", "embedded"]


@dataclass(frozen=True)
class DatasetSource:
    """Where a dataset is read from.

    Attributes
    ----------
    name : str
        The dataset's unique name (``"GunPoint"``, ``"uci:iris"``), as :attr:`Dataset.name` will be.
    collection : {"ucr", "uci", "embedded"}
        As :attr:`Dataset.collection` will be.
    kind : {"data-dir", "embedded"}
        ``"data-dir"``: the files of the data directory; ``"embedded"``: a copy bundled with sktime or
        scikit-learn.
    path : Path or None
        The dataset's folder in the data directory (``.../UCRArchive_2018/GunPoint``); None for embedded data.
    """

    name: str
    collection: Collection
    kind: SourceKind
    path: Path | None

    def __str__(self) -> str:
        if self.kind == "data-dir":
            return f"data folder {self.path}"
        return f"bundled with {'scikit-learn' if self.name in SKLEARN_SETS else 'sktime'}"


def find_files(collection: str, base: str, root: Path) -> Path | None:
    """Check that the files of a resolved dataset are present; return its folder (None for embedded data).

    Raises
    ------
    DatasetNotFoundError
        The data directory has no folder for the dataset.
    DatasetError
        The folder is there but broken, naming the missing file; for a set that sktime also bundles, the
        message adds that the bundled copy is not used while the folder exists.
    """
    if collection == "embedded":
        return None
    if collection == "uci":
        return find_uci_folder(root, base, canonical_name("uci", base))
    try:
        find_ucr_files(root, base)
    except DatasetNotFoundError:
        raise
    except DatasetError as exc:
        if base in SKTIME_SETS:
            raise DatasetError(f"{exc} (the copy bundled with sktime is not used while this folder exists)") from None
        raise
    return ucr_dir(root, base)


def _excluded(name: str, base: str, root: Path) -> DatasetNotFoundError:
    """The error for an embedded dataset when bundled copies are excluded (``embedded=False``)."""
    if base in SKLEARN_SETS:
        other = f"; the Fernandez-Delgado {base} is 'uci:{base}'" if f"uci:{base}" in known_names() else ""
        return DatasetNotFoundError(
            f"{name!r} is bundled with scikit-learn and is never read from a data folder, and bundled copies are "
            f"excluded (--no-embedded){other}"
        )
    return DatasetNotFoundError(
        f"{name!r} is not in the data folder {root} (expected {ucr_dir(root, base)} holding "
        f"{base}_TRAIN.tsv and {base}_TEST.tsv, or the .ts pair), and the copy bundled with sktime is excluded "
        f"(--no-embedded); get it with `rntk-bench datasets fetch {base} --no-embedded`"
    )


def locate(name: str, data_dir: str | Path | None = None, *, embedded: bool = True) -> DatasetSource:
    """Where dataset ``name`` is read from, with its files checked for presence (not content).

    Raises
    ------
    DatasetNotFoundError
        The data directory has no folder for the dataset (and, with ``embedded=False``, a bundled copy does
        not count).
    DatasetError
        Unknown name (with close matches), a dataset folder that is there but broken (naming the missing
        file), or a data directory that is not a readable folder.
    """
    return _locate(name, checked_data_dir(data_dir), embedded)


def _locate(name: str, root: Path, embedded: bool) -> DatasetSource:
    """:func:`locate` in the data directory ``root``, already checked."""
    collection, base = _resolve(name, root)
    if collection == "embedded" and not embedded:
        raise _excluded(name, base, root)
    folder = find_files(collection, base, root)
    return DatasetSource(canonical_name(collection, base), collection, "embedded" if folder is None else "data-dir",
                         folder)


def dataset_source(name: str, data_dir: str | Path | None = None, *, embedded: bool = True) -> DatasetSource | None:
    """Where dataset ``name`` would be read from: the data directory, a bundled copy, or nowhere.

    Parameters
    ----------
    name : str
        As for :func:`load_dataset`.
    data_dir : str or Path, optional
        Data directory; default ``$RNTK_BENCH_DATA`` or the per-user cache.
    embedded : bool
        Whether copies bundled with sktime and scikit-learn count. With False only the data directory does.

    Returns
    -------
    DatasetSource or None
        ``kind`` ``"data-dir"`` with the dataset's folder, or ``"embedded"``; None when the dataset is not
        available (no folder in the data directory, and no bundled copy or ``embedded=False``). Only the
        presence of the files is checked, not their content.

    Raises
    ------
    DatasetError
        Unknown name (with close matches), a dataset folder that is there but broken (naming the missing
        file), or a data directory that is not a readable folder: none of them is "unavailable", all need
        the user's attention.
    """
    root = checked_data_dir(data_dir)
    try:
        return _locate(name, root, embedded)
    except DatasetNotFoundError:
        return None


def load_dataset(name: str, data_dir: str | Path | None = None, *, embedded: bool = True) -> Dataset:
    """Load dataset ``name`` with its official splits.

    Parameters
    ----------
    name : str
        A UCR name (``"GunPoint"``), a Fernandez-Delgado name (``"acute-inflammation"``), an embedded name
        (``"iris"``, ``"BasicMotions"``), or any of them qualified as ``"collection:name"``.
    data_dir : str or Path, optional
        Data directory; default ``$RNTK_BENCH_DATA`` or the per-user cache (see :func:`resolve_data_dir`).
        Checked with :func:`~rntk_bench.data.locations.check_data_dir`: a folder given here must exist.
    embedded : bool
        Whether the copies bundled with sktime and scikit-learn may be used (default True: they are, for
        datasets the data directory has no folder for). With False only the data directory is read.

    Returns
    -------
    Dataset
        Checked against the sizes in ``datasets/*.csv`` when the dataset is listed there.

    Raises
    ------
    DatasetNotFoundError
        The dataset is known but the data directory has no folder for it (the message says how to fetch it);
        with ``embedded=False`` also for datasets only bundled copies provide.
    DatasetError
        Unknown name (with close matches); a data directory that is not a readable folder; a dataset folder
        in the data directory that is broken (the message names the missing file; a copy bundled with sktime
        is never used in its place); corrupt or inconsistent files (naming file and line).
    """
    root = checked_data_dir(data_dir)
    found = _locate(name, root, embedded)
    collection, base = found.collection, found.name.partition(":")[2] or found.name
    if collection == "embedded":
        dataset = load_embedded(base)
        source: str | Path = f"embedded {base}"
    elif collection == "ucr":
        entry = UCR_TABLE.get(base)
        padded = entry is None or entry.unequal_length
        dataset = load_ucr(root, base, padded=padded)
        source = ucr_dir(root, base)
    else:
        dataset = load_uci(root, base, found.name)
        source = uci_dir(root, base)
    entry = expected_entry(collection, base)
    if entry is not None:
        check_against_metadata(dataset, entry, source)
    if dataset.name != found.name:
        dataset = replace(dataset, name=found.name)
    return dataset


def dataset_available(name: str, data_dir: str | Path | None = None, *, embedded: bool = True) -> bool:
    """Whether ``name`` can be loaded without a download.

    Parameters
    ----------
    name : str
        As for :func:`load_dataset`.
    data_dir : str or Path, optional
        Data directory; default ``$RNTK_BENCH_DATA`` or the per-user cache.
    embedded : bool
        Whether copies bundled with sktime and scikit-learn count (default True: embedded data is always
        available). With False only the data directory does.

    Returns
    -------
    bool
        False for unknown names and for datasets the data directory has no folder for (and no bundled copy
        counts). Only the presence of the files is checked, not their content.

    Raises
    ------
    DatasetError
        The data directory has a folder for the dataset but it is broken (a required file is missing): such
        a dataset is neither available nor missing, and the message names the missing file (the same error
        :func:`load_dataset` raises). Also when the data directory is not a readable folder (see
        :func:`~rntk_bench.data.locations.check_data_dir`).
    """
    root = checked_data_dir(data_dir)
    try:
        _resolve(name, root)
    except DatasetError:
        return False
    try:
        _locate(name, root, embedded)
    except DatasetNotFoundError:
        return False
    return True


def missing_hint(names: list[str]) -> str:
    """One line telling how to get the datasets ``names`` (for CLI and runner messages)."""
    return "get them with `rntk-bench datasets fetch NAME` (or a suite name), or point --data-dir / " \
           "RNTK_BENCH_DATA at a folder holding UCRArchive_2018/ and fernandez-delgado/: " + ", ".join(names)
