"""How evenly the last state's K(X) triangle is shared between threads, and the fixed cost of a row's step.

``python -m benchmarks.balance`` takes each last-state case of the quick benchmark, splits the rows of its
triangle into one run per thread as the engine does (``schedule.equal_groups`` of ``schedule.triangle_costs``),
and runs the runs at once, one Python thread each (the compiled loops release the GIL), timing each run on
its own thread and all of them together. ``--step-columns 14,40,60`` splits the rows with each of those
fixed costs of a row's step (in columns), the splits taking turns, so that they can be compared within one
process. A Markdown table gives, per case and split, each thread's median time, how much longer the
slowest took than the mean, and the wall time of all runs at once (what a call waits for). Last, for each
case, the fixed cost that makes its runs' times proportional to their costs: the least-squares solution of
``t_g = a P_g + b S_g`` over the runs ``g`` of every split (``P_g`` their pair-steps, ``S_g`` their rows'
steps), ``b / a``.

``schedule.ROW_STEP_COLUMNS`` was chosen by the wall times (``benchmarks/README.md``): a thread that finishes
first leaves the other running alone, and faster, so that evening out the threads' times gains less than
their difference.

``python -m benchmarks.balance --row-steps`` measures what a row's step costs on one thread instead: the whole
triangle of each of ``ROW_STEP_CASES`` (equal and unequal lengths at two sizes, the cases taking turns), and a
least-squares fit of their best times to ``t = a P + b S`` (``P`` the pair-steps, ``S`` the rows' steps: one
row of the triangle at one step, all its columns). ``a`` is what a pair-step costs inside the loops, ``b``
what each row-step costs besides.
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from benchmarks.__main__ import QUICK, Case
from benchmarks.limits import arithmetic_limit
from rntk_bench.kernels.engine import _pairs_arguments, prepare_side, spare_samples
from rntk_bench.kernels.engine.prepare import mapped_empty
from rntk_bench.kernels.engine.schedule import ROW_STEP_COLUMNS, equal_groups, triangle_costs
from rntk_bench.kernels.engine.tiles import BLOCK, ROWS, _row, _scratch, _thread_scratch
from rntk_bench.kernels.rntk import _prepare_call, rntk, with_defaults
from rntk_bench.threads import available_cpus


@njit(nogil=True, cache=True)
def run_rows(first, end, arguments, scratches):
    """The triangle's rows ``first <= i < end`` as the engine's thread runs its group (``tiles._rntk_pairs``):
    ``ROWS`` rows at a time, each against the columns ``j >= i`` of the sorted samples, written to their entries of
    ``out`` (``Triangle.out``; not mirrored)."""
    (_, relu, mean, x_start, x_len, x_side, x_copy, y_start, y_len, y_side, x_order, y_order, out, out_gp, assign,
     sw2, su2, sb2, sh2, sv2, n_layers, fixed, _) = arguments
    scratch = _thread_scratch(scratches, 0)
    inv_m = 1.0 / x_side[0].shape[1]
    for i in range(first, end, ROWS):
        _row(i, min(i + ROWS, end), True, relu, mean, x_start, x_len, x_side, x_copy, y_start, y_len, y_side,
             x_order, y_order, out, out_gp, assign, sw2, su2, sb2, sh2, sv2, inv_m, n_layers, fixed, i,
             y_len.shape[0], scratch)


@dataclass
class Triangle:
    """The engine's arguments for the last-state K(X) of ``X`` (``out`` of shape (n, 1, n), unmirrored)."""

    arguments: tuple

    @classmethod
    def of(cls, X, params: dict) -> Triangle:
        p, xs, _, _ = _prepare_call(X, None, with_defaults(rntk, params))
        if p.output != "last":
            raise ValueError(f"the balance of the triangle is measured for the last state; got output={p.output!r}")
        t_max = max(len(series) for series in xs)
        side = prepare_side(xs, t_max, p, None, spare_samples(len(xs)))
        out = mapped_empty((len(xs), 1, len(xs)))
        arguments = _pairs_arguments(out, np.zeros((0, 0, 0)), side, side, np.arange(len(xs)), True, p, True)
        return cls(arguments)

    @property
    def out(self) -> np.ndarray:
        """Shape (n, 1, n): ``out[order[i], 0, order[j]]`` receives the pair of sorted samples ``j >= i``."""
        return self.arguments[12]

    @property
    def lengths(self) -> np.ndarray:
        """The series' lengths, sorted as ``order``: as the schedule sees them."""
        return self.arguments[4]

    @property
    def n_layers(self) -> int:
        return self.arguments[20]

    @property
    def order(self) -> np.ndarray:
        """The samples sorted longest first (stable): sorted sample ``i`` is ``X[order[i]]``."""
        return self.arguments[10]

    def bounds(self, n_threads: int, step_columns: float = ROW_STEP_COLUMNS) -> np.ndarray:
        """The rows of each thread: run ``g`` is ``bounds[g] <= i < bounds[g + 1]``."""
        return equal_groups(triangle_costs(self.lengths, BLOCK, float(step_columns)), n_threads)

    def work(self, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each run's pair-steps and its rows' steps (the schedule's counts, without layers)."""
        pairs = triangle_costs(self.lengths, BLOCK, 0.0)
        steps = triangle_costs(self.lengths, BLOCK, 1.0) - pairs
        return (np.array([pairs[a:b].sum() for a, b in zip(bounds[:-1], bounds[1:])]),
                np.array([steps[a:b].sum() for a, b in zip(bounds[:-1], bounds[1:])]))

    def run_together(self, bounds: np.ndarray) -> list[float]:
        """Run every thread's rows at once, one Python thread each; each run's seconds on its own thread."""
        n = len(bounds) - 1
        scratches = [_scratch(1, self.n_layers) for _ in range(n)]
        seconds = [0.0] * n
        start = threading.Barrier(n)

        def one(g: int) -> None:
            start.wait()
            begin = time.perf_counter()
            run_rows(bounds[g], bounds[g + 1], self.arguments, scratches[g])
            seconds[g] = time.perf_counter() - begin

        threads = [threading.Thread(target=one, args=(g,)) for g in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return seconds


def fixed_cost(seconds: np.ndarray, pairs: np.ndarray, steps: np.ndarray) -> float:
    """The fixed cost per step of a row, in columns, that fits ``seconds[g] = a pairs[g] + b steps[g]`` best
    (least squares, no intercept): ``b / a``. Needs runs of different mixes of pairs and steps."""
    a, b = step_costs(seconds, pairs, steps)
    return b / a


def step_costs(seconds: np.ndarray, pairs: np.ndarray, steps: np.ndarray) -> tuple[float, float]:
    """Seconds per pair-step and per row-step, ``(a, b)``, that fit ``seconds[k] = a pairs[k] + b steps[k]`` best
    (least squares, no intercept): ``fixed_cost`` is ``b / a``."""
    (a, b), *_ = np.linalg.lstsq(np.column_stack([pairs, steps]), seconds, rcond=None)
    return float(a), float(b)


# Equal lengths at four sizes (rows of 125 to 750 columns on average) and the quick benchmark's unequal lengths
# (50-150 steps): these hold fewer pair-steps per row-step than equal lengths of their size, as each row steps
# through its own series and its pairs' chains are as long as the shorter series
ROW_STEP_CASES = [*(Case("rntk relu last", n, 100) for n in (250, 500, 1000, 1500)),
                  *(case for case in QUICK if case.unequal and case.n_layers == 1)]


ROW_STEP_ROUNDS = 5  # rounds over the cases of ``row_steps`` (``--row-steps``)


def row_steps(cases: list[Case], repeat: int, rounds: int = ROW_STEP_ROUNDS) -> list[dict]:
    """Each case's whole triangle on one thread (``run_rows``), the cases taking turns for ``rounds`` rounds of
    ``repeat`` runs: its pair-steps and rows' steps (without layers) and its best seconds."""
    triangles = [Triangle.of(case.data(), case.kernel_params) for case in cases]
    whole = [np.array([0, len(triangle.order)]) for triangle in triangles]
    for triangle, bounds in zip(triangles, whole):
        triangle.run_together(bounds)                       # compiles on first use, and warms the caches
    best = [np.inf] * len(cases)
    for _ in range(rounds):
        for k, (triangle, bounds) in enumerate(zip(triangles, whole)):
            for _ in range(repeat):
                best[k] = min(best[k], triangle.run_together(bounds)[0])
    results = []
    for case, triangle, bounds, seconds in zip(cases, triangles, whole, best):
        pairs, steps = triangle.work(bounds)
        results.append({"case": case, "pairs": float(pairs[0]), "steps": float(steps[0]),
                        "seconds": seconds / triangle.n_layers})
    return results


def balance(case: Case, n_threads: int, repeat: int, step_columns: list[float]) -> tuple[list[dict], float]:
    """Run ``case``'s triangle split over ``n_threads`` runs with each fixed cost of ``step_columns``, the splits
    taking turns, ``repeat`` times each: for each split its rows, each run's median seconds, how much longer the
    slowest run took than the mean, and the median and best wall time of all runs at once; and the fixed cost
    fitted to every run of every split."""
    triangle = Triangle.of(case.data(), case.kernel_params)
    splits = [triangle.bounds(n_threads, k) for k in step_columns]
    triangle.run_together(splits[0])                        # compiles on first use, and warms the caches
    seconds = [[] for _ in splits]
    walls = [[] for _ in splits]
    for _ in range(repeat):
        for k, bounds in enumerate(splits):
            begin = time.perf_counter()
            seconds[k].append(triangle.run_together(bounds))
            walls[k].append(time.perf_counter() - begin)
    results, times, pairs, steps = [], [], [], []
    for k, bounds in enumerate(splits):
        median = np.median(seconds[k], axis=0)
        work = triangle.work(bounds)
        times.append(median)
        pairs.append(work[0])
        steps.append(work[1])
        results.append({"step_columns": step_columns[k], "bounds": bounds, "seconds": median,
                        "excess": median.max() / median.mean() - 1.0, "wall": float(np.median(walls[k])),
                        "best_wall": min(walls[k])})
    return results, fixed_cost(np.concatenate(times), np.concatenate(pairs), np.concatenate(steps))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=available_cpus(), help="threads (runs of rows)")
    parser.add_argument("--repeat", type=int, default=15, help="runs of all threads at once per split")
    parser.add_argument("--step-columns", default=str(ROW_STEP_COLUMNS),
                        help=f"fixed costs of a row's step to split the rows with, comma-separated "
                             f"(default: the engine's, {ROW_STEP_COLUMNS})")
    parser.add_argument("--row-steps", action="store_true",
                        help="instead, what a row's step costs on one thread (equal and unequal lengths)")
    args = parser.parse_args(argv)
    if args.row_steps:
        _print_row_steps(args.repeat)
        return
    if args.jobs < 2:
        parser.error("--jobs must be at least 2: the balance is between threads")
    try:
        step_columns = [float(k) for k in args.step_columns.split(",")]
    except ValueError:
        parser.error(f"--step-columns takes numbers separated by commas; got {args.step_columns!r}")
    print(f"{args.jobs} threads, {args.repeat} runs of each split, the splits taking turns\n")
    print("| case | N | T | L | split with (columns) | rows per thread | ms per thread (median) | slowest over mean "
          "| wall ms, median | wall ms, best |")
    print("|---|---:|---:|---:|---:|---|---|---:|---:|---:|")
    fitted = []
    for case in QUICK:
        if case.output != "last":
            continue
        results, fit = balance(case, args.jobs, args.repeat, step_columns)
        fitted.append(f"{case.name} N = {case.n}, T = {case.t}, L = {case.n_layers}: {fit:.0f}")
        for result in results:
            bounds = result["bounds"]
            rows = ", ".join(str(b - a) for a, b in zip(bounds[:-1], bounds[1:]))
            times = ", ".join(f"{1e3 * s:.2f}" for s in result["seconds"])
            print(f"| {case.name} | {case.n} | {case.t} | {case.n_layers} | {result['step_columns']:g} | {rows} | "
                  f"{times} | {result['excess']:.1%} | {1e3 * result['wall']:.2f} | {1e3 * result['best_wall']:.2f} |",
                  flush=True)
    print("\nFixed cost of a row's step that fits each case's runs best (columns; a 1 % error in one run's time "
          "moves it by about 15):")
    for line in fitted:
        print(f"- {line}")


def _print_row_steps(repeat: int) -> None:
    limit = arithmetic_limit(1)["limit_pair_steps_per_s"]
    per_round = max(1, repeat // ROW_STEP_ROUNDS)
    results = row_steps(ROW_STEP_CASES, per_round)
    print(f"One thread, the whole triangle of each case, the cases taking turns (best of "
          f"{ROW_STEP_ROUNDS * per_round}); the per-core limit measured in the same run: {limit:.3g} pair-steps per "
          "second\n")
    print("| case | N | T | pair-steps per row-step | ns per row-step | pair-steps per second | of the limit |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for result in results:
        case, per_step = result["case"], result["seconds"] / result["steps"]
        rate = result["pairs"] / result["seconds"]
        print(f"| {case.name} | {case.n} | {case.t} | {result['pairs'] / result['steps']:.0f} | {1e9 * per_step:.0f} | "
              f"{rate:.3g} | {rate / limit:.0%} |")
    a, b = step_costs(*(np.array([result[key] for result in results]) for key in ("seconds", "pairs", "steps")))
    print(f"\nFit over the cases, t = a P + b S: a = {1e9 * a:.2f} ns per pair-step ({1 / a / limit:.0%} of the "
          f"limit), b = {1e9 * b:.0f} ns per row-step besides ({b / a:.0f} pair-steps' worth)")


if __name__ == "__main__":
    main()
