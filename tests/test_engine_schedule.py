"""How the tiled loops share their tasks between threads (rntk_bench/kernels/engine/schedule.py)."""

from __future__ import annotations

import numpy as np
import pytest

from rntk_bench.kernels.engine import _add_directions
from rntk_bench.kernels.engine.schedule import (
    ROW_STEP_COLUMNS,
    STEP_COLUMNS,
    all_offsets_cost,
    cross_costs,
    equal_groups,
    last_state_cost,
    positive_offsets_cost,
    prefix_sums,
    row_group_costs,
    square_costs,
    triangle_costs,
)
from rntk_bench.kernels.engine.tiles import rntk_pairs_serial
from rntk_bench.kernels.rntk_inputs import RNTKParams
from rntk_bench.kernels.validation import check_sequences


def _sorted_lengths(rng, n, low=1, high=40):
    return np.sort(rng.integers(low, high + 1, size=n))[::-1].astype(np.int64)


def _steps(length, t_max):
    return range(t_max - length, t_max)


@pytest.mark.parametrize("seed", range(5))
def test_row_costs_count_the_pair_steps_and_step_calls(seed):
    rng = np.random.default_rng(seed)
    lengths = _sorted_lengths(rng, 30)
    t_max = int(lengths[0])
    p1, p2 = prefix_sums(lengths)
    for _ in range(40):
        lo = int(rng.integers(0, 30))
        hi = int(rng.integers(lo + 1, 31))
        a = int(rng.integers(1, 41))
        block = lengths[lo:hi]
        # last state: the right-aligned chain of the shorter series; a fixed cost per step of the longest
        pairs = sum(min(a, b) for b in block)
        expected = pairs + ROW_STEP_COLUMNS * min(a, lengths[lo])
        assert last_state_cost(a, lengths, p1, lo, hi) == pytest.approx(expected, rel=1e-12)
        assert last_state_cost(a, lengths, p1, lo, hi, 0.0) == pytest.approx(pairs, rel=1e-12)
        assert last_state_cost(a, lengths, p1, lo, hi, 3.5) == pytest.approx(pairs + 3.5 * min(a, lengths[lo]),
                                                                             rel=1e-12)
        # mean pooling, offsets u - s > 0: pairs of steps counted one by one on the padded axis
        t = max(t_max, a)
        later = [sum(1 for s in _steps(a, t) for u in _steps(int(b), t) if u > s) for b in block]
        calls = sum(1 for s in _steps(a, t) for u in _steps(int(lengths[lo]), t) if u > s)
        assert positive_offsets_cost(a, lengths, p1, p2, lo, hi) == pytest.approx(
            sum(later) + STEP_COLUMNS * calls, rel=1e-12)
        # every offset: every pair of steps
        assert all_offsets_cost(a, lengths, p1, lo, hi) == pytest.approx(
            a * block.sum() + STEP_COLUMNS * a * lengths[lo], rel=1e-12)
    assert last_state_cost(5, lengths, p1, 3, 3) == 0.0


def test_task_costs_cover_every_task():
    rng = np.random.default_rng(7)
    lengths = _sorted_lengths(rng, 11)
    p1, p2 = prefix_sums(lengths)
    block = 4
    triangle = triangle_costs(lengths, block)
    assert triangle[3] == pytest.approx(sum(last_state_cost(lengths[3], lengths, p1, j0, min(j0 + block, 11))
                                            for j0 in range(3, 11, block)))
    square = square_costs(lengths, block)
    assert square[5] == pytest.approx(sum(positive_offsets_cost(lengths[5], lengths, p1, p2, j0, min(j0 + block, 11))
                                          for j0 in range(0, 11, block)))
    y = _sorted_lengths(rng, 9)
    q1, _ = prefix_sums(y)
    cross = cross_costs(lengths, y, block, False)
    assert cross.shape == (11 * 3,)
    assert cross[2 * 3 + 1] == pytest.approx(last_state_cost(lengths[2], y, q1, 4, 8))
    assert cross_costs(lengths, y, block, True)[2 * 3 + 2] == pytest.approx(all_offsets_cost(lengths[2], y, q1, 8, 9))


def test_row_group_costs_sum_each_group_of_rows_per_block():
    """K(X, Y) tasks of ``rows`` rows against a block cost the sum of their rows' tasks; a last, smaller group
    of rows (11 = 4 + 4 + 3) is summed over the rows it has."""
    costs = np.arange(11 * 3, dtype=float) ** 1.5           # 11 rows, 3 blocks: task i * 3 + b
    grouped = row_group_costs(costs, 11, 3, 4)
    assert grouped.shape == (3 * 3,)
    for group, rows in enumerate([range(0, 4), range(4, 8), range(8, 11)]):
        for b in range(3):
            assert grouped[group * 3 + b] == pytest.approx(sum(costs[i * 3 + b] for i in rows), rel=1e-15)
    np.testing.assert_array_equal(row_group_costs(costs, 11, 3, 1), costs)


@pytest.mark.parametrize("n_groups", [1, 2, 3, 8, 40])
def test_groups_are_consecutive_runs_of_about_equal_cost(n_groups):
    rng = np.random.default_rng(n_groups)
    costs = rng.uniform(1.0, 50.0, size=25) ** 2
    bounds = equal_groups(costs, n_groups)
    assert bounds[0] == 0 and bounds[-1] == costs.size
    assert np.all(np.diff(bounds) >= 0)
    share = costs.sum() / n_groups
    for g in range(n_groups):
        # each run ends at the task whose middle crosses its share: off by at most one task's cost
        assert abs(costs[bounds[g]:bounds[g + 1]].sum() - share) <= costs.max()
    equal = equal_groups(np.ones(10), 2)
    np.testing.assert_array_equal(equal, [0, 5, 10])


def test_unequal_lengths_are_balanced_where_equal_counts_were_not():
    """Lengths spread over [T/3, T]: rows paired as (k, n - 1 - k), equal numbers of pairs per thread, gave one
    of two threads 54 % of the triangle's pair-steps."""
    rng = np.random.default_rng(500 * 1000 + 150)
    lengths = np.sort(rng.integers(50, 151, size=500))[::-1].astype(np.int64)
    pair_steps = np.array([lengths[i:].sum() for i in range(500)], dtype=float)  # sum of min(L_i, L_j), j >= i
    costs = pair_steps + ROW_STEP_COLUMNS * lengths          # one block per row: a row runs its own length's steps
    halves = equal_groups(triangle_costs(lengths, 1024), 2)
    first = costs[:halves[1]].sum() / costs.sum()
    assert abs(first - 0.5) < 0.01
    paired_first_half = np.r_[0:125, 375:500]                # the scheme it replaces
    assert pair_steps[paired_first_half].sum() / pair_steps.sum() > 0.53


@pytest.mark.parametrize("output", ["last", "mean"])
@pytest.mark.parametrize("same", [True, False])
def test_how_tasks_are_grouped_changes_no_number(output, same):
    rng = np.random.default_rng(3)
    xs = check_sequences([rng.normal(size=(1, n)) for n in rng.integers(2, 15, size=21)])
    ys = xs if same else check_sequences([rng.normal(size=(1, n)) for n in rng.integers(2, 15, size=8)])
    p = RNTKParams(2, 1.4142, 0.5, 0.1, 0.2, 1.0, "relu", output, "bidirectional", 0)
    results = []
    for n_groups in (1, 2, 3, 7, 50):
        out = np.zeros((len(xs), 2, len(ys)))
        out_gp = np.zeros_like(out)
        _add_directions(out, out_gp, xs, ys, same, p,
                        lambda arguments, n_groups=n_groups: rntk_pairs_serial(*arguments[:-1], n_groups))
        results.append((out, out_gp))
    for out, out_gp in results[1:]:
        np.testing.assert_array_equal(out, results[0][0])
        np.testing.assert_array_equal(out_gp, results[0][1])
    assert np.all(results[0][0] != 0.0)


def test_with_mean_pooling_every_thread_but_the_first_reads_its_own_copy_of_the_samples():
    from rntk_bench.kernels.engine.tiles import COPY_BUDGET, _side_copies, _thread_side

    rng = np.random.default_rng(5)
    side = (rng.normal(size=(6, 1, 9)), np.zeros((0, 0, 0)), rng.normal(size=(5, 2, 6, 9)))
    copies = _side_copies(side, 3, True)
    assert [c.shape for c in copies] == [(2, 6, 1, 9), (2, 0, 0, 0), (2, 5, 2, 6, 9)]
    first = _thread_side(side, copies, 0)
    assert all(np.shares_memory(a, b) for a, b in zip(first[::2], side[::2]))
    for g in (1, 2):
        own = _thread_side(side, copies, g)
        for a, b in zip(own, side):
            np.testing.assert_array_equal(a, b)
        assert not any(np.shares_memory(a, b) for a, b in zip(own[::2], side[::2]))
    # none for the last state, on one thread, or where 11 copies would exceed the budget
    assert _side_copies(side, 3, False)[0].shape[0] == 0
    assert _side_copies(side, 1, True)[0].shape[0] == 0
    big = (np.zeros((1, 1, 1)), np.zeros((0, 0, 0)), np.zeros((1, 1, 1, COPY_BUDGET // 8 // 10)))
    assert _side_copies(big, 12, True)[0].shape[0] == 0
    assert np.shares_memory(_thread_side(big, _side_copies(big, 12, True), 5)[2], big[2])
