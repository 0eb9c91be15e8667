"""Memory that the engine's per-sample arrays take again from one call to the next, kept per thread.

A Gram matrix's per-sample arrays (``prepare.Side``; 7 MB for 1000 series of 150 steps) would be fresh
memory at every call unless the allocator kept what the last call freed. glibc returns the free top of its
heap to the operating system once it exceeds a threshold that it sets from the largest block freed so far
(twice that block), so whether it does depends on the sizes and the order of a call's arrays. Where it
does, the next call takes every page anew, each with a page fault, many of them inside the loops' threads.
Measured on two threads (benchmarks/README.md), repeated calls of K(X) of 1000 series of 150 steps took
1,400-1,900 page faults each and 77-83 ms; with these buffers none and 70-79 ms (four processes of each,
alternating); of 1000 series of unequal lengths 1,300-2,400 faults and 47-52 ms, against none and 45-46.

``take`` hands out the memory of the calling thread's last array of the same role where it is large enough,
so that a repeated computation reuses its pages whatever the allocator does. Arrays larger than
``KEEP_BYTES`` are not kept (the faults are a smaller share of the larger problems' time, and the memory
would stay held). Each thread has its own buffers, so Python threads computing kernels at once never share
one.
"""

from __future__ import annotations

import math
import threading

import numpy as np

KEEP_BYTES = 32 * 2**20  # the largest buffer kept for a role, per thread

_local = threading.local()


def take(role: str, shape: tuple) -> np.ndarray:
    """An uninitialised C-contiguous float64 array of ``shape`` in the memory of the calling thread's last
    array of ``role``, where that is large enough (else new memory, kept for the next call if it is at most
    ``KEEP_BYTES``).

    The array is valid until the next ``take`` of the same role on the same thread, which hands out the same
    memory again: a caller takes each role for one array it no longer needs by then.
    """
    size = math.prod(shape)
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    held = buffers.get(role)
    if held is None or held.size < size:
        # the smaller buffer is let go first, so that it is not held beside the new one
        buffers.pop(role, None)
        held = np.empty(size)
        if held.nbytes <= KEEP_BYTES:
            buffers[role] = held
    return held[:size].reshape(shape)


def release() -> None:
    """Drop the calling thread's buffers (their memory is freed once no array uses it)."""
    _local.buffers = {}
