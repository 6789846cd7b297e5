"""Exact DC sweeps (solver.sweep): breakpoints and slopes by hand, degenerate cases, random networks.

Every expected breakpoint and slope below is worked out by hand in the
comment beside it; the random tests compare the sweep with independent
solves at random values (and, on tiny networks, with the brute-force
reference of tests/reference.py).
"""

import csv
import io

import numpy as np
import pytest

from solver import Network, SweepInfeasibleError, UnknownElementError, solve, sweep
from solver.circuits.generators import random_network
from tests.circuits import bridge_rectifier, diode_and, diode_or, half_wave_rectifier, limiter
from tests.reference import brute_force_solve


def breakpoints(s):
    return [(round(b.value, 9), b.switched_on, b.switched_off) for b in s.breakpoints]


def clipper():
    """V1 -> 1 k -> out; D1 out -> 0 (0.7 V); 1 k load.

    Unclipped out = vin/2; D1 turns on when vin/2 = 0.7, i.e. vin = 1.4.
    Above: out = 0.7, I_D1 = (vin - 0.7)/1k - 0.7/1k.
    """
    net = Network()
    net.add_voltage_source("in", "0", 0.0, name="V1")
    net.add_resistor("in", "out", resistance=1e3, name="R1")
    net.add_diode("out", "0", threshold=0.7, name="D1")
    net.add_resistor("out", "0", resistance=1e3, name="RL")
    return net


def test_clipper_breakpoint_and_slopes():
    s = sweep(clipper(), "V1", -5.0, 5.0)
    assert breakpoints(s) == [(1.4, ("D1",), ())]
    assert [seg.conducting for seg in s.segments] == [(), ("D1",)]
    assert s.slope(0.0, "out") == pytest.approx(0.5, abs=1e-12)
    assert s.slope(3.0, "out") == pytest.approx(0.0, abs=1e-12)
    x = np.array([-5.0, 0.3, 1.4, 2.0, 5.0])
    np.testing.assert_allclose(s.voltage("out", x), np.minimum(x / 2, 0.7), atol=1e-12)
    np.testing.assert_allclose(s.current("D1", x), np.maximum((x - 0.7) / 1e3 - 0.7e-3, 0.0), atol=1e-15)
    assert s.solves == 3  # the start, the knee and the end: one warm re-solve per anchor


def test_limiter_breakpoints_both_directions():
    net, _, _ = limiter(0.0)
    name = net.elements("vsource")[0].name
    up = sweep(net, name, -3.0, 3.0)
    # clip(vin, -0.7, 0.7): Ddown stops at -0.7, Dup starts at 0.7; slopes 0, 1, 0
    assert breakpoints(up) == [(-0.7, (), ("Ddown",)), (0.7, ("Dup",), ())]
    assert [up.slope(x, "out") for x in (-2, 0, 2)] == pytest.approx([0, 1, 0], abs=1e-12)
    down = sweep(net, name, 3.0, -3.0)
    assert breakpoints(down) == [(0.7, (), ("Dup",)), (-0.7, ("Ddown",), ())]
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(down.voltage("out", x), np.clip(x, -0.7, 0.7), atol=1e-12)


def test_half_wave_rectifier_with_threshold():
    net, _, _ = half_wave_rectifier(0.0, threshold=0.3)
    name = net.elements("vsource")[0].name
    s = sweep(net, name, -2.0, 2.0)
    assert breakpoints(s) == [(0.3, ("D1",), ())]  # out = max(0, vin - 0.3)
    x = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(s.voltage("out", x), np.maximum(0.0, x - 0.3), atol=1e-12)


def test_bridge_rectifier_with_threshold():
    """Hand calculation, vs > 0 (theta = 0.5, RL = 1 k, Rref = 1 M from b to ground).

    Nothing conducts: b = 0, a = vs, p = 0. D1 (a -> p) turns on at vs = theta;
    its current returns through Rref: i = (vs - theta)/(RL + Rref), v(b) = -i Rref.
    D4 (0 -> b) turns on when v(b) = -theta: vs = 2 theta + theta RL/Rref.
    Then b = -theta and p = vs - 2 theta. For vs < 0, D3 (0 -> a) turns on at
    vs = -theta, its current returns through Rref alone (RL carries none), so
    v(b) = -vs - theta and D2 (b -> p) turns on at v(b) = theta: vs = -2 theta.
    """
    theta = 0.5
    net, _, _ = bridge_rectifier(0.0, threshold=theta)
    s = sweep(net, "VS", -3.0, 3.0)
    knee = 2 * theta + theta * 1e3 / 1e6
    assert breakpoints(s) == [(-2 * theta, (), ("D2",)), (-theta, (), ("D3",)),
                              (theta, ("D1",), ()), (round(knee, 9), ("D4",), ())]
    x = np.array([-3.0, -2.0, 2.0, 3.0])
    np.testing.assert_allclose(s.voltage("p", x), np.abs(x) - 2 * theta, atol=1e-12)
    mid = 0.75  # D1 alone: p = i RL
    assert s.voltage("p", mid) == pytest.approx((mid - theta) / (1e3 + 1e6) * 1e3, abs=1e-15)


def test_ideal_bridge_switches_four_diodes_at_once():
    # theta = 0: out = |vs| and at vs = 0 D1, D4 stop while D2, D3 start, all at one value
    net, _, _ = bridge_rectifier(0.0)
    s = sweep(net, "VS", -2.0, 2.0)
    assert breakpoints(s) == [(0.0, ("D1", "D4"), ("D2", "D3"))]
    x = np.linspace(-2, 2, 17)
    np.testing.assert_allclose(s.voltage("p", x), np.abs(x), atol=1e-12)


def test_diode_or_and_gates():
    net, _, _ = diode_or(0.0, 2.0, threshold=0.3)
    a, _ = [e.name for e in net.elements("vsource")]
    s = sweep(net, a, -1.0, 4.0)
    # out = max(va, vb) - 0.3: the A diode takes over from the B one at va = vb = 2, both at once
    assert breakpoints(s) == [(2.0, ("D1",), ("D2",))]
    x = np.linspace(-1, 4, 11)
    np.testing.assert_allclose(s.voltage("out", x), np.maximum(x, 2.0) - 0.3, atol=1e-12)

    net, _, _ = diode_and(0.0, 2.0, vcc=5.0, threshold=0.3)
    _, a, _ = [e.name for e in net.elements("vsource")]
    s = sweep(net, a, 4.0, -1.0)
    # out = min(va + 0.3, vb + 0.3, 5): A takes over from B at va = 2 (going down)
    assert breakpoints(s) == [(2.0, ("D1",), ("D2",))]
    np.testing.assert_allclose(s.voltage("out", x), np.minimum(x + 0.3, 2.3), atol=1e-12)


def test_current_source_sweep():
    # I1 drives 1 mA per unit into `out` (1 k to ground), D1 clamps out at 0.7 V: knee at 0.7 mA
    net = Network()
    net.add_current_source("0", "out", 0.0, name="I1")
    net.add_resistor("out", "0", resistance=1e3)
    net.add_diode("out", "0", threshold=0.7, name="D1")
    s = sweep(net, "I1", 0.0, 2e-3)
    assert breakpoints(s) == [(0.0007, ("D1",), ())]
    assert s.slope(1e-4, "out") == pytest.approx(1e3)
    assert float(s.voltage("out", 2e-3)) == pytest.approx(0.7, abs=1e-12)


# ------------------------------------------------------------------ degenerate cases
def touching():
    """D1 (out -> 0, 1 V) clamps out = vin at 1 V; q = vin/2 by a divider.

    D2 (out -> q, 0.5 V) has drop vin/2 below vin = 1 and 1 - vin/2 above:
    it touches its threshold at vin = 1, exactly where D1 switches, and
    never conducts.
    """
    net = Network()
    net.add_voltage_source("in", "0", 0.0, name="V1")
    net.add_resistor("in", "out", resistance=1.0)
    net.add_diode("out", "0", threshold=1.0, name="D1")
    net.add_resistor("in", "q", resistance=1e3)
    net.add_resistor("q", "0", resistance=1e3)
    net.add_diode("out", "q", threshold=0.5, name="D2")
    return net


@pytest.mark.parametrize("start, stop, switch", [(0.0, 3.0, (("D1",), ())), (3.0, 0.0, ((), ("D1",)))])
def test_touch_without_switching(start, stop, switch):
    s = sweep(touching(), "V1", start, stop)
    assert breakpoints(s) == [(1.0, *switch)]  # D2 touches there too, and is not listed
    x = np.linspace(0, 3, 13)
    np.testing.assert_allclose(s.voltage("out", x), np.minimum(x, 1.0), atol=1e-12)
    np.testing.assert_allclose(s.current("D2", x), 0.0, atol=1e-15)


def test_current_stays_zero_on_a_segment():
    """A diode across a balanced Wheatstone bridge sits at its threshold (0) with no current."""
    net = Network()
    net.add_voltage_source("top", "0", 0.0, name="V1")
    for a, b in (("top", "l"), ("l", "0"), ("top", "r"), ("r", "0")):
        net.add_resistor(a, b, resistance=1e3)
    net.add_diode("l", "r", name="Dmid")
    net.add_resistor("l", "x", resistance=1e3)
    net.add_diode("x", "0", threshold=1.0, name="Dclamp")
    s = sweep(net, "V1", -4.0, 4.0)
    assert all("Dmid" not in seg.conducting for seg in s.segments)
    assert breakpoints(s) == [(2.0, ("Dclamp",), ())]  # v(l) = vin/2 reaches 1 V
    x = np.linspace(-4, 4, 9)
    np.testing.assert_allclose(s.current("Dmid", x), 0.0, atol=1e-15)
    for xi, v in zip(x, s.voltages(x)):
        net.set_value("V1", xi)
        np.testing.assert_allclose(v, solve(net).node_voltages, atol=1e-12)


def test_infeasible_beyond_a_diode_across_the_source():
    # D1 directly across V1 (threshold 2): no steady state for V1 > 2
    net = Network()
    net.add_voltage_source("in", "0", 0.0, name="V1")
    net.add_resistor("in", "0", resistance=1e3)
    net.add_diode("in", "0", threshold=2.0, name="D1")
    with pytest.raises(SweepInfeasibleError) as info:
        sweep(net, "V1", 0.0, 5.0)
    assert info.value.value == pytest.approx(2.0)
    assert "D1" in str(info.value)
    assert info.value.sweep is not None and info.value.sweep.stop == pytest.approx(2.0)


def test_infeasible_floating_source_between_two_diodes():
    """V1 floats between p and n; D1 p -> 0 (0.5 V) and D2 0 -> n (0.5 V) allow v(p) - v(n) <= 1.

    Sweeping up, the network is infeasible beyond V1 = 1; sweeping down from
    exactly 1 (both diodes tight, their currents not unique) must work.
    """
    net = Network()
    net.add_voltage_source("p", "n", 0.0, name="V1")
    net.add_resistor("p", "0", resistance=1e3)
    net.add_resistor("n", "0", resistance=2e3)
    net.add_diode("p", "0", threshold=0.5, name="D1")
    net.add_diode("0", "n", threshold=0.5, name="D2")
    with pytest.raises(SweepInfeasibleError) as info:
        sweep(net, "V1", 0.0, 3.0)
    assert info.value.value == pytest.approx(1.0)
    s = sweep(net, "V1", 1.0, -1.0)
    x = np.linspace(1.0, -1.0, 21)
    for xi, v in zip(x, s.voltages(x)):
        net.set_value("V1", xi)
        np.testing.assert_allclose(v, solve(net).node_voltages, atol=1e-12)
    with pytest.raises(SweepInfeasibleError) as info:
        sweep(net, "V1", 1.5, 0.0)
    assert info.value.value == 1.5 and info.value.sweep is None


# ------------------------------------------------------------------ random networks
def feasible_part(net, source, start, stop):
    """The sweep, or the part of it before the network becomes infeasible (still exact)."""
    try:
        return sweep(net, source, start, stop)
    except SweepInfeasibleError as e:
        assert e.sweep is not None and e.sweep.stop == e.value
        return e.sweep


def _gap(s, k):
    """A step off breakpoint k that stays inside both neighbouring segments."""
    xs = [s.start] + [b.value for b in s.breakpoints] + [s.stop]
    return 0.25 * min(abs(xs[k + 1] - xs[k]), abs(xs[k + 2] - xs[k + 1]))


def rounded_network(seed):
    """A random network with integer sources and resistances and half-volt thresholds.

    Round values make degenerate breakpoints common: several diodes at their
    threshold at once, currents that all vanish at a source value of 0.
    """
    rng = np.random.default_rng(seed)
    net = random_network(int(rng.integers(6, 25)), seed=seed, n_isources=2, floating_fraction=0.5,
                         threshold_fraction=0.5, diode_fraction=0.6, extra_edges=1.0)
    for e in net.elements():
        if e.kind in ("vsource", "isource"):
            net.set_value(e.name, float(np.round(e.value)))
        elif e.kind == "diode":
            net.set_value(e.name, float(np.round(e.value * 2) / 2))
        else:
            net.set_value(e.name, float(np.round(e.value)) or 1.0)
    return net


def check_against_solve(net, source, lo, hi, rng, points=200):
    """The sweep equals solve at random values, and solve's conducting set changes at every breakpoint."""
    s = feasible_part(net, source, lo, hi)
    work = net.copy()
    x = rng.uniform(min(s.start, s.stop), max(s.start, s.stop), points)
    for xi, v in zip(x, s.voltages(x)):
        work.set_value(source, xi)
        sol = solve(work)
        np.testing.assert_allclose(v, sol.node_voltages, rtol=0, atol=1e-9)
        assert set(s.conducting(xi)) == set(sol.active_diodes) or _near_breakpoint(s, xi)
    direction = 1 if s.stop >= s.start else -1
    for k, b in enumerate(s.breakpoints):
        d = _gap(s, k) * direction
        sets = []
        for xi in (b.value - d, b.value + d):
            work.set_value(source, xi)
            sets.append(set(solve(work).active_diodes))
        assert sets[0] != sets[1], f"no change of conducting set at {b}"
        assert sets[1] - sets[0] == set(b.switched_on) and sets[0] - sets[1] == set(b.switched_off)
    return s


@pytest.mark.parametrize("seed", range(8))
def test_random_networks_match_solve(seed):
    rng = np.random.default_rng(1000 + seed)
    net = random_network(int(rng.integers(15, 40)), seed=seed, n_isources=2, floating_fraction=0.5,
                         threshold_fraction=0.5)
    sources = [e for e in net.elements() if e.kind in ("vsource", "isource")]
    source = sources[int(rng.integers(len(sources)))]
    lo, hi = source.value - 3.0, source.value + 3.0
    if seed % 2:
        lo, hi = hi, lo
    check_against_solve(net, source.name, lo, hi, rng)


@pytest.mark.parametrize("seed", [24, 26, 36, 45])  # each had degenerate breakpoints
def test_degenerate_random_networks(seed):
    net = rounded_network(seed)
    sources = [e for e in net.elements() if e.kind in ("vsource", "isource")]
    source = sources[seed % len(sources)]
    rng = np.random.default_rng(seed)
    for lo, hi in ((source.value - 3, source.value + 3), (source.value + 3, source.value - 3)):
        check_against_solve(net, source.name, lo, hi, rng, points=40)


def _near_breakpoint(s, x):
    # a diode whose current is below solve's tolerance near its knee may be listed either way
    return any(abs(x - b.value) < 1e-6 * (1 + abs(b.value)) for b in s.breakpoints)


@pytest.mark.parametrize("seed", range(6))
def test_tiny_networks_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    net = random_network(5, seed=100 + seed, extra_edges=1.2, diode_fraction=0.7, n_isources=1,
                         n_vsources=3, floating_fraction=0.0)
    source = net.elements("vsource")[0]
    work = net.copy()
    for stop in (source.value - 2.0, source.value + 2.0):  # from a feasible value outwards
        s = feasible_part(net, source.name, source.value, stop)
        for xi in rng.uniform(min(s.start, s.stop), max(s.start, s.stop), 10):
            work.set_value(source.name, xi)
            volts, _ = brute_force_solve(work)
            got = s.voltages(xi)
            for k, node in enumerate(s.nodes):
                assert got[k] == pytest.approx(volts[node], abs=1e-9)


# ------------------------------------------------------------------ sampled sweeps and API
def test_sampled_resistor_sweep_matches_solve():
    net = clipper()
    r = [100.0, 1e3, 1e4]
    net.set_value("V1", 3.0)
    s = sweep(net, "RL", values=r)
    # out = 3 RL/(1k + RL) unless above 0.7: 0.2727 V, then clamped at 0.7 twice
    np.testing.assert_allclose(s.voltage("out"), [3 * 100 / 1100, 0.7, 0.7], atol=1e-12)
    assert s.conducting == [(), ("D1",), ("D1",)]
    assert s.quantity == {"RL": "resistance"}


def test_grid_of_two_sources():
    net, _, _ = diode_or(0.0, 0.0)
    a, b = [e.name for e in net.elements("vsource")]
    s = sweep(net, (a, b), values=([0.0, 1.0, 2.0], [0.5, 1.5]))
    assert s.points.tolist() == [[0, 0.5], [1, 0.5], [2, 0.5], [0, 1.5], [1, 1.5], [2, 1.5]]
    np.testing.assert_allclose(s.voltage("out"), s.points.max(axis=1), atol=1e-12)


def test_threshold_sweep():
    net = clipper()
    net.set_value("V1", 5.0)
    s = sweep(net, "D1", values=[0.5, 1.0, 3.0])
    np.testing.assert_allclose(s.voltage("out"), [0.5, 1.0, 2.5], atol=1e-12)


def test_records_and_csv():
    s = sweep(clipper(), "V1", 0.0, 2.0)
    records = s.to_records(nodes=["out"], elements=["D1"])
    assert records == [{"V1": 0.0, "v(out)": 0.0, "i(D1)": 0.0},
                       {"V1": 1.4, "v(out)": pytest.approx(0.7), "i(D1)": 0.0},
                       {"V1": 2.0, "v(out)": pytest.approx(0.7), "i(D1)": pytest.approx(0.6e-3)}]
    rows = list(csv.DictReader(io.StringIO(s.to_csv(x=[0.5, 1.0]))))
    assert [float(r["v(out)"]) for r in rows] == pytest.approx([0.25, 0.5])
    assert "i(R1)" in rows[0]


def test_network_is_not_modified():
    net = clipper()
    before = net.element("V1").value
    sweep(net, "V1", -1.0, 1.0)
    assert net.element("V1").value == before


@pytest.mark.parametrize("call, error, words", [
    (lambda n: sweep(n, "R1", 0.0, 1.0), TypeError, "values="),
    (lambda n: sweep(n, "V1", 0.0, 1.0, values=[1]), TypeError, "not both"),
    (lambda n: sweep(n, "V1", 0.0), TypeError, "start and stop"),
    (lambda n: sweep(n, "V1", 0.0, float("nan")), ValueError, "finite"),
    (lambda n: sweep(n, "Vx", 0.0, 1.0), UnknownElementError, "Vx"),
    (lambda n: sweep(n, "V1", values=[]), ValueError, "non-empty"),
    (lambda n: sweep(n, "RL", values=[-1.0]), ValueError, "positive"),
    (lambda n: sweep(n, "V1", -1.0, 1.0).voltages(2.0), ValueError, "range"),
])
def test_bad_arguments(call, error, words):
    with pytest.raises(error, match=words):
        call(clipper())
