"""TensorSRHT: a sketch of the tensor product of two feature vectors, computed without forming it.

For ``u`` in R^a and ``v`` in R^b, ``S(u (x) v) = (P_1 H D_1 u) * (P_2 H D_2 v) / sqrt(s)`` (element-wise
product), where ``D_i`` are random sign diagonals, ``H`` is the unnormalised Walsh-Hadamard matrix of the
padded size (a power of two) and ``P_i`` pick ``s`` coordinates uniformly with replacement, independently for
the two sides. Then ``E <S(u (x) v), S(u' (x) v')> = <u, u'> <v, v'>`` exactly: a coordinate of ``H D u``
averages ``<u, u'>`` over the padded size (``H^T H = size * I``), and the two sides are independent. The
random signs and the Hadamard transform spread each vector's mass over all coordinates, which is what makes a
few sampled coordinates a low-variance estimate.

Ahle, Kapralov, Knudsen, Pagh, Velingker, Woodruff, Zandieh, "Oblivious sketching of high-degree polynomial
kernels", SODA 2020; used for the NTK by Zandieh, Han, Avron, Shoham, Kim, Shin, "Scaling neural tangent
kernels via sketching and random features", NeurIPS 2021.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def next_power_of_two(size: int) -> int:
    """The smallest power of two >= ``size`` (and >= 1)."""
    return 1 << max(0, int(size) - 1).bit_length()


def fwht(A: np.ndarray) -> np.ndarray:
    """Unnormalised fast Walsh-Hadamard transform of every row: ``A @ H`` for the Sylvester matrix ``H``
    (``scipy.linalg.hadamard``), in ``O(n D log D)`` without forming ``H``.

    Parameters
    ----------
    A : ndarray of shape (n, D), D a power of two

    Returns
    -------
    ndarray of shape (n, D), a new array
    """
    n, size = A.shape
    out = np.array(A, dtype=np.float64, copy=True)
    half = 1
    while half < size:
        # butterflies between the two halves of every block of 2 * half columns
        blocks = out.reshape(n, size // (2 * half), 2, half)
        first = blocks[:, :, 0, :].copy()
        blocks[:, :, 0, :] += blocks[:, :, 1, :]
        blocks[:, :, 1, :] = first - blocks[:, :, 1, :]
        half *= 2
    return out


@dataclass(frozen=True)
class TensorSRHT:
    """A drawn TensorSRHT for inputs of widths ``width_u`` and ``width_v`` and ``size`` output coordinates.

    Attributes
    ----------
    signs_u, signs_v : ndarray of shape (D_u,), (D_v,)
        Random +-1 of each side, over its padded width D (a power of two).
    rows_u, rows_v : ndarray of int, shape (size,)
        The sampled coordinates of each side.
    """

    signs_u: np.ndarray
    signs_v: np.ndarray
    rows_u: np.ndarray
    rows_v: np.ndarray

    @classmethod
    def draw(cls, width_u: int, width_v: int, size: int, rng: np.random.Generator) -> TensorSRHT:
        """Draw the signs and coordinates."""
        pad_u, pad_v = next_power_of_two(width_u), next_power_of_two(width_v)
        return cls(signs_u=rng.choice([-1.0, 1.0], size=pad_u), signs_v=rng.choice([-1.0, 1.0], size=pad_v),
                   rows_u=rng.integers(pad_u, size=size), rows_v=rng.integers(pad_v, size=size))

    @property
    def size(self) -> int:
        return len(self.rows_u)

    def __call__(self, U: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Sketch of the row-wise tensor products ``U[i] (x) V[i]``.

        Parameters
        ----------
        U : ndarray of shape (n, width_u)
        V : ndarray of shape (n, width_v)

        Returns
        -------
        ndarray of shape (n, size)
        """
        return (_side(U, self.signs_u)[:, self.rows_u] * _side(V, self.signs_v)[:, self.rows_v]
                / np.sqrt(self.size))


def _side(U: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """``H D u`` of every row, zero-padded to the length of ``signs``."""
    padded = np.zeros((U.shape[0], len(signs)))
    padded[:, :U.shape[1]] = U * signs[:U.shape[1]]
    return fwht(padded)
