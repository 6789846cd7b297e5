"""Graph searches of the compile step, in numba: linear in nodes plus edges at any size.

Small networks must not pay for building sparse matrices (a scipy graph
search costs about a millisecond of set-up), and a 1e6-node network must not
pay for Python loops or for a union-find without ranks (6 s of CPU on a
1e6-node grid, its trees grown into chains). Both functions work on flat
edge arrays and allocate their outputs.
"""

import numpy as np
from numba import njit

from ..config import NUMBA_OPTIONS

__all__ = ["source_forest", "unreached_from"]


@njit(**NUMBA_OPTIONS)
def _find(parent, a):
    while parent[a] != a:
        parent[a] = parent[parent[a]]  # path halving
        a = parent[a]
    return a


@njit(**NUMBA_OPTIONS)
def unreached_from(n, ei, ej, root):
    """Nodes not joined to ``root`` by the edges (ei, ej), in increasing order.

    Union-find by size with path halving: near-linear whatever the edge order.
    """
    parent = np.arange(n)
    size = np.ones(n, dtype=np.int64)
    for t in range(ei.shape[0]):
        a = _find(parent, ei[t])
        b = _find(parent, ej[t])
        if a != b:
            if size[a] < size[b]:
                a, b = b, a
            parent[b] = a
            size[a] += size[b]
    r = _find(parent, root)
    out = np.empty(n, dtype=np.int64)
    count = 0
    for k in range(n):
        if _find(parent, k) != r:
            out[count] = k
            count += 1
    return out[:count]


@njit(**NUMBA_OPTIONS)
def source_forest(n, vp, vn):
    """Breadth-first spanning forest of the voltage sources (vp[e], vn[e]) over n nodes.

    Groups of source-joined nodes are searched from their lowest node, in
    increasing order (ground's group from ground); each node's sources are
    tried in index order. Returns ``(parent_edge, in_tree, root_of,
    children)``: the source joining each node to its parent (-1 at roots and
    untouched nodes), the sources of the forest, each node's root, and the
    non-root nodes in search order (every node after its parent).
    """
    m = vp.shape[0]
    start = np.zeros(n + 1, dtype=np.int64)  # CSR of incident sources per node
    for e in range(m):
        start[vp[e] + 1] += 1
        start[vn[e] + 1] += 1
    for k in range(n):
        start[k + 1] += start[k]
    incident = np.empty(2 * m, dtype=np.int64)
    fill = start[:n].copy()
    for e in range(m):
        incident[fill[vp[e]]] = e
        fill[vp[e]] += 1
        incident[fill[vn[e]]] = e
        fill[vn[e]] += 1
    parent_edge = np.full(n, -1, dtype=np.int64)
    in_tree = np.zeros(m, dtype=np.bool_)
    root_of = np.arange(n)
    seen = np.zeros(n, dtype=np.bool_)
    queue = np.empty(n, dtype=np.int64)
    tail = 0
    for root in range(n):
        if seen[root] or start[root] == start[root + 1]:
            continue
        seen[root] = True
        head = tail
        queue[tail] = root
        tail += 1
        while head < tail:
            k = queue[head]
            head += 1
            for t in range(start[k], start[k + 1]):
                e = incident[t]
                other = vn[e] if vp[e] == k else vp[e]
                if not seen[other]:
                    seen[other] = True
                    root_of[other] = root
                    parent_edge[other] = e
                    in_tree[e] = True
                    queue[tail] = other
                    tail += 1
    children = np.empty(tail, dtype=np.int64)
    count = 0
    for t in range(tail):  # the search order without the roots
        if parent_edge[queue[t]] >= 0:
            children[count] = queue[t]
            count += 1
    return parent_edge, in_tree, root_of, children[:count]
