"""How each collection is split, scored and selected; test data never influences selection.

Two protocols, chosen by the dataset's collection:

``train-cv-test`` (UCR and embedded data)
    For every (kernel setting, C): the mean accuracy of a stratified k-fold cross-validation on the training
    split only (k = ``cv_folds``, reduced to the size of the smallest training class, at least 2; folds
    shuffled with a fixed seed), and the test accuracy of an SVM refit on the whole training split. The
    selection reads the cross-validation accuracy only.
``arora-uci`` (the Fernandez-Delgado UCI collection, exactly as Arora et al., ICLR 2020)
    For every (kernel setting, C): the accuracy of an SVM fit on the first half of ``conxuntos.dat`` (split
    ``"validation"``) on its second half. For the first C of best validation accuracy of each setting (the
    only C of that setting the selection can pick): the test accuracy on each of the four
    ``conxuntos_kfold.dat`` splits (``"fold-0"`` .. ``"fold-3"``). The selection reads the validation
    accuracy; the reported accuracy is the mean over the four folds of the selected configuration.

Selection (:func:`select`) is the same for both: settings in grid order as the outer loop, C in grid order
as the inner loop, and a later candidate replaces the best only with a strictly greater score (Arora et al.'s
``>``), so ties keep the first in grid order.

Every function here computes a kernel setting's Gram blocks once and slices them for every fold and every C:
``K(train, train)`` and ``K(test, train)`` for ``train-cv-test``; for ``arora-uci`` the Gram matrix of the
rows that any split uses (all of them), sliced per split.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.svm import SVC

from rntk_bench.data.dataset import Dataset
from rntk_bench.data.embedded import SKLEARN_SETS
from rntk_bench.errors import DatasetError, InvalidInputError
from rntk_bench.kernels import Kernel

PROTOCOLS = ("train-cv-test", "arora-uci")
ARORA_FOLDS = tuple(f"fold-{index}" for index in range(4))
TABULAR_EMBEDDED = frozenset(SKLEARN_SETS)
"""Embedded datasets made of feature vectors (scikit-learn's), not time series."""

SVC_MAX_ITER = 10_000_000
"""Default iteration cap of every SVM fit; a run may set another (``svc_max_iter``). libsvm converges in well
under a million iterations on almost every fit, but a few (a linear kernel on raw features with C = 1e4, e.g.
Arora et al.'s depth-0 NTK on ``fertility``) run for hundreds of millions. The cap bounds such a fit: about a
second on 100 rows, but several minutes on 2500 (an iteration costs O(n_train)), which makes the depth-0
settings of Arora et al.'s grid the slowest part of the uci90 runs. Every fit that reaches the cap is counted
in the task result (``svc_unconverged``) and named in its notes."""

GramFunction = Callable[[str, Any, Any], np.ndarray]
"""``gram(block, A, B)``: the kernel's Gram matrix of ``A`` with itself (``B is None``) or with ``B``."""


def protocol_for(dataset: Dataset) -> str:
    """Name of the protocol that scores ``dataset``: ``"arora-uci"`` for UCI, else ``"train-cv-test"``."""
    return "arora-uci" if dataset.collection == "uci" else "train-cv-test"


def is_tabular(dataset: Dataset) -> bool:
    """Whether the rows of ``dataset`` are feature vectors rather than time series."""
    return dataset.collection == "uci" or (dataset.collection == "embedded" and dataset.name in TABULAR_EMBEDDED)


# --------------------------------------------------------------------------------------- kernel inputs


def resample_linear(series: Sequence[np.ndarray], length: int) -> np.ndarray:
    """Resample every series linearly to ``length`` time points (first and last points kept).

    Parameters
    ----------
    series : sequence of ndarray of shape (n_channels, T_i) or (T_i,)
    length : int

    Returns
    -------
    ndarray of shape (n_cases, n_channels, length)
    """
    grid = np.linspace(0.0, 1.0, length)
    out = []
    for item in series:
        item = np.atleast_2d(np.asarray(item, dtype=np.float64))
        source = np.linspace(0.0, 1.0, item.shape[1]) if item.shape[1] > 1 else np.zeros(1)
        if item.shape[1] == 1:
            out.append(np.repeat(item, length, axis=1))
        else:
            out.append(np.stack([np.interp(grid, source, channel) for channel in item]))
    return np.stack(out)


@dataclass(frozen=True)
class KernelInput:
    """What a kernel of one input kind reads for a dataset, and what was done to get it.

    Attributes
    ----------
    X : ndarray or list of ndarray
        All rows of the dataset in the kernel's input convention.
    notes : tuple of str
        Transformations applied (recorded in the task results).
    """

    X: Any
    notes: tuple[str, ...] = ()


def kernel_input(dataset: Dataset, input_kind: str) -> KernelInput:
    """The input a kernel of ``input_kind`` (``"vector"`` or ``"sequence"``) reads for ``dataset``.

    * Vector kernels read feature vectors as they are, and series flattened; series of unequal lengths are
      first resampled linearly to the longest length.
    * The RNTK (a sequence kernel) reads series of any length, divided by the largest norm of a training
      series. Tabular rows are read as univariate sequences of their features (T = n_features, one channel),
      divided by the largest row norm over all rows of the dataset: the label-free scaling of Alemohammad et
      al.'s released UCI code (docs/kernels.md, 6).
    """
    X = dataset.X
    if input_kind == "vector":
        if isinstance(X, list):
            lengths = {np.shape(item)[-1] for item in X}
            if len(lengths) > 1:
                longest = max(lengths)
                return KernelInput(
                    resample_linear(X, longest),
                    (f"series of lengths {min(lengths)}..{longest} resampled linearly to length {longest}",),
                )
            return KernelInput(np.stack([np.atleast_2d(item) for item in X]))
        return KernelInput(X)
    if is_tabular(dataset):
        rows = np.asarray(X, dtype=np.float64)
        largest = float(np.max(np.linalg.norm(rows.reshape(len(rows), -1), axis=1))) if len(rows) else 0.0
        if largest > 0:
            rows = rows / largest
        return KernelInput(
            rows,
            (
                (f"rows read as univariate sequences of their {rows.shape[-1]} features, divided by the largest "
                f"row norm over all {len(rows)} rows ({largest:.6g}; label-free, as the released RNTK code)"),
            ),
        )
    # Series: the same scaling, from the training series only. Without it the RNTK's scale grows with T and
    # the grid's sigma_b and sigma_h vanish beside z-normalised inputs (row norms ~ sqrt(T)).
    train = np.asarray(dataset.split("train-test").train)
    largest = max(float(np.linalg.norm(X[i])) for i in train)
    if largest == 0:
        return KernelInput(X)
    scaled = [item / largest for item in X] if isinstance(X, list) else np.asarray(X) / largest
    return KernelInput(
        scaled,
        (f"series divided by the largest norm of a training series ({largest:.6g}; label-free, training "
         "series only)",),
    )


def take(X, indices: np.ndarray):
    """Rows ``indices`` of ``X``, a list staying a list."""
    if isinstance(X, list):
        return [X[i] for i in indices]
    return X[indices]


def grid_training_input(dataset: Dataset, X) -> Any:
    """The training rows that data-scaled grids (rbf's gamma) may look at: never test rows."""
    split = dataset.split("validation" if protocol_for(dataset) == "arora-uci" else "train-test")
    return take(X, np.asarray(split.train))


# ------------------------------------------------------------------------------------------- scoring


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
    classes = np.unique(y_train)
    if len(classes) == 1:  # a fold with one class: the SVM would refuse; its prediction is that class
        predicted = np.full(len(y_test), classes[0])
    else:
        model = SVC(kernel="precomputed", C=C, max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ConvergenceWarning)  # counted below instead
            model.fit(gram_train, y_train)
        predicted = model.predict(gram_test)
        if counts is not None:
            counts["fits"] = counts.get("fits", 0) + 1
            counts["unconverged"] = counts.get("unconverged", 0) + int(np.max(model.n_iter_) >= max_iter)
    return float(np.mean(predicted == y_test))


def stratified_folds(y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold splits of ``y``: k = ``n_folds`` reduced to the smallest class size, at least 2.

    When every class has a single training sample (UCR's Fungi), no split can keep a class on both sides;
    the folds are then plain shuffled k-fold splits, every validation sample belongs to a class its fold never
    saw, every setting scores 0, and the selection keeps the first setting of the grid.
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


def _finite(gram: np.ndarray, kernel: Kernel, block: str) -> np.ndarray:
    if not np.all(np.isfinite(gram)):
        raise InvalidInputError(f"kernel {kernel.id} gave NaN or inf values in the {block} Gram block")
    return gram


def score_train_cv_test(
    gram: GramFunction,
    X,
    dataset: Dataset,
    C_grid: Sequence[float],
    cv_folds: int,
    seed: int,
    max_iter: int = SVC_MAX_ITER,
) -> dict[str, Any]:
    """Scores of one kernel setting under ``train-cv-test``, for every C.

    Returns
    -------
    dict
        ``selection_accuracy`` (mean CV accuracy per C), ``splits`` (``{"train-test": {n_train, n_test,
        cv_folds, test_accuracy per C}}``), ``gram_seconds``, ``fit_seconds``.
    """
    split = dataset.split("train-test")
    train, test = np.asarray(split.train), np.asarray(split.test)
    y_train, y_test = dataset.y[train], dataset.y[test]
    start = time.perf_counter()
    X_train = take(X, train)
    K_train = gram("train-train", X_train, None)
    K_test = gram("test-train", take(X, test), X_train)
    gram_seconds = time.perf_counter() - start

    start = time.perf_counter()
    folds = stratified_folds(y_train, cv_folds, seed)
    counts: dict[str, int] = {}
    cv_accuracy, test_accuracy = [], []
    for C in C_grid:
        scores = [
            svc_accuracy(K_train[np.ix_(fit, fit)], y_train[fit], K_train[np.ix_(val, fit)], y_train[val], C, counts,
                         max_iter)
            for fit, val in folds
        ]
        cv_accuracy.append(float(np.mean(scores)))
        test_accuracy.append(svc_accuracy(K_train, y_train, K_test, y_test, C, counts, max_iter))
    return {
        "svc_fits": counts.get("fits", 0),
        "svc_unconverged": counts.get("unconverged", 0),
        "selection_accuracy": cv_accuracy,
        "splits": {
            "train-test": {
                "n_train": len(train),
                "n_test": len(test),
                "cv_folds": len(folds),
                "test_accuracy": test_accuracy,
            }
        },
        "gram_seconds": gram_seconds,
        "fit_seconds": time.perf_counter() - start,
    }


def score_arora_uci(
    gram: GramFunction, X, dataset: Dataset, C_grid: Sequence[float], max_iter: int = SVC_MAX_ITER
) -> dict[str, Any]:
    """Scores of one kernel setting under Arora et al.'s UCI protocol, for every C.

    The Gram matrix of every row used by a split is computed once and sliced; train and test rows of each
    split are disjoint (checked), so the slices equal ``K(train)`` and ``K(test, train)``.

    Returns
    -------
    dict
        ``selection_accuracy`` (validation accuracy per C), ``splits`` (``{"fold-k": {n_train, n_test,
        test_accuracy per C}}``, ``None`` except at the first C of best validation accuracy, the only one the
        selection can report), ``validation`` (sizes of the validation split), ``gram_seconds``,
        ``fit_seconds``.
    """
    names = ("validation",) + ARORA_FOLDS
    splits = {}
    for name in names:
        split = dataset.split(name)
        train, test = np.asarray(split.train), np.asarray(split.test)
        if np.intersect1d(train, test).size:
            raise DatasetError(f"dataset {dataset.name!r}: split {name!r} has rows in both train and test")
        splits[name] = (train, test)
    rows = np.unique(np.concatenate([np.concatenate(pair) for pair in splits.values()]))
    position = np.full(len(dataset.y), -1)
    position[rows] = np.arange(len(rows))

    start = time.perf_counter()
    K = gram("rows-rows", take(X, rows), None)
    gram_seconds = time.perf_counter() - start

    start = time.perf_counter()
    blocks = {}
    for name, (train, test) in splits.items():
        p_train, p_test = position[train], position[test]
        blocks[name] = (K[np.ix_(p_train, p_train)], K[np.ix_(p_test, p_train)], dataset.y[train], dataset.y[test])
    counts: dict[str, int] = {}
    validation = [svc_accuracy(*_order(blocks["validation"]), C, counts, max_iter) for C in C_grid]
    # The selection keeps the first strictly better candidate with C as the inner loop, so whichever setting
    # wins, it wins with its own first-best C: the folds of the other Cs can never be reported. Like Arora et
    # al.'s code, fit the folds for that C only (a fifth of the fits; the slowest are large-C fits).
    best = int(np.argmax(validation))
    folds = {
        name: {
            "n_train": len(splits[name][0]),
            "n_test": len(splits[name][1]),
            "test_accuracy": [
                svc_accuracy(*_order(blocks[name]), C, counts, max_iter) if index == best else None
                for index, C in enumerate(C_grid)
            ],
        }
        for name in ARORA_FOLDS
    }
    return {
        "svc_fits": counts.get("fits", 0),
        "svc_unconverged": counts.get("unconverged", 0),
        "selection_accuracy": validation,
        "splits": folds,
        "validation": {"n_train": len(splits["validation"][0]), "n_test": len(splits["validation"][1])},
        "gram_seconds": gram_seconds,
        "fit_seconds": time.perf_counter() - start,
    }


def _order(block):
    K_train, K_test, y_train, y_test = block
    return K_train, y_train, K_test, y_test


def evaluate_setting(
    kernel: Kernel,
    dataset: Dataset,
    C_grid: Sequence[float],
    *,
    cv_folds: int = 5,
    seed: int = 0,
    gram: GramFunction | None = None,
    svc_max_iter: int = SVC_MAX_ITER,
) -> dict[str, Any]:
    """Score one kernel setting on ``dataset`` with the dataset's protocol, for every value of ``C_grid``.

    Parameters
    ----------
    kernel : Kernel
        A registered kernel with bound parameters.
    dataset : Dataset
    C_grid : sequence of float
    cv_folds, seed : int
        Cross-validation of the ``train-cv-test`` protocol.
    gram : callable, optional
        ``gram(block, A, B)`` computing the kernel's Gram blocks (e.g. through an on-disk cache); default
        calls ``kernel`` directly.
    svc_max_iter : int
        Iteration cap of every SVM fit (:data:`SVC_MAX_ITER` by default).

    Returns
    -------
    dict
        The protocol's scores (see :func:`score_train_cv_test`, :func:`score_arora_uci`) plus ``protocol``
        and ``notes`` (what was done to the input).
    """
    prepared = kernel_input(dataset, kernel.spec.input_kind)

    def direct(block: str, A, B) -> np.ndarray:
        return _finite(np.asarray(kernel(A, B), dtype=np.float64), kernel, block)

    compute = direct if gram is None else (lambda block, A, B: _finite(gram(block, A, B), kernel, block))
    protocol = protocol_for(dataset)
    if protocol == "arora-uci":
        scores = score_arora_uci(compute, prepared.X, dataset, C_grid, svc_max_iter)
    else:
        scores = score_train_cv_test(compute, prepared.X, dataset, C_grid, cv_folds, seed, svc_max_iter)
    scores["protocol"] = protocol
    scores["notes"] = list(prepared.notes)
    if scores["svc_unconverged"]:
        scores["notes"].append(f"{scores['svc_unconverged']} of {scores['svc_fits']} SVM fits stopped at "
                               f"max_iter={svc_max_iter} before converging")
    return scores


@dataclass(frozen=True)
class Candidate:
    """One scored kernel setting: its place in the grid and its per-C scores."""

    setting_index: int
    kernel_id: str
    params: dict[str, Any]
    C_grid: tuple[float, ...]
    selection_accuracy: tuple[float, ...]


def select(candidates: Sequence[Candidate]) -> tuple[Candidate, int]:
    """The best (setting, C): settings outer loop, C inner loop, strictly greater replaces (first best kept).

    Returns
    -------
    candidate : Candidate
    c_index : int
        Position of the selected C in ``candidate.C_grid``.
    """
    best: tuple[Candidate, int] | None = None
    best_score = -np.inf
    for candidate in sorted(candidates, key=lambda c: c.setting_index):
        for c_index, score in enumerate(candidate.selection_accuracy):
            if score > best_score:
                best, best_score = (candidate, c_index), score
    if best is None:
        raise ValueError("select() needs at least one candidate with a score")
    return best


__all__ = [
    "ARORA_FOLDS",
    "PROTOCOLS",
    "Candidate",
    "KernelInput",
    "evaluate_setting",
    "grid_training_input",
    "is_tabular",
    "kernel_input",
    "protocol_for",
    "resample_linear",
    "score_arora_uci",
    "score_train_cv_test",
    "select",
    "stratified_folds",
    "svc_accuracy",
]
