"""The exact-against-approximate benchmark (benchmarks/approx_tradeoff.py) in its ``--quick`` form: it runs,
writes its three files, and its m = n_train Nystroem point reproduces the exact path."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_tradeoff_writes_files_and_matches_exact(tmp_path, shared_datasets):
    out = tmp_path / "approx"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.approx_tradeoff", "--quick", "--out", str(out),
         "--data-dir", str(shared_datasets)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("tradeoff.csv", "tradeoff.md", "tradeoff.png"):
        assert (out / name).is_file(), name
    assert (out / "tradeoff.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "tradeoff.png").stat().st_size > 10_000

    with open(out / "tradeoff.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(row["status"] == "ok" for row in rows), [(r["method"], r["note"]) for r in rows]
    assert {row["part"] for row in rows} == {"accuracy", "cost"}
    for row in rows:
        assert float(row["total_s"]) > 0 and int(row["peak_growth_bytes"]) >= 0

    accuracy = [row for row in rows if row["part"] == "accuracy"]
    for kernel in ("ntk", "rbf"):
        exact = next(r for r in accuracy if r["kernel"] == kernel and r["method"] == "exact")
        every_row = next(r for r in accuracy if r["kernel"] == kernel and r["sampling"] == "all rows")
        assert int(every_row["m"]) == int(every_row["n_train"]) == int(exact["n_train"])
        # every training row a landmark: the features reproduce the exact kernel ...
        assert float(every_row["kernel_rel_error"]) < 1e-10
        # ... and the accuracies agree closely (the feature SVM's loss is the squared hinge, so not exactly)
        assert float(exact["accuracy"]) > 0.75                      # magic's majority class is 64.8 %
        assert abs(float(every_row["accuracy"]) - float(exact["accuracy"])) <= 0.02

    report = (out / "tradeoff.md").read_text()
    assert "## Findings" in report and "make bench-approx" in report and "load average" in report
