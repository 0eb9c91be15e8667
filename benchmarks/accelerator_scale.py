"""The accelerator engine at the sizes it is for, against the numba engine on every core, and its tile shape.

``python -m benchmarks.accelerator_scale [--device gpu] [--small]`` times larger problems than the quick
benchmark (last state at N = 4000, T = 500 and, with two layers, N = 2000, T = 300; mean pooling at N = 1000,
T = 256, the length of semeion, whose 1593 rows make it the leaderboard's costliest dataset; the FC NTK at
N = 20000) with:

- the numba engine on every core of the machine (one call: each takes seconds);
- the accelerator engine with its default tiles, and with the tile and loop rules it could use instead
  (:data:`VARIANTS`), so that the defaults are chosen from a measurement.

Each accelerator variant is called once (compiling for its shapes; ``first call`` column), then timed twice
(best kept). Its max rel diff is against the numba engine's matrix of the same call, which the quick
benchmark and the tests check against the NumPy reference. Writes ``accelerator.md`` and ``accelerator.csv``
to ``--out`` (default ``results/bench``). ``--small`` shrinks every case (for checking the script on a CPU).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np

from benchmarks.__main__ import Case, _max_rel_diff
from benchmarks.accelerator import accelerator
from benchmarks.measure import best_seconds
from rntk_bench.kernels.accel import backend as accel_backend
from rntk_bench.kernels.accel import rntk as accel_rntk
from rntk_bench.kernels.ntk import ntk
from rntk_bench.kernels.rntk import rntk
from rntk_bench.threads import available_cpus, limit_threads

ROOT = Path(__file__).resolve().parents[1]

VARIANTS = {
    "default": {},
    "split 1": {"SAME_SPLIT": 1},
    "split 1, 2^26 lanes": {"SAME_SPLIT": 1, "MAX_LANES": 2**26},
    "unroll 4": {"SCAN_UNROLL": 4},
    "unroll 8": {"SCAN_UNROLL": 8},
}
"""Tile and loop rules tried: the defaults; one tile per K(X) where it fits (``backend.SAME_SPLIT`` 1: both
triangles computed, fewer and wider steps), also with four times as many pair-chains per step
(``backend.MAX_LANES``); 4 or 8 time steps per iteration of the RNTK's compiled loop (``rntk.SCAN_UNROLL``).
The FC NTK has no time loop: it runs the variants without an unroll."""

_SETTINGS = {"SAME_SPLIT": accel_backend, "MAX_LANES": accel_backend, "SCAN_UNROLL": accel_rntk}


def patched(settings: dict):
    """A context in which the engine's module constants take the values of ``settings``."""
    stack = contextlib.ExitStack()
    for name, value in settings.items():
        stack.enter_context(mock.patch.object(_SETTINGS[name], name, value))
    return stack


@dataclass
class FCCase:
    """A fully connected NTK Gram matrix of ``n`` Gaussian rows with ``d`` features."""

    name: str
    n: int
    d: int
    n_layers: int = 3

    def data(self):
        return np.random.default_rng(self.n).normal(size=(self.n, self.d))

    def work(self) -> float:
        return self.n * (self.n + 1) / 2 * self.n_layers


def cases(small: bool) -> list:
    if small:
        return [Case("rntk relu last", 64, 24), Case("rntk relu mean pooling", 48, 16, output="mean"),
                FCCase("fc ntk relu, 100 features", 300, 100)]
    return [
        Case("rntk relu last", 1000, 150),
        Case("rntk relu last", 4000, 500),
        Case("rntk relu last", 2000, 300, n_layers=2),
        Case("rntk relu mean pooling", 400, 100, output="mean"),
        Case("rntk relu mean pooling", 1000, 256, output="mean"),
        FCCase("fc ntk relu, 100 features", 20000, 100),
    ]


def run(device: str, small: bool, repeat: int, out_dir: Path) -> list[dict]:
    accel, reason = accelerator(device)
    if accel is None:
        raise SystemExit(f"no accelerator to time: {reason}")
    cores = available_cpus()
    rows = []
    with limit_threads(cores):
        rntk(np.zeros((2, 3)))
        ntk(np.zeros((2, 3)))
        for case in cases(small):
            X = case.data()
            if isinstance(case, FCCase):
                name, params, size, work = "ntk", {"n_layers": case.n_layers}, f"N={case.n} d={case.d}", case.work()
                engine = ntk
            else:
                name, params, work = "rntk", case.kernel_params, case.pair_steps(X)
                size, engine = f"N={case.n} T={case.t} L={case.n_layers}", rntk
            print(f"{case.name} {size} [numba engine, {cores} threads] ...", flush=True)
            start = time.perf_counter()
            reference = engine(X, **params)
            seconds = time.perf_counter() - start
            print(f"    {seconds:.3f} s", flush=True)
            base = {"case": case.name, "size": size}
            rows.append({**base, "implementation": f"numba engine, {cores} threads", "seconds": seconds,
                         "rate_per_s": work / seconds})
            for variant, settings in VARIANTS.items():
                if name == "ntk" and "SCAN_UNROLL" in settings:
                    continue
                label = f"{accel.label} [{variant}]"
                call = accel.kernel(name)
                with patched(settings):
                    print(f"{case.name} {size} [{label}, first call] ...", flush=True)
                    start = time.perf_counter()
                    value = call(X, **params)
                    first = time.perf_counter() - start
                    best = best_seconds(functools.partial(call, X, **params), repeat)
                print(f"    first {first:.3f} s, best {best:.3f} s", flush=True)
                rows.append({**base, "implementation": label, "seconds": best, "rate_per_s": work / best,
                             "first_call_seconds": first, "speedup_vs_engine": seconds / best,
                             "max_rel_diff_vs_engine": _max_rel_diff(value, reference)})
            _write(rows, accel, cores, out_dir)
    return rows


def _write(rows: list[dict], accel, cores: int, out_dir: Path) -> None:
    """Write the table so far (rewritten after each case: a run stopped early keeps what it measured)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fields = ["case", "size", "implementation", "seconds", "rate_per_s", "first_call_seconds",
              "speedup_vs_engine", "max_rel_diff_vs_engine"]
    with open(out_dir / "accelerator.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "# The accelerator engine at scale", "",
        (f"{time.strftime('%Y-%m-%d %H:%M')}: {accel.description}, float64; numba engine on {cores} cores "
         f"({platform.processor() or platform.machine()})."), "",
        "| case | size | implementation | seconds | pair-steps/s | first call | vs engine | max rel diff |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['case']} | {row['size']} | {row['implementation']} | {row['seconds']:.3f} | "
            f"{row['rate_per_s']:.3g} | "
            + (f"{row['first_call_seconds']:.2f} | {row['speedup_vs_engine']:.1f}x | "
               f"{row['max_rel_diff_vs_engine']:.1e} |" if "first_call_seconds" in row else " | | |"))
    lines += ["", ("pair-steps/s: distinct pairs (upper triangle with diagonal) x chain steps x layers (for the FC "
                   "NTK: pairs x layers). The engine's seconds are one call; the accelerator's the best of the "
                   "calls after its first, which compiles. Variants: " + "; ".join(
                       f"{name}: {settings or _defaults()}" for name, settings in VARIANTS.items())
                   + ".")]
    (out_dir / "accelerator.md").write_text("\n".join(lines) + "\n")


def _defaults() -> dict:
    return {name: getattr(module, name) for name, module in _SETTINGS.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.accelerator_scale",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="gpu", help="the accelerator: gpu, gpu:N or cpu (default: gpu)")
    parser.add_argument("--small", action="store_true", help="tiny cases, to check the script on a CPU")
    parser.add_argument("--repeat", type=int, default=2, help="timed calls per accelerator variant (best kept)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench", help="output folder")
    args = parser.parse_args(argv)
    rows = run(args.device, args.small, max(1, args.repeat), args.out)
    print((args.out / "accelerator.md").read_text())
    print(f"{len(rows)} rows written to {args.out}")


if __name__ == "__main__":
    main()
