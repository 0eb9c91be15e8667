"""A registered kernel as the callable that ``sklearn.svm.SVC(kernel=...)`` and ``pairwise_kernels`` expect."""

from __future__ import annotations

from typing import Any

import numpy as np

from rntk_bench.kernels import Kernel, get_kernel

__all__ = ["SklearnKernel", "sklearn_kernel"]


class SklearnKernel:
    """A registered kernel called the way scikit-learn calls a callable kernel.

    * ``k(X, Y)`` with 2-D (or 3-D, or list) input: the cross Gram matrix ``kernel(X, Y)``, shape
      (n_x, n_y); this is how ``SVC(kernel=k)`` calls it, with ``k(X_train, X_train)`` at fit.
    * ``k(x, y)`` with two 1-D rows: the scalar ``kernel(x[None], y[None])[0, 0]``; this is how
      ``pairwise_kernels(X, Y, metric=k)`` calls it, once per pair of rows (slow for the RNTK: prefer calling
      ``k(X, Y)`` directly for a whole matrix).
    * ``k(X)``: ``k(X, X)``, scikit-learn's meaning of a kernel with one argument.

    Differences from the benchmark runner, which :class:`~rntk_bench.estimators.KernelSVC` does not have:

    * No input scaling: the runner divides the RNTK's series by the largest norm of a training series.
    * No self-pair terms: ``SVC`` computes its training Gram matrix as ``k(X, X)``, treating the two arguments
      as distinct samples, so the RNTK's ``sigma_h`` initial-state term of a sample paired with itself is
      absent from the diagonal (the runner's training block is ``kernel(X_train)``, with it). With
      ``sigma_h = 0`` (the default) the two agree.

    Use ``KernelSVC`` to reproduce the benchmark's numbers. Instances are hashable and compare equal when they
    wrap the same kernel setting, and pickle by name and parameters.

    Parameters
    ----------
    kernel : Kernel
        A registered kernel with bound parameters (:func:`rntk_bench.kernels.get_kernel`).
    """

    def __init__(self, kernel: Kernel):
        self.kernel = kernel

    def __call__(self, X: Any, Y: Any = None) -> np.ndarray | float:
        """The kernel matrix of ``X`` with ``Y`` (with ``X`` when ``Y`` is None), or a scalar for two rows.

        Parameters
        ----------
        X, Y : ndarray of shape (n_x, n_features) and (n_y, n_features), or 1-D rows of shape (n_features,)

        Returns
        -------
        ndarray of shape (n_x, n_y), or float for two 1-D rows

        Raises
        ------
        InvalidInputError
            Invalid input (from the kernel's input checks).
        """
        if Y is not None and np.ndim(X) == 1 and np.ndim(Y) == 1:
            row_x = np.asarray(X, dtype=np.float64)[None, :]
            row_y = np.asarray(Y, dtype=np.float64)[None, :]
            return float(self.kernel(row_x, row_y)[0, 0])
        return self.kernel(X, X if Y is None else Y)

    def __hash__(self) -> int:
        # scikit-learn looks a callable metric up in a dict; the canonical id names the kernel and parameters
        return hash(("sklearn_kernel", self.kernel.id))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SklearnKernel) and other.kernel.spec is self.kernel.spec
                and dict(other.kernel.params) == dict(self.kernel.params))

    def __reduce__(self):
        # The registry's specs hold lambdas, which pickle cannot store; name and parameters rebuild the kernel.
        return (_rebuild, (self.kernel.name, dict(self.kernel.params)))

    def __repr__(self) -> str:
        return f"sklearn_kernel({self.kernel.id})"


def _rebuild(name: str, params: dict[str, Any]) -> SklearnKernel:
    return sklearn_kernel(name, **params)


def sklearn_kernel(name: str, **params: Any) -> SklearnKernel:
    """The registered kernel ``name`` as a callable for ``SVC(kernel=...)`` and ``pairwise_kernels``.

    Parameters
    ----------
    name : str
        A key of :data:`rntk_bench.kernels.KERNELS`.
    **params
        Kernel parameters; omitted ones take their defaults.

    Returns
    -------
    SklearnKernel
        See its docstring for how it differs from the runner (no scaling, no self-pair terms).

    Raises
    ------
    InvalidParameterError
        Unknown kernel or parameter name, or a value out of range (from the registry).

    Examples
    --------
    >>> from sklearn.svm import SVC
    >>> SVC(kernel=sklearn_kernel("rntk", sigma_u=0.5)).fit(X, y)  # doctest: +SKIP
    """
    return SklearnKernel(get_kernel(name, **params))
