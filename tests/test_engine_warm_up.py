"""``engine.warm_up`` compiles everything the kernels call, ahead of use; ``engine.is_cached`` tells beforehand
whether that will take long. Checked in fresh processes that share an empty numba cache folder."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

from numba.core.caching import FunctionCache
from numba.core.dispatcher import Dispatcher

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = '''
import json

import numpy as np

from rntk_bench.kernels import engine, get_kernel
from rntk_bench.kernels.engine import fc, prepare, tiles
from rntk_bench.kernels.ntk import ntk
from rntk_bench.kernels.rntk import rntk, rntk_batch, rntk_siblings
from rntk_bench.threads import limit_threads

ENTRY_POINTS = (tiles.rntk_pairs, tiles.rntk_pairs_serial, fc.fc_ntk_inplace, fc.fc_ntk_inplace_serial,
                prepare.variance_planes, prepare.variance_planes_serial)


def counts(name):
    return sum(sum(getattr(d.stats, name).values()) for d in ENTRY_POINTS)


report = {"cached_before": engine.is_cached(), "misses_before": counts("cache_misses")}
report["seconds"] = engine.warm_up()
report["cached_after"] = engine.is_cached()
# specialisations compiled in this process (none where loaded from the cache): the loops that take seconds to
# compile, once each whatever constants their callers pass (``jit.unliteral``)
report["compilations"] = {name: len(getattr(tiles, name).overloads)
                          for name in ("_pairs_relu_last", "_pairs_relu_last_direct", "_pairs_relu_last_first")}
report["compilations"]["fc._row"] = len(fc._row.overloads)
report["hits"], report["misses"] = counts("cache_hits"), counts("cache_misses")

# Calls as the runner and users make them compile nothing more, whatever the thread count and whether the
# scales come as floats, ints or numpy scalars.
overloads = sum(len(d.overloads) for d in ENTRY_POINTS)
rng = np.random.default_rng(0)
X = [rng.normal(size=(2, n)) for n in (3, 5, 4)]
Y = [rng.normal(size=(2, n)) for n in (2, 6)]
V, W = rng.normal(size=(4, 3)), rng.normal(size=(2, 3))
for threads in (1, 2):
    with limit_threads(threads):
        for activation in ("relu", "erf"):
            for output in ("last", "mean"):
                get_kernel("rntk", activation=activation, output=output, direction="bidirectional")(X, Y)
                rntk(X, activation=activation, output=output, sigma_w=2, sigma_u=np.float64(0.5), n_layers=2)
                settings = rntk_siblings(get_kernel("rntk", activation=activation, output=output).params)
                rntk_batch(X, None, settings)
            get_kernel("ntk", activation=activation, n_layers=2)(V, W)
            ntk(V, activation=activation, sigma_w=1, sigma_b=0, n_layers=np.int64(3), fixed_layers=1)
report["new_overloads"] = sum(len(d.overloads) for d in ENTRY_POINTS) - overloads
print(json.dumps(report))
'''


def _run(cache: Path) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_warm_up_fills_the_cache_that_is_cached_reports(tmp_path):
    first = _run(tmp_path / "cache")
    assert first["cached_before"] is False
    assert first["misses_before"] == 0                  # is_cached compiled nothing
    assert first["misses"] == 6 and first["hits"] == 0  # the six entry points, compiled
    assert first["cached_after"] is True
    assert first["new_overloads"] == 0
    assert first["seconds"] > 0
    assert first["compilations"] == dict.fromkeys(first["compilations"], 1)

    second = _run(tmp_path / "cache")
    assert second["cached_before"] is True
    assert second["misses"] == 0 and second["hits"] == 6  # loaded, not compiled
    assert second["cached_after"] is True
    assert second["new_overloads"] == 0
    assert second["seconds"] < first["seconds"]


def test_every_compiled_function_of_the_engine_is_cached_on_disk():
    names = ["rntk_bench.kernels.engine" + suffix for suffix in ("", ".duals", ".fc", ".tiles", ".prepare", ".jit")]
    dispatchers = [
        value
        for module in map(importlib.import_module, names)
        for value in vars(module).values()
        if isinstance(value, Dispatcher) and value.py_func.__module__ == module.__name__
    ]
    assert len(dispatchers) >= 15
    uncached = [d.py_func.__qualname__ for d in dispatchers if not isinstance(d._cache, FunctionCache)]
    assert not uncached
