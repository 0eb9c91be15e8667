"""The input an estimator hands its kernel, prepared as the benchmark runner prepares it
(:func:`rntk_bench.protocols.kernel_input`), but from the training rows alone.

* Sequence kernels (the RNTK) read the series divided by the largest norm of a training series; the factor is
  found at fit and reused at predict, as the runner scales a dataset's test series by its training series.
* Vector kernels read vectors as they are and series flattened; series of unequal lengths are resampled
  linearly (:func:`rntk_bench.protocols.resample_linear`) to the longest training length.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils.validation import check_array

from rntk_bench.kernels.validation import check_sequences
from rntk_bench.protocols import resample_linear

__all__ = ["divide", "is_series_list", "largest_norm", "resample_series", "series_lengths", "validated_series"]


def is_series_list(X: Any) -> bool:
    """Whether ``X`` is a list (or tuple) of series: items of shape ``(n_channels, T_i)`` or ``(T_i,)``."""
    if not isinstance(X, (list, tuple)) or not X:
        return False
    return all(np.ndim(item) in (1, 2) for item in X)


def series_lengths(X: Sequence[Any]) -> list[int]:
    """Number of time points of each item of a list of series."""
    return [int(np.shape(item)[-1]) for item in X]


def resample_series(X: Sequence[Any], length: int) -> np.ndarray:
    """Series of a list stacked into ``(n_cases, n_channels, length)``, resampled linearly where their length
    differs (equal-length series are stacked unchanged, as the runner does).

    Raises
    ------
    InvalidInputError
        Items with unequal channel counts or non-numeric values (:func:`check_sequences`).
    """
    check_sequences(X, "X")
    if set(series_lengths(X)) == {length}:
        return np.stack([np.atleast_2d(np.asarray(item, dtype=np.float64)) for item in X])
    return resample_linear(X, length)


def validated_series(X: Any) -> np.ndarray | list[np.ndarray]:
    """``X`` as float64 in the kernel input convention, refused as the runner refuses it.

    A list of series of unequal shapes stays a list of ``(n_channels, T_i)`` or ``(T_i,)`` arrays; anything
    else becomes an array ``(n_cases, T)`` or ``(n_cases, n_channels, T)``.

    Raises
    ------
    InvalidInputError
        Wrong shape, unequal channel counts, NaN or inf values, or a series whose squared norm overflows
        float64 (which :func:`largest_norm` would turn into a division by inf).
    ValueError, TypeError
        From scikit-learn's ``check_array``: sparse, complex or non-numeric input, no cases, 1-D input.
    """
    if is_series_list(X) and len({np.shape(item) for item in X}) > 1:
        check_sequences(X, "X")
        return [np.asarray(item, dtype=np.float64) for item in X]
    # scikit-learn's own checks first (sparse, object and complex input, empty data, 1-D input, with the
    # messages its estimator checks expect), then the kernels' (NaN, inf and overflow, naming the sample)
    X = check_array(X, allow_nd=True, dtype=np.float64, ensure_all_finite=False, input_name="X")
    check_sequences(X, "X")
    return X


def largest_norm(X: np.ndarray | list[np.ndarray]) -> float:
    """The largest Euclidean (Frobenius) norm of a series of ``X``: the runner's series scale.

    The same expression as :func:`rntk_bench.protocols.kernel_input` (``np.linalg.norm`` of each case), so
    that the factor, and every scaled value, is the same to the last bit.
    """
    return max(float(np.linalg.norm(item)) for item in X)


def divide(X: np.ndarray | list[np.ndarray], largest: float) -> np.ndarray | list[np.ndarray]:
    """``X`` divided by ``largest`` as the runner divides it (unchanged when ``largest`` is 0)."""
    if largest == 0:
        return X
    return [item / largest for item in X] if isinstance(X, list) else X / largest
