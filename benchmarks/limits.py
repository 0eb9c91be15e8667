"""Measured throughput of the operations that bound the RNTK inner loop, and the arithmetic limit from them.

Per pair, layer and time step the engine evaluates one ReLU dual activation: two square roots (one in the
arccos reduction, one for sqrt(1 - c^2)) and one division (the rational arcsin kernel), which share one unit,
and about 50 other floating-point operations (about 40 in the dual, 10 in the Sigma and Theta updates), which
go to the FMA/add pipes. The two run in parallel, so the limit per core is the slower of the two:
min(rate of `2 sqrt + 1 div`, rate of FMA-class operations / 50).
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import njit

FLOPS_PER_PAIR_STEP = 50  # non-divider operations of one pair-layer-step, counted in duals.py and tiles.py
_JIT = {"cache": True, "error_model": "numpy", "fastmath": {"contract"}}


@njit(**_JIT)
def _two_sqrt_one_div(a, b, out):
    for i in range(a.size):
        out[i] = math.sqrt(a[i]) + math.sqrt(b[i]) + a[i] / b[i]


@njit(**_JIT)
def _fma32(a, b, out):
    # four independent Horner chains of 8 FMAs: enough independent work to fill the FMA pipes
    for i in range(a.size):
        x = a[i]
        y = b[i]
        u = x + 1.0
        v = y + 1.0
        p = 1.1 + x * (1.2 + x * (1.3 + x * (1.4 + x * (1.5 + x * (1.6 + x * (1.7 + x * (1.8 + x * 1.9)))))))
        q = 1.1 + y * (1.2 + y * (1.3 + y * (1.4 + y * (1.5 + y * (1.6 + y * (1.7 + y * (1.8 + y * 1.9)))))))
        r = 1.1 + u * (1.2 + u * (1.3 + u * (1.4 + u * (1.5 + u * (1.6 + u * (1.7 + u * (1.8 + u * 1.9)))))))
        w = 1.1 + v * (1.2 + v * (1.3 + v * (1.4 + v * (1.5 + v * (1.6 + v * (1.7 + v * (1.8 + v * 1.9)))))))
        out[i] = (p + q) + (r + w)


def _rate(function, per_element: int, repeats: int = 5) -> float:
    """Best-of-``repeats`` elements (times ``per_element``) per second of one core, on L1-resident data."""
    rng = np.random.default_rng(0)
    a, b, out = rng.uniform(0.1, 1.0, 256), rng.uniform(0.1, 1.0, 256), np.empty(256)
    function(a, b, out)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(20000):
            function(a, b, out)
        best = max(best, 20000 * 256 / (time.perf_counter() - start))
    return best * per_element


def arithmetic_limit(n_cores: int) -> dict[str, float]:
    """Pair-layer-steps per second the machine could do at best, from measured unit throughputs."""
    divider = _rate(_two_sqrt_one_div, 1)          # dual evaluations per second per core, divider-bound
    fma_ops = _rate(_fma32, 37)                    # FMA-class operations per second per core
    per_core = min(divider, fma_ops / FLOPS_PER_PAIR_STEP)
    return {
        "divider_duals_per_s_per_core": divider,
        "fma_ops_per_s_per_core": fma_ops,
        "limit_pair_steps_per_s": per_core * n_cores,
        "cores": n_cores,
    }
