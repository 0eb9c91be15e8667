"""Name suggestions: one helper, the same hint for unknown datasets, suites and collections."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rntk_bench.cli_datasets import datasets_app
from rntk_bench.data import SUITES, get_suite, load_dataset, suggest
from rntk_bench.data.catalog import known_names
from rntk_bench.errors import DatasetError, InvalidParameterError

UCR_NAMES = ["Coffee", "GunPoint", "GunPointAgeSpan", "GunPointMaleVersusFemale", "Car", "Computers"]


def test_one_close_name():
    assert suggest("Cofee", UCR_NAMES) == "; did you mean 'Coffee'?"


def test_case_insensitive_matches_come_first():
    hint = suggest("gunpoint", UCR_NAMES)
    assert hint.startswith("; did you mean 'GunPoint'")
    assert suggest("COFFEE", UCR_NAMES) == "; did you mean 'Coffee'?"


def test_several_close_names_are_listed_with_or():
    assert suggest("GunPointAgeSpn", ["GunPointAgeSpan", "GunPointAgeSpam"]) == (
        "; did you mean 'GunPointAgeSpan' or 'GunPointAgeSpam'?")
    many = ["GunPointW", "GunPoint", "GunPointX", "GunPointY", "GunPointZ"]
    assert suggest("gunpoint", many) == "; did you mean 'GunPoint', 'GunPointW' or 'GunPointX'?"  # three at most


def test_nothing_close_gives_an_empty_string():
    assert suggest("zzzzzz", UCR_NAMES) == ""
    assert suggest("Coffee", ["Coffee"]) == ""  # a name that is there needs no suggestion
    assert suggest("Coffee", []) == ""


def test_any_iterable_of_choices():
    assert suggest("demoo", SUITES) == "; did you mean 'demo'?"
    assert suggest("Cofee", (name for name in UCR_NAMES)) == "; did you mean 'Coffee'?"


@pytest.mark.parametrize("typo", ["Cofee", "coffee", "UCR128", "ucr-smal"])
def test_datasets_and_suites_give_the_helpers_suggestion(typo):
    with pytest.raises(InvalidParameterError) as suite_error:
        get_suite(typo)
    assert suggest(typo, SUITES) in str(suite_error.value)
    with pytest.raises(DatasetError) as dataset_error:
        load_dataset(typo)
    assert suggest(typo, known_names()) in str(dataset_error.value)


def test_unknown_suite_message():
    match = r"unknown suite 'UCR128'; did you mean 'ucr128'.*\? \(suites: demo, "
    with pytest.raises(InvalidParameterError, match=match):
        get_suite("UCR128")


def test_unknown_collection_and_embedded_name_suggest_too():
    with pytest.raises(DatasetError, match=r"unknown collection 'ucrr' in 'ucrr:GunPoint'; did you mean 'ucr'\?"):
        load_dataset("ucrr:GunPoint")
    with pytest.raises(DatasetError, match=r"'GunPont' is not an embedded dataset; did you mean 'GunPoint'\?"):
        load_dataset("embedded:GunPont")


def test_cli_info_suggests():
    result = CliRunner().invoke(datasets_app, ["info", "Cofee"])
    assert result.exit_code == 1 and "did you mean 'Coffee'?" in result.output

