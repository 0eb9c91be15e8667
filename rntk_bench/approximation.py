"""The ``approx`` run option: which datasets of a run use approximate kernel features, and which ones.

A run option ``--approx METHOD[:KEY=VALUE,...]`` (``approx = "..."`` in a run file):

``nystroem:m=2000``
    Nystroem features of the run's kernel (any registered kernel) from ``m`` landmark rows
    (:mod:`rntk_bench.approx`), keys ``m``, ``sampling`` (the approx package's choices) and ``above``.
``ntk-features:m=4000``
    Random features of the fully connected NTK (Zandieh et al., NeurIPS 2021), keys ``m`` and ``above``;
    for the ``ntk`` kernel only (other kernels of the run stay exact).

``above=N`` (default 0): only datasets whose protocol uses more than N rows are approximated, the others
stay exact; this is how a run keeps exact Gram matrices where they fit a memory budget
(:func:`rows_within_budget`). The canonical text of the option is part of the run's hash, and every task
approximated records it (``approx`` in task files and results tables).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rntk_bench.errors import InvalidParameterError

__all__ = ["APPROX_METHODS", "ApproxSpec", "feature_solver", "parse_approx", "rows_within_budget"]

APPROX_METHODS = ("nystroem", "ntk-features")
_KEYS = {"nystroem": ("m", "sampling", "above"), "ntk-features": ("m", "above")}
_DEFAULT_M = {"nystroem": 1000, "ntk-features": 4000}


@dataclass(frozen=True)
class ApproxSpec:
    """A parsed ``--approx`` option.

    Attributes
    ----------
    method : {"nystroem", "ntk-features"}
    m : int
        Landmarks (Nystroem) or random features (NTK).
    sampling : str or None
        Landmark sampling of Nystroem (None: the approx package's default).
    above : int
        Approximate only datasets whose protocol uses more than this many rows.
    """

    method: str
    m: int
    sampling: str | None = None
    above: int = 0

    @property
    def label(self) -> str:
        """Canonical text: ``nystroem:m=2000,sampling=leverage,above=10000`` (defaults left out)."""
        keys = [f"m={self.m}"]
        if self.sampling is not None:
            keys.append(f"sampling={self.sampling}")
        if self.above:
            keys.append(f"above={self.above}")
        return f"{self.method}:{','.join(keys)}"

    def fit_map(self, kernel, X_training, seed: int):
        """The feature map of a bound ``kernel`` fitted on the rows ``X_training``.

        Parameters
        ----------
        kernel : Kernel
            A registered kernel with bound parameters.
        X_training : ndarray of shape (n, ...) or list of n series
            The rows landmarks may be drawn from: the protocol's training rows (the rows data-scaled grids see).
        seed : int
            Landmark choice or random draws.

        Returns
        -------
        fitted map with ``transform(X) -> ndarray (n_rows, n_features)``

        Raises
        ------
        InvalidParameterError
            ``m`` larger than the training rows (Nystroem), or a method that does not apply to ``kernel``.
        """
        from rntk_bench.approx import DEFAULT_SAMPLING, NTKRandomFeatures, NystroemMap

        if self.method == "ntk-features":
            if kernel.name != "ntk":
                raise InvalidParameterError(f"--approx {self.label}: random features exist for the ntk kernel "
                                            f"only, not {kernel.name!r}; use nystroem for it")
            return NTKRandomFeatures.from_kernel(kernel, n_features=self.m, seed=seed).fit(X_training)
        return NystroemMap(kernel, self.m, sampling=self.sampling or DEFAULT_SAMPLING, seed=seed).fit(X_training)

    def applies(self, kernel: str, n_rows: int) -> bool:
        """Whether a task of ``kernel`` on a dataset whose protocol uses ``n_rows`` rows is approximated."""
        if self.method == "ntk-features" and kernel != "ntk":
            return False
        return n_rows > self.above


def _whole(text: str, key: str, spec: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise InvalidParameterError(f"--approx {spec!r}: {key} must be a whole number >= {low}; got {text!r}")
    return value


def parse_approx(text: str | None) -> ApproxSpec | None:
    """Parse ``METHOD[:KEY=VALUE,...]``; ``None``, ``""`` and ``"none"`` mean exact Gram matrices.

    Raises
    ------
    InvalidParameterError
        Unknown method or key (the message lists the choices), a malformed or out-of-range value.
    """
    if text is None or not str(text).strip() or str(text).strip() == "none":
        return None
    if not isinstance(text, str):
        raise InvalidParameterError(f"approx must be a string like 'nystroem:m=2000'; got {text!r}")
    method, _, rest = text.strip().partition(":")
    if method not in APPROX_METHODS:
        raise InvalidParameterError(f"--approx {text!r}: unknown method {method!r}; methods: "
                                    f"{', '.join(APPROX_METHODS)} (e.g. nystroem:m=2000)")
    values: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not value.strip():
            raise InvalidParameterError(f"--approx {text!r}: expected KEY=VALUE, got {item!r}")
        key = key.strip()
        if key not in _KEYS[method]:
            raise InvalidParameterError(f"--approx {text!r}: unknown key {key!r} for {method}; keys: "
                                        f"{', '.join(_KEYS[method])}")
        if key in values:
            raise InvalidParameterError(f"--approx {text!r}: {key} given twice")
        values[key] = value.strip()
    m = _whole(values["m"], "m", text, 1) if "m" in values else _DEFAULT_M[method]
    above = _whole(values["above"], "above", text, 0) if "above" in values else 0
    sampling = values.get("sampling")
    if sampling is not None:
        from rntk_bench.approx import DEFAULT_SAMPLING, SAMPLINGS

        choices = (*SAMPLINGS, DEFAULT_SAMPLING)
        if sampling not in choices:
            raise InvalidParameterError(f"--approx {text!r}: unknown sampling {sampling!r}; choices: "
                                        f"{', '.join(choices)}")
        if sampling == DEFAULT_SAMPLING:  # the same run as leaving it out: one canonical text, one hash
            sampling = None
    return ApproxSpec(method, m, sampling, above)


def rows_within_budget(budget_bytes: float) -> int:
    """The most rows whose exact float64 Gram matrix fits ``budget_bytes`` (8 n^2 bytes): the ``above``
    value that keeps every Gram matrix within that budget."""
    return int(math.isqrt(int(budget_bytes // 8)))


FEATURE_SOLVER_ITER = 1000
"""Iteration cap of the primal Newton solver on features (LinearSVC's default); fits that reach it are counted."""


def feature_solver(F_fit, y_fit, F_scored, C: float, counts: dict[str, int] | None = None, max_iter: int = 0):
    """Labels a linear SVM on features predicts for ``F_scored`` after a fit on ``F_fit``, with penalty ``C``.

    The model is :class:`rntk_bench.approx.FeatureSVC` with the squared hinge loss (the L2-loss SVM, solved in
    the primal by Newton steps) and one-vs-one classes like libsvm: SVC's own hinge loss, solved by
    LinearSVC's dual coordinate descent, stops at its iteration limit from C = 100 on and takes minutes per
    fit on 10,000 rows, where the primal solver converges in seconds whatever C (measurements in
    docs/approximation.md, section 3). So an approximate task differs from an exact one twice: in the kernel
    (features) and in the loss. ``max_iter`` (libsvm's cap) does not apply; the primal solver stops after
    :data:`FEATURE_SOLVER_ITER` iterations and such fits are counted as unconverged."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from rntk_bench.approx import FeatureSVC

    classes = np.unique(y_fit)
    if len(classes) == 1:  # as protocols.svm.svc_predict: a one-class fold predicts its class, no fit
        return np.full(len(F_scored), classes[0])
    model = FeatureSVC(C=C, loss="squared_hinge", max_iter=FEATURE_SOLVER_ITER)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(F_fit, y_fit)
    if counts is not None:
        counts["fits"] = counts.get("fits", 0) + 1
        counts["unconverged"] = counts.get("unconverged", 0) + int(
            any(issubclass(w.category, ConvergenceWarning) for w in caught))
    return model.predict(F_scored)
