"""A/B of the polish's bordered solves and of the sweeps before it, in one process, interleaved.

Cold solves of the same network (CPU time, ``time.process_time``) with the
bordered working-set solves on or off (``config.BORDER_MIN_FACTOR``) and 4 or
16 coordinate-descent sweeps before the polish; the variants alternate, so a
change in the machine's load hits them alike. Every solve must be certified.

Run:  nice python benchmarks/bench_border.py [--networks random:10000 grid:100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from solver import solve  # noqa: E402
from solver.circuits.generators import grid_network, random_network  # noqa: E402

solve_module = importlib.import_module("solver.core.solve")

NEVER = 2**62  # a factor size no network reaches: borders off
VARIANTS = {
    "old (no borders, 16 sweeps)": (NEVER, 16),
    "borders only": (solve_module.BORDER_MIN_FACTOR, 16),
    "4 sweeps only": (NEVER, 4),
    "both (default)": (solve_module.BORDER_MIN_FACTOR, 4),
}


def make(spec):
    family, _, n = spec.partition(":")
    if family == "random":
        return random_network(int(n), seed=0)
    side = int(round(int(n) ** 0.5))
    return grid_network(side, side, seed=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=["random:10000", "grid:10000", "random:100000",
                                                          "grid:100000"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for spec in args.networks:
        net = make(spec)
        solve(net.copy(), trace=False)  # kernels loaded outside the timing
        times = {name: [] for name in VARIANTS}
        for _ in range(args.repeats):
            for name, (min_factor, sweeps) in VARIANTS.items():
                solve_module.BORDER_MIN_FACTOR = min_factor
                fresh = net.copy()
                start = time.process_time()
                sol = solve(fresh, trace=False, cd_sweeps=sweeps)
                times[name].append(time.process_time() - start)
                assert sol.converged, f"{spec} {name}: not certified"
        print(f"{spec}: " + ", ".join(f"{name} {1e3 * statistics.median(t):.0f} ms"
                                      for name, t in times.items()) + f" (CPU medians of {args.repeats})",
              flush=True)


if __name__ == "__main__":
    main()
