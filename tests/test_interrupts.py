"""SIGTERM inside ``terminate_as_interrupt`` becomes a KeyboardInterrupt; the old handler comes back after."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from rntk_bench.cli import _exit_code
from rntk_bench.interrupts import Terminated, signals_held, terminate_as_interrupt


def test_sigterm_raises_terminated_inside_the_block_and_the_previous_handler_returns():
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with pytest.raises(KeyboardInterrupt) as caught, terminate_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            raise AssertionError("SIGTERM did not interrupt the block")  # Python runs handlers right after os.kill
        assert isinstance(caught.value, Terminated) and "SIGTERM" in str(caught.value)
        assert caught.value.exit_code == 128 + signal.SIGTERM == _exit_code(caught.value)
        os.kill(os.getpid(), signal.SIGTERM)  # outside the block: the test's own handler, no exception
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_ctrl_c_keeps_its_exit_code():
    assert _exit_code(KeyboardInterrupt()) == 130


def test_outside_the_main_thread_the_block_leaves_signals_alone():
    before = signal.getsignal(signal.SIGTERM)
    inside = []

    def work():
        with terminate_as_interrupt():
            inside.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert inside == [before] and signal.getsignal(signal.SIGTERM) is before


@pytest.fixture
def ctrl_c_raises():
    """Python's own SIGINT handler for the test: a process started in the background of a non-interactive shell
    inherits SIGINT ignored, and Python then leaves it so."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_signals_held_arrive_when_the_block_ends_with_the_handlers_before_it(ctrl_c_raises):
    steps = []
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(Terminated), terminate_as_interrupt():
        with signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("after the signal")        # the block is not cut short
            time.sleep(0.01)
            steps.append("end of the block")
        steps.append("never: the signal is raised when the block ends")
    assert steps == ["after the signal", "end of the block"]
    with pytest.raises(KeyboardInterrupt):
        with signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("ctrl-c held")
    assert steps[-1] == "ctrl-c held"
    assert signal.getsignal(signal.SIGINT) is before
