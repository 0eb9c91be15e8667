"""The ``rntk-bench`` command line: declares options and calls library functions, nothing more.

Every :class:`~rntk_bench.errors.RntkBenchError` becomes a one-line message on stderr and exit code 1.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated

import typer

from rntk_bench.cli_datasets import datasets_app
from rntk_bench.errors import RntkBenchError
from rntk_bench.interrupts import Terminated, terminate_as_interrupt

app = typer.Typer(
    name="rntk-bench",
    help="Benchmark recurrent and fully connected neural tangent kernels on UCI and UCR data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(datasets_app, name="datasets")


def _stopped_by(exc: KeyboardInterrupt) -> str:
    return str(exc) if isinstance(exc, Terminated) else "interrupted"


def _exit_code(exc: KeyboardInterrupt) -> int:
    """The shell's code for the signal that stopped us: 130 for Ctrl-C, 143 for SIGTERM."""
    return exc.exit_code if isinstance(exc, Terminated) else 130


def friendly_errors(command: Callable) -> Callable:
    """Turn library errors into a clear message and exit code 1 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except RntkBenchError as exc:
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(code=1) from None

    return wrapper


@app.command("kernels")
@friendly_errors
def kernels_command() -> None:
    """List the registered kernels with their parameters and defaults."""
    from rntk_bench.kernels import KERNELS

    for spec in KERNELS.values():
        typer.echo(f"{spec.name:8s} {spec.input_kind:8s} {spec.description}")
        for name, param in spec.params.items():
            typer.echo(f"    {name:13s} default {param.default!r:10s} {param.doc}")


@app.command("run")
@friendly_errors
def run_command(
    suite: str = typer.Option(None, "--suite", help="Dataset suite (default: demo, or the config file's)."),
    kernel: Annotated[list[str] | None, typer.Option(
        "--kernel", "-k", help="Kernel to run; repeat for several (default: rntk, ntk, rbf, poly).")] = None,
    dataset: Annotated[list[str] | None, typer.Option(
        "--dataset", "-d", help="Run only this dataset of the suite; repeatable.")] = None,
    grid: Annotated[list[str] | None, typer.Option(
        "--grid", "-g", help="Replace a grid axis: KERNEL.PARAM=V1,V2 (KERNEL.C=... for the C grid); "
        "repeatable.")] = None,
    data_dir: str = typer.Option(None, "--data-dir", help="Folder holding the UCR/UCI data."),
    jobs: int = typer.Option(None, "--jobs", "-j", help="Parallel workers (default: all cores)."),
    backend: str = typer.Option("loky", "--backend", help="loky (this machine) or dask."),
    scheduler: str = typer.Option(None, "--scheduler", help="dask scheduler address tcp://HOST:PORT "
                                  "(default with --backend dask: a local cluster)."),
    out: str = typer.Option(None, "--out", "-o", help="Run folder (default: runs/<suite>-<UTC time>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out, skipping finished tasks."),
    config: str = typer.Option(None, "--config", help="TOML file with suite, datasets, kernels and grids."),
    cv_folds: int = typer.Option(None, "--cv-folds", help="Cross-validation folds on training splits (5)."),
    seed: int = typer.Option(None, "--seed", help="Seed of the fold shuffling (0)."),
    svc_max_iter: int = typer.Option(None, "--svc-max-iter", help="Iteration cap of every SVM fit (10000000); "
                                     "fits that reach it are counted in the results."),
    cache_dir: str = typer.Option(None, "--cache-dir", help="Cache Gram matrices on disk in this folder."),
    fail_fast: bool = typer.Option(False, "--fail-fast", help="Stop at the first failing task."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Leave out datasets whose files are "
                                      "missing instead of refusing to start."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Benchmark kernels on a suite of datasets (default: the embedded demo suite, all kernels)."""
    import os
    from pathlib import Path

    from rntk_bench.config import build_config, load_toml, parse_grid_options
    from rntk_bench.data import get_suite
    from rntk_bench.errors import RunError
    from rntk_bench.report import summary_text, write_report
    from rntk_bench.runner import default_run_dir, run_benchmark

    file = load_toml(config) if config else {}
    suite_name = suite or file.get("suite") or "demo"
    chosen = get_suite(suite_name)
    if data_dir is not None and not Path(data_dir).is_dir():
        raise RunError(f"data folder {data_dir!r} does not exist")
    run_config = build_config(
        suite=suite_name, suite_datasets=[entry.name for entry in chosen.entries], datasets=dataset or None,
        kernels=kernel or None, grids=parse_grid_options(grid or []), file=file, data_dir=data_dir,
        n_jobs=(os.cpu_count() or 1) if jobs is None else jobs, backend=backend, scheduler=scheduler,
        cache_dir=cache_dir, fail_fast=fail_fast, skip_missing=skip_missing, cv_folds=cv_folds, seed=seed,
        svc_max_iter=svc_max_iter,
    )
    if resume and not out:
        raise RunError("--resume needs --out: the run folder to continue")
    run_dir = Path(out) if out else default_run_dir(suite_name)

    bar = None

    def show(done: int, total: int, label: str) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, initial=done, unit="task", desc=suite_name, dynamic_ncols=True)
        else:
            bar.update(done - bar.n)
            bar.set_postfix_str(label[:60], refresh=True)

    try:
        with terminate_as_interrupt():
            outcome = run_benchmark(run_config, run_dir, resume=resume, progress=show if progress else None)
    except KeyboardInterrupt as exc:
        if bar is not None:
            bar.close()
        typer.secho(f"{_stopped_by(exc)}: finished tasks are saved; continue with `rntk-bench run --resume --out "
                    f"{run_dir}` and the same options", err=True, fg=typer.colors.YELLOW)
        raise typer.Exit(code=_exit_code(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    typer.echo(f"{outcome.n_run} tasks run, {outcome.n_skipped} already done, {outcome.n_failed} failed, "
               f"in {outcome.seconds:.0f} s")
    report = write_report([outcome.run_dir])
    typer.echo("")
    typer.echo(summary_text(report.board))
    typer.echo("")
    typer.echo(f"results:     {outcome.run_dir / 'results.csv'}")
    typer.echo(f"leaderboard: {report.files[0]}")
    typer.echo(f"run folder:  {outcome.run_dir}")


@app.command("report")
@friendly_errors
def report_command(
    run_dirs: Annotated[list[str], typer.Argument(help="Run folder(s); several are merged into one leaderboard.")],
    out: str = typer.Option(None, "--out", "-o", help="Where to write (default: the run folder; required "
                            "for several)."),
    reference: str = typer.Option("rntk", "--reference", help="Kernel for the wins/ties/losses columns."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the Holm-corrected tests."),
) -> None:
    """Write leaderboard.md, per-dataset and summary CSVs and a critical-difference diagram."""
    from rntk_bench.errors import InvalidParameterError
    from rntk_bench.report import summary_text, write_report

    if not 0 < alpha < 1:
        raise InvalidParameterError(f"--alpha must lie in (0, 1); got {alpha}")
    report = write_report(run_dirs, out, reference=reference, alpha=alpha)
    typer.echo(summary_text(report.board, reference))
    typer.echo("")
    for path in report.files:
        typer.echo(f"wrote {path}")


@app.command("leaderboard")
@friendly_errors
def leaderboard_command(
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Run only this defined run (repeatable); the page is rebuilt from every run.")] = None,
    data_dir: str = typer.Option(None, "--data-dir", help="Folder holding the UCR/UCI data (default: "
                                 "RNTK_BENCH_DATA, then the user cache)."),
    jobs: int = typer.Option(None, "--jobs", "-j", help="Parallel workers (default: all cores)."),
    definitions: str = typer.Option("results/leaderboard.toml", "--definitions", help="The runs and boards."),
    results: str = typer.Option("results", "--results", help="Folder of runs/, boards/ and the pages."),
    report_only: bool = typer.Option(False, "--report-only", help="Rebuild leaderboard.md from the task "
                                     "files already there; run nothing."),
    ci: bool = typer.Option(False, "--ci", help="Run the small [ci] leaderboard from scratch and write "
                            "RESULTS/ci-leaderboard.md."),
    check: str = typer.Option(None, "--check", help="With --ci: compare with this file instead of writing; "
                              "exit 1 with a diff when they differ."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Run the published leaderboard (resumably) and write results/leaderboard.md."""
    import os
    from pathlib import Path

    from rntk_bench import leaderboard as lb
    from rntk_bench.errors import RunError
    from rntk_bench.results import atomic_write_text

    if data_dir is not None and not Path(data_dir).is_dir():
        raise RunError(f"data folder {data_dir!r} does not exist")
    if check and not ci:
        raise RunError("--check compares the CI leaderboard: use it with --ci")
    n_jobs = (os.cpu_count() or 1) if jobs is None else jobs
    defs = lb.load_definitions(definitions)
    bars: dict[str, object] = {}

    def show(name: str, done: int, total: int, label: str) -> None:
        from tqdm import tqdm

        bar = bars.get(name)
        if bar is None:
            bars[name] = tqdm(total=total, initial=done, unit="task", desc=name, dynamic_ncols=True)
        else:
            bar.update(done - bar.n)
            bar.set_postfix_str(label[:60], refresh=True)

    callback = show if progress else None
    try:
        with terminate_as_interrupt():
            if ci:
                page = lb.run_ci_leaderboard(defs, data_dir=data_dir, n_jobs=n_jobs, progress=callback)
                if check:
                    lb.check_against(check, page)
                    typer.echo(f"CI leaderboard matches {check}")
                else:
                    atomic_write_text(Path(results) / lb.CI_FILE, page)
                    typer.echo(f"wrote {Path(results) / lb.CI_FILE}")
                return
            if not report_only:
                lb.run_leaderboard(defs, results, only=only or None, data_dir=data_dir, n_jobs=n_jobs,
                                   progress=callback,
                                   after_each=lambda _name: lb.write_leaderboard_page(defs, results))
    except KeyboardInterrupt as exc:
        for bar in bars.values():
            bar.close()
        typer.secho(f"{_stopped_by(exc)}: finished tasks are saved under {Path(results) / 'runs'}; the same "
                    "command continues them", err=True, fg=typer.colors.YELLOW)
        raise typer.Exit(code=_exit_code(exc)) from None
    finally:
        for bar in bars.values():
            bar.close()
    typer.echo(f"wrote {lb.write_leaderboard_page(defs, results)}")


if __name__ == "__main__":  # pragma: no cover
    app()
