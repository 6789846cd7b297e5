"""Solve time of `solver.solve` against Clarabel on the same QP, same machine, same run.

For random sparse (tree-like) networks and 2-D grids with diodes at 1e2..1e5
nodes it reports, as medians of repeated runs:

* our cold solve (compile included, fresh copy of the network each time);
* Clarabel through its own API (setup + solve, the QP built beforehand);
* a warm re-solve after changing one resistor (`warm_start=previous`);
* agreement: max |v_ours - v_clarabel|, and both answers' KKT residuals
  measured by the same certificate (`solver.kkt_certificate`).

Run:  python benchmarks/bench_solver.py [--sizes 100 1000 10000 100000] [--out benchmarks/results_solver.md]
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

from benchmarks.machine import describe  # noqa: E402
from solver import kkt_certificate, solve  # noqa: E402
from solver.circuits.generators import grid_network, random_network  # noqa: E402
from tests.reference import clarabel_qp  # noqa: E402


def repeats_for(n):
    return 15 if n <= 100 else 7 if n <= 1000 else 3 if n <= 10_000 else 1


def make(family, n, seed=0):
    if family == "random":
        return random_network(n, seed=seed)
    side = int(round(n ** 0.5))
    return grid_network(side, side, seed=seed)


def clarabel_run(net, qp):
    """Clarabel on the prepared QP; returns (node voltages, currents per kind, seconds)."""
    import clarabel

    nodes, P, q, A, b, cones = qp
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    for name in ("tol_gap_abs", "tol_gap_rel", "tol_feas"):
        setattr(settings, name, 1e-10)
    t = time.perf_counter()
    result = clarabel.DefaultSolver(P, q, A, b, cones, settings).solve()
    seconds = time.perf_counter() - t
    index = {node: i for i, node in enumerate(nodes)}
    arrays = net.arrays()
    x = np.asarray(result.x)
    v = np.array([0.0 if node == "0" else x[index[node]] for node in arrays["nodes"]])
    z = np.asarray(result.z)
    n_vs = len(arrays["vsource"][3])
    return v, {"vsource": z[:n_vs], "diode": z[n_vs:]}, seconds, str(result.status)


def relative_residuals(cert):
    return cert.worst_relative_residual()


def bench_one(family, n, rng):
    net = make(family, n)
    repeats = repeats_for(n)
    solve(net.copy())  # compile kernels / warm caches outside the timing
    cold = []
    for _ in range(repeats):
        fresh = net.copy()
        t = time.perf_counter()
        sol = solve(fresh, trace=False)
        cold.append(time.perf_counter() - t)
    qp = clarabel_qp(net)
    clar_times, status = [], ""
    for _ in range(repeats):
        v_c, currents_c, seconds, status = clarabel_run(net, qp)
        clar_times.append(seconds)
    ours = kkt_certificate(net.arrays(), sol.node_voltages, sol.element_currents)
    theirs = kkt_certificate(net.arrays(), v_c, currents_c)
    diff = float(np.max(np.abs(sol.node_voltages - v_c)))

    # warm re-solve after changing one resistor, many different resistors
    warm_times, warm_checks = [], []
    previous = solve(net, trace=False)
    resistors = net.elements("resistor")
    for k in range(max(5, 3 * repeats)):
        r = resistors[int(rng.integers(len(resistors)))]
        net.set_value(r.name, r.value * float(rng.uniform(0.5, 2.0)))
        t = time.perf_counter()
        warm = solve(net, warm_start=previous, trace=False)
        warm_times.append(time.perf_counter() - t)
        warm_checks.append(relative_residuals(warm.kkt))
        previous = warm
    check = solve(net.copy(), trace=False)
    warm_diff = float(np.max(np.abs(check.node_voltages - previous.node_voltages)))
    return {
        "family": family, "nodes": len(net.nodes), "diodes": len(net.elements("diode")),
        "active": len(sol.active_diodes), "ours_ms": 1e3 * statistics.median(cold),
        "clarabel_ms": 1e3 * statistics.median(clar_times), "clarabel_status": status,
        "ours_best_ms": 1e3 * min(cold), "clarabel_best_ms": 1e3 * min(clar_times),
        "speedup": statistics.median(clar_times) / statistics.median(cold),
        "warm_ms": 1e3 * statistics.median(warm_times), "iterations": sol.active_set_iterations,
        "sweeps": sol.sweeps, "diff": diff, "ours_kkt": relative_residuals(ours),
        "clarabel_kkt": relative_residuals(theirs), "warm_kkt": max(warm_checks), "warm_diff": warm_diff,
        "stages": {k: 1e3 * v for k, v in sol.timings.items()}, "repeats": repeats,
    }


def table(rows):
    lines = [
        "| network | nodes | diodes (conducting) | ours cold, median / best (ms) | Clarabel, median / best (ms) "
        "| speed-up (medians) | warm re-solve (ms) | polish solves | max abs(v - v_Clarabel) (V) | KKT ours "
        "| KKT Clarabel | warm KKT / diff vs cold |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['family']} | {r['nodes']} | {r['diodes']} ({r['active']}) | {r['ours_ms']:.2f} / {r['ours_best_ms']:.2f} | "
            f"{r['clarabel_ms']:.2f} / {r['clarabel_best_ms']:.2f} | {r['speedup']:.2f}x | {r['warm_ms']:.3f} | {r['iterations']} | "
            f"{r['diff']:.1e} | {r['ours_kkt']:.1e} | {r['clarabel_kkt']:.1e} | "
            f"{r['warm_kkt']:.1e} / {r['warm_diff']:.1e} |"
        )
    return "\n".join(lines)


def stages(rows):
    lines = ["| network | nodes | compile | sweeps | polish | certificate (ms, last cold solve) |", "|---|---|---|---|---|---|"]
    for r in rows:
        s = r["stages"]
        lines.append(f"| {r['family']} | {r['nodes']} | {s['compile']:.1f} | {s['sweeps']:.1f} | "
                     f"{s['polish'] + s['warm_guess']:.1f} | {s['certificate']:.1f} |")
    return "\n".join(lines)


FIRST_SOLVE = """
import time
t = time.perf_counter()
from solver import Network, solve
net = Network()
net.add_voltage_source("s", "0", 1.0)
net.add_resistor("s", "a", 1.0)
net.add_resistor("b", "0", 1.0)
net.add_diode("a", "b")
assert abs(solve(net).voltages["a"] - 0.5) < 1e-12
print(time.perf_counter() - t)
"""


def first_solve_seconds(runs=3):
    """Import plus first solve in a fresh interpreter (numba kernels loaded from the disk cache)."""
    import subprocess

    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", FIRST_SOLVE], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times), min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10_000, 100_000])
    parser.add_argument("--families", nargs="+", default=["random", "grid"])
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    machine = describe()
    rng = np.random.default_rng(0)
    rows = []
    for n in args.sizes:
        for family in args.families:
            print(f"{family} {n} ...", flush=True)
            rows.append(bench_one(family, n, rng))
            r = rows[-1]
            print(f"  ours {r['ours_ms']:.1f} ms, Clarabel {r['clarabel_ms']:.1f} ms, warm {r['warm_ms']:.3f} ms, "
                  f"diff {r['diff']:.1e} V", flush=True)
    first_median, first_best = first_solve_seconds()
    text = (f"Machine: {machine}\n\nFirst solve in a fresh process (import + kernels from numba's disk cache + "
            f"solve of the stall example): median {first_median:.2f} s, best {first_best:.2f} s of 3.\n\nMedians of repeated runs (15 at 1e2, 7 at 1e3, 3 at 1e4, 1 at 1e5 nodes); "
            "warm re-solve: median over at least 5 single-resistor changes. KKT columns: the largest "
            "relative residual of the same certificate applied to each answer.\n\n"
            + table(rows) + "\n\nWhere the cold time goes:\n\n" + stages(rows) + "\n")
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
