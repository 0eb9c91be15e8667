"""The analytic RNTK and fully connected NTK against the empirical NTK of finite-width networks.

The networks are those of docs/kernels.md sections 1 and 4 (``tests/finite_networks.py``, NumPy with
hand-written backpropagation, itself checked against finite differences here). For every case the mean over
seeds of the empirical Gram matrix ``J J^T`` must agree with ``get_kernel(...)(X)`` in relative Frobenius
norm within the tier's tolerance. The tolerance is set by the finite-width error: the Monte-Carlo standard
error of the mean over seeds (each test also asserts that this error is at most a third of the tolerance, so
the comparison has the power to see a deviation of the tolerance's size) plus the ``O(1/width)`` bias of the
expected finite-width NTK. Negative controls show that kernels off by a few percent in one modelling choice
(input scale, reading direction, readout, initial state, frozen layers) are rejected.

All cases of a tier share the same sampled networks (a stack of two layers read in both directions; a
one-layer or single-direction case uses part of it), so the weights are drawn once per seed and tier.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import numpy as np
import pytest
from finite_networks import (
    RNN,
    FCSettings,
    FCTrace,
    FCWeights,
    RNNBatch,
    RNNSettings,
    RNNWeights,
    fc_gram,
    fc_jacobian,
    fc_outputs,
    fc_trace,
    fc_trace_gram,
    fc_weight_blocks,
    initial_states,
    rnn_gram,
    rnn_jacobian,
    rnn_outputs,
    rnn_trace,
    rnn_trace_gram,
    weight_blocks,
)

from rntk_bench.kernels import get_kernel
from rntk_bench.kernels.validation import check_sequences
from rntk_bench.threads import limit_threads

SEED = 20210503


def stream(*key: int) -> np.random.Generator:
    """An independent, reproducible generator for each key.

    The key's entries are shifted by one because numpy's ``SeedSequence`` pads its entropy with zeros, so
    ``[a, b]`` and ``[a, b, 0]`` would give the same stream (and, say, initial states equal to weights).
    """
    return np.random.default_rng([SEED, *(k + 1 for k in key)])


# --------------------------------------------------------------------------------------------------------------
# Inputs and the comparison
# --------------------------------------------------------------------------------------------------------------


def _inputs() -> dict[str, list[np.ndarray]]:
    """Time-major series ``(T_i, n_channels)`` by name."""
    x0 = np.array(
        [[0.1, 0.2, 0.3, 0.4, 0.5], [0.5, 0.4, 0.3, 0.2, 0.1], [1, 0, -1, 0, 1], [0.5, -0.5, 0.5, -0.5, 0.5]]
    ) / np.sqrt(3)
    unequal = [
        np.array([[0.5, -0.2], [0.1, 0.4], [-0.3, 0.3]]),
        np.array([[0.2, 0.2], [0.0, -0.5], [0.4, 0.1], [-0.1, 0.3], [0.3, -0.3]]),
        np.array([[-0.4, 0.1], [0.2, 0.2], [0.1, -0.1], [0.5, 0.0]]),
    ]
    multichannel = stream(0).uniform(-1.0, 1.0, size=(4, 4, 3))   # 4 series, T = 4, m = 3
    return {
        "univariate": check_sequences(x0),          # docs/kernels.md section 5: 4 series, T = 5
        "unequal": unequal,                         # section 5: lengths 3, 5, 4, m = 2
        "multichannel": list(multichannel),
    }


INPUTS = _inputs()
MAX_CHANNELS = max(seqs[0].shape[1] for seqs in INPUTS.values())


def as_kernel_input(sequences: list[np.ndarray]) -> list[np.ndarray]:
    """The kernels' input convention: a list of ``(n_channels, T_i)`` arrays."""
    return [seq.T for seq in sequences]


@dataclass(frozen=True)
class Estimate:
    """Per-seed matrices of one case and their comparison with a kernel.

    Attributes
    ----------
    samples : ndarray of shape (n_seeds, n_x, n_y)
    """

    samples: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return self.samples.mean(axis=0)

    def rel_error(self, kernel: np.ndarray) -> float:
        """``||mean - kernel||_F / ||kernel||_F``."""
        return float(np.linalg.norm(self.mean - kernel) / np.linalg.norm(kernel))

    def rel_stderr(self, kernel: np.ndarray) -> float:
        """Standard error of the mean in the same relative Frobenius norm (entries' errors added in squares)."""
        stderr = self.samples.std(axis=0, ddof=1) / np.sqrt(len(self.samples))
        return float(np.linalg.norm(stderr) / np.linalg.norm(kernel))


def assert_agrees(estimate: Estimate, kernel: np.ndarray, tol: float, what: str) -> None:
    error, stderr = estimate.rel_error(kernel), estimate.rel_stderr(kernel)
    assert stderr <= tol / 3, f"{what}: too few seeds to test at {tol:.1%} (standard error {stderr:.2%})"
    assert error <= tol, (
        f"{what}: empirical and analytic kernels differ by {error:.2%} (relative Frobenius), beyond the "
        f"finite-width tolerance {tol:.1%} (standard error {stderr:.2%})\nempirical:\n{estimate.mean}\n"
        f"analytic:\n{kernel}"
    )


def assert_rejects(estimate: Estimate, wrong: np.ndarray, tol: float, what: str) -> None:
    error = estimate.rel_error(wrong)
    assert error > tol, f"negative control {what}: a wrong kernel is within {error:.2%} <= {tol:.1%}"


# --------------------------------------------------------------------------------------------------------------
# Tiers and cases
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    """Widths, seeds and the tolerance they justify (relative Frobenius norm)."""

    name: str
    width: int
    n_seeds: int
    nngp_readouts: int      # readouts per network for the output covariance
    tol: float
    fc_width: int
    fc_seeds: int
    dtype: type = np.float32    # of the sampled weights (rounding 1e-7, far below the Monte-Carlo error)


# The finite-width error of the RNN's NTK is large at the edge of chaos (ReLU, sigma_w^2 = 2): the same W at
# every step makes a seed's fluctuations add up coherently over time, the relative spread of one seed's Gram
# matrix is about 0.2-0.3 at width 500 and 0.15-0.2 at width 1000, and the expected Gram sits about 15/width
# above the limit (measured: +7 %, +3 %, +1.4 % at widths 250, 500, 1000 for a one-layer ReLU with sigma_h).
# Fast: bias <= 3 % plus standard error <= 2 % (asserted) gives 6 %; slow: bias <= 1.5 % plus standard
# error <= 1.33 % gives 4 %.
FAST = Tier("fast", width=500, n_seeds=192, nngp_readouts=512, tol=0.06, fc_width=500, fc_seeds=96)
SLOW = Tier("slow", width=1000, n_seeds=224, nngp_readouts=2048, tol=0.04, fc_width=2000, fc_seeds=64)


@dataclass(frozen=True)
class Case:
    """One RNN configuration: ``kind`` is ``"gram"`` (``K(X)``), ``"cross"`` (``K(X, Y)`` with ``Y`` the
    same series as separate inputs) or ``"outputs"`` (second moment of the outputs: the NNGP)."""

    name: str
    inputs: str
    settings: RNNSettings
    kind: str = "gram"

    def analytic(self, **changes) -> np.ndarray:
        """``get_kernel("rntk", ...)`` on this case's inputs, with ``changes`` to its settings."""
        kernel = get_kernel("rntk", **replace(self.settings, **changes).kernel_params())
        X = as_kernel_input(INPUTS[self.inputs])
        return kernel(X, X) if self.kind == "cross" else kernel(X)


S = RNNSettings
# The unequal-length cases use the settings of docs/kernels.md section 5 (sigma_w = sqrt(2), sigma_u = 1).
UNEQUAL = {"sigma_w": np.sqrt(2.0), "sigma_u": 1.0, "sigma_b": 0.1}
FAST_CASES = (
    Case("relu-L1-last", "univariate", S(n_layers=1)),
    Case("relu-L2-last", "univariate", S(n_layers=2)),
    Case("erf-L1-last-multichannel", "multichannel", S(n_layers=1, activation="erf")),
    Case("erf-L2-last-sigma_h", "univariate", S(n_layers=2, activation="erf", sigma_h=0.5)),
    # sigma_w = 1 here: the initial state's term is structural, and below the edge of chaos (sigma_w^2 = 2
    # for ReLU) the finite-width error of these narrow networks is half as large.
    Case("relu-L1-last-sigma_h", "univariate", S(n_layers=1, sigma_w=1.0, sigma_h=0.5)),
    Case("relu-L1-last-sigma_h-cross", "univariate", S(n_layers=1, sigma_w=1.0, sigma_h=0.5), kind="cross"),
    Case("relu-L1-mean", "univariate", S(n_layers=1, output="mean")),
    Case("relu-L2-mean-unequal", "unequal", S(n_layers=2, output="mean", **UNEQUAL)),
    Case("relu-L1-bidirectional-unequal", "unequal", S(n_layers=1, direction="bidirectional", **UNEQUAL)),
    Case("erf-L2-reversed", "univariate", S(n_layers=2, activation="erf", direction="reversed")),
    Case("relu-L2-fixed1", "univariate", S(n_layers=2, fixed_layers=1)),
    Case("relu-L2-nngp-mean-unequal", "unequal", S(n_layers=2, output="mean", fixed_layers=2, **UNEQUAL),
         kind="outputs"),
    Case("erf-L1-nngp-bidirectional", "univariate", S(n_layers=1, activation="erf", direction="bidirectional",
                                                     fixed_layers=1), kind="outputs"),
)


def _slow_cases() -> tuple[Case, ...]:
    """Both activations and depths, each with five readout/direction combinations on unequal lengths with
    sigma_h > 0, mean pooling of multichannel series, and frozen layers; for ReLU also the cross Gram and
    the NNGP by output covariance."""
    combinations = [("last", "forward"), ("last", "reversed"), ("last", "bidirectional"),
                    ("mean", "forward"), ("mean", "bidirectional")]
    cases = []
    for activation in ("relu", "erf"):
        for depth in (1, 2):
            for output, direction in combinations:
                settings = S(n_layers=depth, activation=activation, output=output, direction=direction,
                             sigma_h=0.5, **UNEQUAL)
                cases.append(Case(f"{activation}-L{depth}-{output}-{direction}-unequal", "unequal", settings))
            cases.append(Case(f"{activation}-L{depth}-mean-multichannel", "multichannel",
                              S(n_layers=depth, activation=activation, output="mean", sigma_h=0.3)))
        cases.append(Case(f"{activation}-L2-fixed1-mean-bidirectional", "univariate",
                          S(n_layers=2, activation=activation, fixed_layers=1, output="mean",
                            direction="bidirectional")))
    for depth in (1, 2):
        # sigma_h = 0.3: the initial state's term is still 80-90 % of K(X) - K(X, X), and less noisy.
        cases.append(Case(f"relu-L{depth}-last-sigma_h-cross", "univariate", S(n_layers=depth, sigma_h=0.3),
                          kind="cross"))
        cases.append(Case(f"relu-L{depth}-nngp-last-unequal", "unequal",
                          S(n_layers=depth, fixed_layers=depth, sigma_h=0.5, **UNEQUAL), kind="outputs"))
    return tuple(cases)


SLOW_CASES = _slow_cases()


@cache
def rnn_estimates(cases: tuple[Case, ...], tier: Tier) -> dict[str, Estimate]:
    """Empirical matrices of every case, over ``tier.n_seeds`` sampled networks shared by the cases."""
    samples: dict[str, list[np.ndarray]] = {case.name: [] for case in cases}
    with limit_threads(1):       # products of a few rows: threads only contend with each other
        for seed in range(tier.n_seeds):
            _rnn_seed(cases, tier, seed, samples)
    return {name: Estimate(np.array(values)) for name, values in samples.items()}


def _rnn_seed(cases: tuple[Case, ...], tier: Tier, seed: int, samples: dict[str, list[np.ndarray]]) -> None:
    """Sample one network and append every case's matrix for it to ``samples``."""
    net = RNN.sample(stream(2, seed), 2, tier.width, MAX_CHANNELS, dtype=tier.dtype)
    for index, case in enumerate(cases):
        rng = stream(3, seed, index)      # initial states and NNGP readouts
        X = INPUTS[case.inputs]
        if case.kind == "outputs":
            out = rnn_outputs(net, case.settings, X, rng, tier.nngp_readouts)
            samples[case.name].append(out @ out.T / tier.nngp_readouts)
        else:
            samples[case.name].append(rnn_gram(net, case.settings, X, X if case.kind == "cross" else None, rng))


def _case(cases: tuple[Case, ...], name: str) -> Case:
    return next(case for case in cases if case.name == name)


# --------------------------------------------------------------------------------------------------------------
# The hand-written backpropagation
# --------------------------------------------------------------------------------------------------------------


def _directional_derivative(jacobian: dict[str, np.ndarray], direction: dict[str, np.ndarray]) -> np.ndarray:
    return sum(
        jacobian[name].reshape(len(jacobian[name]), -1) @ np.ravel(direction[name]) for name in jacobian
    )


def _frozen(direction: RNNWeights, fixed_layers: int) -> RNNWeights:
    """``direction`` with the blocks of the frozen layers set to zero."""
    def keep(blocks):
        return tuple(np.zeros_like(block) if l < fixed_layers else block for l, block in enumerate(blocks))
    return RNNWeights(W=keep(direction.W), U=keep(direction.U), b=keep(direction.b), V=direction.V)


@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("output", ["last", "mean"])
@pytest.mark.parametrize("depth, fixed", [(1, 0), (2, 0), (2, 1), (2, 2)])
def test_rnn_backprop_matches_finite_differences(activation, output, depth, fixed):
    """The hand-written BPTT gradient along a random direction of the trained parameters equals the
    central difference of the output, and ``J J^T`` equals the Gram assembled without materialising J."""
    rng = stream(16, depth, fixed)
    p = S(n_layers=depth, activation=activation, output=output, fixed_layers=fixed, sigma_h=0.7, sigma_b=0.3)
    sequences = [rng.standard_normal((length, 2)) for length in (3, 5, 4)]
    batch = RNNBatch.from_sequences(sequences)
    weights = RNNWeights.sample(rng, depth, 12, 2)
    h0 = initial_states(rng, p, len(sequences), weights.width)
    trace = rnn_trace(weights, p, batch, h0)
    jacobian = rnn_jacobian(trace, p)

    direction = _frozen(RNNWeights.sample(rng, depth, 12, 2), fixed)
    step = 1e-6
    plus = rnn_trace(weights.shifted(direction, step), p, batch, h0).f[:, 0]
    minus = rnn_trace(weights.shifted(direction, -step), p, batch, h0).f[:, 0]
    expected = (plus - minus) / (2 * step)
    np.testing.assert_allclose(_directional_derivative(jacobian, weight_blocks(direction, p, 2)), expected,
                               rtol=1e-6, atol=1e-8 * np.abs(expected).max())

    flat = np.concatenate([block.reshape(len(sequences), -1) for block in jacobian.values()], axis=1)
    np.testing.assert_allclose(rnn_trace_gram(trace, trace, p), flat @ flat.T, rtol=1e-12, atol=1e-14)


def test_rnn_gram_over_several_readouts_is_their_average():
    """Networks that share the recurrent layers but not the readout: the Gram assembled over ``k`` readouts
    is the mean of the ``k`` single-readout Grams."""
    rng = stream(18)
    p = S(n_layers=2, output="mean", sigma_h=0.5)
    sequences = INPUTS["unequal"]
    batch = RNNBatch.from_sequences(sequences)
    weights = RNNWeights.sample(rng, 2, 10, 2, n_readouts=3)
    h0 = initial_states(rng, p, len(sequences), weights.width)
    trace = rnn_trace(weights, p, batch, h0)
    singles = []
    for r in range(3):
        single = rnn_trace(replace(weights, V=weights.V[:, r:r + 1]), p, batch, h0)
        np.testing.assert_allclose(single.f[:, 0], trace.f[:, r], rtol=1e-12)
        singles.append(rnn_trace_gram(single, single, p))
    np.testing.assert_allclose(rnn_trace_gram(trace, trace, p), np.mean(singles, axis=0), rtol=1e-12)


def _fc_frozen(direction: FCWeights, p: FCSettings) -> FCWeights:
    """``direction`` with the frozen weight layers ``0..fixed_layers-1`` set to zero."""
    if p.fixed_layers == 0:
        return direction
    hidden = tuple(w if h + 1 >= p.fixed_layers else np.zeros_like(w) for h, w in enumerate(direction.hidden))
    biases = tuple(b if h + 1 >= p.fixed_layers else np.zeros_like(b) for h, b in enumerate(direction.biases))
    return replace(direction, first=np.zeros_like(direction.first), hidden=hidden, biases=biases)


@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("depth, fixed", [(0, 0), (1, 0), (1, 1), (2, 1), (3, 0), (3, 2), (3, 3)])
def test_fc_backprop_matches_finite_differences(activation, depth, fixed):
    rng = stream(17, depth, fixed)
    p = FCSettings(n_layers=depth, fixed_layers=fixed, sigma_w=1.3, sigma_b=0.2, activation=activation)
    X = rng.standard_normal((4, 6)) / 2
    weights = FCWeights.sample(rng, 3, 15, 6)
    trace: FCTrace = fc_trace(weights, p, X)
    jacobian = fc_jacobian(trace, p)
    direction = _fc_frozen(FCWeights.sample(rng, 3, 15, 6), p)
    step = 1e-6
    expected = (fc_trace(weights.shifted(direction, step), p, X).f
                - fc_trace(weights.shifted(direction, -step), p, X).f) / (2 * step)
    np.testing.assert_allclose(_directional_derivative(jacobian, fc_weight_blocks(direction, p)), expected,
                               rtol=1e-6, atol=1e-8 * np.abs(expected).max())
    flat = np.concatenate([block.reshape(len(X), -1) for block in jacobian.values()], axis=1)
    np.testing.assert_allclose(fc_gram(weights, p, X), flat @ flat.T, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------------------------------------------
# RNTK: fast tier
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [case.name for case in FAST_CASES])
def test_rntk_matches_finite_width_networks(name):
    case = _case(FAST_CASES, name)
    estimate = rnn_estimates(FAST_CASES, FAST)[name]
    assert_agrees(estimate, case.analytic(), FAST.tol, name)


def test_sigma_h_term_is_on_the_diagonal_of_k_x_only():
    """A series paired with itself shares its random initial state; as a separate input it does not."""
    estimates = rnn_estimates(FAST_CASES, FAST)
    own = _case(FAST_CASES, "relu-L1-last-sigma_h")
    cross = _case(FAST_CASES, "relu-L1-last-sigma_h-cross")
    with_term, without_term = own.analytic(), cross.analytic()
    assert np.allclose(with_term - np.diag(np.diag(with_term)), without_term - np.diag(np.diag(without_term)))
    assert np.all(np.diag(with_term) > np.diag(without_term))
    assert_rejects(estimates[own.name], without_term, FAST.tol, "K(X) without the initial-state term")
    assert_rejects(estimates[cross.name], with_term, FAST.tol, "K(X, Y) with the initial-state term")


def test_negative_control_slightly_different_sigma_u():
    """sigma_u = 0.525 instead of 0.5 (5 % more) moves the kernel by 11 %: rejected."""
    case = _case(FAST_CASES, "relu-L2-last")
    wrong = case.analytic(sigma_u=0.525)
    assert_rejects(rnn_estimates(FAST_CASES, FAST)[case.name], wrong, FAST.tol, "sigma_u = 0.525")


def released_avg_rntk(case: Case) -> np.ndarray:
    """The released code's "avg" readout (docs/kernels.md section 6), for equal lengths: the same-time pairs
    ``(t, t)`` only (for equal lengths the pair ``(t, t)`` is the last-state kernel of the length-``t``
    prefixes), divided by ``T``, with the last step counted twice."""
    series = as_kernel_input(INPUTS[case.inputs])
    length = series[0].shape[1]
    kernel = get_kernel("rntk", **replace(case.settings, output="last").kernel_params())
    same_time = [kernel([seq[:, :t] for seq in series]) for t in range(1, length + 1)]
    return (sum(same_time) + same_time[-1]) / length


def test_negative_control_released_avg_readout_is_not_mean_pooling():
    case = _case(FAST_CASES, "relu-L1-mean")
    assert_rejects(rnn_estimates(FAST_CASES, FAST)[case.name], released_avg_rntk(case), FAST.tol, "'avg' readout")


def test_negative_control_reading_direction():
    """The forward kernel (27 % away here) is rejected for the reversed network."""
    case = _case(FAST_CASES, "erf-L2-reversed")
    assert_rejects(rnn_estimates(FAST_CASES, FAST)[case.name], case.analytic(direction="forward"), FAST.tol,
                   "forward kernel for the reversed network")


def test_negative_control_frozen_layer():
    """Training the frozen first layer (fixed_layers 0 instead of 1) is rejected."""
    case = _case(FAST_CASES, "relu-L2-fixed1")
    assert_rejects(rnn_estimates(FAST_CASES, FAST)[case.name], case.analytic(fixed_layers=0), FAST.tol,
                   "fixed_layers 0 instead of 1")


# --------------------------------------------------------------------------------------------------------------
# RNTK: slow tier
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", [case.name for case in SLOW_CASES])
def test_rntk_matches_wider_networks(name):
    case = _case(SLOW_CASES, name)
    assert_agrees(rnn_estimates(SLOW_CASES, SLOW)[name], case.analytic(), SLOW.tol, name)


@pytest.mark.slow
def test_wider_networks_reject_kernels_a_few_percent_off():
    """At the slow tier's tolerance, the forward kernel for a reversed network of unequal lengths (9 % away)
    and sigma_u = 1.05 instead of 1 (10 % away) are rejected."""
    estimates = rnn_estimates(SLOW_CASES, SLOW)
    case = _case(SLOW_CASES, "erf-L1-last-reversed-unequal")
    assert_rejects(estimates[case.name], case.analytic(direction="forward"), SLOW.tol, "forward kernel")
    case = _case(SLOW_CASES, "relu-L2-last-forward-unequal")
    assert_rejects(estimates[case.name], case.analytic(sigma_u=1.05), SLOW.tol, "sigma_u = 1.05")


# --------------------------------------------------------------------------------------------------------------
# Fully connected NTK
# --------------------------------------------------------------------------------------------------------------

FC_X = stream(1).uniform(-1.0, 1.0, size=(5, 6)) / 2   # 5 vectors, |x| about 0.6
FC_MAX_LAYERS = 3


@cache
def fc_estimates(settings: tuple[FCSettings, ...], tier: Tier) -> dict:
    """Empirical NTK (and, for ``fixed_layers = n_layers``, also the output second moment) per setting."""
    grams: dict[FCSettings, list] = {p: [] for p in settings}
    outputs: dict[FCSettings, list] = {p: [] for p in settings if p.fixed_layers == p.n_layers}
    n_readouts = tier.nngp_readouts
    with limit_threads(1):
        for seed in range(tier.fc_seeds):
            weights = FCWeights.sample(stream(4, seed), FC_MAX_LAYERS, tier.fc_width, FC_X.shape[1], tier.dtype)
            readouts = stream(5, seed).standard_normal((tier.fc_width, n_readouts), dtype=tier.dtype)
            readout_bias = stream(6, seed).standard_normal(n_readouts)
            traces: dict[FCSettings, FCTrace] = {}     # the passes do not depend on fixed_layers
            for p in settings:
                key = replace(p, fixed_layers=0)
                if key not in traces:
                    traces[key] = fc_trace(weights, p, FC_X)
                trace = traces[key]
                grams[p].append(fc_trace_gram(trace, trace, p))
                if p in outputs:
                    out = fc_outputs(trace, p, readouts, readout_bias)
                    outputs[p].append(out @ out.T / n_readouts)
    return {
        "gram": {p: Estimate(np.array(v)) for p, v in grams.items()},
        "outputs": {p: Estimate(np.array(v)) for p, v in outputs.items()},
    }


def _fc_settings(pairs, activations=("relu", "erf"), sigma_w=1.2, sigma_b=0.3) -> tuple[FCSettings, ...]:
    return tuple(
        FCSettings(n_layers=depth, fixed_layers=fixed, sigma_w=sigma_w, sigma_b=sigma_b, activation=activation)
        for depth, fixed in pairs
        for activation in activations
    )


FC_FAST = _fc_settings([(0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (3, 2), (3, 3)])
FC_SLOW = _fc_settings([(depth, fixed) for depth in range(4) for fixed in range(depth + 1)])


def _fc_id(p: FCSettings) -> str:
    return f"{p.activation}-L{p.n_layers}-F{p.fixed_layers}"


def _fc_analytic(p: FCSettings, **changes) -> np.ndarray:
    return get_kernel("ntk", **replace(p, **changes).kernel_params())(FC_X)


@pytest.mark.parametrize("p", FC_FAST, ids=_fc_id)
def test_fc_ntk_matches_finite_width_networks(p):
    estimates = fc_estimates(FC_FAST, FAST)
    assert_agrees(estimates["gram"][p], _fc_analytic(p), FAST.tol, _fc_id(p))
    if p in estimates["outputs"]:
        assert_agrees(estimates["outputs"][p], _fc_analytic(p), FAST.tol, f"{_fc_id(p)} output covariance")


FC_CONTROL = FCSettings(n_layers=2, fixed_layers=1, sigma_w=1.2, sigma_b=0.3, activation="relu")


def test_fc_negative_controls():
    """One frozen layer too few (28 % away), Sigma_0 = <x, x'> / d (the other common convention, 57 % away)
    and sigma_w 5 % too large (16 % away) are rejected."""
    estimate = fc_estimates(FC_FAST, FAST)["gram"][FC_CONTROL]
    assert_rejects(estimate, _fc_analytic(FC_CONTROL, fixed_layers=0), FAST.tol, "fixed_layers 0 instead of 1")
    scaled = get_kernel("ntk", **FC_CONTROL.kernel_params())(FC_X / np.sqrt(FC_X.shape[1]))
    assert_rejects(estimate, scaled, FAST.tol, "Sigma_0 = <x, x'> / d")
    assert_rejects(estimate, _fc_analytic(FC_CONTROL, sigma_w=1.26), FAST.tol, "sigma_w = 1.26")


@pytest.mark.slow
@pytest.mark.parametrize("p", FC_SLOW, ids=_fc_id)
def test_fc_ntk_matches_wider_networks(p):
    estimates = fc_estimates(FC_SLOW, SLOW)
    assert_agrees(estimates["gram"][p], _fc_analytic(p), SLOW.tol, _fc_id(p))
    if p in estimates["outputs"]:
        assert_agrees(estimates["outputs"][p], _fc_analytic(p), SLOW.tol, f"{_fc_id(p)} output covariance")


@pytest.mark.slow
def test_wider_fc_networks_reject_a_slightly_different_bias_scale():
    """sigma_b = 0.33 instead of 0.3 (8 % away) is rejected at the slow tier's tolerance."""
    estimate = fc_estimates(FC_SLOW, SLOW)["gram"][FC_CONTROL]
    assert_rejects(estimate, _fc_analytic(FC_CONTROL, sigma_b=0.33), SLOW.tol, "sigma_b = 0.33")
