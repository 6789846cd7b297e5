"""Property tests: random networks against independent references."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import Network, solve
from solver.circuits.generators import grid_network, random_network

from .reference import brute_force_solve, clarabel_solve, cvxpy_solve, mna_solve

networks = st.builds(
    random_network,
    n_nodes=st.integers(2, 200),
    seed=st.integers(0, 2**32 - 1),
    extra_edges=st.floats(0.0, 1.5),
    diode_fraction=st.floats(0.0, 1.0),
    threshold_fraction=st.floats(0.0, 1.0),
    floating_fraction=st.floats(0.0, 1.0),
    locality=st.integers(1, 30),
)


def assert_same_voltages(sol, volts, tol):
    worst = max(abs(sol.voltages[node] - v) for node, v in volts.items())
    assert worst <= tol, f"max voltage difference {worst:.3g} V"


@settings(max_examples=60)
@given(net=networks)
def test_random_networks_match_clarabel(net):
    sol = solve(net)
    assert sol.converged
    assert sol.kkt.is_optimal(1e-9)
    assert sol.kkt.min_diode_current >= -1e-10 * sol.kkt.current_scale
    volts, _ = cvxpy_solve(net)
    assert_same_voltages(sol, volts, 1e-7)


@settings(max_examples=15)
@given(rows=st.integers(2, 12), cols=st.integers(2, 12), seed=st.integers(0, 10**6),
       diode_fraction=st.floats(0.0, 0.8), clamp_fraction=st.floats(0.0, 0.5))
def test_grids_with_diodes_match_clarabel(rows, cols, seed, diode_fraction, clamp_fraction):
    net = grid_network(rows, cols, seed=seed, diode_fraction=diode_fraction, clamp_fraction=clamp_fraction)
    sol = solve(net)
    assert sol.converged and sol.kkt.is_optimal(1e-9)
    volts, _ = cvxpy_solve(net)
    assert_same_voltages(sol, volts, 1e-7)


@settings(max_examples=60)
@given(n=st.integers(2, 7), seed=st.integers(0, 10**6), diode_fraction=st.floats(0.3, 1.0))
def test_tiny_networks_match_brute_force(n, seed, diode_fraction):
    net = random_network(n, seed=seed, extra_edges=1.5, diode_fraction=diode_fraction, locality=3)
    if len(net.elements("diode")) > 10:
        return
    volts, currents = brute_force_solve(net)
    sol = solve(net)
    assert_same_voltages(sol, volts, 1e-9)
    # dissipated power is unique even where diode currents are not
    power = sum(e.value * (volts[e.p] - volts[e.n]) ** 2 for e in net.elements("resistor"))
    power += sum(currents[d.name] * (volts[d.p] - volts[d.n]) for d in net.elements("diode"))
    assert sol.power == pytest.approx(power, rel=1e-8, abs=1e-12)


@settings(max_examples=40)
@given(n=st.integers(2, 150), seed=st.integers(0, 10**6))
def test_linear_networks_match_nodal_analysis(n, seed):
    net = random_network(n, seed=seed, diode_fraction=0.0)
    volts, source_currents = mna_solve(net)
    sol = solve(net)
    assert_same_voltages(sol, volts, 1e-9)
    for name, i in source_currents.items():
        assert sol.currents[name] == pytest.approx(i, rel=1e-7, abs=1e-9)
    # plain coordinate descent converges on linear networks (no diode to stall it)
    cd = solve(net, method="cd", tol=1e-12)
    assert_same_voltages(cd, volts, 1e-7)


@settings(max_examples=25)
@given(n=st.integers(3, 120), seed=st.integers(0, 10**6), which=st.integers(0, 10**6),
       factor=st.floats(0.1, 10.0))
def test_warm_start_after_one_change_matches_cold(n, seed, which, factor):
    net = random_network(n, seed=seed)
    first = solve(net)
    resistors = net.elements("resistor")
    r = resistors[which % len(resistors)]
    net.set_value(r.name, r.value * factor)
    warm = solve(net, warm_start=first)
    cold = solve(net)
    assert warm.converged and warm.kkt.is_optimal(1e-9)
    assert_same_voltages(warm, cold.voltages, 1e-8)


@pytest.mark.parametrize("seed", range(3))
def test_clarabel_api_and_cvxpy_references_agree(seed):
    """The benchmark's direct Clarabel formulation is the same QP as the cvxpy one."""
    net = random_network(80, seed=seed)
    a, _ = cvxpy_solve(net)
    b, _, _ = clarabel_solve(net, polish=True)
    assert max(abs(a[k] - b[k]) for k in a) < 1e-7


def test_certificate_catches_a_wrong_answer():
    net = random_network(50, seed=11)
    sol = solve(net)
    from solver import kkt_certificate
    arrays = net.arrays()
    v = sol.node_voltages.copy()
    v[5] += 1e-3
    currents = {kind: np.array([sol.currents[name] for name in arrays[kind][3]]) for kind in
                ("resistor", "diode", "vsource", "isource")}
    bad = kkt_certificate(arrays, v, currents)
    assert not bad.is_optimal(1e-6)
    assert kkt_certificate(arrays, sol.node_voltages, currents).is_optimal(1e-9)


def test_long_diode_chain_between_free_nodes():
    """A chain of 40 diodes between free nodes, each node with a resistor to ground."""
    net = Network()
    net.add_voltage_source("s", "0", 10.0)
    net.add_resistor("s", "d0", 1.0)
    for k in range(40):
        net.add_diode(f"d{k}", f"d{k + 1}", threshold=0.1)
        net.add_resistor(f"d{k + 1}", "0", 100.0)
    sol = solve(net)
    volts, _ = cvxpy_solve(net)
    assert_same_voltages(sol, volts, 1e-7)
    assert sol.kkt.is_optimal(1e-9)


def test_certificate_catches_a_conducting_diode_off_its_threshold():
    """KCL balanced by a diode current while the diode is open: small product, wrong answer."""
    from solver import kkt_certificate
    net = Network()
    net.add_voltage_source("s", "0", 1.0, name="V1")
    net.add_resistor("s", "a", 1.0, name="R1")
    net.add_diode("a", "0", name="D1")       # clamps a at 0 V, 1 A through D1
    net.add_resistor("a", "b", 1.0, name="R2")
    net.add_diode("b", "a", name="D2")       # b <= a: b sits at 0 with no current
    arrays = net.arrays()
    good = solve(net)
    assert good.voltages["b"] == pytest.approx(0.0, abs=1e-15)
    v = good.node_voltages.copy()
    b = arrays["nodes"].index("b")
    v[b] = -1e-5                              # b pulled below a: R2 carries 1e-5 A ...
    currents = {kind: good.element_currents[kind].copy() for kind in ("diode", "vsource")}
    d2 = arrays["diode"][3].index("D2")
    currents["diode"][d2] = 1e-5              # ... balanced by a current in the open diode D2
    cert = kkt_certificate(arrays, v, currents)
    assert cert.max_kcl_residual < 1e-12 and cert.max_complementarity < 1e-9
    assert not cert.is_optimal(1e-9)
