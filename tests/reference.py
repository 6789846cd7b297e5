"""Plainly correct reference solvers, written from the element list alone.

None of these shares code with the solver under test beyond reading
``net.elements()`` and ``net.nodes``:

* :func:`mna_solve` - dense modified nodal analysis, for linear networks;
* :func:`brute_force_solve` - every on/off state of every diode, for tiny
  networks: the state whose linear solution is feasible with currents >= 0;
* :func:`cvxpy_solve` - the QP written out in cvxpy, solved by Clarabel;
* :func:`clarabel_solve` - the same QP through Clarabel's own API (benchmarks).
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp


def _index(net):
    nodes = [n for n in net.nodes if n != "0"]
    return nodes, {n: i for i, n in enumerate(nodes)}


def _incidence_rows(elements, index, n):
    """Row e of the result is +1 at p and -1 at n (ground column dropped)."""
    rows, cols, vals = [], [], []
    for e, el in enumerate(elements):
        for node, sign in ((el.p, 1.0), (el.n, -1.0)):
            if node != "0":
                rows.append(e)
                cols.append(index[node])
                vals.append(sign)
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(elements), n))


def _kkt_system(net, active):
    """Dense MNA matrix with voltage sources and the given diodes as equalities."""
    nodes, index = _index(net)
    n = len(nodes)
    res = net.elements("resistor")
    equalities = net.elements("vsource") + list(active)
    A = _incidence_rows(res, index, n).toarray()
    G = A.T @ (np.array([e.value for e in res])[:, None] * A)
    B = _incidence_rows(equalities, index, n).toarray()
    rhs_v = np.array([e.value for e in equalities])
    inj = np.zeros(n)
    for e in net.elements("isource"):
        if e.p != "0":
            inj[index[e.p]] -= e.value
        if e.n != "0":
            inj[index[e.n]] += e.value
    k = len(equalities)
    M = np.block([[G, B.T], [B, np.zeros((k, k))]])
    rhs = np.concatenate([inj, rhs_v])
    return nodes, M, rhs, n


def mna_solve(net):
    """Node voltages and source currents of a linear network by dense MNA.

    KCL at node k: sum of currents leaving through resistors plus the current
    of every source entering at its p terminal (leaving k) is zero.
    """
    if net.elements("diode"):
        raise ValueError("mna_solve handles linear networks only")
    nodes, M, rhs, n = _kkt_system(net, [])
    x = np.linalg.solve(M, rhs)
    volts = dict(zip(nodes, x[:n]))
    volts["0"] = 0.0
    currents = {e.name: x[n + i] for i, e in enumerate(net.elements("vsource"))}
    return volts, currents


def brute_force_solve(net, tol=1e-9):
    """Try every subset of conducting diodes; return the one satisfying KKT.

    For a subset S the diodes in S are equalities ``v_a - v_c = theta`` and
    their currents are the multipliers. S is the answer when every other diode
    holds and every diode in S carries current >= 0. Exponential: tiny
    networks only. Returns (voltages, diode currents).
    """
    diodes = net.elements("diode")
    if len(diodes) > 12:
        raise ValueError("brute force is for at most 12 diodes")
    n_vs = len(net.elements("vsource"))
    for size in range(len(diodes) + 1):
        for subset in itertools.combinations(range(len(diodes)), size):
            active = [diodes[i] for i in subset]
            nodes, M, rhs, n = _kkt_system(net, active)
            x, *_ = np.linalg.lstsq(M, rhs, rcond=None)
            if np.max(np.abs(M @ x - rhs), initial=0.0) > tol * (1 + np.max(np.abs(rhs))):
                continue  # inconsistent equalities
            v = dict(zip(nodes, x[:n]))
            v["0"] = 0.0
            lam = x[n + n_vs:]
            if np.any(lam < -tol):
                continue
            ok = all(v[d.p] - v[d.n] <= d.value + tol for d in diodes)
            if ok:
                currents = {d.name: 0.0 for d in diodes}
                for i, d in enumerate(active):
                    currents[d.name] = lam[i]
                return v, currents
    raise ValueError("no diode state satisfies the KKT conditions (infeasible network?)")


def _polish(net, volts, currents, tol=1e-9):
    """Refine an interior-point answer: re-solve exactly with its conducting diodes as equalities.

    Interior-point solvers stop around 1e-8; fixing the active set they found
    and solving the dense KKT system gives the vertex to machine precision.
    Which diodes count as conducting is judged against the network's current
    scale, at a few thresholds; the first active set whose exact solution
    satisfies the KKT conditions wins. Returns None if none does.
    """
    diodes = net.elements("diode")
    flows = [abs(e.value * (volts[e.p] - volts[e.n])) for e in net.elements("resistor")]
    flows += [abs(e.value) for e in net.elements("isource")]
    scale = max(flows + [1e-300])
    for threshold in (1e-6, 1e-4, 1e-8, 1e-3):
        active = {d.name for d in diodes if currents[d.name] > threshold * scale}
        for _ in range(10):  # a few corrections: add violated diodes, drop pushing ones
            chosen = [d for d in diodes if d.name in active]
            nodes, M, rhs, n = _kkt_system(net, chosen)
            x, *_ = np.linalg.lstsq(M, rhs, rcond=None)
            if np.max(np.abs(M @ x - rhs), initial=0.0) > tol * (1 + np.max(np.abs(rhs))):
                break
            v = dict(zip(nodes, x[:n]))
            v["0"] = 0.0
            lam = dict(zip((d.name for d in chosen), x[n + len(net.elements("vsource")):]))
            violated = {d.name for d in diodes if v[d.p] - v[d.n] > d.value + tol}
            negative = {name for name, value in lam.items() if value < -tol * scale}
            if not violated and not negative:
                return v, {**{d.name: 0.0 for d in diodes}, **lam}
            active = (active - negative) | violated
    return None


def cvxpy_solve(net, tol=1e-10, polish=True):
    """Solve the power-dissipation QP with cvxpy and Clarabel; return (voltages, diode currents).

    With ``polish`` the interior-point answer is refined by :func:`_polish`
    when its active set checks out (dense linear algebra, independent of the
    solver under test).
    """
    import cvxpy as cp

    nodes, index = _index(net)
    n = len(nodes)
    v = cp.Variable(n)
    res = net.elements("resistor")
    objective = 0
    if res:
        A = _incidence_rows(res, index, n)
        g = np.array([e.value for e in res])
        objective = 0.5 * cp.sum(cp.multiply(g, cp.square(A @ v)))
    cur = net.elements("isource")
    if cur:
        objective = objective + np.array([e.value for e in cur]) @ (_incidence_rows(cur, index, n) @ v)
    constraints = []
    vs = net.elements("vsource")
    if vs:
        constraints.append(_incidence_rows(vs, index, n) @ v == np.array([e.value for e in vs]))
    diodes = net.elements("diode")
    diode_row = None
    if diodes:
        diode_row = _incidence_rows(diodes, index, n) @ v <= np.array([e.value for e in diodes])
        constraints.append(diode_row)
    problem = cp.Problem(cp.Minimize(objective), constraints)
    try:
        problem.solve(solver=cp.CLARABEL, tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol, max_iter=500)
    except cp.error.SolverError:
        problem.solve(solver=cp.CLARABEL)  # default tolerances when the tight ones stall
    if problem.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"cvxpy/Clarabel status {problem.status}")
    volts = dict(zip(nodes, np.asarray(v.value, dtype=float)))
    volts["0"] = 0.0
    currents = {}
    if diodes:
        currents = dict(zip((d.name for d in diodes), np.asarray(diode_row.dual_value, dtype=float)))
    if polish and n:
        polished = _polish(net, volts, currents)
        if polished is not None:
            return polished
    return volts, currents


def clarabel_qp(net):
    """The QP in Clarabel's standard form: min 1/2 x'Px + q'x, Ax + s = b, s in cones."""
    import clarabel

    nodes, index = _index(net)
    n = len(nodes)
    res = net.elements("resistor")
    A = _incidence_rows(res, index, n)
    P = (A.T @ sp.diags([e.value for e in res]) @ A).tocsc()
    q = np.zeros(n)
    for e in net.elements("isource"):
        if e.p != "0":
            q[index[e.p]] += e.value
        if e.n != "0":
            q[index[e.n]] -= e.value
    vs, diodes = net.elements("vsource"), net.elements("diode")
    Aeq = _incidence_rows(vs, index, n)
    Ain = _incidence_rows(diodes, index, n)
    Acon = sp.vstack([Aeq, Ain]).tocsc()
    b = np.array([e.value for e in vs] + [e.value for e in diodes], dtype=float)
    cones = []
    if vs:
        cones.append(clarabel.ZeroConeT(len(vs)))
    if diodes:
        cones.append(clarabel.NonnegativeConeT(len(diodes)))
    return nodes, sp.triu(P).tocsc(), q, Acon, b, cones


def clarabel_solve(net, tol=1e-10, qp=None, polish=False):
    """Solve the QP through Clarabel's own API; return (voltages, diode currents, solve seconds).

    ``polish`` refines the answer on Clarabel's active set (see :func:`_polish`).
    """
    import clarabel

    nodes, P, q, Acon, b, cones = qp if qp is not None else clarabel_qp(net)
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = tol
    settings.tol_gap_rel = tol
    settings.tol_feas = tol
    solver = clarabel.DefaultSolver(P, q, Acon, b, cones, settings)
    solution = solver.solve()
    if str(solution.status) not in ("Solved", "SolverStatus.Solved"):
        raise RuntimeError(f"Clarabel status {solution.status}")
    x = np.asarray(solution.x)
    volts = dict(zip(nodes, x))
    volts["0"] = 0.0
    n_vs = len(net.elements("vsource"))
    z = np.asarray(solution.z)[n_vs:]
    currents = dict(zip((d.name for d in net.elements("diode")), z))
    if polish:
        polished = _polish(net, volts, currents)
        if polished is not None:
            volts, currents = polished
    return volts, currents, float(solution.solve_time)
