"""The registered kernels as estimators that scikit-learn and sktime accept.

:class:`KernelSVC`
    A scikit-learn classifier on any registered kernel that prepares its input and Gram blocks exactly as the
    benchmark runner does, so its test accuracy on a train/test split equals the runner's; works with
    ``clone``, pipelines and ``GridSearchCV`` over kernel parameters and C (Gram matrices cached across clones).
:func:`sklearn_kernel`
    A registered kernel as a callable for ``SVC(kernel=...)`` and ``pairwise_kernels(metric=...)`` (no input
    scaling, no self-pair terms: not the runner's numbers).
:class:`RNTKClassifier`
    The RNTK SVM as an sktime classifier (multivariate, unequal length); imported on first use, since importing
    sktime takes about a second.

>>> from rntk_bench.estimators import KernelSVC
>>> KernelSVC(kernel="rntk", C=10.0, sigma_u=0.5).fit(X_train, y_train).score(X_test, y_test)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from rntk_bench.estimators.gram_cache import cache_info, clear_gram_cache
from rntk_bench.estimators.pairwise import SklearnKernel, sklearn_kernel
from rntk_bench.estimators.svc import KernelSVC

__all__ = ["KernelSVC", "RNTKClassifier", "SklearnKernel", "cache_info", "clear_gram_cache", "sklearn_kernel"]


def __getattr__(name: str) -> Any:
    if name == "RNTKClassifier":
        from rntk_bench.estimators.sktime_classifier import RNTKClassifier

        return RNTKClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
