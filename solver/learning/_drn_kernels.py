"""Numba kernels of the deep resistive network (DRN): block coordinate descent and rank-k updates.

Three layers, as in :mod:`solver.core._kernels`: the public, validating functions
live in :mod:`solver.learning.drn` and :mod:`solver.learning.ep`; the ``@njit`` drivers here
allocate nothing they do not return; the tiny inner kernels update rows of
preallocated arrays in place. Only arrays, tuples of arrays and scalars cross
into numba.

Layout: a DRN with ``L`` free layers (hidden layers then the output layer) has
weights ``Ws[k]`` of shape ``(n_k, n_{k+1})`` between network layers ``k`` and
``k + 1`` (layer 0 is the input), and free-layer states ``Vs[k]`` of shape
``(batch, n_{k+1})``. ``Vs[k]`` is network layer ``k + 1``.
"""

import numpy as np
import numba
from numba import njit, prange
from numba.typed import List

from ..config import DRN_PARALLEL_MIN_WORK, DRN_RELAX_POOL_MIN_THREADS, NUMBA_OPTIONS

#: Flags of the DRN kernels: the solver's options, plus reassociation and
#: contraction (FMA) so that sums and dot products vectorise. NaN and infinity
#: semantics stay exact (no ``nnan``/``ninf``), so checks keep working.
DRN_NUMBA_OPTIONS = dict(NUMBA_OPTIONS, fastmath={"reassoc", "contract", "nsz", "arcp"})

#: Flags of :func:`_axpy_rows`: contraction (FMA) but no reassociation, so that its
#: chain ``y + a0*x0 + a1*x1 + ...`` keeps the order of as many separate axpys.
CHAIN_NUMBA_OPTIONS = dict(NUMBA_OPTIONS, fastmath={"contract", "nsz", "arcp"})

#: The parallel kernels (:func:`rank_update_project`, :func:`project`, :func:`relax`,
#: :func:`ep_phases`): the same flags with numba's thread pool. They only parallelise
#: explicit ``prange`` loops over row panels, column blocks or runs of examples; they
#: hold no array reductions that numba could split by thread.
DRN_PARALLEL_OPTIONS = dict(DRN_NUMBA_OPTIONS, parallel=True)

#: Row panels of the passes over a whole weight matrix (:func:`rank_update_project`,
#: :func:`project`): the rows are cut into this many contiguous panels (fewer for
#: a matrix with fewer rows), whatever the thread count; each panel sums its own
#: rows' column sums and product, and the panels' sums are added in panel order.
#: A thread streams whole rows of contiguous memory: these passes are bound by
#: memory traffic, and a split by columns halved a thread's work but not its
#: traffic (measured: a 1568 x 1024 pass over half the columns costs 0.7-0.9 of
#: the whole one, over half the rows 0.5). Eight panels share out evenly among
#: 1, 2, 4 or 8 threads.
ROW_PANELS = 8

#: Unit of the column split of the relaxation (:func:`relax` on the pool): each
#: thread takes one contiguous run of whole blocks of a layer's columns. Every
#: node is computed with the same operations in the same order wherever the
#: split falls, so results are bit-identical for every thread count.
BLOCK = 128

#: Multiply-adds below which a kernel call runs its panels or blocks on the
#: calling thread: waking the pool costs microseconds, a small layer's update
#: less. Which path runs depends on the shapes only, and both compute the same
#: panels and blocks the same way.
PARALLEL_MIN_WORK = DRN_PARALLEL_MIN_WORK

#: Threads from which the EP phases of a network with wide hidden matrices split
#: their layer updates by columns (see :data:`solver.config.DRN_RELAX_POOL_MIN_THREADS`).
RELAX_POOL_MIN_THREADS = DRN_RELAX_POOL_MIN_THREADS

#: Below this many columns, ``V @ W`` is computed as dot products with the rows
#: of ``W.T`` (long contiguous reductions) instead of row updates (short rows).
NARROW_COLUMNS = 64

def parallel_now():
    """The kernels' ``parallel`` argument: the threads set for this thread (1: no pool).

    Passed to the kernels as an argument (numba cannot cache a function that
    asks for the thread count itself).
    """
    return numba.get_num_threads()


def seq(arrays):
    """A numba typed list of same-typed arrays (one per layer).

    Typed lists, unlike tuples, have one numba type whatever their length, so
    each kernel compiles once per dtype rather than once per network depth.
    """
    return List(arrays)


# ----------------------------------------------------------------------------- inner kernels


@njit(**DRN_NUMBA_OPTIONS)
def _axpy(a, x, y):
    """y += a * x (rows of a weight matrix or of a state)."""
    for j in range(y.shape[0]):
        y[j] += a * x[j]


@njit(**CHAIN_NUMBA_OPTIONS)
def _axpy_rows(y, W, rows, coefs, n, j0, j1):
    """``y += coefs[0] * W[rows[0], j0:j1]``, then ``+= coefs[1] * W[rows[1], j0:j1]``, ...
    (``n <= 4`` terms; ``y`` has ``j1 - j0`` entries).

    Each entry of ``y`` is loaded and stored once for up to four rows, with the
    same sequence of fused multiply-adds as ``n`` calls of :func:`_axpy`. With
    coefficients 1 it sums rows in order: ``fma(1, x, y)`` is ``y + x`` rounded once.
    """
    if n == 4:
        a0, a1, a2, a3 = coefs[0], coefs[1], coefs[2], coefs[3]
        x0, x1 = W[rows[0], j0:j1], W[rows[1], j0:j1]
        x2, x3 = W[rows[2], j0:j1], W[rows[3], j0:j1]
        for j in range(y.shape[0]):
            y[j] = y[j] + a0 * x0[j] + a1 * x1[j] + a2 * x2[j] + a3 * x3[j]
    elif n == 3:
        a0, a1, a2 = coefs[0], coefs[1], coefs[2]
        x0, x1, x2 = W[rows[0], j0:j1], W[rows[1], j0:j1], W[rows[2], j0:j1]
        for j in range(y.shape[0]):
            y[j] = y[j] + a0 * x0[j] + a1 * x1[j] + a2 * x2[j]
    elif n == 2:
        a0, a1 = coefs[0], coefs[1]
        x0, x1 = W[rows[0], j0:j1], W[rows[1], j0:j1]
        for j in range(y.shape[0]):
            y[j] = y[j] + a0 * x0[j] + a1 * x1[j]
    elif n == 1:
        a0 = coefs[0]
        x0 = W[rows[0], j0:j1]
        for j in range(y.shape[0]):
            y[j] = y[j] + a0 * x0[j]


@njit(**DRN_NUMBA_OPTIONS)
def _gather_nonzero(v, i0, i1, rows, coefs):
    """The indices ``i`` in ``[i0, i1)`` with ``v[i] != 0`` into ``rows``, their values into
    ``coefs``; returns how many (dark pixels and clipped nodes contribute nothing)."""
    n = 0
    for i in range(i0, i1):
        if v[i] != 0.0:
            rows[n] = i
            coefs[n] = v[i]
            n += 1
    return n


@njit(**DRN_NUMBA_OPTIONS)
def _dot(x, y):
    s = x.dtype.type(0.0)
    for j in range(x.shape[0]):
        s += x[j] * y[j]
    return s


@njit(**DRN_NUMBA_OPTIONS)
def _dots4(W, V, acc):
    """acc[b, j] += W[j] . V[b] for a batch of 4: each row of W is loaded once for four dots."""
    v0, v1, v2, v3 = V[0], V[1], V[2], V[3]
    for j in range(W.shape[0]):
        w = W[j]
        s0 = s1 = s2 = s3 = w.dtype.type(0.0)
        for i in range(w.shape[0]):
            s0 += w[i] * v0[i]
            s1 += w[i] * v1[i]
            s2 += w[i] * v2[i]
            s3 += w[i] * v3[i]
        acc[0, j] += s0
        acc[1, j] += s1
        acc[2, j] += s2
        acc[3, j] += s3


@njit(**DRN_NUMBA_OPTIONS)
def _dots_rows(W, V, acc, j0, j1):
    """``acc[:, j0:j1] += V @ W[j0:j1].T``: rows ``j0..j1`` of ``W`` dotted with each example."""
    if V.shape[0] == 4:
        _dots4(W[j0:j1], V, acc[:, j0:j1])
    else:
        for j in range(j0, j1):
            for b in range(V.shape[0]):
                acc[b, j] += _dot(W[j], V[b])


@njit(**DRN_NUMBA_OPTIONS)
def _clip_row(w):
    """w = max(w, 0), written ``(w + |w|) / 2``: exact, NaN-preserving, and it vectorises
    (numba's ``max`` and a conditional store do not)."""
    half = w.dtype.type(0.5)
    for j in range(w.shape[0]):
        v = w[j]
        w[j] = (v + abs(v)) * half


@njit(**DRN_NUMBA_OPTIONS)
def _add_row(w, r_i, c):
    """w += r_i + c."""
    for j in range(w.shape[0]):
        w[j] += r_i + c[j]


@njit(**DRN_NUMBA_OPTIONS)
def _accumulate(w, colsum):
    """colsum += w."""
    for j in range(w.shape[0]):
        colsum[j] += w[j]


@njit(**DRN_NUMBA_OPTIONS)
def _row_sum(w):
    s = w.dtype.type(0.0)
    for j in range(w.shape[0]):
        s += w[j]
    return s


# ----------------------------------------------------------------------------- drivers


@njit(**DRN_NUMBA_OPTIONS)
def _serial(n_tasks, work, parallel):
    """Whether to run ``n_tasks`` tasks of ``work`` multiply-adds in all on this thread
    (``parallel``: the threads available, as :func:`parallel_now` gives them)."""
    return n_tasks == 1 or work < PARALLEL_MIN_WORK or parallel <= 1


@njit(**DRN_NUMBA_OPTIONS)
def _n_tasks(n, parallel):
    """Tasks of a column split of ``n`` columns: one per thread, at most one per block."""
    return min(parallel, (n + BLOCK - 1) // BLOCK)


@njit(**DRN_NUMBA_OPTIONS)
def _span(task, n_tasks, n):
    """Columns ``(j0, j1)`` of task ``task`` of ``n_tasks``: whole blocks, split evenly."""
    n_blocks = (n + BLOCK - 1) // BLOCK
    b0 = task * n_blocks // n_tasks
    b1 = (task + 1) * n_blocks // n_tasks
    return b0 * BLOCK, min(b1 * BLOCK, n)


@njit(**DRN_NUMBA_OPTIONS)
def _n_panels(n_rows):
    return min(ROW_PANELS, n_rows)


@njit(**DRN_NUMBA_OPTIONS)
def _panel_sums(p, colsum, P, colsum_parts, P_parts):
    """Where panel ``p`` writes its sums: the outputs themselves for panel 0, else scratch."""
    if p == 0:
        return colsum, P
    return colsum_parts[p - 1], P_parts[p - 1]


@njit(**DRN_NUMBA_OPTIONS)
def _update_panel(p, n_panels, W, r, c, U, E, rowsum, colsum, Xp, P, colsum_parts, P_parts,
                  want_rowsum):
    """Rows of panel ``p``: updated, clipped and row-summed one by one, each row read once;
    their column sums and product summed in row order into the panel's own sums."""
    i0 = p * W.shape[0] // n_panels
    i1 = (p + 1) * W.shape[0] // n_panels
    cs, Pp = _panel_sums(p, colsum, P, colsum_parts, P_parts)
    cs[:] = 0.0
    Pp[:, :] = 0.0
    for i in range(i0, i1):
        w = W[i]
        _add_row(w, r[i], c)
        for k in range(U.shape[0]):
            if U[k, i] != 0.0:
                _axpy(U[k, i], E[k], w)
        _clip_row(w)
        _accumulate(w, cs)
        if want_rowsum:
            rowsum[i] = _row_sum(w)
        for b in range(Xp.shape[0]):
            if Xp[b, i] != 0.0:
                _axpy(Xp[b, i], w, Pp[b])


@njit(**DRN_NUMBA_OPTIONS)
def _project_panel(p, n_panels, W, Xp, P, P_parts):
    """``Xp @ W`` over the rows of panel ``p``, summed in row order (as :func:`_update_panel`)."""
    i0 = p * W.shape[0] // n_panels
    i1 = (p + 1) * W.shape[0] // n_panels
    Pp = P if p == 0 else P_parts[p - 1]
    Pp[:, :] = 0.0
    for i in range(i0, i1):
        for b in range(Xp.shape[0]):
            if Xp[b, i] != 0.0:
                _axpy(Xp[b, i], W[i], Pp[b])


@njit(**DRN_NUMBA_OPTIONS)
def _add_panels(colsum, P, colsum_parts, P_parts):
    """Panel 0's sums (in ``colsum``, ``P``) plus the other panels', in panel order."""
    for q in range(P_parts.shape[0]):
        _accumulate(colsum_parts[q], colsum)
        for b in range(P.shape[0]):
            _accumulate(P_parts[q, b], P[b])


@njit(**DRN_PARALLEL_OPTIONS)
def rank_update_project(W, r, c, U, E, rowsum, colsum, Xp, P, want_rowsum, parallel):
    """One pass over ``W``: clipped rank-k update, column (and row) sums and a product.

    ``W[i, :] = max(0, W[i, :] + r[i] + c + U[:, i] @ E)``, then
    ``colsum = W.sum(0)``, ``rowsum = W.sum(1)`` (if ``want_rowsum``) and,
    when ``Xp`` has rows, ``P = Xp @ W`` with the *updated* weights. Each row
    is read once from memory and worked on while it sits in L1; zero entries
    of ``U`` and ``Xp`` are skipped, which MNIST's dark pixels make common. For
    the input weights of a DRN this fuses the previous batch's EP update with
    the next batch's input product.

    The rows are cut into :data:`ROW_PANELS` fixed panels (one or more per
    thread, whole rows each); the column sums and the product are summed row
    by row within a panel, then panel by panel. The panels depend on the shape
    only, so the results are bit-identical whether and however the panels are
    shared out among threads.

    Readable equivalent (left for reference; its sums run in another order)::

        W[:] = np.maximum(W + r[:, None] + c[None, :] + U.T @ E, 0)
        rowsum[:] = W.sum(1); colsum[:] = W.sum(0); P[:] = Xp @ W
    """
    n_panels = _n_panels(W.shape[0])
    colsum_parts = np.empty((n_panels - 1, W.shape[1]), dtype=W.dtype)
    P_parts = np.empty((n_panels - 1, Xp.shape[0], W.shape[1]), dtype=W.dtype)
    if _serial(n_panels, W.shape[0] * W.shape[1] * (U.shape[0] + Xp.shape[0] + 1), parallel):
        for p in range(n_panels):
            _update_panel(p, n_panels, W, r, c, U, E, rowsum, colsum, Xp, P, colsum_parts,
                          P_parts, want_rowsum)
    else:
        for p in prange(n_panels):
            _update_panel(p, n_panels, W, r, c, U, E, rowsum, colsum, Xp, P, colsum_parts,
                          P_parts, want_rowsum)
    _add_panels(colsum, P, colsum_parts, P_parts)


@njit(**DRN_PARALLEL_OPTIONS)
def project(W, Xp, P, parallel):
    """``P = Xp @ W`` in the row panels of :func:`rank_update_project`, summed in its order."""
    n_panels = _n_panels(W.shape[0])
    colsum_parts = np.empty((n_panels - 1, 0), dtype=W.dtype)
    colsum = np.empty(0, dtype=W.dtype)
    P_parts = np.empty((n_panels - 1, Xp.shape[0], W.shape[1]), dtype=W.dtype)
    if _serial(n_panels, W.shape[0] * W.shape[1] * Xp.shape[0], parallel):
        for p in range(n_panels):
            _project_panel(p, n_panels, W, Xp, P, P_parts)
    else:
        for p in prange(n_panels):
            _project_panel(p, n_panels, W, Xp, P, P_parts)
    _add_panels(colsum, P, colsum_parts, P_parts)


#: How the input from a neighbouring layer reaches a block (see :func:`_relax_block`).
_NONE, _PRODUCT, _NARROW, _WIDE = 0, 1, 2, 3


@njit(**DRN_NUMBA_OPTIONS)
def _relax_block(j0, j1, V, acc, bias, den, below, Vb, Wb, WTb, above, Va, Wa, WTa,
                 is_output, y, beta):
    """Exact block minimiser of columns ``[j0, j1)`` of one layer.

    ``acc`` = bias + input from below (``below``: ``_PRODUCT`` adds the
    precomputed ``Vb = X_in @ W[0]``; ``_NARROW`` dots with the rows of
    ``WTb = Wb.T``; ``_WIDE`` adds rows of ``Wb``) + input from above
    (``Va @ Wa.T``; ``_NONE`` for the output layer); then each node goes to
    the weighted mean ``acc / den`` (output nodes nudged towards ``y`` with
    conductance ``beta``), clipped by its diode: the first half of a hidden
    layer is excitatory (``v >= 0``), the second inhibitory (``v <= 0``).
    Every entry of the block is summed in the same order whatever the block.
    """
    B = V.shape[0]
    for b in range(B):
        acc[b, j0:j1] = bias[j0:j1]
    if below == _PRODUCT:
        for b in range(B):
            _axpy(V.dtype.type(1.0), Vb[b, j0:j1], acc[b, j0:j1])
    elif below == _NARROW:
        for b in range(B):
            for j in range(j0, j1):
                acc[b, j] += _dot(WTb[j], Vb[b])
    else:  # four rows of Wb per load and store of acc, as _finish_and_pass_up
        rows = np.empty(4, dtype=np.int64)
        coefs = np.empty(4, dtype=V.dtype)
        for i0 in range(0, Wb.shape[0], 4):
            i1 = min(i0 + 4, Wb.shape[0])
            for b in range(B):
                n = _gather_nonzero(Vb[b], i0, i1, rows, coefs)
                _axpy_rows(acc[b, j0:j1], Wb, rows, coefs, n, j0, j1)
    if above == _NARROW:
        for m in range(WTa.shape[0]):
            for b in range(B):
                if Va[b, m] != 0.0:
                    _axpy(Va[b, m], WTa[m, j0:j1], acc[b, j0:j1])
    elif above == _WIDE:
        _dots_rows(Wa, Va, acc, j0, j1)
    if is_output:  # linear output nodes, nudged towards y with conductance beta
        for b in range(B):
            for j in range(j0, j1):
                V[b, j] = (acc[b, j] + beta * y[b, j]) / (den[j] + beta)
        return
    half = V.shape[1] // 2
    h = V.dtype.type(0.5)
    for b in range(B):
        for j in range(j0, min(j1, half)):  # max(v, 0) = (v + |v|) / 2, exact and vectorisable
            v = acc[b, j] / den[j]
            V[b, j] = (v + abs(v)) * h
        for j in range(max(j0, half), j1):  # min(v, 0) = (v - |v|) / 2
            v = acc[b, j] / den[j]
            V[b, j] = (v - abs(v)) * h


@njit(**DRN_NUMBA_OPTIONS)
def _input_below(k, P, Vs, Ws, WTs, bs, acc, b0, b1):
    """acc = bias + (input from the layer below), examples ``[b0, b1)``."""
    for b in range(b0, b1):
        acc[b, :] = bs[k]
    if k == 0:
        for b in range(b0, b1):
            acc[b] += P[b]
    else:  # acc += Vs[k-1] @ Ws[k]
        Wk = Ws[k]
        Vp = Vs[k - 1]
        if Wk.shape[1] < NARROW_COLUMNS:
            WTk = WTs[k]
            for b in range(b0, b1):
                for j in range(WTk.shape[0]):
                    acc[b, j] += _dot(WTk[j], Vp[b])
        else:
            for i in range(Wk.shape[0]):
                for b in range(b0, b1):
                    if Vp[b, i] != 0.0:
                        _axpy(Vp[b, i], Wk[i], acc[b])


@njit(**DRN_NUMBA_OPTIONS)
def _input_above(k, Vs, Ws, WTs, acc, b0, b1):
    """acc += (input from the layer above), ``Vs[k+1] @ Ws[k+1].T``, examples ``[b0, b1)``."""
    Wn = Ws[k + 1]
    Vn = Vs[k + 1]
    if Wn.shape[1] < NARROW_COLUMNS:
        WTn = WTs[k + 1]
        for m in range(WTn.shape[0]):
            for b in range(b0, b1):
                if Vn[b, m] != 0.0:
                    _axpy(Vn[b, m], WTn[m], acc[b])
    elif b1 - b0 == 4 and acc.shape[0] == 4:
        _dots4(Wn, Vn, acc)
    else:
        for j in range(Wn.shape[0]):
            for b in range(b0, b1):
                acc[b, j] += _dot(Wn[j], Vn[b])


@njit(**DRN_NUMBA_OPTIONS)
def _layer_input(k, P, Vs, Ws, WTs, bs, acc, b0, b1):
    """acc = bias + (input from the layer below) + (input from the layer above), examples ``[b0, b1)``.

    Every entry is summed in the same order whatever the range of examples,
    except that a whole batch of 4 takes the above-input through :func:`_dots4`
    (so a per-example caller must only use ranges on networks without wide
    matrices above layer 0: see :func:`per_example_ok`).
    """
    _input_below(k, P, Vs, Ws, WTs, bs, acc, b0, b1)
    if k < len(Vs) - 1:
        _input_above(k, Vs, Ws, WTs, acc, b0, b1)


@njit(**DRN_NUMBA_OPTIONS)
def _set_layer(k, acc, den, Vs, y, beta, b0, b1):
    """Exact block minimiser of layer k (examples ``[b0, b1)``): weighted mean of its
    neighbours, clipped by its diodes."""
    L = len(Vs)
    V = Vs[k]
    n = V.shape[1]
    if k == L - 1:  # linear output nodes, nudged towards y with conductance beta
        for b in range(b0, b1):
            for j in range(n):
                V[b, j] = (acc[b, j] + beta * y[b, j]) / (den[j] + beta)
    else:  # first half excitatory (v >= 0), second half inhibitory (v <= 0)
        half = n // 2
        h = V.dtype.type(0.5)
        for b in range(b0, b1):
            for j in range(half):  # max(v, 0) = (v + |v|) / 2, exact and vectorisable
                v = acc[b, j] / den[j]
                V[b, j] = (v + abs(v)) * h
            for j in range(half, n):  # min(v, 0) = (v - |v|) / 2
                v = acc[b, j] / den[j]
                V[b, j] = (v - abs(v)) * h


@njit(**DRN_PARALLEL_OPTIONS)
def _relax_layer(k, P, Vs, Ws, WTs, bs, dens, y, beta, accs, parallel):
    """Layer ``k`` to its exact minimiser given its neighbours, split by columns among threads."""
    L = len(Vs)
    V = Vs[k]
    if k == 0:
        below, Vb, Wb, WTb = _PRODUCT, P, Ws[0], WTs[0]
    else:
        below = _NARROW if Ws[k].shape[1] < NARROW_COLUMNS else _WIDE
        Vb, Wb, WTb = Vs[k - 1], Ws[k], WTs[k]
    if k == L - 1:
        above, Va, Wa, WTa = _NONE, V, Ws[k], WTs[k]
    else:
        above = _NARROW if Ws[k + 1].shape[1] < NARROW_COLUMNS else _WIDE
        Va, Wa, WTa = Vs[k + 1], Ws[k + 1], WTs[k + 1]
    n = V.shape[1]
    n_blocks = (n + BLOCK - 1) // BLOCK
    acc, bias, den, is_output = accs[k], bs[k], dens[k], k == L - 1
    fan = (1 if k == 0 else Vb.shape[1]) + (0 if k == L - 1 else Va.shape[1])
    if _serial(n_blocks, V.shape[0] * n * fan, parallel):  # whole rows, this thread
        _layer_input(k, P, Vs, Ws, WTs, bs, acc, 0, V.shape[0])
        _set_layer(k, acc, den, Vs, y, beta, 0, V.shape[0])
    else:
        n_tasks = _n_tasks(n, parallel)
        for task in prange(n_tasks):
            j0, j1 = _span(task, n_tasks, n)
            _relax_block(j0, j1, V, acc, bias, den, below, Vb, Wb, WTb,
                         above, Va, Wa, WTa, is_output, y, beta)


@njit(**DRN_NUMBA_OPTIONS)
def _wide(Ws, k):
    """Whether ``Ws[k]`` is a wide matrix between free layers (read by rows both ways, not
    transposed); the input weights ``Ws[0]`` are not (their product arrives as ``P``)."""
    return 1 <= k < len(Ws) and Ws[k].shape[1] >= NARROW_COLUMNS


@njit(**DRN_NUMBA_OPTIONS)
def _finish_and_pass_up(j, Vs, Ws, bs, dens, accs, accumulate):
    """One pass over the wide ``W = Ws[j+1]``: hidden layer ``j`` row by row, and layer
    ``j + 1``'s input from below.

    Row ``i`` of ``W`` gives node ``i`` of layer ``j`` its input from above
    (``W[i] . Vs[j+1][b]``, added to ``accs[j]``, which holds its bias and input
    from below); the node is set; then, while the row is in L1, it adds
    ``Vs[j][b, i] * W[i]`` to ``accs[j+1]`` (reset to the bias first; four rows
    at a time, :func:`_axpy_rows`), unless not ``accumulate``. Each entry gets the same operations in the same order as
    in :func:`_layer_input` and :func:`_set_layer`, with ``W`` read once rather than twice.
    """
    W = Ws[j + 1]
    V = Vs[j]
    Vn = Vs[j + 1]
    acc = accs[j]
    acc_next = accs[j + 1]
    den = dens[j]
    B = V.shape[0]
    half = V.shape[1] // 2
    h = V.dtype.type(0.5)
    rows = np.empty(4, dtype=np.int64)
    coefs = np.empty(4, dtype=V.dtype)
    if accumulate:
        for b in range(B):
            acc_next[b, :] = bs[j + 1]
    for i0 in range(0, W.shape[0], 4):  # four rows at a time (64 KiB at most, in L1)
        i1 = min(i0 + 4, W.shape[0])
        _dots_rows(W, Vn, acc, i0, i1)
        for i in range(i0, i1):
            for b in range(B):
                v = acc[b, i] / den[i]
                if i < half:
                    V[b, i] = (v + abs(v)) * h
                else:
                    V[b, i] = (v - abs(v)) * h
        if accumulate:
            for b in range(B):
                n = _gather_nonzero(V[b], i0, i1, rows, coefs)
                _axpy_rows(acc_next[b], W, rows, coefs, n, 0, W.shape[1])


@njit(**DRN_NUMBA_OPTIONS)
def _relax_one_pass(P, Vs, Ws, WTs, bs, dens, y, beta, n_iter, accs):
    """:func:`relax` on this thread, reading each wide matrix once per iteration instead of twice.

    A wide matrix ``Ws[j+1]`` between hidden layer ``j`` and layer ``j + 1``
    serves both of its layers in one pass (:func:`_finish_and_pass_up`): the
    pass sets layer ``j`` and accumulates layer ``j + 1``'s input from below.
    The chain alternates parity, so that input is the one layer ``j + 1``
    needs: if ``j`` is updated first in an iteration (even ``j``), for the
    same iteration; else (odd ``j``), for the next one, layer ``j + 1`` having
    already been set in this one. Even layers ``j >= 2`` with a wide matrix
    below get that input once more at the start. Every entry gets the same
    operations in the same order as in the two-pass sweep, so the results are
    the same bits.
    """
    L = len(Vs)
    if n_iter == 0:
        return
    B = Vs[0].shape[0]
    for j in range(2, L, 2):
        if _wide(Ws, j):
            _input_below(j, P, Vs, Ws, WTs, bs, accs[j], 0, B)
    for it in range(n_iter):
        for parity in range(2):
            for j in range(parity, L, 2):
                if not _wide(Ws, j):  # else accs[j] already holds bias + input from below
                    _input_below(j, P, Vs, Ws, WTs, bs, accs[j], 0, B)
                if j < L - 1 and _wide(Ws, j + 1):
                    _finish_and_pass_up(j, Vs, Ws, bs, dens, accs,
                                        parity == 0 or it < n_iter - 1)
                else:
                    if j < L - 1:
                        _input_above(j, Vs, Ws, WTs, accs[j], 0, B)
                    _set_layer(j, accs[j], dens[j], Vs, y, beta, 0, B)


@njit(**DRN_NUMBA_OPTIONS)
def relax(P, Vs, Ws, WTs, bs, dens, y, beta, n_iter, accs, parallel):
    """``n_iter`` block coordinate-descent iterations, in place on ``Vs``.

    One iteration updates the odd network layers (free indices 0, 2, ...),
    then the even ones: the layers form a bipartite chain, so each half-step
    is an exact minimisation over a block, and the layers of one half-step do
    not read each other. ``P`` is the input layer's product ``X_in @ Ws[0]``;
    ``WTs[k]`` is ``Ws[k].T`` (C order) for the narrow matrices (fewer than
    ``NARROW_COLUMNS`` columns), any array otherwise; ``dens[k]`` is the
    total conductance at each node of free layer ``k`` (without the nudging
    conductance ``beta``); ``accs[k]`` are scratch arrays shaped like ``Vs[k]``;
    ``parallel``: the threads the wide layers may use (:func:`parallel_now`; 1: this one).
    """
    if parallel <= 1:
        _relax_one_pass(P, Vs, Ws, WTs, bs, dens, y, beta, n_iter, accs)
        return
    L = len(Vs)
    for _ in range(n_iter):
        for parity in range(2):
            for k in range(parity, L, 2):
                _relax_layer(k, P, Vs, Ws, WTs, bs, dens, y, beta, accs, parallel)


@njit(**DRN_NUMBA_OPTIONS)
def per_example_ok(Ws):
    """Whether the per-example relaxation (:func:`ep_phases`) may run on these weights.

    It may when every matrix above the input weights is narrow: then each
    example's relaxation is the same sequence of operations as its rows of the
    batched :func:`relax` (the wide-matrix products of :func:`_dots4` sum in
    another order), so both give the same bits.
    """
    for k in range(1, len(Ws)):
        if Ws[k].shape[1] >= NARROW_COLUMNS:
            return False
    return True


@njit(**DRN_NUMBA_OPTIONS)
def _relax_examples(P, Vs, Ws, WTs, bs, dens, y, beta, n_iter, accs, b0, b1):
    """:func:`relax` for the examples ``[b0, b1)`` only, on this thread."""
    L = len(Vs)
    for _ in range(n_iter):
        for parity in range(2):
            for k in range(parity, L, 2):
                _layer_input(k, P, Vs, Ws, WTs, bs, accs[k], b0, b1)
                _set_layer(k, accs[k], dens[k], Vs, y, beta, b0, b1)


@njit(**DRN_NUMBA_OPTIONS)
def _copy_rows(src, dst, b0, b1):
    for k in range(len(src)):
        dst[k][b0:b1, :] = src[k][b0:b1]


@njit(**DRN_PARALLEL_OPTIONS)
def _ep_phases_per_example(P, Vs, Vm, Vp, Ws, WTs, bs, dens, t, beta, n_iter, n_iter_free, accs,
                           parallel):
    """The three EP phases, one task per run of examples (one run per thread): one parallel
    region per batch, no barrier between relaxation steps (the examples of a batch do not
    interact). A run of two examples costs less than two runs of one (the loops over the
    narrow matrices are shared), so the batch is split into as few runs as there are threads."""
    dt = Ws[0].dtype
    B = Vs[0].shape[0]
    n_tasks = min(parallel, B)
    for task in prange(n_tasks):
        b0 = task * B // n_tasks
        b1 = (task + 1) * B // n_tasks
        _relax_examples(P, Vs, Ws, WTs, bs, dens, t, dt.type(0.0), n_iter_free, accs, b0, b1)
        _copy_rows(Vs, Vm, b0, b1)
        _relax_examples(P, Vm, Ws, WTs, bs, dens, t, dt.type(-beta), n_iter, accs, b0, b1)
        _copy_rows(Vs, Vp, b0, b1)
        _relax_examples(P, Vp, Ws, WTs, bs, dens, t, dt.type(beta), n_iter, accs, b0, b1)


@njit(**DRN_NUMBA_OPTIONS)
def ep_phases(P, Vs, Vm, Vp, Ws, WTs, bs, dens, t, beta, n_iter, n_iter_free, accs, parallel,
              per_example):
    """Free phase from ``Vs`` (in place), then the ``-beta`` phase into ``Vm`` and the
    ``+beta`` phase into ``Vp``, both from the free state.

    With ``per_example`` (see :func:`per_example_ok`) and the pool, each thread
    runs the three phases of a run of examples as one task; otherwise, from
    :data:`RELAX_POOL_MIN_THREADS` threads, each relaxation step is cut into
    blocks of columns (:func:`relax`), and below that the one-pass sweep runs
    on this thread (at a training batch, the column split reads each wide
    matrix twice per iteration and does not pay on two threads). All give
    the same bits.
    """
    dt = Ws[0].dtype
    if parallel > 1 and per_example and Vs[0].shape[0] > 1:
        _ep_phases_per_example(P, Vs, Vm, Vp, Ws, WTs, bs, dens, t, beta, n_iter,
                               n_iter_free, accs, parallel)
        return
    if parallel < RELAX_POOL_MIN_THREADS:
        parallel = 1
    relax(P, Vs, Ws, WTs, bs, dens, t, dt.type(0.0), n_iter_free, accs, parallel)
    _copy_state(Vs, Vm)
    relax(P, Vm, Ws, WTs, bs, dens, t, dt.type(-beta), n_iter, accs, parallel)
    _copy_state(Vs, Vp)
    relax(P, Vp, Ws, WTs, bs, dens, t, dt.type(beta), n_iter, accs, parallel)


# ----------------------------------------------------------------------------- EP training


@njit(**DRN_NUMBA_OPTIONS)
def _copy_state(src, dst):
    for k in range(len(src)):
        dst[k][:, :] = src[k]


@njit(**DRN_NUMBA_OPTIONS)
def _sums_panel(p, n_panels, W, rowsum, parts):
    """Row sums of panel ``p`` and its column sums (into ``parts[p]``), accumulated in float64."""
    i0 = p * W.shape[0] // n_panels
    i1 = (p + 1) * W.shape[0] // n_panels
    cs = parts[p]
    cs[:] = 0.0
    for i in range(i0, i1):
        s = 0.0
        for j in range(W.shape[1]):
            w = np.float64(W[i, j])
            s += w
            cs[j] += w
        rowsum[i] = s


@njit(**DRN_PARALLEL_OPTIONS)
def weight_sums(W, rowsum, colsum, parallel):
    """``rowsum = W.sum(1)``, ``colsum = W.sum(0)``, summed in float64 then rounded once.

    One pass over ``W`` in the row panels of :func:`rank_update_project`; the
    panels' column sums are added in panel order, so the bits do not depend
    on the thread count. The trainer resets its running (rounded) sums with
    it at every epoch start.
    """
    n_panels = _n_panels(W.shape[0])
    parts = np.empty((n_panels, W.shape[1]), dtype=np.float64)
    if _serial(n_panels, W.shape[0] * W.shape[1], parallel):
        for p in range(n_panels):
            _sums_panel(p, n_panels, W, rowsum, parts)
    else:
        for p in prange(n_panels):
            _sums_panel(p, n_panels, W, rowsum, parts)
    for q in range(1, n_panels):
        parts[0] += parts[q]
    colsum[:] = parts[0]


def weight_scratch(Ws, n_products):
    """Scratch of :func:`update_weights` for the weights ``Ws`` and products of ``n_products``
    rows with ``W[0]``: ``(colsum_parts, P_parts, no_rows_in, no_rows_out)``, one array per
    matrix each (the other panels' sums; empty ``(0, n_in)`` and ``(0, n_out)`` operands)."""
    dt = Ws[0].dtype
    parts, P_parts, no_in, no_out = [], [], [], []
    for k, W in enumerate(Ws):
        n_in, n_out = W.shape
        n_panels = min(ROW_PANELS, n_in)
        parts.append(np.empty((n_panels - 1, n_out), dtype=dt))
        P_parts.append(np.empty((n_panels - 1, n_products if k == 0 else 0, n_out), dtype=dt))
        no_in.append(np.empty((0, n_in), dtype=dt))
        no_out.append(np.empty((0, n_out), dtype=dt))
    return seq(parts), seq(P_parts), seq(no_in), seq(no_out)


@njit(**DRN_NUMBA_OPTIONS)
def _passes(k, pending, vin):
    """Whether :func:`update_weights` passes over ``Ws[k]``: an update is pending, or (the
    input weights) there is a product to compute."""
    return pending[k] != 0 or (k == 0 and vin.shape[0] > 0)


@njit(**DRN_NUMBA_OPTIONS)
def _refresh_transpose_rows(W, WT, i0, i1):
    """``WT[:, i0:i1] = W[i0:i1].T``."""
    for i in range(i0, i1):
        for j in range(W.shape[1]):
            WT[j, i] = W[i, j]


@njit(**DRN_NUMBA_OPTIONS)
def _weight_panels(p, Ws, WTs, pending, pend_r, pend_c, pend_U, pend_E, rowsums, colsums,
                   vin, P, scratch):
    """Task ``p`` of :func:`update_weights`: row panel ``p`` of every matrix that it passes over."""
    parts, P_parts, no_in, no_out = scratch
    for k in range(len(Ws)):
        W = Ws[k]
        n_panels = _n_panels(W.shape[0])
        if p >= n_panels or not _passes(k, pending, vin):
            continue
        U, E = (pend_U[k], pend_E[k]) if pending[k] else (no_in[k], no_out[k])
        Xp, Pk = (vin, P) if k == 0 else (no_in[k], no_out[k])
        _update_panel(p, n_panels, W, pend_r[k], pend_c[k], U, E, rowsums[k], colsums[k], Xp,
                      Pk, parts[k], P_parts[k], k > 0)
        if k > 0 and W.shape[1] < NARROW_COLUMNS:
            _refresh_transpose_rows(W, WTs[k], p * W.shape[0] // n_panels,
                                    (p + 1) * W.shape[0] // n_panels)


@njit(**DRN_PARALLEL_OPTIONS)
def update_weights(Ws, WTs, pending, pend_r, pend_c, pend_U, pend_E, rowsums, colsums, vin, P,
                   scratch, parallel):
    """Every pending EP update, and ``P = vin @ W[0]`` with the updated ``W[0]``, in one
    parallel region.

    ``pend_r[k]``, ``pend_c[k]``, ``pend_U[k]``, ``pend_E[k]`` hold the update of
    ``Ws[k]`` as :func:`rank_update_project` takes it, applied where ``pending[k]``
    (then cleared); the sums ``rowsums[k]`` (``k >= 1``), ``colsums[k]`` and, for
    narrow matrices, ``WTs[k]`` follow. Task ``p`` runs row panel ``p`` of every
    matrix (:data:`ROW_PANELS` tasks, each as long as the others), so a network's
    whole weight work of a batch costs one fork and join, and each matrix gets the
    bits of its own :func:`rank_update_project` call. ``vin`` may have no rows
    (no product: ``P`` has none either). ``scratch``: :func:`weight_scratch`.
    """
    if not pending[0]:
        pend_c[0][:] = 0.0  # W[0] is passed over for the product only: W + 0 is W
    work = 0
    for k in range(len(Ws)):
        if _passes(k, pending, vin):
            terms = pend_U[k].shape[0] if pending[k] else 0
            products = vin.shape[0] if k == 0 else 0
            work += Ws[k].shape[0] * Ws[k].shape[1] * (terms + products + 1)
    if _serial(ROW_PANELS, work, parallel):
        for p in range(ROW_PANELS):
            _weight_panels(p, Ws, WTs, pending, pend_r, pend_c, pend_U, pend_E, rowsums,
                           colsums, vin, P, scratch)
    else:
        for p in prange(ROW_PANELS):
            _weight_panels(p, Ws, WTs, pending, pend_r, pend_c, pend_U, pend_E, rowsums,
                           colsums, vin, P, scratch)
    parts, P_parts, no_in, no_out = scratch
    for k in range(len(Ws)):
        if _passes(k, pending, vin):
            _add_panels(colsums[k], P if k == 0 else no_out[k], parts[k], P_parts[k])
        pending[k] = 0


@njit(**DRN_NUMBA_OPTIONS)
def _conductance_sums(colsums, rowsums, dens):
    L = len(dens)
    for k in range(L):
        d = dens[k]
        d[:] = colsums[k]
        if k < L - 1:
            d += rowsums[k + 1]


@njit(**DRN_NUMBA_OPTIONS)
def _check_dens(dens, beta):
    """0 when every free node conducts and every output keeps sum(g) - beta > 0."""
    L = len(dens)
    for k in range(L - 1):
        d = dens[k]  # out of the loop: each item of a typed list costs a call and a refcount
        for j in range(d.shape[0]):
            if not d[j] > 0.0:
                return 1
    d = dens[L - 1]
    for j in range(d.shape[0]):
        if not d[j] - beta > 0.0:
            return 2
    return 0


@njit(**DRN_NUMBA_OPTIONS)
def _squares_drop(Vp, Vm, f, out):
    """``out[j] = f * sum_b (Vp[b, j]^2 - Vm[b, j]^2)``, summed over ``b`` in order."""
    out[:] = 0.0
    for b in range(Vp.shape[0]):
        for j in range(Vp.shape[1]):
            out[j] += Vp[b, j] * Vp[b, j] - Vm[b, j] * Vm[b, j]
    out *= f


@njit(**DRN_NUMBA_OPTIONS)
def _ep_updates(vin, Vp, Vm, lr_w, beta, pend_r, pend_c, pend_U, pend_E, pending):
    """The batch's weight updates, left pending for the next :func:`update_weights`:
    ``W += s * mean[(dv+)^2 - (dv-)^2]``, ``s = -lr_w / (4 beta)``, in rank-one terms.

    ``W[0]``'s input side is fixed: rank ``B + 1`` (``r = 0``, ``U = vin``,
    ``E = -2 s / B (v+ - v-)``); the others rank ``2B + 2`` (``U = [pre+; pre-]``,
    ``E = -2 s / B [post+; -post-]``).
    """
    dt = vin.dtype
    B = vin.shape[0]
    for k in range(len(Vp)):
        s = -lr_w[k] / (4.0 * beta)
        post_p, post_m = Vp[k], Vm[k]
        _squares_drop(post_p, post_m, dt.type(s / B), pend_c[k])
        E = pend_E[k]
        if k == 0:
            pend_U[0][:, :] = vin
            for b in range(B):
                for j in range(post_p.shape[1]):
                    E[b, j] = dt.type(-2.0 * s / B) * (post_p[b, j] - post_m[b, j])
        else:
            _squares_drop(Vp[k - 1], Vm[k - 1], dt.type(s / B), pend_r[k])
            U = pend_U[k]
            U[:B] = Vp[k - 1]
            U[B:] = Vm[k - 1]
            for b in range(B):
                for j in range(post_p.shape[1]):
                    E[b, j] = dt.type(-2.0 * s / B) * post_p[b, j]
                    E[B + b, j] = dt.type(2.0 * s / B) * post_m[b, j]
        pending[k] = 1


@njit(**DRN_NUMBA_OPTIONS)
def ep_train_batches(X, labels, order, B, gain, Ws, WTs, bs, colsums, rowsums, Vs,
                     pend_r, pend_c, pend_U, pend_E, pending, scratch, lr_w, lr_b, beta,
                     n_iter, n_iter_free, Vm, Vp, accs, dens, parallel):
    """Centered-EP SGD over the batches ``order[0:B], order[B:2B], ...`` (whole batches only).

    Per batch: input sources ``gain * [x, -x]``; the previous batch's weight
    updates fused with this batch's product ``P = vin @ W[0]`` (one parallel
    region, :func:`update_weights`); free phase from the carried state ``Vs``;
    ``-beta`` and ``+beta`` phases from the free state (one parallel region);
    bias updates, and the weight updates left pending (``pend_*``,
    :func:`_ep_updates`, applied by the next batch or by the trainer's flush);
    ``Vs`` ends at the ``+beta`` state, as in the paper's code. Returns
    ``(errors, status, batch)``: free-state misclassifications, and a status
    that is 0, or 1 (a hidden node without conductance) / 2 (an output with
    ``sum(g) - beta <= 0``) at batch ``batch`` (its weights untouched since the check).
    """
    L = len(Ws)
    dt = Ws[0].dtype
    n0 = Ws[0].shape[0]
    d = X.shape[1]
    n_out = Vs[L - 1].shape[1]
    vin = np.empty((B, n0), dtype=dt)
    P = np.empty((B, Ws[0].shape[1]), dtype=dt)
    t = np.zeros((B, n_out), dtype=dt)
    errors = 0
    per_example = per_example_ok(Ws)
    n_batches = order.shape[0] // B
    for bi in range(n_batches):
        # inputs and targets
        t[:, :] = 0.0
        for b in range(B):
            e = order[bi * B + b]
            for i in range(d):
                vin[b, i] = gain * X[e, i]
                vin[b, d + i] = -gain * X[e, i]
            t[b, labels[e]] = 1.0
        # the previous batch's updates + this batch's input product (one pass over each W)
        update_weights(Ws, WTs, pending, pend_r, pend_c, pend_U, pend_E, rowsums, colsums,
                       vin, P, scratch, parallel)
        _conductance_sums(colsums, rowsums, dens)
        status = _check_dens(dens, beta)
        if status:
            return errors, status, bi
        # free phase from the carried state, then the nudged phases from the free state
        ep_phases(P, Vs, Vm, Vp, Ws, WTs, bs, dens, t, beta, n_iter, n_iter_free, accs,
                  parallel, per_example)
        out = Vs[L - 1]
        for b in range(B):
            best = 0
            for j in range(1, n_out):
                if out[b, j] > out[b, best]:
                    best = j
            if best != labels[order[bi * B + b]]:
                errors += 1
        # biases: b += lr_b * mean(v+ - v-) / (2 beta)
        for k in range(L):
            f = dt.type(lr_b[k] / (2.0 * beta * B))
            bias, vp, vm = bs[k], Vp[k], Vm[k]  # items of typed lists, fetched once
            for b in range(B):
                for j in range(bias.shape[0]):
                    bias[j] += f * (vp[b, j] - vm[b, j])
        _ep_updates(vin, Vp, Vm, lr_w, beta, pend_r, pend_c, pend_U, pend_E, pending)
        _copy_state(Vp, Vs)
    return errors, 0, n_batches
