"""One writer per run folder: a lock file naming its holder, and stale locks recognised.

Two processes writing one run folder (a run and a ``--resume`` of it, or two resumes) would both redo the
remaining tasks and overwrite each other's ``run.json``. :class:`RunLock` creates ``<run>/.lock`` exclusively
(``O_CREAT | O_EXCL``) with the holder's pid, host and start time. A lock whose holder is gone (same host, pid
no longer alive: a process killed with SIGKILL never removes its lock) is stale and taken over; a live
holder, or a holder on another host (whose pid cannot be checked from here), is refused with a message that
names it.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from rntk_bench.errors import RunError

__all__ = ["LOCK_FILE", "RunLock", "pid_alive"]

LOCK_FILE = ".lock"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """Exclusive lock of a run folder, as a context manager.

    Parameters
    ----------
    run_dir : path
        An existing folder.
    started : str
        Time stamp written into the lock (shown to a refused second writer).

    Attributes
    ----------
    stale : dict or None
        The content of a stale lock that was taken over (its holder died), else None.
    """

    def __init__(self, run_dir: str | Path, started: str = ""):
        self.path = Path(run_dir) / LOCK_FILE
        self.started = started
        self.stale: dict[str, Any] | None = None
        self._held = False

    def _holder(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # unreadable or half-written: treated as held by an unknown process

    def _create(self) -> bool:
        try:
            handle = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            return False
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump({"pid": os.getpid(), "host": socket.gethostname(), "started": self.started}, stream)
        return True

    def acquire(self) -> RunLock:
        """Take the lock.

        Raises
        ------
        RunError
            Another live process holds it, or a process on another host does.
        """
        for _ in range(3):  # a stale lock removed between our look and our create: try again
            if self._create():
                self._held = True
                return self
            holder = self._holder()
            if holder is None:
                continue
            pid, host = holder.get("pid"), holder.get("host")
            if host == socket.gethostname() and isinstance(pid, int) and not pid_alive(pid):
                self.stale = holder
                self.path.unlink(missing_ok=True)
                continue
            who = f"process {pid} on {host}" if pid else "an unknown process"
            since = f" since {holder['started']}" if holder.get("started") else ""
            hint = ("wait for it to finish or stop it" if host == socket.gethostname() else
                    f"if that process is gone, delete {self.path}")
            raise RunError(f"run folder {str(self.path.parent)!r} is in use by {who}{since}; {hint}. Two writers "
                           "would redo the same tasks and overwrite each other's run.json.")
        raise RunError(f"could not lock run folder {str(self.path.parent)!r}: {self.path} keeps changing")

    def release(self) -> None:
        """Remove the lock file if this object holds it."""
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()
