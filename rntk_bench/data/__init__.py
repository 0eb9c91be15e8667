"""Datasets: one :class:`Dataset` object per dataset, whatever collection it comes from.

>>> from rntk_bench.data import load_dataset, get_suite
>>> ds = load_dataset("GunPoint")            # UCR archive in the data directory, else sktime's copy
>>> [entry.name for entry in get_suite("demo").entries][:3]
['ArrowHead', 'GunPoint', 'ItalyPowerDemand']

:func:`dataset_source` says where a dataset would be read from (the data directory or a bundled copy);
``embedded=False`` on it, :func:`load_dataset` and :func:`dataset_available` reads the data directory alone.
"""

from rntk_bench.data.catalog import DatasetSource, dataset_available, dataset_source, load_dataset
from rntk_bench.data.dataset import Dataset, DatasetInfo, Split
from rntk_bench.data.locations import check_data_dir, resolve_data_dir, user_cache_dir
from rntk_bench.data.names import suggest
from rntk_bench.data.suites import SUITES, Suite, SuiteEntry, get_suite

__all__ = [
    "SUITES",
    "Dataset",
    "DatasetInfo",
    "DatasetSource",
    "Split",
    "Suite",
    "SuiteEntry",
    "check_data_dir",
    "dataset_available",
    "dataset_source",
    "get_suite",
    "load_dataset",
    "resolve_data_dir",
    "suggest",
    "user_cache_dir",
]
