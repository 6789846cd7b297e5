"""Round trip through NetworkX, and reading hand-written graphs."""

from fractions import Fraction

import networkx as nx
import pytest

from solver import InvalidValueError, Network, NetworkError, solve
from solver.circuits.generators import grid_network, random_network

from .circuits import ANALYTIC


@pytest.mark.parametrize("make", [lambda: ANALYTIC["bridge_threshold"]()[0],
                                  lambda: random_network(60, seed=3),
                                  lambda: grid_network(4, 5, seed=2)])
def test_round_trip_is_lossless(make):
    net = make()
    graph = net.to_networkx()
    assert isinstance(graph, nx.MultiDiGraph)
    back = Network.from_networkx(graph)
    assert back == net
    a, b = solve(back).voltages, solve(net).voltages
    assert a.keys() == b.keys()
    assert all(abs(a[k] - b[k]) <= 1e-12 * (1 + abs(b[k])) for k in a)  # element order may differ


def test_schema_attributes_are_scalars():
    net, _, _ = ANALYTIC["clipper_on"]()
    graph = net.to_networkx()
    edges = {d["name"]: d for _, _, d in graph.edges(data=True)}
    assert edges["R1"]["kind"] == "resistor"
    assert edges["R1"]["resistance"] == pytest.approx(1e3)
    assert edges["R1"]["conductance"] == pytest.approx(1e-3)
    assert edges["D1"]["threshold"] == 0.7
    assert edges["V1"]["voltage"] == 5.0
    assert graph.graph["ground"] == "0"
    for _, _, data in graph.edges(data=True):
        assert all(isinstance(v, (str, int, float)) for v in data.values())


def test_round_trip_through_node_link_json():
    net, _, _ = ANALYTIC["diode_chain"]()
    data = nx.node_link_data(net.to_networkx(), edges="edges")
    back = Network.from_networkx(nx.node_link_graph(data, edges="edges", multigraph=True, directed=True))
    assert back == net


def test_plain_digraph_with_resistance_only():
    graph = nx.DiGraph()
    graph.add_edge("in", "0", kind="vsource", voltage=2.0, name="V1")
    graph.add_edge("in", "out", kind="resistor", resistance=1.0)
    graph.add_edge("out", "0", kind="resistor", resistance=1.0)
    net = Network.from_networkx(graph)
    assert solve(net).voltages["out"] == pytest.approx(1.0)


def test_bad_graph_edges_are_named():
    graph = nx.MultiDiGraph()
    graph.add_edge("a", "0", key="Rx", kind="capacitor")
    with pytest.raises(NetworkError, match="'a' -> '0'.*kind"):
        Network.from_networkx(graph)
    graph = nx.MultiDiGraph()
    graph.add_edge("a", "0", key="V1", kind="vsource")
    with pytest.raises(NetworkError, match="voltage"):
        Network.from_networkx(graph)


# ------------------------------------------ issue 13: no silent reinterpretation
def test_issue13_undirected_graph_is_refused_not_read_with_guessed_polarity():
    # nx.MultiGraph reports an edge added as a -> 0 as 0 -> a once node 0 comes first:
    # a diode read from it would conduct the other way
    graph = nx.MultiGraph()
    graph.add_node("0")
    graph.add_edge("a", "0", key="D1", kind="diode")
    assert list(graph.edges(keys=True))[0][:2] == ("0", "a")
    with pytest.raises(NetworkError, match="needs a directed graph.*undirected MultiGraph"):
        Network.from_networkx(graph)
    with pytest.raises(NetworkError, match="undirected Graph"):
        Network.from_networkx(nx.Graph([("a", "0")]))
    with pytest.raises(TypeError, match="networkx graph"):
        Network.from_networkx({"a": "0"})


def test_issue13_node_attribute_named_node_is_kept():
    graph = nx.MultiDiGraph()
    graph.add_nodes_from([("a", {"node": 7, "self": "x", "x": 1.5})])  # add_node(self=) fails
    graph.add_edge("a", "0", key="R1", kind="resistor", resistance=2.0)
    net = Network.from_networkx(graph)
    assert net.node_attributes("a") == {"node": 7, "self": "x", "x": 1.5}
    assert Network.from_networkx(net.to_networkx()) == net
    net.add_node("b", node="also fine")
    assert net.node_attributes("b") == {"node": "also fine"}


def test_issue13_huge_integer_value_is_named_not_overflow_error():
    graph = nx.MultiDiGraph()
    graph.add_edge("a", "0", key="V1", kind="vsource", voltage=10 ** 400)
    with pytest.raises(InvalidValueError, match=r"edge 'a' -> '0' \(key 'V1'\): voltage 1000.*out of "
                                                r"range"):
        Network.from_networkx(graph)
    graph["a"]["0"]["V1"]["voltage"] = Fraction(-(10 ** 400), 3)
    with pytest.raises(InvalidValueError, match=r"voltage Fraction\(-1000.*out of range"):
        Network.from_networkx(graph)
    graph["a"]["0"]["V1"]["voltage"] = Fraction(5, 2)
    assert Network.from_networkx(graph).element("V1").value == 2.5


def test_issue13_two_graph_nodes_naming_one_network_node_are_refused():
    for first, second in (("a", " a"), (0, "gnd"), ("0", 0)):
        graph = nx.MultiDiGraph()
        graph.add_edge(first, "x", kind="resistor", resistance=1.0)
        graph.add_edge(second, "x", kind="resistor", resistance=1.0)
        with pytest.raises(NetworkError, match="both name node"):
            Network.from_networkx(graph)


def test_issue13_element_errors_name_the_edge():
    graph = nx.MultiDiGraph()
    graph.add_edge("a", "0", kind="resistor", resistance=-1.0)  # unnamed: the edge locates it
    with pytest.raises(InvalidValueError, match=r"^edge 'a' -> '0' \(key 0\): resistor 'R1'"):
        Network.from_networkx(graph)
    graph = nx.MultiDiGraph()
    graph.add_edge("a", "0", key="X", kind="resistor", conductance=1.0)
    graph.add_edge("a", "b", key="X", kind="resistor", conductance=1.0)
    with pytest.raises(NetworkError, match=r"edge 'a' -> 'b' \(key 'X'\): element name 'X' is "
                                           r"already used"):
        Network.from_networkx(graph)
    graph = nx.MultiDiGraph()
    graph.add_edge("a", "0", kind=["resistor"])
    with pytest.raises(NetworkError, match="attribute 'kind' must be one of"):
        Network.from_networkx(graph)


def test_parallel_elements_in_a_multidigraph_all_survive():
    """Two 1 kohm resistors in parallel fed 1 mA: 0.5 V (one lost would show 1 V)."""
    graph = nx.MultiDiGraph()
    graph.add_edge("0", "a", key="I1", kind="isource", current=1e-3)
    graph.add_edge("a", "0", key="R1", kind="resistor", resistance=1e3)
    graph.add_edge("a", "0", key="R2", kind="resistor", resistance=1e3)
    assert solve(Network.from_networkx(graph)).voltages["a"] == pytest.approx(0.5, rel=1e-12)
