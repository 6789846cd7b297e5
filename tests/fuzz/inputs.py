"""Hypothesis strategies for the input paths: networks, netlist text, node-link JSON, GraphML, graphs.

Each strategy draws mostly well-formed inputs with hostile parts mixed in
(extreme and malformed values, wrong types, undirected graphs, parallel
elements, deep or doubling subcircuits, character-level damage), so that one
property covers both "valid input is read exactly" and "anything else is
refused with a NetworkError".

``FUZZ_EXAMPLES`` sets the examples per property (default: a CI-sized 50,
scaled per property);
``FUZZ_COUNTS=path`` makes each module append its outcome counts (accepted /
refused per property) to ``path`` as JSON lines, for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import collections
import json
import os

import networkx as nx
import pytest
from hypothesis import settings
from hypothesis import strategies as st

from solver import Network, NetworkError

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))


def fuzz_settings(scale=1.0):
    return settings(max_examples=max(10, int(EXAMPLES * scale)), deadline=None)


class Outcomes:
    """Counts of accepted and refused inputs per property, written out when asked."""

    def __init__(self):
        self.counts = collections.defaultdict(collections.Counter)

    def __call__(self, prop, outcome):
        self.counts[prop][outcome] += 1

    def dump(self, module):
        path = os.environ.get("FUZZ_COUNTS")
        if path:
            with open(path, "a") as f:
                for prop, counter in sorted(self.counts.items()):
                    f.write(json.dumps({"module": module, "property": prop, **counter}) + "\n")


def recording(module):
    """``(outcomes, fixture)`` for a test module: assign both, the fixture dumps the counts at its end."""
    outcomes = Outcomes()

    @pytest.fixture(scope="module", autouse=True)
    def report():
        yield
        outcomes.dump(module)

    return outcomes, report


def read_or_refuse(read, outcomes, prop):
    """Run ``read``: a result counts as accepted, a NetworkError as refused; anything else fails."""
    try:
        result = read()
    except NetworkError as e:
        assert str(e), "a refusal must say why"
        outcomes(prop, "refused")
        return None
    outcomes(prop, "accepted")
    return result


# ---------------------------------------------------------------- networks
# built from parts, not from_regex or filters: generation must stay cheap for CI
SPICE_NAMES = st.builds(str.__add__, st.sampled_from("abcmxyz"), st.text("abmxy019_", max_size=4))
NODES = st.one_of(SPICE_NAMES, st.integers(1, 50), st.just("0"))  # no "g": never "gnd"

#: magnitudes across the whole double range, subnormals included
MAGNITUDES = st.one_of(st.floats(1e-6, 1e6), st.floats(5e-324, 1.7976931348623157e308))
VALUES = {
    "resistor": MAGNITUDES,
    "diode": st.one_of(st.just(0.0), st.floats(0.0, 1e6), st.floats(0.0, 1.7976931348623157e308)),
    "vsource": st.one_of(st.floats(-1e3, 1e3), MAGNITUDES, MAGNITUDES.map(lambda x: -x)),
    "isource": st.one_of(st.floats(-1e3, 1e3), MAGNITUDES, MAGNITUDES.map(lambda x: -x)),
}


@st.composite
def networks(draw, max_elements=8):
    """A network built through the API with SPICE-writable names; values the API refuses are skipped."""
    net = Network()
    used = set()
    for _ in range(draw(st.integers(1, max_elements))):
        kind = draw(st.sampled_from(sorted(VALUES)))
        a, b = draw(NODES), draw(NODES)
        name = draw(st.one_of(st.none(), SPICE_NAMES.map(lambda s, k=kind: k[0].upper() + s)))
        if name is not None and name.lower() in used:
            continue
        try:
            if kind == "resistor":
                name = net.add_resistor(a, b, conductance=draw(VALUES[kind]), name=name)
            else:
                name = net.add_element(kind, a, b, draw(VALUES[kind]), name=name)
        except NetworkError:
            continue  # a == b, an int/str node clash, a value out of the accepted range...
        used.add(name.lower())
    return net


# ----------------------------------------------------------------- netlists
VALUE_TOKENS = st.one_of(
    st.builds(lambda *parts: "".join(parts), st.sampled_from(["", "-", "+"]),
              st.sampled_from(["0", "1", "4.7", "10", "2.", ".5", "999", "1.00000000000000000001"]),
              st.sampled_from(["", "", "e3", "E-3", "e-300", "e308", "e+5"]),
              st.sampled_from(["", "", "k", "meg", "mil", "m", "u", "n", "p", "f", "g", "t", "MEG"]),
              st.sampled_from(["", "", "ohm", "V", "a"])),
    st.sampled_from(["0", "0.00000000000000000", "1e400", "-1e400", "1e-400", "9" * 400, "1e308meg",
                     "nan", "inf", "1_000", "DC", "AC", "1..2", "-", "+", ".", "e5", "1.00000000000000000001",
                     "1.00000000000000000001e-320", "3.3333333333333333333333333"]),
)
TOKENS = st.one_of(NODES.map(str), VALUE_TOKENS, st.sampled_from(
    ["DIDEAL", "dx", "s1", "s2", "params:", "r=1", "(", ")", "$", ";", "*", "+", "gnd", "GND"]))


TOKEN_LISTS = st.lists(TOKENS, min_size=0, max_size=6)
LINE_KINDS = st.sampled_from(["R", "D", "V", "I", "X", "R", "R", "V", "C", "Q", "&", ".", "+", "*"])
DOT_LINES = st.sampled_from([".model dx D(IS=1e-14)", ".model q1 NPN", ".subckt s1 a b", ".subckt s2 p",
                             ".ends", ".ends s1", ".end", ".op", ".title t", ".options reltol=1e-3",
                             ".tran 1n 1u", ".param r=1", ".include x", ".subckt s1 a a", ".subckt"])


PLAIN_VALUES = st.sampled_from(["1", "4.7k", "10kOhm", "1meg", "2.5", "0.7", "1e-3", "330", "1e6", "-5",
                                "3.3V", "2mA", ".5"])
WELL_FORMED_KINDS = st.sampled_from(["R", "R", "R", "V", "I", "D", "X", "*", "+", ";"])
STRAY_LINE = st.integers(0, 9)


@st.composite
def well_formed_line(draw):
    """A line the reader accepts in context (a value may still be refused, e.g. R = -5)."""
    kind = draw(WELL_FORMED_KINDS)
    a, b = str(draw(NODES)), str(draw(NODES))
    name = kind + draw(SPICE_NAMES)
    if kind == "R":
        return f"{name} {a} {b} {draw(PLAIN_VALUES)}"
    if kind in "VI":
        return f"{name} {a} {b} {draw(st.sampled_from(['', 'DC ']))}{draw(PLAIN_VALUES)}"
    if kind == "D":
        return f"{name} {a} {b} dx"
    if kind == "X":
        return f"{name} {a} {b} s1"
    if kind == "+":  # the tail of the previous line moved to a continuation
        return "+"
    return f"{kind} a comment {a} {b}"


@st.composite
def netlist_lines(draw):
    """Mostly well-formed lines; one in ten from a loose grammar of hostile ones."""
    if draw(STRAY_LINE):
        return draw(well_formed_line())
    kind = draw(LINE_KINDS)
    if kind == ".":
        return draw(DOT_LINES)
    name = kind + draw(SPICE_NAMES)
    if kind in "+*":
        name = kind
    return " ".join([name] + draw(TOKEN_LISTS))


LINE_LISTS = st.lists(netlist_lines(), min_size=0, max_size=14)
ENDINGS = st.sampled_from(["\n", "\n.end\n", "\n.end"])
PRELUDES = st.sampled_from(["", ".model dx D(IS=1e-14)\n", ".subckt s1 p q\nR1 p m 1k\nD1 m q dx\n.ends\n"
                                                          ".model dx D\n"])


@st.composite
def netlist_texts(draw):
    """Netlist text: a definitions prelude, mostly well-formed lines, hostile ones mixed in."""
    return "fuzz\n" + draw(PRELUDES) + "\n".join(draw(LINE_LISTS)) + draw(ENDINGS)


ACTIONS = st.sampled_from(["delete", "insert", "duplicate", "replace"])
INSERTS = st.text(min_size=1, max_size=6)
REPLACEMENTS = st.sampled_from(["9" * 400, "\n+ ", "\n.ends\n", "<", "&", '"', "-", "1e400", "\x00",
                                "directed"])


def damaged(text_strategy):
    """Character-level damage to a valid text: deletions, insertions, duplicated slices."""

    @st.composite
    def build(draw):
        text = draw(text_strategy)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(text)))
            j = draw(st.integers(i, min(len(text), i + 12)))
            action = draw(ACTIONS)
            if action == "delete":
                text = text[:i] + text[j:]
            elif action == "insert":
                text = text[:i] + draw(INSERTS) + text[i:]
            elif action == "duplicate":
                text = text[:j] + text[i:j] + text[j:]
            else:
                text = text[:i] + draw(REPLACEMENTS) + text[j:]
        return text

    return build()


@st.composite
def hierarchical_netlists(draw):
    """A valid netlist of nested subcircuits (no dots in names) and its size by plain recursion.

    Returns ``(text, elements, nodes)``: the flattened element count and the
    node count (ground included) computed by expanding the definitions
    recursively, the plainly correct way (small enough here).
    """
    n_subs = draw(st.integers(1, 5))
    bodies = {}
    lines = ["hier", "V1 top 0 1", "R1 top 0 1k"]
    for k in range(n_subs, 0, -1):  # s_k may instantiate only s_j with j > k: no cycles
        body = []
        for i in range(draw(st.integers(0, 3))):
            a, b = draw(st.sampled_from(["p", "q", "m", "w", "0"])), draw(st.sampled_from(["p", "q", "m", "0"]))
            if a != b:
                body.append(("R", f"R{i}", a, b))
        for i in range(draw(st.integers(0, 3)) if k < n_subs else 0):
            child = draw(st.integers(k + 1, n_subs))
            body.append(("X", f"X{i}", draw(st.sampled_from(["p", "m", "w"])), "q", f"s{child}"))
        bodies[k] = body
        lines.append(f".subckt s{k} p q")
        lines += [" ".join(e[1:]) + (" 1k" if e[0] == "R" else "") for e in body]
        lines.append(".ends")
    tops = draw(st.lists(st.integers(1, n_subs), min_size=1, max_size=3))
    lines += [f"X{i} top n{i} s{k}" for i, k in enumerate(tops)]
    lines += [f"R{i + 2} n{i} 0 1k" for i in range(len(tops))]

    def expand(k, prefix, ports):  # -> (elements, set of node names), recursively
        elements, nodes = 0, set()
        local = lambda t: ports.get(t) or ("0" if t == "0" else f"{prefix}.{t}")  # noqa: E731
        for e in bodies[k]:
            if e[0] == "R":
                elements += 1
                nodes |= {local(e[2]), local(e[3])}
            else:
                inner_elements, inner_nodes = expand(int(e[4][1:]), f"{prefix}.{e[1]}",
                                                     {"p": local(e[2]), "q": local(e[3])})
                elements += inner_elements
                nodes |= inner_nodes
        return elements, nodes

    elements, nodes = 2 + len(tops), {"0", "top"} | {f"n{i}" for i in range(len(tops))}
    for i, k in enumerate(tops):
        e, n = expand(k, f"X{i}", {"p": "top", "q": f"n{i}"})
        elements, nodes = elements + e, nodes | n
    return "\n".join(lines) + "\n", elements, len(nodes)


# ------------------------------------------------------------ graphs, uploads
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10), st.integers(-(10 ** 400), 10 ** 400),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5),
    st.sampled_from(["0", "gnd", "GND", " a", "a", "1", "resistor", "diode"]))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)), max_leaves=6)
GRAPH_NODES = st.one_of(st.sampled_from(["0", "a", "b", "c", "gnd", " a", "1"]), st.integers(0, 3))
KINDS = st.one_of(st.sampled_from(["resistor", "diode", "vsource", "isource"]), JSON_SCALARS)
VALUE_KEYS = ["conductance", "resistance", "threshold", "voltage", "current"]


VALUE_KEY_LISTS = st.lists(st.sampled_from(VALUE_KEYS), max_size=2, unique=True)
EDGE_VALUES = st.one_of(st.floats(-1e3, 1e3), MAGNITUDES, JSON_SCALARS)
EDGE_NAMES = st.one_of(SPICE_NAMES.map(str.upper), JSON_SCALARS)
NODE_ATTRIBUTES = st.dictionaries(st.sampled_from(["x", "y", "node", "self", "label"]), JSON_SCALARS,
                                  max_size=2)
FLAGS = st.sampled_from([True, True, False, "absent", "junk"])
LINK_KEYS = st.one_of(SPICE_NAMES, st.integers(0, 3))
GRAPH_CLASSES = st.sampled_from([nx.MultiDiGraph, nx.MultiDiGraph, nx.DiGraph, nx.Graph, nx.MultiGraph])
NODE_LISTS = st.lists(GRAPH_NODES, max_size=5, unique=True)


SCHEMA_KINDS = st.sampled_from(sorted(VALUES))
PLAIN_NUMBERS = st.floats(0.001, 1e3)


@st.composite
def edge_attributes(draw):
    """Half the time an edge in the schema (kind and its value), else kind and values drawn loosely."""
    if draw(st.booleans()):
        kind = draw(SCHEMA_KINDS)
        key = {"resistor": draw(st.sampled_from(["conductance", "resistance"])), "diode": "threshold",
               "vsource": "voltage", "isource": "current"}[kind]
        attrs = {"kind": kind, key: draw(PLAIN_NUMBERS)}
    else:
        attrs = {"kind": draw(KINDS)}
        for key in draw(VALUE_KEY_LISTS):
            attrs[key] = draw(EDGE_VALUES)
    if draw(st.booleans()):
        attrs["name"] = draw(EDGE_NAMES)
    return attrs


@st.composite
def node_link_payloads(draw):
    """Node-link objects: the flags, nodes and links drawn field by field, hostile values included."""
    nodes = draw(NODE_LISTS) + ["0"] * draw(st.booleans())  # ground listed half the time
    payload = {"nodes": [{**draw(NODE_ATTRIBUTES), "id": n} for n in dict.fromkeys(nodes)]}
    for flag in ("directed", "multigraph"):
        choice = draw(FLAGS)
        if choice == "junk":
            payload[flag] = draw(JSON_SCALARS)
        elif choice != "absent":
            payload[flag] = choice
    links = []
    for _ in range(draw(st.integers(0, 6))):
        link = {"source": draw(GRAPH_NODES), "target": draw(GRAPH_NODES), **draw(edge_attributes())}
        if draw(st.booleans()):
            link["key"] = draw(LINK_KEYS)
        links.append(link)
    payload[draw(st.sampled_from(["links", "edges"]))] = links
    if draw(st.integers(0, 9)) == 0:  # a field of the wrong type somewhere
        payload[draw(st.sampled_from(["nodes", "links", "directed", "graph"]))] = draw(JSON_VALUES)
    return payload


@st.composite
def graphs(draw):
    """networkx graphs of every class, nodes and edge attributes drawn as for node-link uploads."""
    graph = draw(GRAPH_CLASSES)()
    for node in draw(NODE_LISTS):
        graph.add_nodes_from([(node, draw(NODE_ATTRIBUTES))])
    for _ in range(draw(st.integers(0, 5))):
        graph.add_edge(draw(GRAPH_NODES), draw(GRAPH_NODES), **draw(edge_attributes()))
    return graph
