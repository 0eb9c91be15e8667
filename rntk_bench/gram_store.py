"""Gram blocks kept on disk so that tasks can share them: one ``.npy`` file per (dataset, setting, block).

Two uses in the runner:

* ``--cache-dir``: every Gram block of every task is kept (across runs too), keyed by the dataset's content,
  the kernel setting's canonical id and the block's name.
* Shared parts: a kernel whose Gram matrix is exactly the sum of other settings' Gram matrices (the
  bidirectional RNTK is its forward plus its reversed kernel; ``KernelSpec.parts``) is computed from those
  parts, and each part once per dataset, whichever task needs it first; the other tasks read it. Settings
  that one pass computes together (``KernelSpec.siblings``: the RNTK, its NNGP and its shallower networks)
  are stored together. The runner keeps these files in a private folder of the run and deletes each part's
  files once the last task that reads it is done (:meth:`GramStore.forget_part`), and the rest of a dataset's
  files with its last task.

Files are written to a temporary name and renamed, so a reader sees a whole file or none. A worker that is
computing a part (with its siblings) claims their files first (``<key>.claim``, created exclusively, naming
its host and process); a worker of the same host that misses a claimed part waits for the file instead of
computing it again, unless the claiming process has died. Claims of other hosts are not waited for (their
process cannot be checked): there, as before claims existed, two workers that miss the same part at the same
time both compute it and the second rename wins with identical content.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import joblib
import numpy as np

from rntk_bench.atomic import atomic_write
from rntk_bench.data.dataset import Dataset
from rntk_bench.kernels import KERNELS, Kernel, get_kernel


def part_key(kernel_id: str) -> str:
    """The file-name prefix shared by every block of one setting (its canonical id, hashed)."""
    return hashlib.sha256(kernel_id.encode()).hexdigest()[:16]


def _block_key(kernel_id: str, fingerprint: str, block: str) -> str:
    """The file name (without ``.npy``) of one Gram block of one setting on one dataset's content: the
    setting's :func:`part_key`, a dash, then the hashed content and block name (what ``forget_part`` globs)."""
    return f"{part_key(kernel_id)}-{hashlib.sha256(f'{fingerprint}|{block}'.encode()).hexdigest()[:16]}"


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

    def load(self, dataset: str, key: str) -> np.ndarray | None:
        """The stored block, or None if it is absent (or unreadable)."""
        try:
            return np.load(self.path(dataset, key))
        except (OSError, ValueError, EOFError):
            return None

    def save(self, dataset: str, key: str, value: np.ndarray) -> np.ndarray:
        """Store ``value`` atomically (temporary file, then rename); returns it as contiguous float64."""
        value = np.ascontiguousarray(value, dtype=np.float64)
        atomic_write(self.path(dataset, key), lambda stream: np.save(stream, value))
        return value

    def load_or_compute(self, dataset: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The stored block, or ``compute()``, stored before it is returned.

        Returns
        -------
        ndarray of float64
        """
        value = self.load(dataset, key)
        return self.save(dataset, key, compute()) if value is None else value

    # ---- claims: which process is computing a block right now

    def _claim_path(self, dataset: str, key: str) -> Path:
        return self.root / _folder_name(dataset) / f"{key}.claim"

    def claim(self, dataset: str, keys: Iterable[str]) -> list[str]:
        """Claim the blocks ``keys`` of ``dataset`` for this process, each unless a live process holds it.

        Returns
        -------
        list of str
            The keys claimed, for :meth:`release`; a key missing from it is claimed by another process.
        """
        (self.root / _folder_name(dataset)).mkdir(parents=True, exist_ok=True)
        made = []
        for key in keys:
            path = self._claim_path(dataset, key)
            try:
                descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self.holder_alive(dataset, key) is not False:
                    continue
                path.unlink(missing_ok=True)  # its process died: take it over
                try:
                    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                except FileExistsError:
                    continue
            with os.fdopen(descriptor, "w") as stream:
                stream.write(f"{socket.gethostname()} {os.getpid()}\n")
            made.append(key)
        return made

    def release(self, dataset: str, keys: Iterable[str]) -> None:
        """Give up claims that :meth:`claim` made."""
        for key in keys:
            self._claim_path(dataset, key).unlink(missing_ok=True)

    def holder_alive(self, dataset: str, key: str) -> bool | None:
        """Whether a process claims the block ``key`` and still runs: True, or False if its process (of this
        host) has died or nobody claims it; None where that cannot be told (another host's claim, or one
        being written)."""
        try:
            host, pid = self._claim_path(dataset, key).read_text().split()
            pid = int(pid)
        except FileNotFoundError:
            return False
        except (OSError, ValueError):
            return None
        if host != socket.gethostname():
            return None
        if pid == os.getpid():
            return False  # never released by this process (an interrupted earlier task): not being computed
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def wait_for(self, dataset: str, key: str, poll_seconds: float = 0.2) -> np.ndarray | None:
        """The block ``key``, waiting while a live process of this host claims it; None as soon as it is
        absent and not claimed by one (nobody computes it, its process died, or it is another host's)."""
        while True:
            value = self.load(dataset, key)
            if value is not None:
                return value
            if self.holder_alive(dataset, key) is not True:
                return self.load(dataset, key)   # it may have appeared as the claim went
            time.sleep(poll_seconds)

    def forget_part(self, dataset: str, kernel_id: str) -> None:
        """Delete every block of the setting ``kernel_id`` on ``dataset`` (the files :func:`stored_gram` keys
        with :func:`part_key`); other settings' blocks stay."""
        for path in (self.root / _folder_name(dataset)).glob(f"{part_key(kernel_id)}-*.npy"):
            path.unlink(missing_ok=True)

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


def siblings_of(kernel: Kernel) -> list[Kernel]:
    """The settings ``KernelSpec.batch`` computes together with ``kernel`` (``[kernel]`` if none)."""
    spec = kernel.spec
    if spec.siblings is None or spec.batch is None:
        return [kernel]
    return [get_kernel(spec.name, **setting) for setting in spec.siblings(dict(kernel.params))]


def stored_part_ids(name: str, params: Mapping[str, Any]) -> tuple[str, ...]:
    """Canonical ids of the settings whose blocks :func:`stored_gram` reads or writes for this setting.

    Its parts and their siblings, in order and without repeats (the setting's own id alone when it has
    neither). Two settings of one dataset with an id in common can share that id's Gram files.
    """
    ids = [sibling.id for part in kernel_parts(name, params) for sibling in siblings_of(part)]
    return tuple(dict.fromkeys(ids))


def shares_grams(name: str, params: Mapping[str, Any]) -> bool:
    """Whether a setting is made of parts or computed with siblings, so that it shares Gram matrices through a
    store whatever other settings run (more than one id in :func:`stored_part_ids`)."""
    return len(stored_part_ids(name, params)) > 1


def stored_gram(store: GramStore, dataset: Dataset, name: str, params: Mapping[str, Any], device=None,
                min_work: float = 0.0):
    """A ``gram(block, A, B)`` function (see ``protocols.GramFunction``) reading parts through ``store``.

    Every part's block is keyed by the part's canonical id (the :func:`part_key` prefix), the dataset's
    content and the block's name, so the same part computed for another setting (or by another task) is read
    back instead of recomputed. A part that is missing is computed with its siblings (``KernelSpec.batch``),
    and they are stored too; a part that another live worker of this host is computing (it holds the claim)
    is waited for (:meth:`GramStore.wait_for`).

    ``device`` (a :class:`rntk_bench.kernels.accel.Device`; None: the kernels' own code) computes a missing
    block of a part on that device where ``DeviceKernel.on_device`` says so (a kernel the accelerator engine
    covers, a JAX device, at least ``min_work`` pair-layer-steps), each part alone: the one-pass computation
    of siblings is the numba engine's, so on a device a sibling is computed when a task first needs it. The
    values are the same to about 1e-14 (the accelerator's tests check 1e-12). Other blocks are computed as
    without a device, siblings together.
    """
    parts = kernel_parts(name, params)
    fingerprint = joblib.hash((dataset.name, dataset.X))
    if device is not None:
        from rntk_bench.kernels.accel import device_kernel

    def key(kernel: Kernel, block: str) -> str:
        return _block_key(kernel.id, fingerprint, block)

    def part_gram(part: Kernel, block: str, A, B) -> np.ndarray:
        own = key(part, block)
        siblings = None
        while True:
            value = store.wait_for(dataset.name, own)
            if value is not None:
                return value
            if siblings is None:  # decided at the first miss: a block read back needs no kernel
                bound = None if device is None else device_kernel(part.name, device, min_work=min_work,
                                                                  **part.params)
                on_device = bound is not None and bound.on_device(A, B)
                siblings = [part] if on_device else siblings_of(part)
            claims = store.claim(dataset.name, [own] + [key(s, block) for s in siblings if s.id != part.id])
            if own in claims or store.holder_alive(dataset.name, own) is not True:
                break  # computed here (claimed, or held by another host's worker, which cannot be waited for)
            store.release(dataset.name, claims)  # a live worker claimed it first: wait for its file
        try:
            if on_device:
                return store.save(dataset.name, own, bound(A, B))
            if len(siblings) == 1:
                return store.save(dataset.name, own, part(A, B))
            values = part.spec.batch(A, B, [dict(sibling.params) for sibling in siblings])
            for sibling, sibling_value in zip(siblings, values, strict=True):
                stored = store.save(dataset.name, key(sibling, block), sibling_value)
                if sibling.id == part.id:
                    value = stored
            return value
        finally:
            store.release(dataset.name, claims)

    def gram(block: str, A, B) -> np.ndarray:
        total = None
        for part in parts:
            value = part_gram(part, block, A, B)
            total = value if total is None else total + value
        return total

    return gram


class SharingTask(Protocol):
    """What :class:`SharedParts` needs to know of a task (``rntk_bench.planning.Task`` has it)."""

    dataset: str
    kernel_id: str
    shared: tuple[str, ...]


class SharedParts:
    """The Gram parts that a run's tasks share, and how long each is still needed.

    The store owns the files and this ledger owns their reader counts, in one place: every task still to run
    counts as a reader of each id in its ``shared``; when it finishes (:meth:`finished`) a part nobody will read
    again is deleted, and whatever is left of a dataset (files an interrupted earlier session wrote for tasks
    already done) goes with the dataset's last task.

    Parameters
    ----------
    store : GramStore
        The run's private parts folder.
    tasks : iterable of task
        The tasks still to run (``dataset``, ``kernel_id``, ``shared``).
    """

    def __init__(self, store: GramStore, tasks: Iterable[SharingTask]):
        tasks = list(tasks)
        self.store = store
        self._remaining = Counter(task.dataset for task in tasks)
        self._readers = Counter((task.dataset, part) for task in tasks for part in task.shared)
        self._shared = {(task.dataset, task.kernel_id): task.shared for task in tasks}

    @property
    def root(self) -> str:
        """The folder workers read and write parts in."""
        return str(self.store.root)

    def finished(self, dataset: str, kernel_id: str) -> None:
        """Count the task ``(dataset, kernel_id)`` out of its parts' readers and delete what is no longer read."""
        for part in self._shared.get((dataset, kernel_id), ()):
            self._readers[(dataset, part)] -= 1
            if self._readers[(dataset, part)] <= 0:
                self.store.forget_part(dataset, part)
        self._remaining[dataset] -= 1
        if self._remaining[dataset] <= 0:
            self.store.forget(dataset)

    def clear(self) -> None:
        """Delete every part (the run is complete)."""
        self.store.clear()


__all__ = [
    "GramStore", "SharedParts", "kernel_parts", "part_key", "stored_part_ids", "shares_grams", "siblings_of",
    "stored_gram",
]
