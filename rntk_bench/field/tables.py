"""Reading the small CSV tables of published figures, with errors that name the file and line.

Both the source files (the archive summary, the bake off's per-classifier files) and the imported tables go
through :func:`read_rows`, so a malformed row is reported the same way whichever file it is in.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from rntk_bench.data.textfiles import read_text
from rntk_bench.errors import DatasetError

Row = tuple[int, list[str]]
"""A row of a CSV file: its 1-based line number and its fields."""


def read_rows(path: Path, what: str = "") -> tuple[Row, list[Row]]:
    """The header and the data rows of a CSV file, every row checked to have the header's field count.

    Parameters
    ----------
    path : Path
        The file (UTF-8; a byte-order mark and CRLF line ends are accepted).
    what : str
        Named in the "file not found" message, e.g. ``"imported table"``.

    Returns
    -------
    header : (int, list of str)
        Line number and fields of the first non-blank line.
    rows : list of (int, list of str)
        The other non-blank lines, with their line numbers.

    Raises
    ------
    DatasetError
        A missing, unreadable or empty file, a row with a different number of fields from the header, or a
        quoted field left open.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: {what + ' ' if what else ''}file not found")
    reader = csv.reader(io.StringIO(read_text(path), newline=""), strict=True)
    rows: list[Row] = []
    start = 1
    try:
        for fields in reader:
            # line_num is the last physical line read; a field with a quoted line break spans several.
            if fields and any(field.strip() for field in fields):
                rows.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DatasetError(f"{path}, line {reader.line_num}: malformed CSV ({exc})") from None
    if not rows:
        raise DatasetError(f"{path}: no header and no rows (empty file?)")
    header, body = rows[0], rows[1:]
    expected = len(header[1])
    for number, fields in body:
        if len(fields) != expected:
            hint = " (truncated file?)" if number == body[-1][0] and len(fields) < expected else ""
            raise DatasetError(
                f"{path}, line {number}: {len(fields)} fields, expected {expected} as in the header{hint}"
            )
    return header, body


def column_positions(path: Path, header: Row, required: tuple[str, ...], strip: bool = False) -> dict[str, int]:
    """Where each required column is in the header.

    Parameters
    ----------
    path : Path
        Named in errors.
    header : (int, list of str)
        From :func:`read_rows`.
    required : tuple of str
        Column names that must be present, each exactly once.
    strip : bool
        Compare the header's names with surrounding spaces removed (the archive summary has a trailing space
        in ``DTW (learned_w) ``).

    Raises
    ------
    DatasetError
        A required column missing or present twice; the message lists the header.
    """
    number, fields = header
    names = [field.strip() if strip else field for field in fields]
    positions = {}
    for name in required:
        count = names.count(name)
        if count != 1:
            problem = "missing" if count == 0 else f"present {count} times"
            raise DatasetError(
                f"{path}, line {number}: column {name!r} {problem} (header: {', '.join(map(repr, fields))})"
            )
        positions[name] = names.index(name)
    return positions


def parse_fraction(path: Path, number: int, column: str, text: str, *, empty_ok: bool = False) -> float:
    """A number in [0, 1] (an accuracy or an error rate) from a table field.

    Parameters
    ----------
    path : Path
    number : int
        The field's line number, for errors.
    column : str
        The field's column, for errors.
    text : str
        The field; surrounding white space, including no-break spaces, is ignored.
    empty_ok : bool
        Return NaN for an empty field instead of raising.

    Raises
    ------
    DatasetError
        An empty field (unless ``empty_ok``), a field that is not a number, or one outside [0, 1] (NaN and
        infinities included).
    """
    token = text.strip()
    if not token:
        if empty_ok:
            return math.nan
        raise DatasetError(f"{path}, line {number}, column {column!r}: empty, expected a number in [0, 1]")
    try:
        value = float(token)
    except ValueError:
        raise DatasetError(f"{path}, line {number}, column {column!r}: {token!r} is not a number") from None
    if not 0.0 <= value <= 1.0:  # also false for NaN
        raise DatasetError(f"{path}, line {number}, column {column!r}: {token} is outside [0, 1]")
    return value


def unique_names(path: Path, rows: list[Row], position: int, column: str) -> list[str]:
    """The names in column ``position`` of ``rows``, stripped, each required to be non-empty and unique.

    Raises
    ------
    DatasetError
        An empty name, or a name on two lines (both line numbers given).
    """
    seen: dict[str, int] = {}
    for number, fields in rows:
        name = fields[position].strip()
        if not name:
            raise DatasetError(f"{path}, line {number}, column {column!r}: empty name")
        if name in seen:
            raise DatasetError(f"{path}, line {number}: {column} {name!r} duplicated (first on line {seen[name]})")
        seen[name] = number
    return list(seen)
