"""How evenly the DRN kernels' 2-thread split shares out the work, measured on one thread.

Usage::

    nice python benchmarks/bench_drn_split.py [--presets drn-1h,drn-2h,drn-3h] [--reps 30]

On a loaded machine a 2-thread wall-clock time measures the scheduler (each
parallel region waits for the second thread's time slice), not the kernels.
This script runs, one after the other on the calling thread, the pieces of
work that the two threads would run side by side, and times each with the
thread's CPU time (``time.thread_time``, which a descheduled thread does not
accrue): the 1-thread path of a kernel, then thread 0's share and thread 1's
share. ``ideal 2 / 1`` is the 1-thread time over the larger share: the
speed-up two idle cores would give before fork/join costs and before the
shares compete for the L3 or DRAM. Medians over ``--reps`` rounds.

Kernels: the fused pass over the input weights (two halves of its row
panels); the batch's weight region (every pending update and the input
product, two halves of its row-panel tasks); for networks without wide
hidden matrices the EP phases (two runs of examples); otherwise one
relaxation phase, its column split emulated layer update by layer update
(the critical path is the sum over parallel regions of the larger share).
Last, a whole training batch in the steady state of an epoch (one
``ep_train_batches`` call over 30 batches, per batch) and its ideal 2 / 1:
the batch time over the batch time less what the two-way split saves in
the weight region and the EP phases (everything else stays serial).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solver.learning import _drn_kernels as K  # noqa: E402
from solver.learning.drn import DRN  # noqa: E402
from solver.learning.ep import Trainer  # noqa: E402
from solver.learning.presets import PRESETS  # noqa: E402

B = 4
clock = time.thread_time


def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        start = clock()
        fn()
        times.append(clock() - start)
    return 1e3 * float(np.median(times))


def input_pass(net, vin, reps):
    """1-thread fused W[0] pass vs the two halves of its row panels."""
    dt = net.dtype
    W0 = net.weights[0].copy()
    r0, c0 = np.zeros(W0.shape[0], dt), np.zeros(W0.shape[1], dt)
    E0 = np.random.default_rng(0).normal(0, 1e-9, (B, W0.shape[1])).astype(dt)
    rows, cols, P = np.empty(W0.shape[0], dt), np.empty(W0.shape[1], dt), np.empty((B, W0.shape[1]), dt)
    n = K._n_panels(W0.shape[0])
    cp, Pp = np.empty((n - 1, W0.shape[1]), dt), np.empty((n - 1, B, W0.shape[1]), dt)

    def share(a, b):
        for p in range(a, b):
            K._update_panel(p, n, W0, r0, c0, vin, E0, rows, cols, vin, P, cp, Pp, False)
    one = median_ms(lambda: K.rank_update_project(W0, r0, c0, vin, E0, rows, cols, vin, P,
                                                  False, 1), reps)
    halves = [median_ms(lambda: share(0, n // 2), reps), median_ms(lambda: share(n // 2, n), reps)]
    return one, halves


def weight_region(net, vin, reps):
    """1-thread weight region (all updates pending) vs the two halves of its tasks."""
    dt = net.dtype
    W = net.weights
    rng = np.random.default_rng(0)
    Ws = K.seq([w.copy() for w in W])
    WTs = K.seq(net.transposes())
    pend = [K.seq([np.zeros(w.shape[0], dt) if k == 0 else rng.normal(0, 1e-7, w.shape[0]).astype(dt)
                   for k, w in enumerate(W)]),
            K.seq([rng.normal(0, 1e-7, w.shape[1]).astype(dt) for w in W]),
            K.seq([vin] + [rng.uniform(-1, 1, (2 * B, w.shape[0])).astype(dt) for w in W[1:]]),
            K.seq([rng.normal(0, 1e-9, ((1 if k == 0 else 2) * B, w.shape[1])).astype(dt)
                   for k, w in enumerate(W)])]
    sums = (K.seq([np.empty(w.shape[0], dt) for w in W]), K.seq([np.empty(w.shape[1], dt) for w in W]))
    P = np.empty((B, W[0].shape[1]), dt)
    scratch = K.weight_scratch(W, B)
    pending = np.ones(len(W), dtype=np.int64)

    def one():
        pending[:] = 1
        K.update_weights(Ws, WTs, pending, *pend, *sums, vin, P, scratch, 1)

    def share(a, b):
        pending[:] = 1
        for q in range(a, b):
            K._weight_panels(q, Ws, WTs, pending, *pend, *sums, vin, P, scratch)
    n = K.ROW_PANELS
    return median_ms(one, reps), [median_ms(lambda: share(0, n // 2), reps),
                                  median_ms(lambda: share(n // 2, n), reps)]


def steady_batch(net, p, x, y, reps, n=30):
    """1-thread training batch in the steady state of an epoch (ms per batch)."""
    tr = Trainer(net, algorithm="ep", n_iter=p.n_iter, beta=p.beta, lr_weights=p.lr_weights,
                 lr_biases=p.lr_biases, threads=1)
    xc, yc = net.check_inputs(x), np.ascontiguousarray(y, dtype=np.int64)
    order = np.arange(200, 200 + n * B, dtype=np.int64)
    tr.train_batch(x[:B], y[:B])
    return median_ms(lambda: tr._train(xc, yc, order, B), reps) / n


def phases(net, p, P, t, reps):
    """1-thread EP phases (batched) vs two runs of two examples (networks without wide
    hidden matrices), or one relaxation phase with its column split emulated."""
    dt = net.dtype
    Ws, WTs, bs = K.seq(net.weights), K.seq(net.transposes()), K.seq(net.biases)
    dens = K.seq(net.conductance_sums())
    start, Vs, Vm, Vp, accs = (K.seq(net.zero_state(B)) for _ in range(5))
    K.relax(P, start, Ws, WTs, bs, dens, t, dt.type(0), 10, accs, 1)
    beta = dt.type(p.beta)
    if K.per_example_ok(Ws):
        def batched():
            K._copy_state(start, Vs)
            K.ep_phases(P, Vs, Vm, Vp, Ws, WTs, bs, dens, t, p.beta, p.n_iter, p.n_iter, accs,
                        1, True)

        def run(b0, b1):
            K._copy_state(start, Vs)
            for sign in (0.0, -1.0, 1.0):
                K._relax_examples(P, Vs, Ws, WTs, bs, dens, t, dt.type(sign * p.beta),
                                  p.n_iter, accs, b0, b1)
        copy = median_ms(lambda: K._copy_state(start, Vs), reps)
        halves = [median_ms(lambda: run(0, 2), reps) - copy, median_ms(lambda: run(2, 4), reps) - copy]
        return "EP phases (runs of examples)", median_ms(batched, reps) - copy, halves
    L = len(Ws)

    def one():
        K._copy_state(start, Vs)
        K.relax(P, Vs, Ws, WTs, bs, dens, t, dt.type(0), p.n_iter, accs, 1)

    def emulated():
        """Sum over the parallel regions of each share, and of the larger share."""
        K._copy_state(start, Vs)
        shares, critical = [0.0, 0.0], 0.0
        for _ in range(p.n_iter):
            for parity in range(2):
                for k in range(parity, L, 2):
                    n = Vs[k].shape[1]
                    fan = (1 if k == 0 else Vs[k - 1].shape[1]) + (0 if k == L - 1 else Vs[k + 1].shape[1])
                    if K._serial(K._n_tasks(n, 2), B * n * fan, 2):
                        s = clock()
                        K._relax_layer(k, P, Vs, Ws, WTs, bs, dens, t, dt.type(0), accs, 1)
                        d = clock() - s
                        shares[0] += d
                        critical += d
                        continue
                    if k == 0:
                        below, Vb, Wb, WTb = K._PRODUCT, P, Ws[0], WTs[0]
                    else:
                        below = K._NARROW if Ws[k].shape[1] < K.NARROW_COLUMNS else K._WIDE
                        Vb, Wb, WTb = Vs[k - 1], Ws[k], WTs[k]
                    if k == L - 1:
                        above, Va, Wa, WTa = K._NONE, Vs[k], Ws[k], WTs[k]
                    else:
                        above = K._NARROW if Ws[k + 1].shape[1] < K.NARROW_COLUMNS else K._WIDE
                        Va, Wa, WTa = Vs[k + 1], Ws[k + 1], WTs[k + 1]
                    d = []
                    for task in range(2):
                        j0, j1 = K._span(task, 2, n)
                        s = clock()
                        K._relax_block(j0, j1, Vs[k], accs[k], bs[k], dens[k], below, Vb, Wb,
                                       WTb, above, Va, Wa, WTa, k == L - 1, t, dt.type(0))
                        d.append(clock() - s)
                        shares[task] += d[-1]
                    critical += max(d)
        return shares, critical
    emulated()
    runs = [emulated() for _ in range(reps)]
    shares = [1e3 * float(np.median([r[0][i] for r in runs])) for i in range(2)]
    crit = 1e3 * float(np.median([r[1] for r in runs]))
    del beta
    return "relaxation, 1 phase (column blocks)", median_ms(one, reps), shares, crit


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="drn-1h,drn-2h,drn-3h")
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args(argv)
    from solver.learning.datasets import load_mnist

    data = load_mnist(download=False, verify=False)
    x, y = data.x_train, data.y_train
    print("| preset | kernel | 1-thread path ms | share 0 ms | share 1 ms | critical path ms "
          "| ideal 2 / 1 |\n|---|---|---:|---:|---:|---:|---:|")
    for name in args.presets.split(","):
        p = PRESETS[name]
        net = DRN(p.layer_sizes, p.input_gain, seed=0)
        Trainer(net, algorithm="ep", n_iter=p.n_iter, beta=p.beta, lr_weights=p.lr_weights,
                lr_biases=p.lr_biases, threads=1).train_epoch(x[:40], y[:40], rng=0)
        vin = net.input_voltages(x[100:100 + B])
        t = np.eye(net.layer_sizes[-1], dtype=net.dtype)[y[100:100 + B]]
        one, halves = input_pass(net, vin, args.reps)
        print(f"| {name} | W[0] pass (row panels) | {one:.3f} | {halves[0]:.3f} | {halves[1]:.3f} "
              f"| {max(halves):.3f} | {one / max(halves):.2f}x |", flush=True)
        P = np.empty((B, net.weights[0].shape[1]), net.dtype)
        K.project(net.weights[0], vin, P, 1)
        saved = 0.0  # what the two-way split saves per batch, over the parallel regions
        one, halves = weight_region(net, vin, args.reps)
        saved += one - max(halves)
        print(f"| {name} | weight region (row-panel tasks) | {one:.3f} | {halves[0]:.3f} "
              f"| {halves[1]:.3f} | {max(halves):.3f} | {one / max(halves):.2f}x |", flush=True)
        label, one, halves, *crit = phases(net, p, P, t, args.reps)
        crit = crit[0] if crit else max(halves)
        saved += one - crit if K.per_example_ok(K.seq(net.weights)) else 0.0
        print(f"| {name} | {label} | {one:.3f} | {halves[0]:.3f} | {halves[1]:.3f} | {crit:.3f} "
              f"| {one / crit:.2f}x |", flush=True)
        batch = steady_batch(net, p, x, y, max(3, args.reps // 3))
        print(f"| {name} | training batch (steady state) | {batch:.3f} | | | {batch - saved:.3f} "
              f"| {batch / (batch - saved):.2f}x |", flush=True)

if __name__ == "__main__":
    main()
