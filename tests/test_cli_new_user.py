"""What a new user meets: bad values refused before any work, failures that fail the command, one writer per
run folder, one-line errors instead of tracebacks, files others can read, and a command line that explains
itself. Each test failed before the behaviour it checks existed."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rntk_bench import cli_progress
from rntk_bench.cli import app
from rntk_bench.config import build_config
from rntk_bench.errors import InvalidParameterError, RunError
from rntk_bench.run_data import PreloadedDatasets
from rntk_bench.run_lock import LOCK_FILE, RunLock
from rntk_bench.runner import run_benchmark

runner = CliRunner()
_SPEC = importlib.util.spec_from_file_location("synthetic", Path(__file__).parent / "data" / "runner" / "synthetic.py")
synthetic = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(synthetic)
SMALL = ["-k", "rbf", "-g", "rbf.C=1", "-g", "rbf.gamma=0.1", "--no-progress", "-j", "1"]


def _huge(dataset, value=1e308):
    X = np.array(dataset.X, dtype=float, copy=True)
    X[2, -1] = value
    return type(dataset)(**{**dataset.__dict__, "X": X})


# ------------------------------------------------------------------------------- wrong results that look right


def test_a_value_whose_square_overflows_gives_error_rows_naming_the_sample_for_every_kernel(tmp_path):
    loader = PreloadedDatasets({"waves": _huge(synthetic.series_dataset())})
    config = build_config(suite="s", datasets=["waves"], kernels=["rntk", "rbf"],
                          grids={"rntk": {"sigma_u": [0.5], "sigma_b": [0.1], "sigma_h": [0.0], "n_layers": [1],
                                          "C": [1.0]}, "rbf": {"C": [1.0]}})
    outcome = run_benchmark(config, tmp_path / "run", loader=loader)
    assert set(outcome.table["status"]) == {"error"} and outcome.n_failed == 2
    for message in outcome.table["error"]:
        assert "sample 2" in message and "too large" in message


def test_a_huge_value_in_a_ucr_file_fails_the_run_with_exit_code_3(tmp_path, shared_datasets):
    source = shared_datasets / "UCRArchive_2018" / "Chinatown"
    target = tmp_path / "data" / "UCRArchive_2018" / "Chinatown"
    shutil.copytree(source, target)
    lines = (target / "Chinatown_TRAIN.tsv").read_text().splitlines()
    fields = lines[4].split("\t")
    fields[5] = "1e308"
    lines[4] = "\t".join(fields)
    (target / "Chinatown_TRAIN.tsv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    arguments = ["run", "--suite", "ucr128", "-d", "Chinatown", "--data-dir", str(tmp_path / "data"), "--out", str(out),
                 *SMALL]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 3, result.output
    assert "1 task(s) failed" in result.output
    table = pd.read_csv(out / "results.csv")
    assert table["status"].tolist() == ["error"] and "sample 4" in table["error"][0]
    accepted = runner.invoke(app, [*arguments[:-len(SMALL)], "--resume", "--accept-failures", *SMALL])
    assert accepted.exit_code == 0, accepted.output


def test_loader_notes_reach_the_results_table(tmp_path):
    dataset = synthetic.series_dataset()
    noted = type(dataset)(**{**dataset.__dict__, "notes": ("3 missing values in 2 of 40 series filled",)})
    config = build_config(suite="s", datasets=["waves"], kernels=["rbf"], grids={"rbf": {"C": [1.0]}})
    outcome = run_benchmark(config, tmp_path / "run", loader=PreloadedDatasets({"waves": noted}))
    assert all(note.startswith("3 missing values in 2 of 40 series filled") for note in outcome.table["notes"])


# ----------------------------------------------------------------------------- runs that fail but report success


@pytest.mark.parametrize(
    "arguments, words",
    [
        (["--seed", "-1"], ["--seed (seed) must be a whole number >= 0; got -1"]),
        (["--cv-folds", "1"], ["--cv-folds (cv_folds) must be a whole number >= 2"]),
        (["--backend", "dask", "--scheduler", "notanaddress"], ["not a scheduler address", "tcp://HOST:PORT"]),
        (["--grid", "ntk.n_layers=1"], ["'ntk'", "does not include"]),
        (["-d", "Cofee"], ["did you mean 'Coffee'"]),
        (["--protocol", "nested"], ["unknown protocol 'nested'", "train-cv-test", "arora-uci"]),
    ],
)
def test_invalid_values_stop_before_any_work_with_one_line(tmp_path, monkeypatch, arguments, words):
    monkeypatch.chdir(tmp_path)
    suite = ["--suite", "ucr128"] if "Cofee" in arguments else ["-d", "iris"]
    result = runner.invoke(app, ["run", *suite, *SMALL, *arguments])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    for word in words:
        assert word in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_run_file_with_a_word_for_a_number_is_one_line_naming_the_file(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('datasets = ["iris"]\ncv_folds = "five"\n')
    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert str(config) in result.output and "cv_folds must be a whole number >= 2; got 'five'" in result.output


def test_a_run_file_takes_every_documented_key(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('suite = "demo"\ndatasets = ["UnitTest"]\nkernels = ["ntk"]\nprotocol = "train-cv-test"\n'
                      'cv_folds = 3\nseed = 1\nsvc_max_iter = 1e6\nskip_missing = false\n'
                      '[grid.ntk]\nn_layers = [1, 2]\nfixed_layers = [0, 1, 2]\nC = [1.0]\n'
                      '[tie.ntk]\nfixed_layers = [0, "n_layers"]\n')
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(out), "--no-progress", "-j", "1"])
    assert result.exit_code == 0, result.output
    recorded = json.loads((out / "run.json").read_text())["config"]
    assert recorded["svc_max_iter"] == 1_000_000 and recorded["protocol"] == "train-cv-test"
    assert recorded["kernels"]["ntk"]["ties"] == {"fixed_layers": [0, "n_layers"]}
    assert pd.read_csv(out / "results.csv")["n_settings"].tolist() == [4]  # (1,0) (1,1) (2,0) (2,2)


def test_an_unreachable_scheduler_stops_the_run_without_a_folder(tmp_path, monkeypatch):
    from rntk_bench import execution

    monkeypatch.setattr(execution, "SCHEDULER_TIMEOUT", "1s")
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "-d", "iris", *SMALL, "--backend", "dask", "--scheduler",
                                 "tcp://127.0.0.1:9", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "cannot reach the dask scheduler" in result.output and "--fail-fast" not in result.output
    assert not out.exists()


def test_a_full_disk_is_one_message_and_the_finished_tasks_stay(tmp_path, monkeypatch):
    from rntk_bench import runner as runner_module

    config = build_config(suite="s", datasets=["waves"], kernels=["rbf"], grids={"rbf": {"C": [1.0]}})
    loader = PreloadedDatasets({"waves": synthetic.series_dataset()})
    real = runner_module.write_task_result
    calls = []

    def full(run_dir, result):
        calls.append(result)
        if len(calls) > 2:
            raise OSError(28, "No space left on device")
        return real(run_dir, result)

    monkeypatch.setattr(runner_module, "write_task_result", full)
    with pytest.raises(RunError, match="No space left on device.*--resume") as info:
        run_benchmark(config, tmp_path / "run", loader=loader)
    assert info.value.__cause__ is None and info.value.__context__ is None or "\n" not in str(info.value)
    session = json.loads((tmp_path / "run" / "run.json").read_text())["sessions"][-1]
    assert session["status"] == "failed" and session["n_run"] == 2
    monkeypatch.setattr(runner_module, "write_task_result", real)
    outcome = run_benchmark(config, tmp_path / "run", resume=True, loader=loader)
    assert outcome.n_skipped == 2 and set(outcome.table["status"]) == {"ok"}


# ------------------------------------------------------------------------------------------------- locking


def _config():
    return build_config(suite="s", datasets=["waves"], kernels=["rbf"], grids={"rbf": {"C": [1.0]}})


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path):
    loader = PreloadedDatasets({"waves": synthetic.series_dataset()})
    run_dir = tmp_path / "run"
    run_benchmark(_config(), run_dir, loader=loader)
    before = (run_dir / "run.json").read_text()
    with RunLock(run_dir, "now"):  # this process holds it, as a running `rntk-bench run` would
        with pytest.raises(RunError, match=f"in use by process {os.getpid()}"):
            run_benchmark(_config(), run_dir, resume=True, loader=loader)
    assert (run_dir / "run.json").read_text() == before and not (run_dir / LOCK_FILE).exists()


def test_a_stale_lock_is_taken_over_and_the_dead_session_is_marked(tmp_path):
    loader = PreloadedDatasets({"waves": synthetic.series_dataset()})
    run_dir = tmp_path / "run"
    run_benchmark(_config(), run_dir, loader=loader)
    info = json.loads((run_dir / "run.json").read_text())
    info["sessions"][-1]["status"] = "running"  # as a SIGKILLed session leaves it
    (run_dir / "run.json").write_text(json.dumps(info))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    (run_dir / LOCK_FILE).write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname()}))
    run_benchmark(_config(), run_dir, resume=True, loader=loader)
    sessions = json.loads((run_dir / "run.json").read_text())["sessions"]
    assert [s["status"] for s in sessions] == ["died", "finished"] and not (run_dir / LOCK_FILE).exists()


# ------------------------------------------------------------------------------------------ files and polish


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_result_files_honour_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        run_benchmark(_config(), tmp_path / "run", loader=PreloadedDatasets({"waves": synthetic.series_dataset()}))
    finally:
        os.umask(previous)
    files = [tmp_path / "run" / "run.json", tmp_path / "run" / "results.csv", *(tmp_path / "run").glob("tasks/*/*")]
    assert {oct(path.stat().st_mode & 0o777) for path in files} == {oct(0o666 & ~umask)}


def test_version_short_help_and_plain_metavars():
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("rntk-bench ")
    help_text = runner.invoke(app, ["run", "-h"]).output
    for bad in ("<bool>", "<list[str]>", "<str>", "<int>"):
        assert bad not in help_text
    assert "--no-embedded" in help_text and "tcp://HOST:PORT" in help_text
    assert "[ci]" in runner.invoke(app, ["leaderboard", "-h"]).output


def test_kernels_lists_choices_and_ranges():
    output = runner.invoke(app, ["kernels"]).output
    assert "one of forward, reversed, bidirectional" in output and "float in [0, inf]" in output
    assert "int in [1, inf]" in output


def test_jobs_minus_one_means_all_cores(tmp_path):
    config = build_config(suite="s", datasets=["waves"], kernels=["rbf"], n_jobs=-1)
    assert config.n_jobs == (os.cpu_count() or 1)
    with pytest.raises(InvalidParameterError, match="-1 for all cores"):
        build_config(suite="s", datasets=["waves"], kernels=["rbf"], n_jobs=0)


def test_report_refuses_a_reference_kernel_the_runs_lack(tmp_path):
    run_benchmark(_config(), tmp_path / "run", loader=PreloadedDatasets({"waves": synthetic.series_dataset()}))
    result = runner.invoke(app, ["report", str(tmp_path / "run"), "--reference", "foo"])
    assert result.exit_code == 1 and "reference kernel 'foo'" in result.output and "choices: rbf" in result.output


def test_a_data_folder_that_is_a_file_is_named_as_such(tmp_path):
    (tmp_path / "data").write_text("x")
    result = runner.invoke(app, ["run", "-d", "iris", "--data-dir", str(tmp_path / "data"), *SMALL])
    assert result.exit_code == 1 and "is a file, not a folder" in result.output


def test_bundled_copies_are_announced_and_no_embedded_refuses_them(tmp_path):
    (tmp_path / "data").mkdir()
    arguments = ["run", "-d", "UnitTest", "--data-dir", str(tmp_path / "data"), *SMALL]
    result = runner.invoke(app, [*arguments, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0 and "read from the copies bundled with sktime" in result.output
    refused = runner.invoke(app, [*arguments, "--no-embedded", "--out", str(tmp_path / "b")])
    assert refused.exit_code == 1 and "missing: UnitTest" in refused.output and not (tmp_path / "b").exists()


def test_a_one_off_compilation_is_announced_before_the_progress_bar(monkeypatch, capsys):
    from rntk_bench.kernels import engine

    calls = []
    monkeypatch.setattr(engine, "is_cached", lambda: False)
    monkeypatch.setattr(engine, "warm_up", lambda: calls.append(1) or 42.0)
    cli_progress.prepare_engine(["rntk"])
    assert "compiling the kernel engine" in capsys.readouterr().err and calls == [1]
    cli_progress.prepare_engine(["rbf"])  # no engine kernel: nothing compiled, nothing said
    assert calls == [1] and capsys.readouterr().err == ""


def test_the_progress_label_shows_what_varies():
    from rntk_bench.runner import _label

    label = _label({"dataset": "GunPoint", "kernel": "rntk", "setting_index": 4, "n_settings": 36,
                    "kernel_id": "rntk[activation=relu,direction=forward,...]"})
    assert label == "GunPoint rntk 5/36"


def test_a_file_that_cannot_be_written_is_a_library_error_naming_it(tmp_path, monkeypatch):
    from rntk_bench import atomic
    from rntk_bench.errors import RntkBenchError, WriteError

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", no_space)
    with pytest.raises(WriteError) as info:
        atomic.atomic_write_text(tmp_path / "table.csv", "a,b\n")
    assert isinstance(info.value, RntkBenchError) and str(info.value) == (
        f"cannot write {tmp_path / 'table.csv'}: No space left on device")
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind
