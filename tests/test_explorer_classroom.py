"""The explorer in a classroom, in headless Chromium: no sideways overflow on a small screen or at
150 % zoom, the page scrolls under the wheel, the figure grows with the room it gets, labels laid
out for the figure's real size, a shared link opens exactly its circuit, presenter mode.

With ``RESISTIVE_EXPLORER_UPDATE_SCREENSHOTS=1`` the README's screenshots are retaken.
"""

import os
import time

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

from explorer import gallery, share  # noqa: E402
from explorer.layout import figure_size  # noqa: E402
from explorer.testing import CHROMIUM, serve_app  # noqa: E402
from tests.test_explorer_browser import ARTIFACTS, browser, shot  # noqa: E402,F401 (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Chromium at {CHROMIUM}"),
]

TIMEOUT = 400.0  # seconds, for anything that waits on the server (a loaded 2-core CI machine)

FRAME_JS = """() => {
  const d = window.Bokeh && Bokeh.documents[0];
  const f = d && d.get_model_by_name('circuit-frame');
  return f && f.data.w[0] > 0 ? [f.data.w[0], f.data.h[0]] : null;
}"""
OVERFLOW_JS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


@pytest.fixture(scope="module")
def app_url():
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_app(timeout=TIMEOUT, log_path=ARTIFACTS / "classroom-server.log") as url:
        yield url


def open_page(browser, url, width, height, zoom=1.0):
    """A page of ``width`` x ``height`` screen pixels at browser zoom ``zoom`` (CSS px = screen / zoom)."""
    context = browser.new_context(viewport={"width": round(width / zoom), "height": round(height / zoom)},
                                  device_scale_factor=zoom)
    context.set_default_timeout(TIMEOUT * 1000)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(FRAME_JS, timeout=TIMEOUT * 1000, polling=500)
    return page


def settled_frame(page):
    """The plot frame's size once the server has laid the drawing out for it."""
    last = None
    for _ in range(20):
        frame = page.evaluate(FRAME_JS)
        if frame == last:
            return frame
        last = frame
        page.wait_for_timeout(700)
    return last


@pytest.mark.parametrize("width, height, zoom", [(1024, 768, 1.0), (1440, 900, 1.5)],
                         ids=["1024x768", "1440x900-at-150%"])
def test_no_sideways_overflow_and_the_wheel_scrolls_the_page(browser, app_url, width, height, zoom):
    page = open_page(browser, f"{app_url}?example=clipper", width, height, zoom)
    try:
        settled_frame(page)
        scroll_width, client_width = page.evaluate(OVERFLOW_JS)
        assert scroll_width <= client_width, f"page overflows sideways: {scroll_width} > {client_width}"
        shot(page, f"explorer-circuit-{width}x{height}" + ("-zoom150" if zoom != 1 else ""),
             docs=zoom == 1.0)
        # the wheel over the circuit scrolls the page and leaves the drawing's scale alone
        ranges = "() => { const f = Bokeh.documents[0].get_model_by_name('circuit-figure'); " \
                 "return [f.x_range.start, f.x_range.end]; }"
        before = page.evaluate(ranges)
        box = page.locator(".circuit-figure-pane").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, 300)
        page.wait_for_timeout(800)
        assert page.evaluate("() => window.scrollY || document.scrollingElement.scrollTop") > 0
        assert page.evaluate(ranges) == before
    finally:
        page.context.close()


def test_figure_widens_with_the_window_and_labels_follow_its_size(browser, app_url):
    small = open_page(browser, f"{app_url}?example=wheatstone", 1024, 768)
    large = open_page(browser, f"{app_url}?example=wheatstone", 1440, 900)
    try:
        small_frame, large_frame = settled_frame(small), settled_frame(large)
        assert large_frame[0] > small_frame[0] + 300  # the width follows the window
        # the prediction the label tests use is close to the real figure
        for frame, window in ((small_frame, (1024, 768)), (large_frame, (1440, 900))):
            predicted = figure_size(*window)
            assert abs(frame[0] - predicted[0]) <= 40 and abs(frame[1] - predicted[1]) <= 60, (frame, predicted)
        shot(large, "explorer-circuit", docs=True)
        # collapsing the sidebar gives the figure the room
        large.locator("#sidebar-button").click()
        wait = time.monotonic() + TIMEOUT
        while settled_frame(large)[0] < large_frame[0] + 250:
            assert time.monotonic() < wait, "the figure did not grow when the sidebar collapsed"
            large.wait_for_timeout(500)
    finally:
        small.context.close()
        large.context.close()


def test_a_shared_link_opens_exactly_its_circuit_and_copy_link_makes_one(browser, app_url):
    net = gallery.build("bridge rectifier")
    net.set_value("Vac", -5.0)
    text = share.encode(net, title="negative half-wave", view={"presenter": True})
    page = open_page(browser, f"{app_url}?circuit={text}", 1440, 900)
    try:
        names = page.evaluate("() => Bokeh.documents[0].get_model_by_name('circuit-edges').data.name")
        assert sorted(names) == sorted(e.name for e in net.elements())
        nodes = page.evaluate("() => Bokeh.documents[0].get_model_by_name('circuit-nodes').data")
        for k, node in enumerate(nodes["name"]):
            attrs = net.node_attributes(node if node in net.nodes else int(node))
            assert (nodes["x"][k], nodes["y"][k]) == (attrs["x"], attrs["y"])
        assert page.locator(".presenter-toggle .bk-active").count() == 1
        settled_frame(page)
        shot(page, "explorer-presenter", docs=True)
        page.locator(".copy-link button").click()
        link_box = page.locator(".share-link input")
        link_box.wait_for()
        deadline = time.monotonic() + TIMEOUT
        while "?circuit=" not in link_box.input_value():
            assert time.monotonic() < deadline
            page.wait_for_timeout(300)
        link = link_box.input_value()
        assert link.startswith(app_url)
        assert share.decode(link.split("?circuit=")[1]) == net
    finally:
        page.context.close()
