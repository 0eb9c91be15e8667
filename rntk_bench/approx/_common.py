"""What the approximate feature maps share: row access in both input conventions, the checked cross Gram
call, chunk sizes, the not-fitted error and seeds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import NotFittedError as _SklearnNotFitted

from rntk_bench.errors import InvalidInputError, InvalidParameterError, RntkBenchError

TILE_BYTES = 64 * 2**20
"""Target size of one (chunk x m) float64 tile in ``transform`` (64 MiB); the chunk has at least one row."""


class NotFittedError(RntkBenchError, _SklearnNotFitted):
    """A feature map was used before ``fit``; also scikit-learn's ``NotFittedError``, so model-selection code
    that catches that one catches this too."""


def n_rows(X: Any) -> int:
    """Number of cases of ``X`` (an array's first axis, or a list's length)."""
    try:
        return len(X)
    except TypeError:
        raise InvalidInputError(f"X must be an array or a list of samples; got {type(X).__name__}") from None


def take_rows(X: Any, indices: np.ndarray | range | slice) -> Any:
    """Rows ``indices`` of ``X``, keeping its convention: an ndarray stays an ndarray, a list stays a list
    (unequal-length series cannot be stacked, and a kernel must see them exactly as the caller gave them)."""
    if isinstance(X, np.ndarray):
        return X[indices]
    if isinstance(indices, slice):
        return list(X[indices])
    return [X[int(i)] for i in indices]


def chunk_rows(m: int, chunk: int | None) -> int:
    """Rows per ``transform`` tile: ``chunk`` if given, else as many as fit :data:`TILE_BYTES` with ``m``
    columns. Bounded tiles are what keep memory independent of the number of rows squared."""
    if chunk is not None:
        if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
            raise InvalidParameterError(f"chunk_rows must be a positive integer or None; got {chunk!r}")
        return int(chunk)
    return max(1, TILE_BYTES // (8 * max(1, m)))


def kernel_label(kernel: Any) -> str:
    """The name a message uses for ``kernel``: a registered kernel's canonical id, else the callable's name."""
    return str(getattr(kernel, "id", None) or getattr(kernel, "__name__", None) or repr(kernel))


def input_kind(kernel: Any, X: Any) -> str:
    """``"vector"`` or ``"sequence"``: the registry's ``input_kind`` of a registered kernel; for any other
    callable, ``"sequence"`` when ``X`` is a list or a 3-D array (what only series look like), else vector."""
    spec = getattr(kernel, "spec", None)
    if spec is not None and getattr(spec, "input_kind", None) in ("vector", "sequence"):
        return spec.input_kind
    if isinstance(X, (list, tuple)) or (isinstance(X, np.ndarray) and X.ndim == 3):
        return "sequence"
    return "vector"


def check_rows(kernel: Any, X: Any) -> None:
    """Run a registered kernel's input checks on all of ``X`` (a fit reads only some rows through the kernel,
    yet a bad training row should be named at fit); other callables check their own input when called.

    Raises
    ------
    InvalidInputError
        As :func:`~rntk_bench.kernels.validation.check_vectors` or ``check_sequences``.
    """
    from rntk_bench.kernels.validation import check_sequences, check_vectors

    kind = getattr(getattr(kernel, "spec", None), "input_kind", None)
    if kind == "vector":
        check_vectors(X, "X")
    elif kind == "sequence":
        check_sequences(X, "X")


def resolve_kernel(kernel: Any) -> Callable[..., np.ndarray]:
    """A kernel callable from a :class:`~rntk_bench.kernels.Kernel`, a registered name, or a callable
    ``k(X, Y)``.

    Raises
    ------
    InvalidParameterError
        An unknown kernel name (listing the registered ones) or an object that is not callable.
    """
    if isinstance(kernel, str):
        from rntk_bench.kernels import get_kernel  # the registry imports plugins; only a name needs it

        return get_kernel(kernel)
    if not callable(kernel):
        raise InvalidParameterError(
            f"kernel must be a Kernel (rntk_bench.kernels.get_kernel), a registered name or a callable k(X, Y); "
            f"got {type(kernel).__name__}"
        )
    return kernel


@dataclass(frozen=True)
class KernelRef:
    """A registered kernel by name and parameters: what a fitted map pickles instead of the bound kernel,
    whose registry entry holds closures that do not pickle (workers look the kernel up again)."""

    name: str
    params: tuple[tuple[str, Any], ...]


def kernel_to_state(kernel: Any) -> Any:
    """``kernel`` as a picklable value: a :class:`KernelRef` for a registered kernel, else unchanged."""
    spec = getattr(kernel, "spec", None)
    if spec is not None and hasattr(kernel, "params") and isinstance(getattr(kernel, "name", None), str):
        return KernelRef(kernel.name, tuple(sorted(dict(kernel.params).items())))
    return kernel


def kernel_from_state(value: Any) -> Any:
    """Inverse of :func:`kernel_to_state` (the kernel is looked up in the registry again)."""
    if isinstance(value, KernelRef):
        from rntk_bench.kernels import get_kernel

        return get_kernel(value.name, **dict(value.params))
    return value


def cross_gram(kernel: Callable[..., np.ndarray], X: Any, Y: Any) -> np.ndarray:
    """``kernel(X, Y)`` with both arguments given, checked: float64, shape (n_x, n_y), finite.

    Both arguments are always passed, even for the landmarks with themselves, so that a term that only a
    sample paired with itself has (the registry's ``diagonal_params``, e.g. the RNTK's ``sigma_h``) never
    enters: train and test rows are then mapped by one and the same function (docs/approximation.md).

    Raises
    ------
    InvalidParameterError
        When the kernel cannot compute a cross Gram matrix (it raises something outside the project's error
        family, or returns the wrong shape or values); the message names the kernel.
    RntkBenchError
        The kernel's own errors (invalid input, such as NaN values) pass through unchanged.
    """
    label = kernel_label(kernel)
    try:
        gram = kernel(X, Y)
    except RntkBenchError:
        raise
    except Exception as exc:  # a kernel without a usable k(X, Y): say which one, keep the cause chained
        raise InvalidParameterError(
            f"kernel {label} cannot compute a cross Gram matrix k(X, Y), which Nystroem features need "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    expected = (n_rows(X), n_rows(Y))
    gram = np.asarray(gram, dtype=np.float64) if isinstance(gram, np.ndarray) else gram
    if not isinstance(gram, np.ndarray) or gram.shape != expected:
        got = f"shape {gram.shape}" if isinstance(gram, np.ndarray) else f"a {type(gram).__name__}"
        raise InvalidParameterError(
            f"kernel {label} returned {got} for a cross Gram matrix k(X, Y); expected shape {expected}"
        )
    if not np.all(np.isfinite(gram)):
        raise InvalidParameterError(f"kernel {label} returned a cross Gram matrix k(X, Y) with inf or NaN entries")
    return gram


def rng_from(seed: Any) -> np.random.Generator:
    """A NumPy generator from an int, None, or a generator (used as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"seed must be an integer, None or a numpy Generator; got {seed!r}") from exc


def check_positive_int(value: Any, name: str) -> int:
    """``value`` as an int >= 1, else an error naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidParameterError(f"{name} must be a positive integer; got {value!r}")
    return int(value)
