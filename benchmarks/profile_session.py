"""CPU of opening one explorer session, in process: the page built, its Bokeh models made, serialised.

What a served session costs the server before the browser shows voltages: ``create_app``
(the template around one ``CircuitExplorer``), the template's models put into a fresh Bokeh
document (as ``panel serve`` does for a new session) and the document serialised (the
``PULL-DOC`` reply). Measured as process CPU time, which other jobs on a shared machine
disturb less than wall time; pages are kept alive while measuring, as a server's open sessions
are. ``--profile`` prints where one page's CPU goes (cProfile, cumulative).

Run: ``nice python benchmarks/profile_session.py [--pages 6] [--example divider] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import panel as pn  # noqa: E402
from bokeh.document import Document  # noqa: E402
from panel.io.state import set_curdoc  # noqa: E402

from explorer.app import create_app  # noqa: E402


def open_session(example):
    """Build and serialise one session's page; returns the document (keep it alive)."""
    doc = Document()
    with set_curdoc(doc), doc.models.freeze():
        template = create_app(example)
        template.server_doc(doc)
    doc.to_json()  # the PULL-DOC reply's content
    return doc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=6, help="pages measured (after one warm-up)")
    parser.add_argument("--example", default="divider")
    parser.add_argument("--profile", action="store_true", help="print the cProfile of one page")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    kept = [open_session(args.example)]  # warm-up: imports, numba, first-use caches
    gc.collect()
    gc.freeze()  # as the CLI does before serving
    seconds, models = [], []
    for _ in range(args.pages):
        start = time.process_time()
        doc = open_session(args.example)
        seconds.append(time.process_time() - start)
        models.append(len(doc.models))
        kept.append(doc)
    print(f"{args.example}: CPU per session opened, median of {args.pages}: {statistics.median(seconds):.3f} s "
          f"(min {min(seconds):.3f}, max {max(seconds):.3f}); {models[-1]} Bokeh models")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        kept.append(open_session(args.example))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
