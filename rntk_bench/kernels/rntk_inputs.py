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
        values = np.zeros((n, t_max, n_channels))
        mask = np.zeros((n, t_max), dtype=bool)
        for index, seq in enumerate(sequences):
            values[index, t_max - len(seq):] = seq
            mask[index, t_max - len(seq):] = True
        return cls(values, mask, np.array([len(seq) for seq in sequences]))


def self_inner(padded: Padded) -> np.ndarray:
    """``<x_t, x_t> / m`` of every sample and padded step, shape (n, T_max).

    The chain of a sample with itself uses these very numbers (not a matrix product, whose summation order
    may differ in the last bit), so that its correlation is exactly 1: the ReLU dual's derivative has an
    unbounded slope there, and one unit in the last place of the correlation moves the kernel by ~1e-8.
    """
    return np.einsum("nsc,nsc->ns", padded.values, padded.values) / padded.values.shape[2]


def variances(padded: Padded, p: RNTKParams) -> np.ndarray:
    """Per-sample variances ``q[l](t; x)`` of every layer's pre-activation along the sample's own time axis.

    Returns
    -------
    ndarray of shape (n_layers, n, T_max)
        Zero at padded (not real) steps.
    """
    dual = DUALS[p.activation]
    n, t_max, n_channels = padded.values.shape
    q = np.zeros((p.n_layers, n, t_max))
    inner = self_inner(padded)                                                     # I[1](t, t)
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
        q[layer] *= padded.mask
    return q


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
