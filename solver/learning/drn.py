r"""Deep resistive networks (DRNs): layered resistor-diode circuits with a fast block solver.

A DRN (Scellier, "A Fast Algorithm to Simulate Nonlinear Resistive Networks",
ICML 2024, section 4) is a chain of layers of nodes:

* **input layer** (layer 0): ``2 * d`` voltage sources to ground holding
  ``gain * [x, -x]`` for an input ``x`` in ``[0, 1]^d`` (the negated copy lets
  non-negative conductances act as signed weights);
* **hidden layers**: the first half of each layer's nodes is *excitatory*, an
  ideal diode from ground to the node keeps ``v >= 0``; the second half is
  *inhibitory*, a diode from the node to ground keeps ``v <= 0``;
* **output layer**: linear nodes (no diode).

Consecutive layers are joined all-to-all by resistors whose conductances form
the weight matrices ``W[k]`` (shape ``(n_k, n_{k+1})``, kept ``>= 0``). Each
hidden and output node ``j`` also gets a *bias*: an ideal current source
injecting the current ``b_j`` (A) from ground into the node, i.e. the energy
term ``-b_j v_j``. The steady state minimises the power function

.. math::

    E(v) = \sum_k \sum_{i,j} \tfrac12 W^k_{ij} (v^k_i - v^{k+1}_j)^2 - \sum_j b_j v_j

under the diode constraints, with the input layer clamped. As the layers form
a bipartite chain, all odd layers can be minimised exactly at once given the
even ones and vice versa: each node goes to the conductance-weighted mean of
its neighbours plus its bias current over its total conductance, clipped at 0
by its diode. That is the block coordinate descent of :func:`DRN.relax`.

Conventions follow the paper's public code (``rain-neuromorphics/energy-based-learning``,
``model/resistive/*.py`` and ``papers/fast-drn/drn.py``): the input layer is
``gain * cat(x, -x)`` with ``x`` = raw pixels in ``[0, 1]``; the weights are
initialised uniform in ``+-1/sqrt(fan_in)`` then clipped at 0; the biases start
at 0; one iteration updates the odd layers then the even ones
("asynchronous" mode); the first half of a hidden layer is excitatory.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path

import numba
import numpy as np

from . import _drn_kernels as K
from .checks import check_int, check_real
from ..exceptions import FloatingNodeError, InvalidValueError, NetworkError

__all__ = ["DRN", "NudgingError", "DRN_DTYPE", "using_threads"]

#: Default floating-point type of DRN states and weights (as the paper's PyTorch code).
DRN_DTYPE = np.float32

#: Format tag of the ``.npz`` checkpoints written by :meth:`DRN.save`.
_CHECKPOINT_FORMAT = "resistive-explorer-drn-1"


class NudgingError(NetworkError):
    """A nudged phase whose output nodes have a non-positive total conductance.

    In the ``-beta`` phase of centered EP, an output node's quadratic
    coefficient is ``sum(g) - beta``; when it is ``<= 0`` the nudged energy is
    unbounded below and there is no equilibrium.
    """

    def __init__(self, message, nodes=()):
        super().__init__(message)
        self.nodes = list(nodes)


@contextmanager
def using_threads(threads):
    """Run the DRN kernels inside the ``with`` block on ``threads`` threads (``None``: all cores).

    The kernels cut their work into blocks of a fixed size, each computed by
    one thread, so results are bit-identical for every thread count.
    """
    if threads is None:
        yield
        return
    threads = check_int("threads", threads, 1)
    if threads > numba.config.NUMBA_NUM_THREADS:
        raise InvalidValueError(
            f"threads must be at most {numba.config.NUMBA_NUM_THREADS} (numba's pool, set by "
            f"NUMBA_NUM_THREADS before the first import), got {threads}")
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before)


class DRN:
    """A deep resistive network: weights, biases and the batched block solver.

    Parameters
    ----------
    layer_sizes : sequence of int
        Nodes per layer, input first: ``[2 * d, h_1, ..., h_m, n_out]``. The
        input layer holds ``2 * d`` sources (``x`` and ``-x``) so its size must
        be even; hidden sizes must be even (half excitatory, half inhibitory).
    input_gain : float
        Voltage gain of the input sources (``gain * [x, -x]``).
    seed : int or numpy Generator, optional
        Seeds the initialisation: ``W ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))``
        clipped at 0, biases 0.
    dtype : numpy dtype
        ``float32`` (default, fast) or ``float64`` (tests).

    Examples
    --------
    >>> import numpy as np
    >>> from solver.learning.drn import DRN
    >>> net = DRN([8, 4, 2], input_gain=2.0, seed=0)
    >>> state = net.relax(np.full((1, 4), 0.5), n_iter=100)
    >>> [s.shape for s in state]
    [(1, 4), (1, 2)]
    """

    def __init__(self, layer_sizes, input_gain=1.0, *, seed=None, dtype=DRN_DTYPE):
        sizes = list(layer_sizes)
        if len(sizes) < 2:
            raise InvalidValueError(
                f"layer_sizes needs an input and an output layer, got {layer_sizes!r}")
        sizes = [check_int(f"layer_sizes[{k}]", n, 1) for k, n in enumerate(sizes)]
        if sizes[0] % 2:
            raise InvalidValueError(
                f"layer_sizes[0] = {sizes[0]} must be even: the input layer holds x and -x")
        for k in range(1, len(sizes) - 1):
            if sizes[k] % 2:
                raise InvalidValueError(
                    f"layer_sizes[{k}] = {sizes[k]} must be even: half excitatory, half inhibitory")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise InvalidValueError(f"dtype must be float32 or float64, got {dtype!r}")
        self.layer_sizes = sizes
        self.input_gain = check_real("input_gain", input_gain, positive=True)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.weights = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            scale = 1.0 / math.sqrt(n_in)
            w = rng.uniform(-scale, scale, size=(n_in, n_out))
            self.weights.append(np.ascontiguousarray(np.maximum(w, 0.0), dtype=self.dtype))
        self.biases = [np.zeros(n, dtype=self.dtype) for n in sizes[1:]]

    # ----------------------------------------------------------------- shape
    @property
    def num_inputs(self) -> int:
        """Features ``d`` of an input (half the input layer)."""
        return self.layer_sizes[0] // 2

    @property
    def num_free_layers(self) -> int:
        return len(self.layer_sizes) - 1

    def __repr__(self):
        arch = "-".join(str(n) for n in self.layer_sizes)
        return f"DRN({arch}, input_gain={self.input_gain:g}, dtype={self.dtype.name})"

    # ----------------------------------------------------------------- inputs
    def check_inputs(self, x, name="x") -> np.ndarray:
        """Coerce ``x`` to a C-contiguous ``(batch, d)`` array of the model's dtype."""
        x = np.asarray(x)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.num_inputs:
            raise InvalidValueError(
                f"{name} must have shape (batch, {self.num_inputs}), got {np.shape(x)}")
        if x.shape[0] == 0:
            raise InvalidValueError(f"{name} is an empty batch")
        x = np.ascontiguousarray(x, dtype=self.dtype)
        if not np.isfinite(x).all():
            raise InvalidValueError(f"{name} contains NaN or infinite values")
        return x

    def input_voltages(self, x) -> np.ndarray:
        """Voltages of the input sources, ``gain * [x, -x]``, shape ``(batch, 2d)``."""
        x = self.check_inputs(x)
        g = self.dtype.type(self.input_gain)
        return np.ascontiguousarray(np.concatenate([g * x, -g * x], axis=1))

    def check_targets(self, y, batch) -> np.ndarray:
        """Coerce labels (ints) or targets ``(batch, n_out)`` to a target array."""
        y = np.asarray(y)
        n_out = self.layer_sizes[-1]
        if y.ndim == 1:
            if not np.issubdtype(y.dtype, np.integer):
                raise InvalidValueError(f"labels y must be integers, got dtype {y.dtype}")
            if y.shape[0] != batch:
                raise InvalidValueError(f"labels y has {y.shape[0]} entries for a batch of {batch}")
            if y.size and (y.min() < 0 or y.max() >= n_out):
                raise InvalidValueError(f"labels y must lie in 0..{n_out - 1}")
            t = np.zeros((batch, n_out), dtype=self.dtype)
            t[np.arange(batch), y] = 1.0
            return t
        if y.shape != (batch, n_out):
            raise InvalidValueError(f"targets y must have shape ({batch}, {n_out}), got {y.shape}")
        return np.ascontiguousarray(y, dtype=self.dtype)

    # ----------------------------------------------------------------- state
    def zero_state(self, batch) -> list:
        """All free nodes at 0 V: the paper's starting point for inference."""
        return [np.zeros((batch, n), dtype=self.dtype) for n in self.layer_sizes[1:]]

    def conductance_sums(self) -> list:
        """Total conductance at each node of each free layer (the block minimiser's denominators)."""
        dens = []
        L = self.num_free_layers
        for k in range(L):
            d = self.weights[k].sum(axis=0, dtype=np.float64)
            if k < L - 1:
                d = d + self.weights[k + 1].sum(axis=1, dtype=np.float64)
            dens.append(np.ascontiguousarray(d, dtype=self.dtype))
        return dens

    def transposes(self) -> list:
        """``W[k].T`` in C order for the narrow matrices the block solver reads by column.

        Entry 0 (the input weights, never read transposed) and wide matrices
        get a 1x1 placeholder.
        """
        out = []
        for k, W in enumerate(self.weights):
            if k > 0 and W.shape[1] < K.NARROW_COLUMNS:
                out.append(np.ascontiguousarray(W.T))
            else:
                out.append(np.zeros((1, 1), dtype=self.dtype))
        return out

    def check_conductances(self, dens, beta=0.0):
        """Raise if a free node has no conductance, or if ``sum(g) + beta <= 0`` at an output."""
        L = self.num_free_layers
        for k in range(L - 1):
            bad = np.flatnonzero(~(dens[k] > 0))
            if bad.size:
                raise FloatingNodeError(
                    f"hidden layer {k + 1}: node {int(bad[0])} (and {bad.size - 1} more) has no "
                    "conducting resistor left (all its weights were clipped to 0); its potential "
                    "is undetermined. Lower the learning rates or re-initialise.",
                    nodes=[f"L{k + 1}_{int(i)}" for i in bad])
        coef = dens[L - 1].astype(np.float64) + beta
        bad = np.flatnonzero(~(coef > 0))
        if bad.size:
            j = int(bad[0])
            raise NudgingError(
                f"output node {j}: quadratic coefficient sum(g) + beta = {dens[L - 1][j]:.6g} "
                f"{'+' if beta >= 0 else '-'} {abs(beta):.6g} = {coef[j]:.6g} is not positive, so "
                "the nudged phase has no equilibrium. Use a smaller nudging beta (or larger "
                "output conductances).",
                nodes=[f"L{L}_{int(i)}" for i in bad])

    def relax(self, x, state=None, *, n_iter=100, beta=0.0, y=None, threads=None) -> list:
        """Block coordinate descent from ``state`` (default: zeros); returns the new state.

        Parameters
        ----------
        x : array (batch, d)
            Inputs in (typically) ``[0, 1]``.
        state : list of arrays, optional
            Free-layer voltages to start from; updated in place when given.
        n_iter : int
            Iterations; each one updates the odd layers then the even layers.
        beta : float
            Nudging: a conductance ``beta`` from each output node to a source
            at the target ``y`` (the energy gains ``beta * C`` with
            ``C = 1/2 ||v_out - y||^2``). Negative ``beta`` is allowed while
            ``sum(g) + beta > 0`` at every output node, else :class:`NudgingError`.
        y : labels (batch,) or targets (batch, n_out), required when ``beta != 0``.
        threads : int, optional
            Threads of the kernels (default: all cores); the result does not
            depend on it, bit for bit.
        """
        x = self.check_inputs(x)
        batch = x.shape[0]
        n_iter = check_int("n_iter", n_iter, 0)
        beta = check_real("beta", beta)
        if beta != 0.0:
            if y is None:
                raise InvalidValueError("beta != 0 needs targets y")
            t = self.check_targets(y, batch)
        else:
            t = np.zeros((batch, self.layer_sizes[-1]), dtype=self.dtype)
        if state is None:
            state = self.zero_state(batch)
        else:
            self.check_state(state, batch)
        dens = self.conductance_sums()
        self.check_conductances(dens, beta)
        accs = K.seq([np.empty_like(s) for s in state])
        with using_threads(threads):
            P = self.input_product(x)
            K.relax(P, K.seq(state), K.seq(self.weights), K.seq(self.transposes()),
                    K.seq(self.biases), K.seq(dens), t, self.dtype.type(beta), n_iter, accs,
                    K.parallel_now())
        return state

    def input_product(self, x) -> np.ndarray:
        """``input_voltages(x) @ W[0]``: the input layer's current into layer 1, per unit voltage.

        Computed by the same blocked kernel as training (its result does not
        depend on the number of threads).
        """
        vin = self.input_voltages(x)
        W0 = self.weights[0]
        P = np.empty((vin.shape[0], W0.shape[1]), dtype=self.dtype)
        K.project(W0, vin, P, K.parallel_now())
        return P

    def check_state(self, state, batch):
        """Raise unless ``state`` is one C-contiguous ``(batch, n_k)`` array per free layer."""
        if len(state) != self.num_free_layers:
            raise InvalidValueError(
                f"state must hold {self.num_free_layers} layers, got {len(state)}")
        for k, (s, n) in enumerate(zip(state, self.layer_sizes[1:])):
            if (not isinstance(s, np.ndarray) or s.shape != (batch, n) or s.dtype != self.dtype
                    or not s.flags.c_contiguous):
                raise InvalidValueError(
                    f"state[{k}] must be a C-contiguous {self.dtype.name} array of shape "
                    f"({batch}, {n}), got {getattr(s, 'shape', type(s))}")

    def predict(self, x, n_iter=100, *, threads=None) -> np.ndarray:
        """Output voltages after ``n_iter`` iterations from zero, shape ``(batch, n_out)``."""
        return self.relax(x, n_iter=n_iter, threads=threads)[-1]

    def energy(self, x, state, y=None, beta=0.0) -> np.ndarray:
        """Power function ``E + beta * C`` of each example (float64), for checks."""
        x = self.check_inputs(x)
        vs = [self.input_voltages(x).astype(np.float64)] + [s.astype(np.float64) for s in state]
        e = np.zeros(x.shape[0])
        for k, W in enumerate(self.weights):
            d = vs[k][:, :, None] - vs[k + 1][:, None, :]
            e += 0.5 * np.einsum("bij,ij->b", d * d, W.astype(np.float64))
            e -= vs[k + 1] @ self.biases[k].astype(np.float64)
        if beta:
            t = self.check_targets(y, x.shape[0]).astype(np.float64)
            e += beta * 0.5 * ((vs[-1] - t) ** 2).sum(axis=1)
        return e

    # ------------------------------------------------------------ conversion
    @staticmethod
    def node_name(layer, i) -> str:
        """Name of node ``i`` of network layer ``layer`` in :meth:`to_network` (``"L1_7"``)."""
        return f"L{layer}_{i}"

    def to_network(self, x, *, beta=0.0, y=None):
        """The circuit of one example as a general :class:`solver.Network`.

        Input node ``L0_i`` is a voltage source to ground; each conducting
        weight (``g > 0``) is a resistor; hidden nodes get their diode
        (``0 -> node`` for excitatory, ``node -> 0`` for inhibitory); each bias
        is a current source from ground into its node. With ``beta > 0``, each
        output node gets a resistor of conductance ``beta`` to a source at its
        target (negative ``beta`` is not a circuit and is refused).
        """
        from ..core.network import Network

        x = self.check_inputs(x)
        if x.shape[0] != 1:
            raise InvalidValueError(f"to_network takes one example, got a batch of {x.shape[0]}")
        beta = check_real("beta", beta)
        if beta < 0:
            raise InvalidValueError("to_network: beta must be >= 0 (a negative conductance "
                                    "is not a circuit element)")
        vin = self.input_voltages(x)[0].astype(np.float64)
        net = Network()
        names = [[self.node_name(k, i) for i in range(n)] for k, n in enumerate(self.layer_sizes)]
        for i, v in enumerate(vin):
            net.add_voltage_source(names[0][i], "0", float(v), name=f"Vin{i}")
        for k, W in enumerate(self.weights):
            ii, jj = np.nonzero(W > 0)
            net.add_resistors([names[k][i] for i in ii], [names[k + 1][j] for j in jj],
                              W[ii, jj].astype(np.float64),
                              names=[f"G{k}_{i}_{j}" for i, j in zip(ii, jj)])
        L = self.num_free_layers
        for k in range(1, L):
            half = self.layer_sizes[k] // 2
            for i, node in enumerate(names[k]):
                net.add_node(node)
                if i < half:
                    net.add_diode("0", node, 0.0, name=f"D{k}_{i}")
                else:
                    net.add_diode(node, "0", 0.0, name=f"D{k}_{i}")
        for k in range(1, L + 1):
            for i, node in enumerate(names[k]):
                net.add_current_source("0", node, float(self.biases[k - 1][i]), name=f"B{k}_{i}")
        if beta > 0:
            t = self.check_targets(y, 1)[0]
            for i, node in enumerate(names[L]):
                net.add_voltage_source(f"T{i}", "0", float(t[i]), name=f"Vt{i}")
                net.add_resistor(node, f"T{i}", conductance=beta, name=f"Gbeta{i}")
        return net

    def state_from_voltages(self, voltages) -> list:
        """Free-layer state ``(1, n)`` arrays from a ``{node: voltage}`` dict (e.g. a Solution)."""
        return [np.array([[voltages[self.node_name(k, i)] for i in range(n)]], dtype=np.float64)
                for k, n in enumerate(self.layer_sizes) if k > 0]

    # ----------------------------------------------------------- persistence
    def save(self, path, **extra):
        """Write weights, biases and settings to an ``.npz`` file (no pickle).

        ``extra`` arrays or scalars (e.g. the epoch) are stored beside them.
        """
        arrays = {f"W{k}": W for k, W in enumerate(self.weights)}
        arrays.update({f"b{k}": b for k, b in enumerate(self.biases)})
        arrays["layer_sizes"] = np.array(self.layer_sizes, dtype=np.int64)
        arrays["input_gain"] = np.array(self.input_gain)
        arrays["format"] = np.array(_CHECKPOINT_FORMAT)
        for key, value in extra.items():
            if key in arrays:
                raise ValueError(f"extra checkpoint field {key!r} clashes with a model field")
            arrays[key] = np.asarray(value)
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path, dtype=DRN_DTYPE):
        """Read a checkpoint written by :meth:`save`; returns ``(drn, extra_fields)``."""
        with np.load(path, allow_pickle=False) as f:
            if "format" not in f or str(f["format"]) != _CHECKPOINT_FORMAT:
                raise InvalidValueError(f"{path}: not a DRN checkpoint ({_CHECKPOINT_FORMAT})")
            sizes = [int(n) for n in f["layer_sizes"]]
            net = cls(sizes, float(f["input_gain"]), seed=0, dtype=dtype)
            for k in range(len(sizes) - 1):
                W, b = f[f"W{k}"], f[f"b{k}"]
                if W.shape != net.weights[k].shape or b.shape != net.biases[k].shape:
                    raise InvalidValueError(f"{path}: W{k}/b{k} shapes do not match layer_sizes")
                net.weights[k] = np.ascontiguousarray(W, dtype=net.dtype)
                net.biases[k] = np.ascontiguousarray(b, dtype=net.dtype)
            extra = {k: f[k] for k in f.files
                     if k not in {"layer_sizes", "input_gain", "format"}
                     and not (k[0] in "Wb" and k[1:].isdigit())}
        return net, extra
