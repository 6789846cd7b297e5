"""Round trip through NetworkX, and reading hand-written graphs."""

import networkx as nx
import pytest

from solver import Network, NetworkError, solve
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
