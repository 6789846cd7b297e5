"""Cross-check of ``solve`` against ngspice, run for real (Debian package ``ngspice``).

Tolerances
----------
* Linear circuits: ngspice solves them exactly (one Newton step is one sparse
  LU solve), so both must agree to 1e-6 of the largest voltage.
* Diode circuits: ngspice's diode is the steep exponential of
  :data:`solver.circuits.spice.NGSPICE_DIODE_MODEL` (N=0.001, IS=1e-12), not an ideal
  one. A conducting diode stands ``N Vt ln(1 + I/IS)`` above its threshold:
  0.54 mV at 1 mA, at most 0.77 mV below 10 A. ngspice's answer is the exact
  ideal answer of the network whose thresholds are raised by those drops, and
  a node voltage moves by at most the raise of one threshold per threshold
  (slope in [-1, 1], see solver/spice.py), so
  ``|v_ngspice - v_solve| <= sum of the forward drops`` (reported by ngspice
  itself as ``forward_drop_sum``) + ngspice's own convergence tolerance
  (reltol 1e-6 of the voltages) + leakage of blocking diodes (1e-12 A/V).
  We check that bound, and that the drops themselves are what the model says.
"""

import numpy as np
import pytest

from solver import Network, solve
from solver.circuits.examples import list_examples, load_example
from solver.circuits.spice import NgspiceError, diode_model_drop, run_ngspice

LINEAR_EXAMPLES = ["current_divider", "divider", "ladder", "wheatstone"]
DIODE_EXAMPLES = sorted(set(list_examples()) - set(LINEAR_EXAMPLES))

#: Largest current a test circuit carries is far below this; the forward drop at
#: this current bounds every single diode's drop.
MAX_CURRENT = 10.0


def assert_linear_agreement(net, result, sol):
    scale = max(abs(v) for v in sol.voltages.values()) + 1e-300
    for node, v in sol.voltages.items():
        assert abs(result.voltages[node] - v) <= 1e-6 * scale, node


def assert_diode_agreement(net, result, sol):
    drops = [max(v, 0.0) for v in result.junction_voltages.values()]
    # a priori: no diode stands more than the model's drop at 10 A above its threshold
    assert max(drops, default=0.0) <= diode_model_drop(MAX_CURRENT)
    # and each conducting diode stands at the model's drop for its (ideal) current, within 5 %
    for name in sol.active_diodes:
        i = sol.currents[name]
        if i > 1e-9:
            assert result.junction_voltages[name] == pytest.approx(diode_model_drop(i), rel=0.05), name
    scale = max(abs(v) for v in sol.voltages.values())
    bound = result.forward_drop_sum + 1e-6 * scale + 1e-9
    worst = max(abs(result.voltages[n] - v) for n, v in sol.voltages.items())
    assert worst <= bound, f"worst {worst:.3g} V > bound {bound:.3g} V"
    return worst


def random_network(seed, n_nodes=30, n_res=60, n_diodes=10, n_vs=3, n_is=2, diodes=True):
    """A resistor spanning tree to ground (so every node is determined) plus random extras."""
    rng = np.random.default_rng(seed)
    nodes = [f"x{i}" for i in range(n_nodes)]
    net = Network()
    for i in range(n_nodes):
        j = rng.integers(-1, i)
        net.add_resistor(nodes[i], "0" if j < 0 else nodes[j], resistance=float(10 ** rng.uniform(2, 4)))
    for _ in range(n_res - n_nodes):
        a, b = rng.choice(n_nodes, 2, replace=False)
        net.add_resistor(nodes[a], nodes[b], resistance=float(10 ** rng.uniform(2, 4)))
    for _ in range(n_diodes if diodes else 0):
        a, b = rng.choice(n_nodes, 2, replace=False)
        theta = float(rng.choice([0.0, rng.uniform(0, 1)]))
        net.add_diode(nodes[a], nodes[b], threshold=theta)
    for k in range(n_vs):
        net.add_voltage_source(nodes[k], "0", float(rng.uniform(-10, 10)))
    for _ in range(n_is):
        a, b = rng.choice(n_nodes, 2, replace=False)
        net.add_current_source(nodes[a], nodes[b], float(rng.uniform(-1e-3, 1e-3)))
    return net


# ------------------------------------------------------------------ linear
@pytest.mark.parametrize("name", LINEAR_EXAMPLES)
def test_linear_examples(name):
    net = load_example(name)
    assert not net.elements("diode")
    assert_linear_agreement(net, run_ngspice(net), solve(net))


def test_divider_values_and_source_current_convention():
    # 10 V over 1k + 3k: mid = 7.5 V; the source delivers 2.5 mA, so its SPICE current
    # (p -> through the source -> n) is -2.5 mA, in ngspice and in solve alike.
    net = load_example("divider")
    result = run_ngspice(net)
    assert result.voltages["mid"] == pytest.approx(7.5, rel=1e-9)
    assert result.source_currents["V1"] == pytest.approx(-2.5e-3, rel=1e-9)
    assert solve(net).currents["V1"] == pytest.approx(result.source_currents["V1"], rel=1e-9)
    assert result.times["wall"] > 0 and "analysis" in result.times and "parse" in result.times


@pytest.mark.parametrize("seed", range(6))
def test_random_linear_networks(seed):
    net = random_network(seed, n_nodes=40, n_res=100, diodes=False)
    assert_linear_agreement(net, run_ngspice(net), solve(net))


def test_awkward_node_names_survive_the_renaming():
    # node names SPICE would choke on or fold together are renamed n1, n2 ... for ngspice
    net = Network()
    net.add_voltage_source(7, "0", 3.0)
    net.add_resistor(7, "a b", resistance=1.0)
    net.add_resistor("a b", "A B", resistance=1.0)
    net.add_resistor("A B", "0", resistance=1.0)
    result = run_ngspice(net)
    # three equal resistors in series from 3 V: 2 V and 1 V
    assert result.voltages["a b"] == pytest.approx(2.0, rel=1e-9)
    assert result.voltages["A B"] == pytest.approx(1.0, rel=1e-9)


# ------------------------------------------------------------------ diodes
@pytest.mark.parametrize("name", DIODE_EXAMPLES)
def test_diode_examples(name):
    net = load_example(name)
    assert net.elements("diode")
    assert_diode_agreement(net, run_ngspice(net), solve(net))


@pytest.mark.parametrize("name, source, values", [
    ("halfwave", "Vin", [-5.0, 0.5, 5.0]),
    ("bridge", "Vs", [-10.0, 10.0]),
    ("clipper", "Vin", [-5.0, 2.0, 5.0]),
    ("limiter", "Vin", [-10.0, 1.0, 10.0]),
    ("or_gate", "VB", [0.0, 5.0]),
    ("and_gate", "VA", [0.0, 5.0]),
])
def test_diode_examples_other_inputs(name, source, values):
    for value in values:
        net = load_example(name)
        net.set_value(source, value)
        assert_diode_agreement(net, run_ngspice(net), solve(net))


def test_halfwave_against_the_analytic_answer():
    # 5 V - 0.7 V threshold = 4.3 V, less ngspice's forward drop at 4.3 mA (0.55 mV)
    result = run_ngspice(load_example("halfwave"))
    assert result.voltages["out"] == pytest.approx(4.3 - diode_model_drop(4.3e-3), abs=1e-5)


@pytest.mark.parametrize("seed", range(10))
def test_random_diode_networks(seed):
    net = random_network(seed)
    sol = solve(net)
    assert sol.converged
    worst = assert_diode_agreement(net, run_ngspice(net), sol)
    assert worst < 10 * diode_model_drop(MAX_CURRENT)  # 10 diodes: the a priori bound


def test_missing_ngspice_is_a_clear_error():
    with pytest.raises(NgspiceError, match="not found; install ngspice"):
        run_ngspice(load_example("divider"), executable="no-such-ngspice")


def test_ngspice_failure_is_reported():
    # two different voltage sources in parallel: ngspice refuses (singular matrix)
    net = Network()
    net.add_voltage_source("a", "0", 1.0)
    net.add_voltage_source("a", "0", 2.0)
    net.add_resistor("a", "0", resistance=1.0)
    with pytest.raises(NgspiceError, match="ngspice failed"):
        run_ngspice(net)
