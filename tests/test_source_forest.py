"""The compiled voltage-source forest against a plain breadth-first search."""

from collections import deque

import numpy as np
import pytest

from solver.core._graph_kernels import source_forest


def reference_roots(n, vp, vn):
    """Root of every node: the lowest node of its group of source-joined nodes (plain BFS)."""
    adjacency = {}
    for a, b in zip(vp.tolist(), vn.tolist()):
        adjacency.setdefault(a, []).append(b)
        adjacency.setdefault(b, []).append(a)
    root = list(range(n))
    seen = set()
    for start in sorted(adjacency):
        if start in seen:
            continue
        seen.add(start)
        queue = deque([start])
        while queue:
            k = queue.popleft()
            root[k] = start
            for other in adjacency[k]:
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
    return root


@pytest.mark.parametrize("seed", range(200))
def test_source_forest_spans_each_group_from_its_lowest_node(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    vp, vn = rng.integers(0, n, int(rng.integers(0, 60))), rng.integers(0, n, int(rng.integers(0, 60)))
    size = min(vp.size, vn.size)
    vp, vn = vp[:size], vn[:size]
    vp, vn = vp[vp != vn], vn[vp != vn]
    parent_edge, in_tree, root, children = source_forest(n, vp, vn)
    assert root.tolist() == reference_roots(n, vp, vn)
    assert sorted(children.tolist()) == [k for k in range(n) if root[k] != k]
    position = {k: i for i, k in enumerate(children.tolist())}
    for k in range(n):
        e = parent_edge[k]
        if root[k] == k:
            assert e == -1
            continue
        assert k in (vp[e], vn[e]) and in_tree[e]
        parent = vn[e] if vp[e] == k else vp[e]
        assert root[parent] == root[k]
        assert parent == root[k] or position[parent] < position[k]  # parents come first
    assert int(in_tree.sum()) == len(children)  # one tree source per non-root node: a forest
