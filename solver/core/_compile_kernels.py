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
def _incidence_order(m, first, second):
    """Stable counting sort of the incidences ``first`` then ``second`` (component per incidence)
    by component, those of the fixed component ``m`` dropped: ``(ptr, position)``, where
    ``position`` lists the concatenated incidence numbers in sorted order."""
    count = np.zeros(m + 1, dtype=np.int64)
    for k in range(first.shape[0]):
        count[first[k]] += 1
    for k in range(second.shape[0]):
        count[second[k]] += 1
    ptr = np.zeros(m + 1, dtype=np.int64)
    for k in range(m):
        ptr[k + 1] = ptr[k] + count[k]
    nxt = ptr[:m].copy()
    position = np.empty(ptr[m], dtype=np.int64)
    n_first = first.shape[0]
    for k in range(n_first):
        c = first[k]
        if c < m:
            position[nxt[c]] = k
            nxt[c] += 1
    for k in range(second.shape[0]):
        c = second[k]
        if c < m:
            position[nxt[c]] = n_first + k
            nxt[c] += 1
    return ptr, position


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
    res_keep, _ = _kept(comp, rp, rn)
    nr = res_keep.shape[0]
    ri = np.empty(nr, dtype=np.int64)
    rj = np.empty(nr, dtype=np.int64)
    for t in range(nr):
        ri[t] = comp[rp[res_keep[t]]]
        rj[t] = comp[rn[res_keep[t]]]
    indptr, position = _incidence_order(m, ri, rj)
    ni = position.shape[0]
    inc_res = np.empty(ni, dtype=np.int64)
    inc_side = np.empty(ni, dtype=np.int64)
    nbr = np.empty(ni, dtype=np.int64)
    inc_comp = np.empty(ni, dtype=np.int64)
    for k in range(ni):
        q = position[k]
        if q < nr:
            inc_res[k], inc_side[k], nbr[k], inc_comp[k] = res_keep[q], 1, rj[q], ri[q]
        else:
            q -= nr
            inc_res[k], inc_side[k], nbr[k], inc_comp[k] = res_keep[q], -1, ri[q], rj[q]
    for t in range(nr):  # keep the reduced resistor's free end first
        if ri[t] == m:
            ri[t], rj[t] = rj[t], ri[t]

    dio_keep, dio_inner = _kept(comp, dp, dn)
    nd = dio_keep.shape[0]
    da = np.empty(nd, dtype=np.int64)
    dc = np.empty(nd, dtype=np.int64)
    for e in range(nd):
        da[e] = comp[dp[dio_keep[e]]]
        dc[e] = comp[dn[dio_keep[e]]]
    dptr, dposition = _incidence_order(m, da, dc)
    nq = dposition.shape[0]
    d_inc = np.empty(nq, dtype=np.int64)
    dother = np.empty(nq, dtype=np.int64)
    dupper = np.empty(nq, dtype=np.bool_)
    for k in range(nq):
        q = dposition[k]
        if q < nd:
            d_inc[k], dother[k], dupper[k] = q, dc[q], True
        else:
            q -= nd
            d_inc[k], dother[k], dupper[k] = q, da[q], False
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
