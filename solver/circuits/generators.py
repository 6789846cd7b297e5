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


def _union_find(n):
    parent = np.arange(n)

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    return parent, find


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
    a loop) and current sources are added on top.

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
    net = Network()

    def log_uniform(lo, hi, size=None):
        return np.exp(rng.uniform(np.log(lo), np.log(hi), size))

    parents = [int(rng.integers(max(0, i - locality), i)) for i in range(1, n_nodes)]
    net.add_resistors([names[p] for p in parents], names[1:], log_uniform(0.1, 10.0, n_nodes - 1))

    def add_diode(i, j):
        theta = float(rng.uniform(0.0, 1.0)) if rng.random() < threshold_fraction else 0.0
        # orient so that v* satisfies it: v*_anode - v*_cathode <= theta
        a, c = (i, j) if v_star[i] - v_star[j] <= theta else (j, i)
        if v_star[a] - v_star[c] > theta:
            theta = float(v_star[a] - v_star[c])
        net.add_diode(names[a], names[c], threshold=theta)

    n_extra = int(extra_edges * n_nodes)
    for _ in range(n_extra):
        i = int(rng.integers(1, n_nodes))
        j = int(rng.integers(max(0, i - locality), i + 1))
        if i == j:
            continue
        if rng.random() < diode_fraction:
            add_diode(i, j)
        else:
            net.add_resistor(names[i], names[j], conductance=float(log_uniform(0.1, 10.0)))

    if n_vsources is None:
        n_vsources = max(1, n_nodes // 20)
    parent, find = _union_find(n_nodes)
    for _ in range(n_vsources):
        i = int(rng.integers(1, n_nodes))
        j = 0 if rng.random() > floating_fraction else int(rng.integers(max(0, i - locality), i + 1))
        if i == j or find(i) == find(j):
            continue
        parent[find(i)] = find(j)
        net.add_voltage_source(names[i], names[j], float(v_star[i] - v_star[j]))

    if n_isources is None:
        n_isources = max(1, n_nodes // 25)
    for _ in range(n_isources):
        i, j = rng.integers(0, n_nodes, size=2)
        if i != j:
            net.add_current_source(names[i], names[j], float(rng.normal(0.0, 1.0)))
    return net


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
    through a resistor.
    """
    if rows < 2 or cols < 2:
        raise ValueError("grid_network needs at least 2 x 2 nodes")
    rng = np.random.default_rng(seed)
    net = Network()

    def node(r, c):
        return f"g{r}_{c}"

    def v_star(r, c):
        return 5.0 - 10.0 * (r + c) / (rows + cols - 2)

    for r in range(rows):
        for c in range(cols):
            net.add_node(node(r, c), x=float(c), y=float(-r))
    a, b, g = [], [], []
    diodes = []
    for (r, c), (rr, cc) in grid_edges(rows, cols):
        a.append(node(r, c))
        b.append(node(rr, cc))
        g.append(float(np.exp(rng.uniform(np.log(0.2), np.log(5.0)))))
        if rng.random() < diode_fraction:
            # v* falls along r + c, so the far node may not exceed this one
            diodes.append((node(rr, cc), node(r, c)))
    net.add_resistors(a, b, g)
    for anode, cathode in diodes:
        net.add_diode(anode, cathode)
    for r in range(rows):
        for c in range(cols):
            if rng.random() < clamp_fraction:
                theta = float(rng.uniform(0.2, 2.0))
                if rng.random() < 0.5:
                    net.add_diode(node(r, c), "0", threshold=theta + max(0.0, v_star(r, c)))
                else:
                    net.add_diode("0", node(r, c), threshold=theta + max(0.0, -v_star(r, c)))
    net.add_voltage_source(node(0, 0), "0", 5.0)
    net.add_voltage_source(node(rows - 1, cols - 1), "0", -5.0)
    net.add_resistor(node(rows - 1, 0), "0", conductance=1.0)
    return net
