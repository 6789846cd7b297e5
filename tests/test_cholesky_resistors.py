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
