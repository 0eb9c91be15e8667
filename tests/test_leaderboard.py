"""The published leaderboard: definitions, the page built from run folders, the scatter plot, the CI check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rntk_bench import leaderboard as lb
from rntk_bench.atomic import atomic_write_json
from rntk_bench.errors import InvalidParameterError, RunError
from rntk_bench.plots import plot_rntk_scatter
from rntk_bench.run_folder import RUN_FILE, write_task_result

ROOT = Path(__file__).resolve().parents[1]
DEFINITIONS = ROOT / "results" / "leaderboard.toml"
PROBE = [[0.0, 1.0], [1.0, 0.0]]


# ------------------------------------------------------------------------------------------- definitions


def test_the_published_definitions_load_and_have_the_documented_grids():
    defs = lb.load_definitions(DEFINITIONS)
    assert list(defs.runs) == ["uci90-ntk", "ucr", "uci90-baselines", "uci90-rntk", "uci90-ntk-inner",
                               "uci90-baselines-inner", "uci90-rntk-inner", "ucr-directions", "ucr-mean", "ucr-iclr",
                               "ucr-unscaled", "uci121"]
    iclr = lb.build_run_config(defs.runs["ucr-iclr"])
    assert len(iclr.kernel("rntk").settings(PROBE)) == 900 and iclr.cv_folds == 10
    assert iclr.series_scaling == "none" and iclr.kernel("rntk").C == (0.01, 0.1, 1.0, 10.0, 100.0)
    assert len(lb.build_run_config(defs.runs["ucr-directions"]).kernel("rntk").settings(PROBE)) == 108
    mean = lb.build_run_config(defs.runs["ucr-mean"])
    assert len(mean.datasets) == 20 and len(mean.kernel("rntk").settings(PROBE)) == 72
    # the ucr run's RNTK with one change, the scaling, which separates it from the paper's protocol
    ucr, unscaled = lb.build_run_config(defs.runs["ucr"]), lb.build_run_config(defs.runs["ucr-unscaled"])
    assert unscaled.series_scaling == "none" and ucr.series_scaling != "none"
    assert unscaled.kernel("rntk") == ucr.kernel("rntk") and unscaled.cv_folds == ucr.cv_folds
    for name in ("uci90-ntk", "uci90-baselines", "uci90-rntk"):  # the leak-free twin of each Arora run
        arora, inner = lb.build_run_config(defs.runs[name]), lb.build_run_config(defs.runs[f"{name}-inner"])
        assert inner.protocol == "inner-uci" and arora.protocol is None
        assert inner.kernels == arora.kernels and inner.svc_max_iter == arora.svc_max_iter
    assert set(defs.boards) == {"uci90", "uci90-inner", "ucr", "ucr-iclr", "ucr-unscaled", "ucr-directions",
                                "ucr-mean", "uci121"}
    assert defs.boards["uci90"].published == {"ntk": 81.95} and defs.boards["uci90"].compare == ("uci90-inner",)
    assert defs.boards["ucr"].compare == ("ucr-iclr", "ucr-unscaled", "ucr-directions", "ucr-mean")
    uci121 = lb.build_run_config(defs.runs["uci121"])
    assert uci121.approx == "nystroem:m=1000,above=5000" and len(uci121.datasets) == 121 and uci121.skip_missing
    assert [len(grid.settings(PROBE)) for grid in uci121.kernels] == [2, 1]

    ntk = lb.build_run_config(defs.runs["uci90-ntk"])
    assert len(ntk.datasets) == 90 and ntk.kernel_names == ("ntk",)
    assert len(ntk.kernels[0].settings(PROBE)) == 15 and ntk.kernels[0].C == tuple(10.0**p for p in range(-2, 5))

    rntk = lb.build_run_config(defs.runs["uci90-rntk"])
    settings = rntk.kernel("rntk").settings(PROBE)
    # 2 sigma_u x 2 sigma_b x 2 depths x 2 frozen-layer choices x 3 directions x 2 outputs
    assert len(settings) == 96
    assert {(s["n_layers"], s["fixed_layers"]) for s in settings} == {(1, 0), (1, 1), (2, 0), (2, 2)}
    assert {s["direction"] for s in settings} == {"forward", "reversed", "bidirectional"}
    assert {s["output"] for s in settings} == {"last", "mean"}
    assert {s["sigma_h"] for s in settings} == {0.0} and {s["sigma_w"] for s in settings} == {1.4142}
    assert rntk.kernel("rntk").C == (1e-2, 1.0, 1e2, 1e4, 1e6)
    assert rntk.kernel_names == ("rntk",)
    assert lb.build_run_config(defs.runs["uci90-baselines"]).kernel_names == ("rbf", "poly")

    ucr = lb.build_run_config(defs.runs["ucr"])
    assert len(ucr.datasets) == 128 and ucr.skip_missing and ucr.kernel_names == ("rntk", "ntk", "rbf", "poly")
    assert defs.ci is not None and len(lb.build_run_config(defs.ci).datasets) == 10


def test_the_ci_datasets_are_all_in_the_shared_data(shared_datasets):
    from rntk_bench.data import dataset_available

    defs = lb.load_definitions(DEFINITIONS)
    missing = [name for name in lb.build_run_config(defs.ci).datasets
               if not dataset_available(name, shared_datasets)]
    assert missing == []


def test_ties_enter_the_configuration_hash():
    base = {"suite": "demo", "kernels": ["rntk"], "grid": {"rntk": {"n_layers": [1, 2], "fixed_layers": [0, 1, 2]}}}
    untied = lb.build_run_config(lb.RunDefinition("a", file=base))
    tied = lb.build_run_config(lb.RunDefinition("a", file={**base, "tie": {"rntk": {"fixed_layers": [0, "n_layers"]}}}))
    # 18 (sigma_u, sigma_b, sigma_h) settings of the default grid x 5 (depth, frozen) pairs, or x 4 once tied
    assert len(untied.kernel("rntk").settings(PROBE)) == 90 and len(tied.kernel("rntk").settings(PROBE)) == 72
    assert untied.config_hash != tied.config_hash


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"runs": {"a": {"suite": "demo", "colour": 1}}}, "unknown key(s) 'colour'"),
        ({"runs": {"a": {"suite": "no-such-suite"}}}, "no-such-suite"),
        ({"runs": {"a": {"suite": "demo", "kernels": ["rntk"], "tie": {"rntk": {"depth": [1]}}}}},
         "unknown parameter 'depth'"),
        ({"runs": {"a": {"suite": "demo", "kernels": ["rntk"], "tie": {"rntk": {"fixed_layers": [0, "depth"]}}}}},
         "'depth' is not a parameter"),
        ({"runs": {"a": {"suite": "demo"}}, "boards": {"b": {"runs": ["a", "z"]}}}, "unknown: ['z']"),
        ({"runs": {"a": {"datasets": ["iris"], "kernels": ["ntk"], "grid": {"ntk": {"n_layers": [9]}}}}}, None),
        ({"runs": {"a": {"suite": "demo", "kernels": ["rntk"], "tie": {"rntk": {"fixed_layers": [5]}}}}},
         "no setting left"),
        ({"colours": {}}, "unknown key(s) 'colours'"),
    ],
)
def test_invalid_definitions_are_refused_with_the_file_named(data, message):
    if message is None:  # a valid definition without a suite: the listed datasets are the run
        defs = lb.parse_definitions(data, "board.toml")
        assert lb.build_run_config(defs.runs["a"]).datasets == ("iris",)
        return
    with pytest.raises(InvalidParameterError) as info:
        lb.parse_definitions(data, "board.toml")
    assert message in str(info.value) and "board.toml" in str(info.value)


# ------------------------------------------------------------------------------------ hand-made run folders

# test accuracy of the selected setting (UCI sets: the four folds), hand-checked means below:
#              ntk                      rntk    rbf
#   d1    [0.80, 0.80, 0.80, 0.80]      0.90    0.70
#   d2    [0.50, 0.70, 0.60, 0.60]      0.60    0.60
#   d3    [1.00, 1.00, 1.00, 1.00]      0.50    0.90
#   d4    (ntk only)                    -       -
# ntk over its 4 datasets: (0.8 + 0.6 + 1.0 + 0.4) / 4 = 0.70 -> 70.00 %, 11.95 below a published 81.95 %.
NTK = {"d1": [0.8] * 4, "d2": [0.5, 0.7, 0.6, 0.6], "d3": [1.0] * 4, "d4": [0.4] * 4}
OTHERS = {"rntk": {"d1": 0.9, "d2": 0.6, "d3": 0.5}, "rbf": {"d1": 0.7, "d2": 0.6, "d3": 0.9}}


def _task(dataset, kernel, index, accuracies, selection, unconverged=0):
    splits = {f"fold-{i}": {"n_train": 8, "n_test": 4, "test_accuracy": [a]} for i, a in enumerate(accuracies)}
    return {"dataset": dataset, "suite": "hand", "collection": "uci", "protocol": "arora-uci", "kernel": kernel,
            "kernel_id": f"{kernel}[s={index}]", "params": {"s": index}, "setting_index": index, "n_settings": 2,
            "C_grid": [1.0], "cv_folds": 5, "seed": 0, "status": "ok", "error": "", "selection_accuracy": [selection],
            "splits": splits, "gram_seconds": 1.5, "fit_seconds": 0.5, "svc_fits": 5, "svc_unconverged": unconverged,
            "notes": []}


def _run_folder(run_dir: Path, kernels: dict[str, dict[str, list[float]]], datasets: list[str]) -> None:
    atomic_write_json(run_dir / RUN_FILE, {
        "config": {"suite": "hand", "datasets": datasets, "kernels": {k: {} for k in kernels}},
        "machine": {"processor": "x86_64", "cpu_count": 2, "platform": "Linux"},
        "versions": {"numpy": "2.0"}, "notes": [],
        "sessions": [{"started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:10:00+00:00"}],
    })
    for kernel, by_dataset in kernels.items():
        for dataset, accuracies in by_dataset.items():
            # setting 1 wins the selection; setting 0 scores 0 everywhere and is never selected
            write_task_result(run_dir, _task(dataset, kernel, 0, [0.0] * len(accuracies), 0.1, unconverged=3))
            write_task_result(run_dir, _task(dataset, kernel, 1, accuracies, 0.9,
                                             unconverged=1 if (kernel, dataset) == ("rbf", "d2") else 0))


@pytest.fixture
def hand_results(tmp_path):
    ntk_run = tmp_path / "results" / lb.RUNS_DIR / "ntk-run"
    other_run = tmp_path / "results" / lb.RUNS_DIR / "other-run"
    _run_folder(ntk_run, {"ntk": NTK}, list(NTK))
    _run_folder(other_run, {k: {d: [a] * 4 for d, a in v.items()} for k, v in OTHERS.items()}, list(NTK))
    # on d4 the ntk selection picks setting 0 instead (same accuracy as in NTK)
    write_task_result(ntk_run, _task("d4", "ntk", 0, NTK["d4"], 0.95))
    write_task_result(ntk_run, _task("d4", "ntk", 1, [0.0] * 4, 0.1))
    defs = lb.parse_definitions({
        "runs": {"ntk-run": {"datasets": ["iris"], "kernels": ["ntk"]},
                 "other-run": {"datasets": ["iris"], "kernels": ["rntk", "rbf"]}},
        "boards": {"hand": {"title": "Hand board", "runs": ["ntk-run", "other-run"], "published": {"ntk": 81.95},
                            "notes": "A hand-written note."}},
    }, "hand.toml")
    return defs, tmp_path / "results"


def test_the_page_and_board_files_are_built_from_hand_made_run_folders(hand_results):
    defs, results = hand_results
    page = lb.write_leaderboard_page(defs, results).read_text()
    board = results / lb.BOARDS_DIR / "hand"
    for name in ("per_dataset.csv", "summary.csv", "pairwise.csv", "critical_difference.png", lb.SCATTER_FILE,
                 "leaderboard.md"):
        assert (board / name).is_file(), name
    assert (board / lb.SCATTER_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = pd.read_csv(board / "summary.csv", index_col="kernel")
    # complete cases d1..d3: rntk (0.9 + 0.6 + 0.5) / 3, ntk (0.8 + 0.6 + 1.0) / 3
    assert summary.loc["rntk", "mean_accuracy"] == pytest.approx(2.0 / 3)
    assert summary.loc["ntk", "mean_accuracy"] == pytest.approx(0.8)
    assert (summary.loc["ntk", "wins"], summary.loc["ntk", "ties"], summary.loc["ntk", "losses"]) == (1, 1, 1)
    assert "| ntk | 81.95 | 70.00 | -11.95 | 4 of 4 |" in page
    assert "| ntk | 4 | 70.00 |" in page and "| rntk | 3 | 66.67 |" in page
    assert "![rntk against each baseline](boards/hand/scatter.png)" in page
    assert "![critical-difference diagram](boards/hand/critical_difference.png)" in page
    # the never-selected setting 0 stopped 3 times on each dataset; of the selected ones only rbf on d2 did
    assert "d2 rbf[s=1] (1 of 5 fits)" in page and "rbf[s=0]" not in page.split("iteration cap")[1].split("\n")[0]
    assert "A hand-written note." in page and "| d4 | **40.00** |  |  |" in page
    assert "| ntk-run | 4 | ntk | 8 of 60 | 0 | 16 s | 10 min |" in page
    # settings selected: ntk s=1 on d1..d3 and s=0 on d4; rntk and rbf always s=1 (nothing varies: no line)
    assert "\n- ntk: s: 1 (3), 0 (1)\n" in page and "- rntk:" not in page and "- rbf:" not in page


def test_a_board_without_results_says_so(tmp_path):
    defs = lb.parse_definitions({"runs": {"r": {"datasets": ["iris"], "kernels": ["ntk"]}},
                                 "boards": {"b": {"runs": ["r"]}}}, "x.toml")
    page = lb.write_leaderboard_page(defs, tmp_path).read_text()
    assert "No dataset of this board has a result yet" in page
    assert "| r | | ntk | not started (1 dataset of the suite x 15 settings) |" in page


# ----------------------------------------------------------------------------------------- scatter plot


def test_scatter_plot_draws_one_panel_per_baseline(tmp_path):
    accuracy = pd.DataFrame({"rntk": [0.9, 0.5, 0.7], "ntk": [0.8, 0.6, 0.7], "rbf": [0.1, 0.2, 0.3]},
                            index=["a", "b", "c"])
    path = plot_rntk_scatter(accuracy, tmp_path / "s.png", "rntk", title="t")
    assert path is not None and path.read_bytes()[:4] == b"\x89PNG"
    from PIL import Image

    width, height = Image.open(path).size
    assert width > 2 * height * 0.8  # two panels side by side
    assert plot_rntk_scatter(accuracy[["ntk", "rbf"]], tmp_path / "none.png") is None
    assert plot_rntk_scatter(accuracy[["rntk"]], tmp_path / "alone.png") is None
    assert not (tmp_path / "none.png").exists()


# --------------------------------------------------------------------------------------------------- CI


def _results_table(accuracy_d1: float) -> pd.DataFrame:
    from rntk_bench.results import combine

    runs = {"rntk": {"d1": accuracy_d1, "d2": 0.6}, "ntk": {"d1": 0.8, "d2": 0.7}, "rbf": {"d1": 0.7, "d2": 0.5}}
    results = [_task(d, k, i, [a if i else 0.0] * 4, 0.9 if i else 0.1)
               for k, v in runs.items() for d, a in v.items() for i in (0, 1)]
    return combine(results, ["d1", "d2"], ["rntk", "ntk", "rbf"])


def test_ci_page_is_deterministic_and_a_changed_accuracy_shows_as_a_diff(tmp_path):
    page = lb.ci_markdown(_results_table(0.9), "CI")
    assert page == lb.ci_markdown(_results_table(0.9), "CI")
    assert "| d1 | rntk | 90.00 | 90.00 | `rntk[s=1]` | 1 |" in page
    for forbidden in ("seconds", "20", str(tmp_path), "version"):
        assert forbidden not in page.replace("2026", "")
    assert lb.compare_text(page, page) == ""
    changed = lb.ci_markdown(_results_table(0.875), "CI")
    diff = lb.compare_text(page, changed, "committed", "regenerated")
    assert "-| d1 | rntk | 90.00 |" in diff and "+| d1 | rntk | 87.50 |" in diff

    committed = tmp_path / "ci-leaderboard.md"
    committed.write_text(page)
    lb.check_against(committed, page)  # equal: no error
    with pytest.raises(RunError, match="differs from") as info:
        lb.check_against(committed, changed)
    assert "+| d1 | rntk | 87.50 |" in str(info.value)
    with pytest.raises(RunError, match="does not exist"):
        lb.check_against(tmp_path / "absent.md", page)


def test_the_committed_ci_leaderboard_names_every_ci_dataset_and_kernel():
    committed = ROOT / "results" / lb.CI_FILE
    if not committed.exists():
        pytest.skip("results/ci-leaderboard.md not generated yet")
    text = committed.read_text()
    defs = lb.load_definitions(DEFINITIONS)
    config = lb.build_run_config(defs.ci)
    for dataset in config.datasets:
        for kernel in config.kernel_names:
            assert f"| {dataset} | {kernel} |" in text


# ---------------------------------------------------------------------------------------- real small run


@pytest.mark.slow
def test_a_small_leaderboard_runs_on_real_data_and_resumes(shared_datasets, tmp_path):
    defs = lb.parse_definitions({
        "runs": {"tiny": {"suite": "uci90", "datasets": ["fertility"], "kernels": ["ntk"],
                          "grid": {"ntk": {"n_layers": [1, 2], "fixed_layers": [0]}}}},
        "boards": {"tiny": {"runs": ["tiny"], "published": {"ntk": 81.95}}},
    }, "tiny.toml")
    first = lb.run_leaderboard(defs, tmp_path, data_dir=shared_datasets, n_jobs=1)["tiny"]
    assert (first.n_run, first.n_failed) == (2, 0)
    again = lb.run_leaderboard(defs, tmp_path, data_dir=shared_datasets, n_jobs=1)["tiny"]
    assert (again.n_skipped, again.n_run) == (2, 0)
    page = lb.write_leaderboard_page(defs, tmp_path).read_text()
    accuracy = 100 * first.table["test_accuracy"].mean()
    assert f"| ntk | 1 | {accuracy:.2f} |" in page
    task_files = list((tmp_path / "runs" / "tiny" / "tasks").rglob("*.json"))
    assert len(task_files) == 2 and all(json.loads(p.read_text())["status"] == "ok" for p in task_files)
    assert np.isfinite(accuracy)


def test_a_kernel_on_too_few_datasets_is_left_out_of_the_comparison(hand_results):
    defs, results = hand_results
    accuracy = pd.DataFrame({"ntk": [0.8, 0.6, 1.0, 0.4], "rntk": [0.9, np.nan, np.nan, np.nan]},
                            index=["d1", "d2", "d3", "d4"])
    assert lb.compared_kernels(accuracy) == (["ntk"], ["rntk"])
    # a third run with poly on one dataset of four: on the page, not in the comparison
    _run_folder(results / lb.RUNS_DIR / "poly-run", {"poly": {"d1": [0.5] * 4}}, ["d1"])
    data = {"runs": {name: {"datasets": ["iris"], "kernels": [kernel]}
                     for name, kernel in (("ntk-run", "ntk"), ("other-run", "rbf"), ("poly-run", "poly"))},
            "boards": {"hand": {"runs": ["ntk-run", "other-run", "poly-run"]}}}
    page = lb.write_leaderboard_page(lb.parse_definitions(data, "h.toml"), results).read_text()
    assert "Left out of the comparison until their runs cover at least half of the datasets: poly." in page
    assert "| poly | 1 | 50.00 |" in page
    summary = pd.read_csv(results / lb.BOARDS_DIR / "hand" / "summary.csv", index_col="kernel")
    assert sorted(summary.index) == ["ntk", "rbf", "rntk"]


def test_the_total_says_whether_every_run_is_complete_and_estimates_from_scratch_from_task_time(tmp_path):
    results = tmp_path / "results"
    _run_folder(results / lb.RUNS_DIR / "r", {"ntk": {"d1": [0.5] * 4}}, ["d1"])  # two settings on d1
    data = {"runs": {"r": {"datasets": ["iris"], "kernels": ["ntk"],
                           "grid": {"ntk": {"n_layers": [1, 2], "fixed_layers": [0]}}}},
            "boards": {"b": {"runs": ["r"]}}}
    page = lb.write_leaderboard_page(lb.parse_definitions(data, "c.toml"), results).read_text()
    assert "| r | 1 | ntk | 2 of 2 | 0 | 4 s | 10 min |" in page
    assert "Total (every run complete): 4 s of task time, so about 2 s of wall time for `make leaderboard` from " \
        "scratch with `--jobs 2`; 10 min of wall time over all sessions." in page
    data["runs"]["r"]["grid"]["ntk"]["n_layers"] = [1, 2, 3]  # a third setting still to run
    page = lb.write_leaderboard_page(lb.parse_definitions(data, "c.toml"), results).read_text()
    assert "| r | 1 | ntk | 2 of 3 |" in page and "Total (so far): 4 s of task time" in page


def test_a_board_shows_another_protocol_side_by_side(hand_results):
    """``compare``: the same kernel under another board's runs, per kernel, on the datasets both have."""
    defs, results = hand_results
    # the "other protocol": ntk better on d1 (0.9 vs 0.8), equal on d2, worse on d3; no d4
    _run_folder(results / lb.RUNS_DIR / "ntk-inner", {"ntk": {"d1": [0.9] * 4, "d2": [0.5, 0.7, 0.6, 0.6],
                                                             "d3": [0.5] * 4}}, ["d1", "d2", "d3"])
    data = {"runs": {"ntk-run": {"datasets": ["iris"], "kernels": ["ntk"]},
                     "ntk-inner": {"datasets": ["iris"], "kernels": ["ntk"]}},
            "boards": {"hand": {"runs": ["ntk-run"], "compare": ["inner"]},
                       "inner": {"title": "Leak-free", "runs": ["ntk-inner"]}}}
    page = lb.write_leaderboard_page(lb.parse_definitions(data, "h.toml"), results).read_text()
    assert "**Beside 'Leak-free'**" in page
    # d1..d3: this board (0.8 + 0.6 + 1.0) / 3 = 80.00, that board (0.9 + 0.6 + 0.5) / 3 = 66.67
    assert "| ntk | 3 | 80.00 | 66.67 | 1 / 1 / 1 |" in page
    with pytest.raises(InvalidParameterError, match="compare must list other boards"):
        lb.parse_definitions({**data, "boards": {"hand": {"runs": ["ntk-run"], "compare": ["nope"]}}}, "h.toml")


def test_the_measured_trade_off_is_a_section_of_the_page_when_it_exists(hand_results):
    defs, results = hand_results
    assert "## Exact or approximate" not in lb.write_leaderboard_page(defs, results).read_text()
    (results / "approx").mkdir()
    (results / "approx" / "tradeoff.md").write_text("# Trade-off\n\n| m | accuracy |\n|---|---|\n| 100 | 0.8 |\n")
    (results / "approx" / "tradeoff.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    page = lb.write_leaderboard_page(defs, results).read_text()
    assert "## Exact or approximate: what approximation costs\n\n| m | accuracy |" in page
    assert "# Trade-off" not in page and "![exact against approximate](approx/tradeoff.png)" in page
