"""Small synthetic datasets for the runner tests, and a script that runs a benchmark on them.

Run as a script (the kill-and-resume tests start it in a subprocess)::

    python tests/data/runner/synthetic.py RUN_DIR N_JOBS [--resume]
"""

from __future__ import annotations

import sys

import numpy as np

from rntk_bench.data.dataset import Dataset, DatasetInfo, Split


def series_dataset(name: str = "waves", n_train: int = 24, n_test: int = 16, length: int = 20, seed: int = 0,
                   collection: str = "ucr") -> Dataset:
    """Two classes of noisy sine waves with different frequencies, one train-test split."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    y = np.arange(n) % 2
    t = np.linspace(0, 1, length)
    X = np.sin(2 * np.pi * (1 + y[:, None]) * t[None, :]) + 0.8 * rng.normal(size=(n, length))
    info = DatasetInfo(n, 1, length, length, 2, False, False)
    split = Split("train-test", np.arange(n_train), np.arange(n_train, n))
    return Dataset(name, collection, X, y, np.array(["a", "b"]), (split,), info)


def unequal_dataset(name: str = "ragged", n: int = 30, seed: int = 1) -> Dataset:
    """Two classes of series of lengths 8..15 (a list of (1, T_i) arrays)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = []
    for label in y:
        length = int(rng.integers(8, 16))
        X.append((np.linspace(0, 1, length) * (1 if label else -1) + 0.3 * rng.normal(size=length))[None, :])
    info = DatasetInfo(n, 1, 8, 15, 2, True, False)
    split = Split("train-test", np.arange(20), np.arange(20, n))
    return Dataset(name, "embedded", X, y, np.array([0, 1]), (split,), info)


def uci_dataset(name: str = "blobs", n: int = 40, n_features: int = 5, seed: int = 2) -> Dataset:
    """A Fernandez-Delgado-like table: a validation split (two halves) and four folds (disjoint halves)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = rng.normal(size=(3, n_features))
    X = centres[y] + 1.2 * rng.normal(size=(n, n_features))
    order = rng.permutation(n)
    splits = [Split("validation", np.sort(order[: n // 2]), np.sort(order[n // 2:]))]
    for fold in range(4):
        perm = np.random.default_rng(100 + fold).permutation(n)
        splits.append(Split(f"fold-{fold}", np.sort(perm[: n // 2]), np.sort(perm[n // 2:])))
    info = DatasetInfo(n, 1, n_features, n_features, 3, False, False)
    return Dataset(name, "uci", X, y, np.array([0, 1, 2]), tuple(splits), info)


def kill_resume_config(n_jobs: int):
    """A run whose rntk tasks take about half a second each (300 series of length 150), so it can be killed."""
    from rntk_bench.config import build_config

    return build_config(suite="synthetic", datasets=["waves", "blobs"], kernels=["rntk", "rbf"],
                        grids={"rntk": {"n_layers": [1], "sigma_h": [0.0], "C": [1.0, 100.0]},
                               "rbf": {"C": [1.0]}}, n_jobs=n_jobs)


def kill_resume_datasets():
    from rntk_bench.run_data import PreloadedDatasets

    return PreloadedDatasets({"waves": series_dataset(n_train=200, n_test=100, length=150),
                              "blobs": uci_dataset()})


if __name__ == "__main__":
    from rntk_bench.interrupts import Terminated, terminate_as_interrupt
    from rntk_bench.runner import run_benchmark

    run_dir, n_jobs = sys.argv[1], int(sys.argv[2])
    try:
        with terminate_as_interrupt():  # as the command line does
            run_benchmark(kill_resume_config(n_jobs), run_dir, resume="--resume" in sys.argv,
                          loader=kill_resume_datasets())
    except Terminated as exc:
        sys.exit(exc.exit_code)
