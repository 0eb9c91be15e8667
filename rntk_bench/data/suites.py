"""Named dataset suites and the metadata tables that give every dataset's expected sizes.

The data lives in the top-level ``datasets/`` folder of the project:

- ``ucr.csv``: the 128 univariate UCR 2018 datasets (the archive's DataSummary: sizes, classes, length,
  1-NN Euclidean test error);
- ``uci.csv``: the 121 Fernandez-Delgado UCI datasets (rows of each data file, features, classes);
- ``embedded.csv``: the datasets bundled with sktime and scikit-learn;
- ``suites.toml``: the suites, each a list of names from one of these tables.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rntk_bench.data.names import suggest
from rntk_bench.errors import DatasetError, InvalidParameterError

TABLES_DIR = Path(__file__).resolve().parents[2] / "datasets"
"""The ``datasets/`` folder holding the metadata tables and ``suites.toml``."""

CollectionName = Literal["ucr", "uci", "embedded"]


@dataclass(frozen=True)
class SuiteEntry:
    """One dataset of a suite with the sizes its loader must reproduce.

    Attributes
    ----------
    name : str
        The name to pass to :func:`rntk_bench.data.load_dataset`. Unique across collections: the two
        Fernandez-Delgado sets whose names clash with scikit-learn's bundled ones are ``"uci:iris"`` and
        ``"uci:wine"``.
    collection : {"ucr", "uci", "embedded"}
    n_cases : int
        Total number of cases.
    n_train, n_test : int
        UCR and embedded: sizes of the official train and test parts. UCI: rows of the first data file
        (which the published splits index) and of the predefined test file (0 when there is none).
    n_channels : int
        1 for UCR and UCI data.
    min_length, max_length : int or None
        Series lengths (equal for equal-length data; the number of features for vector data); None where
        the archive gives no figure (ShakeGestureWiimoteZ).
    n_classes : int
    unequal_length, missing_values : bool
    source : str
        Table row origin: ``"ucr"``, ``"uci"``, ``"sktime"`` or ``"sklearn"``.
    """

    name: str
    collection: CollectionName
    n_cases: int
    n_train: int
    n_test: int
    n_channels: int
    min_length: int | None
    max_length: int | None
    n_classes: int
    unequal_length: bool = False
    missing_values: bool = False
    source: str = ""

    @property
    def base_name(self) -> str:
        """The name without a ``collection:`` prefix (the folder name on disk)."""
        return self.name.partition(":")[2] if ":" in self.name else self.name

    @property
    def n_features(self) -> int | None:
        """Features per case for vector data (UCI and scikit-learn sets)."""
        return self.max_length


@dataclass(frozen=True)
class Suite:
    """A named list of datasets.

    Attributes
    ----------
    name : str
    description : str
    entries : tuple of SuiteEntry
    rule : str
        The selection rule the list follows (``"all"`` or a condition on the metadata table), or ``""``.
    """

    name: str
    description: str
    entries: tuple[SuiteEntry, ...]
    rule: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(entry.name for entry in self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        raise DatasetError(
            f"{path}: metadata table missing (the `datasets/` folder ships with the rntk-bench source tree; "
            "install it with `pip install -e .`)"
        ) from None


def _opt_int(value: str) -> int | None:
    return int(value) if value.strip() else None


# Names that exist both as a Fernandez-Delgado folder and as a scikit-learn bundled set: the plain name
# means the embedded set (the demo needs it without any download), the UCI one is "uci:<name>".
CLASHING_UCI_NAMES = frozenset({"iris", "wine"})


def _ucr_entries() -> dict[str, SuiteEntry]:
    entries = {}
    for row in _read_csv(TABLES_DIR / "ucr.csv"):
        n_train, n_test = int(row["n_train"]), int(row["n_test"])
        entries[row["name"]] = SuiteEntry(
            row["name"], "ucr", n_train + n_test, n_train, n_test, 1, _opt_int(row["min_length"]),
            _opt_int(row["max_length"]), int(row["n_classes"]), row["unequal_length"] == "1",
            row["missing_values"] == "1", "ucr",
        )
    return entries


def _uci_entries() -> dict[str, SuiteEntry]:
    entries = {}
    for row in _read_csv(TABLES_DIR / "uci.csv"):
        name = row["name"]
        key = f"uci:{name}" if name in CLASHING_UCI_NAMES else name
        d = int(row["n_features"])
        entries[name] = SuiteEntry(
            key, "uci", int(row["n_cases"]), int(row["n_file1"]), int(row["n_file2"]), 1, d, d,
            int(row["n_classes"]), False, False, "uci",
        )
    return entries


def _embedded_entries() -> dict[str, SuiteEntry]:
    entries = {}
    for row in _read_csv(TABLES_DIR / "embedded.csv"):
        n_train, n_test = int(row["n_train"]), int(row["n_test"])
        low, high = int(row["min_length"]), int(row["max_length"])
        entries[row["name"]] = SuiteEntry(
            row["name"], "embedded", n_train + n_test, n_train, n_test, int(row["n_channels"]), low, high,
            int(row["n_classes"]), low != high, False, row["source"],
        )
    return entries


UCR_TABLE: dict[str, SuiteEntry] = _ucr_entries()
"""The 128 UCR 2018 datasets by archive name."""
UCI_TABLE: dict[str, SuiteEntry] = _uci_entries()
"""The 121 Fernandez-Delgado datasets by folder name."""
EMBEDDED_TABLE: dict[str, SuiteEntry] = _embedded_entries()
"""The embedded datasets by name."""

_TABLES = {"ucr": UCR_TABLE, "uci": UCI_TABLE, "embedded": EMBEDDED_TABLE}


def _load_suites() -> dict[str, Suite]:
    path = TABLES_DIR / "suites.toml"
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: suite file missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise DatasetError(f"{path}: {exc}") from None
    suites = {}
    for name, body in spec.items():
        table = _TABLES.get(body.get("table"))
        if table is None:
            raise DatasetError(f"{path}: suite {name!r} has table {body.get('table')!r}; valid: {', '.join(_TABLES)}")
        unknown = [n for n in body["datasets"] if n not in table]
        if unknown:
            raise DatasetError(
                f"{path}: suite {name!r} lists {unknown} not in {body['table']}.csv{suggest(unknown[0], table)}"
            )
        entries = tuple(table[n] for n in body["datasets"])
        suites[name] = Suite(name, body["description"], entries, body.get("rule", ""))
    return suites


SUITES: dict[str, Suite] = _load_suites()
"""Every named suite: ``demo``, ``embedded``, ``uci90``, ``uci121``, ``ucr128``, ``ucr-small``."""


def get_suite(name: str) -> Suite:
    """The suite called ``name``.

    Raises
    ------
    InvalidParameterError
        For an unknown name, with close matches (:func:`rntk_bench.data.suggest`) and the list of suites.
    """
    try:
        return SUITES[name]
    except KeyError:
        raise InvalidParameterError(
            f"unknown suite {name!r}{suggest(name, SUITES)} (suites: {', '.join(SUITES)})"
        ) from None
