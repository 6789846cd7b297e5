"""Compile a :class:`~solver.core.network.Network` into the flat arrays the kernels use.

Compilation does the structural validation that needs the whole circuit and
eliminates the voltage sources:

1. Nodes joined by voltage sources form a *component*; inside it every
   potential is the component's potential plus a fixed offset, found along a
   spanning tree of the sources. A source that closes a loop must agree with
   the tree (else :class:`VoltageLoopError`).
2. The component holding ground is *fixed*. Every other node must reach it
   through resistors or voltage sources (else :class:`FloatingNodeError`).
3. What is left is a QP in one potential per free component::

       minimise   sum_r g_r/2 (u_i - u_j - c_r)^2 - sum_k f_k u_k
       subject to u_a - u_c <= b_e          (one row per diode)

   with ``u[m] = 0`` standing for the fixed component. A diode whose two ends
   sit in one component is a constant: it either holds or the network is
   infeasible.

The structural part is cached on the network until an element is added or
removed; a value change only recomputes the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._kernels import _node_update as node_update
from ._graph_kernels import source_forest, unreached_from
from ._kernels import source_offsets
from ..config import MAX_ELEMENTS, SOURCE_LOOP_TOLERANCE
from ..exceptions import FloatingNodeError, InfeasibleNetworkError, NetworkError, VoltageLoopError

__all__ = ["CompiledNetwork", "compile_network"]


@dataclass
class _Structure:
    """Everything that depends only on which elements join which nodes."""

    nodes: list
    comp: np.ndarray  # free component per node, m for fixed nodes
    m: int
    vs_order: np.ndarray  # BFS order of nodes over the voltage-source forest
    vs_parent_edge: np.ndarray  # source joining a node to its BFS parent, -1 at roots
    vs_tree: np.ndarray  # bool per source: in the spanning forest
    res_keep: np.ndarray  # resistors between different components
    ri: np.ndarray
    rj: np.ndarray
    indptr: np.ndarray  # CSR of resistor incidences per free component
    inc_res: np.ndarray  # resistor index of each incidence
    inc_side: np.ndarray  # +1 when the component is the resistor's p side
    nbr: np.ndarray
    inc_comp: np.ndarray  # free component of each incidence (sorted)
    dio_inner: np.ndarray  # diodes inside one component (constants)
    dio_keep: np.ndarray  # diodes between different components
    da: np.ndarray
    dc: np.ndarray
    dptr: np.ndarray
    d_inc: np.ndarray  # reduced diode index of each diode incidence
    dother: np.ndarray
    dupper: np.ndarray
    slot_rank: np.ndarray = None  # fill-reducing pivot rank per free slot, set by the first factorisation


@dataclass
class CompiledNetwork:
    """Flat arrays of one network state, ready for the kernels."""

    structure: _Structure
    arrays: dict
    offset: np.ndarray  # node potential = u[comp] + offset
    rk: np.ndarray  # reduced resistor constants
    rg: np.ndarray
    g: np.ndarray  # per incidence
    c: np.ndarray
    gsum: np.ndarray
    f: np.ndarray
    db: np.ndarray
    dbound: np.ndarray  # per diode incidence: u_k <= u_other + dbound (upper) or >= (lower)
    voltage_scale: float
    db_order: np.ndarray = None  # reduced diodes by increasing bound (the forest's tie-break)

    @property
    def m(self):
        return self.structure.m

    def node_update(self, u, k):
        """Coordinate k's exact update from potentials u (free components plus the fixed slot).

        Returns ``(mean, clipped)``: the conductance-weighted mean that
        minimises E along u[k], and that value clipped to the interval the
        diodes at k allow. The one entry point for single-node steps (the
        explorer's step mode), so that callers never assemble kernel arguments.
        """
        s = self.structure
        return node_update(k, u, s.indptr, s.nbr, self.g, self.c, self.f, self.gsum, s.dptr,
                           s.dother, self.dbound, s.dupper)


def compile_network(net) -> CompiledNetwork:
    """Validate ``net`` as a whole and return its compiled form.

    The result is kept in ``net.derived`` with the network's versions: it is
    reused until any value changes, and its structure until an element is
    added or removed.
    """
    cache = net.derived.get(_CACHE_KEY)
    if cache is not None and cache[0] == net.value_version:
        return cache[2]
    arrays = net.arrays()
    if cache is not None and cache[1] == net.structure_version:
        structure = cache[2].structure
    else:
        structure = _compile_structure(net, arrays)
    compiled = _compile_values(net, structure, arrays)
    net.derived[_CACHE_KEY] = (net.value_version, net.structure_version, compiled)
    return compiled


#: Key of the compiled form in ``Network.derived``.
_CACHE_KEY = "solver.compiled"


def _node_list(nodes, indices, limit=10):
    names = [repr(nodes[i]) for i in indices[:limit]]
    more = len(indices) - limit
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _compile_structure(net, arrays) -> _Structure:
    nodes = arrays["nodes"]
    n_nodes = len(nodes)
    total = n_nodes + sum(len(arrays[k][3]) for k in ("resistor", "diode", "vsource", "isource"))
    if total > MAX_ELEMENTS:
        raise NetworkError(f"network has {total} nodes and elements; the limit is {MAX_ELEMENTS}")
    rp, rn, _, _ = arrays["resistor"]
    dp, dn, _, _ = arrays["diode"]
    vp, vn, _, vnames = arrays["vsource"]

    # 1. voltage-source forest, breadth first from the lowest node of each group of joined nodes
    vs_parent_edge, vs_tree, root_of, children = source_forest(n_nodes, vp, vn)
    # every node without a parent source first, then children after their parents
    order = np.concatenate([np.flatnonzero(vs_parent_edge < 0), children])

    # 2. free components: one per source-tree root other than ground's (root 0)
    is_root = np.zeros(n_nodes, dtype=bool)
    is_root[root_of] = True  # sorted roots without np.unique's sort or hash
    is_root[0] = False
    free_roots = np.flatnonzero(is_root)
    m = len(free_roots)
    root_index = np.full(n_nodes, m, dtype=np.int64)
    root_index[free_roots] = np.arange(m)
    comp = root_index[root_of]

    # floating check: resistors and sources must connect every node to ground
    if n_nodes > 1:
        ei = np.concatenate([rp, vp])
        ej = np.concatenate([rn, vn])
        floating = unreached_from(n_nodes, ei, ej, 0)
        if floating.size:
            names = [nodes[i] for i in floating]
            raise FloatingNodeError(
                f"the potential of node(s) {_node_list(nodes, floating)} is not determined: "
                "no path through resistors or voltage sources leads to ground '0'. "
                "Connect them to the rest of the circuit (diodes and current sources do not fix a potential).",
                names,
            )

    # 3. resistors between components, and their incidence CSR over free components
    ci, cj = comp[rp], comp[rn]
    res_keep = np.flatnonzero(ci != cj)
    ri, rj = ci[res_keep], cj[res_keep]
    inc_comp = np.concatenate([ri, rj])
    inc_res = np.concatenate([res_keep, res_keep])
    inc_side = np.concatenate([np.ones(len(ri), np.int64), -np.ones(len(rj), np.int64)])
    inc_nbr = np.concatenate([rj, ri])
    free = inc_comp < m
    inc_comp, inc_res, inc_side, inc_nbr = inc_comp[free], inc_res[free], inc_side[free], inc_nbr[free]
    perm = np.argsort(inc_comp, kind="stable")
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(inc_comp, minlength=m), out=indptr[1:])
    # keep the reduced resistor's free end first, so ri < m always
    swap = ri == m
    ri, rj = np.where(swap, rj, ri), np.where(swap, ri, rj)

    # diodes between components
    da_all, dc_all = comp[dp], comp[dn]
    dio_keep = np.flatnonzero(da_all != dc_all)
    da, dc = da_all[dio_keep], dc_all[dio_keep]
    d_comp = np.concatenate([da, dc])
    d_inc = np.concatenate([np.arange(len(da)), np.arange(len(da))])
    d_other = np.concatenate([dc, da])
    d_upper = np.concatenate([np.ones(len(da), bool), np.zeros(len(da), bool)])
    dfree = d_comp < m
    d_comp, d_inc, d_other, d_upper = d_comp[dfree], d_inc[dfree], d_other[dfree], d_upper[dfree]
    dperm = np.argsort(d_comp, kind="stable")
    dptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(d_comp, minlength=m), out=dptr[1:])

    return _Structure(
        nodes=nodes, comp=comp, m=m,
        vs_order=order, vs_parent_edge=vs_parent_edge, vs_tree=vs_tree,
        res_keep=res_keep, ri=ri, rj=rj, indptr=indptr,
        inc_res=inc_res[perm], inc_side=inc_side[perm], nbr=inc_nbr[perm],
        inc_comp=inc_comp[perm], dio_inner=np.flatnonzero(da_all == dc_all), dio_keep=dio_keep, da=da, dc=dc, dptr=dptr,
        d_inc=d_inc[dperm], dother=d_other[dperm], dupper=d_upper[dperm],
    )


def _compile_values(net, s: _Structure, arrays) -> CompiledNetwork:
    nodes = s.nodes
    rp, rn, rg_all, _ = arrays["resistor"]
    dp, dn, theta, dnames = arrays["diode"]
    vp, vn, volts, vnames = arrays["vsource"]
    ip, in_, icur, _ = arrays["isource"]

    # offsets along the voltage-source forest (ground's tree holds absolute potentials)
    offset = source_offsets(s.vs_order, s.vs_parent_edge, vp, vn, volts)
    scale = 1.0 + max(
        float(np.max(np.abs(volts), initial=0.0)), float(np.max(theta, initial=0.0))
    )
    loop_tol = SOURCE_LOOP_TOLERANCE * scale
    closing = np.flatnonzero(~s.vs_tree)  # sources that close a loop must agree with the tree
    mismatch = offset[vp[closing]] - offset[vn[closing]] - volts[closing]
    bad = np.flatnonzero(np.abs(mismatch) > loop_tol)
    if bad.size:
        e = closing[bad[0]]
        loop = _source_path(s, vp, vn, vp[e], vn[e], vnames) + [vnames[e]]
        raise VoltageLoopError(
            f"voltage sources {', '.join(loop)} form a loop whose voltages do not sum to zero "
            f"(off by {mismatch[bad[0]]:.6g} V); remove one source or make them agree",
            loop,
        )

    # diodes inside one component are constants: they hold or nothing can
    inner = s.dio_inner
    if inner.size:
        drop = offset[dp[inner]] - offset[dn[inner]] - theta[inner]
        bad = inner[drop > loop_tol]
        if bad.size:
            e = int(bad[0])
            sources = _source_path(s, vp, vn, dp[e], dn[e], vnames)
            raise InfeasibleNetworkError(
                f"diode {dnames[e]!r} is forced forward: voltage sources {', '.join(sources) or '(none)'} "
                f"hold v({nodes[dp[e]]!r}) - v({nodes[dn[e]]!r}) = {offset[dp[e]] - offset[dn[e]]:.6g} V, "
                f"above its threshold {theta[e]:.6g} V",
                [dnames[e], *sources],
            )

    m = s.m
    rk = offset[rp[s.res_keep]] - offset[rn[s.res_keep]]
    rg = rg_all[s.res_keep]
    swap = s.comp[rp[s.res_keep]] == m
    rk = np.where(swap, -rk, rk)
    # incidence of free component k: g/2 (u_k - u_nbr - c)^2 with c = offset_nbr_end - offset_own_end
    res = s.inc_res
    own = np.where(s.inc_side > 0, rp[res], rn[res])
    far = np.where(s.inc_side > 0, rn[res], rp[res])
    g = rg_all[res]
    c = offset[far] - offset[own]
    gsum = np.bincount(s.inc_comp, weights=g, minlength=m)
    # current sources: inject into n, draw from p
    f = np.zeros(m + 1)
    np.add.at(f, s.comp[in_], icur)
    np.add.at(f, s.comp[ip], -icur)
    f = f[:m]
    db = theta[s.dio_keep] - offset[dp[s.dio_keep]] + offset[dn[s.dio_keep]]
    if gsum.size and not np.all(gsum > 0):  # unreachable after the floating check, kept as a guard
        raise FloatingNodeError("a free node has no resistor attached", [])
    if icur.size and g.size:
        scale = max(scale, float(np.max(np.abs(icur)) / np.min(rg_all)))
    return CompiledNetwork(
        structure=s, arrays=arrays, offset=offset, rk=rk, rg=rg, g=g, c=c, gsum=gsum,
        f=f, db=db, dbound=np.where(s.dupper, db[s.d_inc], -db[s.d_inc]), voltage_scale=scale,
        db_order=np.argsort(db, kind="stable"),
    )


def _source_path(s, vp, vn, a, b, vnames):
    """Names of the voltage sources on the forest path between nodes a and b."""

    def up(k):
        path = []
        while s.vs_parent_edge[k] >= 0:
            e = s.vs_parent_edge[k]
            path.append((k, e))
            k = vn[e] if vp[e] == k else vp[e]
        return path

    pa, pb = up(a), up(b)
    nodes_b = {k: i for i, (k, _) in enumerate(pb)}
    edges = []
    for k, e in pa:
        if k in nodes_b:
            return [vnames[x] for x in edges] + [vnames[x] for _, x in pb[: nodes_b[k]]]
        edges.append(e)
    # meet at the root
    return [vnames[x] for x in edges] + [vnames[x] for _, x in pb]
