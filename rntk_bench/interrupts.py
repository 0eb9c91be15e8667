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


@contextmanager
def signals_held() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM wait: they are raised again, to the handlers they had, when it ends.

    For statements that must happen together or not at all, such as writing a task's file and counting it
    in the session's record: a stop between the two would leave a file that the record does not count.
    Outside the main thread the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: caught.append(signum))  # noqa: ARG005
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            signal.raise_signal(caught[0])


__all__ = ["Terminated", "signals_held", "terminate_as_interrupt"]
