"""Circuits in and out of the solver: SPICE netlists, the ngspice cross-check, bundled examples, generators.

Everything here builds or reads :class:`solver.Network` objects (or writes them
back); none of it is needed to solve a network built in code.
"""

from .analyses import DCAnalysis, NetlistRun, run_netlist
from .generators import grid_edges, grid_network, random_network
from .netlist import NetlistError, NetlistWarning, read_netlist, write_netlist

__all__ = ["DCAnalysis", "NetlistError", "NetlistRun", "NetlistWarning", "grid_edges", "grid_network",
           "random_network", "read_netlist", "run_netlist", "write_netlist"]
