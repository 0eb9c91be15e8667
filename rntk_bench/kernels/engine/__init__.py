"""Fast RNTK engine: tiled, vectorised and multi-threaded numba loops over the pairs that are needed.

``compute_rntk`` is what the registered ``rntk`` kernel calls; it equals ``rntk_reference`` to about 1e-15
relative on well-conditioned data (tests check 1e-12).

Memory besides the output matrix: the per-sample arrays of ``prepare.Side``, at most
``(2 n_channels + 6 n_layers + 1) * t_max * 8`` bytes per sample while they are built, for the samples of Y
(all of X for K(X)) and for one chunk of ``ROW_CHUNK`` rows of X; and ``(3 n_layers + 3) * BLOCK * 8`` bytes
of tile state per thread. For K(X_test, X_train) that does not grow with the number of test samples; for
K(X) it is a small multiple of the input's size. Nothing of size ``n_x * n_y`` besides the output.
"""

from __future__ import annotations

import numba
import numpy as np

from rntk_bench.errors import InvalidParameterError
from rntk_bench.kernels.engine.prepare import Side, prepare_side
from rntk_bench.kernels.engine.tiles import BLOCK, rntk_pairs, rntk_pairs_serial
from rntk_bench.kernels.rntk_inputs import RNTKParams

__all__ = ["BLOCK", "ROW_CHUNK", "compute_rntk", "working_set_bytes"]

ROW_CHUNK = 2048  # rows of X prepared at a time for K(X, Y)


def _add_direction(out: np.ndarray, out_gp: np.ndarray, xs: list[np.ndarray], ys: list[np.ndarray], same: bool,
                   p: RNTKParams) -> None:
    t_max = max(len(seq) for seq in (xs if same else xs + ys))
    if same:
        x = prepare_side(xs, t_max, p)
        _add_pairs(out, out_gp, x, x, np.arange(len(xs)), True, p)
        return
    # K(X, Y): the rows of X in chunks, so that only Y's per-sample arrays and one chunk's are ever held
    y = prepare_side(ys, t_max, p)
    for start in range(0, len(xs), ROW_CHUNK):
        chunk = xs[start:start + ROW_CHUNK]
        x = prepare_side(chunk, t_max, p)
        rows = slice(start, start + len(chunk))
        _add_pairs(out[rows], out_gp[rows] if out_gp.size else out_gp, x, y, _identical_columns(chunk, ys, x, y, p),
                   False, p)


def _add_pairs(out: np.ndarray, out_gp: np.ndarray, x: Side, y: Side, copies: np.ndarray, same: bool,
               p: RNTKParams) -> None:
    pairs = rntk_pairs if numba.get_num_threads() > 1 else rntk_pairs_serial
    pairs(
        same, p.activation == "relu", p.output == "mean",
        x.start, x.lengths, x.values, x.first, x.second, x.variance, copies,
        y.start, y.lengths, y.n_real, y.values, y.first, y.second,
        x.order, y.order, out, out_gp,
        p.sigma_w**2, p.sigma_u**2, p.sigma_b**2, p.sigma_h**2, p.sigma_v**2, p.n_layers, p.fixed_layers,
    )


def _identical_columns(xs, ys, x: Side, y: Side, p: RNTKParams) -> np.ndarray:
    """For each sorted row of X, the sorted column of Y holding an identical series, or -1.

    Without sigma_h such a pair's chain is the chain of the sample with itself, whose correlation is exactly
    1; the engine then takes it from the variances instead of recomputing it (see ``tiles._pairs``), so
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


def compute_rntk(xs: list[np.ndarray], ys: list[np.ndarray], same: bool, p: RNTKParams,
                 with_nngp: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """RNTK (or NNGP) matrix of two lists of time-major series.

    Parameters
    ----------
    xs, ys : list of ndarray of shape (T_i, n_channels)
        Validated series (``check_sequences``); ``ys is xs`` when ``same``.
    same : bool
        Gram matrix of ``xs`` with itself: only the upper triangle is computed, and a sample paired with
        itself gets the ``sigma_h`` initial-state term.
    p : RNTKParams
    with_nngp : bool
        Also return the NNGP kernel (``fixed_layers = n_layers``) of the same parameters, from the same pass.
        Needs ``p.fixed_layers == 0``. Its mean-pooled sum is kept in every mean-pooled call (one more
        addition per pair-step, not specialised away); this flag only decides whether it is written out.

    Returns
    -------
    ndarray of shape (len(xs), len(ys)), or a pair of them (RNTK, NNGP) with ``with_nngp``
    """
    if with_nngp and p.fixed_layers != 0:
        raise InvalidParameterError(f"with_nngp needs fixed_layers = 0; got {p.fixed_layers}")
    out = np.zeros((len(xs), len(ys)))
    out_gp = np.zeros((len(xs), len(ys)) if with_nngp else (0, 0))
    if p.direction in ("forward", "bidirectional"):
        _add_direction(out, out_gp, xs, ys, same, p)
    if p.direction in ("reversed", "bidirectional"):
        _add_direction(out, out_gp, [x[::-1] for x in xs], ys if same else [y[::-1] for y in ys], same, p)
    return (out, out_gp) if with_nngp else out


def working_set_bytes(n_x: int, n_y: int | None, t_max: int, n_channels: int, n_layers: int,
                      n_threads: int) -> int:
    """Upper bound of the bytes the engine holds besides the output, for K(X) (``n_y=None``) or K(X, Y)."""
    per_sample = (2 * n_channels + 6 * n_layers + 1) * t_max * 8
    samples = n_x if n_y is None else n_y + min(n_x, ROW_CHUNK)
    return per_sample * samples + n_threads * (3 * n_layers + 3) * BLOCK * 8
