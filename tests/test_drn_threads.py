"""Multi-core DRN kernels: bit-identical for every thread count, and reproducible training."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from solver import InvalidValueError
from solver.learning.datasets import load_digits
from solver.learning.drn import DRN, using_threads
from solver.learning.ep import Trainer
from solver.learning.presets import get_preset

ROOT = Path(__file__).resolve().parents[1]


def test_every_parallel_kernel_is_bit_identical_for_1_2_and_3_threads():
    """A fresh process with a 3-thread pool (numba sizes it at import) digests each result."""
    env = dict(os.environ, NUMBA_NUM_THREADS=str(max(3, os.cpu_count() or 1)),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, "-m", "tests.thread_probe"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    digests = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(digests) == {"1", "2", "3"}
    assert len(digests["1"]) == 10  # 2 dtypes x (2 relax + 1 update + 2 trainings)
    for name, value in digests["1"].items():
        assert digests["2"][name] == value, name
        assert digests["3"][name] == value, name


def _short_run(seed, threads=None):
    data = load_digits().limit(400, 200)
    p = get_preset("drn-digits")
    net = DRN(p.layer_sizes, p.input_gain, seed=seed)
    trainer = Trainer(net, algorithm="ep", n_iter=p.n_iter, beta=p.beta,
                      lr_weights=p.lr_weights, lr_biases=p.lr_biases, threads=threads)
    errors = [trainer.train_epoch(data.x_train, data.y_train, rng=[seed, e])[0]
              for e in range(2)]
    errors.append(trainer.evaluate(data.x_test, data.y_test))
    return net, errors


def test_a_short_training_is_reproducible_bit_for_bit():
    a, errors_a = _short_run(seed=3)
    b, errors_b = _short_run(seed=3, threads=1)
    c, _ = _short_run(seed=4)
    assert errors_a == errors_b
    for u, v in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.weights[0], c.weights[0])  # the seed matters


def test_threads_are_checked():
    net = DRN([8, 4, 2], seed=0)
    with pytest.raises(InvalidValueError, match="threads must be an integer >= 1"):
        net.relax(np.zeros((1, 4)), threads=0)
    with pytest.raises(InvalidValueError, match="threads must be at most"):
        with using_threads(10_000):
            pass
    with pytest.raises(InvalidValueError, match="threads"):
        Trainer(net, lr_weights=[0.1, 0.1], lr_biases=[0.1, 0.1], threads=1.5)


def _random_net(sizes, dtype, seed=0):
    from tests.thread_probe import model

    net = model(dtype, seed, sizes)
    rng = np.random.default_rng(seed + 1)
    x = rng.uniform(0, 1, (4, sizes[0] // 2))
    x[x < 0.4] = 0.0  # dark pixels: the kernels skip zero inputs
    return net, x, rng.integers(0, sizes[-1], 4)


def _reference_relax(net, x, n_iter, beta, labels):
    """Block coordinate descent in float64 numpy, layer by layer (odd layers, then even)."""
    Ws = [W.astype(np.float64) for W in net.weights]
    bs = [b.astype(np.float64) for b in net.biases]
    vs = [net.input_voltages(x).astype(np.float64)] + [np.zeros((len(x), n))
                                                      for n in net.layer_sizes[1:]]
    L = net.num_free_layers
    t = np.eye(net.layer_sizes[-1])[labels]
    for _ in range(n_iter):
        for parity in (1, 0):  # network layers 1, 3, ... then 2, 4, ...
            for k in range(parity or 2, L + 1, 2):
                num = bs[k - 1] + vs[k - 1] @ Ws[k - 1]
                den = Ws[k - 1].sum(0)
                if k < L:
                    num = num + vs[k + 1] @ Ws[k].T
                    den = den + Ws[k].sum(1)
                    v = num / den
                    half = v.shape[1] // 2
                    vs[k] = np.concatenate([np.maximum(v[:, :half], 0),
                                            np.minimum(v[:, half:], 0)], axis=1)
                else:
                    vs[k] = (num + beta * t) / (den + beta)
    return vs[1:]


@pytest.mark.parametrize("sizes", [[64, 300, 200, 10], [64, 260, 300, 140, 10],
                                   [64, 130, 70, 300, 80, 10]])
def test_one_pass_relaxation_matches_a_float64_reference_and_the_two_pass_sweep(sizes):
    """The one-thread kernel reads each wide hidden matrix once per iteration: it must
    reach the reference equilibrium iterates and give the two-pass sweep's bits."""
    from solver.learning import _drn_kernels as K

    net, x, labels = _random_net(sizes, np.float64)
    for beta in (0.0, 0.5):
        got = net.relax(x, n_iter=5, beta=beta, y=labels if beta else None, threads=1)
        want = _reference_relax(net, x, 5, beta, labels)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    net, x, labels = _random_net(sizes, np.float32)
    args = [net.input_product(x), None, K.seq(net.weights), K.seq(net.transposes()),
            K.seq(net.biases), K.seq(net.conductance_sums()),
            np.eye(sizes[-1], dtype=np.float32)[labels],
            np.float32(0.5), 5, K.seq(net.zero_state(4))]
    one, two = net.zero_state(4), net.zero_state(4)
    args[1] = K.seq(one)
    K._relax_one_pass(*args)
    args[1] = K.seq(two)
    for _ in range(5):  # the layer-by-layer sweep, each layer on this thread
        for parity in range(2):
            for k in range(parity, len(two), 2):
                K._relax_layer(k, *args[:8], args[9], 1)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_per_example_ep_phases_give_the_batched_bits_for_every_thread_count():
    """Networks without wide hidden matrices run each example's three EP phases as one
    task: a short float32 training gives the same bits on 1 thread (batched) and on 2+."""
    import numba

    counts = [t for t in (1, 2, 3) if t <= numba.config.NUMBA_NUM_THREADS]
    if len(counts) < 2:
        pytest.skip("numba's pool has one thread")
    results = []
    for t in counts:
        net, x, labels = _random_net([64, 6 * 128 + 4, 10], np.float32, seed=5)
        trainer = Trainer(net, algorithm="ep", n_iter=3, beta=0.5, lr_weights=[0.02, 0.02],
                          lr_biases=[0.01, 0.01], threads=t)
        xs = np.random.default_rng(2).uniform(0, 1, (24, 32))
        ys = np.random.default_rng(3).integers(0, 10, 24)
        err, _ = trainer.train_epoch(xs, ys, rng=0)
        trainer.flush()
        results.append((err, net.weights + net.biases + trainer.state))
    for err, arrays in results[1:]:
        assert err == results[0][0]
        for a, b in zip(arrays, results[0][1]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n_rows, n_cols", [(5, 300), (37, 300), (400, 700)])
def test_weight_pass_in_row_panels_matches_numpy_and_every_split(n_rows, n_cols):
    """The fused weight pass sums its rows panel by panel (``K.ROW_PANELS``, fewer for
    short matrices): float64 results agree with plain numpy, and the panels give the
    same bits run on this thread or shared out on the pool."""
    from solver.learning import _drn_kernels as K

    rng = np.random.default_rng(n_rows)
    W0 = rng.uniform(0, 1, (n_rows, n_cols))
    r, c = rng.normal(0, 0.1, n_rows), rng.normal(0, 0.1, n_cols)
    U, E = rng.normal(0, 1, (5, n_rows)), rng.normal(0, 0.1, (5, n_cols))
    U[U < -0.5] = 0.0  # skipped entries
    Xp = rng.uniform(0, 1, (3, n_rows))
    Xp[Xp < 0.3] = 0.0
    want = np.maximum(W0 + r[:, None] + c[None, :] + U.T @ E, 0.0)
    assert (want == 0).any() and (want > 0).any()
    results = []
    for parallel in (1, 2, 3):
        W = W0.copy()
        rowsum, colsum, P = np.empty(n_rows), np.empty(n_cols), np.empty((3, n_cols))
        K.rank_update_project(W, r, c, U, E, rowsum, colsum, Xp, P, True, parallel)
        P2 = np.empty((3, n_cols))
        K.project(W, Xp, P2, parallel)
        np.testing.assert_allclose(W, want, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(rowsum, want.sum(1), rtol=1e-13)
        np.testing.assert_allclose(colsum, want.sum(0), rtol=1e-13)
        np.testing.assert_allclose(P, Xp @ want, rtol=1e-13)
        np.testing.assert_array_equal(P2, P)  # the product alone sums in the same order
        results.append((W, rowsum, colsum, P))
    big = n_rows * n_cols * 9 >= K.PARALLEL_MIN_WORK
    assert big == (n_rows == 400)  # the last shape takes the pool's path
    for got in results[1:]:
        for a, b in zip(got, results[0]):
            np.testing.assert_array_equal(a, b)
