"""Fuzzing Network.from_networkx: a Network that mirrors the graph edge for edge, or a NetworkError."""

from hypothesis import given

from solver import Network
from solver.core.network import canonical_node

from .inputs import fuzz_settings, graphs, networks, read_or_refuse, recording

outcomes, _report = recording(__name__)


@fuzz_settings(scale=4)
@given(graphs())
def test_graphs_are_read_edge_for_edge_or_refused(graph):
    net = read_or_refuse(lambda: Network.from_networkx(graph), outcomes, "graphs")
    if net is None:
        return
    # nothing reinterpreted: directed input, one element per edge, in the edge's direction
    assert graph.is_directed()
    assert len(net) == graph.number_of_edges()
    edges = sorted((str(canonical_node(u)), str(canonical_node(v))) for u, v in graph.edges())
    assert edges == sorted((str(e.p), str(e.n)) for e in net.elements())
    assert len(net.nodes) == len({canonical_node(n) for n in graph} | {"0"})
    assert Network.from_networkx(net.to_networkx()) == net


@fuzz_settings(scale=2)
@given(networks())
def test_networks_round_trip_through_networkx(net):
    graph = net.to_networkx()
    assert Network.from_networkx(graph) == net
    assert graph.number_of_edges() == len(net)
    outcomes("round trip", "accepted")
