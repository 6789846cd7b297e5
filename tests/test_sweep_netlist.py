""".dc in netlists: run_netlist reads and runs it; ngspice's .dc on the same deck agrees within its diode model.

The bound (see solver/circuits/spice.py): ngspice's diodes stand a fraction
of a mV above their threshold when they conduct, so its node voltages differ
from the ideal ones by at most the sum of those forward drops, which we read
from ngspice's own node voltages at each point, plus its convergence
tolerance (reltol 1e-6 of the voltages), plus what the leakage of its
blocking diodes (IS + GMIN |V|, 1e-12 A + 1e-12 S) can shift a node: at most
that current times the sum of all resistances (a path to ground), which
matters only behind the 1 MOhm of the bridge.
"""

import warnings

import numpy as np
import pytest

from solver import NetlistError, NetlistWarning, Network, read_netlist, run_netlist
from solver.circuits.generators import random_network
from solver.circuits.spice import ngspice_available
from solver.circuits.spice_sweep import ngspice_dc_deck, run_ngspice_dc
from tests.circuits import bridge_rectifier, limiter

CLIPPER = """clipper
V1 in 0 DC 0
R1 in out 1k
D1 out D1_th DIDEAL
VD1_th D1_th 0 DC 0.7
RL out 0 1k
.model DIDEAL D(IS=1e-12 N=0.001)
.op
.dc V1 -2 3 0.5
.end
"""


def test_dc_line_runs_exactly():
    run = run_netlist(CLIPPER)
    op, dc = run.analyses
    assert op.voltages["out"] == 0.0
    x = np.arange(-2, 3.0001, 0.5)
    np.testing.assert_allclose(dc.points[:, 0], x)
    # unclipped out = vin/2; D1 (0.7 V) clamps it from vin = 1.4
    np.testing.assert_allclose(dc.voltage("out"), np.minimum(x / 2, 0.7), atol=1e-12)
    assert [(round(b.value, 12), b.switched_on) for b in dc.sweeps[0].breakpoints] == [(1.4, ("D1",))]
    assert dc.table.to_records(nodes=["out"], elements=[])[-1] == {"V1": 3.0, "v(out)": pytest.approx(0.7)}


def test_dc_sweeps_down_and_of_a_resistor_and_in_two_sources(tmp_path):
    deck = CLIPPER.replace(".dc V1 -2 3 0.5", ".dc V1 3 -2 -1\n.dc RL 1k 3k 1k\n.dc V1 0 2 1 RL 1k 2k 1k")
    path = tmp_path / "deck.cir"
    path.write_text(deck)
    down, resistor, grid = run_netlist(path).dc
    np.testing.assert_allclose(down.voltage("out"), np.minimum(np.arange(3, -2.5, -1) / 2, 0.7), atol=1e-12)
    assert down.sweeps[0].breakpoints[0].switched_off == ("D1",)
    # vin = 0 (op value), RL sweep: out = 0 whatever RL
    np.testing.assert_allclose(resistor.voltage("out"), 0.0, atol=1e-15)
    assert resistor.table.quantity == {"RL": "resistance"}
    # grid of V1 (fastest) and RL: out = vin RL/(1k + RL) below the clamp
    assert grid.points.tolist() == [[0, 1e3], [1, 1e3], [2, 1e3], [0, 2e3], [1, 2e3], [2, 2e3]]
    np.testing.assert_allclose(grid.voltage("out"), [0, 0.5, 0.7, 0, 2 / 3, 0.7], atol=1e-12)


def test_grid_of_two_sources_first_fastest():
    deck = """gate
VA a 0 0
VB b 0 0
DA a out DIDEAL
DB b out DIDEAL
R1 out 0 10k
.model DIDEAL D(IS=1e-12 N=0.001)
.dc VA 0 2 1 VB 0 1 0.5
.end
"""
    dc = run_netlist(deck).dc[0]
    assert dc.points.tolist() == [[0, 0], [1, 0], [2, 0], [0, 0.5], [1, 0.5], [2, 0.5], [0, 1], [1, 1], [2, 1]]
    np.testing.assert_allclose(dc.voltage("out"), dc.points.max(axis=1), atol=1e-12)  # OR gate
    assert len(dc.sweeps) == 3


def test_control_block_is_skipped_with_a_warning():
    deck = CLIPPER.replace(".end", ".control\nrun\nplot v(out)\nlet x = 2\n.endc\n.end")
    with pytest.warns(NetlistWarning, match=r"<string>:10: skipping the \.control"):
        net = read_netlist(deck)
    assert len(net) == 4
    with pytest.warns(NetlistWarning):
        run = run_netlist(deck)
    assert len(run.dc) == 1


@pytest.mark.parametrize("line, words", [
    (".dc V9 0 1 0.1", "'V9' is not an element"),
    (".dc D1 0 1 0.1", "a diode"),
    (".dc V1 0 1 0", "non-zero step"),
    (".dc V1 0 1 -0.1", "flip its sign"),
    (".dc V1 0 1", "SRC START STOP STEP"),
    (".dc V1 0 1 x", "malformed"),
    (".dc V1 0 1 0.5 V1 0 1 0.5", "twice"),
])
def test_bad_dc_lines_name_the_line(line, words):
    deck = CLIPPER.replace(".dc V1 -2 3 0.5", line)
    with pytest.raises(NetlistError, match=words) as info:
        run_netlist(deck)
    assert info.value.line == 9 and info.value.text == line


def test_other_analyses_keep_their_error():
    with pytest.raises(NetlistError, match="analysis .tran"):
        run_netlist(CLIPPER.replace(".op", ".tran 1n 1u"))


# ------------------------------------------------------------------ against ngspice
needs_ngspice = pytest.mark.skipif(not ngspice_available(), reason="ngspice is not installed")


def assert_agrees_with_ngspice(net, source, start, stop, step):
    deck = ngspice_dc_deck(net, source, start, stop, step)
    ours = run_netlist(deck).dc[0]
    theirs = run_ngspice_dc(deck)
    np.testing.assert_allclose(theirs.sweep_values, ours.points[:, 0], atol=1e-12)
    volts = {node: theirs.vectors.get(f"v({str(node).lower()})") for node in ours.table.nodes}
    volts = {node: (np.zeros_like(theirs.sweep_values) if node == "0" else v) for node, v in volts.items()}
    forward = np.zeros(theirs.sweep_values.size)
    for d in net.elements("diode"):
        forward += np.maximum(volts[d.p] - volts[d.n] - d.value, 0.0)
    scale = np.max(np.abs(ours.table.node_voltages), axis=1)
    resistance = sum(1.0 / r.value for r in net.elements("resistor"))
    leakage = len(net.elements("diode")) * (1e-12 + 1e-12 * scale) * resistance
    worst = 0.0
    for k, node in enumerate(ours.table.nodes):
        ideal = ours.table.node_voltages[:, k]
        bound = forward + 1e-6 * scale + leakage + 1e-9
        gap = np.abs(volts[node] - ideal)
        assert np.all(gap <= bound), f"node {node}: gap {gap.max():.3g} V above bound"
        worst = max(worst, float(gap.max()))
    return worst


@needs_ngspice
@pytest.mark.parametrize("circuit", ["clipper", "limiter", "bridge"])
def test_dc_matches_ngspice_on_hand_circuits(circuit):
    if circuit == "clipper":
        net = read_netlist(CLIPPER)
        source, span = "V1", (-2, 3, 0.01)
    elif circuit == "limiter":
        net, _, _ = limiter(0.0)
        source, span = net.elements("vsource")[0].name, (-3, 3, 0.01)
    else:
        net, _, _ = bridge_rectifier(0.0, threshold=0.6)
        source, span = "VS", (-4, 4, 0.02)
    worst = assert_agrees_with_ngspice(net, source, *span)
    assert worst < 2e-3  # at most two conducting diodes in series, each a fraction of a mV above threshold


@needs_ngspice
@pytest.mark.parametrize("seed", range(3))
def test_dc_matches_ngspice_on_random_networks(seed):
    net = random_network(25, seed=seed, n_isources=1, floating_fraction=0.0, threshold_fraction=0.5)
    source = net.elements("vsource")[0]
    start, stop = source.value, source.value + 1.0
    try:
        run_netlist(ngspice_dc_deck(net, source.name, start, stop, 0.05))
    except Exception as e:  # noqa: BLE001 - an infeasible range: sweep the other way
        if "steady state" not in str(e):
            raise
        stop = source.value - 1.0
    assert_agrees_with_ngspice(net, source.name, start, stop, 0.05 if stop > start else -0.05)


@needs_ngspice
def test_two_source_dc_matches_ngspice():
    net = Network()
    net.add_voltage_source("a", "0", 0.0, name="VA")
    net.add_voltage_source("b", "0", 0.0, name="VB")
    net.add_diode("a", "out", threshold=0.3, name="DA")
    net.add_diode("b", "out", threshold=0.3, name="DB")
    net.add_resistor("out", "0", resistance=1e4, name="R1")
    deck = ngspice_dc_deck(net, "VA", 0, 2, 0.1).replace(".dc VA 0 2 0.1", ".dc VA 0 2 0.1 VB 0 1 0.25")
    ours = run_netlist(deck).dc[0]
    theirs = run_ngspice_dc(deck)
    np.testing.assert_allclose(theirs.sweep_values, ours.points[:, 0], atol=1e-12)
    gap = np.abs(theirs.vectors["v(out)"] - ours.voltage("out"))
    assert gap.max() < 1e-3
