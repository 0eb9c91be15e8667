"""How the engine compiles: the numba options every function shares, and parallel/serial twins of one body.

A loop body that runs over numba's thread pool is written once, as a plain Python function with ``prange``
loops, and compiled twice by :func:`parallel_and_serial`: with ``parallel=True``, and without, where ``prange``
is an ordinary ``range``. The serial twin is for callers limited to one thread: it never starts the OpenMP
(or workqueue) pool, so a worker process forked from a parent that has used the pool stays safe (GNU OpenMP
aborts a forked child that starts a pool).

numba's on-disk cache checks only the source file of the function it caches: a step loop in ``tiles.py``
that inlines ``duals.relu_dual`` would load its old machine code after ``duals.py`` changed (as after a
``git pull`` that touches one file). :func:`_stamped` makes the cache of every engine function also depend on
the contents of all the engine's source files.
"""

from __future__ import annotations

import functools
import hashlib
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numba import njit
from numba.core import caching, lowering
from numba.core.compiler import Compiler
from numba.core.compiler_machinery import register_pass
from numba.core.typed_passes import NativeLowering

ENGINE_DIR = Path(__file__).resolve().parent


def engine_source_hash(folder: Path = ENGINE_DIR) -> str:
    """SHA-256 of the engine's source files (``*.py`` of ``folder``, by name), which every engine function's
    cache entry is stamped with."""
    files = tuple((path, path.stat().st_mtime_ns, path.stat().st_size) for path in sorted(folder.glob("*.py")))
    return _hash_files(files)


@functools.lru_cache(maxsize=8)
def _hash_files(files: tuple) -> str:
    # keyed by each file's modification time and size too, so that a file changed while running is read again
    digest = hashlib.sha256()
    for path, _, _ in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _stamped(locator: type) -> type:
    """A subclass of numba's cache locator ``locator`` for the engine's functions only, whose source stamp
    (compared with the one stored in the cache index; a mismatch means recompile) adds
    :func:`engine_source_hash` to the function's own file's stamp."""

    class EngineLocator(locator):
        def get_source_stamp(self):
            return super().get_source_stamp(), engine_source_hash()

        @classmethod
        def from_function(cls, py_func, py_file):
            if not Path(py_file).resolve().is_relative_to(ENGINE_DIR):
                return None
            return super().from_function(py_func, py_file)

    EngineLocator.__name__ = EngineLocator.__qualname__ = f"Engine{locator.__name__}"
    return EngineLocator


# numba tries its locator classes in order (a private list; without it, caching keeps numba's own stamps)
_LOCATORS = getattr(caching.CacheImpl, "_locator_classes", None)
if isinstance(_LOCATORS, list) and not any(cls.__name__.startswith("Engine") for cls in _LOCATORS):
    _LOCATORS[:0] = [_stamped(cls) for cls in _LOCATORS
                     if cls.__name__ in ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")]

JIT = {"nogil": True, "cache": True, "error_model": "numpy", "fastmath": {"contract"}}
"""Options of every compiled function of the engine; ``cache=True`` keeps the machine code on disk."""


class _WideLower(lowering.Lower):
    """numba's lowering, with the LLVM function attribute ``"prefer-vector-width"="512"`` on the function."""

    def post_lower(self):
        super().post_lower()
        # llvmlite accepts only its known attribute names through ``add``; a string attribute is written into
        # the function's definition as given, which is LLVM's syntax for it
        set.add(self.builder.function.attributes, '"prefer-vector-width"="512"')


@register_pass(mutates_CFG=True, analysis_only=False)
class _WideNativeLowering(NativeLowering):
    _name = "rntk_bench_wide_native_lowering"

    @property
    def lowering_class(self):
        return _WideLower


class NoAliasCompiler(Compiler):
    """numba's standard pipeline, with every pointer argument of the compiled function marked ``noalias`` and
    512-bit vectors preferred.

    A loop that stores to one array argument and loads from others is vectorised by LLVM only behind a
    runtime check that no two of their address ranges overlap, one comparison per pair of ranges (about 60
    for the RNTK step loops), and only from 24 iterations on: below that the loop runs scalar. Callers of a
    function compiled with this pipeline promise what ``noalias`` means: no memory written through one
    array argument is read or written through another during the call (read-only arguments may share
    memory, as X and Y of K(X) do).

    On Intel CPUs with AVX-512, LLVM compiles for 256-bit vectors unless a function asks otherwise (its
    ``prefer-256-bit`` tuning); the attribute asks for 512 bits, for the functions of this pipeline only
    (numba's ``NUMBA_CPU_FEATURES`` would change every compiled function of the process). Where the CPU has
    no 512-bit vectors the attribute changes nothing. Measured on an Intel Xeon with AVX-512: the ReLU step
    loops' mix of operations chained as in the dual (``benchmarks.limits._mix_chained``) ran at 6.2e8
    elements per second with 512-bit vectors against 4.4e8 with 256-bit ones, as the out-of-order core then
    holds twice the pairs in flight for the same instructions; ``benchmarks/README.md`` has the engine's
    figures. On an AMD Zen 4, which runs a 512-bit operation in two 256-bit halves, 512-bit vectors were
    faster too (the pair loops of the last state at N = 1000, two threads: 72-74 ms against 91-92).
    """

    def define_pipelines(self):
        self.state.flags.noalias = True
        pipelines = super().define_pipelines()
        for pm in pipelines:
            pm.passes = [(_WideNativeLowering, text) if kind is NativeLowering else (kind, text)
                         for kind, text in pm.passes]
            pm.finalize()
        return pipelines


STEP = {**JIT, "_nrt": False, "pipeline_class": NoAliasCompiler}
"""Options of the functions called once per time step (``tiles._pairs_*``, ``tiles._inputs``): no reference
counting (they never allocate or keep an array; with it each call paid an atomic increment and decrement per
array argument), no-alias arguments and 512-bit vectors where the CPU has them (see :class:`NoAliasCompiler`)."""


@njit(inline="always", **JIT)
def unliteral(k):
    """``k`` as an ``int64`` that numba does not type as a literal constant.

    A constant that a compiled caller passes (``-1`` for "no column", ``0``) reaches the callee as a literal
    type, and a ``prange`` index as ``uint64`` where ``range`` gives ``int64``: numba compiles the callee once
    for each such signature, and generates its machine code again in every library that links it. The ReLU
    step functions were compiled four times each (about 5 s each time on an AMD Zen 4); passing their
    integers through here, ``warm_up`` from an empty cache took 123 s against 182 there (2026-12-06), with the
    same results to the last bit and the same speed.
    """
    return np.int64(k)


def _renamed_copy(body: Callable, name: str) -> types.FunctionType:
    """A new function object running ``body``'s code, named ``name`` (also as its qualified name)."""
    copy = types.FunctionType(body.__code__, body.__globals__, name, body.__defaults__, body.__closure__)
    copy.__qualname__ = name
    copy.__module__ = body.__module__
    copy.__doc__ = body.__doc__
    copy.__kwdefaults__ = body.__kwdefaults__
    return copy


def parallel_and_serial(body: Callable, name: str, **options):
    """Compile ``body`` with and without ``parallel=True``.

    Parameters
    ----------
    body : function
        Plain Python function; its ``prange`` loops are parallel in the first twin and serial in the second.
    name : str
        Name of the parallel twin; the serial one is ``name + "_serial"``.
    **options
        numba options for both (such as :data:`JIT`); ``cache=True`` caches each twin on its own.

    Returns
    -------
    parallel, serial : numba dispatchers
    """
    # Each twin compiles a distinct function object with its own qualified name. Two dispatchers of one
    # function object would share numba's cache files (named by module, qualified name and line) and index
    # key (signature, target and bytecode, not the ``parallel`` flag): the serial twin would then load the
    # parallel machine code, within the same process even (seen with numba 0.68).
    parallel = njit(parallel=True, **options)(_renamed_copy(body, name))
    serial = njit(**options)(_renamed_copy(body, name + "_serial"))
    return parallel, serial
