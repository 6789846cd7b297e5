"""What the explorer shows for one network: potentials, currents, powers, diode states, as arrays.

After every solve or step the store holds one :class:`Readings` whose arrays
follow the network's node order (``net.nodes``) and element order
(``net.elements()``). Views index these arrays; nobody rebuilds them from
name-keyed dicts on a repaint, and the voltage across an element is computed
here only (``dv = v[p] - v[n]``).

Both constructors are pure functions of their arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from solver import KINDS
from solver.config import STEP_TIGHT_SLACK

__all__ = ["Readings", "element_index", "from_potentials", "from_solution", "unknown"]


@dataclass(frozen=True)
class ElementIndex:
    """Node indices of each element's terminals and where its current sits in a solution."""

    names: list
    kinds: np.ndarray  # object array of kind names
    p: np.ndarray
    n: np.ndarray
    solution_slot: np.ndarray  # row of each element in the kind-by-kind concatenation of currents
    diode_rows: np.ndarray  # element row of each diode, in the solver's diode order


def element_index(net) -> ElementIndex:
    """Terminal indices and solution slots of ``net``'s elements, in ``net.elements()`` order.

    Depends on the network's structure only (a value edit leaves it valid).
    """
    arrays = net.arrays()
    elements = net.elements()
    position = arrays["position"]
    start, offset = 0, {}
    for kind in KINDS:
        offset[kind] = start
        start += len(arrays[kind][3])
    slot = np.fromiter((offset[position[e.name][0]] + position[e.name][1] for e in elements),
                       dtype=np.int64, count=len(elements))
    by_slot = np.empty(len(elements), dtype=np.int64)
    by_slot[slot] = np.arange(len(elements))
    d0 = offset["diode"]
    return ElementIndex(
        names=[e.name for e in elements],
        kinds=np.array([e.kind for e in elements], dtype=object),
        p=np.concatenate([arrays[k][0] for k in KINDS])[slot] if elements else np.zeros(0, np.int64),
        n=np.concatenate([arrays[k][1] for k in KINDS])[slot] if elements else np.zeros(0, np.int64),
        solution_slot=slot,
        diode_rows=by_slot[d0: d0 + len(arrays["diode"][3])],
    )


@dataclass(frozen=True)
class Readings:
    """Potentials and element quantities of one network state, in the network's orders.

    ``valid`` is False when the numbers are unknown (the circuit does not
    solve): then every array is NaN and diodes are neither on nor off.
    ``source`` says where the numbers come from: ``"solution"``, ``"step"``
    or ``"none"``.
    """

    v: np.ndarray  # node potentials (V), NaN where unknown
    i: np.ndarray  # element currents (A), p -> n through the element
    dv: np.ndarray  # voltage across each element, v[p] - v[n] (V)
    power: np.ndarray  # power absorbed, i * dv (W)
    on: np.ndarray  # diode conducting (False for other kinds)
    valid: bool = True
    source: str = "solution"
    label: str = ""
    index: ElementIndex = field(default=None, repr=False)

    def element(self, name):
        """``(dv, i, power, on)`` of one element (a lookup, for the readout of one selection)."""
        k = self.index.names.index(name)
        return float(self.dv[k]), float(self.i[k]), float(self.power[k]), bool(self.on[k])


def _assemble(v, i, index, on, **kw):
    dv = v[index.p] - v[index.n]
    return Readings(v=v, i=i, dv=dv, power=i * dv, on=on, index=index, **kw)


def from_solution(net, solution, index=None, node_rows=None, by_name=False) -> Readings:
    """Readings of ``solution``, a solve of ``net`` or of ``net`` without its unwired nodes.

    ``node_rows[k]`` is the row in ``solution.node_voltages`` of ``net.nodes[k]``
    (-1 for a node left out of the solve); omitted when both have the same nodes.
    With ``by_name`` the solution may come from another network (a learner's
    copy with extra nudging elements): values are matched by node and element name.
    """
    index = index or element_index(net)
    if by_name:
        volts, currents = solution.voltages, solution.currents
        v = np.array([volts.get(n, np.nan) for n in net.nodes], dtype=float)
        i = np.array([currents.get(name, np.nan) for name in index.names], dtype=float)
        active = set(solution.active_diodes)
        on = np.array([name in active for name in index.names], dtype=bool)
        return _assemble(v, i, index, on, valid=True, source="solution")
    if node_rows is None:
        v = np.asarray(solution.node_voltages, dtype=float).copy()
    else:
        solved = np.append(np.asarray(solution.node_voltages, dtype=float), np.nan)
        v = solved[node_rows]  # -1 picks the NaN
    currents = solution.element_currents
    stacked = np.concatenate([np.asarray(currents.get(k, ()), dtype=float) for k in KINDS]) \
        if index.names else np.zeros(0)
    i = stacked[index.solution_slot]
    on = np.zeros(len(index.names), dtype=bool)
    if solution.active_diodes:
        active = set(solution.active_diodes)
        diodes = index.diode_rows
        on[diodes] = [index.names[r] in active for r in diodes]
    return _assemble(v, i, index, on, valid=True, source="solution")


def from_potentials(net, v, label="", index=None, tight_tol=STEP_TIGHT_SLACK) -> Readings:
    """Readings of node potentials ``v`` that are not a solution (coordinate descent mid-way).

    Resistor currents follow Ohm's law and current sources their value; diode
    and voltage-source currents are unknown (NaN) away from the optimum. A diode
    counts as on where it sits at its threshold.
    """
    index = index or element_index(net)
    v = np.asarray(v, dtype=float)
    kinds = index.kinds
    arrays = net.arrays()
    values = np.concatenate([arrays[k][2] for k in KINDS])[index.solution_slot] if len(kinds) else np.zeros(0)
    dv = v[index.p] - v[index.n]
    i = np.full(len(kinds), np.nan)
    res = kinds == "resistor"
    i[res] = values[res] * dv[res]
    src = kinds == "isource"
    i[src] = values[src]
    on = (kinds == "diode") & (dv >= values - tight_tol * (1 + np.abs(values)))
    return _assemble(v, i, index, on, valid=True, source="step", label=label)


def unknown(net, index=None) -> Readings:
    """Readings of a circuit that does not solve: nothing is known."""
    index = index or element_index(net)
    v = np.full(len(net.nodes), np.nan)
    return _assemble(v, np.full(len(index.names), np.nan), index, np.zeros(len(index.names), dtype=bool),
                     valid=False, source="none")
