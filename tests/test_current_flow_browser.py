"""Current-flow dots in headless Chromium: animated by the page, in the direction of the current."""

import math
import os

import numpy as np
import pytest

from explorer.current_flow import dots_at
from explorer.testing import CHROMIUM

from .test_explorer_browser import TIMEOUT, app_url, browser, open_example, page, volts, wait_until  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Chromium at {CHROMIUM}"),
]

# Two consecutive animation frames of the dots, the paths they run on, the node positions, and
# how many messages the page sent to the server meanwhile.
TWO_FRAMES_JS = """async () => {
  const doc = Bokeh.documents[0];
  const dots = doc.get_model_by_name('circuit-dots'), flow = doc.get_model_by_name('circuit-flow');
  const nodes = doc.get_model_by_name('circuit-nodes');
  const snap = () => ({t: dots.__t, x: Array.from(dots.data.x), y: Array.from(dots.data.y),
                       row: Array.from(dots.data.row)});
  const first = snap();
  while (dots.__t === first.t) await new Promise(r => setTimeout(r, 5));
  const second = snap();
  const f = flow.data;
  return {first, second, paths: {ei: Array.from(f.ei), xs: f.xs.map(a => Array.from(a)),
          ys: f.ys.map(a => Array.from(a)), gap: Array.from(f.gap), count: Array.from(f.count),
          speed: Array.from(f.speed)},
          nodes: Object.fromEntries(nodes.data.name.map((n, k) => [n, [nodes.data.x[k], nodes.data.y[k]]]))};
}"""


def arc_length(xs, ys, point):
    """Distance along the polyline ``xs, ys`` to ``point``, which lies on it."""
    done = 0.0
    for a, b in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        leg = math.dist(a, b)
        if abs(math.dist(a, point) + math.dist(point, b) - leg) < 1e-9:
            return done + math.dist(a, point)
        done += leg
    raise AssertionError(f"{point} is not on the path {list(zip(xs, ys))}")


def test_current_flow_dots_move_with_the_current(page, app_url):
    """Divider: 10 V, 1 kΩ + 3 kΩ. 2.5 mA flows in -> mid -> 0 through R1, R2 and up through V1."""
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    open_example(page, app_url, "divider", "mid")
    wait_until(lambda: abs(volts(page, "mid") - 7.5) < 1e-9, what="mid = 7.5 V")
    count = "() => Bokeh.documents[0].get_model_by_name('circuit-dots').data.x.length"
    assert page.evaluate(count) == 0  # off by default
    page.locator(".flow-toggle input").check()
    wait_until(lambda: page.evaluate(count) > 0, what="dots")
    page.wait_for_timeout(500)
    sent.clear()

    def short_step(frames):
        """Two frames close enough that no dot moved half its spacing (a loaded machine may lag)."""
        dt = frames["second"]["t"] - frames["first"]["t"]
        p = frames["paths"]
        return 0 < dt and all(v * dt < g / 2 for v, g in zip(p["speed"], p["gap"])) and frames

    frames = wait_until(lambda: short_step(page.evaluate(TWO_FRAMES_JS)), timeout=60, interval=0.2,
                        what="two consecutive frames")
    first, second, paths = frames["first"], frames["second"], frames["paths"]
    assert sorted(paths["ei"]) == [0, 1, 2]  # V1, R1, R2 (network order) all carry 2.5 mA
    # the page draws the dots where the Python reference puts them at the page's clock
    for frame in (first, second):
        x, y, row = dots_at(paths, frame["t"])
        np.testing.assert_allclose(frame["x"], x, atol=1e-9)
        np.testing.assert_allclose(frame["y"], y, atol=1e-9)
        assert frame["row"] == list(row)
    # each path starts at the higher potential in the resistors (in 10 V > mid 7.5 V > 0 V) and
    # at the - terminal inside the source
    nodes = frames["nodes"]
    starts = {0: ("0", "in"), 1: ("in", "mid"), 2: ("mid", "0")}  # V1, R1, R2
    dt = second["t"] - first["t"]
    for r, k in enumerate(paths["ei"]):
        xs, ys = paths["xs"][r], paths["ys"][r]
        start, end = starts[k]
        assert (xs[0], ys[0]) == pytest.approx(tuple(nodes[start])), k
        assert (xs[-1], ys[-1]) == pytest.approx(tuple(nodes[end])), k
        # between the two frames every dot moved forward by speed * dt (one leaving the end
        # came back at the start)
        step = paths["speed"][r] * dt  # less than half the spacing: a dot's move is unambiguous
        before = [arc_length(xs, ys, (a, b)) for a, b, q in zip(first["x"], first["y"], first["row"]) if q == r]
        after = [arc_length(xs, ys, (a, b)) for a, b, q in zip(second["x"], second["y"], second["row"]) if q == r]
        moved = [s for s in after if s > step + 1e-9]
        assert len(moved) >= len(after) - 1
        for s in moved:
            assert min(abs(s - step - q) for q in before) < 1e-9, (k, s)
    page.wait_for_timeout(1000)  # 25 more frames
    assert sent == []  # the animation sent nothing to the server
    # off again: the dots go
    page.locator(".flow-toggle input").uncheck()
    wait_until(lambda: page.evaluate(count) == 0, what="no dots")
    assert page.errors == []
