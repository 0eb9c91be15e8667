"""Protocols: how a dataset is split, scored and selected, as registered objects (like kernels).

Two are registered in :data:`PROTOCOLS`; a dataset names its default (``Dataset.default_protocol``) and a run
may choose another (``RunConfig.protocol``, part of the run's hash). The protocol is decided once, when the
tasks are planned, and each task carries its name.

``train-cv-test`` (:mod:`~rntk_bench.protocols.train_cv_test`; UCR and embedded data)
    Selection by stratified k-fold cross-validation on the training split; only training rows influence it.
``arora-uci`` (:mod:`~rntk_bench.protocols.arora_uci`; the Fernandez-Delgado UCI collection)
    Arora et al.'s: selection on the two halves of ``conxuntos.dat``, report on the four
    ``conxuntos_kfold.dat`` folds. The halves hold every test row of the folds, so test rows influence the
    selection; it is the published protocol, kept for the reproduction.
``inner-uci`` (:mod:`~rntk_bench.protocols.inner_uci`; chosen with ``--protocol inner-uci``)
    The same four folds, each selecting on a stratified half of its own training rows: test rows never
    influence the selection.

Both select with :func:`~rntk_bench.protocols.selection.first_best`: settings in grid order as the outer
loop, C in grid order as the inner loop, a later candidate replaces the best only with a strictly greater
score, so ties keep the first in grid order.

Every protocol computes a kernel setting's Gram blocks once and slices them for every fold and every C.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rntk_bench.approximation import feature_solver, parse_approx
from rntk_bench.data.dataset import Dataset
from rntk_bench.errors import InvalidInputError, InvalidParameterError
from rntk_bench.kernels import Kernel
from rntk_bench.protocols.arora_uci import ARORA_FOLDS, score_arora_uci
from rntk_bench.protocols.base import GramFunction, Protocol
from rntk_bench.protocols.fitting import exact_rows, feature_rows
from rntk_bench.protocols.inner_uci import score_inner_uci
from rntk_bench.protocols.inputs import (
    SERIES_SCALINGS,
    KernelInput,
    check_magnitudes,
    kernel_input,
    resample_linear,
    take,
)
from rntk_bench.protocols.selection import Candidate, first_best
from rntk_bench.protocols.svm import SVC_MAX_ITER, stratified_folds, svc_accuracy
from rntk_bench.protocols.train_cv_test import score_train_cv_test

__all__ = [
    "ARORA_FOLDS",
    "PROTOCOLS",
    "SERIES_SCALINGS",
    "SVC_MAX_ITER",
    "Candidate",
    "KernelInput",
    "Protocol",
    "check_magnitudes",
    "evaluate_setting",
    "first_best",
    "get_protocol",
    "grid_training_input",
    "kernel_input",
    "protocol_input",
    "resample_linear",
    "score_arora_uci",
    "score_train_cv_test",
    "stratified_folds",
    "svc_accuracy",
    "take",
]


def _train_cv_test(gram, X, dataset, C_grid, *, cv_folds, seed, max_iter):
    return score_train_cv_test(gram, X, dataset, C_grid, cv_folds, seed, max_iter)


def _arora_uci(gram, X, dataset, C_grid, *, cv_folds, seed, max_iter):
    return score_arora_uci(gram, X, dataset, C_grid, max_iter)


def _inner_uci(gram, X, dataset, C_grid, *, cv_folds, seed, max_iter):
    return score_inner_uci(gram, X, dataset, C_grid, seed, max_iter)


PROTOCOLS: dict[str, Protocol] = {
    "train-cv-test": Protocol(
        name="train-cv-test",
        description="stratified k-fold CV on the training split selects (training rows only), the test "
                    "split reports",
        splits=("train-test",),
        training_split="train-test",
        score=_train_cv_test,
        select=first_best,
    ),
    "arora-uci": Protocol(
        name="arora-uci",
        description="Arora et al.: the conxuntos.dat halves select (they hold the folds' test rows), the "
                    "four conxuntos_kfold.dat folds report",
        splits=("validation", *ARORA_FOLDS),
        training_split="validation",
        score=_arora_uci,
        select=first_best,
    ),
    "inner-uci": Protocol(
        name="inner-uci",
        description="the four conxuntos_kfold.dat folds, each selecting on a stratified half of its own "
                    "training rows (test rows never influence selection)",
        splits=ARORA_FOLDS,
        training_split="validation",
        score=_inner_uci,
        select=first_best,
    ),
}


def get_protocol(name: str) -> Protocol:
    """The registered protocol ``name``.

    Raises
    ------
    InvalidParameterError
        Unknown name; the message lists the registered ones.
    """
    try:
        return PROTOCOLS[name]
    except (KeyError, TypeError):
        raise InvalidParameterError(f"unknown protocol {name!r}; protocols: {', '.join(PROTOCOLS)}") from None


def protocol_input(dataset: Dataset, input_kind: str, protocol: Protocol,
                   series_scaling: str = "train-norm") -> KernelInput:
    """:func:`kernel_input` with the series scaling taken from ``protocol``'s training rows."""
    return kernel_input(dataset, input_kind, protocol.training_rows(dataset), series_scaling)


def grid_training_input(dataset: Dataset, X, protocol: Protocol) -> Any:
    """The training rows of ``X`` that data-scaled grids (rbf's gamma) may look at."""
    return take(X, protocol.training_rows(dataset))


def _finite(gram: np.ndarray, kernel: Kernel, block: str) -> np.ndarray:
    if not np.all(np.isfinite(gram)):
        raise InvalidInputError(f"kernel {kernel.id} gave NaN or inf values in the {block} Gram block")
    return gram


def evaluate_setting(
    kernel: Kernel,
    dataset: Dataset,
    C_grid: Sequence[float],
    *,
    protocol: str | Protocol | None = None,
    cv_folds: int = 5,
    seed: int = 0,
    gram: GramFunction | None = None,
    svc_max_iter: int = SVC_MAX_ITER,
    series_scaling: str = "train-norm",
    approx: str = "",
) -> dict[str, Any]:
    """Score one kernel setting on ``dataset`` under ``protocol``, for every value of ``C_grid``.

    Parameters
    ----------
    kernel : Kernel
        A registered kernel with bound parameters.
    dataset : Dataset
    C_grid : sequence of float
    protocol : str or Protocol, optional
        Default: the dataset's (``dataset.default_protocol``).
    cv_folds, seed : int
        Cross-validation of the ``train-cv-test`` protocol.
    gram : callable, optional
        ``gram(block, A, B)`` computing the kernel's Gram blocks (e.g. through an on-disk cache); default
        calls ``kernel`` directly.
    svc_max_iter : int
        Iteration cap of every SVM fit (:data:`SVC_MAX_ITER` by default).
    series_scaling : {"train-norm", "none"}
        How sequence kernels read series (:data:`~rntk_bench.protocols.inputs.SERIES_SCALINGS`).
    approx : str
        ``--approx`` text (:mod:`rntk_bench.approximation`): fit linear SVMs on approximate kernel features
        whose map is fitted on the protocol's training rows (seeded with ``seed``) instead of exact Gram
        blocks; ``""``: exact.

    Returns
    -------
    dict
        The protocol's scores (:data:`~rntk_bench.protocols.base.ScoreFunction`) plus ``protocol`` and
        ``notes`` (what was done to the input).
    """
    if not isinstance(protocol, Protocol):
        protocol = get_protocol(protocol or dataset.default_protocol)
    protocol.check(dataset)
    prepared = protocol_input(dataset, kernel.spec.input_kind, protocol, series_scaling)

    def direct(block: str, A, B) -> np.ndarray:
        return _finite(np.asarray(kernel(A, B), dtype=np.float64), kernel, block)

    compute = direct if gram is None else (lambda block, A, B: _finite(gram(block, A, B), kernel, block))
    represent = exact_rows(compute)
    if approx:
        spec = parse_approx(approx)
        feature_map = spec.fit_map(kernel, take(prepared.X, protocol.training_rows(dataset)), seed)
        represent = feature_rows(feature_map, feature_solver)
    scores = protocol.score(represent, prepared.X, dataset, C_grid, cv_folds=cv_folds, seed=seed,
                            max_iter=svc_max_iter)
    scores["protocol"] = protocol.name
    scores["n_classes"] = len(dataset.class_labels)
    scores["notes"] = list(prepared.notes)
    if scores["svc_unconverged"]:
        scores["notes"].append(f"{scores['svc_unconverged']} of {scores['svc_fits']} SVM fits stopped at "
                               f"max_iter={svc_max_iter} before converging")
    return scores
