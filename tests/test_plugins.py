"""Kernels from outside the package: register_kernel, plugin files and modules, entry points, and runs that
use them with parallel workers, resume checks and clear errors for broken plugins."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rntk_bench.cli import app
from rntk_bench.errors import InvalidParameterError, PluginError
from rntk_bench.kernels import KERNELS, Param, get_kernel, get_spec, register_kernel
from rntk_bench.kernels import plugins as plugin_module
from rntk_bench.kernels.plugins import ensure_loaded, load_entry_points, load_plugin

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "laplace_kernel.py"
RUN = ["-d", "iris", "-d", "wine", "--no-progress"]


@pytest.fixture(autouse=True)
def clean_registry(kernel_registry, monkeypatch):
    """Every test starts from the built-in kernels and no loaded plugin, and leaves them so (conftest's
    ``kernel_registry``); entry points are looked up afresh."""
    monkeypatch.setattr(plugin_module, "_ENTRY_POINTS", None)
    yield


def _write(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body))
    return path


GOOD = """
    import numpy as np
    from rntk_bench.kernels import register_kernel
    from rntk_bench.kernels.validation import check_vectors

    @register_kernel("cosine", grid={"power": [1, 2]}, C_grid=[1.0, 10.0], description="cosine similarity")
    def cosine(X, Y=None, *, power: int = 1):
        X = check_vectors(X, "X")
        Y = X if Y is None else check_vectors(Y, "Y")
        nx = X / np.linalg.norm(X, axis=1, keepdims=True)
        ny = Y / np.linalg.norm(Y, axis=1, keepdims=True)
        return (nx @ ny.T) ** power + 1.0
"""


# ------------------------------------------------------------------------------------------ register_kernel


def test_register_kernel_reads_names_defaults_and_types_from_the_signature():
    @register_kernel("shifted", grid={"shift": [0.0, 1.0], "mode": ["a", "b"]}, params={"shift": Param(low=0.0)})
    def shifted(X, Y=None, *, shift: float = 0.5, mode: str = "a", count=2):
        X = np.asarray(X, dtype=float)
        Y = X if Y is None else np.asarray(Y, dtype=float)
        return X @ Y.T + shift

    spec = get_spec("shifted")
    assert spec.defaults == {"shift": 0.5, "mode": "a", "count": 2} and spec.origin == "module " + __name__
    assert (spec.params["shift"].kind, spec.params["mode"].kind, spec.params["count"].kind) == (float, str, int)
    assert spec.default_grid(None) == [{"shift": 0.0, "mode": "a"}, {"shift": 0.0, "mode": "b"},
                                       {"shift": 1.0, "mode": "a"}, {"shift": 1.0, "mode": "b"}]
    with pytest.raises(InvalidParameterError, match="'shift' must lie in"):
        get_kernel("shifted", shift=-1)
    with pytest.raises(InvalidParameterError, match="already registered.*replace=True"):
        register_kernel("shifted")(shifted)
    register_kernel("shifted", replace=True)(shifted)
    with pytest.raises(InvalidParameterError, match="already registered \\(built-in\\)"):
        register_kernel("rbf")(shifted)
    with pytest.raises(InvalidParameterError, match="must be a non-empty string without brackets"):
        register_kernel("bad[name]")


def test_a_static_grid_is_checked_when_the_kernel_is_registered():
    with pytest.raises(InvalidParameterError, match="'width' must lie in"):
        @register_kernel("narrow", grid={"width": [1.0, -1.0]}, params={"width": Param(low=0.0)})
        def narrow(X, Y=None, *, width: float = 1.0):
            return np.zeros((len(X), len(X if Y is None else Y)))


# ----------------------------------------------------------------------------------------------- plugins


def test_a_plugin_file_registers_its_kernels_with_its_origin_and_sha(tmp_path):
    path = _write(tmp_path / "mine.py", GOOD)
    plugin = load_plugin(str(path))
    assert plugin.kernels == ("cosine",) and plugin.kind == "file" and len(plugin.sha256) == 64
    assert get_spec("cosine").origin == f"file {path}" and get_spec("cosine").C_grid == (1.0, 10.0)
    assert load_plugin(str(path)) is plugin  # once per process


@pytest.mark.parametrize(
    "body, words",
    [
        (None, ["plugin file", "does not exist"]),
        ("import no_such_module_anywhere\n", ["failed to import", "ModuleNotFoundError"]),
        ("x = 1\n", ["registers no kernel", "@register_kernel"]),
        ("from rntk_bench.kernels import register_kernel\n@register_kernel('rbf')\ndef f(X, Y=None):\n"
         "    return X\n", ["kernel 'rbf' is already registered (built-in)", "replace=True"]),
        ("import numpy as np\nfrom rntk_bench.kernels import register_kernel\n@register_kernel('flat')\n"
         "def flat(X, Y=None):\n    return np.zeros(len(X))\n", ["kernel 'flat' fails", "shape (4,)", "(n_x, n_y)"]),
        ("import numpy as np\nfrom rntk_bench.kernels import register_kernel\n@register_kernel('single')\n"
         "def single(X, Y=None):\n    Y = X if Y is None else Y\n    return np.ones((len(X), len(Y)), np.float32)\n",
         ["kernel 'single' fails", "dtype float32"]),
    ],
)
def test_a_broken_plugin_is_one_line_naming_it_and_no_run_folder(tmp_path, body, words):
    path = tmp_path / "broken.py"
    if body is not None:
        path.write_text(body)
    before = dict(KERNELS)
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--plugin", str(path), "-k", "rbf", *RUN, "--out", str(out)])
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert result.output.startswith("error: plugin") and str(path) in result.output
    for word in words:
        assert word in result.output
    assert not out.exists() and KERNELS == before  # nothing registered half-way


def test_a_run_with_a_plugin_kernel_uses_two_workers_records_it_and_guards_resume(tmp_path):
    plugin = shutil.copy(EXAMPLE, tmp_path / "laplace_kernel.py")
    out = tmp_path / "run"
    arguments = ["run", "--plugin", str(plugin), "-k", "laplace", "-k", "rbf", *RUN, "--out", str(out)]
    result = runner.invoke(app, [*arguments, "--jobs", "2"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "results.csv")
    assert set(table["status"]) == {"ok"} and set(table["kernel"]) == {"laplace", "rbf"}
    assert table.set_index("kernel").loc["laplace", "n_settings"].tolist() == [7, 7]
    recorded = json.loads((out / "run.json").read_text())["config"]["plugins"]
    assert recorded[0]["plugin"] == str(plugin) and len(recorded[0]["sha256"]) == 64
    resumed = runner.invoke(app, [*arguments, "--resume", "-j", "1"])
    assert resumed.exit_code == 0 and "0 tasks run, 40 already done" in resumed.output
    Path(plugin).write_text(Path(plugin).read_text() + "\n# changed\n")
    changed = runner.invoke(app, [*arguments, "--resume"])
    assert changed.exit_code == 1 and f"plugin {str(plugin)!r} changed since the run was made" in changed.output
    forgotten = runner.invoke(app, ["run", "-k", "rbf", *RUN, "--out", str(out), "--resume"])
    assert forgotten.exit_code == 1 and "pass --plugin" in forgotten.output


def test_a_run_file_names_its_plugins(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(f'datasets = ["iris"]\nkernels = ["laplace"]\nplugins = ["{EXAMPLE}"]\n[grid.laplace]\n'
                      'gamma = [0.1]\nC = [1.0]\n')
    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(tmp_path / "run"), "--no-progress",
                                 "-j", "1"])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "run" / "results.csv")["kernel"].tolist() == ["laplace"]


def test_kernels_lists_every_kernel_with_its_origin():
    output = runner.invoke(app, ["kernels", "--plugin", str(EXAMPLE)]).output
    assert "[built-in]" in output and "laplace  vector   Laplacian kernel" in output
    assert f"[file {EXAMPLE}]" in output


def test_a_worker_imports_a_file_plugin_from_its_shipped_source(tmp_path):
    path = _write(tmp_path / "mine.py", GOOD)
    plugin = load_plugin(str(path))
    del KERNELS["cosine"]  # a fresh worker: neither the kernel nor the module (nor the file)
    del sys.modules[plugin.module]
    path.unlink()
    ensure_loaded([plugin])
    assert get_kernel("cosine", power=2)(np.eye(3)).shape == (3, 3)


def test_an_installed_entry_point_is_loaded_on_first_need(tmp_path, monkeypatch):
    (tmp_path / "mykernels.py").write_text(textwrap.dedent(GOOD).replace('"cosine"', '"cosine_ep"'))
    info = tmp_path / "mykernels-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mykernels\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[rntk_bench.kernels]\ncosine = mykernels\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "cosine_ep" not in KERNELS
    assert get_spec("cosine_ep").origin == "entry point cosine"  # an unknown name looks at the entry points
    assert [plugin.kernels for plugin in load_entry_points()] == [("cosine_ep",)]


def test_a_broken_entry_point_is_named_with_its_distribution(tmp_path, monkeypatch):
    (tmp_path / "mykernels_broken.py").write_text("raise RuntimeError('boom')\n")
    info = tmp_path / "mykernels_broken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mykernels-broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[rntk_bench.kernels]\nbroken = mykernels_broken\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="broken = mykernels_broken.*mykernels-broken.*RuntimeError: boom"):
        get_spec("no_such_kernel")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_workers_of_a_separately_started_dask_cluster_import_a_file_plugin(tmp_path):
    """A real `dask scheduler` and `dask worker` on 127.0.0.1; the plugin file is deleted before the tasks are
    sent, so the worker can only use the source that travels with them."""
    import os
    import subprocess
    import time

    from rntk_bench.config import build_config
    from rntk_bench.runner import run_benchmark

    dask = Path(sys.executable).with_name("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    worker_dir = tmp_path / "worker"
    worker_dir.mkdir()
    processes = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)]
    try:
        time.sleep(3)
        processes.append(subprocess.Popen([str(dask), "worker", address, "--nworkers", "1", "--nthreads", "1",
                                           "--no-dashboard"], cwd=worker_dir, env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        plugin = shutil.copy(EXAMPLE, tmp_path / "laplace_kernel.py")
        grids = {"laplace": {"gamma": [0.05, 0.5], "C": [1.0, 10.0]}}
        local = build_config(suite="demo", datasets=["iris"], kernels=["laplace"], grids=grids, plugins=[plugin])
        remote = build_config(suite="demo", datasets=["iris"], kernels=["laplace"], grids=grids, plugins=[plugin],
                              backend="dask", scheduler=address)
        Path(plugin).unlink()
        expected = run_benchmark(local, tmp_path / "local")
        for _ in range(30):  # the worker registers with the scheduler a moment after it starts
            from distributed import Client

            with Client(address, timeout="10s") as client:
                if client.scheduler_info()["workers"]:
                    break
            time.sleep(1)
        outcome = run_benchmark(remote, tmp_path / "remote")
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)
    assert outcome.n_failed == 0 and set(outcome.table["status"]) == {"ok"}
    columns = ["dataset", "kernel", "kernel_id", "C", "split", "cv_accuracy", "test_accuracy"]
    pd.testing.assert_frame_equal(outcome.table[columns], expected.table[columns])
    hosts = {json.loads(path.read_text())["host"] for path in (tmp_path / "remote").glob("tasks/*/*.json")}
    assert hosts  # the tasks ran (on the worker: the run itself has no copy of the file any more)


def test_the_readme_walk_from_a_plugin_file_to_a_leaderboard(tmp_path, monkeypatch):
    """README, "Benchmark your own kernel": check the kernel, run it with two workers beside a built-in one,
    and build the leaderboard of the run, all through the command line."""
    monkeypatch.chdir(tmp_path)
    plugin = str(shutil.copy(EXAMPLE, tmp_path / "laplace_kernel.py"))
    check = runner.invoke(app, ["kernels", "check", "laplace", "--plugin", plugin])
    assert check.exit_code == 0 and "laplace: all" in check.output, check.output
    run = runner.invoke(app, ["run", "--plugin", plugin, "-k", "laplace", "-k", "rbf", *RUN, "--jobs", "2",
                              "--out", "mine"])
    assert run.exit_code == 0, run.output
    report = runner.invoke(app, ["report", "mine", "--reference", "laplace", "--plugin", plugin])
    assert report.exit_code == 0 and "W/T/L vs laplace" in report.output
    page = (tmp_path / "mine" / "leaderboard.md").read_text()
    assert "| laplace |" in page and "| rbf |" in page
