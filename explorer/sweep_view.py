"""The Sweep tab: exact transfer curves of the circuit, and I-V characteristics between two nodes.

A source is swept exactly (:func:`solver.sweep`): each segment of a curve is
coloured by the set of conducting diodes, every breakpoint is marked and
labelled with the diode that switches there. A resistor is swept by samples.
Hovering shows the exact values; tapping the plot sets the swept element to
that value on the circuit. The table exports as CSV; the plot's save tool
exports PNG.
"""

from __future__ import annotations

import html
import io

import numpy as np
import panel as pn
import param
from bokeh.events import Tap
from bokeh.models import ColumnDataSource, HoverTool, LabelSet, Span
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from solver import GROUND, NetworkError, SweepInfeasibleError, sweep

from .page import wrapping_row
from .state import CircuitStore
from .units import si, user_value

__all__ = ["SweepView", "feasible_sweep", "iv_characteristic"]

TEST_SOURCE = "Vtest"
HOVER_POINTS = 400


def feasible_sweep(net, name, start, stop, anchor):
    """The exact sweep of source ``name`` over [start, stop], cut to where the network has a steady state.

    ``anchor`` is a value inside the range where it has one (the present
    value): the sweep goes out from it both ways, and where it stops the
    ends are reported. Returns ``(sweep, notes)``.
    """
    lo, hi = sorted((start, stop))
    if not lo <= anchor <= hi:
        return sweep(net, name, start, stop), []
    ends, notes = [], []
    for end in (lo, hi):
        try:
            ends.append(sweep(net, name, anchor, end).stop)
        except SweepInfeasibleError as e:
            ends.append(e.value)
            notes.append(f"no steady state beyond {name} = {e.value:.6g}")
    result = sweep(net, name, ends[0], ends[1]) if ends[0] < ends[1] else sweep(net, name, anchor, anchor)
    return result, notes


def iv_characteristic(net, a, b, start, stop, anchor=0.0):
    """Exact I-V curve of the part of ``net`` seen between nodes ``a`` and ``b``.

    Inserts a test voltage source from ``a`` to ``b`` in a copy of the network
    and sweeps it (from ``anchor``, best the open-circuit voltage, outwards);
    the current into ``a`` (through the part, back out of ``b``) is minus
    the test source's current. Returns ``(sweep, source name, notes)``.
    """
    work = net.copy()
    name = TEST_SOURCE
    while name in work:
        name += "_"
    work.add_voltage_source(a, b, anchor, name=name)
    result, notes = feasible_sweep(work, name, start, stop, anchor)
    return result, name, notes


class SweepView(pn.viewable.Viewer):
    """Sweep a source or a resistor of the store's circuit and plot the chosen quantities."""

    store = param.ClassSelector(class_=CircuitStore)

    def __init__(self, **params):
        super().__init__(**params)
        self.element = pn.widgets.Select(name="Sweep element", css_classes=["sweep-element"], width=160)
        self.start = pn.widgets.FloatInput(name="From", value=-5.0, css_classes=["sweep-start"], width=100)
        self.stop = pn.widgets.FloatInput(name="To", value=5.0, css_classes=["sweep-stop"], width=100)
        self.quantities = pn.widgets.MultiSelect(name="Plot", css_classes=["sweep-quantities"], width=220, size=5)
        self.run_button = pn.widgets.Button(name="Sweep", button_type="primary", css_classes=["sweep-run"])
        self.iv_button = pn.widgets.Button(name="I-V of the two picked nodes", css_classes=["sweep-iv"],
                                           description="Tap two nodes on the circuit, then sweep a test "
                                           "voltage source between them.")
        self.download = pn.widgets.FileDownload(callback=self._csv, filename="sweep.csv", label="Export CSV",
                                                css_classes=["sweep-csv"], width=140)
        self.info = pn.pane.HTML("", css_classes=["sweep-info"], sizing_mode="stretch_width")
        self.segments = ColumnDataSource(dict(xs=[], ys=[], color=[], on=[]), name="sweep-segments")
        self.samples = ColumnDataSource(dict(x=[], y=[], q=[], on=[]), name="sweep-samples")
        self.marks = ColumnDataSource(dict(x=[], y=[], label=[]), name="sweep-breakpoints")
        self.ends = ColumnDataSource(dict(x=[], y=[], label=[]), name="sweep-curve-names")
        self.figure = self._make_figure()
        self.result = None  # (Sweep or SampledSweep, swept element, what the x axis is)
        self.element.param.watch(self._on_element, "value")
        self.run_button.on_click(lambda e: self.run())
        self.iv_button.on_click(lambda e: self.run_iv())
        # element and node names change only with a new network object (edits replace it), so value
        # changes such as slider drags cost this view nothing
        self.store.param.watch(self._on_network, "network")
        self._on_network()

    # ------------------------------------------------------------------ widgets
    def _make_figure(self):
        fig = figure(height=420, sizing_mode="stretch_width", tools="pan,wheel_zoom,box_zoom,reset,save,tap",
                     title="Transfer curve", name="sweep-figure")
        fig.multi_line("xs", "ys", source=self.segments, color="color", line_width=3)
        hover = fig.scatter("x", "y", source=self.samples, size=6, alpha=0.0)
        fig.add_tools(HoverTool(renderers=[hover], tooltips=[("", "@q"), ("x", "@x{0.000000}"),
                                                             ("value", "@y{0.000000}"), ("conducting", "@on")]))
        fig.scatter("x", "y", source=self.marks, size=9, color="black", marker="diamond")
        fig.add_layout(LabelSet(x="x", y="y", text="label", source=self.marks, x_offset=6, y_offset=6,
                                text_font_size="11px"))
        fig.add_layout(LabelSet(x="x", y="y", text="label", source=self.ends, x_offset=-8, y_offset=4,
                                text_align="right", text_font_size="11px", text_font_style="bold"))
        fig.on_event(Tap, self._on_tap)
        return fig

    def _on_network(self, *events):
        net = self.store.network
        options = [e.name for e in net.elements() if e.kind in ("vsource", "isource", "resistor")]
        current = self.element.value
        self.element.options = options
        if current not in options:
            self.element.value = options[0] if options else None
        names = [f"v({n})" for n in net.nodes if n != GROUND] + [f"i({e.name})" for e in net.elements()]
        chosen = [q for q in self.quantities.value if q in names]
        self.quantities.options = names
        self.quantities.value = chosen or [q for q in names if q.startswith("v(")][:3]

    def _on_element(self, event):
        if not event.new:
            return
        e = self.store.network.element(event.new)
        value = user_value(e)
        if e.kind == "resistor":
            self.start.value, self.stop.value = value / 10.0, value * 10.0
        else:
            span = 1.5 * max(abs(value), 1.0 if e.kind == "vsource" else 1e-3)
            self.start.value, self.stop.value = -span, span

    # ------------------------------------------------------------------ sweeps
    def run(self):
        """Sweep the chosen element over [From, To] and plot the chosen quantities."""
        name = self.element.value
        if not name:
            return self._error("the circuit has no source or resistor to sweep")
        net = self.store.network
        notes = []
        try:
            e = net.element(name)
            if e.kind == "resistor":
                result = sweep(net, name, values=np.linspace(self.start.value, self.stop.value, 201))
            else:
                result, notes = feasible_sweep(net, name, self.start.value, self.stop.value, e.value)
        except (NetworkError, ValueError, TypeError) as err:
            return self._error(str(err))
        self.result = (result, name, name)
        self._draw(result, self.quantities.value, notes=notes)

    def run_iv(self):
        """The I-V characteristic between the two nodes picked on the circuit."""
        picked = list(self.store.picked_nodes)
        if len(picked) != 2:
            return self._error("tap two nodes on the circuit first (they become the I-V terminals)")
        a, b = picked
        sol = self.store.solution
        open_circuit = sol.voltages[a] - sol.voltages[b] if sol is not None else 0.0
        try:
            result, name, notes = iv_characteristic(self.store.network, a, b, self.start.value,
                                                    self.stop.value, open_circuit)
        except (NetworkError, ValueError) as e:
            return self._error(f"I-V between {a} and {b}: {e}")
        self.result = (result, name, f"v({a}) - v({b})")
        self._draw(result, [f"-i({name})"], label=f"I into {a} (A)", notes=notes)

    def _error(self, message):
        self.info.object = f'<span data-sweep-error="1" style="color:#a50f15">⚠ {html.escape(message)}</span>'
        return False

    def _series(self, result, quantity, x):
        """Values of ``v(node)``, ``i(element)`` or ``-i(element)`` at x."""
        sign = -1.0 if quantity.startswith("-") else 1.0
        quantity = quantity.lstrip("-")
        inner = quantity[2:-1]
        exact = hasattr(result, "segments")
        if quantity.startswith("v("):
            return result.voltage(inner, x) if exact else result.voltage(inner)
        return sign * (result.current(inner, x) if exact else result.current(inner))

    def _draw(self, result, quantities, label=None, notes=()):
        exact = hasattr(result, "segments")
        sets = sorted({seg.conducting for seg in result.segments}) if exact else []
        color = {s: Category10_10[k % 10] for k, s in enumerate(sets)}
        xs, ys, colors, ons = [], [], [], []
        hx, hy, hq, hon = [], [], [], []
        if exact:
            lo, hi = sorted((result.start, result.stop))
            dense = np.union1d(np.linspace(lo, hi, HOVER_POINTS), result.anchor_values)
        else:
            dense = result.values
        for q in quantities:
            y = self._series(result, q, dense)
            name = label or q
            if exact:
                for seg in result.segments:
                    a, b = sorted((seg.start, seg.stop))
                    inside = result.anchor_values[(result.anchor_values >= a) & (result.anchor_values <= b)]
                    x = np.union1d([a, b], inside)
                    xs.append(x.tolist())
                    ys.append(self._series(result, q, x).tolist())
                    colors.append(color[seg.conducting])
                    ons.append(", ".join(seg.conducting) or "none")
                hon += [", ".join(result.conducting(x)) or "none" for x in dense]
            else:
                xs.append(dense.tolist())
                ys.append(np.asarray(y).tolist())
                colors.append("#08519c")
                ons.append("")
                hon += [", ".join(c) or "none" for c in result.conducting]
            hx += dense.tolist()
            hy += np.asarray(y).tolist()
            hq += [name] * dense.size
        self.segments.data = dict(xs=xs, ys=ys, color=colors, on=ons)
        self.samples.data = dict(x=hx, y=hy, q=hq, on=hon)
        mx, my, ml = [], [], []
        for b in result.breakpoints:
            for k, q in enumerate(quantities):
                mx.append(b.value)
                my.append(float(self._series(result, q, b.value)))
                ml.append(b.label if k == 0 else "")
        self.marks.data = dict(x=mx, y=my, label=ml)
        end = float(dense[-1])
        self.ends.data = dict(x=[end] * len(quantities), label=[label or q for q in quantities],
                              y=[float(np.asarray(self._series(result, q, dense))[-1]) for q in quantities])
        self.figure.renderers = [r for r in self.figure.renderers if not isinstance(r, Span)]
        self.figure.center = [c for c in self.figure.center if not isinstance(c, Span)]
        for b in result.breakpoints:
            self.figure.add_layout(Span(location=b.value, dimension="height", line_dash="dashed",
                                        line_color="#999999"))
        x_label = self.result[2]
        self.figure.xaxis.axis_label = x_label
        self.figure.yaxis.axis_label = label or ", ".join(quantities)
        self.figure.title.text = f"Transfer curve along {x_label}" if exact else f"{x_label} sampled"
        self._describe(result, color, notes)

    def _describe(self, result, color, notes=()):
        rows = []
        for b in result.breakpoints:
            rows.append(f'<tr class="breakpoint" data-value="{b.value!r}" data-label="{html.escape(b.label)}">'
                        f"<td>{b.value:.6g}</td><td>{html.escape(b.label)}</td></tr>")
        legend = "".join(
            f'<span style="color:{c};font-weight:bold">━</span> {html.escape(", ".join(s) or "none")} &nbsp; '
            for s, c in color.items())
        count = len(result.breakpoints)
        head = (f'<div data-sweep-done="1" data-breakpoints="{count}">{count} breakpoint{"s" * (count != 1)}'
                + (f" · conducting: {legend}" if legend else "") + "</div>")
        table = f'<table class="sweep-breakpoints"><tr><th>value</th><th>switches</th></tr>{"".join(rows)}</table>'
        warn = "".join(f'<div data-sweep-note="1" style="color:#a50f15">{html.escape(n)}</div>' for n in notes)
        self.info.object = head + warn + (table if rows else "")

    # ------------------------------------------------------------------ actions
    def _on_tap(self, event):
        if event.x is not None:
            self.apply(float(event.x))

    def apply(self, x):
        """Set the swept element to ``x`` on the circuit (the I-V test source is not part of it)."""
        if self.result is None:
            return False
        name = self.result[1]
        if name not in self.store.network or name == TEST_SOURCE:
            return False
        unit = {"vsource": "V", "isource": "A", "resistor": "Ω"}[self.store.network.element(name).kind]
        done = self.store.set_element_value(name, x)
        if done:
            self.info.object = (self.info.object.split('<div data-applied')[0]
                                + f'<div data-applied="{x!r}">circuit set to {name} = {si(x, unit)}</div>')
        return done

    def _csv(self):
        if self.result is None:
            return io.StringIO("")
        return io.StringIO(self.result[0].to_csv())

    def __panel__(self):
        # rows that wrap: the four fields and three buttons are wider than a 1024 px window's main column
        controls = wrapping_row(self.element, self.start, self.stop, self.quantities, align_items="flex-start")
        buttons = wrapping_row(self.run_button, self.iv_button, self.download)
        return pn.Column(controls, buttons, self.info, self.figure, sizing_mode="stretch_width")
