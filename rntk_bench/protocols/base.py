"""What a protocol is: a named way of splitting, scoring and selecting, registered like a kernel."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rntk_bench.data.dataset import Dataset
from rntk_bench.errors import InvalidParameterError
from rntk_bench.protocols.selection import Candidate

__all__ = ["GramFunction", "Protocol", "RowsFunction", "ScoreFunction", "SelectFunction"]

GramFunction = Callable[[str, Any, Any], np.ndarray]
"""``gram(block, A, B)``: the kernel's Gram matrix of ``A`` with itself (``B is None``) or with ``B``."""

RowsFunction = Callable[[tuple[str, str], Any, Any], Any]
"""``represent((block_AA, block_BA), A, B) -> Rows``: the representation (exact Gram blocks or approximate
features, :mod:`rntk_bench.protocols.fitting`) of the rows of ``A`` followed by those of ``B`` (``None``: none),
where only rows of ``A`` may be fit on; the block names key the exact blocks in a Gram store."""

ScoreFunction = Callable[..., dict[str, Any]]
"""``score(represent, X, dataset, C_grid, *, cv_folds, seed, max_iter) -> dict``: the scores of one kernel setting
for every C: ``selection_accuracy`` (one per C), ``splits`` (per reported split: ``n_train``, ``n_test``,
``test_accuracy`` per C), ``svc_fits``, ``svc_unconverged``, ``gram_seconds``, ``fit_seconds``."""

SelectFunction = Callable[[Sequence[Candidate]], tuple[Candidate, int]]
"""``select(candidates) -> (candidate, c_index)``: the reported (setting, C) of a kernel on a dataset."""


@dataclass(frozen=True)
class Protocol:
    """A registered protocol.

    Attributes
    ----------
    name : str
        Registry key, recorded in every task file and results row.
    description : str
        One line for help texts, including which rows influence the selection.
    splits : tuple of str
        The dataset splits it reads; a dataset without them cannot run under it.
    training_split : str
        The split whose training rows are all that data-scaled grids (rbf's gamma) and the RNTK's series
        scaling may look at.
    score : ScoreFunction
    select : SelectFunction
    """

    name: str
    description: str
    splits: tuple[str, ...]
    training_split: str
    score: ScoreFunction
    select: SelectFunction

    def check(self, dataset: Dataset) -> None:
        """Raise when ``dataset`` lacks a split this protocol reads.

        Raises
        ------
        InvalidParameterError
        """
        have = [split.name for split in dataset.splits]
        missing = [name for name in self.splits if name not in have]
        if missing:
            raise InvalidParameterError(
                f"protocol {self.name!r} reads the split(s) {', '.join(missing)}, which dataset {dataset.name!r} "
                f"does not have (its splits: {', '.join(have)}; its default protocol: {dataset.default_protocol})"
            )

    def n_rows(self, dataset: Dataset) -> int:
        """How many distinct rows of ``dataset`` the splits of this protocol use (the size of its Gram matrix)."""
        used = [np.asarray(part) for name in self.splits for part in (dataset.split(name).train,
                                                                       dataset.split(name).test)]
        return int(np.unique(np.concatenate(used)).size) if used else 0

    def training_rows(self, dataset: Dataset) -> np.ndarray:
        """Row indices of ``dataset`` that grid expansion and series scaling may look at."""
        return np.asarray(dataset.split(self.training_split).train)
