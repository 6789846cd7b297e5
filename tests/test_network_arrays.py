"""Array-built networks (``Network.from_arrays``) behave exactly as networks built element by element."""

import math

import numpy as np
import pytest

from solver import InvalidValueError, Network, NetworkError, solve
from solver.circuits.generators import grid_edges, grid_network, random_network
from solver.core._bulk import AutoNames

from .reference import mna_solve


def divider_both_ways():
    """A source, two resistors, a clamp diode and a current source, built twice.

    By hand: 10 V -> 1 kOhm -> mid -> 3 kOhm -> ground, with a diode mid -> ground of
    threshold 5 V (blocks: 7.5 V would exceed it, so it clamps mid at 5 V).
    """
    by_element = Network()
    by_element.add_node("in", x=0.0)
    by_element.add_node("mid", x=1.0, y=2.0)
    by_element.add_node("spare", y=3.0)
    by_element.add_resistor("in", "mid", conductance=1e-3)
    by_element.add_resistor("mid", "0", conductance=1 / 3e3)
    by_element.add_resistor("spare", "0", conductance=1.0)
    by_element.add_diode("mid", "0", threshold=5.0)
    by_element.add_voltage_source("in", "0", 10.0)
    by_element.add_current_source("0", "spare", 0.25)
    by_arrays = Network.from_arrays(
        ["gnd", "in", "mid", "spare"],
        resistors=([1, 2, 3], [2, 0, 0], [1e-3, 1 / 3e3, 1.0]),
        diodes=(np.array([2]), np.array([0]), np.array([5.0])),
        vsources=([1], [0], [10.0]),
        isources=([0], [3], [0.25]),
        node_attributes={"x": [math.nan, 0.0, 1.0, math.nan], "y": [math.nan, math.nan, 2.0, 3.0]},
    )
    return by_element, by_arrays


def test_from_arrays_equals_the_element_by_element_network():
    by_element, by_arrays = divider_both_ways()
    assert by_arrays.nodes == by_element.nodes == ["0", "in", "mid", "spare"]
    assert len(by_arrays) == len(by_element) == 6
    assert repr(by_arrays) == repr(by_element)
    ours, theirs = by_arrays.arrays(), by_element.arrays()
    for kind in ("resistor", "diode", "vsource", "isource"):
        for mine, other in zip(ours[kind], theirs[kind]):
            assert list(mine) == list(other)
    assert by_arrays == by_element  # compares the per-element objects, made on demand
    assert by_arrays.node_attributes("mid") == {"x": 1.0, "y": 2.0}
    assert by_arrays.node_attributes("0") == {}
    assert by_arrays.element("D1").p == "mid" and by_arrays.element("I1").value == 0.25


def test_from_arrays_solves_like_its_twin():
    by_element, by_arrays = divider_both_ways()
    sol = solve(by_arrays)
    twin = solve(by_element)
    assert sol.converged
    assert sol.voltages["mid"] == pytest.approx(5.0, abs=1e-12)  # the clamp holds mid at 5 V
    assert sol.voltages["spare"] == pytest.approx(0.25, abs=1e-12)  # 0.25 A into 1 ohm
    assert sol.active_diodes == ["D1"]
    np.testing.assert_array_equal(sol.node_voltages, twin.node_voltages)


def test_a_solve_reads_the_arrays_without_making_element_objects():
    net = grid_network(6, 7, seed=1)
    sol = solve(net)
    assert sol.converged and sol.kkt.is_optimal(1e-9)
    assert net._bulk is not None  # nothing asked for per-element objects


def test_edits_after_from_arrays():
    _, net = divider_both_ways()
    copy = net.copy()
    assert copy.add_resistor("in", "spare", 2.0) == "R4"  # automatic names continue
    assert "R4" not in net and len(net) == 6  # the original shares nothing editable
    net.set_value("R2", resistance=1e3)  # 10 V over 1k + 1k: 5 V at mid, the clamp just holds
    assert solve(net).voltages["mid"] == pytest.approx(5.0, abs=1e-12)
    net.set_value("D1", 6.0)  # clamp released: the divider's 5 V
    assert solve(net).voltages["mid"] == pytest.approx(5.0, abs=1e-12)
    assert solve(net).active_diodes == []
    net.remove_element("I1")
    assert solve(net).voltages["spare"] == 0.0
    net.rename_element("R3", "Rspare")
    assert net.element("Rspare").n == "0"


@pytest.mark.parametrize("nodes, message", [
    (["a", "b"], "nodes\\[0\\] must name ground"),
    ([], "nodes\\[0\\] must name ground"),
    (["0", "a", "a"], "nodes\\[2\\] = 'a' repeats"),
    (["0", 1, "1"], "nodes\\[2\\] = '1' repeats or clashes"),
    (["0", "a", "GND"], "nodes\\[2\\] = 'GND' names ground"),
    (["0", "a", " "], "must not be empty"),
    (["0", "a", 1.5], "must be a string or an int"),
])
def test_bad_node_lists(nodes, message):
    with pytest.raises(NetworkError, match=message):
        Network.from_arrays(nodes)


@pytest.mark.parametrize("kind, spec, error, message", [
    ("resistors", ([1], [0], [-1.0]), InvalidValueError, "resistor 'R1': conductance must be positive"),
    ("resistors", ([1, 2], [0, 0], [1.0, math.nan]), InvalidValueError, "resistor 'R2'.*finite"),
    ("resistors", ([1, 2], [0, 0], [1.0, 1e300]), InvalidValueError, "resistor 'R2'.*usable range"),
    ("diodes", ([1, 1], [0, 2], [0.0, -0.5]), InvalidValueError, "diode 'D2'.*>= 0"),
    ("vsources", ([1], [0], [math.inf]), InvalidValueError, "vsource 'V1'.*finite"),
    ("isources", ([1], [0], [1e20]), InvalidValueError, "isource 'I1'.*usable range"),
    ("resistors", ([1, 2], [0, 2], [1.0, 1.0]), NetworkError, "resistor 'R2' connects node 'b' to itself"),
    ("diodes", ([1], [3], [0.0]), NetworkError, "diode 'D1': node index 3 \\(n\\) is outside 0..2"),
    ("vsources", ([-1], [0], [1.0]), NetworkError, "vsource 'V1': node index -1 \\(p\\)"),
    ("resistors", ([1], [0]), TypeError, "triple"),
    ("resistors", ([1], [0], [True]), TypeError, "array of numbers"),
    ("resistors", ([1], [0], ["1k"]), TypeError, "array of numbers"),
    ("resistors", ([1.0], [0], [1.0]), TypeError, "integer array"),
    ("resistors", ([1, 2], [0], [1.0, 1.0]), TypeError, "integer array as long as its values"),
])
def test_bad_elements_name_the_element(kind, spec, error, message):
    with pytest.raises(error, match=message):
        Network.from_arrays(["0", "a", "b"], **{kind: spec})


def test_bad_node_attributes():
    with pytest.raises(TypeError, match="one value per node"):
        Network.from_arrays(["0", "a"], node_attributes={"x": [1.0]})


def test_auto_names_act_as_a_list():
    names = AutoNames("D", 1, 4)
    assert names == ["D1", "D2", "D3", "D4"] and names[1:3] == ["D2", "D3"] and names[-2] == "D3"
    assert "D4" in names and "D5" not in names and "D01" not in names and "R1" not in names
    assert names.index("D3") == 2
    with pytest.raises(IndexError):
        names[4]
    with pytest.raises(ValueError):
        names.index("D0")


def test_grid_network_is_the_grid_it_describes():
    rows, cols = 4, 5
    net = grid_network(rows, cols, seed=3, diode_fraction=0.5, clamp_fraction=0.5)
    name = {(r, c): f"g{r}_{c}" for r in range(rows) for c in range(cols)}
    resistors = net.elements("resistor")
    # every grid edge in grid_edges' order, then the bottom-left corner's resistor to ground
    assert [(e.p, e.n) for e in resistors[:-1]] == [(name[a], name[b]) for a, b in grid_edges(rows, cols)]
    assert (resistors[-1].p, resistors[-1].n, resistors[-1].value) == (name[rows - 1, 0], "0", 1.0)
    assert all(0.2 <= e.value <= 5.0 for e in resistors[:-1])
    sources = {(e.p, e.n, e.value) for e in net.elements("vsource")}
    assert sources == {(name[0, 0], "0", 5.0), (name[rows - 1, cols - 1], "0", -5.0)}

    def v_star(node):  # the plane the docstring promises every diode holds at
        if node == "0":
            return 0.0
        r, c = map(int, node[1:].split("_"))
        assert net.node_attributes(node) == {"x": float(c), "y": float(-r)}
        return 5.0 - 10.0 * (r + c) / (rows + cols - 2)

    grid_pairs = {(name[a], name[b]) for a, b in grid_edges(rows, cols)}
    diodes = net.elements("diode")
    assert diodes
    for d in diodes:
        assert v_star(d.p) - v_star(d.n) <= d.value + 1e-12
        assert (d.n, d.p) in grid_pairs or "0" in (d.p, d.n)


@pytest.mark.parametrize("seed", range(4))
def test_generated_networks_match_nodal_analysis_without_diodes(seed):
    """Both generators' networks, diodes left out, against dense modified nodal analysis."""
    for net in (random_network(40, seed=seed, diode_fraction=0.0), grid_network(4, 6, seed=seed, diode_fraction=0.0,
                                                                              clamp_fraction=0.0)):
        assert not net.elements("diode")
        sol = solve(net)
        reference, _ = mna_solve(net)
        worst = max(abs(sol.voltages[node] - v) for node, v in reference.items())
        assert worst <= 1e-9


def test_array_built_networks_copy_and_pickle():
    import copy
    import pickle

    net = grid_network(5, 5, seed=1)
    for twin in (copy.deepcopy(net), pickle.loads(pickle.dumps(net)), net.copy()):
        assert twin == net
        np.testing.assert_array_equal(solve(twin).node_voltages, solve(net).node_voltages)
