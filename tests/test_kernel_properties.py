"""Properties every registered kernel must have, parametrised over KERNELS so a new kernel inherits them.

The kernel contract itself (result type, determinism, symmetry, K(X) against K(X, X), positive
semi-definiteness, input conventions, bad input, pickling) is :func:`rntk_bench.testing.check_kernel`, the
check plugin authors run too; it runs here for each kernel at its defaults and at a few settings of its
default grid (plus, for the RNTK, the activation, output and direction variants). The other tests check what
the contract leaves open: the messages, the parameter validation, and the RNTK's initial-state term.
"""

from __future__ import annotations

import numpy as np
import pytest

from rntk_bench.errors import InvalidInputError, InvalidParameterError
from rntk_bench.kernels import KERNELS, get_kernel
from rntk_bench.testing import check_kernel

DIAGONAL_PARAMS = {"rntk": ("sigma_h",)}
"""Parameters of a term that only a sample paired with itself has (docs/kernels.md, "The initial state as a
diagonal term")."""


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
def test_kernel_keeps_the_contract(name, setting):
    # Built-in kernels validate with rntk_bench's helpers, so they must raise its InvalidInputError.
    check_kernel(name, diagonal_params=DIAGONAL_PARAMS.get(name, ()), input_error=InvalidInputError, **setting)


def test_the_rntk_initial_state_adds_to_the_diagonal_of_k_x_only():
    kernel = get_kernel("rntk", sigma_h=0.5, n_layers=2)
    X, _ = _inputs("sequence", 3)
    gram, cross_self = kernel(X), kernel(X, X)
    off_diagonal = ~np.eye(len(gram), dtype=bool)
    np.testing.assert_allclose(gram[off_diagonal], cross_self[off_diagonal], rtol=1e-12, atol=1e-15)
    # The shared random initial state only exists for a sample paired with itself; strictly, with sigma_h > 0.
    assert np.all(np.diag(gram) > np.diag(cross_self))


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
def test_vector_kernels_refuse_unequal_lengths_saying_so(name):
    X = [np.zeros((1, 4)), np.zeros((1, 5))]
    with pytest.raises(InvalidInputError, match="unequal lengths"):
        get_kernel(name)(X)
