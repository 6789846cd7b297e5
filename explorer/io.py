"""Load and save networks and solutions: NetworkX node-link JSON, GraphML, SPICE, CSV.

Uploads are parsed as data only: JSON with :func:`json.loads`, GraphML with
NetworkX's reader after refusing any DTD or entity declaration, SPICE with
``solver.circuits.netlist`` when it is installed. Nothing is ever executed, imported or
unpickled, and every upload is size-limited (:data:`MAX_UPLOAD_BYTES`).
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
    "UploadError",
    "netlist_available",
    "read_network",
    "solution_csv",
    "write_network",
]

#: Largest upload accepted (bytes).
MAX_UPLOAD_BYTES = 2_000_000

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
                except (TypeError, ValueError):
                    del attrs[key]
                else:
                    if not math.isfinite(attrs[key]):
                        del attrs[key]
    return graph


def read_network(data, filename="circuit.json", fmt=None) -> Network:
    """Parse an uploaded file (bytes or str) into a Network; raise :class:`UploadError`."""
    text = _text(data)
    fmt = fmt or guess_format(filename)
    try:
        if fmt == "json":
            payload = json.loads(text)
            if not isinstance(payload, dict) or "nodes" not in payload:
                raise UploadError("JSON upload must be a NetworkX node-link object with 'nodes'")
            edges = "edges" if "edges" in payload else "links"
            graph = nx.node_link_graph(payload, directed=True, multigraph=True, edges=edges)
        elif fmt == "graphml":
            if re.search(r"<!\s*(DOCTYPE|ENTITY)", text, re.IGNORECASE):
                raise UploadError("GraphML with DTD or entity declarations is refused")
            graph = nx.parse_graphml(text, force_multigraph=True)
        elif fmt == "spice":
            module = _netlist_module()
            if module is None:
                raise UploadError("SPICE netlists need solver.circuits.netlist, which is not installed yet")
            # a file object, never the bare string: read_netlist takes a one-line string for a path
            return module.read_netlist(io.StringIO(text))
        else:
            raise UploadError(f"unknown format {fmt!r}")
    except NetworkError:
        raise
    except (ValueError, KeyError, TypeError, nx.NetworkXError) as e:
        raise UploadError(f"could not read {filename!r} as {fmt}: {e}") from e
    except Exception as e:  # XML parse errors and the like: report, never crash the app
        raise UploadError(f"could not read {filename!r} as {fmt}: {type(e).__name__}: {e}") from e
    _scalar_attributes(graph)
    if not graph.is_directed():
        graph = nx.MultiDiGraph(graph)
    if graph.number_of_nodes() and "0" not in graph and 0 not in graph and not any(
            str(n).lower() == "gnd" for n in graph):
        raise UploadError("the circuit has no ground node '0'")
    return Network.from_networkx(graph)


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
