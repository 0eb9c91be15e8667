"""The published field as the repository ships it (``datasets/field``): names, shapes, values, errors.

Needs nothing outside the repository; ``test_field_shared.py`` compares the tables with their sources.
"""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from rntk_bench.errors import DatasetError, InvalidParameterError
from rntk_bench.field import (
    ARCHIVE_CLASSIFIERS,
    FIELD_DEFAULT,
    FIELD_DIR,
    VARIANT_OF,
    archive_dtw_window,
    field_accuracy,
    field_citation,
    field_names,
    field_source,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_TABLES = ROOT / "tests" / "data" / "field" / "tables"

with open(ROOT / "datasets" / "ucr.csv", newline="") as _table:
    UCR_ROWS = list(csv.DictReader(_table))
UCR_NAMES = [row["name"] for row in UCR_ROWS]

# The 16 UCR 2018 datasets the bake off has no row for under their own name (unequal length, missing values,
# and Fungi).
NOT_IN_BAKEOFF = {
    "AllGestureWiimoteX", "AllGestureWiimoteY", "AllGestureWiimoteZ", "DodgerLoopDay", "DodgerLoopGame",
    "DodgerLoopWeekend", "Fungi", "GestureMidAirD1", "GestureMidAirD2", "GestureMidAirD3", "GesturePebbleZ1",
    "GesturePebbleZ2", "MelbournePedestrian", "PLAID", "PickupGestureWiimoteZ", "ShakeGestureWiimoteZ",
}
# Datasets of the bake off's newest files that are not in the UCR 2018 archive at all.
BAKEOFF_ONLY = {
    "AconityMINIPrinterLarge_eq", "AconityMINIPrinterSmall_eq", "AsphaltObstaclesUni_eq",
    "AsphaltPavementTypeUni_eq", "AsphaltRegularityUni_eq", "Colposcopy", "Covid3Month_disc",
    "ElectricDeviceDetection", "FloodModeling1_disc", "FloodModeling2_disc", "FloodModeling3_disc",
    "KeplerLightCurves", "PhoneHeartbeatSound", "SharePriceIncrease", "Tools",
}


def test_names_list_the_archive_then_the_40_bakeoff_classifiers():
    names = field_names()
    assert names[:3] == list(ARCHIVE_CLASSIFIERS)
    assert len(names) == 43 and len(set(names)) == 43
    assert {"ROCKET", "HC2", "QUANT", "MiniROCKET", "InceptionTime", "1NN-DTW", "WEASEL-2"} <= set(names)
    assert set(FIELD_DEFAULT) <= set(names)


def test_each_name_is_credited_to_its_source():
    for name in field_names():
        caption, citation = field_source(name), field_citation(name)
        if name.endswith("(archive)"):
            assert caption == "published: Dau et al. 2019, UCR archive summary table"
            assert "UCR Time Series Archive" in citation
        else:
            assert caption == "published: Middlehurst et al. 2024, bake off redux, resample 0"
            assert "Bake off redux" in citation


def test_default_field_covers_every_ucr_dataset_in_ucr_table_order():
    table = field_accuracy(FIELD_DEFAULT)
    assert list(table.index) == UCR_NAMES
    assert list(table.columns) == list(FIELD_DEFAULT)
    assert table.dtypes.eq(np.float64).all()
    values = table.to_numpy()
    present = values[~np.isnan(values)]
    assert ((present >= 0) & (present <= 1)).all()
    archive = [name for name in FIELD_DEFAULT if name.endswith("(archive)")]
    assert table[archive].notna().all().all()
    for name in FIELD_DEFAULT:
        if name not in archive:
            assert set(table.index[table[name].isna()]) == NOT_IN_BAKEOFF, name


def test_archive_ed_accuracy_is_one_minus_the_ed_error_of_ucr_csv():
    """An independent copy of the same column: datasets/ucr.csv holds the archive's ED error rates."""
    errors = {row["name"]: float(row["ed_1nn_error"]) for row in UCR_ROWS}
    ed = field_accuracy(["1NN-ED (archive)"], UCR_NAMES)["1NN-ED (archive)"]
    for name in UCR_NAMES:
        assert ed[name] == pytest.approx(1 - errors[name], abs=1e-9), name


def test_known_values():
    table = field_accuracy(["1NN-DTW-learned (archive)", "1NN-DTW-full (archive)", "ROCKET", "HC2"], ["GunPoint"])
    assert table.loc["GunPoint"].tolist() == pytest.approx([1 - 0.0867, 1 - 0.0933, 1.0, 1.0])
    adiac = field_accuracy(["ROCKET"], ["Adiac"]).at["Adiac", "ROCKET"]
    assert adiac == 0.7851662404092071  # 307 / 391, as published, every digit kept
    assert archive_dtw_window(["GunPoint", "Adiac", "HouseTwenty"]).tolist() == [0, 3, 33]


def test_dataset_names_are_ucr_2018_names_or_documented_others():
    everything = field_accuracy(field_names(), UCR_NAMES + list(VARIANT_OF) + sorted(BAKEOFF_ONLY))
    assert everything.notna().any(axis=1).all()  # every name listed here has some figure
    bakeoff = everything.drop(columns=list(ARCHIVE_CLASSIFIERS))
    assert set(bakeoff.index[bakeoff.notna().any(axis=1)]) == (set(UCR_NAMES) - NOT_IN_BAKEOFF) | set(
        VARIANT_OF
    ) | BAKEOFF_ONLY
    for copy, original in VARIANT_OF.items():
        assert original in UCR_NAMES
        assert copy.rpartition("_")[0] == original and copy.rpartition("_")[2] in ("eq", "nmv")


def test_unknown_classifier_names_raise_with_a_suggestion_and_the_list():
    with pytest.raises(InvalidParameterError, match=r"'Rocket'; did you mean 'ROCKET'.*available: 1NN-ED"):
        field_accuracy(["Rocket"])
    with pytest.raises(InvalidParameterError, match=r"did you mean '1NN-DTW-learned \(archive\)'"):
        field_accuracy(["1NN-DTW-learnd (archive)"])
    with pytest.raises(InvalidParameterError, match="available:"):
        field_source("HIVE-COTE")
    with pytest.raises(InvalidParameterError, match="available:"):
        field_citation("nope")
    with pytest.raises(InvalidParameterError, match="None"):
        field_accuracy([None])


def test_repeated_names_raise():
    with pytest.raises(InvalidParameterError, match="more than once: HC2"):
        field_accuracy(["HC2", "ROCKET", "HC2"])


def test_requested_datasets_keep_their_order_and_unknown_ones_are_nan():
    table = field_accuracy("ROCKET", ["GunPoint", "uci:iris", "Coffee"])
    assert list(table.columns) == ["ROCKET"]
    assert list(table.index) == ["GunPoint", "uci:iris", "Coffee"]
    assert math.isnan(table.at["uci:iris", "ROCKET"]) and table.at["Coffee", "ROCKET"] == 1.0


def test_no_names_give_no_rows():
    assert field_accuracy([]).shape == (0, 0)


def test_variants_fill_in_only_on_request_and_are_listed():
    plain = field_accuracy(["HC2", "ROCKET"], ["PLAID", "GunPoint"])
    assert plain["HC2"].isna().tolist() == [True, False]
    assert plain.attrs["variants"] == {}
    filled = field_accuracy(["HC2", "ROCKET"], ["PLAID", "GunPoint"], variants=True)
    assert filled.at["PLAID", "HC2"] == field_accuracy(["HC2"], ["PLAID_eq"]).at["PLAID_eq", "HC2"]
    assert math.isnan(filled.at["PLAID", "ROCKET"])  # ROCKET has no figure for PLAID_eq either
    assert filled.attrs["variants"] == {"HC2": {"PLAID": "PLAID_eq"}}
    by_default = field_accuracy(["HC2"], variants=True)
    assert set(by_default.index) == set(UCR_NAMES) - {"Fungi"}
    assert len(by_default.attrs["variants"]["HC2"]) == 15


def test_results_are_copies():
    table = field_accuracy(["ROCKET"], ["GunPoint"])
    table.loc["GunPoint", "ROCKET"] = 0.0
    assert field_accuracy(["ROCKET"], ["GunPoint"]).at["GunPoint", "ROCKET"] == 1.0
    window = archive_dtw_window()
    window.iloc[0] = 99
    assert archive_dtw_window().iloc[0] != 99


def test_a_missing_table_says_how_to_import(tmp_path):
    with pytest.raises(DatasetError, match=r"ucr_archive_1nn.csv: published results table not found.*import"):
        field_names(folder=tmp_path)


def test_tables_are_read_again_after_they_change(tmp_path):
    for path in FIXTURE_TABLES.iterdir():
        shutil.copy(path, tmp_path / path.name)
    assert field_accuracy(["ROCKET"], ["GunPoint"], folder=tmp_path).at["GunPoint", "ROCKET"] == 1.0
    bakeoff = tmp_path / "bakeoff_redux_resample0.csv"
    bakeoff.write_text(bakeoff.read_text().replace("GunPoint,1.0,1.0", "GunPoint,1.0,0.55"))
    assert field_accuracy(["ROCKET"], ["GunPoint"], folder=tmp_path).at["GunPoint", "ROCKET"] == 0.55


def test_committed_tables_are_small():
    sizes = {path.name: path.stat().st_size for path in FIELD_DIR.iterdir()}
    assert set(sizes) == {"README.md", "LICENSE-tsml-eval", "ucr_archive_1nn.csv", "bakeoff_redux_resample0.csv"}
    assert sum(sizes.values()) < 120_000
