"""The circuit figure as a standalone SVG document, written from the drawing's columns.

:func:`circuit_svg` takes the columns :meth:`CircuitView.paint_data` produces and the
view's data ranges and pixel frame, and writes wires, symbols, arrows, nodes and labels
at the positions and in the colours the browser shows. It is plain text assembly
(no browser, no extra dependency), so a lecture handout or a paper figure can be
exported from a notebook or the app alike.
"""

from __future__ import annotations

import html
import math

import numpy as np

from .drawing import LEADER_ALPHA, LEADER_COLOR, LEADER_DASH

__all__ = ["circuit_svg"]

TEXT_ANCHOR = {"left": "start", "right": "end", "center": "middle"}  # Bokeh's text_align in SVG


def _colour(value):
    return html.escape(str(value), quote=True)


def circuit_svg(columns, ranges, frame, node_colours, font=12, title="circuit"):
    """SVG text of the drawing.

    Parameters
    ----------
    columns : dict
        ``node``, ``edge``, ``diode``, ``symbol``, ``mark``, ``box``, ``label`` and ``arrow`` columns.
    ranges : (x0, x1, y0, y1)
        Data ranges shown.
    frame : (width, height)
        Size of the picture in px.
    node_colours : list of str
        Fill colour of each node (its potential's colour).
    """
    x0, x1, y0, y1 = ranges
    width, height = frame
    sx, sy = width / (x1 - x0), height / (y1 - y0)

    def X(x):
        return (np.asarray(x, dtype=float) - x0) * sx

    def Y(y):
        return height - (np.asarray(y, dtype=float) - y0) * sy

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans, Arial, sans-serif">',
           f"<title>{html.escape(str(title))}</title>",
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>']
    e = columns["edge"]
    for k in range(len(e["x0"])):
        points = [(e["x0"][k], e["y0"][k]), (e["xa"][k], e["ya"][k]), (e["xb"][k], e["yb"][k]),
                  (e["x1"][k], e["y1"][k])]
        points = [p for p in points if math.isfinite(p[0]) and math.isfinite(p[1])]
        path = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{_colour(e["color"][k])}" '
                   f'stroke-opacity="{float(e["alpha"][k]):.2f}" stroke-width="{float(e["width"][k]):.1f}"/>')
    leader = columns.get("leader", {})
    for k in range(len(leader.get("x0", ()))):  # from a label placed away from its anchor, to the anchor
        out.append(f'<line x1="{X(leader["x0"][k]):.1f}" y1="{Y(leader["y0"][k]):.1f}" x2="{X(leader["x1"][k]):.1f}" '
                   f'y2="{Y(leader["y1"][k]):.1f}" stroke="{LEADER_COLOR}" stroke-opacity="{LEADER_ALPHA}" '
                   f'stroke-dasharray="{LEADER_DASH[0]} {LEADER_DASH[1]}"/>')
    b = columns["box"]
    for k in range(len(b["xm"])):
        cx, cy = X(b["xm"][k]), Y(b["ym"][k])
        angle = -math.degrees(float(b["rangle"][k]))
        w, h = float(b["bw"][k]), float(b["bh"][k])
        out.append(f'<rect x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" '
                   f'transform="rotate({angle:.1f} {cx:.1f} {cy:.1f})" fill="white" '
                   f'stroke="{_colour(b["color"][k])}" stroke-width="2"/>')
    d = columns["diode"]
    for k in range(len(d["xs"])):
        path = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in zip(d["xs"][k], d["ys"][k]))
        colour, alpha = _colour(d["color"][k]), float(d["alpha"][k])
        out.append(f'<polygon points="{path}" fill="{colour}" fill-opacity="{alpha:.2f}" stroke="{colour}"/>')
        out.append(f'<line x1="{X(d["bx0"][k]):.1f}" y1="{Y(d["by0"][k]):.1f}" x2="{X(d["bx1"][k]):.1f}" '
                   f'y2="{Y(d["by1"][k]):.1f}" stroke="{colour}" stroke-opacity="{alpha:.2f}" stroke-width="3"/>')
    s = columns["symbol"]
    for k in range(len(s["xm"])):
        out.append(f'<circle cx="{X(s["xm"][k]):.1f}" cy="{Y(s["ym"][k]):.1f}" r="{float(s["msize"][k]) / 2:.1f}" '
                   f'fill="white" stroke="{_colour(s["color"][k])}" stroke-width="2"/>')
    m = columns["mark"]
    for k in range(len(m["x"])):
        cx, cy = X(m["x"][k]), Y(m["y"][k])
        out.append(f'<text x="{cx:.1f}" y="{cy:.1f}" fill="{_colour(m["color"][k])}" font-size="{font + 2}" '
                   f'font-weight="bold" text-anchor="middle" dominant-baseline="central" '
                   f'transform="rotate({-math.degrees(float(m["angle"][k])):.1f} {cx:.1f} {cy:.1f})">'
                   f'{html.escape(str(m["text"][k]))}</text>')
    a = columns["arrow"]
    xs, ys = np.asarray(a["x"], dtype=float), np.asarray(a["y"], dtype=float)
    for k in range(0, len(xs), 4):
        path = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in zip(xs[k:k + 3], ys[k:k + 3]))
        out.append(f'<polygon points="{path}" fill="#08306b" fill-opacity="0.85"/>')
    n = columns["node"]
    for k in range(len(n["x"])):
        out.append(f'<circle cx="{X(n["x"][k]):.1f}" cy="{Y(n["y"][k]):.1f}" r="{float(n["size"][k]) / 2:.1f}" '
                   f'fill="{_colour(node_colours[k])}" stroke="{_colour(n["line_color"][k])}" '
                   f'stroke-width="{float(n["line_width"][k]):.1f}"/>')
    for source, key in ((columns["label"], "xm"), (n, "x")):
        ykey = "ym" if key == "xm" else "y"
        for k in range(len(source["label"])):
            text = str(source["label"][k])
            if not text:
                continue
            cx = X(source[key][k]) + float(source["lox"][k])
            cy = Y(source[ykey][k]) - float(source["loy"][k])
            lines = text.split("\n")
            top = cy - (len(lines) - 1) * 0.625 * font
            spans = "".join(f'<tspan x="{cx:.1f}" y="{top + j * 1.25 * font:.1f}">{html.escape(line)}</tspan>'
                            for j, line in enumerate(lines))
            anchor = TEXT_ANCHOR[source["align"][k]] if "align" in source else "middle"
            out.append(f'<text font-size="{font}" fill="#303030" text-anchor="{anchor}" '
                       f'dominant-baseline="central">{spans}</text>')
    out.append("</svg>")
    return "\n".join(out)
