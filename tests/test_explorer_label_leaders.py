"""Every label reads as belonging to its node or element: it is near it, or a leader line joins them.

The checks rebuild, from the columns sent to the browser, each label's text box (anchor, pixel
offset, alignment and text: ``tests.test_explorer_drawing._label_boxes``) and what it names (the
node's circle from its size, the element's symbol from its length, width and angle), and measure
the distance between the two; a label farther than ``NEAR_LINES`` lines of text must have a leader
line in the leader source that ends at its anchor and starts on its text. The sweep over frame sizes
calls :func:`assert_labels_attached` from ``tests.test_explorer_label_sweep``.
"""

import math

import numpy as np
import pytest

from explorer import CircuitStore, CircuitView, gallery
from explorer.drawing import NEAR_LINES
from explorer.labels import leader_lines, place_labels, segments_intersect
from explorer.layout import STYLES, figure_size
from tests.test_explorer_drawing import _label_boxes, view_at

WINDOWS = [(1440, 900), (1024, 768)]


def _gap(a, b):
    """Distance between two boxes (x0, y0, x1, y1); 0 where they touch or overlap."""
    dx = max(0.0, b[0] - a[2], a[0] - b[2])
    dy = max(0.0, b[1] - a[3], a[1] - b[3])
    return math.hypot(dx, dy)


def _to_px(view, x, y):
    x0, x1, y0, y1 = view.geometry()["drawing"]["ranges"]
    width, height = view.frame
    return (x - x0) * width / (x1 - x0), (y - y0) * height / (y1 - y0)


def _named(view):
    """For each drawn label (in ``_label_boxes`` order): its anchor (px) and the box of what it names."""
    drawing = view.geometry()["drawing"]
    out = []
    labels = view.label_source.data
    for k, text in enumerate(labels["label"]):
        if text:
            e = int(labels["ei"][k])
            ax, ay = _to_px(view, labels["xm"][k], labels["ym"][k])
            half_l, half_w = drawing["symbol_length"][e] / 2, drawing["symbol_width"][e] / 2
            c, s = abs(math.cos(drawing["angle"][e])), abs(math.sin(drawing["angle"][e]))
            ex, ey = c * half_l + s * half_w, s * half_l + c * half_w
            out.append(((ax, ay), (ax - ex, ay - ey, ax + ex, ay + ey)))
    nodes = view.node_source.data
    for k, text in enumerate(nodes["label"]):
        if text:
            ax, ay = _to_px(view, nodes["x"][k], nodes["y"][k])
            r = nodes["size"][k] / 2
            out.append(((ax, ay), (ax - r, ay - r, ax + r, ay + r)))
    return out


def assert_labels_attached(view, at):
    """Each drawn label lies within NEAR_LINES lines of text of what it names, or a leader joins them."""
    style = STYLES["presenter" if view.presenter else "normal"]
    near = NEAR_LINES * style.line_height
    leaders = view.leader_source.data
    ends = [(_to_px(view, leaders["x0"][j], leaders["y0"][j]), _to_px(view, leaders["x1"][j], leaders["y1"][j]))
            for j in range(len(leaders["x0"]))]
    used = set()
    for (text, box), (anchor, body) in zip(_label_boxes(view), _named(view)):
        if _gap(box, body) <= near + 1e-6:
            continue
        mine = [j for j, (start, end) in enumerate(ends)
                if math.dist(end, anchor) < 0.01 and _gap(box, (*start, *start)) <= 0.01]
        assert mine, f"{at}: {text!r} lies {_gap(box, body):.0f} px from what it names, with no leader line"
        used.update(mine)
    assert len(used) == len(ends), f"{at}: {len(ends) - len(used)} leader lines belong to no far label"


@pytest.mark.parametrize("window", WINDOWS, ids=lambda w: f"{w[0]}x{w[1]}")
@pytest.mark.parametrize("name", list(gallery.EXAMPLES))
def test_every_label_is_near_what_it_names_or_has_a_leader_line(name, window):
    view = view_at(name, window)
    assert_labels_attached(view, f"{name} at {window}")
    assert view.leader_renderer.visible == (len(view.leader_source.data["x0"]) > 0)


def test_presenter_mode_labels_are_attached_too():
    view = CircuitView(store=CircuitStore.from_example("resistor ladder"), presenter=True)
    for window in WINDOWS:
        view.frame = figure_size(*window)
        view._repaint()
        assert_labels_attached(view, f"presenter at {window}")


def test_the_small_drn_labels_sit_next_to_their_nodes():
    # the CI screenshot at 1440x900 showed L2_0's label about 50 px right of its node
    view = CircuitView(store=CircuitStore.from_example("small DRN"))
    for window in WINDOWS:
        view.frame = figure_size(*window)
        view._repaint()
        near = NEAR_LINES * STYLES["normal"].line_height
        for (text, box), (_, body) in zip(_label_boxes(view), _named(view)):
            assert _gap(box, body) <= near, f"{text!r} at {window} lies {_gap(box, body):.0f} px from its node"


def test_a_value_change_moves_no_label_and_reruns_no_placement(monkeypatch):
    import explorer.circuit_view as circuit_view

    view = CircuitView(store=CircuitStore.from_example("resistor ladder"))
    view.frame = figure_size(1024, 768)
    view._repaint()
    calls = []
    layout = circuit_view.layout_drawing
    monkeypatch.setattr(circuit_view, "layout_drawing", lambda *a, **k: calls.append(1) or layout(*a, **k))
    leaders = {k: list(v) for k, v in view.leader_source.data.items()}
    offsets = list(view.node_source.data["lox"])
    name = view.store.network.elements()[0].name
    view.store.set_value(name, 2 * view.store.network.elements()[0].value)
    assert calls == []
    assert {k: list(v) for k, v in view.leader_source.data.items()} == leaders
    assert list(view.node_source.data["lox"]) == offsets


# ----------------------------------------------------------------------------- placement rules
def test_a_near_place_across_a_wire_beats_a_far_one_that_crosses_nothing():
    # a 20 x 10 label of a point at (100, 50); candidates: 60 px away (nothing crossed) first,
    # then just right of it, across a vertical wire at x = 110
    anchor = [(100.0, 50.0)]
    wire = np.array([[110.0, 0.0, 110.0, 100.0]])
    candidates = [[(0.0, 60.0 + 5.0), (15.0, 0.0)]]
    _, placed, chosen = place_labels(anchor, [(20.0, 10.0)], candidates, np.zeros((0, 4)), (300, 200), wires=wire)
    assert placed[0] and chosen[0] == 0  # without a notion of near, the first that crosses nothing
    _, placed, chosen = place_labels(anchor, [(20.0, 10.0)], candidates, np.zeros((0, 4)), (300, 200), wires=wire,
                                     near=20.0)
    assert placed[0] and chosen[0] == 1


def test_the_free_spot_search_takes_the_spot_nearest_what_the_label_names():
    # a 20 x 10 label whose one candidate collides; the obstacle leaves free a strip left of it
    # (x < 30) and one right of it (x > 150), the anchor at x = 50: the left strip is nearer
    obstacle = np.array([[30.0, 0.0, 150.0, 100.0]])
    body = np.array([[46.0, 46.0, 54.0, 54.0]])
    offsets, placed, _ = place_labels([(50.0, 50.0)], [(20.0, 10.0)], [[(0.0, 0.0)]], obstacle, (200, 100),
                                      bodies=body, near=5.0)
    centre = np.array([50.0, 50.0]) + offsets[0]
    assert placed[0] and centre[0] + 10 <= 30.0
    assert abs(centre[1] - 50.0) <= 6.0  # level with the anchor (the nearest rows), on the 6-px grid


def test_a_leader_line_goes_round_other_labels_where_it_can():
    # label A sits right of its anchor at (100, 50). Label B (anchor (60, 50), inside an obstacle)
    # has two far candidates 79 px from its body: right of A, its leader would cross A; above,
    # it crosses only the obstacle, as the other does. B takes the one above though offered second.
    obstacles = np.array([[30.0, 30.0, 90.0, 70.0]])
    anchors = [(100.0, 50.0), (60.0, 50.0)]
    sizes = [(20.0, 10.0), (20.0, 10.0)]
    candidates = [[(15.0, 0.0)], [(90.0, 0.0), (0.0, 85.0)]]
    bodies = np.array([[99.0, 49.0, 101.0, 51.0], [59.0, 49.0, 61.0, 51.0]])
    offsets, placed, chosen = place_labels(anchors, sizes, candidates, obstacles, (300, 200), bodies=bodies,
                                           near=5.0)
    assert placed.all() and chosen[1] == 1
    boxes = np.array([[*(np.array(a) + o - 5 * np.array([2, 1])), *(np.array(a) + o + 5 * np.array([2, 1]))]
                      for a, o in zip(anchors, offsets)])
    index, lines = leader_lines(anchors, boxes, bodies, 5.0)
    assert list(index) == [1]
    assert tuple(lines[0, 2:]) == anchors[1]  # ends at the anchor
    assert boxes[1, 0] <= lines[0, 0] <= boxes[1, 2] and lines[0, 1] == boxes[1, 1]  # starts on the label


def test_segments_intersect_matches_a_hand_worked_case():
    a = np.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 0.0]])
    b = np.array([[0.0, 2.0, 2.0, 0.0], [3.0, 3.0, 4.0, 4.0], [0.5, -1.0, 0.5, 1.0]])
    expected = [[True, False, True],  # the diagonals cross at (1, 1), x = 0.5 at (0.5, 0.5); a parallel one does not
                [False, False, True]]  # x = 0.5 crosses the unit segment on the axis
    assert segments_intersect(a, b).tolist() == expected
