"""The datasets commands report errors through rntk_bench.cli_errors, without importing the main CLI."""

from __future__ import annotations

from typer.testing import CliRunner

from rntk_bench.errors import DatasetError


def test_datasets_commands_do_not_import_the_main_cli():
    """cli_datasets takes friendly_errors from cli_errors, so cli.py and cli_datasets.py import no cycle."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from rntk_bench.cli_datasets import datasets_app\n"
        "result = CliRunner().invoke(datasets_app, ['info', 'Cofee'])\n"
        "assert result.exit_code == 1, result.output\n"
        "assert result.output.startswith('error: unknown dataset'), result.output\n"
        "assert 'rntk_bench.cli' not in sys.modules, 'rntk_bench.cli was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_friendly_errors_turns_library_errors_into_exit_1():
    import typer

    from rntk_bench.cli_errors import friendly_errors

    app = typer.Typer()

    @app.command()
    @friendly_errors
    def broken() -> None:
        """Fail on purpose."""
        raise DatasetError("the file is gone")

    result = CliRunner().invoke(app, [])
    assert result.exit_code == 1 and result.output == "error: the file is gone\n"
    assert broken.__doc__ == "Fail on purpose."
