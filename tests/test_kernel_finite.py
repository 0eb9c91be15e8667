"""Kernels never return inf or NaN silently: inputs too large for float64 are refused by name, and a kernel
matrix with a non-finite entry is refused with the kernel's id and the entry."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rntk_bench.errors import InvalidInputError
from rntk_bench.kernels import KERNELS, Kernel, KernelSpec, get_kernel
from rntk_bench.kernels.validation import check_finite_gram, check_sequences, check_vectors


def test_rntk_refuses_a_series_whose_squared_norm_overflows():
    X = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1], [0.5, 1e308, 0.5]])
    with pytest.raises(InvalidInputError, match=r"^X\[2\] holds values too large .*1e\+308.*Scale the input down"):
        get_kernel("rntk")(X)
    with pytest.raises(InvalidInputError, match=r"^Y\[2\] holds values too large"):
        get_kernel("rntk")(X[:2], X)


def test_series_of_unequal_lengths_are_checked_one_by_one():
    series = [np.ones(3), np.full((2, 4), 1e200), np.ones(2)]
    with pytest.raises(InvalidInputError, match=r"^X\[1\] holds values too large"):
        check_sequences([np.ones((2, 3)), series[1], np.ones((2, 2))])
    # each square is finite but their sum is not
    with pytest.raises(InvalidInputError, match=r"^X\[0\] holds values too large"):
        check_sequences([np.full(4, 1e154)])


def test_a_list_of_series_is_refused_by_the_index_of_its_first_bad_item():
    good = [np.ones((2, 3)), np.ones((2, 5))]
    with pytest.raises(InvalidInputError, match=r"^X\[2\] has 3 channels but X\[0\] has 2"):
        check_sequences([*good, np.ones((3, 4)), np.ones((2, 0))])
    with pytest.raises(InvalidInputError, match=r"^X\[3\] is an empty series"):
        check_sequences([*good, np.ones((2, 4)), np.ones((2, 0)), np.ones((3, 4))])
    with pytest.raises(InvalidInputError, match=r"^X\[1\] must have shape \(n_channels, T_i\) or \(T_i,\)"):
        check_sequences([np.ones(3), np.ones((1, 2, 3))])
    with pytest.raises(InvalidInputError, match=r"^X\[1\] must hold numbers"):
        check_sequences([np.ones(3), ["a", "b"]])
    # ints and float32 are converted; float64 arrays are used as they are, transposed to (T_i, n_channels)
    out = check_sequences([np.arange(3), np.ones(4, dtype=np.float32), good[1][:1]])
    assert [a.shape for a in out] == [(3, 1), (4, 1), (5, 1)] and all(a.dtype == np.float64 for a in out)
    assert np.shares_memory(out[2], good[1])


def test_the_squared_norms_of_concatenated_series_are_each_series_own():
    rng = np.random.default_rng(0)
    items = [rng.normal(size=(2, length)) for length in (1, 7, 3, 1, 12)]
    with pytest.raises(InvalidInputError, match=r"^X\[3\] holds values too large"):
        check_sequences([*items[:3], np.full((2, 1), 1e200), items[4]])
    from rntk_bench.kernels.validation import _concatenated_squared_norms
    norms = _concatenated_squared_norms(np.concatenate(items, axis=1), np.array([a.shape[1] for a in items]))
    np.testing.assert_allclose(norms, [np.sum(a * a) for a in items], rtol=1e-15)


@pytest.mark.parametrize("name", ["ntk", "rbf", "poly", "linear"])
def test_vector_kernels_refuse_a_sample_whose_squared_norm_overflows(name):
    X = np.ones((4, 3))
    X[3, 1] = -2e154
    with pytest.raises(InvalidInputError, match=r"^X\[3\] holds values too large .*-?2e\+154"):
        get_kernel(name)(X)
    with pytest.raises(InvalidInputError, match=r"^Y\[3\] holds values too large"):
        check_vectors(X, "Y")


def test_large_but_representable_inputs_still_work():
    """Values whose squares (and the kernels' products of two variances) stay finite give finite kernels
    that scale as they must."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(5, 6))
    # ReLU kernels without bias or initial state are positively homogeneous of degree 2; a power of two
    # (2^200 ~ 1.6e60) scales every float exactly, so the kernels agree to rounding
    scale = 2.0**200
    for kernel in (get_kernel("rntk", sigma_b=0.0, sigma_h=0.0, n_layers=2), get_kernel("ntk", n_layers=2)):
        np.testing.assert_allclose(kernel(scale * X), scale**2 * kernel(X), rtol=1e-12)
    big = 1e100 * X
    np.testing.assert_allclose(get_kernel("linear")(big), 1e200 * (X @ X.T), rtol=1e-12)
    rbf = get_kernel("rbf")(big)
    assert np.all(np.isfinite(rbf)) and np.all(np.diag(rbf) == 1.0)
    for name in KERNELS:
        assert np.all(np.isfinite(get_kernel(name)(1e10 * X)))


def test_a_result_that_overflows_names_the_kernel_and_the_first_bad_entry():
    # finite squared norms (about 1e300), but (gamma <x, y> + 1)^3 overflows
    X = np.array([[1.0, 1.0], [1e150, 0.0]])
    kernel = get_kernel("poly")
    with pytest.raises(InvalidInputError, match=r"^kernel poly\[coef0=1,degree=3,gamma=None\] gave a non-finite "
                                                r"value \(inf\) at row 0, column 1: .*Scale the input down"):
        kernel(X)
    # the RNTK's variance overflows although the input's squared norm does not
    series = np.array([[0.5], [1.2e154]])
    with pytest.raises(InvalidInputError, match=r"^kernel rntk\[.*sigma_u=2.*\] gave a non-finite value .* at row 0, "
                                                r"column 1"):
        get_kernel("rntk", sigma_u=2.0)(series)
    # the dual activations multiply two variances (sqrt(k11 k22)), which overflows beyond variances of ~1e154
    with pytest.raises(InvalidInputError, match=r"^kernel rntk\[.*\] gave a non-finite value"):
        get_kernel("rntk")(1e100 * np.ones((2, 3)))


def _nan_at_1_0(X, Y=None):
    gram = np.zeros((len(X), len(X) if Y is None else len(Y)))
    gram[1, 0] = np.nan
    gram[2, 2] = np.inf
    return gram


def test_nan_is_refused_like_inf():
    spec = KernelSpec(name="broken", function=_nan_at_1_0, input_kind="vector", default_grid=lambda X: [{}],
                      params={})
    with pytest.raises(InvalidInputError, match=r"^kernel broken\[\] gave a non-finite value \(nan\) at row 1, "
                                                r"column 0"):
        Kernel(spec)(np.ones((3, 2)))
    check_finite_gram(np.ones((2, 2)), "fine[]")


def test_finite_entries_whose_sum_overflows_pass_and_opposite_infinities_are_found():
    # the check sums first: a sum that overflows must fall back to the entries, not refuse them
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_finite_gram(np.full((3, 3), 1e308), "huge[]")
        gram = np.full((3, 3), 1e308)
        gram[2, 1], gram[0, 2] = np.inf, -np.inf                   # a sum of NaN, not of an infinity
        with pytest.raises(InvalidInputError, match=r"gave a non-finite value \(-inf\) at row 0, column 2"):
            check_finite_gram(gram, "huge[]")
