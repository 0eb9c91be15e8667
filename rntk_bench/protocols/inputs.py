"""What each kind of kernel reads for a dataset: vectors or sequences, and the label-free scaling of the RNTK."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rntk_bench.data.dataset import Dataset
from rntk_bench.errors import InvalidInputError

__all__ = ["SERIES_SCALINGS", "KernelInput", "check_magnitudes", "kernel_input", "resample_linear", "take"]

SERIES_SCALINGS = ("train-norm", "none")
"""How a sequence kernel reads series: divided by the largest norm of a training series (default), or as
distributed (what the ICLR 2021 RNTK paper describes for UCR)."""


def resample_linear(series: Sequence[np.ndarray], length: int) -> np.ndarray:
    """Resample every series linearly to ``length`` time points (first and last points kept).

    Parameters
    ----------
    series : sequence of ndarray of shape (n_channels, T_i) or (T_i,)
    length : int

    Returns
    -------
    ndarray of shape (n_cases, n_channels, length)
    """
    grid = np.linspace(0.0, 1.0, length)
    out = []
    for item in series:
        item = np.atleast_2d(np.asarray(item, dtype=np.float64))
        source = np.linspace(0.0, 1.0, item.shape[1]) if item.shape[1] > 1 else np.zeros(1)
        if item.shape[1] == 1:
            out.append(np.repeat(item, length, axis=1))
        else:
            out.append(np.stack([np.interp(grid, source, channel) for channel in item]))
    return np.stack(out)


@dataclass(frozen=True)
class KernelInput:
    """What a kernel of one input kind reads for a dataset, and what was done to get it.

    Attributes
    ----------
    X : ndarray or list of ndarray
        All rows of the dataset in the kernel's input convention.
    notes : tuple of str
        Transformations applied (recorded in the task results).
    """

    X: Any
    notes: tuple[str, ...] = ()


def take(X, indices: np.ndarray):
    """Rows ``indices`` of ``X``, a list staying a list."""
    if isinstance(X, list):
        return [X[i] for i in indices]
    return X[indices]


def check_magnitudes(dataset: Dataset) -> None:
    """Refuse a dataset with a sample whose squared norm overflows float64 (a value beyond about 1e154).

    Every kernel squares its inputs (inner products, distances, variances), so such a sample turns into inf
    or, after scaling by an overflowed norm, into zeros; the message names the sample so that it can be
    fixed or the data rescaled.

    Raises
    ------
    InvalidInputError
    """
    rows = dataset.X if isinstance(dataset.X, list) else np.asarray(dataset.X)
    with np.errstate(over="ignore"):
        for index, row in enumerate(rows):
            values = np.asarray(row, dtype=np.float64)
            # NaN and inf are the kernels' input checks' to report; here: finite values whose square overflows
            if np.isinf(np.dot(values.ravel(), values.ravel())) and np.all(np.isfinite(values)):
                raise InvalidInputError(
                    f"dataset {dataset.name!r}: sample {index} (row {index} of X) has values too large for "
                    f"float64 arithmetic (largest |value| {np.max(np.abs(values)):.3g}; its squared norm "
                    "overflows): check the file, or rescale the data"
                )


def kernel_input(dataset: Dataset, input_kind: str, training_rows: np.ndarray,
                 series_scaling: str = "train-norm") -> KernelInput:
    """The input a kernel of ``input_kind`` (``"vector"`` or ``"sequence"``) reads for ``dataset``.

    * Vector kernels read feature vectors as they are, and series flattened; series of unequal lengths are
      first resampled linearly to the longest length.
    * The RNTK (a sequence kernel) reads series of any length, divided by the largest norm of a training
      series (``training_rows``: the rows the protocol trains on). Tabular rows are read as univariate
      sequences of their features (T = n_features, one channel), divided by the largest row norm over all
      rows of the dataset: the label-free scaling of Alemohammad et al.'s released UCI code
      (docs/kernels.md, section 6). ``series_scaling="none"`` leaves series as distributed (tabular rows are
      still scaled: the released code does it).

    Raises
    ------
    InvalidInputError
        A sample too large for float64 arithmetic (:func:`check_magnitudes`).
    """
    check_magnitudes(dataset)
    X = dataset.X
    if input_kind == "vector":
        if isinstance(X, list):
            lengths = {np.shape(item)[-1] for item in X}
            if len(lengths) > 1:
                longest = max(lengths)
                return KernelInput(
                    resample_linear(X, longest),
                    (f"series of lengths {min(lengths)}..{longest} resampled linearly to length {longest}",),
                )
            return KernelInput(np.stack([np.atleast_2d(item) for item in X]))
        return KernelInput(X)
    if dataset.kind == "tabular":
        rows = np.asarray(X, dtype=np.float64)
        largest = float(np.max(np.linalg.norm(rows.reshape(len(rows), -1), axis=1))) if len(rows) else 0.0
        if largest > 0:
            rows = rows / largest
        return KernelInput(
            rows,
            (
                (f"rows read as univariate sequences of their {rows.shape[-1]} features, divided by the largest "
                f"row norm over all {len(rows)} rows ({largest:.6g}; label-free, as the released RNTK code)"),
            ),
        )
    if series_scaling == "none":
        return KernelInput(X, ("series read as distributed (no scaling)",))
    # Series: the same scaling, from the training series only. Without it the RNTK's scale grows with T and
    # the grid's sigma_b and sigma_h vanish beside z-normalised inputs (row norms ~ sqrt(T)).
    largest = max(float(np.linalg.norm(X[i])) for i in np.asarray(training_rows))
    if largest == 0:
        return KernelInput(X)
    scaled = [item / largest for item in X] if isinstance(X, list) else np.asarray(X) / largest
    return KernelInput(
        scaled,
        (f"series divided by the largest norm of a training series ({largest:.6g}; label-free, training "
         "series only)",),
    )
