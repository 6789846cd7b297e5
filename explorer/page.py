"""How the served page fits any window: rows that wrap, a main column that may shrink, a narrower
sidebar on small screens.

A 1024 px window, or a 1440 px one at 150 % zoom (960 CSS px), leaves the main column less room
than a row of buttons or a fixed-width figure asks for. In a flex layout a column does not
shrink below its content unless told to, so the page used to overflow sideways and the
template's ``overflow: hidden`` cut what stuck out (the palette's last buttons, the figure's right
edge). Here the main column may shrink (``min-width: 0``), every row of controls wraps onto a
second line instead of overflowing, and below :data:`NARROW_WINDOW` px the sidebar narrows from
:data:`SIDEBAR_WIDTH` to :data:`NARROW_SIDEBAR_WIDTH` px so that the circuit keeps most of the width.
"""

from __future__ import annotations

import panel as pn

from .layout import SIDEBAR_WIDTH  # noqa: F401  (the wide sidebar, also used to predict the figure size)

__all__ = ["MIN_CONTROL_WIDTH", "NARROW_SIDEBAR_WIDTH", "NARROW_WINDOW", "PAGE_CSS", "WRAPPING_BUTTON_GROUP",
           "wrapping_row"]

NARROW_WINDOW = 800  # px (CSS pixels: 1024 px at 150 % zoom is 683)
NARROW_SIDEBAR_WIDTH = 250
#: Minimum width of a stretching input (px). Panel takes a widget's default width (300 px) as
#: its minimum unless one is given, and that would hold the sidebar's columns at 300 px.
MIN_CONTROL_WIDTH = 120

#: Global CSS of the served page (BootstrapTemplate's ``raw_css``): ``#main`` and ``#sidebar``
#: are the template's own elements, outside any shadow root.
PAGE_CSS = f"""
#main {{ min-width: 0; overflow-x: hidden; }}
@media (max-width: {NARROW_WINDOW}px) {{
  #sidebar {{ --sidebar-width: {NARROW_SIDEBAR_WIDTH}px; }}
  #main {{ padding: 6px 8px 12px 6px; }}
}}
"""

#: A button group (``RadioButtonGroup``) whose buttons wrap onto more lines when the row is narrow.
WRAPPING_BUTTON_GROUP = """
:host { max-width: 100%; }
.bk-btn-group { flex-wrap: wrap; row-gap: 4px; }
.bk-btn-group > .bk-btn { flex-grow: 0; }  /* a wrapped line keeps its buttons' own widths */
"""


def wrapping_row(*objects, **params):
    """A row of controls that continues on a new line when the window is too narrow for it."""
    params.setdefault("sizing_mode", "stretch_width")
    params.setdefault("margin", 0)
    return pn.FlexBox(*objects, flex_wrap="wrap", align_items="flex-end", **params)
