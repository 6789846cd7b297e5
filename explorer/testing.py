"""Helpers for driving the served app from tests and benchmarks (server subprocess, headless Chromium)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "free_port", "launch_chromium", "serve_app"]

CHROMIUM = os.environ.get("RESISTIVE_EXPLORER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]
APP = Path(__file__).with_name("app.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(port=None, timeout=120.0, log_path=None, app=APP):
    """Run ``panel serve explorer/app.py`` (or ``app``) on 127.0.0.1 in a subprocess; yield the app's URL.

    The server is always terminated (then killed if it lingers) on exit.
    """
    port = port or free_port()
    address = f"127.0.0.1:{port}"
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "panel", "serve", str(app), "--port", str(port), "--address", "127.0.0.1",
         "--allow-websocket-origin", address, "--num-procs", "1"],
        stdout=log, stderr=subprocess.STDOUT, cwd=str(APP.parent.parent),
        env={**os.environ, "BOKEH_BROWSER": "none", "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://{address}/{Path(app).stem}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"panel serve exited with code {proc.returncode}")
            try:
                # a static file, not the app: polling the app would open a session per try
                with urllib.request.urlopen(f"http://{address}/static/js/bokeh.min.js", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the app did not start on {address} within {timeout} s") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        if log_path:
            log.close()


def launch_chromium(playwright):
    """Headless Debian Chromium with the flags CI needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
