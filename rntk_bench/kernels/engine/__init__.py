"""Fast RNTK engine: tiled, vectorised and multi-threaded numba loops over the pairs that are needed.

``compute_rntk`` is what the registered ``rntk`` kernel calls; it equals ``rntk_reference`` to about 1e-15
relative on well-conditioned data (tests check 1e-12). Memory: the output matrix, the per-sample arrays of
``prepare.Side`` (at most ``(2 n_channels + 6 n_layers + 1) * t_max * 8`` bytes per sample while they are
built, a small multiple of the input's size) and ``(3 n_layers + 3) * BLOCK * 8`` bytes of tile state per
thread: nothing of size ``n_x * n_y`` besides the output, and nothing that grows with the number of pairs.
"""

from __future__ import annotations

import numba
import numpy as np

from rntk_bench.kernels.engine.prepare import Side, prepare_side
from rntk_bench.kernels.engine.tiles import BLOCK, rntk_pairs, rntk_pairs_serial
from rntk_bench.kernels.rntk import RNTKParams

__all__ = ["BLOCK", "compute_rntk", "working_set_bytes"]


def _add_direction(out: np.ndarray, xs: list[np.ndarray], ys: list[np.ndarray], same: bool,
                   p: RNTKParams) -> None:
    t_max = max(len(seq) for seq in (xs if same else xs + ys))
    x = prepare_side(xs, t_max, p)
    y = x if same else prepare_side(ys, t_max, p)
    copies = np.arange(len(xs)) if same else _identical_columns(xs, ys, x, y, p)
    pairs = rntk_pairs if numba.get_num_threads() > 1 else rntk_pairs_serial
    pairs(
        same, p.activation == "relu", p.output == "mean",
        x.start, x.lengths, x.values, x.first, x.second, x.variance, copies,
        y.start, y.lengths, y.n_real, y.values, y.first, y.second,
        x.order, y.order, out,
        p.sigma_w**2, p.sigma_u**2, p.sigma_b**2, p.sigma_h**2, p.sigma_v**2, p.n_layers, p.fixed_layers,
    )


def _identical_columns(xs, ys, x: Side, y: Side, p: RNTKParams) -> np.ndarray:
    """For each sorted row of X, the sorted column of Y holding an identical series, or -1.

    Without sigma_h such a pair's chain is the chain of the sample with itself, whose correlation is exactly
    1; the engine then takes it from the variances instead of recomputing it (see ``tiles._advance``), so
    that K(X, Y) equals K(X) on shared samples. With sigma_h > 0 the two differ (the shared initial state
    exists only in K(X)) and every pair is computed alike.
    """
    copies = np.full(len(xs), -1, dtype=np.int64)
    if p.sigma_h != 0.0:
        return copies
    rank_in_y = np.empty(len(ys), dtype=np.int64)
    rank_in_y[y.order] = np.arange(len(ys))
    columns = {}
    for index, series in enumerate(ys):
        columns.setdefault((series.shape, series.tobytes()), rank_in_y[index])
    for rank, index in enumerate(x.order):
        copies[rank] = columns.get((xs[index].shape, xs[index].tobytes()), -1)
    return copies


def compute_rntk(xs: list[np.ndarray], ys: list[np.ndarray], same: bool, p: RNTKParams) -> np.ndarray:
    """RNTK (or NNGP) matrix of two lists of time-major series.

    Parameters
    ----------
    xs, ys : list of ndarray of shape (T_i, n_channels)
        Validated series (``check_sequences``); ``ys is xs`` when ``same``.
    same : bool
        Gram matrix of ``xs`` with itself: only the upper triangle is computed, and a sample paired with
        itself gets the ``sigma_h`` initial-state term.
    p : RNTKParams

    Returns
    -------
    ndarray of shape (len(xs), len(ys))
    """
    out = np.zeros((len(xs), len(ys)))
    if p.direction in ("forward", "bidirectional"):
        _add_direction(out, xs, ys, same, p)
    if p.direction in ("reversed", "bidirectional"):
        _add_direction(out, [x[::-1] for x in xs], ys if same else [y[::-1] for y in ys], same, p)
    return out


def working_set_bytes(n_x: int, n_y: int, t_max: int, n_channels: int, n_layers: int, n_threads: int) -> int:
    """Bytes the engine holds besides the output: per-sample arrays of both sides and per-thread tile state."""
    per_sample = (2 * n_channels + 6 * n_layers + 1) * t_max * 8
    return per_sample * (n_x + n_y) + n_threads * (3 * n_layers + 3) * BLOCK * 8
