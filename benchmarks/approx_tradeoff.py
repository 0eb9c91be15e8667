"""``python -m benchmarks.approx_tradeoff [--quick] [--jobs 1] [--out results/approx]``: exact Gram matrices
against approximate kernel features, in accuracy, seconds and memory.

Two parts, written to ``tradeoff.csv``, ``tradeoff.md`` and ``tradeoff.png`` in the output folder:

* **accuracy**: on the largest UCI datasets where the exact path still fits this machine, one seeded
  stratified 75/25 split, C = 1, kernels ``ntk`` (n_layers = 3) and ``rbf`` (gamma = 1 / (d Var(X_train)),
  scikit-learn's ``"scale"``). Exact: the Gram matrix and ``svc_predict`` (``SVC(kernel="precomputed")``).
  Approximate: ``NystroemMap`` (default sampling) at several m and, for the ntk, ``NTKRandomFeatures`` at
  several m, each fitted with ``feature_solver`` (what ``--approx`` runs fit).
* **cost**: seconds and peak memory against N, of the exact path (Gram matrix + one SVC fit) up to the
  largest N that fits, and of Nystroem features (m = 1000) + one feature SVM fit on real and generated data.

Every point runs in a fresh Python process (``--point``), so that its memory is measured alone: the process
loads its data and the kernel's compiled code, resets its resident-set high-water mark (``5`` written to
``/proc/self/clear_refs``, Linux), runs the point and reports ``VmHWM`` (``/proc/self/status``) minus the
resident set before the point. ``--quick`` runs a small version in well under a minute (the test's).
``--report-only`` rewrites the markdown and the figure from an existing ``tradeoff.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets"

C = 1.0
SEED = 0
TEST_SIZE = 0.25
NTK_LAYERS = 3
STEP_LIMIT_S = 180.0       # a cost series stops after a step that took longer than this
GRAM_LIMIT_BYTES = 6e9     # ... and exact points whose N x N float64 Gram matrix would exceed this are skipped
POINT_TIMEOUT_S = 900.0    # a point still running after this is killed and recorded as such
GENERATED = dict(n_features=20, n_informative=10, n_redundant=2, n_classes=2, random_state=0)
MMAP_THRESHOLD = 65536      # bytes; see _child
GENERATED_ROWS = 200_000   # one draw of this many rows; a point of N rows takes its first N

PARTS = ("accuracy", "cost")
FIELDS = ["part", "data", "kernel", "method", "m", "sampling", "n_train", "n_test", "n_features", "n_classes",
          "feature_dim", "accuracy", "features_s", "fit_s", "total_s", "peak_growth_bytes", "rss_before_bytes",
          "peak_rss_bytes", "gram_bytes", "kernel_rel_error", "unconverged", "fits", "memory_method", "status",
          "note"]


@dataclass(frozen=True)
class Plan:
    """What one run measures."""

    name: str
    accuracy_data: tuple[tuple[str, int | None], ...]   # (UCI dataset, cap on training rows or None)
    nystroem_m: tuple[int | str, ...]                    # "all": m = every training row (the exact kernel)
    rf_m: tuple[int, ...]
    rbf_nystroem_m: tuple[int | str, ...]
    cost_m: int
    exact_generated: tuple[int, ...]
    exact_real: tuple[int, ...]
    approx_generated: tuple[int, ...]
    approx_real: tuple[int, ...]
    real_data: str


FULL = Plan(
    name="full",
    accuracy_data=(("magic", None), ("letter", None)),
    nystroem_m=(100, 300, 1000, 3000),
    rf_m=(256, 1024, 4096),
    rbf_nystroem_m=(100, 300, 1000, 3000),
    cost_m=1000,
    exact_generated=(1000, 2000, 5000, 10000, 20000, 27000),
    exact_real=(2000, 5000, 10000, 20000, 28056),
    approx_generated=(2000, 5000, 10000, 20000, 50000, 100000, 200000),
    approx_real=(2000, 5000, 10000, 20000, 28056),
    real_data="chess-krvk",
)
QUICK = Plan(
    name="quick",
    accuracy_data=(("magic", 400),),
    nystroem_m=("all", 50),
    rf_m=(64,),
    rbf_nystroem_m=("all",),
    cost_m=100,
    exact_generated=(300, 600),
    exact_real=(),
    approx_generated=(300, 600),
    approx_real=(600,),
    real_data="chess-krvk",
)


# --------------------------------------------------------------------------------------------------- one point
# (runs in its own process)

def _status_bytes(key: str) -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset this process's resident-set high-water mark (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return _status_bytes("VmHWM") is not None
    except OSError:
        return False


def _split(name: str, data_dir: Path, max_train: int | None):
    """One seeded stratified 75/25 split of every row of UCI dataset ``name`` (a predefined test file is pooled
    with the rest); the training part subsampled (stratified, seeded) to ``max_train`` rows if given."""
    from sklearn.model_selection import train_test_split

    from rntk_bench.data import load_dataset

    ds = load_dataset(name, data_dir)
    X, y = np.asarray(ds.X, dtype=np.float64), np.asarray(ds.y)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=TEST_SIZE, stratify=y, random_state=SEED)
    if max_train is not None and max_train < len(y_tr):
        X_tr, _, y_tr, _ = train_test_split(X_tr, y_tr, train_size=max_train, stratify=y_tr, random_state=SEED)
    return X_tr, y_tr, X_te, y_te


def _cost_rows(data: str, n: int, data_dir: Path):
    """The N rows of a cost point: the first N of one generated draw, or N seeded-random rows of a dataset."""
    if data == "generated":
        from sklearn.datasets import make_classification

        X, y = make_classification(n_samples=GENERATED_ROWS, **GENERATED)
        return X[:n], y[:n]
    from rntk_bench.data import load_dataset

    ds = load_dataset(data, data_dir)
    X, y = np.asarray(ds.X, dtype=np.float64), np.asarray(ds.y)
    order = np.random.default_rng(SEED).permutation(len(y))[:n]
    return X[order], y[order]


def _kernel(name: str, X_train):
    from rntk_bench.kernels import get_kernel

    if name == "ntk":
        return get_kernel("ntk", n_layers=NTK_LAYERS)
    if name == "rbf":
        return get_kernel("rbf", gamma=float(1.0 / (X_train.shape[1] * X_train.var())))
    raise ValueError(f"unknown kernel {name!r}")


def run_point(spec: dict) -> dict:
    """Measure one point described by ``spec`` in this process and return its row."""
    from rntk_bench.approx import NTKRandomFeatures, NystroemMap
    from rntk_bench.approximation import feature_solver
    from rntk_bench.protocols.svm import svc_predict
    from rntk_bench.threads import limit_threads

    data_dir = Path(spec["data_dir"])
    if spec["part"] == "accuracy":
        X_tr, y_tr, X_te, y_te = _split(spec["data"], data_dir, spec.get("max_train"))
    else:  # cost: train on N rows, score one row (what is timed is the Gram matrix / features and one fit)
        X_tr, y_tr = _cost_rows(spec["data"], spec["n"], data_dir)
        X_te, y_te = X_tr[:1], y_tr[:1]
    m = spec.get("m")
    if m == "all":
        m = len(y_tr)
    row = {key: spec.get(key, "") for key in ("part", "data", "kernel", "method", "sampling")}
    row.update(n_train=len(y_tr), n_test=len(y_te) if spec["part"] == "accuracy" else 0,
               n_features=X_tr.shape[1], n_classes=len(np.unique(y_tr)), m=m if m is not None else "")
    counts: dict[str, int] = {}
    with limit_threads(spec["jobs"]):
        kernel = _kernel(spec["kernel"], X_tr)
        kernel(X_tr[:4], X_tr[:4])                 # compiled code loaded before anything is measured
        resettable = _reset_peak()
        before = _status_bytes("VmRSS") or 0
        start = time.perf_counter()
        if spec["method"] == "exact":
            gram = kernel(X_tr)
            gram_test = kernel(X_te, X_tr)
            features_s = time.perf_counter() - start
            predicted = svc_predict(gram, y_tr, gram_test, C, counts)
            row["feature_dim"] = ""
            row["gram_bytes"] = gram.nbytes
        else:
            if spec["method"] == "nystroem":
                feature_map = NystroemMap(kernel, m, seed=SEED).fit(X_tr)
                # m = n: every training row is a landmark, whatever the sampling
                row["sampling"] = "all rows" if m == len(y_tr) else feature_map.sampling_
            else:
                feature_map = NTKRandomFeatures.from_kernel(kernel, n_features=m, seed=SEED).fit(X_tr)
            F_tr, F_te = feature_map.transform(X_tr), feature_map.transform(X_te)
            features_s = time.perf_counter() - start
            predicted = feature_solver(F_tr, y_tr, F_te, C, counts)
            row["feature_dim"] = F_tr.shape[1]
        total_s = time.perf_counter() - start
    if resettable:
        peak = _status_bytes("VmHWM") or 0
        row["memory_method"] = "VmHWM after clear_refs" + (
            f", mmap threshold {int(os.environ['MALLOC_MMAP_THRESHOLD_']) // 1024} KiB"
            if os.environ.get("MALLOC_MMAP_THRESHOLD_") else "")
    else:  # ru_maxrss counts the loading too: an upper bound of the growth
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        row["memory_method"] = "ru_maxrss (upper bound)"
    if spec.get("check_kernel") and spec["method"] != "exact":
        # m = every training row: F F^T should be the exact training Gram matrix (outside the timings)
        with limit_threads(spec["jobs"]):
            exact = kernel(X_tr, X_tr)
        row["kernel_rel_error"] = float(np.linalg.norm(F_tr @ F_tr.T - exact) / np.linalg.norm(exact))
    row.update(accuracy=float(np.mean(predicted == y_te)) if spec["part"] == "accuracy" else "",
               features_s=features_s, fit_s=total_s - features_s, total_s=total_s,
               peak_growth_bytes=max(0, peak - before), rss_before_bytes=before, peak_rss_bytes=peak,
               unconverged=counts.get("unconverged", 0), fits=counts.get("fits", 0), status="ok")
    return row


# ------------------------------------------------------------------------------------------------ the driver

def _child(spec: dict) -> dict:
    """Run one point in a fresh interpreter limited to ``spec["jobs"]`` threads; its row, or an error row."""
    jobs = str(spec["jobs"])
    # MALLOC_MMAP_THRESHOLD_: glibc serves every block of 64 KiB or more by mmap and returns it when freed, so
    # memory freed while loading is not silently reused by the point (which would hide it from the growth)
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, OMP_NUM_THREADS=jobs, OPENBLAS_NUM_THREADS=jobs, MKL_NUM_THREADS=jobs,
               NUMBA_NUM_THREADS=jobs, MALLOC_MMAP_THRESHOLD_=str(MMAP_THRESHOLD), PYTHONPATH=path)
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "benchmarks.approx_tradeoff", "--point", json.dumps(spec)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=POINT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return _row(spec, status="timeout", total_s=time.perf_counter() - started,
                    note=f"killed after {POINT_TIMEOUT_S:.0f} s")
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        message = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return _row(spec, status="error", note=f"exit {done.returncode}: {message[:200]}")
    return json.loads(lines[-1])


def _row(spec: dict, **values) -> dict:
    row = {key: spec.get(key, "") for key in ("part", "data", "kernel", "method", "m", "sampling")}
    row["n_train"] = spec.get("n", "")
    row.update(values)
    return row


def _accuracy_specs(plan: Plan, data_dir: Path, jobs: int) -> list[dict]:
    specs = []
    for name, max_train in plan.accuracy_data:
        base = dict(part="accuracy", data=name, max_train=max_train, data_dir=str(data_dir), jobs=jobs)
        for kernel, nystroem_m in (("ntk", plan.nystroem_m), ("rbf", plan.rbf_nystroem_m)):
            specs.append(dict(base, kernel=kernel, method="exact"))
            specs += [dict(base, kernel=kernel, method="nystroem", m=m, check_kernel=m == "all")
                      for m in nystroem_m]
            if kernel == "ntk":
                specs += [dict(base, kernel=kernel, method="ntk-rf", m=m) for m in plan.rf_m]
    return specs


def _cost_series(plan: Plan, data_dir: Path, jobs: int) -> list[list[dict]]:
    base = dict(part="cost", kernel="ntk", data_dir=str(data_dir), jobs=jobs)
    return [
        [dict(base, data="generated", method="exact", n=n) for n in plan.exact_generated],
        [dict(base, data=plan.real_data, method="exact", n=n) for n in plan.exact_real],
        [dict(base, data="generated", method="nystroem", m=plan.cost_m, n=n) for n in plan.approx_generated],
        [dict(base, data=plan.real_data, method="nystroem", m=plan.cost_m, n=n) for n in plan.approx_real],
    ]


def _say(row: dict) -> None:
    acc = f" acc {row['accuracy']:.4f}" if isinstance(row.get("accuracy"), float) else ""
    secs = f" {row['total_s']:.1f} s" if isinstance(row.get("total_s"), float) else ""
    mem = (f" +{row['peak_growth_bytes'] / 2**20:.0f} MiB" if isinstance(row.get("peak_growth_bytes"), int)
           else "")
    print(f"  -> {row.get('status')}{acc}{secs}{mem} {row.get('note', '')}", flush=True)


def run(plan: Plan, out_dir: Path, data_dir: Path, jobs: int, parts: tuple[str, ...] = PARTS) -> list[dict]:
    """Measure ``parts`` of ``plan``; rows of the other part are kept from an existing ``tradeoff.csv``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    meta_path = out_dir / "tradeoff.json"
    old_meta = json.loads(meta_path.read_text()) if meta_path.exists() and set(parts) != set(PARTS) else {}
    kept = ([r for r in read_rows(out_dir) if r["part"] not in parts]
            if old_meta and (out_dir / "tradeoff.csv").exists() else [])
    for part in PARTS:
        if part not in parts and not any(r["part"] == part for r in kept):
            print(f"note: no earlier rows of part {part!r} in {out_dir}", flush=True)
    meta = {"plan": plan.name, "jobs": jobs, "machine": _machine(),
            "parts": {p: v for p, v in old_meta.get("parts", {}).items() if p not in parts}}
    this = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "load_before": os.getloadavg()}
    wall = time.perf_counter()
    rows: list[dict] = list(kept)
    for spec in _accuracy_specs(plan, data_dir, jobs) if "accuracy" in parts else []:
        print(f"accuracy: {spec['data']} {spec['kernel']} {spec['method']} m={spec.get('m', '')} ...", flush=True)
        rows.append(_child(spec))
        _say(rows[-1])
        _write_csv(rows, out_dir)
    for series in _cost_series(plan, data_dir, jobs) if "cost" in parts else []:
        stop = ""
        for spec in series:
            n = spec["n"]
            if spec["method"] == "exact" and 8 * n * n > GRAM_LIMIT_BYTES:
                stop = stop or f"Gram matrix 8 N^2 = {8 * n * n / 1e9:.1f} GB > {GRAM_LIMIT_BYTES / 1e9:.0f} GB"
            if stop:
                rows.append(_row(spec, status="skipped", note=stop))
                continue
            print(f"cost: {spec['data']} {spec['method']} N={n} ...", flush=True)
            row = _child(spec)
            rows.append(row)
            _say(row)
            if row.get("status") != "ok":
                stop = f"previous step (N = {n}) {row.get('status')}"
            elif row["total_s"] > STEP_LIMIT_S:
                stop = f"previous step (N = {n}) took {row['total_s']:.0f} s > {STEP_LIMIT_S:.0f} s"
            _write_csv(rows, out_dir)
    this.update(finished=time.strftime("%Y-%m-%d %H:%M:%S"), load_after=os.getloadavg(),
                wall_s=time.perf_counter() - wall)
    meta["parts"].update({part: this for part in parts})
    rows.sort(key=lambda r: PARTS.index(r["part"]))
    _write_csv(rows, out_dir)
    (out_dir / "tradeoff.json").write_text(json.dumps(meta, indent=1) + "\n")
    report(out_dir)
    return rows


def _machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    import sklearn

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_bytes": memory, "python": platform.python_version(),
            "numpy": np.__version__, "sklearn": sklearn.__version__}


def _write_csv(rows: list[dict], out_dir: Path) -> None:
    with open(out_dir / "tradeoff.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


# ---------------------------------------------------------------------------------------------- the report

def read_rows(out_dir: Path) -> list[dict]:
    """The rows of ``tradeoff.csv`` with numbers as numbers."""
    rows = []
    with open(out_dir / "tradeoff.csv", newline="") as handle:
        for raw in csv.DictReader(handle):
            row = {}
            for key, value in raw.items():
                try:
                    row[key] = int(value)
                except ValueError:
                    try:
                        row[key] = float(value)
                    except ValueError:
                        row[key] = value
            rows.append(row)
    return rows


def _mib(count) -> str:
    return f"{count / 2**20:,.0f}" if isinstance(count, (int, float)) else ""


def _s(value) -> str:
    if not isinstance(value, (int, float)):
        return ""
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _pct(value) -> str:
    return f"{100 * value:.2f}" if isinstance(value, float) else ""


def _method_label(row: dict) -> str:
    if row["method"] == "exact":
        return "exact"
    if row.get("sampling") == "all rows":
        error = row.get("kernel_rel_error")
        error = f"; relative error of F Fᵀ against K: {error:.1e}" if isinstance(error, float) else ""
        return f"Nystroem, m = n_train = {row['m']:,} (every training row{error})"
    label = "Nystroem" if row["method"] == "nystroem" else "NTK random features"
    return f"{label}, m = {row['m']:,}" if isinstance(row["m"], int) else label


def _accuracy_table(rows: list[dict]) -> list[str]:
    exact = {(r["data"], r["kernel"]): r for r in rows if r["method"] == "exact" and r["status"] == "ok"}
    lines = ["| dataset | kernel | method | feature dim | accuracy % | vs exact (points) | features / Gram s | "
             "fit + predict s | total s | peak memory MiB | unconverged fits |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        ref = exact.get((row["data"], row["kernel"]))
        diff = (f"{100 * (row['accuracy'] - ref['accuracy']):+.2f}" if ref and row["method"] != "exact"
                and isinstance(row.get("accuracy"), float) else "")
        status = "" if row["status"] == "ok" else f" ({row['status']}: {row.get('note', '')})"
        dim = row.get("feature_dim", "")
        lines.append(f"| {row['data']} | {row['kernel']} | {_method_label(row)}{status} | "
                     f"{f'{dim:,}' if isinstance(dim, int) else dim} "
                     f"| {_pct(row.get('accuracy'))} | {diff} | {_s(row.get('features_s'))} | {_s(row.get('fit_s'))} "
                     f"| {_s(row.get('total_s'))} | {_mib(row.get('peak_growth_bytes'))} | "
                     f"{row.get('unconverged', '')}/{row.get('fits', '')} |")
    return lines


def _cost_table(rows: list[dict]) -> list[str]:
    lines = ["| data | classes | method | N | Gram / features s | one fit s | total s | peak memory MiB | "
             "exact Gram matrix 8 N² MiB | status |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        n = row["n_train"]
        status = row["status"] if row["status"] == "ok" else f"{row['status']}: {row.get('note', '')}"
        lines.append(f"| {row['data']} | {row.get('n_classes', '')} | {_method_label(row)} | {n:,} | "
                     f"{_s(row.get('features_s'))} | "
                     f"{_s(row.get('fit_s'))} | {_s(row.get('total_s'))} | {_mib(row.get('peak_growth_bytes'))} | "
                     f"{_mib(8 * n * n) if isinstance(n, int) else ''} | {status} |")
    return lines


def _top_growth(rows: list[dict]) -> tuple[dict, dict, float]:
    """The two largest-N rows of a series and the exponent k of seconds ~ N^k between them."""
    a, b = sorted(rows, key=lambda r: r["n_train"])[-2:]
    return a, b, math.log(b["total_s"] / a["total_s"]) / math.log(b["n_train"] / a["n_train"])


def _findings(acc: list[dict], cost: list[dict]) -> list[str]:
    """Sentences with the numbers, computed from the rows (so that a rerun rewrites them)."""
    out = []
    ok = [r for r in acc if r["status"] == "ok"]
    for data, kernel in dict.fromkeys((r["data"], r["kernel"]) for r in ok):
        group = [r for r in ok if (r["data"], r["kernel"]) == (data, kernel)]
        exact = next((r for r in group if r["method"] == "exact"), None)
        if exact is None:
            continue
        parts = []
        for method in ("nystroem", "ntk-rf"):
            approx = sorted((r for r in group if r["method"] == method and r["m"] < exact["n_train"]),
                            key=lambda r: r["m"])
            if not approx:
                continue
            best = max(approx, key=lambda r: r["accuracy"])
            close = next((r for r in approx if r["accuracy"] >= exact["accuracy"] - 0.01), None)
            name = "Nystroem" if method == "nystroem" else "NTK random features"
            verb = "reaches" if method == "nystroem" else "reach"
            text = (f"{name} {verb} {_pct(best['accuracy'])} % at m = {best['m']:,} ({_s(best['total_s'])} s: "
                    f"features {_s(best['features_s'])} s, fit {_s(best['fit_s'])} s; "
                    f"{_mib(best['peak_growth_bytes'])} MiB)")
            if close is not None:
                text += (f"; the smallest m within 1 point of exact is {close['m']:,} ({_pct(close['accuracy'])} %, "
                         f"{_s(close['total_s'])} s)")
            else:
                text += "; no m tried comes within 1 point of exact"
            parts.append(text)
        out.append(f"**{data}, {kernel}** ({exact['n_train']:,} training rows): exact {_pct(exact['accuracy'])} % in "
                   f"{_s(exact['total_s'])} s and {_mib(exact['peak_growth_bytes'])} MiB"
                   + "".join(f"; {part}" for part in parts) + ".")
    for data in dict.fromkeys(r["data"] for r in cost):
        exact = [r for r in cost if r["data"] == data and r["method"] == "exact" and r["status"] == "ok"]
        approx = [r for r in cost if r["data"] == data and r["method"] != "exact" and r["status"] == "ok"]
        if not exact and not approx:
            continue
        text = f"**Cost, {data}**:"
        if exact:
            top = max(exact, key=lambda r: r["n_train"])
            text += (f" the largest exact fit measured, N = {top['n_train']:,}, took {_s(top['total_s'])} s "
                     f"(Gram {_s(top['features_s'])} s, SVC {_s(top['fit_s'])} s) and {_mib(top['peak_growth_bytes'])} "
                     f"MiB;")
            if len(exact) >= 2:
                a, b, slope = _top_growth(exact)
                text += f" exact seconds grow like N^{slope:.1f} between N = {a['n_train']:,} and {b['n_train']:,};"
        if approx:
            top = max(approx, key=lambda r: r["n_train"])
            text += (f" Nystroem m = {top['m']:,} on N = {top['n_train']:,} took {_s(top['total_s'])} s "
                     f"(features {_s(top['features_s'])} s, fit {_s(top['fit_s'])} s) and "
                     f"{_mib(top['peak_growth_bytes'])} MiB")
            if len(approx) >= 2:
                text += f", seconds growing like N^{_top_growth(approx)[2]:.1f} at the top"
            cheaper = [r["n_train"] for r in approx for e in exact
                       if e["n_train"] == r["n_train"] and r["total_s"] < e["total_s"]]
            same_n = [r["n_train"] for r in approx if any(e["n_train"] == r["n_train"] for e in exact)]
            if same_n:
                text += (f"; at equal N the approximate path was faster at N = {', '.join(f'{n:,}' for n in cheaper)}"
                         if cheaper else "; at every N measured both ways the exact path was faster")
            text += "."
        skipped = [r for r in cost if r["data"] == data and r["status"] != "ok"]
        if skipped:
            text += " Not measured: " + "; ".join(f"{r['method']} N = {r['n_train']:,} ({r['note']})"
                                                  for r in skipped) + "."
        out.append(text)
    return out


def _when(meta: dict) -> list[str]:
    """One sentence per part: when it was measured, how long it took, and the load around it."""
    parts = meta.get("parts", {})
    out = []
    for part in PARTS:
        info = parts.get(part)
        if not info:
            continue
        load = info.get("load_before"), info.get("load_after")
        out.append(f"Part {PARTS.index(part) + 1} ({part}) measured {info.get('started', '?')} to "
                   f"{info.get('finished', '?')} ({_s(info.get('wall_s'))} s of wall time); load average (1 min) "
                   f"{load[0][0]:.2f} before, {load[1][0]:.2f} after." if load[0] and load[1] else f"Part {part}: ?")
    return out


def _pivot(acc: list[dict]) -> list[str]:
    """Accuracy % (total seconds) of every method and m, one line per dataset and kernel."""
    ok = [r for r in acc if r["status"] == "ok" and r.get("sampling") != "all rows"]
    columns = [("exact", "")] + sorted({(r["method"], r["m"]) for r in ok if r["method"] != "exact"},
                                       key=lambda c: (c[0] != "nystroem", c[1]))
    head = ["exact" if method == "exact" else f"{'Nystroem' if method == 'nystroem' else 'RF'} {m:,}"
            for method, m in columns]
    lines = ["| dataset, kernel | " + " | ".join(head) + " |", "|---|" + "---|" * len(columns)]
    for data, kernel in dict.fromkeys((r["data"], r["kernel"]) for r in ok):
        cells = []
        for method, m in columns:
            row = next((r for r in ok if (r["data"], r["kernel"], r["method"]) == (data, kernel, method)
                        and (method == "exact" or r["m"] == m)), None)
            cells.append(f"{_pct(row['accuracy'])} ({_s(row['total_s'])} s)" if row else "")
        lines.append(f"| {data}, {kernel} | " + " | ".join(cells) + " |")
    return lines


def _choice(acc: list[dict], cost: list[dict]) -> list[str]:
    """Which m came within 1 point of exact everywhere, and where exact stops fitting."""
    out = []
    ok = [r for r in acc if r["status"] == "ok" and r.get("sampling") != "all rows"]
    exact = {(r["data"], r["kernel"]): r for r in ok if r["method"] == "exact"}
    for method, name in (("nystroem", "Nystroem"), ("ntk-rf", "NTK random features")):
        groups = {key for key in exact for r in ok if r["method"] == method and (r["data"], r["kernel"]) == key}
        if not groups:
            continue
        for m in sorted({r["m"] for r in ok if r["method"] == method}):
            gaps = [100 * (r["accuracy"] - exact[(r["data"], r["kernel"])]["accuracy"]) for r in ok
                    if r["method"] == method and r["m"] == m and (r["data"], r["kernel"]) in groups]
            if len(gaps) == len(groups) and min(gaps) >= -1.0:
                worst = min(gaps)
                seconds = [r["total_s"] for r in ok if r["method"] == method and r["m"] == m]
                exact_s = [exact[key]["total_s"] for key in groups]
                out.append(f"**Which m**: the smallest {name} m within 1 point of exact on each of the {len(groups)} "
                           f"dataset/kernel pairs is {m:,} (largest shortfall {-worst:.2f} points); it took "
                           f"{min(seconds):.1f}-{max(seconds):.1f} s per fit and prediction, where exact took "
                           f"{min(exact_s):.1f}-{max(exact_s):.1f} s.")
                break
        else:
            out.append(f"**Which m**: no {name} m tried came within 1 point of exact on each of the "
                       f"{len(groups)} dataset/kernel pairs.")
    exact_cost = [r for r in cost if r["method"] == "exact" and r["status"] == "ok"]
    if exact_cost:
        top = max(exact_cost, key=lambda r: r["n_train"])
        out.append(f"**Where exact stops**: here the exact path was limited by memory, not time: N = "
                   f"{top['n_train']:,} took {_s(top['total_s'])} s and {_mib(top['peak_growth_bytes'])} MiB "
                   f"(8 N² bytes = {_mib(8 * top['n_train'] ** 2)} MiB for the Gram matrix alone); the next size "
                   f"would pass {GRAM_LIMIT_BYTES / 1e9:.0f} GB."
                   if top["total_s"] < STEP_LIMIT_S else
                   f"**Where exact stops**: N = {top['n_train']:,} took {_s(top['total_s'])} s.")
    return out


def report(out_dir: Path) -> None:
    """Write ``tradeoff.md`` and ``tradeoff.png`` from ``tradeoff.csv`` (and ``tradeoff.json``)."""
    rows = read_rows(out_dir)
    meta_path = out_dir / "tradeoff.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    acc = [r for r in rows if r["part"] == "accuracy"]
    cost = [r for r in rows if r["part"] == "cost"]
    machine = meta.get("machine", {})
    quick = meta.get("plan") == "quick"
    unreset = [r for r in rows if r["status"] == "ok" and "mmap threshold" not in str(r.get("memory_method"))]
    lines = [
        f"# Exact Gram matrices against approximate features ({meta.get('plan', '?')})", "",
        (f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
         f"{machine.get('memory_bytes', 0) / 2**30:.0f} GiB; {meta.get('jobs', '?')} thread(s) per point (BLAS, "
         f"OpenMP and numba limited to it); Python {machine.get('python', '?')}, NumPy {machine.get('numpy', '?')}, "
         f"scikit-learn {machine.get('sklearn', '?')}. A load average above the threads used means other work "
         "shared the machine: seconds compare within this page, not across machines or runs."),
        "", *_when(meta), "",
        "Rerun: `make bench-approx` (= `.venv/bin/python -m benchmarks.approx_tradeoff --jobs 1`; about 25 minutes "
        "on one core here); `--only accuracy` or `--only cost` measures one part and keeps the other's rows; "
        "`--quick --out DIR` is the small version the test runs (about 20 s); `--report-only` rewrites this page "
        "and the figure from `tradeoff.csv`.", "",
        "![accuracy against m; seconds and memory against N](tradeoff.png)", "",
        "## Findings", "",
        *[f"- {text}" for text in _findings(acc, cost) + _choice(acc, cost)], "",
        "Accuracy % (seconds for features + fit + prediction) by method and m; RF = NTK random features, "
        "whose feature dimension is 2 m:", "",
        *_pivot(acc), "",
        "## 1. Accuracy against exact", "",
        (f"One stratified 75/25 split of all rows of each dataset (scikit-learn `train_test_split`, random_state "
         f"= {SEED}; a predefined test file would be pooled with the other rows first), C = {C:g} throughout. "
         f"Kernels: `ntk` with n_layers = {NTK_LAYERS}; `rbf` with gamma = 1 / (n_features Var(X_train)) "
         "(scikit-learn's \"scale\"). Exact: the training Gram matrix and the test-by-training cross Gram matrix, "
         "then `svc_predict` (`SVC(kernel=\"precomputed\", C=1)`, hinge loss). Approximate: `NystroemMap(kernel, m, "
         "seed=0)` (default sampling `auto` = k-means landmarks for vector kernels) or "
         "`NTKRandomFeatures.from_kernel(kernel, n_features=m, seed=0)` (feature dim 2 m for the NTK), fitted on "
         "the training rows, then `feature_solver` (`FeatureSVC(C=1, loss=\"squared_hinge\", max_iter=1000)`, "
         "one-vs-one): a different loss than the exact SVC, as in `--approx` runs, which is why an approximation "
         "can score above exact. \"features / Gram s\": both Gram matrices (exact) or fitting the map and "
         "transforming training and test rows (approximate); \"fit + predict s\": the SVM fit and the test "
         "predictions. A row \"m = n_train\" uses every training row as a landmark, i.e. the exact kernel through "
         "the feature path."),
        "", *_accuracy_table(acc), "",
        "## 2. Cost against N", "",
        (f"`ntk` (n_layers = {NTK_LAYERS}), C = {C:g}, one fit on N training rows (the prediction of one row is "
         "included and negligible). Exact: the N x N Gram matrix and one `svc_predict` fit. Approximate: "
         "`NystroemMap` (k-means landmarks) fitted and applied to the N rows, then one `feature_solver` fit "
         "(one-vs-one: k (k - 1) / 2 binary problems for k classes, 153 for chess-krvk's 18). "
         f"Generated data: the first N rows of one draw of `sklearn.datasets.make_classification("
         f"n_samples={GENERATED_ROWS}, n_features=20, n_informative=10, n_redundant=2, n_classes=2, "
         "random_state=0)` (features used as drawn, not standardised). Real data: N rows of the UCI dataset named "
         "in the table (its standardised features as distributed), a seeded random subset (the first N of a "
         f"numpy default_rng({SEED}) permutation of all rows). A series stops after a step over "
         f"{STEP_LIMIT_S:.0f} s, and exact points whose Gram matrix would exceed {GRAM_LIMIT_BYTES / 1e9:.0f} GB "
         "are skipped."),
        "", *_cost_table(cost), "",
        "## How memory is measured", "",
        ("Each point (every row of both tables) runs in a fresh Python process. It loads its data and the "
         "kernel's compiled code, then resets its resident-set high-water mark (`5` written to "
         "`/proc/self/clear_refs`), records its resident set, runs the point, and reads `VmHWM` from "
         "`/proc/self/status`. \"Peak memory\" is that high-water mark minus the resident set before: every "
         "allocation of the point that touches memory (Gram or feature matrices, the landmarks' eigendecomposition, "
         "the random weights, liblinear's and libsvm's own copies). The process runs with "
         f"`MALLOC_MMAP_THRESHOLD_={MMAP_THRESHOLD}`, so that glibc returns every freed block of 64 KiB or more "
         "to the system and memory freed while loading cannot be reused unseen by the point. `memory_method` in "
         "the CSV says how each row was measured."),
    ]
    if unreset:
        parts = sorted({r["part"] for r in unreset})
        lines += ["", (f"The rows of part(s) {', '.join(parts)} were measured before that setting was added "
                       "(`memory_method` without \"mmap threshold\"): there, memory the process had freed while "
                       "loading could be reused without growing the resident set, so small growths understate "
                       "the allocations by up to tens of MiB (a check on the exact N = 1,000 point of part 2: "
                       "0.7 MiB without the setting, 11 MiB with it, for a 7.6 MiB Gram matrix). Growths of "
                       "hundreds of MiB and more are not affected in any way that matters.")]
    if quick:
        lines += ["", "This is the `--quick` version: tiny sizes for the test, not a measurement to read."]
    (out_dir / "tradeoff.md").write_text("\n".join(lines) + "\n")
    _plot(acc, cost, out_dir / "tradeoff.png")


def _plot(acc: list[dict], cost: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in acc if r["status"] == "ok" and r.get("sampling") != "all rows"]
    datasets = list(dict.fromkeys(r["data"] for r in ok))
    width = max(2, len(datasets))
    fig, axes = plt.subplots(2, width, figsize=(7.5 * width, 10), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, data in zip(axes[0], datasets):
        for i, kernel in enumerate(dict.fromkeys(r["kernel"] for r in ok if r["data"] == data)):
            colour = colours[i % len(colours)]
            group = [r for r in ok if (r["data"], r["kernel"]) == (data, kernel)]
            for method, marker, style in (("nystroem", "o", "-"), ("ntk-rf", "s", ":")):
                points = sorted((r["m"], 100 * r["accuracy"]) for r in group if r["method"] == method)
                if points:
                    ax.plot(*zip(*points), marker=marker, linestyle=style, color=colour,
                            label=f"{kernel}, {'Nystroem' if method == 'nystroem' else 'NTK random features'}")
            exact = next((r for r in group if r["method"] == "exact"), None)
            if exact:
                ax.axhline(100 * exact["accuracy"], color=colour, linestyle="--", linewidth=1,
                           label=f"{kernel}, exact")
        n_train = next(r["n_train"] for r in ok if r["data"] == data)
        ax.set(xscale="log", xlabel="m (landmarks / random features)", ylabel="test accuracy %",
               title=f"{data} ({n_train:,} training rows): accuracy against m, C = 1")
        ax.legend(fontsize=8)
    for ax in axes[0][len(datasets):]:
        ax.axis("off")
    for ax, key, ylabel, title in ((axes[1][0], "total_s", "seconds", "Seconds against N (ntk, one fit)"),
                                   (axes[1][1], "peak_growth_bytes", "peak memory growth, MiB",
                                    "Peak memory against N (ntk, one fit)")):
        for i, series in enumerate(dict.fromkeys((r["data"], r["method"], r["m"]) for r in cost)):
            points = sorted((r["n_train"], r[key] / (2**20 if key != "total_s" else 1)) for r in cost
                            if (r["data"], r["method"], r["m"]) == series and r["status"] == "ok")
            if points:
                data, method, m = series
                ax.plot(*zip(*points), marker="o", linestyle="-" if method == "exact" else "--",
                        color=colours[i % len(colours)],
                        label=f"{data}, {'exact' if method == 'exact' else f'Nystroem m={m}'}")
        if key == "peak_growth_bytes":
            ns = sorted({r["n_train"] for r in cost if r["method"] == "exact"})
            if ns:
                ax.plot(ns, [8 * n * n / 2**20 for n in ns], color="grey", linewidth=0.8, linestyle=":",
                        label="8 N² bytes (one Gram matrix)")
        ax.set(xscale="log", yscale="log", xlabel="N (training rows)", ylabel=ylabel, title=title)
        ax.legend(fontsize=8)
    for ax in axes[1][2:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.approx_tradeoff",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds; what the test runs)")
    parser.add_argument("--jobs", type=int, default=1, help="threads per point (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default results/approx)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="folder holding fernandez-delgado/")
    parser.add_argument("--report-only", action="store_true", help="rewrite the .md and .png from the .csv")
    parser.add_argument("--only", choices=PARTS, help="measure one part; keep the other's rows from the .csv")
    parser.add_argument("--point", help=argparse.SUPPRESS)   # internal: run one point, print its row as JSON
    args = parser.parse_args(argv)
    if args.point:
        print(json.dumps(run_point(json.loads(args.point))))
        return
    out = args.out or ROOT / "results" / "approx"
    if args.report_only:
        report(out)
        return
    run(QUICK if args.quick else FULL, out, args.data_dir.resolve(), max(1, args.jobs),
        (args.only,) if args.only else PARTS)
    print((out / "tradeoff.md").read_text())
    print(f"written: {out / 'tradeoff.csv'}, {out / 'tradeoff.md'}, {out / 'tradeoff.png'}")


if __name__ == "__main__":
    main()
