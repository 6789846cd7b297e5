"""The certificate cannot be fooled: issue 13's cases, each against an independent reference.

References: exact algebra (a node that no current reaches sits at its
neighbour's potential), the mpmath KKT solve of :mod:`tests.exact_reference`
(60 digits, its conducting set checked for optimality), and Kirchhoff's laws
checked by hand on a diode chain.
"""

import math

import numpy as np
import pytest

from solver import InvalidValueError, Network, kkt_certificate, solve
from solver.config import MAX_ABS_CURRENT, MAX_CONDUCTANCE, MIN_CONDUCTANCE

from .exact_reference import exact_solve
from .hostile_networks import degenerate_cycles, diode_chain, issue13_clamp, wide_mesh


def voltage_error(sol, net):
    """Largest |v - v_exact| over the nodes, relative to 1 V plus the largest exact |v|."""
    exact, _ = exact_solve(net, sol.active_diodes)
    scale = 1.0 + max(abs(float(x)) for x in exact.values())
    return max(abs(sol.voltages[k] - float(x)) for k, x in exact.items()) / scale


@pytest.mark.parametrize("current", [1.0, 1e6, 1e12, 1e15])
def test_issue13_clamp_gives_07_volt_at_the_unloaded_node(current):
    sol = solve(issue13_clamp(current))
    # b's only element is R1, so no current flows in it: v(b) = v(a); a rises to I / g(R2)
    # until the diode clamps it at 0.7 V (from I = 0.7 * 20.459 = 14.3 A on)
    expected = min(0.7, current / 20.45901701112429)
    assert sol.converged
    assert sol.voltages["a"] == pytest.approx(expected, rel=1e-12)
    assert sol.voltages["b"] == pytest.approx(expected, rel=1e-12)


def test_the_old_global_scale_answer_is_refused():
    """v(b) = 0 with the diode current balancing a: tiny next to 1e12 A, wrong by 0.7 V."""
    net = issue13_clamp(1e12)
    sol = solve(net)
    v = sol.node_voltages.copy()
    v[sol.nodes.index("b")] = 0.0
    currents = {kind: sol.element_currents[kind] for kind in ("diode", "vsource")}
    cert = kkt_certificate(net.arrays(), v, currents)
    assert cert.max_kcl_residual < 1e-12 * cert.current_scale  # what the old test compared
    assert not cert.is_optimal(1e-10)
    assert cert.worst_node == sol.nodes.index("b")


def test_non_finite_values_never_pass():
    net = issue13_clamp(1.0)
    sol = solve(net)
    currents = {kind: sol.element_currents[kind] for kind in ("diode", "vsource")}
    for bad in (np.nan, np.inf):
        v = sol.node_voltages.copy()
        v[sol.nodes.index("b")] = bad
        cert = kkt_certificate(net.arrays(), v, currents)
        assert not cert.finite and not cert.is_optimal(1.0)
        assert math.isinf(cert.worst_relative_residual())


@pytest.mark.parametrize("add", [
    lambda net: net.add_current_source("a", "0", 1e308),
    lambda net: net.add_current_source("a", "0", 10 * MAX_ABS_CURRENT),
    lambda net: net.add_voltage_source("a", "0", 10**400),
    lambda net: net.add_voltage_source("a", "0", -1e300),
    lambda net: net.add_diode("a", "0", 1e200),
    lambda net: net.add_resistor("a", "0", conductance=MIN_CONDUCTANCE / 10),
    lambda net: net.add_resistor("a", "0", conductance=MAX_CONDUCTANCE * 10),
    lambda net: net.add_resistor("a", "0", resistance=1e-300),
    lambda net: net.add_resistor("a", "0", resistance=10**400),
    lambda net: net.add_resistors(["a"], ["0"], [1e-300]),
])
def test_values_float64_cannot_solve_are_refused_with_the_usable_range(add):
    net = Network()
    with pytest.raises(InvalidValueError, match="usable range|finite"):
        add(net)


def test_set_value_and_bulk_readers_check_the_range_too():
    from solver import NetworkError, read_netlist
    net = Network()
    net.add_current_source("a", "0", 1.0, name="I1")
    with pytest.raises(InvalidValueError, match="I1.*usable range"):
        net.set_value("I1", 1e30)
    with pytest.raises(NetworkError, match="I9.*usable range"):
        read_netlist("R1 a 0 1\nI9 0 a 1e30\n")


def test_range_error_names_the_range():
    with pytest.raises(InvalidValueError) as info:
        Network().add_current_source("a", "0", 1e308, name="Ibig")
    message = str(info.value)
    assert "Ibig" in message and f"{MAX_ABS_CURRENT:g}" in message


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("exponent", [0.0, 9.0, 14.0])
def test_wide_conductance_spans_are_right_when_certified(seed, exponent):
    """Conductances 1e-12..1e12 S: a certified answer matches the 60-digit reference."""
    net = wide_mesh(seed, source_exponent=exponent)
    try:
        sol = solve(net)
    except InvalidValueError:
        pytest.fail("values inside the usable range were refused")
    except Exception as error:  # infeasible draws are fine, but only from the documented family
        from solver import NetworkError
        assert isinstance(error, NetworkError)
        return
    if sol.converged:
        assert voltage_error(sol, net) <= 1e-8


def test_most_wide_span_meshes_certify():
    """Refusing to certify is allowed, but not as the rule: most of these draws are well posed."""
    certified = sum(solve(wide_mesh(seed, low=-6, high=6)).converged for seed in range(20))
    assert certified >= 15


@pytest.mark.parametrize("seed", range(30))
def test_nearly_degenerate_diode_cycles_converge_and_certify(seed):
    net = degenerate_cycles(seed)
    try:
        sol = solve(net)
    except Exception as error:
        from solver import InfeasibleNetworkError
        assert isinstance(error, InfeasibleNetworkError)
        return
    assert sol.converged
    assert voltage_error(sol, net) <= 1e-9


def test_chain_of_10000_conducting_diodes_is_certified():
    n, theta = 10_000, 0.01
    net = diode_chain(n, theta)
    sol = solve(net)
    assert sol.converged
    v = np.array([sol.voltages[f"c{k}"] for k in range(n + 1)])
    # Kirchhoff by hand: every diode drops exactly theta, ...
    assert np.allclose(np.diff(v), -theta, rtol=0, atol=1e-9)
    # ... the 1 ohm resistor carries all the leak current, ...
    leak = 1e-3 / n * v[1:]
    assert (sol.voltages["in"] - v[0]) * 1.0 == pytest.approx(leak.sum(), rel=1e-9)
    # ... and diode k carries the leaks after it (all positive: every diode conducts)
    downstream = np.cumsum(leak[::-1])[::-1]
    currents = np.array([sol.currents[f"D{k}"] for k in range(n)])
    assert np.allclose(currents, downstream, rtol=1e-8, atol=0)
    assert len(sol.active_diodes) == n
    assert sol.active_set_iterations <= 10  # the chain joins at once, not one diode per iteration
