"""Files that readers see whole or not at all: write to a temporary name in the same folder, then rename.

The temporary file gets the mode a plain ``open()`` would give (``0o666`` less the process umask), not the
``0o600`` of :func:`tempfile.mkstemp`, so that colleagues on a shared machine can read a run as they could
read any other file of its owner.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from rntk_bench.errors import WriteError

__all__ = ["atomic_write", "atomic_write_json", "atomic_write_text", "file_mode", "to_json"]


def file_mode() -> int:
    """The permission bits of a newly created file under the current umask (``0o666 & ~umask``)."""
    umask = os.umask(0)  # the only portable way to read the umask is to set it; put it back at once
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(stream)`` on a temporary file beside ``path``, flush it to disk and rename it over ``path``.

    A crash, a full disk or an exception inside ``write`` leaves ``path`` as it was (the old file or none) and
    no temporary file behind.

    Returns
    -------
    Path

    Raises
    ------
    WriteError
        The file system refused (full disk, no permission, ...); the message names the file.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise WriteError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(handle, file_mode())
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise WriteError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_write`)."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda stream: stream.write(data))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def to_json(data: Any) -> str:
    """The JSON text every file of a run uses: sorted keys, two-space indent, a final newline."""
    return json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n"


def atomic_write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as JSON (:func:`to_json`) to ``path`` atomically."""
    return atomic_write_text(path, to_json(data))
