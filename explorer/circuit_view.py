"""The circuit view: the network drawn with Bokeh, painted from a :class:`CircuitStore`.

* nodes: circles coloured by potential (colour bar), draggable (positions go
  back into the network as node attributes), tap to pick endpoints;
* resistors: lines whose width grows with log-conductance;
* diodes: a triangle pointing anode -> cathode, orange when conducting
  (active constraint), faded grey when blocking;
* voltage sources: a blue circle with a ``+`` at the plus terminal; current
  sources: a green diamond;
* an arrow beside every element shows the direction of its current, its length
  the magnitude; hover shows name, value, voltage across, current and power;
* ``color_by="power"`` colours elements by the power they dissipate.

Repaints only replace the data of a few ``ColumnDataSource`` objects, so a
value change costs one message of arrays, not a new figure.
"""

from __future__ import annotations

import math
import time

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
    TapTool,
)
from bokeh.events import PanEnd, Tap
from bokeh.palettes import RdBu11, Inferno256, Viridis256
from bokeh.plotting import figure

from .editing import grid_points, snap
from .state import CircuitStore
from .units import UNITS, si

__all__ = ["CircuitView"]

KIND_COLOR = {"resistor": "#4d4d4d", "diode": "#9e9e9e", "vsource": "#2171b5", "isource": "#238b45"}
CONDUCTING = "#f16913"
PROBLEM = "#d7301f"  # nodes and elements that the latest error blames
MARKER = {"resistor": "circle", "diode": "triangle", "vsource": "circle", "isource": "diamond"}
MARKER_SIZE = {"resistor": 0.0, "diode": 0.0, "vsource": 20.0, "isource": 17.0}
LABEL_LIMIT = 300  # above this many nodes, values are never written on the circuit
BOX_LIMIT = 120  # above this many nodes, resistors are plain lines (no boxes)
ARROW_LIMIT = 3000  # above this many elements, no current arrows
GRID_LIMIT = 60  # up to this many nodes, grid dots show where a click places a new node

# Moves element geometry with the nodes while one is dragged (the server then syncs).
_DRAG_JS = """
const x = nodes.data.x, y = nodes.data.y;
// only a move needs the wires redrawn; value updates change other columns of the node source
const last = edges.__last_xy;
if (last && last[0] === x && last[1] === y) return;
edges.__last_xy = [x, y];
const e = edges.data;
const n = e.pi.length;
for (let k = 0; k < n; k++) {
  e.x0[k] = x[e.pi[k]]; e.y0[k] = y[e.pi[k]];
  e.x1[k] = x[e.ni[k]]; e.y1[k] = y[e.ni[k]];
  e.xm[k] = (e.x0[k] + e.x1[k]) / 2 + e.ox[k]; e.ym[k] = (e.y0[k] + e.y1[k]) / 2 + e.oy[k];
  const bent = e.ox[k] !== 0 || e.oy[k] !== 0;
  e.xa[k] = bent ? e.xm[k] : e.x1[k]; e.ya[k] = bent ? e.ym[k] : e.y1[k];
  e.xb[k] = bent ? e.xm[k] : NaN; e.yb[k] = bent ? e.ym[k] : NaN;
}
edges.change.emit();
// symbols, boxes and labels sit at their element's midpoint (row ei of the wires)
for (const s of others) {
  const d = s.data;
  for (let j = 0; j < d.ei.length; j++) { d.xm[j] = e.xm[d.ei[j]]; d.ym[j] = e.ym[d.ei[j]]; }
  s.change.emit();
}
"""


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


def _same(old, new):
    """True when a column would send the same values again."""
    if old is None or len(old) != len(new):
        return False
    if isinstance(old, list) and isinstance(new, list):  # text columns: plain comparison is fastest
        return old == new
    a, b = np.asarray(old), np.asarray(new)
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        return np.array_equal(a, b, equal_nan=True)
    return a.dtype == b.dtype and np.array_equal(a, b)


def _palette_colors(values, palette, low, high, log=False):
    values = np.asarray(values, dtype=float)
    if log:
        values = np.log10(np.maximum(values, low))
        low, high = math.log10(low), math.log10(high)
    t = np.clip((values - low) / max(high - low, 1e-300), 0.0, 1.0)
    idx = np.nan_to_num(t * (len(palette) - 1), nan=0).astype(int)
    return np.asarray(palette, dtype=object)[idx]


def element_geometry(net):
    """Per-element drawing geometry from node positions (parallel elements fanned out)."""
    nodes = net.nodes
    index = {n: k for k, n in enumerate(nodes)}
    xy = np.array([[net.node_attributes(n).get("x", 0.0), net.node_attributes(n).get("y", 0.0)]
                   for n in nodes], dtype=float)
    elements = net.elements()
    pi = np.fromiter((index[e.p] for e in elements), dtype=np.int64, count=len(elements))
    ni = np.fromiter((index[e.n] for e in elements), dtype=np.int64, count=len(elements))
    d = xy[ni] - xy[pi]
    length = np.hypot(d[:, 0], d[:, 1])
    unit_len = float(np.median(length)) if len(length) else 1.0
    unit_len = unit_len if unit_len > 0 else 1.0
    # fan out parallel elements: the k-th of m between one pair gets offset (k - (m-1)/2) * spacing
    lo, hi = np.minimum(pi, ni), np.maximum(pi, ni)
    pair = lo * (len(nodes) + 1) + hi
    order = np.argsort(pair, kind="stable")
    sorted_pair = pair[order]
    starts = np.flatnonzero(np.r_[True, sorted_pair[1:] != sorted_pair[:-1]])
    counts = np.diff(np.r_[starts, len(pair)])
    # position of each element within its group of parallels, centred: (k - (m-1)/2)
    group_size = np.repeat(counts, counts)
    position = np.arange(len(pair)) - np.repeat(starts, counts)
    rank = np.empty(len(pair))
    rank[order] = position - (group_size - 1) / 2
    # perpendicular of the canonical (lo -> hi) direction, so p/n orientation does not flip it
    dc = xy[hi] - xy[lo]
    lc = np.maximum(np.hypot(dc[:, 0], dc[:, 1]), 1e-12)
    perp = np.column_stack([-dc[:, 1] / lc, dc[:, 0] / lc])
    offset = perp * (rank * 0.22 * unit_len)[:, None]
    return dict(xy=xy, pi=pi, ni=ni, d=d, length=np.maximum(length, 1e-12), offset=offset,
                unit=unit_len, elements=elements)


class CircuitView(pn.viewable.Viewer):
    """Draws the store's circuit and paints its solution; edits flow back to the store."""

    store = param.ClassSelector(class_=CircuitStore, doc="The state to draw.")
    height = param.Integer(default=560, doc="Height of the drawing (px).")
    tag = param.String(default="circuit", doc="Prefix of the Bokeh model names (for tests and benchmarks).")
    grid = param.Boolean(default=True, doc="Show grid dots (where the palette places nodes) on small circuits.")

    def __init__(self, **params):
        super().__init__(**params)
        self._syncing = False
        self._own_move = False
        self._sent = {}  # the columns the browser has, per source (to send only what changes)
        self.node_source = ColumnDataSource(name=f"{self.tag}-nodes", data=self._empty_nodes())
        self.edge_source = ColumnDataSource(name=f"{self.tag}-edges", data=self._empty_edges())
        self.diode_source = ColumnDataSource(name=f"{self.tag}-diodes", data=self._empty_diodes())
        # Symbols, boxes and value labels have sources of their own, holding only the rows drawn:
        # every renderer re-reads its whole source when any column changes, and on a large
        # circuit nearly every element is a plain wire.
        self.symbol_source = ColumnDataSource(name=f"{self.tag}-symbols", data=self._empty_symbols())
        self.box_source = ColumnDataSource(name=f"{self.tag}-boxes", data=self._empty_boxes())
        self.label_source = ColumnDataSource(name=f"{self.tag}-labels", data=self._empty_labels())
        # all arrows are one patch (NaN between triangles): two float arrays travel as binary,
        # where one patch per arrow made Bokeh encode thousands of small lists per repaint
        self.arrow_source = ColumnDataSource(name=f"{self.tag}-arrows", data=dict(x=[], y=[]))
        self.arrow_names = []  # element of each arrow, in order (triangle k is rows 4k..4k+2)
        self.figure = self._make_figure()
        self.pane = pn.pane.Bokeh(self.figure, sizing_mode="stretch_width", height=self.height)
        self.store.param.watch(self._repaint, ["version", "layout_version", "show_values", "color_by",
                                               "preview", "selected_element", "picked_nodes",
                                               "edge_overlay"])
        self._repaint()

    # ---------------------------------------------------------------- figure
    @staticmethod
    def _empty_nodes():
        return {k: [] for k in ("x", "y", "name", "v", "label", "line_color", "line_width",
                                "size")}

    HOVER = ("name", "kind", "uval", "ulabel", "uunit", "dv", "i", "p")

    @staticmethod
    def _empty_edges():
        keys = ("x0", "y0", "x1", "y1", "xm", "ym", "xa", "ya", "xb", "yb", "pi", "ni", "ox", "oy",
                *CircuitView.HOVER, "color", "alpha", "width")
        return {k: [] for k in keys}

    @staticmethod
    def _empty_symbols():
        keys = ("ei", "xm", "ym", *CircuitView.HOVER, "color", "alpha", "marker", "msize", "mfill",
                "plus_x", "plus_y", "plus_text")
        return {k: [] for k in keys}

    @staticmethod
    def _empty_boxes():
        return {k: [] for k in ("ei", "xm", "ym", *CircuitView.HOVER, "color", "alpha", "rangle")}

    @staticmethod
    def _empty_labels():
        return {k: [] for k in ("ei", "xm", "ym", "lox", "loy", "label")}

    @staticmethod
    def _empty_diodes():
        keys = ("xs", "ys", "bx0", "by0", "bx1", "by1", "color", "alpha", "name", "kind", "uval", "dv",
                "i", "p", "state")
        return {k: [] for k in keys}

    def _make_figure(self):
        fig = figure(
            height=self.height, sizing_mode="stretch_width", match_aspect=True,
            tools="pan,wheel_zoom,box_zoom,reset,save", active_scroll="wheel_zoom",
            toolbar_location="above", name=f"{self.tag}-figure",
        )
        fig.axis.visible = False
        fig.grid.visible = False
        fig.outline_line_color = None
        fig.min_border = 10
        self.mapper = LinearColorMapper(palette=Viridis256, low=0, high=1, nan_color="#d9d9d9")
        self.power_mapper = LogColorMapper(palette=Inferno256[:230], low=1e-6, high=1)

        es = self.edge_source
        # a wire is one segment p -> n (x0 -> xa); parallel elements bend apart at their midpoint,
        # so they are drawn p -> midpoint (x0 -> xa) and midpoint -> n (xb -> x1). The second
        # part is NaN for straight wires, which the canvas skips at no cost.
        self.edge_renderer = fig.segment("x0", "y0", "xa", "ya", source=es, line_color="color",
                                         line_alpha="alpha", line_width="width", name="elements")
        self.edge_renderer2 = fig.segment("xb", "yb", "x1", "y1", source=es, line_color="color",
                                          line_alpha="alpha", line_width="width", name="elements-2")
        # current arrows: slim triangles in data coordinates (a patch needs no per-item canvas rotate)
        self.arrow_renderer = fig.patch("x", "y", source=self.arrow_source, fill_color="#08306b",
                                          fill_alpha=0.85, line_color="#08306b", line_alpha=0.85,
                                          name="current-arrows")
        ss = self.symbol_source
        self.marker_renderer = fig.scatter("xm", "ym", source=ss, marker="marker", size="msize",
                                           fill_color="mfill", line_color="color",
                                           line_width=2, fill_alpha="alpha", line_alpha="alpha",
                                           name="element-markers")
        # diodes: a triangle pointing anode -> cathode and a bar at the cathode
        ds = self.diode_source
        self.diode_renderer = fig.patches("xs", "ys", source=ds, fill_color="color", line_color="color",
                                          fill_alpha="alpha", line_alpha="alpha", name="diodes")
        fig.segment("bx0", "by0", "bx1", "by1", source=ds, line_color="color", line_alpha="alpha",
                    line_width=3)
        # resistors as IEC boxes (screen-sized), turned along the element
        self.box_renderer = fig.rect("xm", "ym", width=24, height=10, angle="rangle", source=self.box_source,
                                     width_units="screen", height_units="screen", fill_color="white",
                                     line_color="color", line_width=2, line_alpha="alpha",
                                     name="resistor-boxes")
        self.plus_labels = LabelSet(x="plus_x", y="plus_y", text="plus_text", source=ss,
                                    text_color="#2171b5", text_font_style="bold", text_font_size="17px",
                                    text_align="center", text_baseline="middle")
        fig.add_layout(self.plus_labels)
        # grid dots: where the palette's clicks land (small circuits, i.e. circuits being built)
        self.grid_source = ColumnDataSource(name=f"{self.tag}-grid", data=dict(x=[], y=[]))
        self.grid_renderer = fig.scatter("x", "y", source=self.grid_source, size=3, color="#bdbdbd",
                                         name="grid")
        ns = self.node_source
        self.node_renderer = fig.scatter("x", "y", source=ns, size="size",
                                         fill_color={"field": "v", "transform": self.mapper},
                                         line_color="line_color", line_width="line_width",
                                         name="nodes")
        # the view fits the nodes only: arrows and labels change with every solve, and a range that
        # followed them would be recomputed and sent back to the server after each repaint
        fig.x_range.renderers = [self.node_renderer, self.grid_renderer]
        fig.y_range.renderers = [self.node_renderer, self.grid_renderer]
        # a picked (selected) node is marked by its outline; the others must not fade
        self.node_renderer.nonselection_glyph = self.node_renderer.glyph.clone()
        self.node_renderer.selection_glyph = self.node_renderer.glyph.clone()
        self.node_labels = LabelSet(x="x", y="y", text="label", source=ns, x_offset=9, y_offset=7,
                                    text_font_size="12px", text_color="#252525",
                                    background_fill_color="white", background_fill_alpha=0.7)
        self.element_labels = LabelSet(x="xm", y="ym", x_offset="lox", y_offset="loy", text="label",
                                       source=self.label_source,
                                       text_font_size="11px",
                                       text_color="#525252", text_align="center", text_baseline="middle",
                                       background_fill_color="white", background_fill_alpha=0.6)
        fig.add_layout(self.node_labels)
        fig.add_layout(self.element_labels)
        self.colorbar = ColorBar(color_mapper=self.mapper, title="potential (V)", width=12,
                                 title_text_font_size="11px", major_label_text_font_size="11px")
        fig.add_layout(self.colorbar, "right")
        self.power_colorbar = ColorBar(color_mapper=self.power_mapper, title="power dissipated (W)",
                                       width=12, visible=False, title_text_font_size="11px",
                                       major_label_text_font_size="11px")
        fig.add_layout(self.power_colorbar, "right")
        self.update_mapper = LinearColorMapper(palette=RdBu11, low=-1, high=1)
        self.update_colorbar = ColorBar(color_mapper=self.update_mapper, title="conductance update (S)",
                                        width=12, visible=False, title_text_font_size="11px",
                                        major_label_text_font_size="11px")
        fig.add_layout(self.update_colorbar, "right")

        si_fmt = CustomJSHover(code=SI_JS)
        fig.add_tools(HoverTool(renderers=[self.node_renderer], tooltips=[
            ("node", "@name"), ("potential", "@v{V}")], formatters={"@v": si_fmt}))
        element_tips = [("element", "@name (@kind)"), ("value", "@ulabel @uval{-}@uunit"),
                        ("voltage across", "@dv{V}"), ("current", "@i{A}"), ("power", "@p{W}")]
        formatters = {"@uval": si_fmt, "@dv": si_fmt, "@i": si_fmt, "@p": si_fmt}
        fig.add_tools(HoverTool(renderers=[self.edge_renderer, self.edge_renderer2, self.marker_renderer,
                                           self.box_renderer], tooltips=element_tips,
                                formatters=formatters, line_policy="interp"))
        fig.add_tools(HoverTool(renderers=[self.diode_renderer],
                                tooltips=[("element", "@name (diode)"), ("threshold", "@uval{V}"),
                                          ("voltage across", "@dv{V}"), ("current", "@i{A}"),
                                          ("power", "@p{W}"), ("state", "@state")], formatters=formatters))
        # tap a node to pick it, an element's symbol to edit it (not the wires: they end on the nodes)
        tap = TapTool(renderers=[self.node_renderer, self.marker_renderer, self.box_renderer, self.diode_renderer],
                      description="Tap a node to pick it as an endpoint, or an element's symbol to edit it")
        draw = PointDrawTool(renderers=[self.node_renderer], add=False, drag=True,
                             description="Drag nodes to move them; tap a node to pick it")
        fig.add_tools(tap, draw)
        fig.toolbar.active_tap = tap
        fig.toolbar.active_multi = draw  # edit tools take drags as "multi" gestures
        others = [ss, self.box_source, self.label_source]
        ns.js_on_change("data", CustomJS(args=dict(nodes=ns, edges=es, others=others), code=_DRAG_JS))
        ns.on_change("data", self._on_node_data)
        ns.selected.on_change("indices", self._on_node_tap)
        fig.on_event(Tap, self._on_canvas_tap)
        fig.on_event(PanEnd, self._on_drag_end)
        for source in (ss, self.box_source, ds):
            source.selected.on_change("indices", self._element_tap_on(source))
        return fig

    # ------------------------------------------------------------ callbacks
    def _on_node_data(self, attr, old, new):
        if self._syncing:
            return
        xs, ys = new.get("x", []), new.get("y", [])
        nodes = self.store.network.nodes
        if len(xs) != len(nodes):
            return
        # the browser already shows the move: repaint everything but the nodes (echoing node data
        # back while a drag goes on would pull the node back)
        self._own_move = True
        try:
            self.store.move_nodes({n: (float(x), float(y)) for n, x, y in zip(nodes, xs, ys)})
        finally:
            self._own_move = False
        if self.store.snap_to_grid and time.monotonic() - getattr(self, "_released", -10.0) < 1.0:
            self._snap_off_grid()  # the drag's last positions arrived after its end: snap them too

    def _on_drag_end(self, event):
        """On a grid-built circuit a dragged node lands on the nearest grid point when released."""
        store = self.store
        if not store.snap_to_grid:
            return
        self._released = time.monotonic()
        self._snap_off_grid()

    def _snap_off_grid(self):
        store = self.store
        net = store.network
        off = {n: (a["x"], a["y"]) for n in net.nodes if "x" in (a := net.node_attributes(n))
               and snap(a["x"], a["y"]) != (a["x"], a["y"])}
        if off:
            store.move_nodes(off, snap_to_grid=True)  # not an own move: the browser gets the snapped nodes

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
    def paint_data(self):
        """Compute the node and element columns for the current state (no Bokeh involved)."""
        store = self.store
        net = store.network
        key = self._geometry_key()
        if getattr(self, "_geo_key", None) != key:
            self._geo, self._geo_key = element_geometry(net), key
        geo = self._geo
        xy, pi, ni = geo["xy"], geo["pi"], geo["ni"]
        elements = net.elements()  # fresh: a value edit replaces the element (the geometry is cached)
        n_nodes = len(net.nodes)
        readings = store.readings  # solution or step, in node/element order; all NaN while invalid
        v = readings.v
        big = n_nodes > LABEL_LIMIT
        labels_on = store.show_values and not big

        names = [str(n) for n in net.nodes]
        picked = set(map(str, store.picked_nodes))
        if isinstance(store.pending, str):
            picked.add(str(store.pending))
        blamed = set(map(str, store.problem_nodes))
        node = dict(
            x=xy[:, 0], y=xy[:, 1], name=names, v=v,
            label=[f"{n}: {si(x, 'V')}" for n, x in zip(names, v)] if labels_on and readings.valid else
            (names if n_nodes <= 30 else [""] * n_nodes),
            line_color=[PROBLEM if n in blamed else "#e6550d" if n in picked else
                        ("black" if n == "0" else "#404040") for n in names],
            line_width=np.where([n in picked or n in blamed for n in names], 4.0,
                                np.where(np.array(names) == "0", 2.5, 1.0)),
            size=np.full(n_nodes, 7.0 if big else (12.0 if n_nodes > 60 else 18.0)),
        )

        m = len(elements)
        kinds = np.array([e.kind for e in elements], dtype=object)
        values = np.array([e.value for e in elements], dtype=float)
        off = geo["offset"]
        x0, y0 = xy[pi, 0], xy[pi, 1]
        x1, y1 = xy[ni, 0], xy[ni, 1]
        xm, ym = (x0 + x1) / 2 + off[:, 0], (y0 + y1) / 2 + off[:, 1]
        # direction p -> n at the midpoint: along each half of a bent element
        d = np.column_stack([x1 - x0, y1 - y0]) / geo["length"][:, None]
        theta = np.arctan2(d[:, 1], d[:, 0])
        dv, current, power, on = readings.dv, readings.i, readings.power, readings.on
        is_res = kinds == "resistor"
        is_dio = kinds == "diode"

        color = np.array([KIND_COLOR[k] for k in kinds], dtype=object)
        color[is_dio & on] = CONDUCTING
        alpha = np.where(is_dio & ~on, 0.45, 1.0)
        width = np.full(m, 2.0)
        if is_res.any():
            logg = np.log10(values[is_res])
            span = logg.max() - logg.min()
            width[is_res] = 1.5 + (5.5 * (logg - logg.min()) / span if span > 0 else 2.0)
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

        msize = np.array([MARKER_SIZE[k] for k in kinds], dtype=float)
        if big:
            msize *= 0.5
        mfill = np.where(kinds == "vsource", "white", color).astype(object)
        mfill[kinds == "isource"] = "#c7e9c0"

        # current arrows beside the elements: length by |i| (sqrt scale), direction by sign
        unit = geo["unit"]
        imax = float(np.nanmax(np.abs(current), initial=0.0)) if m else 0.0
        mag = np.sqrt(np.abs(np.nan_to_num(current)) / imax) if imax > 0 else np.zeros(m)
        direction = np.sign(np.nan_to_num(current))
        half = np.minimum(0.12 * geo["length"], 0.15 * unit) * mag
        perp = np.column_stack([-d[:, 1], d[:, 0]]) * (0.07 * unit)
        cx, cy = xm + perp[:, 0], ym + perp[:, 1]
        shown = np.flatnonzero((mag > 0.02) & (m <= ARROW_LIMIT))
        ux, uy = direction[shown] * d[shown, 0], direction[shown] * d[shown, 1]  # along the current
        h = np.maximum(half[shown], 0.04 * unit)
        w = 0.16 * h  # half-width of the arrow's base
        tip_x, tip_y = cx[shown] + ux * h, cy[shown] + uy * h
        bx, by = cx[shown] - ux * h, cy[shown] - uy * h
        gap = np.full(len(shown), np.nan)
        self._arrow_data = dict(
            x=np.column_stack([bx - uy * w, bx + uy * w, tip_x, gap]).ravel(),
            y=np.column_stack([by + ux * w, by - ux * w, tip_y, gap]).ravel(),
        )
        self.arrow_names = [elements[k].name for k in shown]

        # numbers travel as numbers; the hover formats them in the browser (SI_JS)
        uval = np.divide(1.0, values, out=values.copy(), where=is_res)
        state = np.where(on, "conducting", "blocking") if readings.valid else np.full(m, "unknown")
        fan = np.hypot(off[:, 0], off[:, 1])
        fanned = fan > 0
        selected = store.selected_element
        blamed = set(store.problem_elements)
        if selected or blamed:
            for k, e in enumerate(elements):
                if e.name == selected:
                    width[k] += 3.0
                if e.name in blamed:
                    color[k], width[k], alpha[k] = PROBLEM, width[k] + 2.0, 1.0
        names = [e.name for e in elements]
        hover = dict(name=names, kind=list(kinds), uval=uval, ulabel=[UNITS[k][0] for k in kinds],
                     uunit=[UNITS[k][1] for k in kinds], dv=dv, i=current, p=power)
        edge = dict(
            x0=x0, y0=y0, x1=x1, y1=y1, xm=xm, ym=ym,
            xa=np.where(fanned, xm, x1), ya=np.where(fanned, ym, y1),
            xb=np.where(fanned, xm, np.nan), yb=np.where(fanned, ym, np.nan),
            pi=pi, ni=ni, ox=off[:, 0], oy=off[:, 1], **hover, color=list(color), alpha=alpha, width=width,
        )

        def rows(where, keys, **columns):
            """Columns ``keys`` (hover or ``columns``, each over all elements) at the rows ``where``."""
            k = np.flatnonzero(where)
            available = {**hover, **columns}
            return {name: k if name == "ei" else
                    ([available[name][j] for j in k] if isinstance(available[name], list) else available[name][k])
                    for name in keys}

        sources = kinds == "vsource"
        symbol = rows(sources | (kinds == "isource"), self._empty_symbols(), xm=xm, ym=ym, color=list(color), alpha=alpha,
                      marker=[MARKER[k] for k in kinds], msize=msize, mfill=list(mfill),
                      plus_x=np.where(sources, xm - d[:, 0] * 0.24 * unit, np.nan),
                      plus_y=np.where(sources, ym - d[:, 1] * 0.24 * unit, np.nan),
                      plus_text=np.where(sources, "+", "").tolist())
        # resistor boxes only on small circuits: each rotated box costs a canvas rotate() per repaint
        box = rows(is_res & (n_nodes <= BOX_LIMIT), self._empty_boxes(), xm=xm, ym=ym, color=list(color), alpha=alpha,
                   rangle=theta)
        # value labels a fixed number of pixels away: opposite the arrow, or outward for a fanned element
        side = np.column_stack([d[:, 1], -d[:, 0]])
        side[fanned] = off[fanned] / fan[fanned, None]
        text = ([f"{e.name} {si(uval[k], UNITS[e.kind][1])}\n{si(current[k], 'A')}"
                 for k, e in enumerate(elements)] if labels_on else [""] * m)
        labels = rows(np.full(m, labels_on), self._empty_labels(), xm=xm, ym=ym, lox=side[:, 0] * 30.0,
                      loy=side[:, 1] * 22.0, label=text)
        # diode symbols, sized with the drawing (data units), at the element's midpoint
        kd = np.flatnonzero(is_dio)
        size = np.minimum((0.05 if big else 0.09) * unit, 0.15 * geo["length"][kd])
        tip_x, tip_y = xm[kd] + d[kd, 0] * size, ym[kd] + d[kd, 1] * size
        base_x, base_y = xm[kd] - d[kd, 0] * size, ym[kd] - d[kd, 1] * size
        px, py = -d[kd, 1] * size, d[kd, 0] * size  # half-width of the triangle
        diode = dict(
            xs=np.column_stack([base_x + px, base_x - px, tip_x]).tolist(),
            ys=np.column_stack([base_y + py, base_y - py, tip_y]).tolist(),
            bx0=tip_x + px, by0=tip_y + py, bx1=tip_x - px, by1=tip_y - py,
            color=[color[k] for k in kd], alpha=alpha[kd],
            name=[elements[k].name for k in kd], kind=["diode"] * len(kd),
            uval=uval[kd], dv=dv[kd], i=current[kd], p=power[kd], state=state[kd].tolist(),
        )
        finite = v[np.isfinite(v)]
        lo_v, hi_v = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi_v - lo_v < 1e-12:
            lo_v, hi_v = lo_v - 1.0, hi_v + 1.0
        columns = dict(node=node, edge=edge, diode=diode, symbol=symbol, box=box, label=labels)
        return columns, (lo_v, hi_v)

    # Columns that only change with the circuit's structure or layout: a value edit leaves them out
    # of the message to the browser.
    HOVER_STATIC = {"name", "kind", "ulabel", "uunit"}
    STATIC = {
        "node": {"x", "y", "name", "size"},
        "edge": {"x0", "y0", "x1", "y1", "xm", "ym", "xa", "ya", "xb", "yb", "pi", "ni", "ox", "oy",
                 *HOVER_STATIC},
        "diode": {"xs", "ys", "bx0", "by0", "bx1", "by1", "name", "kind"},
        "symbol": {"ei", "xm", "ym", "marker", "msize", "plus_x", "plus_y", "plus_text", *HOVER_STATIC},
        "box": {"ei", "xm", "ym", "rangle", *HOVER_STATIC},
        "label": {"ei", "xm", "ym", "lox", "loy"},
    }

    def _sources(self):
        # nodes last: their change runs _DRAG_JS, which must see the new elements' rows
        return dict(edge=self.edge_source, diode=self.diode_source, symbol=self.symbol_source,
                    box=self.box_source, label=self.label_source, node=self.node_source)

    def _geometry_key(self):
        net = self.store.network
        return (id(net), net._structure_version, self.store.layout_version, len(net.nodes))

    def _repaint(self, *events):
        columns, (lo, hi) = self.paint_data()
        n_nodes = len(columns["node"]["x"])
        labels_on = self.store.show_values and n_nodes <= LABEL_LIMIT
        names_on = labels_on or n_nodes <= 30
        # an empty annotation still costs a little on every repaint; hidden ones cost nothing
        for item, shown in ((self.node_labels, names_on), (self.element_labels, labels_on),
                            (self.box_renderer, n_nodes <= BOX_LIMIT)):
            if item.visible != shown:
                item.visible = shown
        key = self._geometry_key()
        partial = key == getattr(self, "_last_key", None)
        self._last_key = key
        if not partial:
            gx, gy = grid_points(self._geo["xy"]) \
                if self.grid and n_nodes <= GRID_LIMIT else (np.zeros(0), np.zeros(0))
            self.grid_source.data = dict(x=gx, y=gy)
        self._syncing = True
        try:
            with pn.io.hold():  # one message to the browser
                self.mapper.update(low=lo, high=hi)
                mode = self.store.color_by
                self.colorbar.visible = mode == "potential"
                self.power_colorbar.visible = mode == "power"
                self.update_colorbar.visible = mode == "update"
                for kind, source in self._sources().items():
                    data = columns[kind]
                    if kind == "node" and self._own_move and not partial:
                        # the browser already shows the move (echoing it would pull the node back)
                        self._sent[kind] = dict(data)
                        continue
                    if source.selected.indices and (kind != "node" or not partial):
                        source.selected.indices = []  # (a node's selection carries a drag)
                    sent = self._sent.get(kind) if partial else None
                    if sent is None or len(next(iter(sent.values()), [])) != len(next(iter(data.values()), [])):
                        source.data = data
                        self._sent[kind] = dict(data)
                        continue
                    # send only the columns whose values changed (a value edit moves few of them)
                    changed = {k: v for k, v in data.items()
                               if k not in self.STATIC[kind] and not _same(sent.get(k), v)}
                    if changed:
                        source.data.update(changed)
                        sent.update(changed)
                self.arrow_source.data = self._arrow_data
        finally:
            self._syncing = False

    def __panel__(self):
        return self.pane
