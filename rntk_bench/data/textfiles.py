"""Reading numeric text tables with errors that name the file, line and column.

The fast path hands the whole file to pandas' C parser; only when that fails (or the field counts
disagree) do we walk the lines in Python to say exactly where the file is broken. Nothing is ever
returned partially: a file either parses completely or raises :class:`DatasetError`.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from rntk_bench.errors import DatasetError

NAN_TOKENS = ("NaN", "nan", "NAN")


def read_text(path: Path) -> str:
    """The file's text (UTF-8, a byte-order mark tolerated); missing or undecodable files raise."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror})") from None
    if b"\x00" in data[:4096]:
        raise DatasetError(f"{path}: binary content (NUL bytes): corrupt or not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError(f"{path}, line {line}: not valid UTF-8 text (corrupt file?)") from None


def _split(line: str, sep: str | None) -> list[str]:
    return line.split(sep) if sep is not None else line.split()


def parse_numeric_lines(
    path: Path, lines: list[tuple[int, str]], sep: str | None, n_fields: int | None = None
) -> np.ndarray:
    """Parse ``(line_number, text)`` rows of numbers into a float array ``(n_rows, n_fields)``.

    Parameters
    ----------
    path : Path
        Named in error messages.
    lines : list of (int, str)
        1-based line numbers in the file and the line text, blank lines already removed.
    sep : str or None
        Field separator; None splits on runs of whitespace.
    n_fields : int, optional
        Required number of fields per line; by default the first line's count.

    Raises
    ------
    DatasetError
        On a line with a different number of fields (``truncated``), or a field that is not a number.
        ``NaN`` is accepted and kept; ``inf`` is rejected.
    """
    if not lines:
        raise DatasetError(f"{path}: no data rows (empty file?)")
    expected = n_fields if n_fields is not None else len(_split(lines[0][1], sep))
    for number, text in lines:
        count = len(_split(text, sep))
        if count != expected:
            hint = " (truncated file?)" if number == lines[-1][0] and count < expected else ""
            raise DatasetError(f"{path}, line {number}: {count} fields, expected {expected}{hint}")
    body = "\n".join(text.strip() if sep is None else text for _, text in lines)
    try:
        table = pd.read_csv(
            io.StringIO(body),
            sep=r"\s+" if sep is None else sep,
            header=None,
            dtype=np.float64,
            keep_default_na=False,
            na_values=list(NAN_TOKENS),
            engine="c",
        ).to_numpy()
    except (ValueError, pd.errors.ParserError):
        table = None
    if table is None or table.shape != (len(lines), expected):
        _locate_bad_field(path, lines, sep)
        raise DatasetError(f"{path}: could not be read as a table of {expected} numeric columns")
    if np.isinf(table).any():
        row, col = np.argwhere(np.isinf(table))[0]
        raise DatasetError(f"{path}, line {lines[row][0]}, column {col + 1}: infinite value")
    return table


def _locate_bad_field(path: Path, lines: list[tuple[int, str]], sep: str | None) -> None:
    for number, text in lines:
        for column, token in enumerate(_split(text, sep), start=1):
            token = token.strip()
            if token in NAN_TOKENS:
                continue
            try:
                float(token)
            except ValueError:
                what = f"{token!r} is not a number" if token else "empty field"
                raise DatasetError(f"{path}, line {number}, column {column}: {what}") from None
