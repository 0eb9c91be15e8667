"""Datasets that ship inside installed packages, so the demo suite runs with no download.

- UCR/UEA sets bundled with sktime as ``.ts`` files (read with our own parser, never through sktime's
  loaders, which may download): :data:`SKTIME_SETS`.
- UCI sets bundled with scikit-learn: iris, wine, breast_cancer, digits. They have no official split, so
  each gets one fixed, stratified ``"train-test"`` split (:data:`SPLIT_SEED`, :data:`TEST_FRACTION`), and
  features standardised with the training part's mean and standard deviation (the Fernandez-Delgado files
  are standardised too; kernels such as the NTK assume comparable feature scales).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from rntk_bench.data.dataset import SKLEARN_SETS, Dataset, DatasetInfo, Split
from rntk_bench.data.ucr import load_ts_pair
from rntk_bench.errors import DatasetError

SKTIME_SETS = (
    "ACSF1", "ArrowHead", "BasicMotions", "GunPoint", "ItalyPowerDemand", "JapaneseVowels", "OSULeaf",
    "PLAID", "UnitTest",
)
"""Classification sets bundled with sktime (checked against sktime 1.2.0's ``datasets/data`` folder)."""

# SKLEARN_SETS, the UCI sets bundled with scikit-learn (sklearn.datasets.load_<name>), is defined with the
# Dataset class, whose `kind` it decides.

SPLIT_SEED = 0
"""``random_state`` of the stratified split of the scikit-learn sets."""

TEST_FRACTION = 0.3
"""Test share of the stratified split of the scikit-learn sets."""

EMBEDDED_SETS = SKTIME_SETS + SKLEARN_SETS


def sktime_data_dir() -> Path:
    """The ``datasets/data`` folder of the installed sktime package (found without importing sktime)."""
    spec = importlib.util.find_spec("sktime")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError("sktime is not installed, so its bundled datasets are unavailable (pip install sktime)")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def load_sktime_set(name: str) -> Dataset:
    """Load ``name`` from sktime's bundled ``<name>_TRAIN.ts`` / ``<name>_TEST.ts``."""
    folder = sktime_data_dir() / name
    train, test = folder / f"{name}_TRAIN.ts", folder / f"{name}_TEST.ts"
    if not (train.is_file() and test.is_file()):
        raise DatasetError(f"{folder}: sktime's bundled {name}_TRAIN.ts / _TEST.ts not found "
                           "(a different sktime version?)")
    return load_ts_pair(name, "embedded", train, test)


def load_sklearn_set(name: str) -> Dataset:
    """Load scikit-learn's ``name`` with a seeded stratified train/test split and standardised features."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    X, labels = getattr(datasets, f"load_{name}")(return_X_y=True)
    class_labels, y = np.unique(labels, return_inverse=True)
    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=TEST_FRACTION, stratify=y, random_state=SPLIT_SEED)
    train, test = np.sort(train), np.sort(test)
    mean = X[train].mean(axis=0)
    scale = X[train].std(axis=0)
    scale[scale == 0] = 1.0  # constant features (digits' border pixels) stay at zero
    X = (X - mean) / scale
    info = DatasetInfo(
        n_cases=len(y), n_channels=1, min_length=X.shape[1], max_length=X.shape[1],
        n_classes=len(class_labels), unequal_length=False, has_missing=False,
    )
    notes = (
        (f"scikit-learn's load_{name}: stratified split, test fraction {TEST_FRACTION}, "
        f"random_state={SPLIT_SEED}"),
        "features standardised with the training split's mean and standard deviation",
    )
    split = Split("train-test", train, test)
    return Dataset(name, "embedded", X, y.astype(np.int64), class_labels, (split,), info, notes)


def load_embedded(name: str) -> Dataset:
    """Load an embedded dataset by name (one of :data:`EMBEDDED_SETS`)."""
    if name in SKLEARN_SETS:
        return load_sklearn_set(name)
    if name in SKTIME_SETS:
        return load_sktime_set(name)
    raise DatasetError(f"{name!r} is not an embedded dataset; embedded: {', '.join(EMBEDDED_SETS)}")
