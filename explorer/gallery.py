"""Built-in example circuits, built in code, each with a hand-made layout.

Every builder returns a :class:`solver.Network` whose nodes carry ``x``/``y``
attributes (the explorer's layout). ``EXAMPLES`` maps a short name to the
builder and a one-line description; :func:`build` makes one by name.
"""

from __future__ import annotations

import numpy as np

from solver import Network
from solver.circuits.generators import grid_edges
from solver.learning.drn import DRN

__all__ = ["EXAMPLES", "build", "describe", "mesh"]


def _place(net, positions):
    for node, (x, y) in positions.items():
        net.add_node(node, x=float(x), y=float(y))
    return net


def divider() -> Network:
    """10 V across 1 kΩ and 3 kΩ: ``mid`` sits at 10 * 3/4 = 7.5 V."""
    net = Network()
    net.add_voltage_source("in", "0", 10.0, name="V1")
    net.add_resistor("in", "mid", resistance=1e3, name="R1")
    net.add_resistor("mid", "0", resistance=3e3, name="R2")
    return _place(net, {"in": (0, 1), "mid": (2, 1), "0": (1, 0)})


def wheatstone() -> Network:
    """A Wheatstone bridge: R5 carries current unless R1/R3 == R2/R4."""
    net = Network()
    net.add_voltage_source("top", "0", 10.0, name="V1")
    net.add_resistor("top", "a", resistance=1e3, name="R1")
    net.add_resistor("top", "b", resistance=1e3, name="R2")
    net.add_resistor("a", "0", resistance=1e3, name="R3")
    net.add_resistor("b", "0", resistance=1.5e3, name="R4")
    net.add_resistor("a", "b", resistance=500.0, name="R5")
    return _place(net, {"top": (0, 3), "a": (1.2, 1.5), "b": (2.8, 1.5), "0": (0, 0)})


def clipper() -> Network:
    """A diode clipper: the output is held between -0.7 V and +0.7 V."""
    net = Network()
    net.add_voltage_source("in", "0", 5.0, name="Vin")
    net.add_resistor("in", "out", resistance=1e3, name="R1")
    net.add_diode("out", "0", threshold=0.7, name="D1")
    net.add_diode("0", "out", threshold=0.7, name="D2")
    net.add_resistor("out", "0", resistance=10e3, name="Rload")
    return _place(net, {"in": (0, 1.5), "out": (2, 1.5), "0": (1, 0)})


def bridge_rectifier() -> Network:
    """A full-wave bridge: either polarity of Vac gives a positive ``out`` (two 0.7 V drops)."""
    net = Network()
    net.add_voltage_source("s", "ac2", 5.0, name="Vac")
    net.add_resistor("s", "ac1", resistance=10.0, name="Rs")
    net.add_resistor("ac1", "0", resistance=1e6, name="Rleak1")
    net.add_resistor("ac2", "0", resistance=1e6, name="Rleak2")
    net.add_diode("ac1", "out", threshold=0.7, name="D1")
    net.add_diode("ac2", "out", threshold=0.7, name="D2")
    net.add_diode("0", "ac1", threshold=0.7, name="D3")
    net.add_diode("0", "ac2", threshold=0.7, name="D4")
    net.add_resistor("out", "0", resistance=1e3, name="Rload")
    return _place(net, {"ac1": (0, 1.2), "ac2": (2, 1.2), "out": (1, 2.4), "0": (1, 0), "s": (-1.5, 1.2)})


def diode_logic() -> Network:
    """Diode OR and AND gates on inputs A = 5 V, B = 0 V (0.7 V drops)."""
    net = Network()
    net.add_voltage_source("A", "0", 5.0, name="VA")
    net.add_voltage_source("B", "0", 0.0, name="VB")
    net.add_voltage_source("vcc", "0", 5.0, name="Vcc")
    net.add_diode("A", "or", threshold=0.7, name="Dor_A")
    net.add_diode("B", "or", threshold=0.7, name="Dor_B")
    net.add_resistor("or", "0", resistance=10e3, name="Ror")
    net.add_diode("and", "A", threshold=0.7, name="Dand_A")
    net.add_diode("and", "B", threshold=0.7, name="Dand_B")
    net.add_resistor("vcc", "and", resistance=10e3, name="Rand")
    return _place(net, {"A": (0, 2), "B": (0, 0.5), "vcc": (2, 2.8), "or": (-1.5, 1.2),
                        "and": (1.6, 1.2), "0": (0, -0.8)})


def resistor_ladder(bits=4) -> Network:
    """An R-2R ladder DAC: ``out`` = 5 V * code / 2**bits for the bits set (here 1010)."""
    net = Network()
    # a textbook ladder: the rail on top, 2R rungs down to the bit sources, ground along the bottom
    positions = {"0": (-1.2, 0)}
    code = [0, 1, 0, 1] + [0] * max(0, bits - 4)
    for k in range(bits):
        net.add_voltage_source(f"b{k}", "0", 5.0 * code[k], name=f"Vb{k}")
        net.add_resistor(f"b{k}", f"t{k}", resistance=2e3, name=f"R2_{k}")
        positions[f"b{k}"] = (1.6 * k, 1.2)
        positions[f"t{k}"] = (1.6 * k, 2.4)
        if k:
            net.add_resistor(f"t{k - 1}", f"t{k}", resistance=1e3, name=f"R{k}")
    net.add_resistor("t0", "0", resistance=2e3, name="Rterm")
    net.add_resistor(f"t{bits - 1}", "out", resistance=1.0, name="Rout")
    net.add_resistor("out", "0", resistance=1e9, name="Rmeter")
    positions["out"] = (1.6 * bits, 2.4)
    return _place(net, positions)


def mesh(n_nodes=64, seed=0, diode_fraction=0.15) -> Network:
    """A random resistive mesh of about ``n_nodes`` nodes on a grid, with diodes and two sources.

    Grid edges are resistors of random conductance (log-uniform, 0.2..5 S); a
    ``diode_fraction`` of them get a parallel diode pointing "downhill". The
    top-left corner is driven at +5 V, the bottom-right at -5 V, and ground is
    the bottom-left corner.
    """
    rng = np.random.default_rng(seed)
    cols = max(2, int(round(np.sqrt(n_nodes))))
    rows = max(2, int(np.ceil(n_nodes / cols)))
    net = Network()

    def name(r, c):
        return "0" if (r, c) == (rows - 1, 0) else f"m{r}_{c}"

    for r in range(rows):
        for c in range(cols):
            net.add_node(name(r, c), x=float(c), y=float(rows - 1 - r))
    edges = grid_edges(rows, cols)
    a = [name(r, c) for (r, c), _ in edges]
    b = [name(rr, cc) for _, (rr, cc) in edges]
    g = np.exp(rng.uniform(np.log(0.2), np.log(5.0), size=len(a)))
    net.add_resistors(a, b, g)
    for k in np.flatnonzero(rng.random(len(a)) < diode_fraction):
        # the source plane falls with r + c: diodes from the far node back are feasible
        net.add_diode(b[k], a[k])
    net.add_voltage_source(name(0, 0), "0", 5.0, name="Vplus")
    net.add_voltage_source(name(rows - 1, cols - 1), "0", -5.0, name="Vminus")
    return net


def cd_stall() -> Network:
    """The case where plain coordinate descent stalls: a conducting diode between two free nodes.

    Exact answer: the diode conducts and a = b = 0.5 V; coordinate descent
    moves a and b one at a time and stops at a = b short of it.
    """
    net = Network()
    net.add_voltage_source("s", "0", 1.0, name="V1")
    net.add_resistor("s", "a", resistance=1.0, name="R1")
    net.add_diode("a", "b", name="D1")
    net.add_resistor("b", "0", resistance=1.0, name="R2")
    return _place(net, {"s": (0, 1.2), "a": (1.2, 1.2), "b": (2.4, 1.2), "0": (1.2, 0)})


def small_drn() -> Network:
    """A small deep resistive network (2 inputs, 4 hidden nodes, 1 output) on input (1, 0).

    Built by :class:`solver.learning.drn.DRN` (the paper's encoding: sources at
    ``cat(x, -x)``; hidden nodes 0-1 excitatory, 2-3 inhibitory; zero biases),
    with every weight drawn in [0.05, 0.5] S so that each resistor conducts.
    """
    drn = DRN([4, 4, 1], input_gain=1.0, seed=1, dtype=np.float64)
    rng = np.random.default_rng(1)
    drn.weights = [rng.uniform(0.05, 0.5, W.shape) for W in drn.weights]
    net = drn.to_network([[1.0, 0.0]])
    for depth, n in enumerate(drn.layer_sizes):
        for k in range(n):
            net.add_node(drn.node_name(depth, k), x=2.0 * depth, y=float(n - 1) / 2 - k)
    net.add_node("0", x=2.0, y=-3.5)
    return net


#: name -> (builder, description)
EXAMPLES = {
    "divider": (divider, "Voltage divider: 10 V across 1 kΩ and 3 kΩ"),
    "wheatstone": (wheatstone, "Wheatstone bridge with an unbalanced arm"),
    "clipper": (clipper, "Diode clipper holding the output within ±0.7 V"),
    "bridge rectifier": (bridge_rectifier, "Full-wave bridge rectifier (flip Vac's sign)"),
    "diode logic": (diode_logic, "Diode OR and AND gates"),
    "resistor ladder": (resistor_ladder, "4-bit R-2R ladder DAC"),
    "random mesh": (mesh, "Random 8x8 resistive mesh with diodes"),
    "small DRN": (small_drn, "A small deep resistive network (2-4-1)"),
    "cd stall": (cd_stall, "Diode between two free nodes: coordinate descent stalls"),
}


def build(name) -> Network:
    """Build the example called ``name`` (see ``EXAMPLES``); also accepts ``-``/``_`` for spaces."""
    key = _key(name)
    if key not in EXAMPLES:
        raise KeyError(f"no example {name!r}; choose one of: {', '.join(EXAMPLES)}")
    return EXAMPLES[key][0]()


def describe(name) -> str:
    return EXAMPLES[_key(name)][1]


def _key(name):
    name = str(name).strip()
    if name in EXAMPLES:
        return name
    spaced = name.replace("-", " ").replace("_", " ").lower()
    for key in EXAMPLES:
        if key.lower() == spaced:
            return key
    return name
