"""The kernel contract, as a check anyone can run: is a registered kernel fit for the harness?

The harness computes Gram matrices through :class:`~rntk_bench.kernels.Kernel` in worker processes, stores and
shares them, and hands them to SVMs. It relies on the properties below, which :func:`check_kernel` tests on
small, seeded random input (7 samples, 2 channels, lengths up to 6; unequal lengths for sequence kernels),
in this order:

``result``
    ``function(X)`` and ``function(X, Y)`` return finite float64 arrays of shape (n_x, n_x) and (n_x, n_y).
``determinism``
    Two calls give identical matrices (the Gram store keeps one, parts computed apart are added up).
``symmetry``
    ``K(X)`` equals its transpose within :data:`RTOL` times its largest magnitude.
``cross-gram``
    ``K(X)`` equals ``K(X, X)`` apart from documented diagonal terms, which may only add to the diagonal
    (see ``diagonal_params`` of :func:`check_kernel_report`), and
    ``K(X, Y)`` equals the X-Y block of the Gram matrix of X and Y stacked: a cross Gram matrix of test
    against training samples means the same as the training Gram matrix.
``psd``
    The smallest eigenvalue of ``K(X)`` is at least ``-PSD_TOL`` times the largest eigenvalue magnitude.
``input-kinds``
    The input conventions of :mod:`rntk_bench.kernels.validation` give the same matrix. Sequence kernels:
    ``(n, T)`` equals ``(n, 1, T)`` equals a list of ``(T,)`` or ``(1, T)`` series, and ``(n, c, T)``
    equals a list of ``(c, T)`` series. Vector kernels: ``(n, c, T)`` equals its flattening ``(n, c * T)``
    and a list of ``(c, T)`` arrays.
``bad-input``
    The kernel function itself (not only the :class:`Kernel` wrapper, which refuses non-finite results)
    refuses NaN in X, inf in Y, 1-D and 4-D arrays, X and Y of different widths, and series of unequal
    lengths (vector kernels) or unequal channel counts (sequence kernels), with ``input_error``.
``pickling``
    The bound :class:`Kernel` and its :class:`KernelSpec` survive a cloudpickle round trip (the pickler of
    joblib's loky workers and of dask) and compute the same matrix after it; the spec's functions that
    cloudpickle stores by reference (by module and name) are importable in a fresh worker.

A plugin's own tests need one line per setting::

    from rntk_bench.testing import check_kernel

    def test_my_kernel_keeps_the_contract():
        check_kernel("my_kernel", gamma=0.5)

Nothing here prints; :func:`check_kernel_report` returns one :class:`CheckResult` per property, for a command
line to show.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rntk_bench.errors import InvalidParameterError
from rntk_bench.kernels import get_spec
from rntk_bench.kernels.registry import KernelSpec
from rntk_bench.testing.properties import PROPERTIES, PSD_TOL, RTOL, CheckResult, Failed, Subject, run_check

__all__ = ["PROPERTIES", "PSD_TOL", "RTOL", "CheckResult", "check_kernel", "check_kernel_report"]


def check_kernel_report(
    name: str | KernelSpec,
    /,
    *,
    diagonal_params: Iterable[str] | None = None,
    input_error: type[BaseException] = ValueError,
    **params: Any,
) -> list[CheckResult]:
    """Check every property of the kernel contract and report each, without raising for a failed one.

    Parameters
    ----------
    name : str or KernelSpec
        A registered kernel's name, or a spec (registered or not).
    diagonal_params : iterable of str, optional
        Parameters whose term only a sample paired with itself has, so that it enters the diagonal of ``K(X)``
        and never ``K(X, Y)``, not even ``K(X, X)`` (the RNTK's ``sigma_h``, an initial state drawn afresh
        for every input, like scikit-learn's ``WhiteKernel``). Where one is nonzero, the diagonal of ``K(X)``
        may exceed that of ``K(X, X)`` (such a term is a variance: it adds) but not fall below it; the
        off-diagonal entries must be equal in every case, and where all are 0 (or None) the diagonal too.
        None: the spec's ``diagonal_params`` attribute where it has one, else none.
    input_error : exception class
        What the kernel function must raise for bad input. The default accepts any ``ValueError``, such as
        a plugin's own checks raise; rntk-bench's validation helpers (``check_vectors``,
        ``check_sequences``) raise :class:`~rntk_bench.errors.InvalidInputError`, a subclass, which the
        command line shows as a one-line message instead of a traceback: pass it to require that.
    **params
        The kernel's parameters; omitted ones take their defaults. (A kernel parameter named like one of the
        options here cannot be set through this function.)

    Returns
    -------
    list of CheckResult
        One per property of :data:`PROPERTIES`, in that order. A property whose computation raised (the
        kernel failed on valid input) is reported failed with the exception.

    Raises
    ------
    InvalidParameterError
        For an unknown kernel, an invalid parameter value, or a ``diagonal_params`` name the kernel lacks.
    """
    spec = name if isinstance(name, KernelSpec) else get_spec(name)
    bound = spec.validate(params)
    if diagonal_params is None:
        diagonal_params = getattr(spec, "diagonal_params", ())
    diagonal = tuple(diagonal_params)
    unknown = sorted(set(diagonal) - set(spec.params))
    if unknown:
        raise InvalidParameterError(
            f"diagonal_params names {', '.join(map(repr, unknown))}, which kernel {spec.name!r} does not take; "
            f"its parameters: {', '.join(sorted(spec.params)) or 'none'}"
        )
    subject = Subject(spec, bound, diagonal, input_error)
    report = []
    for prop in PROPERTIES:
        try:
            report.append(CheckResult(prop, True, run_check(prop, subject)))
        except Failed as failed:
            report.append(CheckResult(prop, False, str(failed)))
    return report


def check_kernel(
    name: str | KernelSpec,
    /,
    *,
    diagonal_params: Iterable[str] | None = None,
    input_error: type[BaseException] = ValueError,
    raise_on_failure: bool = True,
    **params: Any,
) -> list[CheckResult]:
    """Check that kernel ``name`` with ``params`` keeps the contract the harness relies on.

    Parameters
    ----------
    name : str or KernelSpec
        A registered kernel's name, or a spec (registered or not).
    diagonal_params, input_error
        See :func:`check_kernel_report`.
    raise_on_failure : bool
        Raise for a failed property (the default, for tests), or only report it.
    **params
        The kernel's parameters; omitted ones take their defaults.

    Returns
    -------
    list of CheckResult
        One per property of :data:`PROPERTIES`, in that order (all passed when this raised nothing and
        ``raise_on_failure`` is true).

    Raises
    ------
    AssertionError
        With ``raise_on_failure``, if a property fails: one line ``property: detail`` per failed property,
        such as ``symmetry: K(X) differs from its transpose by 3.2e-05 at (4, 6)``.
    InvalidParameterError
        For an unknown kernel, an invalid parameter value, or a ``diagonal_params`` name the kernel lacks.

    Examples
    --------
    >>> check_kernel("rntk", sigma_h=0.5, diagonal_params=("sigma_h",))  # doctest: +SKIP
    """
    report = check_kernel_report(name, diagonal_params=diagonal_params, input_error=input_error, **params)
    failed = [f"{result.property}: {result.detail}" for result in report if not result.passed]
    if failed and raise_on_failure:
        raise AssertionError("\n".join(failed))
    return report

