"""``rntk-bench datasets ...``: list, inspect, fetch and verify datasets."""

from __future__ import annotations

import typer

datasets_app = typer.Typer(help="List, inspect, fetch and verify datasets.", no_args_is_help=True)
