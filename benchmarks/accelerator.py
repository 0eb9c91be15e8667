"""The accelerator engine (``rntk_bench.kernels.accel``, JAX) as one more implementation in the benchmark table.

``--device auto`` (the default of ``make bench``) adds it where JAX sees a GPU and says why not otherwise;
``--device gpu:N`` asks for one GPU, ``--device cpu`` times JAX on the CPU (slower than the numba engine: it
is there for checking, not for speed), ``--device none`` leaves it out.

JAX compiles a tile function on the first call of each shape: each case is called once before the timed
calls, and that first call's seconds (compilation included) go to ``bench.csv`` as ``first_call_seconds``.
Peak memory counts host allocations only (tracemalloc does not see device memory).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rntk_bench.kernels.accel import Device, gram, resolve_device


@dataclass
class Accelerator:
    """The resolved device and the label of its rows."""

    device: Device
    label: str
    description: str
    first_calls: dict

    def kernel(self, name: str) -> Callable:
        """``f(X, Y=None, **params)`` computing kernel ``name`` on the device, called like the others."""
        def call(X, Y=None, **params):
            return gram(name, params, X, Y, device=self.device)
        return call

    def warm_up(self, key: str, function: Callable[[], object]) -> float:
        """Call once (compiling for this shape); record and return the seconds."""
        start = time.perf_counter()
        function()
        self.first_calls[key] = time.perf_counter() - start
        return self.first_calls[key]


def accelerator(requested: str) -> tuple[Accelerator | None, str | None]:
    """The accelerator to add to the table, or None with the reason (None without a message for ``none``)."""
    if requested == "none":
        return None, None
    device, message = resolve_device(requested)
    if device.engine == "numba":       # the numba engine is the "engine" column already
        return None, message or "the numba engine is the table's engine column already"
    if message is not None:
        return None, message
    description = device.describe()
    return Accelerator(device, f"accelerator, JAX {device}", description, {}), None
