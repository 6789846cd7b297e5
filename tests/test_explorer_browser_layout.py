"""The served page at classroom window sizes, measured in headless Chromium.

At 1440x900, 1024x768 and at 150 % browser zoom (a 1024x768 window at 150 % is a 683x512
CSS-pixel viewport drawn at device_scale_factor 1.5; 1440x900 at 150 % is 960x600):

* nothing overflows sideways (``scrollWidth`` no wider than the viewport), and no control of the
  Circuit tab sticks out of the window or out of the column that holds it (the template hides
  what sticks out, so a cut button does not show up in ``scrollWidth``);
* every palette button and the status line lie wholly inside the window, the status text is not
  cut;
* the circuit figure lies wholly inside the window's width;
* every label drawn on the circuit lies inside the plot frame and overlaps no other label, measured
  as BokehJS draws them (the label views' own text boxes);
* the drawing was laid out for the frame the browser rendered (the same px per unit on both axes
  means the server used the real frame size, not a prediction).

Collapsing the sidebar widens the figure and the drawing follows; a taller window makes the figure
taller, and at 1440x900 the controls, the figure and its legend fit in the window.
"""

import contextlib
import os

import pytest

from tests.test_explorer_browser import (  # noqa: F401 - fixtures
    ARTIFACTS,
    DOCS,
    app_url,
    browser,
    pytestmark,
    wait_until,
)

TIMEOUT = 180.0  # seconds, for anything that waits on the server (a loaded 2-core machine)

#: (name, CSS-pixel viewport, device scale factor)
WINDOWS = [
    ("1440x900", (1440, 900), 1.0),
    ("1024x768", (1024, 768), 1.0),
    ("1024x768-at-150", (683, 512), 1.5),
    ("1440x900-at-150", (960, 600), 1.5),
]
EXAMPLES = ["divider", "wheatstone", "small-drn"]

# Everything measured in one pass of the page. Label boxes come from the LabelSet views
# themselves: each view paints its labels (text and white background box) into a recording
# canvas context, whose moveTo/lineTo calls are the corners of the background box, in the
# same canvas coordinates as the plot frame's bounding box.
MEASURE_JS = """() => {
  const vw = document.documentElement.clientWidth, vh = document.documentElement.clientHeight;
  const out = {vw, vh, scroll_width: document.documentElement.scrollWidth, cut: [], palette: [], labels: []};
  function* elements(root) {
    for (const el of root.querySelectorAll('*')) { yield el; if (el.shadowRoot) yield* elements(el.shadowRoot); }
  }
  const deep = (selector) => [...elements(document)].filter(el => el.matches(selector));
  const main = document.querySelector('#main').getBoundingClientRect();
  const edge = Math.min(vw, main.right);
  for (const el of elements(document.querySelector('#main'))) {
    if (!['BUTTON', 'SELECT', 'INPUT', 'CANVAS'].includes(el.tagName)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;  // hidden
    if (r.left < -0.5 || r.right > edge + 0.5)
      out.cut.push([el.tagName, el.textContent.trim().slice(0, 30), r.left, r.right]);
  }
  for (const host of deep('.palette, .new-blank, .delete-selection')) {
    for (const el of [host, ...elements(host.shadowRoot ?? host)]) {
      if (el.tagName !== 'BUTTON') continue;
      const r = el.getBoundingClientRect();
      out.palette.push([el.textContent.trim(), r.left, r.right, r.top, r.bottom]);
    }
  }
  const legend = deep('.circuit-legend')[0].getBoundingClientRect();
  out.legend = {top: legend.top, bottom: legend.bottom};
  const status = deep('.solve-status')[0];
  const text = [...elements(status.shadowRoot ?? status)].find(el => el.matches('[data-status]'));
  const sr = status.getBoundingClientRect(), tr = text.getBoundingClientRect();
  out.status = {left: sr.left, right: sr.right, top: sr.top, bottom: sr.bottom, text_bottom: tr.bottom,
                text_right: tr.right, text: text.textContent};
  function* views(v) { yield v; for (const c of (v.child_views ?? [])) yield* views(c); }
  let fig = null;
  for (const root of Object.values(Bokeh.index)) for (const v of views(root))
    if (v.model && v.model.name === 'circuit-figure') fig = v;
  const r = fig.el.getBoundingClientRect();
  out.figure = {left: r.left, right: r.right, top: r.top, bottom: r.bottom};
  const f = fig.frame.bbox;
  out.frame = {left: f.left, top: f.top, right: f.right, bottom: f.bottom, width: f.width, height: f.height,
               inner_width: fig.model.inner_width, inner_height: fig.model.inner_height};
  out.ranges = [fig.model.x_range.start, fig.model.x_range.end, fig.model.y_range.start, fig.model.y_range.end];
  for (const lv of fig.renderer_views.values()) {
    if (lv.model.type !== 'LabelSet' || !lv.model.visible || !lv.model.background_fill_color) continue;
    const real = document.createElement('canvas').getContext('2d');
    let corners = [];
    const ctx = new Proxy(real, {
      get(target, key) {
        if (key === 'moveTo' || key === 'lineTo') return (x, y) => { corners.push([x, y]); target[key](x, y); };
        const value = target[key];
        return typeof value === 'function' ? value.bind(target) : value;
      },
      set(target, key, value) { target[key] = value; return true; },
    });
    for (let i = 0; i < lv.text.length; i++) {
      const text = lv.text.get(i);
      if (text == null || `${text}` === '') continue;
      const sx = lv.sx[i] + lv.x_offset.get(i), sy = lv.sy[i] - lv.y_offset.get(i);
      corners = [];
      lv._paint_text(ctx, i, `${text}`, sx, sy, lv.angle.get(i));
      const xs = corners.map(c => c[0]), ys = corners.map(c => c[1]);
      out.labels.push({text: `${text}`, x0: Math.min(...xs), x1: Math.max(...xs),
                       y0: Math.min(...ys), y1: Math.max(...ys)});
    }
  }
  return out;
}"""

SIDEBAR_JS = "() => document.querySelector('#sidebar').getBoundingClientRect().width"


def settled(page, timeout=60.0):
    """Measure once the drawing is laid out for the frame the browser shows (same scale on both axes),
    or as it is after ``timeout`` s (then :func:`check_page` says what is wrong)."""
    def laid_out():
        m = page.evaluate(MEASURE_JS)
        return m if same_scale(m) and m["labels"] else None
    try:
        return wait_until(laid_out, timeout=timeout, what="the drawing laid out for the rendered frame")
    except AssertionError:
        return page.evaluate(MEASURE_JS)


def resized(page, size, timeout=60.0):
    """Measure once the page is laid out for a ``size`` window: the drawing at the same scale on both
    axes *and* nothing left over from the previous, wider layout (right after a resize the old canvases,
    still the same scale, are briefly measured), or as it is after ``timeout`` s."""
    def laid_out():
        m = page.evaluate(MEASURE_JS)
        return (m if m["vh"] == size[1] and same_scale(m) and m["labels"] and m["cut"] == []
                and m["figure"]["right"] <= m["vw"] else None)
    try:
        return wait_until(laid_out, timeout=timeout, what=f"the page laid out for a {size} window")
    except AssertionError:
        return page.evaluate(MEASURE_JS)


def same_scale(m, tolerance=0.01):
    x0, x1, y0, y1 = m["ranges"]
    fx, fy = m["frame"]["width"] / (x1 - x0), m["frame"]["height"] / (y1 - y0)
    return abs(fx - fy) <= tolerance * max(fx, fy)


def overlaps(labels, slack=0.5):
    """Pairs of label boxes sharing more than ``slack`` px in both directions."""
    found = []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            if (min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > slack
                    and min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]) > slack):
                found.append((a["text"], b["text"]))
    return found


def check_page(m, where):
    """Every assertion about one measured page."""
    vw = m["vw"]
    assert m["scroll_width"] <= vw, f"{where}: the page is {m['scroll_width']} px wide in a {vw} px window"
    assert m["cut"] == [], f"{where}: controls stick out of the window or their column: {m['cut']}"
    assert len(m["palette"]) >= 8, f"{where}: palette buttons not found: {m['palette']}"
    for name, left, right, top, bottom in m["palette"]:
        assert 0 <= left and right <= vw, f"{where}: palette button {name!r} spans x {left:.0f}..{right:.0f}"
    status = m["status"]
    assert "solved" in status["text"], f"{where}: status line reads {status['text']!r}"
    assert 0 <= status["left"] and status["right"] <= vw, f"{where}: status line at x {status}"
    assert status["text_bottom"] <= status["bottom"] + 0.5, f"{where}: status text cut at the bottom: {status}"
    fig = m["figure"]
    assert 0 <= fig["left"] and fig["right"] <= vw, f"{where}: figure spans x {fig['left']:.0f}..{fig['right']:.0f}"
    frame = m["frame"]
    assert abs(frame["width"] - frame["inner_width"]) <= 1
    assert same_scale(m), (f"{where}: drawing not laid out for the {frame['width']}x{frame['height']} frame "
                           f"(ranges {m['ranges']})")
    for label in m["labels"]:
        inside = (label["x0"] >= frame["left"] - 0.5 and label["x1"] <= frame["right"] + 0.5
                  and label["y0"] >= frame["top"] - 0.5 and label["y1"] <= frame["bottom"] + 0.5)
        assert inside, f"{where}: label {label['text']!r} {label} outside the frame {frame}"
    assert overlaps(m["labels"]) == [], f"{where}: labels overlap: {overlaps(m['labels'])}"


@contextlib.contextmanager
def window(browser, size, scale=1.0):
    """A page in a fresh browser context of ``size`` CSS pixels at ``scale`` device pixels per pixel."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, device_scale_factor=scale)
    context.set_default_timeout(TIMEOUT * 1000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(f"page error: {e}"))
    try:
        yield page
        assert page.errors == []
    finally:
        context.close()


def load(page, url, example):
    page.goto(f"{url}?example={example}", timeout=TIMEOUT * 1000)
    page.locator("td.volt").first.wait_for()


def run_clipper_sweep(page):
    """Run the Sweep tab's sweep of the clipper and wait for its report (two breakpoints)."""
    def swept():
        done = page.locator("[data-sweep-done]")
        return done.count() > 0 and done.first.get_attribute("data-breakpoints") == "2"

    # a click that lands while the lazily built tab is still settling can be lost: click again
    for attempt in range(3):
        page.locator(".sweep-run button").click()
        try:
            wait_until(swept, timeout=TIMEOUT / 3, what="the sweep")
            return
        except AssertionError:
            if attempt == 2:
                raise


@pytest.mark.parametrize("name,size,scale", WINDOWS, ids=[w[0] for w in WINDOWS])
def test_page_fits_the_window_and_labels_fit_the_frame(browser, app_url, name, size, scale):
    with window(browser, size, scale) as page:
        for example in EXAMPLES:
            load(page, app_url, example)
            check_page(settled(page), f"{example} at {name}")
            page.screenshot(path=str(ARTIFACTS / f"layout-{example}-{name}.png"))


def test_collapsing_the_sidebar_widens_the_figure_and_the_drawing_follows(browser, app_url):
    with window(browser, (1024, 768)) as page:
        load(page, app_url, "wheatstone")
        before = settled(page)
        assert page.evaluate(SIDEBAR_JS) > 300
        page.locator("#sidebar-toggle").click()
        wait_until(lambda: page.evaluate(SIDEBAR_JS) < 1, what="the sidebar collapsed")
        after = wait_until(lambda: (m := settled(page))["frame"]["width"] > before["frame"]["width"] + 300 and m,
                           what="a wider figure")
        check_page(after, "wheatstone at 1024x768, sidebar collapsed")
        page.screenshot(path=str(ARTIFACTS / "layout-wheatstone-1024x768-collapsed.png"))


def test_the_figure_grows_with_the_window_height_and_fits_a_1440x900_window(browser, app_url):
    """The figure's height follows the window's (the page's CSS, then the drawing for the new frame)."""
    heights = {}
    with window(browser, (1440, 900)) as page:
        load(page, app_url, "wheatstone")
        for size in ((1440, 900), (1440, 1200), (1920, 1080), (1440, 900)):
            page.set_viewport_size({"width": size[0], "height": size[1]})
            m = resized(page, size)
            check_page(m, f"wheatstone at {size}")
            # nothing to scroll for: the palette, the figure and the legend under it are all in view
            assert 0 <= min(top for _, _, _, top, _ in m["palette"]), f"{size}: palette above the window"
            assert m["legend"]["bottom"] <= m["vh"], f"{size}: the legend ends at {m['legend']['bottom']:.0f} px"
            # ... and the figure takes the height there is: what is left under the legend is margin
            assert m["legend"]["bottom"] >= m["vh"] - 60, (f"{size}: {m['vh'] - m['legend']['bottom']:.0f} px "
                                                           "left empty under the legend")
            heights.setdefault(size, []).append(m["figure"]["bottom"] - m["figure"]["top"])
            page.screenshot(path=str(ARTIFACTS / f"layout-wheatstone-{size[0]}x{size[1]}-height.png"))
    assert heights[(1440, 1200)][0] >= heights[(1440, 900)][0] + 250, heights
    assert heights[(1920, 1080)][0] >= heights[(1440, 900)][0] + 150, heights
    assert heights[(1440, 900)][1] == pytest.approx(heights[(1440, 900)][0], abs=1), "back to the first size"


# The Sweep and Learning tabs: every visible control, text and figure of the main column lies in the
# window, and no text is clipped by its own box (the template hides what sticks out, so neither
# shows up in the page's scrollWidth).
TAB_JS = """(figures) => {
  const vw = document.documentElement.clientWidth;
  const main = document.querySelector('#main');
  const box = main.getBoundingClientRect();
  const edge = Math.min(vw, box.right);
  const out = {vw, scroll_width: document.documentElement.scrollWidth, main_scroll: main.scrollWidth,
               main_client: main.clientWidth, cut: [], clipped: [], figures: []};
  function* elements(root) {
    for (const el of root.querySelectorAll('*')) { yield el; if (el.shadowRoot) yield* elements(el.shadowRoot); }
  }
  const controls = ['BUTTON', 'SELECT', 'INPUT', 'TEXTAREA', 'CANVAS', 'LABEL', 'TABLE'];
  for (const el of elements(main)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
    const text = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    if (!controls.includes(el.tagName) && !text) continue;
    const what = [el.tagName, (text || el.textContent).trim().slice(0, 30)];
    if (r.left < box.left - 0.5 || r.right > edge + 0.5) out.cut.push([...what, r.left, r.right]);
    if (text && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)) {
      const style = getComputedStyle(el);
      if (style.display !== 'inline' && [style.overflowX, style.overflowY].some(o => o !== 'visible'))
        out.clipped.push([...what, el.scrollWidth, el.clientWidth, el.scrollHeight, el.clientHeight]);
    }
  }
  function* views(v) { yield v; for (const c of (v.child_views ?? [])) yield* views(c); }
  for (const root of Object.values(Bokeh.index)) for (const v of views(root)) {
    if (!v.model || !figures.includes(v.model.name) || !v.el.isConnected) continue;
    const r = v.el.getBoundingClientRect();
    if (r.width > 0) out.figures.push([v.model.name, r.left, r.right, r.width, r.height]);
  }
  return out;
}"""


def check_tab(m, figures, where):
    vw = m["vw"]
    assert m["scroll_width"] <= vw, f"{where}: the page is {m['scroll_width']} px wide in a {vw} px window"
    assert m["main_scroll"] <= m["main_client"] + 1, (f"{where}: the main column holds {m['main_scroll']} px "
                                                      f"in {m['main_client']} px")
    assert m["cut"] == [], f"{where}: controls or text stick out of the window or their column: {m['cut']}"
    assert m["clipped"] == [], f"{where}: text cut by its own box: {m['clipped']}"
    assert {f[0] for f in m["figures"]} == set(figures), f"{where}: figures drawn: {m['figures']}"
    for name, left, right, width, height in m["figures"]:
        assert 0 <= left and right <= vw, f"{where}: {name} spans x {left:.0f}..{right:.0f}"
        assert width >= 150 and height >= 150, f"{where}: {name} is {width:.0f}x{height:.0f} px"


def figures_drawn(page, figures):
    """The tab's measures once every figure in ``figures`` is drawn, else None."""
    m = page.evaluate(TAB_JS, figures)
    return m if {f[0] for f in m["figures"]} == set(figures) else None


def open_tab(page, name):
    page.locator(".bk-tab", has_text=name).first.click()


SWEEP_FIGURES = ["sweep-figure"]
LEARNING_FIGURES = ["learning-figure", "learning-loss", "learning-accuracy", "learning-heatmap"]


@pytest.mark.parametrize("name,size,scale", WINDOWS, ids=[w[0] for w in WINDOWS])
def test_sweep_and_learning_tabs_fit_the_window(browser, app_url, name, size, scale):
    with window(browser, size, scale) as page:
        load(page, app_url, "clipper")
        open_tab(page, "Sweep")
        for field, value in ((".sweep-start input", "-5"), (".sweep-stop input", "5")):
            page.locator(field).fill(value)
            page.locator(field).press("Enter")
        run_clipper_sweep(page)
        m = wait_until(lambda: figures_drawn(page, SWEEP_FIGURES), timeout=TIMEOUT, what="the sweep figure")
        page.screenshot(path=str(ARTIFACTS / f"layout-sweep-{name}.png"), full_page=True)
        check_tab(m, SWEEP_FIGURES, f"Sweep tab at {name}")
        open_tab(page, "Learning")
        page.locator(".learning-info").first.wait_for()
        m = wait_until(lambda: figures_drawn(page, LEARNING_FIGURES), timeout=TIMEOUT, what="the learning figures")
        page.screenshot(path=str(ARTIFACTS / f"layout-learning-{name}.png"), full_page=True)
        check_tab(m, LEARNING_FIGURES, f"Learning tab at {name}")


def picture(page, name):
    """Save a screenshot in test-artifacts/, and in docs/screenshots/ for the README when
    ``RESISTIVE_EXPLORER_UPDATE_SCREENSHOTS`` is set."""
    path = ARTIFACTS / f"{name}.png"
    page.mouse.move(2, 2)  # no tooltip on the picture
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))
    if os.environ.get("RESISTIVE_EXPLORER_UPDATE_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        (DOCS / f"{name}.png").write_bytes(path.read_bytes())


def scroll_main_to(page, y):
    """Scroll the main column so that what is now at window height ``y`` comes to its top."""
    page.evaluate("(y) => { const main = document.querySelector('#main'); "
                  "main.scrollBy(0, y - main.getBoundingClientRect().top); }", y)


def test_readme_screenshots_at_both_window_sizes_and_in_presenter_mode(browser, app_url):
    """The README's pictures, taken from the served app; each page is checked as above first."""
    shots = [("explorer-circuit", (1440, 900), "bridge-rectifier"),
             ("explorer-circuit-1024", (1024, 768), "wheatstone")]
    for name, size, example in shots:
        with window(browser, size) as page:
            load(page, app_url, example)  # twice: the status line then shows a warm solve's time,
            load(page, app_url, example)  # not the first one's compilation
            m = settled(page)
            check_page(m, f"{example} at {size}")
            if m["figure"]["bottom"] > size[1]:  # the status line to the top: the figure shows whole
                scroll_main_to(page, m["status"]["top"] - 8)
            picture(page, name)
    # a projector: 1024x768, sidebar collapsed, presenter mode
    with window(browser, (1024, 768)) as page:
        load(page, app_url, "clipper")
        before = settled(page)
        page.locator("#sidebar-toggle").click()
        page.locator(".presenter-toggle button").click()
        bigger = wait_until(lambda: (m := settled(page))["frame"]["width"] > before["frame"]["width"] + 300
                            and max(b["y1"] - b["y0"] for b in m["labels"])
                            > 1.4 * max(b["y1"] - b["y0"] for b in before["labels"]) and m,
                            what="presenter mode with the sidebar collapsed")
        check_page(bigger, "clipper in presenter mode at 1024x768")
        scroll_main_to(page, bigger["figure"]["top"] - 60)  # the presenter toggle's row and the figure
        picture(page, "explorer-presenter")
    # the Sweep tab at 1440x900
    with window(browser, (1440, 900)) as page:
        load(page, app_url, "clipper")
        page.locator(".bk-tab", has_text="Sweep").first.click()
        for field, value in ((".sweep-start input", "-5"), (".sweep-stop input", "5")):
            page.locator(field).fill(value)
            page.locator(field).press("Enter")
        run_clipper_sweep(page)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 1440
        picture(page, "explorer-sweep")
