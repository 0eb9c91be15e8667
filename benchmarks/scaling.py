"""The engine on one thread and on every core, against the arithmetic limit measured for each.

``python -m benchmarks.scaling`` prints a Markdown table: for each case of the quick benchmark, plus two
larger mean-pooled ones, the engine's pair-layer-steps per second (best of ``--repeat`` calls) on one
thread and on ``--jobs`` threads, and its share of the limit (``limits.arithmetic_limit``) measured with the
same number of threads just before (erf: its own, ``limits.py``). It shows how much of the gap to the
limit is the loop itself (one thread) and how much is the way the work is shared between cores.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.__main__ import QUICK, Case
from benchmarks.limits import arithmetic_limit
from benchmarks.measure import measure
from rntk_bench.kernels.rntk import rntk
from rntk_bench.threads import available_cpus, limit_threads

CASES = [*QUICK, Case("rntk relu mean pooling", 200, 100, output="mean"),
         Case("rntk relu mean pooling", 400, 60, output="mean")]


def rates(threads: int, repeat: int) -> tuple[dict, list[float]]:
    """The limits on ``threads`` cores and the engine's pair-steps per second on each case."""
    limit = arithmetic_limit(threads)
    measured = []
    with limit_threads(threads):
        rntk(np.zeros((2, 3)))
        for case in CASES:
            X = case.data()
            seconds = measure(lambda X=X, params=case.kernel_params: rntk(X, **params), repeat).seconds
            measured.append(case.pair_steps(X) / seconds)
    return limit, measured


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=available_cpus(), help="threads of the second column")
    parser.add_argument("--repeat", type=int, default=3, help="calls per case (best kept)")
    args = parser.parse_args(argv)
    one_limit, one = rates(1, args.repeat)
    all_limit, every = rates(args.jobs, args.repeat)
    relu = "limit_pair_steps_per_s"
    print(f"| case | N | T | L | 1 thread | of limit ({one_limit[relu]:.3g}) | {args.jobs} threads | "
          f"of limit ({all_limit[relu]:.3g}) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for case, a, b in zip(CASES, one, every):
        key = case.limit_key
        print(f"| {case.name} | {case.n} | {case.t} | {case.n_layers} | {a:.3g} | {a / one_limit[key]:.0%} | "
              f"{b:.3g} | {b / all_limit[key]:.0%} |")
    print(f"\nerf rows: against the erf loop's own limit ({one_limit['erf_limit_pair_steps_per_s']:.3g} on one "
          f"thread, {all_limit['erf_limit_pair_steps_per_s']:.3g} on {args.jobs}).")
    print(f"Mean-pooled and two-layer rows: against the limits of their own step loops (mean pooling "
          f"{one_limit['mean_limit_pair_steps_per_s']:.3g} and {all_limit['mean_limit_pair_steps_per_s']:.3g}, "
          f"two layers {one_limit['limit_2_layers_pair_steps_per_s']:.3g} and "
          f"{all_limit['limit_2_layers_pair_steps_per_s']:.3g}; benchmarks/README.md).")


if __name__ == "__main__":
    main()
