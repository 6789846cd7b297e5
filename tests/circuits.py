"""Named circuits with answers worked out by hand (derivations in the docstrings).

Each function returns ``(net, expected_voltages, expected_currents)``; the
expected numbers come from circuit analysis, never from the solver.
"""

from solver import Network


def voltage_divider():
    """10 V over 1 k and 3 k in series.

    I = 10 / 4k = 2.5 mA, v(mid) = 3k * 2.5 mA = 7.5 V; the source delivers
    the current, so its SPICE current (p -> n through it) is -2.5 mA.
    """
    net = Network()
    net.add_voltage_source("in", "0", 10.0, name="V1")
    net.add_resistor("in", "mid", resistance=1e3, name="R1")
    net.add_resistor("mid", "0", resistance=3e3, name="R2")
    return net, {"in": 10.0, "mid": 7.5}, {"V1": -2.5e-3, "R1": 2.5e-3, "R2": 2.5e-3}


def wheatstone_unbalanced():
    """12 V bridge: R1 top-a 1k, R2 a-0 2k, R3 top-b 3k, R4 b-0 3k, R5 a-b 1k.

    Open-circuit: v(a) = 12*2/3 = 8 V, v(b) = 12*3/6 = 6 V; Thevenin
    resistances 1k||2k = 2/3 k and 3k||3k = 3/2 k. I5 = (8-6)/(2/3+3/2+1) k
    = 12/19 mA, v(a) = 8 - (12/19)(2/3) = 144/19 V, v(b) = 6 + (12/19)(3/2)
    = 132/19 V.
    """
    net = Network()
    net.add_voltage_source("top", "0", 12.0, name="V1")
    net.add_resistor("top", "a", resistance=1e3, name="R1")
    net.add_resistor("a", "0", resistance=2e3, name="R2")
    net.add_resistor("top", "b", resistance=3e3, name="R3")
    net.add_resistor("b", "0", resistance=3e3, name="R4")
    net.add_resistor("a", "b", resistance=1e3, name="R5")
    return net, {"a": 144 / 19, "b": 132 / 19}, {"R5": 12 / 19 * 1e-3}


def wheatstone_balanced():
    """R1/R2 = R3/R4 = 1/2: both midpoints at 12 * 2/3 = 8 V, no bridge current."""
    net = Network()
    net.add_voltage_source("top", "0", 12.0, name="V1")
    net.add_resistor("top", "a", resistance=1e3, name="R1")
    net.add_resistor("a", "0", resistance=2e3, name="R2")
    net.add_resistor("top", "b", resistance=3e3, name="R3")
    net.add_resistor("b", "0", resistance=6e3, name="R4")
    net.add_resistor("a", "b", resistance=5e2, name="R5")
    return net, {"a": 8.0, "b": 8.0}, {"R5": 0.0}


def series_parallel():
    """9 V, 1 k in series with (2 k || 2 k || (500 + 500)).

    The parallel part is 1/(1/2 + 1/2 + 1/1) k = 0.5 k, so v(mid) = 9 * 0.5/1.5
    = 3 V, and the 500-500 string halves it: v(tap) = 1.5 V.
    """
    net = Network()
    net.add_voltage_source("in", "0", 9.0)
    net.add_resistor("in", "mid", resistance=1e3)
    net.add_resistor("mid", "0", resistance=2e3)
    net.add_resistor("mid", "0", resistance=2e3)
    net.add_resistor("mid", "tap", resistance=500.0)
    net.add_resistor("tap", "0", resistance=500.0)
    return net, {"mid": 3.0, "tap": 1.5}, {}


def current_source_load():
    """1 mA pushed into x (source from ground to x) through 1 k || 1 k: v(x) = 0.5 V."""
    net = Network()
    net.add_current_source("0", "x", 1e-3, name="I1")
    net.add_resistor("x", "0", resistance=1e3)
    net.add_resistor("x", "0", resistance=1e3)
    return net, {"x": 0.5}, {"I1": 1e-3}


def floating_source():
    """2 V between a and b, each 1 k to ground: v(a) = 1, v(b) = -1.

    KCL at a: 1 mA leaves into the resistor, so the source current (a -> b
    through it) is -1 mA.
    """
    net = Network()
    net.add_voltage_source("a", "b", 2.0, name="V1")
    net.add_resistor("a", "0", resistance=1e3)
    net.add_resistor("b", "0", resistance=1e3)
    return net, {"a": 1.0, "b": -1.0}, {"V1": -1e-3}


def diode_clipper(vin=5.0, load=True):
    """vin -> 1 k -> out, diode out -> 0 (0.7 V), optional 1 k load.

    With the load, the unclipped output is vin/2. For vin = 5 it would be
    2.5 V > 0.7 V, so the diode clamps: v(out) = 0.7 V and
    I_D = (5 - 0.7)/1k - 0.7/1k = 3.6 mA. For vin = 1 the output 0.5 V stays
    below 0.7 V: diode off. Negative inputs never forward-bias it.
    """
    net = Network()
    net.add_voltage_source("in", "0", vin, name="V1")
    net.add_resistor("in", "out", resistance=1e3, name="R1")
    net.add_diode("out", "0", threshold=0.7, name="D1")
    if load:
        net.add_resistor("out", "0", resistance=1e3, name="RL")
    free = vin / 2 if load else vin
    if free > 0.7:
        out = 0.7
        i_d = (vin - 0.7) / 1e3 - (0.7 / 1e3 if load else 0.0)
    else:
        out, i_d = free, 0.0
    return net, {"out": out}, {"D1": i_d}


def limiter(vin):
    """Two anti-parallel 0.7 V diodes to ground after 1 k: v(out) = clip(vin, -0.7, 0.7)."""
    net = Network()
    net.add_voltage_source("in", "0", vin)
    net.add_resistor("in", "out", resistance=1e3)
    net.add_diode("out", "0", threshold=0.7, name="Dup")
    net.add_diode("0", "out", threshold=0.7, name="Ddown")
    out = max(-0.7, min(0.7, vin))
    return net, {"out": out}, {"Dup": max(0.0, (vin - 0.7) / 1e3), "Ddown": max(0.0, (-0.7 - vin) / 1e3)}


def half_wave_rectifier(vin, threshold=0.0):
    """vin -> diode (threshold) -> out -> 1 k load.

    Forward (vin > threshold): v(out) = vin - threshold, I = v(out)/1k.
    Reverse: no current, v(out) = 0 and the diode blocks.
    """
    net = Network()
    net.add_voltage_source("in", "0", vin)
    net.add_diode("in", "out", threshold=threshold, name="D1")
    net.add_resistor("out", "0", resistance=1e3, name="RL")
    out = max(0.0, vin - threshold)
    return net, {"out": out}, {"D1": out / 1e3}


def bridge_rectifier(vs, threshold=0.0):
    """Floating source vs between a and b; D1 a->p, D2 b->p, D3 0->a, D4 0->b; 1 k load p->0.

    A 1 MOhm resistor from b to ground fixes the otherwise undetermined
    common-mode potential. For vs > 0 the optimum pushes b down until D4
    conducts (v(b) = -threshold), a = b + vs and D1 passes it on:
    v(p) = vs - 2 threshold. For vs < 0 the roles swap (D3 and D2) and
    v(p) = |vs| - 2 threshold: full-wave rectification either way.
    """
    net = Network()
    net.add_voltage_source("a", "b", vs, name="VS")
    net.add_diode("a", "p", threshold=threshold, name="D1")
    net.add_diode("b", "p", threshold=threshold, name="D2")
    net.add_diode("0", "a", threshold=threshold, name="D3")
    net.add_diode("0", "b", threshold=threshold, name="D4")
    net.add_resistor("p", "0", resistance=1e3, name="RL")
    net.add_resistor("b", "0", resistance=1e6, name="Rref")
    out = max(0.0, abs(vs) - 2 * threshold)
    return net, {"p": out}, {"RL": out / 1e3}


def diode_or(va, vb, threshold=0.0):
    """Diodes from inputs A and B to out, 10 k pull-down: v(out) = max(va, vb, threshold) - threshold."""
    net = Network()
    net.add_voltage_source("A", "0", va)
    net.add_voltage_source("B", "0", vb)
    net.add_diode("A", "out", threshold=threshold)
    net.add_diode("B", "out", threshold=threshold)
    net.add_resistor("out", "0", resistance=1e4)
    return net, {"out": max(va - threshold, vb - threshold, 0.0)}, {}


def diode_and(va, vb, vcc=5.0, threshold=0.0):
    """Diodes from out to inputs A and B, 10 k pull-up to vcc: v(out) = min(va, vb, vcc - thr) + thr."""
    net = Network()
    net.add_voltage_source("vcc", "0", vcc)
    net.add_voltage_source("A", "0", va)
    net.add_voltage_source("B", "0", vb)
    net.add_diode("out", "A", threshold=threshold)
    net.add_diode("out", "B", threshold=threshold)
    net.add_resistor("vcc", "out", resistance=1e4)
    return net, {"out": min(va + threshold, vb + threshold, vcc)}, {}


def stall():
    """The coordinate-descent stall: V1 s 0 1; R1 s a 1; R2 b 0 1; D1 a b.

    With D1 conducting, a and b are one node between 1 ohm to 1 V and 1 ohm
    to ground: v(a) = v(b) = 0.5 V and 0.5 A flows through D1. Per-node
    updates from zero never move: a alone is capped at v(b) = 0, b alone
    wants 0.
    """
    net = Network()
    net.add_voltage_source("s", "0", 1.0, name="V1")
    net.add_resistor("s", "a", 1.0, name="R1")
    net.add_resistor("b", "0", 1.0, name="R2")
    net.add_diode("a", "b", name="D1")
    return net, {"a": 0.5, "b": 0.5}, {"D1": 0.5}


def diode_chain():
    """5 V -> 1 k -> a, then diodes a->b->c->0 (0.7 V each), 1 k from b and from c to ground.

    All conduct: v(c) = 0.7, v(b) = 1.4, v(a) = 2.1. Currents: 2.9 mA into a
    through D1; b keeps 1.4 mA, so D2 carries 1.5 mA; c keeps 0.7 mA, so D3
    carries 0.8 mA (all >= 0, so this state is the optimum).
    """
    net = Network()
    net.add_voltage_source("s", "0", 5.0)
    net.add_resistor("s", "a", resistance=1e3)
    net.add_diode("a", "b", threshold=0.7, name="D1")
    net.add_diode("b", "c", threshold=0.7, name="D2")
    net.add_diode("c", "0", threshold=0.7, name="D3")
    net.add_resistor("b", "0", resistance=1e3)
    net.add_resistor("c", "0", resistance=1e3)
    return net, {"a": 2.1, "b": 1.4, "c": 0.7}, {"D1": 2.9e-3, "D2": 1.5e-3, "D3": 0.8e-3}


def diode_cycle():
    """Diodes a->b, b->c, c->a force a = b = c: one node fed by 1 k from 1 V, 1 k + 1 k to ground.

    v = 1 * (1k || 1k) / (1k + 1k || 1k) = 1/3 V at all three.
    """
    net = Network()
    net.add_voltage_source("s", "0", 1.0)
    net.add_resistor("s", "a", resistance=1e3)
    net.add_resistor("b", "0", resistance=1e3)
    net.add_resistor("c", "0", resistance=1e3)
    net.add_diode("a", "b")
    net.add_diode("b", "c")
    net.add_diode("c", "a")
    return net, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, {}


ANALYTIC = {
    "voltage_divider": voltage_divider,
    "wheatstone_unbalanced": wheatstone_unbalanced,
    "wheatstone_balanced": wheatstone_balanced,
    "series_parallel": series_parallel,
    "current_source_load": current_source_load,
    "floating_source": floating_source,
    "clipper_on": lambda: diode_clipper(5.0),
    "clipper_off": lambda: diode_clipper(1.0),
    "clipper_negative": lambda: diode_clipper(-3.0),
    "clipper_no_load": lambda: diode_clipper(5.0, load=False),
    "limiter_high": lambda: limiter(3.0),
    "limiter_low": lambda: limiter(-2.0),
    "limiter_pass": lambda: limiter(0.3),
    "half_wave_forward": lambda: half_wave_rectifier(5.0),
    "half_wave_reverse": lambda: half_wave_rectifier(-5.0),
    "half_wave_threshold": lambda: half_wave_rectifier(5.0, 0.7),
    "bridge_positive": lambda: bridge_rectifier(10.0),
    "bridge_negative": lambda: bridge_rectifier(-10.0),
    "bridge_threshold": lambda: bridge_rectifier(-10.0, 0.7),
    "or_01": lambda: diode_or(0.0, 5.0),
    "or_10": lambda: diode_or(5.0, 0.0),
    "or_00": lambda: diode_or(0.0, 0.0),
    "or_threshold": lambda: diode_or(3.0, 5.0, 0.6),
    "and_11": lambda: diode_and(5.0, 5.0),
    "and_01": lambda: diode_and(0.0, 5.0),
    "and_threshold": lambda: diode_and(2.0, 5.0, threshold=0.6),
    "stall": stall,
    "diode_chain": diode_chain,
    "diode_cycle": diode_cycle,
}
