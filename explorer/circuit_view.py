"""The circuit view: the network drawn with Bokeh as a schematic, painted from a :class:`CircuitStore`.

* nodes: circles coloured by potential (colour bar), draggable (positions go
  back into the network as node attributes), tap to pick endpoints;
* elements drawn as in a textbook: straight, or as an elbow (down, then
  across), parallel elements as side branches (:mod:`explorer.layout`);
* resistors: boxes on a wire whose width grows with log-conductance;
* diodes: a triangle and a bar pointing anode -> cathode (the conduction
  direction), orange when conducting (active constraint), faded grey when blocking;
* voltage sources: a circle with ``+`` at the plus terminal and ``−`` at the
  minus one; current sources: a circle with an arrow in the source's direction;
* an arrow beside every element shows the direction of its current, its length
  the magnitude; hover shows name, value, voltage across, current and power;
* labels are placed where they overlap no other label, symbol or node, inside
  the plot, next to what they name; one that a crowded drawing puts farther
  away gets a dotted leader line to it (:func:`explorer.drawing.layout_drawing`);
* ``color_by="power"`` colours elements by the power they dissipate;
* "Show current flow" (off by default): dots move along each element with the
  conventional current, faster for larger ``|i|`` (log scale), animated by the
  browser (:mod:`explorer.current_flow`);
* presenter mode: large fonts and symbols, for a projector;
* in the served page the figure's width and height follow the window's
  (:mod:`explorer.page`); elsewhere (a notebook) its height is ``height``.

The drawing's geometry (routes, symbols, label places) is computed when the
circuit's structure, its layout, the figure's size or the presenter mode
changes; a value change only replaces the data of a few ``ColumnDataSource``
columns (colours, text, arrows), so it costs one small message, not a new figure.

BokehJS paints a figure on two canvases: the ``overlay`` level on its own, everything else on the
primary one, and a change repaints only the canvas of what changed. What a value change alters
(node colours, current arrows and dots, node labels) is therefore drawn at the ``overlay`` level,
and the wires, symbols and element labels, which stay, are not repainted. The colour bar has its
own copy of the potential mapper: BokehJS re-lays out the whole figure (and repaints both
canvases) whenever a colour bar's mapper recolours data.
"""

from __future__ import annotations

import math

import numpy as np
import panel as pn
import param
from bokeh.models import (
    ColorBar,
    ColumnDataSource,
    CustomJS,
    CustomJSHover,
    HoverTool,
    LabelSet,
    LinearColorMapper,
    LogColorMapper,
    PointDrawTool,
    Range1d,
    TapTool,
)
from bokeh.core.property.descriptors import UnsetValueError
from bokeh.core.property.validation import validate
from bokeh.events import PanEnd, PanStart, Tap
from bokeh.palettes import RdBu11, Inferno256, Viridis256
from bokeh.plotting import figure

from .current_flow import FLOW_JS, flow_paths
from .editing import grid_points, snap
from .drawing import BOX_LIMIT, LEADER_ALPHA, LEADER_COLOR, LEADER_DASH, element_label_text, layout_drawing, \
    node_label_text
from .layout import STYLES, figure_size
from .page import FIGURE_HEIGHT_VARIABLE
from .state import CircuitStore
from .units import UNITS, si

__all__ = ["CircuitView", "legend_html"]

KIND_COLOR = {"resistor": "#4d4d4d", "diode": "#9e9e9e", "vsource": "#2171b5", "isource": "#238b45"}
CONDUCTING = "#f16913"
PROBLEM = "#d7301f"  # nodes and elements that the latest error blames
BLOCKING_ALPHA = 0.45
LABEL_LIMIT = 300  # above this many nodes, values are never written on the circuit
ELEMENT_LABEL_LIMIT = 2.0  # elements per node above which element labels stay off (dense DRNs: hover)
ARROW_LIMIT = 3000  # above this many elements, no current arrows
GRID_LIMIT = 60  # up to this many nodes, grid dots show where a click places a new node
FLOW_LIMIT = 400  # above this many elements, no current-flow dots (each frame repaints the canvas)
FLOW_PERIOD_MS = 40  # the dots' frame interval in the browser (25 frames per second)
FLOW_COLUMNS = ("ei", "xs", "ys", "gap", "count", "speed")

# While a node is dragged the browser redraws its wires straight (a rubber band); the server
# then sends the routed drawing for the new position.
_DRAG_JS = """
const x = nodes.data.x, y = nodes.data.y;
// only a move needs the wires redrawn; value updates change other columns of the node source
const last = edges.__last_xy;
if (last && last[0] === x && last[1] === y) return;
edges.__last_xy = [x, y];
const e = edges.data;
const n = e.pi.length;
let moved = false;
for (let k = 0; k < n; k++) {
  const x0 = x[e.pi[k]], y0 = y[e.pi[k]], x1 = x[e.ni[k]], y1 = y[e.ni[k]];
  if (x0 === e.x0[k] && y0 === e.y0[k] && x1 === e.x1[k] && y1 === e.y1[k]) continue;
  moved = true;
  e.x0[k] = x0; e.y0[k] = y0; e.x1[k] = x1; e.y1[k] = y1;
  e.xa[k] = x1; e.ya[k] = y1; e.xb[k] = NaN; e.yb[k] = NaN;
  e.xm[k] = (x0 + x1) / 2; e.ym[k] = (y0 + y1) / 2;
}
if (moved) edges.change.emit();
"""


# The browser lays the figure out; BokehJS writes the plot frame's real size into the figure's
# read-only ``inner_width``/``inner_height`` after each layout (page load, window resized, sidebar
# collapsed, browser zoom), and the server hears of it: labels are then placed for that size. A
# burst of sizes (the sidebar's collapse is animated) is laid out once, when it settles.
FRAME_SETTLE_MS = 250


# BokehJS clips glyphs to the plot frame except at the overlay level (meant for tool overlays): a
# zoomed or panned circuit would draw its nodes over the toolbar and colour bar. Installed once per
# page, when the first figure is laid out (each figure reports its frame size after its layout).
CLIP_OVERLAY_JS = """
let view;
try { view = Bokeh.require("models/renderers/glyph_renderer").GlyphRendererView; } catch (e) { return; }
if (Object.prototype.hasOwnProperty.call(view.prototype, "needs_clip")) return;
Object.defineProperty(view.prototype, "needs_clip", {
  configurable: true, get() { return this.model.level === "overlay"; },
});
"""


def legend_html(presenter=False, flow=False):
    """What the colours, arrows and symbols mean (a small HTML key under the figure); ``flow``: the dots too."""
    size = STYLES["presenter" if presenter else "normal"].font + 1
    swatch = ("display:inline-block;width:{w}px;height:{h}px;background:{c};vertical-align:middle;"
              "margin:0 4px 0 12px;border-radius:{r}px;opacity:{o}")
    gradient = "linear-gradient(90deg,#440154,#31688e,#35b779,#fde725)"
    return (
        f'<div class="circuit-legend" style="font-size:{size}px;line-height:1.6;color:#333">'
        f'<span style="{swatch.format(w=46, h=10, c=gradient, r=2, o=1)}"></span>node potential, low → high (V)'
        f'<span style="margin-left:12px;color:#08306b">➤</span> current: direction, length ∝ √|i|'
        f'<span style="{swatch.format(w=14, h=10, c=CONDUCTING, r=2, o=1)}"></span>diode conducting'
        f'<span style="{swatch.format(w=14, h=10, c=KIND_COLOR["diode"], r=2, o=BLOCKING_ALPHA)}"></span>'
        f'diode blocking'
        f'<span style="margin-left:12px;color:{KIND_COLOR["vsource"]}">⊕</span> voltage source (+ terminal)'
        f'<span style="margin-left:12px;color:{KIND_COLOR["isource"]}">➜</span> current source'
        + ('<span class="flow-key" style="margin-left:12px;color:#d4a600">●</span> current flow: '
           'dots move with the conventional current, faster for larger |i| (log scale, 1 nA to 10 A)'
           if flow else '')
        + '</div>'
    )


# Engineering notation in the hover: "@i{A}" -> "4.3 mA"; "@uval{-}@uunit" -> "1 kΩ".
SI_JS = """
if (value == null || isNaN(value)) return "–";
let unit = format;
if (format === "-") { unit = ""; }  // the unit follows in its own column
const prefixes = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"], [1, ""], [1e-3, "m"], [1e-6, "µ"],
                  [1e-9, "n"], [1e-12, "p"], [1e-15, "f"]];
const a = Math.abs(value);
if (a === 0) return "0 " + unit;
if (format === "-") {
  for (const [s, p] of prefixes) { if (a >= s * 0.9995) return Number((value / s).toPrecision(4)) + " " + p; }
}
let scale = 1, prefix = "";
for (const [s, p] of prefixes) { scale = s; prefix = p; if (a >= s * 0.9995) break; }
return Number((value / scale).toPrecision(4)) + " " + prefix + unit;
"""

# The hover's readings: "@ei{dv V}" -> row ei of the readings source's column dv, as "4.3 mV";
# "@ei{uval -}" -> the number with its prefix only; "@ei{state}" -> the text as it is.
READING_JS = """
const [column, unit] = format.split(" ");
const cell = readings.data[column][value];
if (unit === undefined) return String(cell);
return ((value, format) => {""" + SI_JS + """})(cell, unit);
"""


def _same(old, new):
    """True when a column would send the same values again."""
    if old is None or len(old) != len(new):
        return False
    if isinstance(old, list) and isinstance(new, list):  # text columns: plain comparison is fastest
        return old == new
    a, b = np.asarray(old), np.asarray(new)
    if a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fiub":
        # numbers: the same bytes (NaN from the same computation included); a zero of the other
        # sign only sends the column again. Far cheaper than array_equal on small columns.
        return a.tobytes() == b.tobytes()
    return np.array_equal(a, b)


def _rows(columns):
    return len(next(iter(columns.values()), ()))


def _palette_colors(values, palette, low, high, log=False):
    values = np.asarray(values, dtype=float)
    if log:
        values = np.log10(np.maximum(values, low))
        low, high = math.log10(low), math.log10(high)
    t = np.clip((values - low) / max(high - low, 1e-300), 0.0, 1.0)
    idx = np.nan_to_num(t * (len(palette) - 1), nan=0).astype(int)
    return np.asarray(palette, dtype=object)[idx]


def node_positions(net):
    """Node positions as an ``(n, 2)`` array, with the element endpoint indices ``(pi, ni)``."""
    nodes = net.nodes
    index = {n: k for k, n in enumerate(nodes)}
    xy = np.array([[net.node_attributes(n).get("x", 0.0), net.node_attributes(n).get("y", 0.0)]
                   for n in nodes], dtype=float).reshape(-1, 2)
    elements = net.elements()
    pi = np.fromiter((index[e.p] for e in elements), dtype=np.int64, count=len(elements))
    ni = np.fromiter((index[e.n] for e in elements), dtype=np.int64, count=len(elements))
    return xy, pi, ni


class CircuitView(pn.viewable.Viewer):
    """Draws the store's circuit and paints its solution; edits flow back to the store."""

    store = param.ClassSelector(class_=CircuitStore, doc="The state to draw.")
    height = param.Integer(default=560, doc="Height of the drawing (px) when it does not follow the window.")
    follow_window = param.Boolean(default=True, constant=True, doc="In the served page, take the height "
                                  "that the page's CSS derives from the window's (explorer.page).")
    presenter = param.Boolean(default=False, doc="Large fonts and symbols, for a projector.")
    tag = param.String(default="circuit", doc="Prefix of the Bokeh model names (for tests and benchmarks).")
    grid = param.Boolean(default=True, doc="Show grid dots (where the palette places nodes) on small circuits.")
    straight_wires = param.Boolean(default=False, doc="Draw elements straight from node to node rather "
                                   "than as schematic runs (for dense layered networks).", constant=True)
    show_flow = param.Boolean(default=False, doc="Animate the current: dots move along each element with "
                              "the conventional current, faster for larger |i| (up to FLOW_LIMIT elements).")

    def __init__(self, **params):
        super().__init__(**params)
        self._syncing = False
        self._dragging = False  # between the browser's pan start and end (a node may be moving)
        self._sent = {}  # the columns the browser has, per source (to send only what changes)
        # the plot frame's size in px until the browser reports it: the narrowest screen planned
        # for (a wider frame only spreads the drawing sideways, never into overlaps)
        self.frame = figure_size(1024, 768)
        self.node_source = ColumnDataSource(name=f"{self.tag}-nodes", data=self._empty_nodes())
        self.edge_source = ColumnDataSource(name=f"{self.tag}-edges", data=self._empty_edges())
        self.diode_source = ColumnDataSource(name=f"{self.tag}-diodes", data=self._empty_diodes())
        # Symbols, boxes and value labels have sources of their own, holding only the rows drawn:
        # every renderer re-reads its whole source when any column changes, and on a large
        # circuit nearly every element is a plain wire.
        self.symbol_source = ColumnDataSource(name=f"{self.tag}-symbols", data=self._empty_symbols())
        self.mark_source = ColumnDataSource(name=f"{self.tag}-marks", data=self._empty_marks())
        self.box_source = ColumnDataSource(name=f"{self.tag}-boxes", data=self._empty_boxes())
        self.label_source = ColumnDataSource(name=f"{self.tag}-labels", data=self._empty_labels())
        # The readings the hover shows (one row per element, in network order) have a source that
        # no glyph draws: BokehJS re-reads every glyph of a source when any of its columns changes,
        # so readings kept beside the geometry made each value edit re-index every wire and symbol.
        self.readings_source = ColumnDataSource(name=f"{self.tag}-readings", data=self._empty_readings())
        self.leader_source = ColumnDataSource(name=f"{self.tag}-leaders", data=self._empty_leaders())
        # all arrows are one patch (NaN between triangles): two float arrays travel as binary,
        # where one patch per arrow made Bokeh encode thousands of small lists per repaint
        self.arrow_source = ColumnDataSource(name=f"{self.tag}-arrows", data=dict(x=[], y=[]))
        self.arrow_names = []  # element of each arrow, in order (triangle k is rows 4k..4k+2)
        # current flow: the server sends oriented paths and speeds; the browser moves the dots
        self.flow_source = ColumnDataSource(name=f"{self.tag}-flow", data={k: [] for k in FLOW_COLUMNS})
        self.dot_source = ColumnDataSource(name=f"{self.tag}-dots", data=dict(x=[], y=[], row=[]))
        self.figure = self._make_figure()
        self.legend = pn.pane.HTML(legend_html(self.presenter, self.show_flow), sizing_mode="stretch_width",
                                   margin=(0, 10), css_classes=["circuit-legend-pane"])
        self.pane = pn.pane.Bokeh(self.figure, sizing_mode="stretch_width", css_classes=["circuit-figure-pane"])
        # what the dots mean is said in the legend once they are on
        self.flow_toggle = pn.widgets.Checkbox.from_param(
            self.param.show_flow, name="Show current flow", css_classes=["flow-toggle"], margin=(0, 10))
        self.store.param.watch(self._repaint, ["version", "layout_version", "show_values", "color_by",
                                               "preview", "selected_element", "picked_nodes",
                                               "edge_overlay"])
        self.param.watch(self._on_presenter, "presenter")
        self.param.watch(self._on_flow, "show_flow")
        self._repaint()

    # ---------------------------------------------------------------- figure
    @staticmethod
    def _empty_nodes():
        return {k: [] for k in ("x", "y", "name", "v", "label", "lox", "loy", "align", "line_color", "line_width",
                                "size")}

    #: Hover columns kept in the glyph sources: they change only with the circuit's structure.
    HOVER = ("name", "kind", "ulabel", "uunit")
    #: Per-element readings for the hover (``@ei{dv V}`` looks row ``ei`` up in the readings source).
    READINGS = ("uval", "dv", "i", "p", "state")

    @staticmethod
    def _empty_readings():
        return {k: [] for k in CircuitView.READINGS}

    @staticmethod
    def _empty_edges():
        keys = ("ei", "x0", "y0", "x1", "y1", "xm", "ym", "xa", "ya", "xb", "yb", "pi", "ni",
                *CircuitView.HOVER, "color", "alpha", "width")
        return {k: [] for k in keys}

    @staticmethod
    def _empty_symbols():
        keys = ("ei", "xm", "ym", *CircuitView.HOVER, "color", "alpha", "msize", "mfill")
        return {k: [] for k in keys}

    @staticmethod
    def _empty_marks():
        return {k: [] for k in ("x", "y", "text", "angle", "color")}

    @staticmethod
    def _empty_boxes():
        return {k: [] for k in ("ei", "xm", "ym", *CircuitView.HOVER, "color", "alpha", "rangle", "bw", "bh")}

    @staticmethod
    def _empty_labels():
        return {k: [] for k in ("ei", "xm", "ym", "lox", "loy", "align", "label")}

    @staticmethod
    def _empty_leaders():
        return {k: [] for k in ("x0", "y0", "x1", "y1")}

    @staticmethod
    def _empty_diodes():
        keys = ("ei", "xs", "ys", "bx0", "by0", "bx1", "by1", "color", "alpha", "name", "kind")
        return {k: [] for k in keys}

    def _height_styles(self):
        """The figure's inline CSS: its height from the page's variable where the page sets one.

        Bokeh gives a fixed-height figure ``flex: 0 0 <height>`` in its column, and a flex basis
        wins over a height: the basis must follow too.
        """
        if not self.follow_window:
            return {}
        height = f"var({FIGURE_HEIGHT_VARIABLE}, {self.height}px)"
        return {"height": height, "flex": f"0 0 {height}"}

    def _make_figure(self):
        # wheel zoom is a tool to pick, not the default: over a page, the wheel scrolls the page
        fig = figure(
            height=self.height, sizing_mode="stretch_width", styles=self._height_styles(),
            x_range=Range1d(0, 1), y_range=Range1d(0, 1),
            tools="pan,wheel_zoom,box_zoom,reset,save", active_scroll=None,
            toolbar_location="above", name=f"{self.tag}-figure",
        )
        fig.axis.visible = False
        fig.grid.visible = False
        fig.outline_line_color = None
        fig.min_border = 0
        fig.toolbar.autohide = False
        fig.js_on_change("inner_width", CustomJS(code=CLIP_OVERLAY_JS))
        self.mapper = LinearColorMapper(palette=Viridis256, low=0, high=1, nan_color="#d9d9d9")
        self.power_mapper = LogColorMapper(palette=Inferno256[:230], low=1e-6, high=1)

        es = self.edge_source
        # a wire is p -> a -> b -> n: one segment when straight (a = n, b = NaN), an elbow
        # (b = a), or a side branch; NaN parts cost nothing on the canvas
        style = dict(source=es, line_color="color", line_alpha="alpha", line_width="width")
        self.edge_renderer = fig.segment("x0", "y0", "xa", "ya", name="elements", **style)
        self.edge_renderer2 = fig.segment("xa", "ya", "xb", "yb", name="elements-2", **style)
        self.edge_renderer3 = fig.segment("xb", "yb", "x1", "y1", name="elements-3", **style)
        # leader lines from labels placed away from their node or symbol: under symbols and labels
        self.leader_renderer = fig.segment("x0", "y0", "x1", "y1", source=self.leader_source, line_width=1,
                                           line_color=LEADER_COLOR, line_alpha=LEADER_ALPHA,
                                           line_dash=list(LEADER_DASH), name="label-leaders", visible=False)
        # current arrows: slim triangles in data coordinates (a patch needs no per-item canvas rotate)
        self.arrow_renderer = fig.patch("x", "y", source=self.arrow_source, fill_color="#08306b",
                                        fill_alpha=0.85, line_color="#08306b", line_alpha=0.85,
                                        name="current-arrows", level="overlay")
        ss = self.symbol_source
        self.marker_renderer = fig.scatter("xm", "ym", source=ss, marker="circle", size="msize",
                                           fill_color="mfill", line_color="color",
                                           line_width=2, fill_alpha=1.0, line_alpha="alpha",
                                           name="element-markers")
        # diodes: a triangle pointing anode -> cathode and a bar at the cathode
        ds = self.diode_source
        self.diode_renderer = fig.patches("xs", "ys", source=ds, fill_color="color", line_color="color",
                                          fill_alpha="alpha", line_alpha="alpha", name="diodes")
        self.diode_bars = fig.segment("bx0", "by0", "bx1", "by1", source=ds, line_color="color",
                                      line_alpha="alpha", line_width=3)
        # resistors as IEC boxes (screen-sized), turned along the element; white inside hides the wire
        self.box_renderer = fig.rect("xm", "ym", width="bw", height="bh", angle="rangle", source=self.box_source,
                                     width_units="screen", height_units="screen", fill_color="white",
                                     line_color="color", line_width=2, line_alpha="alpha",
                                     name="resistor-boxes")
        self.dot_renderer = fig.scatter("x", "y", source=self.dot_source, size=7, fill_color="#ffd92f",
                                        line_color="#08306b", line_width=1, name="current-dots",
                                        visible=self.show_flow, level="overlay")
        # (re)started by new paths, and when the dots are shown or hidden; the renderer's callback
        # also puts the flow source into the document
        animate = CustomJS(args=dict(paths=self.flow_source, dots=self.dot_source, period=FLOW_PERIOD_MS),
                           code=FLOW_JS)
        self.flow_source.js_on_change("data", animate)
        self.dot_renderer.js_on_change("visible", animate)
        self.marks = LabelSet(x="x", y="y", text="text", angle="angle", source=self.mark_source,
                              text_color="color", text_font_style="bold", text_font_size="14px",
                              text_align="center", text_baseline="middle")
        fig.add_layout(self.marks)
        # grid dots: where the palette's clicks land (small circuits, i.e. circuits being built)
        self.grid_source = ColumnDataSource(name=f"{self.tag}-grid", data=dict(x=[], y=[]))
        self.grid_renderer = fig.scatter("x", "y", source=self.grid_source, size=3, color="#bdbdbd",
                                         name="grid")
        ns = self.node_source
        self.node_renderer = fig.scatter("x", "y", source=ns, size="size",
                                         fill_color={"field": "v", "transform": self.mapper},
                                         line_color="line_color", line_width="line_width",
                                         name="nodes", level="overlay")
        # a picked (selected) node is marked by its outline; the others must not fade
        self.node_renderer.nonselection_glyph = self.node_renderer.glyph.clone()
        self.node_renderer.selection_glyph = self.node_renderer.glyph.clone()
        # each text stands against the side of its label's box that faces its node or symbol
        self.node_labels = LabelSet(x="x", y="y", text="label", source=ns, x_offset="lox", y_offset="loy",
                                    text_font_size="11px", text_color="#252525", text_align="align",
                                    text_baseline="middle",
                                    background_fill_color="white", background_fill_alpha=0.75,
                                    level="overlay")
        self.element_labels = LabelSet(x="xm", y="ym", x_offset="lox", y_offset="loy", text="label",
                                       source=self.label_source, text_font_size="11px",
                                       text_color="#404040", text_align="align", text_baseline="middle",
                                       background_fill_color="white", background_fill_alpha=0.75)
        fig.add_layout(self.node_labels)
        fig.add_layout(self.element_labels)
        # colour bars lie below the drawing: on a narrow screen the width is the scarce direction
        bar = dict(height=10, orientation="horizontal", title_text_font_size="11px",
                   major_label_text_font_size="11px", padding=4)
        self.bar_mapper = self.mapper.clone()
        self.colorbar = ColorBar(color_mapper=self.bar_mapper, title="potential (V)", **bar)
        fig.add_layout(self.colorbar, "below")
        self.power_colorbar = ColorBar(color_mapper=self.power_mapper, title="power dissipated (W)",
                                       visible=False, **bar)
        fig.add_layout(self.power_colorbar, "below")
        self.update_mapper = LinearColorMapper(palette=RdBu11, low=-1, high=1)
        self.update_colorbar = ColorBar(color_mapper=self.update_mapper, title="conductance update (S)",
                                        visible=False, **bar)
        fig.add_layout(self.update_colorbar, "below")

        si_fmt = CustomJSHover(code=SI_JS)
        fig.add_tools(HoverTool(renderers=[self.node_renderer], tooltips=[
            ("node", "@name"), ("potential", "@v{V}")], formatters={"@v": si_fmt}))
        element_tips = [("element", "@name (@kind)"), ("value", "@ulabel @ei{uval -}@uunit"),
                        ("voltage across", "@ei{dv V}"), ("current", "@ei{i A}"), ("power", "@ei{p W}")]
        formatters = {"@ei": CustomJSHover(args=dict(readings=self.readings_source), code=READING_JS)}
        fig.add_tools(HoverTool(renderers=[self.edge_renderer, self.edge_renderer2, self.edge_renderer3,
                                           self.marker_renderer, self.box_renderer], tooltips=element_tips,
                                formatters=formatters, line_policy="interp"))
        fig.add_tools(HoverTool(renderers=[self.diode_renderer],
                                tooltips=[("element", "@name (diode)"), ("threshold", "@ei{uval V}"),
                                          ("voltage across", "@ei{dv V}"), ("current", "@ei{i A}"),
                                          ("power", "@ei{p W}"), ("state", "@ei{state}")],
                                formatters=formatters))
        # tap a node to pick it, an element's symbol to edit it (not the wires: they end on the nodes)
        tap = TapTool(renderers=[self.node_renderer, self.marker_renderer, self.box_renderer, self.diode_renderer],
                      description="Tap a node to pick it as an endpoint, or an element's symbol to edit it")
        draw = PointDrawTool(renderers=[self.node_renderer], add=False, drag=True,
                             description="Drag nodes to move them; tap a node to pick it")
        fig.add_tools(tap, draw)
        fig.toolbar.active_tap = tap
        fig.toolbar.active_multi = draw  # edit tools take drags as "multi" gestures
        ns.js_on_change("data", CustomJS(args=dict(nodes=ns, edges=es), code=_DRAG_JS))
        ns.on_change("data", self._on_node_data)
        ns.selected.on_change("indices", self._on_node_tap)
        fig.on_event(Tap, self._on_canvas_tap)
        fig.on_event(PanStart, self._on_drag_start)
        fig.on_event(PanEnd, self._on_drag_end)
        for source in (ss, self.box_source, ds):
            source.selected.on_change("indices", self._element_tap_on(source))
        fig.on_change("inner_width", self._on_frame)
        fig.on_change("inner_height", self._on_frame)
        return fig

    # ------------------------------------------------------------ callbacks
    def _on_frame(self, attr, old, new):
        doc = self.figure.document
        if doc is None or doc.session_context is None:  # no server to wait on (a static export)
            self._apply_frame()
        elif getattr(self, "_frame_timer", None) is None:
            # (the first size comes before the page has loaded, when Panel would not send a repaint)
            self._frame_timer = doc.add_timeout_callback(lambda: pn.state.onload(self._apply_frame),
                                                         FRAME_SETTLE_MS)

    def _apply_frame(self):
        """Lay the drawing out again for the plot frame's size as the browser rendered it."""
        self._frame_timer = None
        try:
            width, height = self.figure.inner_width, self.figure.inner_height
        except UnsetValueError:  # one of the two not reported yet
            return
        if not width or not height or width < 50 or height < 50:
            return
        if abs(width - self.frame[0]) > 2 or abs(height - self.frame[1]) > 2:
            self.frame = (int(width), int(height))
            self._repaint()

    def _on_presenter(self, event):
        style = STYLES["presenter" if self.presenter else "normal"]
        font = f"{style.font}px"
        with pn.io.hold():
            for labels in (self.node_labels, self.element_labels):
                labels.text_font_size = font
            self.marks.text_font_size = f"{round(0.6 * style.source)}px"
            for bar in (self.colorbar, self.power_colorbar, self.update_colorbar):
                bar.title_text_font_size = font
                bar.major_label_text_font_size = font
                bar.height = 16 if self.presenter else 10
            self.legend.object = legend_html(self.presenter, self.show_flow)
        self._repaint()

    def _on_flow(self, event):
        self.legend.object = legend_html(self.presenter, self.show_flow)
        self._repaint()

    def _on_node_data(self, attr, old, new):
        """The browser moved nodes: a drag ended (the point-draw tool sends its data on release only)."""
        if self._syncing:
            return
        xs, ys = new.get("x", []), new.get("y", [])
        nodes = self.store.network.nodes
        self._dragging = False
        if len(xs) != len(nodes):  # rows deleted in the browser (Backspace): put the store's back
            self._sent.pop("node", None)
            self._repaint()
            return
        # Record what the browser shows, so that the repaint sends positions only where the store
        # differs from them (a snap to the grid): echoing a position the browser already has would
        # pull back a node that a new drag is moving.
        sent = self._sent.get("node")
        if sent is not None and len(sent.get("x", ())) == len(xs):
            sent.update(x=np.asarray(xs, dtype=float), y=np.asarray(ys, dtype=float))
        self.store.move_nodes({n: (float(x), float(y)) for n, x, y in zip(nodes, xs, ys)},
                              snap_to_grid=self.store.snap_to_grid)

    def _on_drag_start(self, event):
        self._dragging = True

    def _on_drag_end(self, event):
        """On a grid-built circuit a dragged node lands on the nearest grid point when released."""
        self._dragging = False
        if self.store.snap_to_grid:
            self._snap_off_grid()

    def _snap_off_grid(self):
        store = self.store
        net = store.network
        off = {n: (a["x"], a["y"]) for n in net.nodes if "x" in (a := net.node_attributes(n))
               and snap(a["x"], a["y"]) != (a["x"], a["y"])}
        if off:
            store.move_nodes(off, snap_to_grid=True)

    def _on_canvas_tap(self, event):
        """With a part armed in the palette, a tap anywhere places it (see ``CircuitStore.click``)."""
        if self.store.tool != "select" and event.x is not None:
            self.store.click(float(event.x), float(event.y))

    def _on_node_tap(self, attr, old, new):
        if self._syncing or not new or self.store.tool != "select":
            return
        nodes = self.store.network.nodes
        k = new[-1]
        if 0 <= k < len(nodes):
            self.store.pick_node(nodes[k])

    def _element_tap_on(self, source):
        """A callback that selects the element whose symbol (a row of ``source``) was tapped."""
        def on_tap(attr, old, new):
            if self._syncing or not new or self.store.tool != "select":
                return
            names = source.data["name"]
            k = new[-1]
            if 0 <= k < len(names):
                self.store.select_element(names[k])
        return on_tap

    # --------------------------------------------------------------- paint
    def labels_shown(self):
        """``(node labels, element labels, values)``: what text the drawing carries now."""
        net = self.store.network
        n_nodes, m = len(net.nodes), len(net)
        values = self.store.show_values and n_nodes <= LABEL_LIMIT
        elements = values and m <= ELEMENT_LABEL_LIMIT * max(n_nodes, 1)
        return values or n_nodes <= 30, elements, values

    def geometry(self):
        """The static drawing (routes, symbols, label places), recomputed only when its inputs change."""
        net = self.store.network
        key = self._geometry_key()
        if getattr(self, "_geo_key", None) != key:
            xy, pi, ni = node_positions(net)
            nodes, elements = net.nodes, net.elements()
            node_labels, element_labels, values = self.labels_shown()
            drawing = layout_drawing(xy, pi, ni, [e.kind for e in elements], [str(n) for n in nodes],
                                     [e.name for e in elements], self.frame, presenter=self.presenter,
                                     node_labels=node_labels, element_labels=element_labels, values=values,
                                     orthogonal=not self.straight_wires)
            self._geo, self._geo_key = dict(xy=xy, pi=pi, ni=ni, drawing=drawing), key
        return self._geo

    def paint_data(self):
        """Compute the node and element columns for the current state (no Bokeh involved)."""
        store = self.store
        net = store.network
        geo = self.geometry()
        drawing = geo["drawing"]
        route = drawing["route"]
        xy, pi, ni = geo["xy"], geo["pi"], geo["ni"]
        elements = net.elements()  # fresh: a value edit replaces the element (the geometry is cached)
        n_nodes = len(net.nodes)
        readings = store.readings  # solution or step, in node/element order; all NaN while invalid
        v = readings.v
        node_labels_on, element_labels_on, values_on = self.labels_shown()
        values_on = values_on and readings.valid

        names = [str(n) for n in net.nodes]
        picked = set(map(str, store.picked_nodes))
        if isinstance(store.pending, str):
            picked.add(str(store.pending))
        blamed = set(map(str, store.problem_nodes))
        shown = drawing["node_label_shown"] & node_labels_on
        node = dict(
            x=xy[:, 0], y=xy[:, 1], name=names, v=v,
            label=[(node_label_text(n, si(x, "V") if values_on else None, stack) if ok else "")
                   for n, x, ok, stack in zip(names, v, shown, drawing["node_label_stacked"])],
            lox=drawing["node_label_offset"][:, 0], loy=drawing["node_label_offset"][:, 1],
            align=drawing["node_label_align"],
            line_color=[PROBLEM if n in blamed else "#e6550d" if n in picked else
                        ("black" if n == "0" else "#404040") for n in names],
            line_width=np.where([n in picked or n in blamed for n in names], 4.0,
                                np.where(np.array(names) == "0", 2.5, 1.0)),
            size=np.full(n_nodes, float(drawing["node_size"])),
        )

        m = len(elements)
        kinds = np.array([e.kind for e in elements], dtype=object)
        values = np.array([e.value for e in elements], dtype=float)
        x0, y0 = xy[pi, 0], xy[pi, 1]
        x1, y1 = xy[ni, 0], xy[ni, 1]
        xm, ym = route["centre"][:, 0], route["centre"][:, 1]
        d = route["direction"]
        dv, current, power, on = readings.dv, readings.i, readings.power, readings.on
        is_res = kinds == "resistor"
        is_dio = kinds == "diode"

        color = np.array([KIND_COLOR[k] for k in kinds], dtype=object)
        color[is_dio & on] = CONDUCTING
        alpha = np.where(is_dio & ~on, BLOCKING_ALPHA, 1.0)
        width = np.full(m, 2.0)
        if is_res.any():
            logg = np.log10(values[is_res])
            span = logg.max() - logg.min()
            width[is_res] = 1.5 + (5.5 * (logg - logg.min()) / span if span > 0 else 2.0)
            # to a quarter pixel (finer is not seen): a slider step then rarely changes any width,
            # and a repaint that changes none leaves every wire's glyph data as it is in the browser
            width[is_res] = np.round(width[is_res] * 4.0) / 4.0
        if store.color_by == "power":
            dissipating = (is_res | is_dio) & np.isfinite(power)
            pmax = float(np.nanmax(np.where(dissipating, power, np.nan), initial=0.0)) if m else 0.0
            pmax = pmax if pmax > 0 else 1.0
            low = pmax * 1e-4
            color[dissipating] = _palette_colors(np.abs(power[dissipating]), self.power_mapper.palette,
                                                 low, pmax, log=True)
            color[dissipating & (np.abs(power) < low)] = "#c8c8c8"  # (almost) nothing dissipated
            alpha = np.where(dissipating, 1.0, 0.6)
            self.power_mapper.update(low=low, high=pmax)

        elif store.color_by == "update" and store.edge_overlay:
            delta = np.array([store.edge_overlay.get(e.name, np.nan) for e in elements], dtype=float)
            has = np.isfinite(delta)
            dmax = float(np.nanmax(np.abs(delta), initial=0.0)) if has.any() else 0.0
            dmax = dmax if dmax > 0 else 1.0
            # Bokeh's RdBu runs blue (low) to red (high): blue = conductance goes down, red = up
            color[has] = _palette_colors(delta[has], RdBu11, -dmax, dmax)
            width[has] = 1.0 + 7.0 * np.sqrt(np.abs(delta[has]) / dmax)
            alpha = np.where(has, 1.0, 0.5)
            self.update_mapper.update(low=-dmax, high=dmax)

        # current arrows beside the symbols: length by |i| (sqrt scale), direction by sign
        arrow = drawing["arrow"]
        imax = float(np.nanmax(np.abs(current), initial=0.0)) if m else 0.0
        mag = np.sqrt(np.abs(np.nan_to_num(current)) / imax) if imax > 0 else np.zeros(m)
        direction = np.sign(np.nan_to_num(current))
        shown = np.flatnonzero((mag > 0.02) & (m <= ARROW_LIMIT))
        ux, uy = direction[shown] * d[shown, 0], direction[shown] * d[shown, 1]  # along the current
        h = np.maximum(arrow["half"][shown] * mag[shown], arrow["floor"][shown])
        w = arrow["base"][shown]  # half-width of the arrow's base
        cx, cy = arrow["centre"][shown, 0], arrow["centre"][shown, 1]
        tip_x, tip_y = cx + ux * h, cy + uy * h
        bx, by = cx - ux * h, cy - uy * h
        gap = np.full(len(shown), np.nan)
        self._arrow_data = dict(
            x=np.column_stack([bx - uy * w, bx + uy * w, tip_x, gap]).ravel(),
            y=np.column_stack([by + ux * w, by - ux * w, tip_y, gap]).ravel(),
        )
        self.arrow_names = [elements[k].name for k in shown]

        # numbers travel as numbers; the hover formats them in the browser (SI_JS)
        uval = np.divide(1.0, values, out=values.copy(), where=is_res)
        state = np.where(on, "conducting", "blocking") if readings.valid else np.full(m, "unknown")
        selected = store.selected_element
        blamed = set(store.problem_elements)
        if selected or blamed:
            for k, e in enumerate(elements):
                if e.name == selected:
                    width[k] += 3.0
                if e.name in blamed:
                    color[k], width[k], alpha[k] = PROBLEM, width[k] + 2.0, 1.0
        names = [e.name for e in elements]
        hover = dict(name=names, kind=list(kinds), ulabel=[UNITS[k][0] for k in kinds],
                     uunit=[UNITS[k][1] for k in kinds])
        reading = dict(uval=uval, dv=dv, i=current, p=power, state=state.tolist())
        a, b = route["a"], route["b"]
        straight = np.isnan(a[:, 0])
        elbow = ~straight & np.isnan(b[:, 0])
        xa = np.where(straight, x1, a[:, 0])
        ya = np.where(straight, y1, a[:, 1])
        xb = np.where(elbow, a[:, 0], b[:, 0])
        yb = np.where(elbow, a[:, 1], b[:, 1])
        edge = dict(ei=np.arange(m), x0=x0, y0=y0, x1=x1, y1=y1, xm=xm, ym=ym, xa=xa, ya=ya, xb=xb, yb=yb,
                    pi=pi, ni=ni, **hover, color=list(color), alpha=alpha, width=width)

        def rows(where, keys, **columns):
            """Columns ``keys`` (hover or ``columns``, each over all elements) at the rows ``where``."""
            k = np.flatnonzero(where)
            available = {**hover, **columns}
            return {name: k if name == "ei" else
                    ([available[name][j] for j in k] if isinstance(available[name], list) else available[name][k])
                    for name in keys}

        sources = (kinds == "vsource") | (kinds == "isource")
        symbol = rows(sources, self._empty_symbols(), xm=xm, ym=ym, color=list(color), alpha=alpha,
                      msize=drawing["symbol_length"], mfill=["white"] * m)
        marks = drawing["marks"]
        mark = dict(x=marks["x"], y=marks["y"], text=marks["text"], angle=marks["angle"],
                    color=[color[k] for k in marks["owner"]])
        length, thick = drawing["symbol_length"], drawing["symbol_width"]
        box = rows(is_res & (length > 0), self._empty_boxes(), xm=xm, ym=ym, color=list(color), alpha=alpha,
                   rangle=drawing["angle"], bw=length, bh=thick)
        placed = drawing["element_label_shown"] & element_labels_on
        offset = drawing["element_label_offset"]
        stacked = drawing["element_label_stacked"]
        text = [element_label_text(e.name, si(uval[k], UNITS[e.kind][1]), si(current[k], "A"), stacked[k])
                if placed[k] else "" for k, e in enumerate(elements)]
        labels = rows(placed, self._empty_labels(), xm=xm, ym=ym, lox=offset[:, 0], loy=offset[:, 1],
                      align=drawing["element_label_align"], label=text)
        # diode symbols, laid out with the drawing (data units)
        kd = drawing["diode"]["index"]
        bar = drawing["diode"]["bar"]
        diode = dict(
            xs=drawing["diode"]["xs"].tolist(), ys=drawing["diode"]["ys"].tolist(),
            bx0=bar[:, 0], by0=bar[:, 1], bx1=bar[:, 2], by1=bar[:, 3],
            color=[color[k] for k in kd], alpha=alpha[kd],
            name=[elements[k].name for k in kd], kind=["diode"] * len(kd), ei=np.asarray(kd, dtype=int),
        )
        finite = v[np.isfinite(v)]
        lo_v, hi_v = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi_v - lo_v < 1e-12:
            lo_v, hi_v = lo_v - 1.0, hi_v + 1.0
        leaders = drawing["leaders"]
        columns = dict(node=node, edge=edge, diode=diode, symbol=symbol, mark=mark, box=box, label=labels,
                       readings=reading, leader={k: leaders[k] for k in self._empty_leaders()},
                       flow=self.flow_data(readings))
        return columns, (lo_v, hi_v)

    def flow_data(self, readings=None):
        """Columns of the flow source: oriented paths and speeds, or none when the flow is off."""
        readings = readings if readings is not None else self.store.readings
        m = len(readings.i)
        if not self.show_flow or m > FLOW_LIMIT or not readings.valid:
            return {k: [] for k in FLOW_COLUMNS}
        geo = self.geometry()
        route, net = geo["drawing"]["route"], self.store.network
        paths = flow_paths(geo["xy"], geo["pi"], geo["ni"], route["a"], route["b"], readings.i,
                           [e.kind for e in net.elements()], readings.on, geo["drawing"]["scale"])
        return {k: paths[k] for k in FLOW_COLUMNS}

    # Columns that only change with the circuit's structure or layout: a value edit leaves them out
    # of the message to the browser.
    HOVER_STATIC = set(HOVER)
    STATIC = {
        "node": {"x", "y", "name", "size", "lox", "loy", "align"},
        "edge": {"ei", "x0", "y0", "x1", "y1", "xm", "ym", "xa", "ya", "xb", "yb", "pi", "ni", *HOVER_STATIC},
        "diode": {"ei", "xs", "ys", "bx0", "by0", "bx1", "by1", "name", "kind"},
        "symbol": {"ei", "xm", "ym", "msize", "mfill", *HOVER_STATIC},
        "mark": {"x", "y", "text", "angle"},
        "box": {"ei", "xm", "ym", "rangle", "bw", "bh", *HOVER_STATIC},
        "label": {"ei", "xm", "ym", "lox", "loy", "align"},
        "leader": {"x0", "y0", "x1", "y1"},
        "readings": set(),
    }

    def _sources(self):
        # nodes last: their change runs _DRAG_JS, which must see the new elements' rows
        return dict(readings=self.readings_source, edge=self.edge_source, diode=self.diode_source,
                    symbol=self.symbol_source, mark=self.mark_source, box=self.box_source,
                    label=self.label_source, leader=self.leader_source, node=self.node_source)

    def _geometry_key(self):
        net = self.store.network
        return (id(net), net.structure_version, self.store.layout_version, len(net.nodes), self.frame,
                self.presenter, self.labels_shown())

    def _repaint(self, *events):
        columns, (lo, hi) = self.paint_data()
        node_labels_on, element_labels_on, _ = self.labels_shown()
        # an empty annotation still costs a little on every repaint; hidden ones cost nothing
        for item, shown in ((self.node_labels, node_labels_on), (self.element_labels, element_labels_on),
                            (self.box_renderer, len(columns["box"]["ei"]) > 0),
                            (self.leader_renderer, len(columns["leader"]["x0"]) > 0)):
            if item.visible != shown:
                item.visible = shown
        key = self._geometry_key()
        partial = key == getattr(self, "_last_key", None)
        self._last_key = key
        if not partial:
            n_nodes = len(columns["node"]["x"])
            gx, gy = grid_points(self._geo["xy"]) \
                if self.grid and n_nodes <= GRID_LIMIT else (np.zeros(0), np.zeros(0))
            self.grid_source.data = dict(x=gx, y=gy)
        self._syncing = True
        try:
            # A value edit sends columns of the types already validated when the drawing was laid
            # out: Bokeh's validation of every column of every changed source (a third of the
            # repaint's cost on a small circuit) is skipped then; the row-count check still runs.
            with pn.io.hold(), validate(not partial):  # one message to the browser
                # Data first, then the models that make BokehJS re-read it: a change of the colour
                # mapper starts an asynchronous re-read of the node source, and rows that arrive
                # while it runs meet the old row count ("Size mismatch").
                self._send_sources(columns, partial)
                arrows = self._sent.get("arrow")
                if arrows is None or not all(_same(arrows[k], v) for k, v in self._arrow_data.items()):
                    self.arrow_source.data = self._sent["arrow"] = self._arrow_data
                if columns["flow"] != self._sent.get("flow"):  # (the browser restarts its timer)
                    self.flow_source.data = columns["flow"]
                    self._sent["flow"] = columns["flow"]
                if not partial:
                    x0, x1, y0, y1 = self._geo["drawing"]["ranges"]
                    for rng, (start, end) in ((self.figure.x_range, (x0, x1)), (self.figure.y_range, (y0, y1))):
                        rng.update(start=start, end=end, reset_start=start, reset_end=end)
                mode = self.store.color_by
                # (a property set to its value still costs Bokeh's checks: set only what changes)
                for model, props in ((self.dot_renderer, dict(visible=self.show_flow)),
                                     (self.mapper, dict(low=lo, high=hi)),
                                     (self.bar_mapper, dict(low=lo, high=hi)),
                                     (self.colorbar, dict(visible=mode == "potential")),
                                     (self.power_colorbar, dict(visible=mode == "power")),
                                     (self.update_colorbar, dict(visible=mode == "update"))):
                    changed = {k: v for k, v in props.items() if getattr(model, k) != v}
                    if changed:
                        model.update(**changed)
        finally:
            self._syncing = False

    def _send_sources(self, columns, partial):
        """Send each source's new columns: the whole dict when its rows change, else those that differ.

        Either way a source changes in one event whose columns have equal lengths. The node
        positions are sent only where they differ from what the browser shows (after a drag, the
        browser's): a drag under way is never pulled back by a repaint for another reason.
        """
        for kind, source in self._sources().items():
            data = columns[kind]
            sent = self._sent.get(kind)
            same_rows = sent is not None and _rows(sent) == _rows(data) and (
                partial or kind != "node" or list(sent["name"]) == list(data["name"]))
            # a node's selection carries a drag: kept while one may be under way
            keep_selection = same_rows and (partial or (kind == "node" and self._dragging))
            if source.selected.indices and not keep_selection:
                source.selected.indices = []
            if not same_rows or (not partial and kind != "node"):
                source.data = data
                self._sent[kind] = dict(data)
                continue
            # a value edit changes few columns, and never the static ones
            unchanged = self.STATIC[kind] if partial else ()
            changed = {k: v for k, v in data.items() if k not in unchanged and not _same(sent.get(k), v)}
            if changed:
                source.data.update(changed)
                sent.update(changed)

    def __panel__(self):
        return pn.Column(self.pane, self.flow_toggle, self.legend, sizing_mode="stretch_width")
