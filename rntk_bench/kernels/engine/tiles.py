"""The tiled RNTK loops (numba): one row of pairs at a time, in column blocks, advanced through time together.

For a row ``i`` and a block of columns ``j``, the state of every pair lives in three ``(n_layers, block)``
arrays that stay in the L1/L2 cache: ``vphi[l]`` and ``vdot[l]`` hold the dual activation of layer ``l`` at the
previous step (``Vphi(K[l](t-1, t'-1))`` and its derivative) and ``theta[l]`` the layer's NTK. One step of one
layer is a loop over the block's columns with no branch and no libm call, which LLVM vectorises.

Each ``Vphi(K[l](t, t'))`` is evaluated once and used twice: as the input term of layer ``l + 1`` at this step
and as the recurrent term of layer ``l`` at the next step (the reference evaluates it twice).

Work is split over threads by rows (``prange``; the serial twin runs the same loops on the calling thread).
For the Gram matrix of X with itself only pairs ``j >= i`` are computed and each value is written to both
``(i, j)`` and ``(j, i)``; rows are paired as ``(k, n-1-k)`` so that every task has the same number of pairs.

Unequal lengths: the samples are sorted by decreasing length (see ``prepare.py``), so the pairs that are real
at a step are a prefix of the block; a pair whose chain has not started yet keeps its zero state, which is
exactly the zero recurrent term of its first step.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rntk_bench.kernels.engine.duals import erf_dual, relu_dual
from rntk_bench.kernels.engine.jit import JIT, parallel_and_serial

BLOCK = 256  # columns per tile: (3 n_layers + 3) * 256 * 8 bytes of state per thread (12 KiB for one layer)


@njit(inline="always", **JIT)
def _pairs(n, relu, pooled, inner, theta_below, dot_below, depth, fx, gx, fy, gy, vphi, vdot, theta, sw2, su2, sb2,
           trained, weight, acc, acc_gp, self_jj, q_self):
    """One layer, one step, for the ``n`` pairs of a block: Sigma and Theta of section 2, then the dual
    activation at the new K. ``relu`` and ``pooled`` (mean pooling: add the step's output kernel, weighted by
    ``weight``, to ``acc``, and its NNGP part alone to ``acc_gp``) are compile-time constants in each caller,
    so the loop holds only what it needs.

    ``inner`` is the input term (``<x, y>/m`` or the layer below's Vphi), ``depth * theta_below * dot_below``
    the Theta that flows in from the layer below. The chain of a sample with itself (column ``self_jj``)
    takes its covariance from the variance ``q_self``, which it equals exactly: recomputed, it would differ in
    the last bits, and for erf with sigma_w^2 E[phi'^2] > 1 (the chaotic phase, e.g. the default
    sigma_w = 1.4142) the recursion amplifies such a difference ~2.5 times per step along the diagonal, where
    correlation 1 is an unstable fixed point.
    """
    for jj in range(n):
        itself = jj == self_jj
        sigma = sw2 * vphi[jj] + su2 * inner[jj] + sb2
        sigma = q_self if itself else sigma
        th = (sigma + sw2 * theta[jj] * vdot[jj] + depth * theta_below[jj] * dot_below[jj]) * trained
        if relu:
            v, vd = relu_dual(sigma, fx, fy[jj], gx, gy[jj], itself)
        else:
            v, vd = erf_dual(sigma, fx, fy[jj], gx, gy[jj])
        theta[jj] = th
        vphi[jj] = v
        vdot[jj] = vd
        if pooled:
            acc[jj] += weight * v + weight * th * vd
            acc_gp[jj] += weight * v


@njit(**JIT)
def _pairs_relu_last(n, inner, theta_below, dot_below, depth, fx, gx, fy, gy, vphi, vdot, theta, sw2, su2, sb2,
                     trained, weight, acc, acc_gp, self_jj, q_self):
    _pairs(n, True, False, inner, theta_below, dot_below, depth, fx, gx, fy, gy, vphi, vdot, theta, sw2, su2,
           sb2, trained, weight, acc, acc_gp, self_jj, q_self)


@njit(**JIT)
def _pairs_relu_mean(n, inner, theta_below, dot_below, depth, fx, gx, fy, gy, vphi, vdot, theta, sw2, su2, sb2,
                     trained, weight, acc, acc_gp, self_jj, q_self):
    _pairs(n, True, True, inner, theta_below, dot_below, depth, fx, gx, fy, gy, vphi, vdot, theta, sw2, su2,
           sb2, trained, weight, acc, acc_gp, self_jj, q_self)


@njit(**JIT)
def _pairs_erf_last(n, inner, theta_below, dot_below, depth, fx, gx, fy, gy, vphi, vdot, theta, sw2, su2, sb2,
                    trained, weight, acc, acc_gp, self_jj, q_self):
    _pairs(n, False, False, inner, theta_below, dot_below, depth, fx, gx, fy, gy, vphi, vdot, theta, sw2, su2,
           sb2, trained, weight, acc, acc_gp, self_jj, q_self)


@njit(**JIT)
def _pairs_erf_mean(n, inner, theta_below, dot_below, depth, fx, gx, fy, gy, vphi, vdot, theta, sw2, su2, sb2,
                    trained, weight, acc, acc_gp, self_jj, q_self):
    _pairs(n, False, True, inner, theta_below, dot_below, depth, fx, gx, fy, gy, vphi, vdot, theta, sw2, su2,
           sb2, trained, weight, acc, acc_gp, self_jj, q_self)


@njit(**JIT)
def _layer_step(l, s, u, i, j0, j_end, relu, xv, xf, xs, xq, yv, yf, ys, vphi, vdot, theta, inner0, zero,
                sw2, su2, sb2, inv_m, trained, depth, weight, acc, acc_gp, self_jj):
    """Advance layer ``l`` of the pairs ``(i, j)``, ``j0 <= j < j_end``, by one step (x at ``s``, y at ``u``).

    ``trained`` is 1.0 when the layer's Theta is not frozen, else 0.0; ``depth`` is the weight of the depth
    path (``su2`` or 0); ``weight`` (``sv2`` or 0) adds the step's output kernel to ``acc`` (mean pooling).
    ``self_jj`` is the block column of the chain of sample ``i`` with itself (-1 if none). ``zero`` is a
    block of zeros standing for the (absent) layer below layer 0. Every array is sliced to the block first:
    indices that provably start at 0 let LLVM drop numba's negative-index wraparound and emit vector loads.
    """
    n = j_end - j0
    fy = yf[l, u, j0:j_end]
    gy = ys[l, u, j0:j_end]
    if l == 0:
        # <x_s, y_u> / m for the block, channel by channel so that the pair loop stays a flat vector loop
        inner = inner0[:n]
        x0 = xv[s, 0, i]
        y0 = yv[u, 0, j0:j_end]
        for jj in range(n):
            inner[jj] = x0 * y0[jj]
        for c in range(1, xv.shape[1]):
            xc = xv[s, c, i]
            yc = yv[u, c, j0:j_end]
            for jj in range(n):
                inner[jj] += xc * yc[jj]
        for jj in range(n):
            inner[jj] *= inv_m
        theta_below = zero[:n]
        dot_below = zero[:n]
    else:
        inner = vphi[l - 1, :n]
        theta_below = theta[l - 1, :n]
        dot_below = vdot[l - 1, :n]
    fx, gx, q_self = xf[l, s, i], xs[l, s, i], xq[l, s, i]
    vp, vd, th, ac, ag = vphi[l, :n], vdot[l, :n], theta[l, :n], acc[:n], acc_gp[:n]
    if relu and weight == 0.0:
        _pairs_relu_last(n, inner, theta_below, dot_below, depth, fx, gx, fy, gy, vp, vd, th, sw2, su2, sb2,
                         trained, weight, ac, ag, self_jj, q_self)
    elif relu:
        _pairs_relu_mean(n, inner, theta_below, dot_below, depth, fx, gx, fy, gy, vp, vd, th, sw2, su2, sb2,
                         trained, weight, ac, ag, self_jj, q_self)
    elif weight == 0.0:
        _pairs_erf_last(n, inner, theta_below, dot_below, depth, fx, gx, fy, gy, vp, vd, th, sw2, su2, sb2,
                        trained, weight, ac, ag, self_jj, q_self)
    else:
        _pairs_erf_mean(n, inner, theta_below, dot_below, depth, fx, gx, fy, gy, vp, vd, th, sw2, su2, sb2,
                        trained, weight, ac, ag, self_jj, q_self)


@njit(**JIT)
def _chain(i, j0, j1, offset, s_begin, s_end, relu, self_jj, shared_start, x_side, y_side,
           vphi, vdot, theta, inner0, zero, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, mean, acc, acc_gp):
    """Run the chains of pairs ``(i, j)``, ``j0 <= j < j1``, along ``u = s + offset`` for ``s_begin <= s < s_end``.

    ``self_jj`` is the block column whose chain is that of sample ``i`` with itself (or with an identical
    copy), -1 if none; with ``shared_start`` (K(X), same sample) it also starts from the sigma_h state.
    """
    xv, xf, xs, xq = x_side
    yv, yf, ys, y_real = y_side
    vphi[:, : j1 - j0] = 0.0
    vdot[:, : j1 - j0] = 0.0
    theta[:, : j1 - j0] = 0.0
    if shared_start:                     # a sample with itself shares the random initial state
        vphi[:, self_jj] = sh2
    for s in range(s_begin, s_end):
        u = s + offset
        j_end = min(j1, y_real[u])
        for l in range(n_layers):
            trained = 1.0 if l + 1 > fixed else 0.0
            depth = su2 if (l >= 1 and l > fixed) else 0.0
            weight = sv2 if (mean and l == n_layers - 1) else 0.0
            _layer_step(l, s, u, i, j0, j_end, relu, xv, xf, xs, xq, yv, yf, ys, vphi, vdot, theta, inner0,
                        zero, sw2, su2, sb2, inv_m, trained, depth, weight, acc, acc_gp, self_jj)


@njit(**JIT)
def _row(i, same, relu, mean, x_start, x_len, xv, xf, xs, xq, x_copy, y_start, y_len, y_real, yv, yf, ys,
         x_order, y_order, out, out_gp, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, j_lo, j_hi):
    """All pairs ``(i, j)`` with ``j_lo <= j < j_hi``, written (added) to ``out`` in the original order.

    With a non-empty ``out_gp`` (and ``fixed = 0``) the NNGP kernel of the same pairs is added to it: the
    Vphi terms of the output alone, which the Theta recursion does not change, so it is the kernel with
    ``fixed_layers = n_layers`` to the last bit (there every Theta term is an exact zero).
    """
    gp = out_gp.shape[0] > 0
    t_max = xv.shape[0]
    x_side = (xv, xf, xs, xq)
    y_side = (yv, yf, ys, y_real)
    vphi = np.zeros((n_layers, BLOCK))
    vdot = np.zeros((n_layers, BLOCK))
    theta = np.zeros((n_layers, BLOCK))
    acc = np.zeros(BLOCK)
    acc_gp = np.zeros(BLOCK)
    inner0 = np.zeros(BLOCK)
    zero = np.zeros(BLOCK)
    top = n_layers - 1
    for j0 in range(j_lo, j_hi, BLOCK):
        j1 = min(j0 + BLOCK, j_hi)
        copy = x_copy[i]
        self_jj = copy - j0 if j0 <= copy < j1 else -1
        if mean:
            acc[:] = 0.0
            acc_gp[:] = 0.0
            # offsets u - s at which some pair of the block has a real step: u >= y_start[j0], s >= x_start[i]
            for offset in range(y_start[j0] - (t_max - 1), t_max - x_start[i]):
                s_begin = max(x_start[i], y_start[j0] - offset, 0)
                s_end = min(t_max, t_max - offset)
                if s_begin >= s_end:
                    continue
                diagonal_jj = self_jj if offset == 0 else -1
                shared_start = same and diagonal_jj >= 0
                _chain(i, j0, j1, offset, s_begin, s_end, relu, diagonal_jj, shared_start, x_side, y_side,
                       vphi, vdot, theta, inner0, zero, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, True, acc,
                       acc_gp)
            for j in range(j0, j1):
                value = acc[j - j0] / (x_len[i] * y_len[j])
                _store(out, x_order[i], y_order[j], value, same and j != i)
                if gp:
                    _store(out_gp, x_order[i], y_order[j], acc_gp[j - j0] / (x_len[i] * y_len[j]), same and j != i)
        else:
            s_begin = max(x_start[i], y_start[j0])
            shared_start = same and self_jj >= 0
            _chain(i, j0, j1, 0, s_begin, t_max, relu, self_jj, shared_start, x_side, y_side,
                   vphi, vdot, theta, inner0, zero, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, False, acc,
                   acc_gp)
            for j in range(j0, j1):
                jj = j - j0
                value = sv2 * vphi[top, jj] + sv2 * theta[top, jj] * vdot[top, jj]
                _store(out, x_order[i], y_order[j], value, same and j != i)
                if gp:
                    _store(out_gp, x_order[i], y_order[j], sv2 * vphi[top, jj], same and j != i)


@njit(**JIT)
def _store(out, a, b, value, mirror):
    out[a, b] += value
    if mirror:
        out[b, a] += value


def _rntk_pairs(same, relu, mean, x_start, x_len, xv, xf, xs, xq, x_copy, y_start, y_len, y_real, yv, yf, ys,
                x_order, y_order, out, out_gp, sw2, su2, sb2, sh2, sv2, n_layers, fixed):
    """Add the RNTK of every pair to ``out`` (shape ``(n_x, n_y)``, original order).

    With ``same``, X and Y are the same samples and only pairs ``j >= i`` are computed. ``x_copy[i]`` is the
    sorted column of Y identical to sorted row ``i`` of X (``i`` itself with ``same``), or -1. Arguments are the
    fields of two ``prepare.Side`` objects; scalars are the squared scales of section 1 of docs/kernels.md.
    ``out_gp``: shape ``(n_x, n_y)`` to receive the NNGP kernel as well (with ``fixed = 0``), else ``(0, 0)``.
    ``rntk_pairs`` spreads the rows over numba's threads; ``rntk_pairs_serial`` runs on the calling thread
    only and never starts the thread pool (see ``jit.py``).
    """
    n_x = xv.shape[2]
    n_y = yv.shape[2]
    inv_m = 1.0 / xv.shape[1]
    if same:
        n_tasks = (n_x + 1) // 2
        for task in prange(n_tasks):
            first = task
            second = n_x - 1 - task
            _row(first, True, relu, mean, x_start, x_len, xv, xf, xs, xq, x_copy, y_start, y_len, y_real, yv, yf,
                 ys, x_order, y_order, out, out_gp, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, first, n_y)
            if second != first:
                _row(second, True, relu, mean, x_start, x_len, xv, xf, xs, xq, x_copy, y_start, y_len, y_real, yv, yf,
                     ys, x_order, y_order, out, out_gp, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, second, n_y)
    else:
        n_blocks = (n_y + BLOCK - 1) // BLOCK
        for task in prange(n_x * n_blocks):
            i = task // n_blocks
            j_lo = (task % n_blocks) * BLOCK
            _row(i, False, relu, mean, x_start, x_len, xv, xf, xs, xq, x_copy, y_start, y_len, y_real, yv, yf,
                 ys, x_order, y_order, out, out_gp, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, j_lo,
                 min(j_lo + BLOCK, n_y))


rntk_pairs, rntk_pairs_serial = parallel_and_serial(_rntk_pairs, "rntk_pairs", **JIT)
