"""The whole explorer as one component: state, circuit, editor, files, convergence, learning."""

from __future__ import annotations

import panel as pn
import param

from solver import Network

from .circuit_view import CircuitView
from .panels import ConvergenceView, DisplayPanel, EditorPanel, FilesPanel, ReadoutPanel, StatusBar
from .state import CircuitStore
from .view_controls import ViewControls

__all__ = ["CircuitExplorer"]

INTRO = (
    "Build and solve circuits of resistors, ideal diodes and sources. **Drag** nodes, **tap** two nodes "
    "to pick the ends of a new element, **tap** an element to edit it. Hover for values. "
    "Conducting diodes are orange, blocking ones grey; arrows show currents."
)


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
        self._learning_view = None

    @property
    def learning_view(self):
        if self._learning_view is None:
            from .learning_view import LearningView

            self._learning_view = LearningView()
        return self._learning_view

    def sidebar(self):
        return [self.files, self.display, self.editor]

    def main(self):
        circuit_tab = pn.Column(
            self.status,
            self.view_controls,
            # the figure takes the whole width (it must fit a 1024 px screen); readouts go below it
            self.circuit,
            self.readout,
            pn.pane.Markdown("### Convergence and step mode", margin=(10, 10, 0, 10)),
            self.convergence,
            sizing_mode="stretch_width",
        )
        tabs = [("Circuit", circuit_tab)]
        if self.learning:
            tabs.append(("Learning", self.learning_view))
        return pn.Tabs(*tabs, sizing_mode="stretch_width", dynamic=False)

    def __panel__(self):
        return pn.Row(
            pn.Column(pn.pane.Markdown(INTRO, styles={"font-size": "12px"}), *self.sidebar(), width=340),
            self.main(),
            sizing_mode="stretch_width",
        )
