r"""Learning in resistive networks: equilibrium propagation and coupled learning.

Pure numerics on any :class:`~solver.Network`: some voltage sources are the
*inputs* (their voltages are set to a sample's features), some nodes are the
*outputs*, and the conductances of chosen resistors are the *weights*. The
prediction is the free steady state (the minimiser of the energy ``E``); the
cost of one sample is

.. math::

    C(v) = \tfrac12 \sum_{o} (v_o - y_o)^2 .

**Equilibrium propagation** (Scellier & Bengio 2017; Kendall et al. 2020) nudges
the outputs towards the targets with strength ``beta`` and reads the gradient
off two steady states. With ``F = E + beta C`` minimised at ``v^beta``,

.. math::

    \frac{\partial C(v^0)}{\partial g_j}
        = \lim_{\beta\to 0} \frac{1}{\beta}
          \Big[\tfrac12 (\Delta v_j^{\beta})^2 - \tfrac12 (\Delta v_j^{0})^2\Big],

where ``Delta v_j`` is the voltage across resistor ``j`` (``dE/dg_j = Delta v_j^2 / 2``
at a fixed state, and the envelope theorem does the rest). Two ways to nudge:

* ``nudge="resistor"``: a resistor of conductance ``beta`` from each output to a
  voltage source at its target. Its energy is exactly ``beta C``, so the
  nudged state is the exact minimiser of ``E + beta C``.
* ``nudge="current"``: a current source injecting ``beta (y_o - v_o^0)`` into each
  output (the linearised nudge; same limit). It allows negative ``beta`` and
  hence the centred estimate ``[(Dv^{+beta})^2 - (Dv^{-beta})^2] / (4 beta)``.

**Coupled learning** (Stern et al. 2021) clamps each output with a voltage
source part-way to its target, ``v_o^C = v_o^F + eta (y_o - v_o^F)``, and moves
every conductance by ``-(lr / (2 eta)) [(Delta v_j^C)^2 - (Delta v_j^F)^2]``
(the factor 1/2 makes ``lr`` comparable with EP's).

Ideal diodes keep everything valid wherever the set of conducting diodes does
not change between the two states (the steady state is then an affine
function of the weights); the exact solver finds that set.

Examples
--------
>>> import numpy as np
>>> from solver import Network
>>> from solver.learning.circuit_learner import Learner
>>> net = Network()
>>> net.add_voltage_source("x", "0", 1.0, name="Vx")
'Vx'
>>> net.add_resistor("x", "out", conductance=1.0, name="R1")
'R1'
>>> net.add_resistor("out", "0", conductance=1.0, name="R2")
'R2'
>>> learner = Learner(net, inputs=["Vx"], outputs=["out"], beta=1e-6)
>>> grad, cost = learner.gradient([1.0], [0.8])
>>> round(cost, 6), np.round(grad, 4).tolist()      # v_out = 0.5: raise g1, lower g2
(0.045, [-0.075, 0.075])
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .checks import ALGORITHMS, NUDGES
from ..exceptions import NetworkError
from ..core.network import Network
from ..core.solve import solve

__all__ = [
    "Learner",
    "TrainingRecord",
    "encode_inputs",
    "layered_network",
    "resistor_drops",
]

#: Prefix of the helper elements and nodes a :class:`Learner` adds for nudging.
HELPER_PREFIX = "__"

#: Gradient estimators of the general-network learner (see :data:`solver.learning.checks.ALGORITHMS`).
LEARNER_ALGORITHMS = tuple(a for a in ALGORITHMS if a in ("ep", "cl"))


def resistor_drops(net, solution, names) -> np.ndarray:
    """Voltage across each named resistor, ``v(p) - v(n)``, in a solution of ``net``."""
    v = solution.voltages
    return np.array([v[net.element(n).p] - v[net.element(n).n] for n in names], dtype=float)


@dataclass
class TrainingRecord:
    """What one call of :meth:`Learner.step` saw: mean cost, and the last sample's states."""

    cost: float
    gradient: np.ndarray
    update: np.ndarray
    free: object = None
    nudged: object = None
    history: dict = field(default_factory=dict)


class Learner:
    """Train the conductances of a network with EP or coupled learning.

    Parameters
    ----------
    net : Network
        The network; it is modified in place (input voltages, conductances).
        Helper elements for nudging are added to private copies.
    inputs : list of str
        Names of the voltage sources that carry the input features.
    outputs : list
        Output nodes.
    trainable : list of str, optional
        Resistors whose conductances learn (default: every resistor).
    algorithm : {"ep", "cl"}
        Equilibrium propagation or coupled learning (the keyword, and the
        names below, are the learning stack's shared vocabulary, as in
        :class:`solver.learning.ep.Trainer`; ``rule`` is a deprecated alias).
    beta : float
        EP nudging strength (S for the resistor nudge, S for the current nudge
        too: the injected current is ``beta (y - v)``).
    eta : float
        Coupled-learning clamping fraction, in (0, 1].
    nudge : {"resistor", "current"}
        How EP nudges the outputs (see the module docstring).
    centered : bool
        EP with ``+beta`` and ``-beta`` (needs ``nudge="current"``).
    lr_weights : float
        Learning rate of the conductances (``lr`` is a deprecated alias).
    g_min, g_max : float
        Conductances are clipped to this range after each update.
    """

    def __init__(self, net: Network, inputs, outputs, trainable=None, *, algorithm="ep",
                 beta=1e-3, eta=0.5, nudge="resistor", centered=False, lr_weights=0.1,
                 g_min=1e-4, g_max=1e2, rule=None, lr=None):
        if rule is not None:
            warnings.warn("Learner(rule=...) is now Learner(algorithm=...)", DeprecationWarning,
                          stacklevel=2)
            algorithm = rule
        if lr is not None:
            warnings.warn("Learner(lr=...) is now Learner(lr_weights=...)", DeprecationWarning,
                          stacklevel=2)
            lr_weights = lr
        if not isinstance(net, Network):
            raise NetworkError(f"Learner needs a solver.Network, not {type(net).__name__}")
        self.net = net
        self.inputs = list(inputs)
        for name in self.inputs:
            if net.element(name).kind != "vsource":
                raise NetworkError(f"input {name!r} must be a voltage source, not a {net.element(name).kind}")
        self.outputs = [net.add_node(o) if o in net.nodes else _missing(o) for o in outputs]
        if trainable is None:
            trainable = [e.name for e in net.elements("resistor") if not e.name.startswith(HELPER_PREFIX)]
        self.trainable = list(trainable)
        for name in self.trainable:
            if net.element(name).kind != "resistor":
                raise NetworkError(f"trainable element {name!r} must be a resistor")
        self.algorithm = algorithm
        self.beta = beta
        self.eta = eta
        self.nudge = nudge
        self.centered = centered
        self.lr_weights = lr_weights
        self.g_min = g_min
        self.g_max = g_max
        self._check_settings()
        self._helpers = {}
        self._warm = {}

    # Deprecated names of ``algorithm`` and ``lr_weights``, kept working (read and write).
    rule = property(lambda self: self.algorithm,
                    lambda self, value: setattr(self, "algorithm", value))
    lr = property(lambda self: self.lr_weights,
                  lambda self, value: setattr(self, "lr_weights", value))

    # ------------------------------------------------------------ settings
    def _check_settings(self):
        if self.algorithm not in LEARNER_ALGORITHMS:
            raise NetworkError(
                f"algorithm must be one of {LEARNER_ALGORITHMS}, got {self.algorithm!r}")
        if self.nudge not in NUDGES:
            raise NetworkError(f"nudge must be one of {NUDGES}, got {self.nudge!r}")
        if self.algorithm == "ep" and not self.beta > 0:
            raise NetworkError(f"beta must be positive, got {self.beta!r}")
        if self.algorithm == "cl" and not 0 < self.eta <= 1:
            raise NetworkError(f"eta must be in (0, 1], got {self.eta!r}")
        if self.centered and self.nudge != "current":
            raise NetworkError("centered EP needs nudge='current' (a resistor cannot have negative conductance)")
        if not (0 < self.g_min < self.g_max):
            raise NetworkError(f"need 0 < g_min < g_max, got {self.g_min!r}, {self.g_max!r}")

    @property
    def weights(self) -> np.ndarray:
        """Conductances of the trainable resistors (S), in order."""
        return np.array([self.net.element(n).value for n in self.trainable])

    @weights.setter
    def weights(self, g):
        g = np.asarray(g, dtype=float)
        for name, value in zip(self.trainable, g):
            self.net.set_value(name, float(value))

    # -------------------------------------------------------------- states
    def _set_inputs(self, net, x):
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.size != len(self.inputs):
            raise NetworkError(f"got {x.size} input values for {len(self.inputs)} input sources")
        for name, value in zip(self.inputs, x):
            net.set_value(name, float(value))

    def _solve(self, net, key):
        sol = solve(net, warm_start=self._warm.get(key))
        self._warm[key] = sol
        return sol

    def free(self, x):
        """Free steady state for input ``x``."""
        self._set_inputs(self.net, x)
        return self._solve(self.net, "free")

    def predict(self, X) -> np.ndarray:
        """Output potentials of the free state, one row per sample."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        out = np.empty((len(X), len(self.outputs)))
        for s, x in enumerate(X):
            v = self.free(x).voltages
            out[s] = [v[o] for o in self.outputs]
        return out

    def cost(self, X, Y) -> float:
        """Mean over samples of C = 1/2 sum (v_o - y_o)^2 at the free state."""
        Y = np.atleast_2d(np.asarray(Y, dtype=float))
        return float(np.mean(0.5 * np.sum((self.predict(X) - Y) ** 2, axis=1)))

    def _helper_net(self, kind):
        """A copy of the network with nudging/clamping elements, weights synced each call."""
        helper, version = self._helpers.get(kind, (None, None))
        if helper is None or version != self.net.structure_version:
            helper = self.net.copy()
            for k, o in enumerate(self.outputs):
                if kind == "resistor":
                    t = f"{HELPER_PREFIX}target{k}"
                    helper.add_voltage_source(t, "0", 0.0, name=f"{HELPER_PREFIX}Vt{k}")
                    helper.add_resistor(o, t, conductance=1.0, name=f"{HELPER_PREFIX}Rn{k}")
                elif kind == "current":
                    helper.add_current_source("0", o, 0.0, name=f"{HELPER_PREFIX}In{k}")
                else:  # clamp
                    helper.add_voltage_source(o, "0", 0.0, name=f"{HELPER_PREFIX}Vc{k}")
            self._helpers[kind] = (helper, self.net.structure_version)
            self._warm.clear()
        for e in self.net.elements():
            if helper.element(e.name).value != e.value:
                helper.set_value(e.name, e.value)
        return helper

    def nudged(self, x, y, free, beta=None):
        """EP nudged state for input ``x``, target ``y``, given the free state."""
        beta = self.beta if beta is None else beta
        y = np.asarray(y, dtype=float).reshape(-1)
        helper = self._helper_net(self.nudge)
        self._set_inputs(helper, x)
        for k, o in enumerate(self.outputs):
            if self.nudge == "resistor":
                helper.set_value(f"{HELPER_PREFIX}Vt{k}", float(y[k]))
                helper.set_value(f"{HELPER_PREFIX}Rn{k}", float(beta))
            else:
                helper.set_value(f"{HELPER_PREFIX}In{k}", float(beta * (y[k] - free.voltages[o])))
        return self._solve(helper, ("nudged", self.nudge, beta > 0))

    def clamped(self, x, y, free, eta=None):
        """Coupled-learning clamped state: outputs held at ``v_F + eta (y - v_F)``."""
        eta = self.eta if eta is None else eta
        y = np.asarray(y, dtype=float).reshape(-1)
        helper = self._helper_net("clamp")
        self._set_inputs(helper, x)
        for k, o in enumerate(self.outputs):
            vf = free.voltages[o]
            helper.set_value(f"{HELPER_PREFIX}Vc{k}", float(vf + eta * (y[k] - vf)))
        return self._solve(helper, "clamped")

    # ------------------------------------------------------------ gradients
    def gradient(self, x, y, return_states=False):
        """Estimated dC/dg for one sample, and its cost C at the free state.

        EP: ``[(Dv^beta)^2 - (Dv^0)^2] / (2 beta)`` (centred: ``+-beta``, over
        ``4 beta``). CL: ``[(Dv^C)^2 - (Dv^F)^2] / (2 eta)``.
        """
        y = np.asarray(y, dtype=float).reshape(-1)
        if y.size != len(self.outputs):
            raise NetworkError(f"got {y.size} targets for {len(self.outputs)} outputs")
        free = self.free(x)
        v_out = np.array([free.voltages[o] for o in self.outputs])
        cost = 0.5 * float(np.sum((v_out - y) ** 2))
        dv_free = resistor_drops(self.net, free, self.trainable)
        if self.algorithm == "cl":
            other = self.clamped(x, y, free)
            dv = resistor_drops(self.net, other, self.trainable)
            grad = (dv ** 2 - dv_free ** 2) / (2 * self.eta)
        elif self.centered:
            plus = self.nudged(x, y, free, self.beta)
            minus = self.nudged(x, y, free, -self.beta)
            dp = resistor_drops(self.net, plus, self.trainable)
            dm = resistor_drops(self.net, minus, self.trainable)
            grad = (dp ** 2 - dm ** 2) / (4 * self.beta)
            other = plus
        else:
            other = self.nudged(x, y, free)
            dv = resistor_drops(self.net, other, self.trainable)
            grad = (dv ** 2 - dv_free ** 2) / (2 * self.beta)
        if return_states:
            return grad, cost, free, other
        return grad, cost

    def step(self, X, Y) -> TrainingRecord:
        """One update on a mini-batch: mean estimated gradient, then clipped descent."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        Y = np.atleast_2d(np.asarray(Y, dtype=float))
        total = np.zeros(len(self.trainable))
        costs = []
        free = other = None
        for x, y in zip(X, Y):
            grad, cost, free, other = self.gradient(x, y, return_states=True)
            total += grad
            costs.append(cost)
        grad = total / max(len(X), 1)
        old = self.weights
        new = np.clip(old - self.lr_weights * grad, self.g_min, self.g_max)
        self.weights = new
        return TrainingRecord(float(np.mean(costs)), grad, new - old, free, other)


def _missing(node):
    raise NetworkError(f"output node {node!r} is not in the network")


def layered_network(n_inputs, hidden, n_outputs, *, seed=0, g_init=(0.05, 0.5), bias=1.0,
                    threshold=0.0, skip=True):
    """A small deep resistive network (DRN-like) for learning demos.

    Each feature ``x_i`` drives two voltage sources, ``Vi{i}p`` at ``+x_i`` and
    ``Vi{i}n`` at ``-x_i`` (a passive network cannot invert a signal), and two
    bias sources sit at ``+bias`` and ``-bias``. Every hidden node ``h{l}_{k}``
    is rectified by a diode from ground (``v(h) >= -threshold``), so the
    network computes a piecewise-linear map.
    Layers are fully connected by trainable resistors; with ``skip`` the inputs
    also reach the outputs directly.

    Returns
    -------
    net, inputs, outputs, layers
        The network, the input source names in the order of
        :func:`encode_inputs` (``cat(x, -x)``: every ``+`` source, then every
        ``-`` source, as in a :class:`~solver.learning.drn.DRN`), the output
        nodes, and the node names of each layer (sources first, each feature's
        ``+`` and ``-`` sources side by side).
    """
    rng = np.random.default_rng(seed)
    net = Network()
    source_nodes = []
    for i in range(n_inputs):
        for tag in ("p", "n"):
            node = f"x{i}{tag}"
            net.add_voltage_source(node, "0", 0.0, name=f"Vi{i}{tag}")
            source_nodes.append(node)
    inputs = [f"Vi{i}p" for i in range(n_inputs)] + [f"Vi{i}n" for i in range(n_inputs)]
    for value, tag in ((bias, "p"), (-bias, "n")):
        node = f"b{tag}"
        net.add_voltage_source(node, "0", value, name=f"Vb{tag}")
        source_nodes.append(node)
    layers = [source_nodes]
    for l, width in enumerate(hidden):
        nodes = [f"h{l}_{k}" for k in range(width)]
        for node in nodes:
            net.add_node(node)
            net.add_diode("0", node, threshold, name=f"D{node}")
        layers.append(nodes)
    outputs = [f"out{k}" for k in range(n_outputs)]
    layers.append(outputs)
    lo, hi = g_init
    for a_layer, b_layer in zip(layers[:-1], layers[1:]):
        for a in a_layer:
            for b in b_layer:
                net.add_resistor(a, b, conductance=float(rng.uniform(lo, hi)), name=f"R_{a}_{b}")
    if skip and len(layers) > 2:
        for a in source_nodes:
            for b in outputs:
                net.add_resistor(a, b, conductance=float(rng.uniform(lo, hi)), name=f"R_{a}_{b}")
    return net, inputs, outputs, layers


def encode_inputs(X) -> np.ndarray:
    """Map features to the input sources of :func:`layered_network`: ``cat(x, -x)``.

    The paper's encoding, the same as :meth:`solver.learning.drn.DRN.input_voltages`
    (with gain 1): ``(x0, x1, ..., -x0, -x1, ...)``.
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    return np.concatenate([X, -X], axis=1)

