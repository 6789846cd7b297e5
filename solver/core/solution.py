"""The result of a solve: potentials, currents, and a certificate that checks them.

The certificate (:class:`KKTCertificate`) is computed from the returned node
voltages and element currents alone, with none of the algorithm's internal
state, so it proves (or disproves) optimality by itself:

* Kirchhoff's current law at every node but ground (stationarity of the QP),
* every source voltage and diode constraint holds (primal feasibility),
* every diode current is >= 0 (dual feasibility),
* a diode carries current only where it is at its threshold (complementarity).

Each residual is judged against the *local* scale of the node or element it
belongs to, never against the network's largest current: a node that only a
milliampere reaches is checked to a fraction of that milliampere even when a
kiloampere flows elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..config import CLUSTER_STEP, CURRENT_ROUNDING, VOLTAGE_FLOOR
from ._certificate import local_figures

__all__ = ["KKTCertificate", "Solution", "WarmStart", "kkt_certificate"]


@dataclass(frozen=True)
class WarmStart:
    """What a solve hands to the next one (``solve(net, warm_start=previous)``).

    Attributes
    ----------
    structure : object
        The compiled structure the working set refers to; a warm start into a
        network of the same structure reuses ``working_set`` and ``factor`` as is.
    working_set : numpy.ndarray
        Bool per reduced diode of ``structure``: the diodes held at their
        threshold at the end of the solve.
    factor : tuple or None
        ``(structure, working-set key, factorisation)`` of the last equality
        QP, reused as a preconditioner when only values changed.
    """

    structure: object
    working_set: np.ndarray
    factor: object = None


@dataclass(frozen=True)
class KKTCertificate:
    r"""Residuals of the optimality (KKT) conditions of a solution, judged locally.

    Scales (computed from the returned voltages and currents):

    * node ``k``'s voltage scale ``vs_k = 1 V + max |v|`` over ``k`` and the
      nodes that share an element with it;
    * node ``k``'s current scale ``s_k = sum |i|`` over the elements meeting
      at ``k`` ``+ G_k * vs_k``, ``G_k`` being the conductance touching ``k``;
    * an element's voltage scale ``1 V + max(|v_p|, |v_n|)``;
    * a diode's current scale ``a``: the smaller ``sum |i|`` of its two ends
      (ground has none), the currents that really meet there; and its rounding
      allowance ``CURRENT_ROUNDING * s`` (the smaller of its ends).

    Relative residuals (what :meth:`is_optimal` compares with ``tol``):
    ``relative_kcl`` (max over nodes of ``|KCL residual| / s_k``),
    ``relative_violation`` (max over sources and diodes of the constraint
    violation over the element's voltage scale), ``relative_negative_current``
    (max over diodes of ``(-i - allowance) / a``, 0 when none is negative
    beyond rounding) and ``relative_complementarity`` (max over diodes of
    ``min((|i| - allowance) / a, distance from threshold / voltage scale)``:
    small only if no diode both conducts and sits off its threshold). Node
    residuals are also checked for whole clusters of strongly coupled nodes
    (see ``solver/README.md``). ``finite`` is False when
    any voltage or current is NaN or infinite; such a solution never passes.

    Absolute figures, for reading: ``max_kcl_residual`` (A),
    ``max_constraint_violation`` (V), ``min_diode_current`` (A, ``inf``
    without diodes), ``max_complementarity`` (W), ``worst_node`` (index of the
    node with the largest relative KCL residual, -1 if none), and the
    network-wide ``current_scale`` (largest ``s_k``, A) and ``voltage_scale``
    (1 V plus the largest ``|v|``).
    """

    max_kcl_residual: float
    max_constraint_violation: float
    min_diode_current: float
    max_complementarity: float
    relative_complementarity: float
    current_scale: float
    voltage_scale: float
    relative_kcl: float = 0.0
    relative_violation: float = 0.0
    relative_negative_current: float = 0.0
    worst_node: int = -1
    finite: bool = True

    def is_optimal(self, tol=1e-9) -> bool:
        """True when every residual is finite and below ``tol`` times its local scale."""
        return self.finite and self.worst_relative_residual() <= tol

    def worst_relative_residual(self) -> float:
        """The largest residual relative to its local scale (``inf`` if any value is not finite)."""
        if not self.finite:
            return float("inf")
        return max(self.relative_kcl, self.relative_violation,
                   self.relative_negative_current, self.relative_complementarity)


def _node_sums(n_nodes, p, n, values):
    """Sum of ``values`` over each element's p terminal and n terminal."""
    return np.bincount(p, weights=values, minlength=n_nodes) + np.bincount(n, weights=values, minlength=n_nodes)


def _cluster_kcl(arrays, v, flows, rounding):
    """Largest relative KCL residual over the clusters that much stronger elements tie together.

    An element's *strength* is the current it could carry at the local
    voltage scale (a resistor's ``g * (1 V + max(|v_p|, |v_n|))``) or, for a
    diode or source, the current it carries. Inside a cluster of strong
    elements, float64 cannot resolve the small currents of the weak elements
    around it: every node's own residual is rounding of the large internal
    currents and passes, even when the cluster as a whole sits at the wrong
    potential. Kirchhoff's law for the whole cluster (the currents crossing
    its boundary) has no internal term and sees that. Clusters are the
    components of the elements of strength >= level, for levels CLUSTER_STEP
    apart from the weakest resistor up; the one holding ground is skipped.
    A diode between two clusters has its sign judged the same way, against
    the currents crossing the boundary of the cluster on its non-ground side
    (beyond ``rounding``, its ends' rounding allowance per node): a large
    current circulating inside a cluster must not excuse a wrong sign at its
    edge. Returns the worst KCL ratio, a node of that cluster, and the worst
    negative-current ratio.
    """
    rp, rn, rg, _ = arrays["resistor"]
    n_nodes = v.shape[0]
    if rg.size == 0:
        return 0.0, -1, 0.0
    near = VOLTAGE_FLOOR + np.abs(v)
    strength = {kind: np.abs(i) for kind, i in flows.items()}
    strength["resistor"] = rg * np.maximum(near[rp], near[rn])
    worst, worst_node, worst_negative = 0.0, -1, 0.0
    level = float(strength["resistor"].min()) * CLUSTER_STEP
    top = float(np.max([np.max(i, initial=0.0) for i in strength.values()]))  # NaN propagates
    if not (np.isfinite(top) and level > 0.0) or level > top:
        # one level (or non-finite values, which fail the certificate anyway): nothing to add
        return worst, worst_node, worst_negative
    ends = {kind: (arrays[kind][0], arrays[kind][1]) for kind in flows}
    all_p = np.concatenate([ends[kind][0] for kind in flows])
    all_n = np.concatenate([ends[kind][1] for kind in flows])
    all_strength = np.concatenate([strength[kind] for kind in flows])
    dp, dn = ends["diode"]
    i_d = flows["diode"]
    diode_rounding = np.minimum(rounding[dp], rounding[dn]) if i_d.size else i_d
    while level <= top:
        strong = all_strength >= level
        graph = sp.coo_matrix((np.ones(int(strong.sum())), (all_p[strong], all_n[strong])), shape=(n_nodes, n_nodes))
        n_clusters, label = connected_components(graph, directed=False)
        if n_clusters < n_nodes:
            flux = np.zeros(n_clusters)
            gross = np.zeros(n_clusters)
            for kind, i in flows.items():
                p, n = label[ends[kind][0]], label[ends[kind][1]]
                cross = p != n
                flux += np.bincount(p[cross], weights=i[cross], minlength=n_clusters)
                flux -= np.bincount(n[cross], weights=i[cross], minlength=n_clusters)
                gross += _node_sums(n_clusters, p[cross], n[cross], np.abs(i[cross]))
            p, n = label[rp], label[rn]
            cross = p != n
            gross += _node_sums(n_clusters, p[cross], n[cross], strength["resistor"][cross])
            relative = np.abs(flux) / np.maximum(gross, 1e-300)
            relative[label[0]] = 0.0  # the ground cluster's flux goes to ground
            c = int(np.argmax(relative))
            if relative[c] > worst:
                worst, worst_node = float(relative[c]), int(np.flatnonzero(label == c)[0])
            if i_d.size:
                boundary = gross.copy()
                boundary[label[0]] = np.inf
                p, n = label[dp], label[dn]
                scale = np.where(p != n, np.minimum(boundary[p], boundary[n]), np.inf)
                negative = np.maximum(-i_d - diode_rounding, 0.0) / np.maximum(scale, 1e-300)
                worst_negative = max(worst_negative, float(np.max(negative, initial=0.0)))
        level *= CLUSTER_STEP
    return worst, worst_node, worst_negative


def kkt_certificate(arrays, voltages, currents) -> KKTCertificate:
    """Check Kirchhoff's laws and the diode conditions on node voltages and element currents.

    ``arrays`` is :meth:`Network.arrays`; ``voltages`` is indexed like its
    nodes; ``currents`` maps ``"diode"`` and ``"vsource"`` to their element
    currents in order. Resistor currents are recomputed from the voltages by
    Ohm's law and current sources carry their set value, so a voltage that
    is off shows up as a KCL residual at its own node, judged against that
    node's own scale (see :class:`KKTCertificate`).
    """
    return local_certificate(arrays, voltages, currents)[0]


def local_certificate(arrays, voltages, currents):
    """:func:`kkt_certificate`, and each diode's ``(actual current scale, rounding allowance)`` (A).

    A diode current ``i`` counts as positive when ``i > tol * actual + rounding``.
    """
    v = np.ascontiguousarray(voltages, dtype=float)
    rp, rn, rg, _ = arrays["resistor"]
    dp, dn, theta, _ = arrays["diode"]
    vp, vn, volts, _ = arrays["vsource"]
    ip, in_, icur, _ = arrays["isource"]
    i_dio = np.ascontiguousarray(currents["diode"], dtype=float)
    i_vs = np.ascontiguousarray(currents["vsource"], dtype=float)
    for what, values, expected in (("voltages", v, len(arrays["nodes"])), ("diode currents", i_dio, len(dp)),
                                   ("voltage-source currents", i_vs, len(vp))):
        if values.shape != (expected,):  # the kernel below does not check its indices
            raise ValueError(f"{what} must be a vector of {expected} values (one per "
                             f"{'node' if what == 'voltages' else 'element'}), got shape {values.shape}")
    # One kernel call for the node-by-node figures (a small network's certificate was fifty numpy
    # operations). A diode's current is judged against the currents that actually meet at its ends
    # (not conductance times voltage: inside a strongly coupled pair that would hide a wrong sign),
    # beyond the rounding of its ends' largest terms. Ground has no KCL row: a diode to ground takes
    # its other end's figures. Non-finite input is reported through `finite`.
    (i_res, scale, finite, worst, relative_kcl, largest_kcl, source_off, source_relative, diode,
     current_scale, voltage_scale, clusters) = local_figures(
        v, rp, rn, rg, ip, in_, icur, dp, dn, theta, i_dio, vp, vn, volts, i_vs,
        CURRENT_ROUNDING, VOLTAGE_FLOOR, CLUSTER_STEP)
    (diode_actual, diode_rounding, diode_off, diode_relative, relative_negative, relative_complementarity,
     smallest, complementarity_power) = diode
    cluster_negative = 0.0
    if clusters:  # strengths span several levels: check the clusters of strong elements too
        flows = {"resistor": i_res, "isource": icur, "diode": i_dio, "vsource": i_vs}
        with np.errstate(all="ignore"):
            cluster_kcl, cluster_node, cluster_negative = _cluster_kcl(arrays, v, flows, CURRENT_ROUNDING * scale)
        if cluster_kcl > relative_kcl:
            relative_kcl, worst = cluster_kcl, cluster_node
    return KKTCertificate(
        max_kcl_residual=largest_kcl,
        max_constraint_violation=max(source_off, diode_off),
        min_diode_current=smallest,
        max_complementarity=complementarity_power,
        relative_complementarity=relative_complementarity,
        current_scale=current_scale,
        voltage_scale=voltage_scale,
        relative_kcl=relative_kcl,
        relative_violation=max(source_relative, diode_relative),
        relative_negative_current=max(relative_negative, cluster_negative, 0.0),
        worst_node=worst,
        finite=finite,
    ), (diode_actual, diode_rounding)


class Solution:
    """The DC steady state of a network, as returned by :func:`solver.solve`.

    Attributes
    ----------
    voltages : dict
        Node name -> potential (V); ground is 0.
    currents : dict
        Element name -> current (A) from its p terminal through it to n
        (SPICE conventions: a source delivering power has a negative current).
    active_diodes : list
        Names of the conducting diodes (active constraints).
    power : float
        Power dissipated by resistors and diode thresholds (W); the sources
        deliver the same amount.
    sweeps : int
        Coordinate-descent sweeps run.
    active_set_iterations : int
        Equality-QP solves of the active-set polish (0 when sweeps sufficed).
    converged : bool
        True when the certificate meets the tolerance.
    trace : dict
        Per sweep: ``energy`` (E, W) and ``max_kcl_residual`` (A, the largest
        current a single node update balanced), then one entry per
        active-set iteration; ``phase`` is 0 for sweeps, 1 for the polish.
    kkt : KKTCertificate
        Optimality residuals computed from ``voltages`` and ``currents``.
    timings : dict
        Seconds spent in each stage.
    node_voltages : numpy.ndarray
        Potentials in the order of ``Network.nodes`` (and of :attr:`nodes`).
    element_currents : dict
        Kind -> array of currents in the order of ``Network.elements(kind)``
        (and of :meth:`names`).
    warm : WarmStart
        What ``solve(net, warm_start=this)`` reuses.

    The name-keyed dicts are built on first use, so a large solve that only
    needs arrays pays nothing for them.
    """

    def __init__(self, *, arrays, node_voltages, element_currents, active_diodes, power,
                 sweeps, active_set_iterations, converged, trace, kkt, timings=None, warm=None):
        self._arrays = arrays
        self.node_voltages = node_voltages
        self.element_currents = element_currents
        self.active_diodes = active_diodes
        self.power = power
        self.sweeps = sweeps
        self.active_set_iterations = active_set_iterations
        self.converged = converged
        self.trace = trace
        self.kkt = kkt
        self.timings = timings or {}
        self.warm = warm
        self._voltages = None
        self._currents = None
        self._powers = None

    @property
    def nodes(self) -> list:
        """Node names in the order of :attr:`node_voltages`."""
        return self._arrays["nodes"]

    def names(self, kind) -> list:
        """Element names of one kind, in the order of ``element_currents[kind]``."""
        return self._arrays[kind][3]

    @property
    def voltages(self) -> dict:
        if self._voltages is None:
            self._voltages = dict(zip(self._arrays["nodes"], self.node_voltages.tolist()))
        return self._voltages

    @property
    def currents(self) -> dict:
        if self._currents is None:
            named = {}
            for kind, i in self.element_currents.items():
                named.update(zip(self._arrays[kind][3], i.tolist()))
            self._currents = named
        return self._currents

    @property
    def energy(self) -> float:
        """E at the solution: half the resistor dissipation plus the current-source term."""
        return float(self.trace["final_energy"])

    def element_power(self, name) -> float:
        """Power absorbed by one element (W), negative for a source delivering power."""
        if self._powers is None:
            v = self.node_voltages
            powers = {}
            for kind, i in self.element_currents.items():
                p, n, _, names = self._arrays[kind]
                powers.update(zip(names, (i * (v[p] - v[n])).tolist()))
            self._powers = powers
        return self._powers[name]

    def __repr__(self):
        k = self.kkt
        return (
            f"<Solution converged={self.converged} nodes={len(self.node_voltages)} "
            f"active_diodes={len(self.active_diodes)} sweeps={self.sweeps} "
            f"active_set_iterations={self.active_set_iterations} "
            f"kcl={k.max_kcl_residual:.2e}A violation={k.max_constraint_violation:.2e}V>"
        )
