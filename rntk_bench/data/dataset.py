"""The dataset object every loader returns and every protocol reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from rntk_bench.errors import DatasetError

Collection = Literal["ucr", "uci", "embedded"]
Kind = Literal["tabular", "series"]

def default_protocol(collection: str) -> str:
    """The protocol that scores a dataset of ``collection`` unless a run chooses another: Arora et al.'s
    (``arora-uci``) for the UCI collection, else ``train-cv-test``."""
    return "arora-uci" if collection == "uci" else "train-cv-test"


SKLEARN_SETS = ("iris", "wine", "breast_cancer", "digits")
"""Embedded datasets that scikit-learn bundles: feature vectors, not time series."""


@dataclass(frozen=True)
class Split:
    """One official train/test split of a dataset, as row indices into ``Dataset.X``.

    Attributes
    ----------
    name : str
        ``"train-test"`` for UCR and embedded data; ``"validation"`` and ``"fold-0"`` .. ``"fold-3"`` for the
        Fernandez-Delgado UCI collection.
    train, test : ndarray of int
        Row indices; for UCI folds the test sets of different folds overlap, as published.
    """

    name: str
    train: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class DatasetInfo:
    """Shape facts about a dataset, checked against the suite files in ``datasets/``."""

    n_cases: int
    n_channels: int
    min_length: int
    max_length: int
    n_classes: int
    unequal_length: bool
    has_missing: bool


@dataclass(frozen=True)
class Dataset:
    """A labelled dataset with its official splits.

    Attributes
    ----------
    name : str
    collection : {"ucr", "uci", "embedded"}
    X : ndarray of shape (n_cases, n_timepoints) or (n_cases, n_channels, n_timepoints), or list of ndarray
        In the kernel input convention; a list of ``(n_channels, T_i)`` arrays when lengths differ.
        UCI rows are vectors ``(n_cases, n_features)``.
    y : ndarray of shape (n_cases,), int
        Labels encoded as 0 .. n_classes - 1.
    class_labels : ndarray of shape (n_classes,)
        The original label of each code: ``class_labels[y]`` gives the labels as published.
    splits : tuple of Split
    info : DatasetInfo
    notes : tuple of str
        What the loader did to the data (e.g. missing values interpolated).
    """

    name: str
    collection: Collection
    X: np.ndarray | list
    y: np.ndarray
    class_labels: np.ndarray
    splits: tuple[Split, ...]
    info: DatasetInfo
    notes: tuple[str, ...] = field(default=())

    def split(self, name: str) -> Split:
        """Return the split called ``name``."""
        for split in self.splits:
            if split.name == name:
                return split
        raise DatasetError(
            f"dataset {self.name!r} has no split {name!r}; its splits: "
            + ", ".join(split.name for split in self.splits)
        )

    @property
    def kind(self) -> Kind:
        """``"tabular"`` (rows are feature vectors: UCI and scikit-learn's sets) or ``"series"``."""
        tabular = self.collection == "uci" or (self.collection == "embedded" and self.name in SKLEARN_SETS)
        return "tabular" if tabular else "series"

    @property
    def default_protocol(self) -> str:
        """Name of the protocol that scores this dataset unless a run chooses another
        (:data:`rntk_bench.protocols.PROTOCOLS`): Arora et al.'s for the UCI collection, except a UCI dataset
        with a predefined test file (a ``"train-test"`` split), and train-cv-test for everything else."""
        if self.collection == "uci" and any(split.name == "train-test" for split in self.splits):
            return "train-cv-test"
        return default_protocol(self.collection)

    def take(self, indices: np.ndarray) -> np.ndarray | list:
        """Rows ``indices`` of ``X``, keeping the input convention (a list stays a list)."""
        if isinstance(self.X, list):
            return [self.X[i] for i in indices]
        return self.X[indices]
