"""Coordinate descent advanced by hand: one node or one sweep at a time.

This is the paper's algorithm alone (no active-set polish), for watching it
work: potentials relax, diodes switch, and it stalls where a conducting diode
joins two free nodes. It runs on the network's compiled form and the same
node update as :func:`solver.solve`, so ``k`` sweeps here give exactly the
potentials of ``solve(net, method="cd", max_sweeps=k)``.
"""

from __future__ import annotations

import numpy as np

from . import _kernels as K
from .compiled import compile_network
from .solve import _start_point, solve

__all__ = ["CoordinateDescent"]

#: A sweep that moves no potential by more than this times the voltage scale has stopped.
STALL_TOLERANCE = 1e-12
#: Energy gap (relative to max(1, |E*|)) below which descent counts as converged.
CONVERGED_GAP = 1e-12


class CoordinateDescent:
    """Coordinate descent on ``net`` from a start point, stepped by the caller.

    Parameters
    ----------
    net : Network
        A valid (solvable) network in which every node is wired.
    start : {"zero", "random"} or dict
        Start potentials: all zero, random (seeded), or ``{node: volts}``.
        The start is first moved to the nearest point below it that satisfies
        every diode (what :func:`solver.solve` does too).
    seed : int
        Seed of the random start.
    optimum : float, optional
        Energy of the exact solution, for :attr:`energy_gap`; solved for if omitted.

    Attributes
    ----------
    sweeps, node_steps : int
        Completed sweeps and single-node updates so far.
    energy_gap : list of float
        ``E - E*`` (W) at the start and after each completed sweep.
    residual : list of float
        The largest current a single node update would balance (A), at the
        same moments.
    stalled : bool
        True when the last sweep moved nothing although the gap is not closed.

    Examples
    --------
    >>> from solver import CoordinateDescent, Network
    >>> net = Network()
    >>> _ = net.add_voltage_source("in", "0", 10.0)
    >>> _ = net.add_resistor("in", "mid", resistance=1000.0)
    >>> _ = net.add_resistor("mid", "0", resistance=3000.0)
    >>> cd = CoordinateDescent(net)
    >>> cd.step_sweep()
    >>> round(float(cd.node_voltages[net.nodes.index("mid")]), 6)
    7.5
    """

    def __init__(self, net, start="zero", seed=0, optimum=None):
        if not (isinstance(start, dict) or start in ("zero", "random")):
            raise ValueError(f"start must be 'zero', 'random' or a {{node: volts}} dict, not {start!r}")
        self.net = net
        self._cn = compile_network(net)
        s = self._cn.structure
        self.m = s.m
        u = np.zeros(s.m + 1)
        if isinstance(start, dict):
            u, _ = _start_point(self._cn, start)
        elif start == "random":
            rng = np.random.default_rng(seed)
            u[: s.m] = rng.normal(0.0, self._cn.voltage_scale / 2, size=s.m)
        K.repair_feasibility(u, s.da, s.dc, self._cn.db, s.m + 2)
        self._u = u
        self.next_node = 0  # component updated by the next node step
        self.sweeps = 0
        self.node_steps = 0
        self.optimum = float(solve(net).energy if optimum is None else optimum)
        self.energy_gap = [self.energy() - self.optimum]
        self.residual = [self.kcl_residual()]
        self.stalled = False

    # ------------------------------------------------------------ numbers
    @property
    def node_voltages(self) -> np.ndarray:
        """Potentials (V) in the order of ``net.nodes`` (ground is 0)."""
        s = self._cn.structure
        v = K.node_potentials(self._u, s.comp, self._cn.offset)
        v[0] = 0.0
        return v

    def voltages(self) -> dict:
        """Node name -> potential (V)."""
        return dict(zip(self._cn.structure.nodes, self.node_voltages.tolist()))

    def energy(self) -> float:
        """Co-content E (W) of the present potentials."""
        a = self._cn.arrays
        rp, rn, rg, _ = a["resistor"]
        ip, in_, ic, _ = a["isource"]
        return float(K.energy(self.node_voltages, rp, rn, rg, ip, in_, ic))

    def kcl_residual(self) -> float:
        """Largest current a single node update would balance now (A)."""
        worst = 0.0
        for k in range(self.m):
            worst = max(worst, self._cn.gsum[k] * abs(self._cn.node_update(self._u, k)[1] - self._u[k]))
        return worst

    @property
    def converged(self) -> bool:
        return self.energy_gap[-1] <= CONVERGED_GAP * max(1.0, abs(self.optimum)) + 1e-15

    @property
    def finished(self) -> bool:
        """Converged, stalled, or nothing to move: more steps change nothing worth watching."""
        return self.m == 0 or self.converged or self.stalled

    # -------------------------------------------------------------- steps
    def step_node(self):
        """Move one free node (or source-tied group) to its exact clipped minimiser."""
        if self.m == 0:
            return
        k = self.next_node
        self._u[k] = self._cn.node_update(self._u, k)[1]
        self.node_steps += 1
        self.next_node = (k + 1) % self.m
        if self.next_node == 0:
            self._end_sweep()

    def step_sweep(self):
        """Finish the current sweep (a whole sweep when at its start)."""
        if self.m == 0:
            return
        before = self._u.copy()
        while True:
            self.step_node()
            if self.next_node == 0:
                break
        moved = float(np.max(np.abs(self._u - before)))
        self.stalled = moved <= STALL_TOLERANCE * self._cn.voltage_scale and not self.converged

    def _end_sweep(self):
        self.sweeps += 1
        self.energy_gap.append(self.energy() - self.optimum)
        self.residual.append(self.kcl_residual())
