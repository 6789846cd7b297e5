"""The circuit solver: a network (the problem), its compiled arrays, the exact solve and the certified solution.

``Network`` describes the circuit; ``compile_network`` validates it and lays it
out as flat arrays for the numba kernels (``_kernels``, ``_cholesky``);
``solve`` runs coordinate descent and the active-set polish; ``Solution``
holds the answer with its KKT certificate.
"""

from .network import GROUND, KINDS, Element, Network
from .solution import KKTCertificate, Solution, kkt_certificate
from .solve import solve
from .stepping import CoordinateDescent

__all__ = ["CoordinateDescent", "GROUND", "KINDS", "Element", "KKTCertificate", "Network", "Solution", "kkt_certificate", "solve"]
