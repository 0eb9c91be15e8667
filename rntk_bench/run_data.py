"""Where a run's workers get their datasets: by name from the data layer, or from objects already in memory.

Workers receive dataset *names*, never arrays: each worker loads (and caches) the datasets it needs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rntk_bench.data import dataset_available, dataset_source, load_dataset
from rntk_bench.data.dataset import Dataset
from rntk_bench.errors import RunError

__all__ = ["DataLayerLoader", "Loader", "PreloadedDatasets", "bundled_datasets", "is_available"]

Loader = Callable[[str], Dataset]
"""``loader(name) -> Dataset``; it may also have ``available(name) -> bool``."""


@functools.lru_cache(maxsize=4)
def _load_cached(name: str, data_dir: str | None, embedded: bool) -> Dataset:
    return load_dataset(name, data_dir, embedded=embedded)


@dataclass(frozen=True)
class DataLayerLoader:
    """Loads datasets by name through :func:`rntk_bench.data.load_dataset` (cached per worker process).

    Attributes
    ----------
    data_dir : str or None
    embedded : bool
        Whether copies bundled with sktime and scikit-learn may serve a dataset the data folder lacks.
    """

    data_dir: str | None = None
    embedded: bool = True

    def __call__(self, name: str) -> Dataset:
        return _load_cached(name, self.data_dir, self.embedded)

    def available(self, name: str) -> bool:
        return bool(dataset_available(name, self.data_dir, embedded=self.embedded))


def bundled_datasets(names: Sequence[str], data_dir: str | None) -> list[str]:
    """The datasets of ``names`` that the data folder lacks and a bundled copy would serve.

    Raises
    ------
    DatasetError
        A broken dataset folder or an unusable data folder (:func:`rntk_bench.data.dataset_source`).
    """
    bundled = []
    for name in names:
        source = dataset_source(name, data_dir)
        if source is not None and source.kind == "embedded":
            bundled.append(name)
    return bundled


@dataclass(frozen=True)
class PreloadedDatasets:
    """Serves :class:`Dataset` objects already in memory (your own data, or synthetic data in tests).

    The objects travel to the workers with every task: keep them small, or use the data layer.
    """

    datasets: Mapping[str, Dataset]

    def __call__(self, name: str) -> Dataset:
        try:
            return self.datasets[name]
        except KeyError:
            raise RunError(f"no dataset {name!r}; available: {', '.join(self.datasets)}") from None

    def available(self, name: str) -> bool:
        return name in self.datasets


def is_available(loader: Loader, name: str) -> bool:
    """Whether ``loader`` can serve ``name`` (True for a loader that cannot tell)."""
    check = getattr(loader, "available", None)
    return True if check is None else bool(check(name))
