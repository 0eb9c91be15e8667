"""Predicted test labels in task files, compactly: what metrics are computed from after the fact.

Each task file keeps, per reported split, the true test labels and the predicted labels of every C it fitted,
as one short ASCII string: the class codes (``Dataset.y``: 0 .. n_classes - 1) written as base-62 digits (one
character per case up to 62 classes, two up to 3844), the truth first, then the predictions of each C in grid
order, separated by ``|`` and ``,`` (an empty field for a C that was not fitted), compressed with zlib and
written in base64. A 2-class test set of 1000 cases with 5 C values takes a few hundred bytes; without
compression it would take 6 KB.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rntk_bench.errors import RunError

__all__ = ["SplitPredictions", "decode_split", "encode_split"]

_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_VALUE = {char: index for index, char in enumerate(_DIGITS)}


def _width(n_classes: int) -> int:
    width = 1
    while len(_DIGITS) ** width < max(n_classes, 1):
        width += 1
    return width


def _encode_codes(codes: np.ndarray, width: int) -> str:
    codes = np.asarray(codes, dtype=np.int64)
    if width == 1:
        return "".join(_DIGITS[code] for code in codes)
    out = []
    for code in codes:
        digits = []
        for _ in range(width):
            code, digit = divmod(int(code), len(_DIGITS))
            digits.append(_DIGITS[digit])
        out.append("".join(reversed(digits)))
    return "".join(out)


def _decode_codes(text: str, width: int) -> np.ndarray:
    values = [_VALUE[char] for char in text]
    if width == 1:
        return np.asarray(values, dtype=np.int64)
    codes = np.zeros(len(values) // width, dtype=np.int64)
    for position in range(width):
        codes = codes * len(_DIGITS) + np.asarray(values[position::width], dtype=np.int64)
    return codes


@dataclass(frozen=True)
class SplitPredictions:
    """The decoded predictions of one split.

    Attributes
    ----------
    truth : ndarray of shape (n_test,), int
        True class codes of the split's test rows.
    predicted : list of (ndarray of shape (n_test,), int) or None
        Predicted class codes per C of the task's grid, None where that C was not fitted.
    """

    truth: np.ndarray
    predicted: list[np.ndarray | None]

    def correct(self, c_index: int) -> int:
        """How many test rows the C at ``c_index`` predicted right."""
        predicted = self.predicted[c_index]
        if predicted is None:
            raise RunError(f"no predictions were kept for C number {c_index} of this split (it was not fitted)")
        return int(np.sum(predicted == self.truth))


def encode_split(truth: np.ndarray, predicted: Sequence[np.ndarray | None], n_classes: int) -> str:
    """The stored form of one split's labels (see the module docstring).

    Parameters
    ----------
    truth : ndarray of shape (n_test,), int
    predicted : sequence of ndarray of shape (n_test,) or None
        One per C of the grid.
    n_classes : int
    """
    width = _width(n_classes)
    fields = [_encode_codes(truth, width)]
    joined = ",".join("" if codes is None else _encode_codes(codes, width) for codes in predicted)
    text = f"{width}|{fields[0]}|{joined}"
    return base64.b64encode(zlib.compress(text.encode("ascii"), 9)).decode("ascii")


def decode_split(stored: str, n_c: int, n_test: int, n_classes: int, where: str) -> SplitPredictions:
    """Read one split's stored labels back, checking them.

    Parameters
    ----------
    stored : str
    n_c : int
        Number of C values of the task's grid.
    n_test : int
        Number of test rows of the split.
    n_classes : int
    where : str
        The task file and split, for messages.

    Raises
    ------
    RunError
        Not decodable, the wrong number of C values or of cases, or a label outside 0 .. n_classes - 1.
    """
    try:
        text = zlib.decompress(base64.b64decode(stored.encode("ascii"), validate=True)).decode("ascii")
        width_text, truth_text, joined = text.split("|")
        width = int(width_text)
    except (binascii.Error, zlib.error, UnicodeError, ValueError, AttributeError) as exc:
        raise RunError(f"{where}: the stored predictions are corrupt ({type(exc).__name__}: {exc})") from None
    fields = joined.split(",")
    if len(fields) != n_c:
        raise RunError(f"{where}: predictions for {len(fields)} C values stored, the grid has {n_c}")
    decoded = []
    for position, field in enumerate([truth_text, *fields]):
        if position and not field:
            decoded.append(None)
            continue
        unknown = sorted(set(field) - set(_VALUE))
        if unknown or len(field) != n_test * width:
            problem = (f"unknown label character(s) {unknown}" if unknown
                       else f"{len(field) // max(width, 1)} labels for {n_test} test rows")
            what = "true labels" if position == 0 else f"predictions of C number {position - 1}"
            raise RunError(f"{where}: {what}: {problem}")
        codes = _decode_codes(field, width)
        if codes.size and codes.max() >= n_classes:
            what = "true labels" if position == 0 else f"predictions of C number {position - 1}"
            raise RunError(f"{where}: {what}: label {int(codes.max())} outside the {n_classes} classes")
        decoded.append(codes)
    return SplitPredictions(decoded[0], decoded[1:])
