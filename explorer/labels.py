"""Where the labels go: overlapping nothing, inside the plot, and next to what they name.

Pure functions of arrays in screen pixels (plot frame coordinates, y up), computed with the
rest of the drawing's geometry (:mod:`explorer.drawing`) when the circuit's structure, its
layout or the frame changes, never on a value change.

:func:`place_labels` gives each label, greedily, the candidate place (an offset from its
anchor, in order of preference) of lowest cost among those that overlap no other label, no
symbol and no node and lie inside the frame. A place costs

* ``WIRE_COST`` per wire the label crosses and ``ARROW_COST`` per current arrow it covers;
* when its text lies farther than ``near`` px from its *body* (the node's circle, the
  element's symbol), so that it needs a leader line to show what it names, ``LEADER_COST``
  plus that distance, and ``CROSSING_COST`` per label, node, symbol or leader line that the
  leader crosses;
* ``CROSSING_COST`` per leader line of an earlier label that it covers.

A label therefore sits next to its node across a wire or over an arrow rather than away
from it, and away from it only where nothing near is free. A label none of whose candidates
fits goes to the cheapest free spot of a grid over the frame (the same costs; spots visited
nearest first), rather than being dropped. A box reserves room for the longest value; the
text stands against its side that faces the anchor (:func:`text_cores`), so "near" is
measured from the text. :func:`leader_lines` draws the line of each label placed beyond
``near``: from the point of its text nearest its anchor to the anchor.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["FREE_SPOT_STEP", "SEARCH_LIMIT", "box_gaps", "boxes_overlap", "leader_lines", "place_labels", "ring",
           "segments_crossing", "segments_intersect", "text_cores", "text_sides"]

WIRE_COST = 100.0
ARROW_COST = 300.0
#: A label that needs a leader line costs more than one next to its node covering an arrow or crossing a wire.
LEADER_COST = 400.0
#: Per label, node or symbol that a leader line crosses, and per leader line that a label covers.
CROSSING_COST = 100.0
#: Grid step (px) of the search for a free spot, for a label none of whose candidates fits.
FREE_SPOT_STEP = 6.0
#: Above this many labels, neither reordering nor the free-spot search (a big drawing: hover).
SEARCH_LIMIT = 400


def boxes_overlap(a, b):
    """Pairwise overlap of boxes ``(x0, y0, x1, y1)``: an ``(len(a), len(b))`` bool array."""
    a, b = np.asarray(a, dtype=float).reshape(-1, 4), np.asarray(b, dtype=float).reshape(-1, 4)
    return ((a[:, None, 0] < b[None, :, 2]) & (b[None, :, 0] < a[:, None, 2])
            & (a[:, None, 1] < b[None, :, 3]) & (b[None, :, 1] < a[:, None, 3]))


def box_gaps(boxes, body):
    """Distance (px) from each of ``boxes`` (B, 4) to the box ``body``; 0 where they touch or overlap."""
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    dx = np.maximum(0.0, np.maximum(body[0] - boxes[:, 2], boxes[:, 0] - body[2]))
    dy = np.maximum(0.0, np.maximum(body[1] - boxes[:, 3], boxes[:, 1] - body[3]))
    return np.hypot(dx, dy)


def segments_crossing(segments, boxes):
    """``[b, s]``: whether segment ``s`` of ``segments`` (S, 4) runs through the inside of box ``b`` (B, 4).

    Liang-Barsky clipping.
    """
    segments = np.asarray(segments, dtype=float).reshape(-1, 4)
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    if len(segments) == 0 or len(boxes) == 0:
        return np.zeros((len(boxes), len(segments)), dtype=bool)
    x0, y0, x1, y1 = (c[None, :] for c in segments.T)
    bx0, by0, bx1, by1 = (c[:, None] for c in boxes.T)
    dx, dy = x1 - x0, y1 - y0
    t0 = np.zeros((len(boxes), len(segments)))
    t1 = np.ones_like(t0)
    ok = np.ones_like(t0, dtype=bool)
    for p, q in ((-dx, x0 - bx0), (dx, bx1 - x0), (-dy, y0 - by0), (dy, by1 - y0)):
        p = np.broadcast_to(p, t0.shape)
        parallel = np.abs(p) < 1e-12
        ok &= ~(parallel & (q < 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = q / p
        t0 = np.where(~parallel & (p < 0), np.maximum(t0, r), t0)
        t1 = np.where(~parallel & (p > 0), np.minimum(t1, r), t1)
    return ok & (t0 < t1)


def text_sides(boxes, anchor):
    """For label boxes (B, 4) around one ``anchor``: which lie wholly right of it, and which left."""
    return boxes[:, 0] >= anchor[0], boxes[:, 2] <= anchor[0]


def text_cores(boxes, anchor, width, pad):
    """The part of each label box (B, 4) that its text always covers, whatever the values it shows.

    A box reserves room for the longest value; the text stands against the side facing the
    anchor (left-aligned in a box right of it, right-aligned in one left of it, else centred),
    ``pad = (across, up and down)`` px inside, and is at least ``width`` px wide (the name).
    ``width=None``: the whole box.
    """
    if width is None:
        return boxes
    right_of, left_of = text_sides(boxes, anchor)
    left = np.where(right_of, boxes[:, 0] + pad[0],
                    np.where(left_of, boxes[:, 2] - pad[0] - width, (boxes[:, 0] + boxes[:, 2] - width) / 2))
    return np.column_stack([left, boxes[:, 1] + pad[1], left + width, boxes[:, 3] - pad[1]])


def _outer_leaders(cores, body, anchor):
    """The part of each label's leader line that lies outside its body: text -> the body's edge.

    ``cores`` (B, 4) are the text of places of one label whose anchor lies in ``body``.
    Returns (B, 4) segments.
    """
    start = np.clip(anchor, cores[:, :2], cores[:, 2:])
    d = anchor - start
    with np.errstate(divide="ignore", invalid="ignore"):
        # where the line q + t d enters the body along each axis (the face it meets first)
        entry = np.where(d > 0, (body[:2] - start) / d, np.where(d < 0, (body[2:] - start) / d, 0.0))
    t = np.clip(np.nan_to_num(entry.max(axis=1)), 0.0, 1.0)
    return np.column_stack([start, start + (t * (1 - 1e-9))[:, None] * d])


def leader_lines(anchors, cores, bodies, near):
    """The leader line of each label whose text is farther than ``near`` px from its body.

    ``cores``: the part of each label's box that its text always covers (:func:`text_cores`).

    Returns ``(index, segments)``: the labels that need one and, for each, the segment
    ``(x0, y0, x1, y1)`` from the point of its text nearest its anchor to the anchor.
    """
    anchors = np.asarray(anchors, dtype=float).reshape(-1, 2)
    cores = np.asarray(cores, dtype=float).reshape(-1, 4)
    gap = np.array([box_gaps(cores[j], bodies[j])[0] for j in range(len(cores))])
    index = np.flatnonzero(gap > near)
    start = np.clip(anchors[index], cores[index, :2], cores[index, 2:])
    return index, np.column_stack([start, anchors[index]]).reshape(-1, 4)


def place_labels(anchors, sizes, candidates, obstacles, frame, wires=None, soft=None, bodies=None, near=math.inf,
                 text_widths=None, pad=(0.0, 0.0), cell=80.0, retries=3):
    """Choose, for each label, the collision-free candidate of lowest cost (see the module docstring).

    Parameters
    ----------
    anchors : (L, 2) array
        Label anchor points in px (plot frame coordinates, y up).
    sizes : list of (2,) or (C_k, 2) arrays
        Width and height of each label's box in px, one for all its candidates or one per
        candidate (a label may be offered in several shapes, e.g. on one line or on two).
    candidates : list of (C_k, 2) arrays
        Offsets (px) of the box centre from its anchor, in order of preference.
    obstacles : (K, 4) array
        Boxes ``(x0, y0, x1, y1)`` no label may overlap (symbols, nodes, arrows).
    frame : (width, height)
        The plot frame: every label must lie inside it.
    wires : (S, 4) array, optional
        Wire segments; a candidate crossing fewer wires is preferred.
    soft : (K, 4) array, optional
        Boxes a label should rather not cover (current arrows): each costs more than a wire.
    bodies : (L, 4) array, optional
        What each label names (its node's circle, its element's symbol), holding its anchor;
        by default the anchor point itself.
    near : float
        Distance (px) between a label's text and its body beyond which the label needs a
        leader line (and costs more).
    text_widths : (L,) array, optional
        The narrowest text of each label (its name), in px; with ``pad``, where in its box the
        text is (:func:`text_cores`). By default the text fills the box.
    retries : int
        Greedy placement depends on the order: up to this many times, the labels left out go
        first, then those placed far from their body, then the others in their order; a pass
        is kept when it leaves fewer labels out, or as many and draws fewer leader lines (or as
        many at a lower cost).

    Returns ``(offsets, placed, chosen)``: the chosen offsets (L, 2), a bool mask of the labels
    that found a place (a label that found none is not drawn) and the index of the chosen
    candidate (-1 where none; for a label put at a free spot, the first candidate of the shape
    it has there).

    Greedy, in the given order, with a uniform grid of ``cell`` px to find nearby boxes, so the
    cost grows with the number of labels, not its square. A label that none of its candidates
    fits in any order (a crowded drawing in a frame whose scale brings its nodes close) goes
    to the cheapest free spot of the frame. Labels are left out only where no spot of the
    frame is free.
    """
    anchors = np.asarray(anchors, dtype=float).reshape(-1, 2)
    obstacles = np.asarray(obstacles, dtype=float).reshape(-1, 4)
    obstacles = obstacles[np.isfinite(obstacles).all(axis=1)]
    wires = np.zeros((0, 4)) if wires is None else np.asarray(wires, dtype=float).reshape(-1, 4)
    wires = wires[np.isfinite(wires).all(axis=1)]
    soft = np.zeros((0, 4)) if soft is None else np.asarray(soft, dtype=float).reshape(-1, 4)
    bodies = np.hstack([anchors, anchors]) if bodies is None else np.asarray(bodies, dtype=float).reshape(-1, 4)
    sizes = [np.broadcast_to(np.asarray(sizes[k], dtype=float),
                             np.asarray(candidates[k], dtype=float).reshape(-1, 2).shape) for k in range(len(anchors))]
    widths = [None] * len(anchors) if text_widths is None else np.asarray(text_widths, dtype=float)
    scene = dict(obstacles=obstacles, frame=frame, wires=wires, soft=soft, near=near, pad=pad)
    result = _place_greedy(anchors, sizes, candidates, bodies, widths, scene, cell)
    searched = len(anchors) <= SEARCH_LIMIT
    for _ in range(retries if searched else 0):
        placed, far = result[1], result[3]
        if placed.all() and not far.any():
            break
        order = np.r_[np.flatnonzero(~placed), np.flatnonzero(far), np.flatnonzero(placed & ~far)]
        retry = _place_greedy(anchors[order], [sizes[j] for j in order], [candidates[j] for j in order],
                              bodies[order], [widths[j] for j in order], scene, cell)
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        retry = tuple(column[back] for column in retry)
        if _score(retry) >= _score(result):
            break
        result = retry
    offsets, placed, chosen = result[:3]
    if searched and not placed.all():
        _place_in_free_spots(anchors, sizes, bodies, widths, scene, offsets, placed, chosen)
    return offsets, placed, chosen


def _score(result):
    """How good one greedy pass is: fewest labels left out, then fewest leader lines, then lowest cost."""
    _, placed, _, far, cost = result
    return int(np.count_nonzero(~placed)), int(np.count_nonzero(far)), float(cost[placed].sum())


def _leader_penalty(cores, body, anchor, near, blockers, leaders):
    """Extra cost of places of one label, whose text is ``cores`` (B, 4), for being far from its body.

    0 where near; ``blockers``: boxes its leader line should not cross; ``leaders``: other
    labels' leader lines.
    """
    gap = box_gaps(cores, body)
    far = gap > near
    penalty = np.zeros(len(cores))
    if far.any():
        lines = _outer_leaders(cores[far], body, anchor)
        crossed = segments_crossing(lines, blockers).sum(axis=0) + segments_intersect(lines, leaders).sum(axis=1)
        penalty[far] = LEADER_COST + gap[far] + CROSSING_COST * crossed
    return penalty


def segments_intersect(a, b):
    """``[i, j]``: whether segments ``a[i]`` and ``b[j]`` (``(x0, y0, x1, y1)`` rows) cross at one inner point."""
    a, b = np.asarray(a, dtype=float).reshape(-1, 4), np.asarray(b, dtype=float).reshape(-1, 4)
    p, r = a[:, None, :2], a[:, None, 2:] - a[:, None, :2]
    q, s = b[None, :, :2], b[None, :, 2:] - b[None, :, :2]

    def cross(u, v):
        return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]

    denom = cross(r, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = cross(q - p, s) / denom
        u = cross(q - p, r) / denom
    return (np.abs(denom) > 1e-12) & (t > 0) & (t < 1) & (u > 0) & (u < 1)


def _place_greedy(anchors, sizes, candidates, bodies, widths, scene, cell):
    """One greedy pass of :func:`place_labels` over the labels in their order.

    Each label's candidates are weighed together (a few array operations per label), against
    the boxes, wires and arrows near them only: a uniform grid of ``cell`` px holds the boxes
    placed so far, so the cost grows with the number of labels, not its square.

    Returns ``(offsets, placed, chosen, far, costs)``: ``far`` marks the labels placed beyond
    ``near`` (with a leader line), ``costs`` the cost of each label's place.
    """
    width, height = scene["frame"]
    wires, soft, near, pad = scene["wires"], scene["soft"], scene["near"], scene["pad"]
    grid = {}

    def cells(box):
        for gx in range(int(box[0] // cell), int(box[2] // cell) + 1):
            for gy in range(int(box[1] // cell), int(box[3] // cell) + 1):
                yield gx, gy

    def add(box):
        for key in cells(box):
            grid.setdefault(key, []).append(box)

    def boxes_in(region):
        found = [box for key in cells(region) for box in grid.get(key, ())]
        return np.array(found).reshape(-1, 4)

    def meeting(boxes, region):
        """Those of ``boxes`` whose bounding box meets ``region``."""
        return boxes[(boxes[:, 0] <= region[2]) & (boxes[:, 2] >= region[0])
                     & (boxes[:, 1] <= region[3]) & (boxes[:, 3] >= region[1])]

    for box in scene["obstacles"]:
        add(tuple(box))
    wire_box = np.column_stack([np.minimum(wires[:, 0], wires[:, 2]), np.minimum(wires[:, 1], wires[:, 3]),
                                np.maximum(wires[:, 0], wires[:, 2]), np.maximum(wires[:, 1], wires[:, 3])])
    leaders = np.zeros((0, 4))  # the outer parts of the leader lines of the labels placed so far
    offsets = np.zeros((len(anchors), 2))
    placed = np.zeros(len(anchors), dtype=bool)
    chosen = np.full(len(anchors), -1)
    far = np.zeros(len(anchors), dtype=bool)
    costs = np.zeros(len(anchors))
    for k in range(len(anchors)):
        options = np.asarray(candidates[k], dtype=float).reshape(-1, 2)
        centres = anchors[k] + options
        boxes = np.column_stack([centres - sizes[k] / 2, centres + sizes[k] / 2])
        index = np.flatnonzero((boxes[:, 0] >= 0) & (boxes[:, 1] >= 0) & (boxes[:, 2] <= width)
                               & (boxes[:, 3] <= height))
        if len(index) == 0:
            continue
        boxes = boxes[index]
        region = (*np.minimum(boxes[:, :2].min(axis=0), bodies[k][:2]),
                  *np.maximum(boxes[:, 2:].max(axis=0), bodies[k][2:]))
        taken = boxes_in(region)
        free = ~boxes_overlap(boxes, taken).any(axis=1)
        index, boxes = index[free], boxes[free]
        if len(index) == 0:
            continue
        near_wires = wires[(wire_box[:, 0] <= region[2]) & (wire_box[:, 2] >= region[0])
                           & (wire_box[:, 1] <= region[3]) & (wire_box[:, 3] >= region[1])]
        penalty = (WIRE_COST * segments_crossing(near_wires, boxes).sum(axis=1)
                   + ARROW_COST * boxes_overlap(boxes, meeting(soft, region)).sum(axis=1)
                   + CROSSING_COST * segments_crossing(leaders, boxes).sum(axis=1))
        cores = text_cores(boxes, anchors[k], widths[k], pad)
        distant = box_gaps(cores, bodies[k]) > near
        best = next((j for j in np.flatnonzero(penalty == 0) if not distant[j]), None)
        if best is None:  # no near place crossing and covering nothing: weigh them all
            blockers = np.unique(taken, axis=0)  # (a box may lie in several cells)
            penalty = penalty + _leader_penalty(cores, bodies[k], anchors[k], near, blockers, leaders)
            best = int(np.argmin(penalty + 1e-3 * index))  # on a tie, the candidate preferred first
        offsets[k], placed[k], chosen[k], costs[k] = options[index[best]], True, index[best], penalty[best]
        add(tuple(boxes[best]))
        far[k] = distant[best]
        if far[k]:
            leaders = np.vstack([leaders, _outer_leaders(cores[best:best + 1], bodies[k], anchors[k])])
    return offsets, placed, chosen, far, costs


def _place_in_free_spots(anchors, sizes, bodies, widths, scene, offsets, placed, chosen):
    """Put each label not yet placed at its cheapest free spot (updates the arrays in place).

    Spots lie on a grid of ``FREE_SPOT_STEP`` px over the frame; a spot costs the distance (px)
    of the label's text from its body, plus the costs of the greedy pass (wires, arrows, a leader line
    and what it crosses). Spots are visited in order of that distance (then of the distance
    from the anchor, which also breaks ties), so the search stops once the distance alone,
    with the leader's cost beyond ``near``, reaches the best cost found.
    """
    width, height = scene["frame"]
    wires, soft, near, pad = scene["wires"], scene["soft"], scene["near"], scene["pad"]
    label_boxes = [np.r_[anchors[j] + offsets[j] - sizes[j][chosen[j]] / 2,
                         anchors[j] + offsets[j] + sizes[j][chosen[j]] / 2][None, :]
                   for j in np.flatnonzero(placed)]
    cores = [(j, text_cores(box, anchors[j], widths[j], pad)) for j, box in zip(np.flatnonzero(placed), label_boxes)]
    leaders = [_outer_leaders(core, bodies[j], anchors[j]) for j, core in cores if box_gaps(core, bodies[j])[0] > near]
    xs = np.arange(0.0, width + FREE_SPOT_STEP, FREE_SPOT_STEP)
    ys = np.arange(0.0, height + FREE_SPOT_STEP, FREE_SPOT_STEP)
    spots = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    for k in np.flatnonzero(~placed):
        occupied = np.vstack([scene["obstacles"], *label_boxes])
        crossing = np.vstack([np.zeros((0, 4)), *leaders])
        shapes, first = np.unique(sizes[k], axis=0, return_index=True)
        best = None  # (cost, centre, shape index)
        for s, (w, h) in enumerate(shapes):
            inside = ((spots[:, 0] >= w / 2) & (spots[:, 0] <= width - w / 2)
                      & (spots[:, 1] >= h / 2) & (spots[:, 1] <= height - h / 2))
            centres = spots[inside]
            boxes = np.column_stack([centres - (w / 2, h / 2), centres + (w / 2, h / 2)])
            gap = box_gaps(text_cores(boxes, anchors[k], widths[k], pad), bodies[k])
            bound = gap + np.where(gap > near, LEADER_COST, 0.0)  # a lower bound of the cost
            order = np.lexsort((np.hypot(*(centres - anchors[k]).T), bound))
            boxes, bound = boxes[order], bound[order]
            for lo in range(0, len(boxes), 2048):
                if best is not None and bound[lo] >= best[0]:
                    break
                chunk = boxes[lo:lo + 2048]
                free = ~boxes_overlap(chunk, occupied).any(axis=1)
                if not free.any():
                    continue
                chunk = chunk[free]
                core = text_cores(chunk, anchors[k], widths[k], pad)
                gap = box_gaps(core, bodies[k])
                cost = (np.where(gap > near, 0.0, gap)
                        + _leader_penalty(core, bodies[k], anchors[k], near, occupied, crossing)
                        + WIRE_COST * segments_crossing(wires, chunk).sum(axis=1)
                        + ARROW_COST * boxes_overlap(chunk, soft).sum(axis=1)
                        + CROSSING_COST * segments_crossing(crossing, chunk).sum(axis=1))
                j = int(np.argmin(cost))  # the first of equal costs: the nearest spot
                if best is None or cost[j] < best[0]:
                    best = (float(cost[j]), (chunk[j, :2] + chunk[j, 2:]) / 2, s)
        if best is None:
            continue  # no spot of the frame is free for this label
        centre, shape = best[1], shapes[best[2]]
        offsets[k], placed[k], chosen[k] = centre - anchors[k], True, first[best[2]]
        box = np.r_[centre - shape / 2, centre + shape / 2][None, :]
        label_boxes.append(box)
        core = text_cores(box, anchors[k], widths[k], pad)
        if box_gaps(core, bodies[k])[0] > near:
            leaders.append(_outer_leaders(core, bodies[k], anchors[k]))


def ring(extent, distance, count=8):
    """``count`` (8 or 16) candidate offsets around a point for a box of half-size ``extent``, ``distance`` away.

    Order of preference: the four diagonals (upper right first), then right, left, up, down;
    with 16, then the eight directions between those (those nearer the horizontal first).
    """
    turns = [0.25, 0.75, -0.25, -0.75, 0.0, 1.0, 0.5, -0.5]
    if count == 16:
        turns += [0.125, 0.875, -0.125, -0.875, 0.375, 0.625, -0.375, -0.625]
    elif count != 8:
        raise ValueError(f"ring: count must be 8 or 16, not {count!r}")
    angles = np.array(turns) * math.pi
    u = np.column_stack([np.cos(angles), np.sin(angles)])
    u[np.abs(u) < 1e-12] = 0.0
    with np.errstate(divide="ignore"):
        reach = np.min(np.where(np.abs(u) > 0, (np.asarray(extent) + distance) / np.abs(u), np.inf), axis=1)
    return u * reach[:, None]
