"""resistive-explorer's interactive explorer: Panel components over :mod:`solver`.

State lives in :class:`CircuitStore` (a ``param.Parameterized``); the views
take the store and draw it. In a notebook::

    import panel as pn, explorer
    pn.extension()
    explorer.CircuitExplorer(explorer.gallery.build("clipper"))

Serve the app with ``resistive-explorer`` or ``panel serve explorer/app.py``.
"""

from . import gallery
from .circuit_explorer import CircuitExplorer
from .circuit_view import CircuitView
from .learning_view import LearningStore, LearningView
from .panels import ConvergenceView, DisplayPanel, EditorPanel, FilesPanel, ReadoutPanel, StatusBar
from .state import CircuitStore, ensure_layout
from .stepper import CDStepper

__all__ = sorted([
    "CDStepper",
    "CircuitExplorer",
    "CircuitStore",
    "CircuitView",
    "ConvergenceView",
    "DisplayPanel",
    "EditorPanel",
    "FilesPanel",
    "LearningStore",
    "LearningView",
    "ReadoutPanel",
    "StatusBar",
    "ensure_layout",
    "gallery",
])
