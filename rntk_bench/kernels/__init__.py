"""The kernel registry: every kernel rntk-bench can benchmark, by name.

>>> from rntk_bench.kernels import KERNELS, get_kernel
>>> k = get_kernel("rntk", n_layers=2, sigma_u=0.5)
>>> G = k(X)        # (n, n) Gram matrix of X with itself
>>> G = k(X, Y)     # (n_x, n_y) cross Gram matrix

To add a kernel, write a plain function ``f(X, Y=None, *, param=default, ...) -> ndarray`` and add one
:class:`KernelSpec` to ``KERNELS`` below, describing each keyword parameter's type and range with a
:class:`Param`; the defaults are read from the function's signature. The property tests in
``tests/test_kernel_properties.py`` then run on it automatically.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rntk_bench.errors import InvalidParameterError
from rntk_bench.kernels.classic import linear, poly, poly_grid, rbf, rbf_grid
from rntk_bench.kernels.dual import ACTIVATIONS
from rntk_bench.kernels.ntk import ntk, ntk_grid
from rntk_bench.kernels.registry import Kernel, KernelSpec, Param, check_fixed_layers, kernel_id
from rntk_bench.kernels.rntk import rntk, rntk_batch, rntk_grid, rntk_parts, rntk_siblings
from rntk_bench.kernels.rntk_inputs import DIRECTIONS, OUTPUTS

__all__ = ["KERNELS", "Kernel", "KernelSpec", "Param", "get_kernel", "get_spec", "kernel_id"]


def _fixed_at_most_depth(kernel: str) -> Callable[[dict[str, Any]], None]:
    """The registry's combination check of a kernel with ``n_layers`` and ``fixed_layers``."""
    return lambda params: check_fixed_layers(kernel, params["n_layers"], params["fixed_layers"])


_SCALE = dict(kind=float, low=0.0)

KERNELS: dict[str, KernelSpec] = {
    "rntk": KernelSpec(
        name="rntk",
        function=rntk,
        input_kind="sequence",
        params={
            "n_layers": Param(int, low=1, doc="stacked recurrent layers"),
            "sigma_w": Param(**_SCALE, doc="recurrent weight scale"),
            "sigma_u": Param(**_SCALE, doc="input weight scale"),
            "sigma_b": Param(**_SCALE, doc="bias scale"),
            "sigma_h": Param(**_SCALE, doc="initial-state scale (a diagonal term of K(X))"),
            "sigma_v": Param(**_SCALE, doc="readout scale"),
            "activation": Param(str, choices=ACTIVATIONS, doc="activation function"),
            "output": Param(str, choices=OUTPUTS, doc="last state or mean pooling"),
            "direction": Param(str, choices=DIRECTIONS, doc="reading direction"),
            "fixed_layers": Param(int, low=0, doc="frozen bottom layers (= n_layers: NNGP)"),
        },
        default_grid=rntk_grid,
        check=_fixed_at_most_depth("rntk"),
        description="recurrent NTK of an Elman RNN (Alemohammad et al., 2021)",
        parts=rntk_parts,
        siblings=rntk_siblings,
        batch=rntk_batch,
    ),
    "ntk": KernelSpec(
        name="ntk",
        function=ntk,
        input_kind="vector",
        params={
            "n_layers": Param(int, low=0, doc="hidden layers"),
            "fixed_layers": Param(int, low=0, doc="frozen bottom layers (= n_layers: NNGP)"),
            "sigma_w": Param(**_SCALE, doc="weight scale (1: Arora et al.'s code)"),
            "sigma_b": Param(**_SCALE, doc="bias scale"),
            "activation": Param(str, choices=ACTIVATIONS, doc="activation function"),
        },
        default_grid=ntk_grid,
        check=_fixed_at_most_depth("ntk"),
        description="fully connected NTK (Arora et al., 2020)",
    ),
    "rbf": KernelSpec(
        name="rbf",
        function=rbf,
        input_kind="vector",
        params={"gamma": Param(float, low=0.0, nullable=True, doc="None: 1 / n_features")},
        default_grid=rbf_grid,
        description="Gaussian kernel exp(-gamma ||x - y||^2)",
    ),
    "poly": KernelSpec(
        name="poly",
        function=poly,
        input_kind="vector",
        params={
            "degree": Param(int, low=1, doc="polynomial degree"),
            "gamma": Param(float, low=0.0, nullable=True, doc="None: 1 / n_features"),
            "coef0": Param(float, doc="constant term"),
        },
        default_grid=poly_grid,
        description="polynomial kernel (gamma <x, y> + coef0)^degree",
    ),
    "linear": KernelSpec(
        name="linear",
        function=linear,
        input_kind="vector",
        params={},
        default_grid=lambda X_train: [{}],
        description="linear kernel <x, y>",
    ),
}


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
    try:
        return KERNELS[name]
    except (KeyError, TypeError):
        raise InvalidParameterError(
            f"unknown kernel {name!r}; registered kernels: {', '.join(sorted(KERNELS))}"
        ) from None
