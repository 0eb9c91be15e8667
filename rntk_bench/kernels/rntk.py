"""Recurrent NTK (Alemohammad et al., ICLR 2021) and its NNGP, sections 1-3 of docs/kernels.md.

This is the reference implementation: it follows the recursions literally and is vectorised over all pairs
of samples (each step updates an ``(n_x, n_y)`` matrix), with Python loops over time steps and layers only.

Sequences of different lengths are right-aligned by padding on the left: the last states meet, and a pair's
chain starts where the shorter sequence starts, with a zero recurrent term. Mean pooling runs one such chain
for every offset between the two time axes, so every pair of time steps ``(t, t')`` is visited once.
"""

from __future__ import annotations

import inspect
from collections import deque

import numpy as np

from rntk_bench.kernels.dual import DUALS, relu_correlation, relu_dual_w
from rntk_bench.kernels.engine import compute_rntk
from rntk_bench.kernels.registry import with_defaults
from rntk_bench.kernels.rntk_inputs import Padded, RNTKParams, SampleTerms, prepare_call, self_inner, unit_distances


def _diagonal_chain(px: Padded, py: Padded, tx: SampleTerms, ty: SampleTerms, offset: int, same: bool,
                    p: RNTKParams):
    """Walk the pairs ``(s, s + offset)`` of padded steps; yield the output terms at every step.

    ReLU carries, beside each covariance ``sigma[l]``, ``w[l] = 1 - c`` of its correlation, formed without
    cancellation from ``w`` of the terms it sums (``dual.relu_correlation``): next to c = 1 a ``1 - c`` taken
    from the rounded ``c = sigma / sqrt(q_x q_y)`` would move the arc-cosine of the dual activation by ~1e-8.

    Yields
    ------
    valid : ndarray of shape (n_x, n_y), bool
        Pairs for which both steps are real.
    nngp, ntk : ndarray of shape (n_x, n_y)
        The last-layer output kernels for this pair of time steps.
    """
    relu = p.activation == "relu"
    dual = DUALS[p.activation]
    n_x, t_max, n_channels = px.values.shape
    n_y = py.values.shape[0]
    start, stop = max(0, -offset), min(t_max, t_max - offset)
    sigma = [np.zeros((n_x, n_y)) for _ in range(p.n_layers)]
    w = [np.ones((n_x, n_y)) for _ in range(p.n_layers)]
    theta = [np.zeros((n_x, n_y)) for _ in range(p.n_layers)]
    was_valid = np.zeros((n_x, n_y), dtype=bool)
    diagonal_inner = self_inner(px.values) if same and offset == 0 else None

    def pair_dual(layer, s, u, covariance, correlation):
        """The dual activation (with, for ReLU, the ``w`` of Vphi) of layer ``layer`` at steps ``(s, u)``."""
        qx, qy = tx.q[layer, :, s, None], ty.q[layer, None, :, u]
        if relu:
            return relu_dual_w(np.sqrt(qx * qy), correlation)
        return (*dual(qx, qy, covariance), None)

    for s in range(start, stop):
        u = s + offset
        valid = px.mask[:, s, None] & py.mask[None, :, u]
        # A same-sample chain that starts at t = t' = 1 shares the random initial state (sigma_h).
        shared_start = None
        if same and offset == 0:
            shared_start = np.diag(px.mask[:, s] & (s == px.values.shape[1] - px.lengths))
        for layer in range(p.n_layers):
            if s > start:
                r, r_dot, w_r = pair_dual(layer, s - 1, u - 1, sigma[layer], w[layer])
                r, r_dot = np.where(was_valid, r, 0.0), np.where(was_valid, r_dot, 0.0)
            else:
                r, r_dot, w_r = np.zeros((n_x, n_y)), np.zeros((n_x, n_y)), None
            if shared_start is not None:
                r = r + p.sigma_h**2 * shared_start
            if layer == 0:
                inner = px.values[:, s] @ py.values[:, u].T / n_channels
                if diagonal_inner is not None:
                    np.fill_diagonal(inner, diagonal_inner[:, s])
                inner_dot, w_in = None, (unit_distances(tx.unit[:, s], ty.unit[:, u]) if relu else None)
            else:
                inner, inner_dot, w_in = pair_dual(layer - 1, s, u, sigma[layer - 1], w[layer - 1])
            new_sigma = p.sigma_w**2 * r + p.sigma_u**2 * inner + p.sigma_b**2
            if relu:
                # a zero recurrent term (no state yet) is uncorrelated, a shared initial state fully correlated
                w_r = np.ones((n_x, n_y)) if w_r is None else np.where(was_valid, w_r, 1.0)
                if shared_start is not None:
                    w_r = np.where(shared_start, 0.0, w_r)
                shares = [(tx.shares[k][layer, :, s, None], ty.shares[k][layer, None, :, u]) for k in range(3)]
                w[layer] = np.where(valid, relu_correlation(shares, [w_r, w_in]), 1.0)
            if layer + 1 > p.fixed_layers:                       # Theta of a frozen layer is zero
                new_theta = new_sigma + p.sigma_w**2 * theta[layer] * r_dot
                if layer >= 1 and layer > p.fixed_layers:         # depth path from a trained layer only
                    new_theta = new_theta + p.sigma_u**2 * theta[layer - 1] * inner_dot
                theta[layer] = np.where(valid, new_theta, 0.0)
            sigma[layer] = np.where(valid, new_sigma, 0.0)
        was_valid = valid
        top = p.n_layers - 1
        out, out_dot, _ = pair_dual(top, s, u, sigma[top], w[top])
        nngp = p.sigma_v**2 * out
        ntk = nngp + p.sigma_v**2 * theta[top] * out_dot if p.n_layers > p.fixed_layers else nngp
        yield valid, nngp, ntk


def _one_direction(xs: list[np.ndarray], ys: list[np.ndarray], same: bool, p: RNTKParams) -> np.ndarray:
    t_max = max(len(seq) for seq in xs + ys)
    px = Padded.from_sequences(xs, t_max)
    py = px if same else Padded.from_sequences(ys, t_max)
    tx = SampleTerms.of(px, p)
    ty = tx if same else SampleTerms.of(py, p)
    use_ntk = p.fixed_layers < p.n_layers
    if p.output == "last":
        # only the chain's final step is read out; maxlen=1 keeps one step's matrices alive, not all T
        _, nngp, ntk = deque(_diagonal_chain(px, py, tx, ty, 0, same, p), maxlen=1)[0]
        return ntk if use_ntk else nngp
    total = np.zeros((len(xs), len(ys)))
    for offset in range(-(t_max - 1), t_max):
        for valid, nngp, ntk in _diagonal_chain(px, py, tx, ty, offset, same, p):
            total += np.where(valid, ntk if use_ntk else nngp, 0.0)
    return total / np.outer(px.lengths, py.lengths)


def _prepare_call(X, Y, arguments: dict) -> tuple[RNTKParams, list[np.ndarray], list[np.ndarray], bool]:
    """Validate the arguments shared by ``rntk`` and ``rntk_reference``: parameters first, then inputs."""
    p = RNTKParams.from_arguments(arguments)
    return (p, *prepare_call(X, Y, p))


def rntk_reference(X, Y=None, **params) -> np.ndarray:
    """Reference RNTK: the recursions of docs/kernels.md evaluated literally, one ``(n_x, n_y)`` step at a time.

    Same parameters, defaults and values as :func:`rntk` (which runs the tiled engine; its signature holds the
    defaults and its docstring describes the parameters); kept as the specification that the engine is tested
    against and the baseline of ``python -m benchmarks``.

    Parameters
    ----------
    X, Y
        As for :func:`rntk`.
    **params
        The keyword parameters of :func:`rntk`; omitted ones take its defaults.

    Returns
    -------
    ndarray of shape (n_x, n_y)
    """
    p, xs, ys, same = _prepare_call(X, Y, with_defaults(rntk, params))
    result = np.zeros((len(xs), len(ys)))
    if p.direction in ("forward", "bidirectional"):
        result += _one_direction(xs, ys, same, p)
    if p.direction in ("reversed", "bidirectional"):
        result += _one_direction([x[::-1] for x in xs], [y[::-1] for y in ys], same, p)
    return result


def rntk(
    X,
    Y=None,
    *,
    n_layers: int = 1,
    sigma_w: float = 1.4142,
    sigma_u: float = 0.5,
    sigma_b: float = 0.1,
    sigma_h: float = 0.0,
    sigma_v: float = 1.0,
    activation: str = "relu",
    output: str = "last",
    direction: str = "forward",
    fixed_layers: int = 0,
) -> np.ndarray:
    """Recurrent neural tangent kernel (or, with ``fixed_layers = n_layers``, its NNGP kernel).

    Parameters
    ----------
    X : ndarray of shape (n_x, T) or (n_x, n_channels, T), or list of ndarray of shape (n_channels, T_i)
        Series; lengths may differ (they are right-aligned).
    Y : same kinds as X, optional
        If omitted, the Gram matrix of X with itself, including the ``sigma_h`` initial-state term of a
        sample paired with itself. ``K(X, X)`` treats the two arguments as distinct samples and has no such term.
    n_layers : int
        Number of stacked recurrent layers L >= 1.
    sigma_w, sigma_u, sigma_b, sigma_h, sigma_v : float
        Scales of the recurrent weights, input weights, biases, initial state and readout.
    activation : {"relu", "erf"}
    output : {"last", "mean"}
        Read out the last state, or the mean of all states (true mean pooling over all pairs ``(t, t')``).
    direction : {"forward", "reversed", "bidirectional"}
        Bidirectional adds the kernels of the forward and the time-reversed network.
    fixed_layers : int
        Number F of frozen bottom layers; F = L gives the NNGP kernel.

    Returns
    -------
    ndarray of shape (n_x, n_y)
    """
    p, xs, ys, same = _prepare_call(X, Y, locals())
    return compute_rntk(xs, ys, same, p)


# help() and inspect show the reference with the parameters and defaults it takes, which are rntk's
rntk_reference.__signature__ = inspect.signature(rntk)


def rntk_parts(params: dict) -> list[dict]:
    """The bidirectional RNTK is the forward kernel plus the reversed one: the engine adds the two directions
    into one zeroed matrix, so ``rntk(direction="forward") + rntk(direction="reversed")`` equals it bit for bit.
    Other settings are their own single part."""
    if params.get("direction") != "bidirectional":
        return [dict(params)]
    return [{**params, "direction": "forward"}, {**params, "direction": "reversed"}]


def rntk_siblings(params: dict) -> list[dict]:
    """Settings one engine pass computes together with ``params``: the RNTK with ``fixed_layers = 0`` and its
    NNGP (``fixed_layers = n_layers``) share every covariance, the NNGP only drops the Theta terms; and the
    networks with fewer layers and the same scales are this one's bottom layers, read out on the way. So a
    setting of L layers (``fixed_layers`` 0 or L) has ``2 L`` siblings, deepest first: (L, 0), (L, L),
    (L - 1, 0), (L - 1, L - 1), ..., (1, 0), (1, 1) as ``(n_layers, fixed_layers)``; the pass of a deeper
    setting in the same grid computes a shallower one's Gram matrices, which its task then reads back. Other
    values of ``fixed_layers`` are computed alone."""
    depth = params.get("n_layers")
    if params.get("fixed_layers") not in (0, depth):
        return [dict(params)]
    return [{**params, "n_layers": layers, "fixed_layers": fixed}
            for layers in range(depth, 0, -1) for fixed in (0, layers)]


def rntk_batch(X, Y, settings: list[dict]) -> list[np.ndarray]:
    """The Gram matrices of ``settings`` as :func:`rntk` computes them, the siblings of
    :func:`rntk_siblings` from a single engine pass (bit for bit the same numbers)."""
    if len(settings) > 1 and settings == rntk_siblings(settings[0]) and settings[0]["fixed_layers"] == 0:
        p, xs, ys, same = _prepare_call(X, Y, with_defaults(rntk, settings[0]))
        ntk, nngp = compute_rntk(xs, ys, same, p, with_nngp=True, all_depths=True)
        return [gram for depth in range(p.n_layers - 1, -1, -1) for gram in (ntk[depth], nngp[depth])]
    return [rntk(X, Y, **setting) for setting in settings]


def rntk_grid(X_train) -> list[dict]:
    """sigma_w = 1.4142, sigma_u in {0.25, 0.5, 1}, sigma_b in {0.001, 0.1, 0.5}, sigma_h in {0, 0.5},
    n_layers in {1, 2} (36 settings; the C grid is the runner's)."""
    return [
        {"sigma_w": 1.4142, "sigma_u": su, "sigma_b": sb, "sigma_h": sh, "n_layers": depth}
        for depth in (1, 2)
        for su in (0.25, 0.5, 1.0)
        for sb in (0.001, 0.1, 0.5)
        for sh in (0.0, 0.5)
    ]
