"""How the tiled loops share their rows between threads: a cost per task, and contiguous groups of equal cost.

numba's ``prange`` gives each thread an equal number of consecutive iterations. The tasks of the RNTK loops
(a row of pairs, or a row against a block of columns) cost alike only when the series have one length:
with unequal lengths, sorted longest first, the first rows hold the long chains, and a Gram matrix of
lengths spread over ``[T/3, T]`` gave one of two threads 54 % of the work. So the loops run ``prange`` over
groups, one per thread, and each group is a run of consecutive tasks whose estimated costs add up to an
equal share. Which thread computes a pair changes no number: each pair's chain is computed the same way
wherever it runs, and no two tasks write the same entry.

Costs are in column-steps (one pair advanced one time step through the layers), plus a fixed cost for each
step of a row, in columns: ``ROW_STEP_COLUMNS`` for the last state (and for the offset 0 of a mean-pooled K(X),
a small part of its chains), ``STEP_COLUMNS`` for each call of a step loop of mean pooling's other chains. Every
sum over columns is taken from prefix sums of the sorted lengths, so a task's cost takes a binary search, not a
pass over its columns.

The last state's fixed cost was chosen with ``python -m benchmarks.balance``, which runs each thread's rows of
the quick benchmark's K(X) triangles at once, one Python thread each, split with several fixed costs in turn.
With the 14 columns of a one-row step call (Intel Xeon, 2026-12-03), the thread of narrow rows took 6-16 %
longer than the other on an AMD Zen 4 (2 cores, 2026-12-06): the last state's two-row calls, the start of
their loops and the narrow rows' short loops cost more per step. 40 columns evened the threads out on most
cases and took up to 3 % off the best time of the two threads' runs in most (whole calls: within their noise;
``benchmarks/README.md``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from rntk_bench.kernels.engine.jit import JIT

STEP_COLUMNS = 14  # mean pooling: a one-row step call's fixed cost (~30 ns) over a column's (~2.2 ns)
ROW_STEP_COLUMNS = 40  # the last state: a row's step besides its columns, in columns (``benchmarks.balance``)


@njit(**JIT)
def prefix_sums(lengths):
    """``(P1, P2)`` of sorted lengths: ``P1[k]`` the sum of the first ``k``, ``P2[k]`` that of their squares."""
    n = lengths.shape[0]
    p1 = np.zeros(n + 1)
    p2 = np.zeros(n + 1)
    for k in range(n):
        p1[k + 1] = p1[k] + lengths[k]
        p2[k + 1] = p2[k] + float(lengths[k]) * lengths[k]
    return p1, p2


@njit(**JIT)
def _first_shorter(lengths, length, lo, hi):
    """First index in ``[lo, hi)`` whose length is below ``length`` (``hi`` if none); lengths non-increasing."""
    while lo < hi:
        mid = (lo + hi) // 2
        if lengths[mid] < length:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(**JIT)
def last_state_cost(length, lengths, p1, lo, hi, step_columns=ROW_STEP_COLUMNS):
    """Column-steps of a row of ``length`` steps against the columns ``[lo, hi)``, last state: each pair runs
    the chain of the shorter series; the block's steps, ``min(length, lengths[lo])`` of them, cost
    ``step_columns`` each besides."""
    if hi <= lo:
        return 0.0
    m = _first_shorter(lengths, length, lo, hi)
    pairs = (m - lo) * float(length) + (p1[hi] - p1[m])
    return pairs + step_columns * float(min(length, lengths[lo]))


@njit(**JIT)
def _later_steps(a, b):
    """Pairs of steps ``(s, u)`` with ``u`` after ``s``, of right-aligned series of ``a`` and ``b`` steps."""
    if b >= a:
        return a * (a - 1) / 2.0
    return a * b - b * (b + 1) / 2.0


@njit(**JIT)
def positive_offsets_cost(length, lengths, p1, p2, lo, hi):
    """Column-steps of a row of ``length`` steps against the columns ``[lo, hi)``, mean pooling, chains of the
    offsets ``u - s > 0`` only (``tiles._row_square``)."""
    if hi <= lo:
        return 0.0
    a = float(length)
    m = _first_shorter(lengths, length, lo, hi)
    pairs = (m - lo) * _later_steps(a, a) + a * (p1[hi] - p1[m]) - ((p2[hi] - p2[m]) + (p1[hi] - p1[m])) / 2.0
    return pairs + STEP_COLUMNS * _later_steps(a, float(lengths[lo]))


@njit(**JIT)
def all_offsets_cost(length, lengths, p1, lo, hi):
    """Column-steps of a row of ``length`` steps against the columns ``[lo, hi)``, mean pooling, every offset:
    every pair of steps of the row and a column."""
    if hi <= lo:
        return 0.0
    return float(length) * ((p1[hi] - p1[lo]) + STEP_COLUMNS * float(lengths[lo]))


@njit(**JIT)
def equal_groups(costs, n_groups):
    """Bounds of ``n_groups`` runs of consecutive tasks of about equal total cost.

    Returns
    -------
    ndarray of shape (n_groups + 1,), int64
        Group ``g`` is the tasks ``bounds[g] <= k < bounds[g + 1]``; ``bounds[0] = 0``, ``bounds[-1]`` the
        number of tasks. A group may be empty (more groups than tasks, or one task costing more than a share).
    """
    n = costs.shape[0]
    bounds = np.zeros(n_groups + 1, dtype=np.int64)
    bounds[n_groups] = n
    total = 0.0
    for k in range(n):
        total += costs[k]
    done = 0.0
    g = 1
    for k in range(n):
        # a task goes to the group whose share its middle falls in
        middle = done + costs[k] / 2.0
        while g < n_groups and middle >= total * g / n_groups:
            bounds[g] = k
            g += 1
        done += costs[k]
    while g < n_groups:
        bounds[g] = n
        g += 1
    return bounds


# The tasks of each loop of ``tiles._rntk_pairs``, with their costs. Lengths are the sorted ones of ``Side``.

@njit(**JIT)
def triangle_costs(lengths, block, step_columns=ROW_STEP_COLUMNS):
    """K(X): row ``i`` against the columns ``j >= i`` in blocks of ``block`` (the last state, or the offset 0
    of mean pooling), each block's step costing ``step_columns`` besides its columns."""
    n = lengths.shape[0]
    p1, _ = prefix_sums(lengths)
    costs = np.zeros(n)
    for i in range(n):
        for j0 in range(i, n, block):
            costs[i] += last_state_cost(lengths[i], lengths, p1, j0, min(j0 + block, n), step_columns)
    return costs


@njit(**JIT)
def square_costs(lengths, block):
    """K(X) with mean pooling: row ``i`` against every column, the offsets ``u - s > 0`` (``_row_square``)."""
    n = lengths.shape[0]
    p1, p2 = prefix_sums(lengths)
    costs = np.zeros(n)
    for i in range(n):
        for j0 in range(0, n, block):
            costs[i] += positive_offsets_cost(lengths[i], lengths, p1, p2, j0, min(j0 + block, n))
    return costs


@njit(**JIT)
def cross_costs(x_lengths, y_lengths, block, mean):
    """K(X, Y): task ``i * n_blocks + b`` is row ``i`` against the ``b``-th block of columns."""
    n_y = y_lengths.shape[0]
    n_blocks = (n_y + block - 1) // block
    p1, _ = prefix_sums(y_lengths)
    costs = np.zeros(x_lengths.shape[0] * n_blocks)
    for i in range(x_lengths.shape[0]):
        for b in range(n_blocks):
            lo, hi = b * block, min(b * block + block, n_y)
            if mean:
                costs[i * n_blocks + b] = all_offsets_cost(x_lengths[i], y_lengths, p1, lo, hi)
            else:
                costs[i * n_blocks + b] = last_state_cost(x_lengths[i], y_lengths, p1, lo, hi)
    return costs


@njit(**JIT)
def row_group_costs(costs, n_rows, n_blocks, rows):
    """The tasks of ``cross_costs`` taken ``rows`` rows at a time: task ``r * n_blocks + b`` is rows
    ``rows r .. rows r + rows - 1`` (those that exist) against block ``b``, its cost the sum of theirs."""
    n_tasks = (n_rows + rows - 1) // rows
    grouped = np.zeros(n_tasks * n_blocks)
    for i in range(n_rows):
        for b in range(n_blocks):
            grouped[(i // rows) * n_blocks + b] += costs[i * n_blocks + b]
    return grouped


@njit(**JIT)
def halves_costs(n):
    """Row ``p`` of a triangle of ``n`` rows: ``n - p`` items from the diagonal on (``tiles._sum_halves``'s rows
    of K(X), the mirror's rows of tiles)."""
    costs = np.zeros(n)
    for p in range(n):
        costs[p] = n - p
    return costs
