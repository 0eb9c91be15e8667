"""The properties of the kernel contract, one check each, on small seeded inputs (used by
:func:`rntk_bench.testing.check_kernel`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from rntk_bench.kernels.registry import Kernel, KernelSpec

try:
    import cloudpickle
except ImportError:  # joblib before 1.5 bundles it instead of depending on it
    from joblib.externals import cloudpickle

__all__ = ["PROPERTIES", "PSD_TOL", "RTOL", "CheckResult", "Failed", "Subject", "run_check"]

RTOL = 1e-12
"""Tolerance of every comparison of two Gram matrices that should be equal (symmetry, ``K(X)`` with
``K(X, X)``, input conventions): the largest entry-wise difference may be ``RTOL`` times the largest magnitude
in the reference matrix. Equal computations in another summation order differ by a few units of float64
roundoff (about 1e-16 each); 1e-12 leaves room for that and nothing else."""

PSD_TOL = 1e-10
"""Tolerance of positive semi-definiteness: the smallest eigenvalue of ``K(X)`` may be as low as ``-PSD_TOL``
times the largest eigenvalue magnitude. Roundoff in a 7 x 7 Gram matrix and in ``eigvalsh`` perturbs the
eigenvalues by about 1e-15 of the largest; a kernel that is not PSD misses by orders of magnitude more."""

_N_X, _N_Y = 7, 4


class CheckResult(NamedTuple):
    """The verdict on one property of the kernel contract.

    Attributes
    ----------
    property : str
        One of :data:`PROPERTIES`.
    passed : bool
        Whether the kernel has it.
    detail : str
        One line: what was measured when it passed; the failing measurement and the worst entry when not.
    """

    property: str
    passed: bool
    detail: str


class Failed(Exception):
    """A property does not hold; the message is its detail line."""


class Subject:
    """The kernel under check with its inputs, and the matrices that more than one property reads."""

    def __init__(self, spec: KernelSpec, params: dict[str, Any], diagonal_params: tuple[str, ...],
                 input_error: type[BaseException]) -> None:
        self.spec = spec
        self.params = params
        self.kernel = Kernel(spec, params)
        self.diagonal_params = diagonal_params
        self.input_error = input_error
        self.X, self.Y = _inputs(spec.input_kind)
        self._memo: dict[str, Any] = {}

    def call(self, what: str, X, Y=None, kernel: Kernel | None = None) -> np.ndarray:
        """The bound kernel's matrix, the way the harness computes it; an exception fails the property."""
        try:
            return (kernel or self.kernel)(X, Y)
        except Exception as exc:  # a plugin may raise anything: it fails the property, not the check
            raise Failed(f"{what} raised {type(exc).__name__}: {exc}") from None

    def raw(self, what: str, X, Y=None) -> Any:
        """What the kernel function returns, unchecked by the :class:`Kernel` wrapper."""
        try:
            with np.errstate(all="ignore"):  # the result is judged below; NumPy's warnings would only repeat it
                return self.spec.function(X, Y, **self.params)
        except Exception as exc:
            raise Failed(f"{what} raised {type(exc).__name__}: {exc}") from None

    def memo(self, what: str, X, Y=None) -> np.ndarray:
        """:meth:`call`, computed once per ``what`` (a failure is remembered and fails each reader)."""
        if what not in self._memo:
            try:
                self._memo[what] = self.call(what, X, Y)
            except Failed as failed:
                self._memo[what] = str(failed)
        value = self._memo[what]
        if isinstance(value, str):
            raise Failed(value)
        return value

    @property
    def gram(self) -> np.ndarray:
        """``K(X)``, shape (7, 7)."""
        return self.memo("K(X)", self.X)

    @property
    def cross(self) -> np.ndarray:
        """``K(X, Y)``, shape (7, 4)."""
        return self.memo("K(X, Y)", self.X, self.Y)


def _inputs(input_kind: str, seed: int = 0) -> tuple[Any, Any]:
    """Seeded X (7 samples) and Y (4 samples): series of 2 channels and unequal lengths 1 to 6, or vectors of
    12 features."""
    rng = np.random.default_rng(seed)
    if input_kind == "sequence":
        # Lengths 1 (a single step) to 6 in no order, so a kernel that aligns, pads or sorts series shows it.
        X = [rng.normal(size=(2, length)) for length in (5, 3, 6, 5, 1, 4, 6)]
        Y = [rng.normal(size=(2, length)) for length in (2, 6, 5, 3)]
        return X, Y
    return rng.normal(size=(_N_X, 12)), rng.normal(size=(_N_Y, 12))


def _stack(X, Y):
    """X and Y as one input, X's samples first."""
    return list(X) + list(Y) if isinstance(X, list) else np.vstack([X, Y])


def _compare(actual: np.ndarray, reference: np.ndarray, what: str, mask: np.ndarray | None = None) -> float:
    """The largest difference of two matrices (where ``mask`` is true); fail naming ``what`` and the entry
    when it exceeds :data:`RTOL` times the largest magnitude of ``reference``."""
    difference = np.abs(actual - reference)
    if mask is not None:
        difference = np.where(mask, difference, 0.0)
    row, column = np.unravel_index(int(np.argmax(difference)), difference.shape)
    worst = float(difference[row, column])
    if worst > RTOL * float(np.max(np.abs(reference), initial=0.0)):
        raise Failed(f"{what} by {worst:.2g} at ({row}, {column})")
    return worst


def _check_result(s: Subject) -> str:
    for what, Y, shape in (("K(X)", None, (_N_X, _N_X)), ("K(X, Y)", s.Y, (_N_X, _N_Y))):
        gram = s.raw(what, s.X, Y)
        if not isinstance(gram, np.ndarray):
            raise Failed(f"{what} returned a {type(gram).__name__}, not a NumPy array")
        if gram.dtype != np.float64:
            raise Failed(f"{what} has dtype {gram.dtype}, not float64")
        if gram.shape != shape:
            raise Failed(f"{what} has shape {gram.shape}, not (n_x, n_y) = {shape}")
        bad = np.argwhere(~np.isfinite(gram))
        if bad.size:
            row, column = (int(i) for i in bad[0])
            raise Failed(f"{what} has the non-finite entry {gram[row, column]} at ({row}, {column}) for finite input")
    return f"K(X) and K(X, Y) are finite float64 arrays of shapes {(_N_X, _N_X)} and {(_N_X, _N_Y)}"


def _check_determinism(s: Subject) -> str:
    for what, first, Y in (("K(X)", s.gram, None), ("K(X, Y)", s.cross, s.Y)):
        again = s.call(what, s.X, Y)
        if not np.array_equal(again, first):
            difference = np.abs(again - first)
            row, column = np.unravel_index(int(np.argmax(difference)), difference.shape)
            raise Failed(f"two calls of {what} differ by {difference[row, column]:.2g} at ({row}, {column})")
    return "two calls of K(X), and of K(X, Y), give identical matrices"


def _check_symmetry(s: Subject) -> str:
    worst = _compare(s.gram, s.gram.T, "K(X) differs from its transpose")
    return f"largest |K(X) - K(X).T| = {worst:.2g}"


def _check_cross_gram(s: Subject) -> str:
    gram = s.gram
    cross_self = s.call("K(X, X)", s.X, s.X)
    off_diagonal = ~np.eye(_N_X, dtype=bool)
    _compare(gram, cross_self, "K(X) and K(X, X) differ off the diagonal", off_diagonal)
    active = [name for name in s.diagonal_params if s.params[name] not in (0, None)]
    if not active:
        _compare(gram, cross_self, "K(X) and K(X, X) differ on the diagonal (name a term that only a sample "
                 "paired with itself has in diagonal_params)")
        diagonal = "K(X) = K(X, X)"
    else:
        # Such a term is the covariance of a sample's own random draw with itself, a variance: it can only add.
        # Its size is the kernel's own business (sigma_h also enters the off-diagonal entries of the RNTK
        # through each series' variance, so K(X) with sigma_h=0 is no reference either).
        shortfall = np.diag(cross_self) - np.diag(gram)
        worst = int(np.argmax(shortfall))
        if shortfall[worst] > RTOL * float(np.max(np.abs(cross_self))):
            raise Failed(f"K(X) is below K(X, X) on the diagonal by {shortfall[worst]:.2g} at ({worst}, {worst}), "
                          f"though the terms of {', '.join(active)} only add to it")
        diagonal = f"K(X) = K(X, X) off the diagonal and >= on it ({', '.join(active)} > 0)"
    joint = s.call("K([X; Y])", _stack(s.X, s.Y))
    _compare(s.cross, joint[:_N_X, _N_X:], "K(X, Y) differs from the X-Y block of K([X; Y])")
    return f"{diagonal}; K(X, Y) = the X-Y block of K([X; Y])"


def _check_psd(s: Subject) -> str:
    gram = s.gram
    eigenvalues = np.linalg.eigvalsh((gram + gram.T) / 2)  # the symmetric part: symmetry is checked apart
    smallest, largest = float(eigenvalues[0]), float(np.max(np.abs(eigenvalues)))
    if smallest < -PSD_TOL * largest:
        raise Failed(f"the smallest eigenvalue of K(X) is {smallest:.3g}, below -{PSD_TOL:g} times the largest "
                      f"magnitude {largest:.3g}")
    return f"eigenvalues of K(X) from {smallest:.3g} to {float(eigenvalues[-1]):.3g}"


def _check_input_kinds(s: Subject) -> str:
    rng = np.random.default_rng(1)
    series = rng.normal(size=(4, 2, 6))
    if s.spec.input_kind == "sequence":
        univariate = series[:, 0, :]
        groups = [
            [("an (n, T) array", univariate), ("an (n, 1, T) array", univariate[:, None, :]),
             ("a list of (T,) series", list(univariate)), ("a list of (1, T) series", [u[None] for u in univariate])],
            [("an (n, 2, T) array", series), ("a list of (2, T) series", list(series))],
        ]
    else:
        groups = [[("an (n, c, T) array", series), ("its flattening (n, c * T)", series.reshape(4, -1)),
                   ("a list of (c, T) arrays", list(series))]]
    for group in groups:
        (reference_name, reference_input), *others = group
        reference = s.call(f"K(X) of {reference_name}", reference_input)
        for name, value in others:
            _compare(s.call(f"K(X) of {name}", value), reference,
                     f"K(X) of {name} differs from that of {reference_name}")
    return "; ".join(" = ".join(name for name, _ in group) for group in groups)


def _bad_inputs(s: Subject) -> list[tuple[str, Any, Any]]:
    """(description, X, Y) of inputs the kernel function must refuse."""
    X, Y = s.X, s.Y
    rng = np.random.default_rng(2)
    if isinstance(X, list):
        with_nan, with_inf = list(X), list(Y)
        with_nan[3] = with_nan[3].copy()
        with_nan[3][1, -1] = np.nan
        with_inf[2] = with_inf[2].copy()
        with_inf[2][0, 0] = np.inf
        wider_Y = [rng.normal(size=(3, 4)) for _ in range(_N_Y)]
        unequal = ("series of unequal channel counts", [rng.normal(size=(2, 5)), rng.normal(size=(3, 5))], None)
        width = "channels"
    else:
        with_nan, with_inf = X.copy(), Y.copy()
        with_nan[3, 2] = np.nan
        with_inf[2, 0] = np.inf
        wider_Y = rng.normal(size=(_N_Y, 13))
        unequal = ("series of unequal lengths", [rng.normal(size=(2, 5)), rng.normal(size=(2, 6))], None)
        width = "features"
    return [
        ("X with a NaN", with_nan, None),
        ("Y with an inf", X, with_inf),
        ("a 1-D array", rng.normal(size=_N_X), None),
        ("a 4-D array", rng.normal(size=(_N_X, 1, 2, 6)), None),
        (f"X and Y with different numbers of {width}", X, wider_Y),
        unequal,
    ]


def _check_bad_input(s: Subject) -> str:
    problems, raised = [], set()
    for description, X, Y in _bad_inputs(s):
        try:
            with np.errstate(all="ignore"):
                s.spec.function(X, Y, **s.params)
        except s.input_error as exc:
            raised.add(type(exc).__name__)
        except Exception as exc:
            problems.append(f"{description} raised {type(exc).__name__} ({exc}), not {s.input_error.__name__}")
        else:
            problems.append(f"{description} was accepted without an error")
    if problems:
        raise Failed("; ".join(problems))
    return f"NaN, inf, 1-D, 4-D, mismatched and unequal inputs refused with {', '.join(sorted(raised))}"


def _importable(module_name: str) -> bool:
    """Whether a fresh process, with this one's ``sys.path``, can import ``module_name``.

    The import system's finders are asked directly: ``importlib.util.find_spec`` would answer from
    ``sys.modules``, where a plugin loaded from a file path is, in this process only.
    """
    parent, _, _ = module_name.rpartition(".")
    path = None
    if parent:
        if not _importable(parent):
            return False
        path = getattr(sys.modules.get(parent), "__path__", None)
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            if find_spec(module_name, path) is not None:
                return True
        except (ImportError, ValueError, AttributeError, TypeError):
            continue
    return False


def _by_reference(function: Any) -> str | None:
    """The module cloudpickle names for ``function`` when it pickles it by reference; None when by value.

    cloudpickle stores a function by module and qualified name when that module is imported and not
    registered with ``cloudpickle.register_pickle_by_value``, and the name leads back to the function;
    otherwise it stores the code itself.
    """
    module_name = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if not module_name or not qualname or module_name == "__main__" or module_name not in sys.modules:
        return None
    by_value = cloudpickle.list_registry_pickle_by_value()
    parts = module_name.split(".")
    if any(".".join(parts[:i]) in by_value for i in range(1, len(parts) + 1)):
        return None
    found: Any = sys.modules[module_name]
    for attribute in qualname.split("."):
        found = getattr(found, attribute, None)
    return module_name if found is function else None


def _spec_functions(spec: KernelSpec) -> list[tuple[str, Callable[..., Any]]]:
    """The functions a pickled spec carries, by field name."""
    fields = ("function", "default_grid", "check", "parts", "siblings", "batch", "cost")
    found = [(field, getattr(spec, field, None)) for field in fields]
    # A functools.partial is pickled as its function and arguments.
    return [(field, getattr(value, "func", value)) for field, value in found if value is not None]


def _check_pickling(s: Subject) -> str:
    for field, function in _spec_functions(s.spec):
        module = _by_reference(function)
        if module is not None and not _importable(module):
            raise Failed(
                f"cloudpickle stores {field} {function.__qualname__!r} by reference to module {module!r}, which "
                "a worker process cannot import; load the module without adding it to sys.modules, or call "
                "cloudpickle.register_pickle_by_value(module), so that its code travels by value"
            )
    try:
        loaded = cloudpickle.loads(cloudpickle.dumps(s.kernel))
    except Exception as exc:
        raise Failed(f"the Kernel does not survive a cloudpickle round trip: {type(exc).__name__}: {exc}") from None
    if loaded.id != s.kernel.id or loaded.spec.name != s.spec.name:
        raise Failed(f"the Kernel comes back from cloudpickle as {loaded!r}, not {s.kernel!r}")
    gram = s.call("K(X) of the unpickled Kernel", s.X, kernel=loaded)
    if not np.array_equal(gram, s.gram):
        _compare(gram, s.gram, "K(X) of the unpickled Kernel differs from the original's")
        raise Failed("K(X) of the unpickled Kernel differs from the original's in the last bits")
    return "the Kernel and its KernelSpec survive a cloudpickle round trip (joblib's loky, dask) unchanged"


_CHECKS: dict[str, Callable[[Subject], str]] = {
    "result": _check_result,
    "determinism": _check_determinism,
    "symmetry": _check_symmetry,
    "cross-gram": _check_cross_gram,
    "psd": _check_psd,
    "input-kinds": _check_input_kinds,
    "bad-input": _check_bad_input,
    "pickling": _check_pickling,
}

PROPERTIES: tuple[str, ...] = tuple(_CHECKS)
"""The properties :func:`check_kernel_report` reports, in its order."""




def run_check(prop: str, subject: Subject) -> str:
    """Run the check of property ``prop`` on ``subject``; returns its one-line detail or raises Failed."""
    return _CHECKS[prop](subject)
