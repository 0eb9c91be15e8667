"""Where datasets live: the data directory a command reads, and the per-user cache it defaults to.

A data directory holds ``UCRArchive_2018/<Name>/`` and/or ``fernandez-delgado/<name>/``, laid out as the
publishers distribute them. The directory is chosen, in order, by an explicit argument (``--data-dir``), the
environment variable ``RNTK_BENCH_DATA``, and finally a per-user cache directory.

:func:`check_data_dir` is the one check of a data directory handed in by the user (``--data-dir``): every
function of :mod:`rntk_bench.data` that accepts a ``data_dir`` applies it (through :func:`checked_data_dir`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rntk_bench.errors import DatasetError

DATA_ENV = "RNTK_BENCH_DATA"
"""Environment variable naming the data directory when no ``--data-dir`` is given."""

UCR_FOLDER = "UCRArchive_2018"
UCI_FOLDER = "fernandez-delgado"


def user_cache_dir() -> Path:
    """The platform's per-user cache directory for rntk-bench data.

    ``$XDG_CACHE_HOME/rntk-bench`` (default ``~/.cache/rntk-bench``) on Linux and other Unixes,
    ``~/Library/Caches/rntk-bench`` on macOS, ``%LOCALAPPDATA%\\rntk-bench\\Cache`` on Windows.
    """
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "rntk-bench" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "rntk-bench"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rntk-bench"


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data directory to read: ``data_dir``, else ``$RNTK_BENCH_DATA``, else :func:`user_cache_dir`.

    The directory need not exist (a fresh cache is created by ``rntk-bench datasets fetch``); a missing
    dataset is reported when it is loaded.
    """
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return user_cache_dir()


DATA_DIR_LAYOUT = f"a folder holding {UCR_FOLDER}/ and/or {UCI_FOLDER}/"


def check_data_dir(path: str | Path, *, must_exist: bool = True) -> Path:
    """Check that ``path`` can serve as a data directory and return it (``~`` expanded).

    Parameters
    ----------
    path : str or Path
        The data directory, as the user gave it (``--data-dir``, ``RNTK_BENCH_DATA``).
    must_exist : bool
        Whether the folder must exist already (True for reading; False where it will be created, as by
        ``rntk-bench datasets fetch``).

    Returns
    -------
    Path

    Raises
    ------
    DatasetError
        ``data folder 'X' does not exist`` (only with ``must_exist``), ``data folder 'X' is a file, not a
        folder``, or ``data folder 'X' is not readable``. A plain :class:`DatasetError`, not a
        :class:`~rntk_bench.errors.DatasetNotFoundError`: a wrong data folder must not pass for missing
        datasets (which ``--skip-missing`` leaves out).
    """
    folder = Path(path).expanduser()
    shown = repr(str(path))
    if folder.is_dir():
        try:
            with os.scandir(folder) as entries:
                next(entries, None)
        except OSError as exc:
            raise DatasetError(
                f"data folder {shown} is not readable ({exc.strerror or exc}); give a folder you may list"
            ) from None
        return folder
    if folder.exists() or folder.is_symlink():
        what = "a file, not a folder" if folder.exists() else "a link to a missing folder"
        raise DatasetError(f"data folder {shown} is {what}; a data folder is {DATA_DIR_LAYOUT}")
    if must_exist:
        raise DatasetError(
            f"data folder {shown} does not exist; give {DATA_DIR_LAYOUT}, or fill a new one with "
            f"`rntk-bench datasets fetch NAME --data-dir {path}`"
        )
    return folder


def checked_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data directory to read (:func:`resolve_data_dir`), checked with :func:`check_data_dir`.

    A ``data_dir`` given explicitly must be an existing, readable folder. The default (``$RNTK_BENCH_DATA``,
    else the per-user cache) may be absent, since nothing may have been fetched yet (only embedded data
    is then available), but must not be a file or unreadable.

    Raises
    ------
    DatasetError
        See :func:`check_data_dir`.
    """
    explicit = data_dir is not None and str(data_dir) != ""
    return check_data_dir(resolve_data_dir(data_dir), must_exist=explicit)


def ucr_dir(root: Path, name: str) -> Path:
    """Folder of UCR dataset ``name`` under data directory ``root``."""
    return Path(root) / UCR_FOLDER / name


def uci_dir(root: Path, name: str) -> Path:
    """Folder of Fernandez-Delgado UCI dataset ``name`` under data directory ``root``."""
    return Path(root) / UCI_FOLDER / name
