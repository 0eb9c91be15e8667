"""Finding a dataset by name in every collection, loading it and checking it against its metadata.

Names are unique across collections. ``"collection:name"`` (``"ucr:GunPoint"``, ``"uci:iris"``,
``"embedded:GunPoint"``) always selects one collection. A plain name resolves as follows:

1. scikit-learn's bundled sets (``iris``, ``wine``, ``breast_cancer``, ``digits``) are embedded;
2. a UCR name is read from the data directory; if absent there but bundled with sktime (GunPoint,
   ArrowHead, ...), the bundled copy is used (same data, same split) and ``collection`` says ``"embedded"``;
3. a Fernandez-Delgado name is read from the data directory (``iris`` and ``wine`` there are
   ``"uci:iris"`` and ``"uci:wine"``);
4. the remaining sktime sets (BasicMotions, JapaneseVowels, UnitTest) are embedded.

A data directory may also hold datasets outside the metadata tables (a UCR or UCI folder of the right
layout); they load by name and are simply not checked against expected sizes.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path

from rntk_bench.data.dataset import Dataset
from rntk_bench.data.embedded import (
    EMBEDDED_SETS,
    SKLEARN_SETS,
    SKTIME_SETS,
    load_embedded,
)
from rntk_bench.data.locations import resolve_data_dir, uci_dir, ucr_dir
from rntk_bench.data.suites import EMBEDDED_TABLE, UCI_TABLE, UCR_TABLE, SuiteEntry
from rntk_bench.data.uci import load_uci
from rntk_bench.data.ucr import load_ucr, ucr_files
from rntk_bench.errors import DatasetError

COLLECTIONS = ("ucr", "uci", "embedded")


def _split_name(name: str) -> tuple[str | None, str]:
    if not isinstance(name, str) or not name:
        raise DatasetError(f"a dataset name must be a non-empty string; got {name!r}")
    prefix, sep, rest = name.partition(":")
    if not sep:
        return None, name
    if prefix not in COLLECTIONS:
        raise DatasetError(f"unknown collection {prefix!r} in {name!r}; collections: {', '.join(COLLECTIONS)}")
    return prefix, rest


def _ucr_present(root: Path, name: str) -> bool:
    return ucr_files(root, name) is not None


def _uci_present(root: Path, name: str) -> bool:
    return (uci_dir(root, name) / f"{name}.txt").is_file()


def known_names() -> list[str]:
    """Every name in the metadata tables and the embedded sets (qualified where a plain name clashes)."""
    names = set(UCR_TABLE) | set(EMBEDDED_SETS)
    names |= {entry.name for entry in UCI_TABLE.values()}
    return sorted(names, key=str.lower)


def resolve(name: str, data_dir: str | Path | None = None) -> tuple[str, str]:
    """Return ``(collection, base_name)`` that ``name`` denotes for data directory ``data_dir``.

    Raises
    ------
    DatasetError
        For a name in no collection, listing close matches.
    """
    collection, base = _split_name(name)
    root = resolve_data_dir(data_dir)
    if collection == "embedded":
        if base not in EMBEDDED_SETS:
            raise DatasetError(f"{base!r} is not an embedded dataset; embedded: {', '.join(EMBEDDED_SETS)}")
        return "embedded", base
    if collection == "ucr":
        return "ucr", base
    if collection == "uci":
        return "uci", base
    if base in SKLEARN_SETS:
        return "embedded", base
    if base in UCR_TABLE or _ucr_present(root, base):
        if base in SKTIME_SETS and not _ucr_present(root, base):
            return "embedded", base
        return "ucr", base
    if (base in UCI_TABLE and base not in SKLEARN_SETS) or _uci_present(root, base):
        return "uci", base
    if base in SKTIME_SETS:
        return "embedded", base
    close = difflib.get_close_matches(base, known_names(), n=3, cutoff=0.6)
    lower = [n for n in known_names() if n.lower() == base.lower()]
    suggestions = list(dict.fromkeys(lower + close))
    hint = f"; did you mean {', '.join(map(repr, suggestions))}?" if suggestions else ""
    raise DatasetError(
        f"unknown dataset {name!r}{hint} (see `rntk-bench datasets list`; names are case-sensitive)"
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


def load_dataset(name: str, data_dir: str | Path | None = None) -> Dataset:
    """Load dataset ``name`` with its official splits.

    Parameters
    ----------
    name : str
        A UCR name (``"GunPoint"``), a Fernandez-Delgado name (``"acute-inflammation"``), an embedded name
        (``"iris"``, ``"BasicMotions"``), or any of them qualified as ``"collection:name"``.
    data_dir : str or Path, optional
        Data directory; default ``$RNTK_BENCH_DATA`` or the per-user cache (see :func:`resolve_data_dir`).

    Returns
    -------
    Dataset
        Checked against the sizes in ``datasets/*.csv`` when the dataset is listed there.

    Raises
    ------
    DatasetNotFoundError
        The dataset is known but its files are not in the data directory (the message says how to fetch it).
    DatasetError
        Unknown name (with close matches), or corrupt / inconsistent files (naming file and line).
    """
    collection, base = resolve(name, data_dir)
    root = resolve_data_dir(data_dir)
    if collection == "embedded":
        dataset = load_embedded(base)
        source: str | Path = f"embedded {base}"
    elif collection == "ucr":
        entry = UCR_TABLE.get(base)
        padded = entry is None or entry.unequal_length
        dataset = load_ucr(root, base, padded=padded)
        source = ucr_dir(root, base)
    else:
        dataset = load_uci(root, base)
        source = uci_dir(root, base)
    entry = expected_entry(collection, base)
    if entry is not None:
        check_against_metadata(dataset, entry, source)
    name = canonical_name(collection, base)
    if dataset.name != name:
        dataset = replace(dataset, name=name)
    return dataset


def dataset_available(name: str, data_dir: str | Path | None = None) -> bool:
    """Whether ``name`` can be loaded without a download: always True for embedded data.

    Unknown names give False. Only the presence of the files is checked, not their content.
    """
    try:
        collection, base = resolve(name, data_dir)
    except DatasetError:
        return False
    root = resolve_data_dir(data_dir)
    if collection == "embedded":
        return True
    if collection == "ucr":
        return _ucr_present(root, base)
    return _uci_present(root, base)


def missing_hint(names: list[str]) -> str:
    """One line telling how to get the datasets ``names`` (for CLI and runner messages)."""
    return "get them with `rntk-bench datasets fetch NAME` (or a suite name), or point --data-dir / " \
           "RNTK_BENCH_DATA at a folder holding UCRArchive_2018/ and fernandez-delgado/: " + ", ".join(names)
