"""The static part of the circuit drawing: geometry of wires, symbols, arrows and labels.

:func:`layout_drawing` is a pure function of the network's structure and node
positions, the plot frame's size in pixels and the display style. It is
computed when one of those changes (an element added, a node dragged, the
window resized, presenter mode toggled) and never on a value change, which
only recolours and rewrites text in the slots laid out here.

Everything a label must avoid is known here in pixels: the symbols, the node
circles, the current arrows at their largest and the plot's edge. Label
boxes are sized for the longest text the slot can hold (the element's name,
then a value and a current of at most ``VALUE_CHARS`` characters each). A
label placed farther than ``NEAR_LINES`` lines of text from what it names
gets a thin leader line to its anchor (``leaders``), drawn under the labels.
"""

from __future__ import annotations

import numpy as np

from .labels import leader_lines, place_labels, ring, text_cores, text_sides
from .layout import STYLES, routes, view_box

__all__ = ["BOX_LIMIT", "LEADER_ALPHA", "LEADER_COLOR", "LEADER_DASH", "NEAR_LINES", "VALUE_CHARS", "layout_drawing",
           "node_label_text", "element_label_text"]

#: Above this many nodes, elements are plain wires (no symbols, no elbows: a mesh, a big DRN).
BOX_LIMIT = 120
#: Longest value text a label holds, "-999.9 mΩ": a sign, 4 significant digits, a space, a prefix and the unit.
VALUE_CHARS = 10
#: px per layout unit (one grid cell) past which a drawing is not enlarged: a small circuit in a
#: tall figure stays at the size it had in a 560 px one, and the grid points next to it, where
#: the palette's clicks place new nodes, stay in view
MAX_SCALE = 200.0
#: A label within this many text lines of its node's circle or its element's symbol reads as
#: theirs; one placed farther (a crowded drawing) gets a leader line to its anchor.
NEAR_LINES = 2.0
#: Leader lines: thin, dotted (a wire is solid) and in the grey of the labels' text.
LEADER_COLOR = "#525252"
LEADER_ALPHA = 0.8
LEADER_DASH = (2, 2)


def node_label_text(name, voltage_text=None, stacked=False):
    if voltage_text is None:
        return f"{name}"
    return f"{name}\n{voltage_text}" if stacked else f"{name}: {voltage_text}"


def element_label_text(name, value_text, current_text, stacked=False):
    """``"R1 1 kΩ\n4.3 mA"``, or stacked on three lines where a narrow label fits better."""
    return f"{name}\n{value_text}\n{current_text}" if stacked else f"{name} {value_text}\n{current_text}"


#: Room (px) between a label's text and the sides of its box: across, and up and down.
TEXT_PAD = (4.0, 3.0)


def _box(lines, style):
    """Reserved size (px) of a label with ``lines`` (numbers of characters per line)."""
    return max(lines) * style.char_width + 2 * TEXT_PAD[0], len(lines) * style.line_height + 2 * TEXT_PAD[1]


def _text_places(anchors, boxes):
    """Horizontal alignment of each label's text and its anchor point's offset (px) from the label's anchor.

    A box reserves room for the longest value, so a shorter text centred in it would drift away
    from what it names: the text stands against the side of its box that faces its anchor
    (left-aligned in a box right of the anchor, right-aligned in one left of it; centred in a
    box above or below it), as :func:`explorer.labels.text_cores` assumes.
    """
    align, text_x = [], []
    for anchor, box in zip(anchors, boxes):
        right_of, left_of = (side[0] for side in text_sides(box[None, :], anchor))
        align.append("left" if right_of else "right" if left_of else "center")
        text_x.append(box[0] + TEXT_PAD[0] if right_of else box[2] - TEXT_PAD[0] if left_of else (box[0] + box[2]) / 2)
    centre_y = (boxes[:, 1] + boxes[:, 3]) / 2
    return align, np.column_stack([np.array(text_x) - anchors[:, 0], centre_y - anchors[:, 1]]).reshape(-1, 2)


def _element_label_sizes(name, style):
    """(wide, stacked) label sizes: name and value on one line, or name, value, current on three."""
    n = len(str(name))
    return _box([n + 1 + VALUE_CHARS, VALUE_CHARS], style), _box([n, VALUE_CHARS, VALUE_CHARS], style)


def _node_label_sizes(name, values, style):
    n = len(str(name))
    if not values:
        return _box([n], style), _box([n], style)
    return _box([n + 2 + VALUE_CHARS], style), _box([max(n, VALUE_CHARS), VALUE_CHARS], style)


def layout_drawing(xy, pi, ni, kinds, node_names, element_names, frame, *, presenter=False,
                   node_labels=True, element_labels=True, values=True, orthogonal=True):
    """Geometry of one drawing (arrays over nodes and elements); see the module docstring.

    Parameters
    ----------
    xy : (n, 2) array of node positions (data units); ``pi``/``ni``: element p/n node indices.
    kinds : sequence of element kinds; ``node_names``/``element_names``: text of the labels.
    frame : (width, height) of the plot frame in px.
    presenter : large fonts and symbols.
    node_labels, element_labels : whether those labels are drawn; ``values``: whether node
        labels hold a voltage after the name.
    orthogonal : route small circuits' elements as horizontal and vertical runs (a schematic);
        False draws every element straight from node to node (a dense layered network, whose
        elbows would run on top of each other).
    """
    style = STYLES["presenter" if presenter else "normal"]
    xy = np.asarray(xy, dtype=float)
    pi, ni = np.asarray(pi, dtype=np.int64), np.asarray(ni, dtype=np.int64)
    kinds = np.asarray(list(kinds), dtype=object)
    n_nodes, m = len(xy), len(pi)
    small = n_nodes <= BOX_LIMIT
    route = routes(xy, pi, ni, orthogonal=small and orthogonal)
    a, b, centre, direction = route["a"], route["b"], route["centre"], route["direction"]
    width, height = frame
    points = np.vstack([xy, a[np.isfinite(a[:, 0])], b[np.isfinite(b[:, 0])]])
    # room for the labels at the edge: margin + a label's height
    labelled = node_labels or element_labels
    margin = (style.margin + (8 * style.char_width if labelled else 0),
              style.margin + (style.line_height * 2 + 8 if labelled else 0))
    x0, x1, y0, y1, scale = view_box(points, width, height, margin, max_scale=MAX_SCALE)

    def px(points_xy):
        return (np.asarray(points_xy) - [x0, y0]) * scale

    leg_px = route["leg"] * scale
    symbol_len = np.minimum(style.symbol_length, 0.6 * leg_px)  # px along the element
    symbol_len = np.where(np.isin(kinds, ("vsource", "isource")), np.minimum(style.source, 0.7 * leg_px), symbol_len)
    symbol_wid = np.where(np.isin(kinds, ("vsource", "isource")), symbol_len, style.symbol_width * symbol_len
                          / max(style.symbol_length, 1))
    if not small:  # a big circuit: thin symbols only for diodes and sources, as before
        symbol_len = np.where(kinds == "resistor", 0.0, 0.5 * symbol_len)
        symbol_wid = np.where(kinds == "resistor", 0.0, 0.5 * symbol_wid)
    normal = np.column_stack([-direction[:, 1], direction[:, 0]])
    angle = np.arctan2(direction[:, 1], direction[:, 0])

    # diodes: a triangle from the anode side to a bar at the cathode (data units)
    kd = np.flatnonzero(kinds == "diode")
    half = (symbol_len[kd] / 2 / scale)[:, None]
    wide = (symbol_wid[kd] / 2 / scale)[:, None]
    tip = centre[kd] + direction[kd] * half
    base = centre[kd] - direction[kd] * half
    diode = dict(
        index=kd,
        xs=np.column_stack([base[:, 0] + normal[kd, 0] * wide[:, 0], base[:, 0] - normal[kd, 0] * wide[:, 0],
                            tip[:, 0]]),
        ys=np.column_stack([base[:, 1] + normal[kd, 1] * wide[:, 0], base[:, 1] - normal[kd, 1] * wide[:, 0],
                            tip[:, 1]]),
        bar=np.column_stack([tip + normal[kd] * wide, tip - normal[kd] * wide]),  # x0 y0 x1 y1
    )
    # sources: polarity marks inside the circle; a current source gets an arrow p -> n instead
    ks = np.flatnonzero(np.isin(kinds, ("vsource", "isource")))
    mark_x, mark_y, mark_text, mark_angle, mark_owner = [], [], [], [], []
    for k in ks:
        r = symbol_len[k] / 2 / scale
        if kinds[k] == "vsource":
            for sign, text in ((-1, "+"), (1, "−")):  # + at p, − at n
                spot = centre[k] + direction[k] * sign * 0.45 * r
                mark_x.append(spot[0]), mark_y.append(spot[1]), mark_text.append(text)
                mark_angle.append(0.0), mark_owner.append(k)
        else:
            mark_x.append(centre[k, 0]), mark_y.append(centre[k, 1]), mark_text.append("➜")
            mark_angle.append(float(angle[k])), mark_owner.append(k)
    marks = dict(x=np.array(mark_x), y=np.array(mark_y), text=mark_text, angle=np.array(mark_angle),
                 owner=np.array(mark_owner, dtype=np.int64),
                 font=f"{round((0.6 if small else 0.35) * style.source)}px")

    # current arrows beside each symbol, on the side of +normal; half-length at most half the symbol
    arrow_len = np.maximum(symbol_len, np.minimum(style.symbol_length, 0.6 * leg_px)) / 2
    arrow_centre = centre + normal * ((symbol_wid / 2 + style.arrow_gap) / scale)[:, None]
    arrow = dict(centre=arrow_centre, direction=direction, half=arrow_len / scale,
                 base=np.full(m, 3.5 if not presenter else 5.0) / scale,
                 floor=np.full(m, 5.0) / scale)

    # -------- obstacles in px: node circles, symbols (their axis-aligned box), arrows at full size
    c_px = px(centre)
    ext_x = np.abs(direction[:, 0]) * symbol_len / 2 + np.abs(normal[:, 0]) * symbol_wid / 2
    ext_y = np.abs(direction[:, 1]) * symbol_len / 2 + np.abs(normal[:, 1]) * symbol_wid / 2
    element_bodies = np.column_stack([c_px[:, 0] - ext_x, c_px[:, 1] - ext_y, c_px[:, 0] + ext_x, c_px[:, 1] + ext_y])
    symbol_boxes = element_bodies[symbol_len > 0]
    a_px = px(arrow_centre)
    arrow_w = arrow["base"] * scale + 1
    aex = np.abs(direction[:, 0]) * arrow_len + np.abs(normal[:, 0]) * arrow_w
    aey = np.abs(direction[:, 1]) * arrow_len + np.abs(normal[:, 1]) * arrow_w
    arrow_boxes = np.column_stack([a_px[:, 0] - aex, a_px[:, 1] - aey, a_px[:, 0] + aex, a_px[:, 1] + aey])
    node_size = style.node if n_nodes <= 60 else (0.75 * style.node if small else 7.0)
    n_px = px(xy)
    node_boxes = np.column_stack([n_px - node_size / 2, n_px + node_size / 2])
    obstacles = np.vstack([symbol_boxes, node_boxes]) if m else node_boxes

    # -------- wires in px (segments p -> a -> b -> n, NaN where unused)
    path = np.stack([xy[pi], a, b, xy[ni]], axis=1)  # (m, 4, 2)
    filled = path.copy()
    for j in (2, 1):  # a NaN corner: the path skips it
        gap = np.isnan(filled[:, j, 0])
        filled[gap, j] = filled[gap, j + 1]
    gap = np.isnan(filled[:, 1, 0])
    filled[gap, 1] = filled[gap, 2]
    seg = np.concatenate([filled[:, :-1], filled[:, 1:]], axis=2).reshape(-1, 4)
    wires_px = np.column_stack([px(seg[:, :2]), px(seg[:, 2:])])

    # -------- labels: elements first (they are bigger), then nodes
    anchors, sizes, candidates, owners, bodies, names = [], [], [], [], [], []
    if element_labels:
        for k in range(m):
            nrm, d = normal[k], direction[k]
            offsets_k, sizes_k = [], []
            shapes = _element_label_sizes(element_names[k], style)
            # beside the symbol first (away from the arrow, then past it), in one shape then the
            # other, then slid along the element, then further out
            for out in (1.0, 1.6, 2.3, 3.2):
                for shift_steps in (0, 0.5, -0.5, 1, -1, 2, -2):
                    for w, h in shapes:
                        extent_n = abs(nrm[0]) * w / 2 + abs(nrm[1]) * h / 2
                        extent_d = abs(d[0]) * w / 2 + abs(d[1]) * h / 2
                        near = symbol_wid[k] / 2 + 4 + extent_n
                        far = symbol_wid[k] / 2 + style.arrow_gap + arrow_w[k] + 4 + extent_n
                        shift = shift_steps * (symbol_len[k] / 2 + 4 + extent_d)
                        for side in (-nrm * near * out, nrm * far * out):
                            offsets_k.append(side + d * shift)
                            sizes_k.append((w, h))
            anchors.append(c_px[k]), sizes.append(np.array(sizes_k)), candidates.append(np.array(offsets_k))
            owners.append(("element", k)), bodies.append(element_bodies[k]), names.append(element_names[k])
    if node_labels:
        for k in range(n_nodes):
            offsets_k, sizes_k = [], []
            for gap in (3, 12, 20, 45, 70):
                for w, h in _node_label_sizes(node_names[k], values, style):
                    ring_k = ring((w / 2, h / 2), node_size / 2 + gap, 16 if gap < 40 else 8)
                    offsets_k.append(ring_k)
                    sizes_k.append(np.tile((w, h), (len(ring_k), 1)))
            anchors.append(n_px[k]), sizes.append(np.vstack(sizes_k)), candidates.append(np.vstack(offsets_k))
            owners.append(("node", k)), bodies.append(node_boxes[k]), names.append(node_names[k])
    near = NEAR_LINES * style.line_height
    bodies = np.array(bodies).reshape(-1, 4)
    name_widths = np.array([len(str(name)) * style.char_width for name in names])  # every text starts with it
    offsets, placed, chosen = place_labels(anchors, sizes, candidates, obstacles, (width, height), wires=wires_px,
                                           soft=arrow_boxes, bodies=bodies, near=near, text_widths=name_widths,
                                           pad=TEXT_PAD)
    size_of = [sizes[j][max(chosen[j], 0)] for j in range(len(anchors))]
    # the stacked shape is the second of each pair of sizes offered
    stacked = np.array([not np.array_equal(size_of[j], sizes[j][0]) for j in range(len(anchors))], dtype=bool)
    label_boxes = np.array([[*(np.asarray(anchors[j]) + offsets[j] - size_of[j] / 2),
                             *(np.asarray(anchors[j]) + offsets[j] + size_of[j] / 2)]
                            for j in range(len(anchors))]).reshape(-1, 4)
    anchors = np.array(anchors).reshape(-1, 2)
    align, offsets = _text_places(anchors, label_boxes)
    shown = np.flatnonzero(placed)
    cores = np.array([text_cores(label_boxes[j][None, :], anchors[j], name_widths[j], TEXT_PAD)[0] for j in shown])
    lead, lead_px = leader_lines(anchors[shown], cores.reshape(-1, 4), bodies[shown], near)
    lead_data = np.column_stack([lead_px[:, :2] / scale + [x0, y0], lead_px[:, 2:] / scale + [x0, y0]])
    leaders = dict(x0=lead_data[:, 0], y0=lead_data[:, 1], x1=lead_data[:, 2], y1=lead_data[:, 3],
                   owner=[owners[j] for j in shown[lead]])
    element_rows = [j for j, (kind, _) in enumerate(owners) if kind == "element"]
    node_rows = [j for j, (kind, _) in enumerate(owners) if kind == "node"]
    return dict(
        style=style, scale=scale, ranges=(x0, x1, y0, y1), frame=(width, height), route=route,
        symbol_length=symbol_len, symbol_width=symbol_wid, angle=angle, diode=diode, marks=marks,
        arrow=arrow, node_size=node_size, small=small, leaders=leaders, near=near,
        # text anchor points (px from the label's anchor) and alignments
        element_label_offset=offsets[element_rows] if element_rows else np.zeros((m, 2)),
        element_label_align=[align[j] for j in element_rows] if element_rows else ["center"] * m,
        element_label_shown=placed[element_rows] if element_rows else np.zeros(m, dtype=bool),
        element_label_stacked=stacked[element_rows] if element_rows else np.zeros(m, dtype=bool),
        node_label_stacked=stacked[node_rows] if node_rows else np.zeros(n_nodes, dtype=bool),
        node_label_offset=offsets[node_rows] if node_rows else np.zeros((n_nodes, 2)),
        node_label_align=[align[j] for j in node_rows] if node_rows else ["center"] * n_nodes,
        node_label_shown=placed[node_rows] if node_rows else np.zeros(n_nodes, dtype=bool),
        # for tests: every drawn label's reserved box in px (plot frame, y up)
        label_boxes=label_boxes[placed] if len(label_boxes) else label_boxes,
        label_owners=[owners[j] for j in shown], label_bodies=bodies[shown],
        symbol_boxes=symbol_boxes, arrow_boxes=arrow_boxes, node_boxes=node_boxes, wires_px=wires_px,
    )
