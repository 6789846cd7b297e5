"""Side panels of the explorer: editor, status line, readouts, files, convergence and step mode.

Each is a :class:`panel.viewable.Viewer` that receives the shared
:class:`~explorer.state.CircuitStore` and only talks to it.
"""

from __future__ import annotations

import html
import json
import io as _io

import numpy as np
import panel as pn
import param
from bokeh.models import (AdaptiveTicker, ColumnDataSource, CustomJSTickFormatter, Legend, LegendItem,
                          Line, Scatter)
from bokeh.plotting import figure
from panel.reactive import ReactiveHTML

from solver import NetworkError

from . import gallery
from . import io as circuit_io
from .editing import SHORTCUTS
from .page import MIN_CONTROL_WIDTH, WRAPPING_BUTTON_GROUP, wrapping_row
from .lean_updates import LeanHTML, LeanTextInput
from .responsive import _ImmediateFloatSlider
from .server import open_upload
from .state import BIG_NETWORK, DEFAULT_VALUES, NEW_NODE, CircuitStore, _wired
from .stepper import CDStepper
from .units import UNITS, QuantityError, log_slider_range, parse_quantity, si, user_value

__all__ = ["ConvergenceView", "EditorPanel", "FilesPanel", "KeyboardShortcuts", "PalettePanel", "QuantityInput",
           "ReadoutPanel", "StatusBar"]

KIND_LABELS = {"resistor": "Resistor", "diode": "Diode", "vsource": "Voltage source", "isource": "Current source"}

# The resistance slider moves log10(R); its label shows R itself.
LOG_OHMS_JS = """
const r = Math.pow(10, tick);
const p = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"], [1, ""], [1e-3, "m"]];
for (const [s, name] of p) { if (r >= s * 0.99995) return Number((r / s).toPrecision(4)) + " " + name + "Ω"; }
return Number(r.toPrecision(4)) + " Ω";
"""


def four_digits(value):
    """``value`` rounded to 4 significant digits (what a slider writes: never -4.800000000000001)."""
    return float(f"{value:.4g}")


class QuantityInput(pn.viewable.Viewer):
    """A text field read by :func:`~explorer.units.parse_quantity`; unreadable text is refused at the field.

    ``on_value(number)`` is called with each readable entry and returns False
    when the number itself is refused (then ``reason`` is shown too); the
    field keeps showing the last accepted value.
    """

    unit = param.String(default="")
    value = param.Number(default=0.0, doc="The last accepted value.")
    message = param.String(default="", doc="Why the last entry was refused; empty when it was accepted.")

    def __init__(self, on_value=None, reason=None, name="", css_class="quantity", **params):
        super().__init__(**params)
        self._on_value = on_value
        self._reason = reason or (lambda: "")
        self.input = LeanTextInput(name=name, value=si(self.value, self.unit), css_classes=[css_class],
                                   sizing_mode="stretch_width", min_width=MIN_CONTROL_WIDTH,
                                   description="Type a value such as 4.7k, 4.7 kΩ, 10 mA or 700m; "
                                   "prefixes f p n u µ m k meg M G T. Enter applies it.")
        self.feedback = pn.pane.HTML("", visible=False, css_classes=[f"{css_class}-error"], margin=(0, 10),
                                     styles={"color": "#a50f15", "font-size": "12px"})
        self.input.param.watch(self._entered, "value")

    def show(self, value, unit=None, name=None):
        """Display ``value`` (after a change elsewhere) and clear any refusal."""
        self.unit = self.unit if unit is None else unit
        self.value = value
        if name is not None:
            self.input.name = name
        self._set_text(si(value, self.unit))
        self._set_message("")

    def _set_text(self, text):
        self._quiet = True
        try:
            self.input.value = text
        finally:
            self._quiet = False

    def _set_message(self, text):
        self.message = text
        self.feedback.object = f'<span data-refused="1">⚠ {html.escape(text)}</span>' if text else ""
        self.feedback.visible = bool(text)

    def _entered(self, event):
        if getattr(self, "_quiet", False):
            return
        try:
            number = parse_quantity(event.new, self.unit)
        except QuantityError as e:
            self._set_message(str(e))
            return
        if self._on_value is not None and self._on_value(number) is False:
            self._set_message(self._reason() or f"{event.new!r} was refused")
            self._set_text(si(self.value, self.unit))
            return
        self.value = number
        self._set_message("")
        self._set_text(si(number, self.unit))

    def __panel__(self):
        return pn.Column(self.input, self.feedback, sizing_mode="stretch_width", margin=0)


#: Longest list a drop-down of elements or nodes shows; a larger circuit lists its first ones and
#: those in use (tap the circuit for the others). Bokeh checks every option of a list it is sent,
#: so 4,000 elements cost a third of a second of the server's loop on every structural change.
LISTED_LIMIT = 300


def _listed(items, keep):
    """``items`` if short, else the first :data:`LISTED_LIMIT` of them and those of ``keep`` that are in ``items``."""
    if len(items) <= LISTED_LIMIT:
        return list(items)
    listed = list(items[:LISTED_LIMIT])
    head = set(listed)
    present = set(items)
    for item in keep:
        if item in present and item not in head:
            listed.append(item)
            head.add(item)
    return listed


def _tip(text):
    return pn.widgets.TooltipIcon(value=text, margin=(12, 0, 0, -6))


class StatusBar(pn.viewable.Viewer):
    """Solve time, sweeps and KKT residuals; the solver's error when an edit failed."""

    store = param.ClassSelector(class_=CircuitStore)

    def __init__(self, **params):
        super().__init__(**params)
        # a minimum height: new text of one or two lines then does not make the browser lay the page
        # out again; on a narrow window the line may take three (never cut)
        self.status = LeanHTML("", sizing_mode="stretch_width", min_height=40, css_classes=["solve-status"],
                               styles={"font-size": "13px", "color": "#333"})
        self.alert = pn.pane.HTML("", visible=False, sizing_mode="stretch_width", css_classes=["solve-error"],
                                  styles={"background": "#fde0dc", "color": "#a50f15", "border-radius": "4px",
                                          "border": "1px solid #f4a6a0", "padding": "2px 10px"})
        self.store.param.watch(self._update, ["version", "preview", "problem"])
        self._update()

    def _update(self, *events):
        s = self.store
        text = html.escape(s.status)
        if s.preview is not None:
            text = "<b>step mode</b> · " + html.escape(s.preview.get("label", ""))
        elif s.stale:
            text += " · <b>no values shown</b> until the circuit solves again (fix or undo the last edit)"
        self.status.object = f'<span data-status="1">{text}</span>'
        lines = [s.error] if s.error else []
        if s.problem and s.problem != s.error:  # a refused edit on top of a circuit that does not solve
            lines.append(f"the circuit still does not solve: {s.problem}")
        blamed = [*map(str, s.problem_elements), *map(str, s.problem_nodes)]
        if s.problem and blamed:
            lines.append("highlighted in red: " + ", ".join(blamed[:12]))
        self.alert.object = ('<span data-error="1">⚠ ' + "<br>".join(map(html.escape, lines)) + "</span>"
                             if lines else "")
        self.alert.visible = bool(lines)

    def __panel__(self):
        return pn.Column(self.alert, self.status, sizing_mode="stretch_width", margin=0)


class ReadoutPanel(pn.viewable.Viewer):
    """Node voltages (the first ``limit`` nodes, or the picked ones) and the selected element."""

    store = param.ClassSelector(class_=CircuitStore)
    limit = param.Integer(default=24)

    def __init__(self, **params):
        super().__init__(**params)
        self.table = LeanHTML("", width=260, height=560, css_classes=["node-voltages"],
                              styles={"overflow-y": "auto"})
        self.store.param.watch(self._update, ["version", "preview", "picked_nodes", "selected_node",
                                              "selected_element"])
        self._update()

    def _update(self, *events):
        s = self.store
        v = s.voltages()
        nodes = s.network.nodes
        rows = []
        show = list(range(min(len(nodes), self.limit)))
        index = {n: k for k, n in enumerate(nodes)}
        for picked in s.picked_nodes:
            k = index.get(picked)
            if k is not None and k not in show:
                show.append(k)
        for k in show:
            name = html.escape(str(nodes[k]))
            value = v[k]
            raw = "nan" if not np.isfinite(value) else repr(float(value))
            rows.append(f'<tr><td>{name}</td><td class="volt" data-node="{name}" data-volts="{raw}">'
                        f"{html.escape(si(value, 'V', 6))}</td></tr>")
        more = len(nodes) - len(show)
        extra = f"<div style='color:#777'>… {more} more nodes (tap one to show it)</div>" if more > 0 else ""
        element = ""
        if s.selected_element and s.selected_element in s.network:
            info = s.describe_element(s.selected_element)
            parts = [f"<b>{html.escape(info['name'])}</b> ({info['kind']}, {html.escape(str(info['p']))} → "
                     f"{html.escape(str(info['n']))}): {html.escape(info['value_text'])}"]
            if "current" in info:
                parts.append(f"voltage across {si(info['voltage'], 'V', 4)}, current "
                             f"{si(info['current'], 'A', 4)}, power {si(info['power'], 'W', 4)}"
                             + (f", {info['state']}" if "state" in info else ""))
            element = "<div class='element-info' style='margin-top:6px'>" + "<br>".join(parts) + "</div>"
        self.table.object = (
            "<table style='font-size:12px;border-collapse:collapse'>"
            "<tr><th style='text-align:left'>node</th><th style='text-align:left'>potential</th></tr>"
            + "".join(rows) + "</table>" + extra + element
        )

    def __panel__(self):
        return pn.Column("#### Node voltages", self.table, sizing_mode="stretch_width")


class EditorPanel(pn.viewable.Viewer):
    """Edit values, rename, remove, add elements and nodes, undo and redo."""

    store = param.ClassSelector(class_=CircuitStore)

    def __init__(self, **params):
        super().__init__(**params)
        s = self.store
        self._syncing = False
        self.element_select = pn.widgets.Select(min_width=MIN_CONTROL_WIDTH,
            name="Element", options=[], css_classes=["element-select"], description="The element whose value the slider edits "
            "(or tap an element on the circuit).", sizing_mode="stretch_width")
        # resistances slide on a log scale (value = log10 R); the text field takes typed values
        self.value_slider = _ImmediateFloatSlider(
            name="Value", start=0.0, end=1.0, step=0.01, value=0.0, sizing_mode="stretch_width",
            css_classes=["value-slider"])
        self.value_field = QuantityInput(on_value=self._set_from_field, reason=lambda: self.store.error,
                                         name="Value", css_class="value-input")
        self.rename_input = pn.widgets.TextInput(name="New name", placeholder="e.g. Rload",
                                                 min_width=MIN_CONTROL_WIDTH,
                                                 description="Type a new name for the element, then press Rename.",
                                                 sizing_mode="stretch_width")
        self.rename_button = pn.widgets.Button(name="Rename", description="Rename the selected element.")
        self.remove_button = pn.widgets.Button(name="Remove element", button_type="warning",
                                               description="Delete the selected element (undoable).")
        self.kind_select = pn.widgets.Select(name="New element", options={v: k for k, v in KIND_LABELS.items()},
                                             sizing_mode="stretch_width", min_width=MIN_CONTROL_WIDTH,
                                             value="resistor", description="Kind of element to add.")
        self.from_select = pn.widgets.Select(name="From (p / anode / +)", options=[],
                                             min_width=MIN_CONTROL_WIDTH + 20,  # its label's width
                                             sizing_mode="stretch_width",
                                             description="First terminal: tap a node, or pick one here.")
        self.to_select = pn.widgets.Select(name="To (n / cathode / −)", options=[],
                                           min_width=MIN_CONTROL_WIDTH + 20,  # its label's width
                                           sizing_mode="stretch_width",
                                           description="Second terminal: tap a second node, or pick one here.")
        self.new_value = QuantityInput(name="Resistance (Ω)", value=DEFAULT_VALUES["resistor"], unit="Ω",
                                       css_class="new-value")
        self.add_button = pn.widgets.Button(name="Add element", button_type="primary",
                                            description="Add the element between the two nodes and re-solve.")
        self.add_node_button = pn.widgets.Button(name="Add node", description="Add an unwired node "
                                                 "(it joins the solve once an element touches it).")
        self.remove_node_button = pn.widgets.Button(name="Remove node", button_type="warning",
                                                    description="Remove the picked node and its elements.")
        self.undo_button = pn.widgets.Button(name="↶ Undo", description="Undo the last edit.", disabled=True)
        self.redo_button = pn.widgets.Button(name="↷ Redo", description="Redo the edit just undone.",
                                             disabled=True)
        self.layout_button = pn.widgets.Button(name="Auto layout", description="Forget node positions and "
                                               "lay the circuit out automatically.")

        self.element_select.param.watch(self._on_select, "value")
        self._slider_watcher = None
        self._bind_slider()
        self.rename_button.on_click(lambda e: self._rename())
        self.remove_button.on_click(lambda e: s.remove_element(self.element_select.value)
                                    if self.element_select.value else None)
        self.kind_select.param.watch(self._on_kind, "value")
        self.add_button.on_click(lambda e: self._add())
        self.add_node_button.on_click(lambda e: s.add_node())
        self.remove_node_button.on_click(lambda e: s.remove_node(s.selected_node) if s.selected_node else None)
        self.undo_button.on_click(lambda e: s.undo())
        self.redo_button.on_click(lambda e: s.redo())
        self.layout_button.on_click(lambda e: s.relayout())
        s.param.watch(self._sync, ["version", "selected_element", "picked_nodes"])
        self._sync()

    def _bind_slider(self):
        if self._slider_watcher is not None:
            self.value_slider.param.unwatch(self._slider_watcher)
        # big circuits re-solve on release only, so dragging stays smooth
        event = "value_throttled" if len(self.store.network.nodes) > BIG_NETWORK else "value"
        self._slider_event = event
        self._slider_watcher = self.value_slider.param.watch(self._on_value, event)

    # ------------------------------------------------------------ handlers
    def _on_select(self, event):
        if not self._syncing and event.new:
            self.store.select_element(event.new)

    def _on_value(self, event):
        if self._syncing:
            return
        name = self.element_select.value
        if not name:
            return
        kind = self.store.network.element(name).kind
        value = four_digits(10.0 ** event.new if kind == "resistor" else event.new)
        with pn.io.hold():  # one message to the browser for the whole repaint
            ok = self.store.set_element_value(name, value, merge=True)
        if not ok:  # put the widget back on the value the circuit really has
            self._sync_slider(force=True)

    def _set_from_field(self, value):
        name = self.element_select.value
        if not name or name not in self.store.network:
            return False
        with pn.io.hold():
            return self.store.set_element_value(name, value)

    def _on_kind(self, event):
        label, unit = UNITS[event.new]
        self.new_value.show(DEFAULT_VALUES[event.new], unit, f"{label.capitalize()} ({unit})")

    def _rename(self):
        old, new = self.element_select.value, self.rename_input.value.strip()
        if old and new and self.store.rename_element(old, new):
            self.rename_input.value = ""

    def _add(self):
        self.store.add_element(self.kind_select.value, self.from_select.value, self.to_select.value,
                               self.new_value.value)

    # --------------------------------------------------------------- sync
    def _sync(self, *events):
        s = self.store
        self._syncing = True
        try:
            names = [e.name for e in s.network.elements()]
            listed = _listed(names, [s.selected_element, self.element_select.value])
            if list(self.element_select.options) != listed:
                self.element_select.options = listed
            if s.selected_element in s.network:
                self.element_select.value = s.selected_element
            elif names and self.element_select.value not in names:
                self.element_select.value = names[0]
            keep = [*s.picked_nodes, self.from_select.value, self.to_select.value]
            options = {str(n): n for n in _listed(s.network.nodes, keep)}
            options[NEW_NODE] = NEW_NODE
            if self.from_select.options != options:
                self.from_select.options = options
                self.to_select.options = dict(options)
            options = list(options.values())
            picked = [p for p in s.picked_nodes if p in options]
            if picked:
                self.from_select.value = picked[0] if len(picked) == 2 else picked[-1]
                self.to_select.value = picked[1] if len(picked) == 2 else (
                    self.to_select.value if self.to_select.value in options else NEW_NODE)
            if self.to_select.value not in options:
                self.to_select.value = NEW_NODE
            if self.from_select.value not in options:
                self.from_select.value = options[0]
            self.undo_button.disabled = not s.can_undo
            self.redo_button.disabled = not s.can_redo
            self.remove_node_button.disabled = s.selected_node in ("", None, "0")
        finally:
            self._syncing = False
        self._sync_slider()
        if self._slider_event != ("value_throttled" if len(s.network.nodes) > BIG_NETWORK else "value"):
            self._bind_slider()

    def _sync_slider(self, force=False):
        s = self.store
        name = self.element_select.value
        self._syncing = True
        try:
            if not name or name not in s.network:
                self.value_slider.disabled = True
                self.value_slider.name = "Value"
                return
            e = s.network.element(name)
            label, unit = UNITS[e.kind]
            value = user_value(e)
            title = f"{name} {label} ({unit})"
            position = np.log10(value) if e.kind == "resistor" else value
            if self.value_field.value != value or self.value_field.input.name != title or force:
                self.value_field.show(value, unit, title)
            if force or self.value_slider.name != title or not (
                    self.value_slider.start <= position <= self.value_slider.end):
                if e.kind == "resistor":
                    start, end = log_slider_range(value)
                    step, fmt = 0.01, CustomJSTickFormatter(code=LOG_OHMS_JS)
                else:
                    if e.kind == "diode":
                        start, end = 0.0, max(2.0 * value, 2.0)
                    else:
                        span = max(2.0 * abs(value), 1e-3 if e.kind == "isource" else 1.0)
                        start, end = -span, span
                    step, fmt = float(f"{(end - start) / 200:.1g}"), "0[.][0000]"
                self.value_slider.param.update(name=title, start=start, end=end, step=step, format=fmt,
                                               value=float(position), disabled=False)
            elif abs(self.value_slider.value - position) > 1e-9 * max(abs(position), 1e-300):
                self.value_slider.value = float(position)
        finally:
            self._syncing = False

    def __panel__(self):
        slider_help = _tip("Type the selected element's value (4.7k, 10 mA...) or drag; the circuit "
                           "re-solves at once. Resistances slide on a log scale; they must be positive, "
                           "diode thresholds >= 0.")
        return pn.Column(
            "#### Edit",
            self.element_select,
            self.value_field,
            pn.Row(self.value_slider, slider_help, sizing_mode="stretch_width"),
            pn.Row(self.rename_input, self.rename_button, sizing_mode="stretch_width"),
            wrapping_row(self.remove_button, self.undo_button, self.redo_button),
            "#### Build",
            self.kind_select,
            wrapping_row(self.from_select, self.to_select),
            wrapping_row(self.new_value, self.add_button),
            wrapping_row(self.add_node_button, self.remove_node_button, self.layout_button),
            sizing_mode="stretch_width",
        )


class DisplayPanel(pn.viewable.Viewer):
    """Display options: values on the circuit, colour by potential or power."""

    store = param.ClassSelector(class_=CircuitStore)

    def __init__(self, **params):
        super().__init__(**params)
        self.values_toggle = pn.widgets.Checkbox.from_param(self.store.param.show_values,
                                                            name="Write values on the circuit")
        self.color_select = pn.widgets.RadioButtonGroup.from_param(
            self.store.param.color_by, name="Colour by", options={"Potential": "potential", "Power": "power"},
            description="Colour nodes by potential, or elements by the power they dissipate.")

    def __panel__(self):
        return pn.Column(
            pn.Row(self.values_toggle, _tip("Show node voltages and element values and currents "
                                            "as text on the drawing (off for very large circuits).")),
            pn.Row(pn.pane.Markdown("Colour by", margin=(8, 5)), self.color_select),
            sizing_mode="stretch_width")


NOT_AN_EXAMPLE = "– not an example –"


def download_stem(title):
    """A file name stem from a circuit's title: ``"bridge rectifier"`` -> ``"bridge-rectifier"``."""
    stem = "-".join("".join(c if c.isalnum() or c in "-_." else " " for c in str(title)).split())
    return stem.strip(".") or "circuit"


class FilesPanel(pn.viewable.Viewer):
    """Gallery, uploads (JSON, GraphML, SPICE) and downloads (circuit and solution CSV)."""

    store = param.ClassSelector(class_=CircuitStore)

    def __init__(self, **params):
        super().__init__(**params)
        s = self.store
        self.example_select = pn.widgets.Select(min_width=MIN_CONTROL_WIDTH,
            name="Example", options={NOT_AN_EXAMPLE: "", **{name: name for name in gallery.EXAMPLES}},
            value=s.title if s.title in gallery.EXAMPLES else "",
            description="Load a built-in example circuit (undoable).", sizing_mode="stretch_width",
            css_classes=["example-select"])
        self.example_select.param.watch(self._on_example, "value")
        accept = ",".join(ext for exts in circuit_io.FORMATS.values() for ext in exts)
        self.upload = pn.widgets.FileInput(accept=accept, multiple=False,
                                           description="Open a circuit: NetworkX node-link .json, .graphml, "
                                           f"or a SPICE netlist (max {circuit_io.MAX_UPLOAD_BYTES // 1000} kB).")
        self.upload.param.watch(self._on_upload, "value")
        self.downloads = [
            pn.widgets.FileDownload(callback=lambda: self._text("json"), filename="circuit.json",
                                    label="Circuit (.json)", description="Download the circuit as "
                                    "NetworkX node-link JSON (with node positions).", button_type="light"),
            pn.widgets.FileDownload(callback=lambda: self._text("graphml"), filename="circuit.graphml",
                                    label="Circuit (.graphml)", description="Download the circuit as GraphML.",
                                    button_type="light"),
            pn.widgets.FileDownload(callback=self._csv, filename="circuit-solution.csv", label="Solution (.csv)",
                                    description="Download node voltages, element currents, powers and "
                                    "diode states as CSV.", button_type="light"),
        ]
        if circuit_io.netlist_available():
            self.downloads.insert(2, pn.widgets.FileDownload(
                callback=lambda: self._text("spice"), filename="circuit.cir", label="Netlist (.cir)",
                description="Download the circuit as a SPICE netlist.", button_type="light"))
        self._suffixes = [d.filename.removeprefix("circuit") for d in self.downloads]
        s.param.watch(self._on_title, "title")
        self._on_title()

    def _on_title(self, *events):
        """The Example box and the download names follow what is loaded."""
        title = self.store.title
        shown = title if title in gallery.EXAMPLES else ""  # an upload or a blank circuit: no example
        if self.example_select.value != shown:
            self._following = True
            try:
                self.example_select.value = shown
            finally:
                self._following = False
        stem = download_stem(title)
        for download, suffix in zip(self.downloads, self._suffixes):
            download.filename = stem + suffix

    def _on_example(self, event):
        if getattr(self, "_following", False):
            return
        if event.new and event.new != self.store.title:
            self.store.load_example(event.new)

    def _on_upload(self, event):
        if event.new is None:
            return
        filename = self.upload.filename or "upload.json"
        # parsed, laid out and test-solved in a child process with a time budget (explorer/server.py)
        open_upload(self.store, event.new, filename)

    def _text(self, fmt):
        return _io.StringIO(circuit_io.write_network(self.store.network, fmt))

    def _csv(self):
        s = self.store
        if s.solution is None or s.stale:  # never write an earlier circuit's numbers as this one's
            return _io.StringIO(f"# the circuit does not solve: {s.problem or 'no solution yet'}\n")
        return _io.StringIO(circuit_io.solution_csv(_wired(s.network), s.solution))

    def __panel__(self):
        return pn.Column("#### Circuits", self.example_select,
                         pn.pane.Markdown("Open a file (.json, .graphml, SPICE):", margin=(0, 10)),
                         self.upload, *self.downloads, sizing_mode="stretch_width")


class ConvergenceView(pn.viewable.Viewer):
    """Energy gap and KCL residual per sweep; step / play / pause / reset of coordinate descent."""

    store = param.ClassSelector(class_=CircuitStore)
    interval = param.Integer(default=400, bounds=(30, 5000), doc="Milliseconds between play steps.")

    def __init__(self, **params):
        super().__init__(**params)
        self.stepper = None
        self._callback = None
        self.source = ColumnDataSource(data=dict(sweep=[], gap=[], kcl=[]), name="convergence")
        self.step_source = ColumnDataSource(data=dict(sweep=[], gap=[], kcl=[]), name="step-convergence")
        self.figure = self._make_figure()
        self.granularity = pn.widgets.RadioButtonGroup(
            name="Step by", options={"One sweep": "sweep", "One node": "node"}, value="sweep",
            description="A step moves every free node once (a sweep), or a single node.")
        self.start = pn.widgets.Select(name="Start from", options={"zero potentials": "zero",
                                                                   "random potentials": "random"},
                                       value="zero", description="Start point of coordinate descent.")
        self.step_button = pn.widgets.Button(name="Step", button_type="primary", css_classes=["step-button"],
                                             description="Advance coordinate descent by one step.")
        self.play_button = pn.widgets.Button(name="▶ Play", description="Keep stepping, animating the circuit.")
        self.pause_button = pn.widgets.Button(name="❚❚ Pause", description="Stop playing.")
        self.reset_button = pn.widgets.Button(name="Reset", description="Restart coordinate descent "
                                              "from the chosen start point.")
        self.exact_button = pn.widgets.Button(name="Exact solve", button_type="success",
                                              description="Leave step mode: show the exact solution "
                                              "(coordinate descent + active-set polish).")
        self.info = pn.pane.HTML("", css_classes=["step-info"], sizing_mode="stretch_width", height=40)
        self.step_button.on_click(lambda e: self.step())
        self.granularity.param.watch(lambda e: self._show_info(), "value")
        self.play_button.on_click(lambda e: self.play())
        self.pause_button.on_click(lambda e: self.pause())
        self.reset_button.on_click(lambda e: self.reset())
        self.exact_button.on_click(lambda e: self.exact())
        self._pending_refresh = None
        self.store.param.watch(self._on_version, "version")
        self._refresh()

    def _make_figure(self):
        fig = figure(height=300, sizing_mode="stretch_width", y_axis_type="log",
                     x_axis_label="sweep", y_axis_label="gap / residual", tools="pan,wheel_zoom,reset,save",
                     title="Convergence of the last solve", name="convergence-figure")
        # sweeps are whole: no tick between two sweeps
        fig.xaxis.ticker = AdaptiveTicker(base=10, mantissas=[1, 2, 5], min_interval=1, num_minor_ticks=0)
        # add_glyph, not fig.line/fig.scatter: those also make a glyph for unselected points and one
        # for a muted legend entry (three glyph models per renderer, built and sent with every
        # session's page); left "auto", BokehJS derives them if ever needed (nothing here is
        # selectable or mutable)
        r1 = fig.add_glyph(self.source, Line(x="sweep", y="gap", line_color="#2171b5", line_width=2))
        fig.add_glyph(self.source, Scatter(x="sweep", y="gap", fill_color="#2171b5", line_color="#2171b5", size=5))
        r2 = fig.add_glyph(self.source, Line(x="sweep", y="kcl", line_color="#e6550d", line_width=2,
                                             line_dash="dashed"))
        fig.add_glyph(self.source, Scatter(x="sweep", y="kcl", fill_color="#e6550d", line_color="#e6550d", size=5,
                                           marker="square"))
        r3 = fig.add_glyph(self.step_source, Line(x="sweep", y="gap", line_color="#6a51a3", line_width=2))
        r4 = fig.add_glyph(self.step_source, Line(x="sweep", y="kcl", line_color="#d94801", line_width=2,
                                                  line_dash="dotted"))
        legend = Legend(items=[LegendItem(label="E − E* (W)", renderers=[r1]),
                               LegendItem(label="max KCL residual (A)", renderers=[r2]),
                               LegendItem(label="step mode: E − E*", renderers=[r3]),
                               LegendItem(label="step mode: KCL residual", renderers=[r4])],
                        location="top_right", label_text_font_size="11px")
        fig.add_layout(legend)
        return fig

    # In a served app the plot is redrawn once changes pause for this long: a slider drag redraws
    # it once, at the end, and each step's circuit repaint (what the user watches) goes out alone.
    refresh_delay_ms = 250

    @staticmethod
    def _served_document():
        """The session's document when the app is served, else None (notebooks, tests)."""
        doc = pn.state.curdoc
        return doc if doc is not None and doc.session_context is not None else None

    def _on_version(self, *events):
        doc = self._served_document()
        if doc is None:
            self._refresh()
            return
        if self._pending_refresh is not None:
            try:
                doc.remove_timeout_callback(self._pending_refresh)
            except ValueError:  # it has just run
                pass
        self._pending_refresh = doc.add_timeout_callback(self._refresh, self.refresh_delay_ms)

    def _refresh(self):
        self._pending_refresh = None
        sol = self.store.solution
        if sol is None or self.store.preview is not None:
            return
        trace = sol.trace
        energy = np.asarray(trace.get("energy", []), dtype=float)
        kcl = np.asarray(trace.get("max_kcl_residual", []), dtype=float)
        n = min(len(energy), len(kcl))
        floor = 1e-18 * max(1.0, abs(sol.energy))
        gap = energy[:n] - sol.energy
        gap = np.where(gap > floor, gap, np.nan)  # exact zeros have no place on a log axis
        self.source.data = dict(sweep=np.arange(1, n + 1), gap=gap, kcl=np.maximum(kcl[:n], 1e-18))
        self.figure.title.text = (f"Last solve: {sol.sweeps} sweeps + {sol.active_set_iterations} active-set "
                                  f"iterations (points after the sweeps are polish steps)")

    # ------------------------------------------------------------- stepping
    def _ensure(self):
        if self.stepper is None:
            self.reset()
        return self.stepper is not None

    def reset(self):
        self.pause()
        s = self.store
        try:
            net = _wired(s.network)
            optimum = s.solution.energy if (s.solution is not None and not s.stale) else None
            self.stepper = CDStepper(net, start=self.start.value, optimum=optimum)
        except NetworkError as e:
            self.stepper = None
            s.report(f"step mode needs a solvable circuit: {e}")
            return
        self._show()

    def step(self):
        """One step (a node or a sweep); returns True while more steps can change something."""
        if not self._ensure():
            return False
        if self.granularity.value == "node":
            self.stepper.step_node()
        else:
            self.stepper.step_sweep()
        self._show()
        return not self.stepper.finished

    #: Play gives up after this many sweeps (ill-conditioned circuits creep for a long time).
    max_play_sweeps = 2000

    def _play_step(self):
        if not self.step() or self.stepper.sweeps >= self.max_play_sweeps:
            self.pause()

    def play(self):
        """Keep stepping until coordinate descent converges or stalls (from the start if it already has)."""
        if self._callback is not None:
            return
        if self.stepper is not None and self.stepper.finished:
            self.reset()
        if not self._ensure() or self.stepper.finished:
            return
        self._callback = pn.state.add_periodic_callback(self._play_step, period=self.interval)

    def pause(self):
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    def exact(self):
        self.pause()
        self.stepper = None
        self.step_source.data = dict(sweep=[], gap=[], kcl=[])
        self.info.object = ""
        self.store.leave_step_mode()

    def _show(self):
        st = self.stepper
        n = len(st.energy_gap)
        floor = 1e-18 * max(1.0, abs(st.optimum))
        self.step_source.data = dict(sweep=np.arange(n), gap=np.maximum(st.energy_gap, floor),
                                     kcl=np.maximum(st.residual, 1e-18))
        self.store.show_step(st, self._show_info())

    def _show_info(self):
        """The step line under the buttons; its data attributes say what the server has done and will do."""
        st = self.stepper
        if st is None:
            return ""
        label = st.describe()
        self.info.object = (f'<span data-sweeps="{st.sweeps}" data-steps="{st.node_steps}" '
                            f'data-by="{self.granularity.value}">{html.escape(label)}</span>')
        return label

    def __panel__(self):
        return pn.Column(
            self.figure,
            wrapping_row(self.start, self.granularity),
            wrapping_row(self.step_button, self.play_button, self.pause_button, self.reset_button, self.exact_button),
            self.info,
            pn.pane.Markdown(
                "Step mode runs plain coordinate descent (the paper's algorithm): each free node jumps to the "
                "potential that balances its currents, clipped by its diodes. Try the *cd stall* example: "
                "it stops short where a conducting diode joins two free nodes; *Exact solve* finishes with "
                "the active-set polish.", styles={"font-size": "12px", "color": "#555"}),
            sizing_mode="stretch_width")


PART_LABELS = {"select": "Select (S)", "resistor": "Resistor (R)", "diode": "Diode (D)",
               "vsource": "V source (V)", "isource": "I source (I)", "ground": "Ground (G)"}

PART_HINTS = {
    "select": "Click an element to select it, a node to pick it; drag nodes to move them.",
    "resistor": "Click a node or a grid point, then a second one: a resistor joins them.",
    "diode": "Click the anode, then the cathode (conduction direction).",
    "vsource": "Click the + terminal, then the − terminal.",
    "isource": "Click the p terminal, then the n terminal (the set current flows p → n through it).",
    "ground": "Click a node to connect it to ground.",
}


#: The keys the browser sends to Python: the part shortcuts, Delete, undo and redo. Any other key
#: (a slider's arrow keys above all) stays in the page: sent, each would cost the server two more
#: patches to handle while it re-solves.
SHORTCUT_KEYS = sorted(SHORTCUTS) + ["delete", "undo", "redo"]


class KeyboardShortcuts(ReactiveHTML):
    """Shortcut keys pressed outside text fields, sent to Python as ``key`` (``presses`` counts them).

    Undo and redo arrive as ``"undo"``/``"redo"``, Delete and Backspace as ``"delete"``; keys not in
    :data:`SHORTCUT_KEYS` are neither sent nor kept from the page.
    """

    key = param.String(default="")
    presses = param.Integer(default=0)

    _template = '<div id="keys" style="display:none"></div>'
    _scripts = {"render": """
      if (window.__resistive_keys) document.removeEventListener('keydown', window.__resistive_keys);
      window.__resistive_keys = (e) => {
        const t = e.composedPath ? e.composedPath()[0] : e.target;  // the real target inside shadow DOM
        const tag = ((t && t.tagName) || '').toLowerCase();
        if (tag === 'input' || tag === 'textarea' || tag === 'select' || (t && t.isContentEditable)) return;
        let key = e.key.toLowerCase();
        if (e.ctrlKey || e.metaKey) {
          if (key === 'z') key = e.shiftKey ? 'redo' : 'undo';
          else if (key === 'y') key = 'redo';
          else return;
        } else if (e.altKey) return;
        if (key === 'backspace' || key === 'delete') key = 'delete';
        if (!%s.includes(key)) return;
        data.key = key;
        data.presses = data.presses + 1;
        e.preventDefault();
      };
      document.addEventListener('keydown', window.__resistive_keys);
    """ % json.dumps(SHORTCUT_KEYS)}


class PalettePanel(pn.viewable.Viewer):
    """The schematic editor's toolbar: new blank circuit, part palette, undo/redo, delete, keys."""

    store = param.ClassSelector(class_=CircuitStore)

    def __init__(self, **params):
        super().__init__(**params)
        s = self.store
        self.new_button = pn.widgets.Button(name="New blank circuit", css_classes=["new-blank"],
                                            description="Start from an empty circuit (only ground; undoable).")
        self.palette = pn.widgets.RadioButtonGroup(options={label: part for part, label in PART_LABELS.items()},
                                                   value=s.tool, css_classes=["palette"], button_type="light",
                                                   stylesheets=[WRAPPING_BUTTON_GROUP],
                                                   description="Choose a part, then click two points on the "
                                                   "circuit. Keys: S R D V I G, Delete, Ctrl+Z, Ctrl+Y.")
        self.delete_button = pn.widgets.Button(name="Delete", css_classes=["delete-selection"],
                                               description="Remove the selected element or node (Delete key).")
        self.undo_button = pn.widgets.Button(name="↶", description="Undo (Ctrl+Z).", width=40)
        self.redo_button = pn.widgets.Button(name="↷", description="Redo (Ctrl+Y).", width=40)
        self.hint = pn.pane.HTML("", css_classes=["palette-hint"], sizing_mode="stretch_width",
                                 styles={"font-size": "12px", "color": "#555"})
        self.keys = KeyboardShortcuts()
        self.new_button.on_click(lambda e: s.new_blank())
        self.palette.param.watch(lambda e: s.arm(e.new) if e.new != s.tool else None, "value")
        self.delete_button.on_click(lambda e: s.delete_selection())
        self.undo_button.on_click(lambda e: s.undo())
        self.redo_button.on_click(lambda e: s.redo())
        self.keys.param.watch(lambda e: self.press(self.keys.key), "presses")
        s.param.watch(self._sync, ["tool", "pending", "can_undo", "can_redo", "selected_element",
                                   "selected_node"])
        self._sync()

    def press(self, key):
        """Act on a shortcut key (what the browser sends through ``KeyboardShortcuts``)."""
        s = self.store
        if key in SHORTCUTS:
            s.arm(SHORTCUTS[key])
        elif key == "delete":
            s.delete_selection()
        elif key == "undo":
            s.undo()
        elif key == "redo":
            s.redo()

    def _sync(self, *events):
        s = self.store
        self.palette.value = s.tool
        self.undo_button.disabled = not s.can_undo
        self.redo_button.disabled = not s.can_redo
        self.delete_button.disabled = not (s.selected_element or s.selected_node not in ("", None, "0"))
        hint = PART_HINTS[s.tool]
        if s.pending is not None:
            where = s.pending if isinstance(s.pending, str) else f"grid point {s.pending}"
            hint = f"First end: {where}. Now click the second end (Esc cancels)."
        self.hint.object = f'<span data-tool="{s.tool}">{html.escape(hint)}</span>'

    def __panel__(self):
        return pn.Column(
            wrapping_row(self.new_button, self.palette, self.delete_button, self.undo_button, self.redo_button,
                         self.keys),
            self.hint, sizing_mode="stretch_width", margin=0)
