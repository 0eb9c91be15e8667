"""KernelSVC: the runner's numbers from a scikit-learn estimator, its parameters, inputs and Gram cache."""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from rntk_bench.data import load_dataset
from rntk_bench.errors import InvalidInputError, InvalidParameterError
from rntk_bench.estimators import KernelSVC, cache_info, clear_gram_cache
from rntk_bench.kernels import Kernel, get_kernel
from rntk_bench.protocols import evaluate_setting, get_protocol, protocol_input, take

_SPEC = importlib.util.spec_from_file_location("synthetic", Path(__file__).parent / "data" / "runner" / "synthetic.py")
synthetic = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(synthetic)


@pytest.fixture(autouse=True)
def empty_cache():
    clear_gram_cache()
    yield
    clear_gram_cache()


@pytest.fixture(scope="module")
def gunpoint():
    return load_dataset("GunPoint")


def _split(dataset, labels=None):
    split = dataset.split("train-test")
    y = dataset.y if labels is None else labels
    return take(dataset.X, split.train), y[split.train], take(dataset.X, split.test), y[split.test]


def _runner_blocks(kernel: Kernel, dataset):
    """The Gram blocks the runner's train-cv-test protocol computes for ``dataset``."""
    protocol = get_protocol("train-cv-test")
    X = protocol_input(dataset, kernel.spec.input_kind, protocol).X
    split = dataset.split("train-test")
    X_train = take(X, split.train)
    return X_train, kernel(X_train), kernel(take(X, split.test), X_train)


# -- the runner's numbers --------------------------------------------------------------------------------------

RNTK_SETTINGS = [
    ({"sigma_u": 0.5, "sigma_h": 0.5}, 1.0),
    ({"sigma_u": 1.0, "sigma_b": 0.001, "sigma_h": 0.5, "n_layers": 2}, 100.0),
    ({"sigma_u": 0.25, "sigma_h": 0.5, "direction": "bidirectional"}, 10.0),
]


@pytest.mark.parametrize(("params", "C"), RNTK_SETTINGS)
def test_test_accuracy_equals_the_runners_on_gunpoint(gunpoint, params, C):
    scores = evaluate_setting(get_kernel("rntk", **params), gunpoint, [C])
    runner_accuracy = scores["splits"]["train-test"]["test_accuracy"][0]
    labels = gunpoint.class_labels.astype(str)[gunpoint.y]  # labels as published, strings: not the codes
    X_train, y_train, X_test, y_test = _split(gunpoint, labels)
    estimator = KernelSVC(kernel="rntk", C=C, **params).fit(X_train, y_train)
    assert estimator.score(X_test, y_test) == runner_accuracy

    # the same numbers all the way: scaled input, both Gram blocks, and the SVM's decision values
    kernel = get_kernel("rntk", **params)
    runner_X_train, K_train, K_test = _runner_blocks(kernel, gunpoint)
    assert np.array_equal(estimator.X_fit_, runner_X_train)
    assert np.array_equal(estimator._test_gram(X_test), K_test)
    runner_svc = SVC(kernel="precomputed", C=C, max_iter=estimator.max_iter).fit(K_train, y_train)
    assert np.array_equal(estimator.decision_function(X_test), runner_svc.decision_function(K_test))
    # the self-pair term is in the training block: without it the SVM would see another matrix
    assert not np.array_equal(K_train, kernel(runner_X_train, runner_X_train))


@pytest.mark.parametrize("kernel_name", ["rntk", "ntk"])
def test_test_accuracy_equals_the_runners_on_unequal_lengths(kernel_name):
    dataset = synthetic.unequal_dataset()
    X_train, y_train, X_test, y_test = _split(dataset)
    # the runner resamples to the longest length of the whole dataset, the estimator to the longest training
    # length: the same when the longest series is a training series, as here
    assert max(np.shape(x)[-1] for x in X_train) == max(np.shape(x)[-1] for x in dataset.X)
    params = {"sigma_h": 0.5} if kernel_name == "rntk" else {"n_layers": 2}
    scores = evaluate_setting(get_kernel(kernel_name, **params), dataset, [10.0])
    estimator = KernelSVC(kernel=kernel_name, C=10.0, **params).fit(X_train, y_train)
    assert estimator.score(X_test, y_test) == scores["splits"]["train-test"]["test_accuracy"][0]
    _, _, K_test = _runner_blocks(get_kernel(kernel_name, **params), dataset)
    assert np.array_equal(estimator._test_gram(X_test), K_test)


def test_the_training_scale_is_reused_at_predict(gunpoint):
    X_train, y_train, X_test, _ = _split(gunpoint)
    estimator = KernelSVC(kernel="rntk").fit(X_train, y_train)
    assert estimator.input_scale_ == max(np.linalg.norm(x) for x in X_train)
    # predicting one series gives what it gives among others: nothing is scaled by the test rows
    one = estimator.decision_function(X_test[:1])
    assert np.array_equal(one, estimator.decision_function(X_test)[:1])


# -- parameters ------------------------------------------------------------------------------------------------

def test_kernel_parameters_are_estimator_parameters():
    estimator = KernelSVC(kernel="rntk", C=3.0, sigma_u=0.25, n_layers=2)
    assert estimator.get_params() == {"kernel": "rntk", "C": 3.0, "max_iter": estimator.max_iter,
                                      "sigma_u": 0.25, "n_layers": 2}
    twin = clone(estimator)
    assert twin.get_params() == estimator.get_params() and twin is not estimator
    twin.set_params(sigma_u=1.0, sigma_h=0.5, C=10.0)
    assert twin.get_params()["sigma_u"] == 1.0 and twin.get_params()["sigma_h"] == 0.5
    assert estimator.get_params()["sigma_u"] == 0.25 and "sigma_h" not in estimator.get_params()
    assert repr(estimator) == "KernelSVC(C=3.0, n_layers=2, sigma_u=0.25)"


def test_set_params_refuses_names_the_kernel_does_not_have():
    with pytest.raises(InvalidParameterError, match="'sigma_uu'.*valid parameters: C, activation"):
        KernelSVC(kernel="rntk").set_params(sigma_uu=0.5)
    # a new kernel's parameters are checked against the new kernel, whatever the order of the names
    estimator = KernelSVC(kernel="rntk").set_params(gamma=0.1, kernel="rbf")
    assert estimator.get_params()["gamma"] == 0.1


@pytest.mark.parametrize(
    ("estimator", "message"),
    [
        (KernelSVC(kernel="rntk", sigma_u=-1.0), r"rntk parameter 'sigma_u' must lie in \[0, inf\]; got -1"),
        (KernelSVC(kernel="rntk", fixed_layers=3), r"'fixed_layers' must lie in \[0, n_layers=1\]"),
        (KernelSVC(kernel="rntk", activation="tanh"), r"'activation' must be one of 'relu', 'erf'"),
        (KernelSVC(kernel="rbf", sigma_u=0.5), r"unknown parameter\(s\) 'sigma_u' for kernel 'rbf'"),
        (KernelSVC(kernel="rnkt"), r"unknown kernel 'rnkt'; registered kernels: .*rntk"),
        (KernelSVC(kernel="rbf", C=0.0), r"'C' must be a finite number > 0; got 0.0"),
        (KernelSVC(kernel="rbf", max_iter=0), r"'max_iter' must be an integer >= 1, or -1"),
    ],
)
def test_invalid_parameters_are_refused_at_fit_by_the_registry(estimator, message):
    X, y = np.random.default_rng(0).normal(size=(6, 4)), np.array([0, 1] * 3)
    with pytest.raises(InvalidParameterError, match=message):
        estimator.fit(X, y)


# -- inputs and labels -----------------------------------------------------------------------------------------

def test_rntk_reads_2d_3d_and_list_input_alike(rng):
    X = rng.normal(size=(12, 15))
    y = np.array(["up", "down"] * 6)
    forms = [X, X[:, None, :], [row[None, :] for row in X], [row for row in X]]
    decisions = []
    for form in forms:
        estimator = KernelSVC(kernel="rntk", sigma_h=0.5).fit(form, y)
        assert list(estimator.classes_) == ["down", "up"]
        assert set(estimator.predict(form[:4])) <= {"down", "up"}
        decisions.append(estimator.decision_function(form))
    for decision in decisions[1:]:
        assert np.array_equal(decision, decisions[0])


def test_rntk_reads_unequal_lengths_and_multivariate_series(rng):
    X = [rng.normal(size=(2, length)) for length in (8, 11, 9, 14, 10, 12)]
    y = np.array([0, 1, 0, 1, 0, 1])
    estimator = KernelSVC(kernel="rntk").fit(X, y)
    assert estimator.predict([rng.normal(size=(2, 20)), rng.normal(size=(2, 5))]).shape == (2,)
    assert not hasattr(estimator, "n_features_in_")  # series may have any length at predict
    with pytest.raises(InvalidInputError, match="channels"):
        estimator.predict(rng.normal(size=(3, 3, 10)))


def test_vector_kernels_resample_lists_to_the_longest_training_length(rng):
    X = [rng.normal(size=length) for length in (8, 11, 9, 14, 10, 12)]
    y = np.array([0, 1, 0, 1, 0, 1])
    estimator = KernelSVC(kernel="ntk").fit(X, y)
    assert estimator.series_length_ == 14 and estimator.n_features_in_ == 14
    assert estimator.predict([rng.normal(size=30), rng.normal(size=5)]).shape == (2,)
    with pytest.raises(ValueError, match="X has 5 features, but KernelSVC is expecting 14"):
        estimator.predict(rng.normal(size=(2, 5)))  # arrays are vectors: never resampled


def test_vector_kernels_flatten_3d_input(rng):
    X = rng.normal(size=(10, 2, 6))
    y = np.arange(10) % 2
    flat = KernelSVC(kernel="rbf").fit(X.reshape(10, -1), y).decision_function(X.reshape(10, -1))
    estimator = KernelSVC(kernel="rbf").fit(X, y)
    assert estimator.n_features_in_ == 12
    assert np.array_equal(estimator.decision_function(X), flat)


def test_invalid_input_names_the_sample(rng):
    X = rng.normal(size=(6, 10))
    X[4, 3] = np.nan
    with pytest.raises(InvalidInputError, match="first bad sample is index 4"):
        KernelSVC(kernel="rntk").fit(X, np.arange(6) % 2)
    X[4, 3] = 1e200
    with pytest.raises(InvalidInputError, match=r"X\[4\] holds values too large"):
        KernelSVC(kernel="rntk").fit(X, np.arange(6) % 2)
    with pytest.raises(InvalidInputError, match="requires y to be passed"):
        KernelSVC(kernel="rntk").fit(X, None)


def test_a_fitted_estimator_pickles(rng):
    X, y = rng.normal(size=(10, 12)), np.arange(10) % 2
    for kernel in ("rntk", "ntk"):
        estimator = KernelSVC(kernel=kernel).fit(X, y)
        copy = pickle.loads(pickle.dumps(estimator))
        assert np.array_equal(copy.decision_function(X), estimator.decision_function(X))


# -- the Gram cache and searches -------------------------------------------------------------------------------

@pytest.fixture
def kernel_calls(monkeypatch):
    """Every Gram matrix a Kernel computes, as ``"train"`` (k(X)) or ``"cross"`` (k(X, Y))."""
    calls = []
    original = Kernel.__call__

    def counting(self, X, Y=None):
        calls.append("train" if Y is None else "cross")
        return original(self, X, Y)

    monkeypatch.setattr(Kernel, "__call__", counting)
    return calls


def test_a_search_over_c_computes_each_folds_gram_once(gunpoint, kernel_calls):
    X_train, y_train, _, _ = _split(gunpoint)
    search = GridSearchCV(KernelSVC(kernel="rntk", sigma_h=0.5), {"C": [0.1, 1.0, 10.0, 100.0]}, cv=3, n_jobs=1)
    search.fit(X_train, y_train)
    # per fold one training block and one validation block, whatever the number of C values; plus the refit
    assert kernel_calls.count("train") == 3 + 1
    assert kernel_calls.count("cross") == 3
    assert cache_info()["hits"] == (4 - 1) * 3 * 2


def test_the_cache_tells_kernel_settings_and_inputs_apart(rng, kernel_calls):
    X, y = rng.normal(size=(10, 12)), np.arange(10) % 2
    first = KernelSVC(kernel="rntk", sigma_u=0.5).fit(X, y).decision_function(X)
    KernelSVC(kernel="rntk", sigma_u=0.5 + 1e-14).fit(X, y)  # the same canonical id, another setting
    KernelSVC(kernel="rntk", sigma_u=0.5).fit(X[:-1], y[:-1])
    assert kernel_calls == ["train", "cross", "train", "train"]
    again = KernelSVC(kernel="rntk", sigma_u=0.5).fit(X, y).decision_function(X)
    assert kernel_calls == ["train", "cross", "train", "train"] and np.array_equal(first, again)
    with pytest.raises(ValueError, match="read-only"):
        KernelSVC(kernel="rntk", sigma_u=0.5).fit(X, y)._test_gram(X)[0, 0] = 1.0


def test_grid_search_over_rntk_parameters_on_gunpoint(gunpoint):
    X_train, y_train, X_test, y_test = _split(gunpoint)
    grid = {"sigma_u": [0.5, 1.0], "C": [1.0, 100.0]}
    search = GridSearchCV(KernelSVC(kernel="rntk"), grid, cv=3).fit(X_train, y_train)
    assert set(search.best_params_) == {"sigma_u", "C"}
    assert len(search.cv_results_["params"]) == 4
    best = search.best_estimator_
    assert best.get_params()["sigma_u"] == search.best_params_["sigma_u"] and best.C == search.best_params_["C"]
    assert search.score(X_test, y_test) > 0.7  # the benchmark's RNTK scores about 0.9 on GunPoint


def test_pipeline_and_search_with_step_names(rng):
    X = rng.normal(size=(30, 8))
    y = (X[:, 0] + 0.3 * rng.normal(size=30) > 0).astype(int)
    pipeline = Pipeline([("scale", StandardScaler()), ("svc", KernelSVC(kernel="ntk"))])
    search = GridSearchCV(pipeline, {"svc__n_layers": [1, 2], "svc__C": [1.0, 10.0]}, cv=3).fit(X, y)
    assert set(search.best_params_) == {"svc__n_layers", "svc__C"}
    assert search.best_estimator_.named_steps["svc"].kernel_id_.startswith("ntk[")


def test_refitting_with_another_kernel_kind_leaves_no_stale_attributes(rng):
    X, y = rng.normal(size=(10, 12)), np.arange(10) % 2
    estimator = KernelSVC(kernel="rbf").fit(X, y)
    assert estimator.n_features_in_ == 12 and estimator.input_scale_ is None
    estimator.set_params(kernel="rntk").fit(X, y)
    assert not hasattr(estimator, "n_features_in_") and estimator.series_length_ is None
    assert estimator.kernel_id_.startswith("rntk[") and estimator.predict(X[:, :7]).shape == (10,)
