"""The leaderboard's runs and boards as data: ``results/leaderboard.toml``, read and validated.

A run definition takes the keys of a run TOML file (:data:`rntk_bench.schema.FILE_KEYS`: suite, datasets,
kernels, grid, tie, protocol, cv_folds, seed, svc_max_iter, skip_missing) plus page text (title,
description); it is validated by the same code as ``rntk-bench run --config``. A board merges runs into one
comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rntk_bench.config import RunConfig, build_config
from rntk_bench.data import get_suite
from rntk_bench.errors import InvalidParameterError
from rntk_bench.field import field_accuracy
from rntk_bench.schema import FILE_KEYS, PAGE_KEYS, check_keys, read_toml
from rntk_bench.vote import SELECTIONS

__all__ = [
    "DEFINITIONS_FILE",
    "RUNS_DIR",
    "BoardDefinition",
    "Definitions",
    "RunDefinition",
    "build_run_config",
    "load_definitions",
    "parse_definitions",
    "planned_tasks",
]

DEFINITIONS_FILE = Path("results") / "leaderboard.toml"
RUNS_DIR = "runs"
"""Folder of the run folders, under the results folder."""
_BOARD_KEYS = ("title", "runs", "published", "notes", "field", "selections", "compare")
_TOP_KEYS = ("runs", "boards", "ci")


@dataclass(frozen=True)
class RunDefinition:
    """One published run: a run configuration (the keys of a ``--config`` file) plus page text.

    Attributes
    ----------
    name : str
        Folder name under ``results/runs/``.
    title, description : str
    file : dict
        The run configuration keys, as in a run TOML file.
    where : str
        Where it is defined (``FILE: runs.NAME``), named in messages.
    """

    name: str
    title: str = ""
    description: str = ""
    file: dict[str, Any] = field(default_factory=dict)
    where: str = ""


@dataclass(frozen=True)
class BoardDefinition:
    """Runs merged into one comparison; ``published`` maps a kernel to a published mean accuracy in %."""

    name: str
    title: str
    runs: tuple[str, ...]
    published: dict[str, float] = field(default_factory=dict)
    notes: str = ""
    field: tuple[str, ...] = ()
    """Published classifiers (:func:`rntk_bench.field.field_names`) the board places its kernels among."""
    selections: tuple[str, ...] = ("first-best",)
    """Selection rules shown: the first is the board's; each other adds every kernel again as ``KERNEL (rule)``."""
    compare: tuple[str, ...] = ()
    """Other boards (the same kernels under another protocol) shown side by side with this one, per kernel."""


@dataclass(frozen=True)
class Definitions:
    """Everything ``results/leaderboard.toml`` defines."""

    runs: dict[str, RunDefinition]
    boards: dict[str, BoardDefinition]
    ci: RunDefinition | None
    path: Path


def _run_definition(where: str, name: str, table: Any) -> RunDefinition:
    if not isinstance(table, Mapping):
        raise InvalidParameterError(f"{where}: must be a table")
    check_keys(where, table, FILE_KEYS + PAGE_KEYS)
    file = {key: table[key] for key in FILE_KEYS if key in table}
    return RunDefinition(name, str(table.get("title", name)), str(table.get("description", "")), file, where)


def build_run_config(definition: RunDefinition, data_dir: str | Path | None = None, n_jobs: int = 1,
                     device: str = "numba") -> RunConfig:
    """The :class:`RunConfig` of a run definition (datasets: the suite's unless listed).

    Raises
    ------
    InvalidParameterError
        As :func:`rntk_bench.config.build_config`, with the definition named.
    """
    suite = definition.file.get("suite")
    if suite is None and not definition.file.get("datasets"):
        raise InvalidParameterError(f"{definition.where or definition.name}: a run needs a suite or a list of "
                                    "datasets")
    suite_datasets = [entry.name for entry in get_suite(suite).entries] if suite else None
    return build_config(suite=suite or definition.name, suite_datasets=suite_datasets, file=definition.file,
                        source=definition.where or None, data_dir=data_dir, n_jobs=n_jobs, device=device)


def planned_tasks(definition: RunDefinition, n_datasets: int | None = None) -> int:
    """Tasks a run plans: datasets (default: every dataset of the definition) x kernel settings.

    The grids' sizes do not depend on the data (rbf's values do, not their number).
    """
    config = build_run_config(definition)
    count = len(config.datasets) if n_datasets is None else n_datasets
    return count * sum(grid.size() for grid in config.kernels)


def parse_definitions(data: Mapping[str, Any], path: str | Path = "<definitions>") -> Definitions:
    """Validate the content of a leaderboard definitions file (see ``results/leaderboard.toml``).

    Every run's configuration is built (:func:`build_run_config`), so unknown suites, datasets, kernels,
    parameters and invalid grids are refused here, with the file named.

    Raises
    ------
    InvalidParameterError
    """
    path = Path(path)
    check_keys(str(path), data, _TOP_KEYS)
    runs = {name: _run_definition(f"{path}: runs.{name}", name, table) for name, table in data.get("runs", {}).items()}
    boards = {}
    for name, table in data.get("boards", {}).items():
        where = f"{path}: boards.{name}"
        check_keys(where, table, _BOARD_KEYS)
        members = tuple(table.get("runs", ()))
        unknown = [run for run in members if run not in runs]
        if not members or unknown:
            raise InvalidParameterError(f"{where}: runs must name defined runs; unknown: {unknown or 'none given'}; "
                                        f"defined: {', '.join(runs)}")
        published = {str(k): float(v) for k, v in dict(table.get("published", {})).items()}
        named = table.get("field", [])
        if not isinstance(named, list) or not all(isinstance(item, str) for item in named):
            raise InvalidParameterError(f"{where}: field must be a list of published classifier names")
        try:
            field_accuracy(named, [])  # unknown names are refused here, with the file named
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"{where}: {exc}") from None
        rules = table.get("selections", ["first-best"])
        if not isinstance(rules, list) or not rules or any(rule not in SELECTIONS for rule in rules):
            raise InvalidParameterError(f"{where}: selections must be a non-empty list of {', '.join(SELECTIONS)}; "
                                        f"got {rules!r}")
        compare = table.get("compare", [])
        if not isinstance(compare, list) or any(other not in data.get("boards", {}) or other == name
                                                for other in compare):
            raise InvalidParameterError(f"{where}: compare must list other boards; got {compare!r}; boards: "
                                        f"{', '.join(data.get('boards', {}))}")
        boards[name] = BoardDefinition(name, str(table.get("title", name)), members, published,
                                       str(table.get("notes", "")), tuple(named), tuple(rules), tuple(compare))
    ci = _run_definition(f"{path}: ci", "ci", data["ci"]) if "ci" in data else None
    definitions = Definitions(runs, boards, ci, path)
    for definition in [*runs.values(), *([ci] if ci else [])]:
        try:
            build_run_config(definition)
        except InvalidParameterError as exc:
            message = str(exc)
            prefix = f"{definition.where}: "
            raise InvalidParameterError(message if message.startswith(prefix) else prefix + message) from None
    return definitions


def load_definitions(path: str | Path = DEFINITIONS_FILE, plugins: Sequence[str] = ()) -> Definitions:
    """Read and validate a leaderboard definitions file.

    Parameters
    ----------
    plugins : sequence of str
        Kernel plugins (``--plugin``) every run of the file loads and records, before its own ``plugins``.
    """
    data = read_toml(path, "leaderboard definitions")
    if plugins:
        for table in [*data.get("runs", {}).values(), *([data["ci"]] if "ci" in data else [])]:
            if isinstance(table, dict):
                table["plugins"] = [*plugins, *table.get("plugins", [])]
    return parse_definitions(data, path)
