"""``RNTKClassifier``: the RNTK with an SVM as an sktime time series classifier (a :class:`KernelSVC` inside)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sktime.classification.base import BaseClassifier

from rntk_bench.estimators.svc import KernelSVC
from rntk_bench.kernels import KERNELS
from rntk_bench.protocols import SVC_MAX_ITER

__all__ = ["RNTKClassifier"]

# The defaults live in the kernel function's signature (the registry reads them from there); the signature
# below restates the names only, and a test checks that they are the registry's.
_RNTK = KERNELS["rntk"].defaults


class RNTKClassifier(BaseClassifier):
    """Recurrent neural tangent kernel SVM for sktime: multivariate series of unequal lengths.

    A :class:`~rntk_bench.estimators.KernelSVC` with ``kernel="rntk"`` does the work, so fit and predict
    prepare the series as the benchmark runner does (divided by the largest norm of a training series; the
    training Gram matrix with the ``sigma_h`` self-pair term) and the test accuracy on a train/test split equals
    the runner's.

    sktime hands the series over as a numpy3D array ``(n_cases, n_channels, T)`` when they come as one, else
    converted to a ``df-list`` (one ``(T_i, n_channels)`` DataFrame per case), which is passed on as a list of
    ``(n_channels, T_i)`` arrays; the RNTK right-aligns series of unequal length (their last states meet).

    Parameters
    ----------
    n_layers, sigma_w, sigma_u, sigma_b, sigma_h, sigma_v, activation, output, direction, fixed_layers
        The RNTK's parameters, with the registry's defaults (see ``rntk-bench kernels`` and
        :func:`rntk_bench.kernels.rntk.rntk`); validated at fit.
    C : float, default=1.0
        SVM regularisation parameter, > 0.
    max_iter : int, default=SVC_MAX_ITER
        libsvm's iteration cap; -1: no cap.

    Attributes
    ----------
    estimator_ : KernelSVC
        The fitted classifier.

    Examples
    --------
    >>> from sktime.datasets import load_unit_test
    >>> from rntk_bench.estimators import RNTKClassifier
    >>> X_train, y_train = load_unit_test(split="train", return_X_y=True)
    >>> X_test, y_test = load_unit_test(split="test", return_X_y=True)
    >>> classifier = RNTKClassifier(sigma_u=0.5, C=10.0).fit(X_train, y_train)
    >>> y_pred = classifier.predict(X_test)
    """

    _tags = {
        "authors": ["rntk-bench"],
        # sktime converts any other mtype to the first of these, which must hold unequal lengths; numpy3D input
        # is passed on unconverted
        "X_inner_mtype": ["df-list", "numpy3D"],
        "y_inner_mtype": "numpy1D",
        "capability:multivariate": True,
        "capability:unequal_length": True,
        "capability:missing_values": False,
        "capability:predict_proba": False,
        "classifier_type": "kernel",
    }

    def __init__(
        self,
        n_layers: int = _RNTK["n_layers"],
        sigma_w: float = _RNTK["sigma_w"],
        sigma_u: float = _RNTK["sigma_u"],
        sigma_b: float = _RNTK["sigma_b"],
        sigma_h: float = _RNTK["sigma_h"],
        sigma_v: float = _RNTK["sigma_v"],
        activation: str = _RNTK["activation"],
        output: str = _RNTK["output"],
        direction: str = _RNTK["direction"],
        fixed_layers: int = _RNTK["fixed_layers"],
        C: float = 1.0,
        max_iter: int = SVC_MAX_ITER,
    ):
        self.n_layers = n_layers
        self.sigma_w = sigma_w
        self.sigma_u = sigma_u
        self.sigma_b = sigma_b
        self.sigma_h = sigma_h
        self.sigma_v = sigma_v
        self.activation = activation
        self.output = output
        self.direction = direction
        self.fixed_layers = fixed_layers
        self.C = C
        self.max_iter = max_iter
        super().__init__()

    def _kernel_svc(self) -> KernelSVC:
        params = {name: getattr(self, name) for name in KERNELS["rntk"].params}
        return KernelSVC(kernel="rntk", C=self.C, max_iter=self.max_iter, **params)

    @staticmethod
    def _series(X: Any) -> np.ndarray | list[np.ndarray]:
        """The kernel input convention: numpy3D as it is, a df-list as ``(n_channels, T_i)`` arrays."""
        if isinstance(X, np.ndarray):
            return X
        return [frame.to_numpy(dtype=np.float64).T for frame in X]

    def _fit(self, X: Any, y: np.ndarray) -> RNTKClassifier:
        """Fit the inner :class:`KernelSVC` on the training series.

        Parameters
        ----------
        X : ndarray of shape (n_cases, n_channels, T), or list of DataFrame of shape (T_i, n_channels)
        y : ndarray of shape (n_cases,)

        Returns
        -------
        RNTKClassifier
        """
        self.estimator_ = self._kernel_svc().fit(self._series(X), y)
        return self

    def _predict(self, X: Any) -> np.ndarray:
        """Class labels of ``X`` (same kinds as for :meth:`_fit`), shape (n_cases,)."""
        return self.estimator_.predict(self._series(X))

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Small settings for sktime's estimator checks: one layer, last or mean output.

        Returns
        -------
        list of dict
        """
        return [
            {"n_layers": 1, "sigma_u": 0.5},
            {"n_layers": 1, "sigma_u": 1.0, "sigma_h": 0.5, "output": "mean", "C": 10.0},
        ]
