"""Datasets: one :class:`Dataset` object per dataset, whatever collection it comes from."""

from rntk_bench.data.dataset import Dataset, DatasetInfo, Split

__all__ = ["Dataset", "DatasetInfo", "Split"]
