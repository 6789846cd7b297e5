"""Run every parallel DRN kernel with 1, 2 and 3 threads and print a digest of each result.

Run as ``python -m tests.thread_probe`` with ``NUMBA_NUM_THREADS >= 3`` (numba reads it
at import, so a test starts this in a fresh process). Prints one JSON object:
``{"1": {name: sha256, ...}, "2": {...}, "3": {...}}``.
"""

import hashlib
import json

import numpy as np

from solver.learning import _drn_kernels as K
from solver.learning.drn import DRN, using_threads
from solver.learning.ep import Trainer

THREADS = (1, 2, 3)
#: Wide (> K.BLOCK, several blocks) and narrow (< K.NARROW_COLUMNS) layers, both products,
#: every wide layer's relaxation and update above K.PARALLEL_MIN_WORK (so run in parallel;
#: the EP training phases of this network, with a wide hidden matrix, use the pool from
#: K.RELAX_POOL_MIN_THREADS = 3 threads, its weight passes from 2).
SIZES = [64, 6 * K.BLOCK + 4, 2 * K.BLOCK + 4, 10]
assert 4 * SIZES[2] * (SIZES[1] + SIZES[3]) > 4 * SIZES[1] * (1 + SIZES[2]) > K.PARALLEL_MIN_WORK


def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def model(dtype, seed=0, sizes=SIZES):
    net = DRN(sizes, 3.0, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    for W in net.weights:
        W += dtype(0.02)
    for b in net.biases:
        b[:] = rng.normal(0.0, 0.1, b.shape)
    return net


def results(threads):
    out = {}
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (7, SIZES[0] // 2))
    labels = rng.integers(0, SIZES[-1], 7)
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        net = model(dtype)
        for batch in (4, 7):  # the 4-example dot kernel and the general one
            free = net.relax(x[:batch], n_iter=6, threads=threads)
            nudged = net.relax(x[:batch], [s.copy() for s in free], n_iter=6, beta=-0.3,
                               y=labels[:batch], threads=threads)
            out[f"relax {name} batch {batch}"] = digest(*free, *nudged)
        W = net.weights[1].copy()
        n_in, n_out = W.shape
        rowsum, colsum = np.empty(n_in, dtype), np.empty(n_out, dtype)
        P = np.empty((3, n_out), dtype)
        with using_threads(threads):
            K.rank_update_project(W, rng.normal(0, 0.01, n_in).astype(dtype),
                                  rng.normal(0, 0.01, n_out).astype(dtype),
                                  rng.normal(0, 1, (5, n_in)).astype(dtype),
                                  rng.normal(0, 0.01, (5, n_out)).astype(dtype),
                                  rowsum, colsum, rng.uniform(0, 1, (3, n_in)).astype(dtype),
                                  P, True, K.parallel_now())
        out[f"rank_update_project {name}"] = digest(W, rowsum, colsum, P)
        for algorithm in ("ep", "bp"):
            net = model(dtype)
            trainer = Trainer(net, algorithm=algorithm, n_iter=3, beta=0.5,
                              lr_weights=[0.02] * 3, lr_biases=[0.01] * 3, threads=threads)
            xs = np.random.default_rng(2).uniform(0, 1, (30, SIZES[0] // 2))
            ys = np.random.default_rng(3).integers(0, SIZES[-1], 30)
            err, _ = trainer.train_epoch(xs, ys, rng=0)
            test = trainer.evaluate(xs, ys)
            out[f"train {algorithm} {name}"] = digest(*net.weights, *net.biases, *trainer.state,
                                                      np.array([err, test]))
    return out


if __name__ == "__main__":
    print(json.dumps({str(t): results(t) for t in THREADS}))
