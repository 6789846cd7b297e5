"""The ``resistive-explorer`` command serves the app headless (no browser needed)."""

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from explorer.testing import free_port


def test_cli_serves_an_example_without_a_browser():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    # no --no-browser: with no display it must notice there is no browser and keep serving
    proc = subprocess.Popen([sys.executable, "-m", "explorer.cli", "--example", "bridge-rectifier",
                             "--port", str(port), "--address", "127.0.0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        page = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the CLI exited with {proc.returncode}: {proc.stdout.read().decode()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/app", timeout=30) as response:
                    page = response.read().decode()
                    break
            except OSError:
                time.sleep(0.3)
        assert page is not None, "the app never answered"
        assert "resistive-explorer" in page
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    text = out.decode()
    assert f"http://127.0.0.1:{port}/app" in text and "bridge rectifier" in text
    assert "Traceback" not in text


def test_cli_rejects_unknown_examples():
    result = subprocess.run([sys.executable, "-m", "explorer.cli", "--example", "nope", "--no-browser"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "unknown example" in result.stderr
