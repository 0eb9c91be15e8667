"""The reference test vectors of docs/kernels.md section 5 (a port of the authors' released code), to 1e-6."""

from __future__ import annotations

import numpy as np
import pytest

from rntk_bench.kernels import get_kernel

X0 = np.array([[0.1, 0.2, 0.3, 0.4, 0.5], [0.5, 0.4, 0.3, 0.2, 0.1], [1, 0, -1, 0, 1], [0.5, -0.5, 0.5, -0.5, 0.5]])
X0_SCALED = X0 / np.sqrt(3.0)  # divided by the largest row norm, as the released UCI code does

PAPER = dict(sigma_w=1.4142, sigma_u=0.5, sigma_b=0.1, sigma_h=0.0, sigma_v=1.0, activation="relu", output="last")

# Three sequences of lengths 3, 5 and 4 with two channels, given time-major; the kernels take (channels, T).
X_A = np.array([[0.5, -0.2], [0.1, 0.4], [-0.3, 0.3]])
X_B = np.array([[0.2, 0.2], [0.0, -0.5], [0.4, 0.1], [-0.1, 0.3], [0.3, -0.3]])
X_C = np.array([[-0.4, 0.1], [0.2, 0.2], [0.1, -0.1], [0.5, 0.0]])
UNEQUAL = [X_A.T, X_B.T, X_C.T]
UNEQUAL_PARAMS = dict(n_layers=2, sigma_w=np.sqrt(2.0), sigma_u=1.0, sigma_b=0.1, sigma_h=0.0, sigma_v=1.0)

CASES = {
    "rntk L=1": (
        X0_SCALED, "rntk", dict(PAPER, n_layers=1),
        [[0.1666602, 0.1242542, 0.1245787, 0.0958099], [0.1242542, 0.2166545, 0.1359943, 0.1086645],
         [0.1245787, 0.1359943, 0.5999696, 0.1627513], [0.0958099, 0.1086645, 0.1627513, 0.3083185]],
    ),
    "rntk L=1 nngp": (
        X0_SCALED, "rntk", dict(PAPER, n_layers=1, fixed_layers=1),
        [[0.0479153, 0.0415929, 0.0628099, 0.0446225], [0.0415929, 0.0479143, 0.0586357, 0.0448907],
         [0.0628099, 0.0586357, 0.1499942, 0.0777995], [0.0446225, 0.0448907, 0.0777995, 0.0770804]],
    ),
    "rntk L=2": (
        X0_SCALED, "rntk", dict(PAPER, n_layers=2),
        [[0.1775435, 0.1500183, 0.1309607, 0.1248054], [0.1500183, 0.2275393, 0.1629822, 0.1427122],
         [0.1309607, 0.1629822, 0.4291419, 0.1645492], [0.1248054, 0.1427122, 0.1645492, 0.263788]],
    ),
    "rntk unequal last nngp": (
        UNEQUAL, "rntk", dict(UNEQUAL_PARAMS, output="last", fixed_layers=2),
        [[0.20375, 0.1859418, 0.1264283], [0.1859418, 0.34875, 0.1963823], [0.1264283, 0.1963823, 0.19625]],
    ),
    "rntk unequal last": (
        UNEQUAL, "rntk", dict(UNEQUAL_PARAMS, output="last"),
        [[0.89125, 0.4342042, 0.2491523], [0.4342042, 1.89875, 0.4772609], [0.2491523, 0.4772609, 0.96875]],
    ),
    "rntk unequal mean": (
        UNEQUAL, "rntk", dict(UNEQUAL_PARAMS, output="mean"),
        [[0.213666, 0.1477032, 0.1076274], [0.1477032, 0.2655189, 0.1369665], [0.1076274, 0.1369665, 0.1774258]],
    ),
    "rntk unequal mean nngp": (
        UNEQUAL, "rntk", dict(UNEQUAL_PARAMS, output="mean", fixed_layers=2),
        [[0.0762069, 0.0756961, 0.0602304], [0.0756961, 0.0944462, 0.0706981], [0.0602304, 0.0706981, 0.0637051]],
    ),
    "ntk L=1 F=0": (
        X0, "ntk", dict(n_layers=1, fixed_layers=0),
        [[0.55, 0.3193705, 0.3712947, 0.2134724], [0.3193705, 0.55, 0.3712947, 0.2134724],
         [0.3712947, 0.3712947, 3.0, 0.5893161], [0.2134724, 0.2134724, 0.5893161, 1.25]],
    ),
    "ntk L=2 F=1": (
        X0, "ntk", dict(n_layers=2, fixed_layers=1),
        [[0.275, 0.1758751, 0.2758425, 0.1691955], [0.1758751, 0.275, 0.2758425, 0.1691955],
         [0.2758425, 0.2758425, 1.5, 0.4259279], [0.1691955, 0.1691955, 0.4259279, 0.625]],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_reference_vector(case):
    X, name, params, expected = CASES[case]
    gram = get_kernel(name, **params)(X)
    # 1e-6 relative, except that the vectors are printed to 7 decimals: an entry of 0.048 can only be
    # certified to half a unit of its last printed digit (5e-8), which is 1.04e-6 of it.
    np.testing.assert_allclose(gram, np.array(expected), rtol=1e-6, atol=5e-8)


def test_cross_gram_matches_blocks_of_the_reference():
    """K(X[:2], X) is the top rows of the reference Gram when sigma_h = 0 (no diagonal term)."""
    X, name, params, expected = CASES["rntk unequal mean"]
    cross = get_kernel(name, **params)(X[:2], X)
    np.testing.assert_allclose(cross, np.array(expected)[:2], rtol=1e-6)


def test_erf_bidirectional_sum_of_directions():
    """A bidirectional kernel is the forward kernel plus the kernel of the reversed series."""
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(2, length)) for length in (3, 6, 4)]
    params = dict(n_layers=2, activation="erf", output="mean", sigma_h=0.3)
    both = get_kernel("rntk", direction="bidirectional", **params)(X)
    forward = get_kernel("rntk", direction="forward", **params)(X)
    reversed_by_hand = get_kernel("rntk", direction="forward", **params)([x[:, ::-1] for x in X])
    np.testing.assert_allclose(both, forward + reversed_by_hand, rtol=1e-12)
    np.testing.assert_allclose(
        get_kernel("rntk", direction="reversed", **params)(X), reversed_by_hand, rtol=1e-12
    )
