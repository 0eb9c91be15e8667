"""Per-sample arrays the tiled RNTK loops read: everything that depends on one series only, computed once.

Samples are sorted by decreasing length. Series are right-aligned on a common padded time axis, so a sample
is real from its start step ``t_max - length`` on; after sorting, the samples that are real at padded step
``u`` are a prefix ``[0, n_real[u])`` of the sorted order, and a loop over pairs needs no mask.

Arrays are laid out with the sample index last (contiguous), because the inner loop runs over samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rntk_bench.kernels.rntk_inputs import Padded, RNTKParams, variances


@dataclass(frozen=True)
class Side:
    """One argument of the kernel (X or Y) in the layout of the tiled loops; ``n`` samples, sorted.

    Attributes
    ----------
    order : ndarray of shape (n,), int64
        ``order[k]`` is the original index of the k-th sorted sample.
    lengths : ndarray of shape (n,), int64
        Lengths in sorted order (non-increasing).
    start : ndarray of shape (n,), int64
        First real padded step of each sorted sample.
    n_real : ndarray of shape (t_max,), int64
        Number of sorted samples that are real at each padded step.
    values : ndarray of shape (t_max, n_channels, n)
        Inputs, zero at padded steps.
    variance : ndarray of shape (n_layers, t_max, n)
        The variances ``q[l](t)`` of the reference's ``variances``.
    first, second : ndarray of shape (n_layers, t_max, n)
        The two per-sample factors of the dual activation at each layer and step, from the variances ``q``:
        ReLU: ``1/sqrt(q)`` (0 where q = 0) and ``sqrt(q)``; erf: ``1 + 2q`` and ``1/sqrt(1 + 2q)``.
    """

    order: np.ndarray
    lengths: np.ndarray
    start: np.ndarray
    n_real: np.ndarray
    values: np.ndarray
    variance: np.ndarray
    first: np.ndarray
    second: np.ndarray

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.order, self.lengths, self.start, self.n_real, self.values,
                                      self.variance, self.first, self.second))


def dual_factors(q: np.ndarray, activation: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample factors of the dual activation from variances ``q`` (any shape)."""
    if activation == "relu":
        root = np.sqrt(q)
        with np.errstate(divide="ignore"):
            reciprocal = np.where(q > 0, 1.0 / np.where(q > 0, root, 1.0), 0.0)
        return reciprocal, root
    widened = 1.0 + 2.0 * q
    return widened, 1.0 / np.sqrt(widened)


def prepare_side(sequences: list[np.ndarray], t_max: int, p: RNTKParams) -> Side:
    """Sort, pad and precompute one argument.

    Parameters
    ----------
    sequences : list of ndarray of shape (T_i, n_channels)
        Time-major series, as returned by ``check_sequences``.
    t_max : int
        Common padded length (the longest series of X and Y).
    p : RNTKParams
    """
    lengths = np.array([len(seq) for seq in sequences], dtype=np.int64)
    order = np.argsort(-lengths, kind="stable").astype(np.int64)
    padded = Padded.from_sequences([sequences[k] for k in order], t_max)
    q = variances(padded, p)                                   # (n_layers, n, t_max), exact reference values
    first, second = dual_factors(q, p.activation)
    sorted_lengths = lengths[order]
    start = t_max - sorted_lengths
    n_real = np.searchsorted(-sorted_lengths, -(t_max - np.arange(t_max)), side="right").astype(np.int64)
    return Side(
        order=order,
        lengths=sorted_lengths,
        start=start,
        n_real=n_real,
        values=np.ascontiguousarray(padded.values.transpose(1, 2, 0)),
        variance=np.ascontiguousarray(q.transpose(0, 2, 1)),
        first=np.ascontiguousarray(first.transpose(0, 2, 1)),
        second=np.ascontiguousarray(second.transpose(0, 2, 1)),
    )
