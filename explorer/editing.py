"""Pure helpers of the schematic editor: the grid, hit-testing, and naming what is wrong.

No Panel, no Bokeh: the store calls these, tests check them directly.
"""

from __future__ import annotations

import math
import re

import numpy as np

__all__ = ["GRID", "PARTS", "SHORTCUTS", "grid_points", "nearest_node", "problem_parts", "snap"]

#: Spacing of the drawing grid, in the drawing's units (gallery examples sit one unit apart).
GRID = 1.0

#: What the palette places, in order; "select" is the pointer.
PARTS = ("select", "resistor", "diode", "vsource", "isource", "ground")

#: Keyboard shortcut -> palette entry.
SHORTCUTS = {"s": "select", "escape": "select", "r": "resistor", "d": "diode", "v": "vsource",
             "i": "isource", "g": "ground"}


def snap(x, y, spacing=GRID):
    """The grid point nearest ``(x, y)``."""
    return (float(round(x / spacing) * spacing), float(round(y / spacing) * spacing))


def nearest_node(xy, x, y, radius):
    """Index of the node nearest ``(x, y)`` if it lies within ``radius``, else None."""
    if len(xy) == 0 or not (math.isfinite(x) and math.isfinite(y)):
        return None
    d = np.hypot(xy[:, 0] - x, xy[:, 1] - y)
    k = int(np.argmin(d))
    return k if d[k] <= radius else None


def grid_points(xy, spacing=GRID, margin=2, limit=2500):
    """Grid points covering the nodes ``xy`` plus ``margin`` cells around them (empty if too many).

    The dots show where a click places a new node; a blank circuit gets a
    field around its ground node.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if len(xy) == 0:
        xy = np.zeros((1, 2))
    lo = np.floor(xy.min(axis=0) / spacing) - margin
    hi = np.ceil(xy.max(axis=0) / spacing) + margin
    nx_, ny_ = int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1
    if nx_ * ny_ > limit:
        return np.zeros(0), np.zeros(0)
    gx, gy = np.meshgrid(np.arange(lo[0], hi[0] + 1) * spacing, np.arange(lo[1], hi[1] + 1) * spacing)
    return gx.ravel(), gy.ravel()


_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"")


def problem_parts(net, error):
    """``(nodes, elements)`` of ``net`` that ``error`` blames, for highlighting.

    Uses the lists the solver's exceptions carry (``FloatingNodeError.nodes``,
    ``elements`` of loops and infeasible diodes), else the quoted names in
    the message that are nodes or elements of ``net``.
    """
    nodes = [n for n in getattr(error, "nodes", ()) if n in net.nodes]
    elements = [e for e in getattr(error, "elements", ()) if e in net]
    if not nodes and not elements:
        by_text = {str(n): n for n in net.nodes}
        for match in _QUOTED.finditer(str(error)):
            name = match.group(1) or match.group(2)
            if name in net:
                elements.append(name)
            elif name in by_text:
                nodes.append(by_text[name])
    return list(dict.fromkeys(nodes)), list(dict.fromkeys(elements))
