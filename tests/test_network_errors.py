"""Bad input raises the right NetworkError, naming the element or node at fault."""

import math

import pytest

from solver import (
    DuplicateElementError,
    FloatingNodeError,
    InfeasibleNetworkError,
    InvalidValueError,
    Network,
    NetworkError,
    UnknownElementError,
    VoltageLoopError,
    solve,
)


@pytest.mark.parametrize("kwargs", [
    dict(resistance=-1.0), dict(resistance=0.0), dict(resistance=math.nan), dict(resistance=math.inf),
    dict(conductance=-2.0), dict(conductance=0.0), dict(conductance=math.nan), dict(conductance=math.inf),
    dict(resistance="10k"), dict(), dict(resistance=1.0, conductance=1.0),
])
def test_bad_resistor_values_name_the_resistor(kwargs):
    net = Network()
    with pytest.raises(InvalidValueError, match="Rbad"):
        net.add_resistor("a", "0", name="Rbad", **kwargs)
    assert len(net) == 0  # nothing half-added


@pytest.mark.parametrize("adder, value", [
    ("add_voltage_source", math.nan), ("add_voltage_source", math.inf),
    ("add_current_source", math.nan), ("add_current_source", -math.inf),
    ("add_diode", math.nan), ("add_diode", math.inf), ("add_diode", -0.1),
])
def test_bad_source_values_and_thresholds(adder, value):
    net = Network()
    with pytest.raises(InvalidValueError, match="X1"):
        getattr(net, adder)("a", "0", value, name="X1")


def test_set_value_validates_too():
    net = Network()
    net.add_resistor("a", "0", 1.0, name="R1")
    with pytest.raises(InvalidValueError, match="R1"):
        net.set_value("R1", -1.0)
    assert net.element("R1").value == 1.0
    with pytest.raises(UnknownElementError, match="R9"):
        net.set_value("R9", 1.0)


def test_duplicate_names():
    net = Network()
    net.add_resistor("a", "0", 1.0, name="R1")
    with pytest.raises(DuplicateElementError, match="R1"):
        net.add_diode("a", "0", name="R1")


def test_automatic_names_skip_taken_ones():
    net = Network()
    net.add_resistor("a", "0", 1.0, name="R1")
    assert net.add_resistor("a", "b", 1.0) == "R2"


def test_self_loop_and_bad_node_names():
    net = Network()
    with pytest.raises(NetworkError, match="R1.*'a' to itself"):
        net.add_resistor("a", "a", 1.0, name="R1")
    with pytest.raises(NetworkError, match="empty"):
        net.add_resistor("", "0", 1.0)
    with pytest.raises(NetworkError, match="string or an int"):
        net.add_resistor(1.5, "0", 1.0)
    net.add_resistor(1, "0", 1.0)
    with pytest.raises(NetworkError, match="clashes"):
        net.add_resistor("1", "0", 1.0)


def test_ground_aliases():
    net = Network()
    net.add_voltage_source("a", "gnd", 1.0)
    net.add_resistor("a", "GND", 1.0)
    net.add_resistor("a", 0, 1.0)
    assert net.nodes == ["0", "a"]


def test_floating_nodes_are_named():
    net = Network()
    net.add_voltage_source("in", "0", 1.0)
    net.add_resistor("in", "a", 1.0)
    net.add_diode("a", "x")          # a diode alone does not fix x
    net.add_current_source("0", "y", 1.0)
    net.add_resistor("y", "z", 1.0)  # y-z island fed only by a current source
    with pytest.raises(FloatingNodeError) as info:
        solve(net)
    assert set(info.value.nodes) == {"x", "y", "z"}
    assert "'x'" in str(info.value) and "'y'" in str(info.value)


def test_voltage_loop_that_disagrees():
    net = Network()
    net.add_voltage_source("a", "0", 1.0, name="V1")
    net.add_voltage_source("a", "b", 0.5, name="V2")
    net.add_voltage_source("b", "0", 0.7, name="V3")
    net.add_resistor("a", "0", 1.0)
    with pytest.raises(VoltageLoopError) as info:
        solve(net)
    assert set(info.value.elements) == {"V1", "V2", "V3"}


def test_voltage_loop_that_agrees_is_fine():
    net = Network()
    net.add_voltage_source("a", "0", 1.0, name="V1")
    net.add_voltage_source("a", "b", 0.25, name="V2")
    net.add_voltage_source("b", "0", 0.75, name="V3")
    net.add_resistor("a", "0", 1.0)
    net.add_resistor("b", "0", 1.0)
    sol = solve(net)
    assert sol.voltages["b"] == pytest.approx(0.75)
    assert sol.kkt.is_optimal()


def test_diode_forced_forward_by_sources():
    net = Network()
    net.add_voltage_source("a", "0", 1.0, name="V1")
    net.add_voltage_source("b", "0", 0.2, name="V2")
    net.add_diode("a", "b", threshold=0.5, name="D1")
    net.add_resistor("a", "b", 1.0)
    with pytest.raises(InfeasibleNetworkError) as info:
        solve(net)
    assert "D1" in str(info.value) and "D1" in info.value.elements
    assert {"V1", "V2"} <= set(info.value.elements)


def test_diodes_that_cannot_all_hold_through_free_nodes():
    net = Network()
    net.add_voltage_source("a", "0", 1.0, name="V1")
    net.add_diode("a", "x", name="D1")   # x >= 1
    net.add_diode("x", "0", name="D2")   # x <= 0
    net.add_resistor("x", "0", 1.0)
    with pytest.raises(InfeasibleNetworkError) as info:
        solve(net)
    assert {"D1", "D2"} & set(info.value.elements)


def test_errors_are_value_errors():
    assert issubclass(NetworkError, ValueError)
    for cls in (InvalidValueError, FloatingNodeError, VoltageLoopError, InfeasibleNetworkError):
        assert issubclass(cls, NetworkError)


def test_remove_node_in_use():
    net = Network()
    net.add_resistor("a", "0", 1.0, name="R1")
    with pytest.raises(NetworkError, match="R1"):
        net.remove_node("a")
    net.remove_element("R1")
    net.remove_node("a")
    assert net.nodes == ["0"]


def test_isolated_node_added_after_a_solve_is_reported():
    net = Network()
    net.add_voltage_source("a", "0", 1.0)
    net.add_resistor("a", "0", 1.0)
    solve(net)
    net.add_node("lonely")
    with pytest.raises(FloatingNodeError, match="lonely"):
        solve(net)


def test_empty_network_solves_trivially():
    sol = solve(Network())
    assert sol.voltages == {"0": 0.0} and sol.converged
