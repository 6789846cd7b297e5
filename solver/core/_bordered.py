"""Solve a working set's equality QP through the factorisation of another working set's.

Consecutive working sets of the active-set polish often differ by a few
diodes. Both systems are merged graph Laplacians of the same network: each
working set partitions the free slots into super-nodes. Their common
refinement, the *pieces* (slots with the same old and the same new
super-node), carries a Laplacian ``A_R`` of which both are aggregations:
``A_old = M_old^T A_R M_old``, ``A_new = M_new^T A_R M_new``.

Write the piece potentials as ``z = M_old U + E delta``: every old
super-node's first piece follows ``U``, each further piece gets its own
offset ``delta`` (a released diode splits a super-node into pieces). The new
system then asks that the pieces of one new super-node share a potential
(an added diode merges pieces): ``q`` equality constraints ``K x = 0`` on
``x = (U, delta)``. In these coordinates the Hessian is
``[[A_old, B], [B^T, D]]`` with ``A_old`` already factorised, so the KKT
system of the new problem is the old matrix bordered by ``k = p + q`` rows
and columns, with ``p`` the number of offsets. Its Schur complement is a
dense ``k x k`` matrix built from one pass of the old factor over ``k``
right-hand sides; every later solve costs one old triangular solve pair plus
``O(n k)``. The caller refines each solve against the new system's exact
residual, so the result is the new system's solution to the same accuracy
as with a fresh factorisation.

Layers: :class:`BorderedSolver` builds and solves; the njit kernels
``fine_pieces``, ``piece_basis``, ``border_blocks``, ``schur_lu`` and
``bordered_solve`` work on flat arrays. The dense algebra is written out in
numba rather than handed to BLAS/LAPACK: their threads, left spinning after
each call, cost more CPU on a busy machine than these small products do.
"""

import numpy as np
from numba import njit, types
from numba.typed import Dict

from ..config import NUMBA_OPTIONS

__all__ = ["BorderedSolver"]


@njit(**NUMBA_OPTIONS)
def fine_pieces(tree_old, tree_new, n_new):
    """The common refinement of two working sets' super-nodes (``tree`` from ``build_forest``).

    Returns ``(piece, piece_old, piece_new)``: the piece of every slot (-1 for
    the piece of the fixed slot, which is the last slot), and each piece's old
    and new super-node (-1: the fixed tree). Pieces ``0 .. n_new - 1`` are the
    new super-nodes' *primary* pieces (the part of new super-node ``S`` lying
    in the old super-node of its first slot); any further pieces follow.
    """
    n_slots = tree_old.shape[0]
    m = n_slots - 1
    first_old = np.full(n_new + 1, -3, dtype=np.int64)  # index S + 1
    first_old[0] = tree_old[m]  # the fixed slot: the fixed trees' primary piece is the ground piece
    for k in range(n_slots):
        if first_old[tree_new[k] + 1] == -3:
            first_old[tree_new[k] + 1] = tree_old[k]
    piece = np.empty(n_slots, dtype=np.int64)
    extra = Dict.empty(key_type=types.int64, value_type=types.int64)
    extra_old = []
    extra_new = []
    for k in range(n_slots):
        S, o = tree_new[k], tree_old[k]
        if o == first_old[S + 1]:
            piece[k] = S
            continue
        key = (o + 1) * (n_new + 1) + (S + 1)
        if key not in extra:
            extra[key] = n_new + len(extra_old)
            extra_old.append(o)
            extra_new.append(S)
        piece[k] = extra[key]
    n_pieces = n_new + len(extra_old)
    piece_old = np.empty(n_pieces, dtype=np.int64)
    piece_new = np.empty(n_pieces, dtype=np.int64)
    piece_old[:n_new] = first_old[1:]
    piece_new[:n_new] = np.arange(n_new)
    for i in range(len(extra_old)):
        piece_old[n_new + i] = extra_old[i]
        piece_new[n_new + i] = extra_new[i]
    return piece, piece_old, piece_new


@njit(**NUMBA_OPTIONS)
def piece_basis(piece_old, n_old):
    """Offset index of every piece (-1 for each old super-node's first piece), and the count p.

    The pieces of the fixed tree have no ``U``: each gets an offset (the
    ground piece, potential 0, is not a piece row at all).
    """
    base = np.full(n_old, -1, dtype=np.int64)
    delta = np.full(piece_old.shape[0], -1, dtype=np.int64)
    p = 0
    for i in range(piece_old.shape[0]):
        o = piece_old[i]
        if o >= 0 and base[o] < 0:
            base[o] = i
        else:
            delta[i] = p
            p += 1
    return delta, p


@njit(**NUMBA_OPTIONS)
def _coefficients(i, piece_old, delta, n_old, sign, cols, coefs, count):
    """Append piece i's potential ``U[old] + delta[i]`` to a row, as (column, coefficient)."""
    if i < 0:
        return count  # the ground piece: potential 0
    if piece_old[i] >= 0:
        cols[count] = piece_old[i]
        coefs[count] = sign
        count += 1
    if delta[i] >= 0:
        cols[count] = n_old + delta[i]
        coefs[count] = sign
        count += 1
    return count


@njit(**NUMBA_OPTIONS)
def border_blocks(piece, piece_old, piece_new, delta, n_old, n_new, p, ri, rj, rg):
    """The border ``G = [B, K_U^T]`` (n_old x k) and ``[[D, K_d^T], [K_d, 0]]`` (k x k).

    ``B`` and ``D`` are the Hessian's blocks in the offsets (from every
    resistor whose ends' pieces have one), ``K`` the constraints that each
    further piece shares its new super-node's potential (or 0 in the fixed
    tree).
    """
    q = piece_new.shape[0] - n_new
    k = p + q
    G = np.zeros((n_old, k))
    corner = np.zeros((k, k))
    cols = np.empty(4, dtype=np.int64)
    coefs = np.empty(4)
    for t in range(ri.shape[0]):
        a = piece[ri[t]]
        b = piece[rj[t]]
        if a == b or not ((a >= 0 and delta[a] >= 0) or (b >= 0 and delta[b] >= 0)):
            continue
        count = _coefficients(a, piece_old, delta, n_old, 1.0, cols, coefs, 0)
        count = _coefficients(b, piece_old, delta, n_old, -1.0, cols, coefs, count)
        for j in range(count):
            if cols[j] < n_old:
                continue
            for i in range(count):
                value = rg[t] * coefs[i] * coefs[j]
                if cols[i] < n_old:
                    G[cols[i], cols[j] - n_old] += value
                else:
                    corner[cols[i] - n_old, cols[j] - n_old] += value
    for c in range(q):
        i = n_new + c
        count = _coefficients(i, piece_old, delta, n_old, 1.0, cols, coefs, 0)
        count = _coefficients(piece_new[i], piece_old, delta, n_old, -1.0, cols, coefs, count)
        for j in range(count):
            if cols[j] < n_old:
                G[cols[j], p + c] += coefs[j]
            else:
                corner[p + c, cols[j] - n_old] += coefs[j]
                corner[cols[j] - n_old, p + c] += coefs[j]
    return G, corner


@njit(**NUMBA_OPTIONS)
def schur_lu(corner, G, W):
    """LU factors (partial pivoting, in one array) of ``corner - G^T W``, and the pivot rows.

    ``ok`` is False when a pivot is exactly zero (singular border).
    """
    n, k = G.shape
    S = corner.copy()
    for i in range(n):
        for a in range(k):
            g = G[i, a]
            if g != 0.0:
                for b in range(k):
                    S[a, b] -= g * W[i, b]
    pivots = np.arange(k)
    for j in range(k):
        best = j
        for i in range(j + 1, k):
            if abs(S[i, j]) > abs(S[best, j]):
                best = i
        if S[best, j] == 0.0 or not np.isfinite(S[best, j]):
            return S, pivots, False
        if best != j:
            for c in range(k):
                S[j, c], S[best, c] = S[best, c], S[j, c]
            pivots[j], pivots[best] = pivots[best], pivots[j]
        for i in range(j + 1, k):
            S[i, j] /= S[j, j]
            f = S[i, j]
            if f != 0.0:
                for c in range(j + 1, k):
                    S[i, c] -= f * S[j, c]
    return S, pivots, True


@njit(**NUMBA_OPTIONS)
def bordered_solve(r, a_of_rhs, old_of, delta_of, G, W, lu, pivots):
    """The new system's solution y from ``a = A_old^-1 h_old`` (``a_of_rhs``) and the border.

    ``old_of[S]``, ``delta_of[S]``: the old super-node and the offset of new
    super-node S's primary piece (-1 where it has none).
    """
    n_old, k = G.shape
    rhs = np.zeros(k)
    for S in range(r.shape[0]):
        if delta_of[S] >= 0:
            rhs[delta_of[S]] += r[S]
    for i in range(n_old):  # rhs -= G^T a
        ai = a_of_rhs[i]
        if ai != 0.0:
            for c in range(k):
                rhs[c] -= G[i, c] * ai
    xi = np.empty(k)
    for j in range(k):
        xi[j] = rhs[pivots[j]]
    for j in range(k):
        for i in range(j):
            xi[j] -= lu[j, i] * xi[i]
    for j in range(k - 1, -1, -1):
        for i in range(j + 1, k):
            xi[j] -= lu[j, i] * xi[i]
        xi[j] /= lu[j, j]
    y = np.zeros(r.shape[0])
    for S in range(r.shape[0]):
        o = old_of[S]
        if o >= 0:
            value = a_of_rhs[o]
            for c in range(k):
                value -= W[o, c] * xi[c]
            y[S] = value
        if delta_of[S] >= 0:
            y[S] += xi[delta_of[S]]
    return y


@njit(**NUMBA_OPTIONS)
def gather_old(r, old_of, n_old):
    """``h_old = M_old^T c``: each new super-node's right-hand side onto its primary piece's old super-node."""
    h = np.zeros(n_old)
    for S in range(r.shape[0]):
        if old_of[S] >= 0:
            h[old_of[S]] += r[S]
    return h


class BorderedSolver:
    """Solves the new working set's equality QP with the old one's Cholesky factor.

    Parameters
    ----------
    factor : CholeskyFactor
        Of the old working set's matrix (``n_old`` super-nodes).
    tree_old, tree_new : arrays of int
        Super-node of every slot in the old and the new working set (``build_forest``).
    n_new : int
    ri, rj, rg : arrays
        The reduced resistors (slots and conductances).
    max_border : int
        Largest border ``k`` worth building; beyond it (or when the bordered
        matrix comes out singular) ``ok`` is False and the caller factorises.
    """

    def __init__(self, factor, tree_old, tree_new, n_new, ri, rj, rg, max_border):
        self.ok = False
        n_old = factor.n
        piece, piece_old, piece_new = fine_pieces(tree_old, tree_new, n_new)
        delta, p = piece_basis(piece_old, n_old)
        q = len(piece_new) - n_new
        self.border = p + q
        if self.border > max_border:
            return
        G, corner = border_blocks(piece, piece_old, piece_new, delta, n_old, n_new, p, ri, rj, rg)
        W = factor.solve_many(G)
        lu, pivots, ok = schur_lu(corner, G, W)
        if not ok:
            return
        self.factor, self.G, self.W, self.lu, self.pivots = factor, G, W, lu, pivots
        self.n, self.n_old, self.p = n_new, n_old, p
        self.old_of = piece_old[:n_new].copy()
        self.delta_of = delta[:n_new].copy()
        self.ok = True

    def solve(self, r):
        """y with A_new y = r."""
        r = np.asarray(r, dtype=np.float64)
        a = self.factor.solve(gather_old(r, self.old_of, self.n_old))
        return bordered_solve(r, a, self.old_of, self.delta_of, self.G, self.W, self.lu, self.pivots)
