"""The linear SVM on features (rntk_bench.approx.FeatureSVC) against SVC on the precomputed Gram F F^T."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.svm import SVC

from rntk_bench.approx import FeatureSVC, NotFittedError, NystroemMap
from rntk_bench.errors import InvalidParameterError
from rntk_bench.kernels import get_kernel


def _problem(n_classes, n=240, seed=0):
    rng = np.random.default_rng(seed)
    centres = 1.5 * rng.standard_normal((n_classes, 5))
    y = rng.integers(n_classes, size=n)
    return centres[y] + rng.standard_normal((n, 5)), y


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("C", [0.1, 10.0])
def test_predictions_agree_with_precomputed_svc(n_classes, C):
    X, y = _problem(n_classes)
    train, test = slice(0, 160), slice(160, None)
    mapping = NystroemMap(get_kernel("ntk", n_layers=2), 60, seed=0).fit(X[train])
    F_train, F_test = mapping.transform(X[train]), mapping.transform(X[test])
    exact = SVC(kernel="precomputed", C=C).fit(F_train @ F_train.T, y[train]).predict(F_test @ F_train.T)
    linear = FeatureSVC(C=C).fit(F_train, y[train]).predict(F_test)
    assert np.mean(linear == exact) >= 0.95
    assert abs(np.mean(linear == y[test]) - np.mean(exact == y[test])) <= 0.04


def test_the_one_vs_one_scheme_is_what_svc_does():
    X, y = _problem(4, seed=3)
    F = NystroemMap(get_kernel("rbf", gamma=0.1), 40, seed=0).fit(X).transform(X)
    ovo = FeatureSVC(C=1.0).fit(F, y)
    assert ovo.decision_function(F).shape == (len(y), 4)
    assert len(ovo.estimator_.estimators_) == 6  # one per pair of classes
    assert ovo.intercept_scaling_ == pytest.approx(np.linalg.norm(F, axis=1).max())


def test_bad_input():
    F, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(InvalidParameterError, match="C must be a positive number; got 0"):
        FeatureSVC(C=0).fit(F, y)
    with pytest.raises(InvalidParameterError, match="unknown multiclass 'ova'; choices: ovo, ovr"):
        FeatureSVC(multiclass="ova").fit(F, y)
    with pytest.raises(InvalidParameterError, match="intercept_scaling must be a positive number or 'auto'"):
        FeatureSVC(intercept_scaling=-1).fit(F, y)
    with pytest.raises(NotFittedError, match="call fit"):
        FeatureSVC().predict(F)


def test_the_squared_hinge_converges_at_large_C_and_stays_close_to_svc():
    """The loss the runner uses: the primal solver converges at C = 100 where the hinge dual stops early, and
    its predictions stay close to SVC's on the same features (a different loss, so not identical)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    X, y = _problem(2, n=300, seed=5)
    train, test = slice(0, 200), slice(200, None)
    mapping = NystroemMap(get_kernel("rbf", gamma=0.2), 80, seed=0).fit(X[train])
    F_train, F_test = mapping.transform(X[train]), mapping.transform(X[test])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = FeatureSVC(C=100.0, loss="squared_hinge", max_iter=1000).fit(F_train, y[train])
    exact = SVC(kernel="precomputed", C=1.0).fit(F_train @ F_train.T, y[train]).predict(F_test @ F_train.T)
    assert np.mean(FeatureSVC(C=1.0, loss="squared_hinge").fit(F_train, y[train]).predict(F_test) == exact) >= 0.9
    assert np.mean(model.predict(F_test) == y[test]) >= 0.7
    with pytest.raises(InvalidParameterError, match="unknown loss 'l1'; choices: hinge, squared_hinge"):
        FeatureSVC(loss="l1").fit(F_train, y[train])
