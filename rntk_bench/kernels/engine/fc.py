"""Fused numba loop for the fully connected NTK: every layer of a pair in registers, one pass over the output.

The reference (``ntk.ntk_reference``) makes about ten passes over ``(n_x, n_y)`` arrays per layer with libm
``arccos``; here the BLAS Gram matrix ``X Y^T`` is overwritten row by row, layer after layer, with the
branch-free duals of ``duals.py``.

ReLU carries each pair's correlation as ``w = 1 - c``, formed without cancellation, as the reference does
(``dual.relu_correlation``): next to c = 1 the arc-cosine's slope is unbounded, and a ``1 - c`` taken from the
rounded ``c = k12 / sqrt(k11 k22)`` would move the kernel by up to ~1e-8 (near-duplicate rows). At the input
``w`` is half the squared distance of the unit rows ``x / |x|`` and ``y / |y|``, computed where ``w < NEAR``
(elsewhere the Gram matrix gives it accurately enough); at each hidden layer it follows from the
previous one through ``duals.relu_dual``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rntk_bench.kernels.dual import DUALS
from rntk_bench.kernels.engine.duals import RELU_DOT, asin, relu_dual
from rntk_bench.kernels.engine.jit import JIT, parallel_and_serial, unliteral
from rntk_bench.kernels.engine.mirror import MIRROR_TILE, mirror_tile_row

# No contraction to fused multiply-adds here: the variances come from the NumPy reference, and the erf
# diagonal's correlation is exactly 1 only if each pair repeats its operations to the last bit.
EXACT = {key: value for key, value in JIT.items() if key != "fastmath"}

NEAR = 1.0 / 64.0  # below this w = 1 - c, the inputs' w is recomputed from the unit rows

VARIANCE, ROOT, INVERSE, SHARE, BIAS = range(5)  # the planes of a side's per-sample array (``fc_side``)


def fc_side(X: np.ndarray, var: np.ndarray, n_layers: int, sigma_w: float, sigma_b: float,
            activation: str) -> tuple[np.ndarray, np.ndarray]:
    """What the fused loop reads of one argument (X or Y).

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
    var : ndarray of shape (n,)
        ``<x, x>`` of every row.

    Returns
    -------
    layers : ndarray of shape (5, max(n_layers, 1), n)
        Plane ``VARIANCE``: the variances entering hidden layers 1..n_layers (the reference's formula). For
        ReLU also ``ROOT`` and ``INVERSE``, their square roots and the reciprocals of these (0 for a zero
        variance), and ``SHARE`` and ``BIAS``: the norms of the two terms of
        layer ``l``'s covariance, ``sigma_w^2 Vphi`` and ``sigma_b^2``, over ``sqrt(variance)`` (0 where it
        is 0; layer 0 has none).
    unit : ndarray of shape (n, n_features), or (0, 0) for erf
        The rows divided by their norms (zero rows stay zero).
    """
    dual = DUALS[activation]
    layers = np.zeros((5, max(n_layers, 1), len(var)))
    layers[VARIANCE, 0] = var
    for layer in range(1, n_layers):
        vphi = dual(var, var, var)[0]
        var = sigma_w**2 * vphi + sigma_b**2
        layers[VARIANCE, layer] = var
        if activation == "relu":
            layers[SHARE, layer] = np.sqrt(sigma_w**2 * vphi)
            layers[BIAS, layer] = abs(sigma_b)
    if activation != "relu":
        return layers, np.zeros((0, 0))
    layers[ROOT] = np.sqrt(layers[VARIANCE])
    layers[INVERSE] = np.where(layers[ROOT] > 0, 1.0 / np.where(layers[ROOT] > 0, layers[ROOT], 1.0), 0.0)
    layers[SHARE] *= layers[INVERSE]
    layers[BIAS] *= layers[INVERSE]
    norms = layers[ROOT, 0]
    unit = X / np.where(norms > 0, norms, 1.0)[:, None]
    return layers, unit


@njit(inline="always", **EXACT)
def _erf(k11, k22, k12):
    a = 1.0 + 2.0 * k11
    b = 1.0 + 2.0 * k22
    bound = math.sqrt(k11 * k22)
    k12 = k12 if k12 < bound else bound  # noqa: FURB136 (a select LLVM vectorises)
    k12 = k12 if k12 > -bound else -bound  # noqa: FURB136 (a select LLVM vectorises)
    w = 2.0 * k12 / math.sqrt(a * b)
    w = w if w < 1.0 else 1.0  # noqa: FURB136 (a select LLVM vectorises)
    w = w if w > -1.0 else -1.0  # noqa: FURB136 (a select LLVM vectorises)
    return 2.0 / math.pi * asin(w), 4.0 / math.pi / math.sqrt(a * b - 4.0 * k12 * k12)


@njit(**EXACT)
def _input_correlations(row, w, i, lo, x_layers, y_layers, x_unit, y_unit):
    """``w = 1 - c`` of the inputs of row ``i``, columns ``j >= lo``: from the Gram row, then, where
    ``w < NEAR``, again as half the squared distance of the unit rows. The Gram row's rounding (a few units
    of 1e-16 in c) moves ``arccos c`` by that over ``sin(arccos c)``: at most 6 times as much where
    ``w >= NEAR``, without bound next to c = 1."""
    n = row.shape[0]
    if i < 0 or lo < 0:
        return
    rx = x_layers[INVERSE, 0, i]
    for jj in range(n):
        c = row[jj] * (rx * y_layers[INVERSE, 0, lo + jj])
        c = c if c < 1.0 else 1.0  # noqa: FURB136 (a select LLVM vectorises)
        c = c if c > -1.0 else -1.0  # noqa: FURB136 (a select LLVM vectorises)
        w[jj] = 1.0 - c
    d_features = x_unit.shape[1]
    for jj in range(n):
        if w[jj] < NEAR:
            # four partial sums, so that the additions of one pair need not wait for each other
            s0 = s1 = s2 = s3 = 0.0
            j = lo + jj
            k = 0
            while k + 4 <= d_features:
                d0 = x_unit[i, k] - y_unit[j, k]
                d1 = x_unit[i, k + 1] - y_unit[j, k + 1]
                d2 = x_unit[i, k + 2] - y_unit[j, k + 2]
                d3 = x_unit[i, k + 3] - y_unit[j, k + 3]
                s0 += d0 * d0
                s1 += d1 * d1
                s2 += d2 * d2
                s3 += d3 * d3
                k += 4
            while k < d_features:
                d0 = x_unit[i, k] - y_unit[j, k]
                s0 += d0 * d0
                k += 1
            w[jj] = 0.5 * ((s0 + s1) + (s2 + s3))


@njit(**EXACT)
def _row(gram, theta, w, x_layers, y_layers, x_unit, y_unit, i, lo, sw2, sb2, n_layers, fixed, relu):
    """Row ``i`` of the NTK for columns ``j >= lo``, in place; ``theta``, ``w`` are scratch of length >= n_y."""
    n = gram.shape[1] - lo
    row = gram[i, lo:]
    th = theta[:n]
    start = 1.0 if fixed == 0 else 0.0
    for jj in range(n):
        th[jj] = row[jj] * start
    if relu:
        wc = w[:n]
        _input_correlations(row, wc, i, lo, x_layers, y_layers, x_unit, y_unit)
        for layer in range(1, n_layers + 1):
            sx = x_layers[ROOT, layer - 1, i]
            sy = y_layers[ROOT, layer - 1, lo:]
            add = 1.0 if layer >= fixed else 0.0
            last = layer == n_layers
            # the shares of the next layer's two terms (none after the last)
            nxt = layer if not last else 0
            ax, bx = x_layers[SHARE, nxt, i], x_layers[BIAS, nxt, i]
            ay, by = y_layers[SHARE, nxt, lo:], y_layers[BIAS, nxt, lo:]
            for jj in range(n):
                v, angle, w_phi = relu_dual(wc[jj], sx * sy[jj])
                v = v * RELU_DOT    # the dual's 1 / (2 pi) after the product, the order of the NTK's numbers
                sigma = sw2 * v + sb2
                th[jj] = th[jj] * (sw2 * (angle * RELU_DOT)) + add * sigma
                da = ax - ay[jj]
                db = bx - by[jj]
                wc[jj] = 0.5 * (da * da + db * db) + (ax * ay[jj]) * w_phi
    else:
        for layer in range(1, n_layers + 1):
            vx = x_layers[VARIANCE, layer - 1, i]
            vy = y_layers[VARIANCE, layer - 1, lo:]
            add = 1.0 if layer >= fixed else 0.0
            for jj in range(n):
                v, vd = _erf(vx, vy[jj], row[jj])
                sigma = sw2 * v + sb2
                row[jj] = sigma
                th[jj] = th[jj] * (sw2 * vd) + add * sigma
    for jj in range(n):
        row[jj] = th[jj]


def fc_arguments(gram, x_side, y_side, sigma_w, sigma_b, n_layers, fixed_layers, activation, same) -> tuple:
    """The arguments of ``fc_ntk_inplace`` (and its serial twin), every scalar in the type it is compiled for.

    numba compiles one specialisation per combination of argument types, so a scale given as a Python int
    or a numpy scalar would compile another one (tens of seconds) instead of using the one that
    ``engine.warm_up`` prepared. The conversions keep every value: the compiled code turns ints into floats
    before it multiplies them with floats anyway.

    Parameters
    ----------
    gram : ndarray of shape (n_x, n_y)
        ``X Y^T``, overwritten with the NTK.
    x_side, y_side : tuple
        ``fc_side`` of X and of Y.
    sigma_w, sigma_b : float
    n_layers, fixed_layers : int
    activation : {"relu", "erf"}
    same : bool
        ``Y`` is ``X``: only the upper triangle is computed, then mirrored.

    Returns
    -------
    tuple
        ``(gram, x_layers, y_layers, x_unit, y_unit, sigma_w^2, sigma_b^2, n_layers, fixed_layers, relu,
        same)``.
    """
    return (gram, x_side[0], y_side[0], x_side[1], y_side[1], float(sigma_w) ** 2, float(sigma_b) ** 2,
            int(n_layers), int(fixed_layers), activation == "relu", bool(same))


def _fc_ntk_inplace(gram, x_layers, y_layers, x_unit, y_unit, sw2, sb2, n_layers, fixed, relu, same):
    """Turn ``gram`` (``X Y^T``, shape (n_x, n_y)) into the NTK in place.

    ``x_layers``, ``y_layers``, ``x_unit``, ``y_unit`` are the per-sample arrays of ``fc_side``. With ``same``
    only ``j >= i`` is computed and then mirrored; rows are paired ``(k, n-1-k)`` to balance the threads.
    ``fc_ntk_inplace`` spreads the rows over numba's threads; ``fc_ntk_inplace_serial`` runs on the calling
    thread only and never starts the thread pool (see ``jit.py``).
    """
    n_x, n_y = gram.shape
    if same:
        for task in prange((n_x + 1) // 2):
            theta = np.empty(n_y)
            w = np.empty(n_y)
            # row indices as int64 whether from ``prange`` (uint64) or ``range``: ``_row`` compiled once
            # (``jit.unliteral``)
            i = unliteral(task)
            _row(gram, theta, w, x_layers, y_layers, x_unit, y_unit, i, i, sw2, sb2, n_layers, fixed, relu)
            other = unliteral(n_x - 1 - task)
            if other != i:
                _row(gram, theta, w, x_layers, y_layers, x_unit, y_unit, other, other, sw2, sb2, n_layers, fixed,
                     relu)
        square = gram.reshape((n_x, 1, n_y))               # the shape mirror_tile_row takes (one output)
        rank = np.arange(n_x)                               # upper triangle computed, onto the lower
        for bi in prange((n_x + MIRROR_TILE - 1) // MIRROR_TILE):
            mirror_tile_row(square, rank, bi)
    else:
        for i in prange(n_x):
            theta = np.empty(n_y)
            w = np.empty(n_y)
            _row(gram, theta, w, x_layers, y_layers, x_unit, y_unit, unliteral(i), unliteral(0), sw2, sb2, n_layers,
                 fixed, relu)


fc_ntk_inplace, fc_ntk_inplace_serial = parallel_and_serial(_fc_ntk_inplace, "fc_ntk_inplace", **EXACT)
