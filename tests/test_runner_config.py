"""Run configuration: default grids, axis overrides, TOML files, validation messages, the config hash."""

from __future__ import annotations

import numpy as np
import pytest

from rntk_bench.config import (
    DEFAULT_C_GRIDS,
    build_config,
    config_differences,
    load_toml,
    parse_grid_options,
    parse_value,
)
from rntk_bench.errors import InvalidParameterError, RunError

X_TRAIN = np.array([[0.0, 2.0, 1.0], [1.0, 0.0, 3.0]])


def test_default_config_has_the_four_kernels_and_the_published_grids():
    config = build_config()
    assert config.kernel_names == ("rntk", "ntk", "rbf", "poly")
    sizes = {grid.name: len(grid.settings(X_TRAIN)) for grid in config.kernels}
    assert sizes == {"rntk": 36, "ntk": 15, "rbf": 13, "poly": 6}
    assert config.kernel("ntk").C == (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
    assert config.kernel("rntk").C == (0.01, 1.0, 100.0, 1e4, 1e6)
    assert config.kernel("rbf").C == DEFAULT_C_GRIDS["rbf"] == config.kernel("ntk").C
    ntk = config.kernel("ntk").settings(X_TRAIN)
    assert [(s["n_layers"], s["fixed_layers"]) for s in ntk][:4] == [(0, 0), (1, 0), (1, 1), (2, 0)]
    rbf = config.kernel("rbf").settings(X_TRAIN)
    scale = 1.0 / (X_TRAIN.shape[1] * X_TRAIN.var())
    np.testing.assert_allclose([s["gamma"] for s in rbf], scale * 2.0 ** np.arange(-8, 5))


def test_an_override_replaces_one_axis_and_drops_refused_combinations():
    config = build_config(kernels=["ntk", "rntk"], grids={"ntk": {"n_layers": [2]}, "rntk": {"sigma_u": 0.5}})
    ntk = config.kernel("ntk").settings(X_TRAIN)
    assert [(s["n_layers"], s["fixed_layers"]) for s in ntk] == [(2, 0), (2, 1), (2, 2)]
    rntk = config.kernel("rntk").settings(X_TRAIN)
    assert len(rntk) == 12 and {s["sigma_u"] for s in rntk} == {0.5}
    # a parameter the default grid does not vary adds an axis
    both = build_config(kernels=["poly"], grids={"poly": {"gamma": [0.5, 1.0]}}).kernel("poly").settings(X_TRAIN)
    assert len(both) == 12 and [s["gamma"] for s in both[:2]] == [0.5, 1.0]


def test_the_c_pseudo_parameter_sets_the_c_grid():
    config = build_config(kernels=["rbf"], grids={"rbf": {"C": [1, 10]}})
    assert config.kernel("rbf").C == (1.0, 10.0)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"kernels": ["rntk", "gp"]}, ["unknown kernel 'gp'", "linear", "ntk", "poly", "rbf", "rntk"]),
        ({"grids": {"rntk": {"sigma_q": [1]}}}, ["unknown parameter 'sigma_q'", "sigma_u", "n_layers", "C"]),
        ({"grids": {"rntk": {"sigma_u": [-1]}}}, ["sigma_u", "[0, inf]", "-1"]),
        ({"grids": {"rntk": {"activation": ["tanh"]}}}, ["activation", "'relu'", "'erf'"]),
        ({"grids": {"rbf": {"C": [0]}}}, ["C values must be positive"]),
        ({"grids": {"ntk": {"n_layers": [1], "fixed_layers": [3]}}}, ["no valid setting", "fixed_layers"]),
        ({"grids": {"svm": {"C": [1]}}}, ["unknown kernel 'svm'"]),
        ({"cv_folds": 1}, ["--cv-folds (cv_folds) must be a whole number >= 2"]),
        ({"svc_max_iter": 0}, ["svc_max_iter", "svc_max_iter) must be a whole number >= 1", "0"]),
        ({"file": {"svc_max_iter": 2.5}}, ["svc_max_iter", "2.5"]),
        ({"backend": "ray"}, ["unknown backend 'ray'", "loky", "dask"]),
        ({"scheduler": "tcp://127.0.0.1:8786"}, ["--scheduler needs --backend dask"]),
        ({"suite_datasets": ["a", "b"], "datasets": ["c"]}, ["'c' not in suite", "a, b"]),
    ],
)
def test_invalid_configurations_name_the_problem_and_the_choices(kwargs, words):
    with pytest.raises(InvalidParameterError) as info:
        build_config(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_grid_options_parse_names_and_typed_values():
    assert parse_grid_options(["rntk.sigma_u=0.25,0.5", "rntk.n_layers=1", "rbf.C=1e2", "rbf.gamma=none"]) == {
        "rntk": {"sigma_u": [0.25, 0.5], "n_layers": [1]},
        "rbf": {"C": [100.0], "gamma": [None]},
    }
    assert parse_value("relu") == "relu" and parse_value("3") == 3 and isinstance(parse_value("3"), int)
    for bad in ["rntk=1", "rntk.sigma_u", ".sigma_u=1", "rntk.sigma_u="]:
        with pytest.raises(InvalidParameterError, match="KERNEL.PARAM=V1,V2"):
            parse_grid_options([bad])


def test_toml_file_and_command_line_merge_with_the_command_line_winning(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(
        'suite = "demo"\ndatasets = ["iris"]\nkernels = ["rntk", "rbf"]\ncv_folds = 3\n'
        "[grid.rntk]\nsigma_u = [0.5, 1.0]\nn_layers = [1]\nC = [1.0]\n"
    )
    file = load_toml(path)
    config = build_config(file=file, suite_datasets=["iris", "wine"], grids={"rntk": {"sigma_u": [0.25]}})
    assert config.datasets == ("iris",) and config.cv_folds == 3 and config.kernel_names == ("rntk", "rbf")
    assert dict(config.kernel("rntk").overrides) == {"sigma_u": (0.25,), "n_layers": (1,)}
    assert config.kernel("rntk").C == (1.0,)
    assert build_config(file=file, kernels=["ntk"]).kernel_names == ("ntk",)


def test_toml_errors_are_clear(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        load_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("suite = \n")
    with pytest.raises(RunError, match="not valid TOML"):
        load_toml(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("kernal = 'rntk'\n")
    with pytest.raises(InvalidParameterError, match="unknown key.*'kernal'.*valid keys: suite"):
        load_toml(unknown)


def test_config_hash_follows_result_fields_only():
    base = build_config(kernels=["rbf"], suite_datasets=["a", "b"])
    assert base.config_hash == build_config(kernels=["rbf"], suite_datasets=["a", "b"], n_jobs=7).config_hash
    assert base.datasets == ("a", "b")
    changed = build_config(kernels=["rbf"], suite_datasets=["a", "b"], grids={"rbf": {"C": [1.0]}})
    assert changed.config_hash != base.config_hash
    lines = config_differences(base.result_fields(), changed.result_fields())
    assert lines == [("kernels.rbf.C: [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0] in the run folder, "
                     "[1.0] now")]


def test_the_svm_iteration_cap_is_hashed_only_when_it_differs_from_the_default():
    base = build_config(kernels=["rbf"], suite_datasets=["a"])
    assert "svc_max_iter" not in base.result_fields()  # hashes of run folders made before the option hold
    assert build_config(kernels=["rbf"], suite_datasets=["a"], svc_max_iter=10_000_000).config_hash == base.config_hash
    capped = build_config(kernels=["rbf"], suite_datasets=["a"], file={"svc_max_iter": 1e6})
    assert capped.svc_max_iter == 1_000_000 and isinstance(capped.svc_max_iter, int)
    assert capped.config_hash != base.config_hash
    assert config_differences(base.result_fields(), capped.result_fields()) == [
        'svc_max_iter: "<absent>" in the run folder, 1000000 now']
