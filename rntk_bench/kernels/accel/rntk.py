"""The RNTK Gram matrix in JAX: tiles of pairs advanced through time together, every layer of a step fused.

The per-sample arrays are those of the numba engine (``engine.prepare.prepare_side``: variances from the
reference's own operations, the shares that give ``1 - c`` without cancellation, samples sorted by length),
built once on the host and copied to the device. A tile holds the pairs of a block of rows and a block of
columns; ``lax.scan`` walks the padded time axis, and each step applies the update of ``engine.tiles._pairs``
to every pair of the tile at once, as arrays of shape ``(rows, chains, columns)``.

**Chains.** The last-state readout needs one chain per pair, the diagonal that ends at the last steps. Mean
pooling needs every pair of steps ``(s, u)``: the chains of the ``2 T - 1`` offsets ``u - s``. They are
packed into ``T`` chains of exactly ``T`` steps: chain ``d`` visits ``(k, (k + d) mod T)`` at step ``k``, that
is the offset ``d`` until ``u`` reaches the end and then the offset ``d - T``, its state reset to a chain's
start where ``u`` wraps to 0. So each step is a ``(rows, T, columns)`` update with no idle lanes, and the
columns' per-step arrays are a contiguous slice of the time axis written twice.

**Unequal lengths.** Series are right-aligned on the padded axis; a pair's state is replaced only where both
steps are real (``valid``), so a chain that has not started keeps the zero state of a first step's
recurrent term, as in the engine.

**Exactness next to correlation 1.** The chain of a sample with itself (and, without sigma_h, with an identical
copy in Y) takes its covariance from the variance and ``w = 0``, exactly as the engine does; every other
pair carries ``w = 1 - c`` formed from non-negative parts (``engine.tiles._pairs`` derives them).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from rntk_bench.kernels.accel.backend import assemble, block_sides, float64, tile_budget, tiles
from rntk_bench.kernels.accel.duals import erf_dual, relu_dual
from rntk_bench.kernels.engine.prepare import FIRST, INP, REC, SECOND, VARIANCE, Side, prepare_side
from rntk_bench.kernels.rntk_inputs import RNTKParams

TIME_QUANTUM = 8
"""The padded time axis is rounded up to a multiple of this (left padding, never real), so that series of
similar lengths share one compiled tile function."""


SCAN_UNROLL = 1
"""Time steps per iteration of the compiled loop (``lax.scan``'s ``unroll``): more steps per iteration cut the
loop's per-iteration cost and let the compiler fuse consecutive steps, at a longer compilation."""


def bytes_per_pair(t_max: int, n_layers: int, mean: bool) -> int:
    """Estimated device bytes per pair of a tile: the carried state (4 planes per layer and chain, held
    twice by the loop) and the step's temporaries."""
    chains = t_max if mean else 1
    return 8 * chains * (12 * n_layers + 8)


def _layer(l, relu, univariate, state, below, xk, yk, itself, valid, scales, trained, depth):
    """Layer ``l`` at one step for every pair and chain of a tile; ``engine.tiles._pairs`` line by line.

    ``state`` holds this layer's previous step (``vphi, vdot, wphi, theta``), ``below`` the layer below's new
    values at this step (for the first layer: the inputs' inner product and, for ReLU with several channels,
    their part of ``1 - c``). ``xk`` and ``yk`` are functions giving a per-sample plane of layer ``l``,
    broadcast to ``(rows, chains, columns)``.
    """
    sw2, su2, sb2 = scales[0], scales[1], scales[2]
    vphi, vdot, wphi, theta = state
    sigma = sw2 * vphi + su2 * below[0] + sb2
    sigma = jnp.where(itself, xk(VARIANCE), sigma)          # a chain with itself: its variance, exactly
    th = sigma + sw2 * theta * vdot
    if l > 0:
        th = th + depth[l] * below[3] * below[1]
    th = th * trained[l]
    if relu:
        rx_rec, ry_rec = xk(REC), yk(REC)
        d_rec = rx_rec - ry_rec
        d_b = xk(FIRST) - yk(FIRST)
        if l == 0 and not univariate:
            squares = d_rec * d_rec + d_b * d_b + below[2]
        else:
            d_in = xk(INP) - yk(INP)
            squares = d_rec * d_rec + d_in * d_in + d_b * d_b
        w = squares + ((2.0 * rx_rec) * ry_rec) * wphi   # the planes' shares carry sqrt(1/2) (prepare)
        if l > 0:
            w = w + ((2.0 * xk(INP)) * yk(INP)) * below[2]
        w = jnp.where(itself, 0.0, w)
        v, v_dot, w_phi = relu_dual(w, xk(SECOND) * yk(SECOND))
    else:
        v, v_dot = erf_dual(sigma, xk(FIRST), yk(FIRST), xk(SECOND), yk(SECOND))
        w_phi = wphi
    new = (v, v_dot, w_phi, th)
    return tuple(jnp.where(valid, a, b) for a, b in zip(new, state)), (v, v_dot, th)


@functools.partial(jax.jit, static_argnames=("relu", "mean", "univariate", "unroll"))
def _tile(x, y, scales, trained, depth, same, *, relu: bool, mean: bool, univariate: bool, unroll: int = 1):
    """RNTK of the pairs of one tile, shape ``(rows, columns)``.

    ``x`` is ``(factors (T, planes, L, rows), values (T, m, rows), scaled (T, m', rows), start, length,
    copy)``, ``y`` the same for the columns with ``index`` (sorted column numbers) in place of ``copy``;
    ``scales`` = ``(sw2, su2, sb2, sh2, sv2, 1/m)``; ``trained`` and ``depth`` (per layer) encode
    ``fixed_layers`` as in ``engine.tiles._chain``; ``same`` marks K(X) (the shared initial state).
    """
    xf, xv, xs, x_start, x_len, x_copy = x
    yf, yv, ys, y_start, y_len, y_index = y
    t_max, _, n_layers, rows = xf.shape
    columns = yf.shape[-1]
    chains = t_max if mean else 1
    sh2, sv2, inv_m = scales[3], scales[4], scales[5]
    offsets = jnp.arange(chains)
    itself = (x_copy[:, None, None] == y_index[None, None, :]) & (offsets == 0)[None, :, None]
    shared = itself & same
    shape = (n_layers, rows, chains, columns)
    start = (jnp.broadcast_to(jnp.where(shared, sh2, 0.0), shape), jnp.zeros(shape),
             jnp.broadcast_to(jnp.where(shared, 0.0, 1.0), shape), jnp.zeros(shape))
    fresh = (0.0, 0.0, 1.0, 0.0)                            # a chain's start: no state, uncorrelated
    if mean:                                                # the time axis twice: chain d reads u = k + d
        yf, yv, ys = (jnp.concatenate([a, a]) for a in (yf, yv, ys))

    def step(carry, k):
        state, acc = carry
        if mean:
            u = k + offsets
            wrapped = (u == t_max)[None, None, :, None]
            state = tuple(jnp.where(wrapped, value, plane) for value, plane in zip(fresh, state))
            yfk, yvk, ysk = (lax.dynamic_slice_in_dim(a, k, chains, 0) for a in (yf, yv, ys))
            u = u % t_max
        else:
            u = k[None]
            yfk, yvk, ysk = yf[k][None], yv[k][None], ys[k][None]
        xfk, xvk, xsk = xf[k], xv[k], xs[k]
        valid = (k >= x_start)[:, None, None] & (u[:, None] >= y_start[None, :])[None]

        def col(a):                                         # (rows,) -> (rows, 1, 1)
            return a[:, None, None]

        if univariate:
            below = (col(xvk[0]) * yvk[:, 0][None], None, None, None)
        else:
            inner = col(xvk[0] * inv_m) * yvk[:, 0][None]
            for c in range(1, xvk.shape[0]):
                inner = inner + col(xvk[c] * inv_m) * yvk[:, c][None]
            part = None
            if relu:
                part = (col(xsk[0]) - ysk[:, 0][None]) ** 2
                for c in range(1, xsk.shape[0]):
                    part = part + (col(xsk[c]) - ysk[:, c][None]) ** 2
            below = (inner, None, part, None)
        planes = []
        for l in range(n_layers):
            layer_state = tuple(plane[l] for plane in state)
            new, top = _layer(l, relu, univariate, layer_state, below,
                              lambda plane, l=l: col(xfk[plane, l]), lambda plane, l=l: yfk[:, plane, l][None],
                              itself, valid, scales, trained, depth)
            planes.append(new)
            below = new
        state = tuple(jnp.stack([layer[k] for layer in planes]) for k in range(4))
        if mean:
            v, v_dot, th = top
            acc = acc + jnp.sum(jnp.where(valid, sv2 * v + sv2 * th * v_dot, 0.0), axis=1)
        return (state, acc), None

    (state, acc), _ = lax.scan(step, (start, jnp.zeros((rows, columns))), jnp.arange(t_max), unroll=unroll)
    if mean:
        counts = x_len[:, None] * y_len[None, :]
        return acc / jnp.where(counts > 0, counts, 1.0)
    vphi, vdot, theta = state[0][-1, :, 0], state[1][-1, :, 0], state[3][-1, :, 0]
    return sv2 * vphi + sv2 * theta * vdot


def _identical_columns(xs, ys, x: Side, y: Side) -> np.ndarray:
    """For each sorted row of X, the sorted column of Y holding an identical series, or -1 (as the engine)."""
    rank_in_y = np.empty(len(ys), dtype=np.int64)
    rank_in_y[y.order] = np.arange(len(ys))
    columns = {}
    for index, series in enumerate(ys):
        columns.setdefault((series.shape, series.tobytes()), rank_in_y[index])
    return np.array([columns.get((xs[index].shape, xs[index].tobytes()), -1) for index in x.order], dtype=np.int64)


def _side_arrays(side: Side, ids: np.ndarray, n_pad: int, mean: bool) -> tuple:
    """A side's arrays, time-major and padded to ``n_pad`` samples (padding never real: start = T)."""
    t_max = side.values.shape[0]
    pad = n_pad - len(side.order)

    def padded(a, value=0.0):
        return np.concatenate([a, np.full(a.shape[:-1] + (pad,), value, dtype=a.dtype)], axis=-1)

    factors = np.ascontiguousarray(side.factors.transpose(2, 0, 1, 3))       # (T, planes, L, n)
    scaled = side.scaled if side.scaled.size else np.zeros((t_max, 0, len(side.order)))
    return (padded(factors), padded(side.values), padded(scaled), padded(side.start, t_max),
            padded(side.lengths.astype(float)), padded(ids, -1))


def _one_direction(xs, ys, same: bool, p: RNTKParams, device, memory_bytes) -> np.ndarray:
    mean, relu = p.output == "mean", p.activation == "relu"
    t_max = max(len(seq) for seq in (xs if same else xs + ys))
    t_pad = -(-t_max // TIME_QUANTUM) * TIME_QUANTUM
    x = prepare_side(xs, t_pad, p)
    y = x if same else prepare_side(ys, t_pad, p)
    if same:
        copies = np.arange(len(xs))
    elif p.sigma_h == 0.0:
        copies = _identical_columns(xs, ys, x, y)
    else:                  # with sigma_h, K(X, Y) has no shared initial state: every pair is computed alike
        copies = np.full(len(xs), -1)
    rows, columns = block_sides(len(xs), len(ys), same, bytes_per_pair(t_pad, p.n_layers, mean),
                                tile_budget(device, memory_bytes), chains=t_pad if mean else 1)
    n_x, n_y = -(-len(xs) // rows) * rows, -(-len(ys) // columns) * columns
    put = functools.partial(jax.device_put, device=device)
    x_host = _side_arrays(x, copies, n_x, mean)
    y_host = _side_arrays(y, np.arange(len(ys)), n_y, mean)
    n_layers, fixed = p.n_layers, p.fixed_layers
    scales = put(np.array([p.sigma_w**2, p.sigma_u**2, p.sigma_b**2, p.sigma_h**2, p.sigma_v**2,
                           1.0 / xs[0].shape[1]], dtype=float))
    trained = put(np.array([1.0 if l + 1 > fixed else 0.0 for l in range(n_layers)]))
    depth = put(np.array([p.sigma_u**2 if (l >= 1 and l > fixed) else 0.0 for l in range(n_layers)]))
    flags = dict(relu=relu, mean=mean, univariate=xs[0].shape[1] == 1, unroll=SCAN_UNROLL)
    same_flag = put(np.array(same))
    pending = []
    for a, b in tiles(len(xs), len(ys), rows, columns, same):
        # sliced on the host: per-sample arrays are small next to a tile's work, and slicing device arrays
        # would compile a slicing function for every shape
        xa = tuple(put(arr[..., a * rows:(a + 1) * rows]) for arr in x_host)
        yb = tuple(put(arr[..., b * columns:(b + 1) * columns]) for arr in y_host)
        pending.append((a, b, _tile(xa, yb, scales, trained, depth, same_flag, **flags)))
    result = assemble(pending, n_x, n_y, rows, columns, same)[:len(xs), :len(ys)]
    out = np.empty_like(result)
    out[np.ix_(x.order, y.order)] = result
    return out


def rntk_gram(xs: list[np.ndarray], ys: list[np.ndarray], same: bool, p: RNTKParams, device,
              memory_bytes: int | None = None) -> np.ndarray:
    """RNTK (or NNGP) Gram matrix on a JAX device, float64; the values of ``engine.compute_rntk``.

    Parameters
    ----------
    xs, ys : list of ndarray of shape (T_i, n_channels)
        Validated time-major series (``rntk_inputs.prepare_call``); ``ys is xs`` when ``same``.
    same : bool
        K(X): only tiles on and above the diagonal are computed, and a sample paired with itself gets the
        ``sigma_h`` initial-state term.
    p : RNTKParams
    device : jax.Device
    memory_bytes : int, optional
        Working memory of one tile; default from the device (``backend.tile_budget``).

    Returns
    -------
    ndarray of shape (len(xs), len(ys))
    """
    out = np.zeros((len(xs), len(ys)))
    with float64():
        if p.direction in ("forward", "bidirectional"):
            out += _one_direction(xs, ys, same, p, device, memory_bytes)
        if p.direction in ("reversed", "bidirectional"):
            out += _one_direction([x[::-1] for x in xs], ys if same else [y[::-1] for y in ys], same, p, device,
                                  memory_bytes)
    return out
