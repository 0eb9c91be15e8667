"""The arithmetic limits of ``make bench``: which probe bounds which case, from the probes' rates."""

from __future__ import annotations

import pytest

from benchmarks import limits
from benchmarks.__main__ import QUICK, Case


def _limit_from(monkeypatch, rates: dict) -> dict:
    """``arithmetic_limit(2)`` with each probe (by its function's name) measuring the given elements per second
    per core, 1 for the others."""

    def fake_rate(function, per_element, n_threads=1, repeats=5):
        return rates.get(function.__name__, 1.0) * per_element

    monkeypatch.setattr(limits, "_rate", fake_rate)
    return limits.arithmetic_limit(2)


def test_each_dual_is_bounded_by_its_own_mix_of_operations(monkeypatch):
    limit = _limit_from(monkeypatch, {"_one_sqrt_one_div": 7e8, "_two_sqrt_two_div": 3e8, "_fma32": 2.9e10 / 37,
                                      "_two_sqrt_one_div": 4e8})
    # ReLU: bound by the FMA pipes (2.9e10 / 43 = 6.74e8 per core, below the divider's 7e8); erf: by the
    # divider (3e8 per core, below 2.9e10 / 41)
    assert limit["limit_pair_steps_per_s"] == pytest.approx(2 * 2.9e10 / limits.FLOPS_PER_PAIR_STEP)
    assert limit["erf_limit_pair_steps_per_s"] == pytest.approx(2 * 3e8)
    assert limit["two_sqrt_one_div_per_s_per_core"] == pytest.approx(4e8)
    assert limit["model_limit_pair_steps_per_s"] == limit["limit_pair_steps_per_s"]


def test_the_step_loops_own_operations_measured_faster_than_the_model_raise_the_limit(monkeypatch):
    # a machine whose additions and selects have pipes of their own: the model (all 43 operations on the FMA
    # pipes) says 2.9e10 / 43 = 6.74e8 per core, the measured mix of the step loop 8e8
    limit = _limit_from(monkeypatch, {"_one_sqrt_one_div": 1.1e9, "_fma32": 2.9e10 / 37, "_engine_mix": 8e8})
    assert limit["model_limit_pair_steps_per_s"] == pytest.approx(2 * 2.9e10 / limits.FLOPS_PER_PAIR_STEP)
    assert limit["limit_pair_steps_per_s"] == pytest.approx(2 * 8e8)


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


def test_each_unit_rate_is_the_better_of_the_two_compilations(monkeypatch):
    """The probes run as numba compiles by default and as the engine's loops are (512-bit vectors preferred);
    the limit takes each unit's better rate: here the divider's default one and the FMA pipes' wide one."""
    def fake_rate(function, per_element, n_threads=1, repeats=5):
        wide = any(function is compiled for compiled in limits._WIDE.values())
        if function.__name__ == "_one_sqrt_one_div":
            return (6.5e8 if wide else 7e8) * per_element
        if function.__name__ == "_fma32":
            return (4.8e10 if wide else 3.2e10) / 37 * per_element
        return 1.0

    monkeypatch.setattr(limits, "_rate", fake_rate)
    limit = limits.arithmetic_limit(1)
    assert limit["divider_default_per_s_per_core"] == pytest.approx(7e8)
    assert limit["divider_wide_per_s_per_core"] == pytest.approx(6.5e8)
    assert limit["fma_wide_per_s_per_core"] == pytest.approx(4.8e10)
    # min(7e8, 4.8e10 / 46 = 1.04e9): the divider's default rate bounds it
    assert limit["limit_pair_steps_per_s"] == pytest.approx(7e8)
