"""GramRows and FeatureRows: every C of one (fit rows, scored rows) on one slice, equal to a fit per C."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.svm import SVC

from rntk_bench.errors import InvalidInputError, InvalidParameterError
from rntk_bench.protocols.fitting import FeatureRows, GramRows


def _problem(seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int) + (X[:, 1] > 1).astype(int)  # three classes
    return X, y, rng.permutation(n)


def test_gram_rows_predict_what_one_svm_per_C_predicts_on_its_own_slices():
    X, y, order = _problem()
    K = np.exp(-0.3 * ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    fit, scored = order[:40], order[40:]
    C_grid = [0.01, 1.0, 100.0, 1e4]
    counts = {}
    got = GramRows(K).predictions(fit, scored, y[fit], C_grid, None, counts, 1000)
    for C, labels in zip(C_grid, got):
        model = SVC(kernel="precomputed", C=C, max_iter=1000).fit(K[np.ix_(fit, fit)], y[fit])
        np.testing.assert_array_equal(labels, model.predict(K[np.ix_(scored, fit)]))
    assert counts["fits"] == 4
    assert len({tuple(labels) for labels in got}) > 1  # the Cs really differ on this problem


def test_only_the_wanted_Cs_are_fit_and_the_others_are_None():
    X, y, order = _problem(seed=1)
    K = X @ X.T
    rows = GramRows(K)
    counts = {}
    got = rows.predictions(order[:30], order[30:], y[order[:30]], [0.1, 1.0, 10.0], [False, True, False], counts)
    assert got[0] is None and got[2] is None and got[1].shape == (30,)
    assert counts == {"fits": 1, "unconverged": 0}
    assert rows.predictions(order[:30], order[30:], y[order[:30]], [0.1, 1.0], [False, False], counts) == [None, None]
    assert counts["fits"] == 1
    with pytest.raises(InvalidParameterError, match="2 flags for 3 values of C"):
        rows.predictions(order[:30], order[30:], y[order[:30]], [0.1, 1.0, 10.0], [True, False])


def test_a_gram_matrix_with_nan_or_inf_is_refused_when_made():
    K = np.eye(4)
    for bad in (np.nan, np.inf):
        K[1, 2] = bad
        with pytest.raises(InvalidInputError, match="NaN or infinite"):
            GramRows(K)


def test_feature_rows_give_each_C_the_same_rows():
    X, y, order = _problem(seed=2)
    calls = []

    def solver(F_fit, y_fit, F_scored, C, counts, max_iter):
        calls.append((F_fit.copy(), F_scored.copy(), C))
        return np.full(len(F_scored), int(C))

    rows = FeatureRows(X, solver)
    got = rows.predictions(order[:20], order[20:], y[order[:20]], [1.0, 2.0, 3.0], [True, False, True])
    assert got[1] is None and list(got[0]) == [1] * 40 and list(got[2]) == [3] * 40
    assert [C for _, _, C in calls] == [1.0, 3.0]
    for F_fit, F_scored, _ in calls:
        np.testing.assert_array_equal(F_fit, X[order[:20]])
        np.testing.assert_array_equal(F_scored, X[order[20:]])


def test_the_fits_benchmark_compares_two_ways_of_slicing_that_predict_the_same():
    from benchmarks.fits import SlicedPerFit, table

    X, y, order = _problem(seed=3)
    K = (1.0 + X @ X.T / 5) ** 2
    args = (order[:45], order[45:], y[order[:45]], [0.01, 1.0, 100.0], [True, False, True])
    old, new = SlicedPerFit(K).predictions(*args), GramRows(K).predictions(*args)
    assert old[1] is None and new[1] is None
    for a, b in zip(old[::2], new[::2]):
        np.testing.assert_array_equal(a, b)
    lines = table([{"dataset": "d", "protocol": "arora-uci", "rows": 60, "fits": 9, "per_fit_s": 1.5,
                    "per_rows_s": 1.0, "same": True}])
    assert lines[-1] == "| d | arora-uci | 60 | 9 | 1.50 | 1.00 | 1.50x | yes |"
