"""How the command line reports library errors: :func:`friendly_errors`, shared by every command module.

A module of its own so that ``cli.py`` and ``cli_datasets.py`` both import it without importing each other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import typer

from rntk_bench.errors import RntkBenchError


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
