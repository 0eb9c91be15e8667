"""The FC NTK and the RNTK against a 80-digit evaluation of their recursions, next to correlation 1.

The reference below evaluates the recursions of docs/kernels.md (sections 2-4) with mpmath, from the exact
values of the float64 inputs, so it gives the exact kernel of those inputs to far more digits than float64
holds. Both kernels are well conditioned there (the angle between two inputs is a Lipschitz function of
them), so float64 can reach ~1e-15; what it must avoid is an arc-cosine of a correlation rounded next to 1,
whose slope is unbounded: one unit in the last place of ``c = 1 - 1e-16`` moves ``arccos c`` by ~1e-8.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from rntk_bench.kernels import get_kernel
from rntk_bench.kernels.ntk import ntk_reference
from rntk_bench.kernels.rntk import rntk_reference

mp = mpmath.mp
DIGITS = 80


def _relu_dual(k11, k22, k12):
    norm = mpmath.sqrt(k11 * k22)
    if norm == 0:
        return mpmath.mpf(0), mpmath.mpf(1) / 4
    c = max(min(k12 / norm, mpmath.mpf(1)), mpmath.mpf(-1))
    angle = mpmath.acos(c)
    vphi = norm * (mpmath.sin(angle) + (mpmath.pi - angle) * c) / (2 * mpmath.pi)
    return vphi, (mpmath.pi - angle) / (2 * mpmath.pi)


def _erf_dual(k11, k22, k12):
    a, b = 1 + 2 * k11, 1 + 2 * k22
    vphi = 2 / mpmath.pi * mpmath.asin(2 * k12 / mpmath.sqrt(a * b))
    return vphi, 4 / mpmath.pi / mpmath.sqrt(a * b - 4 * k12**2)


EXACT_DUALS = {"relu": _relu_dual, "erf": _erf_dual}


def _mp(values) -> list:
    return [mpmath.mpf(float(v)) for v in np.ravel(values)]


def _dot(u, v):
    return mpmath.fsum(a * b for a, b in zip(u, v))


def exact_ntk(x, y, n_layers=1, fixed_layers=0, sigma_w=1.0, sigma_b=0.0, activation="relu"):
    """Section 4 of docs/kernels.md for one pair of vectors, at ``DIGITS`` digits."""
    with mp.workdps(DIGITS):
        dual = EXACT_DUALS[activation]
        x, y = _mp(x), _mp(y)
        sw2, sb2 = mpmath.mpf(float(sigma_w)) ** 2, mpmath.mpf(float(sigma_b)) ** 2
        kx, ky, sigma = _dot(x, x), _dot(y, y), _dot(x, y)
        theta = sigma if fixed_layers == 0 else mpmath.mpf(0)
        for layer in range(1, n_layers + 1):
            vphi, vphi_dot = dual(kx, ky, sigma)
            sigma = sw2 * vphi + sb2
            theta = theta * sw2 * vphi_dot + (sigma if layer >= fixed_layers else 0)
            kx = sw2 * dual(kx, kx, kx)[0] + sb2
            ky = sw2 * dual(ky, ky, ky)[0] + sb2
        return theta


def _exact_variances(x, p, dual):
    """``q[l](t; x)`` of section 2 for a time-major series ``x`` (list of lists of mpf)."""
    q = []
    for layer in range(p["n_layers"]):
        row = []
        for t, x_t in enumerate(x):
            below = _dot(x_t, x_t) / len(x_t) if layer == 0 else dual(q[-1][t], q[-1][t], q[-1][t])[0]
            recurrent = p["sigma_h"] ** 2 if t == 0 else dual(row[-1], row[-1], row[-1])[0]
            row.append(p["sigma_w"] ** 2 * recurrent + p["sigma_u"] ** 2 * below + p["sigma_b"] ** 2)
        q.append(row)
    return q


def _exact_chain(x, y, qx, qy, steps, shared_start, p, dual):
    """Walk the pairs of steps ``steps`` (consecutive along one diagonal); return the output terms of each."""
    n_layers, fixed = p["n_layers"], p["fixed_layers"]
    sw2, su2, sb2, sv2 = (p[name] ** 2 for name in ("sigma_w", "sigma_u", "sigma_b", "sigma_v"))
    sigma, theta, outputs = [None] * n_layers, [mpmath.mpf(0)] * n_layers, []
    for index, (t, u) in enumerate(steps):
        for layer in range(n_layers):
            if index > 0:
                r, r_dot = dual(qx[layer][t - 1], qy[layer][u - 1], sigma[layer])
            else:
                r, r_dot = (p["sigma_h"] ** 2 if shared_start else mpmath.mpf(0)), mpmath.mpf(0)
            if layer == 0:
                inner, inner_dot = _dot(x[t], y[u]) / len(x[t]), None
            else:
                inner, inner_dot = dual(qx[layer - 1][t], qy[layer - 1][u], sigma[layer - 1])
            new_sigma = sw2 * r + su2 * inner + sb2
            if layer + 1 > fixed:
                new_theta = new_sigma + sw2 * theta[layer] * r_dot
                if layer >= 1 and layer > fixed:
                    new_theta += su2 * theta[layer - 1] * inner_dot
                theta[layer] = new_theta
            sigma[layer] = new_sigma
        top = n_layers - 1
        out, out_dot = dual(qx[top][t], qy[top][u], sigma[top])
        ntk = sv2 * out + (sv2 * theta[top] * out_dot if n_layers > fixed else 0)
        outputs.append(ntk)
    return outputs


def exact_rntk(x, y, same_sample=False, **params):
    """Sections 2-3 of docs/kernels.md (forward reading) for one pair of series of shape (n_channels, T).

    ``same_sample``: ``y`` is ``x`` itself in K(X), whose chain starts from the shared initial state.
    """
    p = dict(n_layers=1, sigma_w=1.4142, sigma_u=0.5, sigma_b=0.1, sigma_h=0.0, sigma_v=1.0, activation="relu",
             output="last", fixed_layers=0)
    p.update(params)
    with mp.workdps(DIGITS):
        dual = EXACT_DUALS[p["activation"]]
        for name in ("sigma_w", "sigma_u", "sigma_b", "sigma_h", "sigma_v"):
            p[name] = mpmath.mpf(float(p[name]))
        xs = [_mp(column) for column in np.asarray(x, dtype=float).T]
        ys = [_mp(column) for column in np.asarray(y, dtype=float).T]
        qx, qy = _exact_variances(xs, p, dual), _exact_variances(ys, p, dual)
        n_x, n_y = len(xs), len(ys)
        if p["output"] == "last":
            length = min(n_x, n_y)
            steps = [(n_x - length + k, n_y - length + k) for k in range(length)]
            return _exact_chain(xs, ys, qx, qy, steps, same_sample, p, dual)[-1]
        total = mpmath.mpf(0)
        for offset in range(-(n_x - 1), n_y):             # u - t: one chain per diagonal
            steps = [(t, t + offset) for t in range(n_x) if 0 <= t + offset < n_y]
            total += mpmath.fsum(_exact_chain(xs, ys, qx, qy, steps, same_sample and offset == 0, p, dual))
        return total / (n_x * n_y)


def relative_error(value, exact) -> float:
    with mp.workdps(DIGITS):
        return float(abs(mpmath.mpf(float(value)) - exact) / abs(exact))


# ------------------------------------------------------------------------------ inputs next to correlation 1

EPSILONS = (1e-4, 1e-6, 1e-8, 1e-10, 1e-12, 0.0)   # 0: an identical copy, a separate sample
TOLERANCE = 1e-12


def _near_duplicates(x: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """``x`` followed by ``x + eps * direction`` for every eps of ``EPSILONS``, stacked on a new first axis."""
    return np.stack([x] + [x + eps * direction for eps in EPSILONS])


def _assert_close(value, exact, what: str) -> None:
    error = relative_error(value, exact)
    assert error < TOLERANCE, f"{what}: relative error {error:.2e}"


NTK_SETTINGS = [
    {"n_layers": depth, "activation": activation, "sigma_w": sigma_w, "sigma_b": sigma_b}
    for activation in ("relu", "erf")
    for depth in range(1, 5)
    for sigma_w, sigma_b in ((1.0, 0.0), (1.5, 0.3))
]


@pytest.mark.parametrize("params", NTK_SETTINGS, ids=lambda p: "-".join(map(str, p.values())))
def test_ntk_of_near_duplicate_rows(params):
    """Rows that differ by 1e-4 .. 1e-12 (and an identical copy), their Gram matrix with each other and with
    themselves: every entry with the first row, and the diagonal, to 1e-12 of the exact kernel."""
    rng = np.random.default_rng(params["n_layers"])
    X = _near_duplicates(rng.normal(size=8), rng.normal(size=8))
    fixed = params["n_layers"] - 1                       # also a frozen layer; fixed 0 below
    for setting in (dict(params, fixed_layers=0), dict(params, fixed_layers=fixed)):
        engine, reference = get_kernel("ntk", **setting)(X), ntk_reference(X, **setting)
        cross = get_kernel("ntk", **setting)(X[:1], X)
        for k in range(len(X)):
            exact = exact_ntk(X[0], X[k], **setting)
            _assert_close(engine[0, k], exact, f"ntk {setting} entry (0, {k})")
            _assert_close(reference[0, k], exact, f"ntk_reference {setting} entry (0, {k})")
            _assert_close(cross[0, k], exact, f"ntk(X[:1], X) {setting} entry (0, {k})")
            exact_diagonal = exact_ntk(X[k], X[k], **setting)
            _assert_close(engine[k, k], exact_diagonal, f"ntk {setting} diagonal {k}")
            _assert_close(reference[k, k], exact_diagonal, f"ntk_reference {setting} diagonal {k}")


RNTK_SETTINGS = [
    {"n_layers": depth, "activation": activation, "output": output, "sigma_h": sigma_h}
    for activation in ("relu", "erf")
    for depth in (1, 2)
    for output in ("last", "mean")
    for sigma_h in (0.0, 0.5)
]


@pytest.mark.parametrize("n_channels", [1, 2])
@pytest.mark.parametrize("params", RNTK_SETTINGS, ids=lambda p: "-".join(map(str, p.values())))
def test_rntk_of_near_duplicate_series(params, n_channels):
    """Series of length 6 that differ by 1e-4 .. 1e-12 (and an identical copy): the engine and the reference
    to 1e-12 of the exact kernel, for K(X) (with the sigma_h term on the diagonal) and K(X[:1], X)."""
    rng = np.random.default_rng(10 * params["n_layers"] + n_channels)
    X = _near_duplicates(rng.normal(size=(n_channels, 6)) / 2, rng.normal(size=(n_channels, 6)))
    engine, reference = get_kernel("rntk", **params)(X), rntk_reference(X, **params)
    cross = get_kernel("rntk", **params)(X[:1], X)
    for k in range(len(X)):
        exact = exact_rntk(X[0], X[k], **params)
        _assert_close(engine[0, k] if k else cross[0, 0], exact, f"rntk {params} entry (0, {k})")
        _assert_close(cross[0, k], exact, f"rntk(X[:1], X) {params} entry (0, {k})")
        if k:
            _assert_close(reference[0, k], exact, f"rntk_reference {params} entry (0, {k})")
        exact_diagonal = exact_rntk(X[k], X[k], same_sample=True, **params)
        _assert_close(engine[k, k], exact_diagonal, f"rntk {params} diagonal {k}")
        _assert_close(reference[k, k], exact_diagonal, f"rntk_reference {params} diagonal {k}")


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_rntk_of_unequal_lengths_next_to_a_correlation_of_one(activation):
    """A series and the last steps of a near copy of it: the chain starts where the shorter one does."""
    rng = np.random.default_rng(5)
    x, direction = rng.normal(size=(1, 7)) / 2, rng.normal(size=(1, 7))
    X = [x] + [(x + eps * direction)[:, 2:] for eps in EPSILONS]
    for params in ({"n_layers": 2, "activation": activation}, {"output": "mean", "activation": activation}):
        gram = get_kernel("rntk", **params)(X)
        for k in range(1, len(X)):
            _assert_close(gram[0, k], exact_rntk(X[0], X[k], **params), f"rntk {params} entry (0, {k})")


def test_long_series_keep_their_digits():
    """Correlations along a chain approach 1 by themselves (sigma_w^2 = 2): a random walk of 150 steps."""
    rng = np.random.default_rng(6)
    X = np.cumsum(rng.normal(size=(3, 150)), axis=1)
    X /= np.linalg.norm(X, axis=1).max()
    gram = get_kernel("rntk")(X)
    for i, j in ((0, 1), (1, 2), (2, 2)):
        _assert_close(gram[i, j], exact_rntk(X[i], X[j], same_sample=i == j), f"entry ({i}, {j})")


# ------------------------------------------------------------------------------ the released code's algorithm

def _released_ntk(X: np.ndarray, depth: int) -> np.ndarray:
    """Arora et al.'s released NTK (ReLU, no layer frozen), as their code computes it: the correlation of each
    layer from that layer's Gram matrix, clipped to [-1, 1], then ``arccos`` and ``sqrt(1 - c^2)``."""
    S = X @ X.T
    H = S.copy()
    for _ in range(depth):
        L = np.diag(S)
        P = np.clip(np.sqrt(np.outer(L, L)), a_min=1e-9, a_max=None)
        Sn = np.clip(S / P, a_min=-1, a_max=1)
        S = (Sn * (np.pi - np.arccos(Sn)) + np.sqrt(1.0 - Sn * Sn)) * P / 2.0 / np.pi
        H = H * (np.pi - np.arccos(Sn)) / 2.0 / np.pi + S
    return H


def test_the_released_algorithm_loses_digits_next_to_a_correlation_of_one():
    """Next to c = 1 the released code's values are off by ~1e-9 relative (an arccos of a rounded
    correlation), this package's are exact to rounding: near duplicates are where the two part."""
    rng = np.random.default_rng(7)
    worst_released = worst_ours = 0.0
    for _ in range(5):
        x, direction = rng.normal(size=8), rng.normal(size=8)
        X = np.stack([x, x + 1e-8 * direction])
        exact = exact_ntk(X[0], X[1], n_layers=2)
        worst_released = max(worst_released, relative_error(_released_ntk(X, 2)[0, 1], exact))
        worst_ours = max(worst_ours, relative_error(get_kernel("ntk", n_layers=2)(X)[0, 1], exact))
    assert worst_ours < 1e-14
    assert worst_released > 1e-10
