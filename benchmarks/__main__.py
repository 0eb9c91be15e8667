"""``python -m benchmarks [--full] [--jobs N] [--repeat K] [--device D]``: time the fast engines against the NumPy
references.

Prints a table (implementation, N, T, L, seconds, pair-steps/s, speed-up over the NumPy reference, share of the
arithmetic limit, peak memory) and writes it to results/bench/ as ``bench.csv`` and ``bench.md``.
Quick by default (about 2.5 minutes on 2 cores); ``--full`` adds (N, T) = (2000, 500), mean pooling at
N = 200, and the bounded-memory run (a 20000 x 2000 cross Gram with T = 100). The quick cases come at two
sizes: small enough to time the NumPy reference on the whole problem, and (engine only) the sizes at which
the engine's share of the limit was first measured (two layers at N = 1000, T = 150; T = 300 at N = 600;
mean pooling at N = 400, T = 100; unequal lengths at N = 1000), where the preparation and the per-step
costs weigh less; their accuracy is checked against the reference on the first ``CORNER`` series.
``--device`` adds the accelerator engine (JAX, float64) as one more implementation of every RNTK and FC case
(``benchmarks/accelerator.py``).
"""

from __future__ import annotations

import argparse
import csv
import functools
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.accelerator import Accelerator, accelerator
from benchmarks.authors_numpy import rntk_authors
from benchmarks.limits import (
    ERF_FLOPS_PER_PAIR_STEP,
    FLOPS_PER_PAIR_STEP,
    LOOP_OPS,
    arithmetic_limit,
    case_limit_key,
)
from benchmarks.measure import best_seconds, cross_gram_rss, measure
from rntk_bench.kernels.ntk import ntk, ntk_reference
from rntk_bench.kernels.rntk import rntk, rntk_reference
from rntk_bench.threads import available_cpus, limit_threads, openmp_binding_note

ROOT = Path(__file__).resolve().parents[1]
ENGINE_REPEATS = 5
ENGINE_ROUNDS = 4
"""The engines' calls are timed ``ENGINE_REPEATS`` times ``--repeat`` times in a row, then ``--repeat`` times more
in each of ``ENGINE_ROUNDS`` rounds over all cases once every case is done (best kept): they take 15-120 ms,
and on a shared virtual machine a slow spell lasts seconds (the same call measured 17-28 ms within a
minute), so that calls in a row can all fall within one; the NumPy references take seconds each."""


@dataclass
class Case:
    """One benchmark problem: a Gram matrix K(X) (or cross Gram) of ``n`` random-walk series of length ``t``."""

    name: str
    n: int
    t: int
    n_layers: int = 1
    output: str = "last"
    unequal: bool = False
    params: dict = field(default_factory=dict)
    baseline: bool = True   # time the NumPy reference too; without, the engine alone, checked on a corner

    def data(self):
        rng = np.random.default_rng(self.n * 1000 + self.t)
        if self.unequal:
            lengths = rng.integers(self.t // 3, self.t + 1, size=self.n)
            X = [np.cumsum(rng.normal(size=(1, length)), axis=1) for length in lengths]
            scale = max(np.linalg.norm(x) for x in X)
            return [x / scale for x in X]
        X = np.cumsum(rng.normal(size=(self.n, self.t)), axis=1)
        return X / np.linalg.norm(X, axis=1).max()       # the UCI code's scaling: largest row norm 1

    @property
    def kernel_params(self) -> dict:
        """The keyword arguments of ``rntk`` for this case."""
        return {**self.params, "n_layers": self.n_layers, "output": self.output}

    @property
    def limit_key(self) -> str:
        """The arithmetic limit (a key of ``limits.arithmetic_limit``) this case is measured against: the erf
        dual's own mix of operations, or that of the ReLU step loops this case runs in (``limits.case_limit_key``)."""
        return case_limit_key(self.params.get("activation", "relu"), self.output, self.n_layers)

    @property
    def authors_comparable(self) -> bool:
        """Whether the straightforward NumPy version of the authors' algorithm covers this case."""
        return not self.unequal and self.output == "last" and not self.params

    def pair_steps(self, X) -> float:
        """Distinct pair-layer-steps of the result: upper triangle (with diagonal) x chain steps x layers."""
        lengths = np.array([x.shape[-1] for x in X], dtype=float)
        if self.output == "mean":
            per_pair = np.outer(lengths, lengths)          # every (t, t') pair
        else:
            per_pair = np.minimum.outer(lengths, lengths)  # the right-aligned chain
        return float(np.triu(per_pair).sum()) * self.n_layers


QUICK = [
    Case("rntk relu last", 1000, 150),
    Case("rntk relu last", 500, 100, n_layers=2),
    Case("rntk relu last", 1000, 150, n_layers=2, baseline=False),
    Case("rntk relu last", 600, 300, baseline=False),
    Case("rntk relu last, unequal lengths", 500, 150, unequal=True),
    Case("rntk relu last, unequal lengths", 1000, 150, unequal=True, baseline=False),
    Case("rntk relu mean pooling", 100, 60, output="mean"),
    Case("rntk relu mean pooling", 400, 100, output="mean", baseline=False),
    Case("rntk erf last", 500, 100, params={"activation": "erf"}),
]
CORNER = 64  # series of an engine-only case whose Gram matrix the reference computes for the accuracy column
FULL = QUICK[:1] + [Case("rntk relu last", 2000, 500)] + QUICK[1:] + [
    Case("rntk relu mean pooling", 200, 100, output="mean"),
]


def _authors(X, n_layers: int, output: str, **params) -> np.ndarray:
    """The straightforward NumPy baseline, called like the other implementations (ReLU, last state)."""
    return rntk_authors(np.asarray(X), n_layers=n_layers, **params)


def _grid_sharing(jobs: int, repeat: int, n: int = 300, t: int = 40) -> list[dict]:
    """The twelve settings of one group of the follow-up paper's grid (n_layers 1 / 2 x fixed_layers 0 /
    n_layers x forward, reversed, bidirectional; mean pooling): each computed alone, against the runner's
    sharing (the bidirectional kernel from its two directions; the NNGP and the one-layer kernels from the
    two-layer pass, through a GramStore)."""
    import tempfile
    from types import SimpleNamespace

    from rntk_bench.gram_store import GramStore, stored_gram
    from rntk_bench.kernels import get_kernel

    X = Case("grid", n, t).data()
    # deepest first, as the runner starts a group's costliest task first
    settings = [dict(get_kernel("rntk", n_layers=layers, fixed_layers=fixed, direction=direction,
                                output="mean").params)
                for layers in (2, 1) for fixed in (0, layers) for direction in ("forward", "reversed", "bidirectional")]
    dataset = SimpleNamespace(name="bench", X=X)  # all that stored_gram reads of a Dataset

    def alone():
        return [get_kernel("rntk", **setting)(X) for setting in settings]

    def shared():
        with tempfile.TemporaryDirectory() as folder:
            store = GramStore(folder)
            return [stored_gram(store, dataset, "rntk", setting)("all", X, None) for setting in settings]

    rows, results = [], {}
    # pair-layer-steps of the 12 results, each counted once (a bidirectional result as one direction)
    work = sum(setting["n_layers"] for setting in settings) * n * (n + 1) / 2 * t * t
    case = "12 settings of one follow-up grid group (1 and 2 layers), mean pooling"
    for label, call in (("each setting alone", alone), ("shared parts and siblings", shared)):
        print(f"grid group, 12 settings: N={n} T={t} mean pooling [{label}] ...", flush=True)
        results[label] = measure(call, repeat)
        rows.append({"case": case, "implementation": label,
                     "N": n, "T": t, "L": 2, "seconds": results[label].seconds,
                     "pair_steps_per_s": work / results[label].seconds,
                     "peak_memory_bytes": results[label].peak_bytes})
    alone_time, shared_time = (results[label].seconds for label in results)
    same = all(np.array_equal(a, b) for a, b in zip(*(result.value for result in results.values())))
    rows[-1]["note"] = (f"Grid sharing: the 12 settings of one group of the follow-up grid take {alone_time:.2f} s "
                        f"computed alone and {shared_time:.2f} s shared ({alone_time / shared_time:.1f}x; "
                        f"pair-steps/s counts the 12 results); identical to the last bit: {same}.")
    return rows


def _human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024


def run(full: bool, jobs: int, repeat: int, out_dir: Path, device: str = "none") -> list[dict]:
    rows = []
    accel, reason = accelerator(device)
    if reason:
        print(f"accelerator engine left out: {reason}", flush=True)
    load_before = os.getloadavg()
    print(f"measuring the arithmetic limit on {jobs} core(s) ...", flush=True)
    limit = arithmetic_limit(jobs)
    engine_calls = []                      # (row, call, work) of every engine row, timed again in rounds
    with limit_threads(jobs):
        rntk(np.zeros((2, 3)))                               # load compiled code outside the timings
        ntk(np.zeros((2, 3)))
        for case in FULL if full else QUICK:
            X = case.data()
            params = case.kernel_params
            work = case.pair_steps(X)
            timings = {}
            implementations = [("engine", rntk), ("numpy reference", rntk_reference)]
            if case.authors_comparable:
                implementations.append(("numpy, authors' algorithm", _authors))
            if accel is not None:
                implementations.append((accel.label, accel.kernel("rntk")))
            for label, function in implementations:
                # engine-only cases (no baseline) time the engines alone: the numba one and the accelerator
                if label in ("numpy reference", "numpy, authors' algorithm") and not case.baseline:
                    continue
                call = functools.partial(function, X, **params)
                if accel is not None and label == accel.label:
                    print(f"{case.name}: N={case.n} T={case.t} L={case.n_layers} [{label}, first call] ...", flush=True)
                    accel.warm_up(f"{case.name} N={case.n} T={case.t} L={case.n_layers}", call)
                print(f"{case.name}: N={case.n} T={case.t} L={case.n_layers} [{label}] ...", flush=True)
                result = measure(call, repeat * ENGINE_REPEATS if label == "engine" else max(1, repeat - 1))
                print(f"    {result.seconds:.4f} s, {work / result.seconds:.3g} pair-steps/s", flush=True)
                timings[label] = result
                rows.append({
                    "case": case.name, "implementation": label, "N": case.n, "T": case.t, "L": case.n_layers,
                    "seconds": result.seconds, "pair_steps_per_s": work / result.seconds,
                    "peak_memory_bytes": result.peak_bytes,
                })
                if label == "engine":
                    engine_calls.append((rows[-1], call, work))
                _first_call(rows[-1], accel, f"{case.name} N={case.n} T={case.t} L={case.n_layers}")
            case_rows = rows[-len(timings):]
            for row in case_rows:
                if accel is None or row["implementation"] != accel.label:   # the limit is the CPU's
                    row["limit_key"] = case.limit_key
                    row["share_of_limit"] = row["pair_steps_per_s"] / limit[row["limit_key"]]
            if not case.baseline:
                # each pair's chain is computed the same way whatever else is in the call, so the corner of
                # the engine's matrix is what the reference gives for the first CORNER series alone
                corner = min(CORNER, case.n)
                reference = rntk_reference(X[:corner], **params)
                for row, result in zip(case_rows, timings.values()):
                    row["max_rel_diff"] = _max_rel_diff(result.value[:corner, :corner], reference)
                continue
            for row in case_rows:
                row["speedup_vs_numpy"] = timings["numpy reference"].seconds / row["seconds"]
                if "numpy, authors' algorithm" in timings:
                    row["speedup_vs_authors"] = timings["numpy, authors' algorithm"].seconds / row["seconds"]
            # accuracy on this benchmark's data, against the reference just timed
            reference = timings["numpy reference"].value
            for row, result in zip(case_rows, timings.values()):
                if row["implementation"] != "numpy reference":
                    row["max_rel_diff"] = _max_rel_diff(result.value, reference)
        X = np.random.default_rng(0).normal(size=(2000, 20))
        fc = [("fc engine", ntk), ("fc numpy reference", ntk_reference)]
        if accel is not None:
            fc.append((f"fc {accel.label}", accel.kernel("ntk")))
            accel.warm_up("fc", lambda: accel.kernel("ntk")(X, n_layers=3))
        values = {}
        fc_work = 2000 * 2001 / 2 * 3
        for label, function in fc:
            print(f"fc ntk: N=2000 d=20 L=3 [{label}] ...", flush=True)
            call = functools.partial(function, X, n_layers=3)
            result = measure(call, repeat * ENGINE_REPEATS if label == "fc engine" else max(repeat, 3))
            values[label] = result.value
            rows.append({"case": "fc ntk relu, 20 features", "implementation": label, "N": 2000, "T": 1, "L": 3,
                         "seconds": result.seconds, "pair_steps_per_s": fc_work / result.seconds,
                         "peak_memory_bytes": result.peak_bytes})
            if label == "fc engine":
                engine_calls.append((rows[-1], call, fc_work))
            _first_call(rows[-1], accel, "fc")
        print(f"the engines again, {ENGINE_ROUNDS} rounds over the cases ...", flush=True)
        for _ in range(ENGINE_ROUNDS):
            for row, call, work in engine_calls:
                seconds = best_seconds(call, repeat)
                if seconds < row["seconds"]:
                    _rescale(row, seconds, work, limit)
        reference = values["fc numpy reference"]
        for row in rows[-len(fc):]:
            row["speedup_vs_numpy"] = rows[-len(fc) + 1]["seconds"] / row["seconds"]
            if row["implementation"] != "fc numpy reference":
                value = values[row["implementation"]]
                row["max_rel_diff"] = _max_rel_diff(value, reference)
        rows.extend(_grid_sharing(jobs, repeat))
    if full:
        print("bounded memory: cross Gram 20000 x 2000, T = 100 (engine, own process) ...", flush=True)
        rss = cross_gram_rss(20000, 2000, 100, jobs)
        rows.append({
            "case": "rntk relu last, cross Gram 20000 x 2000", "implementation": "engine", "N": 20000, "T": 100,
            "L": 1, "seconds": rss["seconds"], "pair_steps_per_s": 20000 * 2000 * 100 / rss["seconds"],
            "peak_memory_bytes": rss["rss_peak"] - rss["rss_before"],
            "share_of_limit": 20000 * 2000 * 100 / rss["seconds"] / limit["limit_pair_steps_per_s"],
            "limit_key": "limit_pair_steps_per_s",
            "note": (f"Memory run: process RSS {_human_bytes(rss['rss_before'])} before the call, "
                     f"{_human_bytes(rss['rss_peak'])} at peak (growth in the table); output "
                     f"{_human_bytes(rss['output_bytes'])}, input {_human_bytes(rss['input_bytes'])}."),
        })
    # the unit rates again at the end: on a shared machine the less disturbed measurement of each is the better one
    better = arithmetic_limit(jobs, earlier=limit)
    for row in rows:
        if "share_of_limit" in row:
            row["share_of_limit"] *= limit[row["limit_key"]] / better[row["limit_key"]]
    limit = better
    _write(rows, limit, jobs, full, load_before, os.getloadavg(), out_dir, accel)
    return rows


def _max_rel_diff(value: np.ndarray, reference: np.ndarray) -> float:
    """max |value - reference| / max |reference|: the table's accuracy column."""
    return float(np.abs(value - reference).max() / np.abs(reference).max())


def _rescale(row: dict, seconds: float, work: float, limit: dict) -> None:
    """An engine row's columns for a better time ``seconds``."""
    for key in ("speedup_vs_numpy", "speedup_vs_authors"):
        if key in row:
            row[key] *= row["seconds"] / seconds
    row["seconds"] = seconds
    row["pair_steps_per_s"] = work / seconds
    if "share_of_limit" in row:
        row["share_of_limit"] = row["pair_steps_per_s"] / limit[row["limit_key"]]


def _first_call(row: dict, accel: Accelerator | None, key: str) -> None:
    """Add the accelerator's first-call seconds (compilation included) to its row."""
    if accel is not None and row["implementation"].endswith(accel.label) and key in accel.first_calls:
        row["first_call_seconds"] = accel.first_calls[key]


def _table(rows: list[dict], limit: dict) -> list[str]:
    header = ["case", "implementation", "N", "T", "L", "seconds", "pair-steps/s", "vs NumPy", "vs authors",
              "limit", "of limit",
              "peak memory", "max rel diff"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [
            row["case"], row["implementation"], str(row["N"]), str(row["T"]), str(row["L"]),
            f"{row['seconds']:.3f}", f"{row['pair_steps_per_s']:.3g}",
            f"{row['speedup_vs_numpy']:.1f}x" if "speedup_vs_numpy" in row else "",
            f"{row['speedup_vs_authors']:.1f}x" if "speedup_vs_authors" in row else "",
            f"{limit[row['limit_key']]:.3g}" if "limit_key" in row else "",
            f"{row['share_of_limit']:.0%}" if "share_of_limit" in row else "",
            _human_bytes(row["peak_memory_bytes"]),
            f"{row['max_rel_diff']:.1e}" if "max_rel_diff" in row else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _write(rows, limit, jobs, full, load_before, load_after, out_dir: Path, accel: Accelerator | None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    fields = sorted({key for row in rows for key in row}, key=lambda k: list(rows[0]).index(k)
                    if k in rows[0] else 99)
    with open(out_dir / "bench.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    notes = [row["note"] for row in rows if "note" in row]
    lines = [
        f"# RNTK engine benchmark ({'full' if full else 'quick'})", "",
        (f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.processor() or platform.machine()}, "
         f"{available_cpus()} cores available, {jobs} used; load average {load_before[0]:.2f} before, "
         f"{load_after[0]:.2f} after (other work on the machine slows both columns alike)."), "",
        *_table(rows, limit), "",
        ("vs NumPy: against the literal reference recursion (masks, padding, both triangles); vs authors: "
         "against the straightforward NumPy form of the authors' algorithm (benchmarks/authors_numpy.py: the "
         "whole N x N matrix advanced one step at a time; equal lengths, ReLU, last state only)."),
        "",
        ("pair-steps: distinct pairs of the result (upper triangle with diagonal) x steps of their chains "
         "(T for the last state, T T' for mean pooling) x layers; the NumPy reference computes both triangles. "
         "Seconds: best of the repeats. Peak memory: NumPy allocations during one call (tracemalloc), which "
         "includes the output, with the per-sample arrays allocated as in a first call (not taken from the "
         "memory the engine keeps between calls, engine/workspace.py). Rows with no NumPy reference beside "
         "them time the engine (and the accelerator, "
         f"where there is one) alone at larger sizes; their max rel diff is against the reference on the first "
         f"{CORNER} series."),
        "",
        (f"Arithmetic limit (see benchmarks/README.md): {limit['divider_duals_per_s_per_core']:.3g} "
         f"`1 sqrt + 1 div` per second per core, {limit['fma_ops_per_s_per_core']:.3g} FMA-class operations "
         f"per second per core -> {limit['model_limit_pair_steps_per_s']:.3g} pair-layer-steps per second on "
         f"{limit['cores']} core(s) by the model; the ReLU step loop's own operations (`1 sqrt + 1 div`, "
         f"{LOOP_OPS['last'][0]} multiplications and FMAs, {LOOP_OPS['last'][1]} others) with independent operands: "
         f"{limit['engine_mix_per_s_per_core']:.3g} "
         f"per second per core; the limit is the higher of the two: {limit['limit_pair_steps_per_s']:.3g} on "
         f"{limit['cores']} core(s). Each probe is measured at the start and at the end of the run, and its better "
         f"rate is kept; each unit's rate is the better of numba's default compilation and the engine's "
         f"(512-bit vectors preferred): `1 sqrt + 1 div` {limit['divider_default_per_s_per_core']:.3g} and "
         f"{limit['divider_wide_per_s_per_core']:.3g}, FMA-class {limit['fma_default_per_s_per_core']:.3g} and "
         f"{limit['fma_wide_per_s_per_core']:.3g}. The whole mix (`1 sqrt + 1 div` and {FLOPS_PER_PAIR_STEP} FMA-class "
         f"operations per element) in one loop: {limit['mix_per_s_per_core']:.3g} per second per core with "
         f"independent operands, {limit['chained_mix_per_s_per_core']:.3g} chained as in the ReLU dual "
         f"({limit['chained_mix_default_per_s_per_core']:.3g} as numba compiles by default, "
         f"{limit['chained_mix_wide_per_s_per_core']:.3g} as the engine's loops are), "
         f"{limit['skewed_mix_per_s_per_core']:.3g} chained and software-pipelined (two parts run 16 elements "
         f"apart). The divider's work of the engine "
         f"before 2026-12-04 (`2 sqrt + 1 div`, arccos through arcsin), on which earlier tables' limits rest: "
         f"{limit['two_sqrt_one_div_per_s_per_core']:.3g} per second per core. The erf rows are measured against "
         f"the erf step loop's own mix (`2 sqrt + 2 div` and {ERF_FLOPS_PER_PAIR_STEP} FMA-class operations): "
         f"{limit['erf_divider_duals_per_s_per_core']:.3g} `2 sqrt + 2 div` per second per core -> "
         f"{limit['erf_limit_pair_steps_per_s']:.3g} on {limit['cores']} core(s) (before 2026-12-04 they were "
         f"measured against the ReLU limit)."),
        "",
        (f"The other ReLU step loops do more per pair-step (benchmarks/limits.py, `LOOP_OPS`), and each ReLU row is "
         f"measured against the limit of the loops it runs in, found the same way (the higher of the model and "
         f"the loop's own operation counts with independent operands; `1 sqrt + 1 div` besides): the last "
         f"state's upper layers ({LOOP_OPS['last_upper'][0]} multiplications and FMAs, {LOOP_OPS['last_upper'][1]} "
         f"others) {limit['last_upper_limit_pair_steps_per_s']:.3g}, mean pooling's first layer "
         f"({LOOP_OPS['mean'][0]}, {LOOP_OPS['mean'][1]}) {limit['mean_limit_pair_steps_per_s']:.3g} and upper layers "
         f"({LOOP_OPS['mean_upper'][0]}, {LOOP_OPS['mean_upper'][1]}) "
         f"{limit['mean_upper_limit_pair_steps_per_s']:.3g} pair-layer-steps per second on {limit['cores']} "
         f"core(s); L layers take L / (1 / first + (L - 1) / upper): two layers "
         f"{limit['limit_2_layers_pair_steps_per_s']:.3g} (last state) and "
         f"{limit['mean_limit_2_layers_pair_steps_per_s']:.3g} (mean pooling). Before 2026-12-06 every ReLU row "
         f"was measured against the first layer's last-state limit."),
        *(["", *notes] if notes else []),
        *(["", (f"Accelerator: {accel.description}, float64. Its seconds are the best of the calls after a "
                "first one per case, which compiles (first_call_seconds in bench.csv); its peak memory counts "
                "host allocations only, not the device's; its 'of limit' is left empty (the limit is the CPU's).")]
          if accel is not None else []),
    ]
    (out_dir / "bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten: {out_dir / 'bench.csv'}, {out_dir / 'bench.md'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="add the large sizes and the memory run")
    parser.add_argument("--jobs", type=int, default=available_cpus(), help="threads (default: all cores)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per implementation (best is kept)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench", help="output folder")
    parser.add_argument("--device", default="auto",
                        help="add the accelerator engine (JAX): auto (a GPU if JAX sees one), gpu, gpu:N, cpu, "
                             "or none (default: auto)")
    args = parser.parse_args(argv)
    note = openmp_binding_note()
    if note:                    # the table would then measure one core (its header says how many it had)
        print(f"warning: {note}", flush=True)
    run(args.full, max(1, args.jobs), max(1, args.repeat), args.out, args.device)


if __name__ == "__main__":
    main()
