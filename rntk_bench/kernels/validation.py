"""Input checks shared by every kernel: one place that turns user input into the arrays kernels compute on.

Conventions (as in aeon and sktime):

* ``(n_cases, n_timepoints)`` ndarray: univariate series, or vectors for vector kernels;
* ``(n_cases, n_channels, n_timepoints)`` ndarray: multivariate series;
* a list of ``(n_channels, T_i)`` or ``(T_i,)`` arrays: series of unequal length.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rntk_bench.errors import InvalidInputError


def _first_bad_sample(values: Sequence[np.ndarray], name: str) -> None:
    for index, value in enumerate(values):
        if not np.all(np.isfinite(value)):
            raise InvalidInputError(
                f"{name} contains NaN or inf values; the first bad sample is index {index}. "
                "Fill or drop missing values before computing a kernel."
            )


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
        items = list(array)
    else:
        items = []
        for index, item in enumerate(X):
            array = _as_float(item, f"{name}[{index}]")
            if array.ndim == 1:
                array = array[None, :]
            if array.ndim != 2:
                raise InvalidInputError(
                    f"{name}[{index}] must have shape (n_channels, T_i) or (T_i,); got {array.shape}"
                )
            items.append(array)
    if not items:
        raise InvalidInputError(f"{name} holds no cases")
    n_channels = items[0].shape[0]
    for index, item in enumerate(items):
        if item.shape[0] != n_channels:
            raise InvalidInputError(
                f"{name}[{index}] has {item.shape[0]} channels but {name}[0] has {n_channels}"
            )
        if item.shape[1] == 0:
            raise InvalidInputError(f"{name}[{index}] is an empty series (length 0)")
    _first_bad_sample(items, name)
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
    return np.ascontiguousarray(array)


def check_same_width(X: np.ndarray, Y: np.ndarray) -> None:
    """Refuse vector inputs whose feature counts differ."""
    if X.shape[1] != Y.shape[1]:
        raise InvalidInputError(f"X has {X.shape[1]} features but Y has {Y.shape[1]}")
