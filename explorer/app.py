"""The served explorer app: ``panel serve explorer/app.py`` or ``resistive-explorer``.

The example to open comes from ``?example=NAME`` in the URL (``?nodes=N``
opens a random mesh of about N nodes), else from the
``RESISTIVE_EXPLORER_EXAMPLE`` environment variable (set by the CLI's
``--example``), else ``divider``. Importing this module builds nothing, so
tests can import it without a browser.
"""

import os

import panel as pn

from explorer.circuit_explorer import CircuitExplorer
from explorer import gallery
from explorer.responsive import send_websocket_frames_at_once
from explorer.server import quiet_closed_connection_warnings, register_session_cleanup, start_worker_processes

ENV_EXAMPLE = "RESISTIVE_EXPLORER_EXAMPLE"


def example_name(args=None):
    """The example requested by the URL or the environment (validated against the gallery)."""
    name = None
    if args:
        raw = args.get("example")
        if raw:
            name = raw[0].decode() if isinstance(raw[0], bytes) else str(raw[0])
    name = name or os.environ.get(ENV_EXAMPLE) or "divider"
    return gallery._key(name) if gallery._key(name) in gallery.EXAMPLES else "divider"


def mesh_size(args=None):
    """``?nodes=N`` opens a random mesh of about N nodes instead of an example (benchmarks)."""
    raw = (args or {}).get("nodes")
    if not raw:
        return None
    try:
        n = int(raw[0].decode() if isinstance(raw[0], bytes) else raw[0])
    except ValueError:
        return None
    return n if 4 <= n <= 20_000 else None


def create_app(example="divider", nodes=None):
    """Build the whole app (a BootstrapTemplate) around one CircuitExplorer."""
    pn.extension(notifications=False)
    if nodes:
        explorer = CircuitExplorer(gallery.mesh(nodes), title=f"random mesh ({nodes} nodes)")
    else:
        explorer = CircuitExplorer(example)
    # Bootstrap, not Fast: the Fast design pulls a web font, and the app must work offline
    template = pn.template.BootstrapTemplate(
        title="resistive-explorer",
        sidebar=explorer.sidebar(),
        main=[explorer.main()],
        sidebar_width=350,
        header_background="#08306b",
        # no busy spinner: it costs two extra messages and a restyle on every slider step; the
        # status line reports each solve instead
        busy_indicator=None,
    )
    template.explorer = explorer  # handy for debugging from the server console
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        register_session_cleanup(explorer)
    return template


if pn.state.served:
    send_websocket_frames_at_once()
    quiet_closed_connection_warnings()
    start_worker_processes()  # idempotent: the fork server for uploads starts once per process
    args = pn.state.session_args if pn.state.curdoc else None
    create_app(example_name(args), mesh_size(args)).servable(title="resistive-explorer")
