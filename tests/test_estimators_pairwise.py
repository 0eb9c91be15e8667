"""sklearn_kernel: a registered kernel for SVC(kernel=...) and pairwise_kernels, and how it differs from KernelSVC."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.svm import SVC

from rntk_bench.errors import InvalidParameterError
from rntk_bench.estimators import KernelSVC, SklearnKernel, sklearn_kernel
from rntk_bench.kernels import get_kernel

CASES = [("rntk", {"sigma_u": 0.5, "sigma_h": 0.5}), ("ntk", {"n_layers": 2}), ("rbf", {"gamma": 0.1}),
         ("poly", {"degree": 2}), ("linear", {})]


@pytest.mark.parametrize(("name", "params"), CASES)
def test_pairwise_kernels_gives_the_cross_gram_matrix(rng, name, params):
    X, Y = rng.normal(size=(5, 7)), rng.normal(size=(4, 7))
    k = sklearn_kernel(name, **params)
    kernel = get_kernel(name, **params)
    np.testing.assert_allclose(pairwise_kernels(X, Y, metric=k), kernel(X, Y), rtol=1e-12, atol=1e-14)
    # Y omitted: scikit-learn pairs X with itself as two arguments (no self-pair terms)
    np.testing.assert_allclose(pairwise_kernels(X, metric=k), kernel(X, X), rtol=1e-12, atol=1e-14)
    assert isinstance(k(X[0], Y[1]), float)
    assert np.array_equal(k(X, Y), kernel(X, Y)) and np.array_equal(k(X), kernel(X, X))


@pytest.mark.parametrize(("name", "params"), CASES)
def test_svc_with_the_kernel_equals_svc_on_the_cross_gram(rng, name, params):
    X, y = rng.normal(size=(20, 9)), np.arange(20) % 2
    X_test = rng.normal(size=(6, 9))
    kernel = get_kernel(name, **params)
    model = SVC(kernel=sklearn_kernel(name, **params), C=10.0).fit(X, y)
    reference = SVC(kernel="precomputed", C=10.0).fit(kernel(X, X), y)
    assert np.array_equal(model.decision_function(X_test), reference.decision_function(kernel(X_test, X)))
    assert clone(model).kernel == model.kernel


def test_hashable_equal_by_setting_and_picklable():
    k = sklearn_kernel("rntk", sigma_u=0.5)
    assert k == sklearn_kernel("rntk", sigma_u=0.5) and hash(k) == hash(sklearn_kernel("rntk", sigma_u=0.5))
    assert k != sklearn_kernel("rntk", sigma_u=1.0) and k != get_kernel("rntk", sigma_u=0.5)
    assert {k: 1}[sklearn_kernel("rntk", sigma_u=0.5)] == 1
    assert pickle.loads(pickle.dumps(k)) == k and copy.deepcopy(k) == k
    assert isinstance(k, SklearnKernel) and repr(k).startswith("sklearn_kernel(rntk[")
    with pytest.raises(InvalidParameterError, match="'sigma_u' must lie in"):
        sklearn_kernel("rntk", sigma_u=-0.5)


def test_it_leaves_out_the_scaling_and_the_self_pair_term_that_kernel_svc_keeps(rng):
    """Why the docstring sends benchmark users to KernelSVC: SVC(kernel=k) sees k(X, X) on unscaled input."""
    X, y = 3.0 * rng.normal(size=(16, 12)), np.arange(16) % 2
    params = {"sigma_u": 0.5, "sigma_h": 0.5}
    kernel = get_kernel("rntk", **params)
    svc_gram = sklearn_kernel("rntk", **params)(X, X)
    estimator = KernelSVC(kernel="rntk", **params).fit(X, y)
    scale = estimator.input_scale_
    assert scale > 1
    benchmark_gram = kernel(X / scale)
    assert np.array_equal(svc_gram, kernel(X, X))
    # the sigma_h term lies on the diagonal only
    diagonal = np.eye(len(X), dtype=bool)
    assert np.all(benchmark_gram[diagonal] > kernel(X / scale, X / scale)[diagonal])
    assert np.array_equal(benchmark_gram[~diagonal], kernel(X / scale, X / scale)[~diagonal])
    assert not np.allclose(svc_gram, benchmark_gram)
