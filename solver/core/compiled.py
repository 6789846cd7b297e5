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
from ._compile_kernels import free_components, reduced_structure, reduced_values
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
    vs_closing: np.ndarray  # sources outside the forest (each closes a loop)
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
    dense_fronts: bool = False  # factorise by supernodes (set with slot_rank)


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
    comp, m = free_components(n_nodes, root_of)

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

    # 3. resistors and diodes between components, and their incidence lists per free component
    (res_keep, ri, rj, indptr, inc_res, inc_side, nbr, inc_comp,
     dio_inner, dio_keep, da, dc, dptr, d_inc, dother, dupper) = reduced_structure(comp, m, rp, rn, dp, dn)
    return _Structure(
        nodes=nodes, comp=comp, m=m,
        vs_order=order, vs_parent_edge=vs_parent_edge, vs_tree=vs_tree,
        vs_closing=np.flatnonzero(~vs_tree), res_keep=res_keep, ri=ri, rj=rj, indptr=indptr,
        inc_res=inc_res, inc_side=inc_side, nbr=nbr, inc_comp=inc_comp,
        dio_inner=dio_inner, dio_keep=dio_keep, da=da, dc=dc, dptr=dptr,
        d_inc=d_inc, dother=dother, dupper=dupper,
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
        float(np.abs(volts).max()) if volts.size else 0.0, float(theta.max()) if theta.size else 0.0, 0.0
    )
    loop_tol = SOURCE_LOOP_TOLERANCE * scale
    closing = s.vs_closing  # sources that close a loop must agree with the tree
    mismatch = offset[vp[closing]] - offset[vn[closing]] - volts[closing] if closing.size else closing
    bad = np.flatnonzero(np.abs(mismatch) > loop_tol) if closing.size else closing
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
    rk, rg, g, c, gsum, f, db, dbound = reduced_values(
        m, s.comp, offset, rp, rn, rg_all, s.res_keep, s.inc_res, s.inc_side, s.inc_comp,
        ip, in_, icur, dp, dn, theta, s.dio_keep, s.d_inc, s.dupper)
    if gsum.size and not np.all(gsum > 0):  # unreachable after the floating check, kept as a guard
        raise FloatingNodeError("a free node has no resistor attached", [])
    if icur.size and g.size:
        scale = max(scale, float(np.max(np.abs(icur)) / np.min(rg_all)))
    return CompiledNetwork(
        structure=s, arrays=arrays, offset=offset, rk=rk, rg=rg, g=g, c=c, gsum=gsum,
        f=f, db=db, dbound=dbound, voltage_scale=scale,
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
