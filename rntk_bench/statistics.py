"""Statistics of a leaderboard: ranks, summary columns and significance tests, as pure functions of an
accuracy table (datasets x kernels).

They follow Arora et al. (ICLR 2020) and Demsar (JMLR 2006) / Benavoli et al. (JMLR 2016):

* rank: 1 for the most accurate kernel of a dataset, tied kernels share the mean of their ranks (Friedman);
* P90 / P95: the share of datasets where a kernel reaches at least 90 % / 95 % of the best accuracy of the
  compared kernels on that dataset; PMA: the mean over datasets of accuracy / best accuracy (1 where every
  kernel scores 0);
* wins / ties / losses of each kernel against a reference kernel, by accuracy on each dataset;
* Friedman's chi-square test over all kernels; pairwise Wilcoxon signed-rank tests with Holm's correction;
  the groups of a critical-difference diagram join kernels that no corrected Wilcoxon test separates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "ALPHA",
    "REFERENCE",
    "cliques",
    "complete_cases",
    "friedman_test",
    "holm",
    "rank_table",
    "summary_table",
    "wilcoxon_holm",
]

REFERENCE = "rntk"
"""The kernel the others are counted against (wins / ties / losses) unless another is chosen."""
ALPHA = 0.05


def rank_table(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Friedman ranks per dataset: 1 = most accurate, ties share their mean rank. Complete rows only."""
    return accuracy.rank(axis=1, ascending=False, method="average")


def summary_table(accuracy: pd.DataFrame, reference: str = REFERENCE) -> pd.DataFrame:
    """Per kernel: mean and std of accuracy, mean rank, P90, P95, PMA, wins/ties/losses against ``reference``.

    Parameters
    ----------
    accuracy : DataFrame
        Datasets x kernels, complete (no NaN): see :func:`complete_cases`.
    reference : str
        Kernel the others are compared with; the W/T/L columns are empty when it is absent.

    Returns
    -------
    DataFrame indexed by kernel, sorted by mean rank (then name).
    """
    best = accuracy.max(axis=1)
    ratio = accuracy.div(best.where(best > 0), axis=0).fillna(1.0)  # every kernel at 0: all equal the best
    ranks = rank_table(accuracy)
    summary = pd.DataFrame({
        "n_datasets": accuracy.count(),
        "mean_accuracy": accuracy.mean(),
        "std_accuracy": accuracy.std(ddof=1),
        "mean_rank": ranks.mean(),
        "p90": (ratio >= 0.90 - 1e-12).mean(),
        "p95": (ratio >= 0.95 - 1e-12).mean(),
        "pma": ratio.mean(),
    })
    if reference in accuracy.columns:
        ref = accuracy[reference]
        summary["wins"] = [int((accuracy[k] > ref).sum()) if k != reference else pd.NA for k in accuracy.columns]
        summary["ties"] = [int((accuracy[k] == ref).sum()) if k != reference else pd.NA for k in accuracy.columns]
        summary["losses"] = [int((accuracy[k] < ref).sum()) if k != reference else pd.NA for k in accuracy.columns]
    else:
        summary["wins"] = summary["ties"] = summary["losses"] = pd.NA
    summary.index.name = "kernel"
    return summary.sort_values(["mean_rank", "kernel"], kind="stable")


def complete_cases(accuracy: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Datasets on which every kernel has an accuracy, and the names of the others."""
    complete = accuracy.dropna(axis=0, how="any")
    return complete, [name for name in accuracy.index if name not in complete.index]


def friedman_test(accuracy: pd.DataFrame) -> tuple[float, float]:
    """Friedman's chi-square statistic and p-value over the kernels (NaN with < 3 kernels or < 2 datasets)."""
    if accuracy.shape[1] < 3 or accuracy.shape[0] < 2:
        return math.nan, math.nan
    values = accuracy.to_numpy()
    if np.all(values == values[:, :1]):  # every dataset a full tie: no evidence of any difference
        return 0.0, 1.0
    statistic, p_value = stats.friedmanchisquare(*values.T)
    return float(statistic), float(p_value)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values: ``max_{j<=i} min(1, (m - j + 1) p_(j))`` in ascending order."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for position, index in enumerate(order):
        running = max(running, min(1.0, (m - position) * p[index]))
        adjusted[index] = running
    return adjusted


def wilcoxon_holm(accuracy: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Pairwise two-sided Wilcoxon signed-rank tests (zero differences dropped) with Holm's correction.

    Returns
    -------
    DataFrame with columns kernel_a, kernel_b, n_datasets, wins_a, wins_b, statistic, p_value, p_holm,
    significant (``p_holm < alpha``).
    """
    rows = []
    kernels = list(accuracy.columns)
    for i, a in enumerate(kernels):
        for b in kernels[i + 1:]:
            diff = (accuracy[a] - accuracy[b]).to_numpy()
            if np.all(diff == 0):
                statistic, p_value = math.nan, 1.0
            else:
                result = stats.wilcoxon(accuracy[a], accuracy[b], zero_method="wilcox", alternative="two-sided")
                statistic, p_value = float(result.statistic), float(result.pvalue)
            rows.append({"kernel_a": a, "kernel_b": b, "n_datasets": len(diff), "wins_a": int((diff > 0).sum()),
                         "wins_b": int((diff < 0).sum()), "statistic": statistic, "p_value": p_value})
    table = pd.DataFrame(rows, columns=["kernel_a", "kernel_b", "n_datasets", "wins_a", "wins_b", "statistic",
                                        "p_value"])
    table["p_holm"] = holm(table["p_value"]) if len(table) else []
    table["significant"] = table["p_holm"] < alpha
    return table


def cliques(mean_ranks: pd.Series, pairwise: pd.DataFrame) -> list[list[str]]:
    """Maximal runs of kernels, consecutive by mean rank, that no significant pairwise test separates.

    Returns
    -------
    list of list of str
        Each with at least two kernels, ordered by rank; none contained in another.
    """
    order = list(mean_ranks.sort_values(kind="stable").index)
    separated = {frozenset((row.kernel_a, row.kernel_b)) for row in pairwise.itertuples() if row.significant}
    runs: list[list[str]] = []
    for start in range(len(order)):
        end = start
        while end + 1 < len(order) and all(
            frozenset((order[k], order[end + 1])) not in separated for k in range(start, end + 1)
        ):
            end += 1
        run = order[start:end + 1]
        if len(run) >= 2 and not any(set(run) <= set(other) for other in runs):
            runs.append(run)
    return runs
