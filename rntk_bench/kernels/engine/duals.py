"""Branch-free dual activations for numba loops that the compiler can vectorise across pairs of samples.

``np.arccos`` and ``np.arcsin`` are libm calls that stop LLVM from vectorising a loop. Here ``arcsin`` is the
fdlibm (Sun, 1993) reduction and rational approximation, written with selects instead of branches:

* ``|x| < 1/2``: ``asin(x) = x + x z R(z)`` with ``z = x^2``;
* ``|x| >= 1/2``: ``asin(x) = pi/2 - 2 (s + s z R(z))`` with ``z = (1 - |x|) / 2``, ``s = sqrt(z)``.

Both branches evaluate the same ``R`` on ``z`` in ``[0, 1/4]`` (a 6/4 rational, error below 2^-58), so a
vector lane computes one square root and one division whichever branch it takes. The relative error of the
results is a few units in the last place (tests check 1e-15 against libm).

The ReLU dual needs ``arccos c`` and ``sin(arccos c) = sqrt(1 - c^2)`` together, and takes the angle as the
sine times ``arccos(a) / sqrt(1 - a^2)`` (``a = |c|``): that ratio is analytic on ``0 <= a <= 1`` (its only
singularity is at ``a = -1``) and 1 at ``a = 1``, so ``1 + (1 - a) R(a)`` with one rational ``R`` (degrees 5
and 6, positive coefficients) covers the whole interval with no reduction and no select (``acos_rational``;
``benchmarks/acos_rational.py`` derives it).
A pair-step then costs the divider one square root and one division, where ``arccos`` through ``asin`` and
the sine cost it two square roots and one division.

Both duals return the derivative's dual activation without its constant factor (``1 / (2 pi)`` for ReLU,
``4 / pi`` for erf; ``RELU_DOT``, ``ERF_DOT``), which callers fold into scales they multiply by anyway; the
ReLU dual takes its own factor ``1 / (2 pi)`` in the norm it is given.

The erf dual takes per-sample factors of the variances (computed once per sample and time step), so that
its correlation costs multiplications only. The ReLU dual takes the correlation as ``w = 1 - c``, which the
loops form without cancellation (``tiles._pairs``, ``fc._row``), and returns the ``w`` of its own output.
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
_INV_PI = 1.0 / math.pi
_TWO_OVER_PI = 2.0 / math.pi
_FOUR_OVER_PI = 4.0 / math.pi
RELU_DOT = _INV_2PI       # Vphi' = RELU_DOT * angle (relu_dual's second output)
ERF_DOT = _FOUR_OVER_PI   # Vphi' = ERF_DOT * root (erf_dual's second output)


@njit(inline="always", **JIT)
def _ratio(z):
    p = z * (_P0 + z * (_P1 + z * (_P2 + z * (_P3 + z * (_P4 + z * _P5)))))
    q = 1.0 + z * (_Q1 + z * (_Q2 + z * (_Q3 + z * _Q4)))
    return p / q


# arccos(a) = sqrt(1 - a^2) (1 + (1 - a) R(a)) on 0 <= a <= 1, R = P / Q of degrees 5 and 6
# (benchmarks/acos_rational.py: a Lawson-weighted least-squares fit in 60-digit arithmetic). R's relative error
# is 6.1e-17 with the fit's coefficients, 1.1e-16 with them rounded to doubles and below 5e-16 as evaluated in
# doubles; it enters arccos scaled by at most 0.36, and arccos formed as in ``relu_dual`` is within 2.7e-16.
# The coefficients are all positive: no term cancels another on [0, 1].
ACOS_P = (0.57079632679489658438, 1.3069625263130910964, 1.0588492301573199421, 0.36318345249203332361,
          0.049082364671660557752, 0.0018283505173416177791)
ACOS_Q = (1.0, 3.0416562230997569391, 3.5181459117362853166, 1.9275449713890700538, 0.50634652960145389124,
          0.056557413952855509149, 0.0018557030596082691801)
_AP0, _AP1, _AP2, _AP3, _AP4, _AP5 = ACOS_P
_AQ1, _AQ2, _AQ3, _AQ4, _AQ5, _AQ6 = ACOS_Q[1:]


@njit(inline="always", **JIT)
def acos_rational(a):
    """``R(a) = (arccos(a) / sqrt(1 - a^2) - 1) / (1 - a)`` for ``0 <= a <= 1`` (1/3 at ``a = 1``), one division."""
    p = _AP0 + a * (_AP1 + a * (_AP2 + a * (_AP3 + a * (_AP4 + a * _AP5))))
    q = 1.0 + a * (_AQ1 + a * (_AQ2 + a * (_AQ3 + a * (_AQ4 + a * (_AQ5 + a * _AQ6)))))
    return p / q


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
def relu_dual(w, norm):
    """ReLU dual for correlation ``c = 1 - w`` of variances with ``sqrt(k11 k22) / (2 pi) = norm``.

    The correlation arrives as ``w = 1 - c`` (see ``tiles._pairs``), computed without cancellation: next to
    c = 1 the arc-cosine's slope is unbounded, and a ``1 - c`` formed from a rounded ``c`` would carry an
    absolute error of ~1e-16, which moves ``arccos c`` by ~1e-16 / sin(arccos c) (1e-8 at c = 1 - 1e-16).
    From ``w``, the angle ``theta = arccos c`` is accurate to a few units of 1e-16 for every c >= 0 (the
    sine ``sqrt(w (2 - w))`` times ``1 + w R(1 - w)``, ``acos_rational``). A zero variance (``norm = 0``)
    gives Vphi = 0, and Vphi' there multiplies a Theta that is zero too (the covariances of a sample with
    zero variance are zero), so ``w`` needs no special value (``dual.relu_dual_w`` takes c = 0).

    The derivative's dual activation is returned as the angle, without its factor ``1 / (2 pi)``: the RNTK
    loops only ever use it times a scale of their own, which takes the factor instead (one multiplication
    less per pair and step). The dual activation's own factor ``1 / (2 pi)`` comes in ``norm``: the RNTK
    loops form it from per-sample planes that hold ``sqrt(q / (2 pi))`` (``prepare.RELU_NORM``), one
    multiplication less again; the FC NTK multiplies the result by ``RELU_DOT`` instead.

    Returns
    -------
    vphi : float
        The dual activation, ``norm (sin(theta) + (pi - theta) c)``.
    angle : float
        ``pi - arccos c``, which is ``2 pi`` times the derivative's dual activation ``Vphi'``.
    w_phi : float
        ``1 - Vphi / (sqrt(k11 k22) / 2)``, the ``w`` of the covariance ``Vphi`` (whose variances are ``k11 / 2``
        and ``k22 / 2``): ``(pi - J) / pi`` with ``J = sin(theta) + (pi - theta) c``, again without cancellation.
    """
    w = w if w < 2.0 else 2.0  # noqa: FURB136 (a select LLVM vectorises)
    c = 1.0 - w
    one_minus_a = min(w, 2.0 - w)                                 # 1 - |c|, exactly
    sine = math.sqrt(one_minus_a * (2.0 - one_minus_a))           # sqrt(1 - c^2) = sqrt((1 - |c|)(1 + |c|))
    # arccos |c| = sine (1 + (1 - |c|) R(|c|)): as accurate next to c = +-1 as the sine (R's argument may
    # carry the rounding of 1 - w there, but R's slope is bounded)
    acos_a = sine + (sine * one_minus_a) * acos_rational(1.0 - one_minus_a)
    theta = acos_a if c >= 0.0 else math.pi - acos_a              # arccos c
    angle = math.pi - acos_a if c >= 0.0 else acos_a              # pi - arccos c
    vphi = norm * (c * angle + sine)
    w_phi = w - (sine - theta * c) * _INV_PI
    return vphi, angle, w_phi


@njit(inline="always", **JIT)
def erf_dual(k12, ax, ay, rax, ray):
    """erf dual (Williams, 1997) for covariance ``k12``; ``a = 1 + 2 q`` per sample and ``ra = 1/sqrt(a)``.

    Returns
    -------
    vphi : float
        The dual activation.
    root : float
        ``1 / sqrt(det)``, which is ``pi / 4`` times the derivative's dual activation ``Vphi'`` (the factor is
        left to the caller, as in ``relu_dual``).
    """
    w = 2.0 * k12 * (rax * ray)
    w = w if w < 1.0 else 1.0  # noqa: FURB136 (a select LLVM vectorises)
    w = w if w > -1.0 else -1.0  # noqa: FURB136 (a select LLVM vectorises)
    det = ax * ay - 4.0 * k12 * k12
    # det >= 1 + 2 q_x + 2 q_y by Cauchy-Schwarz: the guard only catches rounding
    det = det if det > 1.0 else 1.0  # noqa: FURB136 (a select LLVM vectorises)
    return _TWO_OVER_PI * asin(w), 1.0 / math.sqrt(det)
