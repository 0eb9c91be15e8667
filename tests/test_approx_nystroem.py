"""Nystroem features (rntk_bench.approx.NystroemMap): exactness where it must hold, convergence, memory
tiles, the diagonal-term convention, and the errors for bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from rntk_bench.approx import SAMPLINGS, NotFittedError, NystroemMap, gram_errors, leverage_scores
from rntk_bench.errors import InvalidInputError, InvalidParameterError, RntkBenchError
from rntk_bench.kernels import get_kernel


def _vectors(n=60, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, (n, 1))


def _series(n=14, seed=0):
    """Univariate series of unequal length, as a list of (1, T_i) arrays (the sequence kernels' convention)."""
    rng = np.random.default_rng(seed)
    return [0.3 * rng.standard_normal((1, int(T))) for T in rng.integers(4, 9, size=n)]


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_all_rows_as_landmarks_reproduce_the_gram_matrix(sampling):
    X = _vectors(40)
    k = get_kernel("rbf", gamma=0.2)
    F = NystroemMap(k, 40, sampling=sampling, seed=1).fit(X).transform(X)
    assert F.shape == (40, 40) and F.dtype == np.float64
    np.testing.assert_allclose(F @ F.T, k(X), atol=1e-8)


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_landmarks_are_reproduced_and_errors_fall_with_m(sampling):
    X = _vectors(80)
    k = get_kernel("ntk", n_layers=2)
    exact = k(X)
    errors = []
    for m in (5, 20, 60):
        mapping = NystroemMap(k, m, sampling=sampling, seed=3).fit(X)
        F = mapping.transform(X)
        assert len(np.unique(mapping.landmark_indices_)) == m
        L = F[mapping.landmark_indices_]
        np.testing.assert_allclose(L @ L.T, exact[np.ix_(mapping.landmark_indices_, mapping.landmark_indices_)],
                                   rtol=1e-7, atol=1e-9 * np.abs(exact).max())
        errors.append(gram_errors(exact, F)["frobenius"])
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.08


def test_train_and_test_rows_share_one_map():
    X = _vectors(70, seed=4)
    train, test = X[:50], X[50:]
    k = get_kernel("rbf", gamma=0.1)
    mapping = NystroemMap(k, 50, seed=0).fit(train)
    # with every training row a landmark, the cross block is exact: k(test, L) K_LL^-1 K_LL ... = k(test, train)
    np.testing.assert_allclose(mapping.transform(test) @ mapping.transform(train).T, k(test, train), atol=1e-8)


def test_rntk_initial_state_term_is_left_out_consistently():
    """K_LL is the cross Gram matrix: features reproduce k(X, X), not k(X), whose diagonal has sigma_h."""
    X = _series()
    k = get_kernel("rntk", sigma_h=0.5)
    F = NystroemMap(k, len(X), sampling="leverage", seed=0).fit(X).transform(X)
    cross, own = k(X, X), k(X)
    np.testing.assert_allclose(F @ F.T, cross, rtol=1e-6, atol=1e-9)
    assert np.all(np.diag(own) - np.diag(F @ F.T) > 1e-3)  # the white-noise term is not in the features


def test_transform_works_in_bounded_tiles():
    X = _vectors(50)
    calls = []
    k = get_kernel("ntk", n_layers=1)

    def recording(A, B=None):
        calls.append(len(A))
        return k(A, B)

    full = NystroemMap(k, 10, seed=2).fit(X).transform(X)
    mapping = NystroemMap(recording, 10, seed=2, chunk_rows=7).fit(X)
    calls.clear()
    tiled = mapping.transform(X)
    assert max(calls) == 7 and sum(calls) == 50
    np.testing.assert_allclose(tiled, full, rtol=1e-12, atol=1e-14)


def test_kmeans_takes_one_landmark_per_cluster():
    rng = np.random.default_rng(0)
    centres = 10.0 * rng.standard_normal((5, 3))
    labels = np.repeat(np.arange(5), [40, 25, 10, 4, 1])  # uniform sampling would often miss the small ones
    X = centres[labels] + 0.01 * rng.standard_normal((len(labels), 3))
    mapping = NystroemMap(get_kernel("rbf", gamma=0.05), 5, sampling="kmeans", seed=0).fit(X)
    assert sorted(labels[mapping.landmark_indices_]) == [0, 1, 2, 3, 4]


def test_leverage_scores_of_a_diagonal_matrix():
    w = np.array([10.0, 5.0, 1.0, 0.1, 0.0])
    scores = leverage_scores(np.diag(w), 2.0)
    assert scores.sum() == pytest.approx(2.0, rel=1e-6)
    lam = w[0] / scores[0] - w[0]  # score_i = w_i / (w_i + lam)
    np.testing.assert_allclose(scores, w / (w + lam), rtol=1e-9, atol=1e-15)
    assert scores[-1] == 0.0 and np.all(np.diff(scores) < 0)


def test_sequences_with_every_sequence_sampling():
    X = _series(20, seed=5)
    k = get_kernel("rntk", n_layers=2, output="mean")
    for sampling in ("uniform", "leverage"):
        F = NystroemMap(k, 8, sampling=sampling, seed=0).fit(X).transform(X[:5])
        assert F.shape[0] == 5 and 1 <= F.shape[1] <= 8


def test_auto_sampling_is_kmeans_for_vectors_and_uniform_for_sequences():
    assert NystroemMap(get_kernel("rbf"), 4, seed=0).fit(_vectors(20)).sampling_ == "kmeans"
    assert NystroemMap(get_kernel("rntk"), 4, seed=0).fit(_series()).sampling_ == "uniform"
    assert NystroemMap(get_kernel("rbf"), 4, sampling="leverage", seed=0).fit(_vectors(20)).sampling_ == "leverage"


def test_clone_and_parameters():
    mapping = NystroemMap(get_kernel("rbf"), 7, sampling="leverage", seed=4)
    copy = clone(mapping)
    assert copy.get_params()["m"] == 7 and copy.get_params()["sampling"] == "leverage"
    assert NystroemMap("linear", 3, seed=0).fit(_vectors(10)).transform(_vectors(4)).shape[0] == 4


def test_a_fitted_map_pickles_with_its_registered_kernel():
    X = _series(12, seed=6)
    mapping = NystroemMap(get_kernel("rntk", n_layers=2, sigma_h=0.3), 6, seed=0).fit(X)
    copy = pickle.loads(pickle.dumps(mapping))
    assert copy.kernel_ == mapping.kernel_ and copy.kernel == mapping.kernel
    np.testing.assert_array_equal(copy.transform(X), mapping.transform(X))


def test_m_larger_than_n_names_both():
    with pytest.raises(InvalidParameterError, match=r"m=30 .* n=20 rows"):
        NystroemMap(get_kernel("rbf"), 30).fit(_vectors(20))
    with pytest.raises(InvalidParameterError, match="m must be a positive integer; got 0"):
        NystroemMap(get_kernel("rbf"), 0).fit(_vectors(20))


def test_unknown_sampling_lists_the_choices():
    message = "unknown sampling 'greedy'; choices: auto, uniform, kmeans, leverage"
    with pytest.raises(InvalidParameterError, match=message):
        NystroemMap(get_kernel("rbf"), 3, sampling="greedy").fit(_vectors(10))


def test_kmeans_is_refused_for_sequences():
    with pytest.raises(InvalidParameterError, match=r"'kmeans' needs vector inputs, but kernel rntk\[.*sequences"):
        NystroemMap(get_kernel("rntk"), 3, sampling="kmeans").fit(_series())


def test_a_kernel_without_cross_gram_is_named():
    def own_only(X, Y=None):
        if Y is not None:
            raise NotImplementedError("only K(X)")
        return np.ones((len(X), len(X)))

    with pytest.raises(InvalidParameterError, match="kernel own_only cannot compute a cross Gram matrix.*only K"):
        NystroemMap(own_only, 3).fit(_vectors(10))

    def wrong_shape(X, Y):
        return np.ones((len(X), 1))

    with pytest.raises(InvalidParameterError, match=r"kernel wrong_shape returned shape \(3, 1\)"):
        NystroemMap(wrong_shape, 3).fit(_vectors(10))


def test_kernel_input_errors_pass_through():
    X = _vectors(10)
    X[4, 2] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        NystroemMap(get_kernel("rbf"), 3).fit(X)


def test_transform_before_fit():
    with pytest.raises(NotFittedError, match="call fit") as info:
        NystroemMap(get_kernel("rbf"), 3).transform(_vectors(5))
    assert isinstance(info.value, RntkBenchError) and isinstance(info.value, SklearnNotFittedError)
