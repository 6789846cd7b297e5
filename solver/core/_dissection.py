"""Nested-dissection fill-reducing ordering in numba, from breadth-first level sets.

Where minimum degree on the explicit graph gives up (2-D grids: its cliques
grow as the elimination proceeds), the solver orders by nested dissection:
split the graph by a small separator, number the separator last, and order
both halves the same way. On a planar mesh the separators are about the
square root of the part's size, which bounds the fill at O(n log n) and the
work of a factorisation at O(n^1.5), without ever forming a clique.

No coordinates are needed: the separator is one level of a breadth-first
search from a pseudo-peripheral node (the far end of a search from the far
end of a search), chosen among the levels near the middle as the smallest,
then thinned (a separator node with no neighbour in the next level joins the
near part). Parts at most ``leaf_size`` nodes are ordered by minimum degree.
Everything works on one node array cut into segments, processed from a stack:
a segment holds one part; a part found disconnected is split into its
components first. The ordering only decides speed: any permutation gives the
same factorisation up to rounding.
"""

import numpy as np
from numba import njit

from ..config import NUMBA_OPTIONS
from ._ordering import minimum_degree_order, symmetric_adjacency

__all__ = ["nested_dissection_order"]


@njit(**NUMBA_OPTIONS)
def _search(root, part, label, ptr, adj, level, seen, visit, queue):
    """Breadth-first search from root inside the nodes labelled ``part``; returns the count reached.

    ``queue[:count]`` holds them in visiting order, ``level`` their distance
    from root; ``seen[v] == visit`` marks them (a fresh ``visit`` per search,
    so no array is ever reset).
    """
    queue[0] = root
    seen[root] = visit
    level[root] = 0
    head, tail = 0, 1
    while head < tail:
        v = queue[head]
        head += 1
        for p in range(ptr[v], ptr[v + 1]):
            u = adj[p]
            if label[u] == part and seen[u] != visit:
                seen[u] = visit
                level[u] = level[v] + 1
                queue[tail] = u
                tail += 1
    return tail


@njit(**NUMBA_OPTIONS)
def _order_leaf(nodes, lo, hi, part, label, ptr, adj, local):
    """Reorder ``nodes[lo:hi]`` (one part) by minimum degree on the edges inside the part."""
    size = hi - lo
    for i in range(size):
        local[nodes[lo + i]] = i
    edges = 0
    for i in range(size):
        v = nodes[lo + i]
        for p in range(ptr[v], ptr[v + 1]):
            if label[adj[p]] == part:
                edges += 1
    rows = np.empty(edges, dtype=np.int64)
    cols = np.empty(edges, dtype=np.int64)
    t = 0
    for i in range(size):
        v = nodes[lo + i]
        for p in range(ptr[v], ptr[v + 1]):
            if label[adj[p]] == part:
                rows[t] = i
                cols[t] = local[adj[p]]
                t += 1
    order, _ = minimum_degree_order(size, rows, cols, 1 << 62)
    members = nodes[lo:hi].copy()
    for i in range(size):
        nodes[lo + i] = members[order[i]]


@njit(**NUMBA_OPTIONS)
def nested_dissection_order(n, rows, cols, leaf_size):
    """Pivot order (``order[k]`` is the k-th pivot) of the symmetric pattern given by COO ``rows, cols``."""
    ptr, adj = symmetric_adjacency(n, rows, cols)
    nodes = np.arange(n, dtype=np.int64)
    label = np.zeros(n, dtype=np.int64)
    seen = np.full(n, -1, dtype=np.int64)
    level = np.zeros(n, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    local = np.empty(n, dtype=np.int64)
    side = np.empty(n, dtype=np.int8)
    buffer = np.empty(n, dtype=np.int64)
    stack = np.empty(2 * n + 2, dtype=np.int64)
    top = 0
    if n:
        stack[0], stack[1] = 0, n
        top = 1
    part, visit = 0, 0
    while top:
        top -= 1
        lo, hi = stack[2 * top], stack[2 * top + 1]
        size = hi - lo
        part += 1
        for i in range(lo, hi):
            label[nodes[i]] = part
        if size <= leaf_size:
            _order_leaf(nodes, lo, hi, part, label, ptr, adj, local)
            continue
        visit += 1
        reached = _search(nodes[lo], part, label, ptr, adj, level, seen, visit, queue)
        if reached < size:  # disconnected: the component first, the rest as another segment
            at = lo
            for i in range(reached):
                buffer[at] = queue[i]
                at += 1
            for i in range(lo, hi):
                if seen[nodes[i]] != visit:
                    buffer[at] = nodes[i]
                    at += 1
            nodes[lo:hi] = buffer[lo:hi]
            stack[2 * top], stack[2 * top + 1] = lo, lo + reached
            stack[2 * top + 2], stack[2 * top + 3] = lo + reached, hi
            top += 2
            continue
        root = queue[reached - 1]  # far from the first root: a pseudo-peripheral node
        visit += 1
        _search(root, part, label, ptr, adj, level, seen, visit, queue)
        depth = level[queue[reached - 1]]
        if depth < 2:  # nearly a clique: no useful separator
            _order_leaf(nodes, lo, hi, part, label, ptr, adj, local)
            continue
        width = np.zeros(depth + 1, dtype=np.int64)
        for i in range(reached):
            width[level[queue[i]]] += 1
        # the narrowest level whose nodes before it make up 35-65 % of the part (else the median level)
        best, best_width, before = -1, size + 1, 0
        middle = -1
        for d in range(depth + 1):
            if middle < 0 and before + width[d] >= size // 2:
                middle = d
            if 0 < d < depth and 0.35 * size <= before <= 0.65 * size and width[d] < best_width:
                best, best_width = d, width[d]
            before += width[d]
        cut = best if best >= 0 else min(max(middle, 1), depth - 1)
        for i in range(reached):  # 0: near part, 1: far part, 2: separator
            v = queue[i]
            d = level[v]
            if d < cut:
                side[v] = 0
            elif d > cut:
                side[v] = 1
            else:
                side[v] = 0
                for p in range(ptr[v], ptr[v + 1]):
                    u = adj[p]
                    if label[u] == part and level[u] == cut + 1:
                        side[v] = 2
                        break
        near = lo
        for i in range(lo, hi):
            if side[nodes[i]] == 0:
                buffer[near] = nodes[i]
                near += 1
        far = near
        for i in range(lo, hi):
            if side[nodes[i]] == 1:
                buffer[far] = nodes[i]
                far += 1
        sep = far
        for i in range(lo, hi):
            if side[nodes[i]] == 2:
                buffer[sep] = nodes[i]
                sep += 1
        nodes[lo:hi] = buffer[lo:hi]
        for i in range(far, hi):
            label[nodes[i]] = 0  # numbered: no longer part of any search
        if near > lo:
            stack[2 * top], stack[2 * top + 1] = lo, near
            top += 1
        if far > near:
            stack[2 * top], stack[2 * top + 1] = near, far
            top += 1
    return nodes
