"""The supernodal multifrontal Cholesky (``core/_supernodal.py``) against dense references.

The factor itself is compared with numpy's dense Cholesky of the same
permuted matrix; solves with numpy's dense solver; the column counts with a
symbolic elimination on Python sets. Whole cold solves that factorise by
supernodes are compared with quadprog.
"""

import importlib

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import solve
from solver.circuits.generators import grid_network, random_network
from solver.core._cholesky import CholeskyFactor, NotPositiveDefinite, _etree, _inverse, _permuted_upper
from solver.config import SUPERNODAL_RELAX
from solver.core._supernodal import SupernodalFactor, _analyse

from .test_bordered import quadprog_solve

solve_module = importlib.import_module("solver.core.solve")


def spd_matrix(rng, n, density, dense_block=0):
    """A diagonally dominant symmetric matrix with a random pattern (and optionally a dense corner)."""
    upper = np.triu(rng.random((n, n)) < density, 1)
    if dense_block:
        upper[:dense_block, :dense_block] = np.triu(np.ones((dense_block, dense_block), dtype=bool), 1)
    rows, cols = np.nonzero(upper)
    values = -rng.uniform(0.1, 10.0, len(rows))
    A = sp.coo_matrix((values, (rows, cols)), shape=(n, n))
    A = A + A.T
    A = A + sp.diags(np.abs(A).sum(axis=1).A1 + rng.uniform(0.01, 1.0, n))
    return A.tocoo()


def factorise(A, perm):
    n = A.shape[0]
    Ap, Ai, Ax = _permuted_upper(n, A.row.astype(np.int64), A.col.astype(np.int64), A.data, _inverse(perm))
    return SupernodalFactor.from_upper(n, Ap, Ai, Ax, perm), (Ap, Ai, Ax)


def dense_factor(f):
    """L of a SupernodalFactor as a dense lower-triangular array (pivot order ``f.perm``)."""
    L = np.zeros((f.n, f.n))
    for s in range(len(f.starts) - 1):
        first, last = f.starts[s], f.starts[s + 1]
        rows = f.Sr[f.Sp[s]: f.Sp[s + 1]]
        width = len(rows)
        block = f.Lx[f.Loff[s]: f.Loff[s + 1]].reshape(last - first, width)
        for jj in range(last - first):
            L[rows[jj:], first + jj] = block[jj, jj:]
    return L


def exact_counts(A, perm):
    """Nonzeros per column of L by eliminating the permuted pattern on Python sets."""
    n = A.shape[0]
    position = _inverse(np.asarray(perm, dtype=np.int64))
    adjacency = [set() for _ in range(n)]
    for i, j in zip(A.row, A.col):
        if i != j:
            adjacency[position[i]].add(position[j])
            adjacency[position[j]].add(position[i])
    counts = []
    for k in range(n):
        later = {u for u in adjacency[k] if u > k}
        counts.append(1 + len(later))
        for u in later:
            adjacency[u] |= later - {u}
    return np.array(counts)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 90), density=st.floats(0.0, 0.4), dense_block=st.integers(0, 60),
       seed=st.integers(0, 10**6))
def test_factor_equals_dense_cholesky(n, density, dense_block, seed):
    rng = np.random.default_rng(seed)
    A = spd_matrix(rng, n, density, min(dense_block, n))
    f, _ = factorise(A, rng.permutation(n))
    P = A.toarray()[np.ix_(f.perm, f.perm)]
    L = dense_factor(f)
    assert np.allclose(L, np.linalg.cholesky(P), rtol=0, atol=1e-12 * np.abs(P).max())
    # stored entries: every true nonzero, per column, plus the relaxed supernodes' zeros
    counts = exact_counts(A, f.perm)
    assert np.all(f.column_counts() >= counts)
    assert np.count_nonzero(np.abs(L) > 0) <= counts.sum()
    b = rng.standard_normal(n)
    B = rng.standard_normal((n, 3))
    dense = A.toarray()
    assert np.allclose(f.solve(b), np.linalg.solve(dense, b), rtol=1e-10, atol=1e-12)
    assert np.allclose(f.solve_many(B), np.linalg.solve(dense, B), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n", [300, 700])
def test_large_fronts_take_the_blas_path_and_agree(n):
    """A dense corner of a few hundred pivots: fronts big enough for the BLAS trailing updates."""
    rng = np.random.default_rng(n)
    A = spd_matrix(rng, n, 0.01, dense_block=n // 2)
    f, _ = factorise(A, rng.permutation(n))
    assert np.diff(f.Sp).max() >= n // 2
    c = CholeskyFactor.from_coo(n, A.row.astype(np.int64), A.col.astype(np.int64), A.data, f.perm)
    b = rng.standard_normal(n)
    x = np.linalg.solve(A.toarray(), b)
    for got in (f.solve(b), c.solve(b)):
        assert np.abs(got - x).max() <= 1e-11 * np.abs(x).max()


def test_supernodes_are_chains_and_children_come_first():
    rng = np.random.default_rng(5)
    n = 400
    A = spd_matrix(rng, n, 0.008)
    f, (Ap, Ai, Ax) = factorise(A, rng.permutation(n))
    post, Cp, Ci, Cx, diag, starts, Sp, Sr = _analyse(n, Ap, Ai, Ax, SUPERNODAL_RELAX)[:8]
    relabelled = _permuted_upper(n, A.row.astype(np.int64), A.col.astype(np.int64), A.data, _inverse(f.perm))
    parent = _etree(n, relabelled[0], relabelled[1])
    for s in range(len(starts) - 1):
        for j in range(starts[s], starts[s + 1] - 1):
            assert parent[j] == j + 1  # a supernode is a chain of the elimination tree
        rows = Sr[Sp[s]: Sp[s + 1]]
        assert rows[: starts[s + 1] - starts[s]].tolist() == list(range(starts[s], starts[s + 1]))
        assert np.all(rows[starts[s + 1] - starts[s]:] >= starts[s + 1])
    for j in range(n):  # postorder: parents after children
        assert parent[j] == -1 or parent[j] > j


def test_not_positive_definite_is_refused():
    A = sp.coo_matrix(np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.5], [0.0, 0.5, 3.0]]))
    with pytest.raises(NotPositiveDefinite):
        factorise(A, np.arange(3))


def test_a_factor_over_the_memory_budget_is_refused_before_allocation(monkeypatch):
    from solver import config

    rng = np.random.default_rng(3)
    A = spd_matrix(rng, 200, 0.05)
    monkeypatch.setattr(config, "FACTOR_MAX_BYTES", 1000)
    with pytest.raises(MemoryError, match=r"200-unknown system needs .* GiB .*FACTOR_MAX_BYTES"):
        factorise(A, np.arange(200))


def test_threads_give_the_same_factor_bit_for_bit(monkeypatch):
    """Subtrees on 1, 2 or 3 threads, then their ancestors: the same operations per front, the same bits."""
    from solver.core import _supernodal

    monkeypatch.setattr(_supernodal, "SUPERNODAL_THREAD_WORK", 0.0)
    rng = np.random.default_rng(11)
    side = 40  # a grid Laplacian in nested-dissection order: a bushy elimination tree
    index = np.arange(side * side).reshape(side, side)
    rows = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    cols = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    g = rng.uniform(0.5, 2.0, len(rows))
    A = sp.coo_matrix((-g, (rows, cols)), shape=(side * side,) * 2)
    A = (A + A.T + sp.diags(np.abs(A + A.T).sum(axis=1).A1 + 0.01)).tocoo()
    from solver.core._dissection import nested_dissection_order

    both = A.row != A.col
    order = nested_dissection_order(side * side, A.row[both].astype(np.int64), A.col[both].astype(np.int64), 16)
    n = side * side
    Ap, Ai, Ax = _permuted_upper(n, A.row.astype(np.int64), A.col.astype(np.int64), A.data, _inverse(order))
    factors = [SupernodalFactor.from_upper(n, Ap, Ai, Ax, order, threads=t) for t in (1, 2, 3)]
    for f in factors[1:]:
        assert np.array_equal(f.Lx, factors[0].Lx) and np.array_equal(f.perm, factors[0].perm)
    b = rng.standard_normal(n)
    assert np.abs(factors[2].solve(b) - np.linalg.solve(A.toarray(), b)).max() <= 1e-10


def test_the_cut_covers_every_supernode_once():
    from solver.core._supernodal_threads import split_subtrees

    rng = np.random.default_rng(2)
    n = 600
    A = spd_matrix(rng, n, 0.004)
    _, (Ap, Ai, Ax) = factorise(A, rng.permutation(n))
    analysis = _analyse(n, Ap, Ai, Ax, SUPERNODAL_RELAX)
    starts, Sp, child_head, child_next = analysis[5], analysis[6], analysis[8], analysis[9]
    for threads in (2, 3, 4):
        roots, owner, first, serial = split_subtrees(starts, Sp, child_head, child_next, threads, 4 * threads)
        covered = np.concatenate([np.arange(f, r + 1) for f, r in zip(first, roots)] + [serial])
        assert sorted(covered.tolist()) == list(range(len(starts) - 1))
        assert set(owner.tolist()) <= set(range(threads))


@pytest.fixture
def supernodal_everywhere(monkeypatch):
    """Factorise every equality QP by supernodes; record the factors made."""
    monkeypatch.setattr(solve_module, "SUPERNODAL_MIN_FLOPS", 0.0)
    monkeypatch.setattr(solve_module, "NATURAL_ORDER_SIZE", 0)  # small grids too get an ordering
    monkeypatch.setattr(solve_module, "MIN_DEGREE_WORK", 0)  # ... by nested dissection, which the switch reads
    made = []
    original = SupernodalFactor.from_resistors.__func__

    def counted(cls, *args):
        made.append(original(cls, *args))
        return made[-1]

    monkeypatch.setattr(SupernodalFactor, "from_resistors", classmethod(counted))
    return made


@pytest.mark.parametrize("seed", range(8))
def test_cold_solves_by_supernodes_match_quadprog(seed, supernodal_everywhere):
    net = random_network(150, seed=300 + seed) if seed % 2 else grid_network(12, 12, seed=300 + seed)
    sol = solve(net)
    assert supernodal_everywhere, "no equality QP was factorised by supernodes"
    assert sol.converged and sol.kkt.is_optimal(1e-9)
    expected = quadprog_solve(net)
    scale = 1.0 + max(abs(v) for v in expected.values())
    assert max(abs(sol.voltages[n] - expected[n]) for n in expected) <= 1e-8 * scale


def test_grids_choose_supernodes_and_random_networks_do_not():
    """The switch reads the ordering's predicted flops: a 2-D grid fills in, a tree-like network hardly."""
    grid = solve(grid_network(100, 100, seed=1))
    tree_like = solve(random_network(20000, seed=1))
    assert grid.warm.structure.dense_fronts and grid.converged
    assert not tree_like.warm.structure.dense_fronts and tree_like.converged
