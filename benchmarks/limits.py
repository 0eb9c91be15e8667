"""Measured throughput of the operations that bound the RNTK inner loop, and the arithmetic limit from them.

Per pair, layer and time step the engine evaluates one ReLU dual activation: one square root (sqrt(1 - c^2))
and one division (the rational R of arccos|c| = sqrt(1 - c^2) (1 + (1 - |c|) R)), which share one unit, and 43 other
floating-point operations (counted in the step loop's machine code), which go to the FMA/add pipes. The two
run in parallel, so the limit per core is the slower of the two:
min(rate of `1 sqrt + 1 div`, rate of FMA-class operations / 43).

Each probe runs compiled twice, as numba compiles by default and as the engine's step loops are compiled
(``engine.jit.NoAliasCompiler``: 512-bit vectors preferred, which changes the machine code on CPUs with AVX-512
only), and each unit's rate is the better of the two: the limit is what the machine could do at best.

Four probes check the model without entering the limit: the whole mix in one loop (43 FMAs), the same chained
as in the ReLU dual, the chained mix cut in two parts run 16 elements apart (software pipelining, which the
engine's step loop tried and does not use: ``benchmarks/README.md``), and the step loop's own operation counts
(``_engine_mix``), each with independent operands unless chained.
``_two_sqrt_one_div`` is the divider's work of the engine before 2026-12-04 (arccos through arcsin), which
earlier tables' limits were taken from.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from rntk_bench.kernels.engine.jit import NoAliasCompiler

FLOPS_PER_PAIR_STEP = 43  # non-divider operations of one pair-layer-step, counted in the step loop's machine code
# (46 from 2026-12-04 to 2026-12-05, 50 before: the ReLU planes now carry sqrt(1/2), sigma_b and 1/sqrt(2 pi))
# The erf step loop (tiles._pairs_erf_last_direct, same machine and compiler) does `2 sqrt + 2 div` (the arcsine's
# reduction and rational kernel, and 1 / sqrt(det) for the derivative) and 41 other operations (26
# multiplications and FMAs, 15 others: compares, selects, max, sign and register copies): a different mix,
# with a limit of its own.
ERF_FLOPS_PER_PAIR_STEP = 41
_JIT = {"cache": True, "error_model": "numpy", "fastmath": {"contract"}, "nogil": True}
_SWEEPS = 20000  # passes over the 256 elements per timing, inside the compiled loop


# Each probe repeats its sweep inside the compiled code: called from Python once per 256 elements, the
# call's own cost (a few hundred ns against about 500 ns of work) made an earlier version of this probe
# report the divider rate 25 % low. The sweeps accumulate into ``out`` so that none can be optimised away.

@njit(inline="always", **_JIT)
def _horner8(x):
    return 1.1 + x * (1.2 + x * (1.3 + x * (1.4 + x * (1.5 + x * (1.6 + x * (1.7 + x * (1.8 + x * 1.9)))))))


@njit(**_JIT)
def _one_sqrt_one_div(a, b, out, sweeps):
    for _ in range(sweeps):
        for i in range(a.size):
            out[i] += math.sqrt(a[i]) + a[i] / b[i]


@njit(**_JIT)
def _two_sqrt_two_div(a, b, out, sweeps):
    for _ in range(sweeps):
        for i in range(a.size):
            out[i] += (math.sqrt(a[i]) + a[i] / b[i]) + (math.sqrt(b[i]) + b[i] / a[i])


@njit(**_JIT)
def _two_sqrt_one_div(a, b, out, sweeps):
    for _ in range(sweeps):
        for i in range(a.size):
            out[i] += math.sqrt(a[i]) + math.sqrt(b[i]) + a[i] / b[i]


@njit(**_JIT)
def _fma32(a, b, out, sweeps):
    # four independent Horner chains of 8 FMAs: enough independent work to fill the FMA pipes
    for _ in range(sweeps):
        for i in range(a.size):
            x = a[i]
            y = b[i]
            u = x + 1.0
            v = y + 1.0
            out[i] += (_horner8(x) + _horner8(y)) + (_horner8(u) + _horner8(v))


@njit(inline="always", **_JIT)
def _horner10(x):
    return 1.1 + x * (1.2 + x * (1.3 + x * (1.4 + x * (1.5 + x * (1.6 + x * (1.7 + x * (1.8 + x * (1.9 + x * (
        2.0 + x * 2.1)))))))))


@njit(inline="always", **_JIT)
def _horner10b(x):
    return 2.1 - x * (2.0 - x * (1.9 - x * (1.8 - x * (1.7 - x * (1.6 - x * (1.5 - x * (1.4 - x * (1.3 - x * (
        1.2 - x * 1.1)))))))))


@njit(inline="always", **_JIT)
def _horner7(x):
    return 1.1 + x * (1.2 + x * (1.3 + x * (1.4 + x * (1.5 + x * (1.6 + x * (1.7 + x * 1.8))))))


# The engine's operation mix per element: `1 sqrt + 1 div` and 43 FMA-class operations (in `_mix` four Horner
# chains of 10, 10, 10 and 7 FMAs, three additions combining them, three more with the divider's results and
# the sum; in `_mix_chained` four chains of 10, one addition of the divider's results, two more). In `_mix` the
# divider's and the FMAs' operands are all independent; in `_mix_chained` the same kinds of operations depend on
# each other as in the ReLU dual (FMAs form the divider's operands, the other FMAs wait for its results).

@njit(**_JIT)
def _mix(a, b, out, sweeps):
    for _ in range(sweeps):
        for i in range(a.size):
            x = a[i]
            y = b[i]
            chains = (_horner10(x) + _horner10(y)) + (_horner10b(x) + _horner7(y))
            out[i] += chains + (math.sqrt(x) + x / y)


@njit(**_JIT)
def _mix_chained(a, b, out, sweeps):
    for _ in range(sweeps):
        for i in range(a.size):
            p = _horner10(a[i])
            q = _horner10b(b[i])
            d = math.sqrt(p) + p / q
            out[i] += _horner10(d) + _horner10b(d)


_SKEW = 16


@njit(**_JIT)
def _mix_skewed(a, b, out, sweeps):
    # ``_mix_chained``'s operations software-pipelined: an iteration does the first part (FMAs, then the
    # divider) of element i and the second (FMAs on the divider's result) of element i - 16, two independent
    # pieces of work passing through ``d``
    n = a.size
    d = np.empty(n)
    for _ in range(sweeps):
        for i in range(_SKEW):
            p = _horner10(a[i])
            d[i] = math.sqrt(p) + p / _horner10b(b[i])
        for i in range(_SKEW, n):
            p = _horner10(a[i])
            d[i] = math.sqrt(p) + p / _horner10b(b[i])
            e = d[i - _SKEW]
            out[i - _SKEW] += _horner10(e) + _horner10b(e)
        for i in range(n - _SKEW, n):
            out[i] += _horner10(d[i]) + _horner10b(d[i])


# The ReLU step loop as compiled (tiles._pairs_relu_last_direct, numba 0.68, the Intel Xeon of 2026-12-05, with
# 512-bit vectors) does per vector of pairs `1 sqrt + 1 div`, 29 multiplications and FMAs, and 14 other vector
# operations (8 subtractions, 2 min, 1 compare, 1 select, 2 register copies); from 2026-12-04 to 2026-12-05
# `1 sqrt + 1 div`, 32 and 14; before, with the angle through arcsin: `2 sqrt + 1 div`, 32 and 18.
# ``_engine_mix`` does the same counts per element with independent operands: Horner chains of 8, 8, 8 and 5
# FMAs; 14 additions, subtractions, min/max and one compare with its select; the divider's two operations.

@njit(inline="always", **_JIT)
def _horner5(x):
    return 1.1 + x * (1.2 + x * (1.3 + x * (1.4 + x * (1.5 + x * 1.6))))


@njit(**_JIT)
def _engine_mix(a, b, out, sweeps):
    for _ in range(sweeps):
        for i in range(a.size):
            x = a[i]
            y = b[i]
            u = x - 0.5
            low = min(x, y)
            high = max(u, y)
            pick = x if x >= 0.5 else y
            chains = (_horner8(x) + _horner8(y)) + (_horner8(u) + _horner5(low))
            rest = (high - pick) + low
            divider = math.sqrt(x) + x / y
            out[i] += (chains + rest) + divider


def _wide(function):
    """``function`` compiled as the engine's step loops are (``NoAliasCompiler``), not cached: numba's cache
    would give both compilations of one function the same entry."""
    options = {key: value for key, value in _JIT.items() if key != "cache"}
    return njit(pipeline_class=NoAliasCompiler, **options)(function.py_func)


_WIDE = {}


def _rate(function, per_element: int, n_threads: int = 1, repeats: int = 5) -> float:
    """Best-of-``repeats`` elements (times ``per_element``) per second per core, on L1-resident data, with
    ``n_threads`` threads running the probe at once (each on its own arrays): what the cores sustain
    together, which a shared or virtual machine may not give as n times one core's rate."""
    rng = np.random.default_rng(0)
    arrays = [(rng.uniform(0.1, 1.0, 256), rng.uniform(0.1, 1.0, 256), np.zeros(256)) for _ in range(n_threads)]
    function(*arrays[0], 1)
    best = 0.0
    with ThreadPoolExecutor(n_threads) as pool:
        for _ in range(repeats):
            start = time.perf_counter()
            list(pool.map(lambda own: function(*own, _SWEEPS), arrays))
            best = max(best, _SWEEPS * 256 / (time.perf_counter() - start))
    return best * per_element


def _both_rates(function, per_element: int, n_threads: int) -> tuple[float, float]:
    """``_rate`` of ``function`` as compiled by default and as the engine's step loops are."""
    if function not in _WIDE:
        _WIDE[function] = _wide(function)
    return _rate(function, per_element, n_threads), _rate(_WIDE[function], per_element, n_threads)


def _best_rate(function, per_element: int, n_threads: int) -> float:
    return max(_both_rates(function, per_element, n_threads))


def arithmetic_limit(n_cores: int) -> dict[str, float]:
    """Pair-layer-steps per second the machine could do at best, with ``n_cores`` threads at once: the model
    from the units' throughputs (``min(divider, FMA-class / 43)``), or where it is higher, the measured rate of
    the step loop's own operation counts (``_engine_mix``)."""
    dividers = _both_rates(_one_sqrt_one_div, 1, n_cores)   # dual evaluations per second per core, divider-bound
    fmas = _both_rates(_fma32, 37, n_cores)                 # FMA-class operations per second per core
    divider, fma_ops = max(dividers), max(fmas)
    model = min(divider, fma_ops / FLOPS_PER_PAIR_STEP)
    # The model puts all 43 operations besides the divider's on the FMA pipes. Where additions, min and selects
    # have pipes of their own (AMD Zen 4: two FADD pipes beside the two FMA ones), the step loop's own counts
    # with independent operands (``_engine_mix``) run faster than the model says, and a measured rate of that
    # work is a lower bound of what the machine can do: the limit is the higher of the two.
    engine_mix = _best_rate(_engine_mix, 1, n_cores)
    per_core = max(model, engine_mix)
    erf_divider = _best_rate(_two_sqrt_two_div, 1, n_cores)
    chained = _both_rates(_mix_chained, 1, n_cores)
    return {
        "divider_duals_per_s_per_core": divider,
        "fma_ops_per_s_per_core": fma_ops,
        "limit_pair_steps_per_s": per_core * n_cores,
        "model_limit_pair_steps_per_s": model * n_cores,
        "cores": n_cores,
        # the two compilations apart: numba's default and the engine's (512-bit vectors preferred)
        "divider_default_per_s_per_core": dividers[0],
        "divider_wide_per_s_per_core": dividers[1],
        "fma_default_per_s_per_core": fmas[0],
        "fma_wide_per_s_per_core": fmas[1],
        "erf_divider_duals_per_s_per_core": erf_divider,
        "erf_limit_pair_steps_per_s": min(erf_divider, fma_ops / ERF_FLOPS_PER_PAIR_STEP) * n_cores,
        # checks of the model, not part of the limit: the whole mix in one loop, independent, chained (also
        # each compilation apart: what the vector width does to the chain) and software-pipelined (the step
        # loop's own operation counts, ``engine_mix``, are part of it: above)
        "mix_per_s_per_core": _best_rate(_mix, 1, n_cores),
        "chained_mix_per_s_per_core": max(chained),
        "chained_mix_default_per_s_per_core": chained[0],
        "chained_mix_wide_per_s_per_core": chained[1],
        "skewed_mix_per_s_per_core": _best_rate(_mix_skewed, 1, n_cores),
        "engine_mix_per_s_per_core": engine_mix,
        # the divider's work of the engine before 2026-12-04, for comparing with earlier tables
        "two_sqrt_one_div_per_s_per_core": _best_rate(_two_sqrt_one_div, 1, n_cores),
    }
