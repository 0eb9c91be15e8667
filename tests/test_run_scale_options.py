"""Run options for data past the exact small-data path: ``--approx`` (approximate features), ``--device``
(the JAX engine) and ``distribute_above`` (Gram matrices as tiles across a dask cluster)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from rntk_bench.approximation import parse_approx, rows_within_budget
from rntk_bench.config import build_config
from rntk_bench.errors import InvalidParameterError
from rntk_bench.execution import run_task
from rntk_bench.kernels import get_kernel
from rntk_bench.planning import plan_tasks
from rntk_bench.protocols import evaluate_setting
from rntk_bench.run_data import PreloadedDatasets
from rntk_bench.runner import run_benchmark

_SPEC = importlib.util.spec_from_file_location("synthetic", Path(__file__).parent / "data" / "runner" / "synthetic.py")
synthetic = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(synthetic)


def test_approx_option_parses_to_a_canonical_label():
    assert parse_approx(None) is None and parse_approx("none") is None and parse_approx("") is None
    spec = parse_approx(" nystroem:above=100, m=50 ")
    assert (spec.method, spec.m, spec.above, spec.sampling) == ("nystroem", 50, 100, None)
    assert spec.label == "nystroem:m=50,above=100"
    assert parse_approx("ntk-features:m=64").label == "ntk-features:m=64"
    assert parse_approx("nystroem:m=5,sampling=auto").label == "nystroem:m=5"  # the default, written or not
    assert spec.applies("rntk", 101) and not spec.applies("rntk", 100)
    assert not parse_approx("ntk-features:m=64").applies("rbf", 10**6)  # random features exist for the ntk only
    assert rows_within_budget(8 * 1000**2) == 1000


@pytest.mark.parametrize("text, fragment", [
    ("nystrom:m=5", "unknown method 'nystrom'; methods: nystroem, ntk-features"),
    ("nystroem:m=0", "m must be a whole number >= 1"),
    ("nystroem:m=ten", "m must be a whole number >= 1; got 'ten'"),
    ("nystroem:k=5", "unknown key 'k' for nystroem; keys: m, sampling, above"),
    ("ntk-features:sampling=uniform", "unknown key 'sampling' for ntk-features"),
    ("nystroem:sampling=random", "unknown sampling 'random'; choices: uniform, kmeans, leverage, auto"),
    ("nystroem:m", "expected KEY=VALUE, got 'm'"),
    ("nystroem:m=5,m=6", "m given twice"),
])
def test_bad_approx_options_name_the_problem(text, fragment):
    with pytest.raises(InvalidParameterError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse_approx(text)


def test_approx_enters_the_hash_and_the_task_ids():
    exact = build_config(suite="s", datasets=["blobs"], kernels=["rbf"], grids={"rbf": {"gamma": [0.5]}})
    approx = build_config(suite="s", datasets=["blobs"], kernels=["rbf"], grids={"rbf": {"gamma": [0.5]}},
                          approx="nystroem:m=10")
    assert exact.config_hash != approx.config_hash and approx.result_fields()["approx"] == "nystroem:m=10"
    assert "approx" not in exact.result_fields()
    loader = PreloadedDatasets({"blobs": synthetic.uci_dataset(n=40)})
    (task,) = plan_tasks(approx, loader).tasks
    assert task.approx == "nystroem:m=10" and task.kernel_id.endswith(" ~nystroem:m=10")
    assert task.describe()["approx"] == "nystroem:m=10"
    (plain,) = plan_tasks(exact, loader).tasks
    assert "approx" not in plain.describe() and "~" not in plain.kernel_id
    # above=N: a dataset whose protocol uses at most N rows stays exact
    kept = build_config(suite="s", datasets=["blobs"], kernels=["rbf"], grids={"rbf": {"gamma": [0.5]}},
                        approx="nystroem:m=10,above=40")
    assert plan_tasks(kept, loader).tasks[0].approx == ""


def test_nystroem_with_every_training_row_as_landmark_reproduces_the_exact_selection():
    """m = all training rows: the features span the kernel exactly, so the linear SVM on them sees the same
    geometry as libsvm on the Gram matrix; the scores must agree closely (solvers differ, not the kernel)."""
    dataset = synthetic.series_dataset(n_train=24, n_test=16)
    kernel = get_kernel("rbf", gamma=0.05)
    exact = evaluate_setting(kernel, dataset, [1.0, 10.0], cv_folds=3)
    approx = evaluate_setting(kernel, dataset, [1.0, 10.0], cv_folds=3, approx="nystroem:m=24")
    assert approx["svc_fits"] == exact["svc_fits"] == 2 * (3 + 1)
    test_exact = exact["splits"]["train-test"]["test_accuracy"]
    test_approx = approx["splits"]["train-test"]["test_accuracy"]
    assert np.max(np.abs(np.subtract(test_exact, test_approx))) <= 2 / 16  # at most 2 of 16 test rows differ
    assert approx["splits"]["train-test"]["n_test"] == 16


def test_few_landmarks_give_a_different_and_worse_kernel():
    """Negative control: one landmark is a rank-one kernel, far from the exact one on a 3-class problem."""
    dataset = synthetic.uci_dataset(n=60)
    kernel = get_kernel("rbf", gamma=0.5)
    full = evaluate_setting(kernel, dataset, [10.0], protocol="arora-uci", approx="nystroem:m=30")
    one = evaluate_setting(kernel, dataset, [10.0], protocol="arora-uci", approx="nystroem:m=1")
    assert one["selection_accuracy"][0] < full["selection_accuracy"][0]


def test_a_run_with_approx_writes_the_label_into_its_table(tmp_path):
    config = build_config(suite="s", datasets=["blobs"], kernels=["ntk", "rbf"], approx="ntk-features:m=256",
                          grids={"ntk": {"n_layers": [1], "fixed_layers": [0]}, "rbf": {"gamma": [0.5]}})
    outcome = run_benchmark(config, tmp_path / "run", loader=PreloadedDatasets({"blobs": synthetic.uci_dataset()}))
    table = outcome.table
    assert set(table["status"]) == {"ok"}
    by_kernel = {kernel: ids for kernel, ids in table.groupby("kernel")["kernel_id"]}
    assert all(value.endswith("~ntk-features:m=256") for value in by_kernel["ntk"])
    assert not any("~" in value for value in by_kernel["rbf"])  # random features exist for the ntk only


def test_an_m_larger_than_the_training_rows_is_an_error_row(tmp_path):
    config = build_config(suite="s", datasets=["blobs"], kernels=["rbf"], approx="nystroem:m=500",
                          grids={"rbf": {"gamma": [0.5]}})
    outcome = run_benchmark(config, tmp_path / "run", loader=PreloadedDatasets({"blobs": synthetic.uci_dataset()}))
    (error,) = set(outcome.table["error"])
    assert "500" in error and "m" in error and outcome.table["status"].eq("error").all()


def test_device_option_is_checked_and_not_hashed():
    base = dict(suite="s", datasets=["blobs"], kernels=["rbf"])
    assert build_config(**base, device="cpu").config_hash == build_config(**base).config_hash
    assert build_config(**base).device == "numba"
    with pytest.raises(InvalidParameterError, match="not a device; choices: auto, numba, cpu, gpu, gpu:N"):
        build_config(**base, device="tpu")


def test_a_task_on_the_jax_cpu_device_scores_as_on_numba(monkeypatch):
    pytest.importorskip("jax")
    from rntk_bench.kernels import accel

    monkeypatch.setattr(accel, "MIN_DEVICE_WORK", 0.0)   # every block on the device, however small
    config = build_config(suite="s", datasets=["waves"], kernels=["rntk"],
                          grids={"rntk": {"n_layers": [1], "sigma_u": [0.5], "sigma_b": [0.1]}})
    loader = PreloadedDatasets({"waves": synthetic.series_dataset()})
    task = plan_tasks(config, loader).tasks[0]
    numba, jax = run_task(task, loader, fail_fast=True), run_task(task, loader, fail_fast=True, device="cpu")
    assert jax["selection_accuracy"] == numba["selection_accuracy"]
    assert jax["splits"] == numba["splits"]


def test_a_task_sharing_gram_parts_computes_them_on_the_device(tmp_path, monkeypatch):
    """A bidirectional setting reads its two directions through the run's parts folder: with a device (and no
    size below which blocks stay on numba), those parts are computed there (the numba engine is never called)
    and score as on numba."""
    pytest.importorskip("jax")
    from rntk_bench.kernels import accel

    monkeypatch.setattr(accel, "MIN_DEVICE_WORK", 0.0)
    rntk_module = importlib.import_module("rntk_bench.kernels.rntk")
    config = build_config(suite="s", datasets=["waves"], kernels=["rntk"],
                          grids={"rntk": {"n_layers": [1], "direction": ["bidirectional"], "output": ["mean"]}})
    loader = PreloadedDatasets({"waves": synthetic.series_dataset()})
    task = plan_tasks(config, loader).tasks[0]
    assert task.shared
    numba = run_task(task, loader, fail_fast=True, parts_dir=str(tmp_path / "numba"))
    monkeypatch.setattr(rntk_module, "compute_rntk", lambda *a, **k: 1 / 0)
    jax = run_task(task, loader, fail_fast=True, device="cpu", parts_dir=str(tmp_path / "jax"))
    assert jax["selection_accuracy"] == numba["selection_accuracy"]
    assert jax["splits"] == numba["splits"]
    # the same part files, less the siblings that the numba engine computes in the same pass
    on_device, on_numba = ({path.name for path in (tmp_path / name).rglob("*.npy")} for name in ("jax", "numba"))
    assert on_device and on_device < on_numba


def test_on_a_device_the_runner_leaves_small_blocks_to_the_numba_engine_and_says_so(monkeypatch):
    pytest.importorskip("jax")
    from rntk_bench.kernels import accel
    from rntk_bench.kernels.accel import rntk as accel_rntk

    config = build_config(suite="s", datasets=["waves"], kernels=["rntk"],
                          grids={"rntk": {"n_layers": [1], "sigma_u": [0.5], "sigma_b": [0.1]}})
    loader = PreloadedDatasets({"waves": synthetic.series_dataset()})
    task = plan_tasks(config, loader).tasks[0]
    on_device = []
    real = accel_rntk.rntk_gram
    monkeypatch.setattr(accel_rntk, "rntk_gram", lambda *a, **k: on_device.append(len(a[0])) or real(*a, **k))
    small = run_task(task, loader, fail_fast=True, device="cpu")
    assert not on_device
    assert any("smaller ones on the numba engine" in note and "on cpu" in note for note in small["notes"])
    monkeypatch.setattr(accel, "MIN_DEVICE_WORK", 1.0)
    every = run_task(task, loader, fail_fast=True, device="cpu")
    assert on_device and every["splits"] == small["splits"]


def test_distribute_above_is_checked():
    base = dict(suite="s", datasets=["blobs"], kernels=["rbf"])
    assert build_config(**base).distribute_above == 5000
    assert build_config(**base, distribute_above=0).distribute_above == 0
    with pytest.raises(InvalidParameterError, match="whole number >= 0"):
        build_config(**base, distribute_above=-1)


def test_a_task_on_a_dask_worker_computes_a_large_gram_as_cluster_tiles(monkeypatch):
    """In-process cluster: the task's Gram matrix over more than ``distribute_above`` rows goes through
    tiled_gram on the cluster the task runs on, and the scores equal those of the plain task."""
    distributed = pytest.importorskip("distributed")
    import rntk_bench.tiled_gram as tiled

    calls = []
    original = tiled.tiled_gram

    def watching(kernel, X, **options):
        calls.append(len(X))
        return original(kernel, X, **{**options, "tile": 16})

    monkeypatch.setattr(tiled, "tiled_gram", watching)
    config = build_config(suite="s", datasets=["blobs"], kernels=["ntk"], protocol="arora-uci",
                          grids={"ntk": {"n_layers": [2], "fixed_layers": [0]}})
    loader = PreloadedDatasets({"blobs": synthetic.uci_dataset(n=40)})
    (task,) = plan_tasks(config, loader).tasks
    plain = run_task(task, loader, fail_fast=True)
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        tiled_result = client.submit(run_task, task, loader, 1, None, True, None, (), "numba", 10, pure=False).result()
    assert calls == [40]
    assert tiled_result["selection_accuracy"] == plain["selection_accuracy"]
    assert tiled_result["splits"] == plain["splits"]


def test_a_device_that_cannot_be_met_is_noted_and_a_gpu_gets_one_worker(monkeypatch, capsys):
    from rntk_bench.cli_device import leaderboard_device, settle_device
    from rntk_bench.kernels import accel

    monkeypatch.setattr(accel, "resolve_device", lambda name: (accel.Device("numba"), f"device {name!r} is not "
                                                               "available: no GPU here"))
    config = settle_device(build_config(suite="s", datasets=["blobs"], kernels=["rbf"], device="gpu", n_jobs=2))
    assert config.device == "numba" and config.n_jobs == 2
    assert "note: device 'gpu' is not available: no GPU here" in capsys.readouterr().err
    monkeypatch.setattr(accel, "resolve_device", lambda name: (accel.Device("jax", "gpu", 1), None))
    config = settle_device(build_config(suite="s", datasets=["blobs"], kernels=["rbf"], device="gpu:1", n_jobs=2))
    assert (config.device, config.n_jobs) == ("gpu:1", 1)
    assert "--jobs 2 becomes 1" in capsys.readouterr().err
    assert leaderboard_device("gpu:1", 2) == ("gpu:1", 1)
    assert leaderboard_device(None, 2) == ("numba", 2)


def test_a_one_class_fit_on_features_predicts_its_class_as_libsvm_path_does():
    from rntk_bench.approximation import feature_solver
    from rntk_bench.protocols.svm import svc_predict

    F, y = np.ones((4, 3)), np.array([2, 2, 2, 2])
    counts: dict[str, int] = {}
    np.testing.assert_array_equal(feature_solver(F, y, F[:2], 1.0, counts), [2, 2])
    np.testing.assert_array_equal(svc_predict(F @ F.T, y, F[:2] @ F.T, 1.0), [2, 2])
    assert counts == {}  # nothing was fitted
