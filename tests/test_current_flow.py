"""Current-flow dots: which elements get them, which way and how fast they move (no browser)."""

import math

import numpy as np
import pytest

from explorer import CircuitView, gallery
from explorer.current_flow import (CURRENT_DECADES, SPEED_PX, ZERO_CURRENT, dot_speed_px, dots_at,
                                   flow_paths)
from explorer.state import CircuitStore


def flow_of(view):
    """The flow rows keyed by element name."""
    names = [e.name for e in view.store.network.elements()]
    data = view.flow_source.data
    return {names[k]: {key: data[key][r] for key in data} for r, k in enumerate(data["ei"])}


def position(net, node):
    a = net.node_attributes(node)
    return (a["x"], a["y"])


def test_speed_is_log_scaled_between_its_ends():
    low, high = CURRENT_DECADES
    assert dot_speed_px(10.0 ** low) == pytest.approx(SPEED_PX[0])
    assert dot_speed_px(10.0 ** high) == pytest.approx(SPEED_PX[1])
    assert dot_speed_px(1e-15) == pytest.approx(SPEED_PX[0])  # clipped below
    assert dot_speed_px(1e3) == pytest.approx(SPEED_PX[1])  # and above
    # equal steps per decade, whatever the sign: a microampere and an ampere both visibly move
    micro, milli, one = dot_speed_px([1e-6, -1e-3, 1.0])
    assert milli - micro == pytest.approx(one - milli)
    assert one > 2 * micro > 2 * SPEED_PX[0]


def test_divider_dots_follow_conventional_current():
    """10 V over 1 kΩ + 3 kΩ: 2.5 mA from ``in`` through R1, R2 to ground, and up through V1."""
    store = CircuitStore.from_example("divider")
    view = CircuitView(store=store)
    assert list(view.flow_source.data["ei"]) == []  # off by default
    assert "current flow" not in view.legend.object
    view.show_flow = True
    assert "current flow" in view.legend.object  # the legend says what the dots mean
    rows = flow_of(view)
    net = store.network
    assert set(rows) == {"V1", "R1", "R2"}
    # resistors: from the higher potential (in 10 V > mid 7.5 V > 0 V) to the lower
    for name, start, end in (("R1", "in", "mid"), ("R2", "mid", "0"), ("V1", "0", "in")):
        path = rows[name]
        assert (path["xs"][0], path["ys"][0]) == position(net, start), name
        assert (path["xs"][-1], path["ys"][-1]) == position(net, end), name
        # all three carry 2.5 mA: the same speed, in px/s on screen
        scale = view.geometry()["drawing"]["scale"]
        assert path["speed"] * scale == pytest.approx(float(dot_speed_px(10.0 / 4000.0)))
        length = sum(math.dist(p, q) for p, q in zip(zip(path["xs"], path["ys"]),
                                                      zip(path["xs"][1:], path["ys"][1:])))
        assert path["gap"] * path["count"] == pytest.approx(length)
    view.show_flow = False
    assert list(view.flow_source.data["ei"]) == []


def test_clipper_blocking_diode_and_balanced_bridge_show_no_dots():
    # clipper: 5 V, 1 kΩ, a 0.7 V clamp: D1 conducts 4.23 mA, D2 blocks, the 10 kΩ load takes 70 µA
    view = CircuitView(store=CircuitStore.from_example("clipper"), show_flow=True)
    rows = flow_of(view)
    assert set(rows) == {"Vin", "R1", "D1", "Rload"}
    scale = view.geometry()["drawing"]["scale"]
    assert rows["Rload"]["speed"] * scale == pytest.approx(float(dot_speed_px(0.7 / 10e3)))
    assert rows["D1"]["speed"] * scale == pytest.approx(float(dot_speed_px((5 - 0.7) / 1e3 - 0.7 / 10e3)))
    assert rows["Rload"]["speed"] < rows["D1"]["speed"]
    # a balanced Wheatstone bridge (R1/R3 = R2/R4): no current through R5, so no dots on it
    net = gallery.build("wheatstone")
    net.set_value("R4", resistance=1e3)
    view = CircuitView(store=CircuitStore(net), show_flow=True)
    assert set(flow_of(view)) == {"V1", "R1", "R2", "R3", "R4"}


def test_no_dots_while_the_numbers_are_unknown():
    store = CircuitStore.from_example("divider")
    view = CircuitView(store=store, show_flow=True)
    assert len(view.flow_source.data["ei"]) == 3
    store.arm("vsource")  # a source between two new, floating nodes: potentials not determined
    store.click(0, 3)
    store.click(2, 3)
    assert store.stale
    assert list(view.flow_source.data["ei"]) == []


def test_zero_and_tiny_currents_are_left_out():
    xy = np.array([[0.0, 0.0], [1.0, 0.0]])
    nan = np.full((3, 2), np.nan)
    pi, ni = np.array([0, 0, 0]), np.array([1, 1, 1])
    paths = flow_paths(xy, pi, ni, nan, nan, [1e-3, 1e-13, 0.5 * ZERO_CURRENT], ["resistor"] * 3,
                       [False] * 3, scale=100.0)
    assert paths["ei"] == [0]  # 1e-13 A is below a billionth of 1 mA; the last is below ZERO_CURRENT


def test_dot_positions_move_forward_along_an_elbow():
    """An elbow (0,0) -> (0,1) -> (2,1): 3 dots 1 unit apart, moving at 0.3 units/s."""
    paths = dict(xs=[[0.0, 0.0, 2.0]], ys=[[0.0, 1.0, 1.0]], gap=[1.0], count=[3], speed=[0.3])
    x, y, row = dots_at(paths, 0.0)
    np.testing.assert_allclose(np.column_stack([x, y]), [[0, 0], [0, 1], [1, 1]], atol=1e-12)
    x, y, _ = dots_at(paths, 1.0)  # 0.3 further along the path
    np.testing.assert_allclose(np.column_stack([x, y]), [[0, 0.3], [0.3, 1], [1.3, 1]], atol=1e-12)
    x, y, _ = dots_at(paths, 4.0)  # 1.2 along: each dot is where the next one was, plus 0.2
    np.testing.assert_allclose(np.column_stack([x, y]), [[0, 0.2], [0.2, 1], [1.2, 1]], atol=1e-12)
    assert list(row) == [0, 0, 0]
