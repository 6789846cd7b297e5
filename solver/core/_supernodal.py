"""Supernodal multifrontal Cholesky in numba, for matrices whose factor fills in (grids).

Why: the up-looking Cholesky of ``_cholesky`` makes one scalar update per
flop through indirect indices, about 1 GFlop/s here. On a 2-D grid in
nested-dissection order most flops fall in the dense fronts of the top
separators. Consecutive columns of L with nested patterns (a *supernode*)
are factorised together in a dense *front*: the original entries of those
columns plus the children's update matrices (extend-add), a partial dense
Cholesky whose trailing update is one BLAS product (``np.dot``) per panel of
pivots, and the front's Schur complement handed to the parent on a stack.
Large factors run independent subtrees on numba's threads
(``_supernodal_threads``).

The pivot order is first postordered along the elimination tree (same fill,
same flops), so that every supernode's children are the top of the stack
when it is assembled.

Layers: :class:`SupernodalFactor` (the interface of ``CholeskyFactor``);
njit drivers ``_analyse`` (postorder, supernodes, their row lists) and
``_factorise`` (fronts), ``_solve``/``_solve_many``; dense kernels
``_partial_cholesky`` and ``_extend_add``.
"""

import numba
import numpy as np
from numba import njit

from ._cholesky import (NotPositiveDefinite, _column_counts, _etree, _inverse, _permuted_upper_edges,
                        etree_postorder)
from .. import config
from ..config import (NUMBA_OPTIONS, SUPERNODAL_BLAS_FLOPS, SUPERNODAL_BLOCK, SUPERNODAL_PANEL, SUPERNODAL_RELAX,
                      SUPERNODAL_SUBTREES, SUPERNODAL_THREAD_WORK)

# config values reach the kernels as arguments: numba's cache would keep a global's old value

__all__ = ["SupernodalFactor"]


@njit(**NUMBA_OPTIONS)
def _lower_columns(n, Ap, Ai, Ax, newpos):
    """Entries below the diagonal by column, and the diagonal, of the matrix relabelled by ``newpos``.

    Input: the upper triangle in CSC with each column's (summed) diagonal
    last, as ``_cholesky._permuted_upper`` writes it.
    """
    counts = np.zeros(n + 1, dtype=np.int64)
    diag = np.zeros(n)
    for j in range(n):
        for p in range(Ap[j], Ap[j + 1]):
            i = Ai[p]
            if i == j:
                diag[newpos[j]] += Ax[p]
            else:
                counts[min(newpos[i], newpos[j]) + 1] += 1
    for j in range(n):
        counts[j + 1] += counts[j]
    fill = counts[:n].copy()
    Ci = np.empty(counts[n], dtype=np.int64)
    Cx = np.empty(counts[n])
    for j in range(n):
        for p in range(Ap[j], Ap[j + 1]):
            i = Ai[p]
            if i != j:
                a, b = newpos[i], newpos[j]
                col = min(a, b)
                Ci[fill[col]] = max(a, b)
                Cx[fill[col]] = Ax[p]
                fill[col] += 1
    return counts, Ci, Cx, diag


@njit(**NUMBA_OPTIONS)
def _relaxed_supernodes(n, par, counts, relax):
    """First pivot of each supernode (and n): chains of columns, each the parent of the one before.

    A chain's front holds the pattern of its top column, so its lower columns
    store some zeros; a column joins while the zeros stay within the
    ``relax`` budget (``config.SUPERNODAL_RELAX``) for the supernode's width (many small
    supernodes cost more in overhead than their zeros cost in flops).
    """
    starts = np.empty(n + 1, dtype=np.int64)
    ns = 0
    true_entries = 0
    for j in range(n):
        joins = False
        if j > 0 and par[j - 1] == j:
            nc = j - starts[ns - 1] + 1
            front = nc + counts[j] - 1
            stored = nc * front - nc * (nc - 1) // 2
            zeros = stored - (true_entries + counts[j])
            for width, fraction in relax:
                if nc <= width and zeros <= fraction * stored:
                    joins = True
                    break
        if joins:
            true_entries += counts[j]
        else:
            starts[ns] = j
            ns += 1
            true_entries = counts[j]
    starts[ns] = n
    return starts[: ns + 1].copy()


@njit(**NUMBA_OPTIONS)
def _analyse(n, Ap, Ai, Ax, relax):
    """Symbolic analysis: postorder, supernodes and the row list of each front.

    Returns ``(post, Cp, Ci, Cx, diag, starts, Sp, Sr, child_head, child_next, Loff, stack_size,
    front_size)``: ``post[k]`` is the k-th pivot's column in the given order; the
    matrix relabelled by it as lower columns ``(Cp, Ci, Cx)`` plus ``diag``; supernode
    s has pivots ``starts[s]:starts[s + 1]`` and front rows ``Sr[Sp[s]:Sp[s + 1]]``
    (its pivots first); its children, latest first, from ``child_head[s]`` through
    ``child_next``; its block of L at ``Loff[s]`` (pivots x front rows, row-major).
    """
    parent = _etree(n, Ap, Ai)
    counts_old = _column_counts(n, Ap, Ai, parent)
    post = etree_postorder(n, parent)
    newpos = _inverse(post)
    Cp, Ci, Cx, diag = _lower_columns(n, Ap, Ai, Ax, newpos)
    par = np.full(n, -1, dtype=np.int64)
    counts = np.empty(n, dtype=np.int64)
    for j in range(n):
        counts[newpos[j]] = counts_old[j]
        if parent[j] >= 0:
            par[newpos[j]] = newpos[parent[j]]
    starts = _relaxed_supernodes(n, par, counts, relax)
    ns = starts.shape[0] - 1
    sn_of = np.empty(n, dtype=np.int64)
    for s in range(ns):
        for j in range(starts[s], starts[s + 1]):
            sn_of[j] = s
    child_head = np.full(ns, -1, dtype=np.int64)
    child_next = np.full(ns, -1, dtype=np.int64)
    for s in range(ns):  # increasing s, prepended: the latest child first, as on the stack
        top = par[starts[s + 1] - 1]
        if top >= 0:
            p = sn_of[top]
            child_next[s] = child_head[p]
            child_head[p] = s
    Sp = np.zeros(ns + 1, dtype=np.int64)
    Loff = np.zeros(ns + 1, dtype=np.int64)
    for s in range(ns):
        F = starts[s + 1] - starts[s] + counts[starts[s + 1] - 1] - 1  # pivots, then the top's rows below
        Sp[s + 1] = Sp[s] + F
        Loff[s + 1] = Loff[s] + (starts[s + 1] - starts[s]) * F
    Sr = np.empty(Sp[ns], dtype=np.int64)
    mark = np.full(n, -1, dtype=np.int64)
    stack, stack_size, front_size = 0, 0, 0
    for s in range(ns):
        f, l = starts[s], starts[s + 1]
        t = Sp[s]
        for j in range(f, l):
            Sr[t] = j
            mark[j] = s
            t += 1
        for j in range(f, l):
            for p in range(Cp[j], Cp[j + 1]):
                r = Ci[p]
                if mark[r] != s:
                    mark[r] = s
                    Sr[t] = r
                    t += 1
        c = child_head[s]
        while c >= 0:
            m = Sp[c + 1] - Sp[c] - (starts[c + 1] - starts[c])
            for q in range(Sp[c + 1] - m, Sp[c + 1]):
                r = Sr[q]
                if mark[r] != s:
                    mark[r] = s
                    Sr[t] = r
                    t += 1
            stack -= m * m
            c = child_next[c]
        if t != Sp[s + 1]:
            raise AssertionError("supernodal analysis: front rows disagree with the column counts")
        m = Sp[s + 1] - Sp[s] - (l - f)
        stack += m * m
        stack_size = max(stack_size, stack)
        front_size = max(front_size, Sp[s + 1] - Sp[s])
    return post, Cp, Ci, Cx, diag, starts, Sp, Sr, child_head, child_next, Loff, stack_size, front_size


@njit(**NUMBA_OPTIONS)
def _rank_update(R, a0, a1, r0, r1, F, blas_flops):
    """``R[r0:r1, r0:F] -= R[a0:a1, r0:r1]^T R[a0:a1, r0:F]``, upper triangle (rows a0:a1 factorised)."""
    h, w, k = r1 - r0, F - r0, a1 - a0
    if h <= 0 or k <= 0:
        return
    if h * w * k >= blas_flops:
        P = np.ascontiguousarray(R[a0:a1, r0:F])
        Q = np.ascontiguousarray(P[:, :h])
        R[r0:r1, r0:F] -= np.dot(Q.T, P)  # also below the diagonal: one BLAS call beats half the flops in loops
        return
    for a in range(a0, a1):
        for jj in range(r0, r1):
            u = R[a, jj]
            if u != 0.0:
                for i in range(jj, F):
                    R[jj, i] -= u * R[a, i]


@njit(**NUMBA_OPTIONS)
def _partial_cholesky(R, F, nc, block, panel, blas_flops):
    """Factorise the first ``nc`` pivots of the front ``R`` (F x F, upper triangle valid) in place.

    Rows ``0:nc`` become those pivots' columns of L (row-major, from the
    diagonal rightwards); ``R[nc:, nc:]`` becomes the Schur complement (upper
    triangle valid). False when a pivot is not positive.

    Two levels of blocking: ``block`` pivots at a time by plain loops, whose
    update reaches only the rest of their ``panel`` of pivots; the trailing
    matrix is updated once per panel, so that a large front is swept
    ``nc / panel`` times rather than ``nc / block`` (memory traffic, not flops,
    bounds those updates).
    """
    for p0 in range(0, nc, panel):
        p1 = min(p0 + panel, nc)
        for k0 in range(p0, p1, block):
            k1 = min(k0 + block, p1)
            for j in range(k0, k1):
                d = R[j, j]
                if not d > 0.0:
                    return False
                d = np.sqrt(d)
                R[j, j] = d
                for i in range(j + 1, F):
                    R[j, i] /= d
                for jj in range(j + 1, k1):
                    u = R[j, jj]
                    if u != 0.0:
                        for i in range(jj, F):
                            R[jj, i] -= u * R[j, i]
            _rank_update(R, k0, k1, k1, p1, F, blas_flops)
        _rank_update(R, p0, p1, p1, F, F, blas_flops)
    return True


@njit(**NUMBA_OPTIONS)
def _extend_add(R, pos, rows, U, m):
    """Add a child's update matrix ``U`` (m x m, upper triangle valid, global rows ``rows``) to R."""
    for a in range(m):
        pa = pos[rows[a]]
        for b in range(a, m):
            pb = pos[rows[b]]
            if pa <= pb:
                R[pa, pb] += U[a, b]
            else:
                R[pb, pa] += U[a, b]


@njit(**NUMBA_OPTIONS)
def _front(s, Cp, Ci, Cx, diag, starts, Sp, Sr, child_head, child_next, Loff, Lx, stack, top, work, pos,
           saved, saved_at, block, panel, blas_flops):
    """Assemble supernode ``s``'s front, factorise its pivots into ``Lx``, push its update on ``stack``.

    A child's update matrix is read from ``saved[saved_at[c]:]`` when
    ``saved_at[c] >= 0`` (a subtree factorised by another thread), otherwise
    popped from ``stack`` (where the children lie latest first, the order of
    the child list). Returns the new top of the stack, or -1 if a pivot is not positive.
    """
    f, l = starts[s], starts[s + 1]
    nc = l - f
    F = Sp[s + 1] - Sp[s]
    rows = Sr[Sp[s]: Sp[s + 1]]
    for t in range(F):
        pos[rows[t]] = t
    R = work[: F * F].reshape((F, F))
    R[:, :] = 0.0
    for j in range(f, l):
        jj = j - f
        R[jj, jj] += diag[j]
        for p in range(Cp[j], Cp[j + 1]):
            R[jj, pos[Ci[p]]] += Cx[p]
    c = child_head[s]
    while c >= 0:
        m = Sp[c + 1] - Sp[c] - (starts[c + 1] - starts[c])
        if saved_at[c] >= 0:
            U = saved[saved_at[c]: saved_at[c] + m * m].reshape((m, m))
        else:
            top -= m * m
            U = stack[top: top + m * m].reshape((m, m))
        _extend_add(R, pos, Sr[Sp[c + 1] - m: Sp[c + 1]], U, m)
        c = child_next[c]
    if not _partial_cholesky(R, F, nc, block, panel, blas_flops):
        return -1
    Lx[Loff[s]: Loff[s + 1]] = work[: nc * F]
    m = F - nc
    U = stack[top: top + m * m].reshape((m, m))
    U[:, :] = R[nc:, nc:]
    return top + m * m


@njit(**NUMBA_OPTIONS)
def _factorise_fronts(n, Cp, Ci, Cx, diag, starts, Sp, Sr, child_head, child_next, Loff, stack_size,
                      front_size, block, panel, blas_flops, order, Lx, saved, saved_at):
    """Factorise the supernodes ``order`` (increasing) into ``Lx`` on this thread; see ``_front``
    for ``saved``. Returns False if a pivot is not positive."""
    stack = np.empty(max(stack_size, 1))
    work = np.empty(max(front_size * front_size, 1))
    pos = np.empty(n, dtype=np.int64)
    top = 0
    for k in range(order.shape[0]):
        top = _front(order[k], Cp, Ci, Cx, diag, starts, Sp, Sr, child_head, child_next, Loff, Lx, stack, top,
                     work, pos, saved, saved_at, block, panel, blas_flops)
        if top < 0:
            return False
    return True


@njit(**NUMBA_OPTIONS)
def _factorise(n, Cp, Ci, Cx, diag, starts, Sp, Sr, child_head, child_next, Loff, stack_size,
               front_size, block, panel, blas_flops):
    """Numeric factorisation front by front, on one thread. Returns ``(Lx, ok)``."""
    ns = starts.shape[0] - 1
    Lx = np.empty(Loff[ns])
    ok = _factorise_fronts(n, Cp, Ci, Cx, diag, starts, Sp, Sr, child_head, child_next, Loff, stack_size,
                           front_size, block, panel, blas_flops, np.arange(ns), Lx, np.empty(0),
                           np.full(ns, -1, dtype=np.int64))
    return Lx, ok


@njit(**NUMBA_OPTIONS)
def _solve_many(starts, Sp, Sr, Loff, Lx, perm, B):
    """X with A X = B for the k columns of B (n x k, C order), where ``A[perm][:, perm] = L L^T``.

    Each supernode gathers its front's rows into a dense ``F x k`` block,
    solves and updates it with contiguous loops, and scatters it back: the
    indirect addressing is once per front row, not once per entry of L.
    """
    n, k = B.shape
    ns = starts.shape[0] - 1
    x = np.empty((n, k))
    for i in range(n):
        x[i, :] = B[perm[i], :]
    y = np.empty((max(1, np.max(np.diff(Sp)) if ns else 1), k))
    for s in range(ns):
        nc, F, base = starts[s + 1] - starts[s], Sp[s + 1] - Sp[s], Sp[s]
        L = Lx[Loff[s]: Loff[s + 1]].reshape((nc, F))
        for t in range(F):
            y[t, :] = x[Sr[base + t], :]
        for jj in range(nc):
            d = L[jj, jj]
            for c in range(k):
                y[jj, c] /= d
            for t in range(jj + 1, F):
                v = L[jj, t]
                for c in range(k):
                    y[t, c] -= v * y[jj, c]
        for t in range(F):
            x[Sr[base + t], :] = y[t, :]
    for s in range(ns - 1, -1, -1):
        nc, F, base = starts[s + 1] - starts[s], Sp[s + 1] - Sp[s], Sp[s]
        L = Lx[Loff[s]: Loff[s + 1]].reshape((nc, F))
        for t in range(F):
            y[t, :] = x[Sr[base + t], :]
        for jj in range(nc - 1, -1, -1):
            for t in range(jj + 1, F):
                v = L[jj, t]
                for c in range(k):
                    y[jj, c] -= v * y[t, c]
            d = L[jj, jj]
            for c in range(k):
                y[jj, c] /= d
        for t in range(nc):
            x[Sr[base + t], :] = y[t, :]
    out = np.empty((n, k))
    for i in range(n):
        out[perm[i], :] = x[i, :]
    return out


@njit(**NUMBA_OPTIONS)
def _solve(starts, Sp, Sr, Loff, Lx, perm, b):
    """x with A x = b, where ``A[perm][:, perm] = L L^T`` (dense per front, as ``_solve_many``)."""
    n = b.shape[0]
    ns = starts.shape[0] - 1
    x = np.empty(n)
    for i in range(n):
        x[i] = b[perm[i]]
    y = np.empty(max(1, np.max(np.diff(Sp)) if ns else 1))
    for s in range(ns):
        nc, F, base = starts[s + 1] - starts[s], Sp[s + 1] - Sp[s], Sp[s]
        L = Lx[Loff[s]: Loff[s + 1]].reshape((nc, F))
        for t in range(F):
            y[t] = x[Sr[base + t]]
        for jj in range(nc):
            yj = y[jj] / L[jj, jj]
            y[jj] = yj
            for t in range(jj + 1, F):
                y[t] -= L[jj, t] * yj
        for t in range(F):
            x[Sr[base + t]] = y[t]
    for s in range(ns - 1, -1, -1):
        nc, F, base = starts[s + 1] - starts[s], Sp[s + 1] - Sp[s], Sp[s]
        L = Lx[Loff[s]: Loff[s + 1]].reshape((nc, F))
        for t in range(F):
            y[t] = x[Sr[base + t]]
        for jj in range(nc - 1, -1, -1):
            acc = y[jj]
            for t in range(jj + 1, F):
                acc -= L[jj, t] * y[t]
            y[jj] = acc / L[jj, jj]
        for t in range(nc):
            x[Sr[base + t]] = y[t]
    out = np.empty(n)
    for i in range(n):
        out[perm[i]] = x[i]
    return out


def _front_work(starts, Sp):
    """Multiply-adds of the fronts, plus their assembly (what ``split_subtrees`` balances)."""
    F = np.diff(Sp).astype(np.float64)
    return float(np.sum(F * F * (np.diff(starts) + 1)))


_blas_threads = None


def _one_blas_thread():
    """A context that holds BLAS to one thread: the fronts' products then sum in the same order
    whatever the thread counts (OpenBLAS blocks its sums by its thread count), and numba's
    threads do not compete with BLAS's for the cores."""
    global _blas_threads
    if _blas_threads is None:
        import scipy.linalg.cython_blas  # noqa: F401 - the BLAS numba calls, loaded before it is looked up
        from threadpoolctl import ThreadpoolController

        _blas_threads = ThreadpoolController()
    return _blas_threads.limit(limits=1, user_api="blas")


def _factorise_on_threads(args, threads):
    """Subtrees on ``threads`` numba threads, then their ancestors on this one."""
    from ._supernodal_threads import factorise_subtrees, split_subtrees

    starts, Sp, child_head, child_next = args[5], args[6], args[8], args[9]
    roots, owner, first, serial = split_subtrees(starts, Sp, child_head, child_next, threads,
                                                 SUPERNODAL_SUBTREES * threads)
    Lx, saved, saved_at, ok = factorise_subtrees(*args, roots, owner, first, threads)
    if ok:
        ok = _factorise_fronts(*args, serial, Lx, saved, saved_at)
    return Lx, ok


class SupernodalFactor:
    """``A[perm][:, perm] = L L^T`` by supernodes; ``perm`` is the given order postordered.

    Same interface as :class:`~solver.core._cholesky.CholeskyFactor`
    (``n``, ``perm``, ``nnz``, ``column_counts``, ``solve``, ``solve_many``).
    Build with :meth:`from_upper` or :meth:`from_resistors`.

    Raises
    ------
    NotPositiveDefinite
    """

    @classmethod
    def from_upper(cls, n, Ap, Ai, Ax, perm, threads=None):
        """Factorise the matrix whose upper triangle in pivot order ``perm`` is the CSC ``(Ap, Ai, Ax)``
        (each column's diagonal last, as ``_cholesky._permuted_upper`` writes it).

        ``threads``: independent subtrees factorised at once (default: numba's
        thread count); the factor is the same, bit for bit, for every count.
        """
        self = cls.__new__(cls)
        (post, Cp, Ci, Cx, diag, starts, Sp, Sr, child_head, child_next, Loff, stack_size,
         front_size) = _analyse(n, Ap, Ai, Ax, SUPERNODAL_RELAX)
        threads = numba.get_num_threads() if threads is None else int(threads)
        # L, and per thread a stack, a front and a row map
        needed = 8 * (int(Loff[-1]) + max(1, threads) * (int(stack_size) + int(front_size) ** 2 + n))
        if needed > config.FACTOR_MAX_BYTES:  # checked before the numeric pass allocates it
            raise MemoryError(
                f"the Cholesky factor of this {n:,}-unknown system needs {needed / 2**30:.1f} GiB "
                f"(L {8 * int(Loff[-1]) / 2**30:.1f} GiB, fronts up to {int(front_size):,} rows), "
                f"over config.FACTOR_MAX_BYTES = {config.FACTOR_MAX_BYTES / 2**30:.1f} GiB")
        args = (n, Cp, Ci, Cx, diag, starts, Sp, Sr, child_head, child_next, Loff, stack_size, front_size,
                SUPERNODAL_BLOCK, SUPERNODAL_PANEL, SUPERNODAL_BLAS_FLOPS)
        with _one_blas_thread():
            if threads > 1 and _front_work(starts, Sp) >= SUPERNODAL_THREAD_WORK:
                Lx, ok = _factorise_on_threads(args, threads)
            else:
                Lx, ok = _factorise(*args)
        if not ok:
            raise NotPositiveDefinite("the matrix is not positive definite")
        self.n = n
        self.perm = np.asarray(perm, dtype=np.int64)[post]
        self.starts, self.Sp, self.Sr, self.Loff, self.Lx = starts, Sp, Sr, Loff, Lx
        self._counts = None
        return self

    @classmethod
    def from_resistors(cls, n, tree, ri, rj, rg, perm, threads=None):
        """As ``CholeskyFactor.from_resistors``: the equality-QP matrix of resistors merged by ``tree``."""
        perm = np.asarray(perm, dtype=np.int64)
        Ap, Ai, Ax = _permuted_upper_edges(n, tree, ri, rj, rg, _inverse(perm))
        return cls.from_upper(n, Ap, Ai, Ax, perm, threads)

    def column_counts(self):
        """Nonzeros of each column of L, diagonal included (in pivot order)."""
        if self._counts is None:
            widths = np.diff(self.starts)
            offsets = np.arange(self.n) - np.repeat(self.starts[:-1], widths)
            self._counts = np.repeat(np.diff(self.Sp), widths) - offsets
        return self._counts

    @property
    def nnz(self) -> int:
        return int(self.column_counts().sum())

    def solve(self, b):
        return _solve(self.starts, self.Sp, self.Sr, self.Loff, self.Lx, self.perm,
                      np.asarray(b, dtype=np.float64))

    def solve_many(self, B):
        """X with A X = B for every column of the n x k array B, in one pass over the factor."""
        return _solve_many(self.starts, self.Sp, self.Sr, self.Loff, self.Lx, self.perm,
                           np.ascontiguousarray(B, dtype=np.float64))
