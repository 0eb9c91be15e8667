"""``KernelSVC``: a scikit-learn classifier that scores a registered kernel exactly as the benchmark does."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.svm import SVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d, validate_data

from rntk_bench.errors import InvalidInputError, InvalidParameterError
from rntk_bench.estimators.gram_cache import cached_gram, input_hash
from rntk_bench.estimators.prepare import (
    divide,
    is_series_list,
    largest_norm,
    resample_series,
    series_lengths,
    validated_series,
)
from rntk_bench.kernels import KERNELS, Kernel, get_kernel
from rntk_bench.protocols import SVC_MAX_ITER

__all__ = ["KernelSVC"]

_OWN_PARAMS = ("kernel", "C", "max_iter")


class KernelSVC(ClassifierMixin, BaseEstimator):
    """Support vector classifier on a registered kernel, with the benchmark runner's input preparation.

    Fit and predict do what the runner does for a train/test split (:func:`rntk_bench.protocols.evaluate_setting`
    under ``train-cv-test``): the same input scaling, the same Gram blocks (the training Gram matrix is
    ``k(X_train)``, *with* the terms of a sample paired with itself such as the RNTK's ``sigma_h`` initial
    state; the test block is ``k(X_test, X_train)``), and ``SVC(kernel="precomputed", C=C, max_iter=max_iter)``.
    On the same split and setting its test accuracy equals the runner's. Plain ``SVC(kernel=k)`` does not: it
    calls ``k(X, X)``, which has no self-pair terms, and skips the scaling.

    Input preparation, decided at fit from the training rows and reused at predict:

    * Sequence kernels (``rntk``): every series is divided by the largest norm of a training series
      (:attr:`input_scale_`). The runner does the same for time series. For tabular rows (UCI data) the runner
      divides by the largest row norm over *all* rows of the dataset, test rows included; an estimator sees only
      the training rows at fit, so on UCI data its scale, and possibly its accuracy, differs from the runner's.
    * Vector kernels (``ntk``, ``rbf``, ``poly``, ``linear``): vectors as they are, 3-D input flattened channel
      by channel. A list of series of unequal lengths is resampled linearly to the longest *training* length
      (:attr:`series_length_`), and series given as a list at predict are resampled to that length. The runner
      resamples every series of a dataset to the longest length of the whole dataset; the two agree when the
      longest series is a training series.

    Cross-validation inside a search (``GridSearchCV``) scales each fold's training part by its own largest norm,
    whereas the runner scales once by the whole training split, so cross-validation scores differ slightly from
    the runner's ``selection_accuracy``; the test accuracy of a refit on the training split is the same.

    Gram matrices are cached across instances (:mod:`rntk_bench.estimators.gram_cache`), so a search over C
    alone computes each fold's blocks once, not once per C.

    Parameters
    ----------
    kernel : str, default="rntk"
        A key of :data:`rntk_bench.kernels.KERNELS`.
    C : float, default=1.0
        SVM regularisation parameter, > 0.
    max_iter : int, default=SVC_MAX_ITER
        libsvm's iteration cap (the runner's default :data:`rntk_bench.protocols.SVC_MAX_ITER`); -1: no cap.
    **kernel_params
        Parameters of the kernel (e.g. ``sigma_u=0.5, n_layers=2`` for the RNTK); omitted ones take the
        registry's defaults. They are validated at fit by the registry, whose
        :class:`~rntk_bench.errors.InvalidParameterError` names the parameter and its valid range.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, as given to fit (strings stay strings).
    kernel_id_ : str
        Canonical id of the fitted kernel setting, as in the runner's result tables.
    kernel_params_ : dict
        Every kernel parameter, defaults filled in.
    X_fit_ : ndarray or list of ndarray
        The prepared training input, as the kernel reads it.
    input_scale_ : float or None
        Sequence kernels: the largest norm of a training series, which every series is divided by (0: no
        scaling). None for vector kernels.
    series_length_ : int or None
        Vector kernels: the training length (the longest, for series of unequal lengths) that series given as a
        list are resampled to. None for sequence kernels.
    n_features_in_ : int
        Vector kernels only: number of features (after flattening) seen at fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Vector kernels fit on a DataFrame with string column names only.
    svc_ : sklearn.svm.SVC
        The SVM fit on the precomputed training Gram matrix.
    n_iter_ : ndarray of shape (n_classes * (n_classes - 1) // 2,)
        libsvm's iterations per one-vs-one model (``svc_.n_iter_``); a value equal to ``max_iter`` means that
        model stopped at the cap before converging.

    Notes
    -----
    scikit-learn reads an estimator's parameters from the signature of ``__init__``, which cannot list the
    parameters of every registered kernel. :meth:`get_params` therefore returns ``kernel``, ``C``,
    ``max_iter`` and the kernel parameters that were given explicitly (by name, e.g. ``sigma_u``), and
    :meth:`set_params` accepts any parameter name of the (new) kernel, so ``clone``, pipelines and
    ``GridSearchCV(KernelSVC(kernel="rntk"), {"sigma_u": [0.25, 0.5], "C": [1, 100]})`` work. Kernel
    parameters set on an instance stay when ``kernel`` changes; to search over kernels, start from an
    instance without kernel parameters.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> search = GridSearchCV(KernelSVC(kernel="rntk"), {"sigma_u": [0.5, 1.0], "C": [1.0, 100.0]}, cv=3)
    >>> search.fit(X_train, y_train).score(X_test, y_test)  # doctest: +SKIP
    """

    def __init__(self, kernel: str = "rntk", C: float = 1.0, max_iter: int = SVC_MAX_ITER, **kernel_params: Any):
        self.kernel = kernel
        self.C = C
        self.max_iter = max_iter
        # Kept as given: scikit-learn's clone checks that get_params returns the very objects passed in.
        self._kernel_params = kernel_params

    # -- parameters ----------------------------------------------------------------------------------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """``kernel``, ``C``, ``max_iter`` and the kernel parameters given explicitly.

        Parameters
        ----------
        deep : bool
            Ignored: a KernelSVC holds no nested estimator.

        Returns
        -------
        dict
        """
        return {"kernel": self.kernel, "C": self.C, "max_iter": self.max_iter, **self._kernel_params}

    def set_params(self, **params: Any) -> KernelSVC:
        """Set ``kernel``, ``C``, ``max_iter`` or kernel parameters by name.

        Values are checked at fit; names are checked here when the kernel (the new one, if ``kernel`` is
        among ``params``) is registered.

        Returns
        -------
        KernelSVC
            ``self``.

        Raises
        ------
        InvalidParameterError
            A name that is neither one of KernelSVC's nor a parameter of the registered kernel.
        """
        kernel = params.get("kernel", self.kernel)
        kernel_params = {name: value for name, value in params.items() if name not in _OWN_PARAMS}
        if isinstance(kernel, str) and kernel in KERNELS:
            unknown = sorted(set(kernel_params) - set(KERNELS[kernel].params))
            if unknown:
                valid = sorted([*_OWN_PARAMS, *KERNELS[kernel].params])
                raise InvalidParameterError(
                    f"unknown parameter(s) {', '.join(map(repr, unknown))} for KernelSVC with kernel {kernel!r}; "
                    f"valid parameters: {', '.join(valid)}"
                )
        for name in _OWN_PARAMS:
            if name in params:
                setattr(self, name, params[name])
        # A new dictionary, never an update in place: clones made before share the old one.
        self._kernel_params = {**self._kernel_params, **kernel_params}
        return self

    def _checked_kernel(self) -> Kernel:
        """The registered kernel with validated parameters, after checking C and max_iter."""
        C, max_iter = self.C, self.max_iter
        if isinstance(C, bool) or not isinstance(C, (int, float, np.number)) or not (math.isfinite(C) and C > 0):
            raise InvalidParameterError(f"KernelSVC parameter 'C' must be a finite number > 0; got {C!r}")
        if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or not (
                max_iter == -1 or max_iter >= 1):
            raise InvalidParameterError(f"KernelSVC parameter 'max_iter' must be an integer >= 1, or -1 (no cap); "
                                        f"got {max_iter!r}")
        registered = isinstance(self.kernel, str) and self.kernel in KERNELS
        clash = sorted(set(_OWN_PARAMS) & set(KERNELS[self.kernel].params)) if registered else []
        if clash:
            raise InvalidParameterError(
                f"kernel {self.kernel!r} has parameter(s) {', '.join(map(repr, clash))}, which KernelSVC uses "
                "for itself; call the kernel through rntk_bench.kernels.get_kernel instead"
            )
        return get_kernel(self.kernel, **self._kernel_params)

    # -- input -----------------------------------------------------------------------------------------------

    def _prepare(self, X: Any, kernel: Kernel, fit: bool) -> Any:
        """The input ``kernel`` reads for ``X``; at fit, also records the scale or length used."""
        if kernel.spec.input_kind == "sequence":
            series = validated_series(X)
            if fit:
                self.input_scale_ = largest_norm(series)
                self.series_length_ = None
                # left by an earlier fit with a vector kernel: a sequence kernel has no fixed feature count
                for name in ("n_features_in_", "feature_names_in_"):
                    self.__dict__.pop(name, None)
            return divide(series, self.input_scale_)
        if is_series_list(X):
            target = max(series_lengths(X)) if fit else self.series_length_
            X = resample_series(X, target)
        if isinstance(X, np.ndarray) and X.ndim == 3:
            length = X.shape[2]
            X = X.reshape(len(X), -1)
        else:
            length = None
        X = validate_data(self, X, reset=fit, dtype=np.float64)
        if fit:
            self.input_scale_ = None
            self.series_length_ = length if length is not None else X.shape[1]
        return X

    def _check_y(self, X: Any, y: Any) -> np.ndarray:
        if y is None:
            # scikit-learn's wording, which its estimator checks look for
            raise InvalidInputError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        return y

    # -- fit and predict -------------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> KernelSVC:
        """Fit the SVM on the Gram matrix ``k(X)`` of the prepared training input.

        Parameters
        ----------
        X : ndarray of shape (n_cases, n_features), (n_cases, n_timepoints) or (n_cases, n_channels,
                n_timepoints), or list of ndarray of shape (n_channels, T_i) or (T_i,)
            Training input in the kernel input convention (lists of unequal lengths for sequence kernels, or
            resampled for vector kernels).
        y : array-like of shape (n_cases,)
            Class labels (any type np.unique sorts: ints, strings).

        Returns
        -------
        KernelSVC
            ``self``, fitted.

        Raises
        ------
        InvalidParameterError
            Unknown kernel or parameter, a value out of range (from the registry), or an invalid C / max_iter.
        InvalidInputError
            Invalid input (shape, NaN or inf, values too large), or y missing.
        """
        kernel = self._checked_kernel()
        y = self._check_y(X, y)
        X_fit = self._prepare(X, kernel, fit=True)
        fit_hash = input_hash(X_fit)
        gram = cached_gram(kernel, X_fit, fit_hash)
        self.svc_ = SVC(kernel="precomputed", C=self.C, max_iter=self.max_iter).fit(gram, y)
        self.classes_ = self.svc_.classes_
        self.n_iter_ = self.svc_.n_iter_
        self.kernel_id_ = kernel.id
        self.kernel_params_ = dict(kernel.params)
        self.X_fit_ = X_fit
        self._fit_hash = fit_hash
        self._fitted_kernel = kernel.name
        return self

    def _test_gram(self, X: Any) -> np.ndarray:
        """``k(X_prepared, X_fit_)``: the block the SVM predicts from, shape (n_cases, n_train)."""
        check_is_fitted(self)
        kernel = get_kernel(self._fitted_kernel, **self.kernel_params_)
        X_test = self._prepare(X, kernel, fit=False)
        # k(X_test, X_fit_) itself, not the transpose of k(X_fit_, X_test): the runner's block, to the last bit
        return cached_gram(kernel, X_test, input_hash(X_test), self.X_fit_, self._fit_hash)

    def predict(self, X: Any) -> np.ndarray:
        """Class labels of ``X``.

        Parameters
        ----------
        X : same kinds as for :meth:`fit`

        Returns
        -------
        ndarray of shape (n_cases,)
            Labels from :attr:`classes_`.
        """
        gram = self._test_gram(X)  # first: it raises NotFittedError on an unfitted estimator
        return self.svc_.predict(gram)

    def decision_function(self, X: Any) -> np.ndarray:
        """The SVM's decision values for ``X`` (one-vs-rest shape, as ``SVC``).

        Returns
        -------
        ndarray of shape (n_cases,) for two classes, else (n_cases, n_classes)
        """
        gram = self._test_gram(X)
        return self.svc_.decision_function(gram)
