"""Cholesky factors read straight from the resistors against the assembled matrix and a dense solve."""

import numpy as np
import pytest

from solver.core import _kernels as K
from solver.core._cholesky import CholeskyFactor, _permuted_upper, _permuted_upper_edges


def _merged_system(seed):
    """A random reduced network (free slots 0..m-1, fixed slot m) with random super-nodes."""
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 40))
    count = int(rng.integers(m, 4 * m + 2))
    ri = rng.integers(0, m, count)
    rj = rng.integers(0, m + 1, count)
    ri[:m], rj[:m] = np.arange(m), m  # every slot reaches the fixed slot: positive definite
    rg = rng.uniform(0.01, 100.0, count)
    n_diodes = int(rng.integers(0, m + 1))
    da, dc = rng.integers(0, m + 1, n_diodes), rng.integers(0, m + 1, n_diodes)
    db = rng.normal(size=n_diodes)
    in_w = rng.random(n_diodes) < 0.6
    tree, w, _, _, n = K.build_forest(m, da, dc, db, in_w, np.argsort(db, kind="stable"))
    return rng, m, tree, w, n, ri, rj, rg


@pytest.mark.parametrize("seed", range(120))
def test_factor_from_resistors_is_the_factor_of_the_assembled_matrix(seed):
    rng, m, tree, w, n, ri, rj, rg = _merged_system(seed)
    if n == 0:
        return
    rows, cols, vals, _ = K.assemble_reduced(tree, w, n, ri, rj, rg, np.zeros(len(ri)), np.zeros(m))
    perm = rng.permutation(n)
    pinv = np.empty(n, dtype=np.int64)
    pinv[perm] = np.arange(n)
    for ours, theirs in zip(_permuted_upper_edges(n, tree, ri, rj, rg, pinv),
                            _permuted_upper(n, rows, cols, vals, pinv)):
        assert np.array_equal(ours, theirs)
    factor = CholeskyFactor.from_resistors(n, tree, ri, rj, rg, perm)
    dense = np.zeros((n, n))
    np.add.at(dense, (rows, cols), vals)
    b = rng.normal(size=n)
    x = factor.solve(b)
    np.testing.assert_allclose(dense @ x, b, atol=1e-9 * np.abs(dense).sum(axis=1).max() * np.abs(x).max() + 1e-12)
    np.testing.assert_allclose(x, np.linalg.solve(dense, b), rtol=1e-7, atol=1e-10 * np.abs(x).max())
    assert np.array_equal(factor.Lx, CholeskyFactor.from_coo(n, rows, cols, vals, perm).Lx)


@pytest.mark.parametrize("seed", range(60))
def test_row_patterns_feed_the_same_numeric_factor_as_the_tree_walk(seed):
    """The stored row patterns (grown as needed, or given up beyond the limit) change nothing."""
    from solver.core._cholesky import (_column_counts, _etree, _numeric, _numeric_rows, _row_patterns)

    rng, m, tree, w, n, ri, rj, rg = _merged_system(seed)
    if n == 0:
        return
    pinv = rng.permutation(n)
    Ap, Ai, Ax = _permuted_upper_edges(n, tree, ri, rj, rg, pinv)
    parent = _etree(n, Ap, Ai)
    counts = _column_counts(n, Ap, Ai, parent)
    Lp = np.concatenate([[0], np.cumsum(counts)])
    reference = _numeric(n, Ap, Ai, Ax, parent, Lp)
    off_diagonal = int(Lp[-1]) - n
    for limit in (off_diagonal, off_diagonal + 1000, max(off_diagonal - 1, 0)):
        kept_counts, Rp, Rj = _row_patterns(n, Ap, Ai, parent, limit)
        assert np.array_equal(kept_counts, counts)
        if limit < off_diagonal:
            assert Rp.size == 0  # over the limit: the numeric pass walks the tree
            continue
        assert Rp[-1] == off_diagonal
        ours = _numeric_rows(n, Ap, Ai, Ax, Lp, Rp, Rj)
        assert ours[2] == reference[2]
        assert np.array_equal(ours[0], reference[0]) and np.array_equal(ours[1], reference[1])
    # a fill-heavy case, where the pattern outgrows its first buffer (twice the entries of A)
    dense = np.ones((n, n)) + n * np.eye(n)
    rows, cols = np.nonzero(dense)
    from solver.core._cholesky import _permuted_upper
    Ap, Ai, Ax = _permuted_upper(n, rows, cols, dense[rows, cols], np.arange(n))
    parent = _etree(n, Ap, Ai)
    Lp = np.concatenate([[0], np.cumsum(_column_counts(n, Ap, Ai, parent))])
    _, Rp, Rj = _row_patterns(n, Ap, Ai, parent, 10**6)
    ours, reference = _numeric_rows(n, Ap, Ai, Ax, Lp, Rp, Rj), _numeric(n, Ap, Ai, Ax, parent, Lp)
    assert np.array_equal(ours[1], reference[1])
    L = np.zeros((n, n))
    for j in range(n):
        L[ours[0][Lp[j]:Lp[j + 1]], j] = ours[1][Lp[j]:Lp[j + 1]]
    np.testing.assert_allclose(L, np.linalg.cholesky(dense), rtol=1e-12, atol=1e-12)
