"""Running the leaderboard: each defined run, resumed from its task files under ``results/runs/<name>/``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rntk_bench.errors import InvalidParameterError
from rntk_bench.leaderboard.definitions import RUNS_DIR, Definitions, build_run_config
from rntk_bench.run_folder import RunInfo
from rntk_bench.runner import run_benchmark

__all__ = ["Progress", "run_leaderboard"]

Progress = Callable[[str, int, int, str], None]
"""``progress(run_name, done, total, label)``."""


def run_leaderboard(
    definitions: Definitions,
    results_dir: str | Path = "results",
    *,
    only: Sequence[str] | None = None,
    data_dir: str | Path | None = None,
    n_jobs: int = 1,
    progress: Progress | None = None,
    after_each: Callable[[str], None] | None = None,
    add_predictions: bool | str = False,
    device: str = "numba",
    retry_failed: bool = True,
) -> dict[str, Any]:
    """Run (or resume) the defined runs into ``results_dir/runs/<name>/``, in definition order.

    Parameters
    ----------
    only : sequence of str, optional
        Run names to run; default all.
    after_each : callable, optional
        Called with the run name after each run (e.g. to refresh the page).
    add_predictions : bool or {"all", "vote"}
        Also run again the finished tasks that have no stored predictions, all or those a vote reads (see
        ``run_benchmark``).
    device : str
        Where RNTK and NTK Gram matrices are computed (``RunConfig.device``; not part of a run's hash).
    retry_failed : bool
        Run failed tasks again (default); False keeps their files (see ``run_benchmark``).

    Returns
    -------
    dict
        Run name -> :class:`rntk_bench.runner.RunOutcome`.
    """
    names = list(only) if only else list(definitions.runs)
    unknown = [name for name in names if name not in definitions.runs]
    if unknown:
        raise InvalidParameterError(f"unknown run(s) {', '.join(unknown)}; defined: {', '.join(definitions.runs)}")
    outcomes = {}
    for name in names:
        config = build_run_config(definitions.runs[name], data_dir, n_jobs, device)
        run_dir = Path(results_dir) / RUNS_DIR / name
        callback = None if progress is None else (lambda done, total, label, _n=name: progress(_n, done, total, label))
        outcomes[name] = run_benchmark(config, run_dir, resume=RunInfo.exists(run_dir), progress=callback,
                                       add_predictions=add_predictions, retry_failed=retry_failed)
        if after_each:
            after_each(name)
    return outcomes
