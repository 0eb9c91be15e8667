"""What both RNTK implementations read: the hyperparameters, the validated and padded inputs, and the
per-sample variances of every layer (sections 1-2 of docs/kernels.md).

The reference implementation (``rntk.py``) and the tiled engine (``engine/``) both build on this module, which
imports neither of them: ``rntk.py`` calls the engine, and the engine needs these definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from rntk_bench.errors import InvalidInputError
from rntk_bench.kernels.dual import DUALS
from rntk_bench.kernels.registry import check_fixed_layers
from rntk_bench.kernels.validation import check_sequences

OUTPUTS = ("last", "mean")
DIRECTIONS = ("forward", "reversed", "bidirectional")


@dataclass(frozen=True)
class RNTKParams:
    """The hyperparameters of section 1, in one object that the implementations share.

    The fields are the keyword parameters of ``rntk.rntk``, whose signature holds their defaults.
    """

    n_layers: int
    sigma_w: float
    sigma_u: float
    sigma_b: float
    sigma_h: float
    sigma_v: float
    activation: str
    output: str
    direction: str
    fixed_layers: int

    def __post_init__(self) -> None:
        check_fixed_layers("rntk", self.n_layers, self.fixed_layers)

    @classmethod
    def from_arguments(cls, arguments: dict) -> RNTKParams:
        """Pick the fields out of a mapping that may hold more names (such as a function's ``locals()``)."""
        return cls(**{field.name: arguments[field.name] for field in fields(cls)})


@dataclass(frozen=True)
class Padded:
    """Right-aligned series: ``values[i, s]`` is the input at padded step ``s``; ``mask`` marks real steps.

    Attributes
    ----------
    values : ndarray of shape (n, T_max, n_channels)
    mask : ndarray of shape (n, T_max), bool
    lengths : ndarray of shape (n,), int
    """

    values: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray

    @classmethod
    def from_sequences(cls, sequences: list[np.ndarray], t_max: int) -> Padded:
        n, n_channels = len(sequences), sequences[0].shape[1]
        lengths = np.array([len(seq) for seq in sequences])
        mask = np.arange(t_max) >= (t_max - lengths)[:, None]
        # one concatenation and one scatter of all real steps: a slice assignment per series cost ~1 us
        # each, a millisecond for a thousand series (the engine pads in its planes instead, prepare.py)
        steps = np.concatenate(sequences)
        if (lengths == t_max).all():
            return cls(steps.reshape(n, t_max, n_channels), mask, lengths)
        values = np.zeros((n * t_max, n_channels))
        values[np.flatnonzero(mask)] = steps
        return cls(values.reshape(n, t_max, n_channels), mask, lengths)


def self_inner(values: np.ndarray) -> np.ndarray:
    """``<x_t, x_t> / m`` of every input vector: ``values`` of shape (..., m), such as ``Padded.values`` (n, T_max,
    m) or the real steps alone (total, m); the result has shape ``values.shape[:-1]``, the same numbers in
    either layout.

    The chain of a sample with itself uses these very numbers (not a matrix product, whose summation order
    may differ in the last bit), so that its correlation is exactly 1: the ReLU dual's derivative has an
    unbounded slope there, and one unit in the last place of the correlation moves the kernel by ~1e-8.
    """
    if values.shape[-1] == 1:
        # the einsum's numbers (one product each, divided by 1) without its overhead per step: 0.03 ms
        # against 0.11 ms for 1000 series of 150 steps (warm caches)
        return values[..., 0] * values[..., 0]
    return np.einsum("...c,...c->...", values, values) / values.shape[-1]


def variances(padded: Padded, p: RNTKParams) -> np.ndarray:
    """Per-sample variances ``q[l](t; x)`` of every layer's pre-activation along the sample's own time axis.

    Returns
    -------
    ndarray of shape (n_layers, n, T_max)
        Zero at padded (not real) steps.
    """
    return variance_terms(padded, p)[0]


def variance_terms(padded: Padded, p: RNTKParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The variances ``q[l](t; x)`` of :func:`variances` and the two terms they are made of.

    ``q = sigma_w^2 * recurrent + sigma_u^2 * below + sigma_b^2``, where ``recurrent`` is ``sigma_h^2`` at a
    series' first step and the dual activation of the previous step's variance after it, and ``below`` is
    ``<x_t, x_t> / m`` for the first layer and the dual activation of the layer below's variance for the others.

    Returns
    -------
    q, recurrent, below : ndarray of shape (n_layers, n, T_max)
        Zero at padded (not real) steps.
    """
    dual = DUALS[p.activation]
    n, t_max, n_channels = padded.values.shape
    q = np.zeros((p.n_layers, n, t_max))
    recurrent_terms = np.zeros_like(q)
    below_terms = np.zeros_like(q)
    inner = self_inner(padded.values)                                              # I[1](t, t)
    first = padded.mask & ~np.pad(padded.mask, ((0, 0), (1, 0)))[:, :t_max]       # each series' t = 1
    for layer in range(p.n_layers):
        below = inner if layer == 0 else dual(q[layer - 1], q[layer - 1], q[layer - 1])[0]
        for s in range(t_max):
            if s == 0:
                previous = np.zeros(n)
            else:
                previous = dual(q[layer, :, s - 1], q[layer, :, s - 1], q[layer, :, s - 1])[0]
            recurrent = np.where(first[:, s], p.sigma_h**2, previous)
            q[layer, :, s] = p.sigma_w**2 * recurrent + p.sigma_u**2 * below[:, s] + p.sigma_b**2
            recurrent_terms[layer, :, s] = recurrent
        below_terms[layer] = below
        q[layer] *= padded.mask
        recurrent_terms[layer] *= padded.mask
        below_terms[layer] *= padded.mask
    return q, recurrent_terms, below_terms


def inverse_root(q: np.ndarray) -> np.ndarray:
    """``1 / sqrt(q)`` of variances ``q`` (any shape), 0 where ``q = 0``: the scale of the terms' shares."""
    with np.errstate(divide="ignore"):
        return np.where(q > 0, 1.0 / np.sqrt(np.where(q > 0, q, 1.0)), 0.0)


def term_weights(q: np.ndarray, recurrent: np.ndarray, below: np.ndarray,
                 p: RNTKParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shares of the recurrent, input and bias terms in the norm of a pre-activation (any shapes alike).

    A pre-activation's covariance is the sum of three covariances, each an inner product of two feature
    vectors (of the previous state, of the input or the layer below, of the bias), so its variance ``q`` is
    the sum of their squared norms: ``sigma_w^2 recurrent``, ``sigma_u^2 below`` and ``sigma_b^2``. These
    are the three norms divided by ``sqrt(q)`` (zero where ``q = 0``); the squares of each sample's three sum
    to 1. The ReLU recursions form ``1 - c`` from them without cancellation (``dual.relu_correlation``).

    Returns
    -------
    rec, inp, bias : ndarray
    """
    scale = inverse_root(q)
    return (np.sqrt(p.sigma_w**2 * recurrent) * scale, np.sqrt(p.sigma_u**2 * below) * scale,
            abs(p.sigma_b) * scale)


@dataclass(frozen=True)
class SampleTerms:
    """What the reference recursion reads of each sample: variances, term shares, unit inputs.

    Attributes
    ----------
    q : ndarray of shape (n_layers, n, T_max)
        :func:`variances`.
    shares : tuple of three ndarray of shape (n_layers, n, T_max)
        :func:`term_weights`: the recurrent, input and bias shares in ``sqrt(q)``.
    unit : ndarray of shape (n, T_max, n_channels)
        :func:`unit_inputs`.
    """

    q: np.ndarray
    shares: tuple
    unit: np.ndarray

    @classmethod
    def of(cls, padded: Padded, p: RNTKParams) -> SampleTerms:
        q, recurrent, below = variance_terms(padded, p)
        return cls(q, term_weights(q, recurrent, below, p), unit_inputs(padded))


def unit_distances(ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
    """Half the squared distances ``|ux_i - uy_j|^2 / 2`` of two sets of unit vectors (shapes (n_x, m) and
    (n_y, m)): ``1 - c`` of their inner products, without cancellation."""
    return sum(0.5 * (ux[:, None, c] - uy[None, :, c]) ** 2 for c in range(ux.shape[1]))


def unit_inputs(padded: Padded) -> np.ndarray:
    """``x_t / |x_t|`` of every sample and padded step, shape (n, T_max, n_channels) (zero where x_t = 0)."""
    norms = np.sqrt(np.einsum("nsc,nsc->ns", padded.values, padded.values))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norms[..., None] > 0, padded.values / np.where(norms > 0, norms, 1.0)[..., None], 0.0)


def prepare_call(X, Y, p: RNTKParams) -> tuple[list[np.ndarray], list[np.ndarray], bool]:
    """Validate the inputs of an RNTK call.

    Parameters
    ----------
    X, Y
        As for ``rntk.rntk``; ``Y`` may be None (the Gram matrix of X with itself).
    p : RNTKParams

    Returns
    -------
    xs, ys : list of ndarray of shape (T_i, n_channels)
        Time-major series; ``ys is xs`` when ``Y`` is None.
    same : bool
        Whether ``Y`` was None.
    """
    xs = check_sequences(X, "X")
    same = Y is None
    ys = xs if same else check_sequences(Y, "Y")
    if xs[0].shape[1] != ys[0].shape[1]:
        raise InvalidInputError(f"X has {xs[0].shape[1]} channels but Y has {ys[0].shape[1]}")
    return xs, ys, same
