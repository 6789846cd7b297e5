"""The explorer's state classes and views without a browser: build, edit, undo, load, errors."""

import csv
import io as _io
import json

import numpy as np
import pytest

pytest.importorskip("panel")

from solver import Network, solve  # noqa: E402

from explorer import CDStepper, CircuitExplorer, CircuitStore, gallery  # noqa: E402
from explorer import io as circuit_io  # noqa: E402
from explorer.circuit_view import CONDUCTING, CircuitView  # noqa: E402
from explorer.state import NEW_NODE  # noqa: E402


def divider_mid(r1, r2, v=10.0):
    """Hand-worked: the divider's middle node sits at V * R2 / (R1 + R2)."""
    return v * r2 / (r1 + r2)


# ------------------------------------------------------------------ gallery
@pytest.mark.parametrize("name", list(gallery.EXAMPLES))
def test_every_example_loads_solved_and_laid_out(name):
    store = CircuitStore.from_example(name)
    assert store.error == "" and not store.stale
    reference = solve(gallery.build(name))
    assert store.solution.converged
    for node, v in reference.voltages.items():
        assert store.solution.voltages[node] == pytest.approx(v, abs=1e-9)
    for node in store.network.nodes:
        attrs = store.network.node_attributes(node)
        assert np.isfinite(attrs["x"]) and np.isfinite(attrs["y"])


def test_gallery_answers_by_hand():
    assert solve(gallery.build("divider")).voltages["mid"] == pytest.approx(7.5)
    clip = solve(gallery.build("clipper"))
    assert clip.voltages["out"] == pytest.approx(0.7) and clip.active_diodes == ["D1"]
    rect = gallery.build("bridge rectifier")
    out_plus = solve(rect).voltages["out"]
    rect.set_value("Vac", -5.0)
    out_minus = solve(rect).voltages["out"]
    assert out_plus > 3.0 and out_minus == pytest.approx(out_plus, rel=1e-3)  # full-wave
    logic = solve(gallery.build("diode logic")).voltages
    assert logic["or"] == pytest.approx(4.3) and logic["and"] == pytest.approx(0.7)
    # R-2R ladder with code 1010 (b1, b3 set): Thevenin 5 V * (2 + 8) / 16 behind R = 1 kOhm,
    # then Rout = 1 Ohm into the 1 GOhm meter
    ladder = solve(gallery.build("resistor ladder")).voltages
    assert ladder["out"] == pytest.approx(5.0 * 10 / 16 * 1e9 / (1e9 + 1e3 + 1.0), rel=1e-9)
    stall = solve(gallery.build("cd stall")).voltages
    assert stall["a"] == pytest.approx(0.5) and stall["b"] == pytest.approx(0.5)
    assert gallery.build("bridge-rectifier") == gallery.build("bridge_rectifier")
    with pytest.raises(KeyError, match="no example"):
        gallery.build("flux capacitor")


# -------------------------------------------------------------------- edits
def test_value_edit_resolves_and_undo_redo():
    store = CircuitStore.from_example("divider")
    v0 = store.version
    assert store.set_element_value("R2", 1000.0)
    assert store.version > v0
    assert store.solution.voltages["mid"] == pytest.approx(divider_mid(1e3, 1e3))
    assert store.network.element("R2").resistance == pytest.approx(1000.0)
    assert "ms" in store.status and "KCL" in store.status
    assert store.undo()
    assert store.solution.voltages["mid"] == pytest.approx(divider_mid(1e3, 3e3))
    assert store.redo()
    assert store.solution.voltages["mid"] == pytest.approx(divider_mid(1e3, 1e3))
    assert not store.redo()


def test_slider_drag_is_one_undo_step():
    store = CircuitStore.from_example("divider")
    for r in (2000.0, 1500.0, 500.0):
        store.set_element_value("R2", r, merge=True)
    assert store.solution.voltages["mid"] == pytest.approx(divider_mid(1e3, 500.0))
    store.undo()
    assert store.solution.voltages["mid"] == pytest.approx(divider_mid(1e3, 3e3))
    assert not store.can_undo


def test_invalid_value_is_refused_and_keeps_the_last_state():
    store = CircuitStore.from_example("divider")
    before = dict(store.solution.voltages)
    net_before = store.network.copy()
    assert not store.set_element_value("R1", -5.0)
    assert "positive" in store.error and "R1" in store.error
    assert store.network == net_before
    assert store.solution.voltages == before
    assert not store.set_element_value("R1", float("nan"))
    assert not store.add_element("diode", "mid", "0", -0.3)
    assert "threshold" in store.error
    assert not store.rename_element("R1", "R2")  # duplicate
    assert "already used" in store.error
    assert store.set_element_value("R1", 3000.0)
    assert store.error == ""


def test_floating_node_keeps_last_valid_solution_until_fixed():
    store = CircuitStore.from_example("divider")
    before = dict(store.solution.voltages)
    # a diode alone cannot fix a potential: the new node floats
    assert store.add_element("diode", "mid", NEW_NODE, 0.0) == "D1"
    assert store.stale and "not determined" in store.error
    assert store.solution.voltages == before
    new = [n for n in store.network.nodes if n not in before][0]
    # wiring it with a resistor fixes it and the solution is fresh again
    assert store.add_element("resistor", new, "0", 1000.0)
    assert not store.stale and store.error == ""
    reference = solve(store.network)
    assert store.solution.voltages[new] == pytest.approx(reference.voltages[new])
    store.undo()
    store.undo()
    assert store.network == gallery.build("divider").copy() or set(store.network.nodes) == set(before)
    assert store.error == "" and store.solution.voltages["mid"] == pytest.approx(7.5)


def test_infeasible_diode_shows_error_and_keeps_solution():
    store = CircuitStore.from_example("clipper")
    before = dict(store.solution.voltages)
    assert store.add_element("diode", "in", "0", 0.7)  # 5 V source forces it forward
    assert store.stale and "forced forward" in store.error
    assert store.solution.voltages == before
    assert store.undo() and store.error == "" and not store.stale


def test_voltage_loop_error():
    store = CircuitStore.from_example("divider")
    assert store.add_element("vsource", "in", "0", 3.0)
    assert "loop" in store.error and store.stale


def test_structural_edits_match_the_solver():
    store = CircuitStore.from_example("wheatstone")
    name = store.add_element("resistor", "a", NEW_NODE, 2000.0)
    new_node = store.network.element(name).n
    assert "x" in store.network.node_attributes(new_node)
    store.add_element("isource", "0", new_node, 1e-3)  # inject 1 mA
    reference = solve(store.network)
    assert store.solution.voltages[new_node] == pytest.approx(reference.voltages[new_node])
    assert store.rename_element("R5", "Rbridge")
    assert "Rbridge" in store.network and store.selected_element == "Rbridge"
    assert store.remove_element("Rbridge")
    # without the bridge resistor a and b are plain dividers: 10 * R3/(R1+R3), minus nothing
    ref = solve(store.network).voltages
    assert store.solution.voltages["b"] == pytest.approx(ref["b"])
    assert store.solution.voltages["b"] == pytest.approx(divider_mid(1e3, 1.5e3))
    # an unwired node is allowed (left out of the solve), then removed with its elements
    node = store.add_node()
    assert store.error == "" and node in store.network.nodes
    assert store.remove_node("a")
    assert "a" not in store.network.nodes and not any("a" in (e.p, e.n) for e in store.network.elements())
    for _ in range(6):
        store.undo()
    assert store.network.elements() == gallery.build("wheatstone").elements()


def test_move_nodes_is_kept_in_the_graph_across_undo():
    store = CircuitStore.from_example("divider")
    store.set_element_value("R1", 2000.0)
    lv = store.layout_version
    assert store.move_nodes({"mid": (5.0, -2.0)})
    assert store.layout_version == lv + 1
    assert store.network.node_attributes("mid") == {"x": 5.0, "y": -2.0}
    store.undo()
    assert store.network.node_attributes("mid") == {"x": 5.0, "y": -2.0}
    assert store.network.to_networkx().nodes["mid"]["x"] == 5.0


def test_pick_nodes_keeps_the_last_two():
    store = CircuitStore.from_example("wheatstone")
    for node in ("a", "b", "top"):
        store.pick_node(node)
    assert store.picked_nodes == ["b", "top"]


# ------------------------------------------------------------- load / save
@pytest.mark.parametrize("fmt", ["json", "graphml"])
def test_round_trip_through_files(fmt):
    net = gallery.build("bridge rectifier")
    text = circuit_io.write_network(net, fmt)
    back = circuit_io.read_network(text.encode(), f"circuit.{fmt}")
    assert back == net
    store = CircuitStore.from_example("divider")
    store.load(back, f"circuit.{fmt}")
    assert store.solution.voltages["out"] == pytest.approx(solve(net).voltages["out"])
    store.undo()
    assert store.title == "divider"


def test_upload_without_positions_gets_a_layout():
    payload = {"directed": True, "multigraph": True, "graph": {}, "nodes": [{"id": "0"}, {"id": "a"}, {"id": "b"}],
               "links": [{"source": "a", "target": "0", "key": "V1", "kind": "vsource", "voltage": 2.0},
                         {"source": "a", "target": "b", "key": "R1", "kind": "resistor", "resistance": 10.0},
                         {"source": "b", "target": "0", "key": "R2", "kind": "resistor", "resistance": 30.0}]}
    net = circuit_io.read_network(json.dumps(payload), "c.json")
    store = CircuitStore(net)
    assert store.solution.voltages["b"] == pytest.approx(1.5)
    xs = [store.network.node_attributes(n)["x"] for n in store.network.nodes]
    assert len(set(xs)) == 3


def test_uploads_are_limited_and_safe():
    with pytest.raises(circuit_io.UploadError, match="limit"):
        circuit_io.read_network(b" " * (circuit_io.MAX_UPLOAD_BYTES + 1), "big.json")
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
            '<graphml><graph edgedefault="directed"><node id="&lol;"/></graph></graphml>')
    with pytest.raises(circuit_io.UploadError, match="DTD"):
        circuit_io.read_network(bomb, "x.graphml")
    with pytest.raises(circuit_io.UploadError, match="node-link"):
        circuit_io.read_network("[1, 2]", "x.json")
    with pytest.raises(circuit_io.UploadError):
        circuit_io.read_network("{not json", "x.json")
    with pytest.raises(circuit_io.UploadError, match="format"):
        circuit_io.read_network("x", "evil.pkl")
    with pytest.raises(circuit_io.UploadError, match="ground"):
        circuit_io.read_network(json.dumps({"nodes": [{"id": "a"}], "links": []}), "x.json")


def test_solution_csv_matches_the_solution():
    net = gallery.build("clipper")
    sol = solve(net)
    rows = list(csv.DictReader(_io.StringIO(circuit_io.solution_csv(net, sol))))
    nodes = {r["name"]: float(r["voltage_V"]) for r in rows if r["type"] == "node"}
    assert nodes == sol.voltages
    elements = {r["name"]: r for r in rows if r["type"] == "element"}
    assert float(elements["R1"]["current_A"]) == sol.currents["R1"]
    assert float(elements["R1"]["power_W"]) == pytest.approx(sol.currents["R1"] ** 2 * 1e3)
    assert elements["D1"]["state"] == "conducting" and elements["D2"]["state"] == "blocking"


def test_spice_is_optional():
    if circuit_io.netlist_available():
        net = gallery.build("divider")
        text = circuit_io.write_network(net, "spice")
        back = circuit_io.read_network(text, "divider.cir")
        assert solve(back).voltages["mid"] == pytest.approx(7.5)
    else:
        with pytest.raises(circuit_io.UploadError, match="netlist"):
            circuit_io.read_network("V1 in 0 5", "x.cir")


# -------------------------------------------------------------------- views
def test_circuit_view_paints_the_solution():
    store = CircuitStore.from_example("clipper")
    view = CircuitView(store=store)
    nodes = view.node_source.data
    sol = store.solution
    for name, v in zip(nodes["name"], nodes["v"]):
        assert v == pytest.approx(sol.voltages[name])
    edges = {n: k for k, n in enumerate(view.edge_source.data["name"])}
    diodes = {n: k for k, n in enumerate(view.diode_source.data["name"])}
    assert view.diode_source.data["color"][diodes["D1"]] == CONDUCTING
    assert view.diode_source.data["alpha"][diodes["D2"]] < 1
    # the current arrow of R1 points from in to out (positive current p -> n)
    e = view.edge_source.data
    k = edges["R1"]
    a = view.arrow_source.data
    j = view.arrow_names.index("R1")
    xs, ys = a["x"][4 * j:4 * j + 3], a["y"][4 * j:4 * j + 3]  # base corners, then the tip
    assert np.isnan(a["x"][4 * j + 3])  # a gap before the next arrow
    arrow = np.array([xs[2] - (xs[0] + xs[1]) / 2, ys[2] - (ys[0] + ys[1]) / 2])
    along = np.array([e["x1"][k] - e["x0"][k], e["y1"][k] - e["y0"][k]])
    assert arrow @ along > 0
    r = view.readings_source.data  # the hover's readings, row ei of each glyph source
    assert r["i"][e["ei"][k]] == pytest.approx(4.3e-3) and r["p"][e["ei"][k]] == pytest.approx(4.3 * 4.3e-3)
    assert r["uval"][e["ei"][k]] == pytest.approx(1000.0) and e["uunit"][k] == "Ω"
    d = view.diode_source.data
    assert [r["state"][d["ei"][diodes[name]]] for name in ("D1", "D2")] == ["conducting", "blocking"]
    # the diode triangle points from anode to cathode
    xs, ys = view.diode_source.data["xs"][diodes["D1"]], view.diode_source.data["ys"][diodes["D1"]]
    tip = np.array([xs[2], ys[2]]) - np.array([(xs[0] + xs[1]) / 2, (ys[0] + ys[1]) / 2])
    out = store.network.node_attributes("out")
    gnd = store.network.node_attributes("0")
    assert tip @ np.array([gnd["x"] - out["x"], gnd["y"] - out["y"]]) > 0
    # power mode: R1 dissipates the most and gets the brightest colour
    app_display = __import__("explorer").DisplayPanel(store=store)
    app_display.color_select.value = "power"
    assert store.color_by == "power"
    assert view.power_colorbar.visible and not view.colorbar.visible
    # a value edit sends only the columns that changed, and they follow the solver
    store.set_element_value("R1", 2000.0)
    k = list(view.edge_source.data["name"]).index("R1")
    assert view.readings_source.data["i"][k] == pytest.approx(store.solution.currents["R1"])
    assert view.readings_source.data["uval"][k] == pytest.approx(2000.0)
    store.undo()
    assert view.power_mapper.high == pytest.approx(max(sol.element_power(n) for n in ("R1", "D1", "Rload")))
    assert any(label for label in view.label_source.data["label"])  # 3 nodes: values written
    app_display.values_toggle.value = False
    assert len(view.label_source.data["label"]) == 0  # no labels, no rows to draw
    store.show_values = True
    assert app_display.values_toggle.value


def test_explorer_editor_slider_and_error():
    app = CircuitExplorer("divider", learning=False)
    app.__panel__()
    store, editor = app.store, app.editor
    store.selected_element = "R2"
    assert editor.element_select.value == "R2"
    assert editor.value_slider.name.startswith("R2 resistance")
    editor.value_slider.value = 3.0  # the resistance slider is logarithmic: log10(1000 Ω)
    assert store.solution.voltages["mid"] == pytest.approx(divider_mid(1e3, 1e3))
    editor.value_field.input.value = "-10"  # a negative resistance can only be typed
    assert "positive" in store.error
    assert editor.value_slider.value == pytest.approx(3.0)
    assert "positive" in editor.value_field.message and editor.value_field.feedback.visible
    assert app.status.alert.visible and "positive" in app.status.alert.object
    assert 'data-node="mid"' in app.readout.table.object
    # picking two nodes fills the endpoints; Add puts a resistor between them
    store.pick_node("in")
    store.pick_node("0")
    assert (editor.from_select.value, editor.to_select.value) == ("in", "0")
    editor.new_value.value = 500.0
    editor._add()
    assert store.network.element(store.selected_element).resistance == pytest.approx(500.0)
    editor.undo_button.clicks += 1
    assert len(store.network.elements("resistor")) == 2


def test_step_mode_stalls_on_the_diode_between_free_nodes_then_exact():
    app = CircuitExplorer("cd stall", learning=False)
    conv, store = app.convergence, app.store
    for _ in range(5):
        conv.step()
    st = conv.stepper
    assert st.stalled and not st.converged
    # stuck at a = b = 0: E = 1/2 (1 V)^2 * 1 S = 0.5 W against E* = 0.25 W at a = b = 0.5 V
    assert st.energy_gap[-1] == pytest.approx(0.25)
    assert store.preview is not None and store.preview["voltages"]["a"] == pytest.approx(0.0)
    assert "STALLED" in conv.info.object
    conv.exact()
    assert store.preview is None
    assert store.voltages()[store.network.nodes.index("a")] == pytest.approx(0.5)


@pytest.mark.parametrize("make", [lambda: gallery.mesh(30, seed=3), lambda: gallery.build("diode logic"),
                                  lambda: gallery.build("clipper"), lambda: gallery.build("bridge rectifier")])
def test_stepper_matches_the_solvers_coordinate_descent(make):
    net = make()
    for sweeps in (1, 3):
        st = CDStepper(net)
        for _ in range(sweeps):
            st.step_sweep()
        ref = solve(net, method="cd", max_sweeps=sweeps)
        for node, v in ref.voltages.items():
            assert st.voltages()[node] == pytest.approx(v, abs=1e-9)


def test_stepper_counts_node_steps_and_sweeps():
    st = CDStepper(gallery.mesh(30, seed=3))
    st.step_node()
    assert st.node_steps == 1 and st.sweeps == 0
    st.step_sweep()
    assert st.sweeps == 1


def test_app_module_imports_without_serving_and_builds():
    import explorer.app as app_module

    assert app_module.example_name({"example": [b"bridge-rectifier"]}) == "bridge rectifier"
    assert app_module.example_name({"example": [b"nonsense"]}) == "divider"
    template = app_module.create_app("clipper")
    assert template.explorer.store.solution.voltages["out"] == pytest.approx(0.7)


def test_cli_arguments():
    from explorer.cli import parse_args

    args = parse_args(["--example", "bridge_rectifier", "--port", "0", "--no-browser"])
    assert args.example == "bridge rectifier" and args.port == 0 and args.no_browser
    with pytest.raises(SystemExit):
        parse_args(["--example", "nope"])


def test_learning_store_trains_and_paints():
    from explorer.learning_view import LearningView

    view = LearningView()
    s = view.store
    loss0 = s.loss_history[-1]
    for _ in range(30):
        view.step()
    assert s.loss_history[-1] < loss0
    assert len(view.curves.data["loss"]) == 31
    s.show = "update"
    assert s.circuit.color_by == "update"
    overlay = s.circuit.edge_overlay
    assert set(overlay) == set(s.learner.trainable)
    assert np.allclose(list(overlay.values()), s.last.update)
    s.show = "nudged"
    assert s.circuit.solution is s.last.nudged
    s.rule = "cl"
    assert s.learner.rule == "cl"
    view.step()
    s.task = "two moons"
    assert s.X.shape == (64, 4) and s.epoch == 0


def test_explorer_renders_to_bokeh_models_for_notebooks():
    import panel as pn

    app = CircuitExplorer(gallery.build("clipper"), title="clipper")
    root = pn.panel(app).get_root()
    names = {m.name for m in root.references() if getattr(m, "name", None)}
    assert {"circuit-nodes", "circuit-edges", "circuit-figure"} <= names
    assert app.store.solution.voltages["out"] == pytest.approx(0.7)
    # the Learning tab is built when first opened (explorer/server.py: half a session's models)
    learning = {m.name for m in pn.panel(app.learning_view).get_root().references() if getattr(m, "name", None)}
    assert "learning-nodes" in learning


def test_symbols_boxes_and_labels_hold_only_the_rows_they_draw():
    store = CircuitStore.from_example("divider")
    view = CircuitView(store=store)
    names = [e.name for e in store.network.elements()]
    resistors = [e.name for e in store.network.elements("resistor")]
    sources = [e.name for e in store.network.elements() if e.kind in ("vsource", "isource")]
    symbols = view.symbol_source.data
    assert list(symbols["name"]) == sources and list(view.box_source.data["name"]) == resistors
    for k, name in enumerate(symbols["name"]):  # rows point back at their wire, and hover follows the solver
        assert view.edge_source.data["name"][symbols["ei"][k]] == name
        assert view.readings_source.data["i"][symbols["ei"][k]] == pytest.approx(store.solution.currents[name])
    # a straight wire is one segment: its other parts are NaN, which the canvas skips; an elbow
    # (the divider's source and R2, drawn as in a textbook) turns once, at a = b
    e = view.edge_source.data
    k = names.index("R1")
    assert np.isnan(e["xb"][k]) and e["xa"][k] == e["x1"][k]
    for k in (names.index("V1"), names.index("R2")):
        assert e["xa"][k] == e["xb"][k] and e["ya"][k] == e["yb"][k]
        assert e["xa"][k] in (e["x0"][k], e["x1"][k]) and e["ya"][k] in (e["y0"][k], e["y1"][k])
    # tapping a symbol selects its element
    view.box_source.selected.indices = [len(resistors) - 1]
    assert store.selected_element == resistors[-1]
    assert len(view.label_source.data["label"]) == (len(names) if store.show_values else 0)
    big = CircuitView(store=CircuitStore(gallery.mesh(200), title="mesh"))
    assert len(big.box_source.data["name"]) == 0 and len(big.label_source.data["label"]) == 0
    assert len(big.symbol_source.data["name"]) == len(
        [e for e in big.store.network.elements() if e.kind in ("vsource", "isource")])


def test_a_value_edit_leaves_the_glyph_sources_alone():
    # BokehJS re-reads every glyph of a source when any of its columns changes: a slider step
    # that changes no width, colour or diode state must change only the readings and the nodes
    store = CircuitStore(gallery.mesh(60), title="mesh")
    view = CircuitView(store=store)
    changed = []
    for kind, source in view._sources().items():
        source.on_change("data", lambda attr, old, new, kind=kind: changed.append(kind))
    before = view.readings_source.data["uval"].copy()
    resistor = sorted(store.network.elements("resistor"), key=lambda e: e.value)[5]  # not an extreme
    store.set_element_value(resistor.name, 1.000001 / resistor.value)
    assert set(changed) == {"readings", "node"}, changed
    k = [e.name for e in store.network.elements()].index(resistor.name)
    assert view.readings_source.data["uval"][k] == pytest.approx(before[k] * 1.000001)
    assert view.readings_source.data["i"][k] == pytest.approx(store.solution.currents[resistor.name])


def test_parallel_elements_are_drawn_as_side_branches():
    # (the drawing now routes elements as a schematic: parallel ones become side branches
    # p -> a -> b -> n instead of two halves bent at an offset midpoint)
    net = gallery.build("divider")
    first = next(iter(net.elements("resistor")))
    net.add_resistor(first.p, first.n, resistance=2000.0, name="Rpar")
    view = CircuitView(store=CircuitStore(net, title="parallel"))
    e = view.edge_source.data
    k = [list(e["name"]).index(n) for n in (first.name, "Rpar")]
    for j in k:  # each branch leaves p, runs beside the other and comes back to n
        assert np.isfinite([e["xa"][j], e["ya"][j], e["xb"][j], e["yb"][j]]).all()
        symbol = np.array([e["xm"][j], e["ym"][j]])
        assert np.allclose(symbol, [(e["xa"][j] + e["xb"][j]) / 2, (e["ya"][j] + e["yb"][j]) / 2])
    assert (e["xm"][k[0]], e["ym"][k[0]]) != (e["xm"][k[1]], e["ym"][k[1]])
