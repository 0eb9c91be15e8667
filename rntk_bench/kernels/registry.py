"""What a registered kernel is: a plain function plus the description of its parameters and grid.

A kernel function has the signature ``f(X, Y=None, **params) -> ndarray (n_x, n_y)``, like the functions in
``sklearn.metrics.pairwise``. :class:`KernelSpec` adds what the harness needs to know about it, and
:class:`Kernel` is a kernel with validated parameters bound, with a canonical id such as
``ntk[fixed_layers=0,n_layers=2,sigma_b=0,sigma_w=1]`` used in result tables and cache keys.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import math
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from rntk_bench.errors import InvalidInputError, InvalidParameterError
from rntk_bench.kernels.validation import check_finite_gram

InputKind = Literal["sequence", "vector"]


def signature_defaults(function: Callable[..., Any]) -> dict[str, Any]:
    """The keyword-only parameters of ``function`` with their defaults, in signature order.

    A kernel's signature is where its defaults are written; the registry and the reference implementations
    read them from here.

    Raises
    ------
    InvalidParameterError
        If a keyword-only parameter has no default.
    """
    defaults = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            if parameter.default is inspect.Parameter.empty:
                raise InvalidParameterError(f"parameter {name!r} of {function.__qualname__} has no default")
            defaults[name] = parameter.default
    return defaults


def signature_kinds(function: Callable[..., Any]) -> dict[str, tuple[type | None, bool]]:
    """The type (float, int or str; None if neither) and whether None is allowed, of each keyword-only
    parameter of ``function``: from its annotation (``float | None`` is a nullable float), else from its
    default's type."""
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # an annotation that does not resolve: fall back on the defaults
        hints = {}
    kinds = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        annotation = hints.get(name)
        members = typing.get_args(annotation) or (annotation,)
        nullable = type(None) in members or parameter.default is None
        found = [member for member in members if member in (float, int, str)]
        if found:
            kinds[name] = (found[0], nullable)
        elif isinstance(parameter.default, (int, float, str)) and not isinstance(parameter.default, bool):
            kinds[name] = (type(parameter.default), nullable)
        else:
            kinds[name] = (None, nullable)
    return kinds


def check_fixed_layers(kernel: str, n_layers: int, fixed_layers: int) -> None:
    """Refuse more frozen layers than the network has (``0 <= fixed_layers <= n_layers``).

    The one check of this rule, for the registry's parameter validation and for direct calls of the RNTK
    and NTK functions alike.

    Raises
    ------
    InvalidParameterError
        Naming the kernel, the valid range and the value given.
    """
    if not 0 <= fixed_layers <= n_layers:
        raise InvalidParameterError(
            f"{kernel} parameter 'fixed_layers' must lie in [0, n_layers={n_layers}]; got {fixed_layers}"
        )


def with_defaults(function: Callable[..., Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` completed with the signature defaults of ``function``; unknown names are refused.

    For functions that take the keyword parameters of a kernel as ``**params`` (such as the reference
    implementations) without restating the kernel's defaults.
    """
    defaults = signature_defaults(function)
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise InvalidParameterError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for {function.__name__}; "
            f"valid parameters: {', '.join(sorted(defaults))}"
        )
    return {**defaults, **params}


@dataclass(frozen=True)
class Param:
    """One kernel parameter: its type, valid range and help line.

    The default is not stated here: :class:`KernelSpec` takes it from the kernel function's signature, the
    one place it is written, so ``spec.params[name].default`` is always the function's own default.

    Parameters
    ----------
    kind : type, optional
        ``float``, ``int`` or ``str``; by default read from the function's signature (the annotation, else
        the default's type), like the default itself.
    low, high : float, optional
        Inclusive bounds for numbers.
    choices : tuple of str, optional
        The valid values of a string parameter.
    doc : str
        One line for help texts.
    nullable : bool
        Whether ``None`` is valid (its meaning is given in ``doc``).
    default : object, optional
        Filled in by :class:`KernelSpec`; a value given here must equal the signature's.
    """

    kind: type | None = None
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    doc: str = ""
    nullable: bool = False
    default: Any = inspect.Parameter.empty

    def coerce(self, kernel: str, name: str, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type, or raise a message naming the valid range."""
        where = f"{kernel} parameter {name!r}"
        if value is None and self.nullable:
            return None
        if self.kind is str:
            if not isinstance(value, str) or (self.choices is not None and value not in self.choices):
                valid = f"one of {', '.join(map(repr, self.choices))}" if self.choices else "a string"
                raise InvalidParameterError(f"{where} must be {valid}; got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InvalidParameterError(f"{where} must be a number; got {value!r}")
        if self.kind is int:
            if float(value) != int(value):
                raise InvalidParameterError(f"{where} must be an integer; got {value!r}")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise InvalidParameterError(f"{where} must be finite; got {value!r}")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            low = "-inf" if self.low is None else f"{self.low:g}"
            high = "inf" if self.high is None else f"{self.high:g}"
            raise InvalidParameterError(f"{where} must lie in [{low}, {high}]; got {value!r}")
        return value


@dataclass(frozen=True)
class KernelSpec:
    """Everything the harness knows about one registered kernel.

    Parameters
    ----------
    name : str
        Registry key.
    function : callable
        ``function(X, Y=None, **params) -> ndarray of shape (n_x, n_y)``.
    params : mapping of str to Param
        The keyword-only parameters of ``function``, each with its type and range; the defaults are read from
        ``function``'s signature (see :class:`Param`).
    input_kind : {"sequence", "vector"}
        Sequence kernels read series of any length; vector kernels need equal lengths and flatten them.
    default_grid : callable
        ``default_grid(X_train) -> list of dict``: the parameter settings searched by default. It sees the
        (vector or sequence) training input only, so a data-scaled grid (rbf's gamma) never sees test data.
    check : callable, optional
        ``check(params)`` raises :class:`InvalidParameterError` for invalid combinations.
    description : str
        One line for ``rntk-bench kernels``.
    parts : callable, optional
        ``parts(params) -> list of dict``: settings whose Gram matrices add up exactly (to the last bit) to
        this setting's, e.g. the bidirectional RNTK = forward + reversed. The runner computes each part once
        per dataset and shares it between the settings that contain it. None: the kernel has no parts.
    siblings : callable, optional
        ``siblings(params) -> list of dict``: settings that ``batch`` computes together with ``params`` for
        less than the cost of each alone (the first is the one that costs the most alone). None: none.
    batch : callable, optional
        ``batch(X, Y, settings) -> list of ndarray``: the Gram matrices of sibling settings, each equal to
        ``function(X, Y, **setting)`` to the last bit.
    origin, C_grid, cost
        See the attributes.
    """

    name: str
    function: Callable[..., np.ndarray]
    params: Mapping[str, Param]
    input_kind: InputKind
    default_grid: Callable[[Any], list[dict[str, Any]]]
    check: Callable[[dict[str, Any]], None] | None = None
    description: str = ""
    parts: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None
    siblings: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None
    batch: Callable[[Any, Any, list[dict[str, Any]]], list[np.ndarray]] | None = None
    origin: str = "built-in"
    """Where the kernel comes from: ``built-in``, ``file PATH``, ``module NAME`` or ``entry point NAME``."""
    C_grid: tuple[float, ...] | None = None
    """Its default C grid, when it has its own (else the runner's default for kernels without one)."""
    cost: Callable[[int, int], float] | None = None
    """``cost(n_samples, length)``: relative cost of one Gram matrix, for the order tasks start in."""
    diagonal_params: tuple[str, ...] = ()
    """Parameters of a term only a sample paired with itself has: it enters the diagonal of ``K(X)`` and not
    ``K(X, X)`` (the RNTK's ``sigma_h``). The kernel contract (:mod:`rntk_bench.testing`) allows for it."""

    def __post_init__(self) -> None:
        defaults = signature_defaults(self.function)
        unknown = sorted(set(self.params) - set(defaults))
        if unknown:
            raise InvalidParameterError(
                f"kernel {self.name!r} describes the parameter(s) {unknown}, which its function does not take "
                f"(it takes {sorted(defaults)})"
            )
        kinds = signature_kinds(self.function)
        filled = {}
        for name, default in defaults.items():
            param = self.params.get(name, Param())
            if param.default is not inspect.Parameter.empty and param.default != default:
                raise InvalidParameterError(
                    f"kernel {self.name!r} states the default {param.default!r} for {name!r}, but its function's "
                    f"signature has {default!r}"
                )
            kind, nullable = kinds[name]
            if param.kind is not None and kind is not None and param.kind is not kind:
                raise InvalidParameterError(f"kernel {self.name!r} states the type {param.kind.__name__} for "
                                            f"{name!r}, but its function's signature has {kind.__name__}")
            kind = param.kind or kind
            if kind is None:
                raise InvalidParameterError(f"kernel {self.name!r}: give parameter {name!r} an annotation (float, "
                                            "int or str) or a default that is a number or a string")
            filled[name] = replace(param, default=default, kind=kind, nullable=param.nullable or nullable)
        object.__setattr__(self, "params", filled)  # frozen dataclass: set once, here

    @property
    def defaults(self) -> dict[str, Any]:
        """Parameter defaults, by name."""
        return {name: param.default for name, param in self.params.items()}

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Return the full, type-checked parameter dict (defaults filled in) or raise."""
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise InvalidParameterError(
                f"unknown parameter(s) {', '.join(map(repr, unknown))} for kernel {self.name!r}; "
                f"valid parameters: {', '.join(sorted(self.params))}"
            )
        full = self.defaults
        for name, value in params.items():
            full[name] = self.params[name].coerce(self.name, name, value)
        if self.check is not None:
            self.check(full)
        return full


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.12g}"
    return str(value)


def kernel_id(name: str, params: Mapping[str, Any]) -> str:
    """Canonical id ``name[k1=v1,k2=v2]`` with parameters sorted by name (floats to 12 significant digits)."""
    inside = ",".join(f"{key}={_format_value(params[key])}" for key in sorted(params))
    return f"{name}[{inside}]"


@dataclass(frozen=True)
class Kernel:
    """A registered kernel with its parameters bound and validated; call it like the function.

    ``k(X)`` is the Gram matrix of ``X`` with itself (terms that only exist for a sample paired with itself,
    such as the RNTK's random initial state, are included); ``k(X, Y)`` is the cross Gram matrix.
    """

    spec: KernelSpec
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def id(self) -> str:
        """Canonical id, e.g. ``rbf[gamma=0.5]``."""
        return kernel_id(self.spec.name, self.params)

    def __call__(self, X, Y=None) -> np.ndarray:
        """The kernel matrix of ``X`` with ``Y`` (or with itself), shape (n_x, n_y).

        Raises
        ------
        InvalidInputError
            For invalid input, for a result that is not a float64 array of shape (n_x, n_y) (a broken kernel
            function, named with its origin), and for a result with an inf or NaN entry (named by row and
            column).
        """
        # An overflow inside the kernel shows up as an inf or NaN entry, which is refused below with the
        # kernel's id and the entry; NumPy's warnings would only repeat it, without either.
        with np.errstate(over="ignore", invalid="ignore"):
            gram = self.spec.function(X, Y, **self.params)
        expected = (len(X), len(X) if Y is None else len(Y))
        if not isinstance(gram, np.ndarray) or gram.dtype != np.float64 or gram.shape != expected:
            what = (f"a {type(gram).__name__}" if not isinstance(gram, np.ndarray)
                    else f"an array of dtype {gram.dtype} and shape {gram.shape}")
            raise InvalidInputError(
                f"kernel {self.name!r} ({self.spec.origin}) returned {what}; a kernel function must return a "
                f"float64 array of shape (n_x, n_y) = {expected}"
            )
        check_finite_gram(gram, self.id)
        return gram

    def __hash__(self) -> int:
        # The canonical id names the function and every parameter: what scikit-learn's pairwise_kernels and
        # SVC(kernel=k) need to hash a callable kernel.
        return hash(self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Kernel) and other.spec is self.spec and dict(other.params) == dict(self.params)

    def __repr__(self) -> str:
        return f"Kernel({self.id})"


# ------------------------------------------------------------------------------------------ registration

KERNELS: dict[str, KernelSpec] = {}
"""Every registered kernel by name: the built-in ones (``rntk_bench.kernels``) and those of loaded plugins."""

_LOADING: list[str] = []
"""Origins of the plugins being imported now (innermost last): what their registrations are recorded as."""


@contextlib.contextmanager
def registering_as(origin: str) -> Iterator[None]:
    """Record every kernel registered inside the block as coming from ``origin`` (e.g. ``file my.py``)."""
    _LOADING.append(origin)
    try:
        yield
    finally:
        _LOADING.pop()


_ID_BREAKERS = set("[],= \t\n")


def _default_grid(name: str, grid: Any) -> Callable[[Any], list[dict[str, Any]]]:
    """``default_grid(X_train)`` from what ``register_kernel(grid=...)`` accepts."""
    if grid is None:
        return lambda X_train: [{}]
    if callable(grid):
        return grid
    if isinstance(grid, Mapping):
        axes = {param: list(values) if isinstance(values, (list, tuple)) else [values]
                for param, values in grid.items()}
        settings = [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]
    elif isinstance(grid, (list, tuple)) and all(isinstance(setting, Mapping) for setting in grid):
        settings = [dict(setting) for setting in grid]
    else:
        raise InvalidParameterError(f"kernel {name!r}: grid must be a mapping of parameter to values, a list of "
                                    f"settings, or a callable default_grid(X_train); got {grid!r}")
    return lambda X_train: [dict(setting) for setting in settings]


def register_kernel(
    name: str,
    *,
    input_kind: InputKind = "vector",
    grid: Any = None,
    params: Mapping[str, Param] | None = None,
    C_grid: Any = None,
    cost: Callable[[int, int], float] | None = None,
    description: str = "",
    diagonal_params: Sequence[str] = (),
    check: Callable[[dict[str, Any]], None] | None = None,
    parts: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
    siblings: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
    batch: Callable[[Any, Any, list[dict[str, Any]]], list[np.ndarray]] | None = None,
    replace: bool = False,
) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
    """Register a kernel function under ``name`` (a decorator); the built-in kernels use it too.

    >>> @register_kernel("laplace", input_kind="vector", grid={"gamma": [0.1, 1.0, 10.0]})
    ... def laplace(X, Y=None, *, gamma: float = 1.0):
    ...     ...  # returns float64 (n_x, n_y)

    Parameter names, defaults and types come from the function's keyword-only parameters (annotation
    ``float``, ``int``, ``str``, optionally ``| None``; else the default's type).

    Parameters
    ----------
    name : str
        Registry key; no brackets, commas, equal signs or spaces (it starts the canonical ids).
    input_kind : {"vector", "sequence"}
        Vector kernels read ``(n, n_features)`` (3-D input flattened, unequal lengths resampled); sequence
        kernels read series of any length (``(n, T)``, ``(n, channels, T)`` or lists of ``(channels, T_i)``).
    grid : mapping, list of dict, or callable, optional
        The default search grid: ``{param: [values]}`` (every combination, in order), a list of settings, or
        ``default_grid(X_train) -> list of dict`` (it sees training rows only). Default: the defaults alone.
    params : mapping of str to Param, optional
        Ranges, choices and help lines of parameters (types and defaults still come from the signature).
    C_grid : sequence of float, optional
        The SVM's C values searched by default (default: 1e-2 .. 1e4, as Arora et al.).
    cost : callable, optional
        ``cost(n_samples, length) -> float``: relative cost of one Gram matrix (default ``n_samples**2``), for
        the order tasks start in.
    description : str
        One line for ``rntk-bench kernels``.
    diagonal_params : sequence of str
        Parameters of a term that only a sample paired with itself has (see :class:`KernelSpec`).
    check, parts, siblings, batch : callable, optional
        See :class:`KernelSpec`.
    replace : bool
        Allow replacing a kernel already registered under ``name``.

    Raises
    ------
    InvalidParameterError
        A name already registered (without ``replace``), an invalid name or input kind, parameters that do not
        match the signature, or a grid with an invalid setting.
    """
    if not isinstance(name, str) or not name or _ID_BREAKERS & set(name):
        raise InvalidParameterError(f"kernel name {name!r} must be a non-empty string without brackets, commas, "
                                    "equal signs or spaces")
    if input_kind not in ("vector", "sequence"):
        raise InvalidParameterError(f"kernel {name!r}: input_kind must be 'vector' or 'sequence'; got {input_kind!r}")

    def decorate(function: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        origin = _LOADING[-1] if _LOADING else (
            "built-in" if function.__module__.startswith("rntk_bench.") else f"module {function.__module__}")
        if name in KERNELS and not replace:
            raise InvalidParameterError(f"kernel {name!r} is already registered ({KERNELS[name].origin}); choose "
                                        "another name, or pass replace=True to replace it")
        c_values = None if C_grid is None else tuple(float(value) for value in C_grid)
        spec = KernelSpec(name=name, function=function, params=dict(params or {}), input_kind=input_kind,
                          default_grid=_default_grid(name, grid), check=check, description=description,
                          parts=parts, siblings=siblings, batch=batch, origin=origin, C_grid=c_values, cost=cost,
                          diagonal_params=tuple(diagonal_params))
        if grid is not None and not callable(grid):
            for setting in spec.default_grid(None):
                spec.validate(setting)  # a static grid is checked now, where the plugin author sees it
        KERNELS[name] = spec
        return function

    return decorate
