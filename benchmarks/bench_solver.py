"""Solve time of `solver.solve` against Clarabel on the same QP, same machine, same run.

For random sparse (tree-like) networks and 2-D grids with diodes at 1e2..1e5
nodes it reports, as medians of repeated runs:

* our cold solve (compile included, fresh copy of the network each time);
* Clarabel through its own API (setup + solve, the QP built beforehand);
* a warm re-solve after changing one resistor (`warm_start=previous`);
* agreement: max |v_ours - v_clarabel|, and both answers' KKT residuals
  measured by the same certificate (`solver.kkt_certificate`).

Wall-clock and CPU time (``time.process_time``) are both reported: on a shared
machine the wall clock mostly measures the other processes, and the speed-up
in CPU time is the steadier ratio.

``--large FAMILY:NODES`` networks (e.g. grid:1000000) get one cold solve each in a fresh
subprocess, without Clarabel (its interior-point solve of a 1e5-node grid
already takes tens of seconds), and report the process's peak memory
(``resource.getrusage`` max RSS) before and after the solve.

Run:  nice python benchmarks/bench_solver.py [--sizes 100 1000 10000 100000] [--large grid:1000000 random:300000]
      [--out benchmarks/results_solver.md]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import resource
import subprocess
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


def _clock():
    return time.perf_counter(), time.process_time()


def _since(start):
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def clarabel_run(net, qp):
    """Clarabel on the prepared QP; returns (node voltages, currents per kind, seconds)."""
    import clarabel

    nodes, P, q, A, b, cones = qp
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    for name in ("tol_gap_abs", "tol_gap_rel", "tol_feas"):
        setattr(settings, name, 1e-10)
    start = _clock()
    result = clarabel.DefaultSolver(P, q, A, b, cones, settings).solve()
    seconds = _since(start)
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
        start = _clock()
        sol = solve(fresh, trace=False)
        cold.append(_since(start))
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
    ours_wall, ours_cpu = [c[0] for c in cold], [c[1] for c in cold]
    clar_wall, clar_cpu = [c[0] for c in clar_times], [c[1] for c in clar_times]
    return {
        "family": family, "nodes": len(net.nodes), "diodes": len(net.elements("diode")),
        "active": len(sol.active_diodes), "ours_ms": 1e3 * statistics.median(ours_wall),
        "clarabel_ms": 1e3 * statistics.median(clar_wall), "clarabel_status": status,
        "ours_best_ms": 1e3 * min(ours_wall), "clarabel_best_ms": 1e3 * min(clar_wall),
        "speedup": statistics.median(clar_wall) / statistics.median(ours_wall),
        "ours_cpu_ms": 1e3 * statistics.median(ours_cpu), "clarabel_cpu_ms": 1e3 * statistics.median(clar_cpu),
        "speedup_cpu": statistics.median(clar_cpu) / statistics.median(ours_cpu),
        "warm_ms": 1e3 * statistics.median(warm_times), "iterations": sol.active_set_iterations,
        "sweeps": sol.sweeps, "diff": diff, "ours_kkt": relative_residuals(ours),
        "clarabel_kkt": relative_residuals(theirs), "warm_kkt": max(warm_checks), "warm_diff": warm_diff,
        "stages": {k: 1e3 * v for k, v in sol.timings.items()}, "repeats": repeats,
    }


def table(rows):
    lines = [
        "| network | nodes | diodes (conducting) | ours cold, median / best (ms) | Clarabel, median / best (ms) "
        "| speed-up (wall medians) | CPU ours / Clarabel (ms) | speed-up (CPU) | warm re-solve (ms) | polish solves "
        "| max abs(v - v_Clarabel) (V) | KKT ours | KKT Clarabel | warm KKT / diff vs cold |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['family']} | {r['nodes']} | {r['diodes']} ({r['active']}) | {r['ours_ms']:.2f} / {r['ours_best_ms']:.2f} | "
            f"{r['clarabel_ms']:.2f} / {r['clarabel_best_ms']:.2f} | {r['speedup']:.2f}x | "
            f"{r['ours_cpu_ms']:.1f} / {r['clarabel_cpu_ms']:.1f} | {r['speedup_cpu']:.2f}x | {r['warm_ms']:.3f} | {r['iterations']} | "
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


def large_child(family, n):
    """One cold solve of a large network in this (fresh) process; prints a JSON line."""
    solve(make(family, 100), trace=False)  # load the kernels from numba's cache outside the timing
    start = _clock()
    net = make(family, n)
    build = _since(start)
    rss_built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"built in {build[0]:.1f} s, peak {rss_built / 1024:.0f} MiB", flush=True)  # kept if the solve times out
    start = _clock()
    sol = solve(net, trace=False)
    seconds = _since(start)
    rss_solved = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "family": family, "nodes": len(net.nodes), "elements": len(net),
        "diodes": len(net.arrays()["diode"][3]), "active": len(sol.active_diodes),  # no per-element objects
        "build_s": build[0], "solve_s": seconds[0], "solve_cpu_s": seconds[1],
        "peak_built_mib": rss_built / 1024, "peak_mib": rss_solved / 1024,
        "converged": sol.converged, "kkt": sol.kkt.worst_relative_residual(),
        "iterations": sol.active_set_iterations, "stages": {k: v for k, v in sol.timings.items()},
    }))


def large_run(family, n, timeout):
    """large_child in a subprocess (its own peak memory), or why it did not finish."""
    try:
        out = subprocess.run([sys.executable, __file__, "--child", family, str(n)], capture_output=True,
                             text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired as error:
        progress = error.stdout.decode() if isinstance(error.stdout, bytes) else (error.stdout or "")
        built = progress.strip().splitlines()[-1] if progress.strip() else "network not built yet"
        return {"family": family, "nodes": n,
                "failed": f"did not finish within {timeout:.0f} s of wall time (build + solve; {built})"}
    if out.returncode != 0:
        return {"family": family, "nodes": n, "failed": out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def large_table(rows):
    lines = ["| network | nodes | elements | diodes (conducting) | build (s) | cold solve wall / CPU (s) "
             "| compile / sweeps / polish / certificate (s) | polish solves | peak memory after build / after solve (MiB) "
             "| certified (KKT) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['family']} | {r['nodes']} | | | | {r['failed']} | | | | |")
            continue
        st = r["stages"]
        lines.append(
            f"| {r['family']} | {r['nodes']} | {r['elements']} | {r['diodes']} ({r['active']}) | {r['build_s']:.1f} | "
            f"{r['solve_s']:.2f} / {r['solve_cpu_s']:.2f} | {st['compile']:.2f} / {st['sweeps']:.2f} / "
            f"{st['polish'] + st['warm_guess']:.2f} / {st['certificate']:.2f} | {r['iterations']} | "
            f"{r['peak_built_mib']:.0f} / {r['peak_mib']:.0f} | {r['converged']} ({r['kkt']:.1e}) |")
    return "\n".join(lines)


def targets(rows, large):
    """Status of issue 14's speed targets, as measured in this run (wall and CPU medians)."""

    def status(ok):
        return "met" if ok else "NOT met"

    lines = []
    big = [r for r in rows if r["nodes"] >= 9_000]
    if big:
        worst = min(big, key=lambda r: r["speedup_cpu"])
        ok = all(r["speedup"] >= 10 and r["speedup_cpu"] >= 10 for r in big)
        lines.append(f"- Cold solve >= 10x faster than Clarabel at 1e4 and 1e5 nodes: {status(ok)} "
                     f"(lowest: {worst['family']} {worst['nodes']}, {worst['speedup']:.2f}x wall, "
                     f"{worst['speedup_cpu']:.2f}x CPU).")
    if rows:
        worst = min(rows, key=lambda r: min(r["speedup"], r["speedup_cpu"]))
        ok = all(r["speedup"] >= 1 and r["speedup_cpu"] >= 1 for r in rows)
        lines.append(f"- Never slower than Clarabel from 1e2 nodes up: {status(ok)} "
                     f"(lowest: {worst['family']} {worst['nodes']}, {worst['speedup']:.2f}x wall, "
                     f"{worst['speedup_cpu']:.2f}x CPU).")
    for r in large:
        if r["family"] != "grid":
            continue
        if "failed" in r:
            lines.append(f"- 1e6-node grid with diodes cold in < 10 s and < 2 GiB, certified: NOT met ({r['failed']}).")
            continue
        ok = r["solve_s"] < 10 and r["peak_mib"] < 2048 and r["converged"]
        lines.append(f"- {r['nodes']}-node grid with diodes cold in < 10 s and < 2 GiB, certified: {status(ok)} "
                     f"({r['solve_s']:.1f} s wall, {r['solve_cpu_s']:.1f} s CPU, peak {r['peak_mib']:.0f} MiB "
                     f"of which {r['peak_built_mib']:.0f} MiB before the solve, certified: {r['converged']}).")
    if rows or large:
        kkts = [r["ours_kkt"] for r in rows] + [r["kkt"] for r in large if "failed" not in r]
        lines.append(f"- Certificates <= 1e-9: {status(max(kkts) <= 1e-9)} (largest {max(kkts):.1e}).")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10_000, 100_000])
    parser.add_argument("--families", nargs="+", default=["random", "grid"])
    parser.add_argument("--large", nargs="*", default=[], metavar="FAMILY:NODES",
                        help="networks solved once each in a subprocess, with peak memory, without Clarabel "
                             "(e.g. grid:1000000 random:300000)")
    parser.add_argument("--large-timeout", type=float, default=900.0)
    parser.add_argument("--child", nargs=2, metavar=("FAMILY", "NODES"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    if args.child:
        large_child(args.child[0], int(args.child[1]))
        return
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
    large = []
    for spec in args.large:
        family, _, n = spec.partition(":")
        if family not in ("grid", "random") or not n.isdigit():
            parser.error(f"--large takes FAMILY:NODES with FAMILY grid or random, got {spec!r}")
        print(f"{family} {n} (subprocess) ...", flush=True)
        large.append(large_run(family, int(n), args.large_timeout))
        print("  ", large[-1], flush=True)
    first_median, first_best = first_solve_seconds()
    text = (f"Machine: {machine}\n\nFirst solve in a fresh process (import + kernels from numba's disk cache + "
            f"solve of the stall example): median {first_median:.2f} s, best {first_best:.2f} s of 3.\n\nMedians of repeated runs (15 at 1e2, 7 at 1e3, 3 at 1e4, 1 at 1e5 nodes); "
            "warm re-solve: median over at least 5 single-resistor changes. KKT columns: the largest "
            "relative residual of the same certificate applied to each answer.\n\n"
            + table(rows) + "\n\nWhere the cold time goes:\n\n" + stages(rows) + "\n")
    text += "\nTargets of issue 14, as measured in this run:\n\n" + targets(rows, large) + "\n"
    if large:
        text += ("\nLarge networks: one cold solve each in a fresh process (network built there first; "
                 "Clarabel not run). Peak memory is the process's max RSS, network included.\n\n"
                 + large_table(large) + "\n")
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
