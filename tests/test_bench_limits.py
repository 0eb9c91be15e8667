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
    (Case("rntk relu last", 10, 5, n_layers=2), "limit_2_layers_pair_steps_per_s"),
    (Case("rntk relu last", 10, 5, n_layers=3), "limit_3_layers_pair_steps_per_s"),
    (Case("rntk relu mean pooling", 10, 5, output="mean"), "mean_limit_pair_steps_per_s"),
    (Case("rntk relu mean pooling", 10, 5, n_layers=2, output="mean"), "mean_limit_2_layers_pair_steps_per_s"),
    (Case("rntk relu last, unequal lengths", 10, 5, unequal=True), "limit_pair_steps_per_s"),
])
def test_bench_cases_take_the_limit_of_their_step_loops(case, key):
    assert case.limit_key == key


def test_a_case_deeper_than_the_limits_go_is_refused():
    with pytest.raises(ValueError, match="1 to 3 layers"):
        _ = Case("rntk relu last", 10, 5, n_layers=4).limit_key


def test_the_quick_table_measures_each_case_against_the_limit_of_its_loops():
    keys = {(case.name, case.n_layers): case.limit_key for case in QUICK}
    assert keys["rntk erf last", 1] == "erf_limit_pair_steps_per_s"
    assert keys["rntk relu last", 1] == "limit_pair_steps_per_s"
    assert keys["rntk relu last", 2] == "limit_2_layers_pair_steps_per_s"
    assert keys["rntk relu mean pooling", 1] == "mean_limit_pair_steps_per_s"


def test_a_pair_step_of_several_layers_costs_the_sum_of_its_layers_times():
    # first layer 1 ns, each upper layer 2 ns: three layers take 5 ns for 3 pair-layer-steps
    assert limits.layered_limit(1e9, 5e8, 3) == pytest.approx(3 / 5e-9)
    assert limits.layered_limit(1e9, 5e8, 1) == pytest.approx(1e9)


def test_each_step_loop_is_bounded_by_its_own_counts(monkeypatch):
    """FMA-bound machine, probes of the loops' own counts slower than the model: each loop's limit is the FMA
    rate over its own operation count; where a probe runs faster than its model, the probe's rate."""
    fma = 2.9e10
    limit = _limit_from(monkeypatch, {"_one_sqrt_one_div": 7e8, "_two_sqrt_two_div": 3e8, "_fma32": fma / 37,
                                      "_engine_mix_mean": 9e8})
    assert limits.LOOP_OPS["last_upper"][0] > limits.LOOP_OPS["last"][0]
    assert limit["last_upper_limit_pair_steps_per_s"] == pytest.approx(2 * fma / sum(limits.LOOP_OPS["last_upper"]))
    assert limit["mean_upper_limit_pair_steps_per_s"] == pytest.approx(2 * fma / sum(limits.LOOP_OPS["mean_upper"]))
    assert limit["mean_limit_pair_steps_per_s"] == pytest.approx(2 * 9e8)       # the probe, above fma / 47
    assert limit["last_upper_limit_pair_steps_per_s"] < limit["limit_pair_steps_per_s"]
    assert limit["limit_2_layers_pair_steps_per_s"] == pytest.approx(limits.layered_limit(
        limit["limit_pair_steps_per_s"], limit["last_upper_limit_pair_steps_per_s"], 2))
    assert limit["mean_limit_3_layers_pair_steps_per_s"] == pytest.approx(limits.layered_limit(
        limit["mean_limit_pair_steps_per_s"], limit["mean_upper_limit_pair_steps_per_s"], 3))


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


def test_a_second_measurement_keeps_each_probes_better_rate(monkeypatch):
    """A slow spell during one measurement lowers some probes (here the FMA pipes' in the first, the divider's
    in the second): the limit from both takes each probe's better rate, so it is at least either one's."""
    first = _limit_from(monkeypatch, {"_one_sqrt_one_div": 7e8, "_fma32": 1.5e10 / 37, "_engine_mix": 3e8})
    second = _limit_from(monkeypatch, {"_one_sqrt_one_div": 4e8, "_fma32": 2.9e10 / 37, "_engine_mix": 3e8})
    assert first["limit_pair_steps_per_s"] == pytest.approx(2 * 1.5e10 / limits.FLOPS_PER_PAIR_STEP)
    assert second["limit_pair_steps_per_s"] == pytest.approx(2 * 4e8)
    both = limits.arithmetic_limit(2, earlier=first)
    assert both["fma_ops_per_s_per_core"] == pytest.approx(2.9e10)
    assert both["divider_duals_per_s_per_core"] == pytest.approx(7e8)
    assert both["limit_pair_steps_per_s"] == pytest.approx(2 * 2.9e10 / limits.FLOPS_PER_PAIR_STEP)
    for key, value in both.items():
        if key.endswith("limit_pair_steps_per_s"):
            assert value >= max(first[key], second[key]) * (1 - 1e-12), key


def _vector_loop_counts(function) -> dict[str, int] | None:
    """Multiplications and FMAs, and additions and subtractions, of the innermost vectorised loop (the shortest
    one holding a vector division) in ``function``'s x86 machine code; None where there is none to read."""
    import re

    import numpy as np

    compiled = limits._wide(function)
    ones = np.ones(64)
    compiled(ones, ones, np.zeros(64), 1)
    lines = compiled.inspect_asm(compiled.signatures[0]).splitlines()
    labels = {match.group(1): k for k, line in enumerate(lines) if (match := re.match(r"^(\.LBB\S+):", line))}
    loops = []
    for k, line in enumerate(lines):
        jump = re.match(r"\s+j\w+\s+(\.LBB\S+)", line)
        if jump and labels.get(jump.group(1), k) < k:
            body = [text.split()[0] for text in lines[labels[jump.group(1)]:k + 1] if text.split()]
            if "vdivpd" in body:
                loops.append(body)
    if not loops:
        return None
    body = min(loops, key=len)
    return {"mul_fma": sum(op.startswith(("vfmadd", "vfmsub", "vfnmadd", "vfnmsub")) or op == "vmulpd" for op in body),
            "add": sum(op in ("vaddpd", "vsubpd") for op in body)}


def test_the_loop_probes_do_the_counts_of_their_loops():
    """Each step loop's probe does, per vector, the multiplications and FMAs its loop does (``LOOP_OPS``), and the
    mean-pooling ones two additions more than the last state's."""
    import platform

    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("reads x86 machine code")
    counts = {kind: _vector_loop_counts(probe) for kind, probe in limits._LOOP_PROBES.items()}
    if any(count is None for count in counts.values()):
        pytest.skip("no vectorised loop with a division found")
    for kind, (mul_fma, _) in limits.LOOP_OPS.items():
        assert counts[kind]["mul_fma"] == mul_fma, kind
    assert counts["mean"]["add"] - counts["last"]["add"] == 2
    assert counts["mean_upper"]["add"] == counts["mean"]["add"]
    assert counts["last_upper"]["add"] == counts["last"]["add"]
