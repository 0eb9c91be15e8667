"""export_tsml: tsml-eval results files of a run, read back with a parser written from the published format.

The parser below follows tsml-eval's description of its results files (``write_results_to_tsml_format`` in
``tsml_eval/utils/results_writing.py``): line 1 ``dataset,estimator,split,resample,time unit,description``;
line 2 free-form parameter information; line 3 ``accuracy,fit time,predict time,benchmark time,memory,
n_classes,train estimate method,train estimate time,fit and estimate time``; then one line per test case,
``actual,predicted,,p_0,...,p_{n_classes-1}``. It shares no code with the writer.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import rntk_bench.export_tsml as export_module
from rntk_bench.config import build_config
from rntk_bench.errors import InvalidParameterError, RunError, WriteError
from rntk_bench.export_tsml import default_estimator_name, export_tsml, resample_of_split
from rntk_bench.predictions import decode_split, encode_split
from rntk_bench.results import read_results
from rntk_bench.run_data import PreloadedDatasets
from rntk_bench.run_folder import task_path
from rntk_bench.runner import run_benchmark

SYNTHETIC = Path(__file__).parent / "data" / "runner" / "synthetic.py"
_SPEC = importlib.util.spec_from_file_location("synthetic_export", SYNTHETIC)
synthetic = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(synthetic)

# 21 test rows each: accuracies such as 19/21 have no short decimal form, so rounding would show
DATASETS = {"waves": synthetic.series_dataset(n_test=21), "blobs": synthetic.uci_dataset(n=42)}


# ------------------------------------------------------------------------------------ independent parser


def parse_tsml(path: Path) -> dict:
    """Read a tsml classification results file as the published format describes it."""
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and not text.endswith("\n\n"), f"{path}: no blank line may follow the cases"
    lines = text[:-1].split("\n")
    first = lines[0].split(",", 5)
    assert len(first) == 6, f"{path}: line 1 has {len(first)} fields"
    third = lines[2].split(",")
    assert len(third) == 9, f"{path}: line 3 has {len(third)} fields"
    n_classes = int(third[5])
    actual, predicted, probabilities = [], [], []
    for number, line in enumerate(lines[3:], start=4):
        fields = line.split(",")
        assert len(fields) == 3 + n_classes, f"{path} line {number}: {len(fields)} fields"
        assert fields[2] == "", f"{path} line {number}: the field after the predicted class must be empty"
        actual.append(int(fields[0]))
        predicted.append(int(fields[1]))
        probabilities.append([float(value) for value in fields[3:]])
    return {
        "dataset": first[0], "estimator": first[1], "split": first[2], "resample": int(first[3]),
        "time_unit": first[4], "description": first[5], "parameters": lines[1],
        "accuracy": float(third[0]), "timings": [float(third[i]) for i in (1, 2, 3, 4)], "n_classes": n_classes,
        "train_estimate": third[6:], "actual": np.array(actual), "predicted": np.array(predicted),
        "probabilities": np.array(probabilities).reshape(len(actual), n_classes),
    }


# ------------------------------------------------------------------------------------------- fixtures


def small_run(run_dir: Path, datasets=("waves", "blobs"), protocol=None, loader=None):
    config = build_config(
        suite="synthetic", datasets=list(datasets), kernels=["rbf", "ntk"], protocol=protocol,
        grids={"rbf": {"gamma": [0.1, 1.0], "C": [0.1, 1.0, 10.0]},
               "ntk": {"n_layers": [1, 2], "fixed_layers": [0], "C": [1.0, 100.0]}},
    )
    return run_benchmark(config, run_dir, loader=loader or PreloadedDatasets(DATASETS)).run_dir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return small_run(tmp_path_factory.mktemp("export") / "run")


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("exported") / "tsml"
    return out, export_tsml(run_dir, out)


@pytest.fixture
def run_copy(run_dir, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def winner_file(run: Path, dataset: str, kernel: str) -> Path:
    table = read_results(run)
    kernel_id = table[(table.dataset == dataset) & (table.kernel == kernel)]["kernel_id"].iloc[0]
    return task_path(run, dataset, kernel_id)


def edit_task(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------- format


def test_one_file_per_dataset_kernel_and_reported_split_at_the_tsml_paths(run_dir, exported):
    out, paths = exported
    expected = [out / f"{kernel.upper()}-SVM" / "Predictions" / dataset / f"testResample{k}.csv"
                for dataset, splits in (("waves", 1), ("blobs", 4)) for kernel in ("ntk", "rbf")
                for k in range(splits)]
    assert sorted(paths) == sorted(expected)
    assert sorted(p for p in out.rglob("*") if p.is_file()) == sorted(expected)  # nothing else, no temporaries
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_files_read_back_match_the_format_and_the_run(run_dir, exported):
    out, _ = exported
    table = read_results(run_dir)
    assert len(table) == 2 * 1 + 2 * 4
    for row in table.itertuples(index=False):
        resample = 0 if row.split == "train-test" else int(row.split.split("-")[1])
        path = out / f"{row.kernel.upper()}-SVM" / "Predictions" / row.dataset / f"testResample{resample}.csv"
        parsed = parse_tsml(path)
        dataset = DATASETS[row.dataset]
        assert (parsed["dataset"], parsed["estimator"], parsed["split"], parsed["resample"], parsed["time_unit"]) \
            == (row.dataset, f"{row.kernel.upper()}-SVM", "TEST", resample, "MILLISECONDS")
        assert parsed["timings"] == [-1.0] * 4
        assert parsed["train_estimate"] == ["N/A", "-1", "-1"]
        assert parsed["n_classes"] == len(dataset.class_labels)
        # one row per test case, in the split's order, with the true class codes
        test_rows = dataset.split(row.split).test
        assert len(parsed["actual"]) == row.n_test == len(test_rows)
        np.testing.assert_array_equal(parsed["actual"], dataset.y[test_rows])
        # line 3's accuracy is the rows' accuracy, exactly (tsml-eval's reader compares with ==) and the run's
        assert parsed["accuracy"] == np.mean(parsed["actual"] == parsed["predicted"])
        assert parsed["accuracy"] == pytest.approx(row.test_accuracy, abs=1e-12)
        # probabilities: one-hot on the predicted class, each row summing to 1
        probabilities = parsed["probabilities"]
        np.testing.assert_array_equal(probabilities.sum(axis=1), 1.0)
        assert set(np.unique(probabilities)) <= {0.0, 1.0}
        np.testing.assert_array_equal(probabilities.argmax(axis=1), parsed["predicted"])
        parameters = json.loads(parsed["parameters"])
        assert (parameters["kernel_id"], parameters["C"], parameters["protocol"]) \
            == (row.kernel_id, row.C, row.protocol)
        assert "one-hot" in parameters["probabilities"] and "one-hot" in parsed["description"]
        assert f"split {row.split} as resample {resample}" in parsed["description"]
        assert "sorted order" in parsed["description"]


def test_the_predictions_are_the_selected_configuration(run_dir, exported):
    out, _ = exported
    table = read_results(run_dir)
    row = table[(table.dataset == "blobs") & (table.kernel == "rbf") & (table.split == "fold-2")].iloc[0]
    task = json.loads(task_path(run_dir, "blobs", row.kernel_id).read_text())
    labels = decode_split(task["predictions"]["fold-2"], len(task["C_grid"]), int(row.n_test), 3, "test")
    parsed = parse_tsml(out / "RBF-SVM" / "Predictions" / "blobs" / "testResample2.csv")
    np.testing.assert_array_equal(parsed["predicted"], labels.predicted[task["C_grid"].index(row.C)])


def test_tsml_eval_reads_the_files(exported):
    storage = pytest.importorskip("tsml_eval.evaluation.storage", exc_type=ImportError)
    out, paths = exported
    for path in paths:
        parsed = parse_tsml(path)
        result = storage.load_classifier_results(str(path))  # checks probabilities and accuracy itself
        assert result.accuracy == parsed["accuracy"]
        assert (result.dataset_name, result.estimator_name, result.resample_id) \
            == (parsed["dataset"], parsed["estimator"], parsed["resample"])


def test_resample_numbers_of_splits():
    assert [resample_of_split(s) for s in ("train-test", "fold-0", "fold-1", "fold-2", "fold-3")] == [0, 0, 1, 2, 3]
    with pytest.raises(RunError, match="'validation' has no tsml resample number.*train-test"):
        resample_of_split("validation")


# ------------------------------------------------------------------------------------------------ names


def test_default_estimator_names():
    assert default_estimator_name("rntk", "train-cv-test", "ucr") == "RNTK-SVM"
    assert default_estimator_name("poly", "arora-uci", "uci") == "POLY-SVM"
    assert default_estimator_name("rbf", "train-cv-test", "uci") == "RBF-SVM-train-cv-test"
    assert default_estimator_name("rntk", "train-cv-test", "ucr", "vote") == "RNTK-SVM-vote"
    assert default_estimator_name("rntk", "train-cv-test", "ucr", "first-best") == "RNTK-SVM"


def test_estimator_names_replace_the_default(run_dir, tmp_path):
    paths = export_tsml(run_dir, tmp_path / "out", estimator_names={"rbf": "RBF-SVC-ucr"})
    estimators = {path.relative_to(tmp_path / "out").parts[0] for path in paths}
    assert estimators == {"RBF-SVC-ucr", "NTK-SVM"}
    first = (tmp_path / "out" / "RBF-SVC-ucr" / "Predictions" / "waves" / "testResample0.csv").read_text()
    assert first.startswith("waves,RBF-SVC-ucr,TEST,0,MILLISECONDS,")


@pytest.mark.parametrize("names, message", [
    ({"rntk": "X"}, r"kernel\(s\) 'rntk' that run .* does not have; its kernels: ntk, rbf$"),
    ({"rbf": "RBF,SVM"}, "without commas"),
    ({"rbf": "a/b"}, "slashes"),
    ({"rbf": ""}, "non-empty"),
    ({"rbf": "SVM", "ntk": "SVM"}, "would both be written to SVM/Predictions"),
])
def test_bad_estimator_names_are_refused_before_writing(run_dir, tmp_path, names, message):
    with pytest.raises(InvalidParameterError, match=message):
        export_tsml(run_dir, tmp_path / "out", estimator_names=names)
    assert not (tmp_path / "out").exists()


def test_a_protocol_other_than_the_datasets_own_is_named(tmp_path):
    # a 'uci' dataset with a train-test split, run under train-cv-test instead of its own arora-uci
    loader = PreloadedDatasets({"waves": synthetic.series_dataset(collection="uci")})
    run = small_run(tmp_path / "run", datasets=("waves",), protocol="train-cv-test", loader=loader)
    paths = export_tsml(run, tmp_path / "out")
    assert {path.relative_to(tmp_path / "out").parts[0] for path in paths} \
        == {"RBF-SVM-train-cv-test", "NTK-SVM-train-cv-test"}


def test_a_recorded_selection_rule_is_named(run_copy, tmp_path):
    record = json.loads((run_copy / "run.json").read_text())
    record["config"]["selection"] = "vote"
    (run_copy / "run.json").write_text(json.dumps(record))
    paths = export_tsml(run_copy, tmp_path / "out")
    assert {path.relative_to(tmp_path / "out").parts[0] for path in paths} == {"RBF-SVM-vote", "NTK-SVM-vote"}
    assert json.loads(parse_tsml(paths[0])["parameters"])["selection"] == "vote"


# -------------------------------------------------------------------------------------------- bad input


def test_a_run_without_predictions_names_the_tasks_and_the_remedy(run_copy, tmp_path):
    lacking = winner_file(run_copy, "blobs", "ntk")
    edit_task(lacking, lambda data: data.pop("predictions"))
    with pytest.raises(RunError) as caught:
        export_tsml(run_copy, tmp_path / "out")
    message = str(caught.value)
    assert "\n" not in message
    assert "1 selected task file(s) keep no predictions" in message
    assert str(lacking.relative_to(run_copy)) in message
    assert "--add-predictions" in message and "rntk-bench leaderboard --add-predictions" in message
    assert not (tmp_path / "out").exists()


def _stored(task: dict, split: str, truth_change=None, predicted_change=None) -> str:
    n_test = task["splits"][split]["n_test"]
    labels = decode_split(task["predictions"][split], len(task["C_grid"]), n_test, task["n_classes"], "test")
    truth = truth_change(labels.truth) if truth_change else labels.truth
    predicted = [p if p is None or predicted_change is None else predicted_change(p) for p in labels.predicted]
    return encode_split(truth, predicted, 62)


@pytest.mark.parametrize("corrupt, message", [
    (lambda task: _stored(task, "fold-1", truth_change=lambda t: t[:-1]), "true labels: 20 labels for 21 test rows"),
    (lambda task: _stored(task, "fold-1", predicted_change=lambda p: np.where(p == 0, 7, p)),
     "label 7 outside the 3 classes"),
    (lambda task: "not base64 at all!", "the stored predictions are corrupt"),
])
def test_corrupt_predictions_name_the_task_and_split(run_copy, tmp_path, corrupt, message):
    path = winner_file(run_copy, "blobs", "rbf")
    task = json.loads(path.read_text())
    edit_task(path, lambda data: data["predictions"].__setitem__("fold-1", corrupt(task)))
    with pytest.raises(RunError, match=message) as caught:
        export_tsml(run_copy, tmp_path / "out")
    assert "blobs" in str(caught.value) and task["kernel_id"] in str(caught.value)
    assert "split fold-1" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_not_a_run_folder(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        export_tsml(tmp_path / "absent", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="no run.json"):
        export_tsml(tmp_path / "empty", tmp_path / "out")


def test_unfinished_kernels_are_left_out_and_nothing_to_export_is_an_error(run_copy, tmp_path):
    for path in (run_copy / "tasks" / "blobs").glob("ntk-*.json"):
        path.unlink()
        break  # one setting of ntk on blobs missing: that (dataset, kernel) is incomplete
    paths = export_tsml(run_copy, tmp_path / "out")
    assert not (tmp_path / "out" / "NTK-SVM" / "Predictions" / "blobs").exists()
    assert len(paths) == 2 + 4  # waves: ntk and rbf; blobs: rbf's four folds
    for path in (run_copy / "tasks").glob("*/*.json"):
        edit_task(path, lambda data: data.update(status="error", error="broken"))
    with pytest.raises(RunError, match="no \\(dataset, kernel\\) with a result to export"):
        export_tsml(run_copy, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()


# ---------------------------------------------------------------------------------------------- writing


def test_an_existing_folder_must_be_empty_unless_overwrite(run_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert len(export_tsml(run_dir, out)) == 10  # an empty folder is fine
    before = tree(out)
    with pytest.raises(RunError, match="is not empty; choose another, or overwrite"):
        export_tsml(run_dir, out)
    assert tree(out) == before
    mine = out / "RBF-SVM" / "Predictions" / "waves" / "testResample0.csv"
    mine.write_text("stale\n")
    (out / "OtherClassifier").mkdir()
    (out / "OtherClassifier" / "keep.csv").write_text("kept\n")
    export_tsml(run_dir, out, overwrite=True)
    assert tree(out) == {**before, "OtherClassifier/keep.csv": b"kept\n"}
    assert not [p for p in out.rglob(".*")]


def test_an_output_path_that_is_a_file_is_refused(run_dir, tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(RunError, match="exists and is not a folder"):
        export_tsml(run_dir, tmp_path / "out", overwrite=True)


def test_a_failed_write_leaves_no_folder_and_no_temporary(run_dir, tmp_path, monkeypatch):
    def refuse(source, target):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(export_module.os, "rename", refuse)
    with pytest.raises(WriteError, match="cannot write .*out.*Permission denied"):
        export_tsml(run_dir, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_into_an_existing_folder_changes_nothing(run_dir, tmp_path, monkeypatch):
    out = tmp_path / "out"
    export_tsml(run_dir, out)
    (out / "NTK-SVM" / "Predictions" / "waves" / "testResample0.csv").write_text("old\n")
    before = tree(out)
    calls = []

    def fail_on_the_third(path, text):
        calls.append(path)
        if len(calls) == 3:
            raise WriteError(28, f"cannot write {path}: No space left on device")
        return real(path, text)

    real = export_module.atomic_write_text
    monkeypatch.setattr(export_module, "atomic_write_text", fail_on_the_third)
    with pytest.raises(WriteError, match="No space left"):
        export_tsml(run_dir, out, overwrite=True)
    assert tree(out) == before
    assert not [p for p in out.rglob(".*")]


def test_a_file_in_the_way_is_found_before_anything_is_replaced(run_dir, tmp_path):
    out = tmp_path / "out"
    export_tsml(run_dir, out)
    shutil.rmtree(out / "RBF-SVM")
    (out / "RBF-SVM").write_text("not a folder\n")
    (out / "NTK-SVM" / "Predictions" / "waves" / "testResample0.csv").write_text("old\n")
    before = tree(out)
    with pytest.raises(RunError, match="RBF-SVM is a file, not a folder"):
        export_tsml(run_dir, out, overwrite=True)
    assert tree(out) == before
