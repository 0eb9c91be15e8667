"""Termination requests handled like Ctrl-C, so that a stopped run still records how it ended.

Batch schedulers (SLURM, PBS, ``timeout``, ``kill``) stop a job with SIGTERM, whose default action ends the
process at once: ``finally`` blocks do not run, and a run folder's ``run.json`` would keep its last session as
"running" with no end time. Inside :func:`terminate_as_interrupt`, SIGTERM raises :class:`KeyboardInterrupt`
instead, which the runner already turns into an orderly stop (session marked "interrupted", tables written).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """A termination signal, raised as a KeyboardInterrupt; ``exit_code`` is the shell's 128 + signal number."""

    def __init__(self, signum: int):
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum
        self.exit_code = 128 + signum


def _raise_terminated(signum, frame):  # noqa: ARG001 - the signal handler signature
    raise Terminated(signum)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main thread.

    The previous handler is restored when the block ends.

    Outside the main thread (where Python cannot install signal handlers) the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


__all__ = ["Terminated", "terminate_as_interrupt"]
