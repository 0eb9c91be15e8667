"""rntk_bench.testing.check_kernel catches kernels that break the contract, and names what they break.

Broken kernels are registered in KERNELS for a test (as a plugin would be) and removed afterwards.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid

import cloudpickle
import numpy as np
import pytest
from joblib.externals.loky import get_reusable_executor

from rntk_bench.errors import InvalidInputError, InvalidParameterError
from rntk_bench.kernels import KERNELS, Kernel, KernelSpec, Param
from rntk_bench.kernels.validation import check_same_width, check_sequences, check_vectors
from rntk_bench.testing import PROPERTIES, CheckResult, check_kernel, check_kernel_report

_UNSEEDED = np.random.default_rng()


def _pair(X, Y):
    """X and Y (X when None) validated as vectors, as a plugin using rntk_bench's helpers would."""
    X = check_vectors(X)
    Y = X if Y is None else check_vectors(Y, "Y")
    check_same_width(X, Y)
    return X, Y


def good_linear(X, Y=None, *, scale: float = 1.0):
    X, Y = _pair(X, Y)
    return scale * (X @ Y.T)


def asymmetric(X, Y=None):
    X, Y = _pair(X, Y)
    return X @ Y.T + 0.01 * np.outer(X[:, 0], Y[:, 1])


def negative(X, Y=None):
    X, Y = _pair(X, Y)
    return -(X @ Y.T)


def noisy(X, Y=None):
    X, Y = _pair(X, Y)
    return X @ Y.T + 1e-6 * _UNSEEDED.random((len(X), len(Y)))


def single_precision(X, Y=None):
    X, Y = _pair(X, Y)
    return (X @ Y.T).astype(np.float32)


def one_column_short(X, Y=None):
    X, Y = _pair(X, Y)
    return (X @ Y.T)[:, :-1]


def nan_tolerant(X, Y=None):
    X = np.nan_to_num(np.asarray(X, dtype=float), posinf=0.0)
    Y = None if Y is None else np.nan_to_num(np.asarray(Y, dtype=float), posinf=0.0)
    X, Y = _pair(X, Y)
    return X @ Y.T


def plain_value_error(X, Y=None):
    X, Y = np.asarray(X, dtype=float), None if Y is None else np.asarray(Y, dtype=float)
    try:
        X, Y = _pair(X, Y)
    except InvalidInputError as exc:
        raise ValueError(str(exc)) from None  # what a plugin with its own checks raises
    return X @ Y.T


def white(X, Y=None, *, noise: float = 0.0):
    """Linear kernel plus white noise: ``noise`` on the diagonal of K(X) only, like WhiteKernel."""
    same = Y is None
    X, Y = _pair(X, Y)
    gram = X @ Y.T
    return gram + noise * np.eye(len(X)) if same else gram


def shrinking(X, Y=None, *, shrink: float = 0.0):
    """A diagonal term that subtracts: no variance does that."""
    same = Y is None
    X, Y = _pair(X, Y)
    gram = X @ Y.T
    return gram - shrink * np.eye(len(X)) if same else gram


def position_weighted(X, Y=None):
    """Weights features by position, and flattens 3-D input time-major: unlike the 2-D input it equals."""
    def flat(Z):
        Z = np.asarray(Z, dtype=float)
        return Z.transpose(0, 2, 1).reshape(len(Z), -1) if Z.ndim == 3 else Z
    X, Y = _pair(flat(X), None if Y is None else flat(Y))
    return (X * np.arange(1, X.shape[1] + 1)) @ Y.T


def channel_means(X, Y=None):
    """Sequence kernel of the channel means of each series."""
    features = [np.array([series.mean(axis=0) for series in check_sequences(Z, name)])
                for Z, name in ((X, "X"), (X if Y is None else Y, "Y"))]
    if features[0].shape[1] != features[1].shape[1]:
        raise InvalidInputError("X and Y have different numbers of channels")
    return features[0] @ features[1].T


def channel_means_of_rows(X, Y=None):
    """Reads an (n, T) array as n single-step series of T channels instead of univariate series."""
    def lift(Z):
        return np.asarray(Z)[:, :, None] if isinstance(Z, np.ndarray) and Z.ndim == 2 else Z
    return channel_means(lift(X), None if Y is None else lift(Y))


def failing(X, Y=None):
    raise RuntimeError("out of memory")


def _spec(name, function, input_kind="vector", **params):
    return KernelSpec(name=name, function=function, params=params, input_kind=input_kind,
                      default_grid=lambda X_train: [{}], origin="file test_testing.py")


SPECS = [
    _spec("good_linear", good_linear, scale=Param(float, low=0.0)),
    _spec("asymmetric", asymmetric),
    _spec("negative", negative),
    _spec("noisy", noisy),
    _spec("single_precision", single_precision),
    _spec("one_column_short", one_column_short),
    _spec("nan_tolerant", nan_tolerant),
    _spec("plain_value_error", plain_value_error),
    _spec("white", white, noise=Param(float, low=0.0)),
    _spec("shrinking", shrinking, shrink=Param(float, low=0.0)),
    _spec("position_weighted", position_weighted),
    _spec("channel_means", channel_means, "sequence"),
    _spec("channel_means_of_rows", channel_means_of_rows, "sequence"),
    _spec("failing", failing),
]


@pytest.fixture(autouse=True)
def registered():
    """The test kernels in KERNELS for one test, removed afterwards even when it fails."""
    for spec in SPECS:
        KERNELS[spec.name] = spec
    yield
    for spec in SPECS:
        del KERNELS[spec.name]


def _failed(report: list[CheckResult]) -> dict[str, str]:
    return {result.property: result.detail for result in report if not result.passed}


def test_a_correct_plugin_kernel_passes_every_property_in_order():
    report = check_kernel("good_linear", scale=2.0, input_error=InvalidInputError)
    assert [result.property for result in report] == list(PROPERTIES)
    assert all(result.passed for result in report)
    assert all(isinstance(result.detail, str) and result.detail for result in report)


@pytest.mark.parametrize("name, property_, message", [
    ("asymmetric", "symmetry", r"K\(X\) differs from its transpose by \S+ at \(\d, \d\)"),
    ("negative", "psd", r"the smallest eigenvalue of K\(X\) is -\S+, below -1e-10 times the largest magnitude"),
    ("noisy", "determinism", r"two calls of K\(X\) differ by \S+ at \(\d, \d\)"),
    ("single_precision", "result", r"K\(X\) has dtype float32, not float64"),
    ("one_column_short", "result", r"K\(X\) has shape \(7, 6\), not \(n_x, n_y\) = \(7, 7\)"),
    ("nan_tolerant", "bad-input", r"X with a NaN was accepted without an error; Y with an inf was accepted"),
    ("position_weighted", "input-kinds", r"K\(X\) of its flattening \(n, c \* T\) differs from that of an "
                                         r"\(n, c, T\) array by \S+ at \(\d, \d\)"),
    ("channel_means_of_rows", "input-kinds", r"K\(X\) of an \(n, 1, T\) array differs from that of an \(n, T\)"),
])
def test_a_broken_kernel_fails_naming_the_property_and_the_worst_entry(name, property_, message):
    with pytest.raises(AssertionError, match=rf"(?m)^{property_}: {message}"):
        check_kernel(name)
    failed = _failed(check_kernel_report(name))
    assert property_ in failed


def test_each_property_is_judged_apart():
    # The asymmetric kernel computes fine: only symmetry (and nothing it does not break) fails.
    assert set(_failed(check_kernel_report("asymmetric"))) == {"symmetry"}
    assert set(_failed(check_kernel_report("negative"))) == {"psd"}
    assert set(_failed(check_kernel_report("nan_tolerant"))) == {"bad-input"}


def test_a_wrong_result_type_also_fails_the_properties_it_prevents_with_the_kernels_refusal():
    failed = _failed(check_kernel_report("single_precision"))
    assert failed["result"] == "K(X) has dtype float32, not float64"
    assert failed["symmetry"].startswith("K(X) raised InvalidInputError: kernel 'single_precision' (file ")


def test_a_kernel_that_raises_on_valid_input_fails_every_property_that_calls_it():
    failed = _failed(check_kernel_report("failing"))
    assert failed["result"] == "K(X) raised RuntimeError: out of memory"
    assert set(failed) == set(PROPERTIES)


def test_the_report_mode_returns_failures_instead_of_raising():
    report = check_kernel("noisy", raise_on_failure=False)
    assert [result.property for result in report] == list(PROPERTIES)
    assert not dict((result.property, result.passed) for result in report)["determinism"]


def test_the_assertion_lists_every_failed_property_one_per_line():
    with pytest.raises(AssertionError) as info:
        check_kernel("single_precision")
    lines = str(info.value).splitlines()
    assert lines[0].startswith("result: ")
    assert [line.split(":")[0] for line in lines] == [p for p in PROPERTIES if p not in ("bad-input",)]


def test_a_plain_value_error_for_bad_input_passes_unless_invalid_input_error_is_required():
    check_kernel("plain_value_error")
    with pytest.raises(AssertionError, match=r"(?m)^bad-input: X with a NaN raised ValueError \(.*\), not "
                                             r"InvalidInputError"):
        check_kernel("plain_value_error", input_error=InvalidInputError)


def test_a_diagonal_term_must_be_declared_and_may_only_add():
    check_kernel("white")  # noise = 0: K(X) = K(X, X) entirely
    with pytest.raises(AssertionError, match=r"(?m)^cross-gram: K\(X\) and K\(X, X\) differ on the diagonal "
                                             r"\(name a term .* in diagonal_params\) by 0.3 at \((\d), \1\)"):
        check_kernel("white", noise=0.3)
    report = check_kernel("white", noise=0.3, diagonal_params=["noise"])
    assert "off the diagonal and >= on it (noise > 0)" in dict((r.property, r.detail) for r in report)["cross-gram"]
    with pytest.raises(AssertionError, match=r"(?m)^cross-gram: K\(X\) is below K\(X, X\) on the diagonal by 0.3 "
                                             r"at \((\d), \1\), though the terms of shrink only add to it"):
        check_kernel("shrinking", shrink=0.3, diagonal_params=("shrink",))


def test_an_off_diagonal_difference_fails_even_for_a_declared_diagonal_parameter():
    def leaky(X, Y=None, *, noise: float = 0.0):
        gram = white(X, Y, noise=noise)
        return gram + noise if Y is None else gram  # the "diagonal" term reaches every pair of K(X)
    with pytest.raises(AssertionError, match=r"(?m)^cross-gram: K\(X\) and K\(X, X\) differ off the diagonal"):
        check_kernel(_spec("leaky", leaky, noise=Param(float, low=0.0)), noise=0.3, diagonal_params=("noise",))


def test_the_rntk_initial_state_needs_declaring():
    assert KERNELS["rntk"].diagonal_params == ("sigma_h",)  # declared in its registration
    with pytest.raises(AssertionError, match=r"(?m)^cross-gram: K\(X\) and K\(X, X\) differ on the diagonal"):
        check_kernel("rntk", sigma_h=0.5, diagonal_params=())
    check_kernel("rntk", sigma_h=0.5)


def test_sequence_kernels_are_checked_on_their_conventions():
    report = check_kernel("channel_means", input_error=InvalidInputError)
    assert "a list of (T,) series" in dict((r.property, r.detail) for r in report)["input-kinds"]


def test_a_spec_can_be_checked_before_it_is_registered():
    spec = _spec("unregistered", negative)
    with pytest.raises(AssertionError, match="(?m)^psd: "):
        check_kernel(spec)
    assert "unregistered" not in KERNELS


def test_bad_arguments_of_the_check_itself_raise_at_once():
    with pytest.raises(InvalidParameterError, match="unknown kernel"):
        check_kernel("no_such_kernel")
    with pytest.raises(InvalidParameterError, match="scale"):
        check_kernel("good_linear", scale=-1.0)
    with pytest.raises(InvalidParameterError, match="diagonal_params names 'sigma_h'.*parameters: scale"):
        check_kernel("good_linear", diagonal_params=("sigma_h",))


# --- pickling: what joblib's loky workers (and dask) do with a plugin kernel --------------------------------

PLUGIN_SOURCE = '''
import numpy as np
from rntk_bench.kernels.validation import check_same_width, check_vectors


def file_linear(X, Y=None, *, scale: float = 1.0):
    X = check_vectors(X)
    Y = X if Y is None else check_vectors(Y, "Y")
    check_same_width(X, Y)
    return scale * (X @ Y.T)
'''


@pytest.fixture
def plugin_module(tmp_path):
    """A kernel module loaded from a file path, as plugins are; a name no fresh process can import."""
    path = tmp_path / "file_plugin.py"
    path.write_text(PLUGIN_SOURCE)
    name = f"rntk_bench_test_plugin_{uuid.uuid4().hex}"
    module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(name, path))
    module.__spec__.loader.exec_module(module)
    yield module
    sys.modules.pop(name, None)


def _file_spec(module):
    return _spec("file_linear", module.file_linear, scale=Param(float, low=0.0))


def test_a_plugin_loaded_from_a_file_travels_by_value_and_passes(plugin_module):
    spec = _file_spec(plugin_module)
    check_kernel(spec, scale=2.0, input_error=InvalidInputError)
    # What the check stands for: a loky worker (cloudpickle) computes with it.
    X = np.random.default_rng(0).normal(size=(5, 3))
    kernel = Kernel(spec, {"scale": 2.0})
    np.testing.assert_array_equal(get_reusable_executor(max_workers=1).submit(kernel, X).result(), kernel(X))


def test_a_plugin_in_sys_modules_under_an_unimportable_name_fails_pickling(plugin_module):
    sys.modules[plugin_module.__name__] = plugin_module
    spec = _file_spec(plugin_module)
    with pytest.raises(AssertionError, match=r"(?m)^pickling: cloudpickle stores function 'file_linear' by "
                                             rf"reference to module '{plugin_module.__name__}', which a worker"):
        check_kernel(spec)
    # What the check stands for: the worker cannot import the module.
    kernel = Kernel(spec, {"scale": 1.0})
    with pytest.raises(Exception, match="failed to un-serialize"):
        get_reusable_executor(max_workers=1).submit(kernel, np.ones((2, 3))).result()
    # The remedy the message gives.
    cloudpickle.register_pickle_by_value(plugin_module)
    try:
        check_kernel(spec)
    finally:
        cloudpickle.unregister_pickle_by_value(plugin_module)
