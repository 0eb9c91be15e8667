"""The published leaderboard: run definitions as data, resumable runs, and the pages built from them.

``results/leaderboard.toml`` names the runs (the keys of a run TOML file plus page text) and the boards (runs
merged into one comparison).

* :mod:`~rntk_bench.leaderboard.definitions`: the file, read and validated by the run configuration's code;
* :mod:`~rntk_bench.leaderboard.running`: each run into ``results/runs/<name>/``, resuming what is there;
* :mod:`~rntk_bench.leaderboard.status`: what a run folder holds (tasks, time, machine, stopped fits);
* :mod:`~rntk_bench.leaderboard.page`: ``results/leaderboard.md`` and ``results/boards/<name>/``;
* :mod:`~rntk_bench.leaderboard.ci`: the small ``[ci]`` board, recomputed from scratch and compared.
"""

from rntk_bench.leaderboard.ci import CI_FILE, check_against, ci_markdown, compare_text, run_ci_leaderboard
from rntk_bench.leaderboard.definitions import (
    DEFINITIONS_FILE,
    RUNS_DIR,
    BoardDefinition,
    Definitions,
    RunDefinition,
    build_run_config,
    load_definitions,
    parse_definitions,
    planned_tasks,
)
from rntk_bench.leaderboard.page import (
    BOARDS_DIR,
    PAGE_FILE,
    SCATTER_FILE,
    BoardOutcome,
    compared_kernels,
    coverage_table,
    published_rows,
    write_board,
    write_leaderboard_page,
)
from rntk_bench.leaderboard.running import Progress, run_leaderboard
from rntk_bench.leaderboard.status import RunStatus, run_status

__all__ = [
    "BOARDS_DIR",
    "CI_FILE",
    "DEFINITIONS_FILE",
    "PAGE_FILE",
    "RUNS_DIR",
    "SCATTER_FILE",
    "BoardDefinition",
    "BoardOutcome",
    "Definitions",
    "Progress",
    "RunDefinition",
    "RunStatus",
    "build_run_config",
    "check_against",
    "ci_markdown",
    "compare_text",
    "compared_kernels",
    "coverage_table",
    "load_definitions",
    "parse_definitions",
    "planned_tasks",
    "published_rows",
    "run_ci_leaderboard",
    "run_leaderboard",
    "run_status",
    "write_board",
    "write_leaderboard_page",
]
