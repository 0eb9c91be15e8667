"""Where datasets live: the data directory a command reads, and the per-user cache it defaults to.

A data directory holds ``UCRArchive_2018/<Name>/`` and/or ``fernandez-delgado/<name>/``, laid out as the
publishers distribute them. The directory is chosen, in order, by an explicit argument (``--data-dir``), the
environment variable ``RNTK_BENCH_DATA``, and finally a per-user cache directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

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


def ucr_dir(root: Path, name: str) -> Path:
    """Folder of UCR dataset ``name`` under data directory ``root``."""
    return Path(root) / UCR_FOLDER / name


def uci_dir(root: Path, name: str) -> Path:
    """Folder of Fernandez-Delgado UCI dataset ``name`` under data directory ``root``."""
    return Path(root) / UCI_FOLDER / name
