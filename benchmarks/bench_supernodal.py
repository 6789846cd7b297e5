"""Supernodal against up-looking Cholesky on the polish's own matrices, and the switch between them.

For each network, one cold `solve` records the equality-QP matrices its polish
factorises (resistors, merged forest, pivot order). Each is then factorised
by both kernels, alternating, ``--repeats`` times (CPU medians, summed over the
solve's factorisations); one triangular solve each is timed the same way.
Then whole cold solves with the switch forced each way (``SUPERNODAL_MIN_FLOPS``
0 or infinite), alternating. The predicted multiply-adds are what the
switch reads (``config.SUPERNODAL_MIN_FLOPS``).

BLAS runs on one thread (the supernodal kernel holds it there itself) and the
kernels above on one numba thread. A second table times the supernodal
factorisations of ``--thread-cases`` on 1 and on 2 numba threads (wall
clock, alternating) and checks that both give the same factor, bit for bit.

Run:  nice python benchmarks/bench_supernodal.py [--cases grid:100 grid:316 random:10000 ...]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys


for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy loads: Clarabel and up-looking run on one thread too

import importlib  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import describe  # noqa: E402
from solver import solve  # noqa: E402
from solver.circuits.generators import grid_network, random_network  # noqa: E402
from solver.core._cholesky import CholeskyFactor  # noqa: E402
from solver.core._supernodal import SupernodalFactor  # noqa: E402

solve_module = importlib.import_module("solver.core.solve")

DEFAULT_CASES = ["grid:32", "grid:100", "grid:150", "grid:224", "grid:316", "random:10000", "random:100000"]


def build(case):
    family, size = case.split(":")
    size = int(size)
    if family == "grid":
        return grid_network(size, size, seed=0), size * size
    if family == "random":
        return random_network(size, seed=0), size
    raise SystemExit(f"unknown family {family!r} in --cases (grid:SIDE or random:NODES)")


def recorded_matrices(net):
    """The (n, tree, ri, rj, rg, perm) of every factorisation of one cold solve, and the predicted flops."""
    records = []
    originals = {cls: cls.from_resistors.__func__ for cls in (CholeskyFactor, SupernodalFactor)}

    def recorder(original):
        def record(cls, n, tree, ri, rj, rg, perm):
            records.append((n, tree.copy(), ri, rj, rg.copy(), np.array(perm)))
            return original(cls, n, tree, ri, rj, rg, perm)
        return classmethod(record)

    flops = {}
    original_rank = solve_module._slot_rank

    def rank(s, cn, unmerged=None):
        out = original_rank(s, cn, unmerged)
        flops["dense"] = out[1]
        return out

    try:
        for cls, original in originals.items():
            cls.from_resistors = recorder(original)
        solve_module._slot_rank = rank
        solve(net)
    finally:
        for cls, original in originals.items():
            cls.from_resistors = classmethod(original)
        solve_module._slot_rank = original_rank
    return records, flops.get("dense")


def predicted_flops(n, tree, ri, rj, rg, perm):
    return float(np.sum(CholeskyFactor.from_resistors(n, tree, ri, rj, rg, perm).column_counts().astype(float) ** 2))


def cpu(fn, *args):
    start = time.process_time()
    out = fn(*args)
    return time.process_time() - start, out


def compare_factorisations(records, repeats):
    for args in records[:1]:  # first calls: kernels from numba's cache, BLAS's thread controller
        CholeskyFactor.from_resistors(*args).solve(np.zeros(args[0]))
        SupernodalFactor.from_resistors(*args, 1).solve(np.zeros(args[0]))
    up, sn, up_solve, sn_solve = [], [], [], []
    for _ in range(repeats):
        totals = [0.0, 0.0, 0.0, 0.0]
        for args in records:
            t, c = cpu(CholeskyFactor.from_resistors, *args)
            totals[0] += t
            t, f = cpu(SupernodalFactor.from_resistors, *args, 1)
            totals[1] += t
            b = np.random.default_rng(0).standard_normal(args[0])
            totals[2] += cpu(c.solve, b)[0]
            totals[3] += cpu(f.solve, b)[0]
        up.append(totals[0])
        sn.append(totals[1])
        up_solve.append(totals[2])
        sn_solve.append(totals[3])
    return [statistics.median(x) * 1e3 for x in (up, sn, up_solve, sn_solve)]


def compare_threads(records, repeats):
    """Wall seconds of the solve's supernodal factorisations on 1 and 2 threads, and whether they agree."""
    walls = {1: [], 2: []}
    same = True
    for _ in range(repeats):
        factors = {}
        for threads in walls:
            start = time.perf_counter()
            factors[threads] = [SupernodalFactor.from_resistors(*args, threads) for args in records]
            walls[threads].append(time.perf_counter() - start)
        same &= all(np.array_equal(a.Lx, b.Lx) for a, b in zip(factors[1], factors[2]))
    return statistics.median(walls[1]), statistics.median(walls[2]), same


def compare_solves(net, repeats):
    times = {0.0: [], float("inf"): []}
    certified = True
    original = solve_module.SUPERNODAL_MIN_FLOPS
    try:
        for _ in range(repeats):
            for threshold in times:
                solve_module.SUPERNODAL_MIN_FLOPS = threshold
                fresh = net.copy()
                t, sol = cpu(solve, fresh)
                times[threshold].append(t)
                certified &= bool(sol.converged)
    finally:
        solve_module.SUPERNODAL_MIN_FLOPS = original
    return statistics.median(times[float("inf")]) * 1e3, statistics.median(times[0.0]) * 1e3, certified


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--thread-cases", nargs="*", default=["grid:316", "grid:1000"])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results_supernodal.md"))
    args = parser.parse_args()
    machine = describe()
    previous_threads = numba.get_num_threads()
    numba.set_num_threads(1)  # the kernels' comparison and the cold solves on one thread
    rows = []
    for case in args.cases:
        net, nodes = build(case)
        solve(net.copy())  # compile the kernels and warm the caches
        records, dense = recorded_matrices(net.copy())
        flops = predicted_flops(*records[0])
        up, sn, up_solve, sn_solve = compare_factorisations(records, args.repeats)
        cold_up, cold_sn, certified = compare_solves(net, args.repeats)
        row = (f"| {case.split(':')[0]} | {nodes} | {flops:.2e} | {'supernodal' if dense else 'up-looking'} | "
               f"{len(records)} | {up:.1f} | {sn:.1f} | {up / sn:.2f}x | {up_solve:.2f} / {sn_solve:.2f} | "
               f"{cold_up:.1f} | {cold_sn:.1f} | {cold_up / cold_sn:.2f}x | {certified} |")
        print(row, flush=True)
        rows.append(row)
    numba.set_num_threads(previous_threads)
    thread_rows = []
    for case in args.thread_cases if previous_threads >= 2 else []:
        net, nodes = build(case)
        records, _ = recorded_matrices(net)
        SupernodalFactor.from_resistors(*records[-1], 2)  # compile the threaded kernels
        one, two, same = compare_threads(records, max(1, args.repeats // 2))
        row = f"| {case.split(':')[0]} | {nodes} | {len(records)} | {one:.2f} | {two:.2f} | {one / two:.2f}x | {same} |"
        print(row, flush=True)
        thread_rows.append(row)
    text = [
        "# Supernodal against up-looking Cholesky (issue 14)",
        "",
        f"Machine: {machine}. BLAS and numba on one thread. CPU medians of {args.repeats} alternating runs.",
        "",
        "Predicted multiply-adds: the sum of squared column counts of the first factorisation (the",
        "diode-free start); the switch (`config.SUPERNODAL_MIN_FLOPS` = "
        f"{solve_module.SUPERNODAL_MIN_FLOPS:.0e}) reads the same number for the unmerged matrix.",
        "Factorisations: all of one cold solve's equality QPs, each factorised by both kernels (summed).",
        "Cold solves with the switch forced each way; on networks that minimum degree orders (the random ones) the",
        "switch is never consulted, so both cold-solve columns there run up-looking.",
        "",
        "| network | nodes | predicted multiply-adds | switch picks | factorisations | up-looking (ms) | supernodal (ms) | "
        "speed-up | one solve each, up / super (ms) | cold solve, up-looking (ms) | cold solve, supernodal (ms) | "
        "speed-up | certified |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Numba threads (wall clock, medians of alternating runs; every supernodal factorisation of one cold",
        "solve, summed; BLAS on one thread in both):",
        "",
        "| network | nodes | factorisations | 1 thread (s) | 2 threads (s) | speed-up | same factor, bit for bit |",
        "|---|---|---|---|---|---|---|",
        *(thread_rows or ["| (not run: fewer than 2 threads) | | | | | | |"]),
        "",
    ]
    pathlib.Path(args.out).write_text("\n".join(text))


if __name__ == "__main__":
    main()
