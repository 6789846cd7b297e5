"""Names picked by index from automatic and explicit name lists agree with plain indexing."""

import numpy as np
import pytest

from solver.core._bulk import AutoNames, names_at


@pytest.mark.parametrize("first, count", [(1, 0), (1, 5), (17, 40)])
def test_names_at_matches_indexing_one_by_one(first, count):
    names = AutoNames("D", first, count)
    rng = np.random.default_rng(count)
    indices = np.sort(rng.choice(count, size=count // 2, replace=False)) if count else np.zeros(0, dtype=np.int64)
    expected = [f"D{first + int(i)}" for i in indices]
    assert names_at(names, indices) == expected == [names[i] for i in indices]
    assert names_at(list(names), indices) == expected
