"""resistive-explorer's numerical library: exact steady states of resistor-diode-source networks.

Three products, one folder each:

* :mod:`solver.core`: the circuit solver (``Network``, ``solve``, ``Solution``);
* :mod:`solver.circuits`: SPICE netlists, the ngspice cross-check, examples, generators;
* :mod:`solver.learning`: deep resistive networks, EP/BP training, presets, datasets, CLI.

No app code: nothing here imports Panel, HoloViews or Bokeh (the training CLI
draws its learning curves with matplotlib, imported only when it plots).
"""

from .learning.datasets import DatasetError, load_digits, load_mnist
from .learning.drn import DRN, NudgingError
from .learning.ep import Trainer, bp_gradients, ep_gradients, truncated_loss
from .exceptions import (
    DuplicateElementError,
    FloatingNodeError,
    InfeasibleNetworkError,
    InvalidValueError,
    NetworkError,
    UnknownElementError,
    VoltageLoopError,
)
from .circuits.netlist import NetlistError, NetlistWarning, read_netlist, write_netlist
from .circuits.analyses import run_netlist
from .core.network import GROUND, KINDS, Element, Network
from .learning.presets import PRESETS, Preset, get_preset
from .core.solution import KKTCertificate, Solution, WarmStart, kkt_certificate
from .core.solve import solve
from .core.sweep import SweepInfeasibleError, sweep
from .core.sweep_result import Breakpoint, SampledSweep, Segment, Sweep
from .core.batch import BatchSolution, solve_batch
from .core.stepping import CoordinateDescent

__all__ = sorted([
    "BatchSolution",
    "CoordinateDescent",
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
    "WarmStart",
    "kkt_certificate",
    "read_netlist",
    "run_netlist",
    "solve_batch",
    "solve",
    "sweep",
    "Breakpoint",
    "SampledSweep",
    "Segment",
    "Sweep",
    "SweepInfeasibleError",
    "write_netlist",
])

__version__ = "0.1.0"
