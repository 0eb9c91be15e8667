"""The kernels among the field: this repository's measured accuracies beside published ones, on the datasets
that all of them cover.

Published figures (:mod:`rntk_bench.field`) are accuracies of other classifiers on the same official UCR
train/test splits. They are never mixed with measured numbers: every published column is marked as such in
tables and figures, and the comparison uses only the datasets where every kernel and every published
classifier has a figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rntk_bench.atomic import atomic_write_text
from rntk_bench.field import field_accuracy, field_source
from rntk_bench.plots import plot_critical_difference
from rntk_bench.statistics import cliques, complete_cases, summary_table, wilcoxon_holm

__all__ = ["PUBLISHED", "FieldComparison", "compare_with_field", "field_markdown", "published_label"]

PUBLISHED = " (published)"
"""Suffix of a published classifier's column in every table and figure of a comparison."""


def published_label(name: str) -> str:
    return name + PUBLISHED


@dataclass
class FieldComparison:
    """Kernels (measured) and published classifiers on their common datasets.

    Attributes
    ----------
    accuracy : DataFrame
        Common datasets x (kernels, then published classifiers with :data:`PUBLISHED` appended).
    summary : DataFrame
        :func:`rntk_bench.statistics.summary_table` of ``accuracy`` (mean rank over kernels and field).
    pairwise : DataFrame
        Holm-corrected Wilcoxon tests over all columns.
    groups : list of list of str
        The cliques of the critical-difference diagram.
    against : DataFrame
        Per kernel: wins, ties and losses against ``reference`` (ties: equal numbers of correct test rows).
    reference : str
        The published classifier the kernels are counted against.
    names : list of str
        The published classifiers compared.
    """

    accuracy: pd.DataFrame
    summary: pd.DataFrame
    pairwise: pd.DataFrame
    groups: list[list[str]]
    against: pd.DataFrame
    reference: str
    names: list[str]


def compare_with_field(kernels: pd.DataFrame, n_test: pd.Series, names: Sequence[str],
                       reference: str = "1NN-DTW-learned (archive)", alpha: float = 0.05) -> FieldComparison:
    """Place measured kernel accuracies among published classifiers.

    Parameters
    ----------
    kernels : DataFrame
        Datasets x kernels: measured accuracies in [0, 1] (NaN where a kernel has no result).
    n_test : Series
        Test rows per dataset, to count wins and ties on numbers of correct rows (published accuracies are
        rounded to four decimals; both sides are turned into counts of correct rows first).
    names : sequence of str
        Published classifiers (:func:`rntk_bench.field.field_names`); ``reference`` is added if missing.
    reference : str
        The published classifier each kernel's wins / ties / losses are counted against.

    Raises
    ------
    InvalidParameterError
        An unknown classifier name (with the valid ones).
    """
    names = list(dict.fromkeys([*names, reference]))
    published = field_accuracy(names, list(kernels.index))
    published.columns = [published_label(name) for name in published.columns]
    joined = pd.concat([kernels, published], axis=1)
    complete, _dropped = complete_cases(joined)
    summary = summary_table(complete, reference="")
    pairwise = wilcoxon_holm(complete, alpha)
    groups = cliques(summary["mean_rank"], pairwise) if len(complete) else []
    rows = []
    counts = n_test.reindex(complete.index).astype(float)
    base = np.round(complete[published_label(reference)] * counts)
    for kernel in kernels.columns:
        ours = np.round(complete[kernel] * counts)
        rows.append({"kernel": kernel, "wins": int((ours > base).sum()), "ties": int((ours == base).sum()),
                     "losses": int((ours < base).sum())})
    against = pd.DataFrame(rows, columns=["kernel", "wins", "ties", "losses"]).set_index("kernel")
    return FieldComparison(complete, summary, pairwise, groups, against, reference, names)


def field_markdown(comparison: FieldComparison, kernels: Sequence[str], out_dir: str | Path,
                   relative: str = ".", cd_file: str = "field_critical_difference.png") -> list[str]:
    """The page section: mean accuracy and mean rank of kernels and field, the diagram, W/T/L against the
    reference; writes the diagram and ``field_summary.csv`` into ``out_dir``."""
    out_dir = Path(out_dir)
    n = len(comparison.accuracy)
    out = [(f"Datasets covered by every kernel and every published classifier below: {n}. Kernel rows are "
            "measured by this repository; rows marked (published) are other authors' figures on the same "
            "official train/test splits, never re-run here:"), ""]
    for name in comparison.names:
        out.append(f"- {name}: {field_source(name)}")
    out += ["", "| classifier | mean accuracy % | mean rank |", "|---|---:|---:|"]
    for name, row in comparison.summary.iterrows():
        label = f"**{name}**" if name in kernels else name
        out.append(f"| {label} | {100 * row['mean_accuracy']:.2f} | {row['mean_rank']:.2f} |")
    out += ["", f"Kernels against {published_label(comparison.reference)} (wins / ties / losses, on numbers of "
            "correct test rows):", ""]
    out += [f"- {kernel}: {row.wins}/{row.ties}/{row.losses}" for kernel, row in comparison.against.iterrows()]
    out.append("")
    atomic_write_text(out_dir / "field_summary.csv", comparison.summary.to_csv())
    if n >= 2 and comparison.accuracy.shape[1] >= 2:
        plot_critical_difference(comparison.summary["mean_rank"], comparison.groups, out_dir / cd_file,
                                 f"{n} datasets, kernels and published classifiers")
        out += [f"![kernels among published classifiers]({relative}/{cd_file})", "",
                "Bars join classifiers that no Holm-corrected pairwise Wilcoxon test separates.", ""]
    return out
