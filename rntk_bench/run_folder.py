"""The run folder: its record ``run.json`` (one typed class, written and read by everyone through it), its task
files, the checks made before anything is written, and the provenance recorded with every session.

A run folder::

    run.json          :class:`RunInfo`: configuration and its hash, package versions, git revision, machine,
                      what was done to each dataset's input, and one :class:`Session` per invocation
    tasks/DATASET/KERNEL-HASH.json
                      one file per finished task (dataset x kernel setting), written atomically
    results.csv, scores.csv, leaderboard.md, ...
                      tables rebuilt from the task files (:mod:`rntk_bench.results`, :mod:`rntk_bench.report`)
    .lock             while a process writes to the folder (:mod:`rntk_bench.run_lock`)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rntk_bench.atomic import atomic_write_json
from rntk_bench.config import config_differences
from rntk_bench.errors import RunError

__all__ = [
    "RUN_FILE",
    "TASKS_DIR",
    "RunInfo",
    "Session",
    "check_run_dir",
    "default_run_dir",
    "machine",
    "now",
    "read_task_results",
    "task_path",
    "versions",
    "git_revision",
    "write_task_result",
]

RUN_FILE = "run.json"
TASKS_DIR = "tasks"
RUN_FORMAT = 1
_PACKAGES = ("rntk-bench", "numpy", "scipy", "scikit-learn", "pandas", "joblib", "numba", "dask", "distributed")


def now() -> str:
    """The current UTC time, ISO 8601 to the second (the time stamps of run folders and task files)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# ------------------------------------------------------------------------------------------------ run.json


@dataclass
class Session:
    """One invocation of the runner on a run folder.

    Attributes
    ----------
    started, finished : str or None
        UTC time stamps (:func:`now`); ``finished`` is None while it runs.
    status : str
        ``running``, ``finished``, ``interrupted`` or ``failed``.
    execution : dict
        The execution fields of the configuration (jobs, backend, ...), which may differ between sessions.
    n_tasks, n_skipped, n_run, n_failed : int
        Planned tasks, tasks already done before it, tasks it ran, failed tasks among them (and planning
        failures).
    """

    started: str | None = None
    finished: str | None = None
    status: str = "running"
    execution: dict[str, Any] = field(default_factory=dict)
    n_tasks: int = 0
    n_skipped: int = 0
    n_run: int = 0
    n_failed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys of a stored session this version does not know; written back unchanged."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in data.items() if k in names},
                   extra={k: v for k, v in data.items() if k not in names})

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        return {**self.extra, **data}


@dataclass
class RunInfo:
    """The content of ``run.json``, read and written only through this class.

    Attributes
    ----------
    config : dict
        The configuration's result fields (``RunConfig.result_fields``), what a resume must match.
    config_hash : str
    started, finished : str or None
        When the first session started; when a session last completed every task (None before).
    sessions : list of Session
    versions, git, machine : dict
        Provenance of the latest session (:func:`versions`, :func:`git_revision`, :func:`machine`).
    datasets : dict
        Per dataset: collection, protocol, sizes, loader notes and what each kernel input kind did to the data.
    notes : list of str
        Run-level notes (e.g. datasets left out as missing).
    """

    config: dict[str, Any] = field(default_factory=dict)
    config_hash: str | None = None
    started: str | None = None
    finished: str | None = None
    sessions: list[Session] = field(default_factory=list)
    versions: dict[str, Any] = field(default_factory=dict)
    git: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    datasets: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    format: int = RUN_FORMAT

    @staticmethod
    def path(run_dir: str | Path) -> Path:
        return Path(run_dir) / RUN_FILE

    @classmethod
    def exists(cls, run_dir: str | Path) -> bool:
        return cls.path(run_dir).is_file()

    @classmethod
    def read(cls, run_dir: str | Path) -> RunInfo:
        """Read ``run_dir/run.json``.

        Raises
        ------
        RunError
            The file is absent, not JSON, or not a JSON object.
        """
        path = cls.path(run_dir)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunError(f"{str(run_dir)!r} is not a run folder: it has no {RUN_FILE}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RunError(f"{path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RunError(f"{path} is not a run record: it holds a JSON {type(data).__name__}, not an object")
        names = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in names}
        values["sessions"] = [Session.from_dict(s) for s in data.get("sessions") or [] if isinstance(s, dict)]
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["sessions"] = [session.to_dict() for session in self.sessions]
        return data

    def write(self, run_dir: str | Path) -> None:
        """Write ``run_dir/run.json`` atomically."""
        atomic_write_json(self.path(run_dir), self.to_dict())

    @property
    def dataset_order(self) -> list[str] | None:
        return self.config.get("datasets")

    @property
    def kernel_order(self) -> list[str]:
        return list(self.config.get("kernels", {}))

    def loader_notes(self) -> dict[str, list[str]]:
        """Per dataset with any: what the loader did to its data (interpolated missing values, ...)."""
        return {name: list(entry.get("loader_notes") or []) for name, entry in (self.datasets or {}).items()
                if isinstance(entry, dict) and entry.get("loader_notes")}


# -------------------------------------------------------------------------------------------- task files


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "_"


def task_path(run_dir: str | Path, dataset: str, kernel_id: str) -> Path:
    """Where the result of the task (``dataset``, kernel setting ``kernel_id``) lives in a run folder."""
    digest = hashlib.sha256(f"{dataset}\0{kernel_id}".encode()).hexdigest()[:12]
    kernel = kernel_id.split("[", 1)[0]
    return Path(run_dir) / TASKS_DIR / _safe(dataset) / f"{_safe(kernel)}-{digest}.json"


def write_task_result(run_dir: str | Path, result: dict[str, Any]) -> Path:
    """Write one task's result file atomically; returns its path."""
    path = task_path(run_dir, result["dataset"], result["kernel_id"])
    atomic_write_json(path, result)
    return path


def read_task_results(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every task result file of a run folder (unreadable files, which atomic writes never leave, are skipped)."""
    results = []
    for path in sorted((Path(run_dir) / TASKS_DIR).glob("*/*.json")):
        try:
            results.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return results


# ---------------------------------------------------------------------------------------------- checks


def default_run_dir(suite: str, root: str | Path = "runs") -> Path:
    """``runs/<suite>-<UTC timestamp>``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(root) / f"{suite}-{stamp}"


def _check_plugins(run_dir: Path, recorded: list[dict[str, Any]], now: list[dict[str, Any]]) -> None:
    """Refuse a resume whose plugins differ from the run's, naming the plugin (a clearer message than the
    configuration difference it also is)."""
    current = {plugin["plugin"]: plugin.get("sha256") for plugin in now}
    for plugin in recorded:
        spec, sha = plugin.get("plugin"), plugin.get("sha256")
        if spec not in current:
            raise RunError(f"cannot resume {str(run_dir)!r}: the run was made with plugin {spec!r}, which is not "
                           f"loaded now; pass --plugin {spec}")
        if current[spec] != sha:
            raise RunError(f"cannot resume {str(run_dir)!r}: plugin {spec!r} changed since the run was made "
                           f"(sha256 {str(sha)[:12]}... then, {str(current[spec])[:12]}... now); results would "
                           "mix two versions of its kernels. Restore it, or start a new --out")
    extra = [spec for spec in current if spec not in {plugin.get("plugin") for plugin in recorded}]
    if extra:
        raise RunError(f"cannot resume {str(run_dir)!r}: plugin(s) {', '.join(map(repr, extra))} were not part of "
                       "the run; resume without them, or start a new --out")


def check_run_dir(run_dir: str | Path, result_fields: dict[str, Any], resume: bool) -> RunInfo | None:
    """Refuse a run folder that cannot be used, before anything is written.

    Parameters
    ----------
    run_dir : path
    result_fields : dict
        The configuration's result fields (``RunConfig.result_fields()``), which a resume must match.
    resume : bool

    Returns
    -------
    RunInfo or None
        The existing record when resuming.

    Raises
    ------
    RunError
        Not a folder, not writable, not empty without ``resume``, nothing to resume, or a resume with a
        different configuration (the message names every differing field).
    """
    run_dir = Path(run_dir)
    if run_dir.exists():
        if not run_dir.is_dir():
            raise RunError(f"output path {str(run_dir)!r} exists and is not a folder")
        if not os.access(run_dir, os.W_OK | os.X_OK):
            raise RunError(f"output folder {str(run_dir)!r} is not writable")
        if resume:
            if not RunInfo.exists(run_dir):
                raise RunError(f"cannot resume: {str(run_dir)!r} has no {RUN_FILE}, so it is not a run folder")
            info = RunInfo.read(run_dir)
            _check_plugins(run_dir, info.config.get("plugins", []), result_fields.get("plugins", []))
            differences = config_differences(info.config, result_fields)
            if differences:
                raise RunError(
                    f"refusing to resume {str(run_dir)!r}: it was made with a different configuration "
                    "(results would mix). Differences:\n  " + "\n  ".join(differences)
                    + "\nRun the same configuration again with --resume, or choose a new --out."
                )
            return info
        if any(path.name != ".lock" for path in run_dir.iterdir()):
            raise RunError(
                f"output folder {str(run_dir)!r} is not empty; pass --resume to continue the run in it, "
                "or choose another --out"
            )
        return None
    if resume:
        raise RunError(f"cannot resume: run folder {str(run_dir)!r} does not exist")
    parent = run_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise RunError(f"cannot create output folder {str(run_dir)!r}: {str(parent)!r} is not writable")
    return None


# ------------------------------------------------------------------------------------------ provenance


def versions() -> dict[str, str | None]:
    """Python's and the main packages' versions (None for a package that is not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def git_revision() -> dict[str, Any]:
    """The package's git revision and whether tracked files differ from it (None outside a checkout)."""
    here = Path(__file__).resolve().parent
    try:
        revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
        return {"revision": revision, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"revision": None, "dirty": None}


def machine() -> dict[str, Any]:
    """Host name, platform, processor and core count."""
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
