"""The drawing reads at a glance: layered auto-layout, schematic routes, labels that overlap nothing.

The label checks rebuild every label's box from what is sent to the browser (anchor,
pixel offset and the text itself), independently of the placement code, for every
gallery example at the two window sizes of a laptop and a classroom projector.
"""

import numpy as np
import pytest

from solver import Network
from solver.learning.circuit_learner import layered_network
from explorer import CircuitStore, CircuitView, gallery, share
from explorer.drawing import VALUE_CHARS
from explorer.layout import STYLES, ensure_layout, figure_size, layered_positions, routes

WINDOWS = [(1440, 900), (1024, 768)]


def _overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _label_boxes(view):
    """Every drawn label's box in frame pixels (y up), from the columns the browser gets."""
    x0, x1, y0, y1 = view.geometry()["drawing"]["ranges"]
    width, height = view.frame
    sx, sy = width / (x1 - x0), height / (y1 - y0)
    style = STYLES["presenter" if view.presenter else "normal"]
    boxes = []
    for source, xk, yk in ((view.label_source.data, "xm", "ym"), (view.node_source.data, "x", "y")):
        for k, text in enumerate(source["label"]):
            if not text:
                continue
            lines = text.split("\n")
            w = max(len(line) for line in lines) * style.char_width
            h = len(lines) * style.line_height
            tx = (source[xk][k] - x0) * sx + source["lox"][k]  # the text's anchor point
            cy = (source[yk][k] - y0) * sy + source["loy"][k]
            left = {"left": tx, "right": tx - w, "center": tx - w / 2}[source["align"][k]]
            boxes.append((text, (left, cy - h / 2, left + w, cy + h / 2)))
    return boxes


@pytest.mark.parametrize("window", WINDOWS, ids=lambda w: f"{w[0]}x{w[1]}")
@pytest.mark.parametrize("name", list(gallery.EXAMPLES))
def test_no_label_overlaps_another_a_symbol_or_the_edge(name, window):
    view = view_at(name, window)
    drawing = view.geometry()["drawing"]
    node_labels, element_labels, values = view.labels_shown()
    # every label the view means to draw found a place (none was dropped to avoid a collision)
    if element_labels:
        assert drawing["element_label_shown"].all(), name
        assert sum(bool(t) for t in view.label_source.data["label"]) == len(store_elements(view))
    if node_labels:
        assert drawing["node_label_shown"].all(), name
        assert all(view.node_source.data["label"])
    assert_labels_clear(view, name)


def view_at(name, window):
    """A view of gallery example ``name`` drawn for the figure of a ``window`` (width, height) browser window."""
    view = CircuitView(store=CircuitStore.from_example(name))
    view.frame = figure_size(*window)
    view._repaint()
    return view


def assert_labels_clear(view, at):
    """Every drawn label lies inside the plot frame and overlaps no other label, symbol or node."""
    drawing = view.geometry()["drawing"]
    boxes = _label_boxes(view)
    width, height = view.frame
    for text, box in boxes:
        assert 0 <= box[0] and box[2] <= width and 0 <= box[1] and box[3] <= height, f"{at}: {text!r} leaves the plot"
    for j, (text, box) in enumerate(boxes):
        for other, other_box in boxes[j + 1:]:
            assert not _overlap(box, other_box), f"{at}: {text!r} overlaps {other!r}"
        for symbol in drawing["symbol_boxes"]:
            assert not _overlap(box, symbol), f"{at}: {text!r} overlaps a symbol"
        for node in drawing["node_boxes"]:
            assert not _overlap(box, node), f"{at}: {text!r} overlaps a node"


def store_elements(view):
    return view.store.network.elements()


@pytest.mark.parametrize("name", ["clipper", "wheatstone", "bridge rectifier"])
def test_presenter_mode_draws_bigger_and_still_overlaps_nothing(name):
    view = CircuitView(store=CircuitStore.from_example(name))
    view.frame = figure_size(1440, 900)
    normal = view.geometry()["drawing"]
    view.presenter = True
    big = view.geometry()["drawing"]
    assert big["style"].font > normal["style"].font and big["node_size"] > normal["node_size"]
    assert view.node_labels.text_font_size == f"{STYLES['presenter'].font}px"
    boxes = _label_boxes(view)
    for j, (text, box) in enumerate(boxes):
        for other, other_box in boxes[j + 1:]:
            assert not _overlap(box, other_box), f"{text!r} overlaps {other!r}"


def test_label_slots_hold_the_longest_values():
    # a slot is sized for VALUE_CHARS characters of value: the widest a 4-digit SI value gets
    from explorer.units import si

    for value in (-999.94, -0.0012345, 1.2345e-13, 4.7e3):
        assert len(si(value, "Ω", 4)) <= VALUE_CHARS


def test_layered_layout_puts_sources_left_ground_below_and_a_drn_in_layers():
    # (skip connections would put the outputs one step from the inputs, in the first hidden column)
    net, inputs, outputs, layers = layered_network(3, [5, 4], 2, seed=0, skip=False)
    ensure_layout(net)
    x = {n: net.node_attributes(n)["x"] for n in net.nodes}
    y = {n: net.node_attributes(n)["y"] for n in net.nodes}
    for depth, layer in enumerate(layers):  # each layer one column, left to right
        assert len({x[n] for n in layer}) == 1, depth
    columns = [x[layer[0]] for layer in layers]
    assert columns == sorted(columns) and len(set(columns)) == len(columns)
    assert y["0"] < min(y[n] for n in net.nodes if n != "0")  # ground at the bottom
    sources = {e.p for e in net.elements("vsource")} - {"0"}
    assert max(x[n] for n in sources) < min(x[n] for n in net.nodes if n not in sources and n != "0")


def test_layout_keeps_given_positions_and_places_only_new_nodes():
    net = gallery.build("divider")
    before = {n: dict(net.node_attributes(n)) for n in net.nodes}
    net.add_resistor("mid", "extra", resistance=1.0)
    net.add_resistor("extra", "0", resistance=1.0)
    ensure_layout(net)
    for n, attrs in before.items():
        assert net.node_attributes(n) == attrs
    xs = [a["x"] for a in before.values()]
    assert net.node_attributes("extra")["x"] > max(xs)  # beside the drawing, not on top of it


def test_layered_layout_scales_linearly_to_thousands_of_nodes():
    # a 4,900-node grid: a breadth-first search and sorts, no pairwise forces
    net = gallery.mesh(4900)
    for n in net.nodes:
        net.node_attributes(n).clear()
    ensure_layout(net)
    xy = np.array([[net.node_attributes(n)["x"], net.node_attributes(n)["y"]] for n in net.nodes])
    assert np.isfinite(xy).all() and len(np.unique(xy, axis=0)) == len(xy)  # no two nodes on one spot


def test_layered_positions_of_disconnected_parts_do_not_collide():
    xy = layered_positions(6, [0, 2, 4], [1, 3, 5], seeds=[0])
    assert len(np.unique(xy, axis=0)) == 6


def test_routes_are_schematic():
    xy = np.array([[0.0, 1.0], [2.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # a, b, ground, a node between a and b
    # a-b straight over node 3: goes round; a-ground: an elbow; two in parallel: side by side
    r = routes(xy, [0, 0, 1, 1], [1, 2, 2, 2])
    assert not np.isnan(r["b"][0]).any()  # detoured branch p -> a -> b -> n
    assert abs(r["a"][0, 1] - 1.0) > 0.4 and abs(r["b"][0, 1] - 1.0) > 0.4
    corner = r["a"][1]  # elbow: axis-aligned legs
    assert (corner[0] in (0.0, 1.0)) and (corner[1] in (0.0, 1.0)) and np.isnan(r["b"][1]).all()
    assert r["direction"][1] @ np.array([0.0, -1.0]) == pytest.approx(1.0)  # upright symbol, p -> n
    assert not np.allclose(r["centre"][2], r["centre"][3])  # parallel elements apart


def test_large_circuits_draw_plain_wires():
    view = CircuitView(store=CircuitStore(gallery.mesh(400), title="mesh"))
    e = view.edge_source.data
    single = np.array([sum(1 for f in view.store.network.elements() if {f.p, f.n} == {g.p, g.n}) == 1
                       for g in view.store.network.elements()])
    straight = np.isnan(e["xb"]) & np.isclose(e["xa"], e["x1"]) & np.isclose(e["ya"], e["y1"])
    assert straight[single].all()  # no elbows: one straight segment per lone element
    assert len(view.box_source.data["ei"]) == 0


def straight_lone_elements(view):
    """Per lone element (no parallel twin): is it drawn as one straight segment p -> n?"""
    e = view.edge_source.data
    elements = view.store.network.elements()
    single = np.array([sum(1 for f in elements if {f.p, f.n} == {g.p, g.n}) == 1 for g in elements])
    straight = np.isnan(e["xb"]) & np.isclose(e["xa"], e["x1"]) & np.isclose(e["ya"], e["y1"])
    return straight[single]


def test_the_learning_network_is_drawn_with_straight_wires():
    # a dense layered network: schematic elbows would run on top of each other
    from explorer.learning_view import LearningStore
    store = LearningStore().circuit
    assert straight_lone_elements(CircuitView(store=store, straight_wires=True)).all()
    assert not straight_lone_elements(CircuitView(store=store)).all()  # the schematic default has elbows


def test_svg_export_draws_every_element_and_label():
    from explorer.view_controls import ViewControls

    view = CircuitView(store=CircuitStore.from_example("clipper"))
    svg = ViewControls(view=view).svg()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count("<polyline") == len(view.store.network)  # one wire per element
    assert svg.count("<polygon") >= 2  # the diodes (and current arrows)
    for text in ("R1", "1 kΩ", "out: 700 mV", "Rload", "10 kΩ"):
        assert text in svg


def test_a_shared_link_opens_exactly_that_circuit_in_the_app():
    from explorer import app

    net = gallery.build("wheatstone")
    net.set_value("R4", resistance=2200.0)
    text = share.encode(net, title="my bridge", view={"color_by": "power", "presenter": True})
    template = app.create_app(circuit=text)
    explorer = template.explorer
    assert explorer.store.network == net and explorer.store.title == "my bridge"
    assert explorer.store.color_by == "power" and explorer.circuit.presenter
    link = explorer.view_controls.link()
    assert share.decode(link.split("?circuit=")[1]) == net
    broken = app.create_app(circuit=text[:-8])
    assert "shared link" in broken.explorer.store.error


def test_network_from_scratch_gets_a_layout():
    net = Network()
    net.add_voltage_source("a", "0", 1.0)
    net.add_resistor("a", "b", resistance=1.0)
    net.add_diode("b", "0")
    ensure_layout(net)
    assert all({"x", "y"} <= set(net.node_attributes(n)) for n in net.nodes)
