"""Load and save networks and solutions: NetworkX node-link JSON, GraphML, SPICE, CSV.

Uploads are parsed as data only: JSON with :func:`json.loads`, GraphML with
NetworkX's reader after refusing any DTD or entity declaration, SPICE with
``solver.circuits.netlist`` when it is installed. Nothing is ever executed, imported or
unpickled, and every upload is size-limited (:data:`MAX_UPLOAD_BYTES`), and its
circuit too (:data:`MAX_UPLOAD_ELEMENTS`, :data:`MAX_UPLOAD_NODES`; a netlist's
subcircuits are counted before they are expanded).

GraphML node ids are text; those that are decimal integers (``1``, ``42``) are
read as int nodes, as SPICE node names are, so int nodes round-trip.

Nothing is silently reinterpreted. An edge's direction is its element's
``p -> n``, so undirected graphs (node-link ``"directed": false``, GraphML
``edgedefault="undirected"``) are refused. A node-link file lists every edge,
so each link is read as one element whatever its ``"multigraph"`` flag says
(NetworkX would otherwise drop parallel elements of a ``"multigraph": false``
file). Every failure is a :class:`~solver.NetworkError` (:class:`UploadError`,
``NetlistError``...) naming the field, node, edge or line at fault.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re

import networkx as nx

from solver import Network, NetworkError

__all__ = [
    "FORMATS",
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_ELEMENTS",
    "MAX_UPLOAD_NODES",
    "UploadError",
    "netlist_available",
    "read_network",
    "solution_csv",
    "write_network",
]

#: Largest upload accepted (bytes).
MAX_UPLOAD_BYTES = 2_000_000

#: Largest circuit an upload may describe (elements, and nodes with ground).
#: 2 MB of plain netlist lines hold about this many; subcircuits could
#: otherwise make a few hundred bytes expand to millions.
MAX_UPLOAD_ELEMENTS = 100_000
MAX_UPLOAD_NODES = 100_000

#: format -> file extensions
FORMATS = {
    "json": (".json",),
    "graphml": (".graphml", ".xml"),
    "spice": (".cir", ".sp", ".spice", ".net", ".txt", ".ckt"),
}


class UploadError(NetworkError):
    """An upload that is too big, of an unknown format, or not a valid circuit."""


def _netlist_module():
    try:
        from solver.circuits import netlist
    except ImportError:
        return None
    if not (hasattr(netlist, "read_netlist") and hasattr(netlist, "write_netlist")):
        return None
    return netlist


def netlist_available() -> bool:
    """True when ``solver.circuits.netlist`` (SPICE read/write) is installed."""
    return _netlist_module() is not None


def guess_format(filename) -> str:
    name = (filename or "").lower()
    for fmt, extensions in FORMATS.items():
        if name.endswith(extensions):
            return fmt
    raise UploadError(
        f"cannot tell the format of {filename!r}: use .json (NetworkX node-link), "
        f".graphml, or a SPICE netlist (.cir, .sp, .net)"
    )


def _text(data) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"the file is {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UploadError(f"the file is not UTF-8 text ({e})") from e


def _scalar_attributes(graph):
    """Keep only scalar node attributes (what the schema allows), positions as floats."""
    for _, attrs in graph.nodes(data=True):
        for key in list(attrs):
            value = attrs[key]
            if not isinstance(value, (str, int, float, bool)) or value is None:
                del attrs[key]
        for key in ("x", "y"):
            if key in attrs:
                try:
                    attrs[key] = float(attrs[key])
                except (TypeError, ValueError, OverflowError):  # a position is only a hint
                    del attrs[key]
                else:
                    if not math.isfinite(attrs[key]):
                        del attrs[key]
    return graph


def _node_link_graph(payload):
    """The MultiDiGraph of a node-link object: directed, one element per link, size checked."""
    if not isinstance(payload, dict) or "nodes" not in payload:
        raise UploadError("JSON upload must be a NetworkX node-link object with 'nodes'")
    directed = payload.get("directed", True)
    if directed is not True:
        if directed is False:
            raise UploadError("field 'directed' is false: an edge's direction is its element's "
                              "p -> n (diode anode -> cathode, source polarity), which an undirected "
                              "graph loses; write the graph as directed")
        raise UploadError(f"field 'directed' must be true or false, got {_short(directed)}")
    edges = "edges" if "edges" in payload else "links"
    for field in ("nodes", edges):
        items = payload.get(field, [])
        if not isinstance(items, list):
            raise UploadError(f"field {field!r} must be a list, got {type(items).__name__}")
        limit = MAX_UPLOAD_NODES if field == "nodes" else MAX_UPLOAD_ELEMENTS
        if len(items) > limit:
            raise UploadError(f"field {field!r} has {len(items):,} entries; the limit is {limit:,}")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise UploadError(f"{field}[{i}] must be an object, got {_short(item)}")
    # Built here rather than by nx.node_link_graph, which merges repeated ids and keys
    # silently and passes attributes as keywords (an attribute named "self" breaks it).
    # Every link is an element: a multigraph whatever the file's "multigraph" flag says.
    graph = nx.MultiDiGraph()
    for i, item in enumerate(payload["nodes"]):
        node = _node_id(item.get("id"), f"nodes[{i}]: 'id'")
        if node in graph:
            raise UploadError(f"nodes[{i}]: node {_short(node)} is listed twice")
        graph.add_nodes_from([(node, {k: v for k, v in item.items() if k != "id"})])
    for i, link in enumerate(payload.get(edges, [])):
        u = _node_id(link.get("source"), f"{edges}[{i}]: 'source'")
        v = _node_id(link.get("target"), f"{edges}[{i}]: 'target'")
        attrs = {k: value for k, value in link.items() if k not in ("source", "target", "key")}
        key = link.get("key")
        if key is None:
            graph.add_edges_from([(u, v, attrs)])
            continue
        if not isinstance(key, (str, int)) or isinstance(key, bool):
            raise UploadError(f"{edges}[{i}]: 'key' must be a string or an integer, got {_short(key)}")
        if graph.has_edge(u, v, key):
            raise UploadError(f"{edges}[{i}]: a second link {_short(u)} -> {_short(v)} with key "
                              f"{_short(key)}; keys must differ between the same two nodes")
        graph.add_edges_from([(u, v, key, attrs)])
    return graph


def _node_id(value, where):
    if value is None:
        raise UploadError(f"{where} is missing")
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise UploadError(f"{where} must be a string or an integer, got {_short(value)}")
    return value


def _graphml_graph(text):
    if re.search(r"<!\s*(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise UploadError("GraphML with DTD or entity declarations is refused")
    graph = nx.parse_graphml(text, force_multigraph=True)
    if not graph.is_directed():
        raise UploadError('GraphML edgedefault="undirected": an edge\'s direction is its '
                          "element's p -> n (diode anode -> cathode, source polarity), which an "
                          'undirected graph loses; write edgedefault="directed"')
    if graph.number_of_edges() > MAX_UPLOAD_ELEMENTS or graph.number_of_nodes() > MAX_UPLOAD_NODES:
        raise UploadError(f"the graph has {graph.number_of_nodes():,} nodes and "
                          f"{graph.number_of_edges():,} edges; the limits are {MAX_UPLOAD_NODES:,} "
                          f"and {MAX_UPLOAD_ELEMENTS:,}")
    # GraphML ids are text: as in SPICE, decimal integers are int nodes, so int nodes round-trip
    ints = {n: int(n) for n in graph if n.isascii() and n.isdigit() and len(n) <= 4000
            and str(int(n)) == n}
    return nx.relabel_nodes(graph, ints, copy=True) if ints else graph


def _short(value, limit=60):
    text = repr(value) if not isinstance(value, int) or abs(value) < 10 ** 50 else "a huge integer"
    return text if len(text) <= limit else text[:limit] + "..."


def read_network(data, filename="circuit.json", fmt=None) -> Network:
    """Parse an uploaded file (bytes or str) into a Network.

    Raises only :class:`~solver.NetworkError` subclasses: :class:`UploadError`
    for the file (size, format, syntax, undirected graph, limits), the
    netlist reader's ``NetlistError`` with the line, and the network's own
    errors naming the edge or node.
    """
    text = _text(data)
    fmt = fmt or guess_format(filename)
    try:
        if fmt == "json":
            graph = _node_link_graph(json.loads(text))
        elif fmt == "graphml":
            graph = _graphml_graph(text)
        elif fmt == "spice":
            module = _netlist_module()
            if module is None:
                raise UploadError("SPICE netlists need solver.circuits.netlist, which is not installed yet")
            # a file object, never the bare string: read_netlist takes a one-line string for a path
            return module.read_netlist(io.StringIO(text), max_elements=MAX_UPLOAD_ELEMENTS,
                                       max_nodes=MAX_UPLOAD_NODES)
        else:
            raise UploadError(f"unknown format {fmt!r}")
        _scalar_attributes(graph)
        if graph.number_of_nodes() and "0" not in graph and 0 not in graph and not any(
                isinstance(n, str) and n.strip().lower() == "gnd" for n in graph):
            raise UploadError("the circuit has no ground node '0'")
        return Network.from_networkx(graph)
    except NetworkError:
        raise
    except (ValueError, KeyError, TypeError, nx.NetworkXError) as e:
        raise UploadError(f"could not read {filename!r} as {fmt}: {e}") from e
    except Exception as e:  # XML parse errors, RecursionError and the like: report, never crash the app
        raise UploadError(f"could not read {filename!r} as {fmt}: {type(e).__name__}: {e}") from e


def write_network(net, fmt="json") -> str:
    """Serialise ``net`` as node-link JSON, GraphML or a SPICE netlist (text)."""
    graph = net.to_networkx()
    if fmt == "json":
        payload = nx.node_link_data(graph, edges="links")
        return json.dumps(payload, indent=1, default=float)
    if fmt == "graphml":
        return "\n".join(nx.generate_graphml(graph))
    if fmt == "spice":
        module = _netlist_module()
        if module is None:
            raise UploadError("SPICE netlists need solver.circuits.netlist, which is not installed yet")
        return module.write_netlist(net)
    raise UploadError(f"unknown format {fmt!r}")


#: Columns of the solution CSV: every number carries its unit in its column name.
CSV_COLUMNS = ["type", "name", "kind", "p", "n", "resistance_ohm", "conductance_S", "threshold_V",
               "source_voltage_V", "source_current_A", "voltage_V", "current_A", "power_W", "state"]
_SETTING_COLUMN = {"diode": "threshold_V", "vsource": "source_voltage_V", "isource": "source_current_A"}


def solution_csv(net, solution) -> str:
    """The solution as CSV: one row per node (potential in ``voltage_V``), one per element.

    Element rows give the element's setting in the column of its unit
    (``resistance_ohm`` and ``conductance_S`` for resistors, ``threshold_V``,
    ``source_voltage_V`` or ``source_current_A``), the voltage across it
    (``voltage_V``, p minus n), its current p -> n and absorbed power.
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, restval="")
    writer.writeheader()
    for node, v in solution.voltages.items():
        writer.writerow({"type": "node", "name": node, "voltage_V": repr(v)})
    active = set(solution.active_diodes)
    for e in net.elements():
        if e.name not in solution.currents:
            continue
        row = {"type": "element", "name": e.name, "kind": e.kind, "p": e.p, "n": e.n,
               "voltage_V": repr(solution.voltages[e.p] - solution.voltages[e.n]),
               "current_A": repr(solution.currents[e.name]), "power_W": repr(solution.element_power(e.name))}
        if e.kind == "resistor":
            row.update(resistance_ohm=repr(1.0 / e.value), conductance_S=repr(e.value))
        else:
            row[_SETTING_COLUMN[e.kind]] = repr(e.value)
        if e.kind == "diode":
            row["state"] = "conducting" if e.name in active else "blocking"
        writer.writerow(row)
    return out.getvalue()
