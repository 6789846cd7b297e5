"""The minimum-degree ordering: a permutation, no fill on trees, and giving up when told to."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.core._ordering import minimum_degree_order


def symbolic_fill(n, rows, cols, order, squares=False):
    """Entries of the Cholesky factor (diagonal included) by eliminating on Python sets;
    with ``squares``, the sum of each column's squared count instead (its multiply-adds)."""
    adjacency = [set() for _ in range(n)]
    for i, j in zip(rows, cols):
        if i != j:
            adjacency[i].add(j)
            adjacency[j].add(i)
    entries = 0
    for pivot in order:
        neighbours = adjacency[pivot]
        entries += (1 + len(neighbours)) ** 2 if squares else 1 + len(neighbours)
        for u in neighbours:
            adjacency[u].discard(pivot)
            adjacency[u] |= neighbours - {u}
        adjacency[pivot] = set()
    return entries


def both_ways(edges):
    rows = np.array([i for i, j in edges] + [j for i, j in edges], dtype=np.int64)
    cols = np.array([j for i, j in edges] + [i for i, j in edges], dtype=np.int64)
    return rows, cols


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 80), seed=st.integers(0, 10**6))
def test_a_tree_is_ordered_without_fill(n, seed):
    """Eliminating leaves first never fills: L has exactly the tree's entries."""
    rng = np.random.default_rng(seed)
    edges = [(k, int(rng.integers(k))) for k in range(1, n)]
    rows, cols = both_ways(edges)
    order, _ = minimum_degree_order(n, rows, cols, 1 << 40)
    assert sorted(order.tolist()) == list(range(n))
    assert symbolic_fill(n, rows, cols, order) == n + len(edges)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), density=st.floats(0.0, 0.4), seed=st.integers(0, 10**6))
def test_any_graph_gets_a_permutation(n, density, seed):
    """Duplicates and diagonal entries are ignored; the result is always a permutation."""
    rng = np.random.default_rng(seed)
    edges = [(i, j) for i in range(n) for j in range(n) if rng.random() < density]  # both directions, loops too
    rows, cols = both_ways(edges)
    order, _ = minimum_degree_order(n, rows, cols, 1 << 40)
    assert sorted(order.tolist()) == list(range(n))
    # a clique on the neighbours of each pivot bounds the fill: never more than the dense factor
    assert symbolic_fill(n, rows, cols, order) <= n * (n + 1) // 2


def test_a_grid_beats_the_natural_order_and_gives_up_on_a_small_budget():
    side = 12
    index = np.arange(side * side).reshape(side, side)
    edges = [(index[i, j], index[i, j + 1]) for i in range(side) for j in range(side - 1)]
    edges += [(index[i, j], index[i + 1, j]) for i in range(side - 1) for j in range(side)]
    rows, cols = both_ways(edges)
    n = side * side
    order, work = minimum_degree_order(n, rows, cols, 1 << 40)
    assert sorted(order.tolist()) == list(range(n))
    assert symbolic_fill(n, rows, cols, order) < symbolic_fill(n, rows, cols, np.arange(n))
    given_up, _ = minimum_degree_order(n, rows, cols, work // 2)
    assert len(given_up) == 0


def test_merged_pivot_order_places_each_super_node_at_its_latest_slot():
    from solver.core._ordering import merged_pivot_order

    tree = np.array([0, 1, 0, -1, 2, 1], dtype=np.int64)  # slot 3 is outside (fixed)
    slot_rank = np.array([5, 0, 2, 9, 1, 3], dtype=np.int64)
    # super-node 0: max(5, 2) = 5; 1: max(0, 3) = 3; 2: 1 -> order by rank: 2, 1, 0
    assert merged_pivot_order(tree, slot_rank, 3).tolist() == [2, 1, 0]
    tied = np.array([4, 4, 4, 9, 1, 0], dtype=np.int64)  # ranks 4, 4, 1: a stable sort
    assert merged_pivot_order(tree, tied, 3).tolist() == [2, 0, 1]


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 60), density=st.floats(0.0, 0.3), seed=st.integers(0, 10**6))
def test_postordering_keeps_the_fill_and_makes_subtrees_contiguous(n, density, seed):
    """Relabelling along the elimination tree changes neither the fill nor the factor's solutions."""
    import scipy.sparse as sp

    from solver.core._cholesky import CholeskyFactor, cholesky_flops, postordered

    rng = np.random.default_rng(seed)
    edges = [(i, j) for i in range(n) for j in range(i) if rng.random() < density]
    rows, cols = both_ways(edges)
    order = rng.permutation(n).astype(np.int64)
    post = postordered(n, rows, cols, order)
    assert sorted(post.tolist()) == list(range(n))
    assert symbolic_fill(n, rows, cols, post) == symbolic_fill(n, rows, cols, order)
    assert cholesky_flops(n, rows, cols, order) == symbolic_fill(n, rows, cols, order, squares=True)
    # a diagonally dominant matrix on that pattern: both orders solve it to rounding
    values = -rng.uniform(0.1, 1.0, len(rows))
    A = sp.coo_matrix((values, (rows, cols)), shape=(n, n)).tocsr()
    A = (A + A.T) / 2 + sp.diags(np.abs(A).sum(axis=1).A1 + 1.0)
    b = rng.standard_normal(n)
    x = CholeskyFactor(A, post).solve(b)
    assert np.allclose(A @ x, b, rtol=0, atol=1e-10 * (1 + np.abs(b).max()))
    # postorder: every node's descendants come right before it
    position = np.empty(n, dtype=np.int64)
    position[post] = np.arange(n)
    from solver.core._cholesky import _etree, _permuted_upper

    Ap, Ai, _ = _permuted_upper(n, rows, cols, np.zeros(len(rows)), position)
    parent = _etree(n, Ap, Ai)
    size = np.ones(n, dtype=np.int64)
    for j in range(n):  # children before parents in a postorder
        if parent[j] >= 0:
            assert parent[j] > j
            size[parent[j]] += size[j]
    for j in range(n):
        if parent[j] >= 0:  # a subtree occupies the positions just below its root
            assert j >= parent[j] - size[parent[j]] + 1
