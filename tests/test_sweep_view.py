"""The Sweep tab without a browser: what it computes, draws, exports and sets on the circuit.

Expected values are hand calculations on the gallery's clipper: Vin -> R1
(1 k) -> out, Rload 10 k to ground, D1 out -> 0 and D2 0 -> out (0.7 V each).
Unclamped, v(out) = Vin * 10/11, so D1 turns on at Vin = 0.77 and D2 at -0.77.
"""

import csv
import io

import numpy as np
import pytest

from explorer import CircuitExplorer
from explorer.sweep_view import iv_characteristic


@pytest.fixture
def view():
    return CircuitExplorer("clipper", learning=False).sweep_view


def test_source_sweep_marks_and_labels_the_breakpoints(view):
    assert view.element.value == "Vin"
    view.start.value, view.stop.value = -5.0, 5.0
    view.quantities.value = ["v(out)"]
    view.run()
    assert view.marks.data["x"] == pytest.approx([-0.77, 0.77])
    assert view.marks.data["label"] == ["D2 off", "D1 on"]
    assert view.marks.data["y"] == pytest.approx([-0.7, 0.7])
    # one coloured piece per segment: D2 conducting, none, D1 conducting
    assert view.segments.data["on"] == ["D2", "none", "D1"]
    assert len(set(view.segments.data["color"])) == 3
    x = np.array(view.samples.data["x"])
    np.testing.assert_allclose(view.samples.data["y"], np.clip(x * 10 / 11, -0.7, 0.7), atol=1e-12)
    assert 'data-breakpoints="2"' in view.info.object


def test_tap_sets_the_source_on_the_circuit(view):
    view.run()
    assert view.apply(2.0)
    sol = view.store.solution
    assert view.store.network.element("Vin").value == 2.0
    assert sol.voltages["out"] == pytest.approx(0.7) and sol.voltages["in"] == pytest.approx(2.0)
    assert 'data-applied="2.0"' in view.info.object


def test_csv_export_holds_the_curve(view):
    view.start.value, view.stop.value = -5.0, 5.0
    view.run()
    rows = list(csv.DictReader(view._csv()))
    assert [float(r["Vin"]) for r in rows] == pytest.approx([-5, -0.77, 0.77, 5])
    assert [float(r["v(out)"]) for r in rows] == pytest.approx([-0.7, -0.7, 0.7, 0.7])


def test_resistor_sweep_is_sampled(view):
    view.element.value = "Rload"
    view.quantities.value = ["v(out)"]
    view.run()
    assert view.marks.data["x"] == []
    r = np.array(view.samples.data["x"])
    # Vin = 5 V: out = 5 R/(1k + R) until it reaches 0.7 V (R = 162.79 ohm), then clamped
    np.testing.assert_allclose(view.samples.data["y"], np.minimum(5 * r / (1e3 + r), 0.7), atol=1e-12)


def test_iv_of_two_picked_nodes():
    # the divider (10 V, R1 = 1 k to mid, R2 = 3 k to ground) seen between mid and ground
    ex = CircuitExplorer("divider", learning=False)
    view = ex.sweep_view
    ex.store.pick_node("mid")
    ex.store.pick_node("0")
    view.start.value, view.stop.value = 0.0, 10.0
    view.run_iv()
    s, name = view.result[0], view.result[1]
    v = np.linspace(0, 10, 11)
    # Thevenin: 7.5 V behind 1k || 3k = 750 ohm: I into mid = (v - 7.5) / 750
    np.testing.assert_allclose(-s.current(name, v), (v - 7.5) / 750.0, atol=1e-12)


def test_iv_of_a_clamp_stops_where_the_diode_holds(view):
    s, name, notes = iv_characteristic(view.store.network, "out", "0", -2.0, 2.0, anchor=0.0)
    assert (s.start, s.stop) == pytest.approx((-0.7, 0.7))
    assert len(notes) == 2 and "0.7" in notes[1]


def test_errors_are_shown(view):
    view.run_iv()
    assert "tap two nodes" in view.info.object
    view.element.value = "Rload"
    view.start.value = -1.0
    view.run()
    assert "data-sweep-error" in view.info.object and "positive" in view.info.object
