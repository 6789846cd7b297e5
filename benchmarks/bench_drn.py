"""Speed of DRN training (EP and truncated BP, batch 4) for each preset, against this machine's peak.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_drn.py [--data-dir DIR] [--out FILE]
        [--presets drn-xs,drn-1h,...] [--scale 1.0] [--segments 3] [--threads 1,2]

For each preset and algorithm, times a number of batches of 4 MNIST examples
(a few hundred for the big presets) after a warm-up, and extrapolates to a
60,000-example epoch. The kernels' achieved GFLOP/s and GB/s are computed
from analytic counts (dense-equivalent FLOPs; the minimal memory traffic,
i.e. each weight matrix read once per product and written once per update)
and set against a measured peak: a large float32 matmul (GFLOP/s, with the
BLAS numpy links) and array copies (GB/s, read + write) of a DRAM-sized and
of an L3-sized array. The *floor* of an EP epoch is its traffic, counting each
weight matrix read once per product (twice per relaxation iteration for a
hidden-to-hidden matrix), over the measured copy bandwidth of an array the size
of the weights; the one-pass kernels read such a matrix once per iteration, so
the "one-read floor" column counts that (the least traffic of the algorithm).

With ``--threads 1,2`` each preset is timed once per thread count, the
segments of the different counts interleaved (1, 2, 1, 2, ...) so that a
change of the machine's load hits them alike; times are medians over the
segments, and the last column gives the speed-up of the medians over the first count.

Also compares, for the input weights of ``drn-1h``, the fused numba pass
(update + clip + column sums + next product) with the numpy/BLAS sequence.

Writes a Markdown report (``--out``, default ``benchmarks/results_drn_speed.md``)
and prints it.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
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
EPOCH = 60_000

#: (EP batches, BP batches) timed per preset at --scale 1
BATCHES = {
    "drn-xs": (3000, 600),
    "drn-1h": (1500, 300),
    "drn-2h": (300, 100),
    "drn-3h": (200, 60),
    "drn-xl": (30, 10),
}


def machine():
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "numpy": np.__version__}
    try:
        import numba

        info["numba"] = numba.__version__
    except ImportError:
        pass
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
        for line in out.splitlines():
            key = line.split(":")[0].strip()
            if key in ("Model name", "L1d cache", "L2 cache", "L3 cache", "CPU(s)"):
                info[key] = line.split(":", 1)[1].strip()
        flags = [f for f in ("avx2", "avx512f", "fma") if f" {f}" in out]
        info["simd"] = ",".join(flags)
    except (OSError, subprocess.SubprocessError):
        pass
    for var in ("OPENBLAS_NUM_THREADS", "NUMBA_THREADING_LAYER", "OMP_WAIT_POLICY"):
        info[var] = os.environ.get(var, "unset")
    try:
        info["load average"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        pass
    return info


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def peaks():
    """Measured float32 matmul GFLOP/s and copy GB/s (read + write bytes)."""
    n = 2048
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = a.copy()
    a @ b
    t = best_of(lambda: a @ b, 5)
    gflops = 2 * n**3 / t / 1e9
    res = {"matmul_gflops": gflops}
    for label, nbytes in (("dram", 512 * 2**20), ("l3", 6 * 2**20)):
        src = np.ones(nbytes // 4, dtype=np.float32)
        dst = np.empty_like(src)
        np.copyto(dst, src)
        reps = 5 if label == "dram" else 200
        t = best_of(lambda: np.copyto(dst, src), reps)
        res[f"copy_gbs_{label}"] = 2 * nbytes / t / 1e9
    return res


def counts(preset, algorithm, reads_per_iteration=2):
    """Dense-equivalent FLOPs and bytes moved per batch of B examples, each hidden-to-hidden
    matrix read ``reads_per_iteration`` times per relaxation iteration."""
    sizes = preset.layer_sizes
    T = preset.n_iter
    L = len(sizes) - 1
    w = [sizes[k] * sizes[k + 1] for k in range(L)]
    flops = 2 * B * w[0]  # input product, shared by all phases
    bytes_ = 4 * w[0]
    # relaxation: per phase, T iterations; each W[k >= 1] takes two products (up and down)
    phases = 3 if algorithm == "ep" else 2
    relax_products = sum(2 * 2 * B * w[k] for k in range(1, L))
    flops += phases * T * relax_products
    bytes_ += phases * T * sum(reads_per_iteration * 4 * w[k] for k in range(1, L))
    if algorithm == "ep":
        flops += 2 * (B + 1) * w[0] + sum(2 * (2 * B + 2) * w[k] for k in range(1, L))
        bytes_ += 4 * w[0] + sum(2 * 4 * w[k] for k in range(1, L))  # W[0]: write only (fused)
    else:  # backward through T iterations: ~2 products per forward product, plus updates
        flops += 2 * T * relax_products + 2 * 2 * B * w[0] + sum(2 * w[k] for k in range(L))
        bytes_ += 2 * T * sum(2 * 4 * w[k] for k in range(1, L)) + sum(3 * 4 * x for x in w)
    return flops, bytes_


def time_preset(name, algorithm, x, y, n_batches, threads=(None,), segments=3):
    """Seconds per batch for each thread count: ``{threads: (median segment, fastest segment)}``.

    The machine is shared: the median over segments is the estimate reported,
    the fastest segment the one least disturbed by other processes. The thread
    counts take turns segment by segment, each on its own copy of the same
    network and batches.
    """
    p = PRESETS[name]
    trainers = {}
    for t in threads:
        net = DRN(p.layer_sizes, p.input_gain, seed=0)
        trainers[t] = Trainer(net, algorithm=algorithm, n_iter=p.n_iter, beta=p.beta,
                              lr_weights=p.lr_weights, lr_biases=p.lr_biases, threads=t)
    warm = min(5, n_batches) * B
    for tr in trainers.values():
        tr.train_epoch(x[:warm], y[:warm], rng=0)  # compile + caches
    per = max(1, n_batches // segments)
    times = {t: [] for t in threads}
    start = warm
    for s in range(segments):
        n = per * B
        for t, tr in trainers.items():
            clock = time.perf_counter()
            tr.train_epoch(x[start:start + n], y[start:start + n], rng=s + 1)
            times[t].append((time.perf_counter() - clock) / per)
        start += n
    return {t: (float(np.median(v)), min(v)) for t, v in times.items()}


def fused_vs_blas(x):
    """drn-1h input weights: one fused numba pass vs numpy/BLAS (update, clip, sums, product)."""
    rng = np.random.default_rng(0)
    n0, n1 = 1568, 1024
    W = rng.uniform(0, 1 / np.sqrt(n0), (n0, n1)).astype(np.float32)
    vin = np.ascontiguousarray(480 * np.concatenate([x[:B], -x[:B]], 1), dtype=np.float32)
    vnext = np.ascontiguousarray(480 * np.concatenate([x[B:2 * B], -x[B:2 * B]], 1),
                                 dtype=np.float32)
    c = rng.normal(0, 1e-6, n1).astype(np.float32)
    E = rng.normal(0, 1e-7, (B, n1)).astype(np.float32)
    r = np.zeros(n0, np.float32)
    rows, cols, P = np.empty(n0, np.float32), np.empty(n1, np.float32), np.empty((B, n1), np.float32)

    def fused():
        K.rank_update_project(W, r, c, vin, E, rows, cols, vnext, P, False, False)

    def blas():
        W[...] += c
        W[...] += vin.T @ E
        np.maximum(W, 0, out=W)
        W.sum(axis=0)
        vnext @ W

    fused()
    blas()
    return best_of(fused, 50), best_of(blas, 50)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=str(Path(__file__).with_name("results_drn_speed.md")))
    ap.add_argument("--presets", default=",".join(BATCHES))
    ap.add_argument("--algorithms", default="ep,bp")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the batch counts")
    ap.add_argument("--segments", type=int, default=3, help="timed segments per thread count")
    ap.add_argument("--threads", default=None,
                    help="comma-separated kernel thread counts (default: numba's, all cores)")
    args = ap.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")] if args.threads else [None]

    try:
        from solver.learning.datasets import load_mnist

        data = load_mnist(args.data_dir, download=False, verify=False)
        x, y, source = data.x_train, data.y_train, "MNIST train images"
    except OSError:
        rng = np.random.default_rng(0)
        x = (rng.random((EPOCH, 784)) < 0.19).astype(np.float32) * rng.random((EPOCH, 784),
                                                                               dtype=np.float32)
        y = rng.integers(0, 10, EPOCH)
        source = "random images with MNIST's 19 % ink (MNIST not found)"

    info = machine()
    pk = peaks()
    lines = ["## DRN training speed (batch 4)", ""]
    lines += ["Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()), ""]
    lines += [f"Measured peak: float32 matmul {pk['matmul_gflops']:.1f} GFLOP/s "
              f"(2048^3, numpy BLAS); copy {pk['copy_gbs_dram']:.1f} GB/s for 512 MiB (DRAM), "
              f"{pk['copy_gbs_l3']:.1f} GB/s for 6 MiB (L3-resident), read + write bytes.", ""]
    lines += [f"Data: {source}. Epoch times extrapolate the timed batches to {EPOCH:,} examples: "
              f"the median of {args.segments} segments, then (in brackets) the fastest; "
              "examples/s and the throughput columns use the median.", ""]
    lines += ["| preset | alg. | threads | batches timed | examples/s | s / epoch (fastest) "
              "| GFLOP/s | GB/s | % matmul peak | % copy peak | memory floor s / epoch "
              "| x floor | one-read floor | x one-read | speed-up |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in args.presets.split(","):
        for alg in args.algorithms.split(","):
            nb = max(2, int(BATCHES[name][0 if alg == "ep" else 1] * args.scale))
            timed = time_preset(name, alg, x, y, nb, threads, args.segments)
            flops, bytes_ = counts(PRESETS[name], alg)
            bytes_once = counts(PRESETS[name], alg, reads_per_iteration=1)[1]
            wbytes = 4 * sum(a * b for a, b in zip(PRESETS[name].layer_sizes[:-1],
                                                    PRESETS[name].layer_sizes[1:]))
            bw = pk["copy_gbs_l3"] if wbytes <= 24 * 2**20 else pk["copy_gbs_dram"]
            floor = bytes_ / (bw * 1e9) * EPOCH / B
            floor_once = bytes_once / (bw * 1e9) * EPOCH / B
            first = timed[threads[0]][0]
            for t, (per_batch, fast_batch) in timed.items():
                epoch = per_batch * EPOCH / B
                gf, gb = flops / per_batch / 1e9, bytes_ / per_batch / 1e9
                row = (f"| {name} | {alg.upper()} | {t or 'all'} | {nb} | {B / per_batch:,.0f} | "
                       f"{epoch:,.1f} ({fast_batch * EPOCH / B:,.1f}) | "
                       f"{gf:.1f} | {gb:.1f} | "
                       f"{100 * gf / pk['matmul_gflops']:.0f} | {100 * gb / bw:.0f} | {floor:,.1f} "
                       f"| {epoch / floor:.1f} | {floor_once:,.1f} | {epoch / floor_once:.1f} "
                       f"| {first / per_batch:.2f}x |")
                lines.append(row)
                print(row, flush=True)
    fused, blas = fused_vs_blas(x)
    lines += ["", f"drn-1h input weights (1568 x 1024), one batch: fused numba pass "
              f"(update + clip + column sums + next product) {fused * 1e6:.0f} us; "
              f"numpy/BLAS sequence {blas * 1e6:.0f} us ({blas / fused:.1f}x slower).", ""]
    lines += ["GFLOP/s count dense-equivalent operations (the kernels skip MNIST's dark pixels, "
              "so they do fewer); GB/s count each weight matrix read once per product and "
              "written once per update; the floor is that traffic at the copy bandwidth of an "
              "array the size of the weights (L3 below 24 MiB of weights, DRAM above).", ""]
    text = "\n".join(lines)
    Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
