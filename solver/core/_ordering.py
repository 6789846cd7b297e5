"""Minimum-degree fill-reducing ordering in numba, on the explicit elimination graph.

The solver orders the unmerged reduced Laplacian once per network structure
(see ``solve._slot_rank``). SuperLU's ordering costs far more than the
factorisation it prepares on these sparse, tree-like graphs; eliminating on
the graph itself costs about the fill it creates, which is small there.

Eliminating a node joins its remaining neighbours into a clique. Each node's
neighbour list lives in one shared pool (a list that outgrows its slot moves
to the pool's end); degrees sit in bucket lists so the minimum is found by
scanning up from the last minimum. No quotient graph, no supervariables: the
cost grows with the fill, so the solver gives up after
``config.MIN_DEGREE_WORK`` list visits per matrix entry and orders by nested
dissection (``_dissection``) instead. The ordering only decides
speed: any permutation gives the same factorisation up to rounding.
"""

import numpy as np
from numba import njit

from ..config import NUMBA_OPTIONS

__all__ = ["minimum_degree_order"]


@njit(**NUMBA_OPTIONS)
def _unlink(k, degree, head, nxt, prv):
    """Take node k out of its degree bucket."""
    if prv[k] >= 0:
        nxt[prv[k]] = nxt[k]
    else:
        head[degree[k]] = nxt[k]
    if nxt[k] >= 0:
        prv[nxt[k]] = prv[k]


@njit(**NUMBA_OPTIONS)
def _link(k, degree, head, nxt, prv):
    """Put node k at the front of its degree bucket."""
    d = degree[k]
    nxt[k] = head[d]
    prv[k] = -1
    if head[d] >= 0:
        prv[head[d]] = k
    head[d] = k


@njit(**NUMBA_OPTIONS)
def symmetric_adjacency(n, rows, cols):
    """Neighbour lists (CSR ``ptr, adj``) of the symmetric pattern of COO ``rows, cols``.

    Both directions of every entry; diagonal and duplicate entries dropped.
    """
    count = np.zeros(n + 1, dtype=np.int64)
    for t in range(rows.shape[0]):
        if rows[t] != cols[t]:
            count[rows[t] + 1] += 1
            count[cols[t] + 1] += 1
    for k in range(n):
        count[k + 1] += count[k]
    raw = np.empty(count[n], dtype=np.int64)  # both directions, grouped per node
    at = count[:n].copy()
    for t in range(rows.shape[0]):
        i, j = rows[t], cols[t]
        if i != j:
            raw[at[i]] = j
            at[i] += 1
            raw[at[j]] = i
            at[j] += 1
    ptr = np.zeros(n + 1, dtype=np.int64)
    adj = np.empty(count[n], dtype=np.int64)
    mark = np.full(n, -1, dtype=np.int64)
    for k in range(n):
        mark[k] = k
        end = ptr[k]
        for p in range(count[k], count[k + 1]):
            j = raw[p]
            if mark[j] != k:
                mark[j] = k
                adj[end] = j
                end += 1
        ptr[k + 1] = end
    return ptr, adj


@njit(**NUMBA_OPTIONS)
def _initial_lists(n, rows, cols):
    """Neighbour lists in a pool with room to grow: ``(pool, start, capacity, length)``."""
    ptr, adj = symmetric_adjacency(n, rows, cols)
    start = np.zeros(n + 1, dtype=np.int64)
    for k in range(n):
        start[k + 1] = start[k] + 2 * (ptr[k + 1] - ptr[k]) + 4  # spare room: the first fill lands in place
    pool = np.empty(2 * start[n] + 16, dtype=np.int64)
    length = np.zeros(n, dtype=np.int64)
    for k in range(n):
        length[k] = ptr[k + 1] - ptr[k]
        pool[start[k]:start[k] + length[k]] = adj[ptr[k]:ptr[k + 1]]
    return pool, start[:n].copy(), start[1:] - start[:n], length


@njit(**NUMBA_OPTIONS)
def minimum_degree_order(n, rows, cols, max_work):
    """Pivot order (``order[k]`` is the k-th pivot) of the symmetric pattern given by COO ``rows, cols``.

    Returns ``(order, work)``; gives up, returning an empty order, once the
    list entries visited exceed ``max_work`` (the fill grows too fast for
    elimination on the explicit graph: large cliques, as on 2-D grids).
    """
    pool, start, capacity, length = _initial_lists(n, rows, cols)
    used = start[n - 1] + capacity[n - 1] if n else 0
    degree = length.copy()
    head = np.full(n + 1, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    prv = np.full(n, -1, dtype=np.int64)
    for k in range(n):
        _link(k, degree, head, nxt, prv)
    mark = np.full(n, -1, dtype=np.int64)
    dead = np.zeros(n, dtype=np.bool_)  # eliminated; lists drop dead entries when next rebuilt
    order = np.empty(n, dtype=np.int64)
    low = 0
    work = 0
    for step in range(n):
        while head[low] < 0:
            low += 1
        pivot = head[low]
        _unlink(pivot, degree, head, nxt, prv)
        order[step] = pivot
        dead[pivot] = True
        first, size = start[pivot], 0
        for p in range(first, first + length[pivot]):  # the pivot's live neighbours
            if not dead[pool[p]]:
                pool[first + size] = pool[p]
                size += 1
        if size == 1:  # a leaf: its neighbour just loses it (lazily, no rebuild)
            u = pool[first]
            _unlink(u, degree, head, nxt, prv)
            degree[u] -= 1
            _link(u, degree, head, nxt, prv)
            low = min(low, degree[u])
            continue
        for a in range(first, first + size):  # each neighbour: drop the dead, join the others
            u = pool[a]
            stamp = step * n + u  # unique per (step, neighbour): mark never needs a reset
            mark[u] = stamp
            kept = 0
            for p in range(start[u], start[u] + length[u]):
                v = pool[p]
                if not dead[v]:
                    pool[start[u] + kept] = v
                    kept += 1
                    mark[v] = stamp
            work += length[u] + size
            if work > max_work:
                return order[:0], work
            extra = 0
            for b in range(first, first + size):
                if mark[pool[b]] != stamp:
                    extra += 1
            if kept + extra > capacity[u]:  # move the list to the end of the pool, with room
                room = 2 * (kept + extra)
                if used + room > pool.shape[0]:
                    bigger = np.empty(2 * (used + room), dtype=np.int64)
                    bigger[:used] = pool[:used]
                    pool = bigger
                pool[used:used + kept] = pool[start[u]:start[u] + kept]
                start[u], capacity[u] = used, room
                used += room
            for b in range(first, first + size):
                v = pool[b]
                if mark[v] != stamp:
                    mark[v] = stamp
                    pool[start[u] + kept] = v
                    kept += 1
            length[u] = kept
            _unlink(u, degree, head, nxt, prv)
            degree[u] = kept
            _link(u, degree, head, nxt, prv)
            low = min(low, kept)
    return order, work


@njit(**NUMBA_OPTIONS)
def merged_pivot_order(tree, slot_rank, n):
    """Pivot order of a merged system: super-node ``tree[k]`` takes the latest rank of its slots.

    Contracting nodes of an elimination order this way keeps most of its
    fill-reducing quality. Slot ranks are distinct, so are the super-nodes':
    they are placed by a counting pass (a stable sort if they are not). ``tree[k] < 0`` marks a slot outside
    the system (the fixed tree).
    """
    rank = np.full(n, -1, dtype=np.int64)
    top = 0
    for k in range(slot_rank.shape[0]):
        t = tree[k]
        if t >= 0 and slot_rank[k] > rank[t]:
            rank[t] = slot_rank[k]
            top = max(top, rank[t] + 1)
    at_rank = np.full(top, -1, dtype=np.int64)
    for t in range(n):
        if rank[t] < 0 or at_rank[rank[t]] >= 0:  # not distinct after all: sort them
            return np.argsort(rank, kind="mergesort")
        at_rank[rank[t]] = t
    order = np.empty(n, dtype=np.int64)
    filled = 0
    for r in range(top):
        if at_rank[r] >= 0:
            order[filled] = at_rank[r]
            filled += 1
    return order
