"""The circuit solver: a network (the problem), its compiled arrays, the exact solve and the certified solution.

``Network`` describes the circuit; ``compile_network`` validates it and lays it
out as flat arrays for the numba kernels (``_kernels``, ``_cholesky``);
``solve`` runs coordinate descent and the active-set polish; ``Solution``
holds the answer with its KKT certificate.
"""

from .network import GROUND, KINDS, Element, Network
from .solution import KKTCertificate, Solution, WarmStart, kkt_certificate
from .solve import solve
from .sweep import SweepInfeasibleError, sweep
from .sweep_result import Breakpoint, SampledSweep, Segment, Sweep
from .batch import BatchSolution, solve_batch
from .stepping import CoordinateDescent

__all__ = ["BatchSolution", "Breakpoint", "CoordinateDescent", "Element", "GROUND", "KINDS", "KKTCertificate",
           "Network", "SampledSweep", "Segment", "Solution", "Sweep", "SweepInfeasibleError", "WarmStart",
           "kkt_certificate", "solve", "solve_batch", "sweep"]
