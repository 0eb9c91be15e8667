"""A linear SVM on approximate kernel features, set up to behave like ``SVC(kernel="precomputed", C=C)`` on
the Gram matrix ``F F^T`` of the same features.

Two differences between scikit-learn's LinearSVC and SVC, and what is done about them:

* multi-class: SVC (libsvm) trains one classifier per pair of classes and votes; LinearSVC alone trains one
  per class against the rest. :class:`FeatureSVC` wraps LinearSVC in ``OneVsOneClassifier`` by default, so
  the same binary problems are solved (ties between votes may still break differently);
* the intercept: SVC's is not regularised, LinearSVC's is the weight of a constant extra feature of value
  ``intercept_scaling``, so its penalty is ``b^2 / intercept_scaling^2``. A larger scaling makes that penalty
  smaller, but the extra feature then dominates every pair's inner product, and LinearSVC's dual coordinate
  descent converges ever more slowly (and stops at ``max_iter`` with a different solution). The default,
  ``"auto"``, is the largest row norm of the training features: the constant feature is as large as the
  largest feature row. docs/approximation.md has the measurements behind this choice.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.multiclass import OneVsOneClassifier
from sklearn.svm import LinearSVC

from rntk_bench.approx._common import NotFittedError
from rntk_bench.errors import InvalidParameterError

LOSSES = ("hinge", "squared_hinge")
"""``hinge``: SVC's loss (LinearSVC's dual coordinate descent, slow and often stopped at ``max_iter`` for C >=
100); ``squared_hinge``: the L2-loss SVM (LinearSVC's primal Newton solver), a different loss that converges in
seconds whatever C (docs/approximation.md, section 3)."""


class FeatureSVC(ClassifierMixin, BaseEstimator):
    """Hinge-loss linear SVM on feature rows, the counterpart of ``SVC(kernel="precomputed", C=C)``.

    Parameters
    ----------
    C : float
        The SVM's C, as for SVC.
    loss : {"hinge", "squared_hinge"}
        See :data:`LOSSES`.
    intercept_scaling : float or "auto"
        Value of the constant feature that carries the intercept; ``"auto"``: the largest row norm of the
        training features (1 if all rows are zero).
    multiclass : {"ovo", "ovr"}
        ``"ovo"`` (one classifier per pair of classes, as SVC) or ``"ovr"`` (LinearSVC's own scheme).
    tol : float
        Stopping tolerance of LinearSVC.
    max_iter : int
        Iteration limit of LinearSVC's dual coordinate descent.
    random_state : int
        LinearSVC's shuffling seed.

    Attributes
    ----------
    estimator_ : fitted LinearSVC or OneVsOneClassifier
    intercept_scaling_ : float
        The scaling used.
    classes_ : ndarray of shape (n_classes,)
    """

    def __init__(self, C: float = 1.0, *, loss: str = "hinge", intercept_scaling: float | str = "auto",
                 multiclass: str = "ovo", tol: float = 1e-4, max_iter: int = 100_000, random_state: int = 0):
        self.C = C
        self.loss = loss
        self.intercept_scaling = intercept_scaling
        self.multiclass = multiclass
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, F, y) -> FeatureSVC:
        """Train on features ``F`` of shape (n, m) and labels ``y`` of shape (n,).

        Raises
        ------
        InvalidParameterError
            A non-positive C or intercept scaling, or an unknown multi-class scheme.
        """
        if not (isinstance(self.C, (int, float)) and self.C > 0):
            raise InvalidParameterError(f"C must be a positive number; got {self.C!r}")
        if self.loss not in LOSSES:
            raise InvalidParameterError(f"unknown loss {self.loss!r}; choices: {', '.join(LOSSES)}")
        if self.multiclass not in ("ovo", "ovr"):
            raise InvalidParameterError(f"unknown multiclass {self.multiclass!r}; choices: ovo, ovr")
        F = np.asarray(F, dtype=np.float64)
        if self.intercept_scaling == "auto":
            scaling = float(np.sqrt(np.einsum("ij,ij->i", F, F).max(initial=0.0))) or 1.0
        elif isinstance(self.intercept_scaling, (int, float)) and self.intercept_scaling > 0:
            scaling = float(self.intercept_scaling)
        else:
            raise InvalidParameterError(
                f"intercept_scaling must be a positive number or 'auto'; got {self.intercept_scaling!r}")
        # hinge: the dual coordinate descent (the only liblinear solver of SVC's loss); squared hinge: the primal
        # trust-region Newton solver, whose cost does not grow with C
        base = LinearSVC(C=self.C, loss=self.loss, dual=self.loss == "hinge", intercept_scaling=scaling,
                         tol=self.tol, max_iter=self.max_iter, random_state=self.random_state)
        binary = len(np.unique(y)) <= 2
        self.estimator_ = (clone(base) if binary or self.multiclass == "ovr" else OneVsOneClassifier(base)).fit(F, y)
        self.intercept_scaling_ = scaling
        self.classes_ = self.estimator_.classes_
        return self

    def decision_function(self, F) -> np.ndarray:
        """Decision values, as the wrapped estimator gives them: (n,) for two classes, else (n, n_classes)."""
        return self._fitted().decision_function(np.asarray(F, dtype=np.float64))

    def predict(self, F) -> np.ndarray:
        """Predicted labels of feature rows ``F`` of shape (n, m)."""
        return self._fitted().predict(np.asarray(F, dtype=np.float64))

    def _fitted(self):
        if not hasattr(self, "estimator_"):
            raise NotFittedError("this FeatureSVC is not fitted yet: call fit(F, y) before predicting")
        return self.estimator_
