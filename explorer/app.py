"""The served explorer app: ``panel serve explorer/app.py`` or ``resistive-explorer``.

A shared link ``?circuit=TEXT`` (see :mod:`explorer.share`) opens exactly that
circuit with its view settings. Otherwise the example to open comes from
``?example=NAME`` in the URL (``?nodes=N`` opens a random mesh of about N
nodes), else from the
``RESISTIVE_EXPLORER_EXAMPLE`` environment variable (set by the CLI's
``--example``), else ``divider``. Importing this module builds nothing, so
tests can import it without a browser.
"""

import contextlib
import os

import panel as pn

from solver import NetworkError

from explorer.circuit_explorer import CircuitExplorer
from explorer import gallery, share
from explorer.page import PAGE_CSS, SIDEBAR_WIDTH
from explorer.responsive import send_websocket_frames_at_once
from explorer.server import (quiet_closed_connection_warnings, register_session_cleanup, send_small_arrays_inline,
                             start_worker_processes)

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


def shared_text(args=None):
    """The ``?circuit=`` text of a shared link, or None."""
    raw = (args or {}).get("circuit")
    if not raw:
        return None
    return raw[0].decode() if isinstance(raw[0], bytes) else str(raw[0])


def create_app(example="divider", nodes=None, circuit=None):
    """Build the whole app (a BootstrapTemplate) around one CircuitExplorer.

    ``circuit`` is the text of a shared link; when it cannot be read, the example opens
    and the status line says why.
    """
    pn.extension(notifications=False)
    problem = None
    explorer = None
    if circuit:
        try:
            network, title, view = share.decode_with_view(circuit)
        except (NetworkError, TypeError) as e:
            problem = f"could not open the shared link: {e}"
        else:
            explorer = CircuitExplorer(network, title=title or "shared circuit")
            open_view(explorer, view)
    if explorer is None and nodes:
        explorer = CircuitExplorer(gallery.mesh(nodes), title=f"random mesh ({nodes} nodes)")
    elif explorer is None:
        explorer = CircuitExplorer(example)
    if problem:
        explorer.store.error = problem
        explorer.store.version += 1
    # Bootstrap, not Fast: the Fast design pulls a web font, and the app must work offline
    template = pn.template.BootstrapTemplate(
        title="resistive-explorer",
        sidebar=explorer.sidebar(),
        main=[explorer.main()],
        sidebar_width=SIDEBAR_WIDTH,
        raw_css=[PAGE_CSS],  # rows wrap and the main column shrinks: no sideways overflow
        header_background="#08306b",
        # no busy spinner: it costs two extra messages and a restyle on every slider step; the
        # status line reports each solve instead
        busy_indicator=None,
    )
    template.explorer = explorer  # handy for debugging from the server console
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        register_session_cleanup(explorer)
        explorer.store.solve_off_loop = True  # large circuits solve in a worker thread
    return template


def open_view(explorer, view):
    """Apply a shared link's view settings (colouring, values, presenter mode)."""
    store = explorer.store
    if "color_by" in view:
        store.color_by = view["color_by"]
    if "show_values" in view:
        store.show_values = view["show_values"]
    if "presenter" in view:
        explorer.circuit.presenter = view["presenter"]


if pn.state.served:
    send_websocket_frames_at_once()
    quiet_closed_connection_warnings()
    send_small_arrays_inline()
    start_worker_processes()  # idempotent: the fork server for uploads starts once per process
    args = pn.state.session_args if pn.state.curdoc else None
    # the page's roots go into the document under one freeze: its models are collected once, not
    # once per root and per pane (each collection walks the whole document)
    with pn.state.curdoc.models.freeze() if pn.state.curdoc else contextlib.nullcontext():
        create_app(example_name(args), mesh_size(args), shared_text(args)).servable(title="resistive-explorer")
