"""``benchmarks.balance``: the threads' runs of the K(X) triangle, their work counts, and the fixed-cost fit."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.__main__ import Case
from benchmarks.balance import ROW_STEP_CASES, Triangle, fixed_cost, row_steps, step_costs
from rntk_bench.kernels.engine.schedule import ROW_STEP_COLUMNS
from rntk_bench.kernels.rntk import rntk

CASES = [Case("equal lengths, two layers", 37, 9, n_layers=2), Case("unequal lengths", 41, 12, unequal=True)]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
@pytest.mark.parametrize("n_threads", [2, 3])
def test_the_threads_runs_fill_the_upper_triangle_of_the_kernel(case, n_threads):
    X = case.data()
    triangle = Triangle.of(X, case.kernel_params)
    bounds = triangle.bounds(n_threads)
    assert bounds[0] == 0 and bounds[-1] == len(X) and np.all(np.diff(bounds) >= 0)
    triangle.out[:] = np.nan
    seconds = triangle.run_together(bounds)
    assert len(seconds) == n_threads and min(seconds) >= 0.0
    expected = rntk(X, **case.kernel_params)
    # the pairs (i, j >= i) of the samples sorted longest first, in the original order
    rank = np.empty(len(X), dtype=np.int64)
    rank[triangle.order] = np.arange(len(X))
    written = rank[:, None] <= rank[None, :]
    np.testing.assert_allclose(triangle.out[:, 0, :][written], expected[written], rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_work_counts_every_pair_step_and_each_rows_steps(case):
    X = case.data()
    triangle = Triangle.of(X, case.kernel_params)
    bounds = triangle.bounds(2)
    pairs, steps = triangle.work(bounds)
    assert pairs.sum() == pytest.approx(case.pair_steps(X) / case.n_layers)
    # one block per row here: a row runs as many steps as its own series (the columns are shorter or equal)
    assert steps.sum() == pytest.approx(sum(x.shape[-1] for x in X))
    # the split evens out pairs plus the fixed cost of each row's step
    costs = pairs + ROW_STEP_COLUMNS * steps
    assert costs.max() - costs.min() <= 2 * (max(x.shape[-1] for x in X) * (len(X) + ROW_STEP_COLUMNS))


def test_a_split_with_another_fixed_cost_moves_rows_to_the_wide_half():
    triangle = Triangle.of(Case("equal", 60, 5).data(), {})
    assert triangle.bounds(2, 0.0)[1] < triangle.bounds(2, 200.0)[1]


def test_fixed_cost_recovers_the_cost_that_made_the_times():
    pairs = np.array([3.8e7, 3.7e7, 2.1e7, 5.0e7])
    steps = np.array([4.4e4, 1.05e5, 8.0e4, 3.0e4])
    seconds = 1.6e-9 * (pairs + 55.0 * steps)
    assert fixed_cost(seconds, pairs, steps) == pytest.approx(55.0, rel=1e-9)


def test_the_balance_is_measured_for_the_last_state_only():
    with pytest.raises(ValueError, match="last state"):
        Triangle.of(Case("mean", 5, 4, output="mean").data(), {"output": "mean"})


def test_step_costs_recover_the_costs_that_made_the_times():
    pairs = np.array([1.25e7, 1.03e7, 5.0e7, 4.14e7])
    steps = np.array([5.0e4, 4.95e4, 1.0e5, 9.96e4])
    a, b = step_costs(1.6e-9 * pairs + 8.0e-8 * steps, pairs, steps)
    assert a == pytest.approx(1.6e-9, rel=1e-9) and b == pytest.approx(8.0e-8, rel=1e-9)


def test_row_steps_time_each_whole_triangle_with_its_counts():
    cases = [Case("equal lengths, two layers", 30, 7, n_layers=2), Case("unequal lengths", 33, 12, unequal=True)]
    results = row_steps(cases, repeat=1, rounds=2)
    for case, result in zip(cases, results):
        X = case.data()
        assert result["case"] is case and result["seconds"] > 0.0
        assert result["pairs"] == pytest.approx(case.pair_steps(X) / case.n_layers)
        assert result["steps"] == pytest.approx(sum(x.shape[-1] for x in X))     # one block per row here
    # the command's cases: equal lengths at several sizes, and the quick benchmark's unequal ones
    assert [case.unequal for case in ROW_STEP_CASES].count(True) == 2
    assert len({case.n for case in ROW_STEP_CASES if not case.unequal}) >= 3
