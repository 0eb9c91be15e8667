"""The arithmetic limits of ``make bench``: which probe bounds which case, from the probes' rates."""

from __future__ import annotations

import pytest

from benchmarks import limits
from benchmarks.__main__ import QUICK, Case


def test_each_dual_is_bounded_by_its_own_mix_of_operations(monkeypatch):
    rates = {"_one_sqrt_one_div": 7e8, "_two_sqrt_two_div": 3e8, "_fma32": 3.2e10 / 37, "_two_sqrt_one_div": 4e8}

    def fake_rate(function, per_element, n_threads=1, repeats=5):
        return rates.get(function.__name__, 1.0) * per_element

    monkeypatch.setattr(limits, "_rate", fake_rate)
    limit = limits.arithmetic_limit(2)
    # ReLU: bound by the FMA pipes (3.2e10 / 46 = 6.96e8 per core, below the divider's 7e8); erf: by the
    # divider (3e8 per core, below 3.2e10 / 41)
    assert limit["limit_pair_steps_per_s"] == pytest.approx(2 * 3.2e10 / limits.FLOPS_PER_PAIR_STEP)
    assert limit["erf_limit_pair_steps_per_s"] == pytest.approx(2 * 3e8)
    assert limit["two_sqrt_one_div_per_s_per_core"] == pytest.approx(4e8)


@pytest.mark.parametrize(("case", "key"), [
    (Case("rntk erf last", 10, 5, params={"activation": "erf"}), "erf_limit_pair_steps_per_s"),
    (Case("rntk relu last", 10, 5), "limit_pair_steps_per_s"),
    (Case("rntk relu mean pooling", 10, 5, output="mean"), "limit_pair_steps_per_s"),
    (Case("rntk relu last, unequal lengths", 10, 5, unequal=True), "limit_pair_steps_per_s"),
])
def test_bench_cases_take_the_limit_of_their_activation(case, key):
    assert case.limit_key == key


def test_the_quick_table_measures_its_erf_case_against_the_erf_limit():
    keys = {case.name: case.limit_key for case in QUICK}
    assert keys["rntk erf last"] == "erf_limit_pair_steps_per_s"
    assert {key for name, key in keys.items() if "erf" not in name} == {"limit_pair_steps_per_s"}
