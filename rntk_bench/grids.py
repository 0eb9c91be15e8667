"""Search grids: each kernel's registry grid, changed axis by axis, filtered by ties, with its C grid.

Every kernel starts from its registry grid (``KernelSpec.default_grid``, e.g. Arora et al.'s 15 NTK settings)
and its default C grid (:data:`DEFAULT_C_GRIDS`). An override ``{param: [values]}`` replaces that parameter's
axis: the default settings are stripped of the parameter, duplicates are dropped (first kept), and every
remaining setting is combined with every given value, in the order given. Combinations a kernel refuses (an
NTK with ``fixed_layers > n_layers``) are dropped; a grid left with no setting is an error. Ties
``{param: [values]}`` then keep only the settings whose ``param`` takes one of the values, where a string
value names another parameter of the same setting: ``fixed_layers = [0, "n_layers"]`` keeps
``fixed_layers = 0`` and ``fixed_layers = n_layers``, nothing in between.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rntk_bench.errors import InvalidParameterError
from rntk_bench.kernels import KERNELS, get_kernel

__all__ = [
    "DEFAULT_C_GRIDS",
    "KernelGrid",
    "default_C_grid",
    "kernel_grid",
    "parse_grid_options",
    "parse_value",
]

FALLBACK_C_GRID = tuple(10.0**power for power in range(-2, 5))
"""The C grid of a kernel registered without one: Arora et al.'s 1e-2 .. 1e4."""


def default_C_grid(name: str) -> tuple[float, ...]:
    """The C grid kernel ``name`` is searched with by default (its registration's ``C_grid``)."""
    return KERNELS[name].C_grid or FALLBACK_C_GRID


DEFAULT_C_GRIDS: dict[str, tuple[float, ...]] = {name: default_C_grid(name) for name in KERNELS}
"""Default C grid of the SVM of each built-in kernel (each stated once, in its registration)."""

# A two-sample stand-in for training data: data-scaled default grids (rbf) expand on it to validate a grid
# before any dataset is loaded. Grid sizes never depend on the data, only rbf's values do.
PROBE = np.array([[0.0, 1.0], [1.0, 0.0]])


def _plain(value: Any) -> Any:
    """A JSON- and hash-stable form of a parameter value (numpy scalars become Python numbers)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _satisfies(setting: Mapping[str, Any], ties: Sequence[tuple[str, Sequence[Any]]]) -> bool:
    for name, values in ties:
        allowed = [setting[value] if isinstance(value, str) else value for value in values]
        if setting[name] not in allowed:
            return False
    return True


@dataclass(frozen=True)
class KernelGrid:
    """The search grid of one kernel: axis overrides on its registry grid, ties, and the C grid.

    Attributes
    ----------
    name : str
        Registry name of the kernel.
    overrides : tuple of (str, tuple)
        ``(parameter, values)`` pairs, sorted by parameter name; empty for the registry grid.
    C : tuple of float
        Values of the SVM's C, searched in this order.
    ties : tuple of (str, tuple)
        ``(parameter, allowed values)`` pairs, sorted by parameter name; a string value names another
        parameter of the same setting.
    """

    name: str
    overrides: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    C: tuple[float, ...] = ()
    ties: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def settings(self, X_train) -> list[dict[str, Any]]:
        """Expand the grid on the training input ``X_train`` (only data-scaled grids look at it).

        Returns
        -------
        list of dict
            Full, validated parameter dicts (defaults filled in), in search order, without duplicates.

        Raises
        ------
        InvalidParameterError
            No setting is left (every combination refused, or the ties keep none).
        """
        spec = KERNELS[self.name]
        base = spec.default_grid(X_train)
        axes = dict(self.overrides)
        if axes:
            stripped: list[dict[str, Any]] = []
            for setting in base:
                reduced = {key: value for key, value in setting.items() if key not in axes}
                if reduced not in stripped:
                    stripped.append(reduced)
            names = list(axes)
            base = [
                {**setting, **dict(zip(names, combo))}
                for setting in stripped
                for combo in itertools.product(*(axes[name] for name in names))
            ]
        settings: list[dict[str, Any]] = []
        seen: set[str] = set()
        refused: list[str] = []
        for setting in base:
            try:
                kernel = get_kernel(self.name, **setting)
            except InvalidParameterError as exc:
                if not axes:  # the registry grid itself is broken: a bug, not user input
                    raise
                refused.append(str(exc))
                continue
            if kernel.id not in seen:
                seen.add(kernel.id)
                settings.append(dict(kernel.params))
        if not settings:
            raise InvalidParameterError(
                f"the {self.name} grid has no valid setting: every combination is refused, e.g. {refused[0]}"
            )
        if self.ties:
            settings = [setting for setting in settings if _satisfies(setting, self.ties)]
            if not settings:
                raise InvalidParameterError(f"the {self.name} grid has no setting left once its ties are applied")
        return settings

    def size(self) -> int:
        """Number of settings (it does not depend on the data)."""
        return len(self.settings(PROBE))

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON data for the run's configuration hash (``ties`` only when there are some, so grids
        without ties hash as they always have)."""
        data = {"overrides": {name: list(values) for name, values in self.overrides}, "C": list(self.C)}
        if self.ties:
            data["ties"] = {name: list(values) for name, values in self.ties}
        return data


# ----------------------------------------------------------------------------------------------- building


def parse_value(text: str) -> Any:
    """Read one grid value given on the command line: int, float, ``none`` or a bare string."""
    text = text.strip()
    if text.lower() in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_grid_options(options: Iterable[str]) -> dict[str, dict[str, list[Any]]]:
    """Parse ``--grid KERNEL.PARAM=V1,V2`` options into ``{kernel: {param: [values]}}``."""
    grids: dict[str, dict[str, list[Any]]] = {}
    for option in options:
        target, sep, values = option.partition("=")
        kernel, dot, param = target.strip().partition(".")
        if not sep or not dot or not kernel or not param or not values.strip():
            raise InvalidParameterError(
                f"--grid {option!r} must look like KERNEL.PARAM=V1,V2 (e.g. rntk.sigma_u=0.25,0.5 or rbf.C=1,10)"
            )
        grids.setdefault(kernel, {})[param.strip()] = [parse_value(v) for v in values.split(",")]
    return grids


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _c_grid(kernel: str, values: Sequence[Any]) -> tuple[float, ...]:
    grid = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise InvalidParameterError(f"{kernel} C values must be positive finite numbers; got {value!r}")
        grid.append(float(value))
    if not grid:
        raise InvalidParameterError(f"the {kernel} C grid is empty")
    return tuple(grid)


def _ties(name: str, ties: Mapping[str, Any]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    params = KERNELS[name].params
    checked = []
    for param, values in sorted(ties.items()):
        if param not in params:
            raise InvalidParameterError(f"tie of kernel {name!r}: unknown parameter {param!r}; valid parameters: "
                                        f"{', '.join(params)}")
        if not isinstance(values, (list, tuple)) or not values:
            raise InvalidParameterError(f"the {name} tie of {param!r} must be a non-empty list of values")
        for value in values:
            if isinstance(value, str) and value not in params:
                raise InvalidParameterError(f"the {name} tie of {param!r}: {value!r} is not a parameter of {name}; "
                                            f"valid parameters: {', '.join(params)}")
        checked.append((param, tuple(_plain(value) for value in values)))
    return tuple(checked)


def kernel_grid(name: str, axes: Mapping[str, Any] | None = None, ties: Mapping[str, Any] | None = None) -> KernelGrid:
    """Build and validate the grid of kernel ``name``.

    Parameters
    ----------
    name : str
        A registered kernel.
    axes : mapping, optional
        ``{param: values}`` axis overrides; the pseudo-parameter ``C`` replaces the C grid.
    ties : mapping, optional
        ``{param: allowed values}``.

    Raises
    ------
    InvalidParameterError
        Unknown parameter, invalid value, or a grid with no setting left.
    """
    spec = KERNELS[name]
    overrides = []
    c_values: tuple[float, ...] = default_C_grid(name)
    for param, raw in sorted((axes or {}).items()):
        values = _as_list(raw)
        if param == "C":
            c_values = _c_grid(name, values)
            continue
        if param not in spec.params:
            raise InvalidParameterError(
                f"unknown parameter {param!r} for kernel {name!r}; valid parameters: "
                f"{', '.join(sorted(spec.params))}, C"
            )
        if not values:
            raise InvalidParameterError(f"the {name} grid of {param!r} is empty")
        coerced = tuple(_plain(spec.params[param].coerce(name, param, value)) for value in values)
        overrides.append((param, coerced))
    grid = KernelGrid(name, tuple(overrides), c_values, _ties(name, ties or {}))
    grid.settings(PROBE)  # refuses a grid whose every combination is invalid, or whose ties keep nothing
    return grid
