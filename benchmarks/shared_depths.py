"""The grid n_layers in {1, 2} computed as two engine passes and as one.

``python -m benchmarks.shared_depths`` times, for each case, what the runner spends on the Gram matrices of a
grid with one- and two-layer settings of the same scales (the default RNTK grid and the follow-up's):

- **two passes**: the engine once per depth, each pass also giving its NNGP (``with_nngp``, the sharing the
  runner had before the depths were siblings);
- **one pass**: the two-layer pass reading out the one-layer kernels on the way (``all_depths``), what
  ``rntk_batch`` does with the siblings of a two-layer setting now.

Both give the same four matrices to the last bit (checked here and in tests/test_fast_rntk.py). The two-layer
pass without the one-layer read-out is timed too: the difference is what reading out costs. Times are CPU
seconds of the calling thread (``time.thread_time``, best of ``--repeat``) on one thread, so that a busy
machine slows both columns alike; the ideal ratio is (1 + 2) / 2 = 1.5 layer-passes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.__main__ import Case
from rntk_bench.kernels import get_kernel
from rntk_bench.kernels.engine import compute_rntk
from rntk_bench.kernels.registry import with_defaults
from rntk_bench.kernels.rntk import _prepare_call, rntk
from rntk_bench.threads import limit_threads

CASES = [Case("last state", 1000, 150, n_layers=2),
         Case("last state, unequal lengths", 800, 150, n_layers=2, unequal=True),
         Case("mean pooling", 200, 100, n_layers=2, output="mean")]


def _cpu_seconds(call, repeat: int) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.thread_time()
        value = call()
        best = min(best, time.thread_time() - start)
    return best, value


def compare(case: Case, repeat: int) -> dict:
    """Seconds of the two ways for one case, and whether their matrices are equal to the last bit."""
    X = case.data()

    def engine_call(n_layers: int, all_depths: bool):
        params = dict(get_kernel("rntk", **{**case.kernel_params, "n_layers": n_layers}).params)
        p, xs, ys, same = _prepare_call(X, None, with_defaults(rntk, params))
        return compute_rntk(xs, ys, same, p, with_nngp=True, all_depths=all_depths)

    def two_passes():
        (deep, deep_gp), (shallow, shallow_gp) = engine_call(2, False), engine_call(1, False)
        return [deep, deep_gp, shallow, shallow_gp]

    def one_pass():
        ntk, nngp = engine_call(2, True)
        return [ntk[1], nngp[1], ntk[0], nngp[0]]

    separate, before = _cpu_seconds(two_passes, repeat)
    shared, after = _cpu_seconds(one_pass, repeat)
    deep_alone, _ = _cpu_seconds(lambda: engine_call(2, False), repeat)
    return {"separate": separate, "shared": shared, "deep_alone": deep_alone,
            "equal": all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="calls per way (best kept)")
    args = parser.parse_args(argv)
    print("| case | N | T | two passes (s) | one pass (s) | speed-up | two-layer pass alone (s) | "
          "equal to the last bit |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    with limit_threads(1):
        rntk(np.zeros((2, 3)))
        for case in CASES:
            row = compare(case, args.repeat)
            print(f"| {case.name} | {case.n} | {case.t} | {row['separate']:.2f} | {row['shared']:.2f} | "
                  f"{row['separate'] / row['shared']:.2f}x | {row['deep_alone']:.2f} | "
                  f"{'yes' if row['equal'] else 'NO'} |")


if __name__ == "__main__":
    main()
