"""Random and structured test networks, always valid and feasible.

Used by the tests, the benchmarks and the explorer's gallery. Feasibility is
built in: a hidden potential ``v*`` is drawn first, every voltage source is set
to agree with it and every diode is oriented (and given a threshold) so that
``v*`` satisfies it. The solver never sees ``v*``.
"""

from __future__ import annotations

import numpy as np

from ..core.network import Network

__all__ = ["grid_edges", "grid_network", "random_network"]


def _log_uniform(rng, low, high, size):
    return np.exp(rng.uniform(np.log(low), np.log(high), size))


def _spanning_sources(rng, n_nodes, n_vsources, floating_fraction, locality):
    """Node pairs for up to ``n_vsources`` voltage sources that never close a loop.

    Each candidate joins a random node to ground or, with ``floating_fraction``,
    to a nearby node; union-find drops the candidates whose ends are already
    joined by earlier sources.
    """
    i = rng.integers(1, n_nodes, size=n_vsources)
    floating = rng.random(n_vsources) <= floating_fraction
    j = np.where(floating, rng.integers(np.maximum(0, i - locality), i + 1), 0)
    parent = np.arange(n_nodes)

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    keep = np.zeros(n_vsources, dtype=bool)
    for k, (a, b) in enumerate(zip(i.tolist(), j.tolist())):
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[root_a] = root_b
            keep[k] = True
    return i[keep], j[keep]


def random_network(n_nodes, *, seed=None, extra_edges=0.5, diode_fraction=0.4,
                   threshold_fraction=0.3, n_vsources=None, floating_fraction=0.3,
                   n_isources=None, locality=20) -> Network:
    """A random sparse, tree-like network on ``n_nodes`` nodes (ground included).

    A random spanning tree of resistors (each node joins one of the
    ``locality`` nodes created before it, which keeps fill-in of a sparse
    factorization low) fixes every potential; ``extra_edges * n_nodes``
    further local edges are diodes (a ``diode_fraction`` of them, many between
    two free nodes, a ``threshold_fraction`` of those with a positive
    threshold) or resistors. Voltage sources (grounded and floating, never in
    a loop) and current sources are added on top. Built from arrays
    (:meth:`Network.from_arrays`), so 1e6 nodes take seconds.

    Parameters
    ----------
    n_nodes : int
        Number of nodes including ground (>= 2).
    seed : int or numpy Generator, optional

    Returns
    -------
    Network
        Node names are ``"n1"``, ``"n2"``, ... and ground ``"0"``.
    """
    if n_nodes < 2:
        raise ValueError("random_network needs at least 2 nodes")
    rng = np.random.default_rng(seed)
    names = ["0"] + [f"n{i}" for i in range(1, n_nodes)]
    v_star = rng.normal(0.0, 2.0, size=n_nodes)
    v_star[0] = 0.0

    child = np.arange(1, n_nodes)
    parents = rng.integers(np.maximum(0, child - locality), child)
    tree_g = _log_uniform(rng, 0.1, 10.0, n_nodes - 1)

    n_extra = int(extra_edges * n_nodes)
    i = rng.integers(1, n_nodes, size=n_extra)
    j = rng.integers(np.maximum(0, i - locality), i + 1)
    is_diode = rng.random(n_extra) < diode_fraction
    with_threshold = rng.random(n_extra) < threshold_fraction
    theta = np.where(with_threshold, rng.uniform(0.0, 1.0, n_extra), 0.0)
    extra_g = _log_uniform(rng, 0.1, 10.0, n_extra)
    edge = i != j
    # orient each diode so that v* satisfies it: v*_anode - v*_cathode <= theta
    d = np.flatnonzero(edge & is_diode)
    forward = v_star[i[d]] - v_star[j[d]] <= theta[d]
    anode, cathode = np.where(forward, i[d], j[d]), np.where(forward, j[d], i[d])
    threshold = np.maximum(theta[d], v_star[anode] - v_star[cathode])
    r = np.flatnonzero(edge & ~is_diode)

    if n_vsources is None:
        n_vsources = max(1, n_nodes // 20)
    vp, vn = _spanning_sources(rng, n_nodes, n_vsources, floating_fraction, locality)

    if n_isources is None:
        n_isources = max(1, n_nodes // 25)
    ends = rng.integers(0, n_nodes, size=(n_isources, 2))
    current = rng.normal(0.0, 1.0, n_isources)
    distinct = ends[:, 0] != ends[:, 1]
    return Network.from_arrays(
        names,
        resistors=(np.concatenate([parents, i[r]]), np.concatenate([child, j[r]]),
                   np.concatenate([tree_g, extra_g[r]])),
        diodes=(anode, cathode, threshold),
        vsources=(vp, vn, v_star[vp] - v_star[vn]),
        isources=(ends[distinct, 0], ends[distinct, 1], current[distinct]),
    )


def grid_edges(rows, cols):
    """The edges of a ``rows x cols`` grid as ``((r, c), (r', c'))`` pairs, row by row, each
    cell's edge down before its edge right.

    >>> grid_edges(2, 2)
    [((0, 0), (1, 0)), ((0, 0), (0, 1)), ((0, 1), (1, 1)), ((1, 0), (1, 1))]
    """
    return [((r, c), (rr, cc)) for r in range(rows) for c in range(cols)
            for rr, cc in ((r + 1, c), (r, c + 1)) if rr < rows and cc < cols]


def grid_network(rows, cols, *, seed=None, diode_fraction=0.2, clamp_fraction=0.05) -> Network:
    """A ``rows x cols`` resistor grid driven from two corners, with diodes.

    Every grid edge is a resistor; a ``diode_fraction`` of them get an ideal
    diode in parallel (whole regions short together when they conduct), and a
    ``clamp_fraction`` of nodes get a diode to ground with a threshold
    (clamps). Diodes are oriented, and clamp thresholds chosen, so that the
    plane ``v* = 5 - 10 (r + c) / (rows + cols - 2)`` satisfies them all. A +V source drives the top-left corner, a
    -V source the bottom-right, and the bottom-left corner is grounded
    through a resistor. Node ``g{r}_{c}`` sits at ``x = c, y = -r``; the
    network is built from arrays (:meth:`Network.from_arrays`), so a
    1000 x 1000 grid takes seconds.
    """
    if rows < 2 or cols < 2:
        raise ValueError("grid_network needs at least 2 x 2 nodes")
    rng = np.random.default_rng(seed)
    r, c = np.divmod(np.arange(rows * cols), cols)  # node k + 1 is cell (r[k], c[k]), row by row
    names = ["0"] + [f"g{row}_{col}" for row in range(rows) for col in range(cols)]
    cell = np.arange(1, rows * cols + 1)
    # each cell's edge down, then its edge right, as grid_edges lists them
    near = np.stack([cell, cell], axis=1).reshape(-1)
    far = np.stack([cell + cols, cell + 1], axis=1).reshape(-1)
    inside = np.stack([r + 1 < rows, c + 1 < cols], axis=1).reshape(-1)
    near, far = near[inside], far[inside]
    g = _log_uniform(rng, 0.2, 5.0, near.size)
    # v* falls along r + c, so a diode from the far node to this one holds at v*
    parallel = rng.random(near.size) < diode_fraction

    v_star = 5.0 - 10.0 * (r + c) / (rows + cols - 2)
    clamped = np.flatnonzero(rng.random(rows * cols) < clamp_fraction)
    theta = rng.uniform(0.2, 2.0, clamped.size)
    to_ground = rng.random(clamped.size) < 0.5
    clamp_node = cell[clamped]
    clamp_threshold = theta + np.maximum(0.0, np.where(to_ground, v_star[clamped], -v_star[clamped]))
    zero = np.zeros(clamped.size, dtype=np.int64)

    corner = cell[[0, rows * cols - 1]]  # top left, bottom right
    return Network.from_arrays(
        names,
        resistors=(np.append(near, cell[(rows - 1) * cols]), np.append(far, 0), np.append(g, 1.0)),
        diodes=(np.concatenate([far[parallel], np.where(to_ground, clamp_node, zero)]),
                np.concatenate([near[parallel], np.where(to_ground, zero, clamp_node)]),
                np.concatenate([np.zeros(int(parallel.sum())), clamp_threshold])),
        vsources=(corner, np.zeros(2, dtype=np.int64), np.array([5.0, -5.0])),
        node_attributes={"x": np.append(np.nan, c.astype(float)), "y": np.append(np.nan, -r.astype(float))},
    )
