"""Datasets: one :class:`Dataset` object per dataset, whatever collection it comes from.

>>> from rntk_bench.data import load_dataset, get_suite
>>> ds = load_dataset("GunPoint")            # UCR archive in the data directory, else sktime's copy
>>> [entry.name for entry in get_suite("demo").entries][:3]
['ArrowHead', 'GunPoint', 'ItalyPowerDemand']
"""

from rntk_bench.data.catalog import dataset_available, load_dataset
from rntk_bench.data.dataset import Dataset, DatasetInfo, Split
from rntk_bench.data.locations import resolve_data_dir, user_cache_dir
from rntk_bench.data.suites import SUITES, Suite, SuiteEntry, get_suite

__all__ = [
    "SUITES",
    "Dataset",
    "DatasetInfo",
    "Split",
    "Suite",
    "SuiteEntry",
    "dataset_available",
    "get_suite",
    "load_dataset",
    "resolve_data_dir",
    "user_cache_dir",
]
