"""Parallel and serial twins compiled from one body: each is cached on disk on its own, and the serial one
never starts numba's thread pool, whether compiled or loaded from the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from numba import njit, prange

from rntk_bench.kernels.engine import fc, tiles
from rntk_bench.kernels.engine.jit import NoAliasCompiler, parallel_and_serial

ROOT = Path(__file__).resolve().parents[1]

TWINS = '''
from numba import prange

from rntk_bench.kernels.engine.jit import JIT, parallel_and_serial


def _total(a):
    """Sum of a."""
    s = 0.0
    for i in prange(a.shape[0]):
        s += a[i]
    return s


total, total_serial = parallel_and_serial(_total, "total", **JIT)
'''

RUN = '''
import json

import numba
import numpy as np

import twins


def pool_started():
    try:
        numba.threading_layer()
    except ValueError:                       # "Threading layer is not initialized."
        return False
    return True


a = np.arange(1000.0)
report = {"serial": twins.total_serial(a)}
report["pool_after_serial"] = pool_started()
report["parallel"] = twins.total(a)
report["pool_after_parallel"] = pool_started()
for name in ("total", "total_serial"):
    stats = getattr(twins, name).stats
    report[name] = {"hits": sum(stats.cache_hits.values()), "misses": sum(stats.cache_misses.values())}
print(json.dumps(report))
'''


def _run(folder: Path) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(folder / "cache"),
           "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", RUN], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_twins_are_cached_apart_and_the_serial_one_never_starts_the_pool(tmp_path):
    (tmp_path / "twins.py").write_text(TWINS)
    first, second = _run(tmp_path), _run(tmp_path)
    for report in (first, second):
        assert report["serial"] == report["parallel"] == 499500.0
        assert not report["pool_after_serial"]
        assert report["pool_after_parallel"]
    # One shared cache entry would let the parallel twin load the serial code in the first run, and the
    # serial twin load the parallel code (which starts the pool on loading) in the second.
    assert first["total"] == first["total_serial"] == {"hits": 0, "misses": 1}
    assert second["total"] == second["total_serial"] == {"hits": 1, "misses": 0}
    names = sorted(path.name.split("-")[0] for path in (tmp_path / "cache").rglob("*.nbi"))
    assert names == ["twins.total", "twins.total_serial"]


def test_twins_share_the_body_and_are_named_apart():
    def _body(n, step=2.0):
        """Doc."""
        s = 0.0
        for _ in prange(n):
            s += step
        return s

    parallel, serial = parallel_and_serial(_body, "scaled")
    assert parallel.py_func is not serial.py_func
    assert (parallel.py_func.__qualname__, serial.py_func.__qualname__) == ("scaled", "scaled_serial")
    assert parallel.py_func.__code__ is serial.py_func.__code__ is _body.__code__
    assert parallel.__doc__ == serial.__doc__ == "Doc."
    assert parallel(3) == serial(3) == 6.0
    assert parallel.targetoptions.get("parallel") and not serial.targetoptions.get("parallel")


def test_engine_twins_come_from_one_body_each():
    twins = ((tiles.rntk_pairs, tiles.rntk_pairs_serial), (fc.fc_ntk_inplace, fc.fc_ntk_inplace_serial))
    for parallel, serial in twins:
        assert parallel.py_func.__code__ is serial.py_func.__code__
        assert parallel.targetoptions.get("parallel") and not serial.targetoptions.get("parallel")
        assert parallel.py_func.__qualname__ + "_serial" == serial.py_func.__qualname__


def test_serial_fc_twin_mirrors_the_upper_triangle():
    """The mirroring loop is part of the twin's body now; the serial twin must run it as well."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 4))            # more than two mirror tiles
    side = fc.fc_side(X, np.einsum("ij,ij->i", X, X), 1, 1.0, 0.0, "relu")
    grams = []
    for function in (fc.fc_ntk_inplace, fc.fc_ntk_inplace_serial):
        gram = X @ X.T
        function(*fc.fc_arguments(gram, side, side, 1.0, 0.0, 1, 0, "relu", True))
        grams.append(gram)
    for gram in grams:
        np.testing.assert_array_equal(gram, gram.T)
    np.testing.assert_array_equal(grams[0], grams[1])



def test_step_options_mark_array_arguments_noalias_and_drop_the_overlap_checks():
    """``jit.STEP`` compiles with every pointer argument ``noalias``: LLVM then vectorises a loop that writes
    one array and reads others without the runtime check that their address ranges do not overlap, which
    the same loop compiled with the plain options keeps."""
    from numba import njit

    from rntk_bench.kernels.engine.jit import JIT, STEP

    def axpy(out, a, b, n):
        for j in range(n):
            out[j] = 2.0 * a[j] + b[j]

    options = {key: value for key, value in STEP.items() if key != "cache"}
    plain = {key: value for key, value in JIT.items() if key != "cache"}
    marked, unmarked = njit(**options)(axpy), njit(_nrt=False, **plain)(axpy)
    arrays = (np.zeros(64), np.arange(64.0), np.ones(64))
    for function in (marked, unmarked):
        function(*arrays, 64)
        np.testing.assert_array_equal(arrays[0], 2.0 * arrays[1] + 1.0)
        arrays[0][:] = 0.0
    ir_marked = marked.inspect_llvm(marked.signatures[0])
    ir_unmarked = unmarked.inspect_llvm(unmarked.signatures[0])
    def header(ir):                          # the compiled function's own signature line
        return next(line for line in ir.splitlines() if line.startswith("define") and "axpy" in line)

    # both mark numba's return and exception pointers; only STEP marks the three arrays' pointers as well
    assert header(ir_marked).count("noalias") >= header(ir_unmarked).count("noalias") + 3
    assert "vector.memcheck" in ir_unmarked
    assert "vector.memcheck" not in ir_marked


def test_step_pipeline_asks_for_512_bit_vectors_on_its_functions_only():
    """``NoAliasCompiler`` (the step loops' pipeline) gives its functions the LLVM attribute that asks for
    512-bit vectors, and marks their array arguments noalias; a function compiled by numba's default
    pipeline in the same process keeps neither."""

    def scaled(a, out):
        for i in range(a.shape[0]):
            out[i] = 2.0 * a[i]

    step, plain = njit(pipeline_class=NoAliasCompiler)(scaled), njit(scaled)
    a, out = np.arange(16.0), np.zeros(16)
    for function in (step, plain):
        function(a, out)
        np.testing.assert_array_equal(out, 2.0 * a)
    step_ir, plain_ir = (next(iter(f.inspect_llvm().values())) for f in (step, plain))
    assert '"prefer-vector-width"="512"' in step_ir
    assert step_ir.count("noalias") > plain_ir.count("noalias")     # numba marks a few pointers noalias anyway
    assert "prefer-vector-width" not in plain_ir
