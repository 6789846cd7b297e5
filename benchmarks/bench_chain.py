"""Long chains of conducting diodes: the active-set polish against Clarabel, same run.

A chain of n ideal diodes in series between free nodes (``tests.hostile_networks.diode_chain``:
every diode conducts) is the worst case of a polish that adds one diode per
active-set iteration. Reports, per n: our cold solve (median of repeats,
compile included, a fresh network each time), its active-set iterations and
stage times, whether it is certified, Clarabel on the same QP (setup + solve)
and the largest voltage difference between the two.

Run:  nice python benchmarks/bench_chain.py [--sizes 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_solver import clarabel_run  # noqa: E402
from benchmarks.machine import describe  # noqa: E402
from solver import solve  # noqa: E402
from tests.hostile_networks import diode_chain  # noqa: E402
from tests.reference import clarabel_qp  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    args = parser.parse_args(argv)
    solve(diode_chain(10))  # numba compilation / cache load, not timed
    print(describe())
    print()
    print("| diodes | ours (s) | iterations | compile / polish / certificate (s) | certified | Clarabel (s) | ratio | max dv (V) |")
    print("|---:|---:|---:|---|---|---:|---:|---:|")
    for n in args.sizes:
        repeats = 3 if n <= 10_000 else 1
        times, sol = [], None
        for _ in range(repeats):
            net = diode_chain(n)
            t = time.perf_counter()
            sol = solve(net)
            times.append(time.perf_counter() - t)
        ours = statistics.median(times)
        reference = diode_chain(n)
        v_clarabel, _, theirs, _ = clarabel_run(reference, clarabel_qp(reference))
        dv = float(np.max(np.abs(sol.node_voltages - v_clarabel)))
        t = sol.timings
        print(f"| {n:,} | {ours:.3f} | {sol.active_set_iterations} | "
              f"{t['compile']:.3f} / {t['polish']:.3f} / {t['certificate']:.3f} | {sol.converged} | "
              f"{theirs:.3f} | {theirs / ours:.1f}x | {dv:.1e} |", flush=True)


if __name__ == "__main__":
    main()
