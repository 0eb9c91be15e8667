"""The dual activations of ``engine/duals.py`` in JAX, operation for operation, for arrays of pairs.

The numba engine evaluates ``arcsin`` with fdlibm's reduction and rational approximation written with selects,
and the ReLU dual's angle as its sine times a rational in ``|c|``; the same polynomials are used here
(``jnp.where`` for the selects), so that both engines round alike and agree to a few units in the last place
rather than to the accuracy of two different ``arccos`` implementations. The
ReLU dual takes its correlation as ``w = 1 - c`` (formed without cancellation by the callers) and returns
the ``w`` of its own output; see ``engine/duals.py`` for the derivation of every line.

Every function takes and returns arrays of any broadcastable shapes (float64 under ``jax.enable_x64``).
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from rntk_bench.kernels.engine import duals as numba_duals

# the coefficients of fdlibm e_asin.c, as the numba engine holds them
_P = tuple(getattr(numba_duals, f"_P{k}") for k in range(6))
_Q = tuple(getattr(numba_duals, f"_Q{k}") for k in range(1, 5))
_AP = numba_duals.ACOS_P
_AQ = numba_duals.ACOS_Q

_HALF_PI = 0.5 * math.pi
_INV_2PI = 0.5 / math.pi
_INV_PI = 1.0 / math.pi
_TWO_OVER_PI = 2.0 / math.pi
_FOUR_OVER_PI = 4.0 / math.pi


def _ratio(z):
    """``z P(z) / Q(z)`` of fdlibm's arcsin, for ``0 <= z <= 1/4``."""
    p = z * (_P[0] + z * (_P[1] + z * (_P[2] + z * (_P[3] + z * (_P[4] + z * _P[5])))))
    q = 1.0 + z * (_Q[0] + z * (_Q[1] + z * (_Q[2] + z * _Q[3])))
    return p / q


def _acos_rational(a):
    """``(arccos(a) / sqrt(1 - a^2) - 1) / (1 - a)`` for ``0 <= a <= 1`` (``engine.duals.acos_rational``)."""
    p = _AP[0] + a * (_AP[1] + a * (_AP[2] + a * (_AP[3] + a * (_AP[4] + a * _AP[5]))))
    q = 1.0 + a * (_AQ[1] + a * (_AQ[2] + a * (_AQ[3] + a * (_AQ[4] + a * (_AQ[5] + a * _AQ[6])))))
    return p / q


def asin(x):
    """``arcsin(x)`` for ``-1 <= x <= 1`` (any shape), branch-free like ``engine.duals.asin``."""
    a = jnp.abs(x)
    big = a >= 0.5
    z = jnp.where(big, (1.0 - a) * 0.5, a * a)
    s = jnp.where(big, jnp.sqrt(z), a)
    asin_s = s + s * _ratio(z)
    result = jnp.where(big, _HALF_PI - 2.0 * asin_s, asin_s)
    return jnp.where(x >= 0.0, result, -result)


def relu_dual(w, norm):
    """ReLU dual for correlation ``c = 1 - w`` of variances with ``sqrt(k11 k22) / (2 pi) = norm`` (any shapes).

    Returns
    -------
    vphi, vphi_dot, w_phi : arrays
        The dual activation, its derivative's, and ``1 - c`` of ``vphi`` as a covariance of ``relu(u)`` and
        ``relu(v)`` (``engine.duals.relu_dual`` explains each step).
    """
    w = jnp.minimum(w, 2.0)
    c = 1.0 - w
    one_minus_a = jnp.minimum(w, 2.0 - w)                       # 1 - |c|, exactly
    sine = jnp.sqrt(one_minus_a * (2.0 - one_minus_a))           # sqrt(1 - c^2), without cancellation
    acos_a = sine + (sine * one_minus_a) * _acos_rational(1.0 - one_minus_a)   # arccos |c|
    positive = c >= 0.0
    theta = jnp.where(positive, acos_a, math.pi - acos_a)        # arccos c
    angle = jnp.where(positive, math.pi - acos_a, acos_a)        # pi - arccos c
    vphi = norm * (c * angle + sine)
    w_phi = w - (sine - theta * c) * _INV_PI
    return vphi, angle * _INV_2PI, w_phi


def erf_dual(k12, ax, ay, rax, ray):
    """erf dual (Williams, 1997) for covariance ``k12``, with ``a = 1 + 2 q`` and ``ra = 1 / sqrt(a)`` of
    each sample (the per-sample factors of ``engine.prepare.dual_factors``).

    Returns
    -------
    vphi, vphi_dot : arrays
    """
    w = jnp.clip(2.0 * k12 * (rax * ray), -1.0, 1.0)
    # det >= 1 + 2 q_x + 2 q_y by Cauchy-Schwarz: the guard only catches rounding
    det = jnp.maximum(ax * ay - 4.0 * k12 * k12, 1.0)
    return _TWO_OVER_PI * asin(w), _FOUR_OVER_PI / jnp.sqrt(det)


def erf_dual_covariance(k11, k22, k12):
    """erf dual from the three entries of the covariance matrix (the fully connected NTK's layers), with
    ``k12`` first limited to ``+-sqrt(k11 k22)`` as ``engine.fc._erf`` does.

    Returns
    -------
    vphi, vphi_dot : arrays
    """
    a = 1.0 + 2.0 * k11
    b = 1.0 + 2.0 * k22
    bound = jnp.sqrt(k11 * k22)
    k12 = jnp.clip(k12, -bound, bound)
    w = jnp.clip(2.0 * k12 / jnp.sqrt(a * b), -1.0, 1.0)
    return _TWO_OVER_PI * asin(w), _FOUR_OVER_PI / jnp.sqrt(a * b - 4.0 * k12 * k12)
