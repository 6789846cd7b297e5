"""Widgets and panes whose new value costs one property change: what a slider move updates.

A slider move changes the text of a few panes and the value of a few widgets (the status line,
the voltage table, the value field). Panel recomputes far more than that for each such change:

* a widget's parameter change asks the design (theme) for the widget's parameters, resolving
  its stylesheets (paths, file checks, new ``ImportedStyleSheet`` models), and then uses them
  only when the change is to ``stylesheets``;
* an ``HTML`` pane's new text rebuilds every property of its model (stylesheets included) and
  sends whichever differ: the text, in practice.

Measured on the served divider (``benchmarks/profile_move.py --breakdown``), these were about
8 ms of the server's 30 ms of CPU per move. The classes here send the same changes without the
recomputation; whatever else changes (styles, visibility, sizes) goes Panel's usual way.
"""

from __future__ import annotations

import panel as pn

__all__ = ["LeanHTML", "LeanTextInput", "NoRestyleOnChange"]


class NoRestyleOnChange:
    """Mixin for a Panel widget: a parameter change skips the design's stylesheets unless it is to them.

    ``Reactive._update_properties`` reads ``self._design.params(...)`` only to prepend the design's
    stylesheets to a change of ``stylesheets``; for any other change the result is the same
    without that work.
    """

    def _update_properties(self, *events, doc):
        if any(event.name == "stylesheets" for event in events):
            return super()._update_properties(*events, doc=doc)
        return self._process_param_change({event.name: event.new for event in events})


class LeanTextInput(NoRestyleOnChange, pn.widgets.TextInput):
    """A ``TextInput`` whose value, set from Python, costs one property change."""


class LeanHTML(NoRestyleOnChange, pn.pane.HTML):
    """An ``HTML`` pane whose new ``object`` sends only the new text.

    Panel's ``HTMLBasePane._update`` recomputes every property of the model for a new object;
    only the text can differ (``object``, ``sanitize_html`` and ``sanitize_hook``, the parameters
    that lead here, all act on the text alone).
    """

    def _update(self, ref, model):
        if self.enable_streaming:  # incremental text: Panel's own path
            return super()._update(ref, model)
        model.text = self._transform_object(self.object)["object"]
