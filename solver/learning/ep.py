r"""Training deep resistive networks: equilibrium propagation (EP) and truncated backpropagation (BP).

Cost and nudging
    ``C = 1/2 ||v_out - onehot(y)||^2`` per example. The nudged energy
    ``E + beta * C`` is the circuit with, at each output node, a resistor of
    conductance ``beta`` to a voltage source at the target (a current
    ``beta (y - v_out)`` injected into the node). In the ``-beta`` phase an
    output node's quadratic coefficient is ``sum(g) - beta``; a non-positive
    one raises :class:`solver.learning.drn.NudgingError`.

Centered EP (Scellier et al.; the paper's ``EquilibriumProp(variant='centered')``)
    From the free state, relax with ``-beta`` then (again from the free
    state) with ``+beta``. As ``dE/dg_ij = 1/2 dv_ij^2`` and ``dE/db_j = -v_j``,

    .. math::

        \widehat{\partial_{g_{ij}} L} = \frac{(\Delta v_{ij}^{+})^2 - (\Delta v_{ij}^{-})^2}{4\beta},
        \qquad
        \widehat{\partial_{b_j} L} = -\frac{v_j^{+} - v_j^{-}}{2\beta},

    averaged over the batch. Expanding the squares, the batch estimate of a
    dense layer is ``r_i + c_j - (2/B) (V_pre^+T V_post^+ - V_pre^-T V_post^-)``:
    a rank ``2B + 2`` matrix (rank ``B + 1`` for the input weights, whose
    ``V_pre`` is fixed), applied with one pass over the weights
    (:func:`solver.learning._drn_kernels.rank_update_project`).

Truncated BP (the paper's ``Backprop`` baseline)
    From the free state, ``n_iter`` more block-CD iterations are run and the
    mean cost is differentiated through them by hand (reverse mode through
    the weighted means, the diode clips and the conductance sums); the free
    state itself is a constant, as in the paper's code.

Training loop (as ``training/epoch.py`` of the paper's code,
``rain-neuromorphics/energy-based-learning``)
    per batch: set the input, relax ``n_iter`` iterations from the state the
    previous batch left (the ``+beta`` state for EP, the end of the BP
    iterations for BP), record the free-state error (the reported training
    error), estimate the gradients, take an SGD step per layer
    (``W -= lr_w[k] * grad``, ``b -= lr_b[k] * grad``), clip the weights at 0.
    Learning rates decay by 0.99 per epoch (``ExponentialLR(gamma=0.99)``).
    Evaluation relaxes each test batch from zero.

Speed: the input layer is fixed, so ``X_in @ W[0]`` is computed once per batch
and shared by the three phases; the EP updates of all the weights are deferred
to the next batch and fused with that batch's product: one pass over each
matrix per batch, all of them in one parallel region
(:func:`solver.learning._drn_kernels.update_weights`).
"""

from __future__ import annotations

import math
import time

import numpy as np

from . import _drn_kernels as K
from .checks import ALGORITHMS as _ALL_ALGORITHMS, check_choice, check_int, check_real
from .drn import DRN, using_threads
from ..exceptions import InvalidValueError

__all__ = [
    "ALGORITHMS",
    "LR_DECAY",
    "Trainer",
    "bp_gradients",
    "ep_gradients",
    "truncated_loss",
]

#: Gradient estimators of the DRN trainer (see :data:`solver.learning.checks.ALGORITHMS`).
ALGORITHMS = tuple(a for a in _ALL_ALGORITHMS if a in ("ep", "bp"))

#: Per-epoch multiplicative decay of the learning rates (the paper's ``ExponentialLR``).
LR_DECAY = 0.99


def _state_copy(state):
    return [s.copy() for s in state]


def _mean_cost(v_out, t):
    return float(0.5 * np.mean(np.sum((v_out.astype(np.float64) - t) ** 2, axis=1)))


# ------------------------------------------------------------------------ reference-style API
def ep_gradients(net: DRN, x, y, *, beta, n_iter, state=None):
    """Centered-EP estimates of ``dL/dW[k]`` and ``dL/db[k]`` (``L`` = batch mean of ``C``).

    Relaxes the free phase ``n_iter`` iterations from ``state`` (default:
    zeros), then the ``-beta`` and ``+beta`` phases ``n_iter`` iterations each
    from the free state. Returns ``(grad_W, grad_b, states)`` with
    ``states = (free, minus, plus)``; dense, for checks and small networks.
    """
    beta = check_real("beta", beta, positive=True)
    x = net.check_inputs(x)
    free = net.relax(x, None if state is None else _state_copy(state), n_iter=n_iter)
    minus = net.relax(x, _state_copy(free), n_iter=n_iter, beta=-beta, y=y)
    plus = net.relax(x, _state_copy(free), n_iter=n_iter, beta=beta, y=y)
    vin = net.input_voltages(x).astype(np.float64)
    vp = [vin] + [s.astype(np.float64) for s in plus]
    vm = [vin] + [s.astype(np.float64) for s in minus]
    gW, gb = [], []
    for k in range(net.num_free_layers):
        dp = vp[k][:, :, None] - vp[k + 1][:, None, :]
        dm = vm[k][:, :, None] - vm[k + 1][:, None, :]
        gW.append(np.mean(dp * dp - dm * dm, axis=0) / (4 * beta))
        gb.append(-np.mean(vp[k + 1] - vm[k + 1], axis=0) / (2 * beta))
    return gW, gb, (free, minus, plus)


def _forward_record(net, vin, state, dens, n_iter):
    """Run block CD in numpy, recording each layer update for the backward pass."""
    W, b = net.weights, net.biases
    L = net.num_free_layers
    V = list(state)
    P = vin @ W[0]
    tape = []
    for _ in range(n_iter):
        for parity in range(2):
            new = {}
            for k in range(parity, L, 2):
                below = V[k - 1] if k > 0 else vin
                above = V[k + 1] if k < L - 1 else None
                pre = (P if k == 0 else V[k - 1] @ W[k]) + b[k]
                if above is not None:
                    pre = pre + above @ W[k + 1].T
                z = pre / dens[k]
                if k < L - 1:
                    half = z.shape[1] // 2
                    mask = np.ones_like(z, dtype=bool)
                    mask[:, :half] = z[:, :half] > 0
                    mask[:, half:] = z[:, half:] < 0
                    v = np.where(mask, z, 0.0).astype(z.dtype)
                else:
                    mask = None
                    v = z
                tape.append((k, z, mask, below, above))
                new[k] = v
            for k, v in new.items():
                V[k] = v
    return V, tape


def _backprop(net, vin, state, t, n_iter):
    """The backward pass of truncated BP, shared by :func:`bp_gradients` and :class:`Trainer`.

    Runs ``n_iter`` block-CD iterations from ``state`` (a constant) recording
    them, then differentiates the mean cost ``C`` by hand in reverse (through
    the weighted means, the diode clips and the conductance sums). Returns
    ``(V, G0, gden0, gW, gb)``: the final state; the input weights' gradient
    in factored form, ``dC/dW[0] = vin.T @ G0 + gden0[None, :]`` (rank
    ``batch + 1``, so the trainer can apply it in one fused pass); the dense
    gradients ``gW[k]`` of the other weights (``gW[0]`` is ``None``); and the
    bias gradients.
    """
    dens = net.conductance_sums()
    net.check_conductances(dens)
    V, tape = _forward_record(net, vin, list(state), dens, n_iter)
    W = net.weights
    dt = net.dtype
    L = net.num_free_layers
    B = vin.shape[0]
    gV = [np.zeros_like(v) for v in V]
    gV[-1] = (V[-1] - t) / dt.type(B)
    gW = [None] + [np.zeros_like(w) for w in W[1:]]
    G0 = np.zeros((B, W[0].shape[1]), dtype=dt)
    gb = [np.zeros_like(bb) for bb in net.biases]
    gden = [np.zeros_like(d) for d in dens]
    for k, z, mask, below, above in reversed(tape):
        gz = gV[k] if mask is None else np.where(mask, gV[k], 0).astype(dt)
        gV[k] = np.zeros_like(gV[k])  # the old value of layer k does not enter this update
        gpre = gz / dens[k]
        gden[k] -= np.sum(gz * z, axis=0) / dens[k]
        gb[k] += gpre.sum(axis=0)
        if k == 0:
            G0 += gpre
        else:
            gW[k] += below.T @ gpre
            gV[k - 1] += gpre @ W[k].T
        if above is not None:
            gW[k + 1] += gpre.T @ above
            gV[k + 1] += gpre @ W[k + 1]
    for k in range(L):  # dens[k] = colsum(W[k]) + rowsum(W[k + 1])
        if k > 0:
            gW[k] += gden[k][None, :]
        if k < L - 1:
            gW[k + 1] += gden[k][:, None]
    return V, G0, gden[0], gW, gb


def bp_gradients(net: DRN, x, y, *, n_iter, state):
    """Truncated BP: gradients of the mean cost after ``n_iter`` block-CD iterations from ``state``.

    ``state`` (e.g. the free state) is a constant. Returns
    ``(loss, grad_W, grad_b, final_state)``; ``grad_W[k]`` is dense.
    """
    x = net.check_inputs(x)
    n_iter = check_int("n_iter", n_iter, 1)
    B = x.shape[0]
    net.check_state(state, B)
    t = net.check_targets(y, B)
    vin = net.input_voltages(x)
    V, G0, gden0, gW, gb = _backprop(net, vin, state, t, n_iter)
    gW[0] = vin.T @ G0 + gden0[None, :]
    return _mean_cost(V[-1], t), gW, gb, V


def truncated_loss(net: DRN, x, y, *, n_iter, state=None) -> float:
    """Mean cost after ``n_iter`` block-CD iterations from ``state`` (default zeros)."""
    x = net.check_inputs(x)
    st = net.relax(x, None if state is None else _state_copy(state), n_iter=n_iter)
    return _mean_cost(st[-1], net.check_targets(y, x.shape[0]))


# ------------------------------------------------------------------------------- trainer
class Trainer:
    """SGD training of a :class:`DRN` by centered EP or truncated BP, batch by batch.

    The keywords are the learning stack's shared vocabulary (see
    :mod:`solver.learning.checks`), as in :class:`solver.learning.circuit_learner.Learner`.

    Parameters
    ----------
    net : DRN
    algorithm : {"ep", "bp"}
    n_iter : int
        Block-CD iterations of every training phase (free, nudged, BP).
    beta : float
        EP nudging strength (> 0).
    lr_weights, lr_biases : sequence of float
        Per-layer learning rates at epoch 0 (one per weight matrix / free layer).
    lr_decay : float
        Multiplicative decay per epoch.
    n_iter_inference : int, optional
        Iterations of evaluation (default: ``n_iter``).
    nudge, centered : "resistor", True
        How EP nudges: a conductance ``+-beta`` to a source at the target,
        two-sided (the paper's centered EP; the only choice for a DRN).
    threads : int, optional
        Threads of the kernels (default: all cores). Results are bit-identical
        for every thread count.
    """

    def __init__(self, net: DRN, *, algorithm="ep", n_iter=4, beta=1.0, lr_weights, lr_biases,
                 lr_decay=LR_DECAY, n_iter_inference=None, nudge="resistor", centered=True,
                 threads=None):
        self.algorithm = check_choice("algorithm", algorithm, ALGORITHMS)
        if (nudge, centered) != ("resistor", True):
            raise InvalidValueError(
                "the DRN trainer nudges with nudge='resistor' and centered=True only (the "
                f"paper's centered EP), got nudge={nudge!r}, centered={centered!r}")
        self.net = net
        self.nudge, self.centered = nudge, centered
        self.n_iter = check_int("n_iter", n_iter, 1)
        self.n_iter_inference = check_int(
            "n_iter_inference", self.n_iter if n_iter_inference is None else n_iter_inference, 1)
        self.beta = check_real("beta", beta, positive=True)
        L = net.num_free_layers
        self.lr_weights = self._rates("lr_weights", lr_weights, L)
        self.lr_biases = self._rates("lr_biases", lr_biases, L)
        self.lr_decay = check_real("lr_decay", lr_decay, positive=True)
        with using_threads(threads):  # validates now rather than at the first batch
            pass
        self.threads = threads
        self.epoch = 0
        self.state = None  # carried from batch to batch (the paper's reset=False)
        self._sums = None  # numba-side buffers, made by _init_buffers
        self._scratch = None

    @staticmethod
    def _rates(name, rates, L):
        rates = list(rates)
        if len(rates) != L:
            raise InvalidValueError(f"{name} needs {L} learning rates (one per layer), got {len(rates)}")
        return [check_real(f"{name}[{k}]", r) for k, r in enumerate(rates)]

    def learning_rates(self, epoch=None):
        """``(lr_weights, lr_biases)`` of ``epoch`` (default: the current one)."""
        f = self.lr_decay ** (self.epoch if epoch is None else epoch)
        return [r * f for r in self.lr_weights], [r * f for r in self.lr_biases]

    # -------------------------------------------------------------- internals
    def _init_buffers(self, B):
        """Numba-side state: sums, transposes, the pending weight updates, scratch states.

        Allocated once per batch size, so that a batch allocates nothing.
        """
        net = self.net
        W = net.weights
        dt = net.dtype
        if self._sums is None:
            self._sync_sums()
            self._sums = True
            self._pending = np.zeros(len(W), dtype=np.int64)
            self._pend_r = K.seq([np.zeros(w.shape[0], dtype=dt) for w in W])
            self._pend_c = K.seq([np.zeros(w.shape[1], dtype=dt) for w in W])
            self._dens = K.seq([np.empty(n, dtype=dt) for n in net.layer_sizes[1:]])
            self._no_product = (np.empty((0, W[0].shape[0]), dtype=dt),
                                np.empty((0, W[0].shape[1]), dtype=dt))
        if self.state is None or self.state[0].shape[0] != B:
            self.state = net.zero_state(B)  # the paper resets when the batch size changes
        if self._scratch is None or self._scratch[0][0].shape[0] != B:
            self.flush()
            # rank of the pending updates: B for W[0] (its input side is fixed), else 2B
            self._pend_U = K.seq([np.zeros((B if k == 0 else 2 * B, w.shape[0]), dtype=dt)
                                  for k, w in enumerate(W)])
            self._pend_E = K.seq([np.zeros((B if k == 0 else 2 * B, w.shape[1]), dtype=dt)
                                  for k, w in enumerate(W)])
            self._weight_scratch = K.weight_scratch(W, B)
            self._scratch = tuple(K.seq(net.zero_state(B)) for _ in range(3))

    def _kernel_lists(self):
        """Typed lists of the weights, biases and state (remade only when an array is replaced:
        making one from Python costs tens of microseconds)."""
        arrays = (*self.net.weights, *self.net.biases, *self.state)
        key = tuple(map(id, arrays))
        if getattr(self, "_lists_key", None) != key:
            net = self.net
            self._lists = K.seq(net.weights), K.seq(net.biases), K.seq(self.state)
            self._lists_key = key  # the lists hold the arrays, so their ids stay theirs
        return self._lists

    def _sync_sums(self):
        """Recompute the conductance sums and transposes from the weights (float64 sums).

        Done at every epoch start, so that a resumed run equals an uninterrupted one.
        """
        net = self.net
        W, dt = net.weights, net.dtype
        self._WTs = K.seq(net.transposes())
        rowsums = [np.empty(w.shape[0], dtype=dt) for w in W]
        colsums = [np.empty(w.shape[1], dtype=dt) for w in W]
        with using_threads(self.threads):
            for w, r, c in zip(W, rowsums, colsums):
                K.weight_sums(w, r, c, K.parallel_now())
        self._rowsums, self._colsums = K.seq(rowsums), K.seq(colsums)

    def flush(self):
        """Apply the pending weight updates (before evaluating, saving or changing batch size)."""
        if self._sums is None or not self._pending.any():
            return
        with using_threads(self.threads):
            K.update_weights(self._kernel_lists()[0], self._WTs, self._pending, self._pend_r,
                             self._pend_c, self._pend_U, self._pend_E, self._rowsums,
                             self._colsums, *self._no_product, self._weight_scratch,
                             K.parallel_now())

    def _raise_status(self, status):
        net = self.net
        dens = net.conductance_sums()
        net.check_conductances(dens, -self.beta if self.algorithm == "ep" else 0.0)
        raise RuntimeError(f"conductance check failed (status {status}) but was not reproduced")

    def _run_ep(self, x, labels, order, B):
        """EP over whole batches in one kernel call (the fast path: see the module docstring)."""
        lr_w, lr_b = self.learning_rates()
        net = self.net
        dt = net.dtype
        Vm, Vp, accs = self._scratch
        Ws, bs, Vs = self._kernel_lists()
        with using_threads(self.threads):
            errors, status, _ = K.ep_train_batches(
                X=x, labels=labels, order=order, B=B, gain=dt.type(net.input_gain),
                Ws=Ws, WTs=self._WTs, bs=bs, colsums=self._colsums, rowsums=self._rowsums,
                Vs=Vs, pend_r=self._pend_r, pend_c=self._pend_c, pend_U=self._pend_U,
                pend_E=self._pend_E, pending=self._pending, scratch=self._weight_scratch,
                lr_w=np.array(lr_w, dtype=np.float64), lr_b=np.array(lr_b, dtype=np.float64),
                beta=self.beta, n_iter=self.n_iter, n_iter_free=self.n_iter_inference, Vm=Vm,
                Vp=Vp, accs=accs, dens=self._dens, parallel=K.parallel_now())
        if status:
            self._raise_status(status)
        return errors

    def _bp_batch(self, xb, yb):
        """One truncated-BP step (numpy; the BP baseline is not the fast path)."""
        net = self.net
        dt = net.dtype
        lr_w, lr_b = self.learning_rates()
        t = net.check_targets(yb, xb.shape[0])
        self.flush()
        net.relax(xb, self.state, n_iter=self.n_iter_inference, threads=self.threads)
        errors = int(np.count_nonzero(np.argmax(self.state[-1], axis=1) != yb))
        vin = net.input_voltages(xb)
        V, G0, gden0, gW, gb = _backprop(net, vin, self.state, t, self.n_iter)
        W = net.weights
        for k in range(net.num_free_layers):
            net.biases[k] -= dt.type(lr_b[k]) * gb[k]
        for k in range(1, net.num_free_layers):
            np.subtract(W[k], dt.type(lr_w[k]) * gW[k], out=W[k])
            np.maximum(W[k], 0, out=W[k])
        # W[0] -= lr * (vin^T G0 + 1 gden0^T): rank B + 1, applied like EP's deferred update
        self._pend_c[0][:] = -lr_w[0] * gden0
        self._pend_U[0][:] = vin
        self._pend_E[0][:] = -lr_w[0] * G0
        self._pending[0] = 1
        self.flush()
        self._sync_sums()
        for k, v in enumerate(V):
            self.state[k][:] = v
        return errors

    # ---------------------------------------------------------------- public
    def train_batch(self, x, y):
        """One SGD step on a batch; returns the number of free-state errors in it.

        The step's weight updates are applied by the next batch (fused with its
        input product) or by :meth:`flush`, which :meth:`train_epoch`,
        :meth:`evaluate` and a change of batch size call; call it before
        reading ``net.weights`` after this method.
        """
        net = self.net
        x = net.check_inputs(x)
        y = self._labels(y, x.shape[0])
        return self._train(x, y, np.arange(x.shape[0]), x.shape[0])

    def _labels(self, y, n):
        y = np.asarray(y)
        if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
            raise InvalidValueError(f"y must hold one integer label per example ({n}), got "
                                    f"shape {y.shape} and dtype {y.dtype}")
        n_out = self.net.layer_sizes[-1]
        if n and (y.min() < 0 or y.max() >= n_out):
            raise InvalidValueError(f"labels y must lie in 0..{n_out - 1}")
        return np.ascontiguousarray(y, dtype=np.int64)

    def _train(self, x, y, order, B):
        self._init_buffers(B)
        if self.algorithm == "ep":
            return self._run_ep(x, y, np.ascontiguousarray(order, dtype=np.int64), B)
        errors = 0
        for s in range(0, len(order), B):
            idx = order[s:s + B]
            errors += self._bp_batch(x[idx], y[idx])
        return errors

    def train_epoch(self, x, y, *, batch_size=4, rng=None, progress=None, chunk=250):
        """One pass over ``(x, y)`` in shuffled batches; returns ``(train_error_percent, seconds)``.

        The training error is measured on the free states met during training
        (as the paper's code does). A last incomplete batch is trained on as
        a smaller batch. ``progress(done, total, errors)`` is called after
        every ``chunk`` batches.
        """
        batch_size = check_int("batch_size", batch_size, 1)
        x = self.net.check_inputs(x)
        y = self._labels(y, x.shape[0])
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        order = rng.permutation(x.shape[0])
        if self._sums is not None:
            self.flush()
            self._sync_sums()
        n = x.shape[0]
        errors = 0
        t0 = time.perf_counter()
        n_full = (n // batch_size) * batch_size
        step = chunk * batch_size
        for s in range(0, n_full, step):
            part = order[s:min(s + step, n_full)]
            errors += self._train(x, y, part, batch_size)
            if progress is not None:
                progress(s + len(part), n, errors)
        if n_full < n:
            errors += self._train(x, y, order[n_full:], n - n_full)
            if progress is not None:
                progress(n, n, errors)
        self.flush()
        seconds = time.perf_counter() - t0
        self.epoch += 1
        return 100.0 * errors / n, seconds

    def evaluate(self, x, y, *, batch_size=1000, n_iter=None):
        """Test error (%) with each batch relaxed from zero (examples are independent)."""
        self.flush()
        net = self.net
        x = net.check_inputs(x)
        y = np.asarray(y)
        n_iter = self.n_iter_inference if n_iter is None else n_iter
        errors = 0
        for s in range(0, x.shape[0], batch_size):
            out = net.predict(x[s:s + batch_size], n_iter=n_iter, threads=self.threads)
            errors += int(np.count_nonzero(np.argmax(out, axis=1) != y[s:s + batch_size]))
        return 100.0 * errors / x.shape[0]
