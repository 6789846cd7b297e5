"""A value edit repaints only the figure's top canvas (nodes, arrows), never the wires under it.

BokehJS paints the ``overlay`` level on a canvas of its own; the explorer draws what a value
change alters there, and the wires and symbols, which stay, on the primary canvas. The test counts
the repaints of each canvas in Chromium while the slider moves on a 500-node mesh.
"""

import pytest

pytest.importorskip("playwright")

from .test_explorer_browser import TIMEOUT, browser, page, select_element, wait_until  # noqa: E402,F401
from explorer.testing import serve_app  # noqa: E402


@pytest.fixture(scope="module")
def app_url():
    with serve_app() as url:
        yield url


COUNT_PAINTS_JS = """() => {
  function* walk(v) { yield v; for (const c of (v.child_views ?? [])) yield* walk(c); }
  for (const root of Object.values(Bokeh.index)) for (const v of walk(root)) {
    if (!(v.model && v.model.name === 'circuit-figure' && v.canvas_view)) continue;
    const counts = window.__layer_paints = {primary: 0, overlays: 0};
    for (const layer of ['primary', 'overlays']) {
      const canvas = v.canvas_view[layer], prepare = canvas.prepare.bind(canvas);
      canvas.prepare = (...a) => { counts[layer] += 1; return prepare(...a); };
    }
    const views = {};
    for (const r of v.computed_renderer_views) if (r.model.name) views[r.model.name] = r;
    return Object.fromEntries(Object.entries(views).map(([k, r]) => [k, [r.model.level, r.needs_clip]]));
  }
  return null;
}"""


def test_a_value_edit_repaints_only_the_top_canvas(page, app_url):
    page.goto(f"{app_url}?nodes=500")
    page.locator("td.volt").first.wait_for(timeout=TIMEOUT * 1000)
    select_element(page, "R2")
    page.wait_for_timeout(1500)  # the first layouts and paints are over
    renderers = page.evaluate(COUNT_PAINTS_JS)
    # what a value change alters is on top, clipped to the plot frame like every other glyph
    for name in ("nodes", "current-arrows"):
        assert renderers[name] == ["overlay", True], name
    for name in ("elements", "elements-2", "elements-3", "diodes", "resistor-boxes"):
        assert renderers[name][0] == "glyph", name
    before = page.evaluate("() => Bokeh.documents[0].get_model_by_name('circuit-nodes').data.v")
    handle = page.locator(".value-slider .noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    wait_until(lambda: page.evaluate(
        "() => Bokeh.documents[0].get_model_by_name('circuit-nodes').data.v") != before,
        what="new potentials")
    page.wait_for_timeout(1000)  # any later repaint would be counted too
    counts = page.evaluate("() => window.__layer_paints")
    assert counts["overlays"] >= 1
    assert counts["primary"] == 0
    assert page.errors == []
