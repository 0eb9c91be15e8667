"""The ``rntk-bench`` command line: declares options and calls library functions, nothing more.

Exit codes: 0 success; 1 an error stopped the command (``error: ...`` on stderr; a run that cannot start
writes nothing); 2 a usage error (unknown option, wrong type); 3 the run finished but some tasks failed (their
error rows are in the results; ``--accept-failures`` makes it 0); 130 Ctrl-C and 143 SIGTERM (finished tasks
are kept, ``--resume`` continues).
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path
from typing import Annotated

import typer

from rntk_bench.cli_datasets import datasets_app
from rntk_bench.cli_device import leaderboard_device, settle_device
from rntk_bench.cli_errors import friendly_errors
from rntk_bench.cli_progress import ProgressBars, prepare_engine
from rntk_bench.interrupts import Terminated, terminate_as_interrupt

EXIT_TASKS_FAILED = 3

app = typer.Typer(
    name="rntk-bench",
    help="Benchmark recurrent and fully connected neural tangent kernels on UCI and UCR data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich markup would eat bracketed text such as "[ci]"
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(datasets_app, name="datasets")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rntk-bench {importlib.metadata.version('rntk-bench')}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Benchmark recurrent and fully connected neural tangent kernels on UCI and UCR data."""


def _stopped_by(exc: KeyboardInterrupt) -> str:
    return str(exc) if isinstance(exc, Terminated) else "interrupted"


def _exit_code(exc: KeyboardInterrupt) -> int:
    """The shell's code for the signal that stopped us: 130 for Ctrl-C, 143 for SIGTERM."""
    return exc.exit_code if isinstance(exc, Terminated) else 130


PLUGIN_HELP = "Load kernels from this plugin: a .py file or an importable module (repeatable)."
kernels_app = typer.Typer(help="List the registered kernels, or check one against the kernel contract.",
                          invoke_without_command=True, no_args_is_help=False)
app.add_typer(kernels_app, name="kernels")


def _load(plugin: list[str] | None) -> None:
    from rntk_bench.kernels.plugins import load_entry_points, load_plugins

    load_plugins(plugin or [])
    load_entry_points()


@kernels_app.callback()
@friendly_errors
def kernels_command(
    ctx: typer.Context,
    plugin: Annotated[list[str] | None, typer.Option("--plugin", metavar="FILE|MODULE", help=PLUGIN_HELP)] = None,
) -> None:
    """List the registered kernels: origin, parameters, defaults, ranges and choices."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = plugin
        return
    from rntk_bench.kernels import KERNELS

    _load(plugin)
    for spec in KERNELS.values():
        typer.echo(f"{spec.name:8s} {spec.input_kind:8s} {spec.description} [{spec.origin}]")
        for name, param in spec.params.items():
            typer.echo(f"    {name:13s} default {param.default!r:10s} {_range_text(param):26s} {param.doc}")


@kernels_app.command("check")
@friendly_errors
def kernels_check_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="A registered kernel (or one of a plugin).")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", metavar="PARAM=VALUE",
                                                    help="A parameter value to check with; repeatable.")] = None,
    plugin: Annotated[list[str] | None, typer.Option("--plugin", metavar="FILE|MODULE", help=PLUGIN_HELP)] = None,
) -> None:
    """Check a kernel against the kernel contract, one line per property (exit 1 when one fails)."""
    from rntk_bench.errors import InvalidParameterError
    from rntk_bench.grids import parse_value
    from rntk_bench.kernels import get_spec
    from rntk_bench.testing import check_kernel_report

    _load([*(ctx.obj or []), *(plugin or [])])
    get_spec(name)
    params = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidParameterError(f"--param {item!r} must look like PARAM=VALUE")
        params[key.strip()] = parse_value(value)
    results = check_kernel_report(name, **params)
    for result in results:
        mark = "ok  " if result.passed else "FAIL"
        typer.echo(f"{mark} {result.property:24s} {result.detail}")
    failed = [result.property for result in results if not result.passed]
    if failed:
        typer.secho(f"{name}: {len(failed)} of {len(results)} properties fail: {', '.join(failed)}", err=True,
                    fg=typer.colors.RED)
        raise typer.Exit(code=1)
    typer.echo(f"{name}: all {len(results)} properties hold")


def _range_text(param) -> str:
    """The valid values of a kernel parameter, as ``rntk-bench kernels`` prints them."""
    if param.choices:
        text = "one of " + ", ".join(param.choices)
    elif param.low is None and param.high is None:
        text = "any " + param.kind.__name__
    else:
        low = "-inf" if param.low is None else f"{param.low:g}"
        high = "inf" if param.high is None else f"{param.high:g}"
        text = f"{param.kind.__name__} in [{low}, {high}]"
    return text + (" or None" if param.nullable else "")


PROTOCOL_HELP = "Protocol of every dataset: train-cv-test or arora-uci (default: each dataset's own)."


def _warn_openmp_binding() -> None:
    """Say so where OMP_PROC_BIND would pin the whole run to one core (``threads.openmp_binding_note``)."""
    from rntk_bench.threads import openmp_binding_note

    note = openmp_binding_note()
    if note:
        typer.secho(f"warning: {note}", err=True, fg=typer.colors.YELLOW)


@app.command("run")
@friendly_errors
def run_command(
    suite: str = typer.Option(None, "--suite", metavar="SUITE",
                              help="Dataset suite: demo, embedded, uci90, uci121, ucr128, ucr-small (default: "
                                   "demo, or the config file's)."),
    kernel: Annotated[list[str] | None, typer.Option(
        "--kernel", "-k", metavar="NAME", help="Kernel to run; repeat for several (default: rntk, ntk, rbf, "
                                               "poly; `rntk-bench kernels` lists them).")] = None,
    dataset: Annotated[list[str] | None, typer.Option(
        "--dataset", "-d", metavar="NAME", help="Run only this dataset of the suite; repeatable.")] = None,
    grid: Annotated[list[str] | None, typer.Option(
        "--grid", "-g", metavar="KERNEL.PARAM=V1,V2", help="Replace a grid axis (KERNEL.C=... for the C grid); "
                                                          "repeatable.")] = None,
    plugin: Annotated[list[str] | None, typer.Option("--plugin", metavar="FILE|MODULE", help=PLUGIN_HELP)] = None,
    data_dir: str = typer.Option(None, "--data-dir", metavar="DIR", help="Folder holding the UCR/UCI data."),
    embedded: bool = typer.Option(True, "--embedded/--no-embedded",
                                  help="Let the copies bundled with sktime and scikit-learn serve datasets the "
                                       "data folder lacks (default), or read the data folder only."),
    jobs: int = typer.Option(None, "--jobs", "-j", metavar="N", help="Parallel workers (default: all cores; -1: "
                                                                     "all cores, -2: all but one)."),
    backend: str = typer.Option("loky", "--backend", metavar="loky|dask", help="loky (this machine) or dask."),
    scheduler: str = typer.Option(None, "--scheduler", metavar="tcp://HOST:PORT",
                                  help="dask scheduler address (default with --backend dask: a local cluster)."),
    out: str = typer.Option(None, "--out", "-o", metavar="DIR", help="Run folder (default: runs/<suite>-<UTC "
                                                                     "time>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out, skipping finished tasks."),
    add_predictions: bool = typer.Option(False, "--add-predictions", help="With --resume: also run again the "
                                         "finished tasks whose files have no stored predictions (older files)."),
    for_vote: bool = typer.Option(False, "--for-vote", help="With --add-predictions: only the tasks a vote reads "
                                  "(a (setting, C) tied at the best selection score)."),
    retry_failed: bool = typer.Option(True, "--retry-failed/--keep-failed", help="With --resume: run failed tasks "
                                      "again (default), or keep their files (failures that would only repeat)."),
    config: str = typer.Option(None, "--config", metavar="FILE.toml", help="Run TOML file (suite, datasets, "
                               "kernels, grid, tie, protocol, cv_folds, seed, svc_max_iter, skip_missing)."),
    protocol: str = typer.Option(None, "--protocol", metavar="NAME", help=PROTOCOL_HELP),
    series_scaling: str = typer.Option(None, "--series-scaling", metavar="train-norm|none", help="How the RNTK "
                                       "reads series: divided by the largest training norm (default) or as "
                                       "distributed."),
    approx: str = typer.Option(None, "--approx", metavar="METHOD:m=M[,above=N]", help="Fit linear SVMs on "
                               "approximate kernel features instead of exact Gram matrices: nystroem:m=M"
                               "[,sampling=uniform|kmeans|leverage] (any kernel) or ntk-features:m=M (the ntk); "
                               "above=N keeps datasets of at most N rows exact."),
    cv_folds: int = typer.Option(None, "--cv-folds", metavar="K", help="Cross-validation folds on training "
                                                                       "splits (5)."),
    seed: int = typer.Option(None, "--seed", metavar="N", help="Seed of the fold shuffling (0)."),
    svc_max_iter: int = typer.Option(None, "--svc-max-iter", metavar="N", help="Iteration cap of every SVM fit "
                                     "(10000000); fits that reach it are counted in the results."),
    cache_dir: str = typer.Option(None, "--cache-dir", metavar="DIR", help="Cache Gram matrices on disk here."),
    distribute_above: int = typer.Option(None, "--distribute-above", metavar="N", help="With --backend dask: "
                                         "Gram matrices of more rows than N are computed as tiles across the "
                                         "cluster (5000; 0: never)."),
    device: str = typer.Option(None, "--device", metavar="numba|auto|cpu|gpu[:N]", help="Where RNTK and NTK Gram "
                               "matrices are computed: numba (the CPU engine, default), gpu (JAX, pip install "
                               "'rntk-bench[gpu]'), cpu (JAX on the CPU), auto (a GPU if there is one)."),
    fail_fast: bool = typer.Option(False, "--fail-fast", help="Stop at the first failing task."),
    accept_failures: bool = typer.Option(False, "--accept-failures", help="Exit 0 even when some tasks failed "
                                         "(default: exit 3)."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Leave out datasets whose files are "
                                      "missing instead of refusing to start."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Benchmark kernels on a suite of datasets (default: the embedded demo suite, all kernels)."""
    _warn_openmp_binding()
    from rntk_bench.config import build_config, load_toml, parse_grid_options
    from rntk_bench.data import get_suite
    from rntk_bench.data.locations import check_data_dir
    from rntk_bench.errors import RunError
    from rntk_bench.report import summary_text, write_report
    from rntk_bench.run_data import bundled_datasets
    from rntk_bench.run_folder import default_run_dir
    from rntk_bench.runner import run_benchmark

    file = load_toml(config) if config else {}
    suite_name = suite or file.get("suite") or "demo"
    chosen = get_suite(suite_name)
    if data_dir is not None:
        check_data_dir(data_dir)
    run_config = build_config(
        suite=suite_name, suite_datasets=[entry.name for entry in chosen.entries], datasets=dataset or None,
        kernels=kernel or None, grids=parse_grid_options(grid or []), plugins=plugin, file=file, source=config,
        data_dir=data_dir, n_jobs=(os.cpu_count() or 1) if jobs is None else jobs, backend=backend,
        scheduler=scheduler, cache_dir=cache_dir, fail_fast=fail_fast, skip_missing=skip_missing,
        embedded=embedded, protocol=protocol, cv_folds=cv_folds, seed=seed, svc_max_iter=svc_max_iter,
        series_scaling=series_scaling, approx=approx, device=device, distribute_above=distribute_above,
    )
    run_config = settle_device(run_config)
    if resume and not out:
        raise RunError("--resume needs --out: the run folder to continue")
    if add_predictions and not resume:
        raise RunError("--add-predictions completes an existing run: use it with --resume --out RUN_DIR")
    if for_vote and not add_predictions:
        raise RunError("--for-vote narrows --add-predictions: use them together")
    if not retry_failed and not resume:
        raise RunError("--keep-failed keeps the failed tasks of an existing run: use it with --resume --out RUN_DIR")
    run_dir = Path(out) if out else default_run_dir(suite_name)
    if data_dir is not None and embedded:
        bundled = bundled_datasets(run_config.datasets, data_dir)
        if bundled:
            typer.secho(f"note: {len(bundled)} dataset(s) are not in {data_dir} and are read from the copies "
                        f"bundled with sktime/scikit-learn: {', '.join(bundled)} (--no-embedded reads the data "
                        "folder only)", err=True, fg=typer.colors.YELLOW)

    bars = ProgressBars(enabled=progress)
    try:
        with terminate_as_interrupt():
            prepare_engine(run_config.kernel_names, bars)
            outcome = run_benchmark(run_config, run_dir, resume=resume,
                                    progress=bars.callback(suite_name) if progress else None,
                                    add_predictions="vote" if for_vote else add_predictions,
                                    retry_failed=retry_failed)
    except KeyboardInterrupt as exc:
        bars.close()
        typer.secho(f"{_stopped_by(exc)}: finished tasks are saved; continue with `rntk-bench run --resume --out "
                    f"{run_dir}` and the same options", err=True, fg=typer.colors.YELLOW)
        raise typer.Exit(code=_exit_code(exc)) from None
    finally:
        bars.close()
    typer.echo(f"{outcome.n_run} tasks run, {outcome.n_skipped} already done, {outcome.n_failed} failed, "
               f"in {outcome.seconds:.0f} s")
    report = write_report([outcome.run_dir])
    typer.echo("")
    typer.echo(summary_text(report.board))
    typer.echo("")
    typer.echo(f"results:     {outcome.run_dir / 'results.csv'}")
    typer.echo(f"leaderboard: {report.files[0]}")
    typer.echo(f"run folder:  {outcome.run_dir}")
    if outcome.n_failed and not accept_failures:
        typer.secho(f"{outcome.n_failed} task(s) failed: see the error rows in {outcome.run_dir / 'results.csv'} "
                    "(exit code 3; --accept-failures exits 0)", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=EXIT_TASKS_FAILED)


@app.command("report")
@friendly_errors
def report_command(
    run_dirs: Annotated[list[str], typer.Argument(metavar="RUN_DIR...", help="Run folder(s); several are merged "
                                                                              "into one leaderboard.")],
    out: str = typer.Option(None, "--out", "-o", metavar="DIR", help="Where to write (default: the run folder; "
                                                                     "required for several)."),
    reference: str = typer.Option(None, "--reference", metavar="KERNEL", help="Kernel for the "
                                  "wins/ties/losses columns, one of the runs' kernels (default: rntk)."),
    alpha: float = typer.Option(0.05, "--alpha", metavar="A", help="Significance level of the Holm-corrected "
                                                                   "tests."),
    metric: str = typer.Option("accuracy", "--metric", metavar="NAME", help="Rank kernels by accuracy, "
                               "balanced_accuracy or macro_f1 (computed from the stored predictions)."),
    selection: str = typer.Option("first-best", "--selection", metavar="RULE", help="Selection rule: first-best "
                                  "(the protocol's) or vote (the follow-up's majority vote over tied settings)."),
    field: Annotated[list[str] | None, typer.Option(
        "--field", metavar="CLASSIFIER", help="Place the kernels among this published classifier (UCR; e.g. "
                                              "ROCKET, HC2, '1NN-DTW-learned (archive)'); repeatable.")] = None,
    plugin: Annotated[list[str] | None, typer.Option("--plugin", metavar="FILE|MODULE", help=PLUGIN_HELP)] = None,
) -> None:
    """Write leaderboard.md, per-dataset and summary CSVs and a critical-difference diagram."""
    from rntk_bench.errors import InvalidParameterError

    _load(plugin)
    from rntk_bench.metrics import check_metric
    from rntk_bench.report import summary_text, write_report
    from rntk_bench.statistics import REFERENCE

    if not 0 < alpha < 1:
        raise InvalidParameterError(f"--alpha must lie in (0, 1); got {alpha}")
    report = write_report(run_dirs, out, reference=reference or REFERENCE, alpha=alpha,
                          strict_reference=reference is not None, metric=check_metric(metric), field=field or (),
                          selection=selection)
    typer.echo(summary_text(report.board, reference or REFERENCE))
    typer.echo("")
    for path in report.files:
        typer.echo(f"wrote {path}")


@app.command("export")
@friendly_errors
def export_command(
    run_dir: Annotated[str, typer.Argument(metavar="RUN_DIR", help="A run folder (with stored predictions).")],
    out: Annotated[str, typer.Argument(metavar="OUT", help="Folder of the exported results.")],
    format: str = typer.Option("tsml", "--format", metavar="FORMAT", help="Results format: tsml (tsml-eval / "
                                                                          "aeon results files)."),
    name: Annotated[list[str] | None, typer.Option("--name", metavar="KERNEL=ESTIMATOR", help="Estimator name "
                                                   "of a kernel (default: e.g. RNTK-SVM); repeatable.")] = None,
    overwrite: bool = typer.Option(False, "--overwrite", help="Write into OUT even when it holds files."),
) -> None:
    """Write a run's selected test predictions in another format (tsml: OUT/<Estimator>/Predictions/...)."""
    from rntk_bench.errors import InvalidParameterError
    from rntk_bench.export_tsml import export_tsml

    if format != "tsml":
        raise InvalidParameterError(f"unknown format {format!r}; formats: tsml")
    names = {}
    for item in name or []:
        kernel, sep, estimator = item.partition("=")
        if not sep or not kernel or not estimator:
            raise InvalidParameterError(f"--name {item!r} must look like KERNEL=ESTIMATOR")
        names[kernel] = estimator
    files = export_tsml(run_dir, out, estimator_names=names or None, overwrite=overwrite)
    typer.echo(f"wrote {len(files)} results files under {out}")


@app.command("leaderboard")
@friendly_errors
def leaderboard_command(
    only: Annotated[list[str] | None, typer.Option(
        "--only", metavar="RUN", help="Run only this defined run (repeatable); the page is rebuilt from every "
                                      "run.")] = None,
    data_dir: str = typer.Option(None, "--data-dir", metavar="DIR", help="Folder holding the UCR/UCI data "
                                 "(default: RNTK_BENCH_DATA, then the user cache)."),
    jobs: int = typer.Option(None, "--jobs", "-j", metavar="N", help="Parallel workers (default: all cores; -1: "
                                                                     "all cores)."),
    definitions: str = typer.Option("results/leaderboard.toml", "--definitions", metavar="FILE.toml",
                                    help="The runs and boards."),
    results: str = typer.Option("results", "--results", metavar="DIR", help="Folder of runs/, boards/ and the "
                                                                             "pages."),
    report_only: bool = typer.Option(False, "--report-only", help="Rebuild leaderboard.md from the task "
                                     "files already there; run nothing."),
    ci: bool = typer.Option(False, "--ci", help="Run the small [ci] leaderboard from scratch and write "
                            "RESULTS/ci-leaderboard.md."),
    check: str = typer.Option(None, "--check", metavar="FILE", help="With --ci: compare with this file instead "
                              "of writing; exit 1 with a diff when they differ."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    add_predictions: bool = typer.Option(False, "--add-predictions", help="Also run again the finished tasks "
                                         "whose files have no stored predictions (older files); their scores "
                                         "are checked against the old ones."),
    for_vote: bool = typer.Option(False, "--for-vote", help="With --add-predictions: only the tasks a vote reads "
                                  "(a (setting, C) tied at the best selection score; far fewer on large grids)."),
    retry_failed: bool = typer.Option(True, "--retry-failed/--keep-failed", help="Run the failed tasks of existing "
                                      "runs again (default), or keep their files (failures that would only repeat)."),
    plugin: Annotated[list[str] | None, typer.Option("--plugin", metavar="FILE|MODULE", help=PLUGIN_HELP
                                                     + " Every run of the definitions records it.")] = None,
    device: str = typer.Option(None, "--device", metavar="numba|auto|cpu|gpu[:N]", help="Where RNTK and NTK "
                               "Gram matrices are computed (as for `run`; default numba)."),
) -> None:
    """Run the published leaderboard (resumably) and write results/leaderboard.md."""
    _warn_openmp_binding()
    from rntk_bench import leaderboard as lb
    from rntk_bench.atomic import atomic_write_text
    from rntk_bench.data.locations import check_data_dir
    from rntk_bench.errors import RunError
    from rntk_bench.schema import check_value, resolve_jobs

    if data_dir is not None:
        check_data_dir(data_dir)
    if check and not ci:
        raise RunError("--check compares the CI leaderboard: use it with --ci")
    if for_vote and not add_predictions:
        raise RunError("--for-vote narrows --add-predictions: use them together")
    n_jobs = (os.cpu_count() or 1) if jobs is None else resolve_jobs(check_value("n_jobs", jobs))
    device, n_jobs = leaderboard_device(device, n_jobs)
    defs = lb.load_definitions(definitions, plugins=plugin or ())
    bars = ProgressBars(enabled=progress)
    try:
        with terminate_as_interrupt():
            if ci or not report_only:
                kernels = {k for d in [*defs.runs.values(), defs.ci] if d for k in lb.build_run_config(d).kernel_names}
                prepare_engine(sorted(kernels), bars)
            if ci:
                page = lb.run_ci_leaderboard(defs, data_dir=data_dir, n_jobs=n_jobs,
                                             progress=bars.named_callback() if progress else None)
                if check:
                    lb.check_against(check, page)
                    typer.echo(f"CI leaderboard matches {check}")
                else:
                    atomic_write_text(Path(results) / lb.CI_FILE, page)
                    typer.echo(f"wrote {Path(results) / lb.CI_FILE}")
                return
            if not report_only:
                lb.run_leaderboard(defs, results, only=only or None, data_dir=data_dir, n_jobs=n_jobs, device=device,
                                   progress=bars.named_callback() if progress else None,
                                   add_predictions="vote" if for_vote else add_predictions,
                                   retry_failed=retry_failed,
                                   after_each=lambda _name: lb.write_leaderboard_page(defs, results))
    except KeyboardInterrupt as exc:
        bars.close()
        typer.secho(f"{_stopped_by(exc)}: finished tasks are saved under {Path(results) / 'runs'}; the same "
                    "command continues them", err=True, fg=typer.colors.YELLOW)
        raise typer.Exit(code=_exit_code(exc)) from None
    finally:
        bars.close()
    typer.echo(f"wrote {lb.write_leaderboard_page(defs, results)}")


if __name__ == "__main__":  # pragma: no cover
    app()
