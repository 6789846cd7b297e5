"""Exact DC sweeps (``solver.sweep``): cost per breakpoint, and against ngspice's sampled ``.dc``.

Run ``python benchmarks/bench_sweep.py`` (a few minutes; ``--quick`` for a
smoke run without the 1e4-node network and DRN-XS). It prints a Markdown
report and writes it to ``benchmarks/results_sweep.md``.

For every circuit, one voltage source is swept over a range (cut to where the
network stays feasible):

* ``sweep``: median wall time of the exact sweep, its breakpoints ``k``, its
  exact re-solves and incremental-network solves;
* warm re-solve: median time of ``solve(net, warm_start=previous)`` after
  moving the same source by a small step (the unit the target counts in);
  ratio ``sweep / ((k + 1) * warm re-solve)``;
* ngspice: ``.dc`` of the same source over the same range with 1,000 points
  on the same deck (``ngspice -b``, the steep near-ideal diode), wall time,
  against ``sweep`` plus reading the exact curve at the same 1,000 points;
  the largest node-voltage deviation overall and within two sample steps of
  a breakpoint (the knees), and the diode-model bound (sum of ngspice's
  forward drops at the worst point, see ``solver/circuits/spice.py``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_spice import drn_xs, machine  # noqa: E402

from solver import SweepInfeasibleError, solve, sweep  # noqa: E402
from solver.circuits.generators import random_network  # noqa: E402
from solver.circuits.spice import NgspiceError, ngspice_available  # noqa: E402
from solver.circuits.spice_sweep import ngspice_dc_deck, run_ngspice_dc  # noqa: E402

POINTS = 1000


def median_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def feasible_range(net, source, start, stop):
    """[start, stop] cut to where the network has a steady state (going out from start)."""
    try:
        return start, sweep(net, source, start, stop).stop
    except SweepInfeasibleError as e:
        return start, e.value


def median_warm_resolve(net, source, first, values):
    """Solve at ``first``, then the median time of warm re-solves moving the source through ``values``."""
    work = net.copy()
    work.set_value(source, first)
    sol = solve(work)
    times = []
    for x in values:
        work.set_value(source, x)
        t0 = time.perf_counter()
        sol = solve(work, warm_start=sol)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def warm_resolve_time(net, source, x, step, repeats):
    """Warm re-solves after small moves of the source around ``x`` (the conducting set stays)."""
    return median_warm_resolve(net, source, x, [x + step * ((k % 2) * 2 - 1) for k in range(repeats)])


def crossing_resolve_time(net, source, s, rounds=3):
    """Median warm re-solve from the middle of one segment to the middle of the next (one breakpoint crossed).

    Goes along the segments and back ``rounds`` times, so that even one breakpoint gives several samples.
    """
    mids = [0.5 * (seg.start + seg.stop) for seg in s.segments]
    if len(mids) < 2:
        return float("nan")
    return median_warm_resolve(net, source, mids[0], (mids[1:] + mids[-2::-1]) * rounds)


def against_ngspice(net, source, start, stop, s, t_sweep, points):
    step = (stop - start) / (points - 1)
    deck = ngspice_dc_deck(net, source, start, stop, step)
    try:
        theirs = run_ngspice_dc(deck, timeout=600)
    except NgspiceError as e:
        return {"error": str(e).splitlines()[0]}
    x = theirs.sweep_values
    t0 = time.perf_counter()
    exact = s.voltages(np.clip(x, min(start, stop), max(start, stop)))
    t_eval = time.perf_counter() - t0
    gaps = np.zeros(x.size)
    for k, node in enumerate(s.nodes):
        if node == "0":
            continue
        gaps = np.maximum(gaps, np.abs(theirs.vectors[f"v({str(node).lower()})"] - exact[:, k]))
    near = np.zeros(x.size, dtype=bool)
    for b in s.breakpoints:
        near |= np.abs(x - b.value) <= 2 * abs(step)
    worst = int(np.argmax(gaps))
    volts = {node: (np.zeros(x.size) if node == "0" else theirs.vectors[f"v({str(node).lower()})"])
             for node in s.nodes}
    forward = sum(np.maximum(volts[d.p][worst] - volts[d.n][worst] - d.value, 0.0)
                  for d in net.elements("diode"))
    return {"wall": theirs.wall, "ours": t_sweep + t_eval, "max": float(gaps.max()),
            "knees": float(gaps[near].max()) if near.any() else float("nan"),
            "bound": float(forward + 1e-6 * np.max(np.abs(exact[worst]))), "points": x.size}


def bench(name, net, source, span, repeats, points=POINTS):
    value = net.element(source).value
    start, stop = feasible_range(net, source, value - span, value + span)
    lo, _ = feasible_range(net, source, value, value - span)
    start = min(start, stop, lo)
    stop = max(value, stop)
    sweep(net, source, start, start + 1e-3 * (stop - start))  # JIT and caches
    t_sweep, s = median_time(lambda: sweep(net, source, start, stop), repeats)
    k = len(s.breakpoints)
    t_warm = warm_resolve_time(net, source, 0.5 * (start + stop), 1e-3 * (stop - start), max(5, repeats * 3))
    t_cross = crossing_resolve_time(net, source, s)
    row = {"name": name, "nodes": len(net.nodes), "diodes": len(net.elements("diode")), "range": (start, stop),
           "k": k, "solves": s.solves, "direction": s.direction_solves, "sweep": t_sweep, "warm": t_warm,
           "cross": t_cross, "ratio": t_sweep / ((k + 1) * t_warm), "ratio_cross": t_sweep / ((k + 1) * t_cross),
           "repeats": repeats, "points": points}
    if points and ngspice_available():
        row["spice"] = against_ngspice(net, source, start, stop, s, t_sweep, points)
    return row


def report(rows, quick):
    lines, env = machine()
    out = ["# Exact sweeps against warm re-solves and ngspice's `.dc` (benchmarks/bench_sweep.py)", "",
           "Machine:", ""] + [f"    {ln}" for ln in lines] + ["", env, ""]
    out += ["Cost of an exact sweep: median wall time of `sweep` (k breakpoints) against (k + 1) warm "
            "re-solves (`solve(warm_start=...)`, medians) of two kinds: after a small move of the same source "
            "(same conducting set: the previous factorisation is reused), and from the middle of one segment to "
            "the middle of the next (one breakpoint crossed: a new factorisation). Each breakpoint of the sweep "
            "costs the incremental network's equality solve(s) (a new factorisation) and one exact warm re-solve "
            "at its end (reusing it).", "",
            "| circuit | nodes | diodes | swept range (V) | k | re-solves / incremental solves | sweep (s) | "
            "warm re-solve, small move (s) | warm re-solve, across a breakpoint (s) | sweep / ((k+1) small) | "
            "sweep / ((k+1) across) | runs |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['name']} | {r['nodes']} | {r['diodes']} | {r['range'][0]:.3g} to {r['range'][1]:.3g} | "
                   f"{r['k']} | {r['solves']} / {r['direction']} | {r['sweep']:.4g} | {r['warm']:.3g} | "
                   f"{r['cross']:.3g} | {r['ratio']:.2f} | {r['ratio_cross']:.2f} | {r['repeats']} |")
    spice_rows = [r for r in rows if "spice" in r]
    if spice_rows:
        out += ["", "Against ngspice `.dc` on the same deck and range (1,000 points; fewer where 1,000 would not "
                "finish in reasonable time on this shared machine, see the points column): ngspice's wall time "
                "against `sweep` plus reading the exact curve at its points; the largest node-voltage deviation "
                "overall, within two steps of a breakpoint (the knees), and the diode-model bound at the worst "
                "point (sum of ngspice's forward drops + 1e-6 relative).", "",
                "| circuit | points | ngspice .dc (s) | sweep + read (s) | ngspice / ours | max deviation (V) | "
                "at the knees (V) | bound at worst point (V) |", "|---|---|---|---|---|---|---|---|"]
        for r in spice_rows:
            sp = r["spice"]
            if "error" in sp:
                out.append(f"| {r['name']} | {r['points']} | failed: {sp['error']} | | | | | |")
                continue
            out.append(f"| {r['name']} | {sp['points']} | {sp['wall']:.3g} | {sp['ours']:.3g} | "
                       f"{sp['wall'] / sp['ours']:.0f}x | "
                       f"{sp['max']:.2e} | {sp['knees']:.2e} | {sp['bound']:.2e} |")
    if quick:
        out += ["", "(--quick run: no 1e4-node network, no DRN-XS.)"]
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cases = [("random, 1e2 nodes", random_network(100, seed=1), 2.0, 7, POINTS),
             ("random, 1e3 nodes", random_network(1000, seed=1), 2.0, 5, POINTS)]
    if not args.quick:
        # ngspice's .dc of these takes minutes per hundred points here: 1,000 did not finish in 15 min
        cases.append(("random, 1e4 nodes", random_network(10_000, seed=1), 1.0, 3, 50))
    rows = []
    for name, net, span, repeats, points in cases:
        source = net.elements("vsource")[0].name
        rows.append(bench(name, net, source, span, repeats, points))
        print(rows[-1], flush=True)
    if not args.quick:
        net, pixels = drn_xs()
        # one input pixel's source (its negative stays): hidden diodes switch as it swings
        rows.append(bench(f"DRN-XS ({pixels}), along pixel 0", net, "Vx0", 200.0, 3, 50))
        print(rows[-1], flush=True)
    text = report(rows, args.quick)
    print(text)
    if not args.quick:
        (HERE / "results_sweep.md").write_text(text)


if __name__ == "__main__":
    main()
