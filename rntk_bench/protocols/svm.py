"""The SVM every protocol fits on precomputed Gram blocks, and the cross-validation folds it is scored on."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.svm import SVC

from rntk_bench.errors import InvalidInputError

__all__ = ["SVC_MAX_ITER", "stratified_folds", "svc_accuracy", "svc_predict"]

SVC_MAX_ITER = 10_000_000
"""Default iteration cap of every SVM fit; a run may set another (``svc_max_iter``). libsvm converges in well
under a million iterations on almost every fit, but a few (a linear kernel on raw features with C = 1e4, e.g.
Arora et al.'s depth-0 NTK on ``fertility``) run for hundreds of millions. The cap bounds such a fit: about a
second on 100 rows, but several minutes on 2500 (an iteration costs O(n_train)), which makes the depth-0
settings of Arora et al.'s grid the slowest part of the uci90 runs. Every fit that reaches the cap is counted
in the task result (``svc_unconverged``) and named in its notes."""


def svc_predict(
    gram_train: np.ndarray,
    y_train: np.ndarray,
    gram_test: np.ndarray,
    C: float,
    counts: dict[str, int] | None = None,
    max_iter: int = SVC_MAX_ITER,
) -> np.ndarray:
    """Labels that ``SVC(kernel="precomputed", C=C)`` fit on ``gram_train`` predicts for ``gram_test``.

    Parameters
    ----------
    gram_train : ndarray of shape (n_train, n_train)
    y_train : ndarray of shape (n_train,)
    gram_test : ndarray of shape (n_test, n_train)
    C : float
    counts : dict, optional
        ``counts["fits"]`` and ``counts["unconverged"]`` (fits stopped at ``max_iter``) are incremented.
    max_iter : int
        libsvm's iteration cap (:data:`SVC_MAX_ITER` by default).

    Returns
    -------
    ndarray of shape (n_test,)
    """
    classes = np.unique(y_train)
    if len(classes) == 1:  # a fold with one class: the SVM would refuse; its prediction is that class
        return np.full(len(gram_test), classes[0])
    model = SVC(kernel="precomputed", C=C, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)  # counted below instead
        model.fit(gram_train, y_train)
    if counts is not None:
        counts["fits"] = counts.get("fits", 0) + 1
        counts["unconverged"] = counts.get("unconverged", 0) + int(np.max(model.n_iter_) >= max_iter)
    return model.predict(gram_test)


def svc_accuracy(
    gram_train: np.ndarray,
    y_train: np.ndarray,
    gram_test: np.ndarray,
    y_test: np.ndarray,
    C: float,
    counts: dict[str, int] | None = None,
    max_iter: int = SVC_MAX_ITER,
) -> float:
    """Accuracy of ``SVC(kernel="precomputed", C=C)`` fit on ``gram_train`` and scored on ``gram_test``.

    Parameters
    ----------
    gram_train : ndarray of shape (n_train, n_train)
    y_train : ndarray of shape (n_train,)
    gram_test : ndarray of shape (n_test, n_train)
    y_test : ndarray of shape (n_test,)
    C : float
    counts : dict, optional
        ``counts["fits"]`` and ``counts["unconverged"]`` (fits stopped at ``max_iter``) are incremented.
    max_iter : int
        libsvm's iteration cap (:data:`SVC_MAX_ITER` by default).
    """
    predicted = svc_predict(gram_train, y_train, gram_test, C, counts, max_iter)
    return float(np.mean(predicted == y_test))


def stratified_folds(y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold splits of ``y``: k = ``n_folds`` reduced to the smallest class size, at least 2.

    When every class has a single training sample (UCR's Fungi), no split can keep a class on both sides;
    the folds are then plain shuffled k-fold splits, every validation sample belongs to a class its fold never
    saw and every setting scores 0. The results tables leave such a dataset out of rankings
    (status ``no-selection``) rather than let grid order choose.
    """
    if len(y) < 2:
        raise InvalidInputError(f"cross-validation needs at least 2 training samples; got {len(y)}")
    counts = np.bincount(np.asarray(y))
    if counts.max() < 2:
        splitter = KFold(n_splits=min(n_folds, len(y)), shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(y))))
    smallest = int(counts[counts > 0].min())
    k = max(2, min(n_folds, smallest, len(y)))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        return list(splitter.split(np.zeros(len(y)), y))
