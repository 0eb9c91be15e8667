"""Shared test fixtures: where the read-only benchmark data lives, a seeded random generator, and a kernel
registry restored after each test that registers kernels or loads plugins."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20210503)


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The read-only UCR and UCI data beside the repository (``../shared/datasets``)."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"benchmark data not found at {SHARED_DATASETS}")
    return SHARED_DATASETS


PLUGIN_MODULE_PREFIXES = ("rntk_bench_plugin_", "mykernels")
"""Modules that tests' plugins import (file plugins under the first prefix, test packages under the others)."""


@pytest.fixture
def kernel_registry():
    """Kernels and plugins registered during a test are gone after it, with the modules they imported."""
    from rntk_bench.kernels import KERNELS
    from rntk_bench.kernels import plugins as plugin_module

    kernels, loaded, modules = dict(KERNELS), dict(plugin_module._LOADED), set(sys.modules)
    yield
    KERNELS.clear()
    KERNELS.update(kernels)
    plugin_module._LOADED.clear()
    plugin_module._LOADED.update(loaded)
    for name in set(sys.modules) - modules:
        if name.startswith(PLUGIN_MODULE_PREFIXES):
            del sys.modules[name]
