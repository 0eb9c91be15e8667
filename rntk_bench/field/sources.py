"""Where the published figures come from: the two sources, their files, citations and display names.

Shared by the import step (:mod:`rntk_bench.field.importer`) and the reader (:mod:`rntk_bench.field.reader`),
so that the file layout and the names are defined once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rntk_bench.data.suites import TABLES_DIR

FIELD_DIR: Path = TABLES_DIR / "field"
"""The repository folder holding the imported tables (``datasets/field``)."""

ARCHIVE_FILE = "ucr_archive_1nn.csv"
"""The archive's 1-NN table as accuracies: ``dataset``, one column per archive classifier, the learned window."""

BAKEOFF_FILE = "bakeoff_redux_resample0.csv"
"""The bake off redux resample-0 accuracies: ``dataset`` and one column per classifier."""

README_FILE = "README.md"
LICENSE_FILE = "LICENSE-tsml-eval"
"""The bake off results' BSD-3-Clause licence text, copied beside the table that holds them."""

SUMMARY_SOURCE = "UCR_DataSummary.csv"
BAKEOFF_SOURCE_DIR = "tsml-eval-univariate"
BAKEOFF_SUFFIX = "_accuracy.csv"
CHECKSUMS_SOURCE = "SHA256SUMS"

DATASET_COLUMN = "dataset"
WINDOW_COLUMN = "1NN-DTW-learned-window"
"""The warping window the archive learned for its DTW classifier on the training set: the integer printed in
parentheses in the summary's ``DTW (learned_w)`` column, copied as it is."""


@dataclass(frozen=True)
class FieldSource:
    """One publication the figures come from.

    Attributes
    ----------
    key : str
        ``"archive"`` or ``"bakeoff"``.
    caption : str
        A short credit for figure and table captions.
    citation : str
        The full reference to cite.
    licence : str
        The terms the figures are redistributed under.
    """

    key: str
    caption: str
    citation: str
    licence: str


ARCHIVE = FieldSource(
    "archive",
    "published: Dau et al. 2019, UCR archive summary table",
    'H. A. Dau et al., "The UCR Time Series Archive", IEEE/CAA Journal of Automatica Sinica 6(6), 2019 '
    "(the archive's DataSummary.csv)",
    "published figures of the UCR archive's summary table, quoted with citation",
)
BAKEOFF = FieldSource(
    "bakeoff",
    "published: Middlehurst et al. 2024, bake off redux, resample 0",
    'M. Middlehurst, P. Schäfer and A. Bagnall, "Bake off redux: a review and experimental evaluation of '
    'recent time series classification algorithms", Data Mining and Knowledge Discovery, 2024 '
    "(arXiv 2304.13029)",
    f"BSD-3-Clause (datasets/field/{LICENSE_FILE})",
)

ARCHIVE_CLASSIFIERS: dict[str, tuple[str, str]] = {
    # display name: (column of the imported table, header of UCR_DataSummary.csv after stripping spaces)
    "1NN-ED (archive)": ("1NN-ED", "ED (w=0)"),
    "1NN-DTW-learned (archive)": ("1NN-DTW-learned", "DTW (learned_w)"),
    "1NN-DTW-full (archive)": ("1NN-DTW-full", "DTW (w=100)"),
}
"""The archive's three 1-NN classifiers. "(archive)" keeps them apart from the bake off's own ``1NN-DTW``
(which is a full-window DTW: it matches the archive's ``DTW (w=100)`` column on most datasets)."""

ARCHIVE_COLUMNS = (
    DATASET_COLUMN, "1NN-ED", "1NN-DTW-learned", WINDOW_COLUMN, "1NN-DTW-full"
)
"""The header of the imported archive table, in order."""

FIELD_DEFAULT: tuple[str, ...] = (
    "1NN-ED (archive)",
    "1NN-DTW-learned (archive)",
    "1NN-DTW",
    "ROCKET",
    "MiniROCKET",
    "QUANT",
    "InceptionTime",
    "HC2",
)
"""The classifiers the UCR board shows by default: the archive's 1-NN ED and learned-window 1-NN DTW, and
from the bake off the full-window 1-NN DTW, ROCKET, MiniROCKET, QUANT, InceptionTime and HIVE-COTE 2."""

VARIANT_OF: dict[str, str] = {
    # The bake off's 142-dataset files (HC2, QUANT, FreshPRINCE, ...) hold copies of the UCR 2018 datasets
    # with unequal lengths ("_eq": made equal length) or missing values ("_nmv": none missing) that the
    # tsml developers preprocessed themselves. rntk-bench reads the original files instead (the RNTK takes
    # unequal lengths as they are; missing values are interpolated by the loader), so a variant's figure is
    # on different data: these rows keep their own names and stand in for the UCR dataset only on request
    # (``field_accuracy(..., variants=True)``).
    "AllGestureWiimoteX_eq": "AllGestureWiimoteX",
    "AllGestureWiimoteY_eq": "AllGestureWiimoteY",
    "AllGestureWiimoteZ_eq": "AllGestureWiimoteZ",
    "GestureMidAirD1_eq": "GestureMidAirD1",
    "GestureMidAirD2_eq": "GestureMidAirD2",
    "GestureMidAirD3_eq": "GestureMidAirD3",
    "GesturePebbleZ1_eq": "GesturePebbleZ1",
    "GesturePebbleZ2_eq": "GesturePebbleZ2",
    "PickupGestureWiimoteZ_eq": "PickupGestureWiimoteZ",
    "PLAID_eq": "PLAID",
    "ShakeGestureWiimoteZ_eq": "ShakeGestureWiimoteZ",
    "DodgerLoopDay_nmv": "DodgerLoopDay",
    "DodgerLoopGame_nmv": "DodgerLoopGame",
    "DodgerLoopWeekend_nmv": "DodgerLoopWeekend",
    "MelbournePedestrian_nmv": "MelbournePedestrian",
}
"""Bake off dataset name -> the UCR 2018 dataset it is a preprocessed copy of."""
