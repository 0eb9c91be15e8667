"""Input checks shared by every kernel: one place that turns user input into the arrays kernels compute on.

Conventions (as in aeon and sktime):

* ``(n_cases, n_timepoints)`` ndarray: univariate series, or vectors for vector kernels;
* ``(n_cases, n_channels, n_timepoints)`` ndarray: multivariate series;
* a list of ``(n_channels, T_i)`` or ``(T_i,)`` arrays: series of unequal length.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from rntk_bench.errors import InvalidInputError

_FLOAT64 = np.dtype(np.float64)


def _first_bad_sample(values: Sequence[np.ndarray], name: str) -> None:
    for index, value in enumerate(values):
        if not np.all(np.isfinite(value)):
            raise InvalidInputError(
                f"{name} contains NaN or inf values; the first bad sample is index {index}. "
                "Fill or drop missing values before computing a kernel."
            )


def _first_huge_sample(squared_norms: np.ndarray, values: Sequence[np.ndarray], name: str) -> None:
    """Refuse the first sample whose squared norm is not finite although its values are.

    Every kernel here starts from inner products of samples (or squared distances), so such a sample makes
    the kernel overflow to inf, or to NaN where two infinities meet. Its values are too large for float64
    arithmetic: the squares of entries beyond ~1.3e154 overflow, as does a sum of many squares somewhat below.
    """
    bad = np.flatnonzero(~np.isfinite(squared_norms))
    if bad.size:
        index = int(bad[0])
        largest = float(np.max(np.abs(values[index])))
        raise InvalidInputError(
            f"{name}[{index}] holds values too large to compute a kernel in float64 (largest magnitude "
            f"{largest:.3g}): its squared norm overflows. Scale the input down, e.g. divide every sample by "
            "the largest sample norm."
        )


def _squared_norms(values: np.ndarray) -> np.ndarray:
    """Sum of squares of each row, inf where it overflows (without a warning: the caller reports it)."""
    with np.errstate(over="ignore"):
        return np.einsum("ij,ij->i", values, values)


def _concatenated_squared_norms(flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """:func:`_squared_norms` of series given as their steps one after the other, ``flat`` of shape
    ``(n_channels, total)``, and their ``lengths`` (each at least 1): one pass over all values (a dot product
    per sample cost ~1 us each, half a millisecond for 500 series). ``flat`` is overwritten by its squares: a
    scratch copy, squared in place rather than into a second array as large."""
    offsets = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    with np.errstate(over="ignore"):
        return np.add.reduceat(np.multiply(flat, flat, out=flat), offsets, axis=1).sum(axis=0)


def _as_float(value, name: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must hold numbers: {exc}") from None


def check_sequences(X, name: str = "X") -> list[np.ndarray]:
    """Return the series of ``X`` as a list of time-major float64 arrays.

    Parameters
    ----------
    X : ndarray of shape (n_cases, n_timepoints) or (n_cases, n_channels, n_timepoints), or list of ndarray
        The series; list items have shape (n_channels, T_i) or (T_i,).
    name : str
        Name used in error messages.

    Returns
    -------
    list of ndarray of shape (T_i, n_channels)
        One float64 array per case, time first, every case with the same number of channels.

    Raises
    ------
    InvalidInputError
        For a wrong shape, no cases, unequal channel counts, an empty series, NaN or inf values, or a series
        whose squared norm overflows float64 (values too large; the message names the series).
    """
    if isinstance(X, np.ndarray) or not isinstance(X, (list, tuple)):
        array = _as_float(X, name)
        if array.ndim == 2:
            array = array[:, None, :]
        if array.ndim != 3:
            raise InvalidInputError(
                f"{name} must have shape (n_cases, n_timepoints) or (n_cases, n_channels, n_timepoints) "
                f"or be a list of arrays; got an array of shape {array.shape}"
            )
        if array.shape[0] and array.shape[2]:
            # one array: checked and transposed whole (a loop over its cases costs more than the checks)
            if not np.isfinite(array).all():
                _first_bad_sample(array, name)
            _first_huge_sample(_squared_norms(array.reshape(len(array), -1)), array, name)
            return list(np.ascontiguousarray(array.transpose(0, 2, 1)))
        items = list(array)
    else:
        items = []
        for index, item in enumerate(X):
            # float64 arrays as they are (NumPy's float64 dtype is one object: ``is`` is the quick test, and an
            # equal dtype that is another object is converted, which copies nothing); anything else converted,
            # the name formatted only for an error
            array = item if type(item) is np.ndarray and item.dtype is _FLOAT64 else _as_float(
                item, f"{name}[{index}]")
            if array.ndim != 2:
                if array.ndim != 1:
                    raise InvalidInputError(
                        f"{name}[{index}] must have shape (n_channels, T_i) or (T_i,); got {array.shape}"
                    )
                array = array[None, :]
            items.append(array)
    if not items:
        raise InvalidInputError(f"{name} holds no cases")
    shapes = np.fromiter(itertools.chain.from_iterable(item.shape for item in items), dtype=np.int64,
                         count=2 * len(items)).reshape(-1, 2)      # (n_cases, 2): channels, length
    n_channels = shapes[0, 0]
    wrong = np.flatnonzero((shapes[:, 0] != n_channels) | (shapes[:, 1] == 0))
    if wrong.size:
        index = int(wrong[0])
        if shapes[index, 0] != n_channels:
            raise InvalidInputError(
                f"{name}[{index}] has {shapes[index, 0]} channels but {name}[0] has {n_channels}"
            )
        raise InvalidInputError(f"{name}[{index}] is an empty series (length 0)")
    flat = np.concatenate(items, axis=1)            # (n_channels, total), a copy: squared in place below
    if not np.isfinite(flat).all():                                 # one check, then find it
        _first_bad_sample(items, name)
    _first_huge_sample(_concatenated_squared_norms(flat, shapes[:, 1]), items, name)
    return [np.ascontiguousarray(item.T) for item in items]


def check_vectors(X, name: str = "X") -> np.ndarray:
    """Return ``X`` as a float64 matrix of shape (n_cases, n_features).

    Three-dimensional input ``(n_cases, n_channels, n_timepoints)`` is flattened channel by channel; a list of
    series is stacked when all have the same shape and refused otherwise, because a vector kernel has no
    meaning for unequal lengths.

    Parameters
    ----------
    X : ndarray of shape (n_cases, n_features) or (n_cases, n_channels, n_timepoints), or list of ndarray
    name : str
        Name used in error messages.

    Returns
    -------
    ndarray of shape (n_cases, n_features)

    Raises
    ------
    InvalidInputError
        For a wrong shape, no cases, unequal lengths, NaN or inf values, or a sample whose squared norm
        overflows float64 (values too large; the message names the sample).
    """
    if isinstance(X, (list, tuple)):
        shapes = {np.shape(item) for item in X}
        if len(shapes) > 1:
            lengths = sorted({shape[-1] for shape in shapes if len(shape)})
            raise InvalidInputError(
                f"{name} holds series of unequal lengths ({lengths[0]} to {lengths[-1]}); vector kernels need "
                "equal lengths: resample the series to one length first, or use a sequence kernel (rntk)"
            )
    array = _as_float(X, name)
    if array.ndim == 3:
        array = array.reshape(array.shape[0], -1)
    if array.ndim != 2:
        raise InvalidInputError(
            f"{name} must have shape (n_cases, n_features) or (n_cases, n_channels, n_timepoints); "
            f"got an array of shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise InvalidInputError(f"{name} holds no cases")
    _first_bad_sample(array, name)
    array = np.ascontiguousarray(array)
    _first_huge_sample(_squared_norms(array), array, name)
    return array


def check_same_width(X: np.ndarray, Y: np.ndarray) -> None:
    """Refuse vector inputs whose feature counts differ."""
    if X.shape[1] != Y.shape[1]:
        raise InvalidInputError(f"X has {X.shape[1]} features but Y has {Y.shape[1]}")


def check_finite_gram(gram: np.ndarray, kernel: str) -> None:
    """Refuse a kernel matrix with an inf or NaN entry, naming the first one.

    Parameters
    ----------
    gram : ndarray of shape (n_x, n_y)
    kernel : str
        The kernel's canonical id, for the message.

    Raises
    ------
    InvalidInputError
        If any entry is not finite: the input values, with these parameters, exceed float64's range.
    """
    # One pass first: an inf or NaN entry makes the sum inf or NaN, so a finite sum clears every entry without
    # the boolean array of np.isfinite (a third of this check's time on a Gram matrix of 1000 samples). A
    # non-finite sum (which huge finite entries can also give) looks at the entries.
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(gram)
    if np.isfinite(total):
        return
    finite = np.isfinite(gram)
    if not finite.all():
        row, column = (int(i) for i in np.argwhere(~finite)[0])
        raise InvalidInputError(
            f"kernel {kernel} gave a non-finite value ({gram[row, column]}) at row {row}, column {column}: the "
            "input values are too large for float64 arithmetic with these parameters. Scale the input down, "
            "e.g. divide every sample by the largest sample norm."
        )
