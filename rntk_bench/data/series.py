"""Turning parsed series and labels into a :class:`Dataset`: shape convention, labels, missing values.

Both UCR readers (``.tsv`` and ``.ts``) and the embedded sktime sets hand over one ``(n_channels, T_i)``
array per case; this module decides the final ``X`` layout, encodes labels as ``0 .. k-1``, fills
missing values by linear interpolation and computes :class:`DatasetInfo`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rntk_bench.data.dataset import Collection, Dataset, DatasetInfo, Split
from rntk_bench.errors import DatasetError


def encode_labels(labels: Sequence, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y, class_labels)`` with ``y`` in ``0 .. k-1`` and ``class_labels[y] == labels``.

    String labels that all read as integers become integers, so that ``"1"`` in a ``.ts`` file and
    ``1.0`` in a ``.tsv`` file give the same classes, ordered numerically.
    """
    values = np.asarray(labels)
    if values.size == 0:
        raise DatasetError(f"{where}: no cases")
    if values.dtype.kind in "US":
        try:
            numbers = np.array([float(v) for v in values])
        except ValueError:
            numbers = None
        if numbers is not None and np.all(numbers == np.round(numbers)):
            values = numbers.astype(np.int64)
    elif values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
            bad = int(np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))[0])
            raise DatasetError(f"{where}: class label {values[bad]!r} of case {bad} is not an integer")
        values = values.astype(np.int64)
    class_labels, y = np.unique(values, return_inverse=True)
    return y.astype(np.int64), class_labels


def interpolate_missing(series: np.ndarray, where: str) -> tuple[np.ndarray, int]:
    """Fill NaNs of a ``(n_channels, T)`` series by linear interpolation along time.

    Leading and trailing gaps take the nearest observed value (``numpy.interp``'s constant ends).
    Returns the filled copy and the number of values filled; a channel with no value at all is an error.
    """
    mask = np.isnan(series)
    if not mask.any():
        return series, 0
    filled = series.copy()
    t = np.arange(series.shape[1])
    for c in range(series.shape[0]):
        gaps = mask[c]
        if gaps.all():
            raise DatasetError(f"{where}, channel {c}: every value is missing, nothing to interpolate from")
        if gaps.any():
            filled[c, gaps] = np.interp(t[gaps], t[~gaps], series[c, ~gaps])
    return filled, int(mask.sum())


def missing_values_note(n_values: int, n_train_series: int, n_test_series: int, n_series: int) -> str:
    """The :attr:`Dataset.notes` entry recording interpolated missing values.

    Parameters
    ----------
    n_values : int
        Values filled (over all channels).
    n_train_series, n_test_series : int
        Series (cases) of the train and test parts with at least one filled value.
    n_series : int
        Series (cases) in the dataset.

    Returns
    -------
    str
        How many values, in how many series, by which method; DodgerLoopGame's reads ``"337 missing values in
        14 of 158 series (train 3, test 11) filled by linear interpolation along time (constant extension at
        the ends)"``.
    """
    return (
        f"{n_values} missing values in {n_train_series + n_test_series} of {n_series} series "
        f"(train {n_train_series}, test {n_test_series}) filled by linear interpolation along time "
        "(constant extension at the ends)"
    )


def assemble_train_test(
    name: str,
    collection: Collection,
    train: list[np.ndarray],
    test: list[np.ndarray],
    train_labels: Sequence,
    test_labels: Sequence,
    source: str | Path,
    notes: tuple[str, ...] = (),
) -> Dataset:
    """Build a dataset with one ``"train-test"`` split from per-case ``(n_channels, T_i)`` arrays.

    Parameters
    ----------
    train, test : list of ndarray of shape (n_channels, T_i)
        Cases in file order; NaNs are missing values and are interpolated here.
    train_labels, test_labels : sequence
        Original class labels, one per case.
    source : str or Path
        Named in error messages.

    Returns
    -------
    Dataset
        ``X`` is ``(n, T)`` for one channel and equal lengths, ``(n, c, T)`` for several channels and equal
        lengths, else a list of ``(c, T_i)`` arrays. Train cases come first. When values were missing,
        ``notes`` says how many, in how many series, and how they were filled (:func:`missing_values_note`).
    """
    cases = list(train) + list(test)
    if not train or not test:
        raise DatasetError(f"{source}: the {'train' if not train else 'test'} part has no cases")
    channels = {case.shape[0] for case in cases}
    if len(channels) != 1:
        raise DatasetError(f"{source}: cases have different numbers of channels {sorted(channels)}")
    n_missing = 0
    gappy = {"train": 0, "test": 0}  # series (cases) with at least one missing value, per part
    filled = []
    for i, case in enumerate(cases):
        part, row = ("train", i) if i < len(train) else ("test", i - len(train))
        if case.shape[1] == 0:
            raise DatasetError(f"{source}: {part} case {row} has no values")
        case, n = interpolate_missing(case, f"{source}: {part} case {row}")
        n_missing += n
        gappy[part] += n > 0
        filled.append(case)
    y, class_labels = encode_labels(list(train_labels) + list(test_labels), str(source))
    lengths = [case.shape[1] for case in filled]
    n_channels = channels.pop()
    unequal = min(lengths) != max(lengths)
    if unequal:
        X: np.ndarray | list = filled
    elif n_channels == 1:
        X = np.stack([case[0] for case in filled])
    else:
        X = np.stack(filled)
    n_train = len(train)
    split = Split("train-test", np.arange(n_train), np.arange(n_train, len(cases)))
    if n_missing:
        notes = notes + (missing_values_note(n_missing, gappy["train"], gappy["test"], len(cases)),)
    if unequal:
        notes = notes + ((f"unequal lengths {min(lengths)}..{max(lengths)}: X is a list of (channels, T_i) "
                         "arrays"),)
    info = DatasetInfo(
        n_cases=len(cases),
        n_channels=n_channels,
        min_length=min(lengths),
        max_length=max(lengths),
        n_classes=len(class_labels),
        unequal_length=unequal,
        has_missing=n_missing > 0,
    )
    return Dataset(name, collection, X, y, class_labels, (split,), info, notes)
