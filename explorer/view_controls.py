"""Controls above the circuit: presenter mode, share by link, export as SVG (PNG: the toolbar's save)."""

from __future__ import annotations

import io
import re

import numpy as np
import panel as pn
import param
from bokeh.models import SaveTool

from . import share
from .circuit_view import CircuitView, _palette_colors
from .page import wrapping_row
from .svg import circuit_svg

__all__ = ["ViewControls", "DEFAULT_APP_URL", "file_stem"]

#: Address a link points at when the page's own address is unknown (a notebook).
DEFAULT_APP_URL = "http://127.0.0.1:5006/app"

# The link box copies itself to the clipboard when the server fills it (right after the click,
# while the browser still counts the click as the user's gesture); it stays visible to copy by hand.
_COPY_JS = "if (cb_obj.value && navigator.clipboard) { navigator.clipboard.writeText(cb_obj.value).catch(() => {}); }"


def file_stem(title):
    """A file name for the circuit's title: ``"bridge rectifier"`` -> ``"bridge-rectifier"``."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(title)).strip("-.")
    return stem[:60] or "circuit"


class ViewControls(pn.viewable.Viewer):
    """Presenter toggle, "Copy link" and SVG export for one :class:`CircuitView`."""

    view = param.ClassSelector(class_=CircuitView, doc="The circuit view these controls act on.")

    def __init__(self, **params):
        super().__init__(**params)
        view = self.view
        self.presenter_toggle = pn.widgets.Toggle.from_param(
            view.param.presenter, name="Presenter mode", button_type="default", width=140,
            css_classes=["presenter-toggle"])  # large fonts and symbols for a projector
        self.copy_button = pn.widgets.Button(
            name="Copy link", width=110, css_classes=["copy-link"],
            description="A link that opens exactly this circuit (and these view settings).")
        self.copy_button.on_click(self._make_link)
        self.link_box = pn.widgets.TextInput(value="", visible=False, sizing_mode="stretch_width",
                                             css_classes=["share-link"], min_width=200)
        self.link_box.jscallback(value=_COPY_JS)
        self.svg_download = pn.widgets.FileDownload(
            callback=self._svg, filename=f"{file_stem(view.store.title)}.svg", label="SVG", width=80,
            button_type="light", description="Download the figure as an SVG drawing "
            "(PNG: the save button of the figure's toolbar).", css_classes=["export-svg"])
        view.store.param.watch(self._on_title, "title")
        self._on_title()

    def _on_title(self, *events):
        stem = file_stem(self.view.store.title)
        self.svg_download.filename = f"{stem}.svg"
        for tool in self.view.figure.toolbar.tools:
            if isinstance(tool, SaveTool):
                tool.filename = stem

    def link(self):
        """The share link of the circuit as it is now (the page's address, else the default one)."""
        location = pn.state.location
        base = DEFAULT_APP_URL
        if location is not None and location.href:
            base = location.href.split("?")[0].split("#")[0]
        store = self.view.store
        view = {"color_by": store.color_by if store.color_by in ("potential", "power") else "potential",
                "show_values": bool(store.show_values), "presenter": bool(self.view.presenter)}
        return share.link(base, store.network, title=store.title, view=view)

    def _make_link(self, event=None):
        try:
            text = self.link()
        except ValueError as e:  # too large for a link
            text = str(e)
        self.link_box.value = text
        self.link_box.visible = True

    def svg(self):
        """The figure as SVG text, as shown now."""
        view = self.view
        columns, (lo, hi) = view.paint_data()
        columns["arrow"] = view._arrow_data
        v = np.asarray(columns["node"]["v"], dtype=float)
        colours = np.where(np.isfinite(v), _palette_colors(v, view.mapper.palette, lo, hi), view.mapper.nan_color)
        style_font = int(view.node_labels.text_font_size.rstrip("px"))
        return circuit_svg(columns, view.geometry()["drawing"]["ranges"], view.frame, list(colours),
                           font=style_font, title=view.store.title)

    def _svg(self):
        return io.StringIO(self.svg())

    def __panel__(self):
        return pn.Column(
            wrapping_row(self.presenter_toggle, self.copy_button, self.svg_download),
            self.link_box, sizing_mode="stretch_width")
