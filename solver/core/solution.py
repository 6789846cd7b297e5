"""The result of a solve: potentials, currents, and a certificate that checks them.

The certificate (:class:`KKTCertificate`) is computed from the returned node
voltages and element currents alone, with none of the algorithm's internal
state, so it proves (or disproves) optimality by itself:

* Kirchhoff's current law at every node but ground (stationarity of the QP),
* every source voltage and diode constraint holds (primal feasibility),
* every diode current is >= 0 (dual feasibility),
* a diode carries current only where it is at its threshold (complementarity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._kernels import add_currents

__all__ = ["KKTCertificate", "Solution", "kkt_certificate"]


@dataclass(frozen=True)
class KKTCertificate:
    """Residuals of the optimality (KKT) conditions of a solution.

    ``max_kcl_residual`` (A), ``max_constraint_violation`` (V),
    ``min_diode_current`` (A, >= 0 at an optimum; ``inf`` without diodes),
    ``max_complementarity`` (W: diode current times its distance from the
    threshold) and ``relative_complementarity``: the largest, over diodes, of
    ``min(current / current_scale, distance / voltage_scale)``, which is small
    only if no diode both conducts and sits off its threshold. A product alone
    can hide that (1e-5 A times 1e-5 V is tiny, yet wrong by 1e-5 V).
    ``current_scale`` (A) and ``voltage_scale`` (V) are the sizes the
    residuals are judged against by :meth:`is_optimal`.
    """

    max_kcl_residual: float
    max_constraint_violation: float
    min_diode_current: float
    max_complementarity: float
    relative_complementarity: float
    current_scale: float
    voltage_scale: float

    def is_optimal(self, tol=1e-9) -> bool:
        """True when every residual is below ``tol`` times its scale."""
        i_tol = tol * self.current_scale
        return (
            self.max_kcl_residual <= i_tol
            and self.max_constraint_violation <= tol * self.voltage_scale
            and self.min_diode_current >= -i_tol
            and self.relative_complementarity <= tol
        )

    def worst_relative_residual(self) -> float:
        """The largest residual relative to its scale (what is_optimal compares with tol)."""
        return max(self.max_kcl_residual / self.current_scale,
                   self.max_constraint_violation / self.voltage_scale,
                   max(0.0, -self.min_diode_current) / self.current_scale,
                   self.relative_complementarity)


def kkt_certificate(arrays, voltages, currents) -> KKTCertificate:
    """Check Kirchhoff's laws and the diode conditions on node voltages and element currents.

    ``arrays`` is :meth:`Network.arrays`; ``voltages`` is indexed like its
    nodes; ``currents`` maps ``"diode"`` and ``"vsource"`` to their element
    currents in order. Resistor currents are recomputed from the voltages by
    Ohm's law and current sources carry their set value, so a voltage that
    is off shows up as a KCL residual.
    """
    v = np.asarray(voltages, dtype=float)
    n_nodes = v.shape[0]
    rp, rn, rg, _ = arrays["resistor"]
    ip, in_, icur, _ = arrays["isource"]
    flows = {
        "resistor": rg * (v[rp] - v[rn]),
        "isource": icur,
        "diode": np.asarray(currents["diode"], dtype=float),
        "vsource": np.asarray(currents["vsource"], dtype=float),
    }
    net_out = np.zeros(n_nodes)
    gross = np.zeros(n_nodes)
    for kind, i in flows.items():
        add_currents(arrays[kind][0], arrays[kind][1], i, net_out, gross)
    kcl = float(np.max(np.abs(net_out[1:]), initial=0.0))
    current_scale = max(float(np.max(gross, initial=0.0)), 1e-300)

    dp, dn, theta, _ = arrays["diode"]
    vp, vn, volts, _ = arrays["vsource"]
    drop = v[dp] - v[dn]
    violation = max(
        float(np.max(np.abs(v[vp] - v[vn] - volts), initial=0.0)),
        float(np.max(drop - theta, initial=0.0)),
    )
    i_d = flows["diode"]
    min_current = float(np.min(i_d, initial=np.inf))
    distance = np.abs(theta - drop)
    complementarity = float(np.max(np.abs(i_d) * distance, initial=0.0))
    voltage_scale = 1.0 + float(np.max(np.abs(v), initial=0.0))
    relative = float(np.max(np.minimum(np.abs(i_d) / current_scale, distance / voltage_scale), initial=0.0))
    return KKTCertificate(kcl, violation, min_current, complementarity, relative, current_scale, voltage_scale)


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
        Potentials in the order of ``Network.nodes``.
    element_currents : dict
        Kind -> array of currents in the order of ``Network.elements(kind)``.

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
        self._warm = warm
        self._voltages = None
        self._currents = None
        self._powers = None

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
