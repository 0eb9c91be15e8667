"""The fully connected NTK of Arora et al. in JAX: one tile of pairs, every layer fused (``engine.fc._row``).

The per-sample arrays are the numba engine's (``engine.fc.fc_side``: the variances entering each layer from
the reference's own operations, their roots, and the shares of each layer's two terms). ReLU carries
``w = 1 - c`` of every layer without cancellation; at the input ``w`` is half the squared distance of the unit
rows, computed for every pair (on an accelerator the distance costs about what the inner products cost, and
it is the reference's own choice), where the numba engine recomputes it only below ``1 - c = 1/64``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from rntk_bench.kernels.accel.backend import assemble, block_sides, float64, tile_budget, tiles
from rntk_bench.kernels.accel.duals import erf_dual_covariance, relu_dual
from rntk_bench.kernels.engine.duals import RELU_DOT
from rntk_bench.kernels.engine.fc import BIAS, ROOT, SHARE, VARIANCE, fc_side

FEATURE_CHUNK = 16
"""Features added per step of the distance loop: its temporary is ``rows x columns x FEATURE_CHUNK``."""


def bytes_per_pair(n_layers: int) -> int:
    """Estimated device bytes per pair of a tile: the inner product, ``w``, Theta, the distance loop's
    chunk and the temporaries of one layer."""
    return 8 * (FEATURE_CHUNK + 2 * n_layers + 16)


def _distances(ux, uy):
    """Half the squared distances of the rows of ``ux`` (rows, d) and ``uy`` (columns, d), chunk by chunk."""
    d = ux.shape[1]
    chunks = -(-d // FEATURE_CHUNK)
    pad = chunks * FEATURE_CHUNK - d                 # zero features add exact zeros

    def split(u):
        return jnp.pad(u, ((0, 0), (0, pad))).reshape(u.shape[0], chunks, FEATURE_CHUNK).transpose(1, 0, 2)

    def step(total, pair):
        a, b = pair
        diff = a[:, None, :] - b[None, :, :]
        return total + jnp.sum(diff * diff, axis=2), None

    total, _ = lax.scan(step, jnp.zeros((ux.shape[0], uy.shape[0])), (split(ux), split(uy)))
    return 0.5 * total


@functools.partial(jax.jit, static_argnames=("relu", "n_layers"))
def _tile(x, y, x_layers, y_layers, x_unit, y_unit, sw2, sb2, start, add, *, relu: bool, n_layers: int):
    """NTK of one tile of pairs, shape ``(rows, columns)``.

    ``x`` (rows, d) and ``y`` (columns, d) are the rows; ``*_layers`` the planes of ``fc_side`` (5, L', n);
    ``*_unit`` the unit rows (ReLU); ``start`` is 1 when the input layer is trained (``fixed_layers = 0``)
    and ``add[l - 1]`` 1 when hidden layer ``l`` is.
    """
    gram = jnp.dot(x, y.T, precision=lax.Precision.HIGHEST)          # Sigma_0
    theta = gram * start
    if relu:
        w = jnp.minimum(_distances(x_unit, y_unit), 2.0)
        for layer in range(1, n_layers + 1):
            norm = x_layers[ROOT, layer - 1][:, None] * y_layers[ROOT, layer - 1][None, :]
            v, v_dot, w_phi = relu_dual(w, norm)
            v = v * RELU_DOT       # the dual's factor after the product, as the numba engine's FC NTK
            sigma = sw2 * v + sb2
            theta = theta * (sw2 * v_dot) + add[layer - 1] * sigma
            if layer < n_layers:       # the next covariance: sigma_w^2 Vphi (its w is w_phi) plus sigma_b^2
                ax, ay = x_layers[SHARE, layer][:, None], y_layers[SHARE, layer][None, :]
                bx, by = x_layers[BIAS, layer][:, None], y_layers[BIAS, layer][None, :]
                da, db = ax - ay, bx - by
                w = 0.5 * (da * da + db * db) + (ax * ay) * w_phi
        return theta
    for layer in range(1, n_layers + 1):
        v, v_dot = erf_dual_covariance(x_layers[VARIANCE, layer - 1][:, None], y_layers[VARIANCE, layer - 1][None, :],
                                       gram)
        gram = sw2 * v + sb2
        theta = theta * (sw2 * v_dot) + add[layer - 1] * gram
    return theta


def fc_gram(X: np.ndarray, Y: np.ndarray, same: bool, n_layers: int, fixed_layers: int, sigma_w: float,
            sigma_b: float, activation: str, device, memory_bytes: int | None = None) -> np.ndarray:
    """Fully connected NTK Gram matrix on a JAX device, float64; the values of the registered ``ntk``.

    Parameters
    ----------
    X : ndarray of shape (n_x, n_features)
    Y : ndarray of shape (n_y, n_features)
        ``Y is X`` when ``same`` (validated by ``validation.check_vectors``).
    same : bool
        K(X): only tiles on and above the diagonal are computed, then mirrored.
    n_layers, fixed_layers : int
    sigma_w, sigma_b : float
    activation : {"relu", "erf"}
    device : jax.Device
    memory_bytes : int, optional
        Working memory of one tile; default from the device (``backend.tile_budget``).

    Returns
    -------
    ndarray of shape (n_x, n_y)
    """
    relu = activation == "relu"
    var_x = np.einsum("ij,ij->i", X, X)
    var_y = var_x if same else np.einsum("ij,ij->i", Y, Y)
    x_layers, x_unit = fc_side(X, var_x, n_layers, sigma_w, sigma_b, activation)
    y_layers, y_unit = (x_layers, x_unit) if same else fc_side(Y, var_y, n_layers, sigma_w, sigma_b, activation)
    if not relu:
        x_unit, y_unit = X[:, :0], Y[:, :0]
    rows, columns = block_sides(len(X), len(Y), same, bytes_per_pair(n_layers), tile_budget(device, memory_bytes))
    n_x, n_y = -(-len(X) // rows) * rows, -(-len(Y) // columns) * columns

    def padded(a, n):                    # zero samples: their entries are computed and thrown away
        return np.concatenate([a, np.zeros(a.shape[:-2] + (n - a.shape[-2], a.shape[-1]))], axis=-2)

    with float64():
        put = functools.partial(jax.device_put, device=device)
        # sliced on the host per tile: slicing device arrays would compile a slicing function per shape
        xd = [padded(a, n_x) for a in (X, x_unit)]
        yd = [padded(a, n_y) for a in (Y, y_unit)]
        xl = np.concatenate([x_layers, np.zeros(x_layers.shape[:2] + (n_x - len(X),))], axis=2)
        yl = np.concatenate([y_layers, np.zeros(y_layers.shape[:2] + (n_y - len(Y),))], axis=2)
        add = put(np.array([1.0 if layer >= fixed_layers else 0.0 for layer in range(1, max(n_layers, 1) + 1)]))
        scalars = [put(np.float64(value)) for value in (sigma_w**2, sigma_b**2, 1.0 if fixed_layers == 0 else 0.0)]
        pending = []
        for a, b in tiles(len(X), len(Y), rows, columns, same):
            ra, cb = slice(a * rows, (a + 1) * rows), slice(b * columns, (b + 1) * columns)
            arrays = [put(arr) for arr in (xd[0][ra], yd[0][cb], xl[:, :, ra], yl[:, :, cb], xd[1][ra], yd[1][cb])]
            pending.append((a, b, _tile(*arrays, *scalars, add, relu=relu, n_layers=n_layers)))
        result = assemble(pending, n_x, n_y, rows, columns, same)
    return result[:len(X), :len(Y)]
