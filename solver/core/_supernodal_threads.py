"""The supernodal factorisation on several threads: independent subtrees at once, then their ancestors.

Fronts in different subtrees of the elimination tree never touch each
other: the tree is cut into subtrees of similar work (proportional
mapping: the heaviest subtree is split into its children until none
outweighs the rest), each thread factorises its subtrees with its own
stack and front workspace, and one thread then factorises the cut-off
ancestors (the top separators of a 2-D grid, whose large fronts use BLAS's
own threads). Every front is computed by the same operations as on one
thread, so the factor is bit-identical for every thread count.

Layers: ``split_subtrees`` (the cut, in numba, once per factorisation),
``factorise_subtrees`` (the parallel driver over ``_supernodal._front``; BLAS
is held to one thread meanwhile, see ``SupernodalFactor``); the ancestors
then go through ``_supernodal._factorise_fronts``.
"""

import numpy as np
from numba import njit, prange

from ._supernodal import _front
from ..config import NUMBA_OPTIONS

PARALLEL_OPTIONS = dict(NUMBA_OPTIONS, parallel=True)


@njit(**NUMBA_OPTIONS)
def split_subtrees(starts, Sp, child_head, child_next, threads, max_subtrees):
    """Cut the supernodal tree for ``threads`` threads.

    Returns ``(roots, owner, first, serial)``: the roots of the subtrees run
    in parallel, the thread of each, the first supernode of each (a subtree
    is the range ``first..root`` in postorder), and the remaining supernodes
    (ancestors of the subtrees), in increasing order.
    """
    ns = starts.shape[0] - 1
    parent = np.full(ns, -1, dtype=np.int64)
    for s in range(ns):
        c = child_head[s]
        while c >= 0:
            parent[c] = s
            c = child_next[c]
    work = np.zeros(ns)
    first = np.arange(ns)
    for s in range(ns):  # postorder: children before parents
        nc = starts[s + 1] - starts[s]
        F = Sp[s + 1] - Sp[s]
        work[s] += float(F) * F * (nc + 1)  # flops of the front, plus assembling it
        if parent[s] >= 0:
            work[parent[s]] += work[s]
            first[parent[s]] = min(first[parent[s]], first[s])
    candidate = np.zeros(ns, dtype=np.bool_)
    in_serial = np.zeros(ns, dtype=np.bool_)
    count = 0
    for s in range(ns):
        if parent[s] < 0:
            candidate[s] = True
            count += 1
    while count < max_subtrees:
        heaviest, total = -1, 0.0
        for s in range(ns):
            if candidate[s]:
                total += work[s]
                if heaviest < 0 or work[s] > work[heaviest]:
                    heaviest = s
        own = work[heaviest]
        c = child_head[heaviest]
        while c >= 0:
            own -= work[c]
            c = child_next[c]
        # balanced enough, or splitting it would leave its own front as most of the work
        if work[heaviest] <= total / (2 * threads) or child_head[heaviest] < 0 or own > 0.5 * work[heaviest]:
            break
        candidate[heaviest] = False
        in_serial[heaviest] = True
        count -= 1
        c = child_head[heaviest]
        while c >= 0:
            candidate[c] = True
            count += 1
            c = child_next[c]
    roots = np.flatnonzero(candidate)
    # longest subtree first onto the least loaded thread
    order = np.argsort(-work[roots])
    roots = roots[order]
    owner = np.empty(roots.shape[0], dtype=np.int64)
    load = np.zeros(threads)
    for k in range(roots.shape[0]):
        t = np.argmin(load)
        owner[k] = t
        load[t] += work[roots[k]]
    return roots, owner, first[roots], np.flatnonzero(in_serial)


@njit(**PARALLEL_OPTIONS)
def factorise_subtrees(n, Cp, Ci, Cx, diag, starts, Sp, Sr, child_head, child_next, Loff, stack_size,
                       front_size, block, panel, blas_flops, roots, owner, first, threads):
    """Factorise the subtrees ``roots`` (see ``split_subtrees``) on ``threads`` threads.

    Returns ``(Lx, saved, saved_at, ok)``: the factor's values so far, and each
    subtree root's update matrix at ``saved[saved_at[root]:]`` for its parent.
    """
    ns = starts.shape[0] - 1
    Lx = np.empty(Loff[ns])
    saved_at = np.full(ns, -1, dtype=np.int64)
    size = 0
    for k in range(roots.shape[0]):
        r = roots[k]
        saved_at[r] = size
        m = Sp[r + 1] - Sp[r] - (starts[r + 1] - starts[r])
        size += m * m
    saved = np.empty(max(size, 1))
    no_saved, none_saved = np.empty(0), np.full(ns, -1, dtype=np.int64)
    ok = np.ones(threads, dtype=np.bool_)
    for t in prange(threads):
        stack = np.empty(max(stack_size, 1))
        work = np.empty(max(front_size * front_size, 1))
        pos = np.empty(n, dtype=np.int64)
        for k in range(roots.shape[0]):
            if owner[k] != t or not ok[t]:
                continue
            top = 0
            for s in range(first[k], roots[k] + 1):
                top = _front(s, Cp, Ci, Cx, diag, starts, Sp, Sr, child_head, child_next, Loff, Lx, stack, top,
                             work, pos, no_saved, none_saved, block, panel, blas_flops)
                if top < 0:
                    ok[t] = False
                    break
            if ok[t]:
                saved[saved_at[roots[k]]: saved_at[roots[k]] + top] = stack[:top]
    return Lx, saved, saved_at, np.all(ok)
