"""Shared test fixtures: where the read-only benchmark data lives, and a seeded random generator."""

from __future__ import annotations

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
