"""The tiled RNTK engine (the registered ``rntk``) equals the literal reference ``rntk_reference`` to 1e-12.

Random inputs of every kind: equal and unequal lengths, 1 and 3 channels, 1-3 layers, every fixed_layers,
ReLU and erf, last state and mean pooling, the three directions, sigma_h zero and positive, K(X) and K(X, Y)
with different numbers of samples, and sizes that cross the engine's column blocks.
"""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import pytest
from numba import njit

from rntk_bench.errors import InvalidParameterError
from rntk_bench.kernels import get_kernel
from rntk_bench.kernels.dual import DUALS
from rntk_bench.kernels.engine import BLOCK, compute_rntk, working_set_bytes
from rntk_bench.kernels.engine.duals import ACOS_P, ACOS_Q, acos_rational, asin, relu_dual
from rntk_bench.kernels.rntk import rntk, rntk_reference
from rntk_bench.threads import limit_threads


@contextlib.contextmanager
def _correlations_rounded_at_random(rng: np.random.Generator):
    """Make the reference move every covariance it passes to a dual activation by one unit in the last place,
    up or down at random (exact correlations of +-1, a sample with itself, are left exact)."""
    duals = dict(DUALS)

    def noisy(function):
        def dual(k11, k22, k12):
            k12 = np.asarray(k12, dtype=float)
            exact = np.abs(k12) >= np.sqrt(k11 * k22)
            sign = rng.choice([-1.0, 1.0], size=np.broadcast(k11, k22, k12).shape)
            return function(k11, k22, np.where(exact, k12, k12 * (1 + sign * 2.0**-52)))
        return dual

    try:
        for name, function in duals.items():
            DUALS[name] = noisy(function)
        yield
    finally:
        DUALS.update(duals)


def assert_matches_reference(*args, **params) -> None:
    """``rntk`` equals ``rntk_reference`` to 1e-12 relative, entry by entry (1e-12 of 1 % of the largest entry
    for the tiny ones), beyond what the rounding of float64 itself allows.

    Two float64 programs that round differently can only agree as far as the recursion is well conditioned.
    The ReLU pairs carry ``1 - c`` of their correlations without cancellation (an arc-cosine of a rounded
    correlation next to 1 would move the kernel by up to ~1e-8) and do not pass through ``DUALS``, so for
    them the bound is 1e-12 everywhere. For erf, whose recursion can amplify a difference from step to step,
    the allowance is measured, not assumed: four times the change of the reference itself when each
    covariance it feeds to a dual activation is moved by one ulp. On well-conditioned data it is below 1e-14
    of the entry, so there the 1e-12 bound is what is tested.
    """
    fast, reference = rntk(*args, **params), rntk_reference(*args, **params)
    assert fast.shape == reference.shape
    rng = np.random.default_rng(0)
    runs = []
    for _ in range(2):
        with _correlations_rounded_at_random(rng):
            runs.append(np.abs(rntk_reference(*args, **params) - reference))
    spread = np.max(runs, axis=0)
    scale = np.abs(reference).max()
    allowed = 1e-12 * np.maximum(np.abs(reference), 1e-2 * scale) + 4 * spread
    worst = np.unravel_index(np.argmax(np.abs(fast - reference) - allowed), fast.shape)
    assert np.all(np.abs(fast - reference) <= allowed), (
        f"entry {worst}: fast {fast[worst]!r}, reference {reference[worst]!r}, allowed {allowed[worst]:.3g}"
    )


def _series(rng: np.random.Generator, n: int, n_channels: int, lengths) -> np.ndarray | list[np.ndarray]:
    """``n`` random series: an array of equal length ``lengths`` (an int), else a list of the given lengths."""
    if isinstance(lengths, int):
        return rng.normal(size=(n, n_channels, lengths))
    return [rng.normal(size=(n_channels, length)) for length in lengths]


# One case per (activation, output, direction); the other factors cycle so that every value of each appears
# several times (a covering design instead of the 2,000-case product; the reference is slow).
_FACTORS = list(itertools.product(("relu", "erf"), ("last", "mean"), ("forward", "reversed", "bidirectional")))
CASES = []
for index, (activation, output, direction) in enumerate(_FACTORS):
    n_layers = 1 + index % 3
    CASES.append({
        "activation": activation, "output": output, "direction": direction, "n_layers": n_layers,
        "fixed_layers": (index // 3) % (n_layers + 1), "sigma_h": (0.0, 0.6)[index % 2],
        "n_channels": (1, 3)[(index // 2) % 2], "equal": index % 4 < 2,
    })


@pytest.mark.parametrize("seed, case", list(enumerate(CASES)), ids=lambda c: "-".join(map(str, c.values()))
                         if isinstance(c, dict) else str(c))
def test_engine_equals_reference(seed, case):
    rng = np.random.default_rng(100 + seed)
    case = dict(case)
    n_channels, equal = case.pop("n_channels"), case.pop("equal")
    X = _series(rng, 7, n_channels, 8 if equal else [5, 1, 8, 3, 8, 6, 2])
    Y = _series(rng, 4, n_channels, 8 if equal else [2, 9, 4, 7])
    params = {**case, "sigma_w": 1.4142, "sigma_u": 0.7, "sigma_b": 0.2}
    assert_matches_reference(X, **params)
    assert_matches_reference(X, Y, **params)


@pytest.mark.parametrize("n_layers, fixed_layers", [(3, f) for f in range(4)] + [(2, 0), (2, 2)])
@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_every_fixed_layers_value(n_layers, fixed_layers, activation):
    rng = np.random.default_rng(7 + n_layers + 10 * fixed_layers)
    X = rng.normal(size=(5, 2, 6))
    params = {"n_layers": n_layers, "fixed_layers": fixed_layers, "activation": activation, "sigma_h": 0.3}
    assert_matches_reference(X, **params)


def test_sizes_across_column_blocks_with_unequal_lengths():
    """More samples than one column block: block edges, rows shared by cost, the remainder, and the triangle
    mirrored in tiles across a shuffled order (samples sorted by length)."""
    rng = np.random.default_rng(11)
    n = BLOCK + 37
    X = [rng.normal(size=(1, length)) for length in rng.integers(1, 5, size=n)]
    Y = [rng.normal(size=(1, length)) for length in rng.integers(1, 6, size=3)]
    for params in ({"sigma_h": 0.4}, {"output": "mean", "n_layers": 2}):
        assert_matches_reference(X, **params)
        assert_matches_reference(Y, X, **params)


def test_equal_lengths_across_column_blocks():
    rng = np.random.default_rng(12)
    X, Y = rng.normal(size=(2 * BLOCK + 3, 4)), rng.normal(size=(5, 4))
    assert_matches_reference(X)
    assert_matches_reference(X, Y, n_layers=2)


def test_mean_pooling_with_unequal_lengths_across_column_blocks():
    """Mean pooling runs a step's columns as whole vectors, past the block into the next block's columns or
    the spare samples, only once all of the block's columns are real; with unequal lengths they are not at
    first, and the block's edge falls inside a run of equal lengths."""
    rng = np.random.default_rng(13)
    Y = [rng.normal(size=(2, length)) for length in rng.integers(1, 6, size=BLOCK + 11)]
    X = [rng.normal(size=(2, length)) for length in (5, 3, 1)]
    assert_matches_reference(X, Y, output="mean", n_layers=2)
    assert_matches_reference(Y[:BLOCK + 5], output="mean")


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 7, 9])
@pytest.mark.parametrize("output", ["last", "mean"])
def test_blocks_widened_to_whole_vectors(n, output):
    """A block of columns is computed from up to ``LANES - 1`` columns to its left (so that its width is a
    whole number of vectors) where there are such columns: rows next to column 0, whose widening stops there,
    rows whose extra columns hold a copy of the row's own series (K(X, Y)), and unequal lengths, where the
    extra columns are longer series than the block's own."""
    rng = np.random.default_rng(40 + n)
    lengths = rng.integers(2, 9, size=n)
    X = [rng.normal(size=(2, length)) for length in lengths]
    Y = [rng.normal(size=(2, length)) for length in rng.integers(2, 9, size=n + 3)]
    Y[1] = X[0].copy()
    params = {"output": output, "n_layers": 2, "sigma_h": 0.0}
    assert_matches_reference(X, **params)
    assert_matches_reference(X, Y, **params)
    assert_matches_reference(rng.normal(size=(n, 7)), **params)


@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("n_channels", [1, 3])
def test_unequal_lengths_run_whole_vectors_with_later_chains_reset(activation, n_channels):
    """Last state, unequal lengths: a step runs its real columns rounded up to whole vectors, the extra ones
    being chains that start later; each must start from the zero state all the same. Forty distinct lengths
    give real-column counts of every remainder modulo the vector width, at every layer."""
    rng = np.random.default_rng(60 + n_channels)
    X = [rng.normal(size=(n_channels, length)) for length in rng.permutation(np.arange(2, 42))]
    Y = [rng.normal(size=(n_channels, length)) for length in rng.integers(1, 45, size=13)]
    Y[4] = X[7].copy()
    for params in ({"n_layers": 3, "sigma_h": 0.0}, {"n_layers": 2, "sigma_h": 0.5}):
        assert_matches_reference(X, activation=activation, **params)
        assert_matches_reference(X, Y, activation=activation, **params)
        assert_matches_reference(Y, X, activation=activation, direction="bidirectional", **params)


@pytest.mark.parametrize("n", [1, 5, 64, 65, 150])
def test_mirror_copies_each_written_entry_onto_its_pair(n):
    """K(X)'s rows write the entry (order[i], order[j]) of each pair i <= j (sorted positions); the tiled
    mirror copies it onto the other, for any order of the samples."""
    from rntk_bench.kernels.engine.mirror import MIRROR_TILE, mirror_tile_row

    rng = np.random.default_rng(n)
    order = rng.permutation(n)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    out = np.full((n, 2, n), np.nan)
    written = rng.normal(size=(n, 2, n))
    for i in range(n):
        for j in range(i, n):
            out[order[i], :, order[j]] = written[order[i], :, order[j]]
    for bi in range((n + MIRROR_TILE - 1) // MIRROR_TILE):
        mirror_tile_row(out, rank, bi)
    for i in range(n):
        for j in range(i, n):
            np.testing.assert_array_equal(out[order[j], :, order[i]], written[order[i], :, order[j]])
            np.testing.assert_array_equal(out[order[i], :, order[j]], written[order[i], :, order[j]])


def test_gram_is_exactly_symmetric():
    rng = np.random.default_rng(13)
    gram = rntk(rng.normal(size=(9, 3, 30)), n_layers=2, output="mean")
    np.testing.assert_array_equal(gram, gram.T)


def test_self_pairs_follow_the_closed_form():
    """With sigma_h = 0, K[l](t, t)(x, x) = q[l](t) and Vphi' = 1/2 for ReLU: the diagonal has a closed form
    (computed here from the variance recursion alone, independently of both implementations' pair loops)."""
    rng = np.random.default_rng(14)
    x = rng.normal(size=(3, 12))
    sigma_w, sigma_u, sigma_b = 1.3, 0.7, 0.1
    q = theta = 0.0                       # zero state before t = 1 (sigma_h = 0)
    for t in range(x.shape[1]):
        q_next = sigma_w**2 * q / 2 + sigma_u**2 * np.mean(x[:, t] ** 2) + sigma_b**2
        theta = q_next + sigma_w**2 * theta / 2
        q = q_next
    expected = q / 2 + theta / 2          # sigma_v^2 (Vphi + Theta Vphi') at c = 1
    value = rntk(x[None], sigma_w=sigma_w, sigma_u=sigma_u, sigma_b=sigma_b)[0, 0]
    assert value == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("n_channels", [1, 2])
@pytest.mark.parametrize("output", ["last", "mean"])
def test_rows_run_together_give_each_pair_its_own_numbers(activation, n_channels, output):
    """The engine runs ``tiles.ROWS`` rows of sorted samples at a time, each later one starting where its
    (shorter) series does. A pair's numbers depend on its two series alone: K(X) of 2 samples (one task of
    two rows), K(X) of all of them in another order, on one thread and on two (where each thread's run of
    rows may end in a smaller group), and K(X, Y) hold the same value for it, to the last bit."""
    rng = np.random.default_rng(70 + n_channels)
    X = [rng.normal(size=(n_channels, length)) * 0.5 for length in rng.integers(3, 30, size=23)]
    X[9] = X[4].copy()                                  # a duplicate, identical column of another row
    params = {"activation": activation, "n_layers": 2, "sigma_h": 0.4, "output": output}
    with limit_threads(2):
        gram = rntk(X, **params)
        order = rng.permutation(len(X))
        shuffled = rntk([X[k] for k in order], **params)
        cross = rntk(X[:12], X[5:], **{**params, "sigma_h": 0.0})
    with limit_threads(1):
        np.testing.assert_array_equal(rntk(X, **params), gram)
    np.testing.assert_array_equal(shuffled, gram[np.ix_(order, order)])
    # K(X, Y) takes a pair of identical series (X[4] and Y's X[9]) as the chain of a sample with itself
    expected = rntk(X, **{**params, "sigma_h": 0.0})
    expected[4, 9] = expected[4, 4]
    np.testing.assert_array_equal(cross, expected[:12, 5:])
    for i, j in [(0, 1), (1, 0), (22, 3), (7, 16), (15, 2), (11, 12)]:   # distinct series
        np.testing.assert_array_equal(rntk([X[i], X[j]], **params), gram[np.ix_([i, j], [i, j])])


@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize(("n", "t"), [(23, 30), (300, 12)])
def test_offsets_side_by_side_give_each_pair_its_own_numbers(activation, n, t):
    """Mean pooling of series of one channel and one length runs several offsets in one loop, their columns
    side by side (``tiles._chain_rows_offsets``: all 29 offsets of 24-column rows at once; 3 at a time of 304
    columns, the last run of 2, and the run shrinking as its offsets end): K(X) its positive offsets, whose
    mirrors are the negative ones, and K(X, Y) its positive ones, the negative ones one at a time. K(X) of
    two of the series (all offsets in one run) and K(X, Y) hold the same numbers for a pair as K(X) to the
    last bit, on one thread and on two; K(X) of the rows equals the reference."""
    rng = np.random.default_rng(n)
    X = np.cumsum(rng.normal(size=(n, t)), axis=1) * 0.2
    X[9] = X[4]                                          # an identical series, another sample
    params = {"activation": activation, "n_layers": 2, "sigma_h": 0.4, "output": "mean"}
    with limit_threads(2):
        gram = rntk(X, **params)
    with limit_threads(1):
        np.testing.assert_array_equal(rntk(X, **params), gram)
    cross = rntk(X[:12], X[5:], **{**params, "sigma_h": 0.0})
    expected = rntk(X, **{**params, "sigma_h": 0.0})
    expected[4, 9] = expected[4, 4]                      # K(X, Y) takes identical series as the sample itself
    np.testing.assert_array_equal(cross, expected[:12, 5:])
    for i, j in [(0, 1), (22, 3), (7, 16)]:
        np.testing.assert_array_equal(rntk(X[[i, j]], **params), gram[np.ix_([i, j], [i, j])])
    assert_matches_reference(X[:40], **params)


def test_thread_count_does_not_change_the_result():
    rng = np.random.default_rng(15)
    X = [rng.normal(size=(2, length)) for length in rng.integers(2, 9, size=40)]
    with limit_threads(1):
        one = rntk(X, output="mean", direction="bidirectional", sigma_h=0.2)
    with limit_threads(2):
        two = rntk(X, output="mean", direction="bidirectional", sigma_h=0.2)
    np.testing.assert_array_equal(one, two)


def test_limit_threads_sets_and_restores_numba_and_blas():
    import numba
    from threadpoolctl import threadpool_info

    before = numba.get_num_threads()
    with limit_threads(1) as n:
        assert n == 1
        assert numba.get_num_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    assert numba.get_num_threads() == before
    for bad in (0, -2, 1.5, "2", True):
        with pytest.raises(InvalidParameterError, match="threads"), limit_threads(bad):
            pass


def test_working_set_does_not_grow_with_the_number_of_test_samples():
    assert working_set_bytes(10**6, 500, 50, 1, 2, 2) == working_set_bytes(10**4, 500, 50, 1, 2, 2)
    assert working_set_bytes(2000, None, 50, 1, 2, 2) < 2.01 * working_set_bytes(1000, None, 50, 1, 2, 2)


def test_cross_gram_in_row_chunks(monkeypatch):
    """K(X, Y) prepares X in chunks of rows; chunk edges change nothing."""
    import importlib

    engine = importlib.import_module("rntk_bench.kernels.engine")
    rng = np.random.default_rng(19)
    X = [rng.normal(size=(2, length)) for length in rng.integers(1, 9, size=23)]
    Y = [rng.normal(size=(2, length)) for length in rng.integers(1, 9, size=6)] + [X[4]]
    whole = rntk(X, Y, output="mean", n_layers=2)
    monkeypatch.setattr(engine, "ROW_CHUNK", 5)
    np.testing.assert_array_equal(rntk(X, Y, output="mean", n_layers=2), whole)
    assert_matches_reference(X, Y, n_layers=2)


@njit(cache=True)
def _apply(function, values):
    out = np.empty_like(values)
    for index in range(values.size):
        out[index] = function(values[index])
    return out


def test_branch_free_arcsin_and_acos_rational_are_accurate():
    mpmath = pytest.importorskip("mpmath")
    from benchmarks.acos_rational import target as acos_rational_exact

    rng = np.random.default_rng(16)
    a = np.concatenate([rng.random(20000), 1 - np.logspace(-16, 0, 2000), np.logspace(-300, 0, 500), [0, 0.5, 1]])
    x = np.concatenate([a, -a])
    reference = np.arcsin(x)
    scale = np.where(reference != 0, np.abs(reference), 1.0)
    assert np.max(np.abs(_apply(asin, x) - reference) / scale) < 5e-16
    # (arccos(a) / sqrt(1 - a^2) - 1) / (1 - a) at 400 of the points, in mpmath with digits to spare
    mpmath.mp.dps = 80
    some = a[:: len(a) // 400]
    exact = np.array([float(acos_rational_exact(t)) for t in map(mpmath.mpf, some)])
    assert np.max(np.abs(_apply(acos_rational, some) / exact - 1)) < 6e-16


def test_acos_rational_coefficients_fit_in_exact_arithmetic():
    """The engine's coefficients (the fit's, rounded to doubles), evaluated in 50-digit arithmetic, are within
    2e-16 of the function (1.1e-16 measured) on a grid finer than the fit's (``benchmarks/acos_rational.py``
    derives them)."""
    mpmath = pytest.importorskip("mpmath")
    from benchmarks.acos_rational import target as acos_rational_exact

    mpmath.mp.dps = 50
    p = [mpmath.mpf(c) for c in ACOS_P][::-1]
    q = [mpmath.mpf(c) for c in ACOS_Q][::-1]
    worst = 0.0
    for k in range(1000):
        t = mpmath.mpf(k) / 1000
        worst = max(worst, float(abs(mpmath.polyval(p, t) / mpmath.polyval(q, t) / acos_rational_exact(t) - 1)))
    assert worst < 2e-16


@njit(cache=True)
def _relu_dual_angles(w):
    out = np.empty_like(w)
    for index in range(w.size):
        out[index] = relu_dual(w[index], 1.0)[1]
    return out


def test_relu_dual_angle_is_accurate_next_to_both_ends():
    """``pi - arccos(1 - w)`` from ``w`` (c = 1 - w) to a few units in the last place, also where ``c`` is
    within 1e-16 of 1 or -1, against long double."""
    rng = np.random.default_rng(20)
    w = np.concatenate([rng.uniform(0, 2, 20000), np.logspace(-300, 0, 2000), 2 - np.logspace(-16, 0, 2000)])
    lw = w.astype(np.longdouble)
    # pi - arccos(c), with no cancellation next to either end: pi - 2 arcsin(sqrt(w / 2)) for c >= 0, and
    # arccos(-c) = 2 arcsin(sqrt((2 - w) / 2)) for c < 0 (2 - w is exact there)
    reference = np.where(w < 1, np.pi - 2 * np.arcsin(np.sqrt(lw / 2)), 2 * np.arcsin(np.sqrt((2 - lw) / 2)))
    reference = reference.astype(float)
    angles = _relu_dual_angles(w)
    scale = np.where(reference > 0, reference, 1.0)
    assert np.max(np.abs(angles - reference) / scale) < 1e-15


def test_engine_entry_point_accepts_validated_lists():
    """``compute_rntk`` is the function behind ``rntk``; a direct call gives the same matrix."""
    from rntk_bench.kernels.rntk_inputs import RNTKParams

    rng = np.random.default_rng(17)
    xs = [rng.normal(size=(length, 2)) for length in (4, 6, 3)]
    p = RNTKParams(2, 1.4142, 0.5, 0.1, 0.0, 1.0, "relu", "last", "forward", 0)
    np.testing.assert_array_equal(compute_rntk(xs, xs, True, p), rntk([x.T for x in xs], n_layers=2))


_FORK_CHECK = """
import multiprocessing, numpy as np
from rntk_bench.kernels import rntk
from rntk_bench.threads import limit_threads

def gram(X):
    with limit_threads(1):
        return rntk(X, n_layers=2)

X = np.random.default_rng(18).normal(size=(12, 7))
with limit_threads(2):
    expected = rntk(X, n_layers=2)            # the parent has used the parallel pool
with multiprocessing.get_context("fork").Pool(1) as pool:
    np.testing.assert_array_equal(pool.apply(gram, (X,)), expected)
print("ok")
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_forked_workers_limited_to_one_thread_are_safe():
    """GNU OpenMP aborts a forked child that starts a thread pool its parent used; one-thread calls run on
    the calling thread only, so a runner's forked workers inside ``limit_threads(1)`` work. The parent is a
    fresh interpreter: this test process may hold other libraries' threads (JAX's), which forking would copy
    in whatever state they are."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _FORK_CHECK], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@pytest.mark.parametrize("output", ["last", "mean"])
def test_bidirectional_is_its_parts_summed_bit_for_bit(output):
    """The runner computes the bidirectional RNTK as the sum of its registered parts (forward + reversed) and
    shares those between settings: that must give the very same numbers as computing it at once."""
    from rntk_bench.kernels.rntk import rntk_parts

    rng = np.random.default_rng(21)
    X = [rng.normal(size=(2, length)) for length in rng.integers(2, 7, size=BLOCK + 5)]
    Y = [rng.normal(size=(2, length)) for length in rng.integers(2, 7, size=4)]
    params = {"direction": "bidirectional", "output": output, "n_layers": 2, "sigma_h": 0.3, "fixed_layers": 1}
    parts = rntk_parts(params)
    assert [part["direction"] for part in parts] == ["forward", "reversed"]
    assert rntk_parts({**params, "direction": "reversed"}) == [{**params, "direction": "reversed"}]
    for args in ((X,), (Y, X)):
        whole = rntk(*args, **params)
        forward, backward = (rntk(*args, **part) for part in parts)
        np.testing.assert_array_equal(whole, forward + backward)
        assert not np.array_equal(forward, backward)  # the two directions really differ on these series


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("output, direction, activation", [
    ("last", "forward", "relu"), ("mean", "bidirectional", "relu"),
    ("mean", "reversed", "erf"), ("last", "bidirectional", "erf"),
])
def test_one_pass_gives_the_rntk_its_nngp_and_the_shallower_networks_bit_for_bit(monkeypatch, threads, output,
                                                                                  direction, activation):
    """``rntk_batch`` on the siblings of a two-layer setting returns the kernels of (n_layers, fixed_layers) =
    (2, 0), (2, 2), (1, 0), (1, 1) from one pass, each equal to its own computation to the last bit: on K(X)
    across column blocks and on K(X, Y) across row chunks."""
    import importlib

    from rntk_bench.kernels.rntk import rntk_batch, rntk_siblings

    engine = importlib.import_module("rntk_bench.kernels.engine")
    monkeypatch.setattr(engine, "ROW_CHUNK", 7)
    rng = np.random.default_rng(23)
    X = [rng.normal(size=(2, length)) for length in rng.integers(1, 8, size=BLOCK + 9)]
    Y = [rng.normal(size=(2, length)) for length in rng.integers(1, 8, size=5)] + [X[3]]
    params = {"output": output, "direction": direction, "activation": activation, "n_layers": 2,
              "sigma_h": 0.4, "sigma_b": 0.2}
    with limit_threads(threads):
        for args in ((X,), (Y, X)):
            settings = rntk_siblings({**params, "fixed_layers": 2})
            assert [(s["n_layers"], s["fixed_layers"]) for s in settings] == [(2, 0), (2, 2), (1, 0), (1, 1)]
            batch = rntk_batch(args[0], args[1] if len(args) > 1 else None, settings)
            alone = [rntk(*args, **setting) for setting in settings]
            for setting, from_batch, by_itself in zip(settings, batch, alone, strict=True):
                assert from_batch.flags.c_contiguous
                np.testing.assert_array_equal(from_batch, by_itself, err_msg=str(setting))
            # four different kernels, not one read out four times
            assert len({gram.tobytes() for gram in alone}) == 4


def test_three_layers_give_every_shallower_network_from_one_pass():
    """``compute_rntk(..., all_depths=True)``: depth d + 1 at item d, NTK and NNGP, mean pooling."""
    from rntk_bench.kernels.rntk import rntk_batch, rntk_siblings

    rng = np.random.default_rng(25)
    X = [rng.normal(size=(1, length)) for length in rng.integers(2, 7, size=9)]
    settings = rntk_siblings({**get_kernel("rntk", n_layers=3, output="mean", sigma_b=0.3).params})
    assert [(s["n_layers"], s["fixed_layers"]) for s in settings] == [(3, 0), (3, 3), (2, 0), (2, 2), (1, 0), (1, 1)]
    for setting, gram in zip(settings, rntk_batch(X, None, settings), strict=True):
        np.testing.assert_array_equal(gram, rntk(X, **setting), err_msg=str(setting))


def test_siblings_only_pair_fixed_layers_zero_with_the_nngp():
    from rntk_bench.kernels.rntk import rntk_batch, rntk_siblings
    from rntk_bench.kernels.rntk_inputs import RNTKParams

    assert rntk_siblings({"n_layers": 3, "fixed_layers": 1}) == [{"n_layers": 3, "fixed_layers": 1}]
    X = np.random.default_rng(24).normal(size=(5, 6))
    # a list that is not a sibling pair is computed setting by setting
    (single,) = rntk_batch(X, None, [{"n_layers": 2, "fixed_layers": 1}])
    np.testing.assert_array_equal(single, rntk(X, n_layers=2, fixed_layers=1))
    p = RNTKParams(2, 1.4142, 0.5, 0.1, 0.0, 1.0, "relu", "last", "forward", 1)
    with pytest.raises(InvalidParameterError, match="with_nngp needs fixed_layers = 0"):
        compute_rntk([x[:, None] for x in X], [x[:, None] for x in X], True, p, with_nngp=True)
    with pytest.raises(InvalidParameterError, match="all_depths needs fixed_layers = 0"):
        compute_rntk([x[:, None] for x in X], [x[:, None] for x in X], True, p, all_depths=True)


def _planes_of_numpy(X, t_max, p):
    """The engine's per-sample planes of the series ``X`` (``prepare_side``) and the same planes from the NumPy
    recursion of ``rntk_inputs``, in the planes' layout: ``(side, {plane: expected})``."""
    from rntk_bench.kernels.engine.prepare import (
        FIRST,
        INP,
        REC,
        RELU_NORM,
        SECOND,
        SHARE_SCALE,
        VARIANCE,
        dual_factors,
        prepare_side,
    )
    from rntk_bench.kernels.rntk_inputs import Padded, term_weights, variance_terms

    side = prepare_side(X, t_max, p)
    padded = Padded.from_sequences([X[k] for k in side.order], t_max)
    q, recurrent, below = variance_terms(padded, p)
    first, second = dual_factors(q, p.activation)
    expected = {VARIANCE: q, FIRST: first, SECOND: second}
    if p.activation == "relu":
        rec, inp, bias = term_weights(q, recurrent, below, p)
        if padded.values.shape[2] == 1:
            inp[0] *= np.sign(padded.values[:, :, 0])
        expected.update({REC: rec * SHARE_SCALE, INP: inp * SHARE_SCALE, FIRST: bias * SHARE_SCALE,
                         SECOND: second * RELU_NORM})
    return side, {plane: values.transpose(0, 2, 1) for plane, values in expected.items()}


@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("n_channels, sigma_h, sigma_b", [(1, 0.0, 0.1), (1, 0.7, 0.0), (3, 0.5, 0.3)])
def test_compiled_planes_equal_the_numpy_recursion(activation, n_channels, sigma_h, sigma_b):
    """ReLU bit for bit (the shares and the root times the planes' constants); erf to the last bits (libm's
    arcsine against NumPy's)."""
    from rntk_bench.kernels.engine.prepare import SECOND, VARIANCE, prepare_side
    from rntk_bench.kernels.rntk_inputs import RNTKParams
    from rntk_bench.kernels.validation import check_sequences

    rng = np.random.default_rng(7)
    X = check_sequences([rng.normal(size=(n_channels, length)) for length in (9, 4, 9, 1, 6, 7)])
    p = RNTKParams(3, 1.3, 0.8, sigma_b, sigma_h, 1.0, activation, "last", "forward", 0)
    side, expected = _planes_of_numpy(X, 11, p)
    assert side.factors.shape[0] == len(expected)
    for plane, values in expected.items():
        if activation == "relu":
            assert np.array_equal(side.factors[plane], values), plane
        else:
            np.testing.assert_allclose(side.factors[plane], values, rtol=1e-14, atol=0)
    for k, start in enumerate(side.start):                     # zero before a series starts, positive after
        assert (side.factors[VARIANCE][:, :start, k] == 0).all() and (side.factors[VARIANCE][:, start:, k] > 0).all()
    # the spare samples the tiled loops ask for: the same arrays for the real ones, zero variance after them
    spared = prepare_side(X, 11, p, spare=8)
    for name in ("values", "scaled", "factors"):
        real, extended = getattr(side, name), getattr(spared, name)
        if real.size:
            assert extended.shape[-1] == real.shape[-1] + 8, name
            assert np.array_equal(extended[..., :real.shape[-1]], real), name
    assert (spared.values[..., len(X):] == 0).all() and (spared.factors[VARIANCE][..., len(X):] == 0).all()
    assert np.array_equal(spared.factors[SECOND][..., len(X):], np.zeros_like(spared.factors[SECOND][..., len(X):])
                          if activation == "relu" else np.ones_like(spared.factors[SECOND][..., len(X):]))


@pytest.mark.parametrize("n_channels", [1, 3])
def test_relu_planes_bit_for_bit_where_the_self_dual_takes_its_general_form(n_channels):
    """The ReLU planes' vectorised rows (``prepare._relu_row``) take the self dual's short form and hand a row back
    to the exact one where some variance lies outside ``SQUARE_SAFE``: with series at magnitudes on both sides
    of it, in several blocks of samples of unequal lengths and two layers, the planes are still the NumPy
    recursion's to the last bit, and both kinds of row occur."""
    from rntk_bench.kernels.engine.prepare import PLANE_BLOCK, SQUARE_SAFE, VARIANCE, _relu_row
    from rntk_bench.kernels.rntk_inputs import RNTKParams
    from rntk_bench.kernels.validation import check_sequences

    rng = np.random.default_rng(5)
    n = 2 * PLANE_BLOCK + 7
    # variances from about 1e-160 to 1e152: below SQUARE_SAFE, inside, and above it where q * q is still finite
    scales = 10.0 ** rng.choice([-80.0, -40.0, 0.0, 40.0, 75.7], size=n)
    X = check_sequences([rng.normal(size=(n_channels, rng.integers(1, 13))) * scale for scale in scales])
    p = RNTKParams(2, 1.3, 0.8, 0.0, 0.0, 1.0, "relu", "last", "forward", 0)
    with np.errstate(under="ignore"):             # the NumPy recursion's squares of the smallest variances
        side, expected = _planes_of_numpy(X, 12, p)
    for plane, values in expected.items():
        assert np.array_equal(side.factors[plane], values), plane
    q = side.factors[VARIANCE]
    outside = (q != 0) & ((q < SQUARE_SAFE[0]) | (q > SQUARE_SAFE[1]))
    assert outside.any() and (~outside & (q > 0)).any()      # both forms of the self dual were needed

    # a row rewritten by the vectorised loop: False exactly where the step before holds a variance outside
    factors = side.factors.copy()
    inner = np.zeros(0) if n_channels == 1 else np.ones(12)   # (layer 0, several channels: any inner products)
    for layer in range(2):
        for s in range(1, 12):
            returned = _relu_row(layer, s, 0, n, inner, np.zeros(n, dtype=np.int64), side.start, 1.69, 0.64, 0.0,
                                 0.0, 0.0, factors, side.values)
            used = outside[layer, s - 1] & (side.start < s)
            if layer > 0:
                used |= outside[layer - 1, s] & (side.start <= s)
            assert returned == (not used.any()), (layer, s)
            factors[:] = side.factors


def test_self_dual_shortcut_is_the_general_formula_bit_for_bit():
    """Where ``q * q`` is a normal number, ``_self_dual`` skips the square root and division of the ReLU dual
    of a variance with itself (norm = q and c = 1 exactly): the same bits as the general formula at every
    magnitude in that range, its ends included, and the general formula outside it."""
    import math

    from rntk_bench.kernels.engine.prepare import SQUARE_SAFE, _self_dual

    def general(q):                                   # the NumPy formula's steps, as _self_dual takes them
        norm = math.sqrt(q * q)
        c = min(max(q / norm, -1.0), 1.0) if norm > 0 else 0.0
        if c == 1.0:
            return norm * (c * math.pi + 0.0) / (2.0 * math.pi)
        angle = math.pi - math.acos(c)
        return norm * (c * angle + math.sqrt((1.0 - c) * (1.0 + c))) / (2.0 * math.pi)

    rng = np.random.default_rng(11)
    inside = np.concatenate([10.0 ** rng.uniform(-150, 150, size=20000), rng.uniform(0.0, 10.0, size=20000),
                             [SQUARE_SAFE[0], SQUARE_SAFE[1], np.nextafter(SQUARE_SAFE[0], 1.0), 1.0, 0.01]])
    for q in inside:
        assert math.sqrt(q * q) == q                  # what the shortcut rests on
        assert _self_dual(True, q) == general(q), q
    for q in (0.0, 1e-170, 5e-324, 1e-160, 1e170, np.nextafter(SQUARE_SAFE[0], 0.0)):
        assert _self_dual(True, q) == general(q), q


def test_self_inner_of_one_channel_is_the_einsum_bit_for_bit():
    """The one-channel shortcut gives the numbers of the general form, at every magnitude and at padded steps."""
    from rntk_bench.kernels.rntk_inputs import Padded, self_inner

    rng = np.random.default_rng(3)
    series = [rng.normal(size=(length, 1)) * 10.0 ** rng.integers(-150, 150, size=(length, 1))
              for length in (40, 17, 40, 3)]
    padded = Padded.from_sequences(series, 40)
    general = np.einsum("nsc,nsc->ns", padded.values, padded.values) / 1
    inner = self_inner(padded.values)
    assert inner.shape == (4, 40) and inner.flags.c_contiguous
    assert np.array_equal(inner, general)
    assert (inner[3, :37] == 0).all() and (inner[3, 37:] > 0).all()


def test_engine_cache_entries_depend_on_every_engine_source_file(tmp_path):
    """numba checks only a cached function's own file; the step loops inline ``duals.py``, so a changed
    dual must invalidate them too: every engine function's cache stamp carries the hash of all engine files."""
    from rntk_bench.kernels.engine import jit, tiles

    for name in ("duals.py", "tiles.py", "jit.py"):
        (tmp_path / name).write_text((jit.ENGINE_DIR / name).read_text())
    before = jit.engine_source_hash(tmp_path)
    assert jit.engine_source_hash(tmp_path) == before
    with open(tmp_path / "duals.py", "a") as handle:
        handle.write("\n# changed\n")
    assert jit.engine_source_hash(tmp_path) != before

    locator = tiles._pairs_relu_last._cache._impl.locator
    assert type(locator).__name__.startswith("Engine")
    assert locator.get_source_stamp()[1] == jit.engine_source_hash()
