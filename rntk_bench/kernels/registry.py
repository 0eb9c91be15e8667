"""What a registered kernel is: a plain function plus the description of its parameters and grid.

A kernel function has the signature ``f(X, Y=None, **params) -> ndarray (n_x, n_y)``, like the functions in
``sklearn.metrics.pairwise``. :class:`KernelSpec` adds what the harness needs to know about it, and
:class:`Kernel` is a kernel with validated parameters bound, with a canonical id such as
``ntk[fixed_layers=0,n_layers=2,sigma_b=0,sigma_w=1]`` used in result tables and cache keys.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from rntk_bench.errors import InvalidParameterError
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
    kind : type
        ``float``, ``int`` or ``str``.
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

    kind: type
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
            if not isinstance(value, str) or value not in self.choices:
                raise InvalidParameterError(
                    f"{where} must be one of {', '.join(map(repr, self.choices))}; got {value!r}"
                )
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

    def __post_init__(self) -> None:
        defaults = signature_defaults(self.function)
        if set(defaults) != set(self.params):
            raise InvalidParameterError(
                f"kernel {self.name!r} describes the parameters {sorted(self.params)} but its function takes "
                f"{sorted(defaults)}"
            )
        filled = {}
        for name, param in self.params.items():
            if param.default is not inspect.Parameter.empty and param.default != defaults[name]:
                raise InvalidParameterError(
                    f"kernel {self.name!r} states the default {param.default!r} for {name!r}, but its function's "
                    f"signature has {defaults[name]!r}"
                )
            filled[name] = replace(param, default=defaults[name])
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
            For invalid input, and for a result with an inf or NaN entry (named by row and column).
        """
        # An overflow inside the kernel shows up as an inf or NaN entry, which is refused below with the
        # kernel's id and the entry; NumPy's warnings would only repeat it, without either.
        with np.errstate(over="ignore", invalid="ignore"):
            gram = self.spec.function(X, Y, **self.params)
        check_finite_gram(gram, self.id)
        return gram

    def __repr__(self) -> str:
        return f"Kernel({self.id})"
