"""The engine's reused per-sample memory (``engine/workspace.py``): what it hands out, and that no number of
one call can reach the next."""

import threading

import numpy as np
import pytest

from rntk_bench.kernels.engine import workspace
from rntk_bench.kernels.rntk import rntk, rntk_reference


@pytest.fixture(autouse=True)
def _own_buffers():
    workspace.release()
    yield
    workspace.release()


def test_a_role_gets_its_last_memory_back_where_it_is_large_enough():
    first = workspace.take("x factors", (5, 1, 30, 24))
    assert first.shape == (5, 1, 30, 24) and first.dtype == np.float64 and first.flags.c_contiguous
    again = workspace.take("x factors", (3, 2, 10, 8))                  # smaller: the same memory
    assert again.shape == (3, 2, 10, 8) and np.shares_memory(first, again)
    other = workspace.take("y factors", (3, 2, 10, 8))                  # another role: its own
    assert not np.shares_memory(other, first)
    larger = workspace.take("x factors", (5, 1, 31, 24))                # larger: new memory, kept from now on
    assert not np.shares_memory(larger, first)
    assert np.shares_memory(workspace.take("x factors", (5, 1, 31, 24)), larger)


def test_arrays_beyond_the_budget_are_not_kept(monkeypatch):
    monkeypatch.setattr(workspace, "KEEP_BYTES", 800)
    kept = workspace.take("x values", (10, 10))                          # 800 bytes: kept
    assert np.shares_memory(workspace.take("x values", (10, 10)), kept)
    big = workspace.take("x values", (11, 10))                           # beyond: handed out, not kept
    assert not np.shares_memory(workspace.take("x values", (11, 10)), big)
    assert not np.shares_memory(workspace.take("x values", (10, 10)), kept)   # nor is the older one


def test_each_thread_has_its_own_buffers():
    here = workspace.take("x factors", (100,))
    there = []
    thread = threading.Thread(target=lambda: there.append(workspace.take("x factors", (100,))))
    thread.start()
    thread.join()
    assert not np.shares_memory(here, there[0])


@pytest.mark.parametrize("params", [{}, {"output": "mean"}, {"activation": "erf", "n_layers": 2},
                                    {"direction": "bidirectional"}])
def test_no_number_of_the_last_call_reaches_the_next(params):
    """The buffers the next call takes are filled with NaN (and inf) first: every entry the loops read must
    have been written by that call, for K(X) and K(X, Y), equal and unequal lengths, after a larger call."""
    rng = np.random.default_rng(5)
    rntk(rng.normal(size=(30, 2, 25)) * 0.3, **params)                   # larger buffers than the calls below
    cases = [(rng.normal(size=(9, 2, 14)) * 0.3, None),
             ([rng.normal(size=(1, int(t))) * 0.3 for t in rng.integers(3, 12, size=8)], None),
             (rng.normal(size=(6, 2, 11)) * 0.3, rng.normal(size=(7, 2, 9)) * 0.3)]
    for X, Y in cases:
        for role in ("x factors", "x values", "y factors", "y values"):
            buffer = workspace.take(role, (1,)).base
            if buffer is not None:
                buffer[0::2] = np.nan
                buffer[1::2] = np.inf
        np.testing.assert_allclose(rntk(X, Y, **params), rntk_reference(X, Y, **params), rtol=1e-12, atol=0)


@pytest.mark.parametrize("params", [{}, {"direction": "bidirectional", "n_layers": 2}, {"direction": "reversed"},
                                    {"output": "mean"}, {"output": "mean", "direction": "bidirectional"}])
def test_every_entry_of_the_output_is_written(monkeypatch, params):
    """The last state's output is not zeroed first (``prepare.mapped_empty``): given one full of NaN, every
    entry of K(X), K(X, Y) and the NNGP beside the RNTK is still the reference's."""
    from rntk_bench.kernels import engine
    from rntk_bench.kernels.engine import compute_rntk
    from rntk_bench.kernels.rntk_inputs import RNTKParams
    from rntk_bench.kernels.validation import check_sequences

    real = engine.mapped_empty

    def poisoned(shape):
        out = real(shape)
        out[...] = np.nan
        return out

    monkeypatch.setattr(engine, "mapped_empty", poisoned)
    rng = np.random.default_rng(8)
    X = [rng.normal(size=(1, int(t))) * 0.3 for t in rng.integers(3, 12, size=11)]
    Y = X[4:] + [rng.normal(size=(1, 7)) * 0.3]
    for A, B in ((X, None), (X[:6], Y)):
        np.testing.assert_allclose(rntk(A, B, **params), rntk_reference(A, B, **params), rtol=1e-12, atol=0)
    p = RNTKParams(2, 1.4142, 0.5, 0.1, 0.0, 1.0, "relu", params.get("output", "last"),
                   params.get("direction", "forward"), 0)
    xs = check_sequences(X)
    ntk, nngp = compute_rntk(xs, xs, True, p, with_nngp=True)
    np.testing.assert_allclose(nngp, rntk_reference(X, **{**params, "n_layers": 2, "fixed_layers": 2}),
                               rtol=1e-12, atol=0)
