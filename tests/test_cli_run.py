"""``rntk-bench run`` and ``rntk-bench report`` through typer's CliRunner: the demo end to end, bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from rntk_bench.cli import app

runner = CliRunner()
NARROW = ["--grid", "rntk.sigma_b=0.1", "--grid", "rntk.sigma_h=0"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The demo suite on two small datasets with all four default kernels, default grids but a narrower rntk one
    (6 of 36 settings, to keep the fast tier fast; `make run` runs the full grids)."""
    out = tmp_path_factory.mktemp("cli") / "demo"
    result = runner.invoke(app, ["run", "-d", "UnitTest", "-d", "iris", *NARROW, "--out", str(out), "--jobs", "2",
                                 "--no-progress"])
    return out, result


def test_the_demo_subset_runs_end_to_end_and_prints_the_leaderboard(demo_run):
    out, result = demo_run
    assert result.exit_code == 0, result.output
    for word in ("kernel", "rntk", "ntk", "rbf", "poly", "Friedman", "leaderboard:", str(out / "results.csv")):
        assert word in result.output
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 8 and set(table["status"]) == {"ok"}
    assert list(table["dataset"].unique()) == ["UnitTest", "iris"]
    assert list(table["kernel"].unique()) == ["rntk", "ntk", "rbf", "poly"]
    assert table.set_index("kernel").loc["ntk", "n_settings"].tolist() == [15, 15]
    assert table.set_index("kernel").loc["rntk", "n_settings"].tolist() == [6, 6]
    assert table["test_accuracy"].between(0, 1).all() and table["cv_accuracy"].between(0, 1).all()
    info = json.loads((out / "run.json").read_text())
    assert info["config"]["suite"] == "demo" and info["config"]["datasets"] == ["UnitTest", "iris"]
    assert info["sessions"][0]["execution"]["n_jobs"] == 2 and info["finished"]
    for name in ("leaderboard.md", "per_dataset.csv", "summary.csv", "pairwise.csv", "critical_difference.png"):
        assert (out / name).exists(), name
    assert len(list((out / "tasks").glob("*/*.json"))) == 2 * (6 + 15 + 13 + 6)


def test_resume_of_a_finished_run_runs_nothing(demo_run):
    out, _ = demo_run
    result = runner.invoke(app, ["run", "-d", "UnitTest", "-d", "iris", *NARROW, "--out", str(out), "--resume",
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "0 tasks run, 80 already done" in result.output


def test_keep_failed_needs_a_run_to_resume(demo_run):
    out, _ = demo_run
    result = runner.invoke(app, ["run", "-d", "UnitTest", "--keep-failed"])
    assert result.exit_code == 1 and "--keep-failed keeps the failed tasks of an existing run" in result.output
    result = runner.invoke(app, ["run", "-d", "UnitTest", "-d", "iris", *NARROW, "--out", str(out), "--resume",
                                 "--keep-failed", "--no-progress"])
    assert result.exit_code == 0 and "0 tasks run, 80 already done" in result.output


def test_report_command_rewrites_and_merges(demo_run, tmp_path):
    out, _ = demo_run
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out / 'leaderboard.md'}" in result.output
    result = runner.invoke(app, ["report", str(out), str(out)])
    assert result.exit_code == 1 and "--out" in result.output
    result = runner.invoke(app, ["report", str(out), str(out), "--out", str(tmp_path / "merged")])
    assert result.exit_code == 0 and (tmp_path / "merged" / "leaderboard.md").exists()


@pytest.mark.parametrize(
    "arguments, words",
    [
        (["--kernel", "gp"], ["unknown kernel 'gp'", "rntk", "ntk", "rbf", "poly", "linear"]),
        (["--suite", "nope"], ["nope", "demo", "uci90", "ucr128"]),
        (["--grid", "rntk.sigma_z=1"], ["unknown parameter 'sigma_z'", "sigma_u"]),
        (["--grid", "rntk.sigma_u=-0.5"], ["sigma_u", "must lie in"]),
        (["--grid", "ntk.n_layers=1.5"], ["n_layers", "integer"]),
        (["--grid", "rbf"], ["KERNEL.PARAM=V1,V2"]),
        (["--dataset", "GunPointX"], ["'GunPointX' not in suite 'demo'", "GunPoint"]),
        (["--data-dir", "/no/such/folder"], ["data folder", "does not exist"]),
        (["--resume"], ["--resume needs --out"]),
        (["--backend", "spark"], ["unknown backend 'spark'", "loky, dask"]),
        (["--jobs", "0"], ["--jobs (n_jobs) must be a whole number of workers"]),
    ],
)
def test_bad_input_exits_1_with_a_message_and_writes_nothing(tmp_path, monkeypatch, arguments, words):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", *arguments])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ") and "Traceback" not in result.output
    for word in words:
        assert word in result.output
    assert list(tmp_path.iterdir()) == []


def test_unusable_output_folders_are_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    result = runner.invoke(app, ["run", "-d", "iris", "-k", "rbf", "--out", str(tmp_path / "file" / "run")])
    assert result.exit_code == 1 and "not writable" in result.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    result = runner.invoke(app, ["run", "-d", "iris", "-k", "rbf", "--out", str(tmp_path / "full")])
    assert result.exit_code == 1 and "not empty; pass --resume" in result.output
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]


def test_resume_with_a_different_grid_is_refused(tmp_path):
    out = tmp_path / "run"
    first = runner.invoke(app, ["run", "-d", "iris", "-k", "rbf", "-g", "rbf.C=1", "--out", str(out), "--no-progress",
                                "-j", "1"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["run", "-d", "iris", "-k", "rbf", "-g", "rbf.C=1,10", "--out", str(out), "--resume"])
    assert second.exit_code == 1
    assert "different configuration" in second.output and "kernels.rbf.C" in second.output


def test_a_config_file_drives_the_run(tmp_path):
    config = tmp_path / "bench.toml"
    config.write_text('datasets = ["wine"]\nkernels = ["poly"]\n[grid.poly]\ndegree = [2]\ncoef0 = [1.0]\nC = [1.0]\n')
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(out), "--no-progress", "-j", "1"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "results.csv")
    assert table[["dataset", "kernel", "C"]].values.tolist() == [["wine", "poly", 1.0]]
    assert table["n_settings"].tolist() == [1]
    bad = tmp_path / "bad.toml"
    bad.write_text('kernels = ["rntk"]\n[grid.rntk]\nsigma_x = [1]\n')
    result = runner.invoke(app, ["run", "--config", str(bad), "--out", str(tmp_path / "bad")])
    assert result.exit_code == 1 and "unknown parameter 'sigma_x'" in result.output
    assert not (tmp_path / "bad").exists()
