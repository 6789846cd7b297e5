"""Supernodal against up-looking Cholesky on the polish's own matrices, and the switch between them.

For each network, one cold `solve` records the equality-QP matrices its polish
factorises (resistors, merged forest, pivot order). Each is then factorised
by both kernels, alternating, ``--repeats`` times (CPU medians, summed over the
solve's factorisations); one triangular solve each is timed the same way.
Then whole cold solves with the switch forced each way (``SUPERNODAL_MIN_FLOPS``
0 or infinite), alternating. The predicted multiply-adds are what the
switch reads (``config.SUPERNODAL_MIN_FLOPS``).

BLAS runs on ``--blas-threads`` threads (default 1, as Clarabel in
``bench_solver.py``: set before numpy loads).

Run:  nice python benchmarks/bench_supernodal.py [--cases grid:100 grid:316 random:10000 ...]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys


def _blas_threads_from_argv():
    for k, arg in enumerate(sys.argv):
        if arg == "--blas-threads" and k + 1 < len(sys.argv):
            return sys.argv[k + 1]
        if arg.startswith("--blas-threads="):
            return arg.split("=", 1)[1]
    return "1"


for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _blas_threads_from_argv()

import importlib  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

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
    up, sn, up_solve, sn_solve = [], [], [], []
    for _ in range(repeats):
        totals = [0.0, 0.0, 0.0, 0.0]
        for args in records:
            t, c = cpu(CholeskyFactor.from_resistors, *args)
            totals[0] += t
            t, f = cpu(SupernodalFactor.from_resistors, *args)
            totals[1] += t
            b = np.random.default_rng(0).standard_normal(args[0])
            totals[2] += cpu(c.solve, b)[0]
            totals[3] += cpu(f.solve, b)[0]
        up.append(totals[0])
        sn.append(totals[1])
        up_solve.append(totals[2])
        sn_solve.append(totals[3])
    return [statistics.median(x) * 1e3 for x in (up, sn, up_solve, sn_solve)]


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
    parser.add_argument("--blas-threads", default="1")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results_supernodal.md"))
    args = parser.parse_args()
    machine = describe()
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
    text = [
        "# Supernodal against up-looking Cholesky (issue 14)",
        "",
        f"Machine: {machine}. BLAS threads: {args.blas_threads}. CPU medians of {args.repeats} alternating runs.",
        "",
        "Predicted multiply-adds: the sum of squared column counts of the first factorisation (the",
        "diode-free start); the switch (`config.SUPERNODAL_MIN_FLOPS` = "
        f"{solve_module.SUPERNODAL_MIN_FLOPS:.0e}) reads the same number for the unmerged matrix.",
        "Factorisations: all of one cold solve's equality QPs, each factorised by both kernels (summed).",
        "",
        "| network | nodes | predicted multiply-adds | switch picks | factorisations | up-looking (ms) | supernodal (ms) | "
        "speed-up | one solve each, up / super (ms) | cold solve, up-looking (ms) | cold solve, supernodal (ms) | "
        "speed-up | certified |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    pathlib.Path(args.out).write_text("\n".join(text))


if __name__ == "__main__":
    main()
