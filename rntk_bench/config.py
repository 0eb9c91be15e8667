"""The configuration of a benchmark run: which suite, which kernels, which grids; validated once, frozen.

A run is described by a :class:`RunConfig`. Its *result fields* (suite, datasets, kernel grids, C grids,
cross-validation folds, seed, SVM iteration cap) decide the numbers a run produces and are hashed into
``config_hash``; the *execution fields* (jobs, backend, scheduler, data folder, cache) only decide how fast
they come, so a run may be resumed with other execution fields.

Grids
-----
Every kernel starts from its registry grid (``KernelSpec.default_grid``, e.g. Arora et al.'s 15 NTK settings)
and its default C grid (:data:`DEFAULT_C_GRIDS`). An override ``{param: [values]}`` replaces that parameter's
axis: the default settings are stripped of the parameter, duplicates are dropped (first kept), and every
remaining setting is combined with every given value, in the order given. Combinations a kernel refuses (an NTK
with ``fixed_layers > n_layers``) are dropped; a grid left with no setting is an error. The pseudo-parameter
``C`` replaces the C grid.

TOML file (every key optional)::

    suite = "demo"
    datasets = ["iris", "wine"]        # a subset of the suite
    kernels = ["rntk", "rbf"]          # default: rntk, ntk, rbf, poly
    cv_folds = 5
    seed = 0
    svc_max_iter = 10000000            # libsvm's iteration cap per SVM fit

    [grid.rntk]
    sigma_u = [0.5, 1.0]
    C = [1.0, 100.0]
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rntk_bench.errors import InvalidParameterError, RunError
from rntk_bench.kernels import KERNELS, get_kernel, kernel_id
from rntk_bench.protocols import SVC_MAX_ITER

DEFAULT_KERNELS: tuple[str, ...] = ("rntk", "ntk", "rbf", "poly")
"""Kernels run when none is named."""

_ARORA_C = tuple(10.0**power for power in range(-2, 5))
DEFAULT_C_GRIDS: dict[str, tuple[float, ...]] = {
    "ntk": _ARORA_C,                                  # Arora et al.: 1e-2 .. 1e4
    "rntk": (1e-2, 1.0, 1e2, 1e4, 1e6),               # Alemohammad et al.'s released UCI code
    "rbf": _ARORA_C,                                  # the baselines share Arora et al.'s grid
    "poly": _ARORA_C,
    "linear": _ARORA_C,
}
"""Default C grid of the SVM, per kernel."""

BACKENDS = ("loky", "dask")
_CONFIG_KEYS = ("suite", "datasets", "kernels", "grid", "cv_folds", "seed")
# A two-sample stand-in for training data: data-scaled default grids (rbf) expand on it to validate a grid
# before any dataset is loaded.
_PROBE = np.array([[0.0, 1.0], [1.0, 0.0]])


def _plain(value: Any) -> Any:
    """A JSON- and hash-stable form of a parameter value (numpy scalars become Python numbers)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class KernelGrid:
    """The search grid of one kernel: parameter-axis overrides on its registry grid, and the C grid.

    Attributes
    ----------
    name : str
        Registry name of the kernel.
    overrides : tuple of (str, tuple)
        ``(parameter, values)`` pairs, sorted by parameter name; empty for the registry grid.
    C : tuple of float
        Values of the SVM's C, searched in this order.
    """

    name: str
    overrides: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    C: tuple[float, ...] = ()

    def settings(self, X_train) -> list[dict[str, Any]]:
        """Expand the grid on the training input ``X_train`` (only data-scaled grids look at it).

        Returns
        -------
        list of dict
            Full, validated parameter dicts (defaults filled in), in search order, without duplicates.
        """
        spec = KERNELS[self.name]
        base = spec.default_grid(X_train)
        axes = dict(self.overrides)
        if axes:
            stripped: list[dict[str, Any]] = []
            for setting in base:
                reduced = {key: value for key, value in setting.items() if key not in axes}
                if reduced not in stripped:
                    stripped.append(reduced)
            names = list(axes)
            base = [
                {**setting, **dict(zip(names, combo))}
                for setting in stripped
                for combo in itertools.product(*(axes[name] for name in names))
            ]
        settings: list[dict[str, Any]] = []
        seen: set[str] = set()
        refused: list[str] = []
        for setting in base:
            try:
                kernel = get_kernel(self.name, **setting)
            except InvalidParameterError as exc:
                if not axes:  # the registry grid itself is broken: a bug, not user input
                    raise
                refused.append(str(exc))
                continue
            if kernel.id not in seen:
                seen.add(kernel.id)
                settings.append(dict(kernel.params))
        if not settings:
            raise InvalidParameterError(
                f"the {self.name} grid has no valid setting: every combination is refused, e.g. {refused[0]}"
            )
        return settings

    def as_dict(self) -> dict[str, Any]:
        return {"overrides": {name: list(values) for name, values in self.overrides}, "C": list(self.C)}


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
    cv_folds : int
        Folds of the stratified cross-validation on UCR and embedded training splits (reduced per dataset
        when a class has fewer training samples; at least 2).
    seed : int
        Seed of the fold shuffling.
    svc_max_iter : int
        Iteration cap of every SVM fit (libsvm's ``max_iter``); fits stopped by it are counted in the results.
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
    """

    suite: str = "demo"
    datasets: tuple[str, ...] = ()
    kernels: tuple[KernelGrid, ...] = ()
    cv_folds: int = 5
    seed: int = 0
    svc_max_iter: int = SVC_MAX_ITER
    data_dir: str | None = None
    n_jobs: int = 1
    backend: str = "loky"
    scheduler: str | None = None
    cache_dir: str | None = None
    fail_fast: bool = False
    skip_missing: bool = False

    def kernel(self, name: str) -> KernelGrid:
        for grid in self.kernels:
            if grid.name == name:
                return grid
        raise InvalidParameterError(f"kernel {name!r} is not part of this run: {', '.join(self.kernel_names)}")

    @property
    def kernel_names(self) -> tuple[str, ...]:
        return tuple(grid.name for grid in self.kernels)

    def result_fields(self) -> dict[str, Any]:
        """The fields that decide the results, as plain JSON data (what ``config_hash`` hashes)."""
        fields = {
            "suite": self.suite,
            "datasets": list(self.datasets),
            "kernels": {grid.name: grid.as_dict() for grid in self.kernels},
            "cv_folds": self.cv_folds,
            "seed": self.seed,
        }
        if self.svc_max_iter != SVC_MAX_ITER:  # absent at the default: run folders made before it keep their hash
            fields["svc_max_iter"] = self.svc_max_iter
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


# ----------------------------------------------------------------------------------------------- parsing


def parse_value(text: str) -> Any:
    """Read one grid value given on the command line: int, float, ``none`` or a bare string."""
    text = text.strip()
    if text.lower() in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_grid_options(options: Iterable[str]) -> dict[str, dict[str, list[Any]]]:
    """Parse ``--grid KERNEL.PARAM=V1,V2`` options into ``{kernel: {param: [values]}}``."""
    grids: dict[str, dict[str, list[Any]]] = {}
    for option in options:
        target, sep, values = option.partition("=")
        kernel, dot, param = target.strip().partition(".")
        if not sep or not dot or not kernel or not param or not values.strip():
            raise InvalidParameterError(
                f"--grid {option!r} must look like KERNEL.PARAM=V1,V2 (e.g. rntk.sigma_u=0.25,0.5 or rbf.C=1,10)"
            )
        grids.setdefault(kernel, {})[param.strip()] = [parse_value(v) for v in values.split(",")]
    return grids


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a run configuration file; unknown top-level keys are refused with the valid ones listed."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise RunError(f"configuration file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise RunError(f"configuration file {str(path)!r} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_CONFIG_KEYS))
    if unknown:
        raise InvalidParameterError(
            f"{path}: unknown key(s) {', '.join(map(repr, unknown))}; valid keys: {', '.join(_CONFIG_KEYS)}"
        )
    return data


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _c_grid(kernel: str, values: Sequence[Any]) -> tuple[float, ...]:
    grid = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise InvalidParameterError(f"{kernel} C values must be positive finite numbers; got {value!r}")
        grid.append(float(value))
    if not grid:
        raise InvalidParameterError(f"the {kernel} C grid is empty")
    return tuple(grid)


def _kernel_grid(name: str, axes: Mapping[str, Any]) -> KernelGrid:
    spec = KERNELS[name]
    overrides = []
    c_values: tuple[float, ...] = DEFAULT_C_GRIDS.get(name, _ARORA_C)
    for param, raw in sorted(axes.items()):
        values = _as_list(raw)
        if param == "C":
            c_values = _c_grid(name, values)
            continue
        if param not in spec.params:
            raise InvalidParameterError(
                f"unknown parameter {param!r} for kernel {name!r}; valid parameters: "
                f"{', '.join(sorted(spec.params))}, C"
            )
        if not values:
            raise InvalidParameterError(f"the {name} grid of {param!r} is empty")
        coerced = tuple(_plain(spec.params[param].coerce(name, param, value)) for value in values)
        overrides.append((param, coerced))
    grid = KernelGrid(name, tuple(overrides), c_values)
    grid.settings(_PROBE)  # refuses a grid whose every combination is invalid
    return grid


def build_config(
    *,
    suite: str | None = None,
    suite_datasets: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    kernels: Sequence[str] | None = None,
    grids: Mapping[str, Mapping[str, Any]] | None = None,
    file: Mapping[str, Any] | None = None,
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
    file : mapping, optional
        The content of a TOML configuration (:func:`load_toml`).
    **execution
        ``data_dir``, ``n_jobs``, ``backend``, ``scheduler``, ``cache_dir``, ``fail_fast``, ``skip_missing``,
        ``cv_folds``, ``seed``, ``svc_max_iter``.

    Raises
    ------
    InvalidParameterError
        Unknown kernel, parameter or dataset names (the message lists the choices), invalid values.
    """
    file = dict(file or {})
    suite = suite or file.get("suite") or "demo"
    names = list(kernels) if kernels else _as_list(file.get("kernels", list(DEFAULT_KERNELS)))
    for name in names:
        if name not in KERNELS:
            raise InvalidParameterError(
                f"unknown kernel {name!r}; registered kernels: {', '.join(sorted(KERNELS))}"
            )
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"kernel listed twice: {', '.join(names)}")

    merged: dict[str, dict[str, Any]] = {}
    file_grid = file.get("grid", {})
    if not isinstance(file_grid, Mapping):
        raise InvalidParameterError("'grid' in a configuration file must be a table: [grid.KERNEL]")
    for source in (file_grid, grids or {}):
        for kernel, axes in source.items():
            if kernel not in KERNELS:
                raise InvalidParameterError(
                    f"grid given for unknown kernel {kernel!r}; registered kernels: {', '.join(sorted(KERNELS))}"
                )
            if not isinstance(axes, Mapping):
                raise InvalidParameterError(f"the grid of {kernel!r} must map parameter names to values")
            merged.setdefault(kernel, {}).update(axes)
    kernel_grids = tuple(_kernel_grid(name, merged.get(name, {})) for name in names)

    chosen = list(datasets) if datasets else _as_list(file.get("datasets", []))
    if suite_datasets is not None:
        unknown = [name for name in chosen if name not in suite_datasets]
        if unknown:
            raise InvalidParameterError(
                f"dataset(s) {', '.join(map(repr, unknown))} not in suite {suite!r}; its datasets: "
                f"{', '.join(suite_datasets)}"
            )
        chosen = [name for name in suite_datasets if name in chosen] if chosen else list(suite_datasets)
    if len(set(chosen)) != len(chosen):
        raise InvalidParameterError("a dataset is listed twice")

    cv_folds = execution.pop("cv_folds", None)
    cv_folds = int(file.get("cv_folds", 5) if cv_folds is None else cv_folds)
    if cv_folds < 2:
        raise InvalidParameterError(f"cv_folds must be at least 2; got {cv_folds}")
    seed = execution.pop("seed", None)
    seed = int(file.get("seed", 0) if seed is None else seed)
    svc_max_iter = execution.pop("svc_max_iter", None)
    svc_max_iter = file.get("svc_max_iter", SVC_MAX_ITER) if svc_max_iter is None else svc_max_iter
    if isinstance(svc_max_iter, float) and svc_max_iter.is_integer():
        svc_max_iter = int(svc_max_iter)  # 1e6 in TOML is a float
    if isinstance(svc_max_iter, bool) or not isinstance(svc_max_iter, int) or svc_max_iter < 1:
        raise InvalidParameterError(f"svc_max_iter must be a positive whole number of iterations; got {svc_max_iter!r}")
    n_jobs = execution.pop("n_jobs", None)
    n_jobs = 1 if n_jobs is None else int(n_jobs)
    if n_jobs < 1:
        raise InvalidParameterError(f"--jobs must be at least 1; got {n_jobs}")
    backend = execution.pop("backend", "loky") or "loky"
    if backend not in BACKENDS:
        raise InvalidParameterError(f"unknown backend {backend!r}; choices: {', '.join(BACKENDS)}")
    scheduler = execution.pop("scheduler", None)
    if scheduler and backend != "dask":
        raise InvalidParameterError("--scheduler needs --backend dask")
    data_dir = execution.pop("data_dir", None)
    cache_dir = execution.pop("cache_dir", None)
    config = RunConfig(
        suite=suite,
        datasets=tuple(chosen),
        kernels=kernel_grids,
        cv_folds=cv_folds,
        seed=seed,
        svc_max_iter=svc_max_iter,
        data_dir=None if data_dir is None else str(data_dir),
        n_jobs=n_jobs,
        backend=backend,
        scheduler=scheduler or None,
        cache_dir=None if cache_dir is None else str(cache_dir),
        fail_fast=bool(execution.pop("fail_fast", False)),
        skip_missing=bool(execution.pop("skip_missing", False)),
    )
    if execution:
        raise TypeError(f"build_config got unexpected arguments: {', '.join(execution)}")
    return config


def setting_id(name: str, params: Mapping[str, Any]) -> str:
    """Canonical id of one kernel setting (the registry's ``name[k=v,...]``)."""
    return kernel_id(name, params)


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
    "setting_id",
]
