"""Run the analyses of a SPICE deck: ``.op`` and ``.dc``, exactly.

:func:`run_netlist` reads the circuit with :func:`solver.read_netlist` and
then runs, in the deck's order, every ``.op`` (a :class:`solver.Solution`) and
every ``.dc`` line::

    .dc SRC start stop step                       (one source, or a resistor)
    .dc SRC start stop step SRC2 start2 stop2 step2   (a grid, SRC fastest)

A ``.dc`` of a voltage or current source is computed as an *exact* transfer
curve (:func:`solver.sweep`, breakpoints included) and then read at SPICE's
sample points ``start, start + step, ...`` (up to ``stop``), so the table is
what ngspice prints, without its rounded knees. A ``.dc`` of a resistor (which
ngspice also allows) is solved at each sample with warm starts.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..config import MAX_ELEMENTS
from ..core.solve import solve
from ..core.sweep import SweepInfeasibleError, sweep
from ..core.sweep_result import SampledSweep
from .netlist import NetlistError, parse_value, read_netlist

__all__ = ["DCAnalysis", "NetlistRun", "dc_points", "run_netlist"]


@dataclass
class DCAnalysis:
    """One ``.dc`` line and its results.

    Attributes
    ----------
    line, text : int, str
        Where the line is in the deck.
    sources : tuple of str
        The swept element(s), as the network spells them.
    table : SampledSweep
        Node voltages and element currents at SPICE's sample points (the first
        source varies fastest); ``table.to_csv()`` exports it.
    sweeps : list of Sweep
        The exact transfer curves along the first source (one per value of
        the second), with their breakpoints; empty for a resistor sweep.
    """

    line: int
    text: str
    sources: tuple
    table: SampledSweep
    sweeps: list = field(default_factory=list)

    @property
    def points(self) -> np.ndarray:
        return self.table.points

    def voltage(self, node) -> np.ndarray:
        return self.table.voltage(node)

    def current(self, element) -> np.ndarray:
        return self.table.current(element)


@dataclass
class NetlistRun:
    """The network of a deck and the results of its analyses, in the deck's order.

    ``analyses`` holds a :class:`solver.Solution` for each ``.op`` and a
    :class:`DCAnalysis` for each ``.dc``.
    """

    network: object
    analyses: list

    @property
    def dc(self) -> list:
        return [a for a in self.analyses if isinstance(a, DCAnalysis)]


def dc_points(start, stop, step, where="") -> np.ndarray:
    """SPICE's ``.dc`` sample values: ``start + k step`` for k = 0, 1, ... while not past ``stop``."""
    if step == 0 or not all(math.isfinite(x) for x in (start, stop, step)):
        raise ValueError(f"{where}.dc needs finite start, stop and a non-zero step")
    span = (stop - start) / step
    if span < -1e-9:
        raise ValueError(f"{where}.dc step {step:g} goes away from stop {stop:g} (start {start:g}); "
                         "flip its sign")
    count = int(math.floor(max(span, 0.0) + 1e-9)) + 1
    if count > MAX_ELEMENTS:
        raise ValueError(f"{where}.dc asks for {count} points; at most {MAX_ELEMENTS}")
    return start + step * np.arange(count)


def run_netlist(source) -> NetlistRun:
    """Read a SPICE deck (path, file object or text) and run its ``.op`` and ``.dc`` analyses.

    Returns
    -------
    NetlistRun
        ``network`` and ``analyses`` (a Solution per ``.op``, a
        :class:`DCAnalysis` per ``.dc``), in the deck's order.

    Raises
    ------
    NetlistError
        For a malformed ``.dc`` line (naming the file and line), as well as
        everything :func:`solver.read_netlist` rejects.
    SweepInfeasibleError
        Where a sweep leaves the network without a steady state.

    Examples
    --------
    >>> run = run_netlist('''clipper
    ... V1 in 0 DC 0
    ... R1 in out 1k
    ... D1 out 0 DIDEAL
    ... .model DIDEAL D(IS=1e-12 N=0.001)
    ... .dc V1 -1 1 0.5
    ... .end''')
    >>> dc = run.dc[0]
    >>> [round(float(v), 9) for v in dc.voltage("out")]
    [-1.0, -0.5, 0.0, 0.0, 0.0]
    >>> [b.value for b in dc.sweeps[0].breakpoints]
    [0.0]
    """
    text, file = _read_text(source)
    net = read_netlist(text)
    analyses = []
    for number, tokens, line in _analysis_lines(text):
        if tokens[0].lower() == ".op":
            analyses.append(solve(net))
            continue
        try:
            analyses.append(_run_dc(net, tokens, number, line, file))
        except SweepInfeasibleError as e:
            raise SweepInfeasibleError(f"{file}:{number}: {e}", e.value, e.sweep, e.elements) from None
    return NetlistRun(net, analyses)


def _read_text(source):
    if hasattr(source, "read"):
        text = source.read()
        return (text.decode("utf-8", "replace") if isinstance(text, bytes) else text), getattr(source, "name", "<stream>")
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source and "\r" not in source):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no netlist file {path!r}")
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(), path
    if isinstance(source, str):
        return source, "<string>"
    raise TypeError(f"run_netlist takes a path, a file object or netlist text, not {type(source).__name__}")


def _analysis_lines(text):
    """(line number, tokens, text) of each top-level ``.op`` and ``.dc`` line, continuations joined."""
    found = []
    last = None
    title_seen = in_control = in_subckt = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0]
        line = line.split(" $", 1)[0].strip()
        if not title_seen:
            title_seen = bool(raw.strip())
            continue
        if not line or line.startswith("*"):
            continue
        head = line.split()[0].lower()
        if in_control:
            in_control = head != ".endc"
            continue
        if head.startswith("+"):
            if found and found[-1][0] == last:
                found[-1][1].extend(line[1:].split())
                found[-1][2] += " " + line
            last = number
            continue
        last = number
        if head == ".end":
            break
        in_control = in_control or head == ".control"
        in_subckt = (in_subckt or head == ".subckt") and head != ".ends"
        if head in (".op", ".dc") and not in_subckt:
            found.append([number, line.split(), line])
    return found


def _run_dc(net, tokens, number, line, file) -> DCAnalysis:
    def fail(problem):
        raise NetlistError(problem, file, number, line)

    args = tokens[1:]
    if len(args) not in (4, 8):
        fail(".dc takes SRC START STOP STEP, optionally followed by SRC2 START2 STOP2 STEP2")
    by_name = {e.name.lower(): e for e in net.elements()}
    sources, axes = [], []
    for k in range(0, len(args), 4):
        name = args[k]
        element = by_name.get(name.lower())
        if element is None or element.kind == "diode":
            fail(f".dc sweeps a voltage source, a current source or a resistor; {name!r} is "
                 + ("a diode" if element is not None else "not an element of the circuit"))
        try:
            start, stop, step = (parse_value(t) for t in args[k + 1:k + 4])
        except ValueError:
            fail(f".dc {name}: malformed start, stop or step in {' '.join(args[k + 1:k + 4])!r}")
        try:
            axes.append(dc_points(start, stop, step))
        except ValueError as e:
            fail(str(e))
        sources.append(element)
    if len(sources) == 2 and sources[0].name == sources[1].name:
        fail(f".dc sweeps {sources[0].name} twice")
    count = int(np.prod([a.size for a in axes]))
    if count * (len(net.nodes) + len(net)) > MAX_ELEMENTS:
        fail(f".dc asks for {count} points of a network of {len(net.nodes)} nodes: too large to store")
    names = tuple(e.name for e in sources)
    if sources[0].kind == "resistor" or (len(sources) == 2 and sources[1].kind == "resistor"):
        values = axes[0] if len(axes) == 1 else tuple(axes)
        return DCAnalysis(number, line, names, sweep(net, names if len(names) == 2 else names[0], values=values))
    return _exact_dc(net, sources, axes, number, line)


def _exact_dc(net, sources, axes, number, line) -> DCAnalysis:
    """Exact sweeps of the first source (one per value of the second), read at the sample points."""
    first = axes[0]
    outer = axes[1] if len(axes) == 2 else [None]
    work = net.copy()
    sweeps, volts, currents, conducting, points = [], [], [], [], []
    for value in outer:
        if value is not None:
            work.set_value(sources[1].name, float(value))
        s = sweep(work, sources[0].name, float(first[0]), float(first[-1]))
        sweeps.append(s)
        volts.append(s.voltages(first))
        currents.append(s.currents(first))
        conducting.extend(s.conducting(x) for x in first)
        points.append(np.column_stack([first] + ([np.full(first.size, value)] if value is not None else [])))
    table = SampledSweep(
        parameters=tuple(e.name for e in sources),
        quantity={e.name: ("voltage" if e.kind == "vsource" else "current") for e in sources},
        points=np.vstack(points), nodes=sweeps[0].nodes, elements=sweeps[0].elements,
        node_voltages=np.vstack(volts), element_currents=np.vstack(currents), conducting=conducting)
    return DCAnalysis(number, line, tuple(e.name for e in sources), table, sweeps)
