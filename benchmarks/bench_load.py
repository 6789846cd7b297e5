"""The served explorer under load: many sessions moving a slider, and hostile uploads next to a user.

Clients are Bokeh-protocol sessions (``explorer/session_client.py``), not browsers: each opens the
app's websocket on 127.0.0.1, pulls the document, then changes the editor's slider the way a
browser does (a ``PATCH-DOC``) and waits for the server's patch of the circuit's node data. So the
times below are the server's part of a round trip (event in, re-solve, repaint data out), without
a browser's own layout and painting, and twenty clients cost one Python process a few per cent
of a core. The server is ``python -m explorer.cli`` in its own process.

Scenario ``load`` (default): ``--sessions`` sessions open at once (time to first voltages: connect
to a pulled document holding the circuit's potentials), then each moves its slider ``--moves``
times with a think time of 0.2-0.6 s; round trips p50/p90; the server's memory (RSS, summed over
its processes, without the fork server that reads uploads) when idle, during the load, and after
every session has closed and been released.

Scenario ``upload``: one session moves its slider continuously while a second session uploads
hostile files one after the other (an 860-byte netlist whose subcircuits expand to 2^25
resistors, a 4,000-resistor ladder without positions, 500,000 continuation lines); the largest
round trip of the first session while each upload is in flight, against its own baseline.

Everything is bounded: a fixed number of sessions and moves, a timeout on every wait and
``--max-seconds`` for the whole run; the server is stopped at the end.

Run: ``nice python benchmarks/bench_load.py [--scenario load|upload|both] [--sessions 20]
[--num-procs 1]``; writes ``benchmarks/results_load.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from explorer.session_client import AppSession, serve_explorer  # noqa: E402
from machine import describe  # noqa: E402

WAIT_S = 60.0
OPEN_WAIT_S = 600.0  # twenty sessions opened at once are built one after the other


# ------------------------------------------------------------------ the server
def server_processes(process):
    """The Bokeh server's processes (the CLI and, with --num-procs, its forks), not the fork server."""
    try:
        root = psutil.Process(process.pid)
        command = root.cmdline()
        return [root] + [c for c in root.children(recursive=True) if c.cmdline() == command]
    except psutil.Error:
        return []


def cpu_seconds(process):
    """CPU time (user + system) the server's processes have used so far."""
    total = 0.0
    for p in server_processes(process):
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def rss_mb(process):
    total = 0
    for p in server_processes(process):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


async def settle_memory(process, seconds, label):
    """RSS sampled every 2 s for ``seconds`` (closed sessions expire, then the cleanup trims the heap).

    Returns the last sample: the server cannot be asked when it has freed its sessions, so the
    wait is fixed, long enough for --session-lifetime plus Bokeh's check and the trim.
    """
    samples = [rss_mb(process)]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(2.0)
        samples.append(rss_mb(process))
    print(f"  {label}: {samples[-1]:.1f} MB (from {samples[0]:.1f} MB, lowest {min(samples):.1f} MB, "
          f"over {seconds:g} s)", flush=True)
    return samples[-1]


# ------------------------------------------------------------------- sessions
class Student:
    """One session: the editor's value slider and the circuit's node data."""

    def __init__(self, url):
        self.session = AppSession(url, timeout=OPEN_WAIT_S)
        self.slider = self.nodes = None
        self.value = 0.0
        self.step = 0.0
        self.moves = 0

    async def open(self):
        seconds = await self.session.open()
        sliders = [mid for mid, m in self.session.models.items()
                   if m["type"] == "Slider" and "value-slider" in (m["attributes"].get("css_classes") or [])]
        if len(sliders) != 1:
            raise LookupError(f"expected one untitled slider (the editor's), found {len(sliders)}")
        self.slider = sliders[0]
        attrs = self.session.models[self.slider]["attributes"]
        self.value, self.step = float(attrs["value"]), float(attrs["step"])
        self.nodes = self.session.find_named("circuit-nodes")
        return seconds

    async def move(self, k=None):
        """One slider change (alternately up and down a step); seconds until the new potentials arrive."""
        self.moves += 1
        new = round(self.value + (self.step if self.moves % 2 else 0.0), 6)
        return await self.session.set_and_wait(self.slider, "value", new, self.nodes, timeout=WAIT_S)

    async def close(self):
        await self.session.close()


def quantiles(samples):
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return statistics.median(ordered), pick(0.9), ordered[-1]


async def warm_up(url, process, count):
    """Open and close ``count`` sessions (imports, kernels, first-session caches), then let them expire."""
    students = [Student(url) for _ in range(count)]
    await asyncio.gather(*(s.open() for s in students))
    for s in students:
        for k in range(3):
            await s.move(k)
        await s.close()


async def load_scenario(url, process, args):
    print(f"load: {args.sessions} sessions, {args.moves} moves each", flush=True)
    result = {"cold_idle_mb": rss_mb(process)}
    await warm_up(url, process, max(1, args.num_procs) * 2)
    result["idle_mb"] = await settle_memory(process, args.settle_seconds, "idle after a warm-up session")

    students = [Student(url) for _ in range(args.sessions)]
    t0, cpu0 = time.perf_counter(), cpu_seconds(process)
    result["first_voltages_s"] = await asyncio.gather(*(s.open() for s in students))
    result["all_open_s"] = time.perf_counter() - t0
    result["open_cpu_s"] = cpu_seconds(process) - cpu0
    result["during_mb"] = [rss_mb(process)]
    rng = random.Random(0)

    async def work(student):
        times = []
        for k in range(args.moves):
            times.append(await student.move(k))
            await asyncio.sleep(rng.uniform(0.2, 0.6))
        return times

    async def sample_memory():
        while True:
            await asyncio.sleep(1.0)
            result["during_mb"].append(rss_mb(process))

    sampler = asyncio.ensure_future(sample_memory())
    t0, cpu0 = time.perf_counter(), cpu_seconds(process)
    per_student = await asyncio.gather(*(work(s) for s in students))
    result["moving_s"] = time.perf_counter() - t0
    result["moving_cpu_s"] = cpu_seconds(process) - cpu0
    sampler.cancel()
    result["round_trips_s"] = [t for times in per_student for t in times]
    result["during_mb"].append(rss_mb(process))
    for s in students:
        await s.close()
    result["after_mb"] = await settle_memory(process, args.settle_seconds, "after every session closed")
    return result


# --------------------------------------------------------------------- uploads
def hostile_files():
    """(label, filename, bytes) of uploads that once froze the app (issue 13)."""
    lines = ["* each subcircuit instantiates the one below twice: 2^25 resistors", ".subckt s0 a b", "R1 a b 1k",
             ".ends"]
    for level in range(1, 26):
        lines += [f".subckt s{level} a b", f"X1 a m s{level - 1}", f"X2 m b s{level - 1}", ".ends"]
    lines += ["V1 in 0 1", "X0 in 0 s25", ".end"]
    bomb = "\n".join(lines).encode()
    ladder = "\n".join(["* 4,000-resistor ladder, no positions", "V1 n0 0 1"]
                       + [f"R{k} n{k} n{k + 1} 1k\nRg{k} n{k + 1} 0 10k" for k in range(2000)] + [".end"]).encode()
    continuation = ("* one element continued over 500,000 lines\nR1 a 0\n" + "+ \n" * 500_000 + "+ 1k\nV1 a 0 1\n"
                    ".end\n").encode()
    return [("subcircuit bomb (2^25 resistors)", "bomb.cir", bomb),
            ("ladder of 4,000 resistors, no positions", "ladder.cir", ladder),
            ("500,000 continuation lines", "continued.cir", continuation)]


async def upload_scenario(url, process, args):
    print("upload: one session moves its slider while another uploads hostile files", flush=True)
    await warm_up(url, process, 1)
    user, attacker = Student(url), Student(url)
    await user.open()
    await attacker.open()
    upload_input = attacker.session.find("FileInput")[0]
    alert = [mid for mid, m in attacker.session.models.items()
             if "solve-error" in (m["attributes"].get("css_classes") or [])]
    watched = alert + [attacker.nodes]
    baseline = [await user.move(k) for k in range(args.moves)]
    rows = []
    for label, filename, data in hostile_files():
        before = {mid: attacker.session.changed.get(mid) for mid in watched}
        t0 = time.perf_counter()
        await attacker.session.upload(upload_input, filename, data)
        during, k = [], 0
        deadline = time.perf_counter() + args.upload_seconds * 3 + WAIT_S
        while all(attacker.session.changed.get(mid) == before[mid] for mid in watched):
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no answer to the upload of {filename}")
            during.append(await user.move(k))
            k += 1
            await asyncio.sleep(0.05)
        answered = time.perf_counter() - t0
        print(f"  {label}: {len(data):,} bytes, answered after {answered:.1f} s; the other session's "
              f"slider: {len(during)} round trips, max {max(during) * 1e3:.0f} ms", flush=True)
        rows.append((label, len(data), answered, during))
    await user.close()
    await attacker.close()
    return {"baseline_s": baseline, "uploads": rows}


# ---------------------------------------------------------------------- report
def report(args, machine, load_before, load_after, load=None, upload=None):
    out = ["# Explorer under load (`benchmarks/bench_load.py`)", "",
           f"Machine: {machine}; load average {load_before:.1f} before the run and {load_after:.1f} after "
           "(the cores are shared with other jobs).", "",
           f"Server: `{''.join(item + ' ' for item in args.server_env)}python -m explorer.cli "
           f"--num-procs {args.num_procs} --session-lifetime "
           f"{args.session_lifetime:g} --upload-seconds {args.upload_seconds:g}`. Clients: Bokeh-protocol "
           "sessions on 127.0.0.1 (no browser: times are the server's part of each round trip).", ""]
    if load:
        opens = load["first_voltages_s"]
        p50, p90, worst = quantiles(load["round_trips_s"])
        o50, o90, oworst = quantiles(opens)
        during = max(load["during_mb"])
        out += [f"## {args.sessions} concurrent sessions, {args.moves} slider moves each", "",
                "| measure | p50 | p90 | max |", "|---|---|---|---|",
                f"| slider round trip (ms) | {p50 * 1e3:.0f} | {p90 * 1e3:.0f} | {worst * 1e3:.0f} |",
                f"| time to first voltages (s) | {o50:.2f} | {o90:.2f} | {oworst:.2f} |", "",
                f"All {args.sessions} sessions open after {load['all_open_s']:.1f} s (opened at once); "
                f"{len(load['round_trips_s'])} round trips in {load['moving_s']:.1f} s.", "",
                "Server CPU time (user + system, all its processes; less sensitive than the times above to "
                "what else the machine runs): "
                f"{load['open_cpu_s'] / args.sessions:.2f} s per session opened, "
                f"{load['moving_cpu_s'] / len(load['round_trips_s']) * 1e3:.1f} ms per slider move "
                f"({load['moving_cpu_s'] / load['moving_s'] * 100:.0f} % of one core while the sliders moved).", "",
                "| server memory (RSS, MB) | |", "|---|---|",
                f"| at start, no session yet | {load['cold_idle_mb']:.1f} |",
                f"| idle after a warm-up session closed | {load['idle_mb']:.1f} |",
                f"| largest during the load | {during:.1f} |",
                f"| after every session closed | {load['after_mb']:.1f} "
                f"({(load['after_mb'] / load['idle_mb'] - 1) * 100:+.1f} % of idle) |", ""]
    if upload:
        b50, b90, bworst = quantiles(upload["baseline_s"])
        out += ["## Hostile uploads next to a user", "",
                f"The user's slider round trip before: median {b50 * 1e3:.0f} ms, max {bworst * 1e3:.0f} ms.", "",
                "| upload | bytes | answered after (s) | user's round trips meanwhile | median (ms) | max (ms) |",
                "|---|---|---|---|---|---|"]
        for label, size, answered, during in upload["uploads"]:
            out.append(f"| {label} | {size:,} | {answered:.1f} | {len(during)} | "
                       f"{statistics.median(during) * 1e3:.0f} | {max(during) * 1e3:.0f} |")
        out.append("")
    return "\n".join(out)


async def run(args):
    load_before = os.getloadavg()[0]
    machine = describe(("panel", "bokeh", "numpy", "numba"))
    results = {}
    log_path = Path(args.out).with_suffix(".server.log") if args.keep_log else None
    env = dict(item.split("=", 1) for item in args.server_env)
    with serve_explorer("--num-procs", args.num_procs, "--session-lifetime", args.session_lifetime,
                        "--upload-seconds", args.upload_seconds, log_path=log_path, env=env) as (url, process):
        if args.scenario in ("load", "both"):
            results["load"] = await load_scenario(url, process, args)
        if args.scenario in ("upload", "both"):
            results["upload"] = await upload_scenario(url, process, args)
    return report(args, machine, load_before, os.getloadavg()[0], **results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["load", "upload", "both"], default="load")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument("--num-procs", type=int, default=1)
    parser.add_argument("--session-lifetime", type=float, default=5.0)
    parser.add_argument("--upload-seconds", type=float, default=10.0)
    parser.add_argument("--settle-seconds", type=float, default=40.0,
                        help="how long to watch the memory after sessions close")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="stop the whole run after this long")
    parser.add_argument("--keep-log", action="store_true", help="keep the server's log next to the results")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="environment of the server process, e.g. PYTHONMALLOC=malloc (repeatable)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results_load.md"))
    args = parser.parse_args(argv)
    if not (1 <= args.sessions <= 200 and 1 <= args.moves <= 1000):
        parser.error("--sessions must be in 1..200 and --moves in 1..1000")
    for item in args.server_env:
        if "=" not in item or not item.split("=", 1)[0].isidentifier():
            parser.error(f"--server-env takes NAME=VALUE, not {item!r}")
    text = asyncio.run(asyncio.wait_for(run(args), args.max_seconds))
    print(text)
    Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
