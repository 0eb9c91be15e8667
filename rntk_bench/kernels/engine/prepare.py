"""Per-sample arrays the tiled RNTK loops read: everything that depends on one series only, computed once.

Samples are sorted by decreasing length. Series are right-aligned on a common padded time axis, so a sample
is real from its start step ``t_max - length`` on; after sorting, the samples that are real at padded step
``u`` are a prefix ``[0, n_real[u])`` of the sorted order, and a loop over pairs needs no mask.

Arrays are laid out with the sample index last (contiguous), because the inner loop runs over samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rntk_bench.kernels.rntk_inputs import Padded, RNTKParams, term_weights, variance_terms

FIRST, SECOND, VARIANCE, REC, INP = range(5)  # the planes of ``Side.factors``


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
    scaled : ndarray of shape (t_max, n_channels, n), or (0, 0, 0) for erf and for univariate series
        ``sigma_u x_t / sqrt(m q[1](t))``: the input term's feature vector divided by the first layer's
        norm ``sqrt(q)`` (zero where q = 0), whose distances give the inputs' part of ``1 - c``.
    factors : ndarray of shape (5, n_layers, t_max, n) for ReLU, (3, n_layers, t_max, n) for erf
        Per-sample numbers of every layer and step, one plane each (``first``, ``second``, ...).
    """

    order: np.ndarray
    lengths: np.ndarray
    start: np.ndarray
    n_real: np.ndarray
    values: np.ndarray
    scaled: np.ndarray
    factors: np.ndarray

    @property
    def first(self) -> np.ndarray:
        """The first factor of the dual activation, from the variances ``q``: ReLU ``1/sqrt(q)`` (0 where
        q = 0), erf ``1 + 2q``."""
        return self.factors[FIRST]

    @property
    def second(self) -> np.ndarray:
        """The second factor of the dual activation: ReLU ``sqrt(q)``, erf ``1/sqrt(1 + 2q)``."""
        return self.factors[SECOND]

    @property
    def variance(self) -> np.ndarray:
        """The variances ``q[l](t)`` of the reference's ``variances``."""
        return self.factors[VARIANCE]

    @property
    def rec(self) -> np.ndarray:
        """ReLU: the share of the recurrent term in ``sqrt(q)`` (``rntk_inputs.term_weights``)."""
        return self.factors[REC]

    @property
    def inp(self) -> np.ndarray:
        """ReLU: the share of the input term in ``sqrt(q)``; for univariate series the first layer's carries
        the sign of the input. With ``rec`` it gives ``1 - c`` without cancellation (``tiles._pairs``)."""
        return self.factors[INP]

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.order, self.lengths, self.start, self.n_real, self.values, self.scaled,
                                      self.factors))


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
    n, _, n_channels = padded.values.shape
    q, recurrent, below = variance_terms(padded, p)            # (n_layers, n, t_max), exact reference values
    relu = p.activation == "relu"
    factors = np.empty((5 if relu else 3, p.n_layers, t_max, n))
    first, second = dual_factors(q, p.activation)
    planes = [first, second, q]
    scaled = np.zeros((0, 0, 0))
    if relu:                                                    # erf needs no 1 - c
        rec, inp, _ = term_weights(q, recurrent, below, p)
        if n_channels == 1:
            inp[0] *= np.sign(padded.values[:, :, 0])           # signed: tiles._pairs forms the inputs' part alone
        else:
            scaled = padded.values * (abs(p.sigma_u) / np.sqrt(n_channels) * first[0])[:, :, None]
            scaled = np.ascontiguousarray(scaled.transpose(1, 2, 0))
        planes += [rec, inp]
    for plane, values in enumerate(planes):
        factors[plane] = values.transpose(0, 2, 1)
    sorted_lengths = lengths[order]
    start = t_max - sorted_lengths
    n_real = np.searchsorted(-sorted_lengths, -(t_max - np.arange(t_max)), side="right").astype(np.int64)
    return Side(
        order=order,
        lengths=sorted_lengths,
        start=start,
        n_real=n_real,
        values=np.ascontiguousarray(padded.values.transpose(1, 2, 0)),
        scaled=scaled,
        factors=factors,
    )
