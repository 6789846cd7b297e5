"""Deep resistive networks: the block solver against the general solver and plain numpy."""

import networkx as nx
import numpy as np
import pytest

from solver import FloatingNodeError, InvalidValueError, solve
from solver.learning import _drn_kernels as K
from solver.learning.drn import DRN, NudgingError

ARCHS = [
    [6, 4],  # no hidden layer: the output is a linear function of the inputs
    [8, 6, 3],
    [8, 6, 4, 3],
    [10, 4, 6, 4, 3],
]


def random_drn(sizes, seed, gain=3.0, bias_scale=0.3, dtype=np.float64):
    """A DRN with random biases and every free node conducting."""
    rng = np.random.default_rng(seed)
    net = DRN(sizes, gain, seed=rng, dtype=dtype)
    for k, W in enumerate(net.weights):  # keep every node connected
        W += dtype(0.05) * rng.uniform(0.5, 1.0, W.shape).astype(dtype)
    for b in net.biases:
        b[:] = rng.normal(0.0, bias_scale, b.shape)
    return net, rng


@pytest.mark.parametrize("sizes", ARCHS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_block_cd_matches_general_solver(sizes, seed):
    net, rng = random_drn(sizes, seed)
    x = rng.uniform(0, 1, (1, sizes[0] // 2))
    state = net.relax(x, n_iter=3000)
    sol = solve(net.to_network(x))
    assert sol.converged
    ref = net.state_from_voltages(sol.voltages)
    for k, (a, b) in enumerate(zip(state, ref)):
        np.testing.assert_allclose(a, b, atol=1e-6, err_msg=f"layer {k + 1}")


@pytest.mark.parametrize("batch", [4, 3])
def test_wide_layers_match_general_solver(batch):
    """Layers of >= NARROW_COLUMNS nodes take the other product kernels (batch-4 fused dots)."""
    sizes = [16, 2 * K.NARROW_COLUMNS + 2, K.NARROW_COLUMNS + 2, 3]
    net, rng = random_drn(sizes, 12, bias_scale=0.05)
    x = rng.uniform(0, 1, (batch, 8))
    state = net.relax(x, n_iter=4000)
    for i in (0, batch - 1):
        sol = solve(net.to_network(x[i:i + 1]))
        ref = net.state_from_voltages(sol.voltages)
        for k, (a, b) in enumerate(zip(state, ref)):
            np.testing.assert_allclose(a[i:i + 1], b, atol=1e-6, err_msg=f"layer {k + 1}")


@pytest.mark.parametrize("sizes", ARCHS[1:3])
def test_nudged_block_cd_matches_general_solver(sizes):
    """beta > 0 is a resistor of conductance beta from each output to a source at its target."""
    net, rng = random_drn(sizes, 7)
    x = rng.uniform(0, 1, (1, sizes[0] // 2))
    y = np.array([1])
    state = net.relax(x, n_iter=3000, beta=0.7, y=y)
    sol = solve(net.to_network(x, beta=0.7, y=y))
    ref = net.state_from_voltages(sol.voltages)
    for a, b in zip(state, ref):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_float32_block_cd_close_to_general_solver():
    net64, rng = random_drn([8, 6, 4, 3], 3)
    net32 = DRN([8, 6, 4, 3], 3.0, seed=0, dtype=np.float32)
    net32.weights = [w.astype(np.float32) for w in net64.weights]
    net32.biases = [b.astype(np.float32) for b in net64.biases]
    x = rng.uniform(0, 1, (1, 4))
    ref = net64.state_from_voltages(solve(net64.to_network(x)).voltages)
    state = net32.relax(x, n_iter=3000)
    assert state[0].dtype == np.float32
    for a, b in zip(state, ref):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_batched_relax_equals_one_example_at_a_time():
    net, rng = random_drn([8, 6, 4, 3], 4)
    x = rng.uniform(0, 1, (5, 4))
    batch = net.relax(x, n_iter=7)
    for i in range(5):
        single = net.relax(x[i:i + 1], n_iter=7)
        for a, b in zip(batch, single):
            np.testing.assert_allclose(a[i:i + 1], b, rtol=1e-12, atol=1e-12)


def test_no_hidden_layer_is_a_weighted_mean():
    """Output node j: v_j = (sum_i g_ij vin_i + b_j) / sum_i g_ij (KCL at j)."""
    net, rng = random_drn([6, 4], 5)
    x = rng.uniform(0, 1, (3, 3))
    vin = 3.0 * np.concatenate([x, -x], axis=1)
    W, b = net.weights[0], net.biases[0]
    expected = (vin @ W + b) / W.sum(axis=0)
    np.testing.assert_allclose(net.relax(x, n_iter=1)[0], expected, rtol=1e-12)


def test_diodes_and_energy_descent():
    """Each half-step is an exact block minimisation: the energy never increases."""
    net, rng = random_drn([8, 6, 4, 3], 6, bias_scale=1.0)
    x = rng.uniform(0, 1, (2, 4))
    state = net.zero_state(2)
    energies = [net.energy(x, state)]
    for _ in range(20):
        state = net.relax(x, state, n_iter=1)
        energies.append(net.energy(x, state))
        for k in range(net.num_free_layers - 1):
            half = net.layer_sizes[k + 1] // 2
            assert (state[k][:, :half] >= 0).all() and (state[k][:, half:] <= 0).all()
    e = np.array(energies)
    assert (np.diff(e, axis=0) <= 1e-12 * (1 + np.abs(e[1:]))).all()


def test_converted_network_structure_and_networkx():
    net, rng = random_drn([8, 6, 3], 8)
    net.weights[0][0, 0] = 0.0  # a clipped weight is an open circuit
    x = rng.uniform(0, 1, (1, 4))
    circuit = net.to_network(x)
    kinds = [e.kind for e in circuit.elements()]
    assert kinds.count("vsource") == 8
    assert kinds.count("diode") == 6
    assert kinds.count("isource") == 9
    assert kinds.count("resistor") == int((net.weights[0] > 0).sum() + (net.weights[1] > 0).sum())
    assert "G0_0_0" not in circuit
    excit, inhib = circuit.element("D1_0"), circuit.element("D1_5")
    assert (excit.p, excit.n) == ("0", "L1_0") and (inhib.p, inhib.n) == ("L1_5", "0")
    g = circuit.to_networkx()
    assert isinstance(g, (nx.Graph, nx.MultiGraph, nx.DiGraph, nx.MultiDiGraph))
    assert g.number_of_nodes() == 1 + 8 + 6 + 3


@pytest.mark.parametrize("n_rows,n_b", [(4, 4), (8, 0), (0, 4), (3, 2), (0, 0)])
def test_rank_update_project_matches_numpy(n_rows, n_b):
    rng = np.random.default_rng(n_rows * 10 + n_b)
    n_in, n_out = 37, 23
    W = rng.uniform(0, 0.2, (n_in, n_out)).astype(np.float32)
    r = rng.normal(0, 0.05, n_in).astype(np.float32)
    c = rng.normal(0, 0.05, n_out).astype(np.float32)
    U = rng.normal(0, 1, (n_rows, n_in)).astype(np.float32)
    U[:, ::3] = 0.0  # dark pixels are skipped
    E = rng.normal(0, 0.05, (n_rows, n_out)).astype(np.float32)
    Xp = rng.normal(0, 1, (n_b, n_in)).astype(np.float32)
    Xp[:, 1::4] = 0.0
    expected = np.maximum(W.astype(np.float64) + r[:, None] + c[None, :] + U.T.astype(np.float64) @ E, 0)
    rowsum, colsum = np.empty(n_in, np.float32), np.empty(n_out, np.float32)
    P = np.empty((n_b, n_out), np.float32)
    K.rank_update_project(W, r, c, U, E, rowsum, colsum, Xp, P, True, False)
    np.testing.assert_allclose(W, expected, atol=1e-6)
    assert (W >= 0).all()
    np.testing.assert_allclose(rowsum, expected.sum(1), atol=1e-5)
    np.testing.assert_allclose(colsum, expected.sum(0), atol=1e-5)
    np.testing.assert_allclose(P, Xp @ expected, atol=1e-5)


def test_nudging_error_when_minus_beta_exceeds_output_conductance():
    net, rng = random_drn([8, 6, 3], 9)
    x = rng.uniform(0, 1, (1, 4))
    big = float(net.weights[1].sum(axis=0).min()) + 0.1
    with pytest.raises(NudgingError, match="output node .* not positive"):
        net.relax(x, n_iter=2, beta=-big, y=[0])
    net.relax(x, n_iter=2, beta=-0.5 * float(net.weights[1].sum(axis=0).min()), y=[0])


def test_floating_hidden_node_is_reported():
    net, rng = random_drn([8, 6, 3], 10)
    net.weights[0][:, 2] = 0.0
    net.weights[1][2, :] = 0.0
    with pytest.raises(FloatingNodeError, match="hidden layer 1: node 2"):
        net.relax(rng.uniform(0, 1, (1, 4)), n_iter=1)


@pytest.mark.parametrize("sizes,match", [
    ([7, 4, 2], r"layer_sizes\[0\] = 7 must be even"),
    ([8, 5, 2], r"layer_sizes\[1\] = 5 must be even"),
    ([8], "needs an input and an output"),
    ([8, 0, 2], r"layer_sizes\[1\] must be an integer >= 1"),
])
def test_bad_architectures(sizes, match):
    with pytest.raises(InvalidValueError, match=match):
        DRN(sizes)


def test_bad_inputs():
    net = DRN([8, 4, 2], 1.0, seed=0)
    with pytest.raises(InvalidValueError, match=r"x must have shape \(batch, 4\)"):
        net.relax(np.zeros((2, 5)))
    with pytest.raises(InvalidValueError, match="NaN"):
        net.relax(np.full((1, 4), np.nan))
    with pytest.raises(InvalidValueError, match="needs targets y"):
        net.relax(np.zeros((1, 4)), beta=0.5)
    with pytest.raises(InvalidValueError, match="labels y must lie in 0..1"):
        net.relax(np.zeros((1, 4)), beta=0.5, y=[3])
    with pytest.raises(InvalidValueError, match="input_gain must be positive"):
        DRN([8, 4, 2], -1.0)
    with pytest.raises(InvalidValueError, match="beta must be >= 0"):
        net.to_network(np.zeros((1, 4)), beta=-1.0, y=[0])
    with pytest.raises(InvalidValueError, match="n_iter must be an integer"):
        net.relax(np.zeros((1, 4)), n_iter=-1)


def test_checkpoint_round_trip_without_pickle(tmp_path):
    net, rng = random_drn([8, 6, 4, 3], 11, dtype=np.float32)
    path = tmp_path / "model.npz"
    net.save(path, epoch=3)
    with np.load(path, allow_pickle=False) as f:  # every field loads without pickle
        assert {"W0", "W1", "W2", "b0", "layer_sizes", "epoch"} <= set(f.files)
    back, extra = DRN.load(path)
    assert back.layer_sizes == net.layer_sizes and back.input_gain == net.input_gain
    assert int(extra["epoch"]) == 3
    for a, b in zip(back.weights + back.biases, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)
    x = rng.uniform(0, 1, (2, 4))
    np.testing.assert_array_equal(back.predict(x, 5), net.predict(x, 5))
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(InvalidValueError, match="not a DRN checkpoint"):
        DRN.load(tmp_path / "other.npz")
