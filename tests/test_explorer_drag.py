"""Dragging nodes, server side: a repaint for another reason never pulls a dragged node back.

In the browser the point-draw tool moves a node and sends the positions when the
mouse is released; the page may meanwhile report a new figure size, whose
relayout reaches the browser first. These tests replay that order on the view.
"""

import pytest

from explorer import CircuitView
from explorer.state import CircuitStore


def report_frame(view, width, height):
    """The browser reports a new plot-frame size (as Bokeh's server applies its patch)."""
    view.figure.set_from_json("inner_width", width)
    view.figure.set_from_json("inner_height", height)


def positions(view):
    data = view.node_source.data
    return {n: (float(x), float(y)) for n, x, y in zip(data["name"], data["x"], data["y"])}


def test_a_relayout_during_a_drag_keeps_the_browsers_positions_and_selection():
    store = CircuitStore.from_example("wheatstone")
    view = CircuitView(store=store)
    nodes = view.node_source
    a = list(nodes.data["name"]).index("a")
    x_sent, y_sent = nodes.data["x"], nodes.data["y"]
    nodes.selected.indices = [a]  # the point-draw tool picked "a" up
    view._on_drag_start(None)
    width, height = view.frame
    report_frame(view, width + 100, height + 50)  # relaid out for a new size
    assert view.frame == (width + 100, height + 50)
    assert nodes.data["x"] is x_sent and nodes.data["y"] is y_sent  # positions not sent again
    assert nodes.selected.indices == [a]  # the drag goes on
    # the drop: the browser's positions arrive, the store takes them, nothing is echoed back
    dropped = {**nodes.data, "x": list(x_sent), "y": list(y_sent)}
    dropped["x"][a], dropped["y"][a] = 0.5, 0.9
    nodes.data = dropped
    assert store.network.node_attributes("a") == {"x": 0.5, "y": 0.9}
    assert nodes.data["x"] is dropped["x"] and positions(view)["a"] == (0.5, 0.9)
    assert not view._dragging


def test_a_drop_on_a_grid_built_circuit_lands_on_the_grid():
    store = CircuitStore.from_example("divider")
    store.new_blank()
    store.arm("resistor")
    store.click(0, 1)
    store.click(1, 1)
    view = CircuitView(store=store)
    names = list(view.node_source.data["name"])
    k = names.index("n1")
    dropped = {**view.node_source.data, "x": list(view.node_source.data["x"]),
               "y": list(view.node_source.data["y"])}
    dropped["x"][k], dropped["y"][k] = 2.3, 1.4  # released 1.3 cells right, a little up
    view.node_source.data = dropped
    assert store.network.node_attributes("n1") == {"x": 2.0, "y": 1.0}
    assert positions(view)["n1"] == (2.0, 1.0)  # and the browser is sent the snapped place


def test_rows_deleted_in_the_browser_are_put_back():
    store = CircuitStore.from_example("divider")
    view = CircuitView(store=store)
    before = positions(view)
    shorter = {k: list(v)[:-1] for k, v in view.node_source.data.items()}  # Backspace on a node
    view.node_source.data = shorter
    assert positions(view) == before
    assert len(store.network.nodes) == 3


@pytest.mark.parametrize("example", ["clipper", "wheatstone"])
def test_node_selection_is_cleared_on_a_relayout_when_no_drag_is_under_way(example):
    view = CircuitView(store=CircuitStore.from_example(example))
    view.node_source.selected.indices = [0]  # a node tapped earlier
    width, height = view.frame
    report_frame(view, width + 100, height + 50)
    assert view.node_source.selected.indices == []  # a later drag moves only the node it grabs
