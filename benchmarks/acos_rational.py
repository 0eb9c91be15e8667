"""Derive the rational of ``engine.duals.acos_rational``: ``arccos(a) = s (1 + (1 - a) R(a))``, ``s = sqrt(1 - a^2)``.

``python -m benchmarks.acos_rational [--degrees 5 6]`` fits ``R = P / Q`` (``Q(0) = 1``) on ``0 <= a <= 1`` in
60-digit arithmetic and prints the coefficients and the largest relative errors: of ``R`` in exact
arithmetic, of ``R`` as the engine evaluates it in doubles (Horner's scheme, one division), and of
``arccos(a)`` formed from it as the engine forms it (``s + (s (1 - a)) R``).

``arccos(a) / sqrt(1 - a^2)`` is ``2F1(1, 1; 3/2; (1 - a) / 2)``: analytic on the interval, with a branch point
at ``a = -1`` only, so rationals converge fast; it is 1 at ``a = 1``, and ``R`` is what it adds to 1 divided by
``1 - a`` (``1/3`` at ``a = 1``, ``pi/2 - 1`` at ``a = 0``). The sum ``1 + (1 - a) R`` has its rounding error
mostly in the leading 1 and the square root: ``R``'s own error enters scaled by at most
``(pi/2 - 1) / (pi/2) = 0.36``. The fit minimises the relative error by linearised least squares on 400
Chebyshev points (``P - f Q``, divided by ``f`` times the previous iterate's ``Q``), with Lawson's reweighting
towards the points of largest error, keeping the best of 30 iterations: near-minimax without a Remez
exchange. The coefficients come out positive (the poles and zeros of such rationals lie on the cut
``a <= -1``), so Horner's scheme adds terms of one sign and rounds well.
"""

from __future__ import annotations

import argparse

import mpmath as mp
import numpy as np


def target(a):
    """``R(a) = (arccos(a) / sqrt(1 - a^2) - 1) / (1 - a)`` in mpmath, ``1/3`` at ``a = 1``."""
    if a >= 1:
        return mp.mpf(1) / 3
    with mp.extradps(40):        # the difference from 1 cancels about as many digits as 1 - a has zeros
        return +((mp.acos(a) / mp.sqrt(1 - a * a) - 1) / (1 - a))


def fit(degree_p: int, degree_q: int, points: int = 400, iterations: int = 30) -> tuple[list, list, float]:
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
            rows.append([scale * a**k for k in range(degree_p + 1)]
                        + [-scale * f * a**k for k in range(1, degree_q + 1)])
            rhs.append(scale * f)
        solution = mp.qr_solve(mp.matrix(rows), mp.matrix(rhs))[0]
        p = [solution[k] for k in range(degree_p + 1)]
        q = [mp.mpf(1)] + [solution[degree_p + k] for k in range(1, degree_q + 1)]
        previous_q = [mp.polyval(q[::-1], a) for a in nodes]
        errors = [(mp.polyval(p[::-1], a) / q_a - f) / f for a, f, q_a in zip(nodes, values, previous_q)]
        worst = max(abs(e) for e in errors)
        if best is None or worst < best[2]:
            best = (p, q, worst)
        weights = [w * abs(e) for w, e in zip(weights, errors)]
        total = sum(weights)
        weights = [w / total for w in weights]
    return best


def double_errors(p: list[float], q: list[float], one_minus_a: np.ndarray) -> tuple[float, float]:
    """Largest relative errors of ``R`` and of ``arccos(a)`` evaluated in doubles as the engine does (from
    ``1 - a``, which the engine has exactly), against mpmath."""
    mp.mp.dps = 40
    worst_r = worst_acos = 0.0
    for y in one_minus_a:
        a = 1.0 - y
        num = den = 0.0
        for cp in p[::-1]:
            num = num * a + cp
        for cq in q[::-1]:
            den = den * a + cq
        ratio = num / den
        sine = np.sqrt(y * (2.0 - y))
        acos = sine + (sine * y) * ratio
        exact_a = 1 - mp.mpf(float(y))
        worst_r = max(worst_r, float(abs(ratio / target(exact_a) - 1)))
        if y > 0:
            worst_acos = max(worst_acos, float(abs(acos / mp.acos(exact_a) - 1)))
    return worst_r, worst_acos


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--degrees", type=int, nargs=2, default=(5, 6), metavar=("P", "Q"),
                        help="degrees of P and of Q")
    args = parser.parse_args(argv)
    p, q, exact = fit(*args.degrees)
    grid = np.concatenate([np.linspace(0.0, 1.0, 2001), np.logspace(-16, -1, 200)])
    in_doubles, acos = double_errors([float(c) for c in p], [float(c) for c in q], grid)
    print("P =", tuple(mp.nstr(c, 20) for c in p))
    print("Q =", tuple(mp.nstr(c, 20) for c in q))
    print(f"max relative error of R: {float(exact):.3g} exact, {in_doubles:.3g} in doubles; "
          f"of arccos formed from it: {acos:.3g}")


if __name__ == "__main__":
    main()
