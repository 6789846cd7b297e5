"""``resistive-explorer``: serve the explorer app and open it in a browser.

Works headless: without a browser (or with ``--no-browser``) it prints the
URL and keeps serving.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from explorer import gallery

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
    args = parser.parse_args(argv)
    key = gallery._key(args.example)
    if key not in gallery.EXAMPLES:
        parser.error(f"unknown example {args.example!r}; choose one of: {', '.join(gallery.EXAMPLES)}")
    args.example = key
    return args


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

    show = not args.no_browser and _browser_available()
    origins = [f"{args.address}:{args.port}", f"localhost:{args.port}"] + (args.allow_websocket_origin or [])
    print(f"resistive-explorer: serving example {args.example!r} at "
          f"http://{args.address}:{args.port}/app" + ("" if show else " (open it in a browser)"), flush=True)
    pn.serve({"app": str(APP)}, port=args.port, address=args.address, show=show,
             websocket_origin=origins if args.port else "*", title="resistive-explorer",
             start=True, threaded=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
