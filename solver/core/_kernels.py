"""Numba kernels over flat arrays. Only arrays and scalars cross into them.

Conventions shared by every kernel (see :mod:`solver.core.compiled`):

* ``u`` holds one potential per *free component* (a node, or a group of nodes
  tied together by voltage sources), plus a last entry ``u[m] == 0`` standing
  for every fixed node (ground and nodes tied to it by voltage sources). The
  potential of node ``k`` is ``u[comp[k]] + offset[k]``.
* Resistor incidences are stored per free component in CSR form
  (``indptr, nbr, g, c``): the term is ``g/2 (u[k] - u[nbr] - c)^2``.
* A reduced diode ``e`` is the constraint ``u[da[e]] - u[dc[e]] <= db[e]``.
"""

import numpy as np
from numba import njit

from ..config import NUMBA_OPTIONS


@njit(**NUMBA_OPTIONS)
def _node_update(k, u, indptr, nbr, g, c, f, gsum, dptr, dother, dbound, dupper):
    """Minimiser of E along u[k] (the weighted mean), and it clipped to the interval its diodes allow."""
    acc = f[k]
    for t in range(indptr[k], indptr[k + 1]):
        acc += g[t] * (u[nbr[t]] + c[t])
    mean = acc / gsum[k]
    target = mean
    lo = -np.inf
    hi = np.inf
    for t in range(dptr[k], dptr[k + 1]):
        bound = u[dother[t]] + dbound[t]
        if dupper[t]:
            if bound < hi:
                hi = bound
        elif bound > lo:
            lo = bound
    if target > hi:
        target = hi
    if target < lo:
        target = lo
    return mean, target


@njit(**NUMBA_OPTIONS)
def cd_sweeps(u, indptr, nbr, g, c, f, gsum, dptr, dother, dbound, dupper,
              max_sweeps, step_tol, residuals, energies, ri, rj, rg, rk):
    """Run Gauss-Seidel sweeps of exact coordinate descent in place.

    Stops after ``max_sweeps`` or once no potential moves more than
    ``step_tol``. Per sweep records the largest coordinate-wise KCL residual
    ``gsum[k] * |target_k - u_k|`` (amps: the current that node k's update
    balanced) and, when ``energies`` is non-empty, the reduced energy. Returns
    the number of sweeps run.

    The energy is tracked exactly without re-evaluating it: along coordinate k,
    E = gsum/2 u^2 - gsum * mean * u + const, so moving u from ``old`` to
    ``new`` changes it by ``gsum (new - old) ((new + old)/2 - mean)``, which is
    never positive because ``new`` lies between ``old`` and ``mean`` or at it.
    """
    m = gsum.shape[0]
    record = energies.shape[0] > 0
    e = reduced_energy(u, ri, rj, rg, rk, f) if record else 0.0
    for sweep in range(max_sweeps):
        worst_residual = 0.0
        worst_change = 0.0
        for k in range(m):
            mean, new = _node_update(k, u, indptr, nbr, g, c, f, gsum, dptr, dother, dbound, dupper)
            old = u[k]
            change = abs(new - old)
            e += gsum[k] * (new - old) * (0.5 * (new + old) - mean)
            u[k] = new
            if change > worst_change:
                worst_change = change
            if gsum[k] * change > worst_residual:
                worst_residual = gsum[k] * change
        residuals[sweep] = worst_residual
        if record:
            energies[sweep] = e
        if worst_change <= step_tol:
            return sweep + 1
    return max_sweeps


@njit(**NUMBA_OPTIONS)
def reduced_energy(u, ri, rj, rg, rk, f):
    """E in component potentials, up to a constant: sum g/2 (u_i - u_j + k)^2 - f.u"""
    e = 0.0
    for t in range(ri.shape[0]):
        d = u[ri[t]] - u[rj[t]] + rk[t]
        e += 0.5 * rg[t] * d * d
    for k in range(f.shape[0]):
        e -= f[k] * u[k]
    return e


@njit(**NUMBA_OPTIONS)
def source_offsets(order, parent_edge, vp, vn, volts):
    """Potential of every node relative to the root of its voltage-source tree."""
    offset = np.zeros(order.shape[0])
    for i in range(order.shape[0]):
        k = order[i]
        e = parent_edge[k]
        if e >= 0:
            if vp[e] == k:
                offset[k] = offset[vn[e]] + volts[e]
            else:
                offset[k] = offset[vp[e]] - volts[e]
    return offset


@njit(**NUMBA_OPTIONS)
def apply_reduced(x, tree, ri, rj, rg):
    """Product of the working-set equality QP's matrix with x (see assemble_reduced)."""
    y = np.zeros(x.shape[0])
    for t in range(ri.shape[0]):
        a = tree[ri[t]]
        b = tree[rj[t]]
        if a == b:
            continue
        xa = x[a] if a >= 0 else 0.0
        xb = x[b] if b >= 0 else 0.0
        flow = rg[t] * (xa - xb)
        if a >= 0:
            y[a] += flow
        if b >= 0:
            y[b] -= flow
    return y


@njit(**NUMBA_OPTIONS)
def within_ulps(correction, x, ulps):
    """True when every ``|correction[k]|`` is at most ``ulps`` float64 rounding units of ``|x[k]|``."""
    eps = ulps * np.finfo(np.float64).eps
    for k in range(x.shape[0]):
        if not abs(correction[k]) <= eps * abs(x[k]):
            return False
    return True


@njit(**NUMBA_OPTIONS)
def node_potentials(u, comp, offset):
    v = np.empty(comp.shape[0])
    for k in range(comp.shape[0]):
        v[k] = u[comp[k]] + offset[k]
    return v


@njit(**NUMBA_OPTIONS)
def energy(v, rp, rn, rg, ip, in_, ic):
    """Power-dissipation function E(v) = sum g/2 (v_p - v_n)^2 + sum I (v_p - v_n)."""
    e = 0.0
    for t in range(rp.shape[0]):
        d = v[rp[t]] - v[rn[t]]
        e += 0.5 * rg[t] * d * d
    for t in range(ip.shape[0]):
        e += ic[t] * (v[ip[t]] - v[in_[t]])
    return e


@njit(**NUMBA_OPTIONS)
def repair_feasibility(u, da, dc, db, max_passes):
    """Move ``u`` to the largest point below it that satisfies every diode.

    Bellman-Ford on the difference constraints ``u[a] <= u[c] + b``; the
    fixed slot ``u[m]`` is then shifted back to zero (the constraints only see
    differences). Returns -1 when feasible, else the index of a diode whose
    relaxation never settles (it lies on or leads from a violated cycle).
    """
    m = u.shape[0] - 1
    for _ in range(max_passes):
        changed = -1
        for e in range(da.shape[0]):
            bound = u[dc[e]] + db[e]
            if u[da[e]] > bound:
                u[da[e]] = bound
                changed = e
        if changed < 0:
            shift = u[m]
            for k in range(m + 1):
                u[k] -= shift
            return -1
    return changed


@njit(**NUMBA_OPTIONS)
def build_forest(m, da, dc, db, in_w, edge_order):
    """Spanning forest of the working-set diodes over the m+1 slots.

    Edges are tried in ``edge_order`` (the compiled network's diodes by
    increasing bound): of several working-set diodes joining the same two
    slots, the tightest enters the tree, so the one that binds fixes the
    offset (a tie-breaking rule for nearly degenerate parallel diodes).

    Each tree is rooted at the fixed slot m if it contains it, otherwise at its
    lowest slot. Returns ``tree`` (tree index per slot, -1 for the fixed tree),
    ``w`` (offset of each slot from its tree's potential; absolute in the fixed
    tree), ``order`` (BFS order), ``parent_edge`` (-1 at roots) and the number
    of free trees. Working-set edges that would close a cycle are dropped from
    ``in_w`` (they are implied by the tree edges and stay tight).
    """
    n_slots = m + 1
    deg = np.zeros(n_slots + 1, dtype=np.int64)
    for e in range(da.shape[0]):
        if in_w[e]:
            deg[da[e] + 1] += 1
            deg[dc[e] + 1] += 1
    for k in range(n_slots):
        deg[k + 1] += deg[k]
    adj = np.empty(deg[n_slots], dtype=np.int64)
    fill = deg[:-1].copy()
    for i in range(edge_order.shape[0]):
        e = edge_order[i]
        if in_w[e]:
            adj[fill[da[e]]] = e
            fill[da[e]] += 1
            adj[fill[dc[e]]] = e
            fill[dc[e]] += 1
    tree = np.full(n_slots, -2, dtype=np.int64)
    w = np.zeros(n_slots)
    order = np.empty(n_slots, dtype=np.int64)
    parent_edge = np.full(n_slots, -1, dtype=np.int64)
    used = np.zeros(da.shape[0], dtype=np.bool_)
    head = 0
    tail = 0
    n_trees = 0
    for start in range(n_slots):
        root = m if start == 0 else start - 1
        if tree[root] != -2:
            continue
        if root == m:
            tree[root] = -1
        else:
            tree[root] = n_trees
            n_trees += 1
        w[root] = 0.0
        order[tail] = root
        tail += 1
        while head < tail:
            k = order[head]
            head += 1
            for t in range(deg[k], deg[k + 1]):
                e = adj[t]
                if used[e]:
                    continue
                used[e] = True
                other = dc[e] if da[e] == k else da[e]
                if tree[other] != -2:
                    in_w[e] = False  # closes a cycle: implied by the tree
                    continue
                tree[other] = tree[k]
                # tight: u[da] - u[dc] = db
                w[other] = w[k] - db[e] if other == dc[e] else w[k] + db[e]
                parent_edge[other] = e
                order[tail] = other
                tail += 1
    return tree, w, order, parent_edge, n_trees


@njit(**NUMBA_OPTIONS)
def assemble_reduced(tree, w, n_trees, ri, rj, rg, rk, f):
    """COO entries and right-hand side of the equality QP on the working set.

    Reduced resistor t contributes ``rg/2 (u[ri] - u[rj] + rk)^2`` with
    ``u[k] = U[tree[k]] + w[k]`` (``U = 0`` on the fixed tree).
    """
    n = ri.shape[0]
    rows = np.empty(4 * n + n_trees, dtype=np.int64)
    cols = np.empty(4 * n + n_trees, dtype=np.int64)
    vals = np.empty(4 * n + n_trees)
    rhs = np.zeros(n_trees)
    nnz = 0
    for t in range(n_trees):  # keeps every diagonal entry present
        rows[nnz] = t
        cols[nnz] = t
        vals[nnz] = 0.0
        nnz += 1
    for t in range(n):
        a = tree[ri[t]]
        b = tree[rj[t]]
        if a == b:
            continue
        d = w[ri[t]] - w[rj[t]] + rk[t]
        g = rg[t]
        if a >= 0:
            rows[nnz] = a
            cols[nnz] = a
            vals[nnz] = g
            nnz += 1
            rhs[a] -= g * d
        if b >= 0:
            rows[nnz] = b
            cols[nnz] = b
            vals[nnz] = g
            nnz += 1
            rhs[b] += g * d
        if a >= 0 and b >= 0:
            rows[nnz] = a
            cols[nnz] = b
            vals[nnz] = -g
            nnz += 1
            rows[nnz] = b
            cols[nnz] = a
            vals[nnz] = -g
            nnz += 1
    for k in range(f.shape[0]):
        if tree[k] >= 0:
            rhs[tree[k]] += f[k]
    return rows[:nnz], cols[:nnz], vals[:nnz], rhs


@njit(**NUMBA_OPTIONS)
def expand_reduced(U, tree, w):
    u = np.empty(tree.shape[0])
    for k in range(tree.shape[0]):
        u[k] = w[k] + (U[tree[k]] if tree[k] >= 0 else 0.0)
    return u


@njit(**NUMBA_OPTIONS)
def reduced_gradient(u, indptr, nbr, g, c, f):
    """dE/du[k] for every free component: resistor current leaving minus injection."""
    m = indptr.shape[0] - 1
    r = np.empty(m)
    for k in range(m):
        acc = -f[k]
        for t in range(indptr[k], indptr[k + 1]):
            acc += g[t] * (u[k] - u[nbr[t]] - c[t])
        r[k] = acc
    return r


@njit(**NUMBA_OPTIONS)
def reduced_scales(u, indptr, nbr, g, c, f, gsum, dptr, d_inc, lam, floor):
    """Current scales of every free slot (A), ``inf`` for the fixed slot m.

    Mirrors the certificate's node scales in component potentials. Returns
    ``(actual, scale)``: the currents that meet at the slot (resistors,
    injection, diodes), and that plus conductance times the local voltage
    scale (what rounding is relative to).
    """
    m = gsum.shape[0]
    actual = np.empty(m + 1)
    scale = np.empty(m + 1)
    for k in range(m):
        near = abs(u[k])
        gross = abs(f[k])
        for t in range(indptr[k], indptr[k + 1]):
            other = u[nbr[t]] + c[t]
            gross += abs(g[t] * (u[k] - other))
            if abs(other) > near:
                near = abs(other)
        for t in range(dptr[k], dptr[k + 1]):
            gross += abs(lam[d_inc[t]])
        actual[k] = gross
        scale[k] = gross + gsum[k] * (floor + near)
    actual[m] = np.inf
    scale[m] = np.inf
    return actual, scale


@njit(**NUMBA_OPTIONS)
def tight_closure(u, da, dc, db, dptr, dother, dupper, d_inc, seeds, max_work):
    """Diodes that would turn tight if the violated ``seeds`` were pulled onto their thresholds.

    Each seed diode's cathode is raised to ``u[anode] - db`` and its anode
    lowered to ``u[cathode] + db``; the change spreads along the diodes it
    pushes against (label-correcting, as in Bellman-Ford, on two copies of
    ``u``), the fixed slot never moving. Returns a bool per diode: the seeds
    and every diode whose end was moved onto its bound. A chain of conducting
    diodes thus joins the working set in one step instead of one per
    iteration. Gives up spreading after ``max_work`` node visits.
    """
    m = dptr.shape[0] - 1
    n_d = da.shape[0]
    out = np.zeros(n_d, dtype=np.bool_)
    queue = np.empty(m + 1, dtype=np.int64)
    queued = np.zeros(m + 1, dtype=np.bool_)
    work = 0
    for direction in range(2):  # 0: raise cathodes downstream, 1: lower anodes upstream
        x = u.copy()
        head = 0
        size = 0
        for i in range(seeds.shape[0]):
            e = seeds[i]
            out[e] = True
            k = dc[e] if direction == 0 else da[e]
            if k == m:
                continue
            if direction == 0:
                target = x[da[e]] - db[e]
                if target > x[k]:
                    x[k] = target
            else:
                target = x[dc[e]] + db[e]
                if target < x[k]:
                    x[k] = target
            if not queued[k]:
                queued[k] = True
                queue[(head + size) % (m + 1)] = k
                size += 1
        while size > 0 and work < max_work:
            k = queue[head]
            head = (head + 1) % (m + 1)
            size -= 1
            queued[k] = False
            work += 1
            for t in range(dptr[k], dptr[k + 1]):
                other = dother[t]
                if other == m:
                    continue
                e = d_inc[t]
                if direction == 0 and dupper[t]:  # k is the anode: the cathode must stay >= x[k] - db
                    bound = x[k] - db[e]
                    if x[other] < bound:
                        x[other] = bound
                    else:
                        continue
                elif direction == 1 and not dupper[t]:  # k is the cathode: the anode must stay <= x[k] + db
                    bound = x[k] + db[e]
                    if x[other] > bound:
                        x[other] = bound
                    else:
                        continue
                else:
                    continue
                out[e] = True
                if not queued[other]:
                    queued[other] = True
                    queue[(head + size) % (m + 1)] = other
                    size += 1
        while size > 0:  # budget spent: empty the queue
            queued[queue[head]] = False
            head = (head + 1) % (m + 1)
            size -= 1
    return out


@njit(**NUMBA_OPTIONS)
def _nan_min(a, b):
    return a if (a < b or a != a) else b


@njit(**NUMBA_OPTIONS)
def working_set_changes(u, lam, in_w, da, dc, db, indptr, nbr, g, c, f, gsum, dptr, d_inc, tol, floor, rounding):
    """What a primal-dual step changes: ``(violated, negative, any)``, one bool per reduced diode.

    ``violated``: diodes off the working set whose ``u[da] - u[dc] <= db`` fails
    by more than ``tol`` times their voltage scale (``floor`` plus the
    potentials and bound they involve); ``negative``: diodes in it whose
    current is below minus their allowance, ``tol`` times the currents that
    meet at the smaller end plus ``rounding`` times its scale (see
    ``reduced_scales``). The same figures, NaN included, as the solver's
    ``diode_volts`` and ``diode_amps``.
    """
    actual, scale = reduced_scales(u, indptr, nbr, g, c, f, gsum, dptr, d_inc, lam, floor)
    nd = da.shape[0]
    violated = np.zeros(nd, dtype=np.bool_)
    negative = np.zeros(nd, dtype=np.bool_)
    changed = False
    for e in range(nd):
        a, b = da[e], dc[e]
        if in_w[e]:
            allowance = _nan_min(tol * actual[a] + rounding * scale[a], tol * actual[b] + rounding * scale[b])
            if lam[e] < -allowance:
                negative[e] = True
                changed = True
        else:
            ua, ub = abs(u[a]), abs(u[b])
            volts = floor + (ua if (ua > ub or ua != ua) else ub) + abs(db[e])
            if db[e] - (u[a] - u[b]) < -tol * volts:
                violated[e] = True
                changed = True
    return violated, negative, changed
