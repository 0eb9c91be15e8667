"""The configuration of a benchmark run: which suite, kernels, grids and protocol; validated once, frozen.

A run is described by a :class:`RunConfig`, built by :func:`build_config` from command-line values and a run
TOML file (keys: :data:`rntk_bench.schema.FILE_KEYS`). Its *result fields* (suite, datasets, kernel grids
with their ties and C grids, protocol, cross-validation folds, seed, SVM iteration cap) decide the numbers a
run produces and are hashed into ``config_hash``; the *execution fields* (jobs, backend, scheduler, data
folder, cache, ...) only decide how fast they come, so a run may be resumed with other execution fields.

TOML file (every key optional)::

    suite = "demo"
    datasets = ["iris", "wine"]        # a subset of the suite
    kernels = ["rntk", "rbf"]          # default: rntk, ntk, rbf, poly
    protocol = "train-cv-test"         # default: each dataset's own
    cv_folds = 5
    seed = 0
    svc_max_iter = 10000000            # libsvm's iteration cap per SVM fit
    skip_missing = false

    [grid.rntk]                        # axis overrides (rntk_bench.grids)
    sigma_u = [0.5, 1.0]
    C = [1.0, 100.0]

    [tie.rntk]                         # keep only these combinations
    fixed_layers = [0, "n_layers"]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rntk_bench.data import suggest
from rntk_bench.errors import InvalidParameterError
from rntk_bench.grids import DEFAULT_C_GRIDS, KernelGrid, kernel_grid, parse_grid_options, parse_value
from rntk_bench.kernels import get_spec
from rntk_bench.kernels.plugins import Plugin, load_plugins
from rntk_bench.protocols import PROTOCOLS, SVC_MAX_ITER
from rntk_bench.schema import BACKENDS, FILE_KEYS, check_keys, check_value, read_toml, resolve_jobs

DEFAULT_KERNELS: tuple[str, ...] = ("rntk", "ntk", "rbf", "poly")
"""Kernels run when none is named."""
DEFAULT_CV_FOLDS = 5
DEFAULT_SEED = 0
DISTRIBUTE_ABOVE = 5000
"""Rows above which a dask run computes a Gram matrix as tiles across the cluster: 5000 rows make a 200 MB
matrix, about 5 s of RNTK work (T = 100) on one core, where spreading it starts to pay off."""


@dataclass(frozen=True)
class RunConfig:
    """Everything a benchmark run needs to know; build it with :func:`build_config`.

    Attributes
    ----------
    suite : str
        Suite name (``rntk_bench.data.SUITES``).
    datasets : tuple of str
        The datasets to run, in suite order (the whole suite unless a subset was asked for).
    kernels : tuple of KernelGrid
        Kernels and their grids, in report order.
    plugins : tuple of Plugin
        Kernel plugins the run loaded (:mod:`rntk_bench.kernels.plugins`); workers import them too.
    protocol : str or None
        The protocol of every dataset (:data:`rntk_bench.protocols.PROTOCOLS`); None: each dataset's own.
    cv_folds : int
        Folds of the stratified cross-validation on UCR and embedded training splits (reduced per dataset
        when a class has fewer training samples; at least 2).
    seed : int
        Seed of the fold shuffling.
    svc_max_iter : int
        Iteration cap of every SVM fit (libsvm's ``max_iter``); fits stopped by it are counted in the results.
    series_scaling : {"train-norm", "none"}
        How sequence kernels read series: divided by the largest training-series norm, or as distributed.
    approx : str or None
        Approximate kernel features for large datasets (:mod:`rntk_bench.approximation`, canonical text);
        None: exact Gram matrices everywhere.
    data_dir : str or None
        Where datasets are read from (``None``: the data layer's default).
    n_jobs : int
        Parallel worker processes (loky) or, with dask and no scheduler, local dask workers.
    backend : {"loky", "dask"}
    scheduler : str or None
        Address ``tcp://HOST:PORT`` of a dask.distributed scheduler.
    cache_dir : str or None
        Folder of an on-disk Gram-matrix cache (:class:`rntk_bench.gram_store.GramStore`); ``None`` disables it.
    fail_fast : bool
        Raise on the first failing task instead of recording it as an error row.
    skip_missing : bool
        Leave out datasets whose files are missing instead of refusing to start.
    embedded : bool
        Whether copies bundled with sktime and scikit-learn serve datasets the data folder lacks.
    distribute_above : int
        With the dask backend, a Gram matrix over more rows than this is computed as tiles across the cluster
        (:func:`rntk_bench.tiled_gram.tiled_gram`) from inside its task; 0: never.
    device : str
        Where RNTK and NTK Gram matrices are computed (:func:`rntk_bench.kernels.accel.resolve_device`):
        ``numba`` (the CPU engine), ``cpu`` (JAX), ``gpu``, ``gpu:N``, ``auto``. Values agree to about 1e-15
        relative, so it is not part of the hash.
    """

    suite: str = "demo"
    datasets: tuple[str, ...] = ()
    kernels: tuple[KernelGrid, ...] = ()
    plugins: tuple[Plugin, ...] = ()
    protocol: str | None = None
    cv_folds: int = DEFAULT_CV_FOLDS
    seed: int = DEFAULT_SEED
    svc_max_iter: int = SVC_MAX_ITER
    series_scaling: str = "train-norm"
    approx: str | None = None
    data_dir: str | None = None
    n_jobs: int = 1
    backend: str = "loky"
    scheduler: str | None = None
    cache_dir: str | None = None
    fail_fast: bool = False
    skip_missing: bool = False
    embedded: bool = True
    distribute_above: int = DISTRIBUTE_ABOVE
    device: str = "numba"

    def kernel(self, name: str) -> KernelGrid:
        for grid in self.kernels:
            if grid.name == name:
                return grid
        raise InvalidParameterError(f"kernel {name!r} is not part of this run: {', '.join(self.kernel_names)}")

    @property
    def kernel_names(self) -> tuple[str, ...]:
        return tuple(grid.name for grid in self.kernels)

    def result_fields(self) -> dict[str, Any]:
        """The fields that decide the results, as plain JSON data (what ``config_hash`` hashes).

        Fields at their original defaults that older versions did not record (``svc_max_iter``,
        ``protocol``) are left out, so run folders made before them keep their hash.
        """
        fields = {
            "suite": self.suite,
            "datasets": list(self.datasets),
            "kernels": {grid.name: grid.as_dict() for grid in self.kernels},
            "cv_folds": self.cv_folds,
            "seed": self.seed,
        }
        if self.svc_max_iter != SVC_MAX_ITER:
            fields["svc_max_iter"] = self.svc_max_iter
        if self.protocol is not None:
            fields["protocol"] = self.protocol
        if self.series_scaling != "train-norm":
            fields["series_scaling"] = self.series_scaling
        if self.approx is not None:
            fields["approx"] = self.approx
        if self.plugins:  # a plugin's file is part of what decides the numbers
            fields["plugins"] = [plugin.record() for plugin in self.plugins]
        return fields

    def execution_fields(self) -> dict[str, Any]:
        """The fields that only decide how the run executes."""
        return {
            "data_dir": self.data_dir,
            "n_jobs": self.n_jobs,
            "backend": self.backend,
            "scheduler": self.scheduler,
            "cache_dir": self.cache_dir,
            "fail_fast": self.fail_fast,
            "skip_missing": self.skip_missing,
            "embedded": self.embedded,
            "device": self.device,
            "distribute_above": self.distribute_above,
        }

    @property
    def config_hash(self) -> str:
        """First 16 hex digits of the SHA-256 of :meth:`result_fields` as canonical JSON."""
        text = json.dumps(self.result_fields(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_differences(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Human-readable lines naming every field whose value differs between two ``result_fields`` dicts."""
    lines = []
    for key in sorted(set(old) | set(new)):
        where = f"{prefix}{key}"
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            lines.extend(config_differences(a, b, where + "."))
        elif a != b:
            lines.append(f"{where}: {json.dumps(a)} in the run folder, {json.dumps(b)} now")
    return lines


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a run TOML file (``--config``); unknown keys are refused with the valid ones listed."""
    data = read_toml(path)
    check_keys(str(path), data, FILE_KEYS)
    return data


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _kernel_tables(source: Mapping[str, Any], key: str, where: str) -> Mapping[str, Mapping[str, Any]]:
    tables = source.get(key, {})
    if not isinstance(tables, Mapping):
        raise InvalidParameterError(f"{where}'{key}' must be a table: [{key}.KERNEL]")
    for kernel, axes in tables.items():
        try:
            get_spec(kernel)
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"{where}{key} given for an {exc}") from None
        if not isinstance(axes, Mapping):
            raise InvalidParameterError(f"{where}the {key} of {kernel!r} must map parameter names to values")
    return tables


def _pick(name: str, given: Any, file: Mapping[str, Any], default: Any, source: str | None) -> Any:
    """A scalar field: the command line's value, else the file's, else the default; validated."""
    if given is not None:
        return check_value(name, given)
    if name in file:
        return check_value(name, file[name], source or "configuration file")
    return default


def build_config(
    *,
    suite: str | None = None,
    suite_datasets: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    kernels: Sequence[str] | None = None,
    grids: Mapping[str, Mapping[str, Any]] | None = None,
    plugins: Sequence[str] | None = None,
    file: Mapping[str, Any] | None = None,
    source: str | None = None,
    **execution: Any,
) -> RunConfig:
    """Validate and merge the command line and a configuration file into a :class:`RunConfig`.

    Command-line values win over the file's; a ``--grid`` axis replaces the file's axis of that parameter.

    Parameters
    ----------
    suite : str, optional
        Suite name; default the file's, else ``"demo"``.
    suite_datasets : sequence of str, optional
        The suite's dataset names in order (from the data layer); ``datasets`` must be among them.
    datasets : sequence of str, optional
        A subset to run.
    kernels : sequence of str, optional
        Kernel names; default the file's, else :data:`DEFAULT_KERNELS`.
    grids : mapping, optional
        ``{kernel: {param: values}}`` from ``--grid`` options.
    plugins : sequence of str, optional
        Kernel plugins from ``--plugin`` options (files or module names), loaded with the file's ``plugins``.
    file : mapping, optional
        The content of a run TOML file (:func:`load_toml`), or of a leaderboard run definition.
    source : str, optional
        Where ``file`` comes from, named in messages.
    **execution
        ``data_dir``, ``n_jobs``, ``backend``, ``scheduler``, ``cache_dir``, ``fail_fast``, ``skip_missing``,
        ``embedded``, ``protocol``, ``cv_folds``, ``seed``, ``svc_max_iter``: command-line values (None: not given).

    Raises
    ------
    InvalidParameterError
        Unknown kernel, parameter, protocol or dataset names (the message lists the choices or suggests the
        closest), invalid values (the message names the option or file key).
    """
    file = dict(file or {})
    where = f"{source}: " if source else ""
    file_plugins = file.get("plugins", [])
    if not isinstance(file_plugins, list) or not all(isinstance(spec, str) for spec in file_plugins):
        raise InvalidParameterError(f"{where}plugins must be a list of .py paths or module names")
    loaded = load_plugins([*(plugins or []), *file_plugins])  # before the kernel names are checked
    suite = check_value("suite", suite) if suite is not None else _pick("suite", None, file, "demo", source)
    names = list(kernels) if kernels else _as_list(file.get("kernels", list(DEFAULT_KERNELS)))
    for name in names:
        get_spec(name)
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"kernel listed twice: {', '.join(names)}")

    merged: dict[str, dict[str, Any]] = {}
    file_grids = _kernel_tables(file, "grid", where)
    cli_grids = _kernel_tables({"grid": grids or {}}, "grid", "")
    for tables in (file_grids, cli_grids):
        for kernel, axes in tables.items():
            merged.setdefault(kernel, {}).update(axes)
    ties = _kernel_tables(file, "tie", where)
    # A --grid for a kernel the run leaves out is a mistake; a file's grids may cover more kernels than
    # --kernel picks from it, but not more than the file's own kernel list.
    stray = [kernel for kernel in cli_grids if kernel not in names]
    if not kernels:
        stray += [kernel for kernel in {**file_grids, **ties} if kernel not in names and kernel not in stray]
    if stray:
        raise InvalidParameterError(
            f"grid or tie given for kernel(s) {', '.join(map(repr, stray))}, which the run does not include "
            f"(kernels: {', '.join(names)}); add them with --kernel or remove the grid"
        )
    kernel_grids = tuple(kernel_grid(name, merged.get(name, {}), ties.get(name, {})) for name in names)

    chosen = list(datasets) if datasets else _as_list(file.get("datasets", []))
    if suite_datasets is not None:
        unknown = [name for name in chosen if name not in suite_datasets]
        if unknown:
            hints = "".join(suggest(name, suite_datasets) for name in unknown[:3])
            listing = (f"its datasets: {', '.join(suite_datasets)}" if len(suite_datasets) <= 20 else
                       f"`rntk-bench datasets list --suite {suite}` lists its {len(suite_datasets)} datasets")
            raise InvalidParameterError(
                f"dataset(s) {', '.join(map(repr, unknown))} not in suite {suite!r}{hints} ({listing})"
            )
        chosen = [name for name in suite_datasets if name in chosen] if chosen else list(suite_datasets)
    if len(set(chosen)) != len(chosen):
        raise InvalidParameterError("a dataset is listed twice")

    protocol = _pick("protocol", execution.pop("protocol", None), file, None, source)
    if protocol is not None and protocol not in PROTOCOLS:
        raise InvalidParameterError(f"unknown protocol {protocol!r}; protocols: {', '.join(PROTOCOLS)}")
    n_jobs = execution.pop("n_jobs", None)
    backend = execution.pop("backend", None) or "loky"
    scheduler = execution.pop("scheduler", None)
    config = RunConfig(
        suite=suite,
        datasets=tuple(chosen),
        kernels=kernel_grids,
        plugins=loaded,
        protocol=protocol,
        cv_folds=_pick("cv_folds", execution.pop("cv_folds", None), file, DEFAULT_CV_FOLDS, source),
        seed=_pick("seed", execution.pop("seed", None), file, DEFAULT_SEED, source),
        svc_max_iter=_pick("svc_max_iter", execution.pop("svc_max_iter", None), file, SVC_MAX_ITER, source),
        series_scaling=_pick("series_scaling", execution.pop("series_scaling", None), file, "train-norm", source),
        approx=_pick("approx", execution.pop("approx", None), file, None, source),
        data_dir=None if (data_dir := execution.pop("data_dir", None)) is None else str(data_dir),
        n_jobs=1 if n_jobs is None else resolve_jobs(check_value("n_jobs", n_jobs)),
        backend=check_value("backend", backend),
        scheduler=None if not scheduler else check_value("scheduler", scheduler),
        cache_dir=None if (cache_dir := execution.pop("cache_dir", None)) is None else str(cache_dir),
        fail_fast=bool(execution.pop("fail_fast", False)),
        skip_missing=_pick("skip_missing", execution.pop("skip_missing", None) or None, file, False, source),
        embedded=bool(execution.pop("embedded", True)),
        device=check_value("device", execution.pop("device", None) or "numba"),
        distribute_above=_pick("distribute_above", execution.pop("distribute_above", None), file, DISTRIBUTE_ABOVE,
                               source),
    )
    if config.scheduler and config.backend != "dask":
        raise InvalidParameterError("--scheduler needs --backend dask")
    if execution:
        raise TypeError(f"build_config got unexpected arguments: {', '.join(execution)}")
    return config


__all__ = [
    "BACKENDS",
    "DEFAULT_C_GRIDS",
    "DEFAULT_KERNELS",
    "KernelGrid",
    "RunConfig",
    "build_config",
    "config_differences",
    "load_toml",
    "parse_grid_options",
    "parse_value",
]
