"""Approximate kernel features, for training sets too large for an exact Gram matrix.

>>> from rntk_bench.kernels import get_kernel
>>> from rntk_bench.approx import NystroemMap, NTKRandomFeatures, FeatureSVC
>>> nys = NystroemMap(get_kernel("rntk", n_layers=2), m=1000, seed=0).fit(X_train)   # sampling="auto"
>>> F_train, F_test = nys.transform(X_train), nys.transform(X_test)      # (n, m') float64 each
>>> clf = FeatureSVC(C=1.0).fit(F_train, y_train)                        # ~ SVC(kernel="precomputed")
>>> rf = NTKRandomFeatures.from_kernel(get_kernel("ntk", n_layers=3), n_features=4096, seed=0).fit(X_train)

``F_train @ F_test.T`` approximates ``kernel(X_train, X_test)``. docs/approximation.md gives the methods, the
measured errors and the choice of the default sampling.
"""

from rntk_bench.approx._common import NotFittedError
from rntk_bench.approx.landmarks import SAMPLINGS, leverage_scores, resolve_sampling, select_landmarks
from rntk_bench.approx.measure import gram_errors, nystroem_error_table
from rntk_bench.approx.ntk_features import NTKRandomFeatures
from rntk_bench.approx.nystroem import DEFAULT_RTOL, DEFAULT_SAMPLING, NystroemMap
from rntk_bench.approx.svm import FeatureSVC

__all__ = [
    "DEFAULT_RTOL",
    "DEFAULT_SAMPLING",
    "SAMPLINGS",
    "FeatureSVC",
    "NTKRandomFeatures",
    "NotFittedError",
    "NystroemMap",
    "gram_errors",
    "leverage_scores",
    "nystroem_error_table",
    "resolve_sampling",
    "select_landmarks",
]
