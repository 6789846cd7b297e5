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
