"""What a run folder of the leaderboard holds: tasks planned and finished, compute time, machine, and the SVM
fits that stopped at the iteration cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rntk_bench.results import combine
from rntk_bench.run_folder import RunInfo, read_task_results

__all__ = ["RunStatus", "run_status"]


@dataclass(frozen=True)
class RunStatus:
    """What a run folder holds: planned and finished tasks, compute time, machine, unconverged SVM fits."""

    name: str
    exists: bool
    n_datasets: int = 0
    kernels: tuple[str, ...] = ()
    n_done: int = 0
    n_failed: int = 0
    task_seconds: float = 0.0
    wall_seconds: float = 0.0
    machine: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    unconverged_selected: tuple[str, ...] = ()
    data_notes: tuple[str, ...] = ()
    """``DATASET: note`` for what the loader did to a dataset's data (interpolated missing values, ...)."""
    unconverged_fits: int = 0
    fits: int = 0


def _seconds_between(start: str | None, end: str | None) -> float:
    if not start or not end:
        return 0.0
    return (pd.Timestamp(end) - pd.Timestamp(start)).total_seconds()


def run_status(run_dir: str | Path, name: str = "") -> RunStatus:
    """Summarise a run folder from its ``run.json`` and task files (missing folder: ``exists=False``)."""
    run_dir = Path(run_dir)
    if not RunInfo.exists(run_dir):
        return RunStatus(name or run_dir.name, False)
    info = RunInfo.read(run_dir)
    results = read_task_results(run_dir)
    table = combine(results, info.dataset_order, info.kernel_order)
    selected = set(zip(table["dataset"], table["kernel_id"])) if len(table) else set()
    affected = sorted({f"{r['dataset']} {r['kernel_id']} ({r['svc_unconverged']} of {r['svc_fits']} fits)"
                       for r in results if r.get("svc_unconverged") and (r["dataset"], r["kernel_id"]) in selected})
    wall = 0.0
    for session in info.sessions:
        wall += _seconds_between(session.started, session.finished)
    return RunStatus(
        name=name or run_dir.name,
        exists=True,
        n_datasets=len(info.datasets or info.dataset_order or []),  # planned: missing ones left out
        kernels=tuple(info.kernel_order),
        n_done=sum(r.get("status") == "ok" for r in results),
        n_failed=sum(r.get("status") != "ok" for r in results),
        task_seconds=float(sum((r.get("gram_seconds") or 0.0) + (r.get("fit_seconds") or 0.0) for r in results)),
        wall_seconds=wall,
        machine=dict(info.machine or {}),
        versions=dict(info.versions or {}),
        notes=tuple(info.notes or []),
        unconverged_selected=tuple(affected),
        data_notes=tuple(f"{name}: {note}" for name, notes in info.loader_notes().items() for note in notes),
        unconverged_fits=int(sum(r.get("svc_unconverged") or 0 for r in results)),
        fits=int(sum(r.get("svc_fits") or 0 for r in results)),
    )
