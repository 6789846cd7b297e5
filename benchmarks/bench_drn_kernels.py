"""Time of each DRN EP kernel per batch of 4, with 1 and 2 threads side by side.

Usage::

    nice python benchmarks/bench_drn_kernels.py [--presets drn-1h,drn-2h] [--reps 60]

For each preset, one batch's kernels are called one at a time from Python on
the same arrays (a network after a few training batches): the fused pass over
the input weights (``rank_update_project`` on ``W[0]``), the update of each
deeper weight matrix, the batch's weight region (``update_weights``: every
pending update and the input product, the two rows above in one parallel
region, as training runs them), the three EP phases (``ep_phases``), an empty
parallel region (the pool's fork/join cost), training batches in the steady
state of an epoch (``batch in epoch``: one ``ep_train_batches`` call over 30
batches, per batch), and ``train_epoch`` over 30 batches (``whole batch``:
the same plus the per-call work, the epoch-start sums and the final flush,
per batch; ``bench_drn.py`` times segments of that size). The thread counts take turns call by
call, so a change of the machine's load hits them alike; the report gives
medians (ms) and the 1-thread / 2-thread ratio of each kernel. Only the
ratios measured in one run are comparable.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solver.learning import _drn_kernels as K  # noqa: E402
from solver.learning.drn import DRN  # noqa: E402
from solver.learning.ep import Trainer  # noqa: E402
from solver.learning.presets import PRESETS  # noqa: E402

B = 4
#: Entries that time whole batches and return the time per batch themselves.
PER_BATCH = ("batch in epoch", "whole batch")


@njit(parallel=True, cache=True)
def _empty_region(a):
    for i in prange(a.shape[0]):
        a[i] += 1.0


def setup(name, x, y):
    p = PRESETS[name]
    net = DRN(p.layer_sizes, p.input_gain, seed=0)
    tr = Trainer(net, algorithm="ep", n_iter=p.n_iter, beta=p.beta, lr_weights=p.lr_weights,
                 lr_biases=p.lr_biases, threads=1)
    tr.train_epoch(x[:40], y[:40], rng=0)  # compile, and weights a little away from the init
    return p, net, tr


def kernels(p, net, tr, x, y):
    """name -> function(parallel) running one batch's kernel on fresh copies of its inputs."""
    dt = net.dtype
    W, L = net.weights, net.num_free_layers
    vin = net.input_voltages(x[100:100 + B])
    t = np.eye(net.layer_sizes[-1], dtype=dt)[y[100:100 + B]]
    dens = K.seq(net.conductance_sums())
    WTs = K.seq(net.transposes())
    rng = np.random.default_rng(0)
    out = {}
    W0 = W[0].copy()
    r0 = np.zeros(W0.shape[0], dt)
    c0 = rng.normal(0, 1e-7, W0.shape[1]).astype(dt)
    E0 = rng.normal(0, 1e-8, (B, W0.shape[1])).astype(dt)
    rows, cols = np.empty(W0.shape[0], dt), np.empty(W0.shape[1], dt)
    P = np.empty((B, W0.shape[1]), dt)
    out["W[0] pass"] = lambda par: K.rank_update_project(W0, r0, c0, vin, E0, rows, cols, vin, P,
                                                           False, par)
    K.project(W[0], vin, P, 1)
    state0 = net.zero_state(B)
    K.relax(P, K.seq(state0), K.seq(W), WTs, K.seq(net.biases), dens, t, dt.type(0), 10,
            K.seq(net.zero_state(B)), 1)
    Vs, Vm, Vp, accs = (K.seq(net.zero_state(B)) for _ in range(4))
    per_example = K.per_example_ok(K.seq(W))

    def phases(par):
        for a, b in zip(Vs, state0):
            a[:] = b
        K.ep_phases(P, Vs, Vm, Vp, K.seq(W), WTs, K.seq(net.biases), dens, t, p.beta, p.n_iter,
                    p.n_iter, accs, par, per_example)
    out["EP phases"] = phases
    pend = []
    for k in range(1, L):
        Wk = W[k].copy()
        n_pre, n_post = Wk.shape
        r = rng.normal(0, 1e-7, n_pre).astype(dt)
        c = rng.normal(0, 1e-7, n_post).astype(dt)
        U = np.concatenate([np.asarray(Vp[k - 1]), np.asarray(Vm[k - 1])])
        E = rng.normal(0, 1e-8, (2 * B, n_post)).astype(dt)
        pend.append((r, c, U, E))
        rs, cs = np.empty(n_pre, dt), np.empty(n_post, dt)
        Xp, Pk = np.zeros((0, n_pre), dt), np.zeros((0, n_post), dt)
        out[f"W[{k}] update"] = (lambda par, Wk=Wk, r=r, c=c, U=U, E=E, rs=rs, cs=cs, Xp=Xp,
                                 Pk=Pk: K.rank_update_project(Wk, r, c, U, E, rs, cs, Xp, Pk,
                                                              True, par))
    Ws_region = K.seq([w.copy() for w in W])
    WTs_region = K.seq(net.transposes())
    lists = [K.seq(a) for a in zip((r0, c0, vin, E0), *pend)]
    sums = (K.seq([np.empty(w.shape[0], dt) for w in W]), K.seq([np.empty(w.shape[1], dt) for w in W]))
    scratch_w = K.weight_scratch(W, B)
    pending = np.ones(L, dtype=np.int64)

    def weight_region(par):
        pending[:] = 1
        K.update_weights(Ws_region, WTs_region, pending, *lists, *sums, vin, P, scratch_w, par)
    out["weight region"] = weight_region
    scratch = np.zeros(2)
    out["empty region"] = lambda par: _empty_region(scratch)
    trainers = {}

    def trainer(par):
        if par not in trainers:
            net_c = DRN(p.layer_sizes, p.input_gain, seed=0)
            trainers[par] = Trainer(net_c, algorithm="ep", n_iter=p.n_iter, beta=p.beta,
                                    lr_weights=p.lr_weights, lr_biases=p.lr_biases, threads=par)
            trainers[par].train_batch(x[:B], y[:B])
        return trainers[par]
    xc, yc = net.check_inputs(x), np.ascontiguousarray(y, dtype=np.int64)

    def steady_batches(par, n=30):
        """Training batches in the steady state of an epoch (one kernel call), per batch."""
        tr_c = trainer(par)
        order = np.arange(200, 200 + n * B, dtype=np.int64)
        start = time.perf_counter()
        tr_c._train(xc, yc, order, B)
        return (time.perf_counter() - start) / n

    def whole_batches(par, n=30):
        """train_epoch over n batches (kernels + per-call work + epoch start and end), per batch."""
        tr_c = trainer(par)
        start = time.perf_counter()
        tr_c.train_epoch(x[200:200 + n * B], y[200:200 + n * B], rng=0)
        return (time.perf_counter() - start) / n
    out["batch in epoch"] = steady_batches
    out["whole batch"] = whole_batches
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="drn-xs,drn-1h,drn-2h,drn-3h")
    ap.add_argument("--reps", type=int, default=60)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args(argv)
    from solver.learning.datasets import load_mnist

    data = load_mnist(download=False, verify=False)
    x, y = data.x_train, data.y_train
    counts = [int(c) for c in args.threads.split(",")]
    print(f"load average {' '.join(f'{v:.2f}' for v in __import__('os').getloadavg())}; "
          f"threading layer after first region: ", end="")
    for name in args.presets.split(","):
        p, net, tr = setup(name, x, y)
        ks = kernels(p, net, tr, x, y)
        for fn in ks.values():  # compile and warm
            for c in counts:
                numba.set_num_threads(c)
                fn(c)
        if name == args.presets.split(",")[0]:
            print(numba.threading_layer())
        times = {(k, c): [] for k in ks for c in counts}
        for _ in range(args.reps):
            for k, fn in ks.items():
                for c in counts:
                    numba.set_num_threads(c)
                    t0 = time.perf_counter()
                    per_batch = fn(c)
                    times[k, c].append(per_batch if k in PER_BATCH
                                       else time.perf_counter() - t0)
        numba.set_num_threads(max(counts))
        print(f"\n{name} (median ms of {args.reps}, threads interleaved)")
        print("| kernel | " + " | ".join(f"{c} thr" for c in counts) + " | 1 / 2 |")
        total = {c: 0.0 for c in counts}
        for k in ks:
            med = {c: 1e3 * float(np.median(times[k, c])) for c in counts}
            if k in ("W[0] pass", "EP phases") or k.endswith("update"):
                for c in counts:
                    total[c] += med[c]
            ratio = med[counts[0]] / med[counts[-1]]
            print(f"| {k} | " + " | ".join(f"{med[c]:.3f}" for c in counts) + f" | {ratio:.2f}x |")
        print("| sum of kernels | " + " | ".join(f"{total[c]:.3f}" for c in counts)
              + f" | {total[counts[0]] / total[counts[-1]]:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
