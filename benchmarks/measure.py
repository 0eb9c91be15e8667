"""Timing and memory measurement of one kernel call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

from rntk_bench.kernels.engine.workspace import release


@dataclass
class Measurement:
    seconds: float          # best of the repeats
    peak_bytes: int         # peak of NumPy/Python allocations during one call (tracemalloc)
    value: object = None    # what the traced call returned


def best_seconds(call: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def measure(call: Callable[[], object], repeats: int) -> Measurement:
    """Best wall time of ``repeats`` calls, then the traced peak memory of one more call.

    Memory is traced in a separate call because tracing slows allocation-heavy code. The RNTK engine's buffers
    kept from the calls before (``engine/workspace.py``) are dropped first, so that the traced call allocates
    its per-sample arrays as a first call does and the peak counts them.
    """
    best = best_seconds(call, repeats)
    release()
    tracemalloc.start()
    tracemalloc.reset_peak()
    value = call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return Measurement(best, peak, value)


_RSS_SCRIPT = """
import json, sys, threading, time
import numpy as np
from rntk_bench.kernels.rntk import rntk
from rntk_bench.threads import limit_threads

def rss():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096

n_x, n_y, t, jobs = map(int, sys.argv[1:5])
rng = np.random.default_rng(0)
X = np.cumsum(rng.normal(size=(n_x, t)), axis=1)
Y = np.cumsum(rng.normal(size=(n_y, t)), axis=1)
scale = max(np.linalg.norm(X, axis=1).max(), np.linalg.norm(Y, axis=1).max())
X /= scale; Y /= scale
peak, running = [0], [True]
def sample():                                   # current resident set, every 5 ms
    while running[0]:
        peak[0] = max(peak[0], rss())
        time.sleep(0.005)
with limit_threads(jobs):
    rntk(X[:4], Y[:4])                          # compiled code loaded before measuring
    before = rss()
    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    K = rntk(X, Y)
    seconds = time.perf_counter() - start
    running[0] = False
    sampler.join()
print(json.dumps(dict(seconds=seconds, rss_before=before, rss_peak=max(peak[0], rss()),
                      output_bytes=K.nbytes, input_bytes=X.nbytes + Y.nbytes)))
"""


def cross_gram_rss(n_x: int, n_y: int, t: int, jobs: int) -> dict:
    """Run one cross Gram ``K(X, Y)`` in a fresh process; report its time and its resident memory before
    and at peak (sampled every 5 ms from /proc/self/statm: Linux only)."""
    result = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(n_x), str(n_y), str(t), str(jobs)],
        capture_output=True, text=True, check=True, env=dict(os.environ),
    )
    return json.loads(result.stdout.strip().splitlines()[-1])
