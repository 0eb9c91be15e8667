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

The other ReLU step loops (the upper layers, mean pooling) do more per pair-step (``LOOP_OPS``); each has a
limit of its own, found the same way from its own counts (``_engine_mix_upper``, ``_engine_mix_mean``,
``_engine_mix_mean_upper``), and a case is measured against the limit of the loops it runs in
(``case_limit_key``; several layers: ``layered_limit``).
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
# The other ReLU step loops do more per pair-step (counted in their machine code, AMD Zen 4, numba 0.68, 512-bit
# vectors), so the cases that spend their time in them have lower limits (``LOOP_OPS``, ``case_limit_key``):
LOOP_OPS = {
    # (multiplications and FMAs, other operations) besides the divider's `1 sqrt + 1 div`
    "last": (29, 14),        # tiles._pairs_relu_last_direct: the last state's first layer, univariate series
    "last_upper": (31, 14),  # tiles._pairs_relu_last, layers 2 and up: + the input term's product (2 rx_in) ry_in
                             # and Theta's term from the layer below, depth_dot TDOT[l]
    "mean": (31, 16),        # tiles._pairs_relu_mean_direct: + the two mean-pooling sums (2 products, 2 additions)
    "mean_upper": (33, 16),  # tiles._pairs_relu_mean: both
}
MAX_LAYERS = 3  # layered limits are given for 2 .. MAX_LAYERS layers
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


@njit(inline="always", **_JIT)
def _horner9(x):
    return 1.0 + x * _horner8(x)


@njit(inline="always", **_JIT)
def _loop_mix(x, y, fourth_chain, sums):
    """One element of a step loop's operation counts: Horner chains of 8, 8, 8 FMAs and ``fourth_chain``'s, 14
    additions, subtractions, min/max and one compare with its select (16 with ``sums``, a compile-time
    constant), the divider's two operations."""
    u = x - 0.5
    low = min(x, y)
    high = max(u, y)
    pick = x if x >= 0.5 else y
    chains = (_horner8(x) + _horner8(y)) + (_horner8(u) + fourth_chain(low))
    rest = (high - pick) + low
    if sums:
        rest += x + y
    divider = math.sqrt(x) + x / y
    return (chains + rest) + divider


@njit(**_JIT)
def _engine_mix(a, b, out, sweeps):
    for _ in range(sweeps):
        for i in range(a.size):
            out[i] += _loop_mix(a[i], b[i], _horner5, False)


# The other step loops' counts (``LOOP_OPS``), the same way: two FMAs more for the upper layers (a fourth chain
# of 7), two more and two additions for the mean-pooling sums, four more (a fourth chain of 9) and two additions
# for both.

@njit(**_JIT)
def _engine_mix_upper(a, b, out, sweeps):
    for _ in range(sweeps):
        for i in range(a.size):
            out[i] += _loop_mix(a[i], b[i], _horner7, False)


@njit(**_JIT)
def _engine_mix_mean(a, b, out, sweeps):
    for _ in range(sweeps):
        for i in range(a.size):
            out[i] += _loop_mix(a[i], b[i], _horner7, True)


@njit(**_JIT)
def _engine_mix_mean_upper(a, b, out, sweeps):
    for _ in range(sweeps):
        for i in range(a.size):
            out[i] += _loop_mix(a[i], b[i], _horner9, True)


_LOOP_PROBES = {"last": _engine_mix, "last_upper": _engine_mix_upper, "mean": _engine_mix_mean,
                "mean_upper": _engine_mix_mean_upper}


def _mix_key(kind: str) -> str:
    """The key of ``arithmetic_limit``'s result holding the rate of ``_LOOP_PROBES[kind]`` (the first layer's last
    state keeps the name it had before the other loops had probes)."""
    return "engine_mix_per_s_per_core" if kind == "last" else f"{kind}_engine_mix_per_s_per_core"


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


def arithmetic_limit(n_cores: int, earlier: dict | None = None) -> dict[str, float]:
    """Pair-layer-steps per second the machine could do at best, with ``n_cores`` threads at once: the model
    from the units' throughputs (``min(divider, FMA-class / 43)``), or where it is higher, the measured rate of
    the step loop's own operation counts (``_engine_mix``). The same for the other ReLU step loops
    (``LOOP_OPS``), and for networks of several layers (``layered_limit``): the keys ``case_limit_key`` names.

    With ``earlier`` (this function's result from an earlier measurement on as many cores), each probe's rate
    is the higher of the two measurements: on a shared machine a slow spell lowers a probe, never raises it.
    """
    probes = {
        # the two compilations apart: numba's default and the engine's (512-bit vectors preferred)
        ("divider_default_per_s_per_core", "divider_wide_per_s_per_core"): (_one_sqrt_one_div, 1),
        ("fma_default_per_s_per_core", "fma_wide_per_s_per_core"): (_fma32, 37),
        ("chained_mix_default_per_s_per_core", "chained_mix_wide_per_s_per_core"): (_mix_chained, 1),
    }
    rates = {}
    for keys, (function, per_element) in probes.items():
        rates.update(zip(keys, _both_rates(function, per_element, n_cores)))
    best = {_mix_key(kind): probe for kind, probe in _LOOP_PROBES.items()}
    best.update({
        "erf_divider_duals_per_s_per_core": _two_sqrt_two_div,
        "mix_per_s_per_core": _mix,
        "skewed_mix_per_s_per_core": _mix_skewed,
        "two_sqrt_one_div_per_s_per_core": _two_sqrt_one_div,
    })
    rates.update({key: _best_rate(function, 1, n_cores) for key, function in best.items()})
    if earlier is not None:
        rates = {key: max(rate, earlier[key]) for key, rate in rates.items()}
    divider = max(rates["divider_default_per_s_per_core"], rates["divider_wide_per_s_per_core"])
    fma_ops = max(rates["fma_default_per_s_per_core"], rates["fma_wide_per_s_per_core"])
    # The model puts all 43 operations besides the divider's on the FMA pipes. Where additions, min and selects
    # have pipes of their own (AMD Zen 4: two FADD pipes beside the two FMA ones), the step loop's own counts
    # with independent operands (``_engine_mix``) run faster than the model says, and a measured rate of that
    # work is a lower bound of what the machine can do: the limit is the higher of the two.
    models = {kind: min(divider, fma_ops / sum(ops)) for kind, ops in LOOP_OPS.items()}
    mixes = {kind: rates[_mix_key(kind)] for kind in LOOP_OPS}
    loops = {kind: max(models[kind], mixes[kind]) for kind in LOOP_OPS}   # per core
    limit = {
        "divider_duals_per_s_per_core": divider,
        "fma_ops_per_s_per_core": fma_ops,
        "limit_pair_steps_per_s": loops["last"] * n_cores,
        "model_limit_pair_steps_per_s": models["last"] * n_cores,
        "cores": n_cores,
        "erf_limit_pair_steps_per_s": min(rates["erf_divider_duals_per_s_per_core"],
                                          fma_ops / ERF_FLOPS_PER_PAIR_STEP) * n_cores,
        # checks of the model, not part of the limit (the rates above): the whole mix in one loop,
        # independent, chained (also each compilation apart: what the vector width does to the chain) and
        # software-pipelined (the step loops' own operation counts, the ``*engine_mix`` rates, are part of it);
        # ``two_sqrt_one_div``: the divider's work of the engine before 2026-12-04, for earlier tables
        "chained_mix_per_s_per_core": max(rates["chained_mix_default_per_s_per_core"],
                                          rates["chained_mix_wide_per_s_per_core"]),
        **rates,
    }
    for kind in ("last_upper", "mean", "mean_upper"):
        limit[f"{kind}_model_limit_pair_steps_per_s"] = models[kind] * n_cores
        limit[f"{kind}_limit_pair_steps_per_s"] = loops[kind] * n_cores
    for n_layers in range(2, MAX_LAYERS + 1):
        limit[f"limit_{n_layers}_layers_pair_steps_per_s"] = layered_limit(
            limit["limit_pair_steps_per_s"], limit["last_upper_limit_pair_steps_per_s"], n_layers)
        limit[f"mean_limit_{n_layers}_layers_pair_steps_per_s"] = layered_limit(
            limit["mean_limit_pair_steps_per_s"], limit["mean_upper_limit_pair_steps_per_s"], n_layers)
    return limit


def layered_limit(first: float, upper: float, n_layers: int) -> float:
    """Pair-layer-steps per second of a network of ``n_layers`` layers whose first layer's loop runs at most at
    ``first`` and each other layer's at ``upper``: a pair-step costs the sum of its layers' times."""
    return n_layers / (1.0 / first + (n_layers - 1) / upper)


def case_limit_key(activation: str, output: str, n_layers: int) -> str:
    """The key of ``arithmetic_limit``'s result that a Gram matrix of univariate series is measured against.

    ReLU: the limit of the step loops its pair-steps run in (the last state's or mean pooling's, the first
    layer's and the upper layers'); erf: its own mix of operations (the last state's first layer).
    """
    if activation == "erf":
        return "erf_limit_pair_steps_per_s"
    if not 1 <= n_layers <= MAX_LAYERS:
        raise ValueError(f"n_layers={n_layers}: the benchmark's limits cover 1 to {MAX_LAYERS} layers")
    prefix = "mean_" if output == "mean" else ""
    if n_layers == 1:
        return f"{prefix}limit_pair_steps_per_s"
    return f"{prefix}limit_{n_layers}_layers_pair_steps_per_s"
