"""Fast RNTK engine: tiled, vectorised and multi-threaded numba loops over the pairs that are needed.

``compute_rntk`` is what the registered ``rntk`` kernel calls; it equals ``rntk_reference`` to about 1e-15
relative (tests check 1e-12), next to correlation 1 as well, where both carry ``1 - c`` of the ReLU
correlations without cancellation (tests/test_kernel_precision.py checks both against 80-digit values).
``warm_up`` compiles the engine (RNTK and fully connected NTK) ahead of use, and ``is_cached`` tells without
compiling whether that will be quick.

Memory besides the output matrix: the per-sample arrays of ``prepare.Side``, at most ``(4 n_channels + 14
n_layers + 1) * t_max * 8`` bytes per sample while they are built, for the samples of Y (all of X for K(X))
and for one chunk of ``ROW_CHUNK`` rows of X, kept for the next call on the same thread up to 32 MiB per array
(``workspace.py``: reused memory spares the page faults of fresh memory); and ``(34 n_layers + 12) * (BLOCK +
2 LANES) * 8`` bytes of tile state per thread; with mean pooling on several threads, copies of the per-sample
arrays for all threads but one, at most ``tiles.COPY_BUDGET`` (64 MiB) for each of X and Y. For K(X_test,
X_train) that does not grow with the number of test samples; for K(X) it is a small multiple of the input's
size. Nothing of size ``n_x * n_y`` besides the output (with ``all_depths`` and ``with_nngp`` the ``2
n_layers`` outputs, each also copied once out of the array the loops fill; for the bidirectional mean-pooled
K(X), one more of each for the reversed direction).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numba
import numpy as np
from numba.core.caching import FunctionCache
from numba.core.dispatcher import Dispatcher

from rntk_bench.errors import InvalidParameterError
from rntk_bench.kernels.dual import ACTIVATIONS
from rntk_bench.kernels.engine.fc import fc_arguments, fc_ntk_inplace, fc_ntk_inplace_serial, fc_side
from rntk_bench.kernels.engine.prepare import (
    Side,
    mapped_empty,
    mapped_zeros,
    prepare_side,
    variance_planes,
    variance_planes_serial,
)
from rntk_bench.kernels.engine.tiles import BLOCK, COPY_BUDGET, LANES, ROWS, rntk_pairs, rntk_pairs_serial
from rntk_bench.kernels.rntk_inputs import OUTPUTS, RNTKParams

__all__ = ["BLOCK", "ROW_CHUNK", "compute_rntk", "is_cached", "warm_up", "working_set_bytes"]

ROW_CHUNK = 2048  # rows of X prepared at a time for K(X, Y)
SPARE = LANES - 1  # at most this many samples past the last one in the per-sample arrays (``spare_samples``)


def spare_samples(n: int) -> int:
    """Samples past the last of ``n`` in the per-sample arrays, never real: as many as make their width a whole
    number of vectors, so that a step's last vector reads columns within the arrays, and the offsets of mean
    pooling laid side by side (``tiles._chain_rows_offsets``) are whole vectors each."""
    return -n % LANES

Run = Callable[[tuple], None]
"""Receives the arguments of one ``tiles.rntk_pairs`` call: runs it, or (for ``warm_up``) records its types."""


def _add_direction(out: np.ndarray, out_gp: np.ndarray, xs: list[np.ndarray], ys: list[np.ndarray], same: bool,
                   p: RNTKParams, run: Run, planes: Callable | None = None, assign: bool = False) -> None:
    """Add one direction's kernels to ``out`` (and ``out_gp``), or with ``assign`` (the last state only) write them
    over whatever ``out`` holds."""
    t_max = max(len(seq) for seq in (xs if same else xs + ys))
    # the per-sample arrays reuse the memory of the last call's (``workspace.py``); each is used up before the
    # next of its role is prepared
    if same:
        x = prepare_side(xs, t_max, p, planes, spare_samples(len(xs)), reuse="x")
        run(_pairs_arguments(out, out_gp, x, x, np.arange(len(xs)), True, p, assign))
        return
    # K(X, Y): the rows of X in chunks, so that only Y's per-sample arrays and one chunk's are ever held
    y = prepare_side(ys, t_max, p, planes, spare_samples(len(ys)), reuse="y")
    for start in range(0, len(xs), ROW_CHUNK):
        chunk = xs[start:start + ROW_CHUNK]
        x = prepare_side(chunk, t_max, p, planes, spare_samples(len(chunk)), reuse="x")
        rows = slice(start, start + len(chunk))
        run(_pairs_arguments(out[rows], out_gp[rows] if out_gp.shape[0] else out_gp, x, y,
                             _identical_columns(chunk, ys, x, y, p), False, p, assign))


def _pairs_arguments(out: np.ndarray, out_gp: np.ndarray, x: Side, y: Side, copies: np.ndarray, same: bool,
                     p: RNTKParams, assign: bool) -> tuple:
    """The arguments of ``tiles.rntk_pairs``, every scalar in the type it is compiled for.

    numba compiles one specialisation per combination of argument types: a scale given as a Python int or a
    numpy scalar would compile another one (tens of seconds) instead of using the one ``warm_up`` prepared.
    The conversions keep every value (the compiled code turns ints into floats before using them anyway).
    """
    return (
        bool(same), p.activation == "relu", p.output == "mean",
        x.start, x.lengths, (x.values, x.scaled, x.factors), copies,
        y.start, y.lengths, (y.values, y.scaled, y.factors, y.n_real),
        x.order, y.order, out, out_gp, bool(assign),
        float(p.sigma_w) ** 2, float(p.sigma_u) ** 2, float(p.sigma_b) ** 2,
        float(p.sigma_h) ** 2, float(p.sigma_v) ** 2, int(p.n_layers), int(p.fixed_layers),
        int(numba.get_num_threads()),      # runs of tasks of equal cost, one per thread (``schedule.py``)
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
                 with_nngp: bool = False, all_depths: bool = False):
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
    all_depths : bool
        Also return the kernels of the networks with ``1, ..., n_layers - 1`` layers and the same scales,
        read out from the same pass (their layers are this network's bottom ones). Needs
        ``p.fixed_layers == 0``. With mean pooling each read-out layer keeps its own sums, a few more
        operations per pair-step in the layers below the top.

    Returns
    -------
    ndarray of shape (len(xs), len(ys)), or a pair of them (RNTK, NNGP) with ``with_nngp``; with
    ``all_depths`` each is instead a list of ``n_layers`` such arrays, item ``d`` for ``d + 1`` layers
    (the NNGP of ``d + 1`` layers is the kernel with ``fixed_layers = d + 1``). Each equals its own
    computation to the last bit.
    """
    for flag, name in ((with_nngp, "with_nngp"), (all_depths, "all_depths")):
        if flag and p.fixed_layers != 0:
            raise InvalidParameterError(f"{name} needs fixed_layers = 0; got {p.fixed_layers}")
    # (n_x, n_out, n_y): a chunk of rows of X is a contiguous slice, as the compiled loops take it
    n_out = p.n_layers if all_depths else 1
    # a first direction that writes every entry (``_writes_over``) needs no zeros
    output = mapped_empty if _writes_over(p) else mapped_zeros
    out = output((len(xs), n_out, len(ys)))
    out_gp = output((len(xs), n_out, len(ys)) if with_nngp else (0, 0, 0))
    pairs = rntk_pairs if numba.get_num_threads() > 1 else rntk_pairs_serial
    _add_directions(out, out_gp, xs, ys, same, p, lambda arguments: pairs(*arguments))
    ntk = [np.ascontiguousarray(out[:, d, :]) for d in range(n_out)]
    del out
    nngp = [np.ascontiguousarray(out_gp[:, d, :]) for d in range(n_out)] if with_nngp else None
    if not all_depths:
        return (ntk[0], nngp[0]) if with_nngp else ntk[0]
    return (ntk, nngp) if with_nngp else ntk


def _writes_over(p: RNTKParams) -> bool:
    """Whether the first direction writes every entry of the output over whatever it holds (the last state:
    ``tiles._read_out``, then the mirror) rather than adding to zeros (mean pooling)."""
    return p.output == "last"


def _add_directions(out: np.ndarray, out_gp: np.ndarray, xs: list[np.ndarray], ys: list[np.ndarray], same: bool,
                    p: RNTKParams, run: Run, planes: Callable | None = None) -> None:
    """``planes``: what fills the per-sample planes (default: ``prepare_side``'s; ``warm_up`` records instead).
    The first direction writes over ``out`` where ``_writes_over`` (``out`` from ``mapped_empty``), a second
    adds to it."""
    assign = _writes_over(p)
    if p.direction in ("forward", "bidirectional"):
        _add_direction(out, out_gp, xs, ys, same, p, run, planes, assign)
        assign = False
    if p.direction in ("reversed", "bidirectional"):
        target, target_gp = out, out_gp
        if same and p.output == "mean" and p.direction == "bidirectional":
            # the mean-pooled K(X) is completed from two halves in place (tiles._row_square), which gives the
            # direction's own numbers only on a zero output: the reversed one goes to its own array and is
            # added, so the sum equals that of the two directions computed apart, to the last bit
            target, target_gp = mapped_zeros(out.shape), mapped_zeros(out_gp.shape)
        _add_direction(target, target_gp, [x[::-1] for x in xs], ys if same else [y[::-1] for y in ys], same, p,
                       run, planes, assign)
        if target is not out:
            out += target
            out_gp += target_gp


def working_set_bytes(n_x: int, n_y: int | None, t_max: int, n_channels: int, n_layers: int,
                      n_threads: int) -> int:
    """Upper bound of the bytes the engine holds besides the output, for K(X) (``n_y=None``) or K(X, Y).

    The per-sample arrays of the largest call are kept afterwards (``workspace.py``, at most
    ``workspace.KEEP_BYTES`` per array and thread), so this bounds a thread's engine memory between calls too,
    for calls no larger than this one.
    """
    per_sample = (4 * n_channels + 14 * n_layers + 1) * t_max * 8
    samples = (n_x if n_y is None else n_y + min(n_x, ROW_CHUNK)) + 2 * SPARE

    def side_copies(side_samples: int) -> int:   # mean pooling: each side's own (``tiles._side_copies``)
        return min(COPY_BUDGET, (n_threads - 1) * per_sample * (side_samples + SPARE))

    copied = side_copies(n_x) if n_y is None else side_copies(n_y) + side_copies(min(n_x, ROW_CHUNK))
    tiles = (3 * (n_layers + 1) * ROWS + (6 + 4 * ROWS) * n_layers) * (BLOCK + 2 * LANES) * 8   # ``tiles._scratch``
    return per_sample * samples + copied + n_threads * tiles


# ------------------------------------------------------------------------------ compilation ahead of use
#
# The first call of a compiled function in a fresh installation compiles it (about two minutes for the
# RNTK pairs) and stores the machine code in numba's on-disk cache; later processes load it in
# milliseconds. ``warm_up`` does that step on purpose, so that a command line can say what it is doing, and
# ``is_cached`` tells beforehand whether it will take long.


def _specialisations() -> list[tuple[Dispatcher, tuple]]:
    """Every (entry point, argument types) pair that the registered ``rntk`` and ``ntk`` kernels call.

    The argument tuples are assembled by the code the kernels use (``_add_directions``, ``fc_arguments``) on
    tiny inputs, for every activation, readout, K(X) and K(X, Y), with and without the NNGP output, and read
    by each dispatcher's own typing, so they are the types a real call passes. Nothing is compiled here.
    """
    found: dict[tuple[Dispatcher, tuple], None] = {}

    def record(dispatchers, arguments: tuple) -> None:
        for dispatcher in dispatchers:
            if isinstance(dispatcher, Dispatcher):                   # not so under NUMBA_DISABLE_JIT
                found[dispatcher, tuple(dispatcher.typeof_pyval(value) for value in arguments)] = None

    xs = [np.array([[0.5], [-0.25]]), np.array([[1.0]])]         # two series (T_i, 1) of unequal lengths
    for activation in ACTIVATIONS:
        for output in OUTPUTS:
            p = RNTKParams(1, 1.0, 1.0, 0.1, 0.0, 1.0, activation, output, "bidirectional", 0)
            for same in (True, False):
                for with_nngp in (False, True):
                    out = np.zeros((2, 1, 2))
                    out_gp = np.zeros((2, 1, 2) if with_nngp else (0, 0, 0))
                    _add_directions(out, out_gp, xs, xs, same, p,
                                    lambda arguments: record((rntk_pairs, rntk_pairs_serial), arguments),
                                    lambda *arguments: record((variance_planes, variance_planes_serial), arguments))
        for same in (True, False):
            X = np.array([[0.5, -0.25], [1.0, 0.0]])
            side = fc_side(X, np.einsum("ij,ij->i", X, X), 1, 1.0, 0.0, activation)
            record((fc_ntk_inplace, fc_ntk_inplace_serial),
                   fc_arguments(X @ X.T, side, side, 1.0, 0.0, 1, 0, activation, same))
    return list(found)


def warm_up() -> float:
    """Compile, or load from numba's on-disk cache, every specialisation of the engine that kernels call.

    Covers the RNTK pairs (ReLU and erf, last state and mean pooling, K(X) and K(X, Y)) and the fully
    connected NTK, each in its parallel and its serial (one-thread) version. Nothing is run: compiling does
    not start numba's thread pool, so processes forked afterwards stay safe.

    Returns
    -------
    float
        Seconds spent: about two minutes when the cache is empty (compiling runs on one core), well
        under a second when it holds everything (see :func:`is_cached`).
    """
    start = time.perf_counter()
    for dispatcher, types in _specialisations():
        dispatcher.compile(types)
    return time.perf_counter() - start


def _stored(dispatcher: Dispatcher, types: tuple) -> bool:
    """Whether numba's on-disk cache holds ``dispatcher`` compiled for ``types``, fresh for its source.

    This repeats the look-up of ``Dispatcher.compile`` without loading anything: the index file of the
    function is read (numba discards it when it was written by another numba version or for an older
    version of the source file), then the entry of the key that numba would look up (signature, CPU and
    bytecode) and its data file are checked.
    """
    cache = dispatcher._cache
    if not isinstance(cache, FunctionCache):                          # caching off for this function
        return False
    index = cache._cache_file._load_index()
    data_name = index.get(cache._index_key(types, dispatcher.targetctx.codegen()))
    return data_name is not None and os.path.isfile(cache._cache_file._data_path(data_name))


def is_cached() -> bool:
    """Whether every specialisation that :func:`warm_up` prepares is ready without compiling.

    True when each is already compiled in this process or held by numba's on-disk cache for the running
    numba version, this CPU and the current source; then :func:`warm_up` (or a first kernel call) takes well
    under a second. Nothing is compiled or loaded.

    Returns
    -------
    bool
    """
    try:
        return all(
            tuple(types) in dispatcher.overloads or _stored(dispatcher, types)
            for dispatcher, types in _specialisations()
        )
    except (AttributeError, TypeError):
        # numba's cache internals (private) changed shape: "not known to be cached" is the safe answer, it
        # only makes a caller announce a compilation that may then be quick
        return False
