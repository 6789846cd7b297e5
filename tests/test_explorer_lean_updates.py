"""What a slider move sends, sent more cheaply: the same text, values and arrays as Panel and Bokeh's own paths.

Each cheaper path is held to the path it replaces (Panel's ``HTML`` pane and ``TextInput``, Bokeh's
serialiser and deserialiser, Python's ``gzip``), never to numbers of its own.
"""

from __future__ import annotations

import gzip

import numpy as np
import panel as pn
import pytest
from bokeh.core.serialization import Deserializer, Serializer
from bokeh.document import Document

from explorer import server
from explorer.lean_updates import LeanHTML, LeanTextInput
from explorer.responsive import _ImmediateFloatSlider


@pytest.mark.parametrize("size", [0, 1, 80, 16 * 1024, 65535])
def test_a_stored_gzip_member_is_read_back_by_pythons_gzip(size):
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert gzip.decompress(server.gzip_stored(data)) == data


def test_a_stored_gzip_member_refuses_more_than_one_block():
    with pytest.raises(ValueError, match="65,535"):
        server.gzip_stored(bytes(65536))


def test_small_arrays_go_inline_and_decode_to_the_same_values():
    assert server.send_small_arrays_inline()
    small = np.array([1.5, np.nan, -0.0, 1e-300, np.inf])
    ints = np.arange(7, dtype=np.int32)
    large = np.linspace(0.0, 1.0, 4096)  # 32 KB: over the inline limit, a binary frame as before
    serializer = Serializer(deferred=True)
    encoded = serializer.encode({"small": small, "ints": ints, "large": large})
    assert len(serializer.buffers) == 1  # only the large array left the JSON
    decoded = Deserializer().decode(encoded, serializer.buffers)
    np.testing.assert_array_equal(decoded["small"], small)  # NaN and the zero's sign included
    assert np.signbit(decoded["small"][2])
    np.testing.assert_array_equal(decoded["ints"], ints)
    np.testing.assert_array_equal(decoded["large"], large)


def _model(viewable):
    doc = Document()
    return viewable.get_root(doc), doc


def test_a_lean_html_pane_sends_the_text_panels_pane_would():
    text = '<span data-status="1">solved in 1.2 ms · <b>R1</b> & "x"</span>'
    lean, plain = LeanHTML("", css_classes=["solve-status"]), pn.pane.HTML("", css_classes=["solve-status"])
    lean_model, _ = _model(lean)
    plain_model, _ = _model(plain)
    lean.object, plain.object = text, text
    assert lean_model.text == plain_model.text != ""
    # what is not the text still goes Panel's usual way
    lean.styles = {"color": "red"}
    assert lean_model.styles["color"] == "red"
    lean.visible = False
    assert lean_model.visible is False


def test_a_lean_text_input_sends_the_value_and_keeps_the_designs_stylesheets():
    lean, plain = LeanTextInput(value="1 kΩ"), pn.widgets.TextInput(value="1 kΩ")
    lean_model, _ = _model(lean)
    plain_model, _ = _model(plain)
    lean.value, plain.value = "4.7 kΩ", "4.7 kΩ"
    assert lean_model.value == plain_model.value == "4.7 kΩ"
    # a change of stylesheets still gets the design's sheets in front, as Panel's own path does
    lean.stylesheets, plain.stylesheets = [":host { color: red; }"], [":host { color: red; }"]
    describe = lambda model: [getattr(s, "url", None) or getattr(s, "css", None) for s in model.stylesheets]  # noqa: E731
    assert describe(lean_model) == describe(plain_model)
    assert len(lean_model.stylesheets) > 1


def test_the_value_slider_does_not_flag_the_server_busy():
    slider = _ImmediateFloatSlider(start=0.0, end=1.0, value=0.0)
    seen = []
    watcher = pn.state.param.watch(lambda event: seen.append(event.new), "busy")
    try:
        slider._process_events({"value": 0.5})
    finally:
        pn.state.param.unwatch(watcher)
    assert slider.value == 0.5 and seen == []
    # (a plain slider does: what this saves on every move)
    plain = pn.widgets.FloatSlider(start=0.0, end=1.0, value=0.0)
    watcher = pn.state.param.watch(lambda event: seen.append(event.new), "busy")
    try:
        plain._process_events({"value": 0.5})
    finally:
        pn.state.param.unwatch(watcher)
    assert seen == [True, False]


def test_applying_new_values_recomputes_the_documents_models_only_when_a_model_came_or_went(monkeypatch):
    from bokeh.models import Column, ColumnDataSource, Div

    doc = Document()
    source = ColumnDataSource(data={"v": np.arange(3.0)})
    layout = Column(Div(text="a"))
    doc.add_root(layout)
    doc.add_root(source)
    recomputed = []
    original = type(doc.models).recompute
    monkeypatch.setattr(type(doc.models), "recompute", lambda self: (recomputed.append(1), original(self)))
    with server.recompute_models_once(doc):  # new numbers and text: nothing to recompute
        source.data = {"v": np.arange(3.0) + 1}
        layout.children[0].text = "b"
    assert recomputed == []
    added = Div(text="new")
    with server.recompute_models_once(doc):  # a model arrives: recomputed once, at the end
        layout.children = [*layout.children, added]
        layout.children = [*layout.children, Div(text="another")]
        assert recomputed == []
    assert recomputed == [1] and added in set(doc.models)
    with doc.models.freeze():  # (Bokeh's own freeze recomputes even when nothing came: the cost avoided)
        source.data = {"v": np.arange(3.0)}
    assert recomputed == [1, 1]
