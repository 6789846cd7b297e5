"""The whole explorer as one component: state, circuit, editor, files, convergence, learning."""

from __future__ import annotations

import panel as pn
import param

from solver import Network

from .circuit_view import CircuitView
from .panels import (
    ConvergenceView,
    DisplayPanel,
    EditorPanel,
    FilesPanel,
    PalettePanel,
    ReadoutPanel,
    StatusBar,
)
from .state import CircuitStore
from .view_controls import ViewControls

__all__ = ["CircuitExplorer"]

INTRO = (
    "Build and solve circuits of resistors, ideal diodes and sources. Pick a part in the palette above "
    "the circuit (or press R, D, V, I, G), then **click** two nodes or grid points to place it; "
    "**click** an element to select it and type its value (4.7k, 10 mA); **Delete** removes it. "
    "Hover for values. Conducting diodes are orange, blocking ones grey; arrows show currents."
)
LEARNING_NOTE = ("The learning controls sit beside the network on the **Learning** tab; the circuit "
                 "editor returns on the **Circuit** tab.")


class CircuitExplorer(pn.viewable.Viewer):
    """Interactive explorer of one network; embeds in notebooks and in the served app.

    >>> import panel as pn, explorer
    >>> pn.extension()                                   # doctest: +SKIP
    >>> explorer.CircuitExplorer(explorer.gallery.build("clipper"))   # doctest: +SKIP
    """

    store = param.ClassSelector(class_=CircuitStore, doc="Shared state of every view.")
    learning = param.Boolean(default=True, doc="Include the learning tab.")

    def __init__(self, network=None, **params):
        if "store" not in params:
            if isinstance(network, str):
                params["store"] = CircuitStore.from_example(network)
            elif isinstance(network, Network):
                params["store"] = CircuitStore(network, title=params.pop("title", "circuit"))
            else:
                params["store"] = CircuitStore.from_example("divider")
        super().__init__(**params)
        s = self.store
        self.circuit = CircuitView(store=s)
        self.view_controls = ViewControls(view=self.circuit)
        self.status = StatusBar(store=s)
        self.readout = ReadoutPanel(store=s)
        self.editor = EditorPanel(store=s)
        self.display = DisplayPanel(store=s)
        self.files = FilesPanel(store=s)
        self.convergence = ConvergenceView(store=s)
        self.palette = PalettePanel(store=s)
        self._sweep_view = None  # built when the Sweep tab is first shown (or asked for)
        self._learning_view = None
        self._circuit_sidebar = pn.Column(self.files, self.display, self.editor, sizing_mode="stretch_width",
                                          margin=0)
        self._learning_sidebar = pn.pane.Markdown(LEARNING_NOTE, visible=False, css_classes=["learning-note"])

    @property
    def sweep_view(self):
        if self._sweep_view is None:
            from .sweep_view import SweepView

            self._sweep_view = SweepView(store=self.store)
        return self._sweep_view

    @property
    def learning_view(self):
        if self._learning_view is None:
            from .learning_view import LearningView

            self._learning_view = LearningView()
        return self._learning_view

    def sidebar(self):
        """Circuit controls, swapped for a note while the Learning tab is shown."""
        return [self._circuit_sidebar, self._learning_sidebar]

    def _on_tab(self, event):
        learning = self._tab_names[event.new] == "Learning"
        self._circuit_sidebar.visible = not learning
        self._learning_sidebar.visible = learning

    def main(self):
        circuit_tab = pn.Column(
            self.palette,
            self.status,
            self.view_controls,
            # the figure takes the whole width (it must fit a 1024 px screen); readouts go below it
            self.circuit,
            self.readout,
            pn.pane.Markdown("### Convergence and step mode", margin=(10, 10, 0, 10)),
            self.convergence,
            sizing_mode="stretch_width",
        )
        # the Sweep and Learning tabs are built when first shown: most sessions never open them, and
        # a session's start-up is the building of its Bokeh models (the learning tab alone was 300
        # of 750 of them and half the start-up; the sweep view watches every change of network)
        tabs = [("Circuit", circuit_tab), ("Sweep", _when_shown(lambda: self.sweep_view))]
        if self.learning:
            tabs.append(("Learning", _when_shown(lambda: self.learning_view)))
        self._tab_names = [name for name, _ in tabs]
        self.tabs = pn.Tabs(*tabs, sizing_mode="stretch_width", dynamic=True)
        self.tabs.param.watch(self._on_tab, "active")
        return self.tabs

    def __panel__(self):
        return pn.Row(
            pn.Column(pn.pane.Markdown(INTRO, styles={"font-size": "12px"}), *self.sidebar(), width=340),
            self.main(),
            sizing_mode="stretch_width",
        )


def _when_shown(build):
    """A tab's content that ``build()`` makes only when the tab is first rendered (``Tabs(dynamic=True)``)."""
    return pn.param.ParamFunction(build, lazy=True, sizing_mode="stretch_width")
