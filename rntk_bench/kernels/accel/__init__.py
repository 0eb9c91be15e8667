"""An optional accelerator engine: the RNTK and fully connected NTK Gram matrices in float64 with JAX.

The numba engine (``kernels/engine``) stays the default; this package computes the same matrices (to about
1e-15 relative, tests check 1e-12) on a GPU, or with JAX on the CPU, where CI tests it. JAX is optional:
``pip install 'rntk-bench[gpu]'`` installs it with CUDA 12, the ``test`` extra the CPU-only wheel.

>>> from rntk_bench.kernels.accel import available_devices, gram, resolve_device
>>> available_devices()                      # ['numba', 'cpu', 'gpu:0'] on a machine with a GPU and JAX
>>> device, message = resolve_device("gpu")  # message is None when the request is met, else says why not
>>> G = gram("rntk", {"n_layers": 2, "output": "mean"}, X, device=device)

Device names: ``"numba"`` (the CPU engine), ``"cpu"`` (JAX on the CPU), ``"gpu"`` (JAX's first GPU) or
``"gpu:N"``, and ``"auto"`` (the first GPU if JAX sees one, else numba). :func:`resolve_device` turns a
name into a :class:`Device`, falling back to the numba engine with a message when JAX is missing or has no
GPU; :func:`gram` never falls back on its own (it raises :class:`DeviceUnavailableError` with that message),
so that a caller who asked for a GPU always learns where the work ran.

float64 is turned on only around this engine's own JAX work (``backend.float64``), never globally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rntk_bench.errors import InvalidParameterError
from rntk_bench.kernels import get_kernel
from rntk_bench.kernels.accel.backend import jax_or_reason, platform_devices
from rntk_bench.kernels.registry import Kernel, check_finite_gram

__all__ = ["ACCELERATED_KERNELS", "DEVICE_NAMES", "MIN_DEVICE_WORK", "Device", "DeviceKernel",
           "DeviceUnavailableError", "available_devices", "device_kernel", "gram", "pair_steps", "resolve_device"]

ACCELERATED_KERNELS = ("rntk", "ntk")
"""Kernels this engine computes; every parameter of each is supported."""

MIN_DEVICE_WORK = 3e8
"""Pair-layer-steps below which the runner computes a Gram block with the numba engine even on a device
(:attr:`DeviceKernel.min_work`). On an NVIDIA H200 against the numba engine on 16 cores
(``results/bench/gpu-h200/``) the numba engine was faster on every case up to 1.5e8 pair-layer-steps and the
GPU on every case from 8e8 on, and each new shape costs the GPU a compilation (0.07-2.3 s): a run over many
small datasets would spend its time compiling. Direct calls (:func:`gram`, :func:`device_kernel`) use the
device whatever the size unless asked otherwise."""

DEVICE_NAMES = ("auto", "numba", "cpu", "gpu", "gpu:N")
"""What :func:`resolve_device` accepts (``gpu:N`` with a device number N)."""

_INSTALL = "install it with: pip install 'rntk-bench[gpu]' (CUDA 12) or pip install jax (CPU only)"


class DeviceUnavailableError(InvalidParameterError):
    """A requested device cannot be used (JAX missing, no such GPU); the message says why and what to do."""


@dataclass(frozen=True)
class Device:
    """Where a Gram matrix is computed: the numba engine, or a JAX platform and device number.

    Plain data (picklable, no JAX object): the JAX device is looked up when work starts.

    Attributes
    ----------
    engine : {"numba", "jax"}
    platform : {"cpu", "gpu"} or None
        JAX's platform (None for numba).
    index : int
        Position among JAX's devices of that platform.
    """

    engine: str
    platform: str | None = None
    index: int = 0

    def __str__(self) -> str:
        if self.engine == "numba":
            return "numba"
        return "cpu" if self.platform == "cpu" else f"{self.platform}:{self.index}"

    def jax_device(self):
        """The JAX device object; raises DeviceUnavailableError if it is gone."""
        jax, reason = jax_or_reason()
        found = platform_devices(jax, self.platform) if jax is not None else []
        if self.engine != "jax" or self.index >= len(found):
            raise DeviceUnavailableError(f"device {self} is not available: {reason or 'JAX does not list it'}")
        return found[self.index]

    def describe(self) -> str:
        """One line for a table or a log: the engine, the library version and the hardware."""
        if self.engine == "numba":
            return "numba CPU engine"
        jax, _ = jax_or_reason()
        device = self.jax_device()
        kind = getattr(device, "device_kind", self.platform)
        return f"JAX {jax.__version__} on {kind} ({self})"


def available_devices() -> list[str]:
    """The device names usable here: always ``"numba"``; ``"cpu"`` and ``"gpu:N"`` where JAX works.

    TPUs are not listed: they have no float64 arithmetic.

    Returns
    -------
    list of str
    """
    jax, _ = jax_or_reason()
    if jax is None:
        return ["numba"]
    return ["numba", "cpu"] + [f"gpu:{index}" for index in range(len(platform_devices(jax, "gpu")))]


def _parse(requested: str | Device | None) -> tuple[str, str, int]:
    """``(name, kind, index)`` of a device request; raises InvalidParameterError for an unknown name."""
    name = "auto" if requested is None else str(requested).strip().lower()
    match = re.fullmatch(r"(auto|numba|cpu|gpu)(?::(\d+))?", name)
    if match is None or (match.group(2) is not None and match.group(1) != "gpu"):
        raise InvalidParameterError(f"unknown device {requested!r}; choose one of {', '.join(DEVICE_NAMES)}")
    return name, match.group(1), int(match.group(2) or 0)


def _find(kind: str, index: int) -> tuple[Device | None, str | None]:
    """The JAX device asked for (``"auto"``: the first GPU), or ``(None, why it cannot be had)``."""
    jax, reason = jax_or_reason()
    if jax is None:
        return None, f"{reason} ({_INSTALL})"
    if kind == "cpu":
        return Device("jax", "cpu", 0), None
    gpus = platform_devices(jax, "gpu")
    if index < len(gpus):
        return Device("jax", "gpu", index), None
    platforms = sorted({device.platform for device in jax.devices()})
    hint = "" if gpus else " (for NVIDIA GPUs install JAX with CUDA: pip install 'rntk-bench[gpu]')"
    return None, f"JAX {jax.__version__} sees {len(gpus)} GPU(s), platforms: {', '.join(platforms)}{hint}"


def resolve_device(requested: str | Device | None = "auto") -> tuple[Device, str | None]:
    """Turn a device name into a :class:`Device`, falling back to the numba engine when it cannot be met.

    Parameters
    ----------
    requested : str, Device or None
        One of :data:`DEVICE_NAMES` (None means ``"auto"``), or a Device (checked that it is still there).

    Returns
    -------
    device : Device
    message : str or None
        None when ``requested`` is met as asked; otherwise one line saying why and that the numba CPU engine
        runs instead (also for ``"auto"`` without a GPU). Never printed here: the caller shows it.

    Raises
    ------
    InvalidParameterError
        A name that is none of :data:`DEVICE_NAMES`.
    """
    name, kind, index = _parse(requested)
    if kind == "numba":
        return Device("numba"), None
    device, reason = _find(kind, index)
    if device is not None:
        return device, None
    what = "no GPU for 'auto'" if kind == "auto" else f"device {name!r} is not available"
    return Device("numba"), f"{what}: {reason}; computing on the numba CPU engine"


def _strict(requested: str | Device | None) -> Device:
    """:func:`resolve_device` without the fallback (``"auto"`` excepted)."""
    name, kind, index = _parse(requested)
    if kind in ("numba", "auto"):
        return resolve_device(name)[0]
    device, reason = _find(kind, index)
    if device is None:
        raise DeviceUnavailableError(f"device {name!r} is not available: {reason}; resolve_device({name!r}) "
                                     "falls back to the numba CPU engine with a message")
    return device


def gram(name: str, params: dict | None, X, Y=None, device: str | Device | None = "auto", *,
         memory_bytes: int | None = None) -> np.ndarray:
    """The Gram matrix of a registered kernel on ``device``: ``get_kernel(name, **params)(X, Y)``'s values.

    Parameters
    ----------
    name : {"rntk", "ntk"}
        Other registered kernels are computed by the numba/NumPy code whatever the device.
    params : dict or None
        The kernel's parameters (omitted ones take their defaults; validated by the registry).
    X, Y
        As for the kernel (``Y`` omitted: K(X), with the RNTK's ``sigma_h`` term on the diagonal).
    device : str or Device
        A :class:`Device` from :func:`resolve_device` (the normal use), or a name; a name that cannot be met
        raises instead of falling back (``"auto"`` excepted).
    memory_bytes : int, optional
        Working memory of one tile on the device; default: half its free memory, or 512 MiB on a CPU
        (``backend.tile_budget``).

    Returns
    -------
    ndarray of shape (n_x, n_y), float64

    Raises
    ------
    InvalidParameterError
        Unknown kernel, parameter or device name, or a value out of range.
    DeviceUnavailableError
        A named device that is not available.
    InvalidInputError
        Invalid input, or a result with an inf or NaN entry (named by row and column).
    """
    return device_kernel(name, device, memory_bytes=memory_bytes, **(params or {}))(X, Y)


def pair_steps(name: str, params: dict, lengths_x, lengths_y, same: bool) -> float:
    """The work of one Gram block in pair-layer-steps, as the benchmarks count it.

    Parameters
    ----------
    name : {"rntk", "ntk"}
    params : dict
        The kernel's full parameters (``n_layers``; for the RNTK ``output`` and ``direction``).
    lengths_x, lengths_y : array-like of int
        The samples' lengths (time steps of each series; 1 for the rows of the FC NTK).
    same : bool
        K(X): the pairs of the upper triangle with its diagonal.

    Returns
    -------
    float
        Pairs x steps of their chains (the shorter length for the last state, the product of the lengths for
        mean pooling, 1 for the FC NTK) x layers x directions.
    """
    lx, ly = np.asarray(lengths_x, dtype=float), np.asarray(lengths_y, dtype=float)
    n_x, n_y = len(lx), len(ly)
    pairs = n_x * (n_x + 1) / 2 if same else float(n_x) * n_y
    if name != "rntk":
        return pairs * params["n_layers"]
    steps = lx.mean() * ly.mean() if params["output"] == "mean" else min(lx.mean(), ly.mean())
    directions = 2 if params["direction"] == "bidirectional" else 1
    return pairs * steps * params["n_layers"] * directions


@dataclass(frozen=True, eq=False)
class DeviceKernel:
    """A registered kernel bound to its parameters and a device: ``k(X)``, ``k(X, Y)`` like a
    :class:`~rntk_bench.kernels.registry.Kernel`, with the same ``id`` (the values do not depend on the
    device beyond rounding), ``name``, ``params`` and ``spec``.

    A call whose work (:func:`pair_steps`) is below ``min_work`` runs the numba engine instead (the runner
    sets :data:`MIN_DEVICE_WORK`; 0, the default, keeps every call on the device)."""

    kernel: Kernel
    device: Device
    memory_bytes: int | None = None
    min_work: float = 0.0

    name = property(lambda self: self.kernel.name)
    id = property(lambda self: self.kernel.id)
    params = property(lambda self: self.kernel.params)
    spec = property(lambda self: self.kernel.spec)

    def on_device(self, X, Y=None) -> bool:
        """Whether ``self(X, Y)`` runs on the device: an accelerated kernel on a JAX device, and at least
        ``min_work`` pair-layer-steps (:func:`pair_steps`, from the samples' lengths along their last axis).
        Inputs whose lengths cannot be read go to the registered kernel, whose validation names the fault."""
        if self.device.engine == "numba" or self.kernel.name not in ACCELERATED_KERNELS:
            return False
        if self.min_work <= 0:
            return True

        def lengths(Z):                  # time is the last axis of every series (``check_sequences``)
            return [np.shape(z)[-1] for z in Z] if self.kernel.name == "rntk" else np.ones(len(Z))

        try:
            lengths_x = lengths(X)
            lengths_y = lengths_x if Y is None else lengths(Y)
        except (TypeError, IndexError):
            return False
        return pair_steps(self.kernel.name, dict(self.kernel.params), lengths_x, lengths_y, Y is None) >= self.min_work

    def __call__(self, X, Y=None) -> np.ndarray:
        if not self.on_device(X, Y):
            return self.kernel(X, Y)
        jax_device = self.device.jax_device()
        params = dict(self.kernel.params)
        if self.kernel.name == "rntk":
            from rntk_bench.kernels.accel.rntk import rntk_gram
            from rntk_bench.kernels.rntk_inputs import RNTKParams, prepare_call

            p = RNTKParams.from_arguments(params)
            xs, ys, same = prepare_call(X, Y, p)
            result = rntk_gram(xs, ys, same, p, jax_device, self.memory_bytes)
        else:
            from rntk_bench.kernels.accel.fc import fc_gram
            from rntk_bench.kernels.validation import check_same_width, check_vectors

            Xv = check_vectors(X, "X")
            Yv = Xv if Y is None else check_vectors(Y, "Y")
            check_same_width(Xv, Yv)
            result = fc_gram(Xv, Yv, Y is None, memory_bytes=self.memory_bytes, device=jax_device, **params)
        check_finite_gram(result, self.kernel.id)
        return result

    def __repr__(self) -> str:
        return f"DeviceKernel({self.kernel.id}, device={self.device})"


def device_kernel(name: str, device: str | Device | None = "auto", *, memory_bytes: int | None = None,
                  min_work: float = 0.0, **params) -> DeviceKernel:
    """``get_kernel(name, **params)`` bound to ``device``: what a runner calls instead of ``get_kernel``.

    Parameters
    ----------
    name : str
        Any registered kernel; those outside :data:`ACCELERATED_KERNELS` run their own code.
    device : str or Device
        As for :func:`gram` (a name that cannot be met raises DeviceUnavailableError).
    memory_bytes : int, optional
    min_work : float
        Calls of less work (:func:`pair_steps`) run the numba engine; 0 (default): none do.
    **params
        The kernel's parameters.

    Returns
    -------
    DeviceKernel
    """
    return DeviceKernel(get_kernel(name, **params), _strict(device), memory_bytes, float(min_work))
