"""The runner end to end on synthetic datasets: files, parallel = sequential, resume, failures, refusals."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rntk_bench.config import build_config
from rntk_bench.data.dataset import Dataset
from rntk_bench.errors import RunError
from rntk_bench.planning import Task, execution_order, plan_tasks, sharing_groups, task_cost
from rntk_bench.results import RESULT_COLUMNS
from rntk_bench.run_data import PreloadedDatasets
from rntk_bench.run_folder import read_task_results
from rntk_bench.runner import run_benchmark

SYNTHETIC = Path(__file__).parent / "data" / "runner" / "synthetic.py"
_SPEC = importlib.util.spec_from_file_location("synthetic", SYNTHETIC)
synthetic = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(synthetic)

TIMING = ["gram_seconds", "fit_seconds"]


def small_config(**execution):
    return build_config(
        suite="synthetic", datasets=["waves", "ragged", "blobs"], kernels=["rbf", "ntk", "rntk"],
        grids={"ntk": {"n_layers": [1, 2]}, "rntk": {"n_layers": [1], "sigma_b": [0.1], "sigma_h": [0.0]},
               "rbf": {"C": [1.0, 100.0]}},
        **execution,
    )


@pytest.fixture(scope="module")
def loader():
    return PreloadedDatasets({
        "waves": synthetic.series_dataset(),
        "ragged": synthetic.unequal_dataset(),
        "blobs": synthetic.uci_dataset(),
    })


@pytest.fixture(scope="module")
def reference(tmp_path_factory, loader):
    """An uninterrupted sequential run of small_config()."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    outcome = run_benchmark(small_config(), run_dir, loader=loader)
    return outcome


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=TIMING).reset_index(drop=True)


def test_a_run_writes_every_file_and_one_row_per_dataset_kernel_split(reference):
    run_dir, table = reference.run_dir, reference.table
    names = {path.name for path in run_dir.iterdir()}
    assert {"run.json", "results.csv", "scores.csv", "tasks"} <= names
    assert list(table.columns) == list(RESULT_COLUMNS)
    # waves, ragged: one train-test row per kernel; blobs (UCI): four folds per kernel
    assert len(table) == 3 * 1 + 3 * 1 + 3 * 4
    assert set(table["status"]) == {"ok"}
    assert list(table.drop_duplicates(["dataset", "kernel"])[["dataset", "kernel"]].itertuples(index=False)) == [
        (d, k) for d in ("waves", "ragged", "blobs") for k in ("rbf", "ntk", "rntk")]
    assert set(table[table.dataset == "blobs"]["split"]) == {"fold-0", "fold-1", "fold-2", "fold-3"}
    assert set(table[table.dataset == "blobs"]["protocol"]) == {"arora-uci"}
    ragged = table[(table.dataset == "ragged")].set_index("kernel")
    assert "resampled linearly to length 15" in ragged.loc["rbf", "notes"]
    assert "largest norm of a training series" in ragged.loc["rntk", "notes"]
    assert "largest row norm" in table[(table.dataset == "blobs") & (table.kernel == "rntk")]["notes"].iloc[0]
    # 13 rbf + 5 ntk (depth 1: F 0..1, depth 2: F 0..2) + 3 rntk settings on each of 3 datasets
    assert reference.n_tasks == 3 * (13 + 5 + 3) and len(read_task_results(run_dir)) == reference.n_tasks
    on_disk = pd.read_csv(run_dir / "results.csv").fillna({"error": "", "notes": ""})
    pd.testing.assert_frame_equal(comparable(on_disk), comparable(table), check_dtype=False)
    scores = pd.read_csv(run_dir / "scores.csv")
    # (settings x C) per dataset: rbf 13 x 2, ntk 5 x 7, rntk 3 x 5; splits: 1 + 1 + 4
    assert len(scores) == (13 * 2 + 5 * 7 + 3 * 5) * (1 + 1 + 4)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["config_hash"] == small_config().config_hash and info["finished"]
    assert info["config"]["datasets"] == ["waves", "ragged", "blobs"]
    assert {"numpy", "scikit-learn", "python"} <= set(info["versions"]) and "cpu_count" in info["machine"]
    assert "revision" in info["git"] and info["sessions"][0]["n_run"] == reference.n_tasks
    assert "largest row norm over all 40 rows" in info["datasets"]["blobs"]["kernel_inputs"]["rntk"][0]


def test_execution_order_finishes_cheap_datasets_first_and_starts_a_datasets_slowest_task_first():
    def task(dataset, index, cost):
        return Task(dataset=dataset, suite="s", collection="uci", protocol="arora-uci", kernel="k",
                    kernel_id=f"k[{index}]", params={}, setting_index=index, n_settings=3, C_grid=(1.0,),
                    cv_folds=5, seed=0, cost=cost)

    tasks = [task("big", 0, 50.0), task("big", 1, 90.0), task("small", 0, 1.0), task("small", 1, 30.0),
             task("mid", 0, 60.0), task("mid", 1, 10.0), task("tie", 0, 70.0)]
    order = [(t.dataset, t.setting_index) for t in execution_order(tasks)]
    # totals: small 31, mid 70 and tie 70 (equal: plan order), big 140
    assert order == [("small", 1), ("small", 0), ("mid", 0), ("mid", 1), ("tie", 0), ("big", 1), ("big", 0)]


def test_execution_order_takes_groups_sharing_parts_n_jobs_at_a_time_producer_first():

    grid = {"direction": ["forward", "reversed", "bidirectional"], "n_layers": [1, 2], "fixed_layers": [0, 1],
            "sigma_u": [0.25, 0.5], "sigma_b": [0.1], "sigma_h": [0.0], "output": ["last"], "C": [1.0]}
    config = build_config(suite="synthetic", datasets=["waves"], kernels=["rntk"], grids={"rntk": grid})
    tasks = plan_tasks(config, PreloadedDatasets({"waves": synthetic.series_dataset()})).tasks
    groups = sharing_groups(tasks)
    # per sigma_u: the two-layer pass with fixed 0 gives its NNGP and the one-layer kernels, so two layers
    # fixed 0 (3 tasks) and one layer fixed 0 and 1 (6) are one group; two layers fixed 1 (3: the forward
    # and reversed kernels with fixed_layers = 1 are parts of the bidirectional one) are another
    assert sorted(len(group) for group in groups) == [3, 3, 9, 9] and sum(map(len, groups)) == 24
    assert all(task.shared for task in tasks)
    group_of = {task.kernel_id: index for index, group in enumerate(groups) for task in group}
    order = execution_order(tasks, n_jobs=2)
    assert sorted(t.kernel_id for t in order) == sorted(t.kernel_id for t in tasks)
    # each batch of two groups is contiguous: its two producers (the groups' costliest, bidirectional
    # tasks, which compute every shared part) first, then the readers of the group whose producer is cheaper
    position = 0
    for _ in range(2):
        first, second = order[position], order[position + 1]
        batch = {group_of[first.kernel_id], group_of[second.kernel_id]}
        assert len(batch) == 2 and first.cost >= second.cost
        for producer in (first, second):
            group = groups[group_of[producer.kernel_id]]
            assert producer.params["direction"] == "bidirectional" and producer.cost == max(t.cost for t in group)
        size = sum(len(groups[index]) for index in batch)
        readers = order[position + 2:position + size]
        assert {group_of[t.kernel_id] for t in readers} <= batch
        cheap = group_of[min(first, second, key=lambda t: t.cost).kernel_id]  # the first one on a tie
        n_cheap = len(groups[cheap]) - 1
        assert {group_of[t.kernel_id] for t in readers[:n_cheap]} <= {cheap}
        position += size
    # the costliest groups start first; with one worker the groups run one after another
    totals = [sum(t.cost for t in groups[group_of[order[i].kernel_id]]) for i in (0, 1)]
    assert min(totals) >= max(sum(t.cost for t in group) for group in groups if order[0] not in group
                              and order[1] not in group)
    # the two groups of one sigma_u, three workers: both producers (two layers, bidirectional) start first,
    # then the readers of the larger group (on a tie of the producers' costs the groups keep their order,
    # costliest first), the one-layer settings among them
    one_sigma = [t for t in tasks if t.params["sigma_u"] == 0.25]
    wide = execution_order(one_sigma, n_jobs=3)
    assert [(t.params["direction"], t.params["n_layers"]) for t in wide[:2]] == [("bidirectional", 2)] * 2
    assert wide[0].params["fixed_layers"] == 0 and len(wide) == 12
    assert {(t.params["n_layers"], t.params["fixed_layers"]) for t in wide[2:10]} == {(2, 0), (1, 0), (1, 1)}
    sequential = execution_order(tasks, n_jobs=1)
    runs = [group_of[t.kernel_id] for t in sequential]
    assert [index for i, index in enumerate(runs) if i == 0 or runs[i - 1] != index] == list(dict.fromkeys(runs))


def test_parallel_run_equals_the_sequential_run(tmp_path, loader, reference):
    outcome = run_benchmark(small_config(n_jobs=2), tmp_path / "run", loader=loader)
    pd.testing.assert_frame_equal(comparable(outcome.table), comparable(reference.table))


def test_resume_runs_only_missing_tasks_and_ends_with_the_same_table(tmp_path, loader, reference):
    run_dir = tmp_path / "run"
    run_benchmark(small_config(), run_dir, loader=loader)
    files = sorted((run_dir / "tasks").glob("*/*.json"))
    for path in files[::4]:
        path.unlink()
    events = []
    outcome = run_benchmark(small_config(n_jobs=2), run_dir, resume=True, loader=loader,
                            progress=lambda done, total, label: events.append((done, total)))
    assert outcome.n_run == len(files[::4]) and outcome.n_skipped == len(files) - len(files[::4])
    assert events[0] == (outcome.n_skipped, len(files)) and events[-1] == (len(files), len(files))
    pd.testing.assert_frame_equal(comparable(outcome.table), comparable(reference.table))
    assert len(list((run_dir / "tasks").glob("*/*.json"))) == len(files)  # nothing duplicated
    info = json.loads((run_dir / "run.json").read_text())
    assert len(info["sessions"]) == 2 and info["sessions"][1]["n_skipped"] == outcome.n_skipped


def test_resume_with_another_configuration_is_refused_with_the_differences(tmp_path, loader):
    config = build_config(suite="s", datasets=["waves"], kernels=["rbf"], grids={"rbf": {"C": [1.0]}})
    run_benchmark(config, tmp_path / "run", loader=loader)
    other = build_config(suite="s", datasets=["waves"], kernels=["rbf"], grids={"rbf": {"C": [1.0, 2.0]}})
    with pytest.raises(RunError, match=r"different configuration(.|\n)*kernels\.rbf\.C: \[1\.0\] in the run folder"):
        run_benchmark(other, tmp_path / "run", resume=True, loader=loader)
    with pytest.raises(RunError, match="not empty; pass --resume"):
        run_benchmark(config, tmp_path / "run", loader=loader)
    with pytest.raises(RunError, match="does not exist"):
        run_benchmark(config, tmp_path / "nothing", resume=True, loader=loader)
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunError, match="not writable"):
        run_benchmark(config, tmp_path / "file" / "run", loader=loader)
    assert not (tmp_path / "file" / "run").exists()


def _with_nan(dataset: Dataset) -> Dataset:
    X = dataset.X.copy()
    X[3, 2] = np.nan
    return Dataset("holes", dataset.collection, X, dataset.y, dataset.class_labels, dataset.splits, dataset.info)


def test_a_failing_task_becomes_an_error_row_or_raises_with_fail_fast(tmp_path):
    loader = PreloadedDatasets({"waves": synthetic.series_dataset(), "holes": _with_nan(synthetic.series_dataset())})
    grids = {"rbf": {"C": [1.0]}, "ntk": {"n_layers": [1]}}
    config = build_config(suite="s", datasets=["holes", "waves"], kernels=["rbf", "ntk"], grids=grids)
    outcome = run_benchmark(config, tmp_path / "run", loader=loader)
    table = outcome.table.set_index(["dataset", "kernel"])
    # rbf fails while its data-scaled grid is expanded, ntk in each of its two tasks
    for kernel, where in (("rbf", "grid: InvalidInputError"), ("ntk", "all 2 settings failed")):
        row = table.loc[("holes", kernel)]
        assert row["status"] == "error" and where in row["error"]
        assert "NaN or inf" in row["error"] and "index 3" in row["error"]
    assert set(table.loc["waves", "status"]) == {"ok"} and outcome.n_failed == 3
    (result, *_) = [r for r in read_task_results(tmp_path / "run") if r["dataset"] == "holes" and "traceback" in r]
    assert "Traceback" in result["traceback"]
    # committed task files name no folder of this machine: project files relative, packages from site-packages
    root = str(Path(__file__).resolve().parents[1])
    assert root not in result["traceback"] and 'File "rntk_bench/execution.py"' in result["traceback"]
    for kernels in (["ntk"], ["rbf"]):
        failfast = build_config(suite="s", datasets=["holes", "waves"], kernels=kernels,
                                grids={k: grids[k] for k in kernels}, fail_fast=True)
        with pytest.raises(RunError, match="--fail-fast.*NaN or inf"):
            run_benchmark(failfast, tmp_path / f"run-{kernels[0]}", loader=loader)


def test_resume_runs_failed_tasks_again_unless_they_are_kept(tmp_path):
    loader = PreloadedDatasets({"waves": synthetic.series_dataset(), "holes": _with_nan(synthetic.series_dataset())})
    config = build_config(suite="s", datasets=["holes", "waves"], kernels=["ntk"], grids={"ntk": {"n_layers": [1]}})
    first = run_benchmark(config, tmp_path / "run", loader=loader)
    failed = {path: path.read_bytes() for path in (tmp_path / "run" / "tasks" / "holes").glob("*.json")}
    assert first.n_failed == len(failed) == 2 and first.n_run == 4

    kept = run_benchmark(config, tmp_path / "run", resume=True, loader=loader, retry_failed=False)
    assert (kept.n_run, kept.n_skipped, kept.n_failed) == (0, 4, 0)
    assert {path: path.read_bytes() for path in failed} == failed  # untouched, still in the table
    assert kept.table.set_index("dataset").loc["holes", "status"] == "error"

    again = run_benchmark(config, tmp_path / "run", resume=True, loader=loader)
    assert (again.n_run, again.n_skipped, again.n_failed) == (2, 2, 2)
    assert all(json.loads(path.read_text())["status"] == "error" for path in failed)


def test_missing_datasets_are_refused_before_anything_is_written_or_skipped_on_request(tmp_path, loader):
    config = build_config(suite="s", datasets=["waves", "absent"], kernels=["rbf"], grids={"rbf": {"gamma": [0.1]}})
    with pytest.raises(RunError, match="missing: absent.*datasets fetch"):
        run_benchmark(config, tmp_path / "run", loader=loader)
    assert not (tmp_path / "run").exists()
    skipping = build_config(suite="s", datasets=["waves", "absent"], kernels=["rbf"], grids={"rbf": {"gamma": [0.1]}},
                            skip_missing=True)
    outcome = run_benchmark(skipping, tmp_path / "run", loader=loader)
    assert list(outcome.table["dataset"]) == ["waves"] and "absent" in outcome.notes[0]


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _start_and_wait(run_dir: Path, n_jobs: int, at_least: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, str(SYNTHETIC), str(run_dir), str(n_jobs)], start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(list(run_dir.glob("tasks/*/*.json"))) < at_least:
        if process.poll() is not None:
            raise AssertionError(f"the run ended before it could be killed: {process.stderr.read()}")
        assert time.monotonic() < deadline, "no task finished within 60 s"
        time.sleep(0.05)
    return process


@pytest.fixture(scope="module")
def kill_reference(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("kill") / "reference"
    return run_benchmark(synthetic.kill_resume_config(1), run_dir, loader=synthetic.kill_resume_datasets())


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the worker processes")
def test_killing_a_worker_loses_only_tasks_in_flight_and_resume_completes(tmp_path, kill_reference):
    run_dir = tmp_path / "run"
    process = _start_and_wait(run_dir, 2, at_least=3)
    workers = [pid for pid in _children(process.pid) if b"LokyProcess" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert workers, "no loky worker found"
    os.kill(workers[0], signal.SIGKILL)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0 and "worker process died" in stderr and "--resume" in stderr
    before = {path.name for path in run_dir.glob("tasks/*/*.json")}
    assert 3 <= len(before) < kill_reference.n_tasks
    outcome = run_benchmark(synthetic.kill_resume_config(2), run_dir, resume=True,
                            loader=synthetic.kill_resume_datasets())
    assert outcome.n_skipped == len(before) and outcome.n_run == kill_reference.n_tasks - len(before)
    assert len(list(run_dir.glob("tasks/*/*.json"))) == kill_reference.n_tasks
    pd.testing.assert_frame_equal(comparable(outcome.table), comparable(kill_reference.table))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_terminated_run_records_how_its_session_ended_and_resumes(tmp_path, kill_reference, n_jobs):
    run_dir = tmp_path / "run"
    process = _start_and_wait(run_dir, n_jobs, at_least=3)
    process.send_signal(signal.SIGTERM)  # what a batch scheduler or `kill` sends
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    session = json.loads((run_dir / "run.json").read_text())["sessions"][-1]
    done = len(list(run_dir.glob("tasks/*/*.json")))
    assert session["status"] == "interrupted" and session["finished"] is not None
    assert session["n_run"] == done < kill_reference.n_tasks
    assert (run_dir / "results.csv").exists()
    outcome = run_benchmark(synthetic.kill_resume_config(1), run_dir, resume=True,
                            loader=synthetic.kill_resume_datasets())
    assert outcome.n_skipped == done and outcome.n_run == kill_reference.n_tasks - done
    pd.testing.assert_frame_equal(comparable(outcome.table), comparable(kill_reference.table))


@pytest.mark.slow
def test_killing_the_whole_run_loses_only_tasks_in_flight(tmp_path, kill_reference):
    run_dir = tmp_path / "run"
    process = _start_and_wait(run_dir, 2, at_least=5)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    leftovers = list(run_dir.glob("tasks/*/.*"))  # temporary files of interrupted writes may remain
    done = len(list(run_dir.glob("tasks/*/*.json")))
    outcome = run_benchmark(synthetic.kill_resume_config(1), run_dir, resume=True,
                            loader=synthetic.kill_resume_datasets())
    assert outcome.n_skipped == done and outcome.n_run == kill_reference.n_tasks - done
    pd.testing.assert_frame_equal(comparable(outcome.table), comparable(kill_reference.table))
    assert all(path.name.endswith(".tmp") for path in leftovers)


def test_the_dask_backend_gives_the_same_table_as_the_local_run(tmp_path, loader):
    distributed = pytest.importorskip("distributed")
    config = build_config(suite="s", datasets=["waves", "blobs"], kernels=["rbf", "ntk"],
                          grids={"rbf": {"C": [1.0, 100.0]}, "ntk": {"n_layers": [1]}})
    local = run_benchmark(config, tmp_path / "local", loader=loader)
    with distributed.LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote_config = build_config(suite="s", datasets=["waves", "blobs"], kernels=["rbf", "ntk"],
                                     grids={"rbf": {"C": [1.0, 100.0]}, "ntk": {"n_layers": [1]}},
                                     backend="dask", scheduler=cluster.scheduler_address)
        remote = run_benchmark(remote_config, tmp_path / "dask", loader=loader)
    pd.testing.assert_frame_equal(comparable(remote.table), comparable(local.table))
    hosts = {result["host"] for result in read_task_results(tmp_path / "dask")}
    assert hosts and remote.n_run == local.n_run


def test_a_setting_computed_in_its_siblings_pass_is_started_after_it():
    from rntk_bench.kernels import get_kernel

    dataset = synthetic.series_dataset()
    cost = {fixed: task_cost(dataset, "rntk", get_kernel("rntk", n_layers=2, fixed_layers=fixed).params)
            for fixed in (0, 1, 2)}
    assert cost[2] < cost[0] == cost[1]  # the NNGP (fixed = n_layers) is read back from the RNTK's pass
    bidirectional = task_cost(dataset, "rntk", get_kernel("rntk", direction="bidirectional").params)
    assert bidirectional == 2 * task_cost(dataset, "rntk", get_kernel("rntk").params)


def test_traceback_paths_name_no_folder_of_this_machine():
    import sysconfig

    from rntk_bench.execution import portable_traceback

    root = Path(__file__).resolve().parents[1]
    stdlib = sysconfig.get_paths()["stdlib"]
    text = (f'  File "{root}/rntk_bench/execution.py", line 1, in run_task\n'
            f'  File "/opt/venv/lib/python3.11/site-packages/sklearn/svm/_base.py", line 2, in fit\n'
            f'  File "{stdlib}/json/__init__.py", line 3, in load\n'
            '  File "/home/someone/plugins/my_kernel.py", line 4, in k\n'
            '  File "<string>", line 5, in <module>\n')
    assert portable_traceback(text) == (
        '  File "rntk_bench/execution.py", line 1, in run_task\n'
        '  File "site-packages/sklearn/svm/_base.py", line 2, in fit\n'
        '  File "<python>/json/__init__.py", line 3, in load\n'
        '  File "<elsewhere>/my_kernel.py", line 4, in k\n'
        '  File "<string>", line 5, in <module>\n')
    other = Path("/srv/checkout")
    assert portable_traceback(f'File "{other}/rntk_bench/x.py"', roots=(other,)) == 'File "rntk_bench/x.py"'
