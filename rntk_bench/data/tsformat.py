"""Reader for the ``.ts`` time-series classification format (timeseriesclassification.com, sktime, aeon).

A file is a header of ``@key value`` lines (``@problemName``, ``@univariate``, ``@dimensions``,
``@equalLength``, ``@seriesLength``, ``@classLabel true <labels...>``, ...), then ``@data`` and one case per
line: the channels separated by ``:``, each a comma-separated list of values (``?`` or ``NaN`` = missing),
and the class label last. ``#`` (or ARFF's ``%``) starts a comment line. Keys are case-insensitive.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rntk_bench.data.textfiles import read_text
from rntk_bench.errors import DatasetError


@dataclass(frozen=True)
class TsFile:
    """The cases of one ``.ts`` file.

    Attributes
    ----------
    cases : list of ndarray of shape (n_channels, T_i)
        Float values; NaN where the file says ``?`` or ``NaN``.
    labels : list of str
        The class label of each case, as written.
    class_labels : tuple of str
        The labels declared by ``@classLabel``.
    header : dict
        The header values, keys lower-cased.
    """

    cases: list
    labels: list
    class_labels: tuple
    header: dict


def _flag(header: dict, key: str, path: Path) -> bool | None:
    value = header.get(key)
    if value is None:
        return None
    word = value.split()[0].lower() if value.split() else ""
    if word not in ("true", "false"):
        raise DatasetError(f"{path}: @{key} must be true or false; got {value!r}")
    return word == "true"


def _parse_values(text: str, path: Path, number: int, channel: int) -> np.ndarray:
    tokens = text.split(",")
    if not text.strip():
        raise DatasetError(f"{path}, line {number}: channel {channel} has no values")
    try:
        return np.array([np.nan if t.strip() == "?" else float(t) for t in tokens])
    except ValueError:
        for position, token in enumerate(tokens):
            token = token.strip()
            if token == "?":
                continue
            try:
                float(token)
            except ValueError:
                raise DatasetError(
                    f"{path}, line {number}, channel {channel}, value {position}: {token!r} is not a number"
                ) from None
        raise


def read_ts(path: str | Path) -> TsFile:
    """Parse a classification ``.ts`` file.

    Raises
    ------
    DatasetError
        Naming the file and line: missing ``@data`` or ``@classLabel``, time-stamped or regression files,
        a case with the wrong number of channels, a channel with no values or with non-numeric values,
        channels of different lengths within one case, a label not declared by ``@classLabel``, or
        ``@equalLength true`` / ``@seriesLength`` contradicted by the data.
    """
    path = Path(path)
    text = read_text(path)
    header: dict[str, str] = {}
    cases: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    n_channels: int | None = None
    class_labels: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "%")):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise DatasetError(f"{path}, line {number}: expected an @-header line or @data; got {line[:40]!r}")
            key, _, value = line[1:].partition(" ")
            key = key.lower()
            if key == "data":
                in_data = True
                if _flag(header, "timestamps", path):
                    raise DatasetError(f"{path}: time-stamped .ts files are not supported")
                if _flag(header, "targetlabel", path):
                    raise DatasetError(f"{path}: a regression problem (@targetLabel), not classification")
                if "classlabel" not in header or not _flag(header, "classlabel", path):
                    raise DatasetError(f"{path}: no '@classLabel true <labels>' header before @data")
                class_labels = tuple(header["classlabel"].split()[1:])
                if not class_labels:
                    raise DatasetError(f"{path}: @classLabel true lists no class labels")
                if "dimensions" in header:
                    try:
                        n_channels = int(header["dimensions"])
                    except ValueError:
                        raise DatasetError(f"{path}: @dimensions {header['dimensions']!r} is not an integer") from None
                elif _flag(header, "univariate", path):
                    n_channels = 1
                continue
            header.setdefault(key, value.strip())
            continue
        parts = line.split(":")
        label = parts[-1].strip()
        channels = parts[:-1]
        if not channels:
            raise DatasetError(f"{path}, line {number}: a label with no values")
        if n_channels is None:
            n_channels = len(channels)
        if len(channels) != n_channels:
            raise DatasetError(f"{path}, line {number}: {len(channels)} channels, expected {n_channels}")
        if label not in class_labels:
            raise DatasetError(
                f"{path}, line {number}: class label {label!r} is not declared by @classLabel "
                f"({' '.join(class_labels)})"
            )
        values = [_parse_values(channel, path, number, c) for c, channel in enumerate(channels)]
        lengths = {len(v) for v in values}
        if len(lengths) != 1:
            raise DatasetError(f"{path}, line {number}: channels of different lengths {sorted(lengths)}")
        cases.append(np.vstack(values))
        labels.append(label)
    if not in_data:
        raise DatasetError(f"{path}: no @data line (truncated or not a .ts file)")
    if not cases:
        raise DatasetError(f"{path}: no cases after @data")
    lengths = {case.shape[1] for case in cases}
    if _flag(header, "equallength", path) and len(lengths) != 1:
        raise DatasetError(f"{path}: @equalLength true but series lengths range {min(lengths)}..{max(lengths)}")
    if "serieslength" in header and _flag(header, "equallength", path) is not False:
        try:
            declared = int(header["serieslength"])
        except ValueError:
            raise DatasetError(f"{path}: @seriesLength {header['serieslength']!r} is not an integer") from None
        if lengths != {declared}:
            raise DatasetError(f"{path}: @seriesLength {declared} but the series have length(s) {sorted(lengths)[:5]}")
    return TsFile(cases, labels, class_labels, header)
