"""Where one slider move's server CPU goes: the served app and protocol clients in one process.

The explorer is served in this process (``pn.serve`` on the running asyncio loop) and
``--sessions`` Bokeh-protocol clients (``explorer/session_client.py``) open it and move the
editor's slider ``--moves`` times each, one move at a time, as ``benchmarks/bench_load.py`` does
(without the think time: here only the CPU per move matters). The CPU time of the process
(``time.process_time``) over the moves, divided by their number, is the cost of one move: the
server's part (event in, re-solve, repaint data, patch out) plus the clients' own small part
(sending one message, parsing the patch), which ``--client-only`` estimates alone.
With ``--profile`` the moves run under cProfile and the top functions are printed (cumulative and
own time), which is how the costs were found.

Run: ``python benchmarks/profile_move.py [--example divider] [--nodes N] [--moves 60] [--profile]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_load import Student  # noqa: E402
from explorer.testing import free_port  # noqa: E402

APP = ROOT / "explorer" / "app.py"


#: Functions whose inclusive CPU time ``--breakdown`` reports (nested ones are part of their callers).
BREAKDOWN = [
    "panel.widgets.slider:FloatSlider._process_events",
    "explorer.panels:EditorPanel._on_value",
    "explorer.state:CircuitStore._resolve",
    "explorer.state:solve",
    "explorer.state:CircuitStore._publish",
    "explorer.circuit_view:CircuitView._repaint",
    "explorer.circuit_view:CircuitView.paint_data",
    "explorer.circuit_view:CircuitView._send_sources",
    "explorer.panels:StatusBar._update",
    "explorer.panels:ReadoutPanel._update",
    "explorer.panels:EditorPanel._sync",
    "explorer.panels:EditorPanel._sync_slider",
    "explorer.panels:ConvergenceView._on_version",
    "explorer.panels:ConvergenceView._refresh",
    "panel.io.document:hold",
    "bokeh.protocol.messages.patch_doc:patch_doc.create",
    "bokeh.core.serialization:Serializer.__init__",
    "bokeh.core.serialization:Serializer._encode_bytes",
    "panel.pane.markup:HTMLBasePane._update",
    "panel.reactive:Reactive._update_properties",
    "panel.reactive:Syncable._update_model",
    "panel.io.state:_state._add_busy_event",
    "panel.io.state:_state._remove_busy_event",
    "explorer.panels:QuantityInput.show",
    "bokeh.core.property.wrappers:PropertyValueColumnData.update",
    "bokeh.server.protocol_handler:ProtocolHandler.handle",
]
SPENT = {}


def _instrument(paths):
    """Wrap each function so that its inclusive CPU time (process_time) and calls add up in SPENT."""
    import contextlib
    import functools
    import importlib
    import inspect

    for path in paths:
        module_name, _, qual = path.partition(":")
        owner = importlib.import_module(module_name)
        *outer, name = qual.split(".")
        for part in outer:
            owner = getattr(owner, part)
        if isinstance(owner, type):  # patch the class that defines it
            owner = next(c for c in owner.__mro__ if name in vars(c))
        original = inspect.getattr_static(owner, name)
        function = original.__func__ if isinstance(original, (staticmethod, classmethod)) else original
        SPENT[path] = [0.0, 0]

        def timed(function, path=path):
            if inspect.iscoroutinefunction(function):
                @functools.wraps(function)
                async def wrapper(*a, **kw):
                    t0 = time.process_time()
                    try:
                        return await function(*a, **kw)
                    finally:
                        SPENT[path][0] += time.process_time() - t0
                        SPENT[path][1] += 1
                return wrapper

            @functools.wraps(function)
            def wrapper(*a, **kw):
                t0 = time.process_time()
                try:
                    return function(*a, **kw)
                finally:
                    SPENT[path][0] += time.process_time() - t0
                    SPENT[path][1] += 1
            return wrapper

        if hasattr(function, "__wrapped__") and name == "hold":  # a contextmanager: time the whole block
            inner = function.__wrapped__

            @contextlib.contextmanager
            def held(*a, _inner=inner, _path=path, **kw):
                t0 = time.process_time()
                try:
                    with contextlib.contextmanager(_inner)(*a, **kw) as value:
                        yield value
                finally:
                    SPENT[_path][0] += time.process_time() - t0
                    SPENT[_path][1] += 1
            wrapped = held
        else:
            wrapped = timed(function)
        if isinstance(original, staticmethod):
            wrapped = staticmethod(wrapped)
        elif isinstance(original, classmethod):
            wrapped = classmethod(wrapped)
        setattr(owner, name, wrapped)


def _show_patches():
    """Print what each PATCH-DOC the server creates carries (event kind, model, attribute)."""
    from bokeh.protocol.messages.patch_doc import patch_doc

    original = patch_doc.create.__func__

    def create(cls, events, **kw):
        parts = []
        for e in events:
            model = getattr(e, "model", None)
            what = f"{type(model).__name__}({getattr(model, 'name', None) or ''})" if model is not None else ""
            attr = getattr(e, "attr", None) or (",".join(e.data) if hasattr(e, "data") and isinstance(e.data, dict)
                                                else "")
            parts.append(f"{type(e).__name__}:{what}.{attr}")
        print(f"  PATCH-DOC {len(events)} events: " + "; ".join(parts))
        return original(cls, events, **kw)

    patch_doc.create = classmethod(create)


class _Collections(dict):
    """generation -> [collections, CPU seconds], filled by a ``gc.callbacks`` entry."""


def _watch_collections():
    spent = _Collections()
    started = {}

    def callback(phase, info):
        if phase == "start":
            started["t"] = time.process_time()
        else:
            entry = spent.setdefault(info["generation"], [0, 0.0])
            entry[0] += 1
            entry[1] += time.process_time() - started.get("t", time.process_time())

    spent.callback = callback
    gc.callbacks.append(callback)
    return spent


async def measure(args):
    import panel as pn

    if args.show_patches:
        _show_patches()

    if args.breakdown:
        _instrument(BREAKDOWN)

    from explorer import server

    os.environ["RESISTIVE_EXPLORER_EXAMPLE"] = args.example
    server.freeze_startup_objects()
    port = free_port()
    bokeh_server = pn.serve({"app": str(APP)}, port=port, address="127.0.0.1", show=False, start=False,
                            threaded=False, websocket_origin=[f"127.0.0.1:{port}"],
                            unused_session_lifetime_milliseconds=2000, check_unused_sessions_milliseconds=1000)
    bokeh_server.start()
    url = f"http://127.0.0.1:{port}/app"
    students = [Student(url) for _ in range(args.sessions)]
    if args.nodes:  # the page request builds the session, with the page's query
        for s in students:
            s.session.page_url += f"?nodes={args.nodes}"
    for s in students:
        await s.open()
    for s in students:  # warm-up: caches, first-call costs
        for k in range(3):
            await s.move(k)
    await asyncio.sleep(0.5)  # timers started by the warm-up (the convergence plot's) have run
    profiler = cProfile.Profile() if args.profile else None
    times = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for entry in SPENT.values():
        entry[:] = [0.0, 0]
    gc_spent = _watch_collections()
    if profiler:
        profiler.enable()
    for k in range(args.moves):
        s = students[k % len(students)]
        times.append(await s.move(k))
    # the convergence plot is redrawn once changes pause (a timer): count it, once per burst
    await asyncio.sleep(0.4)
    if profiler:
        profiler.disable()
    cpu = time.process_time() - cpu0
    gc.callbacks.remove(gc_spent.callback)
    print("garbage collections during the moves: " + ", ".join(
        f"generation {g}: {n} taking {t * 1e3:.0f} ms" for g, (n, t) in sorted(gc_spent.items())))
    wall = time.perf_counter() - wall0
    for s in students:
        await s.close()
    bokeh_server.stop()
    return cpu, wall, times, profiler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="divider")
    parser.add_argument("--nodes", type=int, default=None, help="a random mesh of about this many nodes")
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--moves", type=int, default=60)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--show-patches", action="store_true", help="print the events of every patch sent")
    parser.add_argument("--breakdown", action="store_true", help="inclusive CPU of the functions in BREAKDOWN")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--callees", nargs="*", default=[], help="also print what these functions call")
    parser.add_argument("--dump", default=None, help="write the profile to this file (pstats)")
    args = parser.parse_args(argv)
    cpu, wall, times, profiler = asyncio.run(measure(args))
    what = f"{args.nodes}-node mesh" if args.nodes else args.example
    print(f"{what}: {args.moves} moves, CPU {cpu / args.moves * 1e3:.1f} ms per move (server + clients), "
          f"round trip median {statistics.median(times) * 1e3:.1f} ms, wall {wall:.1f} s")
    for path, (seconds, calls) in SPENT.items():
        print(f"  {seconds / args.moves * 1e3:7.2f} ms per move  {calls / args.moves:5.2f} calls per move  {path}")
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(args.sort).print_stats(args.top)
        for name in args.callees:
            stats.print_callees(name)
        if args.dump:
            profiler.dump_stats(args.dump)
        print(out.getvalue())


if __name__ == "__main__":
    main()
