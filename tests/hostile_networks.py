"""Networks at the edges of float64, for the certificate's regression and fuzz tests.

Each builder takes plain numbers (a seed and sizes) so that hypothesis can
draw them; none reads anything from the solver.
"""

from __future__ import annotations

import numpy as np

from solver import Network


def issue13_clamp(current=1e12):
    """Issue 13's four elements: b hangs off a, which a diode clamps at 0.7 V.

    No current can flow into b (its only element is R1), so v(b) = v(a) =
    0.7 V exactly, whatever the source pushes into a.
    """
    net = Network()
    net.add_resistor("b", "a", conductance=0.015438104692408108, name="R1")
    net.add_resistor("a", "0", conductance=20.45901701112429, name="R2")
    net.add_current_source("0", "a", current, name="I1")
    net.add_diode("a", "0", 0.7, name="D1")
    return net


def wide_mesh(seed, n=10, low=-12.0, high=12.0, n_diodes=4, source_exponent=0.0):
    """A random mesh with conductances log-uniform in 10**low..10**high S.

    A resistor spanning tree keeps every node grounded; n more random
    resistors close loops; ``n_diodes`` diodes (thresholds 0, 0.7 V or
    uniform in 0..5 V); a voltage source through its own resistor (so no
    diode is forced forward) and a current source of about 10**source_exponent A.
    """
    rng = np.random.default_rng(seed)
    net = Network()
    nodes = ["0"] + [f"n{i}" for i in range(1, n)]

    def g():
        return float(10 ** rng.uniform(low, high))

    for i in range(1, n):
        net.add_resistor(nodes[i], nodes[int(rng.integers(0, i))], conductance=g())
    for _ in range(n):
        a, b = rng.choice(n, 2, replace=False)
        net.add_resistor(nodes[a], nodes[b], conductance=g())
    for _ in range(n_diodes):
        a, b = rng.choice(n, 2, replace=False)
        net.add_diode(nodes[a], nodes[b], float(rng.choice([0.0, 0.7, rng.uniform(0, 5)])))
    net.add_voltage_source("s", "0", float(rng.uniform(-10, 10)))
    net.add_resistor("s", nodes[int(rng.integers(1, n))], conductance=g())
    a, b = rng.choice(n, 2, replace=False)
    net.add_current_source(nodes[a], nodes[b], float(rng.uniform(0.1, 1) * 10 ** source_exponent))
    return net


def degenerate_cycles(seed, n=6):
    """Loops of 2 or 3 diodes with thresholds 0, 1e-12 or 1e-9 V: nearly degenerate working sets."""
    rng = np.random.default_rng(seed)
    net = Network()
    nodes = ["0"] + [f"n{i}" for i in range(1, n)]
    for i in range(1, n):
        net.add_resistor(nodes[i], nodes[int(rng.integers(0, i))], conductance=float(rng.uniform(0.1, 10)))
    for _ in range(int(rng.integers(2, 5))):
        k = int(rng.integers(2, 4))
        ring = rng.choice(n, k, replace=False)
        for j in range(k):
            net.add_diode(nodes[ring[j]], nodes[ring[(j + 1) % k]], float(rng.choice([0.0, 1e-12, 1e-9])))
    net.add_voltage_source("s", "0", float(rng.uniform(-5, 5)))
    net.add_resistor("s", nodes[int(rng.integers(1, n))], conductance=float(rng.uniform(0.1, 10)))
    a, b = rng.choice(n, 2, replace=False)
    net.add_current_source(nodes[a], nodes[b], float(rng.uniform(0, 2)))
    return net


def diode_chain(n, theta=0.01):
    """A source, 1 ohm, then n diodes in series, every chain node leaking 1e-3/n S to ground.

    All n diodes conduct: node k+1 sits exactly theta below node k, and diode
    k carries the leak current of every node after it.
    """
    net = Network()
    net.add_voltage_source("in", "0", 2 * n * theta + 1, name="V1")
    net.add_resistor("in", "c0", 1.0, name="R0")
    for k in range(n):
        net.add_diode(f"c{k}", f"c{k + 1}", theta, name=f"D{k}")
        net.add_resistor(f"c{k + 1}", "0", conductance=1e-3 / n, name=f"L{k}")
    return net
