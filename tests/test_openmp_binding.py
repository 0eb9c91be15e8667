"""``OMP_PROC_BIND`` pins a process's main thread to one CPU when an OpenMP runtime starts: the note that says so."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from rntk_bench.cli import app
from rntk_bench.threads import openmp_binding_note


@pytest.mark.parametrize("value", ["true", "TRUE", "spread", "close", "master", "primary"])
def test_a_binding_setting_on_several_cpus_gets_a_note_naming_it_and_the_remedy(value):
    note = openmp_binding_note({"OMP_PROC_BIND": value}, cpu_count=8)
    assert note is not None
    assert f"OMP_PROC_BIND={value}" in note and "one core" in note and "Unset OMP_PROC_BIND" in note


@pytest.mark.parametrize("environ", [{}, {"OMP_PROC_BIND": ""}, {"OMP_PROC_BIND": "false"},
                                     {"OMP_PROC_BIND": " False "}])
def test_no_binding_no_note(environ):
    assert openmp_binding_note(environ, cpu_count=8) is None


def test_one_cpu_has_nothing_to_lose():
    assert openmp_binding_note({"OMP_PROC_BIND": "true"}, cpu_count=1) is None


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2 if hasattr(os, "sched_getaffinity") else True,
                    reason="needs a process that may run on two CPUs or more")
def test_what_the_note_is_about_importing_scikit_learn_pins_the_main_thread():
    """The effect itself, in a fresh process: with OMP_PROC_BIND=true, scikit-learn's OpenMP runtime pins the
    main thread to one CPU when it is imported (without it, the thread keeps every CPU it had)."""
    script = ("import os; before = len(os.sched_getaffinity(0)); import sklearn; "
              "print(before, len(os.sched_getaffinity(0)))")
    counts = {}
    for value in ("true", "false"):
        environ = {**os.environ, "OMP_PROC_BIND": value}
        out = subprocess.run([sys.executable, "-c", script], env=environ, capture_output=True, text=True, check=True)
        counts[value] = [int(word) for word in out.stdout.split()]
    assert counts["true"][0] >= 2 and counts["true"][1] == 1
    assert counts["false"][1] == counts["false"][0] >= 2


def test_run_and_leaderboard_warn_before_anything_else(monkeypatch):
    monkeypatch.setenv("OMP_PROC_BIND", "true")
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    runner = CliRunner()
    # both stop at once on a refused combination of options, after the warning
    for arguments in (["run", "-d", "UnitTest", "--keep-failed"], ["leaderboard", "--check", "leaderboard.md"]):
        result = runner.invoke(app, arguments)
        assert result.exit_code != 0
        assert "warning: OMP_PROC_BIND=true is set" in result.output, arguments
    monkeypatch.setenv("OMP_PROC_BIND", "false")
    result = runner.invoke(app, ["run", "-d", "UnitTest", "--keep-failed"])
    assert "OMP_PROC_BIND" not in result.output


def test_the_speed_benchmark_warns_too(monkeypatch, capsys):
    import benchmarks.__main__ as bench

    monkeypatch.setenv("OMP_PROC_BIND", "spread")
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    ran = []
    monkeypatch.setattr(bench, "run", lambda *arguments: ran.append(arguments))
    bench.main(["--jobs", "1"])
    assert "warning: OMP_PROC_BIND=spread is set" in capsys.readouterr().out and len(ran) == 1
