"""The tiled RNTK loops (numba): one row of pairs at a time, in column blocks, advanced through time together.

For a row ``i`` and a block of columns ``j``, the state of every pair lives in one array
``state[plane, 1 + l, jj]`` of shape ``(3, n_layers + 1, block)`` that stays in the L1/L2 cache: for layer
``l``, the plane ``VPHI`` holds its dual activation at the previous step (``Vphi(K[l](t-1, t'-1))``),
``WPHI`` (ReLU) one minus the correlation that this ``Vphi`` has as a covariance of the features ``phi(g)``,
and ``TDOT`` the layer's NTK times the derivative's dual activation, ``Theta Vphi'``, without the constant
factor of ``Vphi'`` (``duals.RELU_DOT``, ``duals.ERF_DOT``): every formula of section 2 uses Theta and Vphi'
only as that product, and the factor is folded into the scale that multiplies it. Row 0 stands for what lies
below the first layer: for series with several channels, the inputs' inner product in the ``VPHI`` plane and
(ReLU) what ``1 - c`` needs of them in ``WPHI``. One step of one layer is a loop over the block's columns with
no branch and no libm call, which LLVM vectorises.

Each ``Vphi(K[l](t, t'))`` is evaluated once and used twice: as the input term of layer ``l + 1`` at this step
and as the recurrent term of layer ``l`` at the next step (the reference evaluates it twice).

Work is split over threads by rows (``prange`` over one run of consecutive rows of equal estimated cost per
thread, ``schedule.py``; the serial twin runs the same loops on the calling thread; with mean pooling each
thread but the first reads its own copy of the per-sample arrays, ``_side_copies``). The last state and the
positive offsets of mean pooling run ``ROWS`` rows at a time, step by step (``_chain_rows``,
``_chain_rows_mean``), so that all but the first read the columns' numbers of the step from the core's
caches. For the Gram matrix of X with itself only pairs ``j >= i`` are computed, written to ``(i, j)``, and
copied onto ``(j, i)`` after.
With mean pooling, K(X) is cut differently (``_row_square``): each row runs the chains of positive offsets
``u - s`` for every column and the two halves of each pair are summed after, so that no row is short; for
series of one channel and one length, the columns of several offsets side by side (``_chain_rows_offsets``),
as are the positive offsets of K(X, Y).

Unequal lengths: the samples are sorted by decreasing length (see ``prepare.py``), so the pairs that are real
at a step are a prefix of the block; a pair whose chain has not started yet keeps its zero state, which is
exactly the zero recurrent term of its first step.

The loops index the arrays they are given (no views of them): a view would cost two atomic reference-count
updates each time a step creates it, more than the arithmetic of a short block.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rntk_bench.kernels.engine.duals import ERF_DOT, RELU_DOT, erf_dual, relu_dual
from rntk_bench.kernels.engine.jit import JIT, STEP, parallel_and_serial, unliteral
from rntk_bench.kernels.engine.mirror import MIRROR_TILE, mirror_tile_row
from rntk_bench.kernels.engine.prepare import FIRST, INP, REC, SECOND, VARIANCE
from rntk_bench.kernels.engine.schedule import (
    cross_costs,
    equal_groups,
    halves_costs,
    row_group_costs,
    square_costs,
    triangle_costs,
)

BLOCK = 1024  # columns per tile: (34 n_layers + 12) * (1024 + 2 LANES) * 8 bytes of state per thread (374 KiB, L = 1)
ROWS = 4      # rows of a Gram matrix run together, step by step (``_chain_rows``, ``_chain_rows_mean``)
LANES = 8     # doubles per vector of the step loops with AVX-512 (``jit.NoAliasCompiler``); a multiple of AVX2's 4

VPHI, WPHI, TDOT = range(3)  # the planes of the pairs' state
ACC, ACC_GP = range(2)              # the rows of each layer's mean-pooling sums: acc[layer, ACC or ACC_GP, jj]


@njit(inline="always", **JIT)
def _pair(relu, pooled, first, direct, l, u, j, jj, row, yv, yp, state, acc, self_jj, scales):
    """One layer, one step, for the pair ``(i, j)`` in column ``jj`` of a block: Sigma and Theta of section 2,
    then the dual activation at the new K. ``relu``, ``pooled`` (mean pooling: add the step's output kernel,
    weighted by ``weight``, to ``acc[l, ACC]``, and its NNGP part alone to ``acc[l, ACC_GP]``), ``first`` (the first
    layer) and ``direct`` (the first layer of univariate series) are compile-time constants in each caller,
    so the loop holds only what it needs. ``row`` holds the numbers of sample ``i`` at its step ``s``:
    ``(x_s, first, second, variance, rec, inp)`` (``prepare.Side``; the last two 0 for erf), and ``u`` is the
    columns' step. ``scales`` holds
    ``(sw2, su2, sb2, sw2_dot, depth_dot, trained, weight, weight_dot)``: the ``*_dot`` ones times the
    activation's factor of ``Vphi'``, as they multiply ``TDOT``.

    The input term is the layer below's Vphi, and ``depth`` times the layer below's Theta Vphi' is the
    Theta that flows in from below. In the first layer nothing flows in from below, and the input term is
    the inner product of the inputs: ``x_s y_u``, formed here (``direct``), or row 0 of the state.

    The chain of a sample with itself (column ``self_jj``) takes its covariance from the variance
    ``q_self``, which it equals exactly: recomputed, it would differ in the last bits, and for erf with
    sigma_w^2 E[phi'^2] > 1 (the chaotic phase, e.g. the default sigma_w = 1.4142) the recursion amplifies
    such a difference ~2.5 times per step along the diagonal, where correlation 1 is an unstable fixed point.

    ReLU takes the correlation as ``w = 1 - c``, formed without cancellation: Sigma is the sum of a recurrent,
    an input and a bias term, each an inner product of feature vectors of the two samples, and ``1 - c`` is
    half the squared distance of the two normalised sums,

        w = ((rx_rec - ry_rec)^2 + (rx_in - ry_in)^2 + (rx_b - ry_b)^2) / 2
            + rx_rec ry_rec w_rec + rx_in ry_in w_in

    where ``r*_rec``, ``r*_in`` and ``r*_b = |sigma_b| / sqrt(q)`` are the norms of the three terms over that
    of their sum, and ``w_rec``, ``w_in`` the ``1 - c`` of the recurrent and the input term: the previous
    step's ``WPHI`` and the layer below's. The planes hold the shares times ``prepare.SHARE_SCALE`` =
    sqrt(1/2), so that the loop forms ``(dx_rec^2 + dx_in^2 + dx_b^2) + (2 rx_rec) ry_rec w_rec + ...`` of
    them (the factor 2 on the row's own numbers, exact), multiplying by neither 1/2 nor sigma_b. In the first
    layer the input term's part (its square and product) is half the squared distance of the vectors
    ``sigma_u x / sqrt(m q)``: with ``direct`` that of the signed shares ``r*_in = sigma_u x / sqrt(q)``,
    else row 0 of ``WPHI``. Every part is a non-negative number with a small relative error, so w is as
    accurate next to c = 1 as anywhere else; a ``1 - c`` taken from a rounded ``c = Sigma / sqrt(q_x q_y)``
    would move ``arccos c`` by ~1e-8 there. The ``SECOND`` planes hold ``sqrt(q) prepare.RELU_NORM``, so that
    their product is the norm with the dual's factor ``1 / (2 pi)`` in it (``duals.relu_dual``).
    """
    sw2, su2, sb2, sw2_dot, depth_dot, trained, weight, weight_dot = scales
    x0, fx, gx, q_self, rx_rec, rx_in = row
    here = l + 1
    if relu:
        # ReLU uses Sigma only in Theta, which ``trained`` (0 or 1) multiplies: it multiplies Sigma's scales
        # instead, exactly the same numbers, one product per pair less (untrained, Theta Vphi' stays zero)
        sw2, su2, sb2, q_self = trained * sw2, trained * su2, trained * sb2, trained * q_self
    rx_rec2, rx_in2 = 2.0 * rx_rec, 2.0 * rx_in   # the shares' products carry the 2 that their planes' scale took
    # Every number below is formed symmetrically in the two samples (x_s y_u, not (su2 x_s) y_u): the
    # mean-pooled K(X) takes a pair's chains along negative offsets from its mirror pair's positive ones.
    itself = jj == self_jj
    if direct:
        sigma = sw2 * state[VPHI, here, jj] + (su2 * (x0 * yv[u, 0, j]) + sb2)
    else:
        sigma = sw2 * state[VPHI, here, jj] + (su2 * state[VPHI, l, jj] + sb2)
    sigma = q_self if itself else sigma
    th = sigma + sw2_dot * state[TDOT, here, jj]
    if not first:
        th += depth_dot * state[TDOT, l, jj]
    if not relu:
        th *= trained
    if relu:
        ry_rec = yp[REC, l, u, j]
        d_rec = rx_rec - ry_rec
        d_b = fx - yp[FIRST, l, u, j]
        if direct:
            d_in = rx_in - yp[INP, l, u, j]
            squares = d_rec * d_rec + d_in * d_in + d_b * d_b
        elif first:
            squares = d_rec * d_rec + d_b * d_b + state[WPHI, 0, jj]
        else:
            ry_in = yp[INP, l, u, j]
            d_in = rx_in - ry_in
            squares = d_rec * d_rec + d_in * d_in + d_b * d_b
        w = squares + (rx_rec2 * ry_rec) * state[WPHI, here, jj]
        if not first:
            w += (rx_in2 * ry_in) * state[WPHI, l, jj]
        w = 0.0 if itself else w
        v, dot, w_phi = relu_dual(w, gx * yp[SECOND, l, u, j])
        state[WPHI, here, jj] = w_phi
    else:
        v, dot = erf_dual(sigma, fx, yp[FIRST, l, u, j], gx, yp[SECOND, l, u, j])
    th_dot = th * dot
    state[TDOT, here, jj] = th_dot
    state[VPHI, here, jj] = v
    if pooled:
        acc[l, ACC, jj] += weight * v + weight_dot * th_dot
        acc[l, ACC_GP, jj] += weight * v


@njit(inline="always", **JIT)
def _pairs(relu, pooled, first, direct, n, l, u, j0, row, yv, yp, state, acc, self_jj, scales):
    """One layer, one step, for the ``n`` pairs ``(i, j0 + jj)`` of a block (``_pair``)."""
    if n <= 0 or l < 0 or u < 0 or j0 < 0:
        return                    # never taken: it tells LLVM that no index below wraps around
    for jj in range(n):
        _pair(relu, pooled, first, direct, l, u, j0 + jj, jj, row, yv, yp, state, acc, self_jj, scales)


@njit(inline="always", **JIT)
def _pairs_two(first, direct, two, n, l, u, j0, row, row_b, yv, yp, state, state_b, self_jj, self_b, scales):
    """``_pairs`` for the ReLU last state, and with ``two`` for a second row at the same step as well, whose
    ``row``, ``state`` and ``self_jj`` are ``row_b``, ``state_b`` and ``self_b`` (unread without ``two``).

    Two rows in one loop read each column's numbers once for both and give the core two independent pairs per
    iteration to overlap (each a chain of dependent operations with a square root and a division in it), and
    save a call per step. Where the step also adds to mean-pooling sums it gained nothing (measured), so only
    the last state's loops have this form: each compiled loop costs seconds of compilation.
    """
    if not two:
        _pairs(True, False, first, direct, n, l, u, j0, row, yv, yp, state, state, self_jj, scales)
        return
    if n <= 0 or l < 0 or u < 0 or j0 < 0:
        return
    for jj in range(n):
        _pair(True, False, first, direct, l, u, j0 + jj, jj, row, yv, yp, state, state, self_jj, scales)
        _pair(True, False, first, direct, l, u, j0 + jj, jj, row_b, yv, yp, state_b, state_b, self_b, scales)


# One compiled loop per combination of the compile-time flags of ``_pairs``.
#
# The functions called once per step (these, ``_inputs`` and ``_chain``) are compiled without numba's
# reference counting (``_nrt=False``): they read and write the arrays they are given and never allocate or
# keep one. With it, each call paid an atomic increment and decrement per array argument; perf put 23 % of a
# mean-pooled Gram matrix of 100 series (T = 60, one thread) in NRT_incref and NRT_decref. The step
# functions also take their array arguments as not aliasing each other (``jit.STEP``): ``state`` and ``acc``
# are the only arrays they write, and X and Y of K(X), the same arrays, are only read.

@njit(**STEP)
def _pairs_relu_last(two, n, l, u, j0, row, row_b, yv, yp, state, state_b, self_jj, self_b, scales):
    _pairs_two(False, False, two, n, l, u, j0, row, row_b, yv, yp, state, state_b, self_jj, self_b, scales)


@njit(**STEP)
def _pairs_relu_mean(n, l, u, j0, row, yv, yp, state, acc, self_jj, scales):
    _pairs(True, True, False, False, n, l, u, j0, row, yv, yp, state, acc, self_jj, scales)


@njit(**STEP)
def _pairs_erf_last(n, l, u, j0, row, yv, yp, state, acc, self_jj, scales):
    _pairs(False, False, False, False, n, l, u, j0, row, yv, yp, state, acc, self_jj, scales)


@njit(**STEP)
def _pairs_erf_mean(n, l, u, j0, row, yv, yp, state, acc, self_jj, scales):
    _pairs(False, True, False, False, n, l, u, j0, row, yv, yp, state, acc, self_jj, scales)


@njit(**STEP)
def _pairs_relu_last_direct(two, n, l, u, j0, row, row_b, yv, yp, state, state_b, self_jj, self_b, scales):
    _pairs_two(True, True, two, n, l, u, j0, row, row_b, yv, yp, state, state_b, self_jj, self_b, scales)


@njit(**STEP)
def _pairs_relu_mean_direct(n, l, u, j0, row, yv, yp, state, acc, self_jj, scales):
    _pairs(True, True, True, True, n, l, u, j0, row, yv, yp, state, acc, self_jj, scales)


@njit(**STEP)
def _pairs_erf_last_direct(n, l, u, j0, row, yv, yp, state, acc, self_jj, scales):
    _pairs(False, False, True, True, n, l, u, j0, row, yv, yp, state, acc, self_jj, scales)


@njit(**STEP)
def _pairs_erf_mean_direct(n, l, u, j0, row, yv, yp, state, acc, self_jj, scales):
    _pairs(False, True, True, True, n, l, u, j0, row, yv, yp, state, acc, self_jj, scales)


@njit(**STEP)
def _pairs_relu_last_first(two, n, l, u, j0, row, row_b, yv, yp, state, state_b, self_jj, self_b, scales):
    _pairs_two(True, False, two, n, l, u, j0, row, row_b, yv, yp, state, state_b, self_jj, self_b, scales)


@njit(**STEP)
def _pairs_relu_mean_first(n, l, u, j0, row, yv, yp, state, acc, self_jj, scales):
    _pairs(True, True, True, False, n, l, u, j0, row, yv, yp, state, acc, self_jj, scales)


@njit(**STEP)
def _inputs(n, s, u, i, j0, relu, xv, xs, yv, ys, state, inv_m):
    """Series with several channels: ``<x_s, y_u> / m`` of the pairs of a block into row 0 of the ``VPHI``
    plane and, for ReLU, the squared distance of the vectors ``sigma_u x / sqrt(m q)``
    (``prepare.Side.scaled``) into row 0 of ``WPHI``; one flat vector loop per channel."""
    if n <= 0 or s < 0 or u < 0 or i < 0 or j0 < 0:
        return
    if not relu:
        x0 = xv[s, 0, i] * inv_m
        for jj in range(n):
            state[VPHI, 0, jj] = x0 * yv[u, 0, j0 + jj]
        for c in range(1, xv.shape[1]):
            xc = xv[s, c, i] * inv_m
            for jj in range(n):
                state[VPHI, 0, jj] += xc * yv[u, c, j0 + jj]
        return
    x0, z0 = xv[s, 0, i] * inv_m, xs[s, 0, i]
    for jj in range(n):
        d = z0 - ys[u, 0, j0 + jj]
        state[VPHI, 0, jj] = x0 * yv[u, 0, j0 + jj]
        state[WPHI, 0, jj] = d * d
    for c in range(1, xv.shape[1]):
        xc, zc = xv[s, c, i] * inv_m, xs[s, c, i]
        for jj in range(n):
            d = zc - ys[u, c, j0 + jj]
            state[VPHI, 0, jj] += xc * yv[u, c, j0 + jj]
            state[WPHI, 0, jj] += d * d


@njit(inline="always", **JIT)
def _room(j0, j1, yv):
    """Columns a step of the block ``[j0, j1)`` runs: whole vectors, within the arrays."""
    width = j1 - j0
    return min(width + (LANES - width % LANES) % LANES, yv.shape[2] - j0)


@njit(inline="always", **JIT)
def _start_state(state, room, shared_start, self_jj, sh2):
    """The state before a chain's first step: a zero recurrent term (uncorrelated: ``WPHI`` 1), or, with
    ``shared_start``, the sigma_h initial state that a sample shares with itself in column ``self_jj``."""
    state[VPHI, 1:, :room] = 0.0
    state[WPHI, 1:, :room] = 1.0
    state[TDOT, 1:, :room] = 0.0
    if shared_start:
        state[VPHI, 1:, self_jj] = sh2
        state[WPHI, 1:, self_jj] = 0.0


@njit(inline="always", **JIT)
def _restart(state, n_layers, started, n):
    """Columns ``[started, n)`` become real at this step (unequal lengths): their chains start from zero."""
    for row_l in range(1, n_layers + 1):    # loops: a slice here cost more than the step
        for jj in range(started, n):
            state[VPHI, row_l, jj] = 0.0
            state[WPHI, row_l, jj] = 1.0
            state[TDOT, row_l, jj] = 0.0


@njit(inline="always", **JIT)
def _step_scales(l, relu, mean, sw2, su2, sb2, sv2, n_layers, fixed, n_out):
    """The ``scales`` of ``_pairs`` for layer ``l``."""
    dot_factor = RELU_DOT if relu else ERF_DOT
    trained = 1.0 if l + 1 > fixed else 0.0
    depth = su2 if (l >= 1 and l > fixed) else 0.0
    weight = sv2 if (mean and l >= n_layers - n_out) else 0.0
    return sw2, su2, sb2, sw2 * dot_factor, depth * dot_factor, trained, weight, weight * dot_factor


@njit(inline="always", **JIT)
def _row_at(relu, l, s, i, xv, xp):
    """Sample ``i``'s numbers at step ``s`` of layer ``l``, passed to the step loops as scalars (the arrays'
    fields would be 24 arguments)."""
    return (xv[s, 0, i], xp[FIRST, l, s, i], xp[SECOND, l, s, i], xp[VARIANCE, l, s, i],
            xp[REC, l, s, i] if relu else 0.0, xp[INP, l, s, i] if relu else 0.0)


@njit(inline="always", **JIT)
def _step(i, i_b, s, u, j0, n, relu, mean, self_jj, self_b, x_side, y_side, state, state_b, acc, acc_b, sw2, su2, sb2,
          sv2, inv_m, n_layers, fixed, n_out):
    """Every layer's step of the chains of row ``i`` (its step ``s``) with the ``n`` columns from ``j0`` on (their
    step ``u``), and where ``i_b >= 0`` those of row ``i_b`` at the same steps too, with its own ``self_b``,
    ``state_b`` and ``acc_b``: the compiled loop of ``_pairs`` that fits the layer and the output, called (for
    the ReLU last state once for both rows, ``_pairs_two``)."""
    xv, xs, xp = x_side
    yv, ys, yp = y_side[0], y_side[1], y_side[2]
    univariate = xv.shape[1] == 1
    # Callers pass constants here: -1 for no second row or no column of the sample itself, the step 0 of the
    # offsets side by side. Passed on as they come, each would be compiled into a specialisation of its own
    # (``jit.unliteral``): as plain integers, each ReLU last-state loop (seconds to compile) is compiled once.
    # The other loops keep the literal -1 of ``self_jj`` from the chains that never meet the sample itself
    # (offsets other than 0): compiled without the self-pair's selects, mean pooling ran 5 % faster.
    i_b, u, self_b = unliteral(i_b), unliteral(u), unliteral(self_b)
    two = i_b >= 0
    for l in range(n_layers):
        scales = _step_scales(l, relu, mean, sw2, su2, sb2, sv2, n_layers, fixed, n_out)
        weight = scales[6]
        row = _row_at(relu, l, s, i, xv, xp)
        if l == 0 and not univariate:
            _inputs(n, s, u, i, j0, relu, xv, xs, yv, ys, state, inv_m)
            if two:
                _inputs(n, s, u, i_b, j0, relu, xv, xs, yv, ys, state_b, inv_m)
        if relu and weight == 0.0:
            row_b = _row_at(relu, l, s, i_b, xv, xp) if two else row      # unread without ``two``
            pairs = (two, n, l, u, j0, row, row_b, yv, yp, state, state_b, unliteral(self_jj), self_b, scales)
            if l > 0:
                _pairs_relu_last(*pairs)
            elif univariate:
                _pairs_relu_last_direct(*pairs)
            else:
                _pairs_relu_last_first(*pairs)
            continue
        _one_row(l, univariate, relu, weight, n, u, j0, row, yv, yp, state, acc, self_jj, scales)
        if two:
            _one_row(l, univariate, relu, weight, n, u, j0, _row_at(relu, l, s, i_b, xv, xp), yv, yp, state_b, acc_b,
                     self_b, scales)


@njit(inline="always", **JIT)
def _one_row(l, univariate, relu, weight, n, u, j0, row, yv, yp, state, acc, self_jj, scales):
    """The compiled loop of ``_pairs`` for one row where the step adds to mean-pooling sums (``weight``) or the
    activation is erf."""
    one = (n, l, u, j0, row, yv, yp, state, acc, self_jj, scales)
    if l == 0 and univariate:
        if relu:
            _pairs_relu_mean_direct(*one)
        elif weight == 0.0:
            _pairs_erf_last_direct(*one)
        else:
            _pairs_erf_mean_direct(*one)
    elif l == 0 and relu:
        _pairs_relu_mean_first(*one)
    elif relu:
        _pairs_relu_mean(*one)
    elif weight == 0.0:
        _pairs_erf_last(*one)
    else:
        _pairs_erf_mean(*one)


@njit(_nrt=False, **JIT)
def _chain(i, j0, j1, offset, s_begin, s_end, relu, self_jj, shared_start, x_side, y_side, state, acc,
           sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, mean, n_out):
    """Run the chains of pairs ``(i, j)``, ``j0 <= j < j1``, along ``u = s + offset`` for ``s_begin <= s < s_end``.

    ``self_jj`` is the block column whose chain is that of sample ``i`` with itself (or with an identical
    copy), -1 if none; with ``shared_start`` (K(X), same sample) it also starts from the sigma_h state.
    Other chains start from a zero recurrent term, which is uncorrelated: its ``WPHI`` is 1. With ``mean``,
    the top ``n_out`` layers add their outputs to their rows of ``acc``.

    A step runs whole vectors (LANES columns), past the real columns where there are columns to run: the
    Y arrays hold spare samples after the last one (``engine.spare_samples``), and ``state`` and ``acc`` room for
    ``2 LANES`` columns past a block. A block of n columns would otherwise run ``n % LANES`` of them in scalar
    code, each as dear as several lanes (a step of 100 columns cost more than one of 104). What a step
    computes for a column past the block is never read; for a column of the block whose chain has not
    started (unequal lengths: a shorter series), the last state sets it back to the zero start at the step
    where it becomes real, and mean pooling, which adds every step's output to the column's sums, runs such
    columns only once all of the block's are real.
    """
    yv, y_real = y_side[0], y_side[3]
    width = j1 - j0
    room = _room(j0, j1, yv)
    _start_state(state, room, shared_start, self_jj, sh2)
    # the real prefix at the first step (also when no step runs here: ``_chain_rows`` continues from it)
    started = min(j1, y_real[min(s_begin + offset, y_real.shape[0] - 1)]) - j0
    for s in range(s_begin, s_end):
        u = s + offset
        n = min(j1, y_real[u]) - j0                     # the real columns, a prefix of the block
        if not mean:
            if n > started:                             # chains that start at this step
                _restart(state, n_layers, started, n)
                started = n
            n = min(n + (LANES - n % LANES) % LANES, room)
        elif n == width:
            n = room
        _step(i, -1, s, u, j0, n, relu, mean, self_jj, -1, x_side, y_side, state, state, acc, acc, sw2, su2, sb2, sv2,
              inv_m, n_layers, fixed, n_out)
    return started


@njit(inline="always", **JIT)
def _self_column(x_copy, row, j0, j1):
    """The block column ``[j0, j1)`` (its index from ``j0``) holding the sample of ``row`` itself or an identical
    copy of it, -1 if none."""
    return x_copy[row] - j0 if j0 <= x_copy[row] < j1 else -1


@njit(inline="always", **JIT)
def _partner(r, active):
    """The row that runs with row ``r`` of the ``active`` rows run together (``_pairs``' two rows): ``r + 1``, or
    ``r`` itself, alone, where that is the last."""
    return r + 1 if r + 1 < active else r


@njit(inline="always", **JIT)
def _join(active, i, i_end, s, offset, j0, j1, same, x_start, y_start, x_copy, states, room, sh2):
    """The rows after the first ``active`` of ``i <= r < i_end`` whose chains along ``offset`` start at step
    ``s``, their states set to the start (``_start_state``; the offset 0 of K(X) with the sample itself in
    the block shares its initial state); returns how many rows have started. Rows start in order: a later
    row is a shorter series, sorted after."""
    while active < i_end - i and max(x_start[i + active], y_start[j0] - offset, 0) <= s:
        self_jj = _self_column(x_copy, i + active, j0, j1) if offset == 0 else -1
        _start_state(states[active], room, same and self_jj >= 0, self_jj, sh2)
        active += 1
    return active


@njit(_nrt=False, **JIT)
def _chain_rows(i, i_end, j0, j1, s_begin, started, same, relu, x_start, y_start, x_copy, x_side, y_side, states, acc,
                sw2, su2, sb2, sh2, inv_m, n_layers, fixed):
    """The last state of the pairs ``(r, j)``, ``i <= r < i_end``, ``j0 <= j < j1``, from step ``s_begin`` on,
    where row ``i + 1`` starts: row ``i``'s chains have run the steps before (``_chain``; ``started`` is what
    it returned), each later row's start at its own first step (a shorter series, sorted after). ``states[r
    - i]`` is row ``r``'s state. Each step runs the rows one after the other on the columns' numbers that
    the first has just brought into the core's caches: with the planes of Y larger than the L2 cache (N =
    600, T = 300: 7 MB), reading them once per row cost ~15 % of the pairs' time on one thread. ``acc`` is
    not read."""
    yv, y_real = y_side[0], y_side[3]
    room = _room(j0, j1, yv)
    active = 1                                          # row i has started
    for s in range(s_begin, yv.shape[0]):
        n = min(j1, y_real[s]) - j0
        if n > started:
            for r in range(i_end - i):
                _restart(states[r], n_layers, started, n)
            started = n
        n = min(n + (LANES - n % LANES) % LANES, room)
        active = _join(active, i, i_end, s, 0, j0, j1, same, x_start, y_start, x_copy, states, room, sh2)
        for r in range(0, active, 2):
            b = _partner(r, active)
            _step(i + r, i + b if b > r else -1, s, s, j0, n, relu, False, _self_column(x_copy, i + r, j0, j1),
                  _self_column(x_copy, i + b, j0, j1), x_side, y_side, states[r], states[b], acc, acc, sw2, su2, sb2,
                  0.0, inv_m, n_layers, fixed, 1)


@njit(_nrt=False, **JIT)
def _chain_rows_mean(i, i_end, j0, j1, offset, relu, x_start, y_start, x_copy, x_side, y_side, states, sums, sw2, su2,
                     sb2, sh2, sv2, inv_m, n_layers, fixed, n_out):
    """``_chain`` with mean pooling along ``u = s + offset`` (``offset > 0``, no sample with itself) for the rows
    ``i <= r < i_end`` at once: row ``r`` runs from its own first step (a shorter series starts later; one
    with no step at this offset never starts: ``_join``) with ``states[r - i]`` and adds to ``sums[r - i]``;
    each step runs the rows one after the other on the columns' numbers that the first has just brought into
    the core's caches, as ``_chain_rows`` does for the last state. ``sums[r - i]`` is zero before (the caller
    adds each offset's sums to a row's total, ``_add_offsets``), and receives the same additions in the same
    order as from ``_chain``."""
    yv, y_real = y_side[0], y_side[3]
    t_max = yv.shape[0]
    width = j1 - j0
    room = _room(j0, j1, yv)
    s_end = min(t_max, t_max - offset)
    active = 0
    for s in range(max(x_start[i], y_start[j0] - offset, 0), s_end):
        active = _join(active, i, i_end, s, offset, j0, j1, False, x_start, y_start, x_copy, states, room, sh2)
        u = s + offset
        n = min(j1, y_real[u]) - j0                 # the real columns; whole vectors once they all are
        if n == width:
            n = room
        for r in range(active):
            _step(i + r, -1, s, u, j0, n, relu, True, -1, -1, x_side, y_side, states[r], states[r], sums[r], sums[r],
                  sw2, su2, sb2, sv2, inv_m, n_layers, fixed, n_out)


@njit(_nrt=False, **JIT)
def _chain_rows_offsets(i, i_end, first, last, relu, x_side, y_flat, width, states, parts, sw2, su2, sb2, sv2, inv_m,
                        n_layers, fixed, n_out):
    """Mean pooling's chains along the offsets ``first <= k < last`` (> 0) of the rows ``i <= r < i_end`` with
    every column, for series of one channel that are real at every step: the offsets' columns side by side,
    so that each step of the rows is one call per layer for all of them rather than one per offset.

    A row's step ``s`` meets the columns' step ``s + k`` along offset ``k``. ``y_flat`` holds Y's arrays with
    the steps one after the other in a single row (``width`` columns each, a whole number of vectors), so
    the columns of the offsets ``first .. k`` at step ``s`` are the contiguous run from ``(s + first) *
    width``, and the chain of offset ``k`` keeps its state and its sums at ``(k - first) * width + j`` of
    ``states[r - i]`` and ``parts[r - i]`` (zero before: each offset's chain is summed alone). The chain of
    offset ``k`` ends after step ``t_max - 1 - k``: the run loses the last offset's columns at each step
    from then on, and what the others compute is what ``_chain_rows_mean`` computes for each offset."""
    t_max = x_side[0].shape[0]
    n_all = (last - first) * width
    for r in range(i_end - i):
        _start_state(states[r], n_all, False, -1, 0.0)
        parts[r, :, :, :n_all] = 0.0
    for s in range(t_max - first):
        n = (min(last, t_max - s) - first) * width
        for r in range(i_end - i):
            _step(i + r, -1, s, 0, (s + first) * width, n, relu, True, -1, -1, x_side, y_flat, states[r], states[r],
                  parts[r], parts[r], sw2, su2, sb2, sv2, inv_m, n_layers, fixed, n_out)


@njit(inline="always", **JIT)
def _add_offsets(sums, parts, count, width):
    """Add the sums of ``count`` chains laid side by side in ``parts`` (shape ``(n_layers, 2, columns)``, the
    chain ``k``'s at ``k * width + jj``) to ``sums[:, :, jj]``, in the order of ``k``: a pair's sum over its
    offsets is the sum of its chains' sums, each chain summed alone, in increasing ``|offset|``, however
    many offsets run at once."""
    for layer in range(sums.shape[0]):
        for plane in range(sums.shape[1]):
            for k in range(count):
                for jj in range(width):
                    sums[layer, plane, jj] += parts[layer, plane, k * width + jj]


@njit(inline="always", **JIT)
def _offsets_together(x_start, i, y_side, y_start, k0, j1):
    """How many offsets' chains of row ``i`` against the columns ``[k0, j1)`` run side by side
    (``_chain_rows_offsets``): as many as fit a block, where the series have one channel and row ``i`` and
    every column (the last, shortest, starts at step 0) one length, and the block holds every column; 0
    where they do not or fewer than two fit."""
    yv = y_side[0]
    n_y = y_start.shape[0]
    if yv.shape[1] != 1 or x_start[i] != 0 or y_start[n_y - 1] != 0 or k0 != 0 or j1 != n_y:
        return 0
    together = BLOCK // yv.shape[2]
    return together if together >= 2 else 0


@njit(inline="always", **JIT)
def _flat_side(side):
    """``(values, scaled, factors)`` of one channel with each plane's steps one after the other in a single row:
    step ``u``'s column ``j`` at ``u * width + j`` (``_chain_rows_offsets``)."""
    values, factors = side[0], side[2]
    return (values.reshape((1, 1, values.size)), side[1],
            factors.reshape((factors.shape[0], factors.shape[1], 1, factors.shape[2] * factors.shape[3])))


@njit(inline="always", **JIT)
def _offsets_side_by_side(i, i_end, end, together, relu, x_side, y_side, states, parts, totals, sw2, su2, sb2, sv2,
                          inv_m, n_layers, fixed, n_out):
    """The chains along the offsets ``1 <= k < end`` of the rows ``i <= r < i_end``, ``together`` offsets at a
    time (``_chain_rows_offsets``), each row's chains' sums added to ``totals[r - i]`` in increasing ``k``."""
    width = y_side[0].shape[2]
    y_flat = _flat_side(y_side)
    for first in range(1, end, together):
        last = min(first + together, end)
        _chain_rows_offsets(i, i_end, first, last, relu, x_side, y_flat, width, states, parts, sw2, su2, sb2, sv2,
                            inv_m, n_layers, fixed, n_out)
        for r in range(i_end - i):
            _add_offsets(totals[r], parts[r], last - first, width)


COPY_BUDGET = 64 * 2**20  # bytes of per-thread copies of the per-sample arrays (``_side_copies``) at most


@njit(**JIT)
def _stacked(a, n):
    """``n`` copies of ``a`` (C-contiguous), shape ``(n,) + a.shape``."""
    out = np.empty((n,) + a.shape)
    # element by element: an array assigned to a slice (``out[k] = a``) makes numba compile the message of a
    # shape mismatch (string formatting, for each number of dimensions) that cannot occur here
    copies, source = out.reshape(out.size), a.reshape(a.size)
    for k in range(n):
        for e in range(a.size):
            copies[k * a.size + e] = source[e]
    return out


@njit(**JIT)
def _side_copies(side, n_groups, mean):
    """With mean pooling, copies of the arrays ``(values, scaled, factors)`` of a side for threads
    ``1 .. n_groups - 1`` (thread 0 reads the originals); none (first axis of length 0) for the last state or
    where they would take more than ``COPY_BUDGET``.

    Two threads reading the same per-sample arrays ran mean pooling's pass over the positive offsets 7-12 %
    slower than each alone (N = 400, T = 100, the Intel Xeon of benchmarks/README.md, 2026-12-04), and with a
    copy each as fast as alone; why was not found. Mean pooling reads each of those bytes about T times more
    often than the last state, where sharing them cost nothing measurable and a copy costs its time (a
    K(X, Y) of 200 x 400 series, T = 100: 1 ms of 10). Copies change no number."""
    size = side[0].size + side[1].size + side[2].size
    n = n_groups - 1 if mean and (n_groups - 1) * size * 8 <= COPY_BUDGET else 0
    return _stacked(side[0], n), _stacked(side[1], n), _stacked(side[2], n)


@njit(**JIT)
def _thread_side(side, copies, g):
    """The ``(values, scaled, factors)`` that group ``g`` reads: its own copy where ``_side_copies`` made one."""
    if g == 0 or copies[0].shape[0] == 0:
        return side[0], side[1], side[2]
    return copies[0][g - 1], copies[1][g - 1], copies[2][g - 1]


@njit(**JIT)
def _scratch(n_groups, n_layers):
    """The working arrays of ``_row`` and ``_row_square`` for each of ``n_groups`` threads: the pairs' state
    of ``ROWS`` rows, three rows of mean-pooling sums, and the sums of each of ``ROWS`` rows and of their
    chains, allocated once per call rather than per row
    (zeroing ~100 KB for each row took ~5 % of a Gram matrix of 1000 series, T = 150). Allocated before the
    parallel loop and taken apart by ``_thread_scratch``: an array allocated inside a ``prange`` body may be
    hoisted out of it by numba and then shared by the threads."""
    return (np.zeros((n_groups, ROWS, 3, n_layers + 1, BLOCK + 2 * LANES)),
            np.zeros((n_groups, 3, n_layers, 2, BLOCK + 2 * LANES)),
            np.zeros((n_groups, ROWS, n_layers, 2, BLOCK + 2 * LANES)),
            np.zeros((n_groups, ROWS, n_layers, 2, BLOCK + 2 * LANES)))


@njit(**JIT)
def _thread_scratch(scratch, g):
    """Group ``g``'s ``(state, positive, negative, zero, states, row_sums, parts)`` of ``_scratch``: ``states``
    holds the state of each of ``ROWS`` rows run together, ``state`` is its first, ``row_sums`` their
    mean-pooling sums in ``_row_square``, and ``parts`` the sums of each chain (or offset) before they are
    added to those (``_add_offsets``)."""
    states, sums, row_sums, parts = scratch
    return states[g, 0], sums[g, 0], sums[g, 1], sums[g, 2], states[g], row_sums[g], parts[g]


@njit(**JIT)
def _row(i, i_end, same, relu, mean, x_start, x_len, x_side, x_copy, y_start, y_len, y_side, x_order, y_order, out,
         out_gp, assign, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, j_lo, j_hi, scratch):
    """All pairs ``(i, j)`` with ``j_lo <= j < j_hi``, added to ``out`` in the original order (the last state with
    ``assign``: written over what the entries held); with
    ``i_end > i + 1`` (the last state only), those of the rows ``r < i_end`` after ``i`` too, from the same
    reads of Y (``_chain_rows``): the columns ``j >= r`` with ``same``, else the same columns.

    ``out`` has shape ``(n_x, n_out, n_y)``: ``out[:, d, :]`` receives the kernel read out after layer
    ``n_layers - n_out + d + 1``, so ``n_out = 1`` is the network's own kernel and ``n_out = n_layers`` adds
    those of the shallower networks with the same scales (with ``fixed = 0``): their layers are this
    network's bottom layers, which nothing above them changes, so each equals its own computation to the
    last bit. With a non-empty ``out_gp`` (same shape, ``fixed = 0``) the NNGP kernels of the same pairs are
    added to it: the Vphi terms of the output alone, which the Theta recursion does not change, so each is
    the kernel with ``fixed_layers`` = its depth to the last bit (there every Theta term is an exact zero).

    With ``same`` (K(X)), only the entry ``(i, j)`` of each pair is written (``mirror.mirror_tile_row`` copies
    it onto ``(j, i)`` afterwards). With mean pooling and ``same``, only the chains along the offset 0 are
    run and added: the others are already in ``out`` (``_row_square``, ``_sum_halves``).

    ``scratch`` is the calling thread's ``_scratch``: the state and (mean pooling) the sums over the offsets
    > 0, < 0 and 0; ``_chain`` and the loop below set what they read.
    """
    gp = out_gp.shape[0] > 0
    n_out = out.shape[1]
    t_max = x_side[0].shape[0]
    state, positive, negative, zero, states, _, parts = scratch
    single = parts[0]
    for j0 in range(j_lo, j_hi, BLOCK):
        j1 = min(j0 + BLOCK, j_hi)
        # The block is computed from k0 <= j0 on, so that its width is a whole number of vectors where the
        # columns allow: a block of n columns runs n % LANES of them in scalar code, each as costly as several
        # vector lanes (about 9 ns against 2.4 ns per column-step). The extra columns' values are not stored.
        # With unequal lengths they are longer series (sorted first), so wherever a column of the block is
        # real, they are too: the chains stay prefixes of the block.
        k0 = max(j0 - (j0 - j1) % LANES, 0)
        self_jj = _self_column(x_copy, i, k0, j1)
        if mean:
            positive[:, :, :] = 0.0
            negative[:, :, :] = 0.0
            zero[:, :, :] = 0.0
            # Offsets u - s at which some pair of the block has a real step (u >= y_start[k0], s >= x_start[i]):
            # 0, then the positive ones in increasing order, then the negative ones in decreasing order, each
            # offset's chain summed alone (``single``) and added to its kind's sum, and the three sums added as
            # (positive + negative) + zero. That is how K(X) adds them (``_row_square``, ``_sum_halves``), where
            # a pair's negative offsets are its mirror's positive ones, so that K(X, Y) equals K(X) on shared
            # samples to the last bit. For K(X) (``same``), only the offset 0 is run here: the others are
            # already in ``out``.
            n_positive = t_max - x_start[i] - 1
            n_negative = (t_max - 1) - y_start[k0]
            # K(X, Y): the positive offsets side by side where they can (``_offsets_together``), their sums added
            # in the same order; the others one at a time below
            together = 0 if same else _offsets_together(x_start, i, y_side, y_start, k0, j1)
            if together:
                _offsets_side_by_side(i, i + 1, n_positive + 1, together, relu, x_side, y_side, states, parts,
                                      positive.reshape((1,) + positive.shape), sw2, su2, sb2, sv2, inv_m, n_layers,
                                      fixed, n_out)
            room = _room(k0, j1, y_side[0])
            for k in range(1 if same else 1 + n_positive + n_negative):
                if together and 1 <= k <= n_positive:
                    continue
                offset = k if k <= n_positive else n_positive - k
                s_begin = max(x_start[i], y_start[k0] - offset, 0)
                s_end = min(t_max, t_max - offset)
                if s_begin >= s_end:
                    continue
                diagonal_jj = self_jj if offset == 0 else -1
                shared_start = same and diagonal_jj >= 0
                part = positive if offset > 0 else (negative if offset < 0 else zero)
                single[:, :, :room] = 0.0
                _chain(i, k0, j1, offset, s_begin, s_end, relu, diagonal_jj, shared_start, x_side, y_side, state,
                       single, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, True, n_out)
                _add_offsets(part, single, 1, room)
            for d in range(n_out):
                layer = n_layers - n_out + d
                for plane in range(2 if gp else 1):
                    target = out if plane == ACC else out_gp
                    for j in range(j0, j1):
                        scale = x_len[i] * y_len[j]
                        jj = j - k0
                        value = (positive[layer, plane, jj] / scale + negative[layer, plane, jj] / scale
                                 + zero[layer, plane, jj] / scale)
                        target[x_order[i], d, y_order[j]] += value
        else:
            s_begin = max(x_start[i], y_start[k0])
            shared_start = same and self_jj >= 0
            # the rows after i start where their (shorter) series do: row i alone until the next one starts
            s_next = max(x_start[i + 1], y_start[k0]) if i_end > i + 1 else t_max
            started = _chain(i, k0, j1, 0, s_begin, s_next, relu, self_jj, shared_start, x_side, y_side, state,
                             zero, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, False, n_out)
            if i_end > i + 1:
                _chain_rows(i, i_end, k0, j1, s_next, started, same, relu, x_start, y_start, x_copy, x_side, y_side,
                            states, zero, sw2, su2, sb2, sh2, inv_m, n_layers, fixed)
            for r in range(i, i_end):
                _read_out(r, max(j0, r if same else j_lo), j1, k0, states[r - i], relu, x_order, y_order, out,
                          out_gp, assign, sv2, n_layers)


@njit(inline="always", **JIT)
def _read_out(i, j_from, j1, k0, state, relu, x_order, y_order, out, out_gp, assign, sv2, n_layers):
    """Add the last state's output kernels of the pairs ``(i, j)``, ``j_from <= j < j1``, of a block that starts
    at column ``k0`` to ``out`` (and their NNGP parts to a non-empty ``out_gp``), in the original order; with
    ``assign``, write them over what the entries held."""
    gp = out_gp.shape[0] > 0
    n_out = out.shape[1]
    sv2_dot = sv2 * (RELU_DOT if relu else ERF_DOT)
    for d in range(n_out):
        row = n_layers - n_out + d + 1
        for j in range(j_from, j1):
            jj = j - k0
            value = sv2 * state[VPHI, row, jj] + sv2_dot * state[TDOT, row, jj]
            # one expression for both: written apart, the two copies of ``value`` may fuse their products into
            # different FMAs (a direction alone, then, differs in the last bit from the same one added)
            out[x_order[i], d, y_order[j]] = (0.0 if assign else out[x_order[i], d, y_order[j]]) + value
            if gp:
                out_gp[x_order[i], d, y_order[j]] = ((0.0 if assign else out_gp[x_order[i], d, y_order[j]])
                                                     + sv2 * state[VPHI, row, jj])


@njit(**JIT)
def _row_square(i, i_end, relu, x_start, x_len, x_side, x_copy, y_start, y_len, y_side, x_order, out, out_gp,
                sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, scratch):
    """K(X) with mean pooling: the chains along the positive offsets of rows ``i <= r < i_end`` (at most
    ``ROWS``, run together: ``_chain_rows_mean``, or for series of one channel and one length several offsets
    at once, ``_chain_rows_offsets``), for ``_sum_halves`` and then ``_row`` (offset 0) to complete.

    The chains of a pair ``(i, j)`` run along the diagonals ``u - s = offset`` of its grid of steps. Those
    with ``offset < 0`` are, with the roles of the two samples swapped, the chains of ``(j, i)`` with
    ``-offset > 0``, to the last bit (every operation of ``_pairs`` is symmetric in the two samples). So row
    ``i`` runs the chains with ``offset >= 1`` for every column ``j``: a block as wide as X, where the
    triangle ``j >= i`` gave rows of 50 columns on average for a Gram matrix of 100 series, and each step of
    a chain is a call with a fixed cost (~30 ns against ~2.2 ns per column); where two offsets' columns fit a
    block, their chains run side by side, one call per step for as many offsets as fit (a Gram matrix of
    100 series of 60 steps: 9 offsets, 1/9 of the calls). Their sum ``P[i, j]`` (each offset's chain summed
    alone, the offsets' sums added in increasing order, as ``_row`` sums them) divided by the lengths goes to
    entry ``(i, j)``, added where ``j >= i`` (twice on the diagonal, whose negative offsets equal its positive
    ones) and written where ``j < i``, in the original order; ``out`` is zero before (``compute_rntk`` gives
    the reversed direction of a bidirectional kernel its own array). ``scratch``: as for ``_row``.
    """
    gp = out_gp.shape[0] > 0
    n_out = out.shape[1]
    t_max = x_side[0].shape[0]
    n_y = y_len.shape[0]
    states, sums, parts = scratch[4], scratch[5], scratch[6]
    rows = i_end - i
    for j0 in range(0, n_y, BLOCK):
        j1 = min(j0 + BLOCK, n_y)
        k0 = max(j0 - (j0 - j1) % LANES, 0)           # whole vectors, as in ``_row``
        sums[:rows] = 0.0
        # offsets in increasing order; the rows after i (shorter series) have fewer, the first ones of i's
        together = _offsets_together(x_start, i, y_side, y_start, k0, j1)
        if together:
            _offsets_side_by_side(i, i_end, t_max - x_start[i], together, relu, x_side, y_side, states, parts, sums,
                                  sw2, su2, sb2, sv2, inv_m, n_layers, fixed, n_out)
        else:
            room = _room(k0, j1, y_side[0])
            for offset in range(1, t_max - x_start[i]):
                parts[:rows, :, :, :room] = 0.0
                _chain_rows_mean(i, i_end, k0, j1, offset, relu, x_start, y_start, x_copy, x_side, y_side, states,
                                 parts, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, n_out)
                for r in range(rows):
                    _add_offsets(sums[r], parts[r], 1, room)
        for r in range(i, i_end):
            acc = sums[r - i]
            for d in range(n_out):
                layer = n_layers - n_out + d
                for plane in range(2 if gp else 1):
                    target = out if plane == ACC else out_gp
                    for j in range(j0, j1):
                        half = acc[layer, plane, j - k0] / (x_len[r] * y_len[j])
                        if j < r:
                            target[x_order[r], d, x_order[j]] = half
                        elif j == r:
                            target[x_order[r], d, x_order[j]] += half + half
                        else:
                            target[x_order[r], d, x_order[j]] += half


@njit(**JIT)
def _sum_halves(out, p):
    """Row ``p`` of ``out`` (shape ``(n, n_out, n)``) after ``_row_square``: each entry ``(p, q)``, ``q > p``,
    and its mirror become their sum, the pair's chains along every offset but 0 (``_row`` adds those)."""
    for q in range(p + 1, out.shape[0]):
        for d in range(out.shape[1]):
            total = out[p, d, q] + out[q, d, p]
            out[p, d, q] = total
            out[q, d, p] = total


def _rntk_pairs(same, relu, mean, x_start, x_len, x_side, x_copy, y_start, y_len, y_side, x_order, y_order,
                out, out_gp, assign, sw2, su2, sb2, sh2, sv2, n_layers, fixed, n_groups):
    """Add the RNTK of every pair to ``out`` (shape ``(n_x, n_y)``, original order).

    With ``same``, X and Y are the same samples and only pairs ``j >= i`` are computed (with mean pooling, each
    pair's halves: ``_row_square``). ``x_copy[i]`` is the sorted column of Y identical to sorted row ``i`` of X
    (``i`` itself with ``same``), or -1. ``x_side`` is ``(values, scaled, factors)`` of a ``prepare.Side`` and
    ``y_side`` the same with ``n_real`` added; scalars are the squared scales of section 1 of docs/kernels.md.
    ``out`` has shape ``(n_x, n_out, n_y)`` with ``n_out`` 1 or (with ``fixed = 0``) ``n_layers`` (see ``_row``);
    ``out_gp`` the same shape to receive the NNGP kernels as well (with ``fixed = 0``), else ``(0, 0, 0)``. With
    ``assign`` (the last state), the values are written over what ``out`` and ``out_gp`` held rather than added:
    every entry gets one, from ``_read_out`` or (K(X)) the mirror. ``rntk_pairs`` spreads the rows over numba's
    threads; ``rntk_pairs_serial`` runs on the calling thread only and never starts the thread pool (see
    ``jit.py``). ``n_groups`` runs of consecutive tasks of equal estimated cost (``schedule.py``) are spread over
    the threads, one per thread when it is their number.
    """
    n_x = x_len.shape[0]
    n_y = y_len.shape[0]
    inv_m = 1.0 / x_side[0].shape[1]
    scratches = _scratch(n_groups, n_layers)
    x_copies = _side_copies(x_side, n_groups, mean)
    y_copies = x_copies if same else _side_copies(y_side, n_groups, mean)
    n_real = y_side[3]
    rows = 1 if mean else ROWS                       # rows per task: the last state runs ROWS at once (``_row``)
    if same:
        if mean:                                     # every offset but 0 first (``_row_square``)
            bounds = equal_groups(square_costs(x_len, BLOCK), n_groups)
            for g in prange(n_groups):
                scratch = _thread_scratch(scratches, g)
                own = _thread_side(x_side, x_copies, g)
                for i in range(bounds[g], bounds[g + 1], ROWS):
                    _row_square(i, min(i + ROWS, bounds[g + 1]), relu, x_start, x_len, own, x_copy, y_start, y_len,
                                own + (n_real,), x_order, out, out_gp, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed,
                                scratch)
            bounds = equal_groups(halves_costs(n_x), n_groups)
            for g in prange(n_groups):
                for row in range(bounds[g], bounds[g + 1]):
                    _sum_halves(out, row)
                    if out_gp.shape[0] > 0:
                        _sum_halves(out_gp, row)
        bounds = equal_groups(triangle_costs(x_len, BLOCK), n_groups)
        for g in prange(n_groups):                   # the triangle (with mean pooling, the offset 0 only)
            scratch = _thread_scratch(scratches, g)
            own = _thread_side(x_side, x_copies, g)
            for i in range(bounds[g], bounds[g + 1], rows):
                # ``same`` as the literal True here (False below): numba compiles ``_row`` and the chains it calls
                # once for each. Compiled once for both, the last state ran 2-10 % slower (AMD Zen 4, 2026-12-06,
                # with the step loops' machine code the same; why was not found), for 12 s less compilation.
                _row(i, min(i + rows, bounds[g + 1]), True, relu, mean, x_start, x_len, own, x_copy, y_start, y_len,
                     own + (n_real,), x_order, y_order, out, out_gp, assign, sw2, su2, sb2, sh2, sv2, inv_m, n_layers,
                     fixed, i, n_y, scratch)
        # then mirrored (``mirror.py``): written over (``assign``), or added to an ``out`` that was symmetric
        # before (zero, the summed halves, or a first direction), the copy is what writing or adding each value
        # to both entries gave
        rank = np.empty(n_x, dtype=np.int64)
        for i in range(n_x):
            rank[x_order[i]] = i
        n_tiles = (n_x + MIRROR_TILE - 1) // MIRROR_TILE
        bounds = equal_groups(halves_costs(n_tiles), n_groups)
        for g in prange(n_groups):
            for bi in range(bounds[g], bounds[g + 1]):
                mirror_tile_row(out, rank, bi)
                if out_gp.shape[0] > 0:
                    mirror_tile_row(out_gp, rank, bi)
    else:
        n_blocks = (n_y + BLOCK - 1) // BLOCK
        bounds = equal_groups(row_group_costs(cross_costs(x_len, y_len, BLOCK, mean), n_x, n_blocks, rows), n_groups)
        for g in prange(n_groups):
            scratch = _thread_scratch(scratches, g)
            own_x = _thread_side(x_side, x_copies, g)
            own_y = _thread_side(y_side, y_copies, g) + (n_real,)
            for task in range(bounds[g], bounds[g + 1]):
                i = (task // n_blocks) * rows
                j_lo = (task % n_blocks) * BLOCK
                _row(i, min(i + rows, n_x), False, relu, mean, x_start, x_len, own_x, x_copy, y_start, y_len, own_y,
                     x_order, y_order, out, out_gp, assign, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, j_lo,
                     min(j_lo + BLOCK, n_y), scratch)


rntk_pairs, rntk_pairs_serial = parallel_and_serial(_rntk_pairs, "rntk_pairs", **JIT)
