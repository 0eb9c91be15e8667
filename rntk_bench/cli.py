"""The ``rntk-bench`` command line: declares options and calls library functions, nothing more.

Every :class:`~rntk_bench.errors.RntkBenchError` becomes a one-line message on stderr and exit code 1.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import typer

from rntk_bench.cli_datasets import datasets_app
from rntk_bench.errors import RntkBenchError

app = typer.Typer(
    name="rntk-bench",
    help="Benchmark recurrent and fully connected neural tangent kernels on UCI and UCR data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(datasets_app, name="datasets")


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
def run_command() -> None:
    """Benchmark kernels on a suite of datasets (default: the embedded demo suite, all kernels)."""
    kernels_command()


if __name__ == "__main__":  # pragma: no cover
    app()
