"""Plain coordinate descent, one node or one sweep at a time, for the step mode.

This is the paper's algorithm alone (no active-set polish), so a class can
watch potentials relax and diodes switch, and see it stall where a conducting
diode joins two free nodes. It runs on the solver's compiled form of the
network and its own node-update kernel, so each step is exactly what
``solve(net, method="cd")`` does.
"""

from __future__ import annotations

import numpy as np

from solver import solve
from solver.core import _kernels as K
from solver.core.compiled import compile_network

__all__ = ["CDStepper"]


class CDStepper:
    """Coordinate descent on ``net`` from a start point, advanced by hand.

    Parameters
    ----------
    net : Network
        A valid (solvable) network; every node must be wired.
    start : {"zero", "random"} or dict
        Start potentials: all zero, random (seeded), or ``{node: volts}``.
        The start is first moved to the nearest point below it that satisfies
        every diode (what the solver does too).
    optimum : float, optional
        Energy of the exact solution, for the energy gap; computed if omitted.
    """

    def __init__(self, net, start="zero", seed=0, optimum=None):
        self.net = net
        self.cn = compile_network(net)
        s = self.cn.structure
        self.m = s.m
        u = np.zeros(s.m + 1)
        if isinstance(start, dict):
            from solver.core.solve import _start_point
            u, _ = _start_point(self.cn, start)
        elif start == "random":
            rng = np.random.default_rng(seed)
            u[: s.m] = rng.normal(0.0, self.cn.voltage_scale / 2, size=s.m)
        K.repair_feasibility(u, s.da, s.dc, self.cn.db, s.m + 2)
        self.u = u
        self.next_node = 0  # component updated by the next node step
        self.sweeps = 0
        self.node_steps = 0
        if optimum is None:
            optimum = solve(net).energy
        self.optimum = float(optimum)
        self.energy_gap = [self.energy() - self.optimum]
        self.residual = [self.kcl_residual()]
        self.stalled = False

    # ------------------------------------------------------------ numbers
    def voltages(self) -> dict:
        s = self.cn.structure
        v = K.node_potentials(self.u, s.comp, self.cn.offset)
        v[0] = 0.0
        return dict(zip(s.nodes, v.tolist()))

    def energy(self) -> float:
        a = self.cn.arrays
        s = self.cn.structure
        v = K.node_potentials(self.u, s.comp, self.cn.offset)
        rp, rn, rg, _ = a["resistor"]
        ip, in_, ic, _ = a["isource"]
        return float(K.energy(v, rp, rn, rg, ip, in_, ic))

    def _target(self, k):
        return self.cn.node_update(self.u, k)[1]

    def kcl_residual(self) -> float:
        """Largest current a single node update would balance now (A)."""
        worst = 0.0
        for k in range(self.m):
            worst = max(worst, self.cn.gsum[k] * abs(self._target(k) - self.u[k]))
        return worst

    # -------------------------------------------------------------- steps
    def step_node(self):
        """Move one free node (or source-tied group) to its exact clipped minimiser."""
        if self.m == 0:
            return
        k = self.next_node
        self.u[k] = self._target(k)
        self.node_steps += 1
        self.next_node = (k + 1) % self.m
        if self.next_node == 0:
            self._end_sweep()

    def step_sweep(self):
        """Finish the current sweep (a whole sweep when at its start)."""
        if self.m == 0:
            return
        before = self.u.copy()
        while True:
            self.step_node()
            if self.next_node == 0:
                break
        self.stalled = bool(np.max(np.abs(self.u - before)) <= 1e-12 * self.cn.voltage_scale) and \
            self.energy_gap[-1] > 1e-9 * max(1.0, abs(self.optimum))

    def _end_sweep(self):
        self.sweeps += 1
        self.energy_gap.append(self.energy() - self.optimum)
        self.residual.append(self.kcl_residual())

    @property
    def converged(self) -> bool:
        return self.energy_gap[-1] <= 1e-12 * max(1.0, abs(self.optimum)) + 1e-15

    def describe(self) -> str:
        gap = self.energy_gap[-1]
        text = (f"coordinate descent: {self.sweeps} sweeps, {self.node_steps} node updates · "
                f"E − E* = {gap:.3e} W · max KCL residual {self.residual[-1]:.3e} A")
        if self.converged:
            text += " · converged"
        elif self.stalled:
            text += " · STALLED (a diode between free nodes?) — press 'Exact solve'"
        return text
