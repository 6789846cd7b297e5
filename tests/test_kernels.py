"""The numba coordinate-descent kernel against a plain Python sweep."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from solver import solve
from solver.circuits.generators import random_network


def naive_sweeps(net, n_sweeps):
    """Gauss-Seidel over free nodes in network order, straight from the element list.

    Only for networks whose voltage sources are all grounded, so every
    non-fixed node is its own coordinate.
    """
    fixed = {"0": 0.0}
    for s in net.elements("vsource"):
        assert s.n == "0"
        fixed[s.p] = s.value
    v = {node: fixed.get(node, 0.0) for node in net.nodes}
    if any(v[d.p] - v[d.n] > d.value for d in net.elements("diode")):
        return None  # the solver would first move to a feasible start; not modelled here
    free = [node for node in net.nodes if node not in fixed]
    for _ in range(n_sweeps):
        for k in free:
            num, den = 0.0, 0.0
            for r in net.elements("resistor"):
                if k in (r.p, r.n):
                    other = r.n if r.p == k else r.p
                    num += r.value * v[other]
                    den += r.value
            for s in net.elements("isource"):
                num += s.value * ((s.n == k) - (s.p == k))
            lo, hi = -np.inf, np.inf
            for d in net.elements("diode"):
                if d.p == k:
                    hi = min(hi, v[d.n] + d.value)
                if d.n == k:
                    lo = max(lo, v[d.p] - d.value)
            v[k] = min(max(num / den, lo), hi)
    return v


def grounded_network(n, seed, **kwargs):
    return random_network(n, seed=seed, floating_fraction=0.0, **kwargs)


@settings(max_examples=30)
@given(n=st.integers(2, 60), seed=st.integers(0, 10**6), sweeps=st.integers(1, 6))
def test_kernel_sweeps_match_naive_sweeps(n, seed, sweeps):
    net = grounded_network(n, seed)
    expected = naive_sweeps(net, sweeps)
    assume(expected is not None)
    got = solve(net, method="cd", max_sweeps=sweeps, tol=1e-300).voltages
    for node, v in expected.items():
        assert got[node] == pytest.approx(v, abs=1e-12), node


@settings(max_examples=30)
@given(n=st.integers(2, 120), seed=st.integers(0, 10**6))
def test_sweeps_stay_feasible_and_never_raise_energy(n, seed):
    net = random_network(n, seed=seed, diode_fraction=0.8)
    previous = None
    for sweeps in (1, 2, 4, 8):
        sol = solve(net, method="cd", max_sweeps=sweeps, tol=1e-300)
        assert sol.kkt.max_constraint_violation <= 1e-12 * sol.kkt.voltage_scale
        if previous is not None:
            assert sol.energy <= previous + 1e-12 * (1 + abs(previous))
        previous = sol.energy
    assert np.all(np.diff(sol.trace["energy"]) <= 1e-12 * (1 + np.abs(sol.trace["energy"][:-1])))


@settings(max_examples=30)
@given(n=st.integers(1, 60), density=st.floats(0.02, 0.5), seed=st.integers(0, 10**6),
       ordering=st.sampled_from(["rcm", "random", "identity"]))
def test_sparse_cholesky_matches_dense_solve(n, density, seed, ordering):
    """The numba Cholesky against numpy's dense solve, on weighted Laplacians plus a diagonal."""
    import scipy.sparse as sp

    from solver.core._cholesky import CholeskyFactor

    rng = np.random.default_rng(seed)
    W = sp.random(n, n, density=density, random_state=rng, format="csr")
    W = W + W.T
    L = sp.diags(np.asarray(W.sum(axis=1)).ravel()) - W
    A = (L + sp.diags(rng.uniform(0.01, 2.0, n))).tocsc()
    b = rng.normal(size=n)
    perm = {"rcm": None, "random": rng.permutation(n), "identity": np.arange(n)}[ordering]
    x = CholeskyFactor(A, perm).solve(b)
    expected = np.linalg.solve(A.toarray(), b)
    assert np.allclose(x, expected, rtol=1e-9, atol=1e-10)


def test_sparse_cholesky_rejects_indefinite_matrices():
    import scipy.sparse as sp

    from solver.core._cholesky import CholeskyFactor, NotPositiveDefinite

    with pytest.raises(NotPositiveDefinite):
        CholeskyFactor(sp.csc_matrix(np.array([[1.0, 2.0], [2.0, 1.0]])))
