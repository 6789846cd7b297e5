"""The served explorer in headless Chromium: load, slide, error, step mode, screenshots.

Each test waits on explicit conditions with generous timeouts (CI runs them on a
loaded 2-core machine). Screenshots go to ``test-artifacts/``; with
``RESISTIVE_EXPLORER_UPDATE_SCREENSHOTS=1`` a few are also copied to
``docs/screenshots/`` for the README.
"""

import os
import shutil
import time
from pathlib import Path

import pytest

from solver import solve

sync_api = pytest.importorskip("playwright.sync_api")

from explorer import CDStepper, gallery  # noqa: E402
from explorer import io as circuit_io  # noqa: E402
from explorer.testing import CHROMIUM, launch_chromium, serve_app  # noqa: E402
from explorer.panels import NOT_AN_EXAMPLE  # noqa: E402
from explorer.units import parse_quantity  # noqa: E402

from .circuits import diode_clipper  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Chromium at {CHROMIUM}"),
]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
DOCS = ROOT / "docs" / "screenshots"
TIMEOUT = 120.0  # seconds, for anything that waits on the server


def wait_until(condition, timeout=TIMEOUT, interval=0.1, what="condition"):
    """Poll ``condition()`` until it returns a truthy value; return it, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except Exception as e:  # element not there yet
            last = e
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def shot(page, name, docs=False):
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    if docs and os.environ.get("RESISTIVE_EXPLORER_UPDATE_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / f"{name}.png")
    return path


@pytest.fixture(scope="module")
def app_url():
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_app(log_path=ARTIFACTS / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1300}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT * 1000)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(f"page error: {e}"))
    try:
        yield page
    finally:
        context.close()


def open_example(page, url, example, node):
    page.goto(f"{url}?example={example}")
    cell = page.locator(f'td.volt[data-node="{node}"]')
    cell.wait_for(timeout=TIMEOUT * 1000)
    return cell


def volts(page, node):
    return float(page.locator(f'td.volt[data-node="{node}"]').get_attribute("data-volts"))


def select_element(page, name):
    page.locator(".element-select select").select_option(name)
    wait_until(lambda: name in page.locator(".element-info").inner_text(), what=f"{name} selected")


NODE_POSITIONS_JS = """() => {
  function* walk(v) { yield v; for (const c of (v.child_views ?? [])) yield* walk(c); }
  for (const root of Object.values(Bokeh.index)) {
    for (const v of walk(root)) {
      if (v.model && v.model.name === 'circuit-figure') {
        const src = Bokeh.documents[0].get_model_by_name('circuit-nodes');
        const r = v.el.getBoundingClientRect();
        const out = {};
        src.data.name.forEach((n, k) => {
          out[n] = [r.left + v.frame.x_scale.compute(src.data.x[k]), r.top + v.frame.y_scale.compute(src.data.y[k])];
        });
        return out;
      }
    }
  }
  return null;
}"""


def test_tap_two_nodes_and_add_a_resistor(page, app_url):
    open_example(page, app_url, "wheatstone", "a")
    wait_until(lambda: abs(volts(page, "a") - solve(gallery.build("wheatstone")).voltages["a"]) < 1e-9,
               what="solved bridge")
    from_select = page.locator("select").filter(has=page.locator("option", has_text="(new node)")).nth(0)
    to_select = page.locator("select").filter(has=page.locator("option", has_text="(new node)")).nth(1)

    def tap(node, select):
        """Tap a node where the figure draws it now (the layout may still settle), until it registers."""
        for _ in range(10):
            first = page.evaluate(NODE_POSITIONS_JS)
            page.wait_for_timeout(300)
            positions = page.evaluate(NODE_POSITIONS_JS)
            if not positions or positions != first:
                continue
            page.mouse.click(*positions[node])
            try:
                wait_until(lambda: select.input_value() == node, timeout=15, what=f"tap on {node}")
                return
            except AssertionError:
                continue
        raise AssertionError(f"tapping node {node} never registered")

    tap("top", from_select)
    tap("b", to_select)
    assert from_select.input_value() == "top"
    page.locator("button:visible", has_text="Add element").click()
    wait_until(lambda: "R6" in page.locator(".element-info").inner_text(), what="the new resistor")
    net = gallery.build("wheatstone")
    net.add_resistor("top", "b", resistance=1000.0)  # the default value of a new resistor
    expected = solve(net).voltages
    for node in ("a", "b"):
        wait_until(lambda: abs(volts(page, node) - expected[node]) < 1e-9, what=f"{node} with R6")
    shot(page, "explorer-build")
    assert page.errors == []


def test_slider_changes_the_displayed_voltage_to_the_solvers(page, app_url):
    open_example(page, app_url, "divider", "mid")
    wait_until(lambda: abs(volts(page, "mid") - 7.5) < 1e-9, what="mid = 7.5 V")
    shot(page, "explorer-divider")
    select_element(page, "R2")
    text_input = page.locator(".value-input input")

    def typed():
        return parse_quantity(text_input.input_value(), "Ω")

    def shows_r2():  # the field still shows the previously selected element's value for a moment
        try:
            return typed() == pytest.approx(3000.0)
        except ValueError:
            return False

    wait_until(shows_r2, what="R2's value in the field")
    handle = page.locator(".value-slider .noUi-handle")
    handle.focus()
    for _ in range(3):
        handle.press("ArrowRight")
    r2 = wait_until(lambda: typed() > 3000.0 and typed(), what="the slider to move")
    # the slider's arrow keys stay in the page: the shortcut listener sends only shortcut keys
    shortcut_presses = page.evaluate("""() => {
      for (const m of Bokeh.documents[0].all_models)
        if (m.data && m.data.presses !== undefined && m.data.key !== undefined) return m.data.presses;
      return null; }""")
    assert shortcut_presses == 0

    def expected_mid():
        net = gallery.build("divider")
        net.set_value("R2", resistance=typed())
        return solve(net).voltages["mid"]

    wait_until(lambda: abs(volts(page, "mid") - expected_mid()) < 1e-9 * 10, what="mid to follow R2")
    assert r2 >= 3030.0 and volts(page, "mid") > 7.5
    assert volts(page, "mid") == pytest.approx(expected_mid(), rel=1e-12)
    # the status line reports the solve
    status = page.locator(".solve-status span[data-status]").inner_text()
    assert "ms" in status and "KCL" in status
    assert page.errors == []


ELEMENT_CENTRE_JS = """(name) => {
  function* walk(v) { yield v; for (const c of (v.child_views ?? [])) yield* walk(c); }
  for (const root of Object.values(Bokeh.index)) for (const v of walk(root)) {
    if (v.model && v.model.name === 'circuit-figure' && v.frame) {
      const e = Bokeh.documents[0].get_model_by_name('circuit-edges');
      const k = e.data.name.indexOf(name);
      const r = v.canvas_view.el.getBoundingClientRect();
      return [r.left + v.frame.x_scale.compute(e.data.xm[k]), r.top + v.frame.y_scale.compute(e.data.ym[k])];
    }
  }
  return null;
}"""
TOOLTIP_ROWS_JS = """() => {
  function* all(root) { for (const el of root.querySelectorAll('*')) { yield el; if (el.shadowRoot) yield* all(el.shadowRoot); } }
  const rows = {};
  for (const el of all(document))
    if (el.classList && el.classList.contains('bk-tooltip-row-label') && el.offsetParent !== null)
      rows[el.innerText.replace(':', '').trim()] = el.nextElementSibling.innerText.trim();
  return rows;
}"""


def test_hover_shows_the_solvers_readings(page, app_url):
    # the hover reads each element's numbers from a source of their own (no glyph draws it)
    open_example(page, app_url, "clipper", "out")
    page.wait_for_timeout(1000)
    reference = solve(gallery.build("clipper"))
    x, y = page.evaluate(ELEMENT_CENTRE_JS, "D1")
    page.mouse.move(x, y)
    rows = wait_until(lambda: (r := page.evaluate(TOOLTIP_ROWS_JS)).get("state") and r, what="D1's tooltip")
    assert rows["state"] == "conducting"
    assert parse_quantity(rows["current"], "A") == pytest.approx(reference.currents["D1"], rel=1e-3)
    assert parse_quantity(rows["threshold"], "V") == pytest.approx(0.7)


def test_invalid_edit_shows_the_error_and_keeps_the_solution(page, app_url):
    open_example(page, app_url, "divider", "mid")
    select_element(page, "R2")
    text_input = page.locator(".value-input input")
    text_input.fill("-5")
    text_input.press("Enter")
    alert = page.locator(".solve-error span[data-error]")
    wait_until(lambda: "must be positive" in alert.inner_text(), what="the error message")
    assert "R2" in alert.inner_text()
    assert volts(page, "mid") == pytest.approx(7.5)
    wait_until(lambda: parse_quantity(text_input.input_value(), "Ω") == pytest.approx(3000.0),
               what="field reset")
    assert "must be positive" in page.locator(".value-input-error span").inner_text()  # at the field too
    shot(page, "explorer-error")
    # a valid edit clears the error
    text_input.fill("1000")
    text_input.press("Enter")
    wait_until(lambda: abs(volts(page, "mid") - 5.0) < 1e-9, what="mid = 5 V")
    wait_until(lambda: alert.count() == 0 or not alert.first.is_visible(), what="the error to clear")
    assert page.errors == []


def test_step_mode_advances_and_stalls_then_exact(page, app_url):
    open_example(page, app_url, "cd-stall", "a")
    wait_until(lambda: abs(volts(page, "a") - 0.5) < 1e-9, what="exact a = 0.5 V")
    step = page.locator(".step-button button")
    info = page.locator(".step-info span")
    step.click()
    wait_until(lambda: info.get_attribute("data-sweeps") == "1", what="one sweep")
    net = gallery.build("cd stall")
    cd = solve(net, method="cd", max_sweeps=1).voltages
    wait_until(lambda: abs(volts(page, "a") - cd["a"]) < 1e-9, what="step-mode potentials")
    step.click()
    wait_until(lambda: "STALLED" in info.inner_text(), what="the stall")
    assert volts(page, "a") == pytest.approx(0.0) and volts(page, "b") == pytest.approx(0.0)
    page.mouse.move(5, 600)  # no tooltip on the picture
    page.wait_for_timeout(700)
    shot(page, "explorer-step-mode", docs=True)
    page.locator("button:visible", has_text="Exact solve").click()
    wait_until(lambda: abs(volts(page, "a") - 0.5) < 1e-9, what="the exact solve")
    assert page.errors == []


def test_step_mode_on_a_mesh_matches_coordinate_descent(page, app_url):
    open_example(page, app_url, "random-mesh", "m0_1")
    step = page.locator(".step-button button")
    info = page.locator(".step-info span")
    for k in (1, 2, 3):
        step.click()
        wait_until(lambda: info.get_attribute("data-sweeps") == str(k), what=f"sweep {k}")
    cd = solve(gallery.build("random mesh"), method="cd", max_sweeps=3).voltages
    for node in ("m0_1", "m1_1", "m2_3"):
        wait_until(lambda: abs(volts(page, node) - cd[node]) < 1e-9, what=f"{node} after 3 sweeps")
    page.locator("button:visible", has_text="One node").click()
    # the next Step is a node step only once the server has the new choice (Panel may take a click
    # event before a property change sent just ahead of it)
    wait_until(lambda: info.get_attribute("data-by") == "node", what="step by node")
    step.click()
    free_nodes = CDStepper(gallery.build("random mesh")).m
    wait_until(lambda: info.get_attribute("data-steps") == str(3 * free_nodes + 1), what="one node step")
    page.locator(".bk-tab", has_text="Circuit").first.scroll_into_view_if_needed()
    shot(page, "explorer-convergence")
    assert page.errors == []


def test_views_render_for_screenshots(page, app_url):
    open_example(page, app_url, "bridge-rectifier", "out")
    wait_until(lambda: volts(page, "out") > 3.0, what="rectified output")
    page.wait_for_timeout(500)  # let the canvas settle for the picture
    shot(page, "explorer-circuit", docs=True)
    page.locator("button:visible", has_text="Power").click()
    page.mouse.move(5, 600)
    page.wait_for_timeout(800)
    shot(page, "explorer-power", docs=True)
    page.locator(".bk-tab", has_text="Learning").first.click()
    learning_step = page.locator("button:visible", has_text="Step")
    info = page.locator(".learning-info span")
    for k in range(1, 9):
        learning_step.first.click()
        wait_until(lambda: float(info.get_attribute("data-epoch")) >= k - 1e-9, what=f"training step {k}")
    page.locator("button:visible", has_text="Weight update").click()
    page.mouse.move(5, 500)  # no tooltip on the picture
    page.wait_for_timeout(800)
    shot(page, "explorer-learning", docs=True)
    assert page.errors == []


def test_drag_a_node_then_download_circuit_and_solution(page, app_url):
    import csv
    import io
    import json

    open_example(page, app_url, "wheatstone", "a")
    before = page.evaluate(NODE_POSITIONS_JS)
    wait_until(lambda: page.evaluate(NODE_POSITIONS_JS) == before and before, what="a settled layout")
    x, y = before["a"]
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, 13):
        page.mouse.move(x - 8 * k, y + 6 * k)
    page.mouse.up()
    wait_until(lambda: page.evaluate(NODE_POSITIONS_JS)["a"][0] < x - 20, what="the node to move")
    original = gallery.build("wheatstone").node_attributes("a")

    def downloaded(label):
        with page.expect_download() as info:
            page.locator("button:visible", has_text=label).click()
        return open(info.value.path(), encoding="utf-8").read()

    def moved_in_file():
        data = json.loads(downloaded("Circuit (.json)"))
        node = next(n for n in data["nodes"] if n["id"] == "a")
        return node["x"] < original["x"] - 0.05 and node["y"] < original["y"] - 0.05

    wait_until(moved_in_file, timeout=60, interval=1.0, what="the move in the downloaded circuit")
    rows = list(csv.DictReader(io.StringIO(downloaded("Solution (.csv)"))))
    sol = solve(gallery.build("wheatstone"))
    voltages = {r["name"]: float(r["voltage_V"]) for r in rows if r["type"] == "node"}
    assert voltages == pytest.approx(sol.voltages, abs=1e-12)
    currents = {r["name"]: float(r["current_A"]) for r in rows if r["type"] == "element"}
    assert currents == pytest.approx(sol.currents, abs=1e-12)
    assert page.errors == []


def test_upload_a_circuit_file(page, app_url, tmp_path):
    open_example(page, app_url, "divider", "mid")
    net = gallery.build("divider")
    net.set_value("R2", resistance=1000.0)
    net.add_resistor("mid", "tap", resistance=500.0, name="R3")
    net.add_resistor("tap", "0", resistance=500.0, name="R4")
    path = tmp_path / "uploaded.json"
    path.write_text(circuit_io.write_network(net, "json"))
    page.locator("input[type=file]").set_input_files(str(path))
    cell = page.locator('td.volt[data-node="tap"]')
    cell.wait_for(timeout=TIMEOUT * 1000)
    expected = solve(net).voltages
    for node in ("mid", "tap"):
        wait_until(lambda: abs(volts(page, node) - expected[node]) < 1e-9, what=f"{node} of the upload")
    # a file that is not a circuit shows the error and keeps the circuit
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    page.locator("input[type=file]").set_input_files(str(bad))
    alert = page.locator(".solve-error span[data-error]")
    wait_until(lambda: "could not open bad.json" in alert.inner_text(), what="the upload error")
    assert volts(page, "tap") == pytest.approx(expected["tap"])
    assert page.errors == []


DATA_TO_SCREEN_JS = """([x, y]) => {
  function* walk(v) { yield v; for (const c of (v.child_views ?? [])) yield* walk(c); }
  for (const root of Object.values(Bokeh.index)) {
    for (const v of walk(root)) {
      if (v.model && v.model.name === 'circuit-figure') {
        const r = v.el.getBoundingClientRect();
        return [r.left + v.frame.x_scale.compute(x), r.top + v.frame.y_scale.compute(y)];
      }
    }
  }
  return null;
}"""


def settled_screen_point(page, x, y):
    """Screen position of drawing point (x, y) once the view stops moving."""
    def same_twice():
        first = page.evaluate(DATA_TO_SCREEN_JS, [x, y])
        page.wait_for_timeout(250)
        return first == page.evaluate(DATA_TO_SCREEN_JS, [x, y]) and first
    return wait_until(same_twice, what=f"a settled view around {(x, y)}")


def click_grid_point(page, x, y):
    point = settled_screen_point(page, x, y)
    page.wait_for_timeout(600)  # two quick clicks on one spot would make a double tap, not two taps
    page.mouse.click(*point)


def arm_part(page, label):
    page.locator(".palette button", has_text=label).click()
    wait_until(lambda: page.locator(".palette-hint span").get_attribute("data-tool") != "select",
               what=f"{label} armed")


def test_clipper_from_a_blank_circuit_in_twelve_interactions(page, app_url):
    """New blank circuit, then V source, resistor and two diodes by keys and clicks: 12 interactions."""
    open_example(page, app_url, "divider", "mid")
    interactions = []
    grid = page.locator("td.volt")

    def settled_point(x, y):
        return settled_screen_point(page, x, y)

    def click(x, y):
        interactions.append(("click", x, y))
        click_grid_point(page, x, y)

    def key(k):
        interactions.append(("key", k))
        page.keyboard.press(k)
        wait_until(lambda: page.locator(".palette-hint span").get_attribute("data-tool") != "select",
                   what=f"key {k} to arm a part")

    def wait_parts(count):
        wait_until(lambda: page.locator(".element-select option").count() == count, what=f"{count} parts")

    interactions.append(("button", "New blank circuit"))
    page.locator(".new-blank button").click()
    wait_until(lambda: grid.count() == 1, what="a blank circuit (ground only)")
    for part, first, second, count in (("v", (0, 2), (0, 0), 1), ("r", (0, 2), (2, 2), 2),
                                       ("d", (2, 2), (0, 0), 3), (None, (0, 0), (2, 2), 4)):
        if part:
            key(part)
        click(*first)
        wait_until(lambda: "Now click the second end" in page.locator(".palette-hint span").inner_text(),
                   what="the first end")
        click(*second)
        wait_parts(count)
    assert len(interactions) <= 12, interactions
    # 5 V through 1 kΩ into a 0.7 V diode clamps at 0.7 V (tests/circuits.py); the antiparallel one is off
    _, reference, _ = diode_clipper(5.0, load=False)
    wait_until(lambda: abs(volts(page, "n2") - reference["out"]) < 1e-9, what="out clamped at 0.7 V")
    assert volts(page, "n1") == pytest.approx(5.0)
    assert page.locator(".example-select select").input_value() == NOT_AN_EXAMPLE  # no longer "divider"
    page.keyboard.press("Escape")
    # a node dragged 1.3 cells to the right lands on the grid point one cell right when released
    wait_until(lambda: page.locator(".palette-hint span").get_attribute("data-tool") == "select", what="Esc")
    x, y = settled_point(2, 2)
    x1, _ = settled_point(3, 2)
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(x + 1.3 * (x1 - x) * k / 10, y + 3 * k / 10)
    page.mouse.up()
    target = settled_point(3, 2)
    wait_until(lambda: max(abs(a - b) for a, b in zip(page.evaluate(NODE_POSITIONS_JS)["n2"], target)) < 1.0,
               what="the dragged node on the grid")
    page.mouse.move(5, 600)
    page.wait_for_timeout(500)
    shot(page, "explorer-built-clipper", docs=True)
    assert page.errors == []


def test_invalid_circuit_hides_numbers_in_the_browser(page, app_url):
    open_example(page, app_url, "divider", "mid")
    arm_part(page, "V source")
    # two empty grid points (the hand-laid divider has ground at (1, 0)): a source between two new
    # nodes that nothing else touches, so their potentials are not determined
    click_grid_point(page, 0, 0)
    wait_until(lambda: "Now click the second end" in page.locator(".palette-hint span").inner_text(),
               what="the first end")
    click_grid_point(page, 2, 0)
    alert = page.locator(".solve-error span[data-error]")
    wait_until(lambda: "not determined" in alert.inner_text() or "loop" in alert.inner_text(),
               what="the problem named")
    wait_until(lambda: page.locator('td.volt[data-node="mid"]').get_attribute("data-volts") == "nan",
               what="no stale voltage")
    assert "highlighted" in alert.inner_text()
    page.keyboard.press("Control+z")
    wait_until(lambda: abs(volts(page, "mid") - 7.5) < 1e-9, what="solved again after undo")
    assert page.errors == []
