"""Gram blocks kept on disk so that tasks can share them: one ``.npy`` file per (dataset, setting, block).

Two uses in the runner:

* ``--cache-dir``: every Gram block of every task is kept (across runs too), keyed by the dataset's content,
  the kernel setting's canonical id and the block's name.
* Shared parts: a kernel whose Gram matrix is exactly the sum of other settings' Gram matrices (the
  bidirectional RNTK is its forward plus its reversed kernel; ``KernelSpec.parts``) is computed from those
  parts, and each part once per dataset, whichever task needs it first; the other tasks read it. The runner
  keeps these files in a private folder of the run and deletes a dataset's files once its tasks are done.

Files are written to a temporary name and renamed, so a reader sees a whole file or none; two workers that
miss the same part at the same time both compute it and the second rename wins with identical content.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from rntk_bench.data.dataset import Dataset
from rntk_bench.kernels import KERNELS, Kernel, get_kernel


def _folder_name(dataset: str) -> str:
    """A file-system-safe folder name for a dataset name (which may hold ':' or '/')."""
    readable = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset)
    return f"{readable}-{hashlib.sha256(dataset.encode()).hexdigest()[:8]}"


class GramStore:
    """Gram blocks on disk under ``root/<dataset>/<key>.npy``.

    Parameters
    ----------
    root : str or Path
        Folder of the store; created on first write.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, dataset: str, key: str) -> Path:
        """Where the block ``key`` of ``dataset`` is kept."""
        return self.root / _folder_name(dataset) / f"{key}.npy"

    def load_or_compute(self, dataset: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The stored block, or ``compute()``, stored atomically before it is returned.

        Returns
        -------
        ndarray of float64
        """
        path = self.path(dataset, key)
        try:
            return np.load(path)
        except (OSError, ValueError, EOFError):  # absent (or unreadable): compute it again
            pass
        value = np.ascontiguousarray(compute(), dtype=np.float64)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                np.save(stream, value)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return value

    def forget(self, dataset: str) -> None:
        """Delete every block of ``dataset``."""
        shutil.rmtree(self.root / _folder_name(dataset), ignore_errors=True)

    def clear(self) -> None:
        """Delete the whole store."""
        shutil.rmtree(self.root, ignore_errors=True)


def kernel_parts(name: str, params: Mapping[str, Any]) -> list[Kernel]:
    """The settings whose Gram matrices add up to that of kernel ``name`` with ``params``.

    Returns ``[get_kernel(name, **params)]`` for a kernel without parts (``KernelSpec.parts`` is None or
    gives a single setting).
    """
    spec = KERNELS[name]
    settings = spec.parts(dict(params)) if spec.parts is not None else [dict(params)]
    return [get_kernel(name, **setting) for setting in settings]


def has_parts(name: str, params: Mapping[str, Any]) -> bool:
    """Whether the setting is computed as a sum of other settings (it then benefits from a store)."""
    return len(kernel_parts(name, params)) > 1


def stored_gram(store: GramStore, dataset: Dataset, name: str, params: Mapping[str, Any]):
    """A ``gram(block, A, B)`` function (see ``protocols.GramFunction``) reading parts through ``store``.

    Every part's block is keyed by the dataset's content, the part's canonical id and the block's name, so
    the same part computed for another setting (or by another task) is read back instead of recomputed.
    """
    parts = kernel_parts(name, params)
    fingerprint = joblib.hash((dataset.name, dataset.X))

    def gram(block: str, A, B) -> np.ndarray:
        total = None
        for part in parts:
            key = hashlib.sha256(f"{fingerprint}|{part.id}|{block}".encode()).hexdigest()[:24]
            value = store.load_or_compute(dataset.name, key, lambda part=part: part(A, B))
            total = value if total is None else total + value
        return total

    return gram


__all__ = ["GramStore", "has_parts", "kernel_parts", "stored_gram"]
