"""The bundled example netlists (solver/examples/), each against voltages derived by hand.

Every expected value below is worked out in the comment beside it from
Ohm's and Kirchhoff's laws and the ideal-diode rule (a diode with threshold
theta conducts only when v(anode) - v(cathode) = theta, and then carries a
current >= 0 from anode to cathode; otherwise it is open). None is copied from
the solver's output.
"""

import itertools

import pytest

from solver import solve
from solver.circuits.examples import example_text, list_examples, load_example
from solver.circuits.netlist import read_netlist, write_netlist

EXAMPLES = ["and_gate", "bridge", "clipper", "current_divider", "diode_string", "divider", "drn",
            "halfwave", "ladder", "limiter", "or_gate", "wheatstone"]


def volts(net):
    return solve(net).voltages


def close(x):
    return pytest.approx(x, rel=1e-9, abs=1e-12)


def test_list_and_load():
    assert list_examples() == EXAMPLES
    with pytest.raises(ValueError, match="no example named 'nope'; choose one of and_gate"):
        load_example("nope")


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_read_and_round_trip(name):
    net = load_example(name)
    assert net == read_netlist(example_text(name))
    assert read_netlist(write_netlist(net)) == net
    assert solve(net).converged


def test_divider():
    # v(mid) = 10 * 3k / (1k + 3k) = 7.5 V
    v = volts(load_example("divider"))
    assert v["in"] == close(10.0) and v["mid"] == close(7.5)


def test_wheatstone():
    # Nodal analysis in mS and V, supply 10 V.
    # KCL at a: (10 - a)/1 = a/2 + (a - b)/1        ->  10 = 2.5 a - b
    # KCL at b: (10 - b)/3 + (a - b)/1 = b/1        ->  10 + 3 a = 7 b
    # b = 2.5 a - 10  ->  10 + 3 a = 17.5 a - 70  ->  a = 80/14.5 = 160/29, b = 110/29.
    v = volts(load_example("wheatstone"))
    assert v["a"] == close(160 / 29) and v["b"] == close(110 / 29)
    # galvanometer current (a - b)/1k = 50/29 mA
    assert solve(load_example("wheatstone")).currents["Rg"] == close(50 / 29 * 1e-3)


def test_wheatstone_balances():
    # Balance needs R3/R4 = R1/R2 = 1/2, e.g. R3 = 1.5k, R4 = 3k: both dividers then give
    # 10 * 2/3 V on their own, so Rg joins equal potentials and carries no current.
    net = load_example("wheatstone")
    net.set_value("R3", resistance=1.5e3)
    net.set_value("R4", resistance=3e3)
    sol = solve(net)
    assert sol.voltages["a"] == close(20 / 3) and sol.voltages["b"] == close(20 / 3)
    assert abs(sol.currents["Rg"]) < 1e-15


def test_current_divider():
    # 3 mA into 1k || 2k = 2/3 kOhm: v = 2 V; currents 2 mA and 1 mA (n -> 0)
    sol = solve(load_example("current_divider"))
    assert sol.voltages["n"] == close(2.0)
    assert sol.currents["R1"] == close(2e-3) and sol.currents["R2"] == close(1e-3)


@pytest.mark.parametrize("vin, out", [
    (5.0, 2.7),               # unclipped 5 * 10/11 = 4.55 > 2.7: the diode clamps out at 2 + 0.7
    (2.0, 2.0 * 10 / 11),     # 1.82 < 2.7: the diode is open, plain divider
    (-5.0, -5.0 * 10 / 11),   # a one-sided clipper passes negative inputs
])
def test_clipper(vin, out):
    net = load_example("clipper")
    net.set_value("Vin", vin)
    assert volts(net)["out"] == close(out)


@pytest.mark.parametrize("vin, out", [
    (-10.0, -3.7),            # unclipped -9.09 < -3.7: Dlo conducts, out = -3 - 0.7
    (10.0, 2.7),              # unclipped +9.09 > 2.7: Dhi conducts, out = 2 + 0.7
    (1.0, 10 / 11),           # inside [-3.7, 2.7]: both open, divider 1 * 10k/11k
])
def test_limiter(vin, out):
    net = load_example("limiter")
    net.set_value("Vin", vin)
    assert volts(net)["out"] == close(out)


@pytest.mark.parametrize("vin, out", [
    (5.0, 4.3),    # forward: out = 5 - 0.7, load current 4.3 mA
    (-5.0, 0.0),   # reverse: no current through the load, out = 0
    (0.5, 0.0),    # below the 0.7 V threshold: still no current
])
def test_halfwave(vin, out):
    net = load_example("halfwave")
    net.set_value("Vin", vin)
    sol = solve(net)
    assert sol.voltages["out"] == close(out)
    assert sol.currents["Rload"] == close(out / 1e3)


@pytest.mark.parametrize("vs", [10.0, -10.0])
def test_bridge_rectifies_both_polarities(vs):
    # vs > 0: D1 (a -> p) and D4 (0 -> b) conduct: b = -0.7, a = b + 10 = 9.3, p = a - 0.7 = 8.6.
    # vs < 0: D2 (b -> p) and D3 (0 -> a) conduct: a = -0.7, b = a + 10 = 9.3, p = 8.6.
    # The other two are reverse biased: for vs > 0, D2 sees b - p = -9.3 V and D3 sees 0 - a = -9.3 V.
    net = load_example("bridge")
    net.set_value("Vs", vs)
    sol = solve(net)
    v = sol.voltages
    assert v["p"] == close(8.6)
    high, low = ("a", "b") if vs > 0 else ("b", "a")
    assert v[high] == close(9.3) and v[low] == close(-0.7)
    on = {"D1", "D4"} if vs > 0 else {"D2", "D3"}
    assert set(sol.active_diodes) == on


@pytest.mark.parametrize("a, b", list(itertools.product([0.0, 5.0], repeat=2)))
def test_or_gate_truth_table(a, b):
    # out = max(a, b) - 0.7 if that is > 0, else 0 (the pull-down holds it at ground)
    net = load_example("or_gate")
    net.set_value("VA", a)
    net.set_value("VB", b)
    assert volts(net)["out"] == close(max(max(a, b) - 0.7, 0.0))


@pytest.mark.parametrize("a, b", list(itertools.product([0.0, 5.0], repeat=2)))
def test_and_gate_truth_table(a, b):
    # out = min(5, min(a, b) + 0.7): a low input pulls out down to 0.7 V through its diode
    net = load_example("and_gate")
    net.set_value("VA", a)
    net.set_value("VB", b)
    assert volts(net)["out"] == close(min(5.0, min(a, b) + 0.7))


def test_diode_string():
    # three conducting 0.7 V diodes: out = 2.1, d2 = 1.4, d1 = 0.7; R1 carries (10 - 2.1)/1k
    sol = solve(load_example("diode_string"))
    assert [sol.voltages[n] for n in ("out", "d2", "d1")] == [close(2.1), close(1.4), close(0.7)]
    assert sol.currents["R1"] == close(7.9e-3)
    # the bottom diode carries 7.9 mA less the bleeder currents 1.4 V/1M and 0.7 V/1M
    assert sol.currents["D1"] == close(7.9e-3 - 1.4e-6 - 0.7e-6)


@pytest.mark.parametrize("code", range(8))
def test_ladder_all_codes(code):
    # Unloaded R-2R ladder: v(n2) = Vref * (b2/2 + b1/4 + b0/8), Vref = 8 V, so v(n2) = code.
    net = load_example("ladder")
    for k in range(3):
        net.set_value(f"Vb{k}", 8.0 * ((code >> k) & 1))
    assert volts(net)["n2"] == close(float(code))


def test_ladder_inner_nodes_and_flattening():
    # Code 101 (b0 = b2 = 8 V, b1 = 0), R = 1 kOhm, nodal analysis in mS:
    # n0: (8 - n0)/2 - n0/2 + (n1 - n0) = 0   -> n1 = 2 n0 - 4
    # n1: (n0 - n1) - n1/2 + (n2 - n1) = 0    -> n0 + n2 = 2.5 n1
    # n2: (n1 - n2) + (8 - n2)/2 = 0          -> n1 = 1.5 n2 - 4
    # n2 = 5 (from the formula) -> n1 = 3.5, n0 = 3.75, and 3.75 + 5 = 2.5 * 3.5 checks.
    net = load_example("ladder")
    v = volts(net)
    assert (v["n0"], v["n1"], v["n2"]) == (close(3.75), close(3.5), close(5.0))
    assert "R.X2.Rs" in net and net.element("R.X2.R2").p == "b2"


def test_drn():
    # Conductances in mS. Ignoring the diodes:
    #   h1: (1 - h1) + (-2 - h1) + (o - h1) = 0         -> 3 h1 = o - 1
    #   h2: (-1 - h2) + (-2 - h2) + 2 (o - h2) = 0      -> 4 h2 = 2 o - 3
    #   o:  (h1 - o) + 2 (h2 - o) - o = 0               -> 4 o = h1 + 2 h2
    #   -> 16 o = -11, h1 = -9/16 < 0: violates h1 >= 0, so Dh1 conducts and h1 = 0.
    # With h1 = 0: 4 o = 2 h2 and 4 h2 = 2 o - 3 -> o = -1/2, h2 = -1 (<= 0: Dh2 stays open).
    # Dh1 supplies what the resistors draw out of h1: -(1 - 2 - 0.5) = 1.5 mA, >= 0 as required.
    sol = solve(load_example("drn"))
    v = sol.voltages
    assert (v["h1"], v["h2"], v["o"]) == (close(0.0), close(-1.0), close(-0.5))
    assert sol.currents["Dh1"] == close(1.5e-3) and sol.currents["Dh2"] == close(0.0)
    assert sol.active_diodes == ["Dh1"]
