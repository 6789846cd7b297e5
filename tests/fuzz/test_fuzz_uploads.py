"""Fuzzing the app's uploads (node-link JSON, GraphML, SPICE) and the issue-13 upload regressions."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from explorer import io as circuit_io
from solver import InvalidValueError, NetworkError, solve
from solver.circuits.netlist import NetlistError

from .inputs import (
    damaged,
    fuzz_settings,
    netlist_texts,
    networks,
    node_link_payloads,
    read_or_refuse,
    recording,
)

pytestmark = pytest.mark.filterwarnings("ignore::solver.circuits.netlist.NetlistWarning")
outcomes, _report = recording(__name__)


def upload(text, filename):
    return circuit_io.read_network(text.encode("utf-8", "surrogatepass"), filename)


@fuzz_settings(scale=4)
@given(node_link_payloads())
def test_node_link_uploads_read_link_for_link_or_are_refused(payload):
    net = read_or_refuse(lambda: upload(json.dumps(payload), "c.json"), outcomes, "node-link")
    if net is not None:
        assert payload.get("directed", True) is True
        links = payload.get("edges", payload.get("links"))
        assert len(net) == len(links)  # every link one element, "multigraph" flag or not


@fuzz_settings(scale=2)
@given(st.sampled_from(["json", "graphml"]).flatmap(
    lambda fmt: damaged(networks().map(lambda n: circuit_io.write_network(n, fmt))).map(lambda t: (fmt, t))))
def test_damaged_json_and_graphml_uploads_read_or_are_refused(case):
    fmt, text = case
    read_or_refuse(lambda: upload(text, f"c.{fmt}"), outcomes, f"damaged {fmt}")


@fuzz_settings(scale=2)
@given(netlist_texts())
def test_netlist_uploads_read_or_are_refused(text):
    read_or_refuse(lambda: upload(text, "c.cir"), outcomes, "spice")


@fuzz_settings(scale=2)
@given(networks(), st.sampled_from(["json", "graphml", "spice"]))
def test_downloads_upload_back_exactly(net, fmt):
    try:
        text = circuit_io.write_network(net, fmt)
    except NetlistError:
        return  # a name SPICE cannot hold, refused by name
    assert circuit_io.read_network(text, f"c.{'cir' if fmt == 'spice' else fmt}") == net
    outcomes(f"round trip {fmt}", "accepted")


# --------------------------------------------------- issue 13 regressions
def node_link(links, **flags):
    nodes = sorted({n for link in links for n in (link["source"], link["target"])})
    return json.dumps({**flags, "nodes": [{"id": n} for n in nodes], "links": links})


SOURCE_INTO_RESISTOR = [  # 1 mA into 1 kohm: v(a) = 1 V
    {"source": "0", "target": "a", "kind": "isource", "current": 1e-3, "key": "I1"},
    {"source": "a", "target": "0", "kind": "resistor", "resistance": 1e3, "key": "R1"},
]


def test_issue13_upload_directed_false_is_refused_not_doubled():
    with pytest.raises(circuit_io.UploadError, match="'directed' is false"):
        upload(node_link(SOURCE_INTO_RESISTOR, directed=False, multigraph=True), "c.json")
    net = upload(node_link(SOURCE_INTO_RESISTOR, directed=True, multigraph=True), "c.json")
    assert solve(net).voltages["a"] == pytest.approx(1.0, rel=1e-12)


def test_issue13_upload_multigraph_false_keeps_parallel_elements():
    """10 V, 1 kohm to mid, 3 kohm || 3 kohm to ground: mid = 10 * 1.5 / 2.5 = 6 V (7.5 V if one is lost)."""
    links = [{"source": "in", "target": "0", "kind": "vsource", "voltage": 10.0},
             {"source": "in", "target": "mid", "kind": "resistor", "resistance": 1e3},
             {"source": "mid", "target": "0", "kind": "resistor", "resistance": 3e3},
             {"source": "mid", "target": "0", "kind": "resistor", "resistance": 3e3}]
    net = upload(node_link(links, directed=True, multigraph=False), "c.json")
    assert len(net) == 4
    assert solve(net).voltages["mid"] == pytest.approx(6.0, rel=1e-12)


def test_issue13_graphml_undirected_is_refused():
    net = upload(node_link(SOURCE_INTO_RESISTOR, directed=True, multigraph=True), "c.json")
    text = circuit_io.write_network(net, "graphml")
    assert upload(text, "c.graphml") == net
    with pytest.raises(circuit_io.UploadError, match='edgedefault="undirected"'):
        upload(text.replace('edgedefault="directed"', 'edgedefault="undirected"'), "c.graphml")


def test_issue13_upload_400_digit_integer_is_named():
    links = [dict(SOURCE_INTO_RESISTOR[0], current=10 ** 400), SOURCE_INTO_RESISTOR[1]]
    with pytest.raises(InvalidValueError, match=r"edge '0' -> 'a' \(key 'I1'\): current 1000.*out of range"):
        upload(node_link(links, directed=True, multigraph=True), "c.json")
    with pytest.raises(NetlistError, match=r":2: source value '1111.*out of range"):
        upload("t\nI1 0 a " + "1" * 400 + "\nR1 a 0 1k\n", "c.cir")
    # a position is only a layout hint: an out-of-range one is dropped, the circuit kept
    payload = json.loads(node_link(SOURCE_INTO_RESISTOR, directed=True, multigraph=True))
    payload["nodes"][0]["x"] = 10 ** 400
    assert "x" not in upload(json.dumps(payload), "c.json").node_attributes("0")


def test_issue13_upload_node_attribute_named_node():
    payload = json.loads(node_link(SOURCE_INTO_RESISTOR, directed=True, multigraph=True))
    payload["nodes"][1].update(node="a label", self=2, node_for_adding=3)  # NetworkX keywords too
    assert upload(json.dumps(payload), "c.json").node_attributes("a") == {
        "node": "a label", "self": 2, "node_for_adding": 3}


def test_issue13_subcircuit_bomb_upload_is_refused_by_the_app_budget():
    from tests.test_netlist import doubling_bomb

    text = doubling_bomb(20)  # 874 bytes, 524,289 elements
    with pytest.raises(NetlistError, match="limit of 100,000 elements"):
        upload(text, "bomb.cir")


@pytest.mark.parametrize("text, what", [
    ("[" * 100_000, "RecursionError"),
    (json.dumps({"nodes": [], "links": [{"source": "a"}] * (circuit_io.MAX_UPLOAD_ELEMENTS + 1)}),
     "has 100,001 entries"),
    (json.dumps({"nodes": "abc", "links": []}), "field 'nodes' must be a list"),
    (json.dumps({"nodes": [1], "links": []}), r"nodes\[0\] must be an object"),
    (json.dumps({"nodes": [{"id": "0"}, {"id": [1]}], "links": []}),
     r"nodes\[1\]: 'id' must be a string or an integer, got \[1\]"),
    (json.dumps({"nodes": [{"id": "0"}, {"id": "0", "x": 1}], "links": []}), r"nodes\[1\]: node '0' is listed twice"),
    (json.dumps({"nodes": [{"id": "0"}], "links": [{"source": "0"}]}), r"links\[0\]: 'target' is missing"),
    (json.dumps({"nodes": [{"id": "0"}], "links": [
        {"source": "a", "target": "0", "key": "R1", "kind": "resistor", "resistance": 1},
        {"source": "a", "target": "0", "key": "R1", "kind": "resistor", "resistance": 2}]}),
     r"links\[1\]: a second link 'a' -> '0' with key 'R1'"),
    (json.dumps({"nodes": [{"id": 0}], "directed": "yes", "links": []}), "'directed' must be true or false"),
], ids=["deep nesting", "too many links", "nodes not a list", "node not an object", "list id",
        "node twice", "no target", "key twice", "directed not a bool"])
def test_issue13_hostile_node_link_uploads_are_named(text, what):
    with pytest.raises(NetworkError, match=what):
        upload(text, "c.json")
