"""Kernel plugins: Python modules outside the package that register kernels with ``register_kernel``.

A plugin is a file (``--plugin my_kernel.py``), an importable module (``--plugin my_package.kernels``), or an
entry point of the group ``rntk_bench.kernels`` of any installed distribution (imported on first need: when a
kernel name is not registered yet, or when the kernels are listed). :func:`load_plugin` imports it, records
which kernels it registered and the sha256 of its file, and calls each new kernel once on a tiny input, so
that a kernel returning the wrong shape or type is refused when the plugin loads, with the plugin named.

Worker processes (loky, dask) import the run's plugins before they look a kernel up
(:func:`ensure_loaded`). A file plugin travels with the tasks as its source text, so workers on other
machines (``dask worker`` processes started separately) need neither the file nor a shared folder; a module
or entry-point plugin must be installed where the workers run.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import re
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np

from rntk_bench.errors import PluginError, RntkBenchError
from rntk_bench.kernels.registry import KERNELS, Kernel, registering_as

__all__ = ["ENTRY_POINT_GROUP", "Plugin", "ensure_loaded", "load_entry_points", "load_plugin", "load_plugins"]

ENTRY_POINT_GROUP = "rntk_bench.kernels"


@dataclass(frozen=True)
class Plugin:
    """A loaded plugin.

    Attributes
    ----------
    spec : str
        As given: a file path or a module name (for an entry point, ``NAME = module:attr``).
    kind : {"file", "module", "entry point"}
    module : str
        Its name in ``sys.modules``.
    sha256 : str or None
        Of its source file (None for a module without one).
    kernels : tuple of str
        The kernels it registered.
    source : str or None
        A file plugin's text, which workers import when they have not loaded it yet.
    """

    spec: str
    kind: str
    module: str
    sha256: str | None
    kernels: tuple[str, ...]
    source: str | None = None

    @property
    def origin(self) -> str:
        """How ``rntk-bench kernels`` shows where its kernels come from."""
        return f"{self.kind} {self.spec}"

    def record(self) -> dict[str, Any]:
        """What a run records of it (``run.json``, and the run's hash): the spec and the file's sha256."""
        return {"plugin": self.spec, "sha256": self.sha256}


_LOADED: dict[str, Plugin] = {}
"""Plugins loaded in this process, by spec and by module name."""
_ENTRY_POINTS: list[Plugin] | None = None


def _looks_like_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec or Path(spec).is_file()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _smoke_test(plugin_spec: str, names: Sequence[str]) -> None:
    """Call each kernel once, on a tiny input of its kind, so that a broken kernel is refused at load time."""
    rng = np.random.default_rng(0)
    for name in names:
        spec = KERNELS[name]
        X = rng.standard_normal((4, 3)) if spec.input_kind == "vector" else rng.standard_normal((4, 6))
        try:
            kernel = Kernel(spec, spec.validate({}))
            kernel(X)
            kernel(X, X[:2])
        except Exception as exc:
            raise PluginError(f"plugin {plugin_spec!r}: kernel {name!r} fails on a small {spec.input_kind} input "
                              f"(4 samples) with its defaults: {type(exc).__name__}: {exc}") from None


def _import(spec: str, kind: str, module_name: str, run: Any, origin: str) -> tuple[str, ...]:
    """Run ``run()`` (the import) recording registrations as ``origin``; roll back on failure.

    Returns
    -------
    tuple of str
        The kernels registered.
    """
    before = dict(KERNELS)
    try:
        with registering_as(origin):
            run()
    except RntkBenchError as exc:
        _roll_back(before, module_name)
        raise PluginError(f"plugin {spec!r}: {exc}") from None
    except BaseException as exc:
        _roll_back(before, module_name)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise PluginError(f"plugin {spec!r} failed to import: {type(exc).__name__}: {exc}") from None
    added = tuple(name for name in KERNELS if before.get(name) is not KERNELS[name])
    if not added:
        _roll_back(before, module_name)
        raise PluginError(f"plugin {spec!r} registers no kernel: decorate a kernel function with "
                          "@register_kernel(NAME, ...) from rntk_bench.kernels")
    try:
        _smoke_test(spec, added)
    except PluginError:
        _roll_back(before, module_name)
        raise
    return added


def _roll_back(before: dict, module_name: str) -> None:
    KERNELS.clear()
    KERNELS.update(before)
    module = sys.modules.pop(module_name, None)
    if module is not None and module_name.startswith("rntk_bench_plugin_"):
        cloudpickle.unregister_pickle_by_value(module)


def _exec_file(spec: str, path: Path, text: str, sha: str) -> Plugin:
    stem = re.sub(r"\W", "_", path.stem)
    module_name = f"rntk_bench_plugin_{stem}_{sha[:12]}"
    known = _LOADED.get(module_name)
    if known is not None and module_name in sys.modules and all(name in KERNELS for name in known.kernels):
        return known
    origin = f"file {spec}"
    # A newer version of the same plugin replaces the older one's kernels instead of clashing with them.
    for name in [name for name, kernel in KERNELS.items() if kernel.origin == origin]:
        del KERNELS[name]

    def run() -> None:
        module = types.ModuleType(module_name)
        module.__file__ = str(path)
        sys.modules[module_name] = module  # before executing: dataclasses and pickling look the module up
        # Workers cannot import a module made from a file: its functions must travel by value when pickled.
        cloudpickle.register_pickle_by_value(module)
        exec(compile(text, str(path), "exec"), module.__dict__)

    kernels = _import(spec, "file", module_name, run, origin)
    plugin = Plugin(spec, "file", module_name, sha, kernels, text)
    _LOADED[module_name] = _LOADED[spec] = plugin
    return plugin


def load_plugin(spec: str) -> Plugin:
    """Import the plugin ``spec`` (a ``.py`` file path or an importable module name) once per process.

    Raises
    ------
    PluginError
        The file does not exist, the module is not found, it fails to import, registers no kernel, registers
        a name already taken (without ``replace=True``), or one of its kernels fails on a small input.
    """
    spec = str(spec)
    if _looks_like_path(spec):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise PluginError(f"plugin file {spec!r} does not exist" + (" (it is a folder)" if path.is_dir() else ""))
        try:
            data = path.read_bytes()
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PluginError(f"plugin file {spec!r} cannot be read: {exc}") from None
        return _exec_file(spec, path.resolve(), text, _sha256(data))
    if spec in _LOADED:
        return _LOADED[spec]
    if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", spec):
        raise PluginError(f"plugin {spec!r} is neither a .py file nor a module name")
    if spec in sys.modules:
        raise PluginError(f"plugin module {spec!r} was imported before it was loaded as a plugin, so its "
                          "registrations cannot be told apart; load it with --plugin only")
    try:
        found = importlib.util.find_spec(spec)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise PluginError(f"plugin {spec!r}: no file of that name and no importable module (is it installed, "
                          "or did you mean a path ending in .py?)")
    kernels = _import(spec, "module", spec, lambda: importlib.import_module(spec), f"module {spec}")
    file = getattr(sys.modules.get(spec), "__file__", None)
    sha = _sha256(Path(file).read_bytes()) if file and Path(file).is_file() else None
    plugin = Plugin(spec, "module", spec, sha, kernels)
    _LOADED[spec] = plugin
    return plugin


def load_plugins(specs: Sequence[str]) -> tuple[Plugin, ...]:
    """:func:`load_plugin` for each spec, in order, without repeats."""
    return tuple(load_plugin(spec) for spec in dict.fromkeys(str(spec) for spec in specs))


def load_entry_points() -> list[Plugin]:
    """Import every plugin of the entry-point group ``rntk_bench.kernels`` (once per process).

    Raises
    ------
    PluginError
        An entry point fails to load; the message names it and its distribution.
    """
    global _ENTRY_POINTS
    if _ENTRY_POINTS is not None:
        return _ENTRY_POINTS
    _ENTRY_POINTS = []
    for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        distribution = getattr(point.dist, "name", None) or "an installed distribution"
        spec = f"{point.name} = {point.value}"
        module_name = point.value.split(":", 1)[0]
        if module_name in sys.modules:  # already imported (e.g. by --plugin): its kernels are registered
            continue
        kernels = _import(f"{spec} (entry point of {distribution})", "entry point", module_name, point.load,
                          f"entry point {point.name}")
        file = getattr(sys.modules.get(module_name), "__file__", None)
        sha = _sha256(Path(file).read_bytes()) if file and Path(file).is_file() else None
        _ENTRY_POINTS.append(Plugin(spec, "entry point", module_name, sha, kernels))
    return _ENTRY_POINTS


def ensure_loaded(plugins: Sequence[Plugin]) -> None:
    """Make the run's plugins' kernels available in this (worker) process, importing those it lacks.

    A file plugin is imported from the source text it carries, checked against its sha256, so the worker
    needs no copy of the file; a module plugin is imported by name.

    Raises
    ------
    PluginError
    """
    for plugin in plugins:
        if plugin.module in sys.modules and all(name in KERNELS for name in plugin.kernels):
            continue
        if plugin.kind == "file":
            if plugin.source is None or _sha256(plugin.source.encode("utf-8")) != plugin.sha256:
                raise PluginError(f"plugin {plugin.spec!r}: its shipped source does not match its sha256")
            _exec_file(plugin.spec, Path(plugin.spec), plugin.source, plugin.sha256)
        elif plugin.kind == "module":
            load_plugin(plugin.spec)
        else:
            load_entry_points()
