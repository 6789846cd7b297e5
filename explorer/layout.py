"""Where things go on the drawing: automatic layout, element routes and the view box.

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
* :func:`view_box` fits the drawing in the plot frame at one scale on both axes.

The labels are placed by :mod:`explorer.labels`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

__all__ = ["STYLES", "Style", "ensure_layout", "figure_height", "figure_size", "layered_positions", "routes",
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
