"""Properties every registered kernel must have, parametrised over KERNELS so a new kernel inherits them.

Each kernel is exercised at its defaults and at a few settings of its default grid (plus, for the RNTK, the
activation, output and direction variants).
"""

from __future__ import annotations

import numpy as np
import pytest

from rntk_bench.errors import InvalidInputError, InvalidParameterError
from rntk_bench.kernels import KERNELS, get_kernel


def _inputs(input_kind: str, seed: int):
    """Two independent inputs X (7 cases) and Y (4 cases); sequences of unequal length for sequence kernels."""
    rng = np.random.default_rng(seed)
    if input_kind == "sequence":
        X = [rng.normal(size=(2, length)) for length in (5, 3, 6, 5, 1, 4, 6)]
        Y = [rng.normal(size=(2, length)) for length in (2, 6, 5, 3)]
    else:
        X, Y = rng.normal(size=(7, 6)), rng.normal(size=(4, 6))
    return X, Y


def _settings(name: str) -> list[dict]:
    spec = KERNELS[name]
    X, _ = _inputs(spec.input_kind, 0)
    grid = spec.default_grid(X)
    picks = [{}] + [grid[i] for i in sorted({0, len(grid) // 2, len(grid) - 1})]
    if name == "rntk":
        picks += [
            dict(activation="erf", sigma_h=0.7, n_layers=2),
            dict(output="mean", direction="bidirectional", sigma_h=0.5),
            dict(output="mean", n_layers=2, fixed_layers=1, activation="erf"),
            dict(direction="reversed", n_layers=3, fixed_layers=3),
        ]
    if name == "ntk":
        picks += [dict(activation="erf", sigma_b=0.3, n_layers=2), dict(sigma_w=1.5, sigma_b=0.2, n_layers=3)]
    return picks


CASES = [
    pytest.param(name, setting, id=f"{name}-{index}")
    for name in KERNELS
    for index, setting in enumerate(_settings(name))
]


@pytest.mark.parametrize("name, setting", CASES)
def test_gram_is_symmetric_float64_and_deterministic(name, setting):
    kernel = get_kernel(name, **setting)
    X, _ = _inputs(kernel.spec.input_kind, 1)
    gram = kernel(X)
    assert gram.dtype == np.float64
    assert gram.shape == (7, 7)
    assert np.all(np.isfinite(gram))
    np.testing.assert_allclose(gram, gram.T, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(kernel(X), gram)


@pytest.mark.parametrize("name, setting", CASES)
def test_gram_is_positive_semidefinite(name, setting):
    kernel = get_kernel(name, **setting)
    X, _ = _inputs(kernel.spec.input_kind, 2)
    gram = kernel(X)
    smallest = np.linalg.eigvalsh((gram + gram.T) / 2).min()
    assert smallest >= -1e-8 * np.trace(gram)


@pytest.mark.parametrize("name, setting", CASES)
def test_self_gram_equals_cross_gram_up_to_the_sigma_h_diagonal(name, setting):
    kernel = get_kernel(name, **setting)
    X, Y = _inputs(kernel.spec.input_kind, 3)
    gram, cross_self = kernel(X), kernel(X, X)
    off_diagonal = ~np.eye(len(gram), dtype=bool)
    np.testing.assert_allclose(gram[off_diagonal], cross_self[off_diagonal], rtol=1e-12, atol=1e-15)
    if kernel.params.get("sigma_h", 0.0) > 0:
        # The shared random initial state only exists for a sample paired with itself.
        assert np.all(np.diag(gram) > np.diag(cross_self))
    else:
        np.testing.assert_allclose(np.diag(gram), np.diag(cross_self), rtol=1e-12)
    # A cross Gram is the block of the joint Gram matrix (off its diagonal, where sigma_h does not enter).
    joint = kernel(list(X) + list(Y) if isinstance(X, list) else np.vstack([X, Y]))
    np.testing.assert_allclose(kernel(X, Y), joint[: len(X), len(X):], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(KERNELS))
def test_nan_or_inf_input_names_the_first_bad_sample(name):
    spec = KERNELS[name]
    X, Y = _inputs(spec.input_kind, 4)
    if isinstance(X, list):
        X[3] = X[3].copy()
        X[3][1, -1] = np.inf
    else:
        X[3, 2] = np.nan
        X[5, 0] = np.nan
    kernel = get_kernel(name)
    with pytest.raises(InvalidInputError, match="index 3"):
        kernel(X)
    with pytest.raises(InvalidInputError, match="index 3"):
        kernel(Y, X)


@pytest.mark.parametrize("name", list(KERNELS))
def test_unknown_parameter_lists_the_valid_ones(name):
    with pytest.raises(InvalidParameterError, match="valid parameters") as info:
        get_kernel(name, no_such_parameter=1)
    for parameter in KERNELS[name].params:
        assert parameter in str(info.value)


@pytest.mark.parametrize("name", [name for name, spec in KERNELS.items() if spec.params])
def test_out_of_range_values_are_refused(name):
    spec = KERNELS[name]
    for parameter, description in spec.params.items():
        if description.choices:
            with pytest.raises(InvalidParameterError, match="must be one of"):
                get_kernel(name, **{parameter: "no-such-choice"})
        elif description.low is not None:
            with pytest.raises(InvalidParameterError, match=parameter):
                get_kernel(name, **{parameter: description.low - 1})
        with pytest.raises(InvalidParameterError, match=parameter):
            get_kernel(name, **{parameter: [1, 2]})


@pytest.mark.parametrize("name", [name for name, spec in KERNELS.items() if spec.input_kind == "vector"])
def test_vector_kernels_refuse_unequal_lengths(name):
    X = [np.zeros((1, 4)), np.zeros((1, 5))]
    with pytest.raises(InvalidInputError, match="unequal lengths"):
        get_kernel(name)(X)


@pytest.mark.parametrize("name", [name for name, spec in KERNELS.items() if spec.input_kind == "vector"])
def test_vector_kernels_flatten_three_dimensional_input(name):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(4, 2, 3))
    kernel = get_kernel(name)
    np.testing.assert_array_equal(kernel(X), kernel(X.reshape(4, 6)))


@pytest.mark.parametrize("name", [name for name, spec in KERNELS.items() if spec.input_kind == "sequence"])
def test_sequence_kernels_read_every_input_convention_alike(name):
    rng = np.random.default_rng(6)
    univariate = rng.normal(size=(3, 5))
    kernel = get_kernel(name, output="mean", sigma_h=0.2)
    expected = kernel(univariate)
    np.testing.assert_allclose(kernel(univariate[:, None, :]), expected, rtol=1e-13)
    np.testing.assert_allclose(kernel(list(univariate)), expected, rtol=1e-13)
    np.testing.assert_allclose(kernel([row[None, :] for row in univariate]), expected, rtol=1e-13)
