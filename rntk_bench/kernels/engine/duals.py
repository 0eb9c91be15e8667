"""Branch-free dual activations for numba loops that the compiler can vectorise across pairs of samples.

``np.arccos`` and ``np.arcsin`` are libm calls that stop LLVM from vectorising a loop. Here ``arcsin`` is the
fdlibm (Sun, 1993) reduction and rational approximation, written with selects instead of branches:

* ``|x| < 1/2``: ``asin(x) = x + x z R(z)`` with ``z = x^2``;
* ``|x| >= 1/2``: ``asin(x) = pi/2 - 2 (s + s z R(z))`` with ``z = (1 - |x|) / 2``, ``s = sqrt(z)``.

Both branches evaluate the same ``R`` on ``z`` in ``[0, 1/4]`` (a 6/4 rational, error below 2^-58), so a
vector lane computes one square root and one division whichever branch it takes. The relative error of the
results is a few units in the last place (tests check 1e-15 against libm).

Every function takes the per-sample reciprocal square roots of the variances (computed once per sample and
time step) so that the correlation costs two multiplications instead of a square root and a division.
"""

from __future__ import annotations

import math

from numba import njit

from rntk_bench.kernels.engine.jit import JIT

# fdlibm e_asin.c: asin(x) = x + x * z * P(z) / Q(z), z = x^2, for |x| < 0.5.
_P0 = 1.66666666666666657415e-01
_P1 = -3.25565818622400915405e-01
_P2 = 2.01212532134862925881e-01
_P3 = -4.00555345006794114027e-02
_P4 = 7.91534994289814532176e-04
_P5 = 3.47933107596021167570e-05
_Q1 = -2.40339491173441421878e00
_Q2 = 2.02094576023350569471e00
_Q3 = -6.88283971605453293030e-01
_Q4 = 7.70381505559019352791e-02

_HALF_PI = 0.5 * math.pi
_INV_2PI = 0.5 / math.pi
_TWO_OVER_PI = 2.0 / math.pi
_FOUR_OVER_PI = 4.0 / math.pi


@njit(inline="always", **JIT)
def _ratio(z):
    p = z * (_P0 + z * (_P1 + z * (_P2 + z * (_P3 + z * (_P4 + z * _P5)))))
    q = 1.0 + z * (_Q1 + z * (_Q2 + z * (_Q3 + z * _Q4)))
    return p / q


@njit(inline="always", **JIT)
def acos_abs(a):
    """``arccos(a)`` for ``0 <= a <= 1``, branch-free."""
    big = a >= 0.5
    z = (1.0 - a) * 0.5 if big else a * a
    s = math.sqrt(z) if big else a
    asin_s = s + s * _ratio(z)
    return 2.0 * asin_s if big else _HALF_PI - asin_s


@njit(inline="always", **JIT)
def asin(x):
    """``arcsin(x)`` for ``-1 <= x <= 1``, branch-free."""
    a = abs(x)
    big = a >= 0.5
    z = (1.0 - a) * 0.5 if big else a * a
    s = math.sqrt(z) if big else a
    asin_s = s + s * _ratio(z)
    result = _HALF_PI - 2.0 * asin_s if big else asin_s
    return result if x >= 0.0 else -result


@njit(inline="always", **JIT)
def relu_dual(k12, rx, ry, sx, sy, itself):
    """ReLU dual for covariance ``k12`` of variances ``sx^2`` and ``sy^2``; ``rx = 1/sx``, ``ry = 1/sy``.

    A zero variance is passed as ``r = 0`` (then c = 0, Vphi = 0 and Vphi' = 1/4, as in ``dual.relu_dual``).
    ``itself`` marks the chain of a sample with itself, whose correlation is exactly 1: the derivative of
    arccos is unbounded there, and the few units of rounding that ``k12 rx ry`` carries would move Vphi' by
    ~1e-8.

    Returns
    -------
    vphi, vphi_dot : float
    """
    c = k12 * (rx * ry)
    c = c if c < 1.0 else 1.0  # noqa: FURB136 (a select LLVM vectorises)
    c = 1.0 if itself else c
    c = c if c > -1.0 else -1.0  # noqa: FURB136 (a select LLVM vectorises)
    a = abs(c)
    acos_a = acos_abs(a)
    angle = math.pi - acos_a if c >= 0.0 else acos_a           # pi - arccos(c)
    sine = math.sqrt((1.0 - a) * (1.0 + a))                      # sqrt(1 - c^2) without cancellation
    vphi = (sx * sy) * (c * angle + sine) * _INV_2PI
    return vphi, angle * _INV_2PI


@njit(inline="always", **JIT)
def erf_dual(k12, ax, ay, rax, ray):
    """erf dual (Williams, 1997) for covariance ``k12``; ``a = 1 + 2 q`` per sample and ``ra = 1/sqrt(a)``.

    Returns
    -------
    vphi, vphi_dot : float
    """
    w = 2.0 * k12 * (rax * ray)
    w = w if w < 1.0 else 1.0  # noqa: FURB136 (a select LLVM vectorises)
    w = w if w > -1.0 else -1.0  # noqa: FURB136 (a select LLVM vectorises)
    det = ax * ay - 4.0 * k12 * k12
    # det >= 1 + 2 q_x + 2 q_y by Cauchy-Schwarz: the guard only catches rounding
    det = det if det > 1.0 else 1.0  # noqa: FURB136 (a select LLVM vectorises)
    return _TWO_OVER_PI * asin(w), _FOUR_OVER_PI / math.sqrt(det)
