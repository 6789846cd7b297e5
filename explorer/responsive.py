"""Removing two fixed delays from the slider round trip (browser -> server -> browser).

Measured on a bare Panel slider that updates one number (``benchmarks/bench_latency.py``),
two defaults of the stack cost about 50 ms of a 90 ms round trip (38 ms without them), whatever
the circuit:

1. Panel waits 50 ms after a widget change arrives before running its callbacks
   (``Syncable._debounce``), to merge bursts of changes. A value slider gains nothing from
   the wait: changes that arrive while one is still pending are merged anyway, and the
   re-solve is what the user is waiting for. :class:`ImmediateEditableFloatSlider` runs at once.
2. Bokeh writes each server message as several websocket frames and leaves Nagle's
   algorithm on, so the later frames wait for the browser's delayed acknowledgement
   (about 40 ms on Linux) before they leave. :func:`send_websocket_frames_at_once` sets
   ``TCP_NODELAY`` on every websocket the server opens.

Both lean on Panel and Bokeh internals (a class attribute and a method of the websocket
handler); if those change, the app still works, only without the gain.
"""

from __future__ import annotations

import logging

import panel as pn

from .lean_updates import NoRestyleOnChange

__all__ = ["ImmediateEditableFloatSlider", "send_websocket_frames_at_once"]

log = logging.getLogger(__name__)


class _ImmediateFloatSlider(NoRestyleOnChange, pn.widgets.FloatSlider):
    _debounce = 0
    # Panel counts every event as "busy" (a global flag for busy indicators, set and cleared under
    # param's read-only guard: about 2.5 ms of each move); the served app shows no busy indicator
    _busy__ignore = ["value", "value_throttled"]


class _ImmediateFloatInput(pn.widgets.FloatInput):
    _debounce = 0


class ImmediateEditableFloatSlider(pn.widgets.EditableFloatSlider):
    """An ``EditableFloatSlider`` whose changes reach Python without Panel's 50 ms debounce."""

    _slider_widget = _ImmediateFloatSlider
    _input_widget = _ImmediateFloatInput


def send_websocket_frames_at_once() -> bool:
    """Set ``TCP_NODELAY`` on the server's websockets from now on; True if it is (or already was) in place.

    Idempotent: the served app calls it for every session, and only the first call patches.
    """
    try:
        from bokeh.server.views.ws import WSHandler
    except ImportError:  # pragma: no cover - Bokeh always ships it
        return False
    if getattr(WSHandler.open, "_sets_nodelay", False):
        return True
    original_open = WSHandler.open

    def open_without_nagle(self, *args, **kwargs):
        try:
            self.set_nodelay(True)
        except Exception as error:  # never let a latency tweak refuse a connection
            log.debug("could not set TCP_NODELAY on the websocket: %s", error)
        return original_open(self, *args, **kwargs)

    open_without_nagle._sets_nodelay = True
    open_without_nagle.__doc__ = original_open.__doc__
    WSHandler.open = open_without_nagle
    return True
