"""The explorer as a schematic editor, honest about invalid states, with one view of the numbers.

Answers are worked by hand in comments or come from an independent solve of
the same circuit built directly with ``solver.Network``.
"""

import csv
import io as _io

import numpy as np
import pytest

pytest.importorskip("panel")

from solver import solve  # noqa: E402

from explorer import CircuitExplorer, CircuitStore, gallery  # noqa: E402
from explorer import io as circuit_io  # noqa: E402
from explorer import readings as R  # noqa: E402
from explorer.circuit_view import PROBLEM, CircuitView  # noqa: E402
from explorer.editing import grid_points, nearest_node, problem_parts, snap  # noqa: E402
from explorer.state import NEW_NODE  # noqa: E402

from .circuits import diode_clipper  # noqa: E402


# ------------------------------------------------------------- pure helpers
def test_grid_helpers():
    assert snap(0.4, -0.6) == (0.0, -1.0) and snap(2.51, 1.49) == (3.0, 1.0)
    xy = np.array([[0.0, 0.0], [2.0, 1.0]])
    assert nearest_node(xy, 1.9, 1.1, 0.3) == 1 and nearest_node(xy, 1.0, 0.5, 0.3) is None
    gx, gy = grid_points(np.array([[0.0, 0.0]]), margin=2)
    assert len(gx) == 25 and gx.min() == -2 and gy.max() == 2  # a 5 x 5 field around ground
    assert len(grid_points(np.array([[0.0, 0.0], [1000.0, 1000.0]]))[0]) == 0  # too big: none


def test_problem_parts_uses_the_exception_lists_and_quoted_names():
    store = CircuitStore.from_example("divider")
    assert store.add_element("vsource", "in", "0", 3.0)  # a second source across V1: a loop
    assert set(store.problem_elements) >= {"V1", "V2"} and store.stale
    net = gallery.build("divider")
    assert problem_parts(net, ValueError("resistor 'R2' and node 'mid'")) == (["mid"], ["R2"])


# ------------------------------------------------------------ one view of the numbers
@pytest.mark.parametrize("name", ["divider", "clipper", "bridge rectifier", "diode logic", "wheatstone"])
def test_readings_follow_the_network_order(name):
    store = CircuitStore.from_example(name)
    net, r = store.network, store.readings
    reference = solve(gallery.build(name))  # independent solve, read by name
    assert r.valid and r.source == "solution"
    assert r.v == pytest.approx([reference.voltages[n] for n in net.nodes], abs=1e-9)
    elements = net.elements()
    assert r.i == pytest.approx([reference.currents[e.name] for e in elements], abs=1e-9)
    assert r.dv == pytest.approx([reference.voltages[e.p] - reference.voltages[e.n] for e in elements], abs=1e-9)
    assert list(r.on) == [e.name in reference.active_diodes for e in elements]


def test_divider_readings_by_hand():
    # 10 V over 1 kΩ + 3 kΩ: 2.5 mA; R1 drops 2.5 V and absorbs 6.25 mW
    r = CircuitStore.from_example("divider").readings
    assert r.element("R1") == pytest.approx((2.5, 2.5e-3, 6.25e-3, False))


def test_step_readings_use_ohms_law_and_leave_unknown_currents_unknown():
    net = gallery.build("divider")
    v = np.array([0.0, 10.0, 4.0])  # nodes 0, in, mid: not the solution
    assert net.nodes == ["0", "in", "mid"]
    r = R.from_potentials(net, v, "half way")
    assert r.element("R1")[:2] == pytest.approx((6.0, 6e-3))  # 6 V over 1 kΩ
    assert np.isnan(r.element("V1")[1])


# ------------------------------------------------------------- honest invalid states
def test_an_invalid_circuit_shows_no_numbers_and_names_the_culprit():
    store = CircuitStore.from_example("divider")
    view = CircuitView(store=store)
    assert store.add_element("diode", "mid", NEW_NODE, 0.0) == "D1"  # the new node floats
    new = store.network.element("D1").n
    assert store.stale and new in store.problem_nodes and "not determined" in store.problem
    assert not store.readings.valid and np.isnan(store.voltages()).all()
    columns, _ = view.paint_data()
    labels = columns["node"]["label"]
    assert all("V" not in label for label in labels)  # names only: no stale voltages
    outline = dict(zip(columns["node"]["name"], columns["node"]["line_color"]))
    assert outline[new] == PROBLEM
    assert {columns["readings"]["state"][k] for k in columns["diode"]["ei"]} == {"unknown"}  # the hover's
    assert len(view.arrow_source.data["x"]) == 0  # no current arrows
    # the first edit that makes it valid solves it
    assert store.add_element("resistor", new, "0", 1000.0)
    assert store.readings.valid and not store.stale and store.problem_nodes == []
    reference = solve(store.network)
    assert store.voltages()[store.network.nodes.index(new)] == pytest.approx(reference.voltages[new])


def test_the_banner_states_the_latest_problem():
    app = CircuitExplorer("divider", learning=False)
    store = app.store
    store.add_element("vsource", "in", "0", 3.0)  # a second source across V1: a loop
    assert "loop" in store.error and "loop" in app.status.alert.object
    store.add_element("diode", "mid", NEW_NODE, 0.0)  # and a floating node: the latest problem
    assert "not determined" in store.error and "loop" not in store.error
    assert "not determined" in app.status.alert.object and "highlighted" in app.status.alert.object
    store.set_element_value("R1", -1.0)  # refused: banner shows it and that the circuit still fails
    assert "positive" in app.status.alert.object and "still does not solve" in app.status.alert.object


def test_csv_of_an_invalid_circuit_has_no_numbers():
    app = CircuitExplorer("divider", learning=False)
    app.store.add_element("vsource", "in", "0", 3.0)
    text = app.files._csv().getvalue()
    assert text.startswith("# the circuit does not solve") and "7.5" not in text


# ---------------------------------------------------------------- values that cannot be misread
def test_typed_4k7_is_4700_ohm_and_bad_text_is_refused_at_the_field():
    app = CircuitExplorer("divider", learning=False)
    store, editor = app.store, app.editor
    store.select_element("R2")
    editor.value_field.input.value = "4.7k"
    assert store.network.element("R2").resistance == pytest.approx(4700.0)
    assert store.solution.voltages["mid"] == pytest.approx(10 * 4.7 / 5.7)
    version = store.version
    editor.value_field.input.value = "4,7k"
    assert "decimal point" in editor.value_field.message and editor.value_field.feedback.visible
    assert store.network.element("R2").resistance == pytest.approx(4700.0) and store.version == version
    editor.value_field.input.value = "nan"
    assert "not a number" in editor.value_field.message
    editor.value_field.input.value = "1 kΩ"
    assert store.network.element("R2").resistance == pytest.approx(1000.0) and not editor.value_field.message


def test_sliders_write_four_digits_and_resistance_slides_in_decades():
    app = CircuitExplorer("divider", learning=False)
    store, editor = app.store, app.editor
    store.select_element("V1")
    editor.value_slider.value = -4.800000000000001
    assert store.network.element("V1").value == -4.8
    store.select_element("R2")
    assert editor.value_slider.start <= np.log10(3000.0) <= editor.value_slider.end
    editor.value_slider.value = np.log10(3000.0) + 0.01  # one step: x 10^0.01
    assert store.network.element("R2").resistance == float(f"{3000 * 10 ** 0.01:.4g}")


# -------------------------------------------------------------------- building
def test_clipper_from_a_blank_circuit_by_clicks():
    store = CircuitStore.from_example("divider")
    store.new_blank()
    assert store.network.nodes == ["0"] and store.title == "blank" and store.readings.valid
    clicks = [("vsource", (0, 2), (0.1, 0.1)), ("resistor", (0, 2), (2.2, 1.9)),
              ("diode", (2, 2), (0, 0)), ("diode", (0, 0), (2, 2))]
    for part, first, second in clicks:
        store.arm(part)
        assert store.click(*first) == "pending"
        assert store.click(*second) == "placed"
    # 5 V through 1 kΩ into a 0.7 V diode: clamped at 0.7 V (tests/circuits.py); the antiparallel
    # diode sees -0.7 V and stays off
    _, reference, _ = diode_clipper(5.0, load=False)
    net = store.network
    assert sorted(e.kind for e in net.elements()) == ["diode", "diode", "resistor", "vsource"]
    top = next(n for n in net.nodes if net.node_attributes(n)["x"] == 0 and net.node_attributes(n)["y"] == 2)
    out = next(n for n in net.nodes if (net.node_attributes(n)["x"], net.node_attributes(n)["y"]) == (2, 2))
    assert store.solution.voltages[top] == pytest.approx(5.0)
    assert store.solution.voltages[out] == pytest.approx(reference["out"]) == pytest.approx(0.7)
    # select, delete, undo
    store.arm("select")
    store.select_element("R1")
    assert store.delete_selection() and "R1" not in store.network
    assert store.undo() and "R1" in store.network


def test_drag_end_snaps_nodes_of_a_grid_built_circuit():
    store = CircuitStore.from_example("clipper")
    assert not store.snap_to_grid  # the gallery's clipper sits off the grid: dragging stays free
    store.new_blank()
    assert store.snap_to_grid
    view = CircuitView(store=store)
    store.arm("resistor")
    store.click(0, 1)
    store.click(1, 1)
    store.move_nodes({"n1": (0.3, 1.4)})  # while dragging: where the mouse is
    assert store.network.node_attributes("n1") == {"x": 0.3, "y": 1.4}
    view._on_drag_end(None)  # released: onto the grid
    assert store.network.node_attributes("n1") == {"x": 0.0, "y": 1.0}


def test_ground_tool_and_refusals():
    store = CircuitStore.from_example("divider")
    store.new_blank()
    store.arm("resistor")
    store.click(1, 1)
    store.click(2, 1)
    assert store.stale  # nothing ties the new nodes to ground yet
    store.arm("ground")
    assert store.click(2, 1) == "grounded"
    assert store.click(5, 5) == "refused" and "click a node" in store.error
    net = store.network
    assert [(e.p, e.n) for e in net.elements()] == [("n1", "0")]
    store.arm("resistor")
    store.click(1, 1)
    assert store.click(1, 1) == "pending"  # the same point twice is not a part


def test_keyboard_shortcuts_drive_the_store():
    app = CircuitExplorer("divider", learning=False)
    app.__panel__()
    palette, store = app.palette, app.store
    palette.press("r")
    assert store.tool == "resistor" and palette.palette.value == "resistor"
    palette.press("escape")
    assert store.tool == "select"
    store.select_element("R2")
    palette.press("delete")
    assert "R2" not in store.network
    palette.press("undo")
    assert "R2" in store.network
    palette.press("redo")
    assert "R2" not in store.network


# -------------------------------------------------------------------- small things
def test_csv_columns_carry_units():
    net = gallery.build("clipper")
    rows = list(csv.DictReader(_io.StringIO(circuit_io.solution_csv(net, solve(net)))))
    header = set(rows[0])
    assert {"resistance_ohm", "conductance_S", "voltage_V", "current_A", "power_W"} <= header
    assert "value" not in header
    r1 = next(r for r in rows if r["name"] == "R1")
    assert float(r1["resistance_ohm"]) == pytest.approx(1000.0) and float(r1["conductance_S"]) == 1e-3
    d1 = next(r for r in rows if r["name"] == "D1")
    assert float(d1["threshold_V"]) == 0.7 and d1["resistance_ohm"] == ""


def test_downloads_and_example_box_follow_the_circuit():
    app = CircuitExplorer("bridge rectifier", learning=False)
    files = app.files
    assert {d.filename for d in files.downloads} >= {"bridge-rectifier.json", "bridge-rectifier-solution.csv"}
    app.store.load(gallery.build("divider"), "my upload")
    assert files.example_select.value == ""  # shown as "– not an example –"
    assert "my-upload.graphml" in {d.filename for d in files.downloads}
    app.store.load_example("wheatstone")
    assert files.example_select.value == "wheatstone"


def test_play_stops_only_when_converged_or_stalled():
    app = CircuitExplorer("cd stall", learning=False)
    conv = app.convergence
    steps = 0
    while conv.step():
        steps += 1
        assert steps < 50
    # from zero, a wants 1 V but its diode holds it at b = 0, and b has nothing pulling it up
    assert conv.stepper.stalled and conv.stepper.sweeps == 1 and steps == 0
    app = CircuitExplorer("wheatstone", learning=False)  # the bridge needs several sweeps
    steps = 1
    while app.convergence.step():
        steps += 1
    assert app.convergence.stepper.converged and steps == app.convergence.stepper.sweeps > 3


def test_sidebar_shows_only_the_tab_s_controls():
    app = CircuitExplorer("divider")
    app.main()
    circuit, note = app.sidebar()
    app.tabs.active = app._tab_names.index("Learning")
    assert not circuit.visible and note.visible
    app.tabs.active = app._tab_names.index("Sweep")
    assert circuit.visible and not note.visible
    app.tabs.active = 0
    assert circuit.visible and not note.visible


def test_switching_task_resets_curves_and_heatmaps_have_colour_bars():
    from bokeh.models import ColorBar

    from explorer.learning_view import LearningView

    view = LearningView()
    for _ in range(3):
        view.step()
    view.store.task = "two moons"
    assert len(view.curves.data["loss"]) == 1 and view.curves.data["epoch"] == [0.0]
    for pane in view.heat_row.objects:
        assert any(isinstance(item, ColorBar) for item in pane.object.right)
