"""Selection rules: which (kernel setting, C) a protocol reports, from the selection scores alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Candidate", "first_best"]


@dataclass(frozen=True)
class Candidate:
    """One scored kernel setting: its place in the grid and its per-C selection scores."""

    setting_index: int
    kernel_id: str
    params: dict[str, Any]
    C_grid: tuple[float, ...]
    selection_accuracy: tuple[float, ...]


def first_best(candidates: Sequence[Candidate]) -> tuple[Candidate, int]:
    """The best (setting, C): settings outer loop, C inner loop, strictly greater replaces (first best kept).

    This is Arora et al.'s ``>`` rule: among tied candidates the first in grid order wins.

    Returns
    -------
    candidate : Candidate
    c_index : int
        Position of the selected C in ``candidate.C_grid``.
    """
    best: tuple[Candidate, int] | None = None
    best_score = -np.inf
    for candidate in sorted(candidates, key=lambda c: c.setting_index):
        for c_index, score in enumerate(candidate.selection_accuracy):
            if score > best_score:
                best, best_score = (candidate, c_index), score
    if best is None:
        raise ValueError("first_best() needs at least one candidate with a score")
    return best
