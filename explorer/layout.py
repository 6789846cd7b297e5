"""Where things go on the drawing: automatic layout, element routes, the view box and labels.

Pure functions of arrays (no Panel, no Bokeh), so that they are unit-tested and
computed only when the circuit's structure, its layout or the figure's size
changes, never on a value change.

* :func:`ensure_layout` gives nodes without a position a *layered* one: the
  source terminals in the first column on the left, every other node in the
  column of its graph distance from them (a DRN comes out as its layers),
  ground centred below; rows ordered by the mean row of their neighbours in the
  previous column. Linear cost (a breadth-first search and a few sorts), so
  thousands of nodes lay out in milliseconds. Positions already given are kept.
* :func:`routes` draws each element as a schematic does: straight when its
  nodes share a row or a column, else an elbow (down from the upper node, then
  across); parallel elements and elements whose straight line would run through
  another node are drawn as offset branches.
* :func:`place_labels` puts every label where it overlaps no other label, no
  symbol and no node, inside the plot, preferring places that cross no wire; a
  label that none of its candidate places fits (a frame whose scale crowds the
  nodes) goes to the nearest free spot of the frame rather than being dropped.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

__all__ = ["STYLES", "Style", "ensure_layout", "figure_height", "figure_size", "layered_positions", "place_labels", "routes",
           "view_box"]


class Style:
    """Sizes in screen pixels for one display mode (normal or presenter)."""

    def __init__(self, font, node, symbol_length, symbol_width, source, arrow_gap, margin):
        self.font = font  # label font size (px)
        self.node = node  # node circle diameter (px)
        self.symbol_length = symbol_length  # resistor box / diode length along the element (px)
        self.symbol_width = symbol_width  # resistor box / diode width across the element (px)
        self.source = source  # source circle diameter (px)
        self.arrow_gap = arrow_gap  # distance of the current arrow from the element's axis (px)
        self.margin = margin  # empty border around the drawing inside the plot frame (px)

    @property
    def char_width(self):
        # DejaVu/Liberation Sans average about 0.6 em; 0.66 em covers digits, capitals and "Ω"
        return 0.66 * self.font

    @property
    def line_height(self):
        return 1.25 * self.font


STYLES = {
    "normal": Style(font=11, node=16, symbol_length=30, symbol_width=12, source=26, arrow_gap=13, margin=14),
    "presenter": Style(font=19, node=24, symbol_length=44, symbol_width=18, source=38, arrow_gap=19, margin=20),
}

#: Page furniture around the circuit figure in the served app (px), used to predict the figure's
#: size for a window size: the drawing's first layout, until the browser reports the frame it
#: rendered (``CircuitView`` listens to the figure's ``inner_width``/``inner_height``). The page's
#: CSS (:mod:`explorer.page`) sizes the figure from the same numbers.
SIDEBAR_WIDTH = 350
PAGE_CHROME_WIDTH = 48  # main area padding and the figure's own borders
FIGURE_HEIGHT = 560  # the circuit figure's height (px), toolbar and colour bar included, outside the app
FIGURE_CHROME_HEIGHT = 80  # the toolbar above the plot frame and the colour bar below it
#: In the served app the figure's height follows the window's: the window's height less what lies
#: above the figure (header, tabs, palette, status line, view controls) and below it (the flow
#: toggle and the legend), kept between a height whose frame still holds a labelled circuit and
#: one past which a taller figure only adds empty margins.
PAGE_CHROME_HEIGHT = 330
#: Below this window width the controls above the figure take two rows more.
WRAPPED_CONTROLS_WINDOW = 1150
WRAPPED_PAGE_CHROME_HEIGHT = 420
FIGURE_MIN_HEIGHT = 520  # a 440 px frame: the smallest that holds every gallery example's labels at 1024 px
FIGURE_MAX_HEIGHT = 1100


def figure_height(window_width, window_height):
    """The circuit figure's height (px) in the served app for a browser window (as the page's CSS sets it)."""
    chrome = WRAPPED_PAGE_CHROME_HEIGHT if window_width <= WRAPPED_CONTROLS_WINDOW else PAGE_CHROME_HEIGHT
    return min(max(window_height - chrome, FIGURE_MIN_HEIGHT), FIGURE_MAX_HEIGHT)


def figure_size(window_width, window_height=None, sidebar=True):
    """Predicted plot-frame size (px) of the circuit figure in the served app for a browser window.

    The figure takes the main area's width (all of it when the sidebar is collapsed) and a height
    that follows the window's (:func:`figure_height`); with no window height, the fixed height it
    has outside the app (a notebook).
    """
    width = window_width - (SIDEBAR_WIDTH if sidebar else 0) - PAGE_CHROME_WIDTH
    height = FIGURE_HEIGHT if window_height is None else figure_height(window_width, window_height)
    return int(width), height - FIGURE_CHROME_HEIGHT


# --------------------------------------------------------------------------- automatic layout
COLUMN_SPACING = 2.0  # layout units between layers
ROW_SPACING = 1.0


def layered_positions(n_nodes, p, n, seeds, ground=None):
    """Layered positions for nodes ``0..n_nodes-1`` joined by edges ``p[k] - n[k]``.

    ``seeds`` (indices) form the first column; every other node goes in the column of its
    breadth-first distance from them (nodes not reachable start columns of their own); the
    ``ground`` index, if any, is centred under the drawing. Returns an ``(n_nodes, 2)`` array.
    """
    p, n = np.asarray(p, dtype=np.int64), np.asarray(n, dtype=np.int64)
    keep = (p != n)
    if ground is not None:
        keep &= (p != ground) & (n != ground)
    a, b = p[keep], n[keep]
    # a virtual node (index n_nodes) joined to every seed: one search finds every distance
    seeds = np.unique(np.asarray(list(seeds), dtype=np.int64))
    seeds = seeds[seeds != ground] if ground is not None else seeds
    rows = np.concatenate([a, b, np.full(len(seeds), n_nodes)])
    cols = np.concatenate([b, a, seeds])
    size = n_nodes + 1
    graph = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    layer = np.full(n_nodes, -1, dtype=np.int64)
    if len(seeds):
        order, pred = csgraph.breadth_first_order(graph, n_nodes, directed=False)
        depth = np.zeros(size, dtype=np.int64)
        for node in order[1:]:  # BFS order: a node's predecessor is done before it
            depth[node] = depth[pred[node]] + 1
        reached = order[order < n_nodes]
        layer[reached] = depth[reached] - 1
    # the rest (no source reaches them): each component from its first node, one column on
    for start in range(n_nodes):
        if layer[start] >= 0 or start == ground:
            continue
        order, pred = csgraph.breadth_first_order(graph, start, directed=False)
        base = int(layer.max()) + 1 if (layer >= 0).any() else 0
        depth = {start: 0}
        for node in order[1:]:
            depth[node] = depth[pred[node]] + 1
        for node in order:
            if node < n_nodes and layer[node] < 0 and node != ground:
                layer[node] = base + depth[node]
    if ground is not None:
        layer[ground] = -1
    # rows: discovery order, then two sweeps ordering each column by its neighbours' mean row
    rank = np.zeros(n_nodes)
    for k in np.unique(layer[layer >= 0]):
        members = np.flatnonzero(layer == k)
        rank[members] = np.arange(len(members))
    for _ in range(2):
        forward = np.concatenate([a, b]), np.concatenate([b, a])  # (from, to)
        src, dst = forward
        step = layer[dst] == layer[src] + 1
        total = np.bincount(dst[step], weights=rank[src[step]], minlength=n_nodes)
        count = np.bincount(dst[step], minlength=n_nodes)
        key = np.where(count > 0, total / np.maximum(count, 1), rank)
        order = np.lexsort((rank, key, layer))
        for k in np.unique(layer[layer >= 0]):
            members = order[layer[order] == k]
            rank[members] = np.arange(len(members))
    size_of = np.bincount(np.maximum(layer, 0), minlength=1)
    xy = np.zeros((n_nodes, 2))
    xy[:, 0] = np.maximum(layer, 0) * COLUMN_SPACING
    xy[:, 1] = ((size_of[np.maximum(layer, 0)] - 1) / 2 - rank) * ROW_SPACING
    if ground is not None:
        others = np.flatnonzero(layer >= 0)
        xy[ground] = (float(np.mean(xy[others, 0])) if len(others) else 0.0,
                      (float(xy[others, 1].min()) if len(others) else 0.0) - 1.5 * ROW_SPACING)
    return xy


def ensure_layout(net, seed=None):
    """Give every node without ``x``/``y`` a layered position (kept as node attributes).

    Nodes that already have a position keep it; new ones are laid out in layers to the right
    of them. ``seed`` is accepted for compatibility (the layout is deterministic).
    """
    nodes = net.nodes
    missing = [node for node in nodes if not {"x", "y"} <= set(net.node_attributes(node))]
    if not missing:
        return net
    index = {node: k for k, node in enumerate(nodes)}
    elements = net.elements()
    p = np.fromiter((index[e.p] for e in elements), dtype=np.int64, count=len(elements))
    n = np.fromiter((index[e.n] for e in elements), dtype=np.int64, count=len(elements))
    seeds = [index[node] for e in elements if e.kind in ("vsource", "isource") for node in (e.p, e.n)]
    ground = index.get("0")
    xy = layered_positions(len(nodes), p, n, seeds, ground)
    placed = [index[node] for node in nodes if node not in set(missing)]
    if placed:  # keep the drawing there is; the new nodes go to its right
        have = np.array([[net.node_attributes(nodes[k])["x"], net.node_attributes(nodes[k])["y"]]
                         for k in placed], dtype=float)
        todo = [index[node] for node in missing]
        xy = xy - xy[todo].min(axis=0) + [have[:, 0].max() + COLUMN_SPACING, have[:, 1].min()]
    for node in missing:
        x, y = xy[index[node]]
        net.add_node(node, x=float(x), y=float(y))
    return net


# --------------------------------------------------------------------------- element routes
PARALLEL_SPACING = 0.7  # offset between parallel branches, in units of the typical element length
DETOUR_LIMIT = 400  # above this many nodes, no check for wires running through other nodes


def routes(xy, pi, ni, orthogonal=True):
    """Each element's path from its p node to its n node, and where its symbol sits.

    Returns a dict of arrays over elements: ``a`` and ``b`` (the path's inner corners; NaN when
    not used: a straight element is p -> n, an elbow p -> a -> n, an offset branch
    p -> a -> b -> n), ``centre`` and ``direction`` (unit vector along the current's positive
    direction) of the symbol, ``leg`` (length of the segment the symbol sits on) and ``unit``
    (the typical element length).
    """
    xy = np.asarray(xy, dtype=float)
    pi, ni = np.asarray(pi, dtype=np.int64), np.asarray(ni, dtype=np.int64)
    m = len(pi)
    P, N = xy[pi], xy[ni]
    delta = N - P
    length = np.hypot(delta[:, 0], delta[:, 1])
    unit = float(np.median(length[length > 0])) if (length > 0).any() else 1.0
    tol = 1e-9 * max(unit, 1.0)
    a = np.full((m, 2), np.nan)
    b = np.full((m, 2), np.nan)
    # parallel groups (same unordered pair): the k-th of m gets rank k - (m-1)/2
    lo, hi = np.minimum(pi, ni), np.maximum(pi, ni)
    pair = lo * (len(xy) + 1) + hi
    order = np.argsort(pair, kind="stable")
    sorted_pair = pair[order]
    starts = np.flatnonzero(np.r_[True, sorted_pair[1:] != sorted_pair[:-1]]) if m else np.zeros(0, int)
    counts = np.diff(np.r_[starts, m])
    group_size = np.empty(m, dtype=np.int64)
    group_size[order] = np.repeat(counts, counts)
    position = np.empty(m)
    position[order] = np.arange(m) - np.repeat(starts, counts)
    elbow = orthogonal & (np.abs(delta[:, 0]) > tol) & (np.abs(delta[:, 1]) > tol)
    rank = np.where(elbow, position, position - (group_size - 1) / 2)
    spacing = PARALLEL_SPACING * unit
    # straight (and their offset branches): perpendicular of the canonical lo -> hi direction
    dc = xy[hi] - xy[lo]
    lc = np.maximum(np.hypot(dc[:, 0], dc[:, 1]), tol)
    perp = np.column_stack([-dc[:, 1] / lc, dc[:, 0] / lc])
    offset = perp * (rank * spacing)[:, None]
    if orthogonal and len(xy) <= DETOUR_LIMIT:
        # a lone straight element over a node or another symbol goes round the whole drawing
        straight = (group_size == 1) & ~elbow
        over = _runs_through(np.vstack([xy, (P + N)[straight] / 2]), P, N, tol)
        own = np.flatnonzero(straight)  # an element's own midpoint is not in its way
        over[own, len(xy) + np.arange(len(own))] = False
        detour = straight & over.any(axis=1)
        if detour.any():
            proj = np.einsum("knd,kd->kn", xy[None, :, :] - P[detour][:, None, :], perp[detour])
            high, low = proj.max(axis=1) + 0.5 * unit, proj.min(axis=1) - 0.5 * unit
            side = np.where(high <= -low, high, low)
            offset[detour] = perp[detour] * side[:, None]
            rank[detour] = 1.0  # marks a branch
    bent = ~elbow & (rank != 0)
    a[bent], b[bent] = P[bent] + offset[bent], N[bent] + offset[bent]
    # elbows: from the upper node down then across (or across then down, whichever runs over
    # fewer nodes, symbols and wires); parallel elbows fan out sideways from the first
    upper_is_p = P[:, 1] >= N[:, 1]
    upper = np.where(upper_is_p[:, None], P, N)
    lower = np.where(upper_is_p[:, None], N, P)
    down_first = np.column_stack([upper[:, 0], lower[:, 1]])
    across_first = np.column_stack([lower[:, 0], upper[:, 1]])
    corner = down_first.copy()
    plain = elbow & (rank == 0)
    if plain.any() and len(xy) <= DETOUR_LIMIT:
        corner[plain] = _choose_corners(xy, P, N, a, b, plain, down_first, across_first, tol)
    away = np.sign(upper[:, 0] - lower[:, 0])  # branches fan away from the lower node
    shift = np.column_stack([away * rank * spacing, np.zeros(m)])
    corner_top = upper + shift
    corner_bottom = down_first + shift
    first = np.where(upper_is_p[:, None], corner_top, corner_bottom)
    second = np.where(upper_is_p[:, None], corner_bottom, corner_top)
    fanned = elbow & (rank != 0)
    a[plain] = corner[plain]
    a[fanned], b[fanned] = first[fanned], second[fanned]
    # the symbol sits on the middle leg of a branch, on the vertical leg of an elbow, or mid-way
    start, end = P.copy(), N.copy()
    has_b = ~np.isnan(b[:, 0])
    start[has_b], end[has_b] = a[has_b], b[has_b]
    # plain elbow: the symbol stands upright on the vertical leg (rails run across), oriented p -> n
    on_first = np.abs(a[:, 0] - P[:, 0]) <= tol
    use_first, use_second = plain & on_first, plain & ~on_first
    end[use_first] = a[use_first]
    start[use_second] = a[use_second]
    leg_vector = end - start
    leg = np.hypot(leg_vector[:, 0], leg_vector[:, 1])
    direction = np.divide(leg_vector, np.maximum(leg, tol)[:, None])
    return dict(a=a, b=b, centre=(start + end) / 2, direction=direction, leg=leg, unit=unit)


def _runs_through(points, P, N, tol):
    """``[k, j]`` is True when segment ``P[k] -> N[k]`` passes over ``points[j]`` (not at its ends)."""
    d = N - P
    length2 = np.maximum((d ** 2).sum(axis=1), tol)
    rel = points[None, :, :] - P[:, None, :]  # (segments x points): small circuits only
    t = (rel * d[:, None, :]).sum(axis=2) / length2[:, None]
    dist2 = ((rel - t[:, :, None] * d[:, None, :]) ** 2).sum(axis=2)
    return (t > 1e-6) & (t < 1 - 1e-6) & (dist2 < (0.05 ** 2) * length2[:, None])


def _choose_corners(xy, P, N, a, b, plain, down_first, across_first, tol):
    """For each plain elbow, the corner whose two legs run over the fewest nodes, symbols and wires."""
    m = len(P)
    straight = np.isnan(a[:, 0]) & ~plain
    # fixed wires: straight elements and the legs of offset branches
    paths = [np.stack([P[k], N[k]]) if straight[k] else np.stack([P[k], a[k], b[k], N[k]])
             for k in range(m) if not plain[k]]
    wires = [(path[j], path[j + 1]) for path in paths for j in range(len(path) - 1)]
    symbols = [(P[k] + N[k]) / 2 for k in range(m) if straight[k]]
    centre = xy.mean(axis=0)
    elbows = np.flatnonzero(plain)
    chosen = {k: down_first[k] for k in elbows}
    for _ in range(2):  # the second pass sees every other elbow's choice
        for k in elbows:
            others = [leg for j in elbows if j != k for leg in ((P[j], chosen[j]), (chosen[j], N[j]))]
            best, best_score = None, None
            for corner in (down_first[k], across_first[k]):
                score = 0
                for s0, s1 in ((P[k], corner), (corner, N[k])):
                    score += 10 * _count_on_segment(xy, s0, s1, tol) + 10 * _count_on_segment(symbols, s0, s1, tol)
                    score += sum(_collinear_overlap(s0, s1, w0, w1, tol) for w0, w1 in wires + others)
                # on a tie, the corner away from the drawing's centre (wires go round the outside)
                score -= 1e-3 * float(np.hypot(*(corner - centre)))
                if best_score is None or score < best_score:
                    best, best_score = corner, score
            chosen[k] = best
    return np.array([chosen[k] for k in elbows]).reshape(-1, 2)


def _count_on_segment(points, s0, s1, tol):
    """How many points lie on the segment strictly between its ends."""
    if len(points) == 0:
        return 0
    points = np.asarray(points, dtype=float)
    d = s1 - s0
    length2 = float(d @ d)
    if length2 <= tol:
        return 0
    t = (points - s0) @ d / length2
    dist2 = (((points - s0) - t[:, None] * d) ** 2).sum(axis=1)
    return int(np.count_nonzero((t > 1e-6) & (t < 1 - 1e-6) & (dist2 < 1e-6 * length2)))


def _collinear_overlap(s0, s1, w0, w1, tol):
    """1 when two axis-parallel segments lie on one line and share more than a point."""
    for axis in (0, 1):
        other = 1 - axis
        if (abs(s0[other] - s1[other]) <= tol and abs(w0[other] - w1[other]) <= tol
                and abs(s0[other] - w0[other]) <= tol):
            lo = max(min(s0[axis], s1[axis]), min(w0[axis], w1[axis]))
            hi = min(max(s0[axis], s1[axis]), max(w0[axis], w1[axis]))
            return int(hi - lo > tol)
    return 0


# --------------------------------------------------------------------------- view box
def view_box(points, width, height, margin, max_scale=None):
    """Data ranges showing ``points`` in a ``width`` x ``height`` px frame at one scale on both axes.

    Returns ``(x0, x1, y0, y1, scale)`` with ``scale`` in px per data unit; ``margin`` px (one
    number, or ``(left and right, top and bottom)``) stay free on every side. ``max_scale``: px
    per unit beyond which a small drawing is not enlarged (it is centred instead).
    """
    points = np.asarray(points, dtype=float)
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) == 0:
        points = np.zeros((1, 2))
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.maximum(hi - lo, 1e-9)
    margin = np.broadcast_to(np.asarray(margin, dtype=float), (2,))
    usable = np.maximum([width - 2 * margin[0], height - 2 * margin[1]], 1.0)
    scale = float(np.min(usable / span))
    if not math.isfinite(scale) or scale <= 0 or (span <= 1e-9).all():
        scale = 100.0
    if max_scale is not None:
        scale = min(scale, max_scale)
    centre = (lo + hi) / 2
    half_w, half_h = width / (2 * scale), height / (2 * scale)
    return centre[0] - half_w, centre[0] + half_w, centre[1] - half_h, centre[1] + half_h, scale


# --------------------------------------------------------------------------- labels
def boxes_overlap(a, b):
    """Pairwise overlap of boxes ``(x0, y0, x1, y1)``: an ``(len(a), len(b))`` bool array."""
    a, b = np.asarray(a, dtype=float).reshape(-1, 4), np.asarray(b, dtype=float).reshape(-1, 4)
    return ((a[:, None, 0] < b[None, :, 2]) & (b[None, :, 0] < a[:, None, 2])
            & (a[:, None, 1] < b[None, :, 3]) & (b[None, :, 1] < a[:, None, 3]))


def _segments_cross_box(segments, box):
    """How many segments ``(x0, y0, x1, y1)`` pass through ``box`` (Liang-Barsky clipping)."""
    return int(_segments_crossing_boxes(segments, np.asarray(box, dtype=float).reshape(1, 4))[0])


def _segments_crossing_boxes(segments, boxes):
    """For each of ``boxes`` (B, 4), how many ``segments`` (S, 4) pass through it (Liang-Barsky)."""
    if len(segments) == 0 or len(boxes) == 0:
        return np.zeros(len(boxes), dtype=np.int64)
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
    return np.count_nonzero(ok & (t0 < t1), axis=1)


#: Grid step (px) of the search for a free spot, for a label none of whose candidates fits.
FREE_SPOT_STEP = 6.0
#: Above this many labels, neither reordering nor the free-spot search (a big drawing: hover).
SEARCH_LIMIT = 400


def place_labels(anchors, sizes, candidates, obstacles, frame, wires=None, soft=None, cell=80.0, retries=3):
    """Choose, for each label, the first candidate offset that collides with nothing.

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
    retries : int
        Greedy placement depends on the order: up to this many times, the labels left out go
        first and the others follow in their order.

    Returns ``(offsets, placed, chosen)``: the chosen offsets (L, 2), a bool mask of the labels
    that found a place (a label that found none is not drawn) and the index of the chosen
    candidate (-1 where none; for a label put at a free spot, the first candidate of the shape
    it has there).

    Greedy, in the given order, with a uniform grid of ``cell`` px to find nearby boxes, so the
    cost grows with the number of labels, not its square. A label that none of its candidates
    fits in any order (a crowded drawing in a frame whose scale brings its nodes close) goes
    to the nearest free spot of the frame: a grid search ranked by distance from its anchor plus
    the same costs for wires crossed and arrows covered. Labels that found no place are left
    out only where no spot of the frame is free.
    """
    anchors = np.asarray(anchors, dtype=float).reshape(-1, 2)
    obstacles = np.asarray(obstacles, dtype=float).reshape(-1, 4)
    obstacles = obstacles[np.isfinite(obstacles).all(axis=1)]
    wires = np.zeros((0, 4)) if wires is None else np.asarray(wires, dtype=float).reshape(-1, 4)
    wires = wires[np.isfinite(wires).all(axis=1)]
    soft = np.zeros((0, 4)) if soft is None else np.asarray(soft, dtype=float).reshape(-1, 4)
    sizes = [np.broadcast_to(np.asarray(sizes[k], dtype=float),
                             np.asarray(candidates[k], dtype=float).reshape(-1, 2).shape) for k in range(len(anchors))]
    offsets, placed, chosen = _place_greedy(anchors, sizes, candidates, obstacles, frame, wires, soft, cell)
    searched = len(anchors) <= SEARCH_LIMIT
    for _ in range(retries if searched else 0):
        if placed.all():
            break
        order = np.r_[np.flatnonzero(~placed), np.flatnonzero(placed)]
        retry = _place_greedy(anchors[order], [sizes[j] for j in order], [candidates[j] for j in order],
                              obstacles, frame, wires, soft, cell)
        if retry[1].sum() <= placed.sum():
            break
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        offsets, placed, chosen = retry[0][back], retry[1][back], retry[2][back]
    if searched and not placed.all():
        _place_in_free_spots(anchors, sizes, obstacles, frame, wires, soft, offsets, placed, chosen)
    return offsets, placed, chosen


def _place_greedy(anchors, sizes, candidates, obstacles, frame, wires, soft, cell):
    """One greedy pass of :func:`place_labels` over the labels in their order."""
    width, height = frame
    grid = {}

    def cells(box):
        for gx in range(int(box[0] // cell), int(box[2] // cell) + 1):
            for gy in range(int(box[1] // cell), int(box[3] // cell) + 1):
                yield gx, gy

    def add(box):
        for key in cells(box):
            grid.setdefault(key, []).append(box)

    def collides(box):
        for key in cells(box):
            for other in grid.get(key, ()):
                if box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]:
                    return True
        return False

    for box in obstacles:
        add(tuple(box))
    wire_box = np.column_stack([np.minimum(wires[:, 0], wires[:, 2]), np.minimum(wires[:, 1], wires[:, 3]),
                                np.maximum(wires[:, 0], wires[:, 2]), np.maximum(wires[:, 1], wires[:, 3])])
    offsets = np.zeros((len(anchors), 2))
    placed = np.zeros(len(anchors), dtype=bool)
    chosen = np.full(len(anchors), -1)
    for k in range(len(anchors)):
        options = np.asarray(candidates[k], dtype=float).reshape(-1, 2)
        halves = sizes[k] / 2
        best, best_cost = None, None
        for j, offset in enumerate(options):
            half = halves[j]
            cx, cy = anchors[k] + offset
            box = (cx - half[0], cy - half[1], cx + half[0], cy + half[1])
            if box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height or collides(box):
                continue
            near = ((wire_box[:, 0] <= box[2]) & (wire_box[:, 2] >= box[0])
                    & (wire_box[:, 1] <= box[3]) & (wire_box[:, 3] >= box[1]))
            covered = int(np.count_nonzero((soft[:, 0] < box[2]) & (box[0] < soft[:, 2])
                                           & (soft[:, 1] < box[3]) & (box[1] < soft[:, 3])))
            cost = _segments_cross_box(wires[near], box) * 100 + covered * 300 + j
            if best_cost is None or cost < best_cost:
                best, best_cost = (offset, box, j), cost
            if cost < 100:  # crosses no wire and covers no arrow: the earliest such candidate wins
                break
        if best is not None:
            offsets[k], placed[k], chosen[k] = best[0], True, best[2]
            add(best[1])
    return offsets, placed, chosen


def _place_in_free_spots(anchors, sizes, obstacles, frame, wires, soft, offsets, placed, chosen):
    """Put each label not yet placed at the free spot nearest its anchor (updates the arrays in place).

    Spots lie on a grid of ``FREE_SPOT_STEP`` px over the frame; a spot's cost is its distance
    (px) from the anchor plus 100 per wire crossed and 300 per arrow covered, as in the greedy
    pass. Spots are visited by distance, so the search stops once the distance alone exceeds
    the best cost found.
    """
    width, height = frame
    taken = [obstacles] + [np.r_[anchors[j] + offsets[j] - sizes[j][chosen[j]] / 2,
                                 anchors[j] + offsets[j] + sizes[j][chosen[j]] / 2][None, :]
                           for j in np.flatnonzero(placed)]
    xs = np.arange(0.0, width + FREE_SPOT_STEP, FREE_SPOT_STEP)
    ys = np.arange(0.0, height + FREE_SPOT_STEP, FREE_SPOT_STEP)
    spots = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    for k in np.flatnonzero(~placed):
        occupied = np.vstack(taken)
        shapes, first = np.unique(sizes[k], axis=0, return_index=True)
        best = None  # (cost, centre, shape index)
        for s, (w, h) in enumerate(shapes):
            inside = ((spots[:, 0] >= w / 2) & (spots[:, 0] <= width - w / 2)
                      & (spots[:, 1] >= h / 2) & (spots[:, 1] <= height - h / 2))
            centres = spots[inside]
            distance = np.hypot(*(centres - anchors[k]).T)
            order = np.argsort(distance, kind="stable")
            centres, distance = centres[order], distance[order]
            for lo in range(0, len(centres), 2048):
                if best is not None and distance[lo] >= best[0]:
                    break
                c = centres[lo:lo + 2048]
                boxes = np.column_stack([c - (w / 2, h / 2), c + (w / 2, h / 2)])
                free = ~boxes_overlap(boxes, occupied).any(axis=1)
                if not free.any():
                    continue
                boxes, d = boxes[free], distance[lo:lo + 2048][free]
                cost = (d + 100 * _segments_crossing_boxes(wires, boxes)
                        + 300 * boxes_overlap(boxes, soft).sum(axis=1))
                j = int(np.argmin(cost))
                if best is None or cost[j] < best[0]:
                    best = (float(cost[j]), (boxes[j, :2] + boxes[j, 2:]) / 2, s)
        if best is None:
            continue  # no spot of the frame is free for this label
        centre, shape = best[1], shapes[best[2]]
        offsets[k], placed[k], chosen[k] = centre - anchors[k], True, first[best[2]]
        taken.append(np.r_[centre - shape / 2, centre + shape / 2][None, :])


def ring(extent, distance):
    """Eight candidate offsets around a point for a box of half-size ``extent``, kept ``distance`` away.

    Order of preference: the four diagonals (upper right first), then right, left, up, down.
    """
    angles = np.array([0.25, 0.75, -0.25, -0.75, 0.0, 1.0, 0.5, -0.5]) * math.pi
    u = np.column_stack([np.cos(angles), np.sin(angles)])
    u[np.abs(u) < 1e-12] = 0.0
    with np.errstate(divide="ignore"):
        reach = np.min(np.where(np.abs(u) > 0, (np.asarray(extent) + distance) / np.abs(u), np.inf), axis=1)
    return u * reach[:, None]
