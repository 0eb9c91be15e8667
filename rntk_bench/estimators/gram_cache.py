"""A small, bounded, process-wide cache of the Gram matrices that :class:`~rntk_bench.estimators.KernelSVC`
computes.

A search such as ``GridSearchCV(KernelSVC(kernel="rntk"), {"C": [...]})`` clones the estimator for every
candidate, so a cache on the instance would be lost between two values of C on the same fold. This cache lives
in the module instead: a Gram matrix is keyed by the kernel (its function and exact parameters) and by hashes
of the (prepared) inputs, so every clone that sees the same fold with the same kernel setting gets the matrix
computed by the first.

The cache holds at most :data:`MAX_ENTRIES` matrices and :data:`MAX_BYTES` bytes, evicting the least recently
used first; a matrix larger than :data:`MAX_BYTES` is computed but not kept. It is per process: the workers of
a search with ``n_jobs > 1`` each have their own. Cached matrices are read-only, since every caller shares them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import joblib
import numpy as np

from rntk_bench.kernels import Kernel

__all__ = ["MAX_BYTES", "MAX_ENTRIES", "cache_info", "cached_gram", "clear_gram_cache", "input_hash"]

MAX_ENTRIES = 32
"""Most Gram matrices kept: enough for the training and validation blocks of a 10-fold search plus its refit."""

MAX_BYTES = 256 * 2**20
"""Most bytes kept (256 MiB); the least recently used matrices go first."""

_entries: OrderedDict[tuple, np.ndarray] = OrderedDict()
_counts = {"hits": 0, "misses": 0}
# Searches may run clones in threads (joblib's threading backend); the lock guards the dictionary, not the
# computation, so two threads missing the same key at once both compute it (the same numbers) and one wins.
_lock = threading.Lock()


def input_hash(X: Any) -> str:
    """A hash of a kernel input (array or list of arrays): its values, dtype and shape.

    Returns
    -------
    str
    """
    return joblib.hash(X)


def _kernel_key(kernel: Kernel) -> tuple:
    # The function object itself and the exact parameter values: the canonical id rounds floats to 12 digits
    # and does not tell two registered functions of the same name apart.
    return (kernel.spec.function, tuple(sorted(kernel.params.items())))


def cached_gram(kernel: Kernel, X: Any, X_hash: str, Y: Any = None, Y_hash: str | None = None) -> np.ndarray:
    """``kernel(X)`` (when ``Y`` is None) or ``kernel(X, Y)``, from the cache when it holds it.

    Parameters
    ----------
    kernel : Kernel
    X, Y : kernel input
        As the kernel reads them; ``Y`` None asks for the Gram matrix of ``X`` with itself, with the terms of a
        sample paired with itself (such as the RNTK's ``sigma_h`` term).
    X_hash, Y_hash : str
        :func:`input_hash` of ``X`` and ``Y`` (the caller usually has them already).

    Returns
    -------
    ndarray of shape (n_x, n_y), read-only
    """
    key = (_kernel_key(kernel), X_hash, None if Y is None else Y_hash)
    with _lock:
        gram = _entries.get(key)
        if gram is not None:
            _entries.move_to_end(key)
            _counts["hits"] += 1
            return gram
        _counts["misses"] += 1
    gram = kernel(X) if Y is None else kernel(X, Y)  # outside the lock: this is the slow part
    gram.setflags(write=False)
    if gram.nbytes <= MAX_BYTES:
        with _lock:
            _entries[key] = gram
            _entries.move_to_end(key)
            while len(_entries) > MAX_ENTRIES or sum(entry.nbytes for entry in _entries.values()) > MAX_BYTES:
                _entries.popitem(last=False)
    return gram


def clear_gram_cache() -> None:
    """Drop every cached Gram matrix and reset the hit and miss counts."""
    with _lock:
        _entries.clear()
        _counts.update(hits=0, misses=0)


def cache_info() -> dict[str, int]:
    """``entries``, ``bytes``, ``hits`` and ``misses`` of the cache since it was last cleared."""
    with _lock:
        return {"entries": len(_entries), "bytes": sum(entry.nbytes for entry in _entries.values()), **_counts}
