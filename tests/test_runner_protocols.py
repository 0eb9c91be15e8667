"""Protocols: Arora et al.'s UCI selection, train-CV-test on training data only, Gram blocks, inputs."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.svm import SVC

from rntk_bench.data.dataset import Dataset, Split
from rntk_bench.kernels import get_kernel
from rntk_bench.protocols import (
    Candidate,
    evaluate_setting,
    get_protocol,
    protocol_input,
    resample_linear,
    stratified_folds,
)
from rntk_bench.protocols import first_best as select
from rntk_bench.results import combine


def kernel_input(dataset, kind):
    """The input a kernel of ``kind`` reads for ``dataset`` under its default protocol."""
    return protocol_input(dataset, kind, get_protocol(dataset.default_protocol))


_SPEC = importlib.util.spec_from_file_location("synthetic", Path(__file__).parent / "data" / "runner" / "synthetic.py")
synthetic = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(synthetic)


def _task_result(dataset, kernel_id, index, n_settings, C_grid, selection, splits, status="ok", error=""):
    return {"dataset": dataset, "kernel": kernel_id.split("[")[0], "kernel_id": kernel_id, "params": {"i": index},
            "setting_index": index, "n_settings": n_settings, "C_grid": C_grid, "selection_accuracy": selection,
            "splits": splits, "status": status, "error": error, "gram_seconds": 1.0, "fit_seconds": 0.5,
            "protocol": "arora-uci", "collection": "uci", "suite": "s"}


def test_selection_keeps_the_first_best_in_grid_order_by_strict_greater():
    candidates = [
        Candidate(1, "k[b]", {}, (1.0, 10.0), (0.9, 0.9)),
        Candidate(0, "k[a]", {}, (1.0, 10.0), (0.5, 0.9)),
        Candidate(2, "k[c]", {}, (1.0, 10.0), (0.9, 0.85)),
    ]
    chosen, c_index = select(candidates)
    assert (chosen.kernel_id, c_index) == ("k[a]", 1)  # setting 0 comes first; its C=10 reaches 0.9 first


def test_combine_reports_the_fold_accuracies_of_the_selected_configuration():
    # Hand-made Arora case: setting 1 is best on validation (0.8 at C=10); the folds of setting 0 are better
    # but must not be chosen. Reported: setting 1, C=10, fold accuracies 0.6, 0.7, 0.8, 0.9 (mean 0.75).
    folds0 = {f"fold-{i}": {"n_train": 10, "n_test": 10, "test_accuracy": [1.0, 1.0]} for i in range(4)}
    folds1 = {f"fold-{i}": {"n_train": 10, "n_test": 10, "test_accuracy": [0.0, 0.6 + 0.1 * i]} for i in range(4)}
    results = [
        _task_result("d", "k[s0]", 0, 2, [1.0, 10.0], [0.7, 0.8 - 1e-9], folds0),
        _task_result("d", "k[s1]", 1, 2, [1.0, 10.0], [0.8, 0.8], folds1),
    ]
    table = combine(results)
    assert list(table["split"]) == ["fold-0", "fold-1", "fold-2", "fold-3"]
    assert set(table["kernel_id"]) == {"k[s1]"} and set(table["C"]) == {1.0}
    np.testing.assert_allclose(table["test_accuracy"], [0.0] * 4)  # C=1 reached 0.8 first: strict '>' keeps it
    results[1]["selection_accuracy"] = [0.75, 0.8]
    table = combine(results)
    assert set(table["C"]) == {10.0}
    np.testing.assert_allclose(table["test_accuracy"], [0.6, 0.7, 0.8, 0.9])
    assert table["test_accuracy"].mean() == pytest.approx(0.75)
    assert set(table["cv_accuracy"]) == {0.8} and set(table["status"]) == {"ok"}
    assert json.loads(table["params"][0]) == {"i": 1} and table["gram_seconds"][0] == 2.0


def test_combine_marks_partial_failed_and_incomplete_groups():
    folds = {f"fold-{i}": {"n_train": 10, "n_test": 10, "test_accuracy": [0.5]} for i in range(4)}
    ok = _task_result("d", "k[s0]", 0, 2, [1.0], [0.7], folds)
    bad = _task_result("d", "k[s1]", 1, 2, [1.0], [], {}, status="error", error="InvalidInputError: NaN")
    partial = combine([ok, bad])
    assert set(partial["status"]) == {"partial"} and "k[s1]: InvalidInputError: NaN" in partial["error"][0]
    assert set(partial["n_failed"]) == {1}
    failed = combine([bad, {**bad, "setting_index": 0, "kernel_id": "k[s0]"}])
    assert list(failed["status"]) == ["error"] and "all 2 settings failed" in failed["error"][0]
    incomplete = combine([ok])
    assert list(incomplete["status"]) == ["incomplete"] and np.isnan(incomplete["test_accuracy"][0])


def arora_oracle(dataset: Dataset, gammas, C_grid):
    """Arora et al.'s UCI loop written out with scikit-learn's own RBF SVM (no precomputed Gram, no slicing)."""
    X, y = dataset.X, dataset.y
    validation = dataset.split("validation")
    best_acc, best = -1.0, None
    for gamma in gammas:
        for C in C_grid:
            model = SVC(kernel="rbf", gamma=gamma, C=C).fit(X[validation.train], y[validation.train])
            acc = model.score(X[validation.test], y[validation.test])
            if acc > best_acc:
                best_acc, best = acc, (gamma, C)
    gamma, C = best
    folds = [dataset.split(f"fold-{i}") for i in range(4)]
    accs = [SVC(kernel="rbf", gamma=gamma, C=C).fit(X[f.train], y[f.train]).score(X[f.test], y[f.test]) for f in folds]
    return gamma, C, best_acc, accs


def test_arora_protocol_matches_an_independent_loop_on_a_fixture():
    dataset = synthetic.uci_dataset(n=48, n_features=4, seed=5)
    gammas, C_grid = [0.01, 0.1, 1.0, 10.0], [0.01, 1.0, 100.0]
    results = []
    for index, gamma in enumerate(gammas):
        kernel = get_kernel("rbf", gamma=gamma)
        scores = evaluate_setting(kernel, dataset, C_grid)
        assert scores["protocol"] == "arora-uci"
        results.append({"dataset": "blobs", "kernel": "rbf", "kernel_id": kernel.id, "params": dict(kernel.params),
                        "setting_index": index, "n_settings": len(gammas), "C_grid": C_grid, "status": "ok",
                        **scores})
    table = combine(results)
    gamma, C, validation_accuracy, fold_accuracy = arora_oracle(dataset, gammas, C_grid)
    assert json.loads(table["params"][0])["gamma"] == gamma and set(table["C"]) == {C}
    assert set(table["cv_accuracy"]) == {validation_accuracy}
    np.testing.assert_allclose(table["test_accuracy"], fold_accuracy, rtol=0, atol=1e-12)
    assert list(table["n_train"]) == [24] * 4


def test_arora_protocol_fits_the_folds_of_the_first_best_C_only():
    # The selection can only report a setting's first C of best validation accuracy; its folds are fit,
    # every other C gets None, and the fit count is one validation fit per C plus four fold fits.
    dataset = synthetic.uci_dataset(n=48, n_features=4, seed=5)
    C_grid = [1e-4, 1e-3, 1.0, 100.0]
    scores = evaluate_setting(get_kernel("rbf", gamma=0.1), dataset, C_grid)
    validation = scores["selection_accuracy"]
    best = validation.index(max(validation))
    assert validation[0] == validation[1]  # a tie the first-best rule must resolve to the earlier C
    for split in scores["splits"].values():
        assert [value is not None for value in split["test_accuracy"]] == [i == best for i in range(len(C_grid))]
        assert 0.0 <= split["test_accuracy"][best] <= 1.0
    assert scores["svc_fits"] == len(C_grid) + 4


def test_arora_fits_stopped_by_the_iteration_cap_are_counted_and_named():
    dataset = synthetic.uci_dataset(n=48, n_features=4, seed=5)
    free = evaluate_setting(get_kernel("linear"), dataset, [1e4])
    capped = evaluate_setting(get_kernel("linear"), dataset, [1e4], svc_max_iter=2)
    assert free["svc_unconverged"] == 0
    assert capped["svc_unconverged"] == capped["svc_fits"] == 5
    assert any("5 of 5 SVM fits stopped at max_iter=2" in note for note in capped["notes"])


def _recording_gram(kernel, calls):
    def gram(block, A, B):
        calls.append((block, len(A), None if B is None else len(B)))
        return kernel(A, B)

    return gram


def test_train_cv_test_computes_only_the_needed_blocks_once():
    dataset = synthetic.series_dataset(n_train=18, n_test=11, length=12)
    kernel = get_kernel("rntk", n_layers=1)
    calls = []
    scores = evaluate_setting(kernel, dataset, [1.0, 10.0, 100.0], cv_folds=3, gram=_recording_gram(kernel, calls))
    assert calls == [("train-train", 18, None), ("test-train", 11, 18)]  # never the 29 x 29 matrix
    assert scores["splits"]["train-test"]["cv_folds"] == 3
    assert len(scores["selection_accuracy"]) == 3 == len(scores["splits"]["train-test"]["test_accuracy"])


def test_train_cv_test_scores_match_an_independent_svm():
    dataset = synthetic.series_dataset(n_train=20, n_test=14, length=8, seed=3)
    X_train, X_test = dataset.X[:20], dataset.X[20:]
    y_train, y_test = dataset.y[:20], dataset.y[20:]
    scores = evaluate_setting(get_kernel("rbf", gamma=0.05), dataset, [0.1, 10.0], cv_folds=4, seed=0)
    for c_index, C in enumerate([0.1, 10.0]):
        model = SVC(kernel="rbf", gamma=0.05, C=C).fit(X_train, y_train)
        assert scores["splits"]["train-test"]["test_accuracy"][c_index] == model.score(X_test, y_test)
        cv = [SVC(kernel="rbf", gamma=0.05, C=C).fit(X_train[f], y_train[f]).score(X_train[v], y_train[v])
              for f, v in stratified_folds(y_train, 4, 0)]
        assert scores["selection_accuracy"][c_index] == pytest.approx(np.mean(cv), abs=1e-12)


def test_test_labels_never_influence_the_selection():
    dataset = synthetic.series_dataset(n_train=20, n_test=20, length=10, seed=4)
    y = dataset.y.copy()
    y[20:] = 1 - y[20:]  # flip every test label
    flipped = Dataset(dataset.name, dataset.collection, dataset.X, y, dataset.class_labels, dataset.splits,
                      dataset.info)
    for gamma in (0.01, 0.1):
        kernel = get_kernel("rbf", gamma=gamma)
        a = evaluate_setting(kernel, dataset, [1.0, 100.0])
        b = evaluate_setting(kernel, flipped, [1.0, 100.0])
        assert a["selection_accuracy"] == b["selection_accuracy"]
        np.testing.assert_allclose(np.add(a["splits"]["train-test"]["test_accuracy"],
                                          b["splits"]["train-test"]["test_accuracy"]), 1.0)


def test_folds_shrink_to_the_smallest_class_without_warnings():
    y = np.array([0] * 10 + [1] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(stratified_folds(y, 5, 0)) == 3
        assert len(stratified_folds(np.array([0] * 6 + [1]), 5, 0)) == 2
    folds = stratified_folds(y, 5, 0)
    assert sorted(np.concatenate([v for _, v in folds]).tolist()) == list(range(13))


def test_kernel_inputs_resample_vectors_and_scale_tabular_rows_for_the_rntk():
    ragged = synthetic.unequal_dataset()
    vector = kernel_input(ragged, "vector")
    assert vector.X.shape == (30, 1, 15) and "resampled linearly to length 15" in vector.notes[0]
    sequences = kernel_input(ragged, "sequence")  # unequal lengths as they are, scaled by the training series
    train = ragged.split("train-test").train
    largest = max(np.linalg.norm(ragged.X[i]) for i in train)
    for scaled, original in zip(sequences.X, ragged.X):
        np.testing.assert_allclose(scaled * largest, original)
    assert max(np.linalg.norm(sequences.X[i]) for i in train) == pytest.approx(1.0)
    assert "training series" in sequences.notes[0]
    first = ragged.X[0][0]
    np.testing.assert_allclose(vector.X[0, 0, [0, -1]], first[[0, -1]])
    np.testing.assert_allclose(resample_linear([np.array([[0.0, 2.0]])], 5)[0, 0], [0, 0.5, 1, 1.5, 2])

    table = synthetic.uci_dataset(n=20, n_features=6)
    rows = kernel_input(table, "sequence")
    norms = np.linalg.norm(rows.X, axis=1)
    assert norms.max() == pytest.approx(1.0) and "all 20 rows" in rows.notes[0]
    np.testing.assert_allclose(rows.X * np.linalg.norm(table.X, axis=1).max(), table.X)
    assert kernel_input(table, "vector").X is table.X


def test_arora_protocol_refuses_overlapping_train_and_test_rows():
    dataset = synthetic.uci_dataset(n=20)
    splits = (Split("validation", np.arange(12), np.arange(10, 20)),) + dataset.splits[1:]
    broken = Dataset("x", "uci", dataset.X, dataset.y, dataset.class_labels, splits, dataset.info)
    with pytest.raises(Exception, match="rows in both train and test"):
        evaluate_setting(get_kernel("linear"), broken, [1.0])


def test_svm_fits_that_hit_the_iteration_cap_are_counted_and_noted():
    dataset = synthetic.series_dataset(n_train=20, n_test=10, length=6, seed=7)
    scores = evaluate_setting(get_kernel("linear"), dataset, [1.0], cv_folds=2)
    assert scores["svc_fits"] == 3 and scores["svc_unconverged"] == 0  # 2 folds + the refit
    scores = evaluate_setting(get_kernel("linear"), dataset, [1.0], cv_folds=2, svc_max_iter=1)
    assert scores["svc_unconverged"] == 3 and "3 of 3 SVM fits stopped at max_iter=1" in scores["notes"][-1]


def test_folds_when_every_class_has_one_training_sample():
    """UCR's Fungi has one training series per class: stratification is impossible, plain folds are used."""
    y = np.arange(7)
    folds = stratified_folds(y, 5, 0)
    assert len(folds) == 5
    validation = np.sort(np.concatenate([val for _, val in folds]))
    np.testing.assert_array_equal(validation, y)
    for fit, val in folds:
        assert not set(y[val]) & set(y[fit])


def test_inner_uci_selects_in_each_fold_on_its_training_rows_only(monkeypatch):
    from rntk_bench.protocols import fitting, inner_uci

    dataset = synthetic.uci_dataset()
    seen = []
    original = fitting.GramRows.predictions

    def watching(self, fit, scored, y_fit, C_grid, wanted=None, counts=None, max_iter=None):
        flags = [True] * len(C_grid) if wanted is None else wanted
        seen.extend((np.asarray(fit), np.asarray(scored)) for flag in flags if flag)  # one entry per SVM fit
        return original(self, fit, scored, y_fit, C_grid, wanted, counts, max_iter)

    monkeypatch.setattr(fitting.GramRows, "predictions", watching)
    scores = evaluate_setting(get_kernel("rbf", gamma=0.5), dataset, [1.0, 10.0], protocol="inner-uci")
    assert scores["selection_by_split"] and set(scores["splits"]) == {"fold-0", "fold-1", "fold-2", "fold-3"}
    for name, fold in scores["splits"].items():
        split = dataset.split(name)
        fit, validation = inner_uci.inner_halves(dataset.y[np.asarray(split.train)], 0)
        assert len(fit) + len(validation) == len(split.train) and not set(fit) & set(validation)
        assert fold["n_inner_fit"] == len(fit) and len(fold["selection_accuracy"]) == 2
        assert sum(value is not None for value in fold["test_accuracy"]) == 1
    # Map the representation's positions back to dataset rows (every row is used by some fold, in order).
    used = np.unique(np.concatenate([np.concatenate([s.train, s.test]) for s in dataset.splits
                                     if s.name.startswith("fold-")]))
    trains = [set(np.asarray(dataset.split(f"fold-{k}").train)) for k in range(4)]
    tests = [set(np.asarray(dataset.split(f"fold-{k}").test)) for k in range(4)]
    selection = [(set(used[fit]), set(used[scored])) for fit, scored in seen
                 if any(set(used[fit]) | set(used[scored]) <= train for train in trains)]
    reports = [(set(used[fit]), set(used[scored])) for fit, scored in seen
               if any(set(used[scored]) == test for test in tests)]
    # 4 folds x 2 C selection fits, each inside one fold's training rows; 4 refits scored on the test rows
    assert len(selection) == 8 and len(reports) == 4 and len(seen) == 12
    for fit, scored in reports:
        k = next(k for k in range(4) if scored == tests[k])
        assert fit == trains[k]


def test_a_run_under_inner_uci_may_select_different_settings_per_fold(tmp_path):
    from rntk_bench.config import build_config
    from rntk_bench.run_data import PreloadedDatasets
    from rntk_bench.runner import run_benchmark

    config = build_config(suite="s", datasets=["blobs"], kernels=["rbf"], protocol="inner-uci",
                          grids={"rbf": {"gamma": [0.01, 0.1, 1.0, 10.0], "C": [0.1, 10.0]}})
    outcome = run_benchmark(config, tmp_path / "run", loader=PreloadedDatasets({"blobs": synthetic.uci_dataset()}))
    table = outcome.table
    assert list(table["split"]) == ["fold-0", "fold-1", "fold-2", "fold-3"] and set(table["status"]) == {"ok"}
    assert set(table["protocol"]) == {"inner-uci"}
    assert config.result_fields()["protocol"] == "inner-uci"


def test_series_may_be_read_as_distributed_and_the_choice_is_part_of_the_hash():
    from rntk_bench.config import build_config
    from rntk_bench.errors import InvalidParameterError

    dataset = synthetic.series_dataset()
    scaled = evaluate_setting(get_kernel("rntk"), dataset, [1.0])
    raw = evaluate_setting(get_kernel("rntk"), dataset, [1.0], series_scaling="none")
    assert raw["notes"][0] == "series read as distributed (no scaling)" and "divided by" in scaled["notes"][0]
    default = build_config(suite="s", datasets=["waves"], kernels=["rntk"])
    distributed = build_config(suite="s", datasets=["waves"], kernels=["rntk"], series_scaling="none")
    assert "series_scaling" not in default.result_fields() and default.config_hash != distributed.config_hash
    with pytest.raises(InvalidParameterError, match="must be 'train-norm' or 'none'"):
        build_config(suite="s", datasets=["waves"], kernels=["rntk"], series_scaling="zscore")
