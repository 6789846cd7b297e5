"""Working-set changes solved through the previous factorisation (``core/_bordered.py``).

The reference is quadprog (Goldfarb-Idnani dual active set, dense), given
the QP written out from the element list: node potentials ``v`` minimise
``sum g/2 (v_a - v_b)^2 + sum I (v_p - v_n)`` subject to the voltage sources
and either the diode inequalities (a full solve) or a chosen set of diodes
held at their threshold (one equality QP of the polish).
"""

import importlib

import numpy as np
import pytest
import quadprog

from solver import solve
from solver.circuits.generators import grid_network, random_network
from solver.core import _kernels as K
from solver.core.compiled import compile_network

solve_module = importlib.import_module("solver.core.solve")


def quadprog_solve(net, held=None):
    """Node voltages minimising the power-dissipation QP, by quadprog.

    ``held``: names of diodes held at their threshold (equalities); the other
    diodes are then left out. Without it every diode is an inequality.
    """
    nodes = [n for n in net.nodes if n != "0"]
    index = {n: i for i, n in enumerate(nodes)}
    size = len(nodes)

    def row(p, n):
        r = np.zeros(size)
        if p != "0":
            r[index[p]] += 1.0
        if n != "0":
            r[index[n]] -= 1.0
        return r

    G = np.zeros((size, size))
    for e in net.elements("resistor"):
        r = row(e.p, e.n)
        G += e.value * np.outer(r, r)
    a = np.zeros(size)
    for e in net.elements("isource"):
        a -= e.value * row(e.p, e.n)
    equalities = [(row(e.p, e.n), e.value) for e in net.elements("vsource")]
    inequalities = []
    for d in net.elements("diode"):
        if held is None:
            inequalities.append((-row(d.p, d.n), -d.value))  # v_p - v_n <= theta
        elif d.name in held:
            equalities.append((row(d.p, d.n), d.value))
    constraints = equalities + inequalities
    C = np.array([c for c, _ in constraints]).T if constraints else np.zeros((size, 0))
    b = np.array([v for _, v in constraints])
    x = quadprog.solve_qp(G, a, C, b, meq=len(equalities))[0]
    volts = dict(zip(nodes, x))
    volts["0"] = 0.0
    return volts


@pytest.fixture
def bordered_everywhere(monkeypatch):
    """Let every factor be bordered by up to ``BORDER_MAX`` rows (small test networks would
    otherwise be refactorised), and record the border size of every bordered equality QP."""
    monkeypatch.setattr(solve_module, "BORDER_MIN_FACTOR", 0)
    monkeypatch.setattr(solve_module, "BORDER_SYMBOLIC_SOLVES", 1e6)
    borders = []
    original = solve_module.BorderedSolver

    class Counted(original):
        def __init__(self, *args):
            super().__init__(*args)
            if self.ok:
                borders.append(self.border)

    monkeypatch.setattr(solve_module, "BorderedSolver", Counted)
    return borders


def _forest_subset(s, rng, fraction):
    """Reduced diodes, a random fraction of them, that form a forest over the slots (independent)."""
    parent = list(range(s.m + 1))

    def root(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    chosen = np.zeros(len(s.da), dtype=bool)
    for e in rng.permutation(len(s.da)):
        a, c = root(s.da[e]), root(s.dc[e])
        if a != c and rng.random() < fraction:
            parent[a] = c
            chosen[e] = True
    return chosen, root


def _voltages(cn, u):
    v = K.node_potentials(u, cn.structure.comp, cn.offset)
    v[0] = 0.0
    return dict(zip(cn.structure.nodes, v))


def _held_names(cn, in_w):
    names = cn.arrays["diode"][3]
    return {names[cn.structure.dio_keep[e]] for e in np.flatnonzero(in_w)}


@pytest.mark.parametrize("seed", range(12))
def test_one_diode_in_or_out_matches_quadprog(seed, bordered_everywhere):
    """The equality QP after one diode joins (or leaves) the factorised working set."""
    rng = np.random.default_rng(seed)
    net = random_network(120, seed=seed) if seed % 2 else grid_network(9, 9, seed=seed)
    cn = compile_network(net)
    s = cn.structure
    w0, root = _forest_subset(s, rng, 0.4)
    w1 = w0.copy()
    if seed % 3 == 0:  # a diode leaves: its super-node splits
        w1[rng.choice(np.flatnonzero(w0))] = False
    else:  # a diode joins: two super-nodes merge (or a super-node joins the fixed tree)
        joining = [e for e in np.flatnonzero(~w0) if root(s.da[e]) != root(s.dc[e])]
        w1[rng.choice(joining)] = True
    state = solve_module._State(cn, False)
    state.eqp(w0.copy())
    assert state.factorizations == 1
    u, _ = state.eqp(w1.copy())
    assert state.factorizations == 1 and state.bordered_solves == 1
    assert bordered_everywhere[-1] <= 2  # one diode: one offset and/or one constraint
    expected = quadprog_solve(net, held=_held_names(cn, w1))
    got = _voltages(cn, u)
    scale = 1.0 + max(abs(v) for v in expected.values())
    assert max(abs(got[n] - expected[n]) for n in expected) <= 1e-10 * scale


def test_several_diodes_change_matches_quadprog(bordered_everywhere):
    """A larger change (several in, several out) through the same factor."""
    rng = np.random.default_rng(7)
    net = random_network(200, seed=7)
    cn = compile_network(net)
    s = cn.structure
    w0, root = _forest_subset(s, rng, 0.5)
    w1 = w0.copy()
    w1[rng.choice(np.flatnonzero(w0), 3, replace=False)] = False
    for e in rng.permutation(np.flatnonzero(~w0))[:6]:
        w1[e] = True  # may close cycles: build_forest then drops them, as in the polish
    state = solve_module._State(cn, False)
    state.eqp(w0.copy())
    u, forest = state.eqp(w1.copy())
    assert state.bordered_solves == 1
    expected = quadprog_solve(net, held=_held_names(cn, forest[0]))  # the forest's diodes
    got = _voltages(cn, u)
    assert max(abs(got[n] - expected[n]) for n in expected) <= 1e-10 * (1.0 + max(map(abs, expected.values())))


@pytest.mark.parametrize("seed", range(10))
def test_cold_solves_through_borders_match_quadprog(seed, bordered_everywhere):
    """Whole cold solves whose later working sets go through bordered factors: certified, same answer."""
    net = random_network(150, seed=100 + seed) if seed % 2 else grid_network(12, 12, seed=100 + seed)
    sol = solve(net)
    assert sol.converged and sol.kkt.is_optimal(1e-9)
    expected = quadprog_solve(net)
    scale = 1.0 + max(abs(v) for v in expected.values())
    assert max(abs(sol.voltages[n] - expected[n]) for n in expected) <= 1e-8 * scale


def test_cold_solves_do_use_borders(bordered_everywhere):
    """The previous test is not vacuous: over its networks, some working sets were bordered."""
    for seed in range(10):
        solve(random_network(150, seed=100 + seed) if seed % 2 else grid_network(12, 12, seed=100 + seed))
    assert len(bordered_everywhere) > 0
