"""How the served page fits any window: rows that wrap, a main column that may shrink, a narrower
sidebar on small screens.

A 1024 px window, or a 1440 px one at 150 % zoom (960 CSS px), leaves the main column less room
than a row of buttons or a fixed-width figure asks for. In a flex layout a column does not
shrink below its content unless told to, so the page used to overflow sideways and the
template's ``overflow: hidden`` cut what stuck out (the palette's last buttons, the figure's right
edge). Here the main column may shrink (``min-width: 0``), every row of controls wraps onto a
second line instead of overflowing, and below :data:`NARROW_WINDOW` px the sidebar narrows from
:data:`SIDEBAR_WIDTH` to :data:`NARROW_SIDEBAR_WIDTH` px so that the circuit keeps most of the width.

The circuit figure's height follows the window's: the page sets :data:`FIGURE_HEIGHT_VARIABLE`
to the window's height less the controls around the figure (``calc(100vh - ...)``, clamped; see
:func:`explorer.layout.figure_height`), and a figure that follows the window
(``CircuitView(follow_window=True)``) takes that height. A CSS variable crosses the shadow roots
in which Panel draws each component, where a selector of the page's stylesheet cannot reach.
Outside the app (a notebook) the variable is unset and the figure keeps its fixed height.
"""

from __future__ import annotations

import panel as pn

from .layout import (FIGURE_MAX_HEIGHT, FIGURE_MIN_HEIGHT, PAGE_CHROME_HEIGHT, SIDEBAR_WIDTH,  # noqa: F401
                     WRAPPED_CONTROLS_WINDOW, WRAPPED_PAGE_CHROME_HEIGHT)  # (shared with the size prediction)

__all__ = ["FIGURE_HEIGHT_VARIABLE", "MIN_CONTROL_WIDTH", "NARROW_SIDEBAR_WIDTH", "NARROW_WINDOW", "PAGE_CSS", "WRAPPING_BUTTON_GROUP",
           "wrapping_item", "wrapping_row"]

NARROW_WINDOW = 800  # px (CSS pixels: 1024 px at 150 % zoom is 683)
NARROW_SIDEBAR_WIDTH = 250
#: Minimum width of a stretching input (px). Panel takes a widget's default width (300 px) as
#: its minimum unless one is given, and that would hold the sidebar's columns at 300 px.
MIN_CONTROL_WIDTH = 120

#: The CSS variable that holds the circuit figure's height in the served page.
FIGURE_HEIGHT_VARIABLE = "--circuit-figure-height"


def _figure_height_css(chrome):
    return f"clamp({FIGURE_MIN_HEIGHT}px, calc(100vh - {chrome}px), {FIGURE_MAX_HEIGHT}px)"


#: Global CSS of the served page (BootstrapTemplate's ``raw_css``): ``#main`` and ``#sidebar``
#: are the template's own elements, outside any shadow root.
PAGE_CSS = f"""
#main {{ min-width: 0; overflow-x: hidden; {FIGURE_HEIGHT_VARIABLE}: {_figure_height_css(PAGE_CHROME_HEIGHT)}; }}
@media (max-width: {WRAPPED_CONTROLS_WINDOW}px) {{
  #main {{ {FIGURE_HEIGHT_VARIABLE}: {_figure_height_css(WRAPPED_PAGE_CHROME_HEIGHT)}; }}
}}
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
    params.setdefault("align_items", "flex-end")
    return pn.FlexBox(*objects, flex_wrap="wrap", **params)


def wrapping_item(width):
    """Inline CSS (``styles``) of a stretching item of a :func:`wrapping_row` that shares a line with
    others only while each gets ``width`` px, and otherwise takes a line of its own.

    (A flex basis wins over the 100 % width that a stretching Panel or Bokeh model asks for.)
    """
    return {"flex": f"1 1 {width}px", "min-width": "0"}
