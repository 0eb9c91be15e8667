"""The estimators pass scikit-learn's and sktime's own conformance checks."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from rntk_bench.data import load_dataset
from rntk_bench.estimators import KernelSVC, RNTKClassifier
from rntk_bench.kernels import KERNELS
from rntk_bench.protocols import SVC_MAX_ITER, take

SEQUENCE_KERNEL_FAILURES = {
    # A sequence kernel reads series of any length, so the number of time points at predict may differ from
    # the number at fit: there is no fixed n_features_in_ to set or to enforce.
    "check_n_features_in": "a sequence kernel has no fixed number of features (series lengths vary)",
    "check_n_features_in_after_fitting": "a sequence kernel has no fixed number of features (series lengths "
                                         "vary)",
    "check_classifiers_train": "asserts that predict refuses another number of features, which for a "
                               "sequence kernel is another series length, valid input",
}


def expected_failed_checks(estimator) -> dict[str, str]:
    return SEQUENCE_KERNEL_FAILURES if KERNELS[estimator.kernel].input_kind == "sequence" else {}


@parametrize_with_checks(
    [KernelSVC(kernel=name) for name in ("rbf", "ntk", "poly", "linear", "rntk")],
    expected_failed_checks=expected_failed_checks,
    xfail_strict=True,  # a check that starts passing must leave the list above
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_sktime_estimator_checks():
    from sktime.utils.estimator_checks import check_estimator

    results = check_estimator(RNTKClassifier, raise_exceptions=False, verbose=False)
    failed = {name: result for name, result in results.items() if result != "PASSED"}
    assert len(results) > 200 and not failed, failed


def test_rntk_classifier_takes_the_registry_parameters_and_defaults():
    signature = inspect.signature(RNTKClassifier.__init__).parameters
    defaults = {name: parameter.default for name, parameter in signature.items() if name != "self"}
    assert defaults == {**KERNELS["rntk"].defaults, "C": 1.0, "max_iter": SVC_MAX_ITER}


def test_rntk_classifier_predicts_what_kernel_svc_predicts():
    dataset = load_dataset("GunPoint")
    split = dataset.split("train-test")
    labels = dataset.class_labels.astype(str)[dataset.y]
    X_train, X_test = take(dataset.X, split.train)[:, None, :], take(dataset.X, split.test)[:, None, :]
    params = {"sigma_u": 1.0, "sigma_h": 0.5}
    classifier = RNTKClassifier(C=10.0, **params).fit(X_train, labels[split.train])
    estimator = KernelSVC(kernel="rntk", C=10.0, **params).fit(X_train, labels[split.train])
    assert np.array_equal(classifier.predict(X_test), estimator.predict(X_test))
    assert classifier.score(X_test, labels[split.test]) == estimator.score(X_test, labels[split.test])


@pytest.mark.parametrize("lengths", [(9, 12, 10, 15, 11, 14, 8, 13)])
def test_rntk_classifier_reads_unequal_length_panels(rng, lengths):
    import pandas as pd

    frames = [pd.DataFrame(rng.normal(size=(length, 2))) for length in lengths]
    y = np.array(["a", "b"] * 4)
    classifier = RNTKClassifier().fit(frames, y)
    estimator = KernelSVC(kernel="rntk").fit([frame.to_numpy().T for frame in frames], y)
    assert np.array_equal(classifier.predict(frames), estimator.predict([frame.to_numpy().T for frame in frames]))
