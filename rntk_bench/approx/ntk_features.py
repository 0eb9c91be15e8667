"""Random features of the fully connected NTK (``ntk`` kernel), after Zandieh et al. (NeurIPS 2021).

The conventions are those of :func:`rntk_bench.kernels.ntk.ntk` (docs/kernels.md, section 4):
``Sigma_0 = <x, x'>`` on the raw features, ``Sigma_h = sigma_w^2 Vphi(Sigma_{h-1}) + sigma_b^2``,
``Sdot_h = sigma_w^2 Vphi'(Sigma_{h-1})``, ``Theta_h = Theta_{h-1} Sdot_h + [h >= F] Sigma_h`` with
``Theta_0 = [F = 0] Sigma_0``. Each factor gets a feature map whose inner products estimate it:

* ``Phi_0(x) = x`` (exact);
* ``Phi_h = [sigma_w phi(W_h Phi_{h-1}) / sqrt(m1), sigma_b]``, ``W_h`` of i.i.d. N(0, 1) entries: for
  ``(u, v) ~ N(0, K)`` with ``K`` the 2 x 2 covariance of ``Phi_{h-1}(x), Phi_{h-1}(x')``, ``Vphi(K) =
  E[phi(u) phi(v)]``, so these are the arc-cosine features of order 1 for ReLU (Cho and Saul, NeurIPS 2009),
  and the same Monte Carlo features for erf;
* ``Phidot_h = sigma_w phi'(W'_h Phi_{h-1}) / sqrt(m0)`` with an independent ``W'_h``: arc-cosine features
  of order 0 for ReLU (the step function), ``phi' = 2/sqrt(pi) exp(-u^2)`` for erf;
* ``Psi_h = [S_h(Psi_{h-1} (x) Phidot_h), Phi_h]``: the product ``Theta_{h-1} Sdot_h`` is a tensor product of
  features, sketched by a TensorSRHT ``S_h`` (:mod:`rntk_bench.approx.sketch`) to ``m_s`` coordinates, and
  the sum with ``Sigma_h`` is a concatenation (``Phi_h`` is left out for ``h < F``).

For one hidden layer the feature inner products are unbiased estimates of the NTK; for deeper networks
``Vphi`` of an estimated covariance is biased by O(1/m1) (Vphi is not linear), which vanishes as the widths
grow. The m1 = m0 = m_s = m choice follows Zandieh et al.'s experiments in spirit (one width for every
part); ``n_arccos`` and ``n_step`` set m1 and m0 apart. The feature dimension ``n_features_out_`` is
``d`` for ``n_layers = 0``, and ``[F < L] m_s + m1 + [sigma_b > 0]`` otherwise. The drawn weights take
about ``2 L m^2`` float64 (540 MB at m = 4096 and L = 3): a dense Gaussian matrix per layer and factor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import erf
from sklearn.base import BaseEstimator, TransformerMixin

from rntk_bench.approx._common import NotFittedError, check_positive_int, chunk_rows, rng_from
from rntk_bench.approx.sketch import TensorSRHT
from rntk_bench.errors import InvalidInputError, InvalidParameterError
from rntk_bench.kernels.validation import check_vectors

_NTK_PARAMS = ("n_layers", "fixed_layers", "sigma_w", "sigma_b", "activation")


def _activation(name: str):
    if name == "relu":
        return lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.float64)
    return erf, lambda z: (2.0 / np.sqrt(np.pi)) * np.exp(-z * z)


class NTKRandomFeatures(TransformerMixin, BaseEstimator):
    """Random features whose inner products approximate ``get_kernel("ntk", ...)``.

    Parameters
    ----------
    n_features : int
        Width m of every part: the sketch of each tensor product (m_s) and, unless set apart, the arc-cosine
        features of order 1 (m1) and 0 (m0) of each layer.
    n_layers, fixed_layers, sigma_w, sigma_b, activation
        The ``ntk`` kernel's parameters, with its defaults and checks.
    n_arccos, n_step : int, optional
        m1 and m0 when they should differ from ``n_features``.
    seed : int, numpy Generator or None
    chunk_rows : int, optional
        Rows per ``transform`` tile (default: tiles of about 64 MiB).

    Attributes
    ----------
    n_features_in_ : int
        d, the input width seen by :meth:`fit`.
    n_features_out_ : int
        Feature dimension (see the module docstring).
    """

    def __init__(self, n_features: int = 1024, *, n_layers: int = 1, fixed_layers: int = 0, sigma_w: float = 1.0,
                 sigma_b: float = 0.0, activation: str = "relu", n_arccos: int | None = None,
                 n_step: int | None = None, seed: Any = None, chunk_rows: int | None = None):
        self.n_features = n_features
        self.n_layers = n_layers
        self.fixed_layers = fixed_layers
        self.sigma_w = sigma_w
        self.sigma_b = sigma_b
        self.activation = activation
        self.n_arccos = n_arccos
        self.n_step = n_step
        self.seed = seed
        self.chunk_rows = chunk_rows

    @classmethod
    def from_kernel(cls, kernel, n_features: int = 1024, **options) -> NTKRandomFeatures:
        """Features for a bound ``ntk`` kernel (``get_kernel("ntk", ...)``), with its parameters.

        Raises
        ------
        InvalidParameterError
            When ``kernel`` is not the ``ntk`` kernel.
        """
        if getattr(kernel, "name", None) != "ntk":
            raise InvalidParameterError(f"NTK random features need the 'ntk' kernel; got {kernel!r}")
        return cls(n_features, **{name: kernel.params[name] for name in _NTK_PARAMS}, **options)

    def kernel_params(self) -> dict[str, Any]:
        """The ``ntk`` parameters, validated by the registry (same ranges and messages as ``get_kernel``)."""
        from rntk_bench.kernels import get_kernel

        return dict(get_kernel("ntk", **{name: getattr(self, name) for name in _NTK_PARAMS}).params)

    def fit(self, X, y=None) -> NTKRandomFeatures:
        """Draw the random weights and sketches for inputs of ``X``'s width (the values are not used).

        Parameters
        ----------
        X : ndarray of shape (n, d) (or (n, channels, T), flattened like the ``ntk`` kernel does)
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        InvalidParameterError
            Invalid ``ntk`` parameters or widths.
        """
        params = self.kernel_params()
        m = check_positive_int(self.n_features, "n_features")
        m1 = check_positive_int(m if self.n_arccos is None else self.n_arccos, "n_arccos")
        m0 = check_positive_int(m if self.n_step is None else self.n_step, "n_step")
        chunk_rows(m, self.chunk_rows)
        d = check_vectors(X, "X").shape[1]
        rng = rng_from(self.seed)
        L, F, bias = params["n_layers"], params["fixed_layers"], params["sigma_b"] > 0
        layers = []
        width_phi, width_psi = d, (d if F == 0 else 0)  # Psi_{h-1} is absent (Theta_{h-1} = 0) below F
        for h in range(1, L + 1):
            layer = {"W": rng.standard_normal((width_phi, m1))}
            if width_psi:
                layer["Wdot"] = rng.standard_normal((width_phi, m0))
                layer["sketch"] = TensorSRHT.draw(width_psi, m0, m, rng)
            layers.append(layer)
            width_phi = m1 + bias
            width_psi = (m if width_psi else 0) + (width_phi if h >= F else 0)
        self.params_ = params
        self.layers_ = layers
        self.n_features_in_ = d
        self.n_features_out_ = width_psi
        return self

    def transform(self, X) -> np.ndarray:
        """Features of the rows of ``X``, in tiles of ``chunk_rows`` rows.

        Parameters
        ----------
        X : ndarray of shape (n, d)

        Returns
        -------
        ndarray of shape (n, n_features_out_), float64

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        InvalidInputError
            Invalid rows, or a width other than the one seen by :meth:`fit`.
        """
        if not hasattr(self, "layers_"):
            raise NotFittedError("this NTKRandomFeatures is not fitted yet: call fit(X) before transform(X)")
        X = check_vectors(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise InvalidInputError(f"X has {X.shape[1]} features, but these random features were drawn for "
                                    f"{self.n_features_in_}")
        step = chunk_rows(max(self.n_features_out_, self.n_features), self.chunk_rows)
        out = np.empty((len(X), self.n_features_out_))
        for start in range(0, len(X), step):
            out[start:start + step] = self._features(X[start:start + step])
        return out

    def _features(self, X: np.ndarray) -> np.ndarray:
        p = self.params_
        phi, phi_dot = _activation(p["activation"])
        sigma_w, sigma_b, F = p["sigma_w"], p["sigma_b"], p["fixed_layers"]
        feats = X                                     # Phi_0 = x: Sigma_0 = <x, x'> exactly
        psi = X if F == 0 else None                   # Psi_0: Theta_0 = Sigma_0, or 0 below the frozen layers
        for h, layer in enumerate(self.layers_, start=1):
            new = sigma_w * phi(feats @ layer["W"]) / np.sqrt(layer["W"].shape[1])
            if sigma_b > 0:
                new = np.hstack([new, np.full((len(X), 1), sigma_b)])
            parts = []
            if psi is not None:
                dot = sigma_w * phi_dot(feats @ layer["Wdot"]) / np.sqrt(layer["Wdot"].shape[1])
                parts.append(layer["sketch"](psi, dot))       # Theta_{h-1} * Sdot_h
            if h >= F:
                parts.append(new)                            # + Sigma_h
            psi = np.hstack(parts) if parts else None
            feats = new
        return psi
