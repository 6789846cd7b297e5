"""The network model: nodes, and resistors, ideal diodes and sources between them.

A :class:`Network` is the *problem* of the solver. It validates every value
when the element is added, keeps SPICE's sign conventions, and converts to and
from NetworkX. Structural checks that need the whole circuit (floating nodes,
voltage-source loops, infeasible diode sets) happen when it is compiled for a
solve, see :mod:`solver.core.compiled`.

Sign conventions (as in SPICE): every element has a positive terminal ``p``
and a negative terminal ``n`` and its current flows from ``p`` through the
element to ``n``.

============  ============  ============  =============================
kind          p             n             value
============  ============  ============  =============================
resistor      a             b             conductance ``g`` (S)
diode         anode         cathode       threshold ``theta`` (V): ``v(anode) - v(cathode) <= theta``
vsource       p (plus)      n (minus)     voltage ``V``: ``v(p) - v(n) = V``
isource       p             n             current ``I`` (A) leaving node p, entering node n
============  ============  ============  =============================
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from ..config import MAX_ABS_CURRENT, MAX_ABS_VOLTAGE, MAX_CONDUCTANCE, MIN_CONDUCTANCE
from ._bulk import AutoNames, BulkStore, first_bad
from ..exceptions import (
    DuplicateElementError,
    InvalidValueError,
    NetworkError,
    UnknownElementError,
)

__all__ = ["GROUND", "KINDS", "Element", "Network"]

#: Name of the ground (reference) node; ``"gnd"`` (any case) and ``0`` are aliases.
GROUND = "0"

#: The element kinds, in the order the compiled arrays use.
KINDS = ("resistor", "diode", "vsource", "isource")

#: Name of the value attribute of each kind (NetworkX edges carry it).
VALUE_ATTRIBUTE = {
    "resistor": "conductance",
    "diode": "threshold",
    "vsource": "voltage",
    "isource": "current",
}

#: SPICE letter used for automatic element names.
NAME_PREFIX = {"resistor": "R", "diode": "D", "vsource": "V", "isource": "I"}


@dataclass(frozen=True)
class Element:
    """One two-terminal element. ``value`` is the kind's value attribute."""

    kind: str
    name: str
    p: object
    n: object
    value: float

    @property
    def resistance(self) -> float:
        if self.kind != "resistor":
            raise AttributeError(f"{self.kind} {self.name!r} has no resistance")
        return 1.0 / self.value

    @property
    def conductance(self) -> float:
        if self.kind != "resistor":
            raise AttributeError(f"{self.kind} {self.name!r} has no conductance")
        return self.value


def canonical_node(node):
    """Return the canonical form of a node name (ground aliases -> ``"0"``).

    Node names are non-empty strings or integers; ``0``, ``"0"`` and ``"gnd"``
    (any case) all mean ground.
    """
    if type(node) is str and node in _CANONICAL:  # fast path for the common case
        return _CANONICAL[node]
    if isinstance(node, bool) or not isinstance(node, (str, Integral)):
        raise NetworkError(
            f"node name {node!r} must be a string or an int, not {type(node).__name__}"
        )
    if isinstance(node, Integral):
        node = int(node)
        return GROUND if node == 0 else node
    name = node.strip()
    if not name:
        raise NetworkError("node name must not be empty")
    if name == GROUND or name.lower() == "gnd":
        return GROUND
    if name == node and len(_CANONICAL) < 1_000_000:
        _CANONICAL[node] = node
    return name


#: Memo of already-canonical string names (a plain cache: strings are immutable).
_CANONICAL = {}


#: Usable magnitude of each kind's value, and its unit, for the range check.
_LIMITS = {
    "conductance": (MIN_CONDUCTANCE, MAX_CONDUCTANCE, "S"),
    "resistance": (1.0 / MAX_CONDUCTANCE, 1.0 / MIN_CONDUCTANCE, "ohm"),
    "threshold": (0.0, MAX_ABS_VOLTAGE, "V"),
    "voltage": (0.0, MAX_ABS_VOLTAGE, "V"),
    "current": (0.0, MAX_ABS_CURRENT, "A"),
}


def _finite(kind, name, what, value) -> float:
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
            raise InvalidValueError(
                f"{kind} {name!r}: {what} must be a number, got {value!r}"
            )
        try:
            value = float(value)
        except OverflowError:  # an int beyond float64, e.g. 10**400
            value = math.inf if value > 0 else -math.inf
    if not math.isfinite(value):
        raise InvalidValueError(f"{kind} {name!r}: {what} must be finite, got {value}")
    return value


def _in_range(kind, name, what, value) -> float:
    """``value`` if its magnitude lies in the usable range of ``what`` (0 is always allowed)."""
    low, high, unit = _LIMITS[what]
    size = abs(value)
    if size > high or (0.0 < size < low):
        raise InvalidValueError(
            f"{kind} {name!r}: {what} {value:g} {unit} is outside the usable range "
            f"{low:g} to {high:g} {unit} in magnitude (float64 cannot solve the circuit "
            "accurately beyond it; rescale the units)"
        )
    return value


def _positive(kind, name, what, value) -> float:
    value = _finite(kind, name, what, value)
    if value <= 0.0:
        raise InvalidValueError(
            f"{kind} {name!r}: {what} must be positive, got {value:g}"
        )
    return _in_range(kind, name, what, value)


def _conductance(name, resistance, conductance) -> float:
    if (resistance is None) == (conductance is None):
        raise InvalidValueError(
            f"resistor {name!r}: give exactly one of resistance= or conductance="
        )
    if conductance is not None:
        return _positive("resistor", name, "conductance", conductance)
    return 1.0 / _positive("resistor", name, "resistance", resistance)


def _check_value(kind, name, value) -> float:
    if kind == "resistor":
        return _positive(kind, name, "conductance", value)
    if kind == "diode":
        theta = _finite(kind, name, "threshold", value)
        if theta < 0.0:
            raise InvalidValueError(
                f"diode {name!r}: threshold must be >= 0, got {theta:g} "
                "(swap anode and cathode for a reverse drop)"
            )
        return _in_range(kind, name, "threshold", theta)
    if kind == "vsource":
        return _in_range(kind, name, "voltage", _finite(kind, name, "voltage", value))
    if kind == "isource":
        return _in_range(kind, name, "current", _finite(kind, name, "current", value))
    raise NetworkError(f"unknown element kind {kind!r}; expected one of {KINDS}")


def _check_ranges(elements):
    """Range-check elements built elsewhere (bulk readers), vectorised; raise on the first bad one."""
    what = {"resistor": "conductance", "diode": "threshold", "vsource": "voltage", "isource": "current"}
    by_kind = {}
    for e in elements:
        by_kind.setdefault(e.kind, []).append(e)
    for kind, els in by_kind.items():
        low, high, _ = _LIMITS[what[kind]]
        size = np.abs(np.array([e.value for e in els], dtype=float))
        bad = np.flatnonzero(~(size <= high) | ((size > 0.0) & (size < low)))
        if bad.size:
            e = els[int(bad[0])]
            _in_range(kind, e.name, what[kind], _finite(kind, e.name, what[kind], e.value))


class Network:
    """A network of resistors, ideal diodes, voltage and current sources.

    Ground is node ``"0"`` and always exists. Every other node is created by
    the first element that touches it (or by :meth:`add_node`).

    Examples
    --------
    A divider: 10 V across 1 kOhm and 3 kOhm in series puts 7.5 V at ``mid``.

    >>> from solver import Network, solve
    >>> net = Network()
    >>> net.add_voltage_source("in", "0", 10.0)
    'V1'
    >>> net.add_resistor("in", "mid", resistance=1e3)
    'R1'
    >>> net.add_resistor("mid", "0", resistance=3e3)
    'R2'
    >>> round(solve(net).voltages["mid"], 6)
    7.5
    """

    def __init__(self):
        self._node_dict: dict = {GROUND: {}}
        self._spellings: dict = {GROUND: GROUND}  # str(node) -> node, to catch 1 vs "1"
        self._element_dict: dict[str, Element] = {}
        #: the arrays of a network built by from_arrays, until something needs the dicts
        self._bulk: BulkStore | None = None
        self._counters = {kind: 0 for kind in KINDS}
        self._structure_version = 0
        self._value_version = 0
        self._arrays_cache = None
        #: Scratch space for data derived from the network by other modules
        #: (the solver keeps its compiled form here). Each entry must record the
        #: :attr:`structure_version` / :attr:`value_version` it was built from.
        self.derived = {}

    # ---------------------------------------------------- storage (dicts or arrays)
    @property
    def _nodes(self) -> dict:
        if self._bulk is not None:
            self._materialize()
        return self._node_dict

    @property
    def _elements(self) -> dict:
        if self._bulk is not None:
            self._materialize()
        return self._element_dict

    def _materialize(self):
        """Turn an array-built network into the ordinary dicts (once; arrays stay cached)."""
        bulk = self._bulk
        self._node_dict = bulk.node_dicts()
        self._spellings = {str(node): node for node in self._node_dict}
        self._element_dict = bulk.elements(Element)
        self._bulk = None

    # ------------------------------------------------------------------ nodes
    @property
    def nodes(self) -> list:
        """Node names, ground first, then in order of creation."""
        return list(self._bulk.nodes if self._bulk is not None else self._node_dict)

    def add_node(self, node, /, **attributes):
        """Add a node (if new) and set scalar attributes on it (e.g. a layout position)."""
        node = canonical_node(node)
        if node not in self._nodes:
            self._ensure_node(node)
            self._changed(structure=True)
        self._nodes[node].update(attributes)
        return node

    def node_attributes(self, node) -> dict:
        return self._nodes[canonical_node(node)]

    def remove_node(self, node):
        """Remove a node that no element touches."""
        node = canonical_node(node)
        if node == GROUND:
            raise NetworkError("the ground node '0' cannot be removed")
        if node not in self._nodes:
            raise NetworkError(f"no node {node!r} in the network")
        users = [e.name for e in self._elements.values() if node in (e.p, e.n)]
        if users:
            raise NetworkError(
                f"node {node!r} is still used by {', '.join(users[:5])}; remove those first"
            )
        del self._nodes[node]
        del self._spellings[str(node)]
        self._changed(structure=True)

    def _ensure_node(self, node):
        if node in self._nodes:
            return
        other = self._spellings.get(str(node))
        if other is not None:
            raise NetworkError(
                f"node {node!r} ({type(node).__name__}) clashes with existing node "
                f"{other!r} ({type(other).__name__}); use one spelling"
            )
        self._nodes[node] = {}
        self._spellings[str(node)] = node

    # --------------------------------------------------------------- elements
    def add_resistor(self, a, b, resistance=None, conductance=None, name=None) -> str:
        """Add a linear resistor between ``a`` and ``b``; return its name.

        Give exactly one of ``resistance`` (ohm) or ``conductance`` (siemens);
        both must be finite and positive. Its current flows from ``a`` to ``b``.
        """
        name = self._new_name("resistor", name)
        return self._add("resistor", name, a, b, _conductance(name, resistance, conductance))

    def add_diode(self, anode, cathode, threshold=0.0, name=None) -> str:
        """Add an ideal diode: ``v(anode) - v(cathode) <= threshold``, current >= 0 anode->cathode."""
        return self._add("diode", self._new_name("diode", name), anode, cathode, threshold)

    def add_voltage_source(self, p, n, voltage, name=None) -> str:
        """Add an ideal voltage source holding ``v(p) - v(n) = voltage``."""
        return self._add("vsource", self._new_name("vsource", name), p, n, voltage)

    def add_current_source(self, p, n, current, name=None) -> str:
        """Add an ideal current source; ``current`` flows from ``p`` through the source to ``n``."""
        return self._add("isource", self._new_name("isource", name), p, n, current)

    def add_element(self, kind, p, n, value, name=None) -> str:
        """Add an element by kind name (``"resistor"`` takes a conductance as value)."""
        if kind not in KINDS:
            raise NetworkError(f"unknown element kind {kind!r}; expected one of {KINDS}")
        return self._add(kind, self._new_name(kind, name), p, n, value)

    def add_resistors(self, a, b, conductance, names=None) -> list[str]:
        """Add many resistors at once (vectorised validation); return their names."""
        a, b = list(a), list(b)
        g = np.asarray(conductance, dtype=float).reshape(-1)
        if not (len(a) == len(b) == g.size):
            raise NetworkError(
                f"add_resistors: {len(a)} a-nodes, {len(b)} b-nodes and {g.size} conductances differ"
            )
        if names is not None:
            names = list(names)
            if len(names) != g.size:
                raise NetworkError(f"add_resistors: {len(names)} names for {g.size} resistors")
        bad = np.flatnonzero(~np.isfinite(g) | (g < MIN_CONDUCTANCE) | (g > MAX_CONDUCTANCE))
        if bad.size:
            i = int(bad[0])
            _positive("resistor", names[i] if names else f"#{i}", "conductance", float(g[i]))
        out = []
        for i in range(g.size):
            name = self._new_name("resistor", names[i] if names else None)
            out.append(self._add("resistor", name, a[i], b[i], float(g[i])))
        return out

    def _new_name(self, kind, name):
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise NetworkError(f"{kind} name must be a non-empty string, got {name!r}")
            name = name.strip()
            if name in self._elements:
                raise DuplicateElementError(
                    f"element name {name!r} is already used by a {self._elements[name].kind}"
                )
            return name
        prefix = NAME_PREFIX[kind]
        while True:
            self._counters[kind] += 1
            candidate = f"{prefix}{self._counters[kind]}"
            if candidate not in self._elements:
                return candidate

    def _add(self, kind, name, p, n, value) -> str:
        value = _check_value(kind, name, value)
        p, n = canonical_node(p), canonical_node(n)
        if p == n:
            raise NetworkError(f"{kind} {name!r} connects node {p!r} to itself")
        self._ensure_node(p)
        self._ensure_node(n)
        self._elements[name] = Element(kind, name, p, n, value)
        self._changed(structure=True)
        return name

    def element(self, name) -> Element:
        try:
            return self._elements[name]
        except KeyError:
            raise UnknownElementError(f"no element named {name!r} in the network") from None

    def elements(self, kind=None) -> list[Element]:
        """All elements in insertion order, optionally of one kind."""
        if kind is None:
            return list(self._elements.values())
        if kind not in KINDS:
            raise NetworkError(f"unknown element kind {kind!r}; expected one of {KINDS}")
        return [e for e in self._elements.values() if e.kind == kind]

    def __contains__(self, name):
        return name in self._elements

    def __len__(self):
        if self._bulk is not None:
            return sum(self._bulk.count(kind) for kind in KINDS)
        return len(self._element_dict)

    def remove_element(self, name):
        """Remove an element (its nodes stay)."""
        self.element(name)
        del self._elements[name]
        self._changed(structure=True)

    def set_value(self, name, value=None, *, resistance=None):
        """Change an element's value (conductance for a resistor, or ``resistance=``)."""
        old = self.element(name)
        if resistance is not None:
            if old.kind != "resistor":
                raise NetworkError(f"{old.kind} {name!r} has no resistance")
            value = _conductance(name, resistance, None)
        value = _check_value(old.kind, name, value)
        self._elements[name] = Element(old.kind, name, old.p, old.n, value)
        cache = self._arrays_cache
        self._changed(structure=False)
        if cache is not None:
            # one value changed: patch a copy of that kind's value array instead of rebuilding all
            kind, index = cache["position"][name]
            p, n, values, names = cache[kind]
            values = values.copy()
            values[index] = value
            self._arrays_cache = {**cache, kind: (p, n, values, names)}

    def rename_element(self, old, new):
        element = self.element(old)
        new = self._new_name(element.kind, new)
        # rebuild to keep insertion order
        self._element_dict = {
            (new if k == old else k): (Element(e.kind, new, e.p, e.n, e.value) if k == old else e)
            for k, e in self._elements.items()
        }
        self._changed(structure=True)

    @classmethod
    def _from_checked(cls, nodes: dict, elements: dict) -> "Network":
        """Build from node and element dicts whose values were already checked (bulk readers).

        ``nodes`` maps canonical node names to attribute dicts (ground
        included); ``elements`` maps names to :class:`Element`. Keeps the
        network's own bookkeeping (node spellings) consistent, so a reader
        never has to touch private attributes.
        """
        net = cls()
        net._node_dict = {GROUND: {}, **nodes}
        net._spellings = {str(node): node for node in net._node_dict}
        if len(net._spellings) != len(net._node_dict):
            seen = {}
            for node in net._node_dict:
                if str(node) in seen:
                    raise NetworkError(f"node {node!r} clashes with node {seen[str(node)]!r}; use one spelling")
                seen[str(node)] = node
        _check_ranges(elements.values())
        net._element_dict = dict(elements)
        net._changed(structure=True)
        return net

    @classmethod
    def from_arrays(cls, nodes, *, resistors=None, diodes=None, vsources=None, isources=None,
                    node_attributes=None) -> "Network":
        """Build a network from index and value arrays, without a Python object per element.

        The way to build large networks (the generators do): a solve reads these
        arrays as they are, and the per-element objects that other methods hand
        out (:meth:`elements`, :meth:`element`, edits, :meth:`to_networkx`) are
        made on first use. Every value is checked as by the ``add_*`` methods.

        Parameters
        ----------
        nodes : sequence of node names
            ``nodes[0]`` names ground (``"0"``, ``0`` or ``"gnd"``); the others
            are distinct non-ground names (strings or ints), in creation order.
        resistors, diodes, vsources, isources : ``(p, n, values)``, optional
            Per element, the indices into ``nodes`` of its ``p`` and ``n``
            terminals, and its value: conductance (S), threshold (V), voltage
            (V) or current (A), with the sign conventions of the module.
            Elements are named ``R1, R2, ...``, ``D1, ...``, ``V1, ...``,
            ``I1, ...`` in array order; :meth:`elements` lists the kinds in
            that order.
        node_attributes : dict, optional
            ``{attribute: float array over nodes}``, NaN where a node lacks the
            attribute (e.g. layout positions ``x`` and ``y``).

        Raises
        ------
        NetworkError
            Naming the node or element at fault (bad node name, index out of
            range, element joining a node to itself, value out of range);
            ``TypeError`` when an argument has the wrong shape.

        Examples
        --------
        The divider of the class example, 10 V across 1 kOhm and 3 kOhm:

        >>> from solver import solve
        >>> net = Network.from_arrays(["0", "in", "mid"], vsources=([1], [0], [10.0]),
        ...                           resistors=([1, 2], [2, 0], [1e-3, 1 / 3e3]))
        >>> net.element("R2").p, round(solve(net).voltages["mid"], 6)
        ('mid', 7.5)
        """
        names = _bulk_nodes(nodes)
        kinds = {}
        for kind, spec in zip(KINDS, (resistors, diodes, vsources, isources)):
            kinds[kind] = _bulk_elements(kind, spec, names)
        columns = {}
        for attribute, values in (node_attributes or {}).items():
            if not isinstance(attribute, str):
                raise TypeError(f"from_arrays: node attribute names must be strings, got {attribute!r}")
            column = np.array(values, dtype=np.float64)
            if column.shape != (len(names),):
                raise TypeError(f"from_arrays: node attribute {attribute!r} needs one value per node "
                                f"({len(names)}), got shape {column.shape}")
            columns[attribute] = column
        net = cls()
        net._bulk = BulkStore(nodes=names, node_columns=columns, kinds=kinds)
        net._node_dict, net._element_dict, net._spellings = None, None, None  # made on demand
        net._counters = {kind: len(kinds[kind][3]) for kind in KINDS}
        net._changed(structure=True)
        return net

    def copy(self) -> "Network":
        other = Network()
        other._counters = dict(self._counters)
        if self._bulk is not None:  # its arrays are never modified: share them
            other._bulk = self._bulk
            other._spellings = None  # made with the dicts
            return other
        other._node_dict = {k: dict(v) for k, v in self._node_dict.items()}
        other._spellings = dict(self._spellings)
        other._element_dict = dict(self._element_dict)
        return other

    @property
    def structure_version(self) -> int:
        """A counter that grows whenever an element or node is added, removed or renamed."""
        return self._structure_version

    @property
    def value_version(self) -> int:
        """A counter that grows on every change, values included."""
        return self._value_version

    def _changed(self, structure):
        if structure:
            self._structure_version += 1
        self._value_version += 1
        self._arrays_cache = None

    # ----------------------------------------------------------- flat arrays
    def arrays(self):
        """Flat arrays of the network: node index, and per kind p, n, value, names.

        Returns a dict ``{"nodes": [...], "position": mapping name -> (kind, index),
        kind: (p_idx, n_idx, value, names)}``; cached until the network
        changes. Treat the arrays as read-only.
        """
        if self._arrays_cache is None and self._bulk is not None:
            out = {"nodes": self._bulk.nodes, **self._bulk.kinds}
            out["position"] = _Positions({kind: out[kind][3] for kind in KINDS})
            self._arrays_cache = out
        if self._arrays_cache is None:
            index = {node: i for i, node in enumerate(self._nodes)}
            out = {"nodes": list(self._nodes)}
            groups = {kind: [] for kind in KINDS}
            for e in self._elements.values():
                groups[e.kind].append(e)
            for kind, els in groups.items():
                names = [e.name for e in els]
                p = np.array([index[e.p] for e in els], dtype=np.int64)
                n = np.array([index[e.n] for e in els], dtype=np.int64)
                v = np.array([e.value for e in els], dtype=np.float64)
                out[kind] = (p, n, v, names)
            # name -> (kind, index) is built on first use: a cold solve of a large network never needs it
            out["position"] = _Positions({kind: out[kind][3] for kind in KINDS})
            self._arrays_cache = out
        return self._arrays_cache

    # --------------------------------------------------------------- equality
    def __eq__(self, other):
        if not isinstance(other, Network):
            return NotImplemented
        # insertion order is not part of a circuit's meaning
        return self._nodes == other._nodes and self._elements == other._elements

    def __repr__(self):
        if self._bulk is not None:
            counts = {kind: self._bulk.count(kind) for kind in KINDS}
        else:
            counts = {k: 0 for k in KINDS}
            for e in self._element_dict.values():
                counts[e.kind] += 1
        parts = ", ".join(f"{v} {k}s" for k, v in counts.items() if v)
        return f"<Network: {len(self.nodes)} nodes, {parts or 'no elements'}>"

    # -------------------------------------------------------------- networkx
    def to_networkx(self):
        """Return a ``networkx.MultiDiGraph`` describing the network losslessly.

        Schema: one node per network node (its attributes copied), graph
        attribute ``ground = "0"``; one edge ``p -> n`` per element, keyed by
        the element name, with attributes ``kind`` (resistor, diode, vsource,
        isource), ``name`` and the value attribute (``conductance`` and, for
        reading convenience, ``resistance``; ``threshold``; ``voltage``;
        ``current``). All attributes are scalars.
        """
        import networkx as nx

        graph = nx.MultiDiGraph(ground=GROUND)
        # add_nodes_from, not add_node(node, **attrs): attributes may be named "self"
        graph.add_nodes_from((node, dict(attrs)) for node, attrs in self._nodes.items())
        for e in self._elements.values():
            attrs = {"kind": e.kind, "name": e.name, VALUE_ATTRIBUTE[e.kind]: e.value}
            if e.kind == "resistor":
                attrs["resistance"] = 1.0 / e.value
            graph.add_edge(e.p, e.n, key=e.name, **attrs)
        return graph

    @classmethod
    def from_networkx(cls, graph) -> "Network":
        """Build a network from a graph in the :meth:`to_networkx` schema.

        Edges need ``kind`` and that kind's value attribute (a resistor may give
        ``resistance`` instead of ``conductance``; ``conductance`` wins when both
        are present). ``name`` defaults to a string edge key, else is generated.

        The graph must be directed (``nx.MultiDiGraph``, or ``nx.DiGraph`` when
        no two elements join the same ordered pair of nodes): an edge's
        direction is the element's ``p -> n`` (a diode's anode to cathode, a
        source's polarity), which an undirected graph does not record, so one
        is refused rather than read with guessed polarities. Every edge becomes
        one element, every graph node one node: two graph nodes that name the
        same network node (``"a"`` and ``" a"``, or ``0`` and ``"gnd"``) are
        refused rather than merged. Errors are :class:`NetworkError` naming the
        edge or node.
        """
        import networkx as nx

        if not isinstance(graph, nx.Graph):
            raise TypeError(f"from_networkx takes a networkx graph, not {type(graph).__name__}")
        if not graph.is_directed():
            raise NetworkError(
                f"from_networkx needs a directed graph (nx.MultiDiGraph or nx.DiGraph), got an "
                f"undirected {type(graph).__name__}: an edge's direction is its element's p -> n "
                "(diode anode -> cathode, source polarity), which an undirected graph loses")
        net = cls()
        graph_node = {}  # network node -> the graph node it came from
        for node, attrs in graph.nodes(data=True):
            try:
                canonical = net.add_node(node, **attrs)
            except NetworkError:
                raise
            except (ValueError, TypeError) as e:  # e.g. an int node with 5000 digits
                raise NetworkError(f"graph node {_short_repr(node)}: {e}") from e
            other = graph_node.setdefault(canonical, node)
            if other is not node and other != node:
                raise NetworkError(f"graph nodes {_short_repr(other)} and {_short_repr(node)} both "
                                   f"name node {canonical!r}; rename one")
        if graph.is_multigraph():
            edges = graph.edges(keys=True, data=True)
        else:
            edges = ((u, v, None, d) for u, v, d in graph.edges(data=True))
        for u, v, key, data in edges:
            where = f"edge {_short_repr(u)} -> {_short_repr(v)}" + (
                f" (key {_short_repr(key)})" if key is not None else "")
            kind = data.get("kind")
            if not isinstance(kind, str) or kind not in KINDS:
                raise NetworkError(f"{where}: attribute 'kind' must be one of {KINDS}, got "
                                   f"{_short_repr(kind)}")
            name = data.get("name", key if isinstance(key, str) else None)
            attr = VALUE_ATTRIBUTE[kind]
            if kind == "resistor" and "conductance" not in data:
                if "resistance" not in data:
                    raise NetworkError(f"{where}: a resistor needs 'conductance' or 'resistance'")
                attr = "resistance"
            elif attr not in data and kind != "diode":
                raise NetworkError(f"{where}: a {kind} needs attribute {attr!r}")
            value = data.get(attr, 0.0)  # a diode without a threshold has threshold 0
            if isinstance(value, Real) and not isinstance(value, (bool, float)):  # int, Fraction...
                try:
                    value = float(value)
                except OverflowError:
                    raise InvalidValueError(f"{where}: {attr} {_short_repr(value)} is out of range "
                                            "(magnitudes must stay below 1.8e308)") from None
            try:
                if attr == "resistance":
                    net.add_resistor(u, v, resistance=value, name=name)
                else:
                    net.add_element(kind, u, v, value, name=name)
            except NetworkError as e:
                raise type(e)(f"{where}: {e}") from e
        return net


def _bulk_nodes(nodes) -> list:
    """Canonical node names for :meth:`Network.from_arrays`: ground first, no clashes."""
    if isinstance(nodes, (str, bytes)) or not isinstance(nodes, (Sequence, np.ndarray)):
        raise TypeError(f"from_arrays: nodes must be a sequence of node names, not {type(nodes).__name__}")
    names = list(nodes)
    if not names or canonical_node(names[0]) != GROUND:
        raise NetworkError(f"from_arrays: nodes[0] must name ground ('0', 0 or 'gnd'), got "
                           f"{_short_repr(names[0]) if names else 'no nodes'}")
    names[0] = GROUND
    for i in range(1, len(names)):
        node = names[i]
        if type(node) is str and node and node == node.strip() and node != GROUND and node.lower() != "gnd":
            continue  # already canonical (the common case, checked without the memo)
        canonical = canonical_node(node)
        if canonical == GROUND:
            raise NetworkError(f"from_arrays: nodes[{i}] = {node!r} names ground, which only nodes[0] may")
        names[i] = canonical
    spellings = {str(node): node for node in names}
    if len(spellings) != len(names):
        seen = {}
        for i, node in enumerate(names):
            if str(node) in seen:
                raise NetworkError(f"from_arrays: nodes[{i}] = {node!r} repeats or clashes with nodes"
                                   f"[{seen[str(node)]}] = {names[seen[str(node)]]!r}; use one spelling")
            seen[str(node)] = i
    return names


def _bulk_elements(kind, spec, nodes):
    """``(p, n, values, names)`` of one kind for :meth:`Network.from_arrays`, every value checked."""
    names = AutoNames(NAME_PREFIX[kind], 1, 0)
    if spec is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), names
    try:
        p, n, values = spec
    except (TypeError, ValueError):
        raise TypeError(f"from_arrays: {kind}s must be a (p, n, values) triple of arrays") from None
    values = np.array(values)
    if values.ndim != 1 or (values.size and (values.dtype == bool or values.dtype.kind not in "iuf")):
        raise TypeError(f"from_arrays: {kind} values must be a 1-D array of numbers, got "
                        f"dtype {values.dtype} and shape {values.shape}")
    values = values.astype(np.float64)
    names = AutoNames(NAME_PREFIX[kind], 1, values.size)
    ends = []
    for terminal, index in (("p", p), ("n", n)):
        index = np.asarray(index)
        if index.shape != values.shape or (index.size and index.dtype.kind not in "iu"):
            raise TypeError(f"from_arrays: {kind} {terminal} must be a 1-D integer array as long as "
                            f"its values ({values.size}), got dtype {index.dtype} and shape {index.shape}")
        bad = first_bad((index < 0) | (index >= len(nodes)))
        if bad >= 0:
            raise NetworkError(f"{kind} {names[bad]!r}: node index {int(index[bad])} ({terminal}) is "
                               f"outside 0..{len(nodes) - 1}")
        ends.append(index.astype(np.int64))
    p, n = ends
    bad = first_bad(p == n)
    if bad >= 0:
        raise NetworkError(f"{kind} {names[bad]!r} connects node {nodes[p[bad]]!r} to itself")
    low, high, _ = _LIMITS[VALUE_ATTRIBUTE[kind]]
    size = np.abs(values)
    ok = (size <= high) & ((size == 0.0) | (size >= low))  # NaN fails the first test
    if kind in ("resistor", "diode"):
        ok &= values > 0.0 if kind == "resistor" else values >= 0.0
    bad = first_bad(~ok)
    if bad >= 0:
        _check_value(kind, names[bad], float(values[bad]))  # raises with the kind's message
        raise InvalidValueError(f"{kind} {names[bad]!r}: value {values[bad]!r} is out of range")
    return p, n, values, names


class _Positions(Mapping):
    """``{name: (kind, index)}`` over the arrays' name lists, built on first lookup."""

    def __init__(self, names_by_kind):
        self._names_by_kind = names_by_kind
        self._index = None

    def _built(self):
        if self._index is None:
            self._index = {}
            for kind, names in self._names_by_kind.items():
                self._index.update(zip(names, zip([kind] * len(names), range(len(names)))))
        return self._index

    def __getitem__(self, name):
        return self._built()[name]

    def __iter__(self):
        return iter(self._built())

    def __len__(self):
        return sum(len(names) for names in self._names_by_kind.values())


def _short_repr(value, limit=60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        return f"<{type(value).__name__} too long to print>"
    return text if len(text) <= limit else text[:limit] + "..."
