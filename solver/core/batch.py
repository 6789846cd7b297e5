"""Many variants of one circuit: Monte-Carlo tolerances, sweeps, corners.

:func:`solve_batch` solves a network once per *variant*, a ``{element name:
value}`` dict of the values that differ from the base network (a resistor's
value is its conductance, as in :meth:`Network.set_value`; a diode's, its
threshold; a source's, its voltage or current). In-process, each solve starts
warm from the previous one (neighbouring variants share most of their diode
states); with a Dask client the variants go out in chunks, each chunk solved
the same way on a worker. The answers come back as arrays in variant order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .network import KINDS, Network
from .solve import solve

__all__ = ["BatchSolution", "solve_batch"]


@dataclass
class BatchSolution:
    """The steady states of the variants of a network, one row per variant.

    Attributes
    ----------
    nodes : list
        Node names: the columns of ``voltages``.
    elements : list
        Element names: the columns of ``currents`` (by kind, in
        :data:`solver.KINDS` order, then in ``Network.elements(kind)`` order).
    voltages : ndarray (n_variants, n_nodes)
    currents : ndarray (n_variants, n_elements)
        SPICE convention, as :attr:`Solution.currents`.
    power : ndarray (n_variants,)
    converged : ndarray of bool (n_variants,)
        Whether each solve's KKT certificate met the tolerance.
    """

    nodes: list
    elements: list
    voltages: np.ndarray
    currents: np.ndarray
    power: np.ndarray
    converged: np.ndarray

    def voltage(self, node) -> np.ndarray:
        """The potential of ``node`` in every variant."""
        try:
            return self.voltages[:, self.nodes.index(node)]
        except ValueError:
            raise ValueError(f"no node {node!r}; nodes are {self.nodes}") from None

    def current(self, name) -> np.ndarray:
        """The current through element ``name`` in every variant."""
        try:
            return self.currents[:, self.elements.index(name)]
        except ValueError:
            raise ValueError(f"no element {name!r}; elements are {self.elements}") from None


def _checked_variants(net, variants):
    """The variants as a list of dicts, each value tried on a scratch copy (errors name the variant)."""
    if isinstance(variants, (dict, str, bytes)):
        raise TypeError("variants must be a sequence of {element name: value} dicts, "
                        f"got a {type(variants).__name__}")
    variants = list(variants)
    scratch = net.copy()
    for i, variant in enumerate(variants):
        if not isinstance(variant, dict):
            raise TypeError(f"variant {i} must be a dict of element values, "
                            f"got {type(variant).__name__}")
        for name, value in variant.items():
            try:
                scratch.set_value(name, value)
            except (KeyError, ValueError, TypeError) as e:
                raise type(e)(f"variant {i}: {e}") from e
    return variants


def _element_names(net):
    return [e.name for kind in KINDS for e in net.elements(kind)]


def _solve_chunk(net, variants, solve_options):
    """Solve ``variants`` of ``net`` in order, each warm-started from the previous one."""
    work = net.copy()
    base = {e.name: e.value for e in net.elements()}
    n_el = len(base)
    V = np.empty((len(variants), len(net.nodes)))
    I = np.empty((len(variants), n_el))
    power = np.empty(len(variants))
    converged = np.empty(len(variants), dtype=bool)
    changed = {}
    previous = None
    for row, variant in enumerate(variants):
        for name in changed.keys() - variant.keys():  # back to the base value
            work.set_value(name, base[name])
        for name, value in variant.items():
            work.set_value(name, value)
        changed = variant
        sol = solve(work, warm_start=previous, **solve_options)
        V[row] = sol.node_voltages
        I[row] = np.concatenate([sol.element_currents.get(kind, np.empty(0)) for kind in KINDS])
        power[row] = sol.power
        converged[row] = sol.converged
        previous = sol
    return V, I, power, converged


def solve_batch(net: Network, variants, client=None, *, chunk_size=None,
                **solve_options) -> BatchSolution:
    """Solve ``net`` once per variant of its element values; results as arrays in variant order.

    Parameters
    ----------
    net : Network
        The base circuit (not modified).
    variants : sequence of dict
        ``{element name: value}`` per variant, the values that differ from
        ``net`` (conductance for a resistor, threshold for a diode, voltage or
        current for a source).
    client : dask.distributed.Client, optional
        Solve on this cluster, in chunks of ``chunk_size`` variants (default:
        about four chunks per worker thread). Without it, in this process.
    **solve_options
        Passed to :func:`solver.solve` (``tol``, ``method``...).

    Returns
    -------
    BatchSolution

    Examples
    --------
    A divider whose lower resistor takes three values (conductance in S):

    >>> from solver import Network, solve_batch
    >>> net = Network()
    >>> net.add_voltage_source("in", "0", 10.0, name="V1")
    'V1'
    >>> net.add_resistor("in", "mid", resistance=1e3, name="R1")
    'R1'
    >>> net.add_resistor("mid", "0", resistance=1e3, name="R2")
    'R2'
    >>> batch = solve_batch(net, [{"R2": 1e-3}, {"R2": 1 / 3e3}, {}])
    >>> batch.voltage("mid").round(3).tolist()
    [5.0, 7.5, 5.0]
    """
    if not isinstance(net, Network):
        raise TypeError(f"solve_batch needs a solver.Network, not {type(net).__name__}")
    variants = _checked_variants(net, variants)
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    solve_options.setdefault("trace", False)
    if client is None or not variants:
        parts = [_solve_chunk(net, variants, solve_options)]
    else:
        if chunk_size is None:
            threads = sum(client.nthreads().values()) or 1
            chunk_size = max(1, math.ceil(len(variants) / (4 * threads)))
        chunks = [variants[s:s + chunk_size] for s in range(0, len(variants), chunk_size)]
        [shared] = client.scatter([net], broadcast=True)
        futures = [client.submit(_solve_chunk, shared, chunk, solve_options, pure=False)
                   for chunk in chunks]
        parts = client.gather(futures)
    return BatchSolution(list(net.nodes), _element_names(net),
                         *(np.concatenate([p[i] for p in parts]) for i in range(4)))
