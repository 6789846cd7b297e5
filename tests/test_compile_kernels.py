"""The compile step's numba kernels against the plain numpy formulation they replace.

The reference below is the compile step written with whole-array numpy
operations (stable argsorts, bincounts, ``np.add.at``): the kernels must give
the same arrays, bit for bit, on random incidences with voltage-source groups,
elements inside one group, elements at ground and networks without elements.
"""

import numpy as np
import pytest

from solver.core._compile_kernels import free_components, reduced_structure, reduced_values
from solver.core._graph_kernels import source_forest
from solver.core._kernels import source_offsets


def reference_structure(n_nodes, root_of, rp, rn, dp, dn):
    is_root = np.zeros(n_nodes, dtype=bool)
    is_root[root_of] = True
    is_root[0] = False
    free_roots = np.flatnonzero(is_root)
    m = len(free_roots)
    root_index = np.full(n_nodes, m, dtype=np.int64)
    root_index[free_roots] = np.arange(m)
    comp = root_index[root_of]
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
    swap = ri == m
    ri, rj = np.where(swap, rj, ri), np.where(swap, ri, rj)
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
    structure = (res_keep, ri, rj, indptr, inc_res[perm], inc_side[perm], inc_nbr[perm], inc_comp[perm],
                 np.flatnonzero(da_all == dc_all), dio_keep, da, dc, dptr, d_inc[dperm], d_other[dperm],
                 d_upper[dperm])
    return comp, m, structure


def reference_values(m, comp, offset, rp, rn, rg_all, structure, ip, in_, icur, dp, dn, theta):
    res_keep, _, _, _, inc_res, inc_side, _, inc_comp, _, dio_keep, _, _, _, d_inc, _, dupper = structure
    rk = offset[rp[res_keep]] - offset[rn[res_keep]]
    rg = rg_all[res_keep]
    rk = np.where(comp[rp[res_keep]] == m, -rk, rk)
    own = np.where(inc_side > 0, rp[inc_res], rn[inc_res])
    far = np.where(inc_side > 0, rn[inc_res], rp[inc_res])
    g = rg_all[inc_res]
    c = offset[far] - offset[own]
    gsum = np.bincount(inc_comp, weights=g, minlength=m)
    f = np.zeros(m + 1)
    np.add.at(f, comp[in_], icur)
    np.add.at(f, comp[ip], -icur)
    db = theta[dio_keep] - offset[dp[dio_keep]] + offset[dn[dio_keep]]
    return rk, rg, g, c, gsum, f[:m], db, np.where(dupper, db[d_inc], -db[d_inc])


def _same(ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and np.array_equal(a, b)
        if a.dtype.kind != "f" or b.dtype.kind == "f":  # numpy's bincount of nothing is int64, even weighted
            assert a.dtype == b.dtype


@pytest.mark.parametrize("seed", range(150))
def test_compile_kernels_match_the_numpy_formulation(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))

    def pairs(count):
        return rng.integers(0, n, count), rng.integers(0, n, count)

    vp, vn = pairs(int(rng.integers(0, n + 3)))  # groups of source-joined nodes, loops included
    rp, rn = pairs(int(rng.integers(0, 3 * n)))
    dp, dn = pairs(int(rng.integers(0, 2 * n)))
    ip, in_ = pairs(int(rng.integers(0, 4)))
    _, _, root_of, children = source_forest(n, vp, vn)
    comp, m = free_components(n, root_of)
    ref_comp, ref_m, ref_structure = reference_structure(n, root_of, rp, rn, dp, dn)
    assert m == ref_m and np.array_equal(comp, ref_comp)
    structure = reduced_structure(comp, m, rp, rn, dp, dn)
    _same(structure, ref_structure)

    parent_edge, _, _, children = source_forest(n, vp, vn)
    order = np.concatenate([np.flatnonzero(parent_edge < 0), children])
    offset = source_offsets(order, parent_edge, vp, vn, rng.normal(size=len(vp)))
    rg_all, theta, icur = rng.uniform(0.1, 10, len(rp)), rng.normal(size=len(dp)), rng.normal(size=len(ip))
    res_keep, inc_res, inc_side, inc_comp = structure[0], structure[4], structure[5], structure[7]
    dio_keep, d_inc, dupper = structure[9], structure[13], structure[15]
    ours = reduced_values(m, comp, offset, rp, rn, rg_all, res_keep, inc_res, inc_side, inc_comp,
                          ip, in_, icur, dp, dn, theta, dio_keep, d_inc, dupper)
    _same(ours, reference_values(m, comp, offset, rp, rn, rg_all, ref_structure, ip, in_, icur, dp, dn, theta))


def test_a_network_with_sources_inside_groups_compiles_to_the_reference():
    """A generated network with many floating sources: diodes and resistors inside source groups."""
    from solver.circuits.generators import random_network
    from solver.core.compiled import compile_network

    net = random_network(300, seed=3, n_vsources=60)
    arrays = net.arrays()
    cn = compile_network(net)
    s = cn.structure
    rp, rn, rg_all, _ = arrays["resistor"]
    dp, dn, theta, _ = arrays["diode"]
    ip, in_, icur, _ = arrays["isource"]
    # each node's source-group root is the group's lowest node (ground's group: node 0)
    lowest = np.zeros(s.m + 1, dtype=np.int64)
    for k in range(len(arrays["nodes"]) - 1, -1, -1):
        lowest[s.comp[k]] = k
    roots = lowest[s.comp]
    ref_comp, ref_m, ref_structure = reference_structure(len(arrays["nodes"]), roots, rp, rn, dp, dn)
    assert ref_m == s.m and np.array_equal(ref_comp, s.comp)
    assert len(s.dio_inner) > 0 or len(s.res_keep) < len(rp)  # the case is exercised
    names = ("res_keep", "ri", "rj", "indptr", "inc_res", "inc_side", "nbr", "inc_comp", "dio_inner",
             "dio_keep", "da", "dc", "dptr", "d_inc", "dother", "dupper")
    _same([getattr(s, name) for name in names], ref_structure)
    _same((cn.rk, cn.rg, cn.g, cn.c, cn.gsum, cn.f, cn.db, cn.dbound),
          reference_values(s.m, s.comp, cn.offset, rp, rn, rg_all, ref_structure, ip, in_, icur, dp, dn, theta))
