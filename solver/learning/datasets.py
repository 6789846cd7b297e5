"""Datasets for the deep-resistive-network experiments: MNIST (IDX files) and scikit-learn digits.

MNIST is read from the four standard IDX gzip files in a cache folder:

* the ``data_dir`` argument, else
* the environment variable ``RESISTIVE_EXPLORER_DATA``, else
* ``<user cache dir>/resistive-explorer/mnist`` (``$XDG_CACHE_HOME`` or ``~/.cache``).

Missing files are downloaded from a public mirror (``mirrors=`` or the
environment variable ``RESISTIVE_EXPLORER_MNIST_MIRROR`` override the list) and
every file is checked against the MD5 of its *uncompressed* content before use.
IDX headers and sizes are validated before any array is allocated, and nothing
is ever unpickled.

Images come back as float32 in ``[0, 1]`` with shape ``(n, 784)`` (the paper's
code uses ``ToTensor()`` without normalisation, the same scaling), labels as
int64 in ``0..9``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DATA_ENV",
    "DatasetError",
    "MIRROR_ENV",
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "Dataset",
    "default_data_dir",
    "load_digits",
    "load_mnist",
]

#: Environment variable naming the MNIST folder.
DATA_ENV = "RESISTIVE_EXPLORER_DATA"
#: Environment variable overriding the download mirrors (comma-separated base URLs).
MIRROR_ENV = "RESISTIVE_EXPLORER_MNIST_MIRROR"

#: Public mirrors of the four IDX gzip files, tried in order.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: split -> (images file, labels file, number of examples)
_SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60_000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10_000),
}

#: file name -> MD5 of the uncompressed content.
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}

_IMAGE_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
_LABEL_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
_MAX_UNCOMPRESSED = 64 * 2**20  # MNIST's largest file is 47 MB


class DatasetError(OSError):
    """A dataset file is missing, cannot be downloaded, or is corrupt."""


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays of a classification dataset.

    ``x_*`` are float32 ``(n, features)`` in ``[0, 1]``; ``y_*`` are int64 labels.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int

    @property
    def num_features(self) -> int:
        return self.x_train.shape[1]

    def limit(self, n_train=None, n_test=None) -> "Dataset":
        """The first ``n_train`` training and ``n_test`` test examples (None: all)."""
        return Dataset(self.name, self.x_train[:n_train], self.y_train[:n_train],
                       self.x_test[:n_test], self.y_test[:n_test], self.num_classes)


def default_data_dir() -> Path:
    """The MNIST folder: ``$RESISTIVE_EXPLORER_DATA`` or the user cache folder."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "resistive-explorer" / "mnist"


def _md5_uncompressed(path: Path) -> str:
    md5 = hashlib.md5()
    total = 0
    try:
        with gzip.open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                total += len(chunk)
                if total > _MAX_UNCOMPRESSED:
                    raise DatasetError(f"{path}: uncompressed content exceeds "
                                       f"{_MAX_UNCOMPRESSED} bytes; not an MNIST file")
                md5.update(chunk)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        if isinstance(e, DatasetError):
            raise
        raise DatasetError(f"{path}: not a readable gzip file ({e}); delete it to re-download") from e
    return md5.hexdigest()


def _verify(path: Path) -> None:
    expected = MNIST_FILES[path.name]
    got = _md5_uncompressed(path)
    if got != expected:
        raise DatasetError(
            f"{path}: checksum mismatch (MD5 of the uncompressed content is {got}, "
            f"expected {expected}); the file is corrupt or not MNIST, delete it to re-download"
        )


def _mirrors(mirrors):
    if mirrors is not None:
        return [mirrors] if isinstance(mirrors, str) else list(mirrors)
    env = os.environ.get(MIRROR_ENV)
    if env:
        return [m.strip() for m in env.split(",") if m.strip()]
    return list(MNIST_MIRRORS)


def _download(name: str, folder: Path, mirrors, timeout: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    errors = []
    for base in mirrors:
        url = base if base.endswith("/") else base + "/"
        url += name
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=name, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as r:
                shutil.copyfileobj(r, out)
            md5 = _md5_uncompressed(Path(tmp))
            if md5 != MNIST_FILES[name]:
                raise DatasetError(f"checksum mismatch ({md5}, expected {MNIST_FILES[name]})")
            os.replace(tmp, target)
            return target
        except (OSError, ValueError) as e:  # URLError, timeouts, DatasetError
            errors.append(f"{url}: {e}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise DatasetError(
        f"MNIST file {name} is missing from {folder} and could not be downloaded "
        f"(offline?). Tried:\n  " + "\n  ".join(errors) +
        f"\nPut the four IDX gzip files in that folder, or point {DATA_ENV} "
        "(or --data-dir) at a folder holding them."
    )


def _read_idx(path: Path, magic: int, shape_tail: tuple, count: int) -> np.ndarray:
    """Read an IDX file of unsigned bytes, checking the header before allocating."""
    ndim = 1 + len(shape_tail)
    with gzip.open(path, "rb") as f:
        header = f.read(4 + 4 * ndim)
        if len(header) < 4 + 4 * ndim:
            raise DatasetError(f"{path}: truncated IDX header")
        got_magic = struct.unpack(">I", header[:4])[0]
        if got_magic != magic:
            raise DatasetError(f"{path}: IDX magic number {got_magic:#010x}, expected {magic:#010x}")
        dims = struct.unpack(">" + "I" * ndim, header[4:])
        if dims[0] != count or tuple(dims[1:]) != shape_tail:
            raise DatasetError(f"{path}: IDX shape {dims}, expected {(count,) + shape_tail}")
        size = int(np.prod(dims))
        data = f.read(size + 1)
    if len(data) != size:
        raise DatasetError(f"{path}: IDX payload has {len(data)} bytes, expected {size}")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def load_mnist(data_dir=None, *, download=True, mirrors=None, timeout=30.0, verify=True) -> Dataset:
    """Load MNIST (60,000 train and 10,000 test 28x28 digits).

    Parameters
    ----------
    data_dir : str or Path, optional
        Folder of the four IDX gzip files (default: :func:`default_data_dir`).
    download : bool
        Download missing files from ``mirrors`` (default: the public mirrors).
    mirrors : str or list of str, optional
        Base URLs (``http://``, ``https://`` or ``file://``) holding the files.
    timeout : float
        Seconds per download attempt.
    verify : bool
        Check each file's MD5 (of the uncompressed content) before use.

    Raises
    ------
    DatasetError
        A file is missing and cannot be downloaded, or is corrupt.
    """
    folder = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    arrays = {}
    for split, (img_name, lab_name, count) in _SPLITS.items():
        paths = []
        for name in (img_name, lab_name):
            path = folder / name
            if not path.exists():
                if not download:
                    raise DatasetError(
                        f"MNIST file {path} is missing (download disabled); put the four IDX "
                        f"gzip files there or set {DATA_ENV}")
                path = _download(name, folder, _mirrors(mirrors), timeout)
            elif verify:
                _verify(path)
            paths.append(path)
        images = _read_idx(paths[0], _IMAGE_MAGIC, (28, 28), count)
        labels = _read_idx(paths[1], _LABEL_MAGIC, (), count)
        if labels.max() > 9:
            raise DatasetError(f"{paths[1]}: label {int(labels.max())} out of range 0..9")
        arrays[split] = (images.reshape(count, 784).astype(np.float32) / np.float32(255.0),
                         labels.astype(np.int64))
    return Dataset("mnist", *arrays["train"], *arrays["test"], num_classes=10)


def load_digits(test_fraction=0.25, seed=0) -> Dataset:
    """scikit-learn's 8x8 digits (1,797 images, offline), scaled to ``[0, 1]`` and split.

    The split is stratified-free but seeded: a permutation with ``seed``, the
    last ``test_fraction`` of it for testing.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    from sklearn.datasets import load_digits as _sk_digits

    d = _sk_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    tr, te = perm[:-n_test], perm[-n_test:]
    return Dataset("digits", x[tr], y[tr], x[te], y[te], num_classes=10)
