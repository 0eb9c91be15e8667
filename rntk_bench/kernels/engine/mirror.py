"""Completing a symmetric Gram matrix from one triangle: a tiled copy of each computed entry onto its pair.

The fully connected NTK and the RNTK compute each pair of K(X) once. Writing the value to the second entry as
well, from inside the row loops, is a write down a column per value (a cache miss, and for rows of a few KB
a TLB miss); copying afterwards in square tiles keeps both tiles of a pair of entries in the cache.
"""

from __future__ import annotations

from numba import njit

from rntk_bench.kernels.engine.jit import JIT

MIRROR_TILE = 64  # rows and columns of the cache-sized tiles in which a triangle is mirrored


@njit(**JIT)
def mirror_tile_row(out, rank, bi):
    """Complete the square ``out`` (shape ``(n, n_out, n)``) in tile row ``bi``: for samples ``a < b`` of that
    row of ``MIRROR_TILE``-square tiles, the entry computed is ``(a, b)`` if ``rank[a] < rank[b]``, else
    ``(b, a)``, and it is copied onto the other. With ``rank = arange(n)`` that copies the upper triangle
    onto the lower; the RNTK passes the samples' ranks in its sorted order, so that any order of the samples
    stays a blocked transpose."""
    n = out.shape[0]
    a0 = bi * MIRROR_TILE
    a1 = min(a0 + MIRROR_TILE, n)
    for b0 in range(a0, n, MIRROR_TILE):
        b1 = min(b0 + MIRROR_TILE, n)
        for d in range(out.shape[1]):
            for a in range(a0, a1):
                for b in range(max(b0, a + 1), b1):
                    first = rank[a] < rank[b]
                    row = a if first else b
                    column = b if first else a
                    out[column, d, row] = out[row, d, column]
