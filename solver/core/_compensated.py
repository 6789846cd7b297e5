"""Compensated (double-double) sums for the few places where float64 cancellation loses the answer.

A node where a kiloampere enters and leaves carries, in float64, an error of
about 1e-13 A in whatever small current is left over; when that small current
is all that fixes a potential, or is a diode current the certificate checks at
a weakly loaded cluster, the error is the whole answer. Here each such sum is
kept as an unevaluated pair ``hi + lo`` (Knuth's TwoSum, Dekker's TwoProduct),
which makes it exact to about 1e-32 relative to its largest term. Used for the
equality QP's right-hand side and residual (iterative refinement), for the
diode currents from Kirchhoff's law, and for the voltage-source currents.
Layers as in :mod:`._kernels`: only arrays and scalars cross into numba.
"""

import numpy as np
from numba import njit

from ..config import NUMBA_OPTIONS

_SPLITTER = 134217729.0  # 2**27 + 1, Dekker's split of a float64 into two 26-bit halves


@njit(**NUMBA_OPTIONS)
def two_sum(a, b):
    """s + e == a + b exactly, s = fl(a + b)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(**NUMBA_OPTIONS)
def two_prod(a, b):
    """p + e == a * b exactly (barring overflow), p = fl(a * b)."""
    p = a * b
    t = _SPLITTER * a
    ah = t - (t - a)
    al = a - ah
    t = _SPLITTER * b
    bh = t - (t - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


@njit(**NUMBA_OPTIONS)
def _difference(a, b, c):
    """a - b - c as d + err, d rounded and err its (nearly exact) remainder."""
    d1, e1 = two_sum(a, -b)
    d, e2 = two_sum(d1, -c)
    return d, e1 + e2


@njit(**NUMBA_OPTIONS)
def _add(hi, lo, k, x):
    """(hi[k], lo[k]) += x."""
    s, e = two_sum(hi[k], x)
    hi[k] = s
    lo[k] += e


@njit(**NUMBA_OPTIONS)
def _add_product(hi, lo, k, g, x, sign):
    """(hi[k], lo[k]) += sign * g * x, the product kept exactly."""
    p, e = two_prod(g, x)
    _add(hi, lo, k, sign * p)
    lo[k] += sign * e


@njit(**NUMBA_OPTIONS)
def reduced_rhs(tree, w, n_trees, ri, rj, rg, rk, f):
    """Right-hand side of the working-set equality QP (see ``_kernels.assemble_reduced``), as hi + lo."""
    hi = np.zeros(n_trees)
    lo = np.zeros(n_trees)
    for t in range(ri.shape[0]):
        a = tree[ri[t]]
        b = tree[rj[t]]
        if a == b:
            continue
        d, d_err = _difference(w[ri[t]], w[rj[t]], -rk[t])
        if a >= 0:
            _add_product(hi, lo, a, rg[t], d, -1.0)
            lo[a] -= rg[t] * d_err
        if b >= 0:
            _add_product(hi, lo, b, rg[t], d, 1.0)
            lo[b] += rg[t] * d_err
    for k in range(f.shape[0]):
        if tree[k] >= 0:
            _add(hi, lo, tree[k], f[k])
    return hi, lo


@njit(**NUMBA_OPTIONS)
def reduced_residual(U, rhs_hi, rhs_lo, tree, ri, rj, rg):
    """``rhs - A U`` evaluated in double-double and rounded, and the largest row residual relative to
    that row's scale ``|A||U| + |rhs|``."""
    hi = rhs_hi.copy()
    lo = rhs_lo.copy()
    scale = np.abs(rhs_hi)
    for t in range(ri.shape[0]):
        a = tree[ri[t]]
        b = tree[rj[t]]
        if a == b:
            continue
        xa = U[a] if a >= 0 else 0.0
        xb = U[b] if b >= 0 else 0.0
        size = rg[t] * (abs(xa) + abs(xb))
        if a >= 0:
            _add_product(hi, lo, a, rg[t], xa, -1.0)
            _add_product(hi, lo, a, rg[t], xb, 1.0)
            scale[a] += size
        if b >= 0:
            _add_product(hi, lo, b, rg[t], xb, -1.0)
            _add_product(hi, lo, b, rg[t], xa, 1.0)
            scale[b] += size
    r = hi + lo
    worst = 0.0
    for k in range(r.shape[0]):
        worst = max(worst, abs(r[k]) / max(scale[k], 1e-300))
    return r, worst


@njit(**NUMBA_OPTIONS)
def reduced_gradient(u, indptr, nbr, g, c, f):
    """dE/du[k] for every free component (resistor current leaving minus injection), as hi + lo."""
    m = indptr.shape[0] - 1
    hi = np.zeros(m)
    lo = np.zeros(m)
    for k in range(m):
        _add(hi, lo, k, -f[k])
        for t in range(indptr[k], indptr[k + 1]):
            d, d_err = _difference(u[k], u[nbr[t]], c[t])
            _add_product(hi, lo, k, g[t], d, 1.0)
            lo[k] += g[t] * d_err
    return hi, lo


@njit(**NUMBA_OPTIONS)
def tree_flow(order, parent_edge, ep, en, hi, lo):
    """Currents on tree edges that cancel each node's imbalance (leaves first), in double-double.

    ``hi[k] + lo[k]`` is the current node k must send out through its tree
    edges; edge e carries current from ``ep[e]`` to ``en[e]``. Returns the
    edge currents (edges not in the tree get 0) and the leftover imbalance
    collected at each root, both rounded to float64.
    """
    acc_hi = hi.copy()
    acc_lo = lo.copy()
    flow = np.zeros(ep.shape[0])
    for i in range(order.shape[0] - 1, -1, -1):
        k = order[i]
        e = parent_edge[k]
        if e < 0:
            continue
        value = acc_hi[k] + acc_lo[k]
        if ep[e] == k:
            parent = en[e]
            flow[e] = value
        else:
            parent = ep[e]
            flow[e] = -value
        _add(acc_hi, acc_lo, parent, acc_hi[k])
        acc_lo[parent] += acc_lo[k]
        acc_hi[k] = 0.0
        acc_lo[k] = 0.0
    return flow, acc_hi + acc_lo


@njit(**NUMBA_OPTIONS)
def add_node_currents(p, n, current, hi, lo):
    """Accumulate element currents as net current out of each node, in double-double."""
    for t in range(p.shape[0]):
        _add(hi, lo, p[t], current[t])
        _add(hi, lo, n[t], -current[t])
