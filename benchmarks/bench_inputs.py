"""Hostile netlists against the reader's work budget, and the fuzz counts (issue 13).

Run ``nice python benchmarks/bench_inputs.py [--fuzz-counts FILE]`` (about a
minute). It prints a Markdown report and writes ``benchmarks/results_inputs.md``.

Each case is timed with ``read_netlist`` as it is now and, as the reference in
the same run, with the reader as it was before issue 13 (``netlist.py`` at
commit 983f256, loaded from git into a private module):

* 5e5 continuation lines (the issue measured 9 s: each ``+`` line copied the
  whole logical line so far, quadratic time);
* a plain 10^5-resistor netlist (the budget must not slow the common case);
* subcircuits that each instantiate the next twice (860 bytes -> 524,289
  elements), refused before expanding with the app's budget, and a 2^99 one
  with the library's default budget;
* 2000 nested subcircuits (``RecursionError`` before), and 10^4 (refused now: the
  expanded names would hold 1.5e8 characters of instance paths).

``--fuzz-counts`` reads the JSON lines that ``FUZZ_COUNTS=FILE`` made the
tests/fuzz suite write, and adds the accepted/refused counts per property.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from machine import describe  # noqa: E402

from solver.circuits import netlist  # noqa: E402

BEFORE = "983f256"


def reader_before():
    """``read_netlist`` as of commit BEFORE, or None when git cannot show it."""
    try:
        source = subprocess.run(["git", "show", f"{BEFORE}:solver/circuits/netlist.py"], cwd=HERE.parent,
                                capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    module = types.ModuleType(f"solver.circuits._netlist_{BEFORE}")
    module.__package__ = "solver.circuits"
    exec(compile(source, f"netlist.py@{BEFORE}", "exec"), module.__dict__)
    return module.read_netlist


def timed(read, text, repeats, **kwargs):
    """(median CPU seconds, outcome) of ``read(text)``; the outcome names the result or the error.

    CPU time of this process, not wall time: the development machine's two
    cores are shared with other jobs, and wall times there vary several-fold.
    """
    times, outcome = [], None
    for _ in range(repeats):
        t0 = time.process_time()
        try:
            net = read(text, **kwargs)
            outcome = f"{len(net):,} elements"
        except RecursionError:
            outcome = "RecursionError"
        except netlist.NetlistError as e:
            outcome = "NetlistError: " + str(e).split("\n")[0].split(": ", 1)[-1][:70] + "..."
        times.append(time.process_time() - t0)
    return statistics.median(times), outcome


def continuation_text(n):
    return "cont\nR1 a\n" + "+ \n" * (n - 2) + "+ 0 1k\nV1 a 0 1\n"


def flat_text(n=100_000, nodes=20_000):
    lines = ["big"] + [f"R{i} n{i % nodes} n{(i * 7 + 1) % nodes} {1 + i % 997}" for i in range(n)]
    return "\n".join(lines + ["V1 n0 0 DC 1", ".end"]) + "\n"


def doubling_bomb(depth):
    lines = ["bomb", "V1 in 0 1", "X1 in 0 s1"]
    for k in range(1, depth):
        lines += [f".subckt s{k} a b", f"X1 a b s{k + 1}", f"X2 a b s{k + 1}", ".ends"]
    return "\n".join(lines + [f".subckt s{depth} a b", "R1 a b 1k", ".ends", ".end"]) + "\n"


def deep_text(depth=2000):
    lines = ["deep", f"V1 in 0 {depth}", "X1 in 0 s1"]
    for k in range(1, depth):
        lines += [f".subckt s{k} a b", "R1 a m 1", f"X1 m b s{k + 1}", ".ends"]
    return "\n".join(lines + [f".subckt s{depth} a b", "R1 a b 1", ".ends"]) + "\n"


def cases(quick):
    yield "5e5 continuation lines", continuation_text(500_000), {}, 3, 1
    yield "1e5 continuation lines", continuation_text(100_000), {}, 3, 1
    yield "2e5 continuation lines", continuation_text(200_000), {}, 3, 1
    yield "10^5 resistors, no subcircuits", flat_text(), {}, 3, 3
    yield "doubling bomb, 20 levels (874 bytes, 524,289 elements), app budget 100,000", \
        doubling_bomb(20), {"max_elements": 100_000}, 3, 0 if quick else 1
    yield "doubling bomb, 100 levels (2^99 elements), default budget", doubling_bomb(100), {}, 3, 0
    yield "2000 nested subcircuits", deep_text(), {}, 3, 1
    yield "10^4 nested subcircuits", deep_text(10_000), {}, 3, 1


def fuzz_table(path):
    rows = collections.OrderedDict()
    for line in Path(path).read_text().splitlines():
        entry = json.loads(line)
        key = (entry["module"].rsplit(".", 1)[-1], entry["property"])
        counts = rows.setdefault(key, collections.Counter())
        counts.update({k: v for k, v in entry.items() if k in ("accepted", "refused")})
    out = ["| module | property | accepted | refused | total |", "|---|---|---|---|---|"]
    for (module, prop), c in rows.items():
        out.append(f"| {module} | {prop} | {c['accepted']:,} | {c['refused']:,} | "
                   f"{c['accepted'] + c['refused']:,} |")
    total = sum(sum(c.values()) for c in rows.values())
    return out, total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fuzz-counts", default=None)
    parser.add_argument("--quick", action="store_true", help="skip the slow reference runs")
    args = parser.parse_args(argv)
    before = reader_before()
    lines = ["# Input paths under attack (issue 13)", "", describe(packages=("numpy", "networkx")), "",
             f"Medians of repeated runs (CPU seconds of the process: the shared machine's wall "
             f"times vary several-fold), `read_netlist` now and as of commit {BEFORE} "
             "(the reference, same run, same process). Runs: now / before.", "",
             "| netlist | now | outcome now | before | outcome before | before/now | runs |",
             "|---|---|---|---|---|---|---|"]
    for label, text, kwargs, repeats, repeats_before in cases(args.quick):
        now, outcome = timed(netlist.read_netlist, text, repeats, **kwargs)
        if before is not None and repeats_before:
            # the old reader had no budget: it reads the whole bomb (the stall of the issue)
            old, old_outcome = timed(before, text, repeats_before)
            ratio = f"{old / now:,.0f}x" if old_outcome == outcome else "other outcome"
            old_text = f"{old:.3g}"
        else:
            old_text, old_outcome, ratio = "not run", "", ""
        lines.append(f"| {label} | {now:.3g} | {outcome} | {old_text} | {old_outcome} | {ratio} | "
                     f"{repeats} / {repeats_before} |")
        print(lines[-1], flush=True)
    if args.fuzz_counts:
        table, total = fuzz_table(args.fuzz_counts)
        lines += ["", f"Fuzz counts (tests/fuzz, `HYPOTHESIS_PROFILE=dev FUZZ_EXAMPLES=250`, random "
                      f"seeds): {total:,} inputs, every one read to a valid Network or refused with a "
                      "NetworkError; any other exception, or a lossy round trip, would have failed "
                      "the run.", ""] + table
    report = "\n".join(lines) + "\n"
    (HERE / "results_inputs.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
