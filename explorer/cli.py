"""``resistive-explorer``: serve the explorer app and open it in a browser.

Works headless: without a browser (or with ``--no-browser``) it prints the
URL and keeps serving.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from explorer import gallery, server

APP = Path(__file__).with_name("app.py")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="resistive-explorer",
        description="Serve the resistive-explorer app (a Panel server) and open it in a browser.")
    parser.add_argument("--example", default="divider",
                        help=f"example circuit to open; one of: {', '.join(gallery.EXAMPLES)} "
                        "(dashes or underscores may replace spaces)")
    parser.add_argument("--port", type=int, default=5006, help="port to serve on (0 picks a free one)")
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("--allow-websocket-origin", action="append", default=None,
                        help="extra host:port allowed to connect (for serving on a network)")
    add_serving_options(parser)
    args = parser.parse_args(argv)
    check_serving_options(parser, args)
    key = gallery._key(args.example)
    if key not in gallery.EXAMPLES:
        parser.error(f"unknown example {args.example!r}; choose one of: {', '.join(gallery.EXAMPLES)}")
    args.example = key
    return args


def add_serving_options(parser):
    """Options for serving a class: processes, how soon closed tabs are released, upload budget."""
    group = parser.add_argument_group("serving many sessions (a class)")
    group.add_argument("--num-procs", type=int, default=1, metavar="N",
                       help="serve from N processes (Bokeh forks the server; each session stays in one); "
                       "use up to the number of CPU cores for a class, 0 for one per core (default 1); each process "
                       "holds its own copy of the app (about 240 MB idle)")
    group.add_argument("--session-lifetime", type=float, default=10.0, metavar="SECONDS",
                       help="free a session this long after its tab closed (default 10)")
    group.add_argument("--upload-seconds", type=float, default=None, metavar="SECONDS",
                       help="time budget for reading, laying out and solving one uploaded file; "
                       "an upload that runs over is stopped and the circuit shown is kept "
                       f"(default {server.UPLOAD_SECONDS:g})")


def check_serving_options(parser, args):
    if args.num_procs < 0:
        parser.error(f"--num-procs must be 0 (one per core) or a positive number, not {args.num_procs}")
    if not args.session_lifetime > 0:
        parser.error(f"--session-lifetime must be a positive number of seconds, not {args.session_lifetime}")
    if args.upload_seconds is not None and not args.upload_seconds > 0:
        parser.error(f"--upload-seconds must be a positive number of seconds, not {args.upload_seconds}")


def serving_keywords(args):
    """Keyword arguments of ``pn.serve`` (Bokeh's server) for the serving options."""
    lifetime_ms = int(args.session_lifetime * 1000)
    return dict(num_procs=args.num_procs, unused_session_lifetime_milliseconds=lifetime_ms,
                check_unused_sessions_milliseconds=max(500, min(lifetime_ms // 2, 5000)))


def _browser_available():
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        import webbrowser

        webbrowser.get()
    except Exception:
        return False
    return True


def main(argv=None):
    args = parse_args(argv)
    os.environ["RESISTIVE_EXPLORER_EXAMPLE"] = args.example
    import panel as pn

    if args.upload_seconds is not None:
        server.UPLOAD_SECONDS = args.upload_seconds
    show = not args.no_browser and _browser_available()
    origins = [f"{args.address}:{args.port}", f"localhost:{args.port}"] + (args.allow_websocket_origin or [])
    print(f"resistive-explorer: serving example {args.example!r} at "
          f"http://{args.address}:{args.port}/app" + ("" if show else " (open it in a browser)"), flush=True)
    server.freeze_startup_objects()  # before Bokeh forks (--num-procs): every process starts frozen
    pn.serve({"app": str(APP)}, port=args.port, address=args.address, show=show,
             websocket_origin=origins if args.port else "*", title="resistive-explorer",
             start=True, threaded=False, **serving_keywords(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
