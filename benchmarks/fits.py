"""One kernel setting's SVM fits under each protocol: the Gram matrix sliced once per fit rows, against once per fit.

``python -m benchmarks.fits [--data-dir DIR] [--repeat K]`` scores one NTK setting (two hidden layers) with the
protocols' own functions on three real datasets of the leaderboard's larger sizes: spambase and
wine-quality-white under ``arora-uci`` (4601 and 4898 rows; a validation fit and the four folds' fits at the
best C, for each of the five Cs of the RNTK grid) and PhalangesOutlinesCorrect under ``train-cv-test``
(1800 training series; five cross-validation folds and the refit, each C). Each protocol runs twice on the
same Gram matrix: with :class:`~rntk_bench.protocols.fitting.GramRows` as it is (the two blocks of one
(fit rows, scored rows) sliced once for all the Cs, scikit-learn's scan for NaN and infinity skipped after
one check of the whole matrix), and with the earlier behaviour (both blocks sliced, and scanned, for each
fit). The table gives the CPU seconds of the fits (the protocol's ``fit_seconds`` is wall time; here CPU
time of this process, best of ``--repeat``), the number of fits and whether every score is the same.
It is printed and written to ``results/bench/fits.md``. The data come from ``--data-dir`` (default: the
project's data folder, as for ``rntk-bench run``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from rntk_bench.data import load_dataset
from rntk_bench.errors import DatasetNotFoundError
from rntk_bench.kernels import get_kernel
from rntk_bench.protocols import get_protocol, protocol_input
from rntk_bench.protocols.arora_uci import ARORA_FOLDS, score_arora_uci, split_rows
from rntk_bench.protocols.fitting import GramRows
from rntk_bench.protocols.inputs import take
from rntk_bench.protocols.svm import svc_predict
from rntk_bench.protocols.train_cv_test import score_train_cv_test

ROOT = Path(__file__).resolve().parents[1]
C_GRID = [1e-2, 1.0, 1e2, 1e4, 1e6]   # the RNTK grid's Cs (uci90-rntk)
MAX_ITER = 1_000_000                  # the uci90 runs' cap
CASES = [("spambase", "arora-uci"), ("wine-quality-white", "arora-uci"), ("PhalangesOutlinesCorrect", "train-cv-test")]


class SlicedPerFit(GramRows):
    """The earlier behaviour: both Gram blocks sliced, and scanned by scikit-learn, for every fit."""

    def __init__(self, K):
        self.K = K   # no check of the whole matrix: each fit's scan did it

    def predictions(self, fit, scored, y_fit, C_grid, wanted=None, counts=None, max_iter=MAX_ITER):
        flags = [True] * len(C_grid) if wanted is None else wanted
        return [svc_predict(self.K[np.ix_(fit, fit)], y_fit, self.K[np.ix_(scored, fit)], C, counts, max_iter)
                if flag else None for C, flag in zip(C_grid, flags)]


def _represent(kind, kernel, kept):
    """A protocol's ``represent`` giving rows of class ``kind``; the Gram matrix is computed at the first call
    and kept in ``kept`` for the others (each protocol asks for one representation of the same rows)."""

    def represent(blocks, A, B=None):
        if "K" not in kept:
            K = kernel(A, None)
            kept["K"] = K if B is None or not len(B) else np.vstack([K, kernel(B, A)])
        return kind(kept["K"])

    return represent


def _prime(protocol: str, represent, dataset, X) -> None:
    """Ask ``represent`` for the rows the protocol will ask for, so that the Gram matrix is kept before timing."""
    if protocol == "arora-uci":
        split_rows(represent, X, dataset, ("validation",) + ARORA_FOLDS)
    else:
        split = dataset.split("train-test")
        represent(("train-train", "test-train"), take(X, np.asarray(split.train)), take(X, np.asarray(split.test)))


def _score(protocol: str, represent, dataset, X):
    if protocol == "arora-uci":
        return score_arora_uci(represent, X, dataset, C_GRID, MAX_ITER)
    return score_train_cv_test(represent, X, dataset, C_GRID, 5, 0, MAX_ITER)


def _scores(result: dict) -> tuple:
    """Everything a result file keeps of the fits: selection and test accuracies, predictions, counts."""
    return (result["selection_accuracy"], repr(result["splits"]), repr(result["predictions"]), result["svc_fits"],
            result["svc_unconverged"])


def run(data_dir: str | None, repeat: int) -> list[dict]:
    rows = []
    kernel = get_kernel("ntk", n_layers=2, fixed_layers=0)
    for name, protocol in CASES:
        try:
            dataset = load_dataset(name, data_dir=data_dir)
        except DatasetNotFoundError as exc:
            print(f"skipped {name}: {exc}")
            continue
        X = protocol_input(dataset, kernel.spec.input_kind, get_protocol(protocol)).X
        kept = {}
        _prime(protocol, _represent(GramRows, kernel, kept), dataset, X)   # the Gram matrix, untimed
        timings, results = {}, {}
        for _ in range(repeat):
            for label, kind in (("per fit", SlicedPerFit), ("per fit rows", GramRows)):
                start = time.process_time()
                results[label] = _score(protocol, _represent(kind, kernel, kept), dataset, X)
                timings[label] = min(timings.get(label, np.inf), time.process_time() - start)
        rows.append({"dataset": name, "protocol": protocol, "rows": len(dataset.y),
                     "fits": results["per fit rows"]["svc_fits"],
                     "per_fit_s": timings["per fit"], "per_rows_s": timings["per fit rows"],
                     "same": _scores(results["per fit"]) == _scores(results["per fit rows"])})
    return rows


def table(rows: list[dict]) -> list[str]:
    lines = ["| dataset | protocol | rows | SVM fits | sliced per fit (s) | per fit rows (s) | speed-up "
             "| same scores |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        lines.append(f"| {row['dataset']} | {row['protocol']} | {row['rows']} | {row['fits']} | "
                     f"{row['per_fit_s']:.2f} | {row['per_rows_s']:.2f} | "
                     f"{row['per_fit_s'] / row['per_rows_s']:.2f}x | {'yes' if row['same'] else 'NO'} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fits", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder holding the UCR/UCI data")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each protocol per variant (best kept)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench", help="output folder")
    args = parser.parse_args(argv)
    lines = table(run(args.data_dir, args.repeat))
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    header = ["# One setting's SVM fits: Gram blocks sliced per fit against per fit rows", "",
              "NTK, two hidden layers; C in 1e-2 .. 1e6 (five values), libsvm cap 1e6 iterations; CPU seconds of",
              f"the fits (the Gram matrix excluded), best of {args.repeat}. Made by `python -m benchmarks.fits`.", ""]
    (args.out / "fits.md").write_text("\n".join(header + lines) + "\n")


if __name__ == "__main__":
    main()
