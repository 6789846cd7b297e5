"""Array work of the compile step (:mod:`solver.core.compiled`), in numba.

A cold solve of a 1e2-node network used to spend a third of its time in the
compile step's seventy small numpy operations (a few microseconds each,
whatever the size). Each kernel here is one pass that produces exactly what
those operations produced: the same arrays in the same order (counting sorts
stand in for the stable argsorts), the same sums in the same order.
"""

import numpy as np
from numba import njit

from ..config import NUMBA_OPTIONS

__all__ = ["free_components", "reduced_structure", "reduced_values"]


@njit(**NUMBA_OPTIONS)
def free_components(n_nodes, root_of):
    """``(comp, m)``: each node's free component, numbered by increasing root node; ``m`` for ground's.

    ``root_of`` is each node's root in the voltage-source forest; node 0
    (ground) roots the fixed component.
    """
    is_root = np.zeros(n_nodes, dtype=np.bool_)
    for k in range(n_nodes):
        is_root[root_of[k]] = True
    is_root[0] = False
    root_index = np.empty(n_nodes, dtype=np.int64)
    m = 0
    for k in range(n_nodes):
        if is_root[k]:
            root_index[k] = m
            m += 1
    root_index[0] = m
    comp = np.empty(n_nodes, dtype=np.int64)
    for k in range(n_nodes):
        r = root_of[k]
        comp[k] = root_index[r] if is_root[r] else m
    return comp, m


@njit(**NUMBA_OPTIONS)
def _kept(comp, p, n):
    """Indices of the elements whose two ends lie in different components, and of the others."""
    keep = np.empty(p.shape[0], dtype=np.int64)
    inner = np.empty(p.shape[0], dtype=np.int64)
    nk = ni = 0
    for t in range(p.shape[0]):
        if comp[p[t]] != comp[n[t]]:
            keep[nk] = t
            nk += 1
        else:
            inner[ni] = t
            ni += 1
    return keep[:nk], inner[:ni]


@njit(**NUMBA_OPTIONS)
def _incidences(comp, m, p, n):
    """Elements of one kind between different components, and their incidences per free component.

    Returns ``(keep, inner, a, b, ptr, element, other, first)``: the elements
    kept and those inside one component, the components of each kept one's
    two ends, and per incidence (sorted by its component, stable: all p-side
    incidences before the n-side ones; the fixed component ``m`` has none)
    the kept element's position, the component at its other end and whether
    it is the p side. ``ptr`` delimits each free component's incidences.
    """
    keep, inner = _kept(comp, p, n)
    nk = keep.shape[0]
    a = np.empty(nk, dtype=np.int64)
    b = np.empty(nk, dtype=np.int64)
    count = np.zeros(m + 1, dtype=np.int64)
    for t in range(nk):
        a[t] = comp[p[keep[t]]]
        b[t] = comp[n[keep[t]]]
        count[a[t]] += 1
        count[b[t]] += 1
    ptr = np.zeros(m + 1, dtype=np.int64)
    for k in range(m):
        ptr[k + 1] = ptr[k] + count[k]
    nxt = ptr[:m].copy()
    element = np.empty(ptr[m], dtype=np.int64)
    other = np.empty(ptr[m], dtype=np.int64)
    first = np.empty(ptr[m], dtype=np.bool_)
    for side in range(2):
        for t in range(nk):
            own, far = (a[t], b[t]) if side == 0 else (b[t], a[t])
            if own < m:
                q = nxt[own]
                nxt[own] += 1
                element[q], other[q], first[q] = t, far, side == 0
    return keep, inner, a, b, ptr, element, other, first


@njit(**NUMBA_OPTIONS)
def reduced_structure(comp, m, rp, rn, dp, dn):
    """Resistors and diodes between components, and their incidence lists per free component.

    Returns ``(res_keep, ri, rj, indptr, inc_res, inc_side, nbr, inc_comp,
    dio_inner, dio_keep, da, dc, dptr, d_inc, dother, dupper)`` as described
    on :class:`solver.core.compiled._Structure`: incidences sorted by
    component, the p-side incidences of the kept elements before their
    n-side ones within a component; ``ri`` is the free end of each kept
    resistor (``ri < m``).
    """
    res_keep, _, ri, rj, indptr, which, nbr, p_side = _incidences(comp, m, rp, rn)
    ni = which.shape[0]
    inc_res = np.empty(ni, dtype=np.int64)
    inc_side = np.empty(ni, dtype=np.int64)
    inc_comp = np.empty(ni, dtype=np.int64)
    for k in range(ni):
        q = which[k]
        inc_res[k] = res_keep[q]
        inc_side[k] = 1 if p_side[k] else -1
        inc_comp[k] = ri[q] if p_side[k] else rj[q]
    for t in range(ri.shape[0]):  # keep the reduced resistor's free end first
        if ri[t] == m:
            ri[t], rj[t] = rj[t], ri[t]
    dio_keep, dio_inner, da, dc, dptr, d_inc, dother, dupper = _incidences(comp, m, dp, dn)
    return (res_keep, ri, rj, indptr, inc_res, inc_side, nbr, inc_comp,
            dio_inner, dio_keep, da, dc, dptr, d_inc, dother, dupper)


@njit(**NUMBA_OPTIONS)
def reduced_values(m, comp, offset, rp, rn, rg_all, res_keep, inc_res, inc_side, inc_comp,
                   ip, in_, icur, dp, dn, theta, dio_keep, d_inc, dupper):
    """The numbers of the reduced QP: ``(rk, rg, g, c, gsum, f, db, dbound)``.

    ``rk``/``rg``: constant and conductance of each kept resistor, seen from its
    free end; per incidence of free component k, ``g/2 (u_k - u_nbr - c)^2``
    with ``c = offset(far end) - offset(own end)``; ``gsum`` the conductance
    at each free component; ``f`` the current-source injection (into n, out
    of p); ``db`` each kept diode's bound on ``u_a - u_c``; ``dbound`` per diode
    incidence, ``db`` for the anode side and ``-db`` for the cathode side.
    """
    nr = res_keep.shape[0]
    rk = np.empty(nr)
    rg = np.empty(nr)
    for t in range(nr):
        e = res_keep[t]
        k = offset[rp[e]] - offset[rn[e]]
        rk[t] = -k if comp[rp[e]] == m else k
        rg[t] = rg_all[e]
    ni = inc_res.shape[0]
    g = np.empty(ni)
    c = np.empty(ni)
    gsum = np.zeros(m)
    for k in range(ni):
        e = inc_res[k]
        if inc_side[k] > 0:
            own, far = rp[e], rn[e]
        else:
            own, far = rn[e], rp[e]
        g[k] = rg_all[e]
        c[k] = offset[far] - offset[own]
        gsum[inc_comp[k]] += g[k]
    f_all = np.zeros(m + 1)
    for t in range(in_.shape[0]):
        f_all[comp[in_[t]]] += icur[t]
    for t in range(ip.shape[0]):
        f_all[comp[ip[t]]] += -icur[t]
    nd = dio_keep.shape[0]
    db = np.empty(nd)
    for q in range(nd):
        e = dio_keep[q]
        db[q] = theta[e] - offset[dp[e]] + offset[dn[e]]
    dbound = np.empty(d_inc.shape[0])
    for k in range(d_inc.shape[0]):
        dbound[k] = db[d_inc[k]] if dupper[k] else -db[d_inc[k]]
    return rk, rg, g, c, gsum, f_all[:m].copy(), db, dbound
