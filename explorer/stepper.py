"""Step mode: the solver's public :class:`~solver.CoordinateDescent` plus the line the app shows.

The algorithm lives in :mod:`solver.core.stepping`; this module only words
its progress for a class watching it.
"""

from __future__ import annotations

from solver import CoordinateDescent

__all__ = ["CDStepper"]


class CDStepper(CoordinateDescent):
    """Coordinate descent stepped by the explorer (see :class:`solver.CoordinateDescent`)."""

    def describe(self) -> str:
        gap = self.energy_gap[-1]
        text = (f"coordinate descent: {self.sweeps} sweeps, {self.node_steps} node updates · "
                f"E − E* = {gap:.3e} W · max KCL residual {self.residual[-1]:.3e} A")
        if self.converged:
            text += " · converged"
        elif self.stalled:
            text += " · STALLED (a diode between free nodes?) — press 'Exact solve'"
        return text
