"""A small Bokeh-protocol client: many sessions of a served app driven from one asyncio loop.

Tests and ``benchmarks/bench_load.py`` use it to open sessions on 127.0.0.1, change a widget's
value the way a browser does (a ``PATCH-DOC`` message) and time how long the server takes to send
back a change of some model. It speaks the protocol ``bokeh.client`` speaks (websocket to
``/<app>/ws`` with the session's token as subprotocol, ``PULL-DOC-REQ`` for the document) but
keeps the document as plain JSON and never deserialises models, so twenty sessions cost the client
little next to the server it measures. Nothing a browser does after the server answers (layout,
painting) is included in its timings.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time

from bokeh.client.websocket import WebSocketClientConnectionWrapper
from bokeh.protocol import Protocol
from bokeh.protocol.receiver import Receiver
from bokeh.util.token import generate_jwt_token, generate_session_id
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from .testing import free_port, stop_process, wait_for_port

__all__ = ["AppSession", "models_of_document", "serve_explorer"]


def models_of_document(doc_json):
    """Every serialised model of a pulled document: id -> {"type", "name", "attributes"}."""
    found = {}
    stack = [doc_json]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "object" and "id" in item and "name" in item:
                found[item["id"]] = {"type": item["name"], "attributes": item.get("attributes", {})}
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


class AppSession:
    """One session of a served Bokeh/Panel app, opened with :meth:`open`.

    ``models`` maps model ids to their type and attributes as first pulled; :meth:`set_value`
    sends a change and :meth:`wait_for_change` waits until the server patches a given model.
    """

    def __init__(self, url, *, timeout=120.0, page=True):
        http = url.rstrip("/")
        self.page_url = http if page else None
        self.ws_url = "ws" + http[len("http"):] + "/ws"
        self.timeout = timeout
        self.session_id = generate_session_id()
        self.models = {}
        self.changed = {}  # model id -> time of the last patch touching it (perf_counter)
        self.last_event = {}  # (model id, attribute) -> the last patch event changing it (JSON)
        self._socket = None
        self._receiver = Receiver(Protocol())
        self._reader = None
        self._message_number = 0
        self._patched = asyncio.Event()

    # -------------------------------------------------------------- lifetime
    async def open(self):
        """Load the page, connect, pull the document, say the page is ready; returns seconds taken.

        Like a browser, the page is requested first (the server builds the session then) and the
        websocket presents the token found in it; with ``page=False`` the websocket comes first.
        """
        t0 = time.perf_counter()
        token = generate_jwt_token(self.session_id)
        if self.page_url:
            response = await AsyncHTTPClient().fetch(self.page_url, connect_timeout=self.timeout,
                                                     request_timeout=self.timeout)
            found = re.search(r'"token"\s*:\s*"([^"]+)"', response.body.decode("utf-8", "replace"))
            if not found:
                raise ConnectionError(f"no session token in the page {self.page_url}")
            token = found.group(1)
        request = HTTPRequest(self.ws_url, connect_timeout=self.timeout, request_timeout=self.timeout)
        socket = await websocket_connect(request, subprotocols=["bokeh", token], max_message_size=100 * 2**20)
        self._socket = WebSocketClientConnectionWrapper(socket)
        ack = await asyncio.wait_for(self._read(), self.timeout)
        if ack is None or ack.msgtype != "ACK":
            raise ConnectionError(f"expected ACK from {self.ws_url}, got {ack and ack.msgtype}")
        await self._send("PULL-DOC-REQ", {})
        reply = await asyncio.wait_for(self._read(), self.timeout)
        if reply is None or reply.msgtype != "PULL-DOC-REPLY":
            raise ConnectionError(f"expected PULL-DOC-REPLY, got {reply and reply.msgtype}")
        self.models = models_of_document(reply.content["doc"])
        self._reader = asyncio.ensure_future(self._read_patches())
        # what BokehJS sends once the page is drawn (Panel runs its onload callbacks then)
        await self._patch([{"kind": "MessageSent", "msg_type": "bokeh_event",
                            "msg_data": {"type": "event", "name": "document_ready", "values": {"type": "map"}}}])
        return time.perf_counter() - t0

    async def close(self):
        if self._reader is not None:
            self._reader.cancel()
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    # ---------------------------------------------------------------- models
    def find(self, type_name, **attributes):
        """Ids of the models of ``type_name`` whose attributes include ``attributes``."""
        return [mid for mid, m in self.models.items() if m["type"] == type_name
                and all(m["attributes"].get(k) == v for k, v in attributes.items())]

    def find_named(self, name):
        ids = [mid for mid, m in self.models.items() if m["attributes"].get("name") == name]
        if not ids:
            raise LookupError(f"no model named {name!r} in the document")
        return ids[0]

    async def click(self, model_id):
        """Press a button (the ``button_click`` event a browser sends)."""
        await self._patch([{"kind": "MessageSent", "msg_type": "bokeh_event",
                            "msg_data": {"type": "event", "name": "button_click",
                                         "values": {"type": "map", "entries": [["model", {"id": model_id}]]}}}])

    async def upload(self, model_id, filename, data, mime_type="text/plain"):
        """Choose a file in a ``FileInput``, as a browser does (base64 contents)."""
        import base64

        await self._patch([{"kind": "ModelChanged", "model": {"id": model_id}, "attr": attr, "new": new}
                           for attr, new in (("mime_type", mime_type), ("filename", filename),
                                             ("value", base64.b64encode(data).decode()))])

    async def set_value(self, model_id, attr, new):
        """Change one attribute of one model, as a browser widget does."""
        await self._patch([{"kind": "ModelChanged", "model": {"id": model_id}, "attr": attr, "new": new}])

    async def set_and_wait(self, model_id, attr, new, watched_id, timeout=60.0):
        """Set a value and wait until the server patches ``watched_id``; seconds from send to patch."""
        before = self.changed.get(watched_id)
        t0 = time.perf_counter()
        await self.set_value(model_id, attr, new)
        await self.wait_for_change(watched_id, after=before, timeout=timeout)
        return self.changed[watched_id] - t0

    async def wait_for_change(self, model_id, after=None, timeout=60.0):
        deadline = time.perf_counter() + timeout
        while self.changed.get(model_id) == after:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"no change of model {model_id} within {timeout} s")
            self._patched.clear()
            try:
                await asyncio.wait_for(self._patched.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    # -------------------------------------------------------------- protocol
    async def _patch(self, events):
        await self._send("PATCH-DOC", {"events": events})

    async def _send(self, msgtype, content):
        self._message_number += 1
        header = {"msgid": f"{self.session_id[:8]}-{self._message_number}", "msgtype": msgtype}
        async with self._socket.write_lock:
            for part in (header, {}, content):
                await self._socket.write_message(json.dumps(part), locked=False)

    async def _read(self):
        while True:
            fragment = await self._socket.read_message()
            if fragment is None:
                return None
            message = await self._receiver.consume(fragment)
            if message is not None:
                return message

    async def _read_patches(self):
        while True:
            message = await self._read()
            if message is None:
                return
            if message.msgtype != "PATCH-DOC":
                continue
            now = time.perf_counter()
            for event in message.content.get("events", []):
                model = event.get("model")
                if isinstance(model, dict) and "id" in model:
                    self.changed[model["id"]] = now
                    self.last_event[model["id"], event.get("attr")] = event
                for item in (event.get("new") if isinstance(event.get("new"), list) else []):
                    if isinstance(item, dict) and item.get("type") == "object":  # new models (re-layouts)
                        self.models.update(models_of_document(item))
            self._patched.set()


@contextlib.contextmanager
def serve_explorer(*cli_args, timeout=180.0, log_path=None, env=None):
    """Run ``python -m explorer.cli --no-browser`` on a free port of 127.0.0.1; yield (app URL, process).

    Ready once the port accepts connections (no page is requested, so no session is created).
    The server is terminated, then killed if it lingers, on exit.
    """
    port = free_port()
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "explorer.cli", "--no-browser", "--address", "127.0.0.1", "--port", str(port),
         *map(str, cli_args)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        start_new_session=True)  # its own process group: with --num-procs, the forked servers go too
    try:
        wait_for_port(port, timeout, alive=lambda: process.poll() is None)
        yield f"http://127.0.0.1:{port}/app", process
    finally:
        stop_process(process, timeout=20)
        try:  # forked servers outlive their parent's SIGTERM
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if log_path:
            log.close()
