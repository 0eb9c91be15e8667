"""Derive the rational ``arccos(a) / sqrt(1 - a^2) ~ P(a) / Q(a)`` of ``engine.duals.acos_over_sine``.

``python -m benchmarks.acos_rational [--degree 6]`` fits ``P`` and ``Q`` (degree ``--degree`` each, ``Q(0) = 1``) on
``0 <= a <= 1`` in 60-digit arithmetic and prints their coefficients and the largest relative error, in exact
arithmetic and as the engine evaluates it in doubles (Horner's scheme, one division).

The function is ``2F1(1, 1; 3/2; (1 - a) / 2)``: analytic on the interval, with a branch point at ``a = -1``
only, so rationals converge fast (6/6: 6e-18; 5/5: 3e-15; 4/4: 2e-12). The fit minimises the relative error
by linearised least squares on 400 Chebyshev points (``P - f Q``, divided by ``f`` times the previous
iterate's ``Q``), with Lawson's reweighting towards the points of largest error, keeping the best of 30
iterations: near-minimax without a Remez exchange. Its coefficients come out positive (the poles and zeros of
such rationals lie on the cut ``a <= -1``), so Horner's scheme sums terms of one sign and rounds well.
"""

from __future__ import annotations

import argparse

import mpmath as mp
import numpy as np


def target(a):
    """``arccos(a) / sqrt(1 - a^2)`` in mpmath, 1 at ``a = 1``."""
    return mp.mpf(1) if a >= 1 else mp.acos(a) / mp.sqrt(1 - a * a)


def fit(degree: int, points: int = 400, iterations: int = 30) -> tuple[list, list, float]:
    """Coefficients of ``P`` and ``Q`` (lowest first, ``Q[0] = 1``) and their largest relative error on the
    fitting points, in exact arithmetic."""
    mp.mp.dps = 60
    nodes = [(1 - mp.cos(mp.pi * (k + mp.mpf(1) / 2) / points)) / 2 for k in range(points)]
    values = [target(a) for a in nodes]
    weights = [mp.mpf(1)] * points
    previous_q = [mp.mpf(1)] * points
    best = None
    for _ in range(iterations):
        rows, rhs = [], []
        for a, f, weight, q_prev in zip(nodes, values, weights, previous_q):
            scale = mp.sqrt(weight) / (f * q_prev)
            rows.append([scale * a**k for k in range(degree + 1)] + [-scale * f * a**k for k in range(1, degree + 1)])
            rhs.append(scale * f)
        solution = mp.qr_solve(mp.matrix(rows), mp.matrix(rhs))[0]
        p = [solution[k] for k in range(degree + 1)]
        q = [mp.mpf(1)] + [solution[degree + k] for k in range(1, degree + 1)]
        previous_q = [mp.polyval(q[::-1], a) for a in nodes]
        errors = [(mp.polyval(p[::-1], a) / q_a - f) / f for a, f, q_a in zip(nodes, values, previous_q)]
        worst = max(abs(e) for e in errors)
        if best is None or worst < best[2]:
            best = (p, q, worst)
        weights = [w * abs(e) for w, e in zip(weights, errors)]
        total = sum(weights)
        weights = [w / total for w in weights]
    return best


def double_error(p: list[float], q: list[float], a: np.ndarray) -> float:
    """Largest relative error of ``P(a) / Q(a)`` evaluated in doubles by Horner's scheme, against mpmath."""
    mp.mp.dps = 40
    num = np.zeros_like(a)
    den = np.zeros_like(a)
    for cp, cq in zip(p[::-1], q[::-1]):
        num = num * a + cp
        den = den * a + cq
    ratio = num / den
    return max(float(abs((mp.mpf(r) - target(mp.mpf(x))) / target(mp.mpf(x)))) for r, x in zip(ratio, a))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--degree", type=int, default=6, help="degree of P and of Q")
    args = parser.parse_args(argv)
    p, q, exact = fit(args.degree)
    p_float = [float(c) for c in p]
    q_float = [float(c) for c in q]
    grid = np.concatenate([np.linspace(0.0, 1.0, 2001), 1.0 - np.logspace(-16, -1, 200)])
    print("P =", tuple(mp.nstr(c, 20) for c in p))
    print("Q =", tuple(mp.nstr(c, 20) for c in q))
    print(f"max relative error: {float(exact):.3g} exact, {double_error(p_float, q_float, grid):.3g} in doubles")


if __name__ == "__main__":
    main()
