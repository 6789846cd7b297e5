"""resistive-explorer's numerical core: exact steady states of resistor-diode-source networks.

Pure numerics (numpy, numba, scipy, networkx); no plotting or app code.
"""

from .datasets import DatasetError, load_digits, load_mnist
from .drn import DRN, NudgingError
from .ep import Trainer, bp_gradients, ep_gradients, truncated_loss
from .exceptions import (
    DuplicateElementError,
    FloatingNodeError,
    InfeasibleNetworkError,
    InvalidValueError,
    NetworkError,
    UnknownElementError,
    VoltageLoopError,
)
from .netlist import NetlistError, NetlistWarning, read_netlist, write_netlist
from .network import GROUND, KINDS, Element, Network
from .presets import PRESETS, Preset, get_preset
from .solution import KKTCertificate, Solution, kkt_certificate
from .solve import solve

__all__ = sorted([
    "DRN",
    "DatasetError",
    "NudgingError",
    "PRESETS",
    "Preset",
    "Trainer",
    "bp_gradients",
    "ep_gradients",
    "get_preset",
    "load_digits",
    "load_mnist",
    "truncated_loss",
    "DuplicateElementError",
    "Element",
    "FloatingNodeError",
    "GROUND",
    "InfeasibleNetworkError",
    "InvalidValueError",
    "KINDS",
    "KKTCertificate",
    "NetlistError",
    "NetlistWarning",
    "Network",
    "NetworkError",
    "Solution",
    "UnknownElementError",
    "VoltageLoopError",
    "kkt_certificate",
    "read_netlist",
    "solve",
    "write_netlist",
])

__version__ = "0.1.0"
