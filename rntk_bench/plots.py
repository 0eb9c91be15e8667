"""The figures of a leaderboard: the critical-difference diagram and the scatter of one kernel against the
others. Drawn with matplotlib's object API on an Agg canvas (no global pyplot state, safe in workers).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from rntk_bench.statistics import REFERENCE

__all__ = ["plot_critical_difference", "plot_rntk_scatter"]


def plot_critical_difference(mean_ranks: pd.Series, groups: list[list[str]], path: str | Path,
                             title: str = "") -> Path:
    """Draw a critical-difference diagram as PNG: the mean-rank axis (labelled; 1 = best), each kernel at its
    mean rank, bars over the groups that no test separates, and a caption saying what the bars mean."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ranks = mean_ranks.sort_values(kind="stable")
    k = len(ranks)
    low, high = 1, max(k, 2)
    half = math.ceil(k / 2)
    height = 1.2 + 0.3 * half + 0.25 * len(groups)
    figure = Figure(figsize=(7, height))
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.05, 0.02, 0.9, 0.9))
    axes.set_xlim(low - 0.4, high + 0.4)
    bottom = -(0.6 + 0.3 * half + 0.25 * len(groups))
    axes.set_ylim(bottom - 0.3, 0.75)
    axes.axis("off")
    axes.hlines(0, low, high, color="black", linewidth=1)
    for tick in range(low, high + 1):
        axes.vlines(tick, 0, 0.1, color="black", linewidth=1)
        axes.text(tick, 0.18, str(tick), ha="center", va="bottom", fontsize=9)
    axes.text((low + high) / 2, 0.45, "mean rank (1 = most accurate; lower is better)", ha="center",
              va="bottom", fontsize=9)
    for position, (name, rank) in enumerate(ranks.items()):
        left = position < half
        row = position if left else k - 1 - position
        y = -(0.35 + 0.3 * row)
        x_text = low - 0.3 if left else high + 0.3
        axes.plot([rank, rank, x_text], [0, y, y], color="black", linewidth=0.8)
        axes.text(x_text, y, f"{name} ({rank:.2f})" if left else f"({rank:.2f}) {name}",
                  ha="right" if left else "left", va="center", fontsize=9)
    for index, group in enumerate(groups):
        y = -(0.2 + 0.12 * index)
        axes.hlines(y, ranks[group[0]] - 0.03, ranks[group[-1]] + 0.03, color="black", linewidth=3)
    caption = "Bars join methods that no Holm-corrected pairwise Wilcoxon signed-rank test separates."
    axes.text((low + high) / 2, bottom - 0.15, caption if groups else "No two methods are joined: every pair "
              "differs significantly (Holm-corrected Wilcoxon).", ha="center", va="center", fontsize=8,
              style="italic")
    if title:
        axes.set_title(title, fontsize=10)
    path = Path(path)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    return path


def plot_rntk_scatter(accuracy: pd.DataFrame, path: str | Path, reference: str = REFERENCE,
                      title: str = "") -> Path | None:
    """Scatter ``reference``'s accuracy (y) against each other kernel's (x), one panel per kernel, as PNG.

    Parameters
    ----------
    accuracy : DataFrame
        Datasets x kernels, complete (no NaN), accuracies in [0, 1].
    path : path
        Where the PNG goes.

    Returns
    -------
    Path or None
        None (nothing drawn) when ``reference`` or any other kernel, or every dataset, is missing.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    others = [kernel for kernel in accuracy.columns if kernel != reference]
    if reference not in accuracy.columns or not others or accuracy.empty:
        return None
    figure = Figure(figsize=(3.2 * len(others), 3.5))
    FigureCanvasAgg(figure)
    y = 100 * accuracy[reference].to_numpy()
    low = max(0.0, math.floor(float(100 * accuracy.min().min()) / 10) * 10)
    for index, kernel in enumerate(others):
        axes = figure.add_subplot(1, len(others), index + 1)
        x = 100 * accuracy[kernel].to_numpy()
        axes.plot([low, 100], [low, 100], color="grey", linewidth=0.8)
        axes.scatter(x, y, s=12, alpha=0.7)
        axes.set_xlim(low - 2, 102)  # a margin, so that points on the limits stay visible
        axes.set_ylim(low - 2, 102)
        axes.set_aspect("equal")
        axes.set_xlabel(f"{kernel} accuracy %")
        if index == 0:
            axes.set_ylabel(f"{reference} accuracy %")
        above, below = int((y > x).sum()), int((y < x).sum())
        axes.set_title(f"{reference} better {above}, worse {below}", fontsize=9)
    if title:
        figure.suptitle(f"{title} ({len(accuracy)} datasets)", fontsize=10)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=110)
    return path
