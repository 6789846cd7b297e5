"""The latency measures of the served app: no debounce on the value slider, TCP_NODELAY on the
websockets, and a convergence plot that waits for a burst of changes to end."""

import numpy as np
import pytest

pytest.importorskip("panel")

import panel as pn  # noqa: E402
from bokeh.server.views.ws import WSHandler  # noqa: E402

from explorer import CircuitExplorer  # noqa: E402
from explorer.responsive import ImmediateEditableFloatSlider, send_websocket_frames_at_once  # noqa: E402


def test_value_slider_reaches_python_without_panels_debounce():
    slider = ImmediateEditableFloatSlider(start=0.0, end=1.0, value=0.5)
    assert pn.widgets.FloatSlider._debounce > 0  # what the stock widget waits
    assert slider._slider._debounce == 0 and slider._value_edit._debounce == 0
    seen = []
    slider.param.watch(lambda e: seen.append(e.new), "value")
    slider._slider.value = 0.75  # the inner slider, as a browser change arrives
    assert seen == [0.75]


def test_websockets_are_opened_with_nodelay_once(monkeypatch):
    calls = []
    # stand-in for Bokeh's handler method (monkeypatch puts the real one back after the test)
    monkeypatch.setattr(WSHandler, "open", lambda self: calls.append("opened"))

    class FakeHandler:
        def set_nodelay(self, value):
            calls.append(("nodelay", value))

    assert send_websocket_frames_at_once()
    patched = WSHandler.open
    assert send_websocket_frames_at_once() and WSHandler.open is patched  # not wrapped twice
    patched(FakeHandler())
    assert calls == [("nodelay", True), "opened"]  # before Bokeh's own open


class _FakeDoc:
    """Just enough of a served Bokeh document for the convergence view's timer."""

    def __init__(self):
        self.pending = []

    def add_timeout_callback(self, callback, delay):
        self.pending.append((callback, delay))
        return callback

    def remove_timeout_callback(self, callback):
        self.pending = [(c, d) for c, d in self.pending if c is not callback]


def test_convergence_plot_waits_for_a_burst_of_changes_in_a_served_app(monkeypatch):
    app = CircuitExplorer("divider", learning=False)
    conv, store = app.convergence, app.store
    doc = _FakeDoc()
    monkeypatch.setattr(conv, "_served_document", lambda: doc)
    before = conv.source.data
    name = next(iter(store.network.elements("resistor"))).name
    for value in (1500.0, 1800.0, 2100.0):
        assert store.set_element_value(name, value)
    assert conv.source.data is before  # nothing redrawn while the changes come
    assert len(doc.pending) == 1 and doc.pending[0][1] == conv.refresh_delay_ms
    callback, _ = doc.pending.pop()
    callback()
    sol = store.solution
    gap = np.asarray(conv.source.data["gap"], dtype=float)
    expected = np.asarray(sol.trace["energy"], dtype=float)[:len(gap)] - sol.energy
    assert np.allclose(np.nan_to_num(gap), np.where(expected > 1e-18 * max(1.0, abs(sol.energy)), expected, 0.0))
