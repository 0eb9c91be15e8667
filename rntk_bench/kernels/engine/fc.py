"""Fused numba loop for the fully connected NTK: every layer of a pair in registers, one pass over the output.

The reference (``ntk.ntk_reference``) makes about ten passes over ``(n_x, n_y)`` arrays per layer with libm
``arccos``; here the BLAS Gram matrix ``X Y^T`` is overwritten row by row, layer after layer, with the
branch-free duals of ``duals.py``. The correlation is formed exactly as the reference forms it
(``k12 / sqrt(k11 k22)``), so the two agree to rounding even next to c = 1.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rntk_bench.kernels.engine.duals import acos_abs, asin
from rntk_bench.kernels.engine.jit import JIT, parallel_and_serial

# No contraction to fused multiply-adds here: the variances come from the NumPy reference, and the diagonal's
# correlation is exactly 1 only if each pair repeats its operations to the last bit.
EXACT = {key: value for key, value in JIT.items() if key != "fastmath"}

_INV_2PI = 0.5 / math.pi


@njit(inline="always", **EXACT)
def _relu(k11, k22, k12):
    norm = math.sqrt(k11 * k22)
    c = k12 / (norm if norm > 0.0 else 1.0)
    c = c if norm > 0.0 else 0.0
    c = c if c < 1.0 else 1.0  # noqa: FURB136 (a select LLVM vectorises)
    c = c if c > -1.0 else -1.0  # noqa: FURB136 (a select LLVM vectorises)
    a = abs(c)
    acos_a = acos_abs(a)
    angle = math.pi - acos_a if c >= 0.0 else acos_a
    vphi = norm * (c * angle + math.sqrt((1.0 - c) * (1.0 + c))) / (2.0 * math.pi)
    return vphi, angle * _INV_2PI


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
def _row(gram, theta, var_x, var_y, i, lo, sw2, sb2, n_layers, fixed, relu):
    """Row ``i`` of the NTK for columns ``j >= lo``, in place; ``theta`` is scratch of length >= n_y."""
    n = gram.shape[1] - lo
    row = gram[i, lo:]
    th = theta[:n]
    start = 1.0 if fixed == 0 else 0.0
    for jj in range(n):
        th[jj] = row[jj] * start
    for layer in range(1, n_layers + 1):
        vx = var_x[layer - 1, i]
        vy = var_y[layer - 1, lo:]
        add = 1.0 if layer >= fixed else 0.0
        for jj in range(n):
            if relu:
                v, vd = _relu(vx, vy[jj], row[jj])
            else:
                v, vd = _erf(vx, vy[jj], row[jj])
            sigma = sw2 * v + sb2
            row[jj] = sigma
            th[jj] = th[jj] * (sw2 * vd) + add * sigma
    for jj in range(n):
        row[jj] = th[jj]


def fc_arguments(gram, var_x, var_y, sigma_w, sigma_b, n_layers, fixed_layers, activation, same) -> tuple:
    """The arguments of ``fc_ntk_inplace`` (and its serial twin), every scalar in the type it is compiled for.

    numba compiles one specialisation per combination of argument types, so a scale given as a Python int
    or a numpy scalar would compile another one (tens of seconds) instead of using the one that
    ``engine.warm_up`` prepared. The conversions keep every value: the compiled code turns ints into floats
    before it multiplies them with floats anyway.

    Parameters
    ----------
    gram : ndarray of shape (n_x, n_y)
        ``X Y^T``, overwritten with the NTK.
    var_x, var_y : ndarray of shape (max(n_layers, 1), n_x) and (max(n_layers, 1), n_y)
        Per-sample variances entering each hidden layer.
    sigma_w, sigma_b : float
    n_layers, fixed_layers : int
    activation : {"relu", "erf"}
    same : bool
        ``Y`` is ``X``: only the upper triangle is computed, then mirrored.

    Returns
    -------
    tuple
        ``(gram, var_x, var_y, sigma_w^2, sigma_b^2, n_layers, fixed_layers, relu, same)``.
    """
    return (gram, var_x, var_y, float(sigma_w) ** 2, float(sigma_b) ** 2, int(n_layers), int(fixed_layers),
            activation == "relu", bool(same))


_MIRROR_TILE = 64  # rows and columns of the cache-sized tiles in which the upper triangle is mirrored


@njit(**EXACT)
def _mirror_tile_row(a, bi):
    """Copy the upper triangle of the square matrix ``a`` onto its lower triangle, in the rows of tile ``bi``."""
    n = a.shape[0]
    i0 = bi * _MIRROR_TILE
    for j0 in range(0, i0 + 1, _MIRROR_TILE):
        for i in range(i0, min(i0 + _MIRROR_TILE, n)):
            for j in range(j0, min(j0 + _MIRROR_TILE, i)):
                a[i, j] = a[j, i]


def _fc_ntk_inplace(gram, var_x, var_y, sw2, sb2, n_layers, fixed, relu, same):
    """Turn ``gram`` (``X Y^T``, shape (n_x, n_y)) into the NTK in place.

    ``var_x[l]``, ``var_y[l]`` are the per-sample variances entering hidden layer ``l + 1``. With ``same``
    only ``j >= i`` is computed and then mirrored; rows are paired ``(k, n-1-k)`` to balance the threads.
    ``fc_ntk_inplace`` spreads the rows over numba's threads; ``fc_ntk_inplace_serial`` runs on the calling
    thread only and never starts the thread pool (see ``jit.py``).
    """
    n_x, n_y = gram.shape
    if same:
        for task in prange((n_x + 1) // 2):
            theta = np.empty(n_y)
            _row(gram, theta, var_x, var_y, task, task, sw2, sb2, n_layers, fixed, relu)
            other = n_x - 1 - task
            if other != task:
                _row(gram, theta, var_x, var_y, other, other, sw2, sb2, n_layers, fixed, relu)
        for bi in prange((n_x + _MIRROR_TILE - 1) // _MIRROR_TILE):
            _mirror_tile_row(gram, bi)
    else:
        for i in prange(n_x):
            theta = np.empty(n_y)
            _row(gram, theta, var_x, var_y, i, 0, sw2, sb2, n_layers, fixed, relu)


fc_ntk_inplace, fc_ntk_inplace_serial = parallel_and_serial(_fc_ntk_inplace, "fc_ntk_inplace", **EXACT)
