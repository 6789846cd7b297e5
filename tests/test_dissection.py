"""Nested dissection: always a permutation, separators numbered after the parts they split, little fill on grids."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.core._dissection import nested_dissection_order
from tests.test_ordering import both_ways, symbolic_fill


def grid_edges(rows, cols):
    index = np.arange(rows * cols).reshape(rows, cols)
    edges = [(index[i, j], index[i, j + 1]) for i in range(rows) for j in range(cols - 1)]
    edges += [(index[i, j], index[i + 1, j]) for i in range(rows - 1) for j in range(cols)]
    return edges


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 90), density=st.floats(0.0, 0.2), leaf=st.integers(1, 12), seed=st.integers(0, 10**6))
def test_any_graph_gets_a_permutation(n, density, leaf, seed):
    """Disconnected parts, loops and duplicate entries included."""
    rng = np.random.default_rng(seed)
    edges = [(i, j) for i in range(n) for j in range(n) if rng.random() < density]
    rows, cols = both_ways(edges)
    order = nested_dissection_order(n, rows, cols, leaf)
    assert sorted(order.tolist()) == list(range(n))
    assert symbolic_fill(n, rows, cols, order) <= n * (n + 1) // 2


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 80), seed=st.integers(0, 10**6))
def test_a_path_fills_at_most_by_its_separators(n, seed):
    """On a path each part, once eliminated, joins the (at most two) separator nodes around it:
    O(n) fill however the nodes are labelled (a random labelling's natural order fills O(n^2))."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(n)
    edges = [(int(labels[k]), int(labels[k + 1])) for k in range(n - 1)]
    rows, cols = both_ways(edges)
    order = nested_dissection_order(n, rows, cols, 2)
    assert sorted(order.tolist()) == list(range(n))
    # n diagonal + n - 1 edges + at most one fill entry per part eliminated (fewer than n)
    assert symbolic_fill(n, rows, cols, order) <= 3 * n


def test_a_grid_fills_less_than_its_natural_order_and_no_more_than_minimum_degree_by_much():
    from solver.core._ordering import minimum_degree_order

    side = 30
    n = side * side
    rows, cols = both_ways(grid_edges(side, side))
    order = nested_dissection_order(n, rows, cols, 16)
    assert sorted(order.tolist()) == list(range(n))
    dissection = symbolic_fill(n, rows, cols, order)
    natural = symbolic_fill(n, rows, cols, np.arange(n))  # banded: about side * n
    md, _ = minimum_degree_order(n, rows, cols, 1 << 40)
    assert dissection < 0.6 * natural
    assert dissection < 1.4 * symbolic_fill(n, rows, cols, md)


def test_the_first_separator_comes_last():
    """A long ladder is cut across: the last pivots separate the first ones from the rest."""
    rows_, cols_ = 2, 40
    n = rows_ * cols_
    rows, cols = both_ways(grid_edges(rows_, cols_))
    order = nested_dissection_order(n, rows, cols, 4)
    adjacency = [set() for _ in range(n)]
    for i, j in zip(rows, cols):
        adjacency[i].add(j)
    last = set(order[-2:].tolist())  # the top separator: one rung's worth, two nodes
    rest = [k for k in range(n) if k not in last]
    seen, stack = {rest[0]}, [rest[0]]
    while stack:
        k = stack.pop()
        for j in adjacency[k]:
            if j not in last and j not in seen:
                seen.add(j)
                stack.append(j)
    assert len(seen) < len(rest)
