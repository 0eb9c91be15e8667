"""Finite-width networks whose infinite-width limits are the RNTK and the fully connected NTK (test-only).

These are the networks of docs/kernels.md, written out in NumPy so that the analytic kernels can be checked
against them independently:

* an Elman RNN (section 1): ``g[l,t] = sigma_w/sqrt(n) W_l h[l,t-1] + sigma_u/sqrt(m_l) U_l h[l-1,t]
  + sigma_b b_l``, ``h[l,t] = phi(g[l,t])``, an untrained initial state ``h[l,0] ~ N(0, sigma_h^2)`` drawn
  afresh for every input sequence, and the readout ``f = sigma_v/sqrt(n) V z`` of the last state or of the
  mean of all states of the top layer; the reversed network reads ``x_T..x_1`` and the bidirectional one adds
  a forward and an independent reversed network;
* a fully connected network (section 4): ``g_0 = W_0 x`` (no ``1/sqrt(d)``), ``g_h = sigma_w/sqrt(n) W_h
  phi(g_{h-1}) + sigma_b b_h`` for ``h = 1..L``, ``f = g_L`` (width 1); ``L = 0`` is the linear model
  ``f = w . x``.

Every weight entry is N(0, 1) and the scales are explicit (NTK parameterisation), so the trained parameters
are the N(0, 1) entries themselves. The gradient of the scalar output with respect to them is written by
hand (backpropagation, through time for the RNN). A weight matrix's gradient is a sum of outer products
``delta (x) input`` over time steps, so the empirical NTK ``J J^T`` is assembled from inner products of the
``delta`` and input vectors of two samples without materialising ``J``; :func:`rnn_jacobian` and
:func:`fc_jacobian` do materialise it (for small widths) so that both routes and the finite-difference check
in the tests agree.

Weights can be drawn in float32 for the many-seed averages (every recurrent step reads a whole ``n x n``
matrix, so halving its bytes halves the time); the finite-difference checks use float64.

Sequences are time-major arrays ``(T_i, n_channels)`` (what :func:`rntk_bench.kernels.validation.
check_sequences` returns). A batch of sequences of unequal lengths is right-aligned: a sequence of length
``T_i`` starts at padded step ``T_max - T_i`` and keeps its initial state until then, so each sequence runs
over exactly its own length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from scipy.special import erf


def _relu(g: np.ndarray) -> np.ndarray:
    return np.maximum(g, 0.0)


def _relu_derivative(g: np.ndarray) -> np.ndarray:
    return (g > 0.0).astype(g.dtype)


def _erf_derivative(g: np.ndarray) -> np.ndarray:
    return 2.0 / math.sqrt(math.pi) * np.exp(-g * g)


ACTIVATIONS = {"relu": (_relu, _relu_derivative), "erf": (erf, _erf_derivative)}


def _plain_floats(settings) -> None:
    """Store the scales as Python floats: a NumPy float64 scale would turn float32 arrays into float64."""
    for field in fields(settings):
        if field.type == "float":
            object.__setattr__(settings, field.name, float(getattr(settings, field.name)))


def _inner(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Inner products of every vector of ``a`` with every vector of ``b``.

    Parameters
    ----------
    a : ndarray of shape (n_a, T_a, k)
    b : ndarray of shape (n_b, T_b, k)

    Returns
    -------
    ndarray of shape (n_a, T_a, n_b, T_b)
    """
    n_a, t_a, k = a.shape
    n_b, t_b, _ = b.shape
    return (a.reshape(n_a * t_a, k) @ b.reshape(n_b * t_b, k).T).reshape(n_a, t_a, n_b, t_b)


# --------------------------------------------------------------------------------------------------------------
# Elman RNN
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RNNSettings:
    """The hyperparameters of docs/kernels.md section 1; the names are those of the ``rntk`` kernel."""

    n_layers: int = 1
    sigma_w: float = 1.4142
    sigma_u: float = 0.5
    sigma_b: float = 0.1
    sigma_h: float = 0.0
    sigma_v: float = 1.0
    activation: str = "relu"
    output: str = "last"
    direction: str = "forward"
    fixed_layers: int = 0

    def __post_init__(self) -> None:
        _plain_floats(self)

    def kernel_params(self) -> dict:
        """The keyword arguments of ``get_kernel("rntk", ...)`` for the same network."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class RNNWeights:
    """The N(0, 1) trained parameters of one reading direction.

    A stack deeper or an input layer wider than a network needs can serve it: a network with ``L`` layers
    and ``m`` channels uses layers ``0..L-1`` and the first ``m`` columns of ``U[0]``, which are N(0, 1) too.

    Attributes
    ----------
    W : tuple of ndarray of shape (n, n)
        Recurrent weights, one per layer.
    U : tuple of ndarray
        Input weights: ``U[0]`` has shape (n, max_channels), the others (n, n).
    b : tuple of ndarray of shape (n,)
        Biases.
    V : ndarray of shape (n, k)
        ``k`` independent readouts. Each gives a network whose output is one column of ``f``; they share the
        recurrent layers, and the empirical NTK is averaged over them for the cost of a wider backward pass.
        That lowers the seed-to-seed spread of erf networks (mostly due to V) but hardly that of ReLU
        networks at the edge of chaos (due to W). ``k = 1`` is a single network.
    """

    W: tuple[np.ndarray, ...]
    U: tuple[np.ndarray, ...]
    b: tuple[np.ndarray, ...]
    V: np.ndarray

    @property
    def width(self) -> int:
        return self.V.shape[0]

    @property
    def n_readouts(self) -> int:
        return self.V.shape[1]

    @property
    def dtype(self) -> np.dtype:
        return self.V.dtype

    @classmethod
    def sample(
        cls,
        rng: np.random.Generator,
        n_layers: int,
        width: int,
        max_channels: int,
        n_readouts: int = 1,
        dtype: type = np.float64,
    ) -> RNNWeights:
        """Draw every entry i.i.d. N(0, 1).

        ``dtype = np.float32`` halves the memory traffic of the many-seed estimates (every step reads the
        whole recurrent matrix); its rounding (1e-7) is far below their Monte-Carlo error.
        """
        def normal(*shape):
            return rng.standard_normal(shape, dtype=dtype)
        return cls(
            W=tuple(normal(width, width) for _ in range(n_layers)),
            U=tuple(normal(width, max_channels if l == 0 else width) for l in range(n_layers)),
            b=tuple(normal(width) for _ in range(n_layers)),
            V=normal(width, n_readouts),
        )

    def shifted(self, direction: RNNWeights, step: float) -> RNNWeights:
        """``self + step * direction``, block by block (for finite differences)."""
        return RNNWeights(
            W=tuple(w + step * d for w, d in zip(self.W, direction.W)),
            U=tuple(u + step * d for u, d in zip(self.U, direction.U)),
            b=tuple(b + step * d for b, d in zip(self.b, direction.b)),
            V=self.V + step * direction.V,
        )


@dataclass(frozen=True)
class RNNBatch:
    """Right-aligned sequences of one reading direction.

    Attributes
    ----------
    values : ndarray of shape (N, T_max, n_channels)
        Zero before a sequence starts.
    mask : ndarray of shape (N, T_max), bool
        True at the real steps of each sequence.
    lengths : ndarray of shape (N,)
    """

    values: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray

    @classmethod
    def from_sequences(cls, sequences: list[np.ndarray], reverse: bool = False) -> RNNBatch:
        """Right-align time-major sequences ``(T_i, n_channels)``; ``reverse`` reads each one backwards."""
        if reverse:
            sequences = [seq[::-1] for seq in sequences]
        t_max = max(len(seq) for seq in sequences)
        values = np.zeros((len(sequences), t_max, sequences[0].shape[1]))
        mask = np.zeros((len(sequences), t_max), dtype=bool)
        for index, seq in enumerate(sequences):
            values[index, t_max - len(seq):] = seq
            mask[index, t_max - len(seq):] = True
        return cls(values, mask, np.array([len(seq) for seq in sequences]))


@dataclass(frozen=True)
class RNNTrace:
    """One direction's forward and backward pass over a batch: what the gradient is made of.

    For layer ``l`` and readout ``r``, the gradient of ``f_r(x_i)`` with respect to ``W_l`` is
    ``sigma_w/sqrt(n) sum_t delta[l][i, t, r] (x) h_prev[l][i, t]``, with respect to ``U_l`` it is
    ``sigma_u/sqrt(m_l) sum_t delta[l][i, t, r] (x) inputs[l][i, t]``, with respect to ``b_l``
    ``sigma_b sum_t delta[l][i, t, r]``, and with respect to ``V[:, r]`` it is ``sigma_v/sqrt(n) z[i]``.

    Attributes
    ----------
    inputs : list of ndarray of shape (N, T_max, m_l)
        ``h[l-1, t]`` (the series itself for the first layer).
    h_prev : list of ndarray of shape (N, T_max, n)
        ``h[l, t-1]``; the initial state at each sequence's first step.
    delta : list of ndarray of shape (N, T_max, k, n)
        ``d f_r / d g[l, t]`` for each of the ``k`` readouts; zero at padded steps.
    z : ndarray of shape (N, n)
        The readout features (last state or mean of the states of the top layer).
    f : ndarray of shape (N, k)
        The network outputs, one column per readout.
    """

    inputs: list[np.ndarray]
    h_prev: list[np.ndarray]
    delta: list[np.ndarray]
    z: np.ndarray
    f: np.ndarray


def _rnn_forward(weights: RNNWeights, p: RNNSettings, batch: RNNBatch, h0: np.ndarray):
    """Run the stack; return per-layer inputs, previous states and pre-activations, and the features z."""
    phi, _ = ACTIVATIONS[p.activation]
    n = weights.width
    mask = batch.mask[:, :, None]
    below = batch.values.astype(weights.dtype)
    inputs, h_prev, pre = [], [], []
    for l in range(p.n_layers):
        m_l = below.shape[2]
        drive = p.sigma_u / math.sqrt(m_l) * below @ weights.U[l][:, :m_l].T + p.sigma_b * weights.b[l]
        previous, g, h = np.empty_like(drive), np.empty_like(drive), np.empty_like(drive)
        state = h0[l].astype(weights.dtype)
        for s in range(drive.shape[1]):
            previous[:, s] = state
            g[:, s] = p.sigma_w / math.sqrt(n) * state @ weights.W[l].T + drive[:, s]
            # Before its first step a right-aligned sequence keeps its initial state.
            state = np.where(mask[:, s], phi(g[:, s]), state)
            h[:, s] = state
        inputs.append(below)
        h_prev.append(previous)
        pre.append(g)
        below = h
    if p.output == "last":
        z = below[:, -1]
    elif p.output == "mean":
        z = (below * mask).sum(axis=1) / batch.lengths[:, None].astype(weights.dtype)
    else:
        raise ValueError(f"unknown output {p.output!r}; valid: 'last', 'mean'")
    return inputs, h_prev, pre, z


def rnn_trace(weights: RNNWeights, p: RNNSettings, batch: RNNBatch, h0: np.ndarray) -> RNNTrace:
    """Forward pass and backpropagation through time of one reading direction.

    Parameters
    ----------
    weights : RNNWeights
        At least ``p.n_layers`` layers and ``n_channels`` input columns.
    p : RNNSettings
    batch : RNNBatch
        N right-aligned sequences.
    h0 : ndarray of shape (n_layers, N, n)
        The initial states (already scaled by ``sigma_h``).

    Returns
    -------
    RNNTrace
    """
    _, phi_dot = ACTIVATIONS[p.activation]
    n, k = weights.width, weights.n_readouts
    inputs, h_prev, pre, z = _rnn_forward(weights, p, batch, h0)
    f = p.sigma_v / math.sqrt(n) * z @ weights.V

    n_seq, t_max = batch.mask.shape
    mask = batch.mask[:, :, None, None]
    readout = p.sigma_v / math.sqrt(n) * weights.V.T              # (k, n)
    from_above = np.zeros((n_seq, t_max, k, n), weights.dtype)    # d f / d h[top, t] through the readout
    if p.output == "last":
        from_above[:, -1] = readout
    else:
        from_above[:] = mask / batch.lengths[:, None, None, None] * readout
    delta: list[np.ndarray] = [np.empty(0)] * p.n_layers
    for l in reversed(range(p.n_layers)):
        d_layer = np.zeros((n_seq, t_max, k, n), weights.dtype)
        from_next_step = np.zeros((n_seq, k, n), weights.dtype)   # d f / d h[l, t] through g[l, t+1]
        for s in reversed(range(t_max)):
            d_state = from_above[:, s] + from_next_step
            d_layer[:, s] = d_state * phi_dot(pre[l][:, s])[:, None, :] * mask[:, s]
            # At a padded step the state is copied, so its gradient passes through unchanged.
            from_next_step = np.where(
                mask[:, s], p.sigma_w / math.sqrt(n) * d_layer[:, s] @ weights.W[l], d_state
            )
        delta[l] = d_layer
        m_l = inputs[l].shape[2]
        from_above = p.sigma_u / math.sqrt(m_l) * d_layer @ weights.U[l][:, :m_l]
    return RNNTrace(inputs=inputs, h_prev=h_prev, delta=delta, z=z, f=f)


def rnn_trace_gram(a: RNNTrace, b: RNNTrace, p: RNNSettings) -> np.ndarray:
    """Empirical NTK ``J_a J_b^T`` of one direction over the trained parameters (the layers above
    ``fixed_layers``, and the readout ``V``), from the outer-product structure of the gradients,
    averaged over the readouts.

    Returns
    -------
    ndarray of shape (N_a, N_b)
    """
    n_a, t_a, k, n = a.delta[-1].shape
    n_b, t_b = b.delta[-1].shape[:2]
    gram = (p.sigma_v**2 / n * a.z @ b.z.T).astype(np.float64)
    for l in range(p.fixed_layers, p.n_layers):
        # Pairing readout r of one sample with readout r of the other is an inner product over (k, n).
        deltas = _inner(a.delta[l].reshape(n_a, t_a, k * n), b.delta[l].reshape(n_b, t_b, k * n)) / k
        m_l = a.inputs[l].shape[2]
        gram += p.sigma_w**2 / n * np.einsum("isjt,isjt->ij", deltas, _inner(a.h_prev[l], b.h_prev[l]))
        gram += p.sigma_u**2 / m_l * np.einsum("isjt,isjt->ij", deltas, _inner(a.inputs[l], b.inputs[l]))
        gram += p.sigma_b**2 * deltas.sum(axis=(1, 3))
    return gram


def rnn_jacobian(trace: RNNTrace, p: RNNSettings) -> dict[str, np.ndarray]:
    """The per-sample Jacobian of the output of a single-readout network, materialised block by block.

    Returns
    -------
    dict of str to ndarray
        ``"W1"``, ``"U1"``, ``"b1"``, ... for the trained layers and ``"V"``; each of shape
        (N, *block_shape), where ``U1`` has only the batch's ``n_channels`` columns.
    """
    if trace.f.shape[1] != 1:
        raise ValueError(f"the Jacobian is defined for one readout; this trace has {trace.f.shape[1]}")
    n = trace.z.shape[1]
    blocks = {}
    for l in range(p.fixed_layers, p.n_layers):
        delta = trace.delta[l][:, :, 0]
        m_l = trace.inputs[l].shape[2]
        blocks[f"W{l + 1}"] = p.sigma_w / math.sqrt(n) * np.einsum("isa,isb->iab", delta, trace.h_prev[l])
        blocks[f"U{l + 1}"] = p.sigma_u / math.sqrt(m_l) * np.einsum("isa,isb->iab", delta, trace.inputs[l])
        blocks[f"b{l + 1}"] = p.sigma_b * delta.sum(axis=1)
    blocks["V"] = p.sigma_v / math.sqrt(n) * trace.z
    return blocks


def weight_blocks(weights: RNNWeights, p: RNNSettings, n_channels: int) -> dict[str, np.ndarray]:
    """The trained blocks of a single-readout ``weights`` under the names of :func:`rnn_jacobian`."""
    blocks = {}
    for l in range(p.fixed_layers, p.n_layers):
        blocks[f"W{l + 1}"] = weights.W[l]
        blocks[f"U{l + 1}"] = weights.U[l][:, :n_channels] if l == 0 else weights.U[l]
        blocks[f"b{l + 1}"] = weights.b[l]
    blocks["V"] = weights.V[:, 0]
    return blocks


@dataclass(frozen=True)
class RNN:
    """A sampled network: one :class:`RNNWeights` per reading direction it can use.

    ``forward`` reads the series as given and ``backward`` reads them reversed; a ``"reversed"`` network
    uses ``backward`` alone, a bidirectional one adds both outputs (their parameters are independent).
    """

    forward: RNNWeights
    backward: RNNWeights

    @classmethod
    def sample(
        cls,
        rng: np.random.Generator,
        n_layers: int,
        width: int,
        max_channels: int,
        n_readouts: int = 1,
        dtype: type = np.float64,
    ) -> RNN:
        return cls(
            RNNWeights.sample(rng, n_layers, width, max_channels, n_readouts, dtype),
            RNNWeights.sample(rng, n_layers, width, max_channels, n_readouts, dtype),
        )

    def directions(self, p: RNNSettings) -> list[tuple[RNNWeights, bool]]:
        """``(weights, reverse)`` for every direction the settings read."""
        choices = {
            "forward": [(self.forward, False)],
            "reversed": [(self.backward, True)],
            "bidirectional": [(self.forward, False), (self.backward, True)],
        }
        return choices[p.direction]


def initial_states(rng: np.random.Generator, p: RNNSettings, n_sequences: int, width: int) -> np.ndarray:
    """Fresh initial states ``h[l, 0] ~ N(0, sigma_h^2)`` for every layer and every sequence.

    Returns
    -------
    ndarray of shape (n_layers, n_sequences, width)
    """
    return p.sigma_h * rng.standard_normal((p.n_layers, n_sequences, width))


def rnn_traces(net: RNN, p: RNNSettings, sequences: list[np.ndarray], rng: np.random.Generator) -> list[RNNTrace]:
    """One trace per reading direction, each direction with its own fresh initial states."""
    traces = []
    for weights, reverse in net.directions(p):
        h0 = initial_states(rng, p, len(sequences), weights.width)
        traces.append(rnn_trace(weights, p, RNNBatch.from_sequences(sequences, reverse), h0))
    return traces


def rnn_gram(
    net: RNN,
    p: RNNSettings,
    X: list[np.ndarray],
    Y: list[np.ndarray] | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """Empirical NTK of one sampled network (averaged over its readouts).

    Parameters
    ----------
    net : RNN
    p : RNNSettings
    X, Y : list of ndarray of shape (T_i, n_channels)
        With ``Y`` omitted, the Gram matrix of ``X`` with itself: a sequence paired with itself shares its
        initial state. With ``Y`` given, ``Y``'s sequences get their own initial states (drawn after
        ``X``'s), as separate inputs to the same network.
    rng : numpy.random.Generator
        Source of the initial states.

    Returns
    -------
    ndarray of shape (len(X), len(Y or X))
    """
    traces_x = rnn_traces(net, p, X, rng)
    traces_y = traces_x if Y is None else rnn_traces(net, p, Y, rng)
    return sum(rnn_trace_gram(a, b, p) for a, b in zip(traces_x, traces_y))


def rnn_outputs(
    net: RNN, p: RNNSettings, X: list[np.ndarray], rng: np.random.Generator, n_readouts: int
) -> np.ndarray:
    """Outputs of ``n_readouts`` networks that share ``net``'s recurrent layers but have independent
    readouts ``V`` (drawn from ``rng``); their second moment over readouts and seeds is the NNGP kernel.

    Returns
    -------
    ndarray of shape (len(X), n_readouts)
    """
    out = np.zeros((len(X), n_readouts))
    for weights, reverse in net.directions(p):
        h0 = initial_states(rng, p, len(X), weights.width)
        _, _, _, z = _rnn_forward(weights, p, RNNBatch.from_sequences(X, reverse), h0)
        readouts = rng.standard_normal((weights.width, n_readouts), dtype=weights.dtype)
        out += p.sigma_v / math.sqrt(weights.width) * z @ readouts
    return out


# --------------------------------------------------------------------------------------------------------------
# Fully connected network
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FCSettings:
    """The hyperparameters of docs/kernels.md section 4; the names are those of the ``ntk`` kernel."""

    n_layers: int = 1
    fixed_layers: int = 0
    sigma_w: float = 1.0
    sigma_b: float = 0.0
    activation: str = "relu"

    def __post_init__(self) -> None:
        _plain_floats(self)

    def kernel_params(self) -> dict:
        """The keyword arguments of ``get_kernel("ntk", ...)`` for the same network."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class FCWeights:
    """The N(0, 1) parameters of a fully connected network, deep enough for every depth up to ``max_layers``.

    A network with ``L >= 1`` hidden layers uses ``first``, ``hidden[:L-1]`` with ``biases[:L-1]``, and the
    readout ``(readout, readout_bias)``; with ``L = 0`` it is ``f = linear . x``.

    Attributes
    ----------
    first : ndarray of shape (n, d)
        ``W_0``.
    hidden : tuple of ndarray of shape (n, n)
        ``W_1 .. W_{max_layers-1}``.
    biases : tuple of ndarray of shape (n,)
        ``b_1 .. b_{max_layers-1}``.
    readout : ndarray of shape (n,)
        ``W_L`` (a single row).
    readout_bias : float
        ``b_L``.
    linear : ndarray of shape (d,)
        The weights of the ``L = 0`` model.
    """

    first: np.ndarray
    hidden: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    readout: np.ndarray
    readout_bias: float
    linear: np.ndarray

    @property
    def width(self) -> int:
        return self.readout.shape[0]

    @classmethod
    def sample(
        cls, rng: np.random.Generator, max_layers: int, width: int, n_features: int, dtype: type = np.float64
    ) -> FCWeights:
        """Draw every entry i.i.d. N(0, 1) (``dtype``: as in :meth:`RNNWeights.sample`)."""
        def normal(*shape):
            return rng.standard_normal(shape, dtype=dtype)
        return cls(
            first=normal(width, n_features),
            hidden=tuple(normal(width, width) for _ in range(max(max_layers - 1, 0))),
            biases=tuple(normal(width) for _ in range(max(max_layers - 1, 0))),
            readout=normal(width),
            readout_bias=float(rng.standard_normal()),
            linear=normal(n_features),
        )

    def shifted(self, direction: FCWeights, step: float) -> FCWeights:
        """``self + step * direction``, block by block (for finite differences)."""
        return FCWeights(
            first=self.first + step * direction.first,
            hidden=tuple(w + step * d for w, d in zip(self.hidden, direction.hidden)),
            biases=tuple(b + step * d for b, d in zip(self.biases, direction.biases)),
            readout=self.readout + step * direction.readout,
            readout_bias=self.readout_bias + step * direction.readout_bias,
            linear=self.linear + step * direction.linear,
        )


@dataclass(frozen=True)
class FCTrace:
    """Forward and backward pass of a fully connected network over a batch.

    Weight layer ``h = 0..L`` maps ``inputs[h]`` to ``g_h``; the gradient of ``f(x_i)`` with respect to
    ``W_h`` is ``scale_h delta[h][i] (x) inputs[h][i]`` (``scale_0 = 1``, else ``sigma_w/sqrt(n)``), with
    respect to ``b_h`` (``h >= 1``) it is ``sigma_b delta[h][i]``.

    Attributes
    ----------
    inputs : list of ndarray of shape (N, d) or (N, n)
        ``x`` for ``h = 0``, ``phi(g_{h-1})`` above.
    delta : list of ndarray of shape (N, n) or (N, 1)
        ``d f / d g_h``; the readout's is 1.
    f : ndarray of shape (N,)
    """

    inputs: list[np.ndarray]
    delta: list[np.ndarray]
    f: np.ndarray


def fc_trace(weights: FCWeights, p: FCSettings, X: np.ndarray) -> FCTrace:
    """Forward pass and backpropagation of the network with ``p.n_layers`` hidden layers.

    Parameters
    ----------
    weights : FCWeights
    p : FCSettings
    X : ndarray of shape (N, d)

    Returns
    -------
    FCTrace
    """
    X = X.astype(weights.readout.dtype)
    if p.n_layers == 0:
        return FCTrace(inputs=[X], delta=[np.ones((len(X), 1), X.dtype)], f=X @ weights.linear)
    phi, phi_dot = ACTIVATIONS[p.activation]
    scale = p.sigma_w / math.sqrt(weights.width)
    matrices = [weights.first, *weights.hidden[: p.n_layers - 1], weights.readout[None, :]]
    biases = [None, *weights.biases[: p.n_layers - 1], np.array([weights.readout_bias], X.dtype)]
    inputs, pre = [X], [X @ weights.first.T]
    for h in range(1, p.n_layers + 1):
        inputs.append(phi(pre[-1]))
        pre.append(scale * inputs[-1] @ matrices[h].T + p.sigma_b * biases[h])
    delta = [np.ones((len(X), 1), X.dtype)]
    for h in range(p.n_layers, 0, -1):
        delta.insert(0, scale * delta[0] @ matrices[h] * phi_dot(pre[h - 1]))
    return FCTrace(inputs=inputs, delta=delta, f=pre[-1][:, 0])


def fc_trace_gram(a: FCTrace, b: FCTrace, p: FCSettings) -> np.ndarray:
    """Empirical NTK ``J_a J_b^T`` over the trained weight layers ``h = fixed_layers..n_layers``.

    Returns
    -------
    ndarray of shape (N_a, N_b)
    """
    gram = np.zeros((len(a.f), len(b.f)))
    for h in range(p.fixed_layers, p.n_layers + 1):
        deltas = a.delta[h] @ b.delta[h].T
        if h == 0:
            gram += deltas * (a.inputs[0] @ b.inputs[0].T)
        else:
            width = a.inputs[h].shape[1]
            gram += deltas * (p.sigma_w**2 / width * a.inputs[h] @ b.inputs[h].T + p.sigma_b**2)
    return gram


def fc_jacobian(trace: FCTrace, p: FCSettings) -> dict[str, np.ndarray]:
    """The per-sample Jacobian of ``f`` with respect to each trained block ``W{h}``, ``b{h}``, materialised.

    Returns
    -------
    dict of str to ndarray of shape (N, *block_shape)
    """
    blocks = {}
    for h in range(p.fixed_layers, p.n_layers + 1):
        outer = np.einsum("ia,ib->iab", trace.delta[h], trace.inputs[h])
        if h == 0:
            blocks["W0"] = outer[:, 0] if p.n_layers == 0 else outer
        else:
            width = trace.inputs[h].shape[1]
            blocks[f"W{h}"] = p.sigma_w / math.sqrt(width) * (outer[:, 0] if h == p.n_layers else outer)
            blocks[f"b{h}"] = p.sigma_b * (trace.delta[h][:, 0] if h == p.n_layers else trace.delta[h])
    return blocks


def fc_weight_blocks(weights: FCWeights, p: FCSettings) -> dict[str, np.ndarray]:
    """The trained blocks of ``weights`` under the names of :func:`fc_jacobian`."""
    if p.n_layers == 0:
        return {"W0": weights.linear} if p.fixed_layers == 0 else {}
    matrices = [weights.first, *weights.hidden[: p.n_layers - 1], weights.readout]
    biases = [None, *weights.biases[: p.n_layers - 1], np.float64(weights.readout_bias)]
    blocks = {}
    for h in range(p.fixed_layers, p.n_layers + 1):
        blocks[f"W{h}"] = matrices[h]
        if h > 0:
            blocks[f"b{h}"] = biases[h]
    return blocks


def fc_gram(weights: FCWeights, p: FCSettings, X: np.ndarray, Y: np.ndarray | None = None) -> np.ndarray:
    """Empirical NTK of one sampled fully connected network.

    Returns
    -------
    ndarray of shape (len(X), len(Y or X))
    """
    a = fc_trace(weights, p, X)
    b = a if Y is None else fc_trace(weights, p, Y)
    return fc_trace_gram(a, b, p)


def fc_outputs(trace: FCTrace, p: FCSettings, readouts: np.ndarray, readout_bias: np.ndarray) -> np.ndarray:
    """Outputs of networks that share the layers of ``trace`` below the readout, one per column of
    ``readouts``; their second moment over readouts and seeds is the NNGP kernel ``Sigma_L``.

    Parameters
    ----------
    trace : FCTrace
    p : FCSettings
    readouts : ndarray of shape (n_rows, k)
        N(0, 1) readout weights ``W_L``, one network per column; the first ``n`` rows are used (``d`` rows
        for ``L = 0``, where the readout is the linear layer itself).
    readout_bias : ndarray of shape (k,)
        N(0, 1) readout biases ``b_L`` (unused for ``L = 0``).

    Returns
    -------
    ndarray of shape (N, k)
    """
    features = trace.inputs[-1]
    weights = readouts[: features.shape[1]]
    if p.n_layers == 0:
        return features @ weights
    return p.sigma_w / math.sqrt(features.shape[1]) * features @ weights + p.sigma_b * readout_bias
