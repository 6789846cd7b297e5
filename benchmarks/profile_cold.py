"""Where a cold `solve` spends its time, stage by stage (CPU seconds, one network per run).

Wraps the solver's internal steps with timers (compile, sweeps, fill-reducing
ordering, Cholesky factorisations, old-factor updates, triangular solves and refinement,
diode currents, certificate) and prints one table row per network: the
medians over ``--repeats`` cold solves of a fresh copy.

Run:  nice python benchmarks/profile_cold.py [--sizes 1000 10000 100000] [--families random grid]
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from solver import solve  # noqa: E402
from solver.circuits.generators import grid_network, random_network  # noqa: E402
import importlib  # noqa: E402

from solver.core import _cholesky, _supernodal  # noqa: E402

solve_module = importlib.import_module("solver.core.solve")

# (module, attribute, stage name): the wrapped callables; nested ones are subtracted from their callers
WRAPPED = [
    (solve_module, "compile_network", "compile"),
    (solve_module, "minimum_degree_order", "minimum degree"),
    (solve_module, "nested_dissection_order", "nested dissection"),
    (solve_module, "postordered", "postorder"),
    (solve_module, "merged_pivot_order", "merged order"),
    (_cholesky, "_cholesky", "factorise"),
    (_cholesky, "_cholesky_edges", "factorise"),  # the polish's factorisations, read from the resistors
    (_supernodal, "_permuted_upper_edges", "supernodal matrix"),
    (_supernodal, "_analyse", "supernodal analysis"),
    (_supernodal, "_factorise", "factorise"),  # supernodal numeric (grids)
    (solve_module, "_refine", "refine"),
    (solve_module, "_preconditioned_cg", "pcg"),
    (solve_module, "_certify", "certificate"),
    (solve_module, "BorderedSolver", "border"),  # every attempt, also those over budget
    (solve_module.K, "build_forest", "forest"),
    (solve_module.K, "assemble_reduced", "assemble"),
]
STATE_METHODS = [("sweep", "sweeps"), ("diode_currents", "diode currents")]


def instrument():
    totals = collections.defaultdict(float)
    counts = collections.Counter()
    stack = []

    def wrap(fn, name):
        def timed(*args, **kwargs):
            stack.append(0.0)
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.process_time() - start
                inner = stack.pop()
                totals[name] += spent - inner
                counts[name] += 1
                if stack:
                    stack[-1] += spent
        return timed

    for module, attr, name in WRAPPED:
        if hasattr(module, attr):  # older versions lack some stages
            setattr(module, attr, wrap(getattr(module, attr), name))
    for attr, name in STATE_METHODS:
        setattr(solve_module._State, attr, wrap(getattr(solve_module._State, attr), name))
    return totals, counts


def make(family, n):
    if family == "random":
        return random_network(n, seed=0)
    side = int(round(n ** 0.5))
    return grid_network(side, side, seed=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--families", nargs="+", default=["random", "grid"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    totals, counts = instrument()
    for n in args.sizes:
        for family in args.families:
            net = make(family, n)
            solve(net.copy(), trace=False)
            runs = []
            for _ in range(args.repeats if n < 100_000 else 1):
                totals.clear()
                counts.clear()
                fresh = net.copy()
                start = time.process_time()
                sol = solve(fresh, trace=False)
                total = time.process_time() - start
                runs.append((total, dict(totals), dict(counts), sol))
            runs.sort(key=lambda r: r[0])
            total, t, c, sol = runs[len(runs) // 2]
            other = total - sum(t.values())
            parts = ", ".join(f"{k} {1e3 * v:.1f}" + (f" ({c[k]})" if c[k] > 1 else "")
                              for k, v in sorted(t.items(), key=lambda kv: -kv[1]))
            print(f"{family} {n}: total {1e3 * total:.1f} ms CPU, polish solves {sol.active_set_iterations}, "
                  f"certified {sol.converged}, factorisations {c.get('factorise', 0)}, "
                  f"border attempts {c.get('border', 0)}: {parts}, rest {1e3 * other:.1f}", flush=True)


if __name__ == "__main__":
    main()
