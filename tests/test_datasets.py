"""MNIST loader: the shared copy, a loopback/file mirror, checksums, corrupt and missing files.

Never touches the internet: downloads come from a local http.server or file:// URL.
"""

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from solver.learning import datasets
from solver.learning.datasets import DatasetError, default_data_dir, load_digits, load_mnist

NAMES = list(datasets.MNIST_FILES)


def mnist_dir():
    env = os.environ.get("RESISTIVE_EXPLORER_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist")
    for c in candidates:
        if all((c / n).exists() for n in NAMES):
            return c
    pytest.skip("MNIST not found (set RESISTIVE_EXPLORER_DATA)")


@pytest.fixture(scope="module")
def shared():
    return mnist_dir()


@pytest.fixture()
def http_mirror(tmp_path):
    """A loopback HTTP server over a folder; yields (folder, base URL)."""
    root = tmp_path / "mirror"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_loads_the_shared_copy(shared):
    data = load_mnist(shared, download=False)
    assert data.x_train.shape == (60_000, 784) and data.x_test.shape == (10_000, 784)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert 0.0 <= data.x_train.min() and data.x_train.max() == 1.0
    assert set(np.unique(data.y_train)) == set(range(10))
    # every class is represented roughly equally (MNIST has 5,421-6,742 per class)
    counts = np.bincount(data.y_train, minlength=10)
    assert counts.min() > 5000 and counts.max() < 7000
    small = data.limit(100, 10)
    assert small.x_train.shape == (100, 784) and small.y_test.shape == (10,)


def test_environment_variable_selects_the_folder(shared, monkeypatch, tmp_path):
    monkeypatch.setenv(datasets.DATA_ENV, str(shared))
    assert default_data_dir() == Path(shared)
    assert load_mnist(download=False).y_test.shape == (10_000,)
    monkeypatch.delenv(datasets.DATA_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "resistive-explorer" / "mnist"


def test_download_from_a_loopback_http_mirror(shared, http_mirror, tmp_path):
    root, url = http_mirror
    for n in NAMES:
        shutil.copy(shared / n, root / n)
    cache = tmp_path / "cache"
    data = load_mnist(cache, mirrors=[closed_port_url(), url], timeout=5)  # first mirror is down
    assert sorted(p.name for p in cache.iterdir()) == sorted(NAMES)  # no partial files left
    assert data.x_train.shape == (60_000, 784)
    reference = load_mnist(shared, download=False)
    np.testing.assert_array_equal(data.y_test, reference.y_test)


def test_download_from_a_file_url_mirror_of_only_missing_files(shared, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    for n in NAMES[1:]:
        shutil.copy(shared / n, cache / n)
    data = load_mnist(cache, mirrors=shared.resolve().as_uri() + "/")
    assert (cache / NAMES[0]).exists()
    assert data.y_train.shape == (60_000,)


def test_offline_fails_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.MIRROR_ENV, closed_port_url())
    with pytest.raises(DatasetError, match="could not be downloaded .offline") as info:
        load_mnist(tmp_path / "empty", timeout=2)
    assert datasets.DATA_ENV in str(info.value)
    with pytest.raises(DatasetError, match="missing .download disabled"):
        load_mnist(tmp_path / "empty", download=False)


def test_mirror_serving_a_corrupt_file_is_rejected(http_mirror, tmp_path):
    root, url = http_mirror
    for n in NAMES:
        with gzip.open(root / n, "wb") as f:
            f.write(b"not mnist at all")
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError, match="checksum mismatch"):
        load_mnist(cache, mirrors=url, timeout=5)
    assert not any(cache.iterdir())  # nothing half-written is kept


def test_corrupt_cached_file_fails_checksum(shared, tmp_path):
    for n in NAMES:
        shutil.copy(shared / n, tmp_path / n)
    raw = gzip.decompress((shared / NAMES[3]).read_bytes())
    flipped = raw[:-1] + bytes([raw[-1] ^ 1])  # one label changed
    (tmp_path / NAMES[3]).write_bytes(gzip.compress(flipped))
    with pytest.raises(DatasetError, match=f"{NAMES[3]}: checksum mismatch"):
        load_mnist(tmp_path, download=False)
    (tmp_path / NAMES[3]).write_bytes(b"\x00" * 100)  # not gzip at all
    with pytest.raises(DatasetError, match="not a readable gzip file"):
        load_mnist(tmp_path, download=False)


def test_expected_checksums_are_those_of_the_uncompressed_content(shared):
    for n in NAMES:
        md5 = hashlib.md5(gzip.decompress((shared / n).read_bytes())).hexdigest()
        assert md5 == datasets.MNIST_FILES[n]


def write_idx(path, magic, dims, payload):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + struct.pack(">" + "I" * len(dims), *dims) + payload)


@pytest.mark.parametrize("magic,dims,payload,match", [
    (0x0803, (3, 28, 28), bytes(3 * 784), None),
    (0x0801, (3, 28, 28), bytes(3 * 784), "magic number"),
    (0x0803, (3, 28, 27), bytes(3 * 784), "IDX shape"),
    (0x0803, (10**9, 28, 28), bytes(10), "IDX shape"),  # refused before allocating 784 GB
    (0x0803, (3, 28, 28), bytes(3 * 784 - 1), "payload has"),
    (0x0803, (3, 28, 28), bytes(3 * 784 + 5), "payload has"),
])
def test_idx_header_and_size_validation(tmp_path, magic, dims, payload, match):
    path = tmp_path / "x.gz"
    write_idx(path, magic, dims, payload)
    if match is None:
        assert datasets._read_idx(path, 0x0803, (28, 28), 3).shape == (3, 28, 28)
    else:
        with pytest.raises(DatasetError, match=match):
            datasets._read_idx(path, 0x0803, (28, 28), 3)
    (tmp_path / "short.gz").write_bytes(gzip.compress(b"\x00\x00\x08"))
    with pytest.raises(DatasetError, match="truncated IDX header"):
        datasets._read_idx(tmp_path / "short.gz", 0x0803, (28, 28), 3)


def test_load_digits_offline():
    d = load_digits(test_fraction=0.25, seed=0)
    assert d.x_train.shape[1] == 64 and d.num_classes == 10
    assert len(d.y_train) + len(d.y_test) == 1797 and len(d.y_test) == 449
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    again = load_digits(test_fraction=0.25, seed=0)
    np.testing.assert_array_equal(d.y_test, again.y_test)
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits(test_fraction=1.5)
