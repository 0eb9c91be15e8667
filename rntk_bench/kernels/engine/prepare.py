"""Per-sample arrays the tiled RNTK loops read: everything that depends on one series only, computed once.

Samples are sorted by decreasing length. Series are right-aligned on a common padded time axis, so a sample
is real from its start step ``t_max - length`` on; after sorting, the samples that are real at padded step
``u`` are a prefix ``[0, n_real[u])`` of the sorted order, and a loop over pairs needs no mask.

Arrays are laid out with the sample index last (contiguous), because the inner loop runs over samples. The
tiled loops ask for ``spare`` samples more in them, never real (zero inputs, zero variances), so that a loop
over a block may run whole vectors past the last sample (``tiles._chain``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from rntk_bench.kernels.engine.jit import NoAliasCompiler, parallel_and_serial
from rntk_bench.kernels.engine.workspace import take
from rntk_bench.kernels.rntk_inputs import RNTKParams, inverse_root, self_inner

FIRST, SECOND, VARIANCE, REC, INP = range(5)  # the planes of ``Side.factors``
PLANE_BLOCK = 32  # samples whose variance recursions ``_variance_planes`` interleaves
# ReLU's planes carry two constants of the step loop (``tiles._pairs``), so that it multiplies by neither:
SHARE_SCALE = math.sqrt(0.5)        # the term shares' scale: their squared distance is then half the shares'
RELU_NORM = math.sqrt(0.5 / math.pi)  # SECOND's: sqrt(q_x) sqrt(q_y) RELU_NORM^2 = sqrt(q_x q_y) / (2 pi)


@dataclass(frozen=True)
class Side:
    """One argument of the kernel (X or Y) in the layout of the tiled loops; ``n`` samples, sorted.

    Attributes
    ----------
    order : ndarray of shape (n,), int64
        ``order[k]`` is the original index of the k-th sorted sample.
    lengths : ndarray of shape (n,), int64
        Lengths in sorted order (non-increasing).
    start : ndarray of shape (n,), int64
        First real padded step of each sorted sample.
    n_real : ndarray of shape (t_max,), int64
        Number of sorted samples that are real at each padded step.
    values : ndarray of shape (t_max, n_channels, n + spare)
        Inputs, zero at padded steps and for the spare samples.
    scaled : ndarray of shape (t_max, n_channels, n + spare), or (0, 0, 0) for erf and for univariate series
        ``SHARE_SCALE sigma_u x_t / sqrt(m q[1](t))``: the input term's feature vector divided by the first
        layer's norm ``sqrt(q)`` (zero where q = 0), whose squared distances give the inputs' part of ``1 - c``.
    factors : ndarray of shape (5, n_layers, t_max, n + spare) for ReLU, (3, n_layers, t_max, n + spare) for erf
        Per-sample numbers of every layer and step, one plane each (``first``, ``second``, ...), those of a
        padded step (all steps of a spare sample): zero variance. The ReLU planes carry constant factors of
        the step loop (``SHARE_SCALE``, ``RELU_NORM``), so that it multiplies by neither.
    """

    order: np.ndarray
    lengths: np.ndarray
    start: np.ndarray
    n_real: np.ndarray
    values: np.ndarray
    scaled: np.ndarray
    factors: np.ndarray

    @property
    def first(self) -> np.ndarray:
        """ReLU: ``SHARE_SCALE`` times the share of the bias term in ``sqrt(q)``, ``|sigma_b| / sqrt(q)`` (0 where
        q = 0; ``rntk_inputs.term_weights``); erf: the first factor of the dual activation, ``1 + 2q``."""
        return self.factors[FIRST]

    @property
    def second(self) -> np.ndarray:
        """The second factor of the dual activation: ReLU ``RELU_NORM sqrt(q)``, erf ``1/sqrt(1 + 2q)``."""
        return self.factors[SECOND]

    @property
    def variance(self) -> np.ndarray:
        """The variances ``q[l](t)`` of the reference's ``variances``."""
        return self.factors[VARIANCE]

    @property
    def rec(self) -> np.ndarray:
        """ReLU: ``SHARE_SCALE`` times the share of the recurrent term in ``sqrt(q)`` (``rntk_inputs.term_weights``)."""
        return self.factors[REC]

    @property
    def inp(self) -> np.ndarray:
        """ReLU: ``SHARE_SCALE`` times the share of the input term in ``sqrt(q)``; for univariate series the first
        layer's carries the sign of the input. With ``rec`` and ``first`` it gives ``1 - c`` without
        cancellation (``tiles._pairs``)."""
        return self.factors[INP]

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.order, self.lengths, self.start, self.n_real, self.values, self.scaled,
                                      self.factors))


def mapped_zeros(shape: tuple) -> np.ndarray:
    """A zero array for the compiled loops to fill, its memory mapped here, on the calling thread.

    ``np.zeros`` of a large array takes fresh pages that the operating system maps at their first write,
    which would be inside the loops' threads, where page faults are much dearer (two threads faulting
    memory advised for huge pages at once). Measured (K(X), N = 1000, T = 150, last state, two threads):
    calls whose pair loops took 643 to 3,676 page faults spent 114-158 ms in them, calls without 93-110 ms;
    writing the zeros here costs 0.7-2.8 ms (``benchmarks/README.md``).
    """
    out = np.empty(shape)
    out.fill(0.0)
    return out


PAGE_DOUBLES = 512  # float64 entries per 4 KiB page


def mapped_empty(shape: tuple) -> np.ndarray:
    """An array whose every entry the compiled loops write, its memory mapped here, on the calling thread.

    As :func:`mapped_zeros` without the zeros: one entry per page is written (every ``PAGE_DOUBLES``-th, so
    that each 4 KiB page holds one), which maps the pages fresh memory needs at the cost of their faults
    alone; reused memory costs nothing. The zeros of a Gram matrix of 1000 series (8 MB) took 0.33-0.37 ms
    alone, 0.85-0.89 ms within the RNTK's call, where no page was fresh; this 0.015 ms.
    """
    out = np.empty(shape)
    out.reshape(-1)[::PAGE_DOUBLES] = 0.0
    return out


def dual_factors(q: np.ndarray, activation: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample factors of the dual activation from variances ``q`` (any shape)."""
    if activation == "relu":
        return inverse_root(q), np.sqrt(q)
    widened = 1.0 + 2.0 * q
    return widened, 1.0 / np.sqrt(widened)


# Without fastmath contraction: every number is the one the NumPy functions of rntk_inputs compute
# (variance_terms, term_weights, dual_factors, then the ReLU planes' constants), operation for operation;
# tests check ReLU bit for bit.
SQUARE_SAFE = (1e-150, 1e150)  # variances whose square is a normal float64: neither underflows nor overflows
_PLANES_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}   # no fastmath: no contraction


@njit(inline="always", **_PLANES_JIT)
def _self_dual_short(q):
    """``_self_dual(True, q)`` where ``q`` lies in ``SQUARE_SAFE`` or is 0: its short form."""
    return q * math.pi / (2.0 * math.pi)


@njit(**_PLANES_JIT)
def _self_dual(relu, q):
    """``dual.relu_dual(q, q, q)[0]`` or ``dual.erf_dual(q, q, q)[0]``, the dual activation of a variance with
    itself, as its NumPy formula does it (for erf, libm's arcsine may differ from NumPy's in the last bit)."""
    if relu:
        if SQUARE_SAFE[0] <= q <= SQUARE_SAFE[1]:
            # there q * q is a normal number, and in binary floating point the square root of a correctly
            # rounded square is the number itself: norm = q and c = 1 exactly, the branch below without
            # its square root and division (the planes' recursion runs this once per sample and step)
            return _self_dual_short(q)
        norm = math.sqrt(q * q)
        c = min(max(q / norm, -1.0), 1.0) if norm > 0 else 0.0
        if c == 1.0:      # always so for q > 0; acos(1) and sqrt(0) are exact zeros, so the bits are the same
            return norm * (c * math.pi + 0.0) / (2.0 * math.pi)
        angle = math.pi - math.acos(c)
        return norm * (c * angle + math.sqrt((1.0 - c) * (1.0 + c))) / (2.0 * math.pi)
    widened = 1.0 + 2.0 * q
    root = math.sqrt(q * q)
    k12 = min(max(q, -root), root)
    return 2.0 / math.pi * math.asin(min(max(2.0 * k12 / math.sqrt(widened * widened), -1.0), 1.0))


# ``_relu_row`` as the step loops are compiled (``jit.STEP``) but without contraction: with its array arguments
# taken as not aliasing each other (``factors`` is the only one it writes), LLVM vectorises its loop, which it
# left scalar inlined into the parallel loop (behind run-time overlap checks of a row it both reads and writes)
_ROW_JIT = {**_PLANES_JIT, "_nrt": False, "pipeline_class": NoAliasCompiler}


@njit(inline="always", **_PLANES_JIT)
def _outside(q):
    """1 where ``_self_dual_short(q)`` is not ``_self_dual(True, q)``: a nonzero ``q`` outside ``SQUARE_SAFE``."""
    return 0 if (SQUARE_SAFE[0] <= q <= SQUARE_SAFE[1]) or q == 0.0 else 1


@njit(inline="always", **_PLANES_JIT)
def _relu_shares(q, recurrent, below, sw2, su2, sb):
    """The ReLU planes' ``(FIRST, SECOND, REC, INP)`` of a sample-step of variance ``q > 0`` and terms ``recurrent``
    and ``below``: ``term_weights``' shares of the bias, the recurrent and the input term times ``SHARE_SCALE``
    (the input's without its sign), and the root times ``RELU_NORM``; one formula for ``_relu_cells`` and
    ``_exact_row``, which must agree to the last bit."""
    root = math.sqrt(q)
    scale = 1.0 / root                  # term_weights' scale
    return ((sb * scale) * SHARE_SCALE, root * RELU_NORM, (math.sqrt(sw2 * recurrent) * scale) * SHARE_SCALE,
            (math.sqrt(su2 * below) * scale) * SHARE_SCALE)


UPPER, ONE_CHANNEL, CHANNELS = range(3)  # where a ReLU row's input term comes from (``_relu_cells``)


@njit(**_ROW_JIT)
def _relu_row(layer, s, lo, hi, inner, first_step, start, sw2, su2, sb2, sb, sh2, factors, values):
    """The ReLU planes' row ``[layer, s]`` of the samples ``lo <= i < hi``, as ``_exact_row`` writes it, in one
    branch-free loop across the samples that LLVM vectorises (three square roots and a division per sample
    and step: one sample at a time, about 13 ns a sample-step on an AMD Zen 4).

    Returns False, having written the row, where a variance it took the self dual of lies outside
    ``SQUARE_SAFE`` and is not 0: there ``_self_dual`` takes its general form, and the caller writes the row
    again with ``_exact_row``.
    """
    if lo < 0 or hi < lo or s < 0 or layer < 0:
        return False                  # never taken: it tells LLVM that no index below wraps around
    # one loop for each source of the input term: with the choice inside it, LLVM left the loop scalar
    if layer > 0:
        return _relu_cells(UPPER, layer, s, lo, hi, inner, first_step, start, sw2, su2, sb2, sb, sh2, factors, values)
    if values.shape[1] == 1:
        return _relu_cells(ONE_CHANNEL, layer, s, lo, hi, inner, first_step, start, sw2, su2, sb2, sb, sh2, factors,
                           values)
    return _relu_cells(CHANNELS, layer, s, lo, hi, inner, first_step, start, sw2, su2, sb2, sb, sh2, factors, values)


@njit(inline="always", **_PLANES_JIT)
def _relu_cells(source, layer, s, lo, hi, inner, first_step, start, sw2, su2, sb2, sb, sh2, factors, values):
    """``_relu_row``'s loop; ``source`` (a constant in each caller) says where the input term comes from: the
    layer below (``UPPER``), one channel's ``x * x``, whose share of ``sqrt(q)`` then takes the sign of ``x``
    (``ONE_CHANNEL``), or the inner products of several (``CHANNELS``)."""
    before = s - 1 if s > 0 else 0    # read at s = 0 too, where no real sample uses it
    outside = 0
    for k in range(hi - lo):
        i = lo + k
        begin = start[i]
        real = s >= begin
        previous = factors[VARIANCE, layer, before, i]
        recurrent = sh2 if s == begin else _self_dual_short(previous)
        outside += _outside(previous) if real and s != begin else 0
        if source == UPPER:
            lower = factors[VARIANCE, layer - 1, s, i]
            below = _self_dual_short(lower)
            outside += _outside(lower) if real else 0
        elif source == ONE_CHANNEL:
            below = values[s, 0, i] * values[s, 0, i]
        else:
            below = inner[first_step[i] + s - begin if real else 0]
        q = sw2 * recurrent + su2 * below + sb2
        first, second, rec, inp = _relu_shares(q, recurrent, below, sw2, su2, sb)   # selected away where q = 0
        if source == ONE_CHANNEL:
            x = values[s, 0, i]
            inp = inp * (1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0))      # np.sign(x), x finite
        positive = real and q > 0
        factors[VARIANCE, layer, s, i] = q if real else 0.0
        factors[FIRST, layer, s, i] = first if positive else 0.0
        factors[SECOND, layer, s, i] = second if positive else 0.0
        factors[REC, layer, s, i] = rec if positive else 0.0
        factors[INP, layer, s, i] = inp if positive else 0.0
    return outside == 0


@njit(inline="always", **_PLANES_JIT)
def _exact_row(relu, signed, layer, s, lo, hi, inner, first_step, start, sw2, su2, sb2, sb, sh2, factors, values):
    """The planes' row ``[layer, s]`` of the samples ``lo <= i < hi``, one sample at a time: the recursion of
    ``rntk_inputs.variance_terms``, ``term_weights`` and ``dual_factors`` for each, with ``_self_dual`` in its
    general form where it needs it (erf: always, through libm's arcsine)."""
    padding = 0.0 if relu else 1.0      # FIRST and SECOND before a series starts: dual_factors of q = 0
    n_channels = values.shape[1]
    for i in range(lo, hi):
        if s < start[i]:
            for plane in range(factors.shape[0]):
                factors[plane, layer, s, i] = 0.0
            factors[FIRST, layer, s, i] = padding
            factors[SECOND, layer, s, i] = padding
            continue
        if layer > 0:
            below = _self_dual(relu, factors[VARIANCE, layer - 1, s, i])
        elif n_channels == 1:
            below = values[s, 0, i] * values[s, 0, i]
        else:
            below = inner[first_step[i] + s - start[i]]
        recurrent = sh2 if s == start[i] else _self_dual(relu, factors[VARIANCE, layer, s - 1, i])
        q = sw2 * recurrent + su2 * below + sb2
        factors[VARIANCE, layer, s, i] = q
        if not relu:
            widened = 1.0 + 2.0 * q
            factors[FIRST, layer, s, i] = widened
            factors[SECOND, layer, s, i] = 1.0 / math.sqrt(widened)
        elif q > 0:
            first, second, rec, inp = _relu_shares(q, recurrent, below, sw2, su2, sb)
            factors[FIRST, layer, s, i] = first
            factors[SECOND, layer, s, i] = second
            factors[REC, layer, s, i] = rec
            factors[INP, layer, s, i] = inp * np.sign(values[s, 0, i]) if signed and layer == 0 else inp
        else:
            factors[FIRST, layer, s, i] = 0.0
            factors[SECOND, layer, s, i] = 0.0
            factors[REC, layer, s, i] = 0.0
            factors[INP, layer, s, i] = 0.0


def _variance_planes(relu, steps, inner, first_step, start, sw2, su2, sb2, sb, sh2, factors, values):
    """The planes of ``Side.factors`` and the step-major ``Side.values`` of the real samples, every entry of
    both written (the spare samples' are left to the caller), for blocks of ``PLANE_BLOCK`` samples at a time.

    The same recursion as ``rntk_inputs.variance_terms`` then ``term_weights`` (ReLU) and ``dual_factors``,
    written in the loops' layout directly: called per time step from Python, the NumPy form took 10-40 % of
    a Gram matrix of a few hundred series on 2 cores, none of it in parallel. Each sample's recursion is a
    chain of dependent square roots and divisions along its steps; the innermost loop runs across the
    samples of a block instead, whose chains are independent, so the processor overlaps them (and writes
    each plane's row ``[layer, s, :]`` contiguously). For ReLU that loop is vectorised (``_relu_row``), and a
    row falls back to one sample at a time (``_exact_row``) only where a variance lies outside
    ``SQUARE_SAFE``; erf's arcsine is libm's, one sample at a time. Every number is computed by the same
    operations as one sample at a time. ``variance_planes`` spreads the blocks over numba's threads,
    ``variance_planes_serial`` runs on the calling thread (see ``jit.py``).

    The inputs are the real steps of the sorted samples one after the other, ``steps`` (total, m), sample
    ``i``'s from row ``first_step[i]`` on, and ``inner`` their ``<x_t, x_t> / m`` (``rntk_inputs.self_inner``'s
    numbers; empty for one channel, whose ``x * x`` is formed here). They are right-aligned into ``values``
    (t_max, m, n + spare), zero before a sample's ``start``, and for ReLU with one channel the first layer's
    ``INP`` takes the sign of the input. Writing every entry here, in the threads, spares the zero fill of
    the arrays, a padded copy of the inputs and the NumPy passes of the transposition and the signs
    (``benchmarks/README.md``).
    """
    n = start.shape[0]
    t_max = values.shape[0]
    n_layers = factors.shape[1]
    n_channels = steps.shape[1]
    signed = relu and n_channels == 1
    for block in prange((n + PLANE_BLOCK - 1) // PLANE_BLOCK):
        lo = block * PLANE_BLOCK
        hi = min(lo + PLANE_BLOCK, n)
        for s in range(t_max):
            for c in range(n_channels):
                for i in range(lo, hi):
                    values[s, c, i] = steps[first_step[i] + s - start[i], c] if s >= start[i] else 0.0
        for layer in range(n_layers):
            for s in range(t_max):
                if not (relu and _relu_row(layer, s, lo, hi, inner, first_step, start, sw2, su2, sb2, sb, sh2, factors,
                                           values)):
                    _exact_row(relu, signed, layer, s, lo, hi, inner, first_step, start, sw2, su2, sb2, sb, sh2,
                               factors, values)


variance_planes, variance_planes_serial = parallel_and_serial(_variance_planes, "variance_planes", **_PLANES_JIT)


def planes_arguments(steps: np.ndarray, first_step: np.ndarray, start: np.ndarray, p: RNTKParams, factors: np.ndarray,
                     values: np.ndarray) -> tuple:
    """The arguments of ``variance_planes``, every scale a float (ints would compile another specialisation).

    ``steps`` (total, m) holds the real steps of the sorted samples one after the other, sample ``i``'s from
    row ``first_step[i]`` on. Their ``<x_t, x_t> / m`` for several channels is ``rntk_inputs.self_inner`` of the
    steps, the numbers it gives the padded array (one channel's ``x * x`` the planes form themselves).
    """
    inner = self_inner(steps) if steps.shape[1] > 1 else np.zeros(0)
    return (p.activation == "relu", steps, inner, first_step, start, float(p.sigma_w) ** 2, float(p.sigma_u) ** 2,
            float(p.sigma_b) ** 2, abs(float(p.sigma_b)), float(p.sigma_h) ** 2, factors, values)


def prepare_side(sequences: list[np.ndarray], t_max: int, p: RNTKParams, planes: Callable | None = None,
                 spare: int = 0, reuse: str | None = None) -> Side:
    """Sort, pad and precompute one argument.

    Parameters
    ----------
    sequences : list of ndarray of shape (T_i, n_channels)
        Time-major series, as returned by ``check_sequences``.
    t_max : int
        Common padded length (the longest series of X and Y).
    p : RNTKParams
    planes : callable, optional
        Fills the planes from ``planes_arguments``; default ``variance_planes``, or its serial twin when numba
        may use one thread (the engine's ``warm_up`` passes one that records the argument types instead).
    spare : int
        Samples after the real ones in ``values``, ``scaled`` and ``factors``, as of series that are never real.
    reuse : str, optional
        A role (such as ``"x"``) under which ``factors`` and ``values`` take the memory of the calling
        thread's last Side of that role (``workspace.take``): the Side is then valid until the next one of
        that role on this thread. By default, new arrays.
    """
    n = len(sequences)
    lengths = np.fromiter((len(seq) for seq in sequences), dtype=np.int64, count=n)
    order = np.argsort(-lengths, kind="stable").astype(np.int64)
    # the real steps of the sorted samples, one after the other: the planes pad them (``_variance_planes``)
    steps = np.concatenate([sequences[k] for k in order])
    n_channels = steps.shape[1]
    sorted_lengths = lengths[order]
    first_step = np.zeros(n, dtype=np.int64)
    np.cumsum(sorted_lengths[:-1], out=first_step[1:])
    start = t_max - sorted_lengths
    scaled = np.zeros((0, 0, 0))
    relu = p.activation == "relu"
    # the planes fill every entry of the real samples; the spare ones are set here: zero inputs and variances
    factors_shape = (5 if relu else 3, p.n_layers, t_max, n + spare)          # erf needs no 1 - c
    values_shape = (t_max, n_channels, n + spare)
    if reuse is None:
        factors, values = np.empty(factors_shape), np.empty(values_shape)
    else:
        factors, values = take(reuse + " factors", factors_shape), take(reuse + " values", values_shape)
    factors[..., n:] = 0.0
    if not relu:
        factors[FIRST, ..., n:] = factors[SECOND, ..., n:] = 1.0     # dual_factors of q = 0
    values[..., n:] = 0.0
    if planes is None:
        planes = variance_planes if numba.get_num_threads() > 1 else variance_planes_serial
    planes(*planes_arguments(steps, first_step, start, p, factors, values))
    if relu and n_channels > 1:
        # zero for the spare samples and before a series starts: their values and their scale are
        scale = inverse_root(factors[VARIANCE, 0])                            # term_weights' scale
        scaled = values * (SHARE_SCALE * abs(p.sigma_u) / np.sqrt(n_channels) * scale)[:, None, :]
    n_real = np.searchsorted(-sorted_lengths, -(t_max - np.arange(t_max)), side="right").astype(np.int64)
    return Side(
        order=order,
        lengths=sorted_lengths,
        start=start,
        n_real=n_real,
        values=values,
        scaled=scaled,
        factors=factors,
    )
