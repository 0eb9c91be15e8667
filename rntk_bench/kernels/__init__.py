"""The kernel registry: every kernel rntk-bench can benchmark, by name.

>>> from rntk_bench.kernels import KERNELS, get_kernel
>>> k = get_kernel("rntk", n_layers=2, sigma_u=0.5)
>>> G = k(X)        # (n, n) Gram matrix of X with itself
>>> G = k(X, Y)     # (n_x, n_y) cross Gram matrix

To add a kernel, write a plain function ``f(X, Y=None, *, param: float = default, ...) -> ndarray`` and
register it with :func:`register_kernel` (as the built-in kernels below are), inside this package or in a
plugin (:mod:`rntk_bench.kernels.plugins`): names, defaults and types come from the signature; a
:class:`Param` adds a range, choices and a help line. :func:`rntk_bench.testing.check_kernel` checks the
contract every kernel must keep.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rntk_bench.errors import InvalidParameterError
from rntk_bench.kernels.classic import linear, poly, poly_grid, rbf, rbf_grid
from rntk_bench.kernels.dual import ACTIVATIONS
from rntk_bench.kernels.ntk import ntk, ntk_grid
from rntk_bench.kernels.plugins import load_entry_points
from rntk_bench.kernels.registry import (
    KERNELS,
    Kernel,
    KernelSpec,
    Param,
    check_fixed_layers,
    kernel_id,
    register_kernel,
)
from rntk_bench.kernels.rntk import rntk, rntk_batch, rntk_grid, rntk_parts, rntk_siblings
from rntk_bench.kernels.rntk_inputs import DIRECTIONS, OUTPUTS

__all__ = ["KERNELS", "Kernel", "KernelSpec", "Param", "get_kernel", "get_spec", "kernel_id", "register_kernel"]


def _fixed_at_most_depth(kernel: str) -> Callable[[dict[str, Any]], None]:
    """The registry's combination check of a kernel with ``n_layers`` and ``fixed_layers``."""
    return lambda params: check_fixed_layers(kernel, params["n_layers"], params["fixed_layers"])


_SCALE = dict(low=0.0)
_ARORA_C = tuple(10.0**power for power in range(-2, 5))

register_kernel(
    "rntk",
    input_kind="sequence",
    params={
        "n_layers": Param(low=1, doc="stacked recurrent layers"),
        "sigma_w": Param(**_SCALE, doc="recurrent weight scale"),
        "sigma_u": Param(**_SCALE, doc="input weight scale"),
        "sigma_b": Param(**_SCALE, doc="bias scale"),
        "sigma_h": Param(**_SCALE, doc="initial-state scale (a diagonal term of K(X))"),
        "sigma_v": Param(**_SCALE, doc="readout scale"),
        "activation": Param(choices=ACTIVATIONS, doc="activation function"),
        "output": Param(choices=OUTPUTS, doc="last state or mean pooling"),
        "direction": Param(choices=DIRECTIONS, doc="reading direction"),
        "fixed_layers": Param(low=0, doc="frozen bottom layers (= n_layers: NNGP)"),
    },
    grid=rntk_grid,
    C_grid=(1e-2, 1.0, 1e2, 1e4, 1e6),  # Alemohammad et al.'s released UCI code
    diagonal_params=("sigma_h",),  # the random initial state: a term of a series paired with itself only
    check=_fixed_at_most_depth("rntk"),
    description="recurrent NTK of an Elman RNN (Alemohammad et al., 2021)",
    parts=rntk_parts,
    siblings=rntk_siblings,
    batch=rntk_batch,
)(rntk)
register_kernel(
    "ntk",
    params={
        "n_layers": Param(low=0, doc="hidden layers"),
        "fixed_layers": Param(low=0, doc="frozen bottom layers (= n_layers: NNGP)"),
        "sigma_w": Param(**_SCALE, doc="weight scale (1: Arora et al.'s code)"),
        "sigma_b": Param(**_SCALE, doc="bias scale"),
        "activation": Param(choices=ACTIVATIONS, doc="activation function"),
    },
    grid=ntk_grid,
    C_grid=_ARORA_C,  # Arora et al.: 1e-2 .. 1e4
    check=_fixed_at_most_depth("ntk"),
    description="fully connected NTK (Arora et al., 2020)",
)(ntk)
register_kernel(
    "rbf",
    params={"gamma": Param(low=0.0, doc="None: 1 / n_features")},
    grid=rbf_grid,
    C_grid=_ARORA_C,  # the baselines share Arora et al.'s grid
    description="Gaussian kernel exp(-gamma ||x - y||^2)",
)(rbf)
register_kernel(
    "poly",
    params={
        "degree": Param(low=1, doc="polynomial degree"),
        "gamma": Param(low=0.0, doc="None: 1 / n_features"),
        "coef0": Param(doc="constant term"),
    },
    grid=poly_grid,
    C_grid=_ARORA_C,
    description="polynomial kernel (gamma <x, y> + coef0)^degree",
)(poly)
register_kernel("linear", C_grid=_ARORA_C, description="linear kernel <x, y>")(linear)


def get_kernel(name: str, **params: Any) -> Kernel:
    """Return the registered kernel ``name`` with ``params`` validated and bound.

    Parameters
    ----------
    name : str
        A key of :data:`KERNELS`.
    **params
        Keyword parameters of the kernel; omitted ones take their defaults.

    Returns
    -------
    Kernel
        Callable as ``k(X)`` or ``k(X, Y)``.

    Raises
    ------
    InvalidParameterError
        For an unknown kernel or parameter name, or a value out of range; the message lists the valid choices.
    """
    spec = get_spec(name)
    return Kernel(spec, spec.validate(params))


def get_spec(name: str) -> KernelSpec:
    """The registry entry of kernel ``name``: the one place an unknown kernel name is refused.

    Raises
    ------
    InvalidParameterError
        Unknown name; the message lists the registered kernels.
    """
    if isinstance(name, str) and name not in KERNELS:
        load_entry_points()  # installed plugins are imported on first need
    try:
        return KERNELS[name]
    except (KeyError, TypeError):
        raise InvalidParameterError(
            f"unknown kernel {name!r}; registered kernels: {', '.join(sorted(KERNELS))} (a kernel of your own: "
            "load its file with --plugin FILE.py)"
        ) from None
